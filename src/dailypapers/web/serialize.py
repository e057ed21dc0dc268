"""The one paper shape every JSON answer uses, with Hugging Face's field names.

An item is what `/api/daily_papers` returns on Hugging Face: `{"paper": {...}, "publishedAt", "title", ...}`.
The same item is returned by every endpoint, and the fields that `huggingface_hub.PaperInfo` reads only at
the top level (`organization`, `githubRepo`, `projectPage`, `ai_summary`, ...) are at the top level too.
Authors are only inside `paper` (a top-level list would shadow the client's parsed authors).
Top-level `publishedAt` is when the paper was posted to the daily feed (absent if it never was);
`paper.publishedAt` is its arXiv publication.
"""

from __future__ import annotations


def arxiv_links(paper_id: str) -> dict:
    return {"arxiv": f"https://arxiv.org/abs/{paper_id}", "pdf": f"https://arxiv.org/pdf/{paper_id}"}


def _user(user: dict | None) -> dict | None:
    if not user:
        return None
    return {"user": user["user"], "name": user["user"], "fullname": user.get("fullname") or user["user"],
            "avatarUrl": user.get("avatarUrl"), "type": "user"}  # fmt: skip


def _organization(org: dict | None) -> dict | None:
    if not org:
        return None
    return {"name": org["name"], "fullname": org.get("fullname") or org["name"], "avatar": org.get("avatar"),
            "avatarUrl": org.get("avatar")}  # fmt: skip


def _authors(authors: list[dict]) -> list[dict]:
    return [{"name": a["name"], "hidden": False, **({"user": _user(a["user"])} if a.get("user") else {})} for a in authors]


def submitted_at(paper: dict) -> str | None:
    """When the paper was posted to the daily feed (its first featured day, if the source had no time)."""
    if paper.get("submitted_at"):
        return paper["submitted_at"]
    day = paper.get("day") or (paper.get("featured_on") or [None])[0]
    return f"{day}T00:00:00.000Z" if day else None


def hf_item(paper: dict) -> dict:
    organization = _organization(paper["organization"])
    submitter = _user(paper["submitted_by"])
    posted = submitted_at(paper)
    shared = {
        "upvotes": paper["upvotes"],
        "ai_summary": paper["ai_summary"],
        "ai_keywords": paper["ai_keywords"],
        "githubRepo": paper["github_repo"],
        "githubStars": paper["github_stars"],
        "projectPage": paper["project_page"],
        "organization": organization,
    }
    inner = {
        "id": paper["id"],
        "authors": _authors(paper["authors"]),
        "publishedAt": paper["published_at"],
        "submittedOnDailyAt": posted,
        "title": paper["title"],
        "summary": paper["abstract"],
        "discussionId": paper["discussion_id"],
        "submittedOnDailyBy": submitter,
        **shared,
    }
    item = {
        "paper": inner,
        "id": paper["id"],
        "title": paper["title"],
        "summary": paper["abstract"],
        "thumbnail": paper["thumbnail"],
        "numComments": paper["num_comments"],
        "submittedBy": submitter,
        "submittedOnDailyAt": posted,
        "isAuthorParticipating": any(a.get("user") for a in paper["authors"]),
        **shared,
        "categories": paper["categories"],
        "comment": paper["comment"],
        "doi": paper["doi"],
        "journalRef": paper["journal_ref"],
        "links": arxiv_links(paper["id"]),
    }
    if posted:
        item["publishedAt"] = posted
    if "featured_on" in paper:
        item["featuredOn"] = paper["featured_on"]
    return item


def to_markdown(paper: dict, site_url: str) -> str:
    """The paper page as Markdown (`GET /papers/{id}.md`, read by `HfApi.read_paper`)."""
    links = arxiv_links(paper["id"])
    lines = [f"# {paper['title']}", ""]
    authors = ", ".join(a["name"] for a in paper["authors"])
    if authors:
        lines += [f"**Authors:** {authors}", ""]
    facts = [f"arXiv: [{paper['id']}]({links['arxiv']})", f"[PDF]({links['pdf']})"]
    if paper.get("published_at"):
        facts.append(f"Published: {paper['published_at'][:10]}")
    if paper.get("categories"):
        facts.append("Categories: " + ", ".join(paper["categories"]))
    lines += [" · ".join(facts), ""]
    if paper.get("featured_on"):
        lines += [f"Featured on the daily feed: {', '.join(paper['featured_on'])} · {paper['upvotes']} upvotes", ""]
    if paper.get("organization"):
        lines += [f"Organization: {paper['organization'].get('fullname') or paper['organization']['name']}", ""]
    for label, key in (("Code", "github_repo"), ("Project page", "project_page")):
        if paper.get(key):
            lines += [f"{label}: {paper[key]}", ""]
    lines += ["## Abstract", "", paper.get("abstract") or "(no abstract)", ""]
    if paper.get("ai_summary"):
        lines += ["## AI summary", "", paper["ai_summary"], ""]
    if paper.get("comment"):
        lines += [f"Comment: {paper['comment']}", ""]
    lines += [f"Source: {site_url}/papers/{paper['id']}", ""]
    return "\n".join(lines)


def comment_item(comment: dict) -> dict:
    """A comment in the API: its Markdown and the sanitized HTML shown on the site."""
    from .markdown import render

    return {
        "id": comment["id"],
        "paperId": comment["paper_id"],
        "author": {"user": comment["username"]},
        "body": comment["body"],
        "html": render(comment["body"]),
        "createdAt": comment["created_at"],
        "editedAt": comment["edited_at"],
        "hidden": comment["hidden_at"] is not None,
    }
