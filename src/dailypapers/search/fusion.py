"""How hybrid search fuses the keyword and the meaning ranking: by score, leaning on the side that is sure.

Each side's top FUSE_DEPTH scores are scaled to [0, 1] over that list (BM25 and cosine similarity are on
scales that do not compare), and a paper scores `w * keyword + (1 - w) * meaning`, 0 on a side that did
not find it. The keyword weight `w` (`keyword_weight`) grows with how far the best keyword score stands
above the third best, and shrinks with how far the best meaning score does: a pasted sentence or an exact
title gives one paper a BM25 score well above the rest, and that paper stays first; a vague question gives
a flat keyword list, and meaning decides; when both are flat, both count. The weights were chosen on
SciFact (test and train) and the four sets of scripts/make_search_sets.py, for the best average gain over
the better side with no set more than 0.005 below it, and hold for the vectors of both encoders.

Reciprocal-rank fusion, used before, kept ranks and threw the scores away: a paper that BM25 scored twice
as high as the next counted as much as a narrow lead, and semantic near-misses pulled it down (known-item
queries: keyword MRR@10 0.99, fused 0.86). Measured with `dailypapers eval` (README, "Measuring search
quality").
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

FUSE_DEPTH = 50  # results read from each side
BASE_WEIGHT = 0.55  # the keyword side's weight when neither side's best stands out
KEYWORD_LEAD = 1.25  # added per unit of the keyword side's lead: (s1 - s3) / s1
MEANING_LEAD = 0.4  # taken per unit of the meaning side's lead: (s1 - s3) / (s1 - s50)
LEAD_OVER = 3  # a lead is measured over the third best: the second is often a sibling paper (a follow-up)
MAX_WEIGHT = 0.95  # meaning always counts for something

Scored = Sequence[tuple[Hashable, float]]


def keyword_weight(keyword: Scored, meaning: Scored = ()) -> float:
    """BM25 scores start at 0, so the keyword lead is relative to the best score; cosine similarities of
    one query sit in a narrow band, so the meaning lead is relative to the spread of its top list."""
    if not keyword:
        return 0.0
    best, third = keyword[0][1], keyword[min(LEAD_OVER, len(keyword)) - 1][1]
    lead = (best - third) / best if len(keyword) > 1 and best > 0 else 1.0
    weight = BASE_WEIGHT + KEYWORD_LEAD * lead
    if len(meaning) >= LEAD_OVER:
        best, third, last = meaning[0][1], meaning[LEAD_OVER - 1][1], meaning[:FUSE_DEPTH][-1][1]
        weight -= MEANING_LEAD * ((best - third) / (best - last) if best > last else 0.0)
    return min(max(weight, 0.0), MAX_WEIGHT)


def _scaled(scored: Scored) -> dict:
    """Scores scaled so that the best is 1 and the FUSE_DEPTH-th is 0, as are deeper ones (read for a later
    page): the first page's order does not depend on how deep the lists were read."""
    if not scored:
        return {}
    high, low = scored[0][1], scored[:FUSE_DEPTH][-1][1]
    if high <= low:
        return {item: 1.0 for item, _ in scored[:FUSE_DEPTH]}
    return {item: max((score - low) / (high - low), 0.0) for item, score in scored}


def fuse(keyword: Scored, meaning: Scored) -> list:
    """Items of both (item, score) lists, each best first, in fused order (ties: keyword rank, then meaning)."""
    weight = keyword_weight(keyword, meaning)
    a, b = _scaled(keyword), _scaled(meaning)
    first: dict = {}
    for n, (item, _) in enumerate([*keyword, *meaning]):
        first.setdefault(item, n)
    return sorted(first, key=lambda item: (-(weight * a.get(item, 0.0) + (1 - weight) * b.get(item, 0.0)), first[item]))
