"""Shared fixtures: data paths, stores, a demo database, a live server and a replay HTTP server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# How long a test waits for something that should happen (a server to start, a mail, an index to catch
# up). Only a broken run waits that long: the suite must pass on a machine busy with other work.
PATIENCE = 600.0
FIXTURES = ROOT / "tests" / "data" / "fixtures"  # recorded responses, copied from the shared data (PROVENANCE.md)

# The large data sets (tens of MB) stay outside the repository. Tests that need them take one of the
# fixtures below, which skip unless DAILYPAPERS_SHARED names the folder that holds `data/` (CI sets it).
SHARED_ENV = "DAILYPAPERS_SHARED"
SHARED_FIXTURES = {
    "hf_api_file": ("hf-daily-papers", "hf_daily_papers_api_2024-05-27_to_2026-08-21.jsonl.gz"),
    "hf_scrape_file": ("hf-daily-papers", "hf_daily_papers_pagescrape_2024-01-01_to_2024-11-10.jsonl.gz"),
    "arxiv_cs_file": ("arxiv-cs-daily", "arxiv_cs_daily_2025-03-18_to_2026-07-01.jsonl.gz"),
    "scifact_dir": ("scifact",),
}


def shared_data(*parts: str) -> Path:
    """A path in the shared data sets, or a skip that says how to get them."""
    folder = os.environ.get(SHARED_ENV)
    if not folder:
        pytest.skip(f"needs the shared data set {'/'.join(parts)}: set {SHARED_ENV} to the folder holding data/")
    path = Path(folder) / "data" / Path(*parts)
    if not path.exists():
        pytest.fail(f"{SHARED_ENV}={folder} has no data/{'/'.join(parts)}")
    return path


def _shared_fixture(name: str, parts: tuple[str, ...]):
    @pytest.fixture(name=name, scope="session")
    def fixture() -> Path:
        return shared_data(*parts)

    return fixture


for _name, _parts in SHARED_FIXTURES.items():
    globals()[f"_{_name}"] = _shared_fixture(_name, _parts)


def pytest_collection_modifyitems(items):
    """Tests that use the shared data sets are marked `shared` (`pytest -m shared` runs just those)."""
    for item in items:
        if set(getattr(item, "fixturenames", ())) & set(SHARED_FIXTURES):
            item.add_marker(pytest.mark.shared)


def ctrl_c_reaches_it() -> None:
    """`preexec_fn` of a child a test stops with SIGINT, as Ctrl-C at a terminal: pytest started in the
    background (`.ci/run &`) has SIGINT ignored, and a child inherits that, so it would never see it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dailypapers_cmd() -> list[str]:
    return [sys.executable, "-m", "dailypapers"]


# The database every test runs on: "sqlite" (a file in the test's folder) or "postgresql" (a new database
# on a PostgreSQL server the session starts, see tests/postgres.py). `.ci/run` runs the suite with each.
BACKEND = os.environ.get("DAILYPAPERS_TEST_DB", "sqlite")
if BACKEND not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"DAILYPAPERS_TEST_DB={BACKEND!r}: choose sqlite or postgresql")
on_sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="about the SQLite file itself")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A PostgreSQL server for the session; skipped where none can be started, unless the suite runs on it."""
    import postgres as pg

    why = pg.available()
    if why:
        if BACKEND == "postgresql" or os.environ.get("DAILYPAPERS_REQUIRE_POSTGRES") == "1":
            pytest.fail(why)
        pytest.skip(why)
    # the hosts' index folders of PostgreSQL databases (a per-user cache) stay inside the session's folder
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    with pg.PostgresServer() as server:
        yield server


def every_route(app, routes=None):
    """Every endpoint of `app`, also inside included routers (FastAPI ≥ 0.16x keeps them nested)."""
    from fastapi.routing import APIRoute

    for route in app.routes if routes is None else routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from every_route(app, route.original_router.routes)


def index_of(db) -> Path:
    """The folder of a database's search indexes, as the application finds it."""
    from dailypapers.search import default_index_dir
    from dailypapers.store import database_url

    return default_index_dir(database_url(db))


class Databases:
    """make(name, copy_of=None): a new database on the suite's backend (a path in `folder`, or a PostgreSQL
    URL), empty or a copy of another with its indexes; dropped at the end."""

    def __init__(self, folder: Path, request):
        self.folder, self.request, self.made = folder, request, []

    def __call__(self, name: str = "test", copy_of=None):
        if BACKEND == "sqlite":
            db = self.folder / f"{name}.db"
            if copy_of:
                shutil.copy(copy_of, db)
        else:
            server = self.request.getfixturevalue("postgres")
            db = server.create_database(name, template=copy_of and copy_of.rsplit("/", 1)[1])
            self.made.append(db)
        if copy_of:
            shutil.copytree(index_of(copy_of), index_of(db))
        return db

    def drop(self):
        for url in self.made:
            self.request.getfixturevalue("postgres").drop_database(url)
            shutil.rmtree(index_of(url), ignore_errors=True)


