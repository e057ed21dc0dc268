"""What a source yields besides records: an input it skipped, and a position to resume from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Skipped:
    where: str  # e.g. "line 12" or "2025-10-02 item 3"
    reason: str


@dataclass
class Checkpoint:
    state: dict  # what the source needs to resume after everything yielded so far
