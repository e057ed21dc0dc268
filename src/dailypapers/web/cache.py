"""An in-process cache of rendered answers, emptied whenever the catalog changes.

Feeds and paper pages are read far more often than the catalog changes, so each worker keeps the
last answers it rendered. The catalog's generation number (`Store.generation`) is read at most once
per `check_every` seconds, so a change shows within that time.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

GZIP_MIN_BYTES = 1024


class Body:
    """A rendered answer, with its gzip form made once, on first demand, and then kept with it."""

    __slots__ = ("_gzipped", "raw")

    def __init__(self, content: str | bytes):
        self.raw = content.encode() if isinstance(content, str) else content
        self._gzipped: bytes | None = None

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.raw, compresslevel=6, mtime=0)
        return self._gzipped


def respond(request: Request, body: Body, media_type: str, status: int = 200, headers: dict | None = None) -> Response:
    """`body` as a response, gzipped when the client accepts it and it is worth it."""
    headers = {**(headers or {}), "Vary": "Accept-Encoding"}
    if len(body.raw) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(body.gzipped(), status, headers, media_type)
    return Response(body.raw, status, headers, media_type)


class _Rendering:
    """One render of a key under way: the requests for that key wait on its lock, and share its failure."""

    def __init__(self):
        self.lock = threading.Lock()
        self.failed: Exception | None = None


class RenderCache:
    def __init__(self, generation: Callable[[], int], size: int = 512, check_every: float = 1.0):
        self.generation = generation
        self.size = size
        self.check_every = check_every
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._rendering: dict = {}  # key -> the _Rendering under way
        self._generation = None
        self._checked = float("-inf")

    def _current_generation(self):
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            generation = self.generation()
            if generation != self._generation:
                with self._lock:
                    self._entries.clear()
                self._generation = generation
        return self._generation

    def changed(self) -> None:
        """This process changed the catalog: look at the generation on the next request, not within
        `check_every` (other worker processes notice within `check_every`)."""
        self._checked = float("-inf")

    def peek(self, key: Hashable) -> tuple[bool, object]:
        """(True, value) if `key` is cached, else (False, None); renders nothing."""
        if self.size <= 0:
            return False, None
        key = (self._current_generation(), key)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return True, self._entries[key]
        return False, None

    def get(self, key: Hashable, render: Callable[[], object]):
        """The cached value, or `render()`'s, cached. Concurrent misses of one key render it once: the
        others wait for that render (a burst of requests right after the catalog changed costs one)."""
        if self.size <= 0:
            return render()
        key = (self._current_generation(), key)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            rendering = self._rendering.get(key) or self._rendering.setdefault(key, _Rendering())
        with rendering.lock:
            if rendering.failed:  # e.g. the database is away: fail with it rather than each try in turn
                raise rendering.failed
            with self._lock:
                if key in self._entries:
                    return self._entries[key]
            try:
                value = render()
            except Exception as exc:
                rendering.failed = exc
                raise
            finally:
                with self._lock:
                    self._rendering.pop(key, None)
            with self._lock:
                self._entries[key] = value
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return value


async def cached(cache: RenderCache, key: Hashable, render: Callable[[], object]):
    """`cache.get(key, render)` for async routes: a hit is answered on the event loop, a miss is
    rendered (database queries, templates) in the thread pool."""
    hit, value = cache.peek(key)
    if hit:
        return value
    return await run_in_threadpool(cache.get, key, render)
