"""`dailypapers eval-recs DIR`: how well the reader model ranks a day's feed for a person.

DIR holds `papers.jsonl[.gz]` ({id, title, abstract, authors, published, featured}), `users.jsonl`
({user, positives, negatives, profile_until}) and `tests.jsonl` ({user, day, candidates, relevant}, where
relevant is a list of ids or {id: gain}). Each user's model is trained once from their profile, as the site
trains it from a library: positives are saved papers, negatives dismissed ones, and the background is the
BACKGROUND papers featured last before `profile_until`. In the same run, fixed yardsticks: a seeded random
order, the TF-IDF centroid of the profile, and arxiv-sanity's SVM (scikit-learn, if installed).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import orjson

from ..search.embed import model_key, paper_text
from ..search.evaluate import ndcg_at
from .features import Vocabulary, terms
from .recommend import Library, Paper, train

BACKGROUND = 2000  # as the site samples recent catalog papers for a reader's model
METRICS = ("mrr", "ndcg@3", "ndcg@5", "ndcg@10")


class BenchmarkError(ValueError):
    """The folder is not a readable recommendation benchmark."""


@dataclass
class Benchmark:
    papers: dict[str, Paper]
    featured: dict[str, str]  # paper id -> first feed day
    users: dict[str, dict]
    tests: list[dict]  # relevant as {id: gain}


def _lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise BenchmarkError(f"{path.name} line {number}: not JSON ({exc})") from None
    except (OSError, EOFError) as exc:
        raise BenchmarkError(f"cannot read {path}: {exc}") from None


def load(folder: Path) -> Benchmark:
    found = [folder / name for name in ("papers.jsonl", "papers.jsonl.gz") if (folder / name).exists()]
    for needed in ("users.jsonl", "tests.jsonl"):
        if not (folder / needed).exists():
            raise BenchmarkError(f"{folder / needed} is missing")
    if not found:
        raise BenchmarkError(f"{folder} has no papers.jsonl or papers.jsonl.gz")
    papers, featured = {}, {}
    try:
        for p in _lines(found[0]):
            papers[p["id"]] = Paper(p["id"], p["title"] or "", p.get("abstract"), list(p.get("authors") or []))
            featured[p["id"]] = p.get("featured") or p.get("published") or ""
        users = {u["user"]: u for u in _lines(folder / "users.jsonl")}
        tests = []
        for t in _lines(folder / "tests.jsonl"):
            relevant = t["relevant"] if isinstance(t["relevant"], dict) else dict.fromkeys(t["relevant"], 1)
            tests.append(dict(t, relevant={str(k): float(v) for k, v in relevant.items()}))
            if t["user"] not in users:
                raise BenchmarkError(f"tests.jsonl: user {t['user']!r} is not in users.jsonl")
    except (KeyError, TypeError, AttributeError) as exc:
        raise BenchmarkError(f"a line lacks a field or has the wrong shape: {exc!r}") from None
    for user in users.values():
        for paper_id in [*user.get("positives", []), *user.get("negatives", [])]:
            if paper_id not in papers:
                raise BenchmarkError(f"users.jsonl: {user['user']}'s paper {paper_id} is not in {found[0].name}")
    for test in tests:
        for paper_id in test["candidates"]:
            if paper_id not in papers:
                raise BenchmarkError(f"tests.jsonl: candidate {paper_id} is not in {found[0].name}")
    return Benchmark(papers, featured, users, tests)


def reciprocal_rank(ranked: list[str], relevant: dict[str, float]) -> float:
    return next((1 / (n + 1) for n, paper_id in enumerate(ranked) if relevant.get(paper_id, 0) > 0), 0.0)


def figures(rankings: list[tuple[list[str], dict[str, float]]]) -> dict[str, float]:
    totals = dict.fromkeys(METRICS, 0.0)
    for ranked, relevant in rankings:
        totals["mrr"] += reciprocal_rank(ranked, relevant)
        for k in (3, 5, 10):
            totals[f"ndcg@{k}"] += ndcg_at(ranked, relevant, k)
    return {name: round(value / max(len(rankings), 1), 4) for name, value in totals.items()}


def ranked_by(candidates: list[str], scores) -> list[str]:
    """Highest score first; ties keep the candidates' order."""
    return [candidates[n] for n in np.argsort(-np.asarray(scores, np.float64), kind="stable")]


def background_for(bench: Benchmark, user: dict) -> list[str]:
    profile = set(user.get("positives", [])) | set(user.get("negatives", []))
    before = sorted((day, paper_id) for paper_id, day in bench.featured.items()
                    if day < user["profile_until"] and paper_id not in profile)  # fmt: skip
    return [paper_id for _, paper_id in before[-BACKGROUND:]]


Scorer = Callable[[dict, list[str]], np.ndarray]  # (user, candidate ids) -> scores


def recommender(bench: Benchmark) -> Scorer:
    models = {}

    def score(user: dict, candidates: list[str]) -> np.ndarray:
        if user["user"] not in models:
            library = Library(saved=[bench.papers[i] for i in user.get("positives", [])],
                              dismissed=[bench.papers[i] for i in user.get("negatives", [])])  # fmt: skip
            models[user["user"]] = train(library, [bench.papers[i] for i in background_for(bench, user)])
        return models[user["user"]].score([bench.papers[i] for i in candidates])

    return score


