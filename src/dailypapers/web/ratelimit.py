"""The site's rate limits, counted in the database (store/limits.py): every worker process, and every host
sharing the database, counts the same requests, so a limit means the same with one worker or ten.

`limit(request, name, *keys)` counts a request under a limit of LIMITS or answers 429 with Retry-After.
A request is counted before the work it guards starts; log-in's scheme is in web/login_limits.py.
Behind a reverse proxy, name it in forwarded_allow_ips so that the client's address is the one counted.
"""

from __future__ import annotations

import itertools

from fastapi import HTTPException, Request

from ..store import Slot

HOUR, DAY = 3600.0, 86400.0
# name: (the setting that says how many, the window in seconds)
LIMITS = {
    "subscribe": ("subscribe_per_hour", HOUR),
    "signup": ("signups_per_hour", HOUR),
    "login": ("logins_per_hour", HOUR),
    "failed_login": ("failed_logins", HOUR),
    "account_failed_login": ("account_failed_logins_per_day", DAY),
    "vote": ("votes_per_minute", 60.0),
    "reset": ("resets_per_hour", HOUR),
    "submit": ("submissions_per_hour", HOUR),
    "comment": ("comments_per_hour", HOUR),
}
PURGE_EVERY = 1000  # counted requests between deletions of rows no window looks at any more
_counted = itertools.count(1)


class TooMany(Exception):
    def __init__(self, wait_s: float):
        super().__init__(f"too many attempts: try again in {max(1, round(wait_s / 60))} minutes")
        self.wait_s = wait_s


def slot(config, name: str, key: str) -> Slot:
    setting, window_s = LIMITS[name]
    return Slot(f"{name}:{key}", int(getattr(config, setting)), window_s)


def take(store, config, *limits: tuple[str, str]) -> list[int | None]:
    """Count one request under each (limit name, key), all or none; TooMany if any is full. The ids
    returned, one per pair, give the slots back (`store.release_rate_slots`) for work that turns out not
    to count."""
    ids, wait = store.take_rate_slots([slot(config, name, key) for name, key in limits])
    if wait:
        raise TooMany(wait)
    if next(_counted) % PURGE_EVERY == 0:
        store.purge_rate_hits()
    return ids


def too_many(exc: TooMany) -> HTTPException:
    return HTTPException(429, str(exc), headers={"Retry-After": str(max(1, round(exc.wait_s)))})


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit(request: Request, name: str, *keys: str) -> None:
    """429 (with Retry-After) if the site's `name` limit is reached for any of `keys`; else the request
    counts for each of them."""
    try:
        take(request.app.state.store, request.app.state.config, *((name, key) for key in keys))
    except TooMany as exc:
        raise too_many(exc) from None
