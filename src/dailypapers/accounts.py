"""Accounts: checking what people choose, hashing passwords (argon2id), making secret tokens.

A login that names no account still verifies a password against a fixed dummy hash, so the answer
takes as long as for a real account with a wrong password: timing does not tell which accounts exist.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .digest.preferences import InvalidSubscription, check_email

USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{1,30}[a-z0-9])$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


class InvalidAccount(ValueError):
    pass


def check_username(value: str) -> str:
    name = (value or "").strip().lower()
    if not USERNAME.match(name):
        raise InvalidAccount("a username is 3 to 32 letters, digits, - or _, starting and ending with a letter or digit")
    return name


def check_password(value: str, username: str = "") -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise InvalidAccount(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    if username and username.lower() in value.lower():
        raise InvalidAccount("the password must not contain the username")
    return value


def check_account_email(value: str) -> str:
    try:
        return check_email(value)
    except InvalidSubscription as exc:
        raise InvalidAccount(str(exc)) from None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (no such account) it still does the work, and says no."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def new_secret() -> tuple[str, str]:
    """A random token for a cookie or an API client, and the SHA-256 the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, secret_hash(token)


def secret_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
