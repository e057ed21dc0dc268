"""The pages in a real browser: Playwright driving Debian's Chromium against the live demo server.

Skipped when /usr/bin/chromium (or the playwright package) is missing, unless DAILYPAPERS_REQUIRE_BROWSER=1.
Screenshots go to DAILYPAPERS_SCREENSHOTS (default: the test's tmp directory).
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest

from dailypapers.web import periods

pytestmark = pytest.mark.browser

@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)  # a busy machine is slow, never wrong
    yield page
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("DAILYPAPERS_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_cards(page) -> list[dict]:
    return page.eval_on_selector_all(
        "article.paper-card",
        """cards => cards.map(c => ({
            id: c.dataset.id, day: c.dataset.day || null,
            title: (c.querySelector('h2.title a')?.textContent || '').trim(),
            upvotes: (c.querySelector('.upvotes')?.textContent || '').trim(),
        }))""",
    )


def test_daily_page_paper_page_and_previous_day(page, live_demo):
    store = live_demo.app.state.store
    latest = store.latest_day()
    previous, _ = store.neighbor_days(latest)

    page.goto(live_demo.url + "/")
    cards = read_cards(page)
    assert len(cards) >= 10
    for card in cards:
        assert card["title"]
        assert re.fullmatch(r"\d+", card["upvotes"])
    upvotes = [int(c["upvotes"]) for c in cards]
    assert upvotes == sorted(upvotes, reverse=True)

    # a paper's title leads to its page, with the title and the abstract
    first = cards[0]
    paper = store.paper(first["id"])
    page.click(f"article.paper-card[data-id='{first['id']}'] h2.title a")
    page.wait_for_url(f"**/papers/{first['id']}")
    assert page.locator("h1").inner_text().strip() == " ".join(paper["title"].split())
    abstract = page.locator("section.abstract-full").inner_text()
    assert " ".join(paper["abstract"].split())[:200] in " ".join(abstract.split())

    # back to the list, then to the previous day that has papers
    page.go_back()
    page.wait_for_selector("article.paper-card")
    assert page.locator("article.paper-card").count() == len(cards)
    page.get_by_role("link", name=re.compile("previous day")).click()
    page.wait_for_url(f"**/papers/date/{previous}")
    assert date.fromisoformat(previous).strftime("%B %-d, %Y") in page.locator("h1").inner_text()
    previous_cards = read_cards(page)
    assert previous_cards and all(c["day"] == previous for c in previous_cards)
    assert {c["id"] for c in previous_cards}.isdisjoint({c["id"] for c in cards})


def test_week_view_has_cards_from_several_days(page, live_demo):
    store = live_demo.app.state.store
    latest = date.fromisoformat(store.latest_day())
    page.goto(live_demo.url + f"/papers/date/{latest}")
    week = periods.week_of(latest)
    page.get_by_role("link", name=f"Week {week.label[-2:]}").click()
    page.wait_for_url(f"**/papers/week/{week.label}")
    cards = read_cards(page)
    items, total = store.feed(week.start, week.end)
    assert [c["id"] for c in cards] == [i["id"] for i in items]
    assert len({c["day"] for c in cards}) > 1

    # the header's Weekly link leads to the same week
    page.goto(live_demo.url + "/")
    page.locator("nav.main-nav").get_by_role("link", name="Weekly").click()
    page.wait_for_url(f"**/papers/week/{week.label}")


def test_search_form_works_without_javascript(browser, live_demo):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_demo.url + "/")
        title = page.locator("article.paper-card h2.title a").first.inner_text()
        word = max(re.findall(r"[A-Za-z]{5,}", title), key=len)
        page.fill("header input[name=q]", word)
        page.press("header input[name=q]", "Enter")
        page.wait_for_url(re.compile(r"/search\?q="))
        assert page.locator("article.paper-card").count() >= 1
        assert title in [t.strip() for t in page.locator("article.paper-card h2.title a").all_inner_texts()]
    finally:
        context.close()


def test_form_fields_are_not_bold_like_their_labels(page, live_demo):
    page.goto(live_demo.url + "/subscribe")
    fields = page.locator("form.subscribe-form label input:not([type=hidden]):not([type=checkbox]):not([type=radio])")
    assert fields.count() >= 1
    weights = fields.evaluate_all("els => els.map(e => getComputedStyle(e).fontWeight)")
    labels = page.locator("form.subscribe-form label").first.evaluate("e => getComputedStyle(e).fontWeight")
    assert labels == "600" and set(weights) == {"400"}, (labels, weights)


@pytest.mark.parametrize("width,height,name", [(390, 844, "mobile"), (360, 740, "small"), (1280, 900, "desktop")])
def test_layout_fits_the_screen(browser, live_demo, shots, width, height, name):
    store = live_demo.app.state.store
    paper_id = store.feed(*(2 * [date.fromisoformat(store.latest_day())]))[0][0]["id"]
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    try:
        page = context.new_page()
        for path, label in (("/", "daily"), (f"/papers/{paper_id}", "paper")):
            page.goto(live_demo.url + path)
            page.screenshot(path=str(shots / f"{label}-{name}.png"), full_page=label == "daily" and name != "desktop")
            overflow = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
            assert overflow[0] <= overflow[1], f"{path} overflows horizontally at {width}px: {overflow}"
        page.goto(live_demo.url + "/")
        assert page.locator("article.paper-card").count() >= 10
        box = page.locator("article.paper-card").first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    finally:
        context.close()


def test_subscribe_confirm_and_unsubscribe_through_the_browser(browser, demo_copy, shots):
    """The whole journey a reader makes: the form on the daily page, the link in the confirmation mail,
    the digest (rendered in the browser, also as narrow as a phone's mail app), its unsubscribe link."""
    from conftest import LiveServer, MailServer, mail_settings, run_cli
    from test_digest import links, mails_to

    email = "browser@example.org"
    with MailServer() as mail, LiveServer(demo_copy, **mail_settings(mail)) as site:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
        page = context.new_page()
        page.goto(site.url + "/")
        page.fill("footer input[name=email]", email)
        page.select_option("footer select[name=frequency]", "daily")
        page.click("footer button[type=submit]")
        assert "Check your inbox" in page.inner_text("main")
        [confirmation] = mails_to(mail, email)
        page.goto(links(confirmation)["confirm"])
        assert page.inner_text("h1") == "You are subscribed"

        env = {f"DAILYPAPERS_{k.upper()}": str(v) for k, v in mail_settings(mail, public_url=site.url).items()}
        assert run_cli("--db", str(demo_copy), "digest", "send", "--period", "daily", env=env).returncode == 0
        [digest] = mails_to(mail, email, 2)[1:]
        html = digest.get_body(("html",)).get_content()
        for width in (320, 600, 1024):
            view = context.new_page()
            view.set_viewport_size({"width": width, "height": 800})
            view.set_content(html)
            view.screenshot(path=str(shots / f"digest-{width}.png"), full_page=width == 320)
            scroll, inner = view.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
            assert scroll <= inner, f"the digest overflows at {width}px"
            assert view.locator("a", has_text="Unsubscribe").count() == 1
            view.close()

        page.goto(links(digest)["unsubscribe"])
        assert page.inner_text("h1") == "You are unsubscribed"
        assert site.app.state.store.count_subscribers() == {"unsubscribed": 1}
        context.close()


def test_sign_up_log_in_submit_upvote_and_comment(browser, demo_copy, replay_server, shots):
    """The community's journey: a new reader signs up, logs out and in again, submits a new arXiv paper
    (fetched from the replayed arXiv API), upvotes it and comments on it; the daily page shows the counts."""
    from conftest import LiveServer, recorded_arxiv_api

    arxiv = replay_server({"/api/query": recorded_arxiv_api})
    with LiveServer(demo_copy, arxiv_api_url=f"{arxiv.url}/api/query", arxiv_min_interval=0, submission_max_days=100_000) as site:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(120_000)  # a busy machine is slow, never wrong
        page.goto(site.url + "/")
        page.click("text=Sign up")
        page.fill("input[name=username]", "grace")
        page.fill("input[name=email]", "grace@example.org")
        page.fill("input[name=password]", "correct horse battery")
        page.click("main button[type=submit]")
        assert page.inner_text(".account-nav a[href='/settings']") == "grace"
        page.click("text=Log out")
        page.click("text=Log in")
        page.fill("input[name=username]", "grace")
        page.fill("input[name=password]", "correct horse battery")
        page.click("main button[type=submit]")

        page.click(".account-nav >> text=Submit")
        page.fill("input[name=paper]", "https://arxiv.org/abs/2104.12255")
        page.click("main button[type=submit]")
        assert page.url.endswith("/papers/2104.12255") and "Quan Thoi Minh Nguyen" in page.inner_text(".author-list")

        card = page.locator("article.paper-card[data-id='2104.12255']")
        page.goto(site.url + "/")  # today's feed: the submitted paper
        assert page.locator("article.paper-card").count() == 1
        assert card.locator(".upvotes").inner_text() == "0" and card.locator(".comments").inner_text() == "0 comments"
        card.locator("button.vote-button").click()
        assert card.locator(".upvotes").inner_text() == "1"
        assert card.locator("button.vote-button").get_attribute("aria-pressed") == "true"

        card.locator("h2.title a").click()
        page.fill("textarea#new-comment", "Zero is the *funniest* number: see [the RFC](https://datatracker.ietf.org/).")
        page.click("section.comments button.primary")
        comment = page.locator("article.comment").first
        assert comment.locator("em").inner_text() == "funniest" and comment.locator(".comment-author").inner_text() == "grace"
        page.screenshot(path=str(shots / "paper-with-comment.png"), full_page=True)

        page.goto(site.url + "/")
        assert card.locator(".upvotes").inner_text() == "1" and card.locator(".comments").inner_text() == "1 comment"
        page.screenshot(path=str(shots / "daily-after-journey.png"))
        context.close()


OUTSIDE_THEIR_CARD = """cards => cards.map(card => {
    const box = card.getBoundingClientRect(), out = [];
    for (const e of card.querySelectorAll('*:not(.sr)')) {
        const r = e.getBoundingClientRect();
        if (!r.width && !r.height) continue;
        let clipped = false;  // hidden by a clamped ancestor (the abstract's three lines), not spilling out
        for (let a = e.parentElement; a !== card && !clipped; a = a.parentElement) {
            const ar = a.getBoundingClientRect();
            clipped = getComputedStyle(a).overflow !== 'visible' && (r.top >= ar.bottom || r.bottom <= ar.top);
        }
        if (clipped) continue;
        if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
            out.push(`${e.tagName}.${e.className}: ${(e.textContent || '').trim().slice(0, 40)}`);
    }
    return out;
})"""


@pytest.mark.parametrize("width,columns", [(390, 1), (768, 2), (1280, 3)])
def test_cards_form_a_grid_and_nothing_leaves_its_card(browser, live_demo, shots, width, columns):
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        for path in ("/", "/papers/week", "/search?q=language+models"):
            page.goto(live_demo.url + path)
            lefts = page.locator("article.paper-card").evaluate_all("cs => cs.map(c => Math.round(c.getBoundingClientRect().left))")
            assert len(lefts) >= 3 and len(set(lefts)) == columns, (path, width, sorted(set(lefts)))
            assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), f"{path} overflows at {width}px"
            outside = [o for o in page.locator("article.paper-card").evaluate_all(OUTSIDE_THEIR_CARD) if o]
            assert not outside, (path, width, outside[:3])
    finally:
        context.close()


