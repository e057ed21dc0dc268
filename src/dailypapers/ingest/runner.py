"""Runs a source into the store: batches, checkpoints, progress and the skipped-record report.

A source is an iterable of `PaperRecord`, `Skipped` and `Checkpoint` items, or of `LineChunk`s (a
large file's unparsed lines, each its own checkpoint). The runner commits the records gathered so far
together with each checkpoint's state, so a rerun after Ctrl-C or kill -9 resumes from the last
commit; since applying a record twice changes nothing, the result is the same as an uninterrupted run.
"""

from __future__ import annotations

import gc
import os
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..records import PaperRecord
from ..store import ApplyResult, Store
from .files import LineChunk
from .items import Checkpoint, Skipped
from .parallel import ChunkDone, ChunkWriter

MAX_EXAMPLES = 5


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
    """`workers`: processes that parse and write `LineChunk`s (default: one more than there are CPUs, so
    that a core is not left idle while a worker waits for its turn to write; the reading process only
    decompresses); 0 handles them in this process."""

    def __init__(self, store: Store, source: str, checkpoint_key: str, *, batch_size: int = 1000,
                 console: Console | None = None, show_progress: bool = True, index_dir: str | None = None,
                 workers: int | None = None):  # fmt: skip
        self.store = store
        self.workers = (os.cpu_count() or 1) + 1 if workers is None else workers
        self.source = source
        self.key = checkpoint_key
        self.batch_size = batch_size
        self.console = console or Console(stderr=True)
        self.show_progress = show_progress
        self.index_dir = index_dir or None
        self.report = Report(source)

    def resume_state(self) -> dict | None:
        return self.store.checkpoint(self.source, self.key)

    def run(self, items: Iterable[PaperRecord | LineChunk | Skipped | Checkpoint], *, refresh_index: bool = True) -> Report:
        report = self.report
        started = time.perf_counter()
        pending: list[PaperRecord] = []
        progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.completed:,.0f} records"), TextColumn("[cyan]{task.fields[rate]:,.0f}/s"),
            TextColumn("{task.fields[skipped]:,} skipped"), TimeElapsedColumn(),
            console=self.console, disable=not self.show_progress,
        )  # fmt: skip
        with progress, _fewer_collections(), ExitStack() as stack:
            task = progress.add_task(self.source, total=None, rate=0.0, skipped=0)
            writer: ChunkWriter | None = None

            def show() -> None:
                elapsed = time.perf_counter() - started
                progress.update(task, completed=report.read, rate=report.read / elapsed if elapsed else 0,
                                skipped=report.skipped_total)  # fmt: skip

            def flush(state: dict | None) -> None:
                if pending or state is not None:
                    report.result += self.store.apply(pending, (self.source, self.key, state) if state else None)
                    pending.clear()
                show()

            def written(chunks: list[ChunkDone]) -> None:
                for chunk in chunks:
                    report.result += chunk.result
                    report.read += chunk.records
                    skip(chunk.skipped)
                if chunks:
                    show()

            def skip(items: list[Skipped]) -> None:
                for item in items:
                    report.read += 1
                    report.skipped[_reason_kind(item.reason)] += 1
                    if len(report.examples) < MAX_EXAMPLES:
                        report.examples.append((item.where, item.reason))

            for item in items:
                if isinstance(item, PaperRecord):
                    report.read += 1
                    pending.append(item)
                    if len(pending) >= self.batch_size * 5:  # a source that checkpoints rarely
                        flush(None)
                elif isinstance(item, Skipped):
                    skip([item])
                elif isinstance(item, Checkpoint):
                    flush(item.state)
                elif isinstance(item, LineChunk) and self.workers:
                    if writer is None:
                        flush(None)
                        writer = ChunkWriter(self.store.url, self.source, self.key, self.workers)
                        stack.callback(writer.close)
                    written(writer.submit(item))
                elif isinstance(item, LineChunk):
                    records, skipped = item.parsed()
                    report.read += len(records)
                    pending.extend(records)
                    skip(skipped)
                    flush({"position": item.end})
            if writer is not None:
                written(writer.finish())
            flush(None)
            self.store.clear_checkpoint(self.source, self.key)
        report.seconds = time.perf_counter() - started
        r = report.result
        self.store.record_ingest_run(self.source, read=report.read, inserted=r.inserted, updated=r.updated,
                                     unchanged=r.unchanged, skipped=report.skipped_total, seconds=report.seconds)  # fmt: skip
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


class PapersPerSecond(ProgressColumn):
    def render(self, task) -> Text:
        return Text(f"{task.speed:,.1f} papers/s" if task.speed else "", style="cyan")


def embed_with_progress(store: Store, encoder, console: Console, batch: int = 256, show: bool = True) -> int:
    """Embed the papers whose title or abstract is new or changed, with a progress bar that says the rate
    and the time left (resumable: each batch is committed)."""
    from rich.progress import TimeRemainingColumn

    from ..search.embed import embed_pending, model_key

    threads = getattr(encoder, "threads", None)
    progress = Progress(
        TextColumn(f"[bold]embed[/] ({threads} cores)" if threads else "[bold]embed"), BarColumn(),
        TaskProgressColumn(), TextColumn("{task.completed:,.0f} papers"), PapersPerSecond(), TimeElapsedColumn(),
        TextColumn("left"), TimeRemainingColumn(), console=console, disable=not show,
    )  # fmt: skip
    with progress:
        task = progress.add_task("embed", total=store.count_to_embed(model_key(encoder)))
        return embed_pending(store, encoder, batch=batch, progress=lambda n: progress.advance(task, n))
