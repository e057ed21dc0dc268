"""Make search benchmarks in the BEIR layout from the shared data sets (deterministic), for `dailypapers eval`.

    python scripts/make_search_sets.py /work/shared/data /tmp/searchsets

SciFact, the one public benchmark at hand, is biomedical and its queries are one-line claims. These sets
ask what the site's readers ask, on its own kind of papers. Each is a "known item" task: every query
has exactly one relevant paper, the one it was made from, so no judging is needed.

- arxiv-known-item: a reader pastes a sentence to find its paper. Corpus: CORPUS_ARXIV papers of the arXiv
  cs sample; queries: the first sentence of QUERIES of those papers' abstracts, word for word as in the
  paper (5 to MAX_WORDS words: a longer "sentence" is an abstract written without full stops).
- arxiv-titles: title searches. The same corpus; queries: the exact titles of QUERIES other papers.
- hf-paraphrase: a query that says what the paper is about in other words. Corpus: CORPUS_HF papers of the
  Hugging Face Daily Papers archive (title and abstract); queries: the `ai_summary` of QUERIES of them, a
  one-sentence summary an LLM wrote. Papers without one are never queries, nor those whose summary is
  not a paraphrase: over MAX_WORDS words (a few are the abstract itself) or with a run of COPIED words
  found in the abstract (about 1 in 11).
- hf-long: long questions in natural language. The same corpus; queries for QUERIES other papers, of three
  sentences: an opening (one of OPENINGS), the paper's `ai_summary` (as above) and "It involves A, B and
  C." with its first KEYWORDS `ai_keywords` (papers with fewer are never queries). Honest caveats: the
  keywords are terms the LLM picked, mostly spelled as in the abstract, so that sentence shares words
  (not sentences) with the paper; and the openings are a fixed template, not questions people asked.

Every choice is made by a hash of the paper's id salted with the set's name (not the files' order, not
random), so the same data always gives the same sets. Papers whose title or abstract repeats another's
(after folding case and spaces) are left out of a corpus, and a query text that two papers would share
is not used, so each query has one right answer. Text is kept as the sources give it but for line
breaks (arXiv abstracts are wrapped), which become spaces. At these sizes the title and paraphrase sets
are easy for BM25 (nDCG@10 near 1): they guard against regressions more than they rank engines.
"""

import gzip
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

CORPUS_ARXIV, CORPUS_HF, QUERIES, KEYWORDS = 10_000, 3_000, 300, 3
MAX_WORDS, COPIED = 50, 8
ARXIV_FILE = "arxiv-cs-daily/arxiv_cs_daily_2025-03-18_to_2026-07-01.jsonl.gz"
HF_FILE = "hf-daily-papers/hf_daily_papers_api_2024-05-27_to_2026-08-21.jsonl.gz"
OPENINGS = ("I am looking for a paper.", "Which paper is this?", "Find me the paper described here.")
# A sentence ends at . ! or ? followed by a space and a capital letter or digit ("e.g. the" does not end one).
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def clean(text: str | None) -> str:
    return " ".join((text or "").split())


def key(text: str) -> str:
    return clean(text).casefold()


def digest(salt: str, paper_id: str) -> bytes:
    return hashlib.sha256(f"{salt}:{paper_id}".encode()).digest()


def by_hash(papers: list[dict], salt: str) -> list[dict]:
    return sorted(papers, key=lambda p: digest(salt, p["id"]))


