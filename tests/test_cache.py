"""The render cache: emptied when the catalog changes, one render for concurrent misses."""

import threading
import time

from dailypapers.web.cache import Body, RenderCache


def test_entries_last_until_the_generation_changes():
    generation = [1]
    cache = RenderCache(lambda: generation[0], size=10, check_every=0)
    renders = []
    value = lambda: renders.append(1) or len(renders)  # noqa: E731
    assert cache.get("a", value) == 1 and cache.get("a", value) == 1
    generation[0] = 2
    assert cache.get("a", value) == 2
    assert cache.peek("a") == (True, 2) and cache.peek("b") == (False, None)


def test_least_recently_used_entries_go_first():
    cache = RenderCache(lambda: 0, size=2, check_every=0)
    cache.get("a", lambda: "A")
    cache.get("b", lambda: "B")
    cache.get("a", lambda: "A again")  # touches a
    cache.get("c", lambda: "C")
    assert cache.peek("a") == (True, "A") and cache.peek("b") == (False, None)


def test_concurrent_misses_of_one_key_render_once():
    cache = RenderCache(lambda: 0, size=10, check_every=0)
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return "page"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["page"] * 16 and len(calls) == 1


def test_a_failed_render_is_not_cached():
    cache = RenderCache(lambda: 0, size=10, check_every=0)

    def boom():
        raise LookupError("no such paper")

    for _ in range(2):
        try:
            cache.get("k", boom)
        except LookupError:
            pass
    assert cache.peek("k") == (False, None)
    assert cache.get("k", lambda: "ok") == "ok"


def test_concurrent_misses_share_a_failed_render(monkeypatch):
    """The database is away: the requests waiting for a key's render fail with it, rather than each
    waiting for the database in turn (16 requests would wait 16 timeouts)."""
    from dailypapers.web import cache as module

    class CountingLock:  # counts the threads that came to the render's lock
        def __init__(self):
            self.lock, self.arrived, self.changed = threading.Lock(), 0, threading.Condition()

        def __enter__(self):
            with self.changed:
                self.arrived += 1
                self.changed.notify_all()
            self.lock.acquire()

        def __exit__(self, *exc):
            self.lock.release()

    renders = []

    class Rendering(module._Rendering):
        def __init__(self):
            super().__init__()
            self.lock = CountingLock()
            renders.append(self)

    monkeypatch.setattr(module, "_Rendering", Rendering)
    cache = RenderCache(lambda: 0, size=10, check_every=0)
    calls = []

    def unavailable():
        calls.append(1)
        lock = renders[0].lock
        with lock.changed:  # fail only once every other request waits on this render
            lock.changed.wait_for(lambda: lock.arrived == 16)
        raise ConnectionError("the database is unavailable")

    errors = []

    def request():
        try:
            cache.get("k", unavailable)
        except ConnectionError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 16 and len(calls) == 1 and len(renders) == 1
    assert cache.get("k", lambda: "back") == "back"  # the next request renders afresh


def test_body_is_gzipped_once():
    import gzip

    body = Body("x" * 5000)
    assert body.gzipped() is body.gzipped()
    assert gzip.decompress(body.gzipped()) == body.raw
