"""Pure helpers for the reader model (rank/recommend.py): words, term weights, sparse rows, author names.

Text is cut into words the way arxiv-sanity-lite's TF-IDF does (lowercased, accents stripped, a word
starts with a letter, English stop words dropped) and into word pairs; a document is a sparse row of
sublinear tf × idf, L2-normalised. Rows are kept as (term ids, weights) arrays; a batch of rows is a small
CSR matrix in plain numpy (indptr, indices, data), which is all a linear model over ~2k papers needs.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"[a-z_][a-z0-9_]+")

# A compact English stop list (scikit-learn's, less the rare words that never reach an abstract).
STOP_WORDS = frozenset("""
a about above across after afterwards again against all almost alone along already also although always am among
amongst amount an and another any anyhow anyone anything anyway anywhere are around as at back be became because
become becomes becoming been before beforehand behind being below beside besides between beyond both bottom but by
can cannot could de describe detail do done down due during each eg eight either eleven else elsewhere enough etc
even ever every everyone everything everywhere except few fifteen fifty fill find first five for former formerly
forty found four from front full further get give go had has hasnt have he hence her here hereafter hereby herein
hereupon hers herself him himself his how however hundred i ie if in inc indeed interest into is it its itself keep
last latter latterly least less ltd made many may me meanwhile might mill mine more moreover most mostly move much
must my myself name namely neither never nevertheless next nine no nobody none noone nor not nothing now nowhere of
off often on once one only onto or other others otherwise our ours ourselves out over own part per perhaps please
put rather re same see seem seemed seeming seems serious several she should show side since six sixty so some
somehow someone something sometime sometimes somewhere still such take ten than that the their them themselves then
thence there thereafter thereby therefore therein thereupon these they thick thin third this those though three
through throughout thru thus to together too top toward towards twelve twenty two un under until up upon us very via
was we well were what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever
whether which while whither who whoever whole whom whose why will with within without would yet you your yours
yourself yourselves
""".split())


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return [w for w in _WORD.findall(text) if w not in STOP_WORDS]


def terms(text: str) -> Counter:
    """Words and adjacent word pairs ("diffusion model") of a text, with their counts."""
    ws = words(text)
    return Counter(ws + [f"{a} {b}" for a, b in zip(ws, ws[1:])])


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light plural stemmer ("models" and "model", "studies" and "study" match); other endings stay."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("sses"):
        return word[:-2]
    if len(word) > 4 and word.endswith("es") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def stemmed_terms(text: str) -> Counter:
    """`terms` of a text with each word stemmed."""
    ws = [stem(w) for w in words(text)]
    return Counter(ws + [f"{a} {b}" for a, b in zip(ws, ws[1:])])


_PAGES = re.compile(r"([a-z0-9-]+)\.github\.io\b")
_REPOSITORY = re.compile(r"\b(github\.com|gitlab\.com|huggingface\.co)((?:/[a-z0-9_.-]+){1,2})")


def links(text: str) -> set[str]:
    """The code and model homes a text links to, by owner: "github.com/owner", "huggingface.co/owner",
    "owner.github.io" (a team's project pages and repositories, which its papers keep citing)."""
    text = text.lower()
    if "github" not in text and "gitlab" not in text and "huggingface" not in text:
        return set()
    found = {f"{owner}.github.io" for owner in _PAGES.findall(text)}
    for host, path in _REPOSITORY.findall(text):
        parts = [x for x in path.split("/") if x]
        if host == "huggingface.co" and parts[0] in ("datasets", "spaces", "models", "collections"):
            parts = parts[1:]
        if parts and parts[0] not in ("papers", "blog", "docs"):
            found.add(f"{host}/{parts[0].rstrip('.')}")
    return found


def author_key(name: str) -> str:
    """A name as compared across papers: accents, case, dots and spacing do not matter."""
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", name))


class Vocabulary:
    """Term ids and inverse document frequencies, learned from a set of documents (term Counters).

    Terms seen in fewer than `min_df` documents are not kept, except those in `always` (a reader's saved
    papers): a rare term weighs as an unseen one, which changes a paper's norm by a hair and keeps a
    reader's model small."""

    def __init__(self, docs: Sequence[Counter], min_df: int = 1, always: Iterable[str] = (), idf_power: float = 1.0):
        df: Counter = Counter()
        for doc in docs:
            df.update(doc.keys())
        kept = set(always)
        self.terms = [t for t, c in df.items() if c >= min_df or t in kept]
        self.ids = {t: i for i, t in enumerate(self.terms)}
        self.df = np.fromiter((df[t] for t in self.terms), np.int64, len(self.terms))
        # smooth idf, as scikit-learn's TfidfVectorizer; an unknown term weighs as one seen once
        # (idf_power > 1 sharpens it: rare terms, such as a method's name, weigh more)
        self.idf = ((np.log((1 + len(docs)) / (1 + self.df)) + 1) ** idf_power).astype(np.float32)
        self.unseen_idf = float(np.float32((math.log((1 + len(docs)) / 2) + 1) ** idf_power))

    @classmethod
    def from_arrays(cls, terms: list[str], idf: np.ndarray, unseen_idf: float) -> Vocabulary:
        vocab = cls.__new__(cls)
        vocab.terms, vocab.idf, vocab.unseen_idf = list(terms), np.asarray(idf, np.float32), float(unseen_idf)
        vocab.ids = {t: i for i, t in enumerate(vocab.terms)}
        return vocab

    def rows(self, docs: Sequence[Counter]) -> Rows:
        """Documents as sparse rows: sublinear tf × idf, L2-normalised over all of a document's terms
        (unknown ones included, so a paper full of unfamiliar words scores lower, not higher)."""
        lengths = np.fromiter((len(d) for d in docs), np.int64, len(docs))
        total = int(lengths.sum())
        ids = np.fromiter((self.ids.get(t, -1) for d in docs for t in d), np.int64, total)
        counts = np.fromiter((c for d in docs for c in d.values()), np.float32, total)
        known = ids >= 0
        weights = (1 + np.log(counts)) * np.where(known, self.idf[np.maximum(ids, 0)] if len(self.idf) else 0,
                                                  np.float32(self.unseen_idf))  # fmt: skip
        row_of = np.repeat(np.arange(len(docs)), lengths)
        norms = np.sqrt(np.bincount(row_of, weights * weights, minlength=len(docs)))
        weights = weights / np.where(norms > 0, norms, 1)[row_of]
        return Rows(row_of[known], ids[known], weights[known].astype(np.float32), len(docs), len(self.terms))


class Rows:
    """A batch of sparse rows (row, column, value triples): enough algebra for a linear model."""

    def __init__(self, row_of: np.ndarray, indices: np.ndarray, data: np.ndarray, n: int, width: int):
        self.row_of, self.indices, self.data, self.n, self.width = row_of, indices, data, n, width

    @classmethod
    def of(cls, rows: Sequence[tuple[Sequence[int], Sequence[float]]], width: int) -> Rows:
        lengths = [len(ids) for ids, _ in rows]
        return cls(np.repeat(np.arange(len(rows)), lengths), np.fromiter((i for ids, _ in rows for i in ids), np.int64),
                   np.fromiter((w for _, ws in rows for w in ws), np.float32), len(rows), width)  # fmt: skip

    def __len__(self) -> int:
        return self.n

    def _bounds(self, rows) -> np.ndarray:
        """Where these rows' entries start (entries are stored in row order, as every constructor makes them)."""
        return np.searchsorted(self.row_of, rows)

    def row(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self._bounds([n, n + 1])
        return self.indices[start:end], self.data[start:end]

    def take(self, picked: Sequence[int]) -> Rows:
        """These rows, in this order."""
        bounds = self._bounds(np.arange(self.n + 1))
        lengths = np.array([bounds[i + 1] - bounds[i] for i in picked], np.int64)
        at = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in picked]) if len(picked) else np.zeros(0, np.int64)
        return Rows(np.repeat(np.arange(len(picked)), lengths), self.indices[at], self.data[at], len(picked), self.width)

    def dot(self, w: np.ndarray) -> np.ndarray:
        """X @ w"""
        return np.bincount(self.row_of, self.data * w[self.indices], minlength=self.n).astype(np.float32)

    def tdot(self, r: np.ndarray) -> np.ndarray:
        """X.T @ r"""
        return np.bincount(self.indices, self.data * r[self.row_of], minlength=self.width).astype(np.float32)

    def gram(self, other: Rows) -> np.ndarray:
        """X @ other.T (dense, len(self) × len(other)), over the columns `other` uses."""
        used = np.unique(other.indices)
        position = np.full(self.width, -1, np.int64)
        position[used] = np.arange(len(used))
        theirs = np.zeros((len(other), len(used)), np.float32)
        theirs[other.row_of, position[other.indices]] = other.data
        keep = position[self.indices] >= 0
        mine = np.zeros((len(self), len(used)), np.float32)
        mine[self.row_of[keep], position[self.indices[keep]]] = self.data[keep]
        return mine @ theirs.T
