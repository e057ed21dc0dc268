"""Security headers on every response.

Pages carry no inline script or style, so the Content-Security-Policy can forbid both: text that made it
into a page (a paper's title, an author's name) can never run as script.

The API's documentation pages (/docs: Swagger UI, /redoc: ReDoc; web/docs.py) load everything from this
site too, but FastAPI writes Swagger UI's start-up call as an inline script. Their policy allows that
one script by its SHA-256 hash, computed from the page as sent, rather than 'unsafe-inline' or a nonce:
the page is the same for every request (a nonce would mean rewriting FastAPI's HTML on each one), and a
hash admits only that exact script, so nothing else inline can run there either. Styles are another
matter: ReDoc (styled-components) writes <style> elements as it renders and FastAPI's ReDoc page has an
inline <style>, so style-src allows 'unsafe-inline' on these two pages only; a style cannot run script.
ReDoc runs its search in a worker it makes from a blob: URL (worker-src blob:). No other origin is allowed.
Images come from this site only: thumbnails and organizations' logos are fetched once and served from
here (web/media.py), never hot-linked, so a page makes no reader's browser ask a third party for anything.
Referrer-Policy keeps the paths of pages with secret links (unsubscribe, personal feed) from leaking to
the sites they link to. A page made for a logged-in reader carries their session's CSRF token in its
forms: it is sent `Cache-Control: private, no-store`, so that no shared cache or browser history keeps it.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SITE_POLICY = ("default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; object-src 'none'; "
               "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")  # fmt: skip
DOCS_POLICY = ("default-src 'self'; img-src 'self' data:; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
               "worker-src blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")  # fmt: skip
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)  # a <script> with no attributes: no src
PRIVATE = (b"cache-control", b"private, no-store")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]


def docs_policy(html: str) -> str:
    """DOCS_POLICY for a documentation page, allowing exactly the inline scripts in its `html`."""
    hashes = [base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() for script in _INLINE_SCRIPT.findall(html)]
    return DOCS_POLICY.format(scripts="".join(f" 'sha256-{h}'" for h in hashes))


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot, cached routes). `policies`: the
    Content-Security-Policy of particular paths (the documentation pages); other paths get SITE_POLICY."""

    def __init__(self, app: ASGIApp, hsts: bool = False, policies: dict[str, str] | None = None):
        self.app = app
        self.policies = {path: policy.encode() for path, policy in (policies or {}).items()}
        self.site_policy = SITE_POLICY.encode()
        # Served over https (public_url), browsers are told to come back only over https for a year.
        self.headers = [*HEADERS, (b"strict-transport-security", b"max-age=31536000")] if hsts else HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        policy = self.policies.get(scope["path"], self.site_policy)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *self.headers, (b"content-security-policy", policy)]
                if (scope.get("state") or {}).get("user"):  # shown to a logged-in reader: forms with their CSRF token
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"] + [PRIVATE]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
