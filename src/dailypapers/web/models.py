"""The shapes of the site's answers, for the OpenAPI document (`/openapi.json`, `/docs`).

Nothing here runs on the hot path: the routes answer bytes made by web/serialize.py (`hf_item`,
`comment_item`) and name these models in `responses=`, which FastAPI only writes into the document.
Each model says exactly what the serializer writes: every key (a key that is sometimes left out is
not required and never null; a key that may be null says so), and no other (`additionalProperties:
false`), so that the schemathesis run in tests/test_fuzz_api.py catches a serializer and its model that
drift apart.

`responses(...)` builds a route's `responses=`: its success answer and the errors it can give, every
error as `{"error": "<message>"}` (web/errors.py), with the headers that come with some of them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def _no_default(schema: dict) -> None:
    schema.pop("default", None)


def Omitted(description: str) -> Any:  # noqa: N802 (a field factory, named like pydantic's Field)
    """A key the answer sometimes leaves out: not required, and never null when it is there."""
    return Field(None, description=description, json_schema_extra=_no_default)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(Strict):
    """Every error the API, the feeds and the Markdown pages answer (the key `huggingface_hub` shows)."""

    error: str = Field(description="What went wrong, in words.")


class User(Strict):
    """A user of this site or of Hugging Face, shaped like Hugging Face's."""

    user: str = Field(description="The username.")
    name: str = Field(description="The username again (Hugging Face's clients read either).")
    fullname: str = Field(description="The full name; the username if none is known.")
    avatarUrl: str | None
    type: Literal["user"]


class Organization(Strict):
    name: str = Field(description="The handle, e.g. `google`.")
    fullname: str = Field(description="The full name; the handle if none is known.")
    avatar: str | None
    avatarUrl: str | None = Field(description="The same as `avatar`.")


class Author(Strict):
    name: str
    hidden: bool
    user: User = Omitted("The author's account, when one is linked.")


class Paper(Strict):
    """The `paper` object of an item: the paper itself."""

    id: str = Field(description="The arXiv id, without version: `2405.15738`, `hep-th/9901001`.")
    authors: list[Author]
    publishedAt: str | None = Field(description="When arXiv published it (ISO 8601).")
    submittedOnDailyAt: str | None = Field(description="When it was posted to the daily feed (ISO 8601).")
    title: str
    summary: str | None = Field(description="The abstract.")
    discussionId: str | None
    submittedOnDailyBy: User | None
    upvotes: int
    ai_summary: str | None
    ai_keywords: list[str] | None
    githubRepo: str | None
    githubStars: int | None
    projectPage: str | None
    organization: Organization | None


class Links(Strict):
    arxiv: str = Field(description="The abstract page on arxiv.org.")
    pdf: str = Field(description="The PDF on arxiv.org.")


class PaperItem(Strict):
    """A paper as every JSON answer gives it: Hugging Face's daily-papers item, with the fields
    `huggingface_hub.PaperInfo` reads at the top level repeated there."""

    paper: Paper
    id: str
    title: str
    summary: str | None
    thumbnail: str | None
    numComments: int
    submittedBy: User | None
    submittedOnDailyAt: str | None
    isAuthorParticipating: bool
    upvotes: int
    ai_summary: str | None
    ai_keywords: list[str] | None
    githubRepo: str | None
    githubStars: int | None
    projectPage: str | None
    organization: Organization | None
    categories: list[str] | None = Field(description="arXiv categories, e.g. `cs.LG`.")
    comment: str | None = Field(description="The authors' arXiv comment.")
    doi: str | None
    journalRef: str | None
    links: Links
    publishedAt: str = Omitted("When it was posted to the daily feed (ISO 8601); left out if it never was.")
    featuredOn: list[str] = Omitted("The days (YYYY-MM-DD) it was on the daily feed; in answers about one paper.")


class CommentAuthor(Strict):
    user: str


class Comment(Strict):
    id: int
    paperId: str
    author: CommentAuthor
    body: str = Field(description="As written, in Markdown.")
    html: str = Field(description="The Markdown as the site shows it: sanitized HTML.")
    createdAt: str
    editedAt: str | None
    hidden: bool = Field(description="Hidden by a moderator.")


class Vote(Strict):
    id: str = Field(description="The paper's arXiv id.")
    upvoted: bool = Field(description="Whether you upvote it now.")
    upvotes: int = Field(description="Its upvotes now.")


class CollectionSummary(Strict):
    name: str
    key: str = Field(description="Random: the collection's page is /collections/KEY.")
    public: bool = Field(description="Whether anyone with the link may see it (and its feeds).")
    papers: int = Field(description="How many papers it holds.")
    url: str


class LibraryItems(Strict):
    collections: list[CollectionSummary]
    saved: list[str] = Field(description="The arXiv ids of every saved paper, the latest saved first.")
    dismissed: list[str] = Field(description='Papers marked "not interested", the latest first.')
    authors: list[str] = Field(description="Followed author names.")
    organizations: list[str] = Field(description="Followed organization handles.")


class Collection(Strict):
    name: str
    key: str
    public: bool
    papers: list[str] = Field(description="The arXiv ids of its papers, the latest saved first.")
    url: str
    owner: str = Field(description="Its owner's username.")


