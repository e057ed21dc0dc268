"""One API contract: what the OpenAPI document says, and that the site answers as it says.

The document describes every answer of every operation (a schema for each success, `{"error": string}`
for each error, the Bearer scheme on the operations that take a token, the media types of feeds and
Markdown), and every error of the API, the feeds and the Markdown pages is `{"error": "<message>"}` in
application/json, with the headers that belong to it (Allow, WWW-Authenticate, Retry-After).
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from dailypapers import accounts
from dailypapers.web.auth import api_user

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
FEED_MEDIA = {"application/rss+xml", "application/atom+xml"}


@pytest.fixture(scope="module")
def site(module_db, _demo_built):
    """The demo site in-process, a copy of its database, an administrator's token, and its OpenAPI document."""
    from dailypapers.config import Config
    from dailypapers.web.app import create_app

    db = module_db("contract", copy_of=_demo_built)
    config = Config({"db": str(db), "votes_per_minute": 2, "max_body_bytes": 10_000}, environ={})
    app = create_app(config)
    admin = app.state.store.create_user("keeper", "keeper@example.org", accounts.hash_password("correct horse battery"), "admin")
    token, token_hash = accounts.new_secret()
    app.state.store.create_api_token(admin["id"], "contract", token_hash)
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    document = client.get("/openapi.json").json()
    return app, client, document


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def featured_paper(client) -> dict:
    return client.get("/api/daily_papers", params={"limit": 1}).json()[0]


# -- the document -----------------------------------------------------------------------------------------


def test_every_operation_documents_its_success_with_a_schema(site):
    _, _, document = site
    seen = 0
    for path, method, operation in operations(document):
        successes = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
        assert len(successes) == 1, (method, path, list(operation["responses"]))
        (code, answer), = successes.items()
        seen += path.startswith("/api/")
        if code == "204":
            assert "content" not in answer, (method, path)
            continue
        assert answer.get("content"), (method, path)
        for media, content in answer["content"].items():
            assert content.get("schema") not in (None, {}), (method, path, media)
        if path.startswith("/api/"):
            assert list(answer["content"]) == ["application/json"], (method, path)
            schema = answer["content"]["application/json"]["schema"]
            assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path, schema)
    assert seen >= 16


def test_every_error_an_operation_lists_is_the_error_shape(site):
    _, _, document = site
    schemas = document["components"]["schemas"]
    assert schemas["Error"]["properties"] == {"error": {"type": "string", "title": "Error", "description": "What went wrong, in words."}}
    assert schemas["Error"]["required"] == ["error"] and schemas["Error"]["additionalProperties"] is False
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas  # FastAPI's 422 shape is gone
    for path, method, operation in operations(document):
        for code, answer in operation["responses"].items():
            if code.startswith(("4", "5")) and path != "/healthz":  # /healthz's 503 is its own report
                assert answer["content"] == {"application/json": {"schema": ERROR_REF}}, (method, path, code)
                assert answer["description"], (method, path, code)
        responses = operation["responses"]
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in responses, (method, path)
        if operation.get("requestBody"):
            assert "413" in responses, (method, path)  # refused by its size before it is read
        if "{paper_id}" in path or "{comment_id}" in path or "{fmt}" in path:
            assert "404" in responses, (method, path)
        if "429" in responses:
            assert responses["429"]["headers"]["Retry-After"]["required"], (method, path)
    assert "409" in document["paths"]["/api/papers"]["post"]["responses"]
    assert "429" in document["paths"]["/api/papers/{paper_id}/upvote"]["post"]["responses"]


def schema_routes(app):
    """The routes in the document (FastAPI ≥ 0.13x wraps included routers' routes in route contexts)."""
    from fastapi import routing

    routes = routing.iter_route_contexts(app.routes) if hasattr(routing, "iter_route_contexts") else app.routes
    for route in routes:
        if isinstance(getattr(route, "original_route", route), APIRoute) and route.include_in_schema:
            yield route


def _calls(dependant) -> set:
    found = set()
    for dependency in dependant.dependencies:
        found.add(dependency.call)
        found |= _calls(dependency)
    return found


