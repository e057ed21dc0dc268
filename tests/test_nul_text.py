"""Text no database can hold: PostgreSQL's text cannot contain NUL, so a NUL anywhere in a request (its
path, its query, a form field) must be refused as bad input (422) by every route, logged in or not, on
both backends, and store nothing."""

from __future__ import annotations

import re

import pytest

from conftest import catalog_dump, every_route, free_port
from dailypapers import accounts

NUL = "a\x00b"
PASSWORD = "correct horse battery"
# every form field name the site's forms use, so that each handler meets a NUL in the field it reads
FIELDS = ("username", "password", "email", "body", "id", "name", "csrf", "back", "up", "q", "organization",
          "fullname", "token", "new_password", "role", "frequency", "keywords", "authors", "role", "day")  # fmt: skip


@pytest.fixture(scope="module")
def client(module_db, _demo_built):
    from fastapi.testclient import TestClient

    from dailypapers.config import Config
    from dailypapers.web.app import create_app

    db = module_db("nul", copy_of=_demo_built)
    # mail and arXiv go nowhere (closed ports)
    app = create_app(Config({"db": str(db), "query_embed_timeout": 600, "smtp_host": "127.0.0.1", "smtp_port": free_port(),
                             "arxiv_api_url": f"http://127.0.0.1:{free_port()}/api/query"}, environ={}))  # fmt: skip
    # an administrator, who reaches every form
    admin = app.state.store.create_user("nul", "nul@example.org", accounts.hash_password(PASSWORD), "admin")
    token, token_hash = accounts.new_secret()
    app.state.store.create_api_token(admin["id"], "nul", token_hash)
    headers = {"Origin": "http://testserver", "Authorization": f"Bearer {token}"}  # a session and a token: every route's way in
    with TestClient(app, base_url="http://testserver", headers=headers, follow_redirects=False) as client:
        answer = client.post("/login", data={"username": "nul", "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        yield client, db


def _routes(app, method: str) -> list[str]:
    return sorted({route.path for route in every_route(app) if method in route.methods})


def _filled(path: str, value: str) -> str:
    from urllib.parse import quote

    return re.sub(r"\{[^}:]+(:[^}]+)?\}", lambda m: quote(value, safe=""), path)


def test_a_nul_anywhere_is_bad_input(client):
    client, db = client
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/settings").text)[1]
    before = catalog_dump(db)
    failures = []
    paper = client.get("/api/daily_papers", params={"limit": 1}).json()[0]["paper"]["id"]
    for path in _routes(client.app, "GET"):
        for url in {_filled(path, NUL), _filled(path, paper)}:
            answer = client.get(url, params={name: NUL for name in ("q", "p", "date", "sort", "mode", "back", "token")})
            if answer.status_code >= 500:
                failures.append(f"GET {url}: {answer.status_code}")
    for path in _routes(client.app, "POST") + _routes(client.app, "PUT") + _routes(client.app, "PATCH"):
        for url in {_filled(path, NUL), _filled(path, paper)}:
            form = {name: NUL for name in FIELDS} | {"csrf": csrf}
            for method in ("POST", "PUT", "PATCH"):
                answer = client.request(method, url, data=form)
                if answer.status_code >= 500:
                    failures.append(f"{method} {url} (form): {answer.status_code}")
                answer = client.request(method, url, json={name: NUL for name in FIELDS})
                if answer.status_code >= 500:
                    failures.append(f"{method} {url} (json): {answer.status_code}")
    assert not failures, failures
    assert catalog_dump(db) == before
    refused = client.get("/api/papers/search", params={"q": NUL})
    assert refused.status_code == 422 and "NUL" in refused.json()["error"]
    # an escaped backslash before "u0000" is text, not a NUL
    added = client.post(f"/api/papers/{paper}/comments", json={"body": "write it as \\u0000 in JSON"})
    assert added.status_code == 201 and added.json()["body"] == "write it as \\u0000 in JSON", added.text
