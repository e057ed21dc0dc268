"""Choosing the papers of a digest, and queueing digests in the outbox.

A digest covers a period: a day for daily digests (the latest day on the feed, by default), an ISO week
for weekly ones (the latest finished week). It has up to four kinds of sections, in this order:
  Trending           the period's top `top` papers on the feed (upvotes for a day, the trending score
                     for a week: rank/trending.py)
  "saved search"     papers matching it, most relevant first (at most SEARCH_HITS)
  author / org       their papers, newest first (at most SEARCH_HITS)
  For you            for a subscriber linked to an account: the period's feed ranked by the account's
                     model (rank/for_you.py), at most SEARCH_HITS
Searches, authors and organizations look at papers published from LOOKBACK_DAYS before the period to its
end, so a paper that reached the catalog late still goes out once. No paper is sent twice to the same
subscriber (store: `sent_papers`), nor twice in one digest. A digest with no papers is not sent.
Each distinct search is run once per period, however many subscribers saved it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from ..rank.for_you import NoLibrary, Recommender
from ..web import periods

SEARCH_HITS = 10
LOOKBACK_DAYS = 7
QUEUE_BATCH = 500
_KINDS = {"daily": "day", "weekly": "week"}


def digest_period(frequency: str, value: str | None, latest_day: str | None, today: date | None = None) -> periods.Period:
    """The period a digest covers: `value` (YYYY-MM-DD or YYYY-Www) if given; else the latest day with
    papers (daily), or the week of that day if it has ended, else the week before (weekly)."""
    if value:
        return periods.parse(_KINDS[frequency], value)
    today = today or date.today()
    last = date.fromisoformat(latest_day) if latest_day else today
    if frequency == "daily":
        return periods.day(last)
    week = periods.week_of(last)
    return week if week.end < today else week.shifted(-1)


def period_key(frequency: str, period: periods.Period) -> str:
    return f"{frequency}:{period.label}"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', " ") + '"'


class Composer:
    """The sections of each subscriber's digest for one period."""

    def __init__(self, store, search, period: periods.Period, *, exclude_sent: bool = True):
        self.store, self.search, self.period, self.exclude_sent = store, search, period, exclude_sent
        self._found: dict[tuple, list[dict]] = {}

    def _memo(self, key: tuple, find: Callable[[], list[dict]]) -> list[dict]:
        if key not in self._found:
            self._found[key] = find()
        return self._found[key]

    def _trending(self) -> list[dict]:
        sort = "upvotes" if self.period.kind == "day" else "trending"
        return self._memo(("trending",), lambda: self.store.feed(self.period.start, self.period.end, sort=sort, limit=100)[0])

    def _matching(self, text: str, sort: str) -> list[dict]:
        window = dict(published_from=(self.period.start - timedelta(days=LOOKBACK_DAYS)).isoformat(),
                      published_to=self.period.end.isoformat())  # fmt: skip
        return self._memo(("search", text, sort), lambda: self.search.find(
            text, mode="lexical", sort=sort, limit=SEARCH_HITS * 3, **window).papers)  # fmt: skip

    def candidates(self, subscriber: dict) -> list[tuple[str, list[dict], int]]:
        """(section title, papers in order, how many to take) before anything is excluded."""
        wanted = []
        if subscriber["top"]:
            wanted.append(("Trending", self._trending(), subscriber["top"]))
        for text in subscriber["searches"]:
            wanted.append((f"Saved search: {text}", self._matching(text, "relevance"), SEARCH_HITS))
        for name in subscriber["authors"]:
            wanted.append((f"By {name}", self._matching(f"author:{_quoted(name)}", "date"), SEARCH_HITS))
        for name in subscriber["organizations"]:
            wanted.append((f"From {name}", self._matching(f"org:{_quoted(name)}", "date"), SEARCH_HITS))
        if subscriber.get("user_id"):
            wanted.append(("For you", self._for_you(subscriber["user_id"]), SEARCH_HITS))
        return wanted

    def _for_you(self, user_id: int) -> list[dict]:
        try:
            found = Recommender(self.store, self.search).feed(user_id, self.period.start, self.period.end, SEARCH_HITS * 3)
        except NoLibrary:
            return []
        return [f.paper for f in found]

    def sections(self, subscriber: dict) -> list[tuple[str, list[dict]]]:
        """The digest's sections, each with at least one paper; [] if there is nothing to send."""
        return self.sections_of([subscriber])[0]

    def sections_of(self, subscribers: list[dict]) -> list[list[tuple[str, list[dict]]]]:
        """`sections` for each of `subscribers`, asking the store once what they were already sent."""
        wanted = [self.candidates(subscriber) for subscriber in subscribers]
        sent: dict[int, set[str]] = {}
        if self.exclude_sent:
            ids = list({p["id"] for candidates in wanted for _, papers, _ in candidates for p in papers})
            sent = self.store.already_sent([s["id"] for s in subscribers], ids)
        return [self._pick(candidates, set(sent.get(s["id"], ()))) for s, candidates in zip(subscribers, wanted)]

    @staticmethod
    def _pick(wanted: list[tuple[str, list[dict], int]], seen: set[str]) -> list[tuple[str, list[dict]]]:
        sections = []
        for title, papers, take in wanted:
            fresh = [p for p in papers if p["id"] not in seen][:take]
            seen.update(p["id"] for p in fresh)
            if fresh:
                sections.append((title, fresh))
        return sections


def compose(store, search, frequency: str, period: periods.Period):
    """(subscriber, sections) for every confirmed `frequency` subscriber who has no digest for the period
    yet and has something to receive, in batches of QUEUE_BATCH (a list per batch)."""
    composer = Composer(store, search, period)
    subscribers = store.subscribers_without(frequency, "digest", period_key(frequency, period))
    for start in range(0, len(subscribers), QUEUE_BATCH):
        batch = subscribers[start : start + QUEUE_BATCH]
        yield [(subscriber, sections) for subscriber, sections in zip(batch, composer.sections_of(batch)) if sections], len(batch)


def queue_digests(store, search, frequency: str, period: periods.Period, progress=None) -> int:
    """Queue this period's digest for every confirmed `frequency` subscriber who has none yet; returns
    how many were queued. Committed in batches: an interrupted run queues the rest when rerun."""
    key, queued = period_key(frequency, period), 0
    for composed, considered in compose(store, search, frequency, period):
        queued += store.queue_digests([(subscriber["id"], key, [[title, [p["id"] for p in papers]] for title, papers in sections])
                                       for subscriber, sections in composed])  # fmt: skip
        if progress:
            progress(considered)
    return queued
