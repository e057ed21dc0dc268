"""The reader model (rank/recommend.py) and `dailypapers eval-recs`."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import ROOT, dailypapers_cmd, shared_data
from dailypapers.cli import main
from dailypapers.rank.recommend import Library, Paper, ReaderModel, train

RECS = ROOT / "tests" / "data" / "recs"
HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None

VISION = [
    ("Convolutional networks for image segmentation", "We segment images with a convolutional network and pixel labels."),
    ("Object detection in images with vision transformers", "A vision transformer detects objects in images."),
    ("Self-supervised image features for segmentation", "Image features learned without labels improve segmentation."),
    ("Video object segmentation with image transformers", "Pixel-level segmentation of objects in video frames."),
]
LANGUAGE = [
    ("Language models that follow instructions", "We fine-tune a large language model on instructions and dialogue."),
    ("Retrieval for question answering with language models", "A retriever finds passages that a language model reads."),
    ("Tokenization of multilingual text for translation", "Subword tokens for machine translation of many languages."),
    ("Reasoning chains in large language models", "Prompting a language model to reason step by step on math."),
]
SPEECH = [
    ("Speech recognition with audio transformers", "Transcribing spoken audio with an acoustic model."),
    ("Text to speech synthesis of expressive voices", "Synthesising speech audio from text with prosody."),
]


def papers(kind: str, texts, authors=("Ann Other",)) -> list[Paper]:
    return [Paper(f"{kind}-{n}", title, abstract, list(authors)) for n, (title, abstract) in enumerate(texts)]


def background() -> list[Paper]:
    return papers("bg-vision", VISION) + papers("bg-language", LANGUAGE) + papers("bg-speech", SPEECH)


def test_a_reader_who_saves_vision_papers_gets_vision_first():
    model = train(Library(saved=papers("saved", VISION[:3])), background())
    candidates = papers("new-language", LANGUAGE[2:]) + papers("new-vision", VISION[3:]) + papers("new-speech", SPEECH)
    scores = model.score(candidates)
    assert candidates[int(np.argmax(scores))].id == "new-vision-0"
    reasons = model.explain(candidates[2])
    assert reasons.closest and reasons.closest[0][0].startswith("saved-")
    assert set(reasons.terms) & {"segmentation", "image", "images", "objects", "pixel", "transformers"}
    assert "segmentation" in model.query_terms() or "image" in model.query_terms()
    assert model.query_vector() is None  # no vectors given


def test_dismissing_a_paper_drops_its_neighbours():
    saved = papers("saved", VISION[:2] + LANGUAGE[:2])
    candidates = papers("new-speech", SPEECH) + papers("new-vision", VISION[2:])
    before = train(Library(saved=saved), background()).score(candidates)
    dismissed = [Paper("dismissed", "Speech recognition of spoken audio", "An acoustic model transcribes speech audio.", [])]
    after = train(Library(saved=saved, dismissed=dismissed), background()).score(candidates)
    # both speech papers fell against both vision papers (scores are on the background's scale)
    for speech in (0, 1):
        for vision in (2, 3):
            assert after[speech] - after[vision] < before[speech] - before[vision]
    assert max(after[:2]) < min(after[2:])


def test_a_followed_author_ranks_up_and_is_named():
    saved = papers("saved", VISION[:3])
    followed = Paper("by-followed", *LANGUAGE[3], ["Grace Hopper", "Someone Else"])
    other = Paper("other", *LANGUAGE[2], ["Someone Else"])
    plain = train(Library(saved=saved), background())
    follows = train(Library(saved=saved, authors=frozenset({"Grace Hopper"})), background())
    assert follows.score([followed, other])[0] > follows.score([followed, other])[1]
    assert follows.score([followed])[0] > plain.score([followed])[0]
    assert follows.explain(followed).authors[0] == "Grace Hopper"
    org = Paper("org-paper", *SPEECH[0], [], organization="openlab")
    by_org = train(Library(saved=saved, organizations=frozenset({"openlab"})), background())
    assert by_org.explain(org).organization == "openlab"
    assert by_org.score([org])[0] > plain.score([org])[0]


def test_coauthors_of_saved_papers_rank_up():
    saved = papers("saved", VISION[:2], authors=("Ada Lovelace", "Alan Turing"))
    candidates = [Paper("a", *LANGUAGE[0], ["Alan Turing"]), Paper("b", *VISION[2], ["Nobody"])]
    model = train(Library(saved=saved), background())
    assert model.score(candidates)[0] > model.score(candidates)[1]
    assert model.explain(candidates[0]).authors == ["Alan Turing"]


def test_a_lead_author_counts_more_than_a_middle_author_of_a_long_list():
    saved = papers("saved", VISION[:2], authors=("Ada Lovelace", "Alan Turing"))
    model = train(Library(saved=saved), background())
    crowd = [f"Member {n}" for n in range(28)]
    leads = Paper("leads", *LANGUAGE[0], ["Ada Lovelace", *crowd[:3]])
    last = Paper("last", *LANGUAGE[0], [*crowd[:3], "Ada Lovelace"])
    middle_of_few = Paper("middle-of-few", *LANGUAGE[0], [crowd[0], "Ada Lovelace", *crowd[1:3]])
    middle_of_many = Paper("middle-of-many", *LANGUAGE[0], [*crowd[:14], "Ada Lovelace", *crowd[14:]])
    nobody = Paper("nobody", *LANGUAGE[0], crowd)
    scores = model.score([leads, last, middle_of_few, middle_of_many, nobody])
    assert scores[0] == scores[1] == scores[2]  # up to FULL_CREDIT_AUTHORS, every place counts fully
    assert scores[2] > scores[3] > scores[4]  # in a long list, a middle author counts less, but still counts
    assert model.explain(middle_of_many).authors == ["Ada Lovelace"]


def test_rank_is_score_and_explain_in_one_pass():
    saved = papers("saved", VISION[:2], authors=("Ada Lovelace",))
    model = train(Library(saved=saved, authors=frozenset({"Grace Hopper"})), background())
    candidates = papers("new", LANGUAGE + SPEECH + VISION[2:]) + [Paper("by-ada", *LANGUAGE[1], ["Grace Hopper", "Ada Lovelace"])]
    scores = model.score(candidates)
    ranked = model.rank(candidates, 4)
    assert [i for i, _, _ in ranked] == np.argsort(-scores, kind="stable")[:4].tolist()
    assert ranked[0][0] == len(candidates) - 1 and ranked[0][2].authors == ["Grace Hopper", "Ada Lovelace"]
    for i, score, why in ranked:
        assert score == pytest.approx(float(scores[i])) and why == model.explain(candidates[i])


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return v / np.linalg.norm(v)


def test_vectors_are_used_when_papers_have_them():
    topic = unit(1)
    near = [(topic + 0.3 * unit(10 + n)) / np.linalg.norm(topic + 0.3 * unit(10 + n)) for n in range(6)]
    saved = [Paper(f"s{n}", "A paper", "Words shared by every paper.", [], vector=near[n]) for n in range(3)]
    bg = [Paper(f"b{n}", "A paper", "Words shared by every paper.", [], vector=unit(100 + n)) for n in range(20)]
    model = train(Library(saved=saved), bg)
    candidates = [Paper("far", "A paper", "Words shared by every paper.", [], vector=unit(7)),
                  Paper("close", "A paper", "Words shared by every paper.", [], vector=near[5]),
                  Paper("no-vector", "A paper", "Words shared by every paper.", [])]  # fmt: skip
    scores = model.score(candidates)
    assert scores[1] > scores[0]
    assert float(model.query_vector() @ near[5]) > 0.5
    assert model.explain(candidates[1]).closest[0][0].startswith("s")


@pytest.mark.parametrize("with_vectors", [False, True])
def test_a_model_round_trips_through_bytes(with_vectors):
    rng = np.random.default_rng(0)

    def vector():
        v = rng.standard_normal(384).astype(np.float32)
        return v / np.linalg.norm(v) if with_vectors else None

    saved = [Paper(p.id, p.title, p.abstract, ["Ada Lovelace"], vector=vector()) for p in papers("saved", VISION[:3])]
    bg = [Paper(p.id, p.title, p.abstract, p.authors, vector=vector()) for p in background()]
    library = Library(saved=saved, dismissed=papers("no", SPEECH[:1]), authors=frozenset({"Grace Hopper"}),
                      organizations=frozenset({"openlab"}))  # fmt: skip
    model = train(library, bg)
    data = model.to_bytes()
    assert not data.startswith(b"\x80")  # not a pickle
    copy = ReaderModel.from_bytes(data)
    candidates = [Paper(p.id, p.title, p.abstract, ["Ada Lovelace", "Grace Hopper"], "openlab", vector())
                  for p in papers("new", LANGUAGE + VISION)]  # fmt: skip
    assert np.array_equal(model.score(candidates), copy.score(candidates))
    assert model.query_terms() == copy.query_terms()
    assert model.explain(candidates[5]).terms == copy.explain(candidates[5]).terms
    if with_vectors:
        assert np.array_equal(model.query_vector(), copy.query_vector())


def test_eval_recs_prints_every_figure_as_json():
    result = CliRunner().invoke(main, ["eval-recs", str(RECS), "--no-vectors", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert set(figures) == {"recommender", "reference_svm", "reference_centroid", "random", "tests"}
    assert figures["tests"] == 12
    for name in ("recommender", "reference_centroid", "random"):
        assert set(figures[name]) == {"mrr", "ndcg@3", "ndcg@5", "ndcg@10"}
        assert all(0 <= v <= 1 for v in figures[name].values())
    if HAS_SKLEARN:
        assert set(figures["reference_svm"]) == {"mrr", "ndcg@3", "ndcg@5", "ndcg@10"}
    else:
        assert figures["reference_svm"] is None
    assert figures["recommender"]["mrr"] > figures["random"]["mrr"]
    again = json.loads(CliRunner().invoke(main, ["eval-recs", str(RECS), "--no-vectors", "--json"]).output)
    assert again == figures  # deterministic, the random order included


def test_eval_recs_hides_authors_and_takes_graded_gains(tmp_path):
    for name in ("papers.jsonl.gz", "users.jsonl"):
        (tmp_path / name).write_bytes((RECS / name).read_bytes())
    with open(RECS / "tests.jsonl") as src, open(tmp_path / "tests.jsonl", "w") as dst:
        for line in src:
            test = json.loads(line)
            test["relevant"] = {paper_id: 2 for paper_id in test["relevant"]}
            dst.write(json.dumps(test) + "\n")
    graded = json.loads(CliRunner().invoke(main, ["eval-recs", str(tmp_path), "--no-vectors", "--json"]).output)
    binary = json.loads(CliRunner().invoke(main, ["eval-recs", str(RECS), "--no-vectors", "--json"]).output)
    assert graded["recommender"] == binary["recommender"]  # all gains equal: the same figures
    hidden = json.loads(CliRunner().invoke(main, ["eval-recs", str(RECS), "--no-vectors", "--json", "--without-authors"]).output)
    assert hidden["recommender"]["mrr"] < binary["recommender"]["mrr"]
    assert hidden["random"] == binary["random"]


def test_eval_recs_table_and_bad_input(tmp_path):
    result = CliRunner().invoke(main, ["eval-recs", str(RECS), "--no-vectors"])
    assert result.exit_code == 0 and "recommender" in result.output and "reference_centroid" in result.output
    missing = CliRunner().invoke(main, ["eval-recs", str(tmp_path), "--no-vectors"])
    assert missing.exit_code == 1 and "users.jsonl is missing" in missing.output
    for name in ("papers.jsonl.gz", "users.jsonl"):
        (tmp_path / name).write_bytes((RECS / name).read_bytes())
    (tmp_path / "tests.jsonl").write_text('{"user": "BestWishYsh", "day": "2025-04-16", "candidates": [\n')
    malformed = CliRunner().invoke(main, ["eval-recs", str(tmp_path), "--no-vectors"])
    assert malformed.exit_code == 1 and "tests.jsonl line 1" in malformed.output
    assert len(malformed.output.strip().splitlines()) == 1


@pytest.mark.shared
@pytest.mark.slow
def test_eval_recs_beats_arxiv_sanity_on_the_shared_set():
    """On all 303 test days, with the words alone (the embeddings take minutes to compute and a cache): above
    arxiv-sanity's SVM in both modes. The floors are what the words alone reach (MRR 0.631 and 0.942; with
    the embeddings 0.649 and 0.950, the issue's targets being 0.64 and 0.95)."""
    folder = shared_data("recs-hf-submitters")
    figures = {}
    for mode in ([], ["--without-authors"]):
        out = subprocess.run([*dailypapers_cmd(), "eval-recs", str(folder), "--no-vectors", "--json", *mode],
                             capture_output=True, text=True, check=True)  # fmt: skip
        figures[bool(mode)] = json.loads(out.stdout)
    for hidden, floor in ((False, 0.93), (True, 0.62)):
        ours, svm = figures[hidden]["recommender"], figures[hidden]["reference_svm"]
        assert ours["mrr"] >= floor
        if svm is not None:
            assert ours["mrr"] > svm["mrr"]


class FakeEncoder:
    name, version, dim = "fake", "1", 384

    def __init__(self, stop_after: int | None = None):
        self.encoded, self.stop_after = 0, stop_after

    def encode(self, texts):
        if self.stop_after is not None and self.encoded >= self.stop_after:
            raise KeyboardInterrupt
        self.encoded += len(texts)
        return np.stack([unit(len(t)) for t in texts])


def test_embedding_the_benchmark_is_cached_and_resumes(tmp_path):
    from dailypapers.rank.evaluate_recs import embed_papers, evaluate, load

    bench = load(RECS)
    with pytest.raises(KeyboardInterrupt):
        embed_papers(bench, FakeEncoder(stop_after=128), tmp_path, batch=64)
    rest = FakeEncoder()
    vectors = embed_papers(bench, rest, tmp_path, batch=64)
    assert rest.encoded == len(bench.papers) - 128  # the first two batches were kept
    again = FakeEncoder()
    assert all(np.array_equal(vectors[i], v) for i, v in embed_papers(bench, again, tmp_path).items())
    assert again.encoded == 0
    figures = evaluate(RECS, vectors=vectors)
    assert figures["recommender"]["mrr"] > figures["random"]["mrr"]
