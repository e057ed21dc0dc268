"""The bundled demo sample (dailypapers/data, made by scripts/make_demo_sample.py), loaded the way any ingest is.

The Hugging Face Daily Papers sample goes in first, then the arXiv cs sample's records of the same papers,
which merge with them (store/merge.py): arXiv's title, abstract, authors and dates, and the categories
Hugging Face does not give. scripts/make_demo_vectors.py embeds the text that results.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from rich.console import Console

from ..store import Store
from . import arxiv_snapshot, hf_daily
from .runner import Report, Runner

HF_SAMPLE = "demo_sample.jsonl.gz"
ARXIV_SAMPLE = "demo_arxiv.jsonl.gz"
VECTORS = "demo_vectors.npz"
FILES = (("hf-daily", hf_daily, HF_SAMPLE), ("arxiv-snapshot", arxiv_snapshot, ARXIV_SAMPLE))


@dataclass
class Loaded:
    papers: int  # in the database afterwards
    daily: Report  # the Hugging Face sample's
    arxiv: Report  # the arXiv records'

    def summary(self, embeddings: int | None) -> str:
        """One line: what was loaded, what was skipped and why, and how many embeddings came with it."""
        daily, arxiv = self.daily, self.arxiv
        line = (f"Loaded {self.papers:,} papers ({daily.read:,} read, {daily.skipped_total:,} skipped) and "
                f"{arxiv.read - arxiv.skipped_total:,} arXiv records with categories ({arxiv.skipped_total:,} skipped); "
                + (f"{embeddings:,} embeddings" if embeddings is not None else "no embeddings (semantic search is off)"))  # fmt: skip
        reasons = [f"{count:,} {reason}" for report in (daily, arxiv) for reason, count in report.skipped.most_common()]
        return line + (f". Skipped: {'; '.join(reasons)}" if reasons else "")


def load(store: Store, console: Console, *, index_dir: str | None = None, show_progress: bool = True) -> Loaded:
    """Ingest the bundled sample into `store` (without refreshing the search indexes)."""
    reports = []
    for source, module, name in FILES:
        with resources.as_file(resources.files("dailypapers.data") / name) as path:
            runner = Runner(store, source, f"demo|{name}", console=console, index_dir=index_dir, show_progress=show_progress)
            reports.append(runner.run(module.read_file(path), refresh_index=False))
    return Loaded(store.count_papers(), *reports)
