"""Rate limits counted in the database: sliding windows, all-or-none, given back, shared by every process."""

import multiprocessing

from dailypapers.store import Slot, Store


def test_sliding_window_per_bucket(store):
    two_a_minute = Slot("vote:a", 2, 60)
    assert store.take_rate_slots([two_a_minute], now=0)[1] == 0
    assert store.take_rate_slots([two_a_minute], now=10)[1] == 0
    assert store.take_rate_slots([two_a_minute], now=30) == ([], 30)  # the hit at 0 leaves the window at 60
    assert store.take_rate_slots([Slot("vote:b", 2, 60)], now=30)[1] == 0  # each bucket has its own window
    assert store.take_rate_slots([two_a_minute], now=60.5)[1] == 0  # the first hit left the window
    assert store.take_rate_slots([two_a_minute], now=61) == ([], 9)  # full again until the hit at 10 leaves
    assert store.take_rate_slots([Slot("vote:a", 0, 60)] * 5, now=61)[1] == 0  # 0: no limit


def test_all_or_none_and_given_back(store):
    wide, narrow = Slot("login:1.2.3.4", 5, 3600), Slot("failed:alice", 1, 3600)
    ids, wait = store.take_rate_slots([wide, narrow], now=0)
    assert wait == 0 and len(ids) == 2 and None not in ids
    assert store.take_rate_slots([wide, narrow], now=1) == ([], 3599)
    assert store.rate_hits_in_window("login:1.2.3.4", 3600, now=1) == 1  # the refused try took nothing
    store.release_rate_slots([ids[1]])  # that try did not count as a failure after all
    assert store.take_rate_slots([wide, narrow], now=2)[1] == 0
    assert store.rate_hits_in_window("login:1.2.3.4", 3600, now=2) == 2


def test_old_rows_are_purged(store):
    for at in range(5):
        store.take_rate_slots([Slot(f"signup:{at}", 5, 3600)], now=at)
    assert store.purge_rate_hits(now=86_400 + 2.5) == 3  # no window looks back further than a day
    assert store.rate_hits_in_window("signup:4", 86_400, now=86_400 + 2.5) == 1


def _take_many(url: str, start, results, tries: int) -> None:
    store = Store(url, migrate=False)
    start.wait()
    taken = sum(1 for _ in range(tries) if store.take_rate_slots([Slot("failed_login:user:1:9.9.9.9", 10, 3600)])[1] == 0)
    results.put(taken)
    store.close()


def test_processes_share_one_count(tmp_path, new_db):
    """Four processes trying at once, 20 tries each, get exactly the limit between them."""
    url = str(new_db("limits"))
    Store(url).close()
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_take_many, args=(url, start, results, 20)) for _ in range(4)]
    for worker in workers:
        worker.start()
    start.set()
    taken = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(timeout=600)
    assert sum(taken) == 10
