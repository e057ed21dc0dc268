"""Mails as messages: multipart (plain text + HTML) with the links and headers each kind needs.

Every mail carries a visible unsubscribe link and RFC 8058's one-click headers
(`List-Unsubscribe` with an https URL, `List-Unsubscribe-Post: List-Unsubscribe=One-Click`) and a
signed link to the preferences page. A digest's Message-ID is made from the subscriber and period,
so a receiving server can recognise a repeat.
"""

from __future__ import annotations

import base64
import re
import secrets
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

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
            "title": " ".join(paper["title"].split()),
            "url": f"{self.site}/papers/{quote(paper['id'])}",
            "authors": _authors(paper),
            "organization": organization.get("fullname") or organization.get("name"),
            "upvotes": paper.get("upvotes") or 0,
            "excerpt": excerpt(paper.get("abstract")),
            "arxiv": f"https://arxiv.org/abs/{paper['id']}",
            "pdf": f"https://arxiv.org/pdf/{paper['id']}",
            "code": _safe_link(paper.get("github_repo")),
            "project": _safe_link(paper.get("project_page")),
        }

    # -- messages -------------------------------------------------------------------------------------
    def message(self, mail: dict, sections: list[tuple[str, list[dict]]] | None = None) -> bytes:
        """The message (bytes, CRLF line ends) for an outbox row (with the subscriber's email and feed_token); a digest needs its
        sections with the papers as dicts."""
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
            context["sections"] = [(title, [self.paper_view(p) for p in papers]) for title, papers in sections or []]
            subject = f"{self.site_name}: {count} paper{'s' * (count != 1)} for {context['period']}"
        context["subject"] = subject
        headers = {
            **mail_headers(subject, self.mail_from, mail["email"], self.host),
            "Message-ID": (f"<digest.{mail['subscriber_id']}.{mail['period'].replace(':', '.')}@{self.host}>"
                           if mail["kind"] == "digest" else make_msgid(domain=self.host)),  # fmt: skip
            # in every mail, the confirmation too: "I did not ask for this" is one click
            "List-Unsubscribe": f"<{context['unsubscribe']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{self.site_name} digest <digest.{self.host}>",
        }
        text = self.env.get_template(f"{mail['kind']}.txt").render(context)
        html = self.env.get_template(f"{mail['kind']}.html").render(context)
        return mime_alternative(headers, text, html)

    def envelope(self, mail: dict, message: bytes) -> tuple[str, list[str], bytes]:
        """What an SMTP server is handed: sender, recipients, the message."""
        return parseaddr(self.mail_from)[1], [mail["email"]], message


def mail_headers(subject: str, mail_from: str, to: str, host: str) -> dict[str, str]:
    """Subject, From, To, Date and a new Message-ID, ready for `mime_alternative`."""
    return {
        # encoded words of at most 75 characters, side by side on one line
        "Subject": subject if subject.isascii() else Header(subject, "utf-8").encode(linesep=" "),
        "From": formataddr(parseaddr(mail_from), "utf-8"),
        "To": to,
        "Date": formatdate(localtime=False, usegmt=True),
        "Message-ID": make_msgid(domain=host),
    }


def mime_alternative(headers: dict[str, str], text: str, html: str) -> bytes:
    """A multipart/alternative message (RFC 2045/2046), plain text then HTML, both UTF-8 in base64.

    Written directly rather than with the email package, whose generator took most of the time of
    rendering a digest. Header values must be ASCII without line breaks (they are not folded: each
    line stays under SMTP's 998-character limit); the boundary cannot occur in base64."""
    boundary = f"=_dp_{secrets.token_hex(12)}"
    lines = []
    for name, value in headers.items():
        if not value.isascii() or _LINE_BREAK.search(value) or len(name) + len(value) > 990:
            raise ValueError(f"the {name} header cannot be sent as it is: {value[:80]!r}")
        lines.append(f"{name}: {value}")
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
    for subtype, body in (("plain", text), ("html", html)):
        lines += [f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"', "Content-Transfer-Encoding: base64", "",
                  base64.encodebytes(body.encode()).decode().replace("\n", "\r\n").rstrip("\r\n")]  # fmt: skip
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode()
