"""Merging records from several sources: nothing a source supplied is dropped, and order does not matter."""

import dataclasses
import itertools
import json
import re

from dailypapers.ingest import arxiv_snapshot, hf_daily
from dailypapers.store import Store

from conftest import FIXTURES

HF_DAY = FIXTURES / "hf-api" / "hf-daily-paper-newsletter-chinese__daily_papers_date-2026-08-20.json"


def hf_item_with_org():
    items = json.loads(HF_DAY.read_text())
    return next(i for i in items if i.get("organization") and i["paper"].get("githubRepo"))


def sources_for_one_paper():
    """The same paper as the HF API, an HF page scrape and the arXiv snapshot describe it."""
    item = hf_item_with_org()
    paper = item["paper"]
    hf = hf_daily.parse_item(item, "2026-08-20")
    scrape = hf_daily.parse_item({
        "daily_date": "2026-08-21", "arxiv_id": paper["id"], "title": paper["title"].upper(),
        "authors": [a["name"] for a in paper["authors"][:2]], "abstract": "scraped, truncated", "upvotes": paper["upvotes"] + 40,
    })  # fmt: skip
    arxiv = arxiv_snapshot.parse_item({
        "id": paper["id"], "title": paper["title"] + " (v2)", "abstract": paper["summary"],
        "authors_parsed": [[a["name"].split()[-1], " ".join(a["name"].split()[:-1]), ""] for a in paper["authors"]],
        "categories": "cs.CV cs.AI", "comments": "12 pages", "doi": "10.1000/xyz",
        "versions": [{"version": "v1", "created": "Tue, 18 Aug 2026 10:00:00 GMT"}, {"version": "v2", "created": "Wed, 19 Aug 2026 10:00:00 GMT"}],
        "update_date": "2026-08-19",
    })  # fmt: skip
    return item, [hf, scrape, arxiv]


def content(store: Store, paper_id: str) -> dict:
    paper = store.paper(paper_id)
    paper.pop("pk")
    paper.pop("seq")
    return paper


def test_every_source_keeps_what_it_alone_supplies(tmp_path, new_db):
    item, records = sources_for_one_paper()
    store = Store(new_db("m"))
    for record in records:
        store.apply([record])
    paper = store.paper(item["paper"]["id"])
    assert paper["title"] == item["paper"]["title"] + " (v2)"  # arXiv outranks HF for bibliographic fields
    assert paper["categories"] == ["cs.CV", "cs.AI"] and paper["doi"] == "10.1000/xyz" and paper["comment"] == "12 pages"
    assert [v["version"] for v in paper["versions"]] == ["v1", "v2"]
    assert paper["published_at"] == "2026-08-18T10:00:00.000Z"
    assert paper["organization"]["name"] == item["organization"]["name"]  # HF-only fields survive the arXiv record
    assert paper["github_repo"] == item["paper"]["githubRepo"]
    assert paper["ai_summary"] == item["paper"]["ai_summary"]
    assert paper["submitted_by"]["user"] == item["submittedBy"]["name"]
    assert paper["upvotes"] == item["paper"]["upvotes"] + 40  # the later, higher count
    assert paper["featured_on"] == ["2026-08-20", "2026-08-21"]
    assert len(paper["authors"]) == len(item["paper"]["authors"])  # the full list, not the scrape's two
    linked = {a["name"]: a.get("user") for a in item["paper"]["authors"] if a.get("user")}
    for author in paper["authors"]:  # HF account links carried over to arXiv's author list
        if author["name"] in linked:
            assert author["user"]["user"] == linked[author["name"]]["user"]


def test_order_of_sources_does_not_matter(tmp_path):
    item, records = sources_for_one_paper()
    results = []
    for n, order in enumerate(itertools.permutations(records)):
        store = Store(tmp_path / f"order{n}.db")
        for record in order:
            store.apply([record])
        results.append(content(store, item["paper"]["id"]))
        store.close()
    assert all(result == results[0] for result in results[1:])


