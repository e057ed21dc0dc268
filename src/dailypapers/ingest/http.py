"""A polite HTTP client for arXiv and Hugging Face: spaced requests, Retry-After, back-off."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx

from .. import __version__

USER_AGENT = f"dailypapers/{__version__} (+https://github.com/dailypapers/dailypapers)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(RuntimeError):
    pass


def retry_after_seconds(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return default


class PoliteClient:
    """Sends at most one request per `min_interval` seconds and retries what the server asks to retry.

    arXiv asks for at most one request every 3 seconds across its services, and answers 503 with
    Retry-After when a harvester goes faster.
    """

    def __init__(self, *, min_interval: float = 3.0, timeout: float = 60.0, max_retries: int = 5,
                 max_wait: float = 600.0, sleep=time.sleep, log=None):  # fmt: skip
        self.min_interval = min_interval
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.sleep = sleep
        self.log = log or (lambda message: None)
        self._last = float("-inf")
        self.requests = 0
        self.client = httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True)

    def close(self) -> None:
        self.client.close()

    def _wait_turn(self) -> None:
        wait = self._last + self.min_interval - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last = time.monotonic()

    def get(self, url: str, params: dict | None = None) -> httpx.Response:
        """GET with spacing and retries; returns the final response (the caller handles 4xx)."""
        backoff = max(self.min_interval, 1.0)
        for attempt in range(self.max_retries + 1):
            self._wait_turn()
            self.requests += 1
            try:
                response = self.client.get(url, params=params)
            except httpx.TransportError as exc:
                if attempt == self.max_retries:
                    raise FetchError(f"{url}: {exc}") from exc
                self.log(f"{url}: {exc!r}; retrying in {backoff:.0f} s")
                self.sleep(backoff)
                backoff = min(backoff * 2, self.max_wait)
                continue
            if response.status_code not in RETRY_STATUSES or attempt == self.max_retries:
                return response
            wait = min(retry_after_seconds(response.headers.get("Retry-After"), backoff), self.max_wait)
            self.log(f"{url}: HTTP {response.status_code}; retrying in {wait:.0f} s")
            self.sleep(wait)
            backoff = min(backoff * 2, self.max_wait)
        raise AssertionError("unreachable")
