"""Thumbnails of papers' first pages and organizations' logos (`dailypapers thumbnails`, ingest/thumbnails.py,
web/media.py): made from real PDFs and images served locally as arXiv and Hugging Face's CDN would."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, PATIENCE, ctrl_c_reaches_it, dailypapers_cmd, run_cli
from fastapi.testclient import TestClient

from dailypapers.cli import main
from dailypapers.config import Config
from dailypapers.ingest.thumbnails import THUMB_HEIGHT, THUMB_WIDTH, default_media_dir
from dailypapers.store import Store, database_url
from dailypapers.web.app import create_app
from dailypapers.web.security import SITE_POLICY

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("pypdfium2")

DAY = "2026-08-20"
RECORDED = FIXTURES / "hf-api" / f"hf-daily-paper-newsletter-chinese__daily_papers_date-{DAY}.json"
FOREVER = "public, max-age=31536000, immutable"
PASSWORD = "a long enough passphrase 4 tests"


def pdf(size: tuple[int, int], pages: int = 2) -> bytes:
    """A real PDF (Pillow's writer) of `pages` pages of `size` points, with something drawn on each."""
    from PIL import ImageDraw

    images = []
    for n in range(pages):
        image = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(image)
        draw.rectangle((40, 40, size[0] - 40, 90), fill="black")  # a "title"
        for y in range(120, size[1] - 40, 14):
            draw.line((40, y, size[0] - 40 - (y * 7 + n) % 90, y), fill="gray", width=4)  # "text"
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return out.getvalue()


def png(color: str, size=(200, 120)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


class Site:
    """A database holding one recorded Hugging Face day, and a local server answering as arXiv (/pdf/ID:
    good PDFs of several page sizes, one damaged, the rest 404) and the avatars' CDN (/avatars/NAME.png)."""

    def __init__(self, db, replay_server, tmp_path, ingest: bool = True):
        items = json.loads(RECORDED.read_text())
        self.ids = [item["paper"]["id"] for item in items]
        self.good = {self.ids[0]: (612, 792), self.ids[1]: (595, 842), self.ids[2]: (792, 612)}  # Letter, A4, landscape
        self.damaged, self.missing = self.ids[3], set(self.ids[4:])
        routes = {f"/pdf/{pid}": (lambda q, size=size: (200, {"Content-Type": "application/pdf"}, pdf(size))) for pid, size in self.good.items()}
        routes[f"/pdf/{self.damaged}"] = lambda q: (200, {"Content-Type": "application/pdf"}, pdf((612, 792))[:700] + b"\0garbage")
        self.orgs = sorted({item["organization"]["name"] for item in items if item.get("organization")})
        self.bad_logo, self.missing_logo = self.orgs[0], self.orgs[1]
        self.server = replay_server(routes)
        for org in self.orgs[2:]:
            routes[f"/avatars/{org}.png"] = lambda q: (200, {"Content-Type": "image/png"}, png("navy"))
        routes[f"/avatars/{self.bad_logo}.png"] = lambda q: (200, {"Content-Type": "image/png"}, b"\x89PNG not really")
        for item in items:  # the recorded avatars, moved to the local server
            if item.get("organization"):
                item["organization"]["avatar"] = f"{self.server.url}/avatars/{item['organization']['name']}.png"
        self.recorded = json.dumps(items).encode()
        self.db = str(db)
        if ingest:
            (tmp_path / f"daily-{DAY}.json").write_bytes(self.recorded)
            done = run_cli("--db", self.db, "ingest", "hf-daily", str(tmp_path / f"daily-{DAY}.json"))
            assert done.returncode == 0, done.stderr
        self.env = {"DAILYPAPERS_ARXIV_BASE_URL": self.server.url, "DAILYPAPERS_ARXIV_MIN_INTERVAL": "0",
                    "DAILYPAPERS_HF_MIN_INTERVAL": "0", "DAILYPAPERS_HTTP_RETRIES": "0"}  # fmt: skip
        self.media = default_media_dir(database_url(self.db))

    def thumbnails(self, *args: str):
        return run_cli("--db", self.db, "thumbnails", *args, env=self.env)

    def pdf_requests(self) -> list[str]:
        return [path for _, path, _ in self.server.requests if path.startswith("/pdf/")]


@pytest.fixture
def site(new_db, replay_server, tmp_path):
    return Site(new_db("site"), replay_server, tmp_path)


def cards(page: str) -> dict[str, str]:
    """Each card's id -> its markup inside <article>."""
    return dict(re.findall(r'<article class="paper-card" data-id="([^"]+)"[^>]*>(.*?)</article>', page, re.S))


def test_thumbnails_are_made_once_recorded_when_they_fail_and_retried_on_request(site):
    made = site.thumbnails()
    assert made.returncode == 0, made.stderr
    failed = 1 + len(site.missing)
    assert f"thumbnails: 3 made, 0 skipped, {failed} failed" in made.stdout
    assert f"logos: {len(site.orgs) - 2} made, 0 skipped, 2 failed" in made.stdout
    # newest first: one featured day here, so the ids' order; each PDF asked for once
    assert sorted(site.pdf_requests()) == sorted(f"/pdf/{pid}" for pid in site.ids)
    folder = site.media / "thumbnails"
    for pid in site.good:
        with Image.open(folder / f"{pid}.webp") as image:
            assert image.format == "WEBP" and image.size == (THUMB_WIDTH, THUMB_HEIGHT)
        assert 1_000 < (folder / f"{pid}.webp").stat().st_size < 60_000
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(f"{pid}.webp" for pid in site.good), "failed.json"])
    failures = json.loads((folder / "failed.json").read_text())
    assert set(failures) == {f"{pid}.webp" for pid in [site.damaged, *site.missing]}
    assert "PDF" in failures[f"{site.damaged}.webp"] and failures[f"{sorted(site.missing)[0]}.webp"] == "HTTP 404"
    logos = site.media / "logos"
    with Image.open(logos / f"{site.orgs[2]}.webp") as image:
        assert image.format == "WEBP" and image.size == (64, 64)
    assert not (logos / f"{site.bad_logo}.webp").exists() and not (logos / f"{site.missing_logo}.webp").exists()

    # a rerun asks for nothing: what was made is there, what failed is skipped
    site.server.requests.clear()
    again = site.thumbnails()
    assert again.returncode == 0 and site.server.requests == []
    assert f"thumbnails: 0 made, {len(site.ids)} skipped, 0 failed" in again.stdout

    # --retry-failed asks again for the failed ones only; the damaged PDF is now whole
    site.server.routes[f"/pdf/{site.damaged}"] = lambda q: (200, {}, pdf((612, 792)))
    retried = site.thumbnails("--retry-failed", "--no-logos")
    assert retried.returncode == 0, retried.stderr
    assert sorted(site.pdf_requests()) == sorted(f"/pdf/{pid}" for pid in [site.damaged, *site.missing])
    assert f"thumbnails: 1 made, 3 skipped, {len(site.missing)} failed" in retried.stdout and "logos" not in retried.stdout
    assert f"{site.damaged}.webp" not in json.loads((folder / "failed.json").read_text())