class Unplaced(Strict):
    entry: str = Field(description="The entry as the file names it: its BibTeX key, its line, its title.")
    why: str


class ImportReport(Strict):
    collection: str = Field(description="Where the papers were saved.")
    matched: list[str] = Field(description="Papers the catalog had, by arXiv id.")
    fetched: list[str] = Field(description="Papers fetched from arXiv into the catalog.")
    by_title: list[str] = Field(description="Entries without an arXiv id matched by title.")
    unplaced: list[Unplaced] = Field(description="Entries that could not be placed, and why.")
    saved: int = Field(description="Papers new in the collection.")


class Reasons(Strict):
    closest: list[dict[str, Any]] = Field(description='The saved papers it is closest to: `{"id", "title", "similarity"}`.')
    authors: list[str] = Field(description="Followed authors it has, then authors it shares with saved papers.")
    organization: str | None = Field(description="A followed organization it belongs to.")
    terms: list[str] = Field(description="The words that weigh most for it.")


class Recommendation(Strict):
    paper: PaperItem
    score: float = Field(description="The reader's model's score: higher is closer to their library.")
    reasons: Reasons


class SubscriptionPending(Strict):
    status: Literal["pending"]
    message: str


class HealthyDatabase(Strict):
    reachable: Literal[True]
    papers: int


class KeywordIndex(Strict):
    lag: int = Field(description="Papers the keyword index is behind the catalog.")


class VectorIndex(Strict):
    model: str | None = Field(description="The sentence-embedding model; null while it loads, or without it.")
    lag: int | None = Field(description="Vectors the vector index is behind the catalog.")
    unembedded: int | None = Field(description="Papers without an embedding.")
    problem: str | None = Field(description="Why there is no model, if there is none.")


class SyncRound(Strict):
    """The last finished round of `dailypapers sync`; only `running` before the first one has finished."""

    id: int = Omitted("The round's number.")
    status: str = Omitted("How it ended.")
    started_at: str = Omitted("When it started.")
    finished_at: str | None = Omitted("When it finished.")
    sources: dict[str, dict[str, Any]] = Omitted("What each source did.")
    running: bool = Field(description="Whether a round runs now.")


class Health(Strict):
    status: Literal["ok", "degraded"]
    problems: list[str] = Field(description="What makes the site degraded; empty when it is ok.")
    database: HealthyDatabase
    keyword_index: KeywordIndex
    vector_index: VectorIndex
    last_sync: SyncRound | None
    version: str


class UnreachableDatabase(Strict):
    reachable: Literal[False]


class HealthDown(Strict):
    status: Literal["down"]
    error: str
    database: UnreachableDatabase
    version: str


# -- responses= -----------------------------------------------------------------------------------------

ERRORS = {
    401: "No valid API token: send `Authorization: Bearer <token>` (create one in Settings).",
    403: "The token's owner may not do this.",
    404: "Not found.",
    409: "It conflicts with what is already there.",
    413: "The request body is larger than the site accepts (`max_body_bytes`).",
    422: "A parameter or the body is not valid; the message says which and why.",
    429: "Too many requests: try again after Retry-After seconds.",
    502: "arXiv could not be reached, or did not answer properly.",
    503: "The database cannot answer or store anything now (full, failing, busy or down): nothing was lost; "
         "try again after Retry-After seconds.",
}
ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "required": True, "schema": {"type": "string"}}},
    405: {"Allow": {"description": "The methods the path takes.", "required": True, "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait.", "required": True, "schema": {"type": "integer", "minimum": 1}}},
    503: {"Retry-After": {"description": "Seconds to wait.", "required": True, "schema": {"type": "integer", "minimum": 1}}},
}
FEED_MEDIA = ("application/rss+xml", "application/atom+xml")


def _error(status: int, description: str | None = None) -> dict:
    answer: dict = {"model": Error, "description": description or ERRORS[status]}
    if status in ERROR_HEADERS:
        answer["headers"] = ERROR_HEADERS[status]
    return answer


def responses(ok: Any = None, *errors: int, status: int = 200, description: str | None = None, headers: dict | None = None,
              media: tuple[str, ...] | str | None = None, **described: str) -> dict:  # fmt: skip
    """A route's `responses=`: `ok` (a model, or a type such as `list[PaperItem]`) answered with
    `status`, or `media` types holding text; then each of `errors`, as `{"error": ...}`, and 503, which any
    operation may answer when its database cannot (store/errors.py). `described` gives an error's
    description for this route: `e404="no such paper"`."""
    success: dict = {}
    if ok is not None:
        success["model"] = ok
    if media:
        schema = {"type": "string"}
        success["content"] = {kind: {"schema": schema} for kind in ((media,) if isinstance(media, str) else media)}
    if description:
        success["description"] = description
    if headers:
        success["headers"] = headers
    answers = {status: success} if success else {}
    for code in (*errors, 503):
        answers[code] = _error(code, described.get(f"e{code}"))
    return answers


def header(description: str, kind: str = "string", required: bool = True) -> dict:
    return {"description": description, "required": required, "schema": {"type": kind}}