def _vote_geometry(page) -> list[dict]:
    return page.locator("article.paper-card").evaluate_all("""cards => cards.map(c => {
        const card = c.getBoundingClientRect(), vote = c.querySelector('.vote').getBoundingClientRect();
        const count = c.querySelector('.upvotes'), n = count.getBoundingClientRect();
        return {id: c.dataset.id, upvotes: count.textContent.trim(), width: vote.width, body: c.querySelector('.card-body').getBoundingClientRect().left - card.left,
                inside: n.left >= vote.left && n.right <= vote.right && n.bottom <= vote.bottom,
                lines: Math.round(n.height / parseFloat(getComputedStyle(count).lineHeight))};
    })""")


def test_the_vote_box_has_one_width_from_1_to_9999_votes(browser, demo_copy):
    """Logged out (a link to log in) and logged in (the upvote button), at a phone's width and a desktop's."""
    import sqlalchemy as sa

    from conftest import LiveServer, run_cli
    from dailypapers.store.schema import papers

    password = "correct horse battery"
    assert run_cli("--db", str(demo_copy), "users", "create", "ada", "--email", "ada@example.org", "--password-stdin",
                   input_text=password + "\n").returncode == 0  # fmt: skip
    with LiveServer(demo_copy) as site:
        store = site.app.state.store
        latest = store.latest_day()
        items, _ = store.feed(*(2 * [date.fromisoformat(latest)]))
        counts = [9999, 999, 164, 99, 3, 1]
        with store.writer.begin() as conn:
            for item, count in zip(items, counts):
                conn.execute(sa.update(papers).where(papers.c.id == item["id"]).values(upvotes=count))
        site.app.state.cache.changed()
        for width in (390, 1280):
            context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(120_000)
            for logged_in in (False, True):
                if logged_in:
                    page.goto(site.url + "/login")
                    page.fill("input[name=username]", "ada")
                    page.fill("input[name=password]", password)
                    page.click("main button[type=submit]")
                    page.wait_for_url(re.compile(r"/$|/papers/"))
                page.goto(site.url + f"/papers/date/{latest}")
                assert page.locator("button.vote-button").count() == (len(items) if logged_in else 0)
                boxes = _vote_geometry(page)
                assert {b["upvotes"] for b in boxes} >= {str(c) for c in counts}
                assert len({round(b["width"], 1) for b in boxes}) == 1, boxes
                assert len({round(b["body"], 1) for b in boxes}) == 1, "the text starts at one place in every card"
                assert all(b["inside"] and b["lines"] == 1 for b in boxes), [b for b in boxes if not (b["inside"] and b["lines"] == 1)]
            context.close()


