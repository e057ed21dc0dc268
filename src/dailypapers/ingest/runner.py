"""Runs a source into the store: batches, checkpoints, progress and the skipped-record report.

A source is an iterable of `PaperRecord`, `StagedBatch`, `Skipped` and `Checkpoint` items. The runner commits the
records gathered so far together with each `Checkpoint`'s state, so a rerun after Ctrl-C or kill -9
resumes from the last commit; since applying a record twice changes nothing, the result is the same
as an uninterrupted run.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from contextlib import contextmanager
from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from ..records import PaperRecord
from ..store import ApplyResult, StagedBatch, Store

MAX_EXAMPLES = 5


@dataclass
class Skipped:
    where: str  # e.g. "line 12" or "2025-10-02 item 3"
    reason: str


@dataclass
class Checkpoint:
    state: dict  # what the source needs to resume after everything yielded so far


@dataclass
class Report:
    source: str
    read: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: list[tuple[str, str]] = field(default_factory=list)
    result: ApplyResult = field(default_factory=ApplyResult)
    seconds: float = 0.0
    indexed: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def print(self, console: Console) -> None:
        rate = self.read / self.seconds if self.seconds else 0.0
        r = self.result
        console.print(
            f"[bold]{self.source}[/]: {self.read:,} records in {self.seconds:.1f} s ({rate:,.0f}/s): "
            f"{r.inserted:,} new, {r.updated:,} updated, {r.unchanged:,} unchanged, {self.skipped_total:,} skipped"
        )
        for reason, count in self.skipped.most_common():
            console.print(f"  skipped {count:,}: {reason}")
        for where, reason in self.examples:
            console.print(f"    e.g. {where}: {reason}")
        if self.indexed:
            console.print(f"  keyword index: {self.indexed:,} papers refreshed")


@contextmanager
def _fewer_collections():
    """Bulk imports allocate millions of short-lived, acyclic objects; scanning for cycles every 700
    allocations, and rescanning everything alive before the run, cost about 5% of an import."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, threshold[1], threshold[2])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _reason_kind(reason: str) -> str:
    """Group skip reasons by their kind: reasons read "kind: details" ("not an arXiv id: 'x'")."""
    return reason.split(": ", 1)[0]


class Runner:
    def __init__(self, store: Store, source: str, checkpoint_key: str, *, batch_size: int = 1000,
                 console: Console | None = None, show_progress: bool = True, index_dir: str | None = None):  # fmt: skip
        self.store = store
        self.source = source
        self.key = checkpoint_key
        self.batch_size = batch_size
        self.console = console or Console(stderr=True)
        self.show_progress = show_progress
        self.index_dir = index_dir or None
        self.report = Report(source)

    def resume_state(self) -> dict | None:
        return self.store.checkpoint(self.source, self.key)

    def run(self, items: Iterable[PaperRecord | StagedBatch | Skipped | Checkpoint], *, refresh_index: bool = True) -> Report:
        report = self.report
        started = time.perf_counter()
        pending: list[PaperRecord] = []
        staged: list[StagedBatch] = []  # at most one: a second is written before it is kept
        progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.completed:,.0f} records"), TextColumn("[cyan]{task.fields[rate]:,.0f}/s"),
            TextColumn("{task.fields[skipped]:,} skipped"), TimeElapsedColumn(),
            console=self.console, disable=not self.show_progress,
        )  # fmt: skip
        with progress, _fewer_collections():
            task = progress.add_task(self.source, total=None, rate=0.0, skipped=0)

            def flush(state: dict | None) -> None:
                if pending or staged or state is not None:
                    checkpoint = (self.source, self.key, state) if state else None
                    report.result += self.store.apply(pending, checkpoint, staged[0] if staged else None)
                    pending.clear()
                    staged.clear()
                elapsed = time.perf_counter() - started
                progress.update(task, completed=report.read, rate=report.read / elapsed if elapsed else 0,
                                skipped=report.skipped_total)  # fmt: skip

            for item in items:
                if isinstance(item, PaperRecord):
                    report.read += 1
                    pending.append(item)
                    if len(pending) >= self.batch_size * 5:  # a source that checkpoints rarely
                        flush(None)
                elif isinstance(item, StagedBatch):
                    if staged:
                        flush(None)
                    report.read += item.size
                    staged.append(item)
                elif isinstance(item, Skipped):
                    report.read += 1
                    report.skipped[_reason_kind(item.reason)] += 1
                    if len(report.examples) < MAX_EXAMPLES:
                        report.examples.append((item.where, item.reason))
                elif isinstance(item, Checkpoint):
                    flush(item.state)
            flush(None)
            self.store.clear_checkpoint(self.source, self.key)
        report.seconds = time.perf_counter() - started
        if refresh_index:
            from ..search import Search

            search = Search(self.store, self.index_dir)
            report.indexed = refresh_index_with_progress(search, self.console, self.show_progress)
        return report


def refresh_index_with_progress(search, console: Console, show: bool = True) -> int:
    """Catch the search indexes up with the catalog, with a progress bar (resumable: it commits as it goes)."""
    lag = search.lag()
    if not lag:
        search.refresh()  # the vector index may have vectors to catch up with
        return 0
    progress = Progress(
        TextColumn("[bold]keyword index"), BarColumn(), TaskProgressColumn(), TextColumn("{task.completed:,.0f} papers"),
        TimeElapsedColumn(), console=console, disable=not show,
    )  # fmt: skip
    with progress:
        task = progress.add_task("index", total=lag)
        return search.refresh(progress=lambda n: progress.advance(task, n))
