"""The one record type every source yields, and the arXiv id rules.

A paper is named by its arXiv id without a version suffix everywhere in dailypapers
("2405.15738", "hep-th/9901001"); versions live in ``PaperRecord.versions``.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

# Sources in increasing authority for bibliographic fields (title, abstract, authors, ...).
SOURCE_RANK = {"hf-scrape": 1, "hf": 2, "arxiv": 3}

_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}"
_ID_RE = re.compile(
    rf"^(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/|arxiv:|oai:arxiv\.org:)?"
    rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?P<version>v\d+)?(?:\.pdf)?/?$",
    re.IGNORECASE,
)


class InvalidRecord(ValueError):
    """A source record that cannot become a paper; the message says why."""


_PLAIN_NEW_ID = re.compile(_NEW_ID)


def parse_arxiv_id(text: str) -> tuple[str, str | None]:
    """Split an arXiv id, URL or OAI identifier into (id without version, version or None)."""
    if isinstance(text, str) and _PLAIN_NEW_ID.fullmatch(text):
        return text, None
    match = _ID_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise InvalidRecord(f"not an arXiv id: {text!r}")
    ident = match["id"]
    if "/" in ident:  # old-style: archive is lower case, subject class upper case
        archive, number = ident.split("/")
        head, _, subject = archive.partition(".")
        ident = f"{head.lower()}{'.' + subject.upper() if subject else ''}/{number}"
    return ident, (match["version"].lower() if match["version"] else None)


def normalize_id(text: str) -> str:
    return parse_arxiv_id(text)[0]


_PARAGRAPH = re.compile(r"\n[ \t]+(?=\S)|\n\s*\n")
# Characters XML 1.0 cannot hold (its Char production): C0 controls but tab, line feed and carriage
# return; lone surrogates; U+FFFE and U+FFFF. (DEL and the C1 controls U+0080-U+009F are allowed.)
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_C0_BYTES = bytes(c for c in range(32) if c not in b"\t\n\r")
_FFFE, _FFFF = "\ufffe".encode(), "\uffff".encode()


def xml_safe(text: str | None) -> str | None:
    """`text` without the characters XML 1.0 cannot hold (NOT_XML); any other text is returned as it is.

    Paper text goes into RSS and Atom, where one such character makes the whole feed unreadable to a
    strict parser. Records are cleaned at ingest (PaperRecord), and the feeds clean what they write
    again, for rows that reached the store another way."""
    if not text:
        return text
    try:  # checked on the UTF-8 bytes, ~1 ns a character (the regex takes 5): a C0 control is a byte of
        raw = text.encode()  # its own there, and U+FFFE/U+FFFF are EF BF BE/BF; a lone surrogate cannot be encoded
    except UnicodeEncodeError:
        return NOT_XML.sub("", text)
    if len(raw.translate(None, _C0_BYTES)) == len(raw) and (text.isascii() or (_FFFE not in raw and _FFFF not in raw)):
        return text
    return NOT_XML.sub("", text)


def clean_title(text: str | None) -> str | None:
    if text is None:
        return None
    if single_spaced(text):  # the common case, checked cheaply
        return text or None
    return " ".join(text.split()) or None


def single_spaced(text: str) -> bool:
    """True only if `text` is " ".join(text.split()) already: no whitespace but single spaces (other
    whitespace is not printable), none doubled, none at either end. It may say False of such a text
    (one with another unprintable character); callers then split it."""
    return text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "


def clean_abstract(text: str | None) -> str | None:
    """arXiv hard-wraps abstracts; keep paragraph breaks (indented or blank lines), join the rest."""
    if text is None:
        return None
    text = text.strip()
    flat = text.replace("\n", " ")
    if "  " not in flat and "\t" not in flat and "\r" not in flat:  # the common case, checked cheaply
        return flat or None
    if "\n " not in text and "\n\t" not in text and "\n\n" not in text:
        return " ".join(flat.split()) or None
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH.split(text))
    return "\n\n".join(p for p in paragraphs if p) or None


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d{1,6}))?Z$")
# The arXiv snapshot's version dates, e.g. "Mon, 2 Apr 2007 19:18:42 GMT": email.utils takes ~13 µs each
_RFC2822_UTC = re.compile(r"(?:[A-Z][a-z]{2}, )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) (?:GMT|UTC|\+0000)")
_MONTHS = {name: n for n, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def iso_datetime(value) -> str | None:
    """Normalize a date or datetime (ISO string, RFC 2822 string, date, datetime) to UTC 'YYYY-MM-DDTHH:MM:SS.mmmZ'."""
    if value is None or value == "":
        return None
    if isinstance(value, str):  # fast paths for the common cases: a day, a UTC ISO time, an RFC 2822 UTC time
        if len(value) == 10 and _DAY.fullmatch(value):
            return f"{iso_day(value)}T00:00:00.000Z"
        if fast := _ISO_UTC.match(value):
            return f"{value[:19]}.{(fast.group(1) or '').ljust(3, '0')[:3]}Z"
        if (rfc := _RFC2822_UTC.fullmatch(value)) and rfc[2] in _MONTHS:
            day = int(rfc[1])
            if 0 < day <= 28 and rfc[4] < "24" and rfc[5] < "60" and rfc[6] < "60":  # else the general path checks
                return f"{rfc[3]}-{_MONTHS[rfc[2]]:02d}-{day:02d}T{rfc[4]}:{rfc[5]}:{rfc[6]}.000Z"
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                dt = parsedate_to_datetime(text)
            except (TypeError, ValueError):
                raise InvalidRecord(f"not a date: {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_day(value) -> str:
    """A 'YYYY-MM-DD' day from a date or an ISO date/datetime string; raises InvalidRecord otherwise."""
    if type(value) is str and (day := _day_of(value[:10])) is not None:  # the common case
        return day
    if isinstance(value, date):
        return value.isoformat()[:10]
    day = _day_of(str(value or "").strip()[:10])
    if day is None:
        raise InvalidRecord(f"not a day: {value!r}")
    return day


@functools.lru_cache(maxsize=4096)  # an import meets the same few hundred days again and again
def _day_of(text: str) -> str | None:
    if _DAY.fullmatch(text) and "01" <= text[5:7] <= "12" and "01" <= text[8:10] <= "28":
        return text
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


@dataclass
class PaperRecord:
    """What a source knows about one paper. ``None`` means "this source does not say"."""

    id: str
    source: str  # a key of SOURCE_RANK
    observed: str  # when the source saw this (ISO); breaks ties between records of equal rank
    title: str | None = None
    abstract: str | None = None
    authors: list[dict] | None = None  # ordered [{"name": ..., "user"?: {"user", "fullname", "avatarUrl"}}]
    categories: list[str] | None = None  # primary first
    published_at: str | None = None  # arXiv v1
    updated_at: str | None = None  # arXiv latest version
    versions: list[dict] | None = None  # [{"version": "v1", "created": ISO}]
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    report_no: str | None = None
    license: str | None = None
    arxiv_submitter: str | None = None
    # On the daily feed:
    featured_on: list[str] = field(default_factory=list)  # days, 'YYYY-MM-DD'
    submitted_at: str | None = None  # when it was posted to the daily feed
    submitted_by: dict | None = None  # {"user", "fullname", "avatarUrl"}
    upvotes: int | None = None
    num_comments: int | None = None
    organization: dict | None = None  # {"name", "fullname", "avatar"}
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] | None = None
    thumbnail: str | None = None
    discussion_id: str | None = None

    def __post_init__(self):
        if self.source not in SOURCE_RANK:
            raise InvalidRecord(f"unknown source {self.source!r}")
        self.id = normalize_id(self.id)
        self.observed = (self.observed or "")[:10]  # a day: records of equal rank compare by it
        title = self.title
        if title is not None and not single_spaced(title):  # else printable: no control character to remove
            # whitespace (some C0 controls among it) becomes single spaces, then what XML cannot hold goes
            title = clean_title(xml_safe(" ".join(title.split())))
        self.title = title or None  # = clean_title, whose check is not made twice
        self.abstract = clean_abstract(self.abstract)
        if self.abstract and (cleaned := xml_safe(self.abstract)) is not self.abstract:
            self.abstract = clean_abstract(cleaned)
        if not self.title:
            raise InvalidRecord("no title")
        # The same for the other text readers see (feeds, mails, pages), each checked at C speed first (no
        # control character is printable). Authors' and submitters' account names are identifiers, left be.
        if self.authors and not _printable(map(_NAME, self.authors)):
            self.authors = [_clean_dict(a, "name") for a in self.authors]
        if self.categories and not _printable(self.categories):
            self.categories = _clean_list(self.categories)
        if self.ai_keywords and not _printable(self.ai_keywords):
            self.ai_keywords = _clean_list(self.ai_keywords)
        if self.comment:
            self.comment = _clean_str(self.comment)
        if self.journal_ref:
            self.journal_ref = _clean_str(self.journal_ref)
        if self.ai_summary:
            self.ai_summary = _clean_str(self.ai_summary)
        if self.organization:
            self.organization = _clean_dict(self.organization, "fullname")
        if self.submitted_by:
            self.submitted_by = _clean_dict(self.submitted_by, "fullname")


_NAME = operator.itemgetter("name")


def _printable(texts) -> bool:
    """Whether every one of `texts` is printable (so holds no control character); False if one is not text."""
    try:
        return "".join(texts).isprintable()
    except (KeyError, TypeError):  # not text, or an author without a name: the slow path leaves those be
        return False


def _clean_str(value):
    return value if type(value) is not str or value.isprintable() else xml_safe(value)


def _clean_list(values: list) -> list:
    return [_clean_str(v) for v in values]


def _clean_dict(value, key: str):
    """`value` with xml_safe applied to value[key] (a name); the same dict if that removes nothing."""
    text = value.get(key) if type(value) is dict else None
    if type(text) is not str or text.isprintable() or (cleaned := xml_safe(text)) == text:
        return value
    return {**value, key: cleaned}