@pytest.fixture
def new_db(request, tmp_path):
    databases = Databases(tmp_path, request)
    yield databases
    databases.drop()


@pytest.fixture(scope="module")
def module_db(request, tmp_path_factory):
    """new_db for module-scoped fixtures."""
    databases = Databases(tmp_path_factory.mktemp("databases"), request)
    yield databases
    databases.drop()


@pytest.fixture
def store(new_db):
    from dailypapers.store import Store

    s = Store(new_db())
    yield s
    s.close()


@pytest.fixture(scope="session")
def _demo_built(tmp_path_factory, request):
    """The demo database built by `dailypapers demo --no-serve` from the bundled sample (once per session).
    On PostgreSQL it is a template nothing connects to, so that copies can be made of it."""
    import subprocess

    if BACKEND == "sqlite":
        db = tmp_path_factory.mktemp("demo") / "demo.db"
    else:
        server = request.getfixturevalue("postgres")
        server.sql('CREATE DATABASE "demo_template"')
        db = server.url("demo_template")
    subprocess.run([*dailypapers_cmd(), "--db", str(db), "demo", "--no-serve"], check=True, capture_output=True)
    return db


@pytest.fixture(scope="session")
def demo_db(_demo_built, request):
    """The demo database, for tests that only read it."""
    if BACKEND == "sqlite":
        return _demo_built
    server = request.getfixturevalue("postgres")
    url = server.url("demo")
    server.sql('CREATE DATABASE "demo" TEMPLATE "demo_template"')
    shutil.copytree(index_of(_demo_built), index_of(url))
    return url


@pytest.fixture
def demo_copy(_demo_built, new_db):
    """A private copy of the demo database, for tests that write."""
    return new_db("demo", copy_of=_demo_built)


class LiveServer:
    def __init__(self, db: Path, **settings):
        import uvicorn

        from dailypapers.config import Config
        from dailypapers.web.app import create_app
        from dailypapers.web.server import server_options

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # a busy machine may take seconds to embed a query: tests compare behaviour, never speed
        settings = {"query_embed_timeout": 600.0, **settings}
        config = Config({"db": str(db), "port": self.port, "public_url": self.url, **settings}, environ={})
        self.app = create_app(config)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    **server_options(config)))  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + PATIENCE
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.state.store.close()


class ServeProcess:
    """`dailypapers ... serve` in its own process group, as an operator starts it; ready once it answers."""

    def __init__(self, *args: str, port: int | None = None, env: dict | None = None, host: str = "127.0.0.1",
                 prefix: list[str] = ()):
        """`prefix`: what to run it under, e.g. `ip netns exec NAME` on another host (tests/hosts.py)."""
        import subprocess
        import tempfile

        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        self.log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty server never blocks on it
        self.process = subprocess.Popen([*prefix, *dailypapers_cmd(), *args, "--port", str(self.port)], stdout=self.log,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                        env={**os.environ, **(env or {})})  # fmt: skip

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def __enter__(self):
        import httpx

        deadline = time.monotonic() + PATIENCE
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode}: {self.output()}")
            try:
                httpx.get(f"{self.url}/static/style.css", timeout=5)
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> str:
        """Stop it as Ctrl-C does; what it printed."""
        import signal
        import subprocess

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        return self.output()

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture(scope="session")
def live_demo(demo_db):
    """The demo database served over real HTTP by uvicorn on a free port."""
    with LiveServer(demo_db) as server:
        yield server


CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
REQUIRED = os.environ.get("DAILYPAPERS_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (DAILYPAPERS_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (skipped if missing, unless DAILYPAPERS_REQUIRE_BROWSER=1)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class ReplayServer:
    """A local HTTP server that answers with recorded responses.

    `routes` maps a request path to a function (query: dict[str, str]) -> (status, headers, body bytes),
    so a test can replay recorded bodies and decide statuses. Every request is logged in `requests`
    as (monotonic time, path, query).
    """

    def __init__(self, routes: dict):
        self.routes = routes
        self.requests: list[tuple[float, str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                from urllib.parse import parse_qsl, urlsplit

                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                server.requests.append((time.monotonic(), parts.path, query))
                handler = server.routes.get(parts.path)
                status, headers, body = handler(query) if handler else (404, {}, b"not found")
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


ARXIV_API = FIXTURES / "arxiv-api"
_RECORDED_IDS = {  # id_list -> recorded answer of the arXiv API
    "2104.12255": "arxivpy__id_2104.12255v1_s0_m100_6ae69987ffe1.json",
    "1605.08386": "arxivpy__id_1605.08386_s0_m100_199195aa31ad.json",
    "0808.05394": "arxivpy__id_0808.05394_s0_m100_7b0c7d0a7cdd.json",
}


def recorded_arxiv_api(query: dict):
    """A ReplayServer route for /api/query: recorded answers by `id_list`; 1707.08567 is always busy (503)."""
    if query.get("id_list") == "1707.08567":
        return 503, {"Retry-After": "0"}, b"busy"
    recorded = json.loads((ARXIV_API / _RECORDED_IDS[query["id_list"]]).read_text())
    return recorded["status_code"], {"Content-Type": "application/atom+xml"}, recorded["body"].encode("latin-1")


@pytest.fixture
def replay_server():
    servers = []

    def start(routes: dict) -> ReplayServer:
        server = ReplayServer(routes).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


def sql_rows(db, statement: str, **params) -> list[tuple]:
    """The rows of one SQL query on a test database, SQLite or PostgreSQL."""
    import sqlalchemy as sa

    from dailypapers.store import database_url

    engine = sa.create_engine(database_url(db))
    try:
        with engine.connect() as con:
            return [tuple(row) for row in con.execute(sa.text(statement), params)]
    finally:
        engine.dispose()


def rows_if_ready(db, statement: str) -> list[tuple] | None:
    """sql_rows, or None while the database or its tables do not exist yet (never creates a SQLite file)."""
    import sqlalchemy as sa

    if "://" not in str(db) and not Path(db).exists():
        return None
    try:
        return sql_rows(db, statement)
    except sa.exc.DBAPIError:
        return None


def catalog_dump(db) -> dict:
    """The catalog's content, independent of row numbering: papers (without pk/seq), featured days, organizations."""
    import sqlalchemy as sa

    from dailypapers.store import database_url

    engine = sa.create_engine(database_url(db))
    with engine.connect() as con:
        papers = [
            {k: v for k, v in row._mapping.items() if k not in ("pk", "seq")}
            for row in con.execute(sa.text("SELECT * FROM papers ORDER BY id"))
        ]
        featured = [tuple(r) for r in con.execute(sa.text("SELECT paper_id, day FROM featured ORDER BY paper_id, day"))]
        organizations = [tuple(r) for r in con.execute(sa.text("SELECT * FROM organizations ORDER BY name"))]
    engine.dispose()
    return {"papers": papers, "featured": featured, "organizations": organizations}


def run_cli(*args: str, env: dict | None = None, timeout: float | None = PATIENCE, input_text: str | None = None):
    import subprocess

    return subprocess.run([*dailypapers_cmd(), *args], capture_output=True, text=True, timeout=timeout, input=input_text,
                          env={**os.environ, **(env or {})})  # fmt: skip


class MailServer:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives as parsed messages.

    `fail_rate` of mail transactions fail at random (seeded): half are refused with 421 at MAIL FROM,
    half lose the connection at RCPT TO, as an overloaded or flaky server does. Addresses in `reject`
    are refused for good (550). `on_mail(n)` is called at the n-th MAIL FROM (from 1), before answering.
    """

    def __init__(self, fail_rate: float = 0.0, seed: int = 0, reject: set[str] | None = None, on_mail=None,
                 host: str = "127.0.0.1"):
        import email
        import email.policy
        import random

        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.received_at: list[float] = []  # time.monotonic() of each message
        self.transactions = 0
        self.failures = 0
        rng, server = random.Random(seed), self

        class Handler:
            async def handle_MAIL(self, smtp, session, envelope, address, options):  # noqa: N802
                server.transactions += 1
                if on_mail:
                    on_mail(server.transactions)
                session.fault = rng.random() < fail_rate and rng.choice(["refuse", "drop"])
                if session.fault == "refuse":
                    server.failures += 1
                    return "421 4.3.2 Too busy, try again later"
                envelope.mail_from = address
                return "250 OK"

            async def handle_RCPT(self, smtp, session, envelope, address, options):  # noqa: N802
                if getattr(session, "fault", None) == "drop":
                    server.failures += 1
                    smtp.transport.close()
                    return "421 4.4.2 Connection dropped"
                if address.lower() in (reject or set()):
                    return "550 5.1.1 No such user"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, smtp, session, envelope):  # noqa: N802
                server.received_at.append(time.monotonic())
                server.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK: queued"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname=host, port=self.port)

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


@pytest.fixture
def mail_server():
    with MailServer() as server:
        yield server


def mail_settings(server: MailServer, **more) -> dict:
    """Settings that send through `server`, retrying fast."""
    return {"smtp_host": "127.0.0.1", "smtp_port": server.port, "mail_retry_base": 0.01, **more}