def random_order(seed: int = 0) -> Scorer:
    def score(user: dict, candidates: list[str]) -> np.ndarray:
        rng = random.Random(f"{seed} {user['user']} {' '.join(candidates)}")
        return np.array([rng.random() for _ in candidates])

    return score


def reference_centroid(bench: Benchmark) -> Scorer:
    """Cosine to the mean TF-IDF row of the profile (title + abstract), idf over every paper."""
    ids = list(bench.papers)
    docs = [terms(f"{p.title}. {p.abstract or ''}") for p in bench.papers.values()]
    vocab = Vocabulary(docs)
    position = {paper_id: n for n, paper_id in enumerate(ids)}
    dense = {}

    def score(user: dict, candidates: list[str]) -> np.ndarray:
        if user["user"] not in dense:
            profile = vocab.rows([docs[position[i]] for i in user.get("positives", [])])
            centroid = profile.tdot(np.ones(len(profile), np.float32))
            dense[user["user"]] = centroid / (np.linalg.norm(centroid) or 1.0)
        return vocab.rows([docs[position[i]] for i in candidates]).dot(dense[user["user"]])

    return score


def reference_svm(bench: Benchmark) -> Scorer | None:
    """arxiv-sanity-lite's ranking: TF-IDF of title, abstract and author names over every paper, a LinearSVC
    per user with their papers positive and every other paper negative, ranked by its decision function."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC
    except ImportError:
        return None
    ids = list(bench.papers)
    position = {paper_id: n for n, paper_id in enumerate(ids)}
    vectorizer = TfidfVectorizer(input="content", encoding="utf-8", decode_error="replace", strip_accents="unicode",
                                 lowercase=True, analyzer="word", stop_words="english",
                                 token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2),
                                 max_features=20000, norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True,
                                 max_df=0.1, min_df=5)  # fmt: skip
    x = vectorizer.fit_transform(" ".join([p.title, p.abstract or "", " ".join(p.authors)]) for p in bench.papers.values())
    fitted = {}

    def score(user: dict, candidates: list[str]) -> np.ndarray:
        if user["user"] not in fitted:
            y = np.zeros(len(ids))
            y[[position[i] for i in user.get("positives", [])]] = 1
            clf = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01)
            fitted[user["user"]] = clf.fit(x, y)
        return fitted[user["user"]].decision_function(x[[position[i] for i in candidates]])

    return score


def without_authors(bench: Benchmark) -> Benchmark:
    return replace(bench, papers={i: replace(p, authors=[]) for i, p in bench.papers.items()})


def with_vectors(bench: Benchmark, vectors: dict[str, np.ndarray]) -> Benchmark:
    return replace(bench, papers={i: replace(p, vector=vectors.get(i)) for i, p in bench.papers.items()})


def embed_papers(bench: Benchmark, encoder, cache: Path, progress=None, batch: int = 64) -> dict[str, np.ndarray]:
    """Every paper's embedding, as the site makes it (`paper_text`), kept under `cache` in a file named
    after the papers' texts and the model. Each batch is saved as it is made (write, then rename), so an
    interrupted run resumes where it stopped."""
    ids = list(bench.papers)
    texts = [paper_text(bench.papers[i].title, bench.papers[i].abstract) for i in ids]
    key = hashlib.blake2b(("\n".join(texts) + model_key(encoder)).encode(), digest_size=12).hexdigest()
    path = cache / f"recs-vectors-{key}.npz"
    if path.exists():
        with np.load(path) as saved:
            matrix, done = saved["vectors"], saved["done"]
    else:
        matrix, done = np.zeros((len(ids), encoder.dim), np.float32), np.zeros(len(ids), bool)
    if progress:
        progress(int(done.sum()), len(ids))
    todo = np.flatnonzero(~done)
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        matrix[chunk] = encoder.encode([texts[n] for n in chunk])
        done[chunk] = True
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part.npz")
        np.savez(partial, vectors=matrix, done=done)
        os.replace(partial, path)
        if progress:
            progress(len(chunk), None)
    return {paper_id: matrix[n] for n, paper_id in enumerate(ids)}


def evaluate(folder: Path, *, hide_authors: bool = False, vectors: dict[str, np.ndarray] | None = None,
             seed: int = 0) -> dict:  # fmt: skip
    """Figures for "recommender", "reference_svm" (None without scikit-learn), "reference_centroid" and
    "random", and the number of tests. `vectors`: embeddings by paper id, for the papers that have one."""
    bench = load(folder)
    if hide_authors:
        bench = without_authors(bench)
    if vectors:
        bench = with_vectors(bench, vectors)
    scorers = {"recommender": recommender(bench), "reference_svm": reference_svm(bench),
               "reference_centroid": reference_centroid(bench), "random": random_order(seed)}  # fmt: skip
    results: dict = {}
    for name, scorer in scorers.items():
        if scorer is None:
            results[name] = None
            continue
        rankings = []
        for test in bench.tests:
            candidates = list(test["candidates"])
            rankings.append((ranked_by(candidates, scorer(bench.users[test["user"]], candidates)), test["relevant"]))
        results[name] = figures(rankings)
    results["tests"] = len(bench.tests)
    return results
