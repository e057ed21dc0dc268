"""Log-in limits: counted before the password is checked, shared by every worker, and no lock-out of an
account's owner (web/login_limits.py)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import PATIENCE, LiveServer, ServeProcess, run_cli

PASSWORD = "correct horse battery"
WRONG = "not the password"


def _create(db, name: str) -> None:
    made = run_cli("--db", str(db), "users", "create", name, "--email", f"{name}@example.org", "--password-stdin",
                   input_text=PASSWORD + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr


def _guess(url: str, name: str, password: str = WRONG, address: str | None = None, cookies=None) -> int:
    headers = {"Origin": url, **({"X-Forwarded-For": address} if address else {})}
    with httpx.Client(base_url=url, headers=headers, cookies=cookies, timeout=PATIENCE) as client:
        return client.post("/login", data={"username": name, "password": password}).status_code


@pytest.mark.slow
def test_concurrent_guesses_against_two_workers_evaluate_at_most_the_limits(demo_copy):
    """80 guesses at once from one address get exactly failed_logins (10) evaluations; 120 from 120
    addresses get exactly account_failed_logins_per_day (100). The others are refused (429) unevaluated."""
    _create(demo_copy, "target")
    _create(demo_copy, "spread")
    with ServeProcess("--db", str(demo_copy), "serve", "--workers", "2", "--forwarded-allow-ips", "127.0.0.1") as site:
        with ThreadPoolExecutor(80) as pool:
            one_address = Counter(pool.map(lambda _: _guess(site.url, "target", address="203.0.113.7"), range(80)))
            many = Counter(pool.map(lambda i: _guess(site.url, "spread", address=f"198.51.{i // 250}.{i % 250 + 1}"), range(120)))
        assert one_address == {401: 10, 429: 70}  # 401: the password was checked and was wrong
        assert many == {401: 100, 429: 20}
        # The account's owner, from an address of their own, is not locked out by the first attack.
        assert _guess(site.url, "target", PASSWORD, address="192.0.2.55") == 303


def test_an_attacker_cannot_lock_the_owner_out(demo_copy):
    _create(demo_copy, "owner")
    _create(demo_copy, "mallory")
    settings = {"failed_logins": 3, "account_failed_logins_per_day": 6, "logins_per_hour": 1000, "forwarded_allow_ips": "127.0.0.1"}
    with LiveServer(demo_copy, **settings) as site:
        owner = httpx.Client(base_url=site.url, headers={"Origin": site.url, "X-Forwarded-For": "192.0.2.10"})
        assert owner.post("/login", data={"username": "owner", "password": PASSWORD}).status_code == 303
        device = owner.cookies["dp_device"]
        mallory = httpx.Client(base_url=site.url, headers={"Origin": site.url, "X-Forwarded-For": "203.0.113.9"})
        assert mallory.post("/login", data={"username": "mallory", "password": PASSWORD}).status_code == 303

        # From one address: three failures, then that address waits, even with the right password.
        assert [_guess(site.url, "owner", address="203.0.113.9") for _ in range(4)] == [401, 401, 401, 429]
        assert _guess(site.url, "owner", PASSWORD, address="203.0.113.9") == 429
        # A new browser elsewhere still logs in: the limit was that address's, not the account's.
        assert _guess(site.url, "owner", PASSWORD, address="192.0.2.99") == 303
        # From many addresses: the account's ceiling (6 failures a day) stops everyone new to it...
        assert [_guess(site.url, "owner", address=f"198.51.100.{i}") for i in range(1, 6)] == [401, 401, 401, 429, 429]
        assert _guess(site.url, "owner", PASSWORD, address="192.0.2.77") == 429
        # ...but not the browser the owner logged in from before, wherever it is now (even at the attacker's address).
        for address in ("192.0.2.10", "203.0.113.9"):
            assert _guess(site.url, "owner", PASSWORD, address=address, cookies={"dp_device": device}) == 303
        # The cookie is the owner's browser's alone: forged, or another account's, it exempts no one.
        forged = device.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
        assert _guess(site.url, "owner", PASSWORD, address="192.0.2.78", cookies={"dp_device": forged}) == 429
        assert _guess(site.url, "owner", PASSWORD, address="192.0.2.79", cookies=dict(mallory.cookies)) == 429
        # A remembered browser's own failures are limited too (failed_logins an hour), and only its own.
        remembered = [_guess(site.url, "owner", cookies={"dp_device": device}) for _ in range(4)]
        assert remembered == [401, 401, 401, 429]


def test_a_successful_log_in_is_not_a_failure(demo_copy):
    _create(demo_copy, "forgetful")
    with LiveServer(demo_copy, failed_logins=3, logins_per_hour=1000) as site:
        for _ in range(4):  # two typos, then the password: a log-in clears that address's failures
            assert [_guess(site.url, "forgetful") for _ in range(2)] == [401, 401]
            assert _guess(site.url, "forgetful", PASSWORD) == 303
        assert [_guess(site.url, "forgetful") for _ in range(4)] == [401, 401, 401, 429]
