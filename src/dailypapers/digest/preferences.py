"""What a subscriber asks for, checked: the address, how often, and what to receive.

Everything here ends up in mail headers or the database, so anything odd is refused with a message
that says why (`InvalidSubscription`), before it is stored: line breaks and other control characters
(header injection), addresses email-validator does not accept, lists that are too long.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email

FREQUENCIES = ("daily", "weekly")
MAX_TOP = 50
MAX_ITEMS = 20  # saved searches, authors, organizations: each
MAX_SEARCH = 250
MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class InvalidSubscription(ValueError):
    pass


def check_email(value: str) -> str:
    """The normalized address, lower-cased (one subscription per mailbox, however it is typed: virtually
    every mail server ignores the case of the local part), or InvalidSubscription.

    Internationalized addresses are accepted. One with an IDN domain and an ASCII local part
    (`user@bücher.de`) can always be sent (as `user@xn--bcher-kva.de`: render.smtp_address). One with a
    non-ASCII local part (`jörg@bücher.de`) needs an SMTP server that offers SMTPUTF8, which cannot be
    known here without connecting to it on every request (and it may change): it is accepted too, and
    if the server does not offer SMTPUTF8 its mails fail in the outbox saying so (`digest status`,
    `digest send` list them), while every other subscriber's mail goes out."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidSubscription("an email address is needed")
    if _CONTROL.search(value):
        raise InvalidSubscription("an email address cannot contain line breaks or control characters")
    if len(value) > 254:
        raise InvalidSubscription("that email address is too long")
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidSubscription(f"not a valid email address: {exc}") from None
    return checked.normalized.lower()


def _items(values: Iterable[str] | str | None, what: str, longest: int) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):  # a form field: one per line, or comma-separated names
        values = values.splitlines() if what == "saved searches" else values.replace("\n", ",").split(",")
    items = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidSubscription(f"{what} must be text")
        if _CONTROL.search(value):
            raise InvalidSubscription(f"{what} cannot contain control characters")
        value = " ".join(value.split())
        if len(value) > longest:
            raise InvalidSubscription(f"each of the {what} can be at most {longest} characters")
        if value and value not in items:
            items.append(value)
    if len(items) > MAX_ITEMS:
        raise InvalidSubscription(f"at most {MAX_ITEMS} {what}")
    return items


def check_preferences(frequency: str = "daily", top: int | str | None = 10, searches=None, authors=None,
                      organizations=None) -> dict:  # fmt: skip
    """The preferences as stored, or InvalidSubscription."""
    if frequency not in FREQUENCIES:
        raise InvalidSubscription(f"frequency must be one of {', '.join(FREQUENCIES)}")
    try:
        top = int(top or 0)
    except (TypeError, ValueError):
        raise InvalidSubscription("top must be a number of papers") from None
    if not 0 <= top <= MAX_TOP:
        raise InvalidSubscription(f"top must be between 0 and {MAX_TOP}")
    preferences = {
        "frequency": frequency,
        "top": top,
        "searches": _items(searches, "saved searches", MAX_SEARCH),
        "authors": _items(authors, "authors", MAX_NAME),
        "organizations": _items(organizations, "organizations", MAX_NAME),
    }
    if not (top or preferences["searches"] or preferences["authors"] or preferences["organizations"]):
        raise InvalidSubscription("choose something to receive: trending papers, a saved search, an author or an organization")
    return preferences
