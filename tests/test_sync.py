"""`dailypapers sync` end to end, against recorded Hugging Face and arXiv OAI-PMH responses on a local
server: an empty site syncs, the next round adds only the new day, a failing source is reported while
the others go on, a killed round is resumed, and `serve` runs rounds on a schedule."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import httpx
import pytest
from conftest import FIXTURES, PATIENCE, ServeProcess, catalog_dump, dailypapers_cmd, run_cli

from dailypapers.store import Store

HF_DAYS = {  # the day the replayed API is asked for -> a recorded day of /api/daily_papers
    "2026-08-19": (FIXTURES / "hf-api" / "hf-daily-paper-newsletter-chinese__daily_papers_date-2025-10-02.json").read_bytes(),
    "2026-08-20": (FIXTURES / "hf-api" / "hf-daily-paper-newsletter-chinese__daily_papers_date-2026-08-20.json").read_bytes(),
}
OAI_PAGE = (FIXTURES / "arxiv-oai" / "hepcrawl__arxiv-physics-hep-th.xml").read_bytes()  # 3 records, no token
JSON = {"Content-Type": "application/json"}


class Sources:
    """The two sources as routes of a replay server; `hf_status` makes Hugging Face fail, `hf_gate`
    holds its answers for a day until set."""

    def __init__(self):
        self.hf_status = 200
        self.hf_gate: dict[str, threading.Event] = {}

    def hf(self, query):
        day = query.get("date")
        if day in self.hf_gate:
            self.hf_gate[day].wait(PATIENCE)
        if self.hf_status != 200:
            return self.hf_status, {}, b"unavailable"
        return 200, JSON, HF_DAYS.get(day, b"[]") if query.get("p", "0") == "0" else b"[]"

    def oai(self, query):
        return 200, {"Content-Type": "text/xml"}, OAI_PAGE


@pytest.fixture
def sources(replay_server):
    routes = Sources()
    server = replay_server({"/api/daily_papers": routes.hf, "/oai": routes.oai})
    routes.server = server
    routes.env = {"DAILYPAPERS_HF_BASE_URL": server.url, "DAILYPAPERS_OAI_BASE_URL": f"{server.url}/oai",
                  "DAILYPAPERS_HF_MIN_INTERVAL": "0", "DAILYPAPERS_ARXIV_MIN_INTERVAL": "0", "DAILYPAPERS_HTTP_RETRIES": "1",
                  "DAILYPAPERS_SYNC_SETS": "physics:hep-th", "DAILYPAPERS_SYNC_FIRST_DAYS": "3"}  # fmt: skip
    return routes


def asked(server, path: str) -> list[dict]:
    return [query for _, where, query in server.requests if where == path]


def papers_in(day: str) -> set[str]:
    return {item["paper"]["id"] for item in json.loads(HF_DAYS[day])}


def test_an_empty_site_syncs_and_the_next_round_adds_only_the_new_day(tmp_path, new_db, sources):
    db = new_db("site")
    first = run_cli("--db", str(db), "sync", "--until", "2026-08-19", env=sources.env)
    assert first.returncode == 0, first.stderr
    assert [q["date"] for q in asked(sources.server, "/api/daily_papers")] == ["2026-08-17", "2026-08-18", "2026-08-19"]
    assert asked(sources.server, "/oai")[0] == {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "physics:hep-th",
                                                "from": "2026-08-17", "until": "2026-08-19"}  # fmt: skip
    store = Store(db)
    assert store.count_papers() == len(papers_in("2026-08-19")) + 3
    summary = first.stdout.strip()
    assert summary.startswith("sync round 1: ") and f"hf-daily 2026-08-17..2026-08-19: {len(papers_in('2026-08-19'))} new" in summary
    assert "arxiv-oai:physics:hep-th 2026-08-17..2026-08-19: 3 new" in summary
    some = sorted(papers_in("2026-08-19"))[0]
    assert store.paper(some)["featured_on"] == ["2026-08-19"]
    found = run_cli("--db", str(db), "search", store.paper(some)["title"], "--mode", "lexical")
    assert found.returncode == 0 and some in found.stdout  # indexed

    sources.server.requests.clear()
    second = run_cli("--db", str(db), "sync", "--until", "2026-08-20", env=sources.env)
    assert second.returncode == 0, second.stderr
    # the day after the last round, and the last sync_refresh_days (3) days again for their counters
    assert [q["date"] for q in asked(sources.server, "/api/daily_papers")] == ["2026-08-18", "2026-08-19", "2026-08-20"]
    assert asked(sources.server, "/oai")[0]["from"] == "2026-08-19"  # the last harvest's day, again
    new = papers_in("2026-08-20") - papers_in("2026-08-19")
    assert f"hf-daily 2026-08-18..2026-08-20: {len(new)} new, 0 updated" in second.stdout
    assert "arxiv-oai:physics:hep-th 2026-08-19..2026-08-20: 0 new, 0 updated" in second.stdout
    assert Store(db).count_papers() == len(papers_in("2026-08-19") | papers_in("2026-08-20")) + 3

    status = run_cli("--db", str(db), "sync", "status")
    assert status.returncode == 0
    assert status.stdout.index("round 2  ok") < status.stdout.index("round 1  ok")


def test_a_failing_source_is_reported_and_the_others_go_on(tmp_path, new_db, sources):
    db = new_db("site")
    assert run_cli("--db", str(db), "sync", "--until", "2026-08-19", env=sources.env).returncode == 0
    sources.hf_status = 503
    sources.server.requests.clear()
    failed = run_cli("--db", str(db), "sync", "--until", "2026-08-20", env=sources.env)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "hf-daily FAILED: HTTP 503" in failed.stdout
    assert asked(sources.server, "/oai"), "arXiv was harvested after Hugging Face failed"
    status = run_cli("--db", str(db), "sync", "status").stdout
    assert "round 2  failed" in status and "hf-daily         failed: HTTP 503" in status
    # Hugging Face still counts from the last round that reached it: the next round fetches those days
    sources.hf_status = 200
    sources.server.requests.clear()
    assert run_cli("--db", str(db), "sync", "--until", "2026-08-20", env=sources.env).returncode == 0
    assert [q["date"] for q in asked(sources.server, "/api/daily_papers")] == ["2026-08-18", "2026-08-19", "2026-08-20"]


def test_a_killed_round_is_resumed_and_ends_like_an_uninterrupted_one(tmp_path, new_db, sources):
    reference = new_db("reference")
    assert run_cli("--db", str(reference), "sync", "--until", "2026-08-20", env=sources.env).returncode == 0

    db = new_db("killed")
    sources.hf_gate["2026-08-20"] = threading.Event()  # the round hangs on the last day: kill it there
    sources.server.requests.clear()
    process = subprocess.Popen([*dailypapers_cmd(), "--db", str(db), "sync", "--until", "2026-08-20"],
                               env={**os.environ, **sources.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + PATIENCE
    while not any(q.get("date") == "2026-08-20" for q in asked(sources.server, "/api/daily_papers")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    sources.hf_gate["2026-08-20"].set()
    assert run_cli("--db", str(db), "sync", "status").stdout.startswith("round 1  running")
    again = run_cli("--db", str(db), "sync", "--until", "2026-08-20", env=sources.env)
    assert again.returncode == 0, again.stderr
    status = run_cli("--db", str(db), "sync", "status").stdout
    assert "round 2  ok" in status and "round 1  interrupted" in status
    assert catalog_dump(db) == catalog_dump(reference)


def test_one_round_at_a_time(tmp_path, new_db, sources):
    db = new_db("site")
    sources.hf_gate["2026-08-19"] = threading.Event()
    process = subprocess.Popen([*dailypapers_cmd(), "--db", str(db), "sync", "--until", "2026-08-19"],
                               env={**os.environ, **sources.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + PATIENCE
        while not any(q.get("date") == "2026-08-19" for q in asked(sources.server, "/api/daily_papers")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        second = run_cli("--db", str(db), "sync", "--until", "2026-08-19", env=sources.env)
        assert second.returncode == 1 and "a sync round is already running" in second.stderr
    finally:
        sources.hf_gate["2026-08-19"].set()
        process.communicate(timeout=PATIENCE)
    assert process.returncode == 0


def test_serve_runs_rounds_on_a_schedule(demo_copy, sources):
    env = {**sources.env, "DAILYPAPERS_SYNC_SCHEDULE": "1s", "DAILYPAPERS_SYNC_FIRST_DAYS": "2"}
    with ServeProcess("--db", str(demo_copy), "serve", env=env) as site:
        deadline = time.monotonic() + PATIENCE
        while not (rounds := Store(demo_copy).sync_rounds(5)) or rounds[-1]["status"] == "running":
            assert time.monotonic() < deadline, site.output()
            time.sleep(0.2)
        assert rounds[-1]["status"] == "ok", (rounds[-1]["sources"], site.output()[-3000:])  # which source failed, and why
        hep_th = httpx.get(f"{site.url}/api/papers/search", params={"q": "cat:hep-th", "mode": "lexical"}, timeout=PATIENCE)
        assert hep_th.status_code == 200 and len(hep_th.json()) == 3  # the harvested papers are served
    assert "A sync round runs every 1s" in site.output()


def test_a_bad_schedule_is_refused_at_start(demo_copy):
    result = run_cli("--db", str(demo_copy), "--set", "sync_schedule=often", "serve")
    assert result.returncode == 1 and "sync_schedule 'often' is not a duration" in result.stderr


def test_administrators_see_the_rounds_and_what_failed(tmp_path, new_db, sources):
    from conftest import LiveServer
    from test_community import PASSWORD, browser_client, sign_up

    db = new_db("site")
    sources.hf_status = 503
    assert run_cli("--db", str(db), "sync", "--until", "2026-08-20", env=sources.env).returncode == 1
    made = run_cli("--db", str(db), "users", "create", "root", "--email", "root@example.org", "--admin",
                   "--password-stdin", input_text=PASSWORD + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    with LiveServer(db) as site:
        assert browser_client(site).get("/admin").headers["location"] == "/login?next=/admin"
        assert sign_up(site, "reader").get("/admin").status_code == 403
        admin = browser_client(site)
        assert admin.post("/login", data={"username": "root", "password": PASSWORD}).status_code == 303
        page = admin.get("/admin")
        assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
        assert "failed: HTTP 503" in page.text and "arxiv-oai:physics:hep-th" in page.text and ">failed<" in page.text
        assert 'href="/admin"' in admin.get("/").text
        # and monitors see it too
        health = httpx.get(f"{site.url}/healthz", timeout=PATIENCE).json()
        assert health["last_sync"]["status"] == "failed" and not health["last_sync"]["running"]
        assert health["last_sync"]["sources"]["hf-daily"]["error"].startswith("HTTP 503")
        metrics = httpx.get(f"{site.url}/metrics", timeout=PATIENCE).text
        assert "dailypapers_last_sync_ok 0.0" in metrics
        assert 'dailypapers_last_sync_papers{change="new",source="arxiv-oai:physics:hep-th"} 3.0' in metrics
        assert 'dailypapers_ingested_papers_total{change="new",source="arxiv-oai"} 3.0' in metrics
        assert 'dailypapers_last_ingest_timestamp_seconds{source="arxiv-oai"}' in metrics
        assert 'source="hf-daily"' not in metrics.split("dailypapers_ingested_papers_total")[1]  # its run failed
