"""The API's documentation pages (/docs, /redoc) and the favicon come from the package: no CDN, no internet."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from conftest import LiveServer

from dailypapers.store import Store

TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json"}


@pytest.fixture(scope="module")
def site(module_db):
    """The site over an empty catalog: the documentation does not depend on the papers."""
    db = module_db("docs")
    Store(db).close()
    with LiveServer(db) as server:
        yield server


def references(html: str) -> list[str]:
    """Every URL a page refers to: src, href and spec-url attributes, and the schema the script loads."""
    return re.findall(r'(?:src|href|spec-url)="([^"]*)"', html) + re.findall(r"url: '([^']*)'", html)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_refer_only_to_this_site_and_everything_they_refer_to_answers(site, path):
    page = httpx.get(site.url + path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = references(page.text)
    assert any(u.endswith(".js") for u in urls) and "/openapi.json" in urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url  # same origin: a path on this site
        asset = httpx.get(urljoin(site.url, url))
        suffix = re.search(r"\.\w+$", urlsplit(url).path).group()
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(TYPES[suffix]), (url, asset.headers["content-type"])


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_policy_allows_this_site_only(site, path):
    policy = dict(part.strip().split(" ", 1) for part in httpx.get(site.url + path).headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'"
    for directive, sources in policy.items():
        assert "http" not in sources and "*" not in sources, (directive, sources)
    scripts = policy["script-src"].split()
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    # /docs's one inline script (Swagger UI's start-up call) is allowed by its hash; /redoc has none
    assert len([s for s in scripts if s.startswith("'sha256-")]) == (1 if path == "/docs" else 0)


def test_the_rest_of_the_site_keeps_its_strict_policy(site):
    for path in ("/", "/openapi.json", "/docs/", "/redoc.html"):
        policy = httpx.get(site.url + path).headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy, path


def test_favicon(site):
    svg = httpx.get(site.url + "/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    ico = httpx.get(site.url + "/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
    assert ico.content[:4] == b"\0\0\1\0"  # an icon file (holding a PNG)
    assert b"\x89PNG" in ico.content
    page = httpx.get(site.url + "/").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page


def offline_page(browser, base_url: str):
    """A page whose requests to anywhere but this site fail, as on a machine without internet access."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)  # a busy machine is slow, never wrong
    outside, problems = [], []

    def route(request_route):
        if urlsplit(request_route.request.url).hostname == "127.0.0.1":
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: problems.append(str(error)))
    # ReDoc shows Redocly's logo from its CDN; the policy blocks it (and ReDoc then leaves it out)
    page.on("console", lambda message: message.type == "error" and "cdn.redoc.ly" not in message.text
            and problems.append(message.text))  # fmt: skip
    return context, page, outside, problems


@pytest.mark.browser
def test_swagger_ui_renders_the_api_offline(browser, site):
    context, page, outside, problems = offline_page(browser, site.url)
    page.goto(site.url + "/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = [p.strip() for p in page.locator(".opblock-summary-path").all_inner_texts()]
    assert "/api/daily_papers" in paths and "/api/papers/search" in paths
    page.locator(".opblock-summary-path", has_text="/api/daily_papers").first.click()  # an operation opens
    page.wait_for_selector(".parameter__name:has-text('submitter')")
    assert outside == [] and problems == []
    context.close()


@pytest.mark.browser
def test_redoc_renders_the_api_offline(browser, site):
    context, page, outside, problems = offline_page(browser, site.url)
    page.goto(site.url + "/redoc")
    page.wait_for_selector("h2:has-text('Papers featured on a day')")
    text = page.inner_text("body")
    assert "/api/daily_papers" in text and "Search papers by words and meaning" in text
    assert outside == [] and problems == []
    context.close()
