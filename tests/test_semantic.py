"""Semantic and hybrid search on the demo, whose bundled embeddings `dailypapers demo` loads, and the
`embed` command, with the site's encoder (the int8 model shipped in the package)."""

import json
import os
import re
import threading

import httpx
import pytest
from conftest import PATIENCE, LiveServer, rows_if_ready, run_cli, sql_rows

from dailypapers.search import Search
from dailypapers.search.embed import embed_pending
from dailypapers.search.encoder import load_encoder
from dailypapers.store import Store


SLOW_MACHINE = 600  # seconds a query may take to embed here: the tests compare modes, never speed


@pytest.fixture(scope="module")
def encoder():
    return load_encoder()


@pytest.fixture(scope="module")
def demo_search(demo_db, encoder):
    store = Store(demo_db)
    yield Search(store, encoder=encoder, query_budget=SLOW_MACHINE)
    store.close()


def test_the_demo_is_embedded_and_indexed(demo_search):
    assert len(demo_search.vectors) == demo_search.store.count_papers() > 3000


def test_semantic_search_finds_papers_by_meaning_not_words(demo_search):
    text = "teaching robots to pick up objects with their hands"
    lexical = demo_search.find(text, mode="lexical", limit=10)
    semantic = demo_search.find(text, mode="semantic", limit=10)
    assert semantic.mode == "semantic" and semantic.note is None
    topical = ("grasp", "manipulat", "robot", "dexter", "hand")
    assert sum(any(t in p["title"].lower() for t in topical) for p in semantic.papers) >= 7
    assert all(0 < semantic.why[p["pk"]]["semantic_score"] <= 1 for p in semantic.papers)
    scores = [semantic.why[p["pk"]]["semantic_score"] for p in semantic.papers]
    assert scores == sorted(scores, reverse=True)
    assert [p["pk"] for p in semantic.papers] != [p["pk"] for p in lexical.papers]


def test_hybrid_fuses_both_rankings_and_pins_an_exact_title(demo_search):
    paper = demo_search.store.papers_by_pk([100])[0]
    found = demo_search.find(paper["title"], mode="hybrid", limit=10)
    assert found.mode == "hybrid" and found.papers[0]["pk"] == 100
    assert any("lexical_rank" in why and "semantic_score" in why for why in found.why.values())
    semantic_only = demo_search.find("a model that writes programs from descriptions", mode="hybrid", limit=20)
    assert any("semantic_score" in why and "lexical_rank" not in why for why in semantic_only.why.values())


def test_semantic_results_honour_the_search_syntax(demo_search):
    found = demo_search.find("video generation from:2026-06 -diffusion", mode="semantic", limit=20)
    assert found.mode == "semantic" and len(found.papers) == 20
    for paper in found.papers:
        assert paper["published_at"] >= "2026-06-01"
        assert "diffusion" not in words(paper)
    unconditioned = demo_search.find("video generation", mode="semantic", limit=20)
    assert any("diffusion" in words(p) for p in unconditioned.papers)


def words(paper: dict) -> set[str]:
    return set(re.findall(r"\w+", f"{paper['title']} {paper.get('abstract') or ''}".lower()))


class HeldEncoder:
    """The real encoder, except that embedding `held` waits until the test releases it: a model slower
    than the query budget, without depending on how fast this machine is."""

    def __init__(self, encoder, held: str):
        self._encoder, self._held, self.release = encoder, held, threading.Event()

    def __getattr__(self, name: str):
        return getattr(self._encoder, name)

    def encode(self, texts: list[str]):
        if self._held in texts:
            self.release.wait(PATIENCE)
        return self._encoder.encode(texts)


def test_without_the_model_or_in_time_results_are_lexical_and_say_why(demo_db, encoder):
    store = Store(demo_db)
    found = Search(store, encoder=None).find("robot grasping", mode="hybrid")
    assert found.mode == "lexical" and "unavailable" in found.note and found.papers
    slow = HeldEncoder(encoder, "a query never embedded before 1234")
    try:
        found = Search(store, encoder=slow, query_budget=0.5).find("a query never embedded before 1234", mode="semantic")
    finally:
        slow.release.set()
    assert found.mode == "lexical" and "took over 0.5 s" in found.note and found.papers
    store.close()


def test_related_papers_are_nearest_embeddings(demo_search):
    paper = demo_search.store.papers_by_pk([200])[0]
    related = demo_search.similar(paper, limit=8)
    assert len(related) == 8 and paper["pk"] not in [p["pk"] for p in related]
    vector = demo_search.vectors.vector_of(200)
    nearest = [pk for pk, _ in demo_search.vectors.search(vector, 8, exclude=200)]
    assert [p["pk"] for p in related] == nearest


