"""Accessibility in a real browser: axe-core's WCAG 2 A/AA rules on every kind of page, in light and dark
mode, as wide as a laptop and as narrow as a phone; the pages by keyboard alone; the keyboard shortcuts
of static/keys.js.

axe-core (MPL-2.0) comes bundled in the axe-playwright-python package (the `test` extra). Skipped, like
tests/test_browser.py, when Chromium or Playwright is missing, unless DAILYPAPERS_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from conftest import LiveServer

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
SCHEMES = ("light", "dark")
# WCAG 2.0 and 2.1, levels A and AA (color-contrast is a wcag2aa rule), and axe's best practices:
# landmarks, one main, headings in order, unique landmark names.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PASSWORD = "correct horse battery"
READER = "ada"


@pytest.fixture(scope="module")
def site(module_db, _demo_built):
    """The demo catalog served live, with a reader who saved and upvoted a few papers (for /library, /for-you)."""
    from dailypapers import accounts

    db = module_db("a11y", copy_of=_demo_built)
    with LiveServer(db) as server:
        store = server.app.state.store
        user = store.create_user(READER, f"{READER}@example.org", accounts.hash_password(PASSWORD))
        latest = date.fromisoformat(store.latest_day())
        ids = [item["id"] for item in store.feed(latest, latest)[0]]
        store.save_papers(user["id"], ids[:3])
        store.set_vote(user["id"], ids[0], True)
        yield server


@pytest.fixture(scope="module")
def reader_state(browser, site) -> dict:
    """The cookies of the reader, logged in through the form."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)  # a busy machine is slow, never wrong
        page.goto(site.url + "/login")
        page.fill("input[name=username]", READER)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_selector(f".account-nav a[href='/settings']:text-is('{READER}')")
        return context.storage_state()
    finally:
        context.close()


def new_page(browser, width=1280, height=900, state=None, **options):
    context = browser.new_context(viewport={"width": width, "height": height}, storage_state=state, **options)
    page = context.new_page()
    page.set_default_timeout(120_000)
    return page


def paths(site) -> dict[str, str]:
    store = site.app.state.store
    latest = date.fromisoformat(store.latest_day())
    paper = store.feed(latest, latest)[0][0]
    word = max(re.findall(r"[A-Za-z]{5,}", paper["title"]), key=len)
    org = store.organizations_by_papers()[0]["name"]
    return {
        "daily": "/", "paper": f"/papers/{paper['id']}", "search": f"/search?q={word}", "subscribe": "/subscribe",
        "login": "/login", "signup": "/signup", "organizations": "/organizations", "organization": f"/organizations/{org}",
        "library": "/library", "for-you": "/for-you", "submit": "/submit",
    }  # fmt: skip


LOGGED_IN = {"library", "for-you", "submit"}


def report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {' '.join(node.get('failureSummary', '').split())[-240:]}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", ["daily", "paper", "search", "subscribe", "login", "signup", "organizations",
                                  "organization", "library", "for-you", "submit"])  # fmt: skip
def test_no_axe_violations(browser, site, reader_state, name):
    from axe_playwright_python.sync_playwright import Axe

    path = paths(site)[name]
    page = new_page(browser, state=reader_state if name in LOGGED_IN else None)
    try:
        page.goto(site.url + path)
        if name in LOGGED_IN:
            assert page.locator(".account-nav a[href='/settings']").inner_text() == READER, page.inner_text("body")[:500]
        if name in ("daily", "search", "organization", "library", "for-you"):
            assert page.locator("article.paper-card").count() >= 1, f"{path} shows no papers"
        axe = Axe()
        page.evaluate(axe.axe_script)  # once per page: then axe runs on each width and color scheme
        found = []
        for width, height in WIDTHS.values():
            for scheme in SCHEMES:
                page.set_viewport_size({"width": width, "height": height})
                page.emulate_media(color_scheme=scheme)
                assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
                results = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS)
                if results["violations"]:
                    found.append(f"{path} at {width}px, {scheme}:\n{report(results['violations'])}")
        assert not found, "\n".join(found)
    finally:
        page.context.close()


