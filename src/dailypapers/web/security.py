"""Security headers on every response.

Pages carry no inline script or style, so the Content-Security-Policy can forbid both: text that made it
into a page (a paper's title, an author's name) can never run as script. The OpenAPI page (/docs) loads
Swagger UI from its CDN with an inline bootstrap script and gets a policy that allows exactly that.
Referrer-Policy keeps the paths of pages with secret links (unsubscribe, personal feed) from leaking to
the sites they link to.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SITE_POLICY = ("default-src 'self'; img-src 'self' https: data:; script-src 'self'; style-src 'self'; object-src 'none'; "
               "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")  # fmt: skip
DOCS_POLICY = ("default-src 'self'; img-src 'self' https: data:; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' https://cdn.jsdelivr.net; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")  # fmt: skip
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot, cached routes)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        policy = (DOCS_POLICY if scope["path"] == "/docs" else SITE_POLICY).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS, (b"content-security-policy", policy)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