def test_operations_that_take_a_token_carry_the_bearer_scheme(site):
    app, _, document = site
    schemes = document["components"]["securitySchemes"]
    (name, scheme), = schemes.items()
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    with_token = 0
    for route in schema_routes(app):
        for method in route.methods:
            operation = document["paths"][route.path_format][method.lower()]
            if api_user in _calls(route.dependant):
                with_token += 1
                assert operation["security"] == [{name: []}], (method, route.path_format)
                unauthorized = operation["responses"]["401"]
                assert unauthorized["headers"]["WWW-Authenticate"]["required"], (method, route.path_format)
            else:
                assert "security" not in operation and "401" not in operation["responses"], (method, route.path_format)
    assert with_token >= 8  # submit, upvote and its withdrawal, comment, edit, delete, hide, show, attach


def test_answers_that_are_not_json_declare_their_media_types(site):
    _, _, document = site
    paths = document["paths"]
    feeds = [path for path in paths if path.startswith("/feeds/")]
    assert len(feeds) == 5
    for path in feeds:
        assert set(paths[path]["get"]["responses"]["200"]["content"]) == FEED_MEDIA, path
    assert set(paths["/papers/{paper_id}.md"]["get"]["responses"]["200"]["content"]) == {"text/markdown"}
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}


# -- the answers ----------------------------------------------------------------------------------------------


def assert_error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, (response.request.url, response.status_code, response.text)
    assert response.headers["content-type"] == "application/json", response.request.url
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"], body
    for word in words:
        assert word in body["error"], body
    return body


def test_unknown_api_paths_are_404_in_the_error_shape_and_pages_keep_the_error_page(site):
    _, client, _ = site
    for path in ("/api/nothing-here", "/api/papers/search/deeper", "/api", "/feeds/nothing/here.rss"):
        assert_error(client.get(path), 404)
    for path in ("/nothing-here", "/papers/2101.99999"):
        page = client.get(path)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


def test_a_method_a_path_does_not_take_is_405_with_allow_and_refusals_keep_their_headers(site):
    _, client, _ = site
    for method, path in (("PUT", "/api/daily_papers"), ("DELETE", "/api/papers/search"), ("POST", "/feeds/daily.rss"),
                         ("PATCH", "/api/papers"), ("DELETE", "/healthz")):  # fmt: skip
        refused = client.request(method, path)
        assert_error(refused, 405)
        assert method not in refused.headers["allow"] and "GET" in refused.headers["allow"]
    paper = featured_paper(client)
    anonymous = client.post(f"/api/papers/{paper['id']}/upvote", headers={"Authorization": ""})
    assert_error(anonymous, 401, "Bearer")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    votes = [client.post(f"/api/papers/{paper['id']}/upvote") for _ in range(3)]  # votes_per_minute is 2
    assert [v.status_code for v in votes] == [200, 200, 429]
    assert_error(votes[-1], 429)
    assert int(votes[-1].headers["retry-after"]) >= 1


@pytest.mark.parametrize("path, words", [
    ("/api/papers/2101.99999", ["2101.99999"]),
    ("/api/papers/not-a-paper", ["not an arXiv id"]),
    ("/api/papers/2101.99999/similar", ["2101.99999"]),
    ("/api/papers/2101.99999/comments", ["2101.99999"]),
    ("/papers/2101.99999.md", ["2101.99999"]),
])  # fmt: skip
def test_an_unknown_paper_is_404_in_the_error_shape(site, path, words):
    _, client, _ = site
    assert_error(client.get(path), 404, *words)


@pytest.mark.parametrize("path", ["/feeds/yearly.rss", "/feeds/daily.json", "/feeds/search.txt?q=x", "/feeds/authors/Hao Li.xml",
                                  "/feeds/organizations/google.html", "/feeds/personal/no-such-token.rss"])  # fmt: skip
def test_an_unknown_feed_is_404_in_the_error_shape(site, path):
    _, client, _ = site
    assert_error(client.get(path), 404, "no such feed")