def test_the_banner_atop_the_daily_page_subscribes(browser, demo_copy):
    from conftest import LiveServer, MailServer, mail_settings
    from test_digest import mails_to

    with MailServer() as mail, LiveServer(demo_copy, community="the Vision Lab", **mail_settings(mail)) as site:
        context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(site.url + "/")
        assert page.locator(".masthead .tagline").inner_text() == "Daily Papers by the Vision Lab and the research community"
        banner = page.locator("form.banner")
        assert banner.bounding_box()["y"] < page.locator("article.paper-card").first.bounding_box()["y"]
        banner.get_by_label("Get trending papers in your email inbox!").fill("banner@example.org")
        banner.get_by_role("button", name="Subscribe").click()
        assert "Check your inbox" in page.inner_text("main")
        assert len(mails_to(mail, "banner@example.org")) == 1
        context.close()


def test_thumbnails_load_in_the_grid_at_every_width(browser, demo_copy):
    """Cards of papers with a thumbnail show it (loaded, its full width of the card), the others none."""
    from conftest import LiveServer
    from test_thumbnails import pdf

    from dailypapers.ingest.thumbnails import THUMB_WIDTH, default_media_dir, render_thumbnail, thumbnail_file
    from dailypapers.store import database_url

    with LiveServer(demo_copy) as site:
        store = site.app.state.store
        day = date.fromisoformat(store.latest_day())
        items, _ = store.feed(day, day)
        with_thumbnail = {item["id"] for item in items[:4]}
        folder = default_media_dir(database_url(str(demo_copy))) / "thumbnails"
        folder.mkdir(parents=True)
        for paper_id in with_thumbnail:
            (folder / thumbnail_file(paper_id)).write_bytes(render_thumbnail(pdf((612, 792), pages=1)))
        for width in (390, 768, 1280):
            context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(site.url + f"/papers/date/{day}")
            page.wait_for_function("() => [...document.querySelectorAll('.thumb img')].every(i => i.complete)")
            shown = page.locator("article.paper-card").evaluate_all("""cards => cards.map(c => {
                const img = c.querySelector('.thumb img');
                return {id: c.dataset.id, loaded: img ? img.naturalWidth : null,
                        fill: img ? img.getBoundingClientRect().width / c.getBoundingClientRect().width : null};
            })""")
            assert {s["id"] for s in shown if s["loaded"] is not None} == with_thumbnail
            assert all(s["loaded"] == THUMB_WIDTH and s["fill"] > 0.98 for s in shown if s["loaded"] is not None), shown
            context.close()
