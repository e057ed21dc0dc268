"""Hybrid search's fusion (search/fusion.py): by score, leaning on the keyword side when it is sure."""

from dailypapers.search.fusion import FUSE_DEPTH, fuse, keyword_weight


def test_a_keyword_answer_that_stands_out_stays_first():
    # A pasted sentence: BM25 scores its paper far above the rest; the embedding puts it fourth.
    keyword = [("pasted", 60.0), ("b", 21.0), ("c", 20.0), ("d", 19.0)]
    meaning = [("x", 0.71), ("y", 0.70), ("z", 0.69), ("pasted", 0.68), ("b", 0.40)]
    assert fuse(keyword, meaning)[0] == "pasted"
    assert keyword_weight(keyword) > 0.5


def test_a_flat_keyword_list_lets_meaning_decide():
    # A vague question: many papers share its common words about equally.
    keyword = [(f"k{n}", 10.0 - n * 0.05) for n in range(20)] + [("meant", 9.0)]
    meaning = [("meant", 0.80), ("k5", 0.55), ("k0", 0.50)]
    assert keyword_weight(keyword, meaning) < 0.5
    assert fuse(keyword, meaning)[0] == "meant"


def test_the_meaning_side_counts_more_the_more_its_best_stands_out():
    keyword = [(f"k{n}", 10.0 - n * 0.5) for n in range(20)]
    flat = [(f"m{n}", 0.60 - n * 0.002) for n in range(50)]
    sure = [("m0", 0.75)] + flat[1:]
    assert keyword_weight(keyword, sure) < keyword_weight(keyword, flat) <= keyword_weight(keyword)
    assert keyword_weight(keyword, flat) > 0.5  # neither side sure: the words count a little more


def test_papers_found_by_both_sides_beat_those_found_by_one():
    keyword = [("words", 10.0), ("both", 9.5)] + [(f"k{n}", 9.0 - n * 0.2) for n in range(20)]
    meaning = [("meaning", 0.81), ("both", 0.80)] + [(f"m{n}", 0.5 - n * 0.01) for n in range(20)]
    assert fuse(keyword, meaning)[0] == "both"


def test_every_paper_of_either_side_is_kept_once_and_the_order_is_deterministic():
    keyword = [("a", 3.0), ("b", 3.0), ("c", 1.0)]
    meaning = [("c", 0.9), ("d", 0.9), ("a", 0.2)]
    fused = fuse(keyword, meaning)
    assert sorted(fused) == ["a", "b", "c", "d"] and fused == fuse(list(keyword), list(meaning))
    assert fuse([], meaning) == ["c", "d", "a"] and fuse(keyword, []) == ["a", "b", "c"]
    assert fuse([], []) == []


def test_the_first_page_does_not_depend_on_how_deep_the_lists_were_read():
    keyword = [(f"k{n}", 100.0 - n) for n in range(120)]
    meaning = [(f"k{(n * 7) % 120}", 0.9 - n * 0.005) for n in range(120)]
    shallow = fuse(keyword[:FUSE_DEPTH], meaning[:FUSE_DEPTH])
    deep = fuse(keyword, meaning)
    assert deep[:20] == shallow[:20]
