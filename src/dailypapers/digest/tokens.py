"""Signed tokens for the links in mails: confirm, manage, unsubscribe.

A token is `<payload>.<signature>`, both URL-safe base64: the payload names what the link does, for
which subscriber and until when (0: no expiry); the signature is an HMAC-SHA256 of the payload under the
site's key, cut to 128 bits. Changing any character makes `verify` refuse it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

PURPOSES = ("confirm", "manage", "unsubscribe")


class BadToken(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, key: str):
        if not key:
            raise ValueError("a signing key is needed")
        self._key = hashlib.sha256(key.encode()).digest()

    def _signature(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:16])

    def sign(self, purpose: str, subscriber_id: int, ttl_s: float | None = None) -> str:
        assert purpose in PURPOSES
        expires = int(time.time() + ttl_s) if ttl_s else 0
        payload = _b64(f"{purpose}:{subscriber_id}:{expires}".encode())
        return f"{payload}.{self._signature(payload)}"

    def verify(self, token: str, purpose: str) -> int:
        """The subscriber id the token was made for; BadToken if it is forged, altered, expired or for
        another purpose."""
        payload, _, signature = (token or "").partition(".")
        if not payload or not hmac.compare_digest(signature.encode(), self._signature(payload).encode()):
            raise BadToken("this link is not valid: it may have been cut or altered")
        try:
            made_for, subscriber_id, expires = _unb64(payload).decode().split(":")
            subscriber_id, expires = int(subscriber_id), int(expires)
        except ValueError:
            raise BadToken("this link is not valid") from None
        if made_for != purpose:
            raise BadToken("this link is for something else")
        if expires and time.time() > expires:
            raise BadToken("this link has expired: subscribe again to get a new one")
        return subscriber_id