def test_a_paper_featured_before_is_409_in_the_error_shape(site):
    _, client, document = site
    paper = featured_paper(client)
    refused = client.post("/api/papers", json={"id": paper["id"]})
    assert_error(refused, 409, paper["id"])
    schemathesis.openapi.from_dict(document)["/api/papers"]["POST"].validate_response(refused)


def test_a_body_too_large_is_413_in_the_error_shape(site):
    _, client, _ = site
    paper = featured_paper(client)
    assert_error(client.post(f"/api/papers/{paper['id']}/comments", json={"body": "x" * 20_000}), 413)


def test_real_answers_conform_to_the_document(site):
    """Random ids rarely name a paper: these answers about real papers and comments are checked against
    the schemas the document gives them (which allow no field they do not list)."""
    app, client, document = site
    schema = schemathesis.openapi.from_dict(document)
    paper = featured_paper(client)
    pid = paper["id"]
    comment = client.post(f"/api/papers/{pid}/comments", json={"body": "**conforming**"})
    before_any_round = client.get("/healthz")
    store = app.state.store
    store.finish_sync_round(store.begin_sync_round(), "ok", {"hf-daily": {"status": "ok", "new": 3, "updated": 1}})
    answers = [
        ("/healthz", before_any_round),
        ("/api/daily_papers", client.get("/api/daily_papers", params={"limit": 100})),
        ("/api/daily_papers", client.get("/api/daily_papers", params={"date": "1999-01-01"})),
        ("/api/papers/search", client.get("/api/papers/search", params={"q": paper["title"], "limit": 5})),
        ("/api/papers", client.get("/api/papers", params={"limit": 100})),
        ("/api/papers/{paper_id}", client.get(f"/api/papers/{pid}")),
        ("/api/papers/{paper_id}/similar", client.get(f"/api/papers/{pid}/similar")),
        ("/api/papers/{paper_id}/comments", comment),
        ("/api/comments/{comment_id}", client.patch(f"/api/comments/{comment.json()['id']}", json={"body": "edited"})),
        ("/api/comments/{comment_id}/hide", client.post(f"/api/comments/{comment.json()['id']}/hide")),
        ("/api/papers/{paper_id}/comments", client.get(f"/api/papers/{pid}/comments")),
        ("/api/comments/{comment_id}/hide", client.delete(f"/api/comments/{comment.json()['id']}/hide")),
        ("/api/papers/{paper_id}/upvote", client.delete(f"/api/papers/{pid}/upvote")),
        ("/api/papers/{paper_id}/organization", client.put(f"/api/papers/{pid}/organization", json={"organization": "contract-lab"})),
        ("/api/subscriptions", client.post("/api/subscriptions", json={"email": "reader@example.org"})),
        ("/api/comments/{comment_id}", client.delete(f"/api/comments/{comment.json()['id']}")),
        ("/healthz", client.get("/healthz")),
        ("/metrics", client.get("/metrics")),
        ("/papers/{paper_id}.md", client.get(f"/papers/{pid}.md")),
        ("/feeds/{kind}.{fmt}", client.get("/feeds/weekly.atom")),
        ("/feeds/search.{fmt}", client.get("/feeds/search.rss", params={"q": "diffusion"})),
    ]
    for path, response in answers:
        method = response.request.method
        answer = document["paths"][path][method.lower()]["responses"][str(response.status_code)]
        if response.status_code != 204:
            (media, content), = ((m, c) for m, c in answer["content"].items() if response.headers["content-type"].startswith(m))
            assert content["schema"] not in (None, {}), (method, path)
        schema[path][method].validate_response(response)
    assert {"featuredOn", "publishedAt"} <= set(answers[5][1].json())
    assert answers[7][1].status_code == 201 and answers[15][1].status_code == 204
    assert before_any_round.json()["last_sync"] is None and answers[16][1].json()["last_sync"]["sources"]["hf-daily"]["new"] == 3


def test_the_hugging_face_client_shows_the_message(live_demo):
    """huggingface_hub shows the server's `error` in the exception it raises (it ignores `detail`)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError) as raised:
        HfApi(endpoint=live_demo.url).paper_info("2101.99999")
    assert raised.value.response.status_code == 404
    assert "paper 2101.99999 not found" in str(raised.value)
