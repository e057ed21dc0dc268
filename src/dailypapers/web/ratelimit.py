"""A sliding-window rate limit kept in memory, per worker process: `hit(key)` counts a request and says
how long to wait if there were already `limit` in the last `window_s` seconds.

In memory is enough for what it guards here (a flood from one address); with several workers each
counts its own share. Behind a reverse proxy, run uvicorn with --proxy-headers so the client's address
is the one counted.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

from fastapi import HTTPException, Request

MAX_KEYS = 100_000  # the least recently seen are forgotten beyond this


class RateLimiter:
    def __init__(self, limit: int, window_s: float, clock=time.monotonic):
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, count: bool = True) -> float | None:
        """None if allowed (and counted, unless `count` is false); else the seconds until the next
        request would be allowed."""
        if self.limit <= 0:
            return None
        now = self.clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            self._hits[key] = hits  # most recently seen last
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window_s - now
            if count:
                hits.append(now)
            while len(self._hits) > MAX_KEYS:
                self._hits.popitem(last=False)
        return None


def site_limits(config) -> dict[str, RateLimiter]:
    """Every rate limit of the site, by name (the settings say how many)."""
    return {
        "subscribe": RateLimiter(config.subscribe_per_hour, 3600),
        "signup": RateLimiter(config.signups_per_hour, 3600),
        "login": RateLimiter(config.logins_per_hour, 3600),
        "failed_login": RateLimiter(config.failed_logins, 3600),
        "vote": RateLimiter(config.votes_per_minute, 60),
        "reset": RateLimiter(config.resets_per_hour, 3600),
        "submit": RateLimiter(config.submissions_per_hour, 3600),
        "comment": RateLimiter(config.comments_per_hour, 3600),
    }


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit(request: Request, name: str, key: str, count: bool = True) -> None:
    """429 (with Retry-After) if the site's `name` limit is reached for `key`; else the request counts."""
    wait = request.app.state.limits[name].hit(key, count)
    if wait is not None:
        raise HTTPException(429, f"too many attempts: try again in {max(1, round(wait / 60))} minutes",
                            headers={"Retry-After": str(max(1, round(wait)))})  # fmt: skip
