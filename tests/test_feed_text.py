"""Text that XML 1.0 cannot hold (C0 controls, lone surrogates, U+FFFE, U+FFFF) never makes a feed invalid.

It is removed at ingest (PaperRecord) and again when a feed is written, for rows that reached the
store another way. The other control characters (tab, line feed, carriage return, DEL, the C1 range)
are legal XML and come through as they are.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import feedparser
import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import LiveServer
from dailypapers.digest.preferences import check_preferences
from dailypapers.records import NOT_XML, PaperRecord, xml_safe
from dailypapers.search import Search
from dailypapers.store import Store
from dailypapers.web.feeds import _atom, _rss

CONTROLS = [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]]  # C0, DEL, C1
NOT_CHARACTERS = ["\ud800", "\udbff", "\udc00", "\udfff", "\ufffe", "\uffff"]  # lone surrogates, non-characters
EVERY = "".join(f"{c}{n % 10}" for n, c in enumerate(CONTROLS + NOT_CHARACTERS))  # each of them, between digits
ATOM = "{http://www.w3.org/2005/Atom}"
# Text with any of them anywhere, among any other characters.
TEXT = st.lists(st.sampled_from(CONTROLS + NOT_CHARACTERS) | st.text(max_size=5), min_size=1, max_size=20).map("".join)


def clean(text: str) -> str:
    """What must be left of `text`: everything XML 1.0 can hold, in order."""
    return "".join(c for c in text if not NOT_XML.match(c))


def squeezed(text: str) -> str:
    return "".join(text.split())


def record(title: str, abstract: str, name: str, *, paper_id: str = "2501.00001", day: str = "2025-01-06") -> PaperRecord:
    return PaperRecord(
        id=paper_id, source="hf", observed=day, title=title, abstract=abstract,
        authors=[{"name": "Ada Lovelace"}, {"name": name, "user": {"user": "grace", "fullname": name}}],
        categories=["cs.LG", f"cs.{name}"], featured_on=[day], submitted_at=f"{day}T08:00:00.000Z", upvotes=7,
        organization={"name": "quokkalab", "fullname": f"Quokka {name} Lab"}, submitted_by={"user": "u", "fullname": name},
        comment=f"{name} pages", journal_ref=name, ai_summary=abstract, ai_keywords=[name, "plain"], published_at=day,
    )  # fmt: skip


# -- at ingest ------------------------------------------------------------------------------------------------


def test_ingest_removes_every_character_xml_cannot_hold_and_keeps_the_rest():
    for char in CONTROLS + NOT_CHARACTERS:
        title, abstract, name = f"Deep{char} nets {char}for x", f"We{char} show.\n\nMore {char}text.", f"Grace{char}Hopper"
        rec = record(title, abstract, name)
        texts = [rec.title, rec.abstract, *(a["name"] for a in rec.authors), *rec.categories, rec.organization["fullname"],
                 rec.submitted_by["fullname"], rec.comment, rec.journal_ref, rec.ai_summary, *rec.ai_keywords]  # fmt: skip
        assert not any(NOT_XML.search(t) for t in texts), repr(char)
        # nothing else is lost: title and abstract are whitespace-normalized as ever, names kept as they are
        assert squeezed(rec.title) == squeezed(clean(title)) and squeezed(rec.abstract) == squeezed(clean(abstract)), repr(char)
        assert rec.authors[1]["name"] == clean(name) and rec.authors[1]["user"]["user"] == "grace", repr(char)
        assert rec.categories == ["cs.LG", f"cs.{clean(name)}"] and rec.organization["fullname"] == f"Quokka {clean(name)} Lab"
    # and ordinary text is left as it is
    title = "Ünïcode «quotes» — 深度学习 🤖: a study"
    rec = record(title, "Line one\n\n  Indented paragraph.", "Σωκράτης Ö.")
    assert rec.title == title and rec.abstract == "Line one\n\nIndented paragraph."
    assert rec.authors[1]["name"] == "Σωκράτης Ö." and xml_safe(title) is title


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
@example(text=EVERY)
def test_ingest_cleaning_property(text):
    rec = record(f"T {text}", text, f"N{text}")
    assert NOT_XML.search(rec.title) is None and squeezed(rec.title) == squeezed("T" + clean(text))
    assert NOT_XML.search(rec.abstract or "") is None and squeezed(rec.abstract or "") == squeezed(clean(text))
    assert rec.authors[1]["name"] == "N" + clean(text) and rec.ai_keywords[0] == "N" + clean(text)
    assert xml_safe(clean(text)) == clean(text)  # ordinary text is left as it is


# -- when a feed is written -------------------------------------------------------------------------------------


def _entries(document: bytes, fmt: str) -> list[dict]:
    """Each item of an RSS or Atom document, read by ElementTree (a strict XML parser)."""
    root = ET.fromstring(document)
    if fmt == "rss":
        return [{"title": item.findtext("title"), "summary": item.findtext("description"),
                 "authors": item.findtext("{http://purl.org/dc/elements/1.1/}creator"),  # "A, B": `in` finds a name
                 "categories": [c.text for c in item.iter("category")]} for item in root.iter("item")]  # fmt: skip
    return [{"title": entry.findtext(f"{ATOM}title"), "summary": entry.findtext(f"{ATOM}summary"),
             "authors": [a.findtext(f"{ATOM}name") for a in entry.iter(f"{ATOM}author")],
             "categories": [c.get("term") for c in entry.iter(f"{ATOM}category")]} for entry in root.iter(f"{ATOM}entry")]  # fmt: skip


def _check(document: bytes, fmt: str, title: str, abstract: str, name: str, *, listed: bool = True) -> None:
    """`document` is well-formed XML, a feed reader takes it without complaint, and (if `listed`) the
    paper's text is there with only what XML cannot hold taken out."""
    parsed = feedparser.parse(document)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    entries = _entries(document, fmt)
    if not listed:
        return
    [entry] = [e for e in entries if e["title"] == clean(title)]
    assert entry["summary"].endswith(clean(abstract)) and clean(name) in entry["authors"]
    assert f"cs.{clean(name)}" in entry["categories"]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
