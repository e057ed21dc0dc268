"""`dailypapers demo`: the bundled sample with its arXiv categories, the line that says what it loaded, and
every search the README and the pages suggest finds papers in it."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from html import unescape
from importlib import resources

import httpx
import pytest
from conftest import ROOT, run_cli

from dailypapers.ingest import arxiv_snapshot, hf_daily
from dailypapers.ingest.demo import ARXIV_SAMPLE, HF_SAMPLE, Loaded
from dailypapers.ingest.runner import Report
from dailypapers.store import Store

README = (ROOT / "README.md").read_text()
TEMPLATES = ROOT / "src/dailypapers/web/templates"


def bundled(name: str) -> list[dict]:
    with gzip.open(resources.files("dailypapers.data") / name, "rt") as fh:
        return [json.loads(line) for line in fh]


# -- the examples, read from where readers see them ----------------------------------------------------


def search_page_hint() -> list[str]:
    """The queries the search page suggests (templates/daily.html)."""
    hint = re.search(r'<p class="muted hint">(.*?)</p>', (TEMPLATES / "daily.html").read_text(), re.DOTALL)
    return [unescape(code) for code in re.findall(r"<code>(.*?)</code>", hint.group(1))]


def subscription_placeholder() -> list[str]:
    """The saved searches the subscription form shows as an example (templates/subscription.html)."""
    placeholder = re.search(r"name=\"searches\"[^>]*placeholder='([^']*)'", (TEMPLATES / "subscription.html").read_text())
    return unescape(placeholder.group(1)).splitlines()


def readme_syntax_table() -> list[str]:
    """Every example in the first column of the README's table of the search syntax."""
    lines = README.splitlines()
    start = lines.index("| you type | finds |")
    examples = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        examples += re.findall(r"`([^`]+)`", line.split(" | ")[0])
    return examples


def readme_subscription() -> list[str]:
    """The saved searches, authors and organizations of the README's subscription example, as searches."""
    body = json.loads(re.search(r"-d '(\{.*?\})'", README, re.DOTALL).group(1))
    return [*body["searches"], *(f'author:"{a}"' for a in body["authors"]), *(f"org:{o}" for o in body["organizations"])]


EXAMPLES = {"search page hint": search_page_hint, "subscription form": subscription_placeholder,
            "README search syntax": readme_syntax_table, "README subscription": readme_subscription}  # fmt: skip


def test_the_examples_are_read_from_the_text():
    """Guards the readers above: each source yields its examples (so a test below cannot pass on none)."""
    assert search_page_hint()[-1] == "from:2026-03 to:2026-04" and "cat:cs.LG" in search_page_hint()
    assert len(subscription_placeholder()) == 2 and "diffusion cat:cs.CV" in readme_subscription()
    assert len(readme_syntax_table()) >= 12 and 'author:"Yann LeCun"' in readme_subscription()


@pytest.mark.parametrize("source", EXAMPLES)
def test_every_suggested_search_finds_papers_in_the_demo(live_demo, source):
    examples = EXAMPLES[source]()
    for query in examples:
        # lexical: words and conditions alone (a semantic search always finds something near)
        answer = httpx.get(live_demo.url + "/api/papers/search", params={"q": query, "mode": "lexical", "limit": 5})
        assert answer.status_code == 200, (query, answer.text)
        found = [item["paper"]["id"] for item in answer.json()]
        assert found, f"{source}: {query!r} finds no paper in the demo"
        if re.fullmatch(r"\d{4}\.\d{4,5}", query):
            assert found[0] == query, f"{source}: the paper {query} is not in the demo"


def test_the_readme_feeds_have_items_in_the_demo(live_demo):
    feeds = re.findall(r"`(/feeds/(?:search|authors|organizations)[^`]*)`", README)
    assert len(feeds) >= 3
    for path in feeds:
        answer = httpx.get(live_demo.url + path)
        assert answer.status_code == 200, path
        assert answer.text.count("<item>") + answer.text.count("<entry>") >= 1, f"{path} is empty in the demo"


# -- the sample's arXiv categories ----------------------------------------------------------------------


def test_demo_papers_carry_the_arxiv_samples_categories(demo_db):
    """The arXiv records merge with the Hugging Face ones: arXiv's categories and title; its abstract where
    the file gives one, else Hugging Face's (the same text, left out of the file). Others get nothing."""
    daily = {record.id: record for record in map(hf_daily.parse_item, bundled(HF_SAMPLE))}
    arxiv = {item["id"]: (item, arxiv_snapshot.parse_item(item)) for item in bundled(ARXIV_SAMPLE)}
    assert set(arxiv) <= set(daily) and len(arxiv) > len(daily) / 3
    store = Store(demo_db)
    try:
        for paper_id, hf in daily.items():
            paper = store.paper(paper_id)
            if paper_id in arxiv:
                item, record = arxiv[paper_id]
                assert paper["categories"] == record.categories == item["categories"], paper_id
                assert paper["title"] == record.title, paper_id
                assert paper["abstract"] == (record.abstract if "summary" in item else hf.abstract), paper_id
            else:
                assert not paper["categories"] and paper["title"] == hf.title, paper_id
    finally:
        store.close()


def test_the_demo_ends_with_one_line_saying_what_it_loaded(tmp_path, new_db):
    db = new_db("fresh")
    result = run_cli("--db", str(db), "demo", "--no-serve", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    daily, arxiv = bundled(HF_SAMPLE), bundled(ARXIV_SAMPLE)
    papers = len({item["paper"]["id"] for item in daily})
    assert last == (f"Loaded {papers:,} papers ({len(daily):,} read, 0 skipped) and {len(arxiv):,} arXiv records "
                    f"with categories (0 skipped); {papers:,} embeddings")  # the bundled vectors are the encoder's  # fmt: skip

    again = run_cli("--db", str(db), "demo", "--no-serve")
    assert again.returncode == 0 and f"already holds {papers:,} papers" in again.stderr


def test_the_line_says_why_records_were_skipped():
    daily = Report("hf-daily", read=10, skipped=Counter({"not an arXiv id": 2}))
    arxiv = Report("arxiv-snapshot", read=5, skipped=Counter({"no title": 1}))
    assert Loaded(8, daily, arxiv).summary(8) == (
        "Loaded 8 papers (10 read, 2 skipped) and 4 arXiv records with categories (1 skipped); 8 embeddings. "
        "Skipped: 2 not an arXiv id; 1 no title"
    )
