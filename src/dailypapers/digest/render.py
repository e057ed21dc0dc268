"""Mails as messages: multipart (plain text + HTML) with the links and headers each kind needs.

Every mail carries a visible unsubscribe link and RFC 8058's one-click headers
(`List-Unsubscribe` with an https URL, `List-Unsubscribe-Post: List-Unsubscribe=One-Click`) and a
signed link to the preferences page. A digest's Message-ID is made from the subscriber and period,
so a receiving server can recognise a repeat.
"""

from __future__ import annotations

import base64
import functools
import re
import secrets
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import quote, urlsplit

from email_validator import EmailNotValidError, validate_email
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..records import xml_safe
from ..web.periods import PeriodError, parse
from .tokens import Signer

TEMPLATES = Path(__file__).parent / "templates"
ABSTRACT_CHARS = 220  # about two lines
AUTHORS_SHOWN = 6
_PERIOD_KINDS = {"daily": "day", "weekly": "week"}
_LINE_BREAK = re.compile(r"[\r\n\x00]")


def excerpt(text: str | None, limit: int = ABSTRACT_CHARS) -> str:
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def _authors(paper: dict) -> str:
    names = [a["name"] for a in paper.get("authors") or []]
    return ", ".join(names[:AUTHORS_SHOWN]) + (f" and {len(names) - AUTHORS_SHOWN} more" if len(names) > AUTHORS_SHOWN else "")


def _safe_link(url: str | None) -> str | None:
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def period_title(key: str) -> str:
    """"daily:2025-02-14" -> "Friday, February 14, 2025"."""
    frequency, _, label = key.partition(":")
    try:
        return parse(_PERIOD_KINDS[frequency], label).title
    except (KeyError, PeriodError):
        return label


class Renderer:
    def __init__(self, site_url: str, site_name: str, mail_from: str, signer: Signer, confirm_hours: float = 48):
        self.site, self.site_name, self.mail_from, self.signer = site_url.rstrip("/"), site_name, mail_from, signer
        self.confirm_s = confirm_hours * 3600
        self.host = urlsplit(self.site).hostname or "localhost"
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                               trim_blocks=True, lstrip_blocks=True)  # fmt: skip

    # -- links ----------------------------------------------------------------------------------------
    def links(self, subscriber_id: int, feed_token: str) -> dict:
        return {
            "manage": f"{self.site}/subscriptions/manage/{self.signer.sign('manage', subscriber_id)}",
            "unsubscribe": f"{self.site}/unsubscribe/{self.signer.sign('unsubscribe', subscriber_id)}",
            "feed": f"{self.site}/feeds/personal/{feed_token}.rss",
        }

    def confirm_link(self, subscriber_id: int) -> str:
        return f"{self.site}/subscriptions/confirm/{self.signer.sign('confirm', subscriber_id, self.confirm_s)}"

    def paper_view(self, paper: dict) -> dict:
        organization = paper.get("organization") or {}
        return {
            # control characters a record written straight into the store may hold (ingest removes them)
            "title": xml_safe(" ".join(paper["title"].split())),
            "url": f"{self.site}/papers/{quote(paper['id'])}",
            "authors": xml_safe(_authors(paper)),
            "organization": xml_safe(organization.get("fullname") or organization.get("name")),
            "upvotes": paper.get("upvotes") or 0,
            "excerpt": xml_safe(excerpt(paper.get("abstract"))),
            "arxiv": f"https://arxiv.org/abs/{paper['id']}",
            "pdf": f"https://arxiv.org/pdf/{paper['id']}",
            "code": _safe_link(paper.get("github_repo")),
            "project": _safe_link(paper.get("project_page")),
        }

    # -- messages -------------------------------------------------------------------------------------
    def message(self, mail: dict, sections: list[tuple[str, list[dict]]] | None = None) -> bytes:
        """The message (bytes, CRLF line ends) for an outbox row (with the subscriber's email and feed_token); a digest needs its
        sections with the papers as dicts. ValueError if it cannot be written (see `smtp_address`)."""
        headers, text, html, utf8 = self.parts(mail, sections)
        return mime_alternative(headers, text, html, utf8=utf8)

    def parts(self, mail: dict, sections: list[tuple[str, list[dict]]] | None = None) -> tuple[dict[str, str], str, str, bool]:
        """What `message` writes: the headers, the plain text, the HTML, and whether the mail needs SMTPUTF8."""
        to, utf8 = smtp_address(mail["email"])
        context = {"site": self.site, "site_name": self.site_name, **self.links(mail["subscriber_id"], mail["feed_token"])}
        if mail["kind"] == "confirm":
            context["confirm"] = self.confirm_link(mail["subscriber_id"])
            context["hours"] = round(self.confirm_s / 3600)
            subject = f"Confirm your {self.site_name} subscription"
        elif mail["kind"] == "notice":
            subject = f"Your {self.site_name} subscription"
        else:
            count = sum(len(papers) for _, papers in sections or [])
            context["period"] = period_title(mail["period"])
            context["frequency"] = mail["period"].partition(":")[0]
            context["sections"] = [(xml_safe(title), [self.paper_view(p) for p in papers]) for title, papers in sections or []]
            subject = f"{self.site_name}: {count} paper{'s' * (count != 1)} for {context['period']}"
        context["subject"] = subject
        headers = {
            **mail_headers(subject, self.mail_from, to, self.host),
            "Message-ID": (f"<digest.{mail['subscriber_id']}.{mail['period'].replace(':', '.')}@{self.host}>"
                           if mail["kind"] == "digest" else make_msgid(domain=self.host)),  # fmt: skip
            # in every mail, the confirmation too: "I did not ask for this" is one click
            "List-Unsubscribe": f"<{context['unsubscribe']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{self.site_name} digest <digest.{self.host}>",
        }
        text = self.env.get_template(f"{mail['kind']}.txt").render(context)
        html = self.env.get_template(f"{mail['kind']}.html").render(context)
        return headers, text, html, utf8

    def envelope(self, mail: dict, message: bytes) -> tuple[str, list[str], bytes]:
        """What an SMTP server is handed: sender, recipients (as `smtp_address` writes them), the message. The mail
        needs SMTPUTF8 if any of the addresses is not ASCII."""
        return smtp_address(parseaddr(self.mail_from)[1])[0], [smtp_address(mail["email"])[0]], message


