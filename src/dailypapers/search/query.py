"""The search syntax people type, parsed into parts. Any text parses; nothing here raises.

    graph neural networks            words: papers with more of them (and rarer ones) rank first
    "sparse reward"                  an exact phrase, which must appear
    -survey  -"large language"       a word or phrase that must not appear
    author:lecun  author:"Yann LeCun"
    cat:cs.LG                        an arXiv category (several: any of them)
    org:google  org:"Hugging Face"   the organization on the daily feed
    from:2025-01  to:2025-06-30      published from / to (YYYY, YYYY-MM or YYYY-MM-DD, inclusive)

A `field:` that is not one of these, an unbalanced quote or a date that is not one is read as plain words.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

FIELDS = {"author", "cat", "org", "from", "to"}
_PART = re.compile(r'(?P<neg>-)?(?:(?P<field>[A-Za-z]+):)?(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]+))')
_WORD = re.compile(r"\w+", re.UNICODE)
_DAY = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")
MAX_CHARS = 1000  # a search's length: a pasted abstract sentence, or a question of a few sentences
MAX_PARTS = 128  # words, phrases and filters read: a pasted paragraph's last sentences count too (lexical.MAX_TERMS)


@dataclass
class Query:
    words: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)  # words or phrases
    authors: list[list[str]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    organizations: list[list[str]] = field(default_factory=list)
    published_from: date | None = None
    published_to: date | None = None

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def has_filters(self) -> bool:
        return bool(self.authors or self.categories or self.organizations or self.published_from or self.published_to
                    or self.excluded or self.phrases)  # fmt: skip

    @property
    def is_empty(self) -> bool:
        return not (self.has_text or self.has_filters)


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def day_bound(text: str, upper: bool) -> date | None:
    """The first (or, if `upper`, last) day of a YYYY, YYYY-MM or YYYY-MM-DD; None if it is not one."""
    match = _DAY.match(text.strip())
    if not match:
        return None
    year, month, day = int(match[1]), match[2], match[3]
    try:
        if month is None:
            return date(year, 12, 31) if upper else date(year, 1, 1)
        if day is None:
            last = calendar.monthrange(year, int(month))[1]
            return date(year, int(month), last if upper else 1)
        return date(year, int(month), int(day))
    except ValueError:
        return None


def parse(text: str, *, author: str | None = None, category: str | None = None, organization: str | None = None,
          published_from: str | None = None, published_to: str | None = None) -> Query:  # fmt: skip
    """Parse `text`; the keyword arguments are the same filters given separately (API parameters)."""
    query = Query()
    text = text or ""
    if text.count('"') % 2:  # an unbalanced quote is not syntax
        text = text.replace('"', " ")
    for match in list(_PART.finditer(text))[:MAX_PARTS]:
        negated, name, value = bool(match["neg"]), (match["field"] or "").lower(), match["quoted"] or match["bare"] or ""
        quoted = match["quoted"] is not None
        if name and name not in FIELDS:  # "title:x" is two words
            query.words += _words(f"{name} {value}")
            continue
        if name in ("from", "to"):
            bound = day_bound(value, upper=name == "to")
            if bound is None:
                query.words += _words(value)
            elif name == "from":
                query.published_from = bound
            else:
                query.published_to = bound
            continue
        words = _words(value)
        if not words and name != "cat":
            continue
        if name == "author":
            query.authors.append(words)
        elif name == "cat":
            if value.strip():
                query.categories.append(value.strip().lower())
        elif name == "org":
            query.organizations.append(words)
        elif negated:
            query.excluded.append(words)
        elif quoted and len(words) > 1:
            query.phrases.append(words)
        else:
            query.words += words
    for value, target in ((author, query.authors), (organization, query.organizations)):
        if value and _words(value):
            target.append(_words(value))
    if category and category.strip():
        query.categories.append(category.strip().lower())
    if published_from:
        query.published_from = day_bound(published_from, upper=False) or query.published_from
    if published_to:
        query.published_to = day_bound(published_to, upper=True) or query.published_to
    return query
