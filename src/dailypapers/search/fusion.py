"""Reciprocal-rank fusion: how hybrid search combines the lexical and the semantic ranking.

score(paper) = Σ over the rankings that hold it of 1 / (RRF_K + rank), rank counted from 1; each ranking
contributes its top FUSE_DEPTH. Ranks, not scores, are fused: BM25 scores and cosine similarities are on
scales that do not compare.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

RRF_K = 60
FUSE_DEPTH = 50


def fuse(*rankings: Sequence[Hashable], k: int = RRF_K, depth: int = FUSE_DEPTH) -> list:
    scores: dict = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking[:depth], start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])
