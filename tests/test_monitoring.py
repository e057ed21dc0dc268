"""Monitoring: /healthz, /metrics (Prometheus) and the serve process's log, against live servers."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from conftest import PATIENCE, LiveServer, ServeProcess, free_port, on_sqlite_only, run_cli
from prometheus_client.parser import text_string_to_metric_families

from dailypapers import __version__
from dailypapers.digest.preferences import check_preferences
from dailypapers.store import Store
from dailypapers.web.health import DEGRADED_LAG


def scrape(url: str) -> dict:
    """/metrics parsed: (sample name, frozenset of its labels) -> value."""
    answer = httpx.get(f"{url}/metrics", timeout=PATIENCE)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}  # fmt: skip


def sample(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def site(demo_copy):
    with LiveServer(demo_copy) as server:
        server.app.state.search.load_model()  # semantic search ready (or known to be unavailable)
        yield server


def wait_for(condition, what: str):
    deadline = time.monotonic() + PATIENCE
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {PATIENCE:.0f} s")
        time.sleep(0.05)
    return found


# -- /healthz -----------------------------------------------------------------------------------------


def test_healthz_reports_the_database_and_how_far_the_indexes_lag(site, demo_copy):
    store = Store(demo_copy)
    papers = store.count_papers()
    answer = httpx.get(f"{site.url}/healthz")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    health = answer.json()
    assert health["status"] == "ok" and health["problems"] == []
    assert health["database"] == {"reachable": True, "papers": papers}
    assert health["keyword_index"] == {"lag": 0}
    assert health["last_sync"] is None and health["version"] == __version__
    vector = health["vector_index"]
    if site.app.state.search.encoder is not None:
        model = vector["model"]
        assert vector == {"model": model, "lag": 0, "unembedded": papers - store.count_vectors(model), "problem": None}
    else:
        assert vector["lag"] is None and vector["problem"]

    # Another process changes three papers (upvotes): the keyword index has not taken them in yet. The
    # server would catch up within a second or so; its catch-up is held, so that a slow machine cannot.
    search = site.app.state.search
    search.catch_up_soon = lambda: None
    wait_for(lambda: not search._catch_up_running, "the index catch-up to finish")
    user = store.create_user("voter", "voter@example.org", "not-a-real-hash")
    for paper in store.papers_page(None, 3):
        assert store.set_vote(user["id"], paper["id"], True)
    store.close()
    health = httpx.get(f"{site.url}/healthz").json()
    assert health["keyword_index"] == {"lag": 3} and health["status"] == "ok"

    site.app.state.search.keyword.indexed_seq = 0  # as if the index were rebuilt from nothing: far behind
    answer = httpx.get(f"{site.url}/healthz")
    assert answer.status_code == 200  # still serving: a load balancer keeps it
    health = answer.json()
    assert health["keyword_index"]["lag"] == papers >= DEGRADED_LAG
    assert health["status"] == "degraded" and any("keyword index" in problem for problem in health["problems"])


@on_sqlite_only  # a PostgreSQL that does not answer: tests/test_multihost.py
def test_healthz_is_503_when_the_database_does_not_answer(site, demo_copy):
    assert httpx.get(f"{site.url}/healthz").status_code == 200
    # The database file is replaced by garbage, and the pooled connections are dropped (as a restart of a
    # database server drops them): the next connection meets the garbage.
    site.app.state.store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{demo_copy}{suffix}").unlink(missing_ok=True)
    demo_copy.write_bytes(b"this is not a database\n" * 1000)
    answer = httpx.get(f"{site.url}/healthz")
    assert answer.status_code == 503 and answer.headers["cache-control"] == "no-store"
    health = answer.json()
    assert health["status"] == "down" and health["database"] == {"reachable": False}
    assert "the database does not answer" in health["error"] and "not a database" in health["error"]
    samples = scrape(site.url)  # /metrics still answers, and says so
    assert sample(samples, "dailypapers_database_up") == 0
    assert sample(samples, "dailypapers_papers") is None


# -- /metrics -----------------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_and_searches_by_mode(site, demo_copy):
    store = Store(demo_copy)
    pending, _ = store.subscribe("pending@example.org", check_preferences(top=5))
    confirmed, confirmation = store.subscribe("confirmed@example.org", check_preferences(top=5))
    store.mark_sent(confirmation)
    store.set_subscriber_status(confirmed["id"], "confirmed", only_from=["pending"])
    papers = store.count_papers()
    [known] = store.papers_page(None, 1)
    store.close()

    for query in ("diffusion", "robot learning", "agents"):
        assert httpx.get(f"{site.url}/api/papers/search", params={"q": query, "mode": "lexical"}).status_code == 200
    sorted_search = httpx.get(f"{site.url}/api/papers/search", params={"q": "diffusion", "mode": "hybrid", "sort": "date"})
    assert sorted_search.headers["x-search-mode"] == "lexical"
    assert httpx.get(f"{site.url}/api/papers/{known['id']}").status_code == 200
    assert httpx.get(f"{site.url}/api/papers/{known['id']}v2").status_code == 200  # same route, another URL
    assert httpx.get(f"{site.url}/api/papers/2101.99999").status_code == 404
    assert httpx.get(f"{site.url}/no/such/page").status_code == 404
    assert httpx.get(f"{site.url}/static/style.css").status_code == 200
    assert httpx.request("PROPFIND", f"{site.url}/").status_code == 405

    samples = scrape(site.url)
    requests = "dailypapers_http_requests_total"
    assert sample(samples, requests, route="/api/papers/search", method="GET", status="200") == 4
    assert sample(samples, requests, route="/api/papers/{paper_id}", method="GET", status="200") == 2
    assert sample(samples, requests, route="/api/papers/{paper_id}", method="GET", status="404") == 1
    assert sample(samples, requests, route="<unmatched>", method="GET", status="404") == 1
    assert sample(samples, requests, route="/static/{path}", method="GET", status="200") == 1
    assert sample(samples, requests, route="/", method="other", status="405") == 1
    routes = {dict(labels)["route"] for name, labels in samples if name == requests}
    assert not any(known["id"] in route or "2101.99999" in route or "style.css" in route for route in routes)

    latency = "dailypapers_http_request_duration_seconds"
    assert sample(samples, f"{latency}_count", route="/api/papers/search") == 4
    assert sample(samples, f"{latency}_bucket", route="/api/papers/search", le="+Inf") == 4
    assert sample(samples, f"{latency}_sum", route="/api/papers/search") > 0

    assert sample(samples, "dailypapers_searches_total", requested="lexical", ran="lexical") == 3
    assert sample(samples, "dailypapers_searches_total", requested="hybrid", ran="lexical") == 1
    assert sample(samples, "dailypapers_search_fallbacks_total", reason="sorted") == 1

    assert sample(samples, "dailypapers_database_up") == 1
    assert sample(samples, "dailypapers_papers") == papers
    assert sample(samples, "dailypapers_index_lag", index="keyword") == 0
    assert sample(samples, "dailypapers_subscribers", status="pending") == 1
    assert sample(samples, "dailypapers_subscribers", status="confirmed") == 1
    assert sample(samples, "dailypapers_subscribers", status="unsubscribed") == 0
    assert sample(samples, "dailypapers_outbox_mails", kind="confirm", status="pending") == 1
    assert sample(samples, "dailypapers_outbox_mails", kind="confirm", status="sent") == 1
    assert sample(samples, "dailypapers_outbox_mails", kind="digest", status="failed") == 0
    assert sample(samples, "dailypapers_latest_day_timestamp_seconds") > 0
    assert pending["status"] == "pending"


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_metrics_add_up_every_worker_and_the_log_is_json(demo_copy, tmp_path):
    """`serve --workers 2`: requests go to either worker; /metrics, whichever worker answers, counts them all.
    Requests are made until the access log shows both workers answered some (JSON lines carry the pid)."""
    temporary = tmp_path / "tmp"  # where serve makes the workers' metrics folder
    temporary.mkdir()
    env = {"DAILYPAPERS_LOG_FORMAT": "json", "TMPDIR": str(temporary)}
    with ServeProcess("--db", str(demo_copy), "serve", "--workers", "2", env=env) as server:
        [folder] = temporary.glob("dailypapers-metrics-*")
        search = f"{server.url}/api/papers/search?q=agents&mode=lexical"
        made, deadline = 0, time.monotonic() + PATIENCE
        while len({line["pid"] for line in json_lines(server.output()) if line.get("route") == "/api/papers/search"}) < 2:
            assert time.monotonic() < deadline, "one worker answered every request"
            for _ in range(10):
                with httpx.Client() as client:  # a new connection each time: the workers take turns accepting
                    assert client.get(search).status_code == 200
                made += 1
        for _ in range(4):  # whichever worker answers the scrape
            samples = scrape(server.url)
            assert sample(samples, "dailypapers_http_requests_total", route="/api/papers/search", method="GET", status="200") == made
            assert sample(samples, "dailypapers_searches_total", requested="lexical", ran="lexical") == made
            assert sample(samples, "dailypapers_database_up") == 1
            assert sample(samples, "dailypapers_papers") > 0  # the database's figures, once
        [access] = wait_for(lambda: [line for line in json_lines(server.output())
                                     if line.get("path") == "/metrics" and line.get("status") == 200][:1], "access line")  # fmt: skip
        assert access["logger"] == "dailypapers.access" and access["level"] == "info" and access["method"] == "GET"
        assert access["client"] == "127.0.0.1" and access["route"] == "/metrics" and access["duration_ms"] >= 0
        assert {"ts", "message"} <= set(access)
        assert any(line["logger"].startswith("uvicorn") for line in json_lines(server.output()))
    assert not folder.exists()  # removed when serve stopped


# -- the log ------------------------------------------------------------------------------------------

ACCESS_TEXT = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO dailypapers\.access: 127\.0\.0\.1 '
                         r'"GET /api/daily_papers\?limit=3 HTTP/1\.1" 200 \d+\.\d ms$', re.MULTILINE)  # fmt: skip


def test_text_log_has_readable_access_lines_and_the_schedule_s_messages(demo_copy):
    env = {"DAILYPAPERS_DIGEST_SCHEDULE": "yes", "DAILYPAPERS_DIGEST_TIME": "06:30"}
    with ServeProcess("--db", str(demo_copy), "serve", env=env) as server:
        assert httpx.get(f"{server.url}/api/daily_papers?limit=3").status_code == 200
        wait_for(lambda: ACCESS_TEXT.search(server.output()), "access line")
        # the digest schedule runs in the serve process, not in a worker: its messages are logged too
        wait_for(lambda: re.search(r"INFO dailypapers\.digest: next digests \(.+\) at \S+T06:30", server.output()),
                 "schedule message")  # fmt: skip
        assert "INFO uvicorn.error: Application startup complete." in server.output()
        # one process, which made the metrics folder before it imported the app: counted all the same
        samples = scrape(server.url)
        assert sample(samples, "dailypapers_http_requests_total", route="/api/daily_papers", method="GET", status="200") == 1


def test_log_level_warning_writes_no_access_lines(demo_copy):
    server = ServeProcess("--db", str(demo_copy), "serve", env={"DAILYPAPERS_LOG_LEVEL": "warning"})
    with server:
        assert httpx.get(f"{server.url}/api/daily_papers?limit=3").status_code == 200
    output = server.output()  # all of it: the server has stopped
    assert "dailypapers.access" not in output and "/api/daily_papers" not in output


@pytest.mark.parametrize(("name", "value", "message"), [
    ("LOG_LEVEL", "loud", "log_level must be one of debug, info, warning, error, critical, not 'loud'"),
    ("LOG_FORMAT", "xml", "log_format must be one of text, json, not 'xml'"),
])  # fmt: skip
def test_a_bad_log_setting_is_a_clear_error_at_start(demo_copy, name, value, message):
    result = run_cli("--db", str(demo_copy), "serve", "--port", str(free_port()), env={f"DAILYPAPERS_{name}": value})
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
