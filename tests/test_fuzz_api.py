"""Fuzzing the whole OpenAPI surface with schemathesis: whatever it sends, no answer is a 500, and every
answer is one the OpenAPI document describes: a documented status code, a documented media type, the
documented headers, and a body that conforms to the status code's schema (the models of web/models.py,
which allow no undocumented field)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import free_port
from dailypapers import accounts

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]  # fmt: skip


@pytest.fixture(scope="module")
def api_schema(module_db, _demo_built):
    from dailypapers.config import Config
    from dailypapers.web.app import create_app

    db = module_db("fuzz", copy_of=_demo_built)
    # Mail and arXiv go nowhere (closed ports): subscriptions are accepted and their mails wait in the
    # outbox; submissions of papers not in the store are answered 502.
    config = Config({"db": str(db), "smtp_host": "127.0.0.1", "smtp_port": free_port(),
                     "arxiv_api_url": f"http://127.0.0.1:{free_port()}/api/query", "arxiv_min_interval": 0,
                     "submissions_per_hour": 3, "comments_per_hour": 0}, environ={})  # fmt: skip
    app = create_app(config)
    # The write API is fuzzed as an administrator (who may do everything), so requests get past the token check.
    admin = app.state.store.create_user("fuzz", "fuzz@example.org", accounts.hash_password("correct horse battery"), "admin")
    token, token_hash = accounts.new_secret()
    app.state.store.create_api_token(admin["id"], "fuzz", token_hash)
    return schemathesis.openapi.from_asgi("/openapi.json", app), {"Authorization": f"Bearer {token}"}, app


def test_every_answer_is_a_documented_one(api_schema):
    schema, headers, _ = api_schema
    # (schemathesis's own pytest plugin does not run under pytest 9 yet: the operations are driven here)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16  # the whole surface: papers, search, feeds, subscriptions, the community's writes
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def conforms(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()


def test_the_write_api_takes_any_text_on_a_real_paper(api_schema):
    """Random ids rarely name a paper, so the fuzzing above mostly meets 404s: here the writes reach a real
    paper and a real comment with arbitrary text; every answer conforms to the document."""
    from fastapi.testclient import TestClient

    schema, headers, app = api_schema
    client = TestClient(app, headers=headers)

    def status(response, path: str) -> int:
        schema[path][response.request.method].validate_response(response)
        return response.status_code

    paper_id = client.get("/api/daily_papers", params={"limit": 1}).json()[0]["paper"]["id"]
    comment_id = client.post(f"/api/papers/{paper_id}/comments", json={"body": "a comment to edit"}).json()["id"]
    text = st.text(st.characters(codec="utf-8"), max_size=300)

    @given(body=text, handle=text, fullname=st.one_of(st.none(), text), paper=text)
    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def writes(body, handle, fullname, paper):
        added = client.post(f"/api/papers/{paper_id}/comments", json={"body": body})
        assert status(added, "/api/papers/{paper_id}/comments") in (201, 422)
        assert status(client.patch(f"/api/comments/{comment_id}", json={"body": body}), "/api/comments/{comment_id}") in (200, 422)
        attached = client.put(f"/api/papers/{paper_id}/organization", json={"organization": handle, "fullname": fullname})
        assert status(attached, "/api/papers/{paper_id}/organization") in (200, 422)
        assert status(client.post("/api/papers", json={"id": paper}), "/api/papers") in (404, 409, 422, 429, 502)
        assert client.get(f"/papers/{paper_id}").status_code == 200
        for page in ("/authors/", "/organizations/"):  # pages outside the OpenAPI document, named by any text
            assert client.get(page + quote(handle, safe="")).status_code in (200, 404, 422)

    writes()
