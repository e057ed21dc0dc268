"""Two web hosts on one PostgreSQL database, each on a machine of its own (network namespaces joined by a
bridge, tests/hosts.py), the database on a third: what one host writes, the other shows; limits and the
digest outbox are the database's, not a host's; each host's own search indexes converge; a host that loses
the database says so (503) and recovers by itself.

Needs root (namespaces) and PostgreSQL; skipped elsewhere, and run in CI."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import hosts
import postgres
from conftest import BACKEND, FIXTURES, PATIENCE, MailServer, ServeProcess, catalog_dump, dailypapers_cmd, mail_settings

# These start PostgreSQL servers of their own, whichever backend the suite runs on: once is enough.
pytestmark = [pytest.mark.slow, pytest.mark.skipif(BACKEND == "postgresql", reason="runs in the SQLite pass")]

PUBLIC = "http://papers.test"  # both hosts serve one site behind one name, as behind a load balancer
PASSWORD = "correct horse battery"
DB_TIMEOUT = 3  # seconds a request waits for the database, set low to see it hold


def _unavailable(why: str):
    if os.environ.get("DAILYPAPERS_REQUIRE_POSTGRES") == "1":
        pytest.fail(why)
    pytest.skip(why)


class Cluster:
    """The network, the database server on host "db", and `serve` on hosts "a" and "b"."""

    def __init__(self, folder):
        self.folder = folder
        self.net = hosts.Network(["db", "a", "b"]).__enter__()
        try:
            self.pg = postgres.PostgresServer(listen=self.net.address("db"), prefix=self.net.prefix("db")).start()
            self.pg.sql('CREATE DATABASE "site"')
            self.url = self.pg.url("site")
            self.sites: dict[str, ServeProcess] = {}
        except BaseException:
            self.close()
            raise

    def cli(self, host: str, *args: str, env: dict | None = None, **options) -> subprocess.CompletedProcess:
        """`dailypapers ARGS` on `host`, with that host's index folder."""
        command = [*self.net.prefix(host), *dailypapers_cmd(), "--db", self.url, "--set",
                   f"index_dir={self.folder / host}-index", *args]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, timeout=PATIENCE, env={**os.environ, **(env or {})},
                              **options)  # fmt: skip

    def serve(self, host: str) -> ServeProcess:
        site = ServeProcess("--db", self.url, "--set", f"index_dir={self.folder / host}-index", "--set", f"public_url={PUBLIC}",
                            "--set", f"db_timeout={DB_TIMEOUT}", "--set", "failed_logins=4", "--set", "logins_per_hour=1000",
                            "serve", "--host", self.net.address(host), "--workers", "2",
                            prefix=self.net.prefix(host), host=self.net.address(host), port=8000)  # fmt: skip
        self.sites[host] = site.__enter__()
        return site

    def client(self, host: str) -> httpx.Client:
        return httpx.Client(base_url=self.sites[host].url, headers={"Origin": PUBLIC}, timeout=PATIENCE)

    def close(self):
        for site in getattr(self, "sites", {}).values():
            site.stop()
        if getattr(self, "pg", None):
            self.pg.__exit__()
        self.net.__exit__()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = hosts.available() or postgres.available()
    if why:
        _unavailable(why)
    cluster = Cluster(tmp_path_factory.mktemp("hosts"))
    try:
        made = cluster.cli("a", "demo", "--no-serve")  # the catalog, from host a; b starts with no index at all
        assert made.returncode == 0, made.stderr
        cluster.serve("a")
        cluster.serve("b")
        yield cluster
    finally:
        cluster.close()


def eventually(check, what: str):
    """check() once it is true; the test waits for a change to travel, never for a set time."""
    deadline = time.monotonic() + PATIENCE
    while not (value := check()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)
    return value


def search(cluster, host: str, text: str) -> list[str]:
    with cluster.client(host) as client:
        answer = client.get("/api/papers/search", params={"q": text, "mode": "lexical", "limit": 10})
        assert answer.status_code == 200, answer.text
        return [item["paper"]["id"] for item in answer.json()]


def test_both_hosts_answer_the_same_searches(cluster):
    """Host b began with no index: it built its own from the shared catalog."""
    for text in ("diffusion", "language model agents", "protein"):
        assert eventually(lambda: search(cluster, "b", text) == search(cluster, "a", text) and search(cluster, "a", text),
                          f"both hosts finding the same papers for {text!r}")  # fmt: skip


