"""What bounds one request's cost: body size, header deadline, password hashes at once; and the headers and
origin checks that keep forms safe."""

from __future__ import annotations

import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import PATIENCE, LiveServer
from dailypapers import accounts

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(module_db, _demo_built):
    db = module_db("limits", copy_of=_demo_built)
    with LiveServer(db, max_body_bytes=50_000, header_timeout=1.0, signups_per_hour=1000, logins_per_hour=1000) as server:
        yield server


def _paper_id(site) -> str:
    return httpx.get(f"{site.url}/api/daily_papers", params={"limit": 1}).json()[0]["paper"]["id"]


def test_bodies_over_the_limit_are_refused_before_anything_reads_them(site):
    paper = _paper_id(site)
    big = b'{"body": "' + b"x" * 60_000 + b'"}'
    # No token: were the body read and the token checked first, this would be a 401.
    answer = httpx.post(f"{site.url}/api/papers/{paper}/comments", content=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "50,000 bytes" in answer.json()["error"]
    # Sent in chunks without a Content-Length, it is refused once it passes the limit.
    chunks = (b"x" * 10_000 for _ in range(10))
    answer = httpx.post(f"{site.url}/api/papers/{paper}/comments", content=chunks, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"]
    # A page's form gets the error page.
    answer = httpx.post(f"{site.url}/login", data={"username": "x", "password": "y" * 60_000}, headers={"Origin": site.url})
    assert answer.status_code == 413 and "text/html" in answer.headers["content-type"] and "50,000 bytes" in answer.text
    # Bodies within the limit are untouched.
    answer = httpx.post(f"{site.url}/login", data={"username": "x", "password": "y" * 100}, headers={"Origin": site.url})
    assert answer.status_code == 401


def _closed_by_server(sock: socket.socket, trickle: bytes = b"") -> bool:
    """Whether the server closes `sock` (within PATIENCE) while the client sends `trickle` a byte at a time."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + PATIENCE
    sent = 0
    while time.monotonic() < deadline:
        try:
            if sock.recv(1024) == b"":
                return True
        except TimeoutError:
            pass
        except ConnectionError:
            return True
        if sent < len(trickle):
            try:
                sock.send(trickle[sent : sent + 1])
            except OSError:
                return True
            sent += 1
    return False


def test_connections_that_send_no_headers_are_closed(site):
    port = int(site.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as idle:
        assert _closed_by_server(idle)  # connected, sent nothing
    slow_headers = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Slow-%d: y\r\n" % i for i in range(10_000))
    with socket.create_connection(("127.0.0.1", port)) as slow:
        assert _closed_by_server(slow, slow_headers)  # headers a byte at a time, never finished
    assert httpx.get(f"{site.url}/api/daily_papers", params={"limit": 1}).status_code == 200  # others are served


def test_password_hashes_run_at_most_two_at_once(site, monkeypatch):
    running, most = [0], [0]
    lock = threading.Lock()

    class CountingHasher:  # the server runs in this process: count the argon2 checks running together
        def __init__(self, hasher):
            self.hasher = hasher

        def verify(self, password_hash, password):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            try:
                return self.hasher.verify(password_hash, password)
            finally:
                with lock:
                    running[0] -= 1

        def __getattr__(self, name):
            return getattr(self.hasher, name)

    monkeypatch.setattr(accounts, "_HASHER", CountingHasher(accounts._HASHER))

    def log_in(i: int) -> int:
        return httpx.post(f"{site.url}/login", data={"username": f"someone{i}", "password": PASSWORD}, headers={"Origin": site.url},
                          timeout=PATIENCE).status_code  # fmt: skip

    with ThreadPoolExecutor(24) as pool:
        assert set(pool.map(log_in, range(24))) == {401}  # every one checked, none refused
    assert 1 <= most[0] <= 2  # password_hashes_at_once


def test_pages_with_a_csrf_token_are_private(site):
    client = httpx.Client(base_url=site.url, headers={"Origin": site.url})
    assert "no-store" not in client.get("/").headers.get("cache-control", "")  # logged out: nothing personal
    answer = client.post("/signup", data={"username": "priv", "email": "priv@example.org", "password": PASSWORD})
    assert answer.status_code == 303
    for path in ("/", "/settings", f"/papers/{_paper_id(site)}", "/submit", "/search?q=attention"):
        page = client.get(path)
        assert page.status_code == 200 and re.search(r'name="csrf" value="[^"]+"', page.text), path
        assert page.headers["cache-control"] == "private, no-store", path


def test_subscribe_form_checks_its_origin(site):
    store = site.app.state.store
    before = store.count_subscribers()
    form = {"email": "victim@example.org", "frequency": "daily", "top": "10"}
    assert httpx.post(f"{site.url}/subscribe", data=form, headers={"Origin": "https://evil.example"}).status_code == 403
    assert httpx.post(f"{site.url}/subscribe", data=form).status_code == 403  # no Origin, no Referer
    assert store.count_subscribers() == before  # no one was subscribed, no mail queued
    assert httpx.post(f"{site.url}/subscribe", data=form, headers={"Origin": site.url}).status_code == 200
    assert store.count_subscribers() != before
