"""`dailypapers ingest hf-daily FILES` and `ingest arxiv-snapshot FILE` on real data."""

import gzip
import json
import signal
import subprocess
import time

import pytest
from conftest import BACKEND, FIXTURES, PATIENCE, catalog_dump, ctrl_c_reaches_it, dailypapers_cmd, rows_if_ready, run_cli, sql_rows

from dailypapers.store import Store

HF_FIXTURES = FIXTURES / "hf-api"
SNAPSHOT_HEAD = FIXTURES / "arxiv-snapshot" / "arxivSpider_mnbvc__arxiv-metadata-oai-snapshot_first200.json"


def first_lines(source, target, count):
    with gzip.open(source, "rt") as fh, open(target, "w") as out:
        for _, line in zip(range(count), fh):
            out.write(line)
    return target


def test_saved_daily_responses_take_their_day_from_the_file_name(tmp_path, new_db):
    db = new_db("hf")
    files = sorted(HF_FIXTURES.glob("*daily_papers_date-*.json"))
    result = run_cli("--db", str(db), "ingest", "hf-daily", *map(str, files))
    assert result.returncode == 0, result.stderr
    store = Store(db)
    for path in files:
        items = json.loads(path.read_text())
        day = path.stem.rsplit("date-", 1)[1]
        papers, total = store.feed(*(2 * [__import__("datetime").date.fromisoformat(day)]), limit=100)
        assert total == len({i["paper"]["id"] for i in items})
        top = max(items, key=lambda i: i["paper"]["upvotes"])
        assert papers[0]["id"] == top["paper"]["id"] and papers[0]["upvotes"] == top["paper"]["upvotes"]
    # The 2024 file is in the old minimal schema, the 2026 one has organizations and AI summaries.
    newest = json.loads(files[-1].read_text())
    with_org = next(i for i in newest if i.get("organization"))
    paper = store.paper(with_org["paper"]["id"])
    assert paper["organization"]["fullname"] == with_org["organization"]["fullname"]
    assert paper["ai_keywords"] == with_org["paper"]["ai_keywords"]
    assert paper["submitted_by"]["user"] == with_org["submittedBy"]["name"]


def test_search_results_are_catalogued_but_not_featured(tmp_path, new_db):
    db = new_db("search")
    result = run_cli("--db", str(db), "ingest", "hf-daily", str(HF_FIXTURES / "hf-mcp-server__papers_search_q-kazakh.json"))
    assert result.returncode == 0, result.stderr
    store = Store(db)
    assert store.count_papers() == 9 and store.latest_day() is None


def test_kaggle_snapshot_lines(tmp_path, new_db):
    db = new_db("snap")
    result = run_cli("--db", str(db), "ingest", "arxiv-snapshot", str(SNAPSHOT_HEAD))
    assert result.returncode == 0, result.stderr
    store = Store(db)
    assert store.count_papers() == 200
    raw = [json.loads(line) for line in SNAPSHOT_HEAD.read_text().splitlines()]
    first = store.paper("0704.0001")
    assert first["title"] == " ".join(raw[0]["title"].split())
    assert [a["name"] for a in first["authors"]][:2] == [" ".join(p for p in (a[1], a[0]) if p) for a in raw[0]["authors_parsed"][:2]]
    assert first["categories"] == raw[0]["categories"].split()
    assert [v["version"] for v in first["versions"]] == [v["version"] for v in raw[0]["versions"]]
    assert first["published_at"].startswith("2007-04-02") and first["doi"] == raw[0]["doi"]
    # TeX accents in author names are decoded
    names = [a["name"] for p in raw for a in store.paper(p["id"])["authors"]]
    assert not any("\\" in name for name in names)


def test_malformed_records_are_skipped_counted_and_explained(tmp_path, new_db):
    good = json.loads(SNAPSHOT_HEAD.read_text().splitlines()[0])
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "not-an-id"}),
        json.dumps({**good, "id": "0704.0002", "title": "   "}),
        json.dumps([1, 2, 3]),
        "",
        json.dumps({**good, "id": "0704.0003", "versions": [], "update_date": None}),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    db = new_db("bad")
    result = run_cli("--db", str(db), "ingest", "arxiv-snapshot", str(path))
    assert result.returncode == 0, result.stderr
    assert "1 new" in result.stderr and "6 skipped" in result.stderr
    for reason in ("invalid JSON", "not an arXiv id", "no title", "expected an object", "empty line", "no date"):
        assert f"skipped 1: {reason}" in result.stderr  # counted by kind, with an example each
    assert Store(db).count_papers() == 1