def test_the_first_search_after_a_start_is_hybrid(demo_copy):
    """The server loads and warms up the model as it starts; a search that comes at once waits for it
    rather than quietly answering by words alone."""
    with LiveServer(demo_copy) as site:
        answer = httpx.get(f"{site.url}/api/papers/search", params={"q": "robot hand grasping", "limit": 5}, timeout=PATIENCE)
        assert answer.status_code == 200 and answer.headers["X-Search-Mode"] == "hybrid" and len(answer.json()) == 5


def test_api_mode_and_headers(live_demo):
    hybrid = httpx.get(f"{live_demo.url}/api/papers/search", params={"q": "robot hand grasping", "limit": 5})
    assert hybrid.status_code == 200 and hybrid.headers["X-Search-Mode"] == "hybrid" and len(hybrid.json()) == 5
    lexical = httpx.get(f"{live_demo.url}/api/papers/search", params={"q": "robot hand grasping", "mode": "lexical"})
    assert lexical.headers["X-Search-Mode"] == "lexical" and "X-Search-Note" not in lexical.headers
    by_date = httpx.get(f"{live_demo.url}/api/papers/search", params={"q": "robot", "sort": "date"})
    assert by_date.headers["X-Search-Mode"] == "lexical" and "sorted by date" in by_date.headers["X-Search-Note"]
    bad = httpx.get(f"{live_demo.url}/api/papers/search", params={"q": "robot", "mode": "vibes"})
    assert bad.status_code == 422
    page = httpx.get(f"{live_demo.url}/search", params={"q": "robot hand grasping", "mode": "semantic"})
    assert page.status_code == 200 and "meaning 0." in page.text and 'value="semantic" selected' in page.text


def test_embed_only_embeds_changed_text(demo_copy, encoder):
    result = run_cli("--db", str(demo_copy), "embed")
    assert result.returncode == 0 and "0 papers embedded" in result.stderr, result.stderr
    store = Store(demo_copy)
    paper = store.papers_by_pk([5])[0]
    from dailypapers.records import PaperRecord

    store.apply([PaperRecord(id=paper["id"], source="hf", observed="2099-01-01", title=paper["title"], upvotes=999)])
    store.apply([PaperRecord(id=paper["id"], source="arxiv", observed="2099-01-01", title=paper["title"],
                             abstract="An entirely new abstract about protein folding.")])  # fmt: skip
    store.close()
    result = run_cli("--db", str(demo_copy), "embed")
    assert result.returncode == 0 and "1 papers embedded" in result.stderr, result.stderr
    search = Search(Store(demo_copy), encoder=encoder, query_budget=SLOW_MACHINE)
    found = search.find("protein folding", mode="semantic", limit=3)
    assert paper["id"] in [p["id"] for p in found.papers]


def test_a_refresh_with_nothing_new_leaves_the_vector_index_memory_mapped(demo_copy, encoder):
    """A vote or a comment catches the indexes up; reading a million vectors into memory for that
    would add ~0.5 GB to the server. Only new vectors make the index writable (read whole)."""
    store = Store(demo_copy)
    search = Search(store, encoder=encoder, query_budget=SLOW_MACHINE)
    count = len(search.vectors)
    assert count > 0 and not search.vectors._writable  # searching maps the saved file
    assert search.refresh() == 0 and not search.vectors._writable and len(search.vectors) == count
    paper = store.papers_by_pk([7])[0]
    from dailypapers.records import PaperRecord

    store.apply([PaperRecord(id=paper["id"], source="arxiv", observed="2099-01-01", title=paper["title"],
                             abstract="An entirely new abstract about glacier melt.")])  # fmt: skip
    embed_pending(store, encoder)
    search.refresh()
    assert search.vectors._writable and len(search.vectors) == count
    assert paper["id"] in [p["id"] for p in search.find("glacier melt", mode="semantic", limit=3).papers]
    store.close()