def read(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        yield from map(json.loads, fh)


def unique(papers: list[dict]) -> list[dict]:
    """One paper per id, and none whose title or abstract is another's (ambiguous as a known item)."""
    papers = list({p["id"]: p for p in reversed(papers)}.values())  # the first record of each id
    titles, abstracts = Counter(key(p["title"]) for p in papers), Counter(key(p["abstract"]) for p in papers)
    return [p for p in papers if p["title"] and p["abstract"] and titles[key(p["title"])] == abstracts[key(p["abstract"])] == 1]


def pick_queries(corpus: list[dict], salt: str, make, taken: set[str] = frozenset()) -> dict[str, str]:
    """QUERIES papers of `corpus` (by hash, none in `taken`) -> `make(paper)`; papers for which `make`
    gives nothing, or a text another corpus paper would give too, are skipped."""
    counts = Counter(key(text) for text in map(make, corpus) if text)
    queries = {}
    for paper in by_hash(corpus, salt):
        text = make(paper)
        if paper["id"] not in taken and text and counts[key(text)] == 1:
            queries[paper["id"]] = text
            if len(queries) == QUERIES:
                break
    return queries


def first_sentence(paper: dict) -> str:
    sentence = SENTENCE_END.split(paper["abstract"], maxsplit=1)[0]
    return sentence if 5 <= len(sentence.split()) <= MAX_WORDS else ""  # "We study X." says too little alone


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def paraphrase(paper: dict) -> str:
    """The paper's `ai_summary`, unless it is not one: too long, or copying a run of COPIED words of the abstract."""
    summary, abstract = paper.get("ai_summary") or "", f" {' '.join(words(paper['abstract']))} "
    said = words(summary)
    runs = (" ".join(said[i : i + COPIED]) for i in range(len(said) - COPIED + 1))
    return "" if len(said) > MAX_WORDS or any(f" {run} " in abstract for run in runs) else summary


def long_question(paper: dict) -> str:
    keywords = [clean(k) for k in paper.get("ai_keywords") or []][:KEYWORDS]
    if not paraphrase(paper) or len(keywords) < KEYWORDS:
        return ""
    opening = OPENINGS[digest("opening", paper["id"])[0] % len(OPENINGS)]
    return f"{opening} {paper['ai_summary']} It involves {', '.join(keywords[:-1])} and {keywords[-1]}."


def write(folder: Path, corpus: list[dict], queries: dict[str, str]) -> None:
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w") as fh:
        for paper in sorted(corpus, key=lambda p: p["id"]):
            fh.write(json.dumps({"_id": paper["id"], "title": paper["title"], "text": paper["abstract"]}) + "\n")
    with open(folder / "queries.jsonl", "w") as fh:
        for query_id, text in sorted(queries.items()):
            fh.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    with open(folder / "qrels" / "test.tsv", "w") as fh:
        fh.write("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{q}\t1\n" for q in sorted(queries)))
    average = sum(len(t.split()) for t in queries.values()) / max(len(queries), 1)
    print(f"{folder.name}: {len(corpus)} documents, {len(queries)} queries of {average:.1f} words on average -> {folder}")


def main(data: Path, out: Path) -> None:
    arxiv = unique([{"id": r["id"], "title": clean(r["title"]), "abstract": clean(r["summary"])}
                    for r in read(data / ARXIV_FILE)])  # fmt: skip
    corpus = by_hash(arxiv, "arxiv-corpus")[:CORPUS_ARXIV]
    known = pick_queries(corpus, "arxiv-known-item", first_sentence)
    write(out / "arxiv-known-item", corpus, known)
    write(out / "arxiv-titles", corpus, pick_queries(corpus, "arxiv-titles", lambda p: p["title"], set(known)))

    hf = unique([{**r["paper"], "title": clean(r["paper"]["title"]), "abstract": clean(r["paper"]["summary"]),
                  "ai_summary": clean(r["paper"].get("ai_summary"))} for r in read(data / HF_FILE)])  # fmt: skip
    corpus = by_hash(hf, "hf-corpus")[:CORPUS_HF]
    paraphrases = pick_queries(corpus, "hf-paraphrase", paraphrase)
    write(out / "hf-paraphrase", corpus, paraphrases)
    write(out / "hf-long", corpus, pick_queries(corpus, "hf-long", long_question, set(paraphrases)))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    main(Path(sys.argv[1]), Path(sys.argv[2]))