def smtp_address(address: str) -> tuple[str, bool]:
    """An address as it goes into the envelope and the To header, and whether that needs SMTPUTF8.

    An ASCII address is sent as it is. An internationalized one (email-validator accepts them at
    subscription) depends on its local part, the part before the @:

    * ASCII local part, non-ASCII domain (`user@bücher.de`): the domain is sent as its IDNA A-label
      (`user@xn--bcher-kva.de`, IDNA 2008 with UTS #46 mapping, as email-validator computes it). That is
      the same mailbox: DNS, and so every MX lookup, only ever sees the A-label, and RFC 5321/5890 say
      that a domain in SMTP without SMTPUTF8 is written that way. It needs nothing of the SMTP server, nor
      of any relay after it, so it is what we send even when the server offers SMTPUTF8: a mail sent with
      SMTPUTF8 cannot be downgraded, and a later hop without it would bounce it. (Python's own "idna"
      codec is IDNA 2003, which maps `ß` to `ss`: another domain. It is not used.)
    * Non-ASCII local part (`jörg@bücher.de`): there is no ASCII form (the local part is the receiving
      server's to interpret), so the address goes as it is, in UTF-8, which RFC 6531/6532 allow only in
      a mail sent with SMTPUTF8. If the server does not offer it the mail cannot be sent (send.py fails
      it for good, saying so).

    ValueError (with the reason) for an address that email-validator no longer accepts."""
    return (address, False) if address.isascii() else _international(address)


@functools.lru_cache(maxsize=1024)
def _international(address: str) -> tuple[str, bool]:
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"cannot send to {address!r}: {exc}") from None
    if checked.ascii_email:
        return checked.ascii_email, False
    return address, True


def _ascii_domain(pair: tuple[str, str]) -> tuple[str, str]:
    name, address = pair
    return name, smtp_address(address)[0] if address else address


def mail_headers(subject: str, mail_from: str, to: str, host: str) -> dict[str, str]:
    """Subject, From, To, Date and a new Message-ID, ready for `mime_alternative`; the addresses as
    `smtp_address` writes them (so `To` is not ASCII only for a mail that needs SMTPUTF8)."""
    return {
        # encoded words of at most 75 characters, side by side on one line
        "Subject": subject if subject.isascii() else Header(subject, "utf-8").encode(linesep=" "),
        "From": formataddr(_ascii_domain(parseaddr(mail_from)), "utf-8"),
        "To": smtp_address(to)[0],
        "Date": formatdate(localtime=False, usegmt=True),
        "Message-ID": make_msgid(domain=host),
    }


def mime_alternative(headers: dict[str, str], text: str, html: str, *, utf8: bool = False) -> bytes:
    """A multipart/alternative message (RFC 2045/2046), plain text then HTML, both UTF-8 in base64.

    Written directly rather than with the email package, whose generator took most of the time of
    rendering a digest (bench/mail_bench.py measures both). Header values must be ASCII without line
    breaks (they are not folded: each line stays under SMTP's 998-octet limit); the boundary cannot
    occur in base64. With `utf8` (a mail sent with SMTPUTF8) header values may also hold UTF-8, as RFC
    6532 allows there: an address with a non-ASCII local part can be written no other way."""
    boundary = f"=_dp_{secrets.token_hex(12)}"
    lines = []
    for name, value in headers.items():
        ascii_ = value.isascii()
        if (not ascii_ and not utf8) or _LINE_BREAK.search(value) or len(name) + len(value if ascii_ else value.encode()) > 990:
            raise ValueError(f"the {name} header cannot be sent as it is: {value[:80]!r}")
        lines.append(f"{name}: {value}")
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
    for subtype, body in (("plain", text), ("html", html)):
        lines += [f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"', "Content-Transfer-Encoding: base64", "",
                  base64.encodebytes(body.encode()).decode().replace("\n", "\r\n").rstrip("\r\n")]  # fmt: skip
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode()
