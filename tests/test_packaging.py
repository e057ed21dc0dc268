"""The wheel and the sdist: they build with the setuptools the project asks for, say the license (an SPDX
expression, with the LICENSE text), the project's addresses and classifiers, and carry every file the
package needs at run time (templates, static files, migrations, the bundled sample and vectors)."""

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import PATIENCE, ROOT

PACKAGE = ROOT / "src" / "dailypapers"


def _setuptools_required() -> tuple[int, ...]:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    (minimum,) = [re.fullmatch(r"setuptools>=([\d.]+)", r.replace(" ", "")).group(1) for r in requires if r.startswith("setuptools")]
    return tuple(map(int, minimum.split(".")))


def _package_files() -> set[str]:
    """Every file of the package in the working tree, as the wheel names it (bytecode aside)."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(wheel, sdist) built from a copy of the project, without build isolation: with this venv's
    setuptools, which `pip install -e '.[test]'` brings to the version pyproject.toml's build-system asks for."""
    tree, dist = tmp_path_factory.mktemp("tree"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    for hook in ("build_wheel", "build_sdist"):  # PEP 517 hooks, each in a process of its own as pip calls them
        build = f"import sys, setuptools.build_meta as backend; backend.{hook}(sys.argv[1])"
        result = subprocess.run([sys.executable, "-c", build, str(dist)], cwd=tree, capture_output=True, text=True, timeout=PATIENCE)
        assert result.returncode == 0, result.stderr[-5000:]
    (wheel,), (sdist,) = dist.glob("*.whl"), dist.glob("*.tar.gz")
    return wheel, sdist


def test_the_build_system_asks_for_the_setuptools_that_understands_the_license_field():
    assert _setuptools_required() >= (77,)  # `license = "<SPDX expression>"` and `license-files` (PEP 639)
    installed = tuple(int(part) for part in re.findall(r"\d+", version("setuptools"))[:2])
    assert installed >= _setuptools_required(), "pip install -e '.[test]' brings setuptools>=77 into the venv"


def test_the_wheel_says_license_addresses_and_classifiers_and_holds_every_package_file(built):
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (info,) = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        license_text = archive.read(f"{info}/licenses/LICENSE").decode()
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert license_text == (ROOT / "LICENSE").read_text() and "Apache License" in license_text and "Version 2.0" in license_text
    assert not [c for c in metadata.get_all("Classifier") if c.startswith("License ::")]
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL"))
    assert set(urls) >= {"Homepage", "Documentation", "Source", "Issues"} and all(u.startswith("https://") for u in urls.values())
    classifiers = set(metadata.get_all("Classifier"))
    for wanted in ("Framework :: FastAPI", "Intended Audience :: Science/Research", "Operating System :: POSIX :: Linux",
                   "Programming Language :: Python :: 3.11", "Programming Language :: Python :: 3.12",
                   "Programming Language :: Python :: 3.13", "Topic :: Scientific/Engineering"):  # fmt: skip
        assert wanted in classifiers
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    assert metadata["Requires-Python"] == ">=3.11"

    missing = _package_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    for needed in ("dailypapers/web/templates/base.html", "dailypapers/web/static/style.css",
                   "dailypapers/web/static/vendor/swagger-ui/swagger-ui-bundle.js", "dailypapers/digest/templates/digest.html",
                   "dailypapers/store/migrations/env.py", "dailypapers/data/demo_sample.jsonl.gz",
                   "dailypapers/data/demo_vectors.npz"):  # fmt: skip
        assert needed in names
    assert any(re.fullmatch(r"dailypapers/store/migrations/versions/0001_.*\.py", n) for n in names)


def test_the_sdist_holds_the_license_and_every_package_file(built):
    _, sdist = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        (pkg_info,) = [m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
        metadata = Parser().parsestr(archive.extractfile(pkg_info).read().decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert {"LICENSE", "README.md", "pyproject.toml"} <= names
    missing = {f"src/{name}" for name in _package_files()} - names
    assert not missing, f"not in the sdist: {sorted(missing)}"