def test_applying_twice_changes_nothing(tmp_path, new_db):
    _, records = sources_for_one_paper()
    store = Store(new_db("twice"))
    first = store.apply(records)
    generation = store.generation()
    second = store.apply(records)
    assert first.inserted == 1 and second.inserted == second.updated == 0 and second.unchanged == 1
    assert store.generation() == generation


def test_a_batch_with_the_same_paper_twice_merges_both(tmp_path, new_db):
    _, (hf, scrape, arxiv) = sources_for_one_paper()
    store = Store(new_db("batch"))
    result = store.apply([hf, scrape])
    assert result.inserted == 1
    assert store.paper(hf.id)["featured_on"] == ["2026-08-20", "2026-08-21"]


def test_a_plan_made_before_another_write_merges_again(tmp_path):
    """`Store.plan` reads a snapshot; if a paper it read changes before `apply`, nothing it planned is
    written as planned: the paper is inserted, updated or left as if the records came in that order."""
    _, (hf, scrape, arxiv) = sources_for_one_paper()
    cases = {  # already stored, written after the plan was made, planned
        "insert, id taken since": ([], [hf], [arxiv]),
        "update, paper changed since": ([hf], [scrape], [arxiv]),
        "unchanged, paper changed since": ([hf, arxiv], [scrape], [hf]),
    }
    for n, (name, (stored, in_between, planned)) in enumerate(cases.items()):
        expected = Store(tmp_path / f"expected{n}.db")
        stale = Store(tmp_path / f"stale{n}.db")
        for store in (expected, stale):
            if stored:
                store.apply(stored)
        plan = stale.plan(planned)
        for store in (expected, stale):
            store.apply(in_between)
        result = stale.apply(plan)
        assert result == expected.apply(planned), name
        assert content(stale, hf.id) == content(expected, hf.id), name
        assert stale.generation() == expected.generation(), name


def test_a_new_paper_is_inserted_with_the_values_its_merged_row_has():
    """`insert_values` spells out, for speed, what serializing a record's own row gives."""
    from dailypapers.store import _serialized, insert_values
    from dailypapers.store.merge import record_to_row

    _, records = sources_for_one_paper()
    records += [hf_daily.parse_item(item, "2026-08-20") for item in json.loads(HF_DAY.read_text())]
    records += [arxiv_snapshot.parse_item(json.loads(line)) for line in
                (FIXTURES / "arxiv-snapshot" / "arxivSpider_mnbvc__arxiv-metadata-oai-snapshot_first200.json").read_text().splitlines()]  # fmt: skip
    records.append(dataclasses.replace(records[0], authors=None, categories=[], versions=[], ai_keywords=[], submitted_by=None))
    assert {r.source for r in records} == {"hf", "hf-scrape", "arxiv"}
    assert any(r.versions and len(r.versions) > 1 for r in records) and any(r.ai_keywords for r in records)
    for rec in records:
        assert insert_values(rec) == _serialized(record_to_row(rec)), rec.id


def test_an_update_writes_only_the_columns_that_changed(tmp_path, new_db):
    """A later observation with more upvotes rewrites the counters and seq, not the other columns
    (and not their indexes)."""
    from sqlalchemy import event

    _, (hf, scrape, arxiv) = sources_for_one_paper()
    later = dataclasses.replace(hf, observed="2026-08-25", upvotes=hf.upvotes + 10, num_comments=(hf.num_comments or 0) + 3)
    store = Store(new_db("partial"))
    store.apply([hf, arxiv])
    before, seq_before = content(store, hf.id), store.paper(hf.id)["seq"]
    statements = []
    event.listen(store.writer, "before_cursor_execute", lambda conn, cursor, sql, *args: statements.append(sql))
    assert store.apply([later]).updated == 1
    updates = [sql for sql in statements if sql.startswith("UPDATE papers")]
    assert len(updates) == 1
    assigned = re.findall(r"(\w+)=", updates[0].split(" WHERE ")[0])  # SQLite's "upvotes=?", psycopg's "upvotes=%(upvotes)s"
    assert assigned == ["upvotes", "num_comments", "daily_observed", "seq"]
    after = content(store, hf.id)
    assert after == {**before, "upvotes": hf.upvotes + 10, "num_comments": later.num_comments}
    assert store.paper(hf.id)["seq"] > seq_before
