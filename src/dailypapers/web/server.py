"""What keeps one server process safe from the network: a limit on request bodies, a refusal of text no
database can hold, a deadline for request headers, and uvicorn's options. In production a reverse proxy
stands in front (deploy/nginx.conf, with its own timeouts and body limit); these hold when the server is
reached directly too.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # uvicorn without httptools: its h11 protocol, with no header deadline
    HttpToolsProtocol = None


class RefusedRequest(Exception):
    """A request refused before any route reads it; the app's error handler answers `status` (web/errors.py)."""

    status = 400


class BodyTooLarge(RefusedRequest):
    status = 413

    def __init__(self, max_bytes: int):
        super().__init__(f"the request body is larger than this site takes ({max_bytes:,} bytes)")


class NulCharacter(RefusedRequest):
    status = 422  # a parameter or the body is not valid, as for any other invalid text

    def __init__(self):
        super().__init__("the request holds a NUL character (U+0000), which no text on this site can contain")


class BodyLimit:
    """Refuse request bodies over `max_bytes` (413) before reading them: by their Content-Length at once,
    and a body sent without one as soon as it has passed the limit. So no route, and no authentication,
    ever reads more. 0: no limit."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            response = refused(Request(scope), BodyTooLarge(self.max_bytes))
            return await response(scope, receive, send)
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)  # the app's error handler answers 413 (web/errors.py)
            return message

        await self.app(scope, counted, send)


# How a NUL character arrives, by the body's media type. PostgreSQL's text cannot hold one (SQLite's can,
# and nothing on the site means one), so it is refused here, once for every route, rather than failing
# as a database error in whichever query first meets it. A JSON `\\u0000` (an escaped backslash) is no NUL.
_NUL_IN = {
    b"application/x-www-form-urlencoded": re.compile(rb"%00|\x00"),
    b"multipart/form-data": re.compile(rb"\x00"),
    b"application/json": re.compile(rb"(?<!\\)(?:\\\\)*\\u0000|\x00"),
}
_NUL_IN_URL = re.compile(rb"%00|\x00")
_CARRY = 64  # bytes of one body chunk kept to find a NUL written across two


class NoNulText:
    """Refuse (422) a request with a NUL character in its path, its query or a form or JSON body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if _NUL_IN_URL.search(scope.get("raw_path") or b"") or _NUL_IN_URL.search(scope["query_string"]):
            return await refused(Request(scope), NulCharacter())(scope, receive, send)
        media_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        pattern = _NUL_IN.get(media_type)
        if pattern is None:
            return await self.app(scope, receive, send)
        tail = b""

        async def scanned() -> Message:
            nonlocal tail
            message = await receive()
            seen = tail + message.get("body", b"")
            if pattern.search(seen):
                raise NulCharacter()
            tail = seen[-_CARRY:]
            return message

        await self.app(scope, scanned, send)


def refused(request: Request, exc: RefusedRequest):
    from .errors import error_response

    response = error_response(request, exc.status, str(exc))
    response.headers["Connection"] = "close"  # the rest of the body is not wanted: no reason to read it
    return response


if HttpToolsProtocol is not None:

    class HeaderDeadline(HttpToolsProtocol):
        """uvicorn's HTTP protocol with a deadline for each request's headers. uvicorn has none: a client
        that connects and sends nothing, or sends its headers a byte at a time, holds its connection for
        ever, and a few thousand such clients hold them all. Here it is closed after `seconds`."""

        seconds = 10.0  # set from the header_timeout setting by configure()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._deadline = None
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(self.seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()


def configure(config) -> None:
    """Settings the protocol reads (uvicorn makes protocol instances itself, in each worker process)."""
    if HttpToolsProtocol is not None:
        HeaderDeadline.seconds = float(config.header_timeout)


def server_options(config) -> dict:
    """uvicorn's options for this site (for `serve` and the tests' servers alike).

    - Forwarded headers are believed only from the reverse proxies named in forwarded_allow_ips: from
      anyone else, X-Forwarded-For would let a client choose the address that rate limits count.
    - Request headers must arrive within header_timeout; an idle connection between requests is closed
      after 5 s; a worker holds at most max_connections connections (requests beyond get 503), and a
      shutdown waits at most 30 s for requests still running.
    """
    options = {
        "proxy_headers": bool(config.forwarded_allow_ips),
        "forwarded_allow_ips": config.forwarded_allow_ips or None,
        "timeout_keep_alive": 5,
        "limit_concurrency": config.max_connections or None,
        "timeout_graceful_shutdown": 30,
    }
    if HttpToolsProtocol is not None:
        options["http"] = HeaderDeadline
    return options
