"""Index folders have one writer at a time: serve's catch-up and a sync round's refresh run in one process."""

import threading

from dailypapers.search.folder import DerivedFolder, unique_temporary


def test_a_second_writer_waits_for_the_first(tmp_path):
    first, second = DerivedFolder(), DerivedFolder()  # two Search objects' indexes on one folder
    first.claim(tmp_path, "db", "owner")
    second.claim(tmp_path, "db", "owner")
    order, holding = [], threading.Event()

    def write_second():
        holding.wait()
        with second.writing():
            order.append("second")

    thread = threading.Thread(target=write_second)
    thread.start()
    with first.writing():
        holding.set()
        thread.join(0.5)  # the second cannot get in while the first holds the folder
        order.append("first done")
    thread.join()
    assert order == ["first done", "second"]


def test_writers_never_share_a_temporary_file(tmp_path):
    names, alive = set(), threading.Barrier(4)  # all alive at once: a thread's id is reused only after it ends

    def name():
        names.add(unique_temporary(tmp_path / "indexed_seq"))
        alive.wait()

    threads = [threading.Thread(target=name) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names.add(unique_temporary(tmp_path / "indexed_seq"))
    assert len(names) == 5 and all(n.parent == tmp_path and n.name.endswith(".tmp") for n in names)
