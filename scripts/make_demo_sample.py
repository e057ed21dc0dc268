"""Make the demo sample bundled in the package from the shared data sets (deterministic).

    python scripts/make_demo_sample.py ../shared/data/hf-daily-papers/hf_daily_papers_api_2024-05-27_to_2026-08-21.jsonl.gz \
        ../shared/data/arxiv-cs-daily/arxiv_cs_daily_2025-03-18_to_2026-07-01.jsonl.gz

demo_sample.jsonl.gz: the most recent days of the HF Daily Papers archive up to SAMPLE_PAPERS papers, in
the archive's own /api/daily_papers item shape, with fields the site does not use (avatars, thumbnails,
HF internals) dropped to keep it small.

demo_arxiv.jsonl.gz: the arXiv cs sample's records of those papers (Hugging Face records carry no arXiv
categories), in that file's own shape, which `dailypapers demo` ingests after the HF sample so the two
merge as any ingest would (store/merge.py: arXiv's bibliographic fields, categories included, win).
Papers the arXiv sample lacks keep no categories. A record's abstract is left out where it is the very
text the HF record gives (after parsing): the merge then keeps that one, so the database is the same as
with the whole record, and the file a third of the size. The links (`abs`, `pdf`) follow from the id.
"""

import gzip
import json
import sys
from pathlib import Path

from dailypapers.ingest import arxiv_snapshot, hf_daily

SAMPLE_PAPERS = 3500
DATA = Path(__file__).resolve().parents[1] / "src/dailypapers/data"
OUT = DATA / "demo_sample.jsonl.gz"
ARXIV_OUT = DATA / "demo_arxiv.jsonl.gz"
ARXIV_KEYS = ("id", "listing_date", "title", "authors", "categories", "summary", "comment")
PAPER_KEYS = ("id", "publishedAt", "submittedOnDailyAt", "title", "summary", "upvotes", "discussionId",
              "ai_summary", "ai_keywords", "githubRepo", "githubStars", "projectPage")  # fmt: skip


def slim_user(user):
    return {k: user[k] for k in ("user", "name", "fullname") if user and k in user} or None


def slim_org(org):
    return {k: org[k] for k in ("name", "fullname", "avatar") if org and k in org} or None


def slim(item):
    paper = item["paper"]
    out_paper = {k: paper[k] for k in PAPER_KEYS if paper.get(k) is not None}
    out_paper["authors"] = [
        {"name": a["name"], **({"user": slim_user(a["user"])} if a.get("user") else {})} for a in paper["authors"]
    ]
    if paper.get("organization"):
        out_paper["organization"] = slim_org(paper["organization"])
    out = {"daily_date": item["daily_date"], "paper": out_paper, "publishedAt": item["publishedAt"],
           "title": item["title"], "numComments": item.get("numComments", 0)}  # fmt: skip
    if item.get("submittedBy"):
        out["submittedBy"] = slim_user(item["submittedBy"])
    if item.get("organization"):
        out["organization"] = slim_org(item["organization"])
    return out


def write_lines(path: Path, items) -> None:
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        for item in items:
            fh.write((json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n").encode())


def arxiv_records(source: str, chosen: list[dict]) -> list[dict]:
    """The arXiv sample's records of the chosen papers, slimmed (see above), in id order."""
    abstracts = {record.id: record.abstract for record in map(hf_daily.parse_item, chosen)}
    found = {}
    with gzip.open(source, "rt") as fh:
        for line in fh:
            item = json.loads(line)
            if item["id"] in abstracts and item["id"] not in found:
                found[item["id"]] = {k: item[k] for k in ARXIV_KEYS if item.get(k) is not None}
    for paper_id, item in found.items():
        if "summary" in item and arxiv_snapshot.parse_item(item).abstract == abstracts[paper_id]:
            del item["summary"]
    return [found[paper_id] for paper_id in sorted(found)]


def main(source: str, arxiv_source: str) -> None:
    with gzip.open(source, "rt") as fh:
        items = [json.loads(line) for line in fh]
    days = sorted({i["daily_date"] for i in items}, reverse=True)
    keep, count = set(), 0
    for day in days:
        count += sum(1 for i in items if i["daily_date"] == day)
        keep.add(day)
        if count >= SAMPLE_PAPERS:
            break
    chosen = [slim(i) for i in items if i["daily_date"] in keep]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_lines(OUT, chosen)
    print(f"{len(chosen)} papers from {min(keep)} to {max(keep)} -> {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")
    found = arxiv_records(arxiv_source, chosen)
    write_lines(ARXIV_OUT, found)
    papers = len({i["paper"]["id"] for i in chosen})
    print(f"{len(found)} of the {papers} papers are in the arXiv sample ({sum('summary' in i for i in found)} with an "
          f"abstract of their own) -> {ARXIV_OUT} ({ARXIV_OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
