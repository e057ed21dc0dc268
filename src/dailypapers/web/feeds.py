"""RSS 2.0 and Atom feeds: the daily, weekly and monthly lists; saved searches, authors, organizations."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import quote, urlencode
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from ..records import NOT_XML, xml_safe  # NOT_XML: the characters XML 1.0 cannot hold
from ..search.query import parse
from . import periods
from .api import resolve_period, search_filters
from .common import MAX_QUERY, Name, latest_day
from .models import FEED_MEDIA, responses
from .cache import Body, respond
from .serialize import submitted_at

router = APIRouter()
FEED_SIZE = 50
ATOM = "http://www.w3.org/2005/Atom"
KINDS = {"daily": "day", "weekly": "week", "monthly": "month"}
MEDIA = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
# search filters (`Search.find` keyword arguments) as the search syntax writes them
SYNTAX = {"author": "author", "category": "cat", "organization": "org", "published_from": "from", "published_to": "to"}
XML_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>\n"


def _feed_period(request: Request, kind: str, value: str | None) -> periods.Period | None:
    if value is not None:
        return periods.parse(kind, value)
    latest = resolve_period(None, None, None, latest_day(request))
    if latest is None:
        return None
    return {"day": latest, "week": periods.week_of(latest.start), "month": periods.month(latest.start.strftime("%Y-%m"))}[kind]


def _when(paper: dict) -> datetime:
    stamp = submitted_at(paper) or paper.get("published_at") or "1970-01-01T00:00:00Z"
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _summary(paper: dict) -> str:
    authors = ", ".join(a["name"] for a in paper["authors"][:10]) + (" et al." if len(paper["authors"]) > 10 else "")
    return f"{paper['upvotes']} upvotes · {authors}\n\n{paper['abstract'] or ''}"


def _rss(title: str, link: str, self_url: str, papers: list[dict], site: str, order: str = "most upvoted first") -> bytes:
    rss = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM, "xmlns:dc": "http://purl.org/dc/elements/1.1/"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = f"{title}, {order}"
    ET.SubElement(channel, "atom:link", {"href": self_url, "rel": "self", "type": "application/rss+xml"})
    ET.SubElement(channel, "lastBuildDate").text = format_datetime(datetime.now(UTC), usegmt=True)
    for paper in papers:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = paper["title"]
        ET.SubElement(item, "link").text = f"{site}/papers/{paper['id']}"
        ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = f"arxiv:{paper['id']}"
        ET.SubElement(item, "pubDate").text = format_datetime(_when(paper), usegmt=True)
        ET.SubElement(item, "description").text = _summary(paper)
        if paper["authors"]:
            ET.SubElement(item, "dc:creator").text = ", ".join(a["name"] for a in paper["authors"][:20])
        for category in paper.get("categories") or []:
            ET.SubElement(item, "category").text = category
    return _document(rss)


def _atom(title: str, link: str, self_url: str, papers: list[dict], site: str, order: str = "most upvoted first") -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM})
    ET.SubElement(feed, "title").text = title
    ET.SubElement(feed, "subtitle").text = f"{title}, {order}"
    ET.SubElement(feed, "id").text = self_url
    ET.SubElement(feed, "link", {"href": link, "rel": "alternate", "type": "text/html"})
    ET.SubElement(feed, "link", {"href": self_url, "rel": "self", "type": "application/atom+xml"})
    updated = max((_when(p) for p in papers), default=datetime.now(UTC))
    ET.SubElement(feed, "updated").text = updated.isoformat()
    for paper in papers:
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "title").text = paper["title"]
        ET.SubElement(entry, "id").text = f"{site}/papers/{paper['id']}"
        ET.SubElement(entry, "link", {"href": f"{site}/papers/{paper['id']}", "rel": "alternate"})
        ET.SubElement(entry, "link", {"href": f"https://arxiv.org/pdf/{paper['id']}", "rel": "related", "type": "application/pdf"})
        ET.SubElement(entry, "updated").text = _when(paper).isoformat()
        for author in paper["authors"][:20] or [{"name": "unknown"}]:
            ET.SubElement(ET.SubElement(entry, "author"), "name").text = author["name"]
        ET.SubElement(entry, "summary").text = _summary(paper)
        for category in paper.get("categories") or []:
            ET.SubElement(entry, "category", {"term": category})
    return _document(feed)


def _document(root: ET.Element) -> bytes:
    """The feed as UTF-8, without a character XML 1.0 cannot hold (NOT_XML), whatever it came in: a
    title, abstract or name of a row that reached the store without ingest's cleaning, a search or a
    name from the URL, the site's name. ElementTree escapes markup but writes those as they are (and
    cannot encode a lone surrogate at all: a 500), and one of them makes a strict parser refuse the
    whole feed, so they are removed from the serialized text: none of them can be markup.
    A carriage return is written as a reference, as in attributes: a raw one would be read as a line feed."""
    return XML_DECLARATION + xml_safe(ET.tostring(root, encoding="unicode")).replace("\r", "&#13;").encode()


def feed_body(request: Request, fmt: str, title: str, link: str, papers: list[dict], order: str) -> bytes:
    """An uncached feed of `papers` (a reader's own: their collection, their recommendations)."""
    site = request.app.state.config.site_url
    return (_rss if fmt == "rss" else _atom)(NOT_XML.sub("", title), link, _self_url(request, site), papers, site, order=order)


def feed_response(request: Request, fmt: str, key: tuple, render) -> Response:
    """A cached feed: `render` returns the channel's (title, link, papers, order)."""
    site = request.app.state.config.site_url
    self_url = _self_url(request, site)

    def build() -> Body:
        title, link, papers, order = render()
        return Body((_rss if fmt == "rss" else _atom)(NOT_XML.sub("", title), link, self_url, papers, site, order=order))

    return respond(request, request.app.state.cache.get((*key, fmt, site, self_url), build), f"{MEDIA[fmt]}; charset=utf-8")


def _self_url(request: Request, site: str) -> str:
    """The request's URL on the site (its path percent-encoded again: names hold spaces and unicode)."""
    return f"{site}{quote(request.scope['path'])}" + (f"?{request.url.query}" if request.url.query else "")


def _no_such_feed(request: Request, hint: str = "") -> Response:
    name = request.scope["path"].rsplit("/", 1)[-1]
    return JSONResponse({"error": f"no such feed: {name} (try {hint}.rss or .atom)"}, status_code=404)


def _syntax(text: str, filters: dict) -> str:
    """`text` and `filters` as one query in the search syntax, e.g. `diffusion author:"Yann LeCun" cat:cs.CV`."""
    terms = [text] if text else []
    for key, prefix in SYNTAX.items():
        value = " ".join((filters.get(key) or "").replace('"', " ").split())
        if value:
            terms.append(f'{prefix}:"{value}"' if " " in value else f"{prefix}:{value}")
    return " ".join(terms)


def _search_feed(request: Request, fmt: str, text: str, filters: dict, title: str) -> Response:
    """The papers matching `text` (search syntax) and `filters`, newest first, as an RSS or Atom feed."""
    if fmt not in MEDIA:
        return _no_such_feed(request)
    if parse(text, **filters).is_empty:
        message = "nothing to search for: give words in q, or a filter (author, category, organization, from, to)"
        return JSONResponse({"error": message}, status_code=422)
    site = request.app.state.config.site_url

    def render() -> tuple:
        papers = request.app.state.search.find(text, mode="lexical", sort="date", limit=FEED_SIZE, **filters).papers
        return title, f"{site}/search?{urlencode({'q': _syntax(text, filters)})}", papers, "newest first"

    return feed_response(request, fmt, ("feed:search", text, tuple(sorted(filters.items())), title), render)


@router.get("/feeds/search.{fmt}", tags=["feeds"], summary="RSS or Atom feed of a search, newest first",
            response_class=Response,
            responses=responses(None, 404, 422, media=FEED_MEDIA, description="RSS 2.0 (`.rss`) or Atom (`.atom`).",
                                e404="No such feed: a format other than rss and atom.",
                                e422="Nothing to search for, or a parameter that is not valid."))
def search_feed(
    request: Request,
    fmt: str,
    q: str = Query("", max_length=MAX_QUERY, description=f"The search, in the search syntax (see the README). At most {MAX_QUERY} characters."),
    filters: dict = Depends(search_filters),
):
    text = " ".join(q.split())
    title = f"{request.app.state.config.site_name}: search " + _syntax(f'"{text}"' if text else "", filters)
    return _search_feed(request, fmt, text, filters, title)


@router.get("/feeds/authors/{name}.{fmt}", tags=["feeds"], summary="RSS or Atom feed of an author's papers, newest first",
            response_class=Response,
            responses=responses(None, 404, 422, media=FEED_MEDIA, description="RSS 2.0 (`.rss`) or Atom (`.atom`).",
                                e404="No such feed: a format other than rss and atom."))
def author_feed(request: Request, name: Name, fmt: str):
    return _search_feed(request, fmt, "", {"author": name}, f"{request.app.state.config.site_name}: papers by {name}")


@router.get("/feeds/organizations/{name}.{fmt}", tags=["feeds"], summary="RSS or Atom feed of an organization's papers, newest first",
            response_class=Response,
            responses=responses(None, 404, 422, media=FEED_MEDIA, description="RSS 2.0 (`.rss`) or Atom (`.atom`).",
                                e404="No such feed: a format other than rss and atom."))
def organization_feed(request: Request, name: Name, fmt: str):
    return _search_feed(request, fmt, "", {"organization": name}, f"{request.app.state.config.site_name}: papers of {name}")


@router.get("/feeds/{kind}.{fmt}", tags=["feeds"], summary="RSS or Atom feed of the daily, weekly or monthly list",
            response_class=Response,
            responses=responses(None, 404, 422, media=FEED_MEDIA, description="RSS 2.0 (`.rss`) or Atom (`.atom`).",
                                e404="No such feed: a format other than rss and atom, or a kind other than daily, weekly and monthly.",
                                e422="A date, week or month that is not valid."))
def feed(
    request: Request,
    kind: str,
    fmt: str,
    date: str | None = Query(None, description="Day for the daily feed (default: latest)."),
    week: str | None = Query(None, description="ISO week for the weekly feed (default: the latest day's)."),
    month: str | None = Query(None, description="Month for the monthly feed (default: the latest day's)."),
):
    if kind not in KINDS or fmt not in MEDIA:
        return _no_such_feed(request, "daily, weekly or monthly ")
    period = _feed_period(request, KINDS[kind], {"daily": date, "weekly": week, "monthly": month}[kind])
    config, store = request.app.state.config, request.app.state.store
    site = config.site_url

    def render() -> bytes:
        papers = store.feed(period.start, period.end, limit=FEED_SIZE)[0] if period else []
        label = period.title if period else "no papers yet"
        title = f"{config.site_name}: {kind} papers, {label}"
        page = f"{site}/papers/{period.kind}/{period.label}" if period and period.kind != "day" else f"{site}/papers/date/{period.label}" if period else site
        return Body((_rss if fmt == "rss" else _atom)(title, page, _self_url(request, site), papers, site))

    body = request.app.state.cache.get(("feed", kind, fmt, period, site), render)
    return respond(request, body, f"{MEDIA[fmt]}; charset=utf-8")