def test_ctrl_c_stops_a_run_and_the_next_run_resumes_it(site):
    order = sorted(site.ids)  # one featured day: newest first is then the ids' order
    gated, gate = order[2], threading.Event()
    site.server.routes[f"/pdf/{gated}"] = lambda q: (gate.wait(PATIENCE), (200, {}, pdf((612, 792))))[1]
    run = subprocess.Popen([*dailypapers_cmd(), "--db", site.db, "thumbnails", "--no-logos"], env={**os.environ, **site.env},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches_it)  # fmt: skip
    deadline = time.monotonic() + PATIENCE
    while f"/pdf/{gated}" not in site.pdf_requests():  # it waits for the third PDF: stop it there
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=PATIENCE)
    gate.set()
    assert run.returncode == 130 and "Interrupted" in err and "thumbnails: " in out, err
    assert not [p for p in site.media.rglob("*") if p.name.endswith(".tmp")]

    site.server.requests.clear()
    again = site.thumbnails("--no-logos")
    assert again.returncode == 0, again.stderr
    asked = site.pdf_requests()
    assert asked[0] == f"/pdf/{gated}" and not {f"/pdf/{pid}" for pid in order[:2]} & set(asked)
    assert sorted(asked) == sorted(f"/pdf/{pid}" for pid in order[2:])


