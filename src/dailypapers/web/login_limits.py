"""Who may try a password, how often, and why an attacker cannot lock an account's owner out.

A log-in try is counted before its password is checked (so simultaneous tries cannot slip through
together), in the database (so every worker and host counts the same), under these limits:

- from one address, `logins_per_hour` tries at any accounts;
- at one account from one address, `failed_logins` failures an hour;
- at one account from every address together, `account_failed_logins_per_day` failures a day: a slow
  ceiling on guessing from many addresses.

A browser that has logged in to an account before carries a signed cookie (`dp_device`) that says so
(OWASP's "device cookie"). Its tries at that account are counted per browser instead (`failed_logins` an
hour) and not by address or against the account's ceiling. So whoever spends an account's limits, from
one address or from thousands, the owner still logs in from the browsers they use; only a browser new to
the account waits, and for at most the hour or the day.

A try that succeeds gives its failure slots back and clears the failures of its address (or browser) at
that account, as a person who mistyped twice and then logged in expects; the account's ceiling keeps
what it counted. The answer is the same whether or not the account
exists: a name that names none is counted as an account of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

DEVICE_COOKIE = "dp_device"
DEVICE_DAYS = 365


def _signature(key: str, user_id: int, nonce: str) -> str:
    mac = hmac.new(hashlib.sha256(key.encode()).digest(), f"device:{user_id}:{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:16]).rstrip(b"=").decode()


def device_cookie(key: str, user_id: int) -> str:
    """The cookie a browser gets when it logs in to `user_id`: the account, a random nonce, a signature."""
    nonce = secrets.token_urlsafe(12)
    return f"{user_id}.{nonce}.{_signature(key, user_id, nonce)}"


def device_of(key: str, cookie: str | None, user_id: int | None) -> str | None:
    """The browser's nonce if `cookie` is a genuine device cookie for `user_id`; else None."""
    if not cookie or user_id is None:
        return None
    made_for, _, rest = cookie.partition(".")
    nonce, _, signature = rest.partition(".")
    if made_for != str(user_id) or not nonce:
        return None
    return nonce if hmac.compare_digest(signature, _signature(key, user_id, nonce)) else None


def login_limits(account: str, address: str, device: str | None) -> list[tuple[str, str]]:
    """The (limit, key) pairs a try at `account` (an account id, or the name typed if none) counts under."""
    if device:
        return [("failed_login", f"{account}:device:{device}")]
    return [("login", address), ("failed_login", f"{account}:{address}"), ("account_failed_login", account)]