def test_eval_scores_every_mode_on_a_small_beir_folder(tmp_path, scifact_dir):
    scifact = scifact_dir
    queries = [json.loads(line) for line in (scifact / "queries.jsonl").read_text().splitlines()]
    qrels = [line.split("\t") for line in (scifact / "qrels" / "test.tsv").read_text().splitlines()[1:21]]
    wanted = {doc for _, doc, _ in qrels}
    corpus = [line for n, line in enumerate((scifact / "corpus.jsonl").read_text().splitlines())
              if n < 60 or json.loads(line)["_id"] in wanted]  # fmt: skip
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text("\n".join(corpus) + "\n")
    (tmp_path / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries if q["_id"] in {q for q, _, _ in qrels}))
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join("\t".join(r) for r in qrels))
    result = run_cli("eval", str(tmp_path), "--json", "--cache", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures) == {"lexical", "semantic", "hybrid", "reference_bm25"}
    for mode in figures.values():
        assert all(0 < v <= 1 for v in mode.values())
    assert list((tmp_path / "cache").glob("vectors-*.npy")), "corpus vectors are cached for the next run"


def test_ingest_can_embed_as_it_goes(tmp_path, new_db):
    from conftest import FIXTURES

    day = sorted((FIXTURES / "hf-api").glob("*.json"))[0]
    db = new_db("x")
    result = run_cli("--db", str(db), "ingest", "--embed", "hf-daily", str(day))
    assert result.returncode == 0, result.stderr
    store = Store(db)
    papers = store.count_papers()
    assert papers > 0 and f"{papers:,} papers embedded" in result.stderr
    found = Search(store, encoder=load_encoder(), query_budget=SLOW_MACHINE).find("language models", mode="semantic", limit=3)
    assert found.mode == "semantic" and len(found.papers) == min(3, papers)


def test_embed_killed_mid_way_resumes_and_ends_like_an_uninterrupted_run(tmp_path, new_db):
    import gzip
    import signal
    import subprocess
    import time
    from importlib import resources

    from conftest import dailypapers_cmd

    sample = tmp_path / "sample.jsonl"
    with gzip.open(resources.files("dailypapers.data") / "demo_sample.jsonl.gz", "rt") as fh:
        sample.write_text("".join(line for _, line in zip(range(120), fh)))
    killed, reference = new_db("killed"), new_db("reference")
    for db in (killed, reference):
        assert run_cli("--db", str(db), "ingest", "hf-daily", str(sample)).returncode == 0
    assert run_cli("--db", str(reference), "embed").returncode == 0

    process = subprocess.Popen([*dailypapers_cmd(), "--db", str(killed), "embed", "--batch", "10"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline, saved = time.monotonic() + PATIENCE, 0
    while time.monotonic() < deadline and process.poll() is None and not saved:
        saved = (rows_if_ready(killed, "SELECT count(*) FROM embeddings") or [(0,)])[0][0]
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert 0 < saved < 120, "the embed finished or stalled before it could be killed mid-way"

    result = run_cli("--db", str(killed), "embed")
    assert result.returncode == 0, result.stderr

    def vectors(db):
        return sql_rows(db, "SELECT p.id, e.model, e.text_hash, e.vector FROM embeddings e JOIN papers p ON p.pk = e.paper_pk ORDER BY p.id")

    assert vectors(killed) == vectors(reference)
    assert len(vectors(killed)) == Store(killed).count_papers()


def _caught_up(search: Search, timeout: float = PATIENCE) -> None:
    import time

    search.catch_up_soon()
    deadline = time.monotonic() + timeout
    while search._catch_up_running and time.monotonic() < deadline:
        time.sleep(0.05)


def test_changes_made_on_the_site_are_embedded_but_a_backlog_is_left_to_embed(demo_copy, encoder, monkeypatch):
    import dailypapers.search as search_module
    from dailypapers.records import PaperRecord

    store = Store(demo_copy)
    search = Search(store, encoder=encoder, query_budget=SLOW_MACHINE)
    paper = store.papers_by_pk([7])[0]
    new_text = "Deep-sea hydrothermal vent microbes and their chemosynthetic metabolism."
    monkeypatch.setattr(search_module, "CATCH_UP_EMBED", 0)  # as if thousands were waiting
    store.apply([PaperRecord(id=paper["id"], source="arxiv", observed="2099-01-01", title=paper["title"], abstract=new_text)])
    _caught_up(search)
    assert paper["id"] in [p["id"] for p in search.find("hydrothermal vent microbes", mode="lexical").papers]
    assert paper["id"] not in [p["id"] for p in search.find("chemosynthesis at the bottom of the ocean", mode="semantic").papers]
    monkeypatch.setattr(search_module, "CATCH_UP_EMBED", 200)
    _caught_up(search)
    assert paper["id"] in [p["id"] for p in search.find("chemosynthesis at the bottom of the ocean", mode="semantic").papers]
    store.close()