def test_a_vote_on_one_host_shows_on_the_other(cluster):
    """Host b has the day's feed cached when a reader upvotes on host a: b's cache learns of it."""
    from dailypapers import accounts
    from dailypapers.store import Store

    store = Store(cluster.url)
    user = store.create_user("voter", "voter@example.org", accounts.hash_password(PASSWORD))
    token, token_hash = accounts.new_secret()
    store.create_api_token(user["id"], "tests", token_hash)
    day = store.latest_day()
    store.close()

    def upvotes(client) -> dict[str, int]:
        answer = client.get("/api/daily_papers", params={"date": day})
        assert answer.status_code == 200, answer.text
        return {item["paper"]["id"]: item["paper"]["upvotes"] for item in answer.json()}

    with cluster.client("b") as b, cluster.client("a") as a:
        before = upvotes(b)  # cached by host b now
        paper = min(before)
        answer = a.post(f"/api/papers/{paper}/upvote", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["upvotes"] == before[paper] + 1
        started = time.monotonic()
        eventually(lambda: upvotes(b) == {**before, paper: before[paper] + 1}, "host b showing the vote")
        print(f"a vote on host a showed on host b after {time.monotonic() - started:.2f} s")


def test_log_in_limits_are_shared_by_the_hosts(cluster):
    """Guesses alternate between the hosts, as a load balancer sends them: the account's limit for one
    address (failed_logins = 4) holds for the two hosts together."""
    made = cluster.cli("a", "users", "create", "target", "--email", "target@example.org", "--password-stdin",
                       input=PASSWORD + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    answers = []
    for n in range(10):
        with cluster.client("ab"[n % 2]) as client:
            answers.append(client.post("/login", data={"username": "target", "password": "wrong"}).status_code)
    assert Counter(answers) == {401: 4, 429: 6}, answers
    assert answers[:4] == [401] * 4


def test_two_digest_runs_on_two_hosts_deliver_every_digest_once(cluster):
    from dailypapers.digest.preferences import check_preferences
    from dailypapers.store import Store

    store = Store(cluster.url)
    emails = [f"reader{n}@example.org" for n in range(40)]
    for email in emails:
        subscriber, confirmation = store.subscribe(email, check_preferences(frequency="daily", top=3))
        store.mark_sent(confirmation)
        store.set_subscriber_status(subscriber["id"], "confirmed", only_from=["pending"])
    store.close()
    with MailServer(host=cluster.net.here) as mail:
        env = {f"DAILYPAPERS_{k.upper()}": str(v) for k, v in mail_settings(mail, smtp_host=cluster.net.here).items()}
        runs = {}
        threads = [threading.Thread(target=lambda h=h: runs.__setitem__(h, cluster.cli(h, "digest", "send", env=env)))
                   for h in ("a", "b")]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for host, result in runs.items():
            assert result.returncode == 0, (host, result.stderr)
        received = Counter(message["To"] for message in mail.messages)
    assert received == dict.fromkeys(emails, 1)


def test_an_ingest_on_one_host_reaches_both_hosts_indexes(cluster):
    day = sorted((FIXTURES / "hf-api").glob("*.json"))[-1]
    before = catalog_dump(cluster.url)
    made = cluster.cli("b", "ingest", "hf-daily", str(day))
    assert made.returncode == 0, made.stderr
    known = {p["id"] for p in before["papers"]}
    titles = [p["title"] for p in catalog_dump(cluster.url)["papers"] if p["id"] not in known][:3]
    assert titles, "the fixture day added no paper"
    for title in titles:
        words = " ".join(title.split()[:6])
        eventually(lambda: (found := search(cluster, "a", words)) and found == search(cluster, "b", words),
                   f"both hosts finding the new paper {title!r} alike")  # fmt: skip


def test_a_host_that_loses_the_database_answers_503_and_recovers(cluster):
    def timed(path: str) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        return a.get(path, params={"p": 1}), time.monotonic() - started

    with cluster.client("a") as a:
        assert a.get("/api/daily_papers").status_code == 200
        cluster.net.cut("db")  # packets lost, nothing refused: the worst case for a client
        try:
            with ThreadPoolExecutor(9) as pool:
                answers = list(pool.map(timed, ["/api/daily_papers", "/", "/api/papers"] * 3))
        finally:
            cluster.net.mend("db")
        for answer, _ in answers:
            assert answer.status_code == 503, (answer.status_code, answer.text[:300], cluster.sites["a"].output()[-3000:])
            assert "database" in answer.text.lower()
        assert answers[0][0].json()["error"]
        slowest = max(seconds for _, seconds in answers)
        print(f"without its database, host a answered 503 within {slowest:.1f} s (db_timeout {DB_TIMEOUT} s)")
        # A generous bound, not a measurement: a request that waited on a dead connection would take
        # minutes (the kernel's TCP retries), far beyond it.
        assert slowest < 20 * DB_TIMEOUT
        eventually(lambda: a.get("/api/daily_papers").status_code == 200, "host a serving again")