def test_hf_json_lines_and_arxiv_merge_and_rerun_is_identical(tmp_path, new_db, hf_api_file, hf_scrape_file, arxiv_cs_file):
    hf = hf_api_file  # whole: it has repeated author names and organizations seen with and without avatars
    scrape = first_lines(hf_scrape_file, tmp_path / "scrape.jsonl", 3000)
    arxiv = first_lines(arxiv_cs_file, tmp_path / "arxiv.jsonl", 20000)
    db = new_db("all")
    commands = [("hf-daily", hf), ("hf-daily", scrape), ("arxiv-snapshot", arxiv)]
    for command, path in commands:
        assert run_cli("--db", str(db), "ingest", command, str(path)).returncode == 0
    before = catalog_dump(db)
    for command, path in commands:
        result = run_cli("--db", str(db), "ingest", command, str(path))
        assert result.returncode == 0 and " 0 new, 0 updated" in result.stderr
    assert catalog_dump(db) == before
    both = [p for p in before["papers"] if p["bib_rank"] == 3 and p["daily_observed"]]
    assert both, "the samples overlap"
    for paper in both:  # arXiv supplied categories, HF supplied the daily fields; neither was dropped
        assert paper["categories"] and paper["upvotes"] >= 0 and paper["daily_observed"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupt_then_rerun_ends_like_an_uninterrupted_run(tmp_path, new_db, sig, arxiv_cs_file):
    arxiv = first_lines(arxiv_cs_file, tmp_path / "arxiv.jsonl", 30000)
    reference = new_db("reference")
    assert run_cli("--db", str(reference), "ingest", "arxiv-snapshot", str(arxiv)).returncode == 0

    db = new_db("killed")
    process = subprocess.Popen([*dailypapers_cmd(), "--db", str(db), "ingest", "arxiv-snapshot", str(arxiv)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=ctrl_c_reaches_it)  # fmt: skip
    deadline = time.monotonic() + PATIENCE
    position = 0
    while time.monotonic() < deadline and process.poll() is None:
        rows = rows_if_ready(db, "SELECT state FROM checkpoints")
        state = rows and (json.loads(rows[0][0]) if isinstance(rows[0][0], str) else rows[0][0])
        if state and state["position"] >= 5000:
            position = state["position"]
            break
        time.sleep(0.05)
    import os

    os.killpg(process.pid, sig)  # the whole process group, as a terminal's Ctrl-C does
    returncode = process.wait()
    if not position:
        pytest.fail(f"the ingest finished or stalled before it could be killed mid-way (exit status {returncode})")
    assert returncode == (-9 if sig == signal.SIGKILL else 130), process.stderr.read().decode()[-3000:]
    result = run_cli("--db", str(db), "ingest", "arxiv-snapshot", str(arxiv))
    assert result.returncode == 0, result.stderr
    assert "Resuming" in result.stderr
    if sig == signal.SIGINT:
        assert "Interrupted" in process.stderr.read().decode()
    assert catalog_dump(db) == catalog_dump(reference)
    assert sql_rows(db, "SELECT count(*) FROM checkpoints") == [(0,)]
    if BACKEND == "sqlite":
        assert sql_rows(db, "PRAGMA integrity_check") == [("ok",)]


@pytest.mark.parametrize("ending", [b"\n", b""], ids=["newline at the end", "none"])
def test_line_chunks_hold_every_line_once_in_order(tmp_path, monkeypatch, ending):
    """A large file reaches the workers as blocks of whole lines; however blocks and lines fall, the
    chunks hold exactly the file's lines, counted as line iteration counts them, empty ones included,
    and a resumed read starts at the line it names."""
    from dailypapers.ingest import files

    monkeypatch.setattr(files, "CHUNK_BYTES", 64)
    lines = [json.dumps({"n": n, "pad": "x" * (n * 37 % 150)}).encode() for n in range(300)]
    lines[7] = lines[8] = b""  # empty lines are lines (skipped later, as "empty line")
    lines[50] = json.dumps({"long": "y" * 1000}).encode()  # longer than a block
    path = tmp_path / "lines.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\n".join(lines) + ending)
    for start in (0, 1, 51, 299):
        chunks = list(files._read_line_chunks(path, json.loads, start, "line"))
        assert len(chunks) > 10 or start == 299
        assert all(c.data and c.count for c in chunks)
        assert [c.first for c in chunks] == [start] + [c.end for c in chunks[:-1]]
        got = b"".join(c.data for c in chunks)
        assert got == b"\n".join(lines[start:]) + ending
        assert chunks[-1].end == len(lines)
        parsed = [rec for c in chunks for rec in c.data.split(b"\n")[: c.count]]
        assert parsed == lines[start:]


def test_parallel_workers_write_exactly_what_in_process_parsing_writes(tmp_path, new_db, monkeypatch, arxiv_cs_file, hf_api_file):
    """A large file's lines come in chunks that worker processes parse and write, each worker waiting for
    its turn so that chunks commit in file order. That must end in the catalog that parsing and writing
    in one process gives, whether chunks are handled here or by workers, with duplicates within a chunk
    and across chunks, and papers both files hold."""
    from dailypapers.ingest import arxiv_snapshot, files, hf_daily
    from dailypapers.ingest.files import CHECKPOINT_EVERY, LineChunk, read_records
    from dailypapers.ingest.runner import Runner

    monkeypatch.setattr(files, "CHUNK_BYTES", 300_000)  # about 200 arXiv lines: many chunk boundaries

    arxiv = first_lines(arxiv_cs_file, tmp_path / "arxiv.jsonl", 3000)
    lines = arxiv.read_text().splitlines(keepends=True)
    revised = {**json.loads(lines[10]), "comments": "revised", "listing_date": "2026-12-01"}
    lines[20:20] = [json.dumps(revised) + "\n"]  # the same paper twice in one chunk, the second one newer
    lines[CHECKPOINT_EVERY + 5 : CHECKPOINT_EVERY + 5] = [lines[30]]  # and one again in a later chunk
    arxiv.write_text("".join(lines))
    ids = {json.loads(line)["id"] for line in lines}
    with gzip.open(hf_api_file, "rt") as fh:  # HF lines about some of those papers, and later ones with organizations
        lines = [line for n, line in enumerate(fh) if n < 300 or 5000 <= n < 5500 or json.loads(line)["paper"]["id"] in ids]
    hf = tmp_path / "hf.jsonl"
    hf.write_text("".join(lines))
    ways = {"records": (10**12, 0), "chunks here": (0, 0), "chunks in 2 workers": (0, 2)}  # chunk_min_bytes, workers
    dumps = {way: [] for way in ways}  # the catalog after each step
    for n, (way, (chunk_min_bytes, workers)) in enumerate(ways.items()):
        steps = dumps[way]
        db = new_db(f"way{n}")
        store = Store(db)
        for path, parse in ((hf, hf_daily.parse_item), (arxiv, arxiv_snapshot.parse_item), (hf, hf_daily.parse_item)):
            items = list(read_records(path, parse, chunk_min_bytes=chunk_min_bytes))
            assert any(isinstance(i, LineChunk) for i in items) == (chunk_min_bytes == 0)
            report = Runner(store, "test", str(path), show_progress=False, workers=workers).run(items, refresh_index=False)
            assert report.read == len(path.read_text().splitlines())
            steps.append(catalog_dump(db))
        store.close()
        assert dumps[way] == dumps["records"], way
    first, second, third = dumps["records"]
    assert first["featured"] and third["organizations"]
    assert any(p["comment"] == "revised" for p in second["papers"])
    assert any(p["bib_rank"] == 3 and p["daily_observed"] for p in second["papers"]), "the samples overlap"


def test_a_gzip_file_is_read_as_gzip_reads_it(tmp_path):
    """Large files are gunzipped straight through zlib: every member of a multi-member file, zero
    padding after one, a plain file as it is; a truncated or damaged file is refused by name."""
    from dailypapers.ingest.blocks import UnreadableFile, decompressed

    text = b"".join(b'{"n": %d, "pad": "%s"}\n' % (n, b"x" * (n % 300)) for n in range(5000))
    members = tmp_path / "members.gz"
    members.write_bytes(gzip.compress(text[:70000]) + b"\0" * 10 + gzip.compress(text[70000:]))
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(text)
    for path in (members, plain):
        blocks = list(decompressed(path, 4096))
        assert b"".join(blocks) == text and max(map(len, blocks)) <= 4096
    whole = gzip.compress(text)
    for name, damaged in {"truncated": whole[: len(whole) // 2], "garbage after": whole + b"not gzip", "bad data": whole[:50] + b"\xff" * 50 + whole[100:]}.items():
        path = tmp_path / f"{name}.gz"
        path.write_bytes(damaged)
        with pytest.raises(UnreadableFile, match=f"{name}.gz"):
            list(decompressed(path, 4096))


def test_a_truncated_file_is_refused_clearly_and_what_came_before_is_kept(tmp_path, new_db, arxiv_cs_file):
    data = arxiv_cs_file.read_bytes()
    for size, path in ((5_000_000, tmp_path / "big.jsonl.gz"), (1_500_000, tmp_path / "small.jsonl.gz")):  # workers / here
        path.write_bytes(data[:size])
        db = new_db(path.stem.replace(".", "_"))
        result = run_cli("--db", str(db), "ingest", "arxiv-snapshot", str(path))
        assert result.returncode == 1, result.stderr
        assert f"{path.name} is damaged or truncated" in result.stderr or f"{path.name} ends before" in result.stderr
        assert "what was committed is kept" in result.stderr and "Traceback" not in result.stderr
        assert Store(db).count_papers() > 0
