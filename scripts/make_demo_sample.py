"""Make the demo sample bundled in the package from the shared HF Daily Papers archive (deterministic).

    python scripts/make_demo_sample.py ../shared/data/hf-daily-papers/hf_daily_papers_api_2024-05-27_to_2026-08-21.jsonl.gz

Keeps the most recent days up to SAMPLE_PAPERS papers, in the archive's own /api/daily_papers item shape,
with fields the site does not use (avatars, thumbnails, HF internals) dropped to keep it small.
"""

import gzip
import json
import sys
from pathlib import Path

SAMPLE_PAPERS = 3500
OUT = Path(__file__).resolve().parents[1] / "src/dailypapers/data/demo_sample.jsonl.gz"
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


def main(source: str) -> None:
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
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        for item in chosen:
            fh.write((json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n").encode())
    print(f"{len(chosen)} papers from {min(keep)} to {max(keep)} -> {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(sys.argv[1])