@settings(max_examples=200, deadline=None)
@given(title=TEXT, abstract=TEXT, name=TEXT, feed_title=TEXT)
@example(title=EVERY, abstract=EVERY, name=EVERY, feed_title=EVERY)
def test_feed_writers_property(fmt, title, abstract, name, feed_title):
    """Any text, straight from the store (no ingest cleaning), in every field the feeds write."""
    paper = {"id": "2501.00001", "title": "x" + title, "abstract": abstract, "upvotes": 1,
             "authors": [{"name": "Ada Lovelace"}, {"name": name}], "categories": [f"cs.{name}"],
             "published_at": "2025-01-06T00:00:00.000Z"}  # fmt: skip
    write = _rss if fmt == "rss" else _atom
    document = write(feed_title, f"https://x.org/{name}", f"https://x.org/self?q={title}", [paper], "https://x.org")
    _check(document, fmt, "x" + title, abstract, name)


# -- every feed the site serves, over a row written straight into the store --------------------------------------

DIRTY = "".join(f"{c}{n % 10}" for n, c in enumerate(CONTROLS + ["\ufffe", "\uffff"]))  # SQLite cannot store a lone surrogate
DIRTY_TITLE, DIRTY_ABSTRACT, DIRTY_NAME = f"Quokka {DIRTY} survey", f"We {DIRTY} show.\n\nAnd {DIRTY}.", f"Grace{DIRTY}Hopper"


@pytest.fixture(scope="module")
def dirty_site(tmp_path_factory):
    """A site whose only paper's text holds every control character: written into the store as it is,
    bypassing the record's cleaning (as an older version of dailypapers, or another tool, may have)."""
    db = tmp_path_factory.mktemp("dirty") / "dirty.db"
    store = Store(db)
    rec = record("Quokka survey", "We show.", "Grace Hopper", day="2025-01-08")
    rec.title, rec.abstract, rec.authors[1]["name"], rec.categories[1] = DIRTY_TITLE, DIRTY_ABSTRACT, DIRTY_NAME, f"cs.{DIRTY_NAME}"
    rec.organization = {"name": "quokkalab", "fullname": f"Quokka {DIRTY} Lab"}
    store.apply([rec])
    assert store.paper(rec.id)["title"] == DIRTY_TITLE  # really there as it is
    subscriber, _ = store.subscribe("reader@example.org", check_preferences(top=5))
    store.set_subscriber_status(subscriber["id"], "confirmed", only_from=["pending"])
    Search(store, encoder=None).refresh()
    store.close()
    with LiveServer(db) as server:
        yield server, subscriber["feed_token"]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_every_feed_is_valid_xml_over_a_row_with_every_control_character(dirty_site, fmt):
    server, token = dirty_site
    paths = [(f"/feeds/{kind}.{fmt}", {}) for kind in ("daily", "weekly", "monthly")]
    paths += [(f"/feeds/search.{fmt}", {"q": "quokka"}), (f"/feeds/search.{fmt}", {"q": "quokka", "category": "cs.LG"}),
              (f"/feeds/authors/Ada Lovelace.{fmt}", {}), (f"/feeds/organizations/quokkalab.{fmt}", {}),
              (f"/feeds/personal/{token}.{fmt}", {})]  # fmt: skip
    # a control character in the search itself goes into the feed's title (whatever it finds)
    paths += [(f"/feeds/search.{fmt}", {"q": f"quokka {c}"}) for c in CONTROLS[1:32]]  # (NUL: below)
    for path, params in paths:
        for _ in range(2):  # and the cached copy
            response = httpx.get(server.url + path, params=params)
            assert response.status_code == 200, (path, params, response.text)
            try:
                _check(response.content, fmt, DIRTY_TITLE, DIRTY_ABSTRACT, DIRTY_NAME, listed=not params.get("q", "").startswith("quokka "))
            except Exception as exc:
                raise AssertionError(f"{path} {params}: {exc!r}") from exc
    refused = httpx.get(server.url + f"/feeds/search.{fmt}", params={"q": "quokka \x00"})
    assert refused.status_code == 422 and "NUL" in refused.json()["error"]  # no text can hold one (web/server.py)
