"""`dailypapers ingest hf-daily --date/--since` against recorded /api/daily_papers responses on a local server."""

import json

from conftest import FIXTURES, run_cli

from dailypapers.store import Store

RECORDED = {
    path.stem.rsplit("date-", 1)[1]: path.read_bytes()
    for path in (FIXTURES / "hf-api").glob("*daily_papers_date-*.json")
}
FAST = {"DAILYPAPERS_HF_MIN_INTERVAL": "0.05"}


def daily_papers_route(answers=None):
    """Serve a recorded day as HF does: the whole day on page 0, [] after; days never recorded are []."""
    answers = answers or {}

    def route(query):
        day, page = query.get("date"), int(query.get("p", 0))
        if answers.get(day):
            return answers[day].pop(0)
        body = RECORDED.get(day, b"[]") if page == 0 else b"[]"
        return 200, {"Content-Type": "application/json"}, body

    return route


def test_one_day(tmp_path, new_db, replay_server):
    server = replay_server({"/api/daily_papers": daily_papers_route()})
    db = new_db("live")
    result = run_cli("--db", str(db), "ingest", "hf-daily", "--date", "2025-10-02", "--base-url", server.url, env=FAST)
    assert result.returncode == 0, result.stderr
    items = json.loads(RECORDED["2025-10-02"])
    store = Store(db)
    assert store.latest_day() == "2025-10-02" and store.count_papers() == len(items)
    knapsack = store.paper("2509.25849")
    assert knapsack["title"].startswith("Knapsack RL") and knapsack["featured_on"] == ["2025-10-02"]
    assert knapsack["submitted_by"]["user"] == "ziniuli"
    assert server.requests[0][2] == {"date": "2025-10-02", "limit": "100", "p": "0"}


def test_a_range_of_days_with_retries_and_errors(tmp_path, new_db, replay_server):
    answers = {
        "2026-08-19": [(503, {"Retry-After": "1"}, b"busy")],  # retried after the server's delay
        "2026-08-21": [(400, {}, b'{"error":"bad date"}')],  # reported, the range carries on
    }
    server = replay_server({"/api/daily_papers": daily_papers_route(answers)})
    db = new_db("range")
    result = run_cli("--db", str(db), "ingest", "hf-daily", "--since", "2026-08-19", "--until", "2026-08-21",
                     "--base-url", server.url, env=FAST)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "HTTP 400" in result.stderr
    days = [q["date"] for _, _, q in server.requests]
    assert days == ["2026-08-19", "2026-08-19", "2026-08-20", "2026-08-21"]
    retry_gap = server.requests[1][0] - server.requests[0][0]
    assert retry_gap >= 0.95
    assert Store(db).count_papers() == len(json.loads(RECORDED["2026-08-20"]))


def test_bad_dates_are_refused_before_any_request(tmp_path, new_db):
    db = new_db("x")
    for args in (["--date", "2025-02-30"], ["--since", "2026-01-05", "--until", "2026-01-01"], ["--date", "2999-01-01"], []):
        result = run_cli("--db", str(db), "ingest", "hf-daily", *args)
        assert result.returncode == 2, args
        assert "Error" in result.stderr


def test_unreachable_server_is_a_clean_error(tmp_path, new_db):
    from conftest import free_port

    db = new_db("down")
    env = {**FAST, "DAILYPAPERS_HTTP_RETRIES": "1"}
    result = run_cli("--db", str(db), "ingest", "hf-daily", "--date", "2025-10-02", "--base-url",
                     f"http://127.0.0.1:{free_port()}", env=env)  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Error" in result.stderr
