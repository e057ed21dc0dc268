"""Comments are written in Markdown (CommonMark) and shown as HTML that can do no harm.

Two layers: markdown-it is told to treat raw HTML as text, and its output then goes through nh3
(the Rust `ammonia` sanitizer) with a short list of allowed tags and only http(s) and mailto links,
each marked `rel="nofollow noopener ugc"`. Images are not allowed: a comment cannot make readers'
browsers fetch a third party's address.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

MAX_CHARS = 10_000
TAGS = {"p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
        "h1", "h2", "h3", "h4", "h5", "h6"}  # fmt: skip
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


class InvalidComment(ValueError):
    pass


def check_comment(body: str) -> str:
    """The comment's Markdown, trimmed; InvalidComment if it is empty or too long."""
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise InvalidComment("the comment is empty")
    if len(body) > MAX_CHARS:
        raise InvalidComment(f"a comment has at most {MAX_CHARS:,} characters; this one has {len(body):,}")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in body):
        raise InvalidComment("the comment contains control characters")
    return body


def render(body: str) -> str:
    """Safe HTML for a comment's Markdown."""
    return nh3.clean(
        _markdown.render(body),
        tags=TAGS,
        attributes={"a": {"href", "title"}, "ol": {"start"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener ugc",
    )
