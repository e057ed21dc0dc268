"""Deploying: `serve` as an operator runs it (a settings file, options, the environment, worker
processes, a busy port, every address) and the example files in deploy/."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import PATIENCE, MailServer, ServeProcess, run_cli

from dailypapers.cli import main
from dailypapers.config import SETTINGS, Config

def sample_value(setting):
    """A value of the setting's kind that is not its default."""
    kind = type(setting.default)
    return not setting.default if kind is bool else "x-sample" if kind is str else setting.default + kind(7)


def toml_value(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else repr(value) if isinstance(value, str) else str(value)


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_every_setting_is_the_same_from_an_option_a_file_or_the_environment(setting, tmp_path):
    value = sample_value(setting)
    file = tmp_path / "site.toml"
    file.write_text(f"{setting.name} = {toml_value(value)}\n")
    ways = {
        "option": Config({setting.name: toml_value(value).strip("'")}, environ={}),
        "file": Config(file=file, environ={}),
        "environment": Config(environ={setting.env: toml_value(value).strip("'")}),
    }
    assert {way: config.values[setting.name] for way, config in ways.items()} == dict.fromkeys(ways, value)
    # and the command line's --set says the same as the file
    shown = CliRunner().invoke(main, ["--set", f"{setting.name}={ways['environment'].environment()[setting.env]}", "settings"])
    assert shown.exit_code == 0 and f"{setting.name} = " in shown.output
    line = next(line for line in shown.output.splitlines() if line.startswith(f"{setting.name} = "))
    assert line.endswith("[option]") and ("(hidden)" in line or repr(value) in line)


def test_a_bad_set_is_a_clear_error():
    for bad in ("no_such_setting=1", "port", "port=eighty"):
        result = CliRunner().invoke(main, ["--set", bad, "settings"])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output


def test_https_public_url_makes_cookies_secure_unless_said_otherwise():
    assert Config({"public_url": "https://papers.example.org"}, environ={}).secure_cookies is True
    assert Config({"public_url": "https://papers.example.org", "secure_cookies": False}, environ={}).secure_cookies is False
    assert Config({"public_url": "http://papers.example.org"}, environ={}).secure_cookies is False


def test_a_settings_file_reaches_the_server_and_its_workers(demo_copy, tmp_path):
    """`dailypapers --config site.toml serve --workers 2`: the site's name, https (Secure cookies, HSTS)
    and the mail server all come from the file, in every worker process."""
    with MailServer() as mail:
        file = tmp_path / "site.toml"
        file.write_text(f'db = "{demo_copy}"\nsite_name = "Lab Papers"\npublic_url = "https://papers.example.org"\n'
                        f'smtp_host = "127.0.0.1"\nsmtp_port = {mail.port}\nmail_retry_base = 0.01\n')  # fmt: skip
        with ServeProcess("--config", str(file), "serve", "--workers", "2") as site:
            with httpx.Client(base_url=site.url, timeout=PATIENCE) as client:
                titles = {re.search(r"<title>(.*?)</title>", client.get("/", headers={"Connection": "close"}).text)[1]
                          for _ in range(12)}  # fmt: skip
                assert all(title.endswith("Lab Papers") for title in titles), titles
                home = client.get("/")
                assert home.headers["strict-transport-security"].startswith("max-age=")
                signup = client.post("/signup", headers={"Origin": site.url},
                                     data={"username": "ada", "email": "ada@example.org", "password": "correct horse battery"})  # fmt: skip
                assert signup.status_code == 303 and "secure" in signup.headers["set-cookie"].lower()
                subscribed = client.post("/api/subscriptions", json={"email": "reader@example.org", "frequency": "daily"})
                assert subscribed.status_code in (200, 201, 202), subscribed.text
                _wait_for(lambda: mail.to("reader@example.org"))
                confirmation = mail.to("reader@example.org")[0]
                assert "Lab Papers" in confirmation["Subject"] + confirmation["From"] + str(confirmation.get_body())
                assert "https://papers.example.org/" in str(confirmation.get_body(("plain",)).get_content())


def _wait_for(condition):
    import time

    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "it did not happen"
        time.sleep(0.05)


def test_a_port_in_use_is_one_clear_line(demo_copy):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--db", str(demo_copy), "serve", "--port", str(port))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr and "--port" in result.stderr


def test_every_address_without_public_url_warns_and_links_name_the_host(demo_copy):
    with ServeProcess("--db", str(demo_copy), "serve", "--host", "0.0.0.0") as site:
        feed = httpx.get(f"http://127.0.0.1:{site.port}/feeds/daily.rss", timeout=PATIENCE)
        output = site.stop()
    assert "without public_url" in output and "0.0.0.0" not in feed.text
    assert f"http://{socket.gethostname()}:{site.port}/papers/" in feed.text


EXAMPLE = ["--set", "db=/var/lib/dailypapers/dailypapers.db", "--set", "public_url=https://papers.example.org",
           "--set", "forwarded_allow_ips=127.0.0.1", "--set", "workers=2", "--set", "site_name=Lab papers"]  # fmt: skip


def test_the_example_settings_file_has_every_setting_and_is_current():
    """deploy/dailypapers.toml is `dailypapers <EXAMPLE> settings --toml`: regenerate it when a setting changes."""
    from conftest import ROOT

    text = (ROOT / "deploy" / "dailypapers.toml").read_text()
    assert CliRunner().invoke(main, [*EXAMPLE, "settings", "--toml"]).output == text
    config = Config(file=ROOT / "deploy" / "dailypapers.toml", environ={})
    assert config.public_url == "https://papers.example.org" and config.secure_cookies and config.workers == 2
    for setting in SETTINGS:
        assert re.search(rf"^(# )?{setting.name} = ", text, re.M), setting.name


def test_the_systemd_unit_verifies_and_runs_serve_with_the_example_settings(tmp_path):
    import shutil
    import sys

    from conftest import ROOT

    unit = (ROOT / "deploy" / "dailypapers.service").read_text()
    assert "ExecStart=/opt/dailypapers/bin/dailypapers serve" in unit
    assert "Environment=DAILYPAPERS_CONFIG=/etc/dailypapers/dailypapers.toml" in unit
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is missing")
    here = tmp_path / "dailypapers.service"
    here.write_text(unit.replace("/opt/dailypapers/bin/dailypapers", str(Path(sys.executable).with_name("dailypapers"))))
    result = subprocess.run([analyze, "verify", str(here)], capture_output=True, text=True)
    assert result.returncode == 0 and "dailypapers.service" not in result.stderr, result.stderr