def test_limit_and_ids_choose_what_is_made(site):
    first = site.ids[0]
    done = site.thumbnails("--ids", f"{first}, {site.ids[1]}", "--limit", "1", "--no-logos")
    assert done.returncode == 0, done.stderr
    assert site.pdf_requests() == [f"/pdf/{first}"] and "thumbnails: 1 made" in done.stdout


@pytest.mark.parametrize("args, says", [
    (["--ids", "not-an-id"], "not an arXiv id"),
    (["--ids", "2401.99999"], "not in the catalog: 2401.99999"),
    (["--ids", " , "], "no id given"),
    (["--limit", "0"], "--limit"),
])  # fmt: skip
def test_bad_input_is_a_clear_error(store, args, says):
    done = run_cli("--db", str(store.url).removeprefix("sqlite:///"), "thumbnails", *args)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_without_the_libraries_the_command_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pypdfium2", None)  # import fails as if not installed
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "x.db"), "thumbnails"])
    assert result.exit_code == 1 and "pip install 'dailypapers[thumbnails]'" in result.output


def test_pages_show_made_thumbnails_and_logos_and_serve_them_for_a_year(site):
    assert site.thumbnails().returncode == 0
    store = Store(site.db)
    client = TestClient(create_app(Config({"db": site.db}, environ={}), store))
    shown = cards(client.get(f"/papers/date/{DAY}").text)
    assert set(shown) == set(site.ids)
    for pid, markup in shown.items():
        thumb = (f'<a class="thumb" href="/papers/{pid}" tabindex="-1" aria-hidden="true"><img src="/thumbnails/{pid}.webp" '
                 f'alt="" width="{THUMB_WIDTH}" height="{THUMB_HEIGHT}" loading="lazy"></a>')  # fmt: skip
        if pid in site.good:
            assert markup.startswith(thumb), markup[:300]  # the card's first child
        else:
            assert "/thumbnails/" not in markup and 'class="thumb"' not in markup
    orgs = {item["paper"]["id"]: (item.get("organization") or {}).get("name") for item in json.loads(RECORDED.read_text())}
    for pid, org in orgs.items():
        logo = f'<img class="org-logo" src="/logos/{org}.webp"'
        assert (logo in shown[pid]) == (org in site.orgs[2:]), (pid, org)

    good = next(iter(site.good))
    paper = client.get(f"/papers/{good}").text
    assert f'<a class="paper-thumb" href="https://arxiv.org/pdf/{good}" rel="noopener nofollow"><img src="/thumbnails/{good}.webp"' in paper
    assert "paper-thumb" not in client.get(f"/papers/{site.damaged}").text

    answer = client.get(f"/thumbnails/{good}.webp")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/webp"
    assert answer.headers["cache-control"] == FOREVER
    assert answer.content == (site.media / "thumbnails" / f"{good}.webp").read_bytes()
    assert client.head(f"/thumbnails/{good}.webp").status_code == 200
    logo = client.get(f"/logos/{site.orgs[2]}.webp")
    assert logo.status_code == 200 and logo.headers["cache-control"] == FOREVER and logo.content[8:12] == b"WEBP"

    listed = client.get("/organizations").text  # the organizations' list, and an organization's own page
    assert f'<img class="org-logo" src="/logos/{site.orgs[2]}.webp"' in listed
    assert f'<img class="org-logo" src="/logos/{site.missing_logo}.webp"' not in listed
    assert f'<img class="org-logo" src="/logos/{site.orgs[2]}.webp"' in client.get(f"/organizations/{site.orgs[2]}").text

    # a logged-in reader's pages are their own (private, no-store); the images stay cacheable by anyone
    signed = client.post("/signup", data={"username": "reader", "email": "reader@example.org", "password": PASSWORD},
                         headers={"Origin": "http://testserver"}, follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303, signed.text
    assert f'src="/thumbnails/{good}.webp"' in client.get(f"/papers/date/{DAY}").text
    assert client.get(f"/thumbnails/{good}.webp").headers["cache-control"] == FOREVER

    (site.media / "secret.webp").write_bytes(b"not for readers")
    for path in (f"/thumbnails/{site.damaged}.webp", f"/thumbnails/{good}", f"/thumbnails/{good}.png", "/thumbnails/failed.json",
                 "/thumbnails/..%2Fsecret.webp", "/thumbnails/%2E%2E/secret.webp", "/thumbnails/2401.1.webp",
                 f"/logos/{site.bad_logo}.webp", "/logos/..%2Fsecret.webp", "/logos/.webp", "/logos/failed.json"):  # fmt: skip
        refused = client.get(path)
        assert refused.status_code == 404 and b"not for readers" not in refused.content, path
        if path.startswith(("/thumbnails/", "/logos/")) and refused.headers["content-type"].startswith("application/json"):
            assert "error" in refused.json()
    store.close()


def test_a_thumbnail_made_after_a_page_was_cached_shows_on_the_next_view(site):
    store = Store(site.db)
    client = TestClient(create_app(Config({"db": site.db}, environ={}), store))
    before = cards(client.get(f"/papers/date/{DAY}").text)
    assert not any("/thumbnails/" in markup for markup in before.values())
    assert site.thumbnails("--no-logos").returncode == 0
    client.app.state.cache.changed()  # look at the generation now, not within a second
    after = cards(client.get(f"/papers/date/{DAY}").text)
    assert {pid for pid, markup in after.items() if "/thumbnails/" in markup} == set(site.good)
    store.close()


def test_images_come_from_this_site_only(demo_db):
    assert "img-src 'self' data:;" in SITE_POLICY and "https:" not in SITE_POLICY
    client = TestClient(create_app(Config({"db": str(demo_db)}, environ={})))
    page = client.get("/")
    assert "https:" not in page.headers["content-security-policy"]
    assert "<img" not in page.text  # the demo has no thumbnails or logos: cards as they always were
    assert all(not src.startswith(("http:", "https:", "//")) for src in re.findall(r'<img[^>]* src="([^"]+)"', page.text))


def test_sync_makes_thumbnails_of_new_papers_and_a_failure_never_fails_the_round(new_db, replay_server, tmp_path):
    db = str(new_db("synced"))
    site = Site(db, replay_server, tmp_path, ingest=False)  # the recorded day comes from Hugging Face's API here
    site.server.routes["/api/daily_papers"] = lambda q: (200, {"Content-Type": "application/json"},
                                                         site.recorded if q.get("date") == DAY and q.get("p", "0") == "0" else b"[]")
    env = {**site.env, "DAILYPAPERS_HF_BASE_URL": site.server.url, "DAILYPAPERS_SYNC_SETS": "", "DAILYPAPERS_SYNC_FIRST_DAYS": "1",
           "DAILYPAPERS_SYNC_THUMBNAILS": "true"}  # fmt: skip
    done = run_cli("--db", db, "sync", "--until", DAY, env=env)
    assert done.returncode == 0, done.stderr
    assert "thumbnails: 3 made" in done.stdout
    media = default_media_dir(database_url(db)) / "thumbnails"
    assert {p.name for p in media.glob("*.webp")} == {f"{pid}.webp" for pid in site.good}

    broken = {**env, "DAILYPAPERS_ARXIV_BASE_URL": "http://127.0.0.1:9"}  # nothing listens: arXiv is away
    again = run_cli("--db", db, "--set", f"media_dir={tmp_path / 'elsewhere'}", "sync", "--until", DAY, env=broken)
    assert again.returncode == 0, again.stderr
    assert "thumbnails not made" in again.stdout and "FAILED" not in again.stdout
    status = run_cli("--db", db, "sync", "status")
    assert status.stdout.count(" ok ") >= 2 and "thumbnails not made" in status.stdout