def focus_path(page, stop: str, limit: int = 200) -> list[str]:
    """Press Tab from the top of the page until the focused element matches `stop`: what was focused, in order
    (each element as a short description)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate("""() => { const e = document.activeElement;
            return [e.tagName.toLowerCase(), e.getAttribute('name') || '', e.getAttribute('rel') || '', e.className || '',
                    (e.textContent || '').trim().slice(0, 40)].join('|') }""")
        seen.append(here)
        if page.evaluate("s => document.activeElement.matches(s)", stop):
            return seen
    raise AssertionError(f"Tab never reached {stop}: {seen}")


@pytest.mark.parametrize("logged_in", [False, True], ids=["visitor", "reader"])
def test_keyboard_alone_reaches_search_vote_and_day_navigation(browser, site, reader_state, logged_in):
    store = site.app.state.store
    previous, _ = store.neighbor_days(store.latest_day())
    page = new_page(browser, state=reader_state if logged_in else None)
    try:
        page.goto(site.url + f"/papers/date/{previous}")  # a day with both a previous and a next day
        control = "button.vote-button" if logged_in else "a.vote-login"
        first = f"article.paper-card:first-of-type {control}"
        seen = focus_path(page, first)
        kinds = [s.split("|") for s in seen]
        search = next(i for i, k in enumerate(kinds) if k[0] == "input" and k[1] == "q")
        back = next(i for i, k in enumerate(kinds) if k[0] == "a" and k[2] == "prev")
        forward = next(i for i, k in enumerate(kinds) if k[0] == "a" and k[2] == "next")
        assert search < back < forward < len(kinds) - 1, seen  # header, then the days, then the first card
        # what has the focus shows it: the browser's focus ring is not taken away
        outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth] }")
        assert outline[0] != "none" and outline[1] != "0px", outline
        # Enter on the control does what a click does: a visitor goes to the login page, a reader upvotes
        if logged_in:
            card = page.locator(f"article.paper-card[data-id='{page.locator('article.paper-card').first.get_attribute('data-id')}']")
            before = card.locator("button.vote-button").get_attribute("aria-pressed")
            with page.expect_navigation():  # the form posts, and comes back to the page
                page.keyboard.press("Enter")
            assert card.locator("button.vote-button").get_attribute("aria-pressed") == {"true": "false", "false": "true"}[before]
        else:
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/login\?next="))
    finally:
        page.context.close()


def test_keyboard_shortcuts(browser, site):
    store = site.app.state.store
    latest = store.latest_day()
    previous, _ = store.neighbor_days(latest)
    page = new_page(browser)
    try:
        page.goto(site.url + f"/papers/date/{previous}")
        assert {"j", "k", "←", "→", "/"} <= set(page.locator("footer kbd").all_inner_texts())  # the footer tells them
        titles = page.locator("article.paper-card h2.title a")
        assert titles.count() >= 2
        focused = "() => document.activeElement.closest('article.paper-card')?.dataset.id || document.activeElement.tagName"
        ids = page.locator("article.paper-card").evaluate_all("cards => cards.map(c => c.dataset.id)")

        page.keyboard.press("j")
        page.wait_for_function(f"({focused})() === {ids[0]!r}")
        assert page.evaluate("document.activeElement.matches('h2.title a')")
        assert page.locator("article.paper-card.current").evaluate_all("cs => cs.map(c => c.dataset.id)") == [ids[0]]
        page.keyboard.press("j")
        page.wait_for_function(f"({focused})() === {ids[1]!r}")
        assert page.locator("article.paper-card.current").evaluate_all("cs => cs.map(c => c.dataset.id)") == [ids[1]]
        page.keyboard.press("k")
        page.wait_for_function(f"({focused})() === {ids[0]!r}")
        page.keyboard.press("k")  # already on the first: it stays there
        assert page.evaluate(focused) == ids[0]
        page.keyboard.press("Control+j")  # the browser's, not ours
        assert page.evaluate(focused) == ids[0]

        # the marked card is set apart by a ring that contrasts with the page (3:1, WCAG 1.4.11), light and dark
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            ratio = page.evaluate(CONTRAST, "article.paper-card.current")
            assert ratio >= 3, (scheme, ratio)

        # / focuses the search box, and is not typed into it; j typed there is text, not a move
        page.keyboard.press("/")
        page.wait_for_function("document.activeElement.matches('header form.search input[type=search]')")
        page.keyboard.type("jk")
        assert page.input_value("header form.search input[type=search]") == "jk"
        assert page.locator("article.paper-card.current").evaluate_all("cs => cs.map(c => c.dataset.id)") == [ids[0]]
        page.keyboard.press("Escape")
        page.evaluate("document.activeElement.blur()")

        # → and ← follow the day navigation's rel=next and rel=prev
        forward = page.locator(".period-nav a[rel=next]").get_attribute("href")
        page.keyboard.press("ArrowRight")
        page.wait_for_url(site.url + forward)
        assert forward == f"/papers/date/{latest}" or forward.endswith(latest)
        back = page.locator(".period-nav a[rel=prev]").get_attribute("href")
        page.keyboard.press("ArrowLeft")
        page.wait_for_url(site.url + back)
        assert back.endswith(previous)

        # on the search page, / goes to the page's big search box
        page.goto(site.url + "/search?q=model")
        page.keyboard.press("/")
        page.wait_for_function("document.activeElement.matches('main form.search input[type=search]')")
        assert page.input_value("main form.search input[type=search]") == "model"
    finally:
        page.context.close()


# The contrast ratio between the ring of an element (its outline, else its border) and the page behind it.
CONTRAST = """selector => {
  const rgb = c => { const ctx = document.createElement('canvas').getContext('2d'); ctx.fillStyle = c; ctx.fillRect(0, 0, 1, 1);
                     return Array.from(ctx.getImageData(0, 0, 1, 1).data.slice(0, 3)) };
  const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 });
                     return 0.2126 * r + 0.7152 * g + 0.0722 * b };
  const s = getComputedStyle(document.querySelector(selector));
  const ring = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 ? s.outlineColor : s.borderTopColor;
  const [a, b] = [lum(ring), lum(getComputedStyle(document.body).backgroundColor)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""
