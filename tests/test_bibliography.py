"""Reading exported libraries (BibTeX, Zotero CSV, id lists), writing BibTeX, and fetching papers from the
arXiv API in batches (against recorded arXiv answers served over real HTTP).

The files in tests/data/library/ are written as each tool exports: arxiv.bib as arxiv.org's "Export BibTeX
citation", scholar.bib as Google Scholar's "Cite > BibTeX", mixed.bib with Zotero, Mendeley, DBLP,
Semantic Scholar and JabRef entries, zotero.csv with the column set of Zotero's CSV translator
(zotero/translators CSV.js: BOM, every field quoted, no final newline)."""

from __future__ import annotations

import codecs
import json

import pytest
from conftest import FIXTURES, ROOT, recorded_arxiv_api
from hypothesis import given, settings
from hypothesis import strategies as st

from dailypapers.ingest.arxiv_api import ArxivApiError, fetch_papers
from dailypapers.ingest.bibliography import (
    MAX_BYTES,
    MAX_ENTRIES,
    Entry,
    InvalidLibraryFile,
    latex_to_text,
    read_library,
    text_to_latex,
    to_bibtex,
)
from dailypapers.ingest.http import PoliteClient
from dailypapers.records import InvalidRecord

LIBRARY = ROOT / "tests" / "data" / "library"


def read(name: str, filename: str | None = "same") -> list[Entry]:
    return read_library((LIBRARY / name).read_bytes(), name if filename == "same" else filename)


def triples(entries: list[Entry]) -> list[tuple]:
    return [(e.arxiv_id, e.title, e.label) for e in entries]


def error_of(data: bytes, filename: str | None = None) -> str:
    with pytest.raises(InvalidLibraryFile) as raised:
        read_library(data, filename)
    return str(raised.value)


# --- The sample exports -----------------------------------------------------------------------------


def test_arxiv_export():
    assert triples(read("arxiv.bib")) == [
        ("1706.03762", "Attention Is All You Need", "vaswani2023attentionneed"),
        ("1810.04805", "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
         "devlin2019bertpretrainingdeepbidirectional"),
        ("2109.00301", r"$\infty$-former: Infinite Memory Transformer", "martins2022inftyformerinfinitememorytransformer"),
        ("hep-th/9711200", "The Large N Limit of Superconformal Field Theories and Supergravity",
         "maldacena1999largenlimitsuperconformal"),
        ("2106.09685", "LoRA: Low-Rank Adaptation of Large Language Models", "hu2021loralowrankadaptationlarge"),
    ]  # fmt: skip


def test_google_scholar_export_with_entries_that_have_no_arxiv_id():
    assert triples(read("scholar.bib")) == [
        ("1412.6980", "Adam: A method for stochastic optimization", "kingma2014adam"),  # journal={arXiv preprint arXiv:...}
        (None, "Deep residual learning for image recognition", "he2016deep"),
        ("2010.11929", "An image is worth 16x16 words: Transformers for image recognition at scale", "dosovitskiy2020image"),
        (None, "Long short-term memory", "hochreiter1997long"),
    ]  # fmt: skip


def test_bibtex_of_zotero_mendeley_dblp_semantic_scholar_and_jabref():
    entries = read("mixed.bib")
    assert triples(entries) == [
        ("1706.03762", "Attention Is All You Need", "vaswani_attention_2023"),  # Zotero; its abstract cites another id
        ("1312.6114", "Auto-Encoding Variational Bayes", "Kingma2013"),  # Mendeley, after its header text
        ("1406.2661", "Generative Adversarial Networks", "Goodfellow2014"),  # Mendeley's arxivId alone
        ("1810.04805", "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
         "DBLP:journals/corr/abs-1810-04805"),
        ("2201.11903", "Chain of Thought Prompting Elicits Reasoning in Large Language Models", "Wei2022ChainOT"),
        ("1412.6980", "Adam: A Method for Stochastic Optimization", "kingma2015adam"),  # (...), "#", @string
        ("math/0211159", "The entropy formula for the Ricci flow and its geometric applications", "perelman2002entropy"),
        # vaswani2017pdf (1706.03762 again) is kept once; the entries commented out with % and @comment are not read
        (None, "The TeXbook", "knuth1984texbook"),
    ]  # fmt: skip
    assert entries[0].doi == "10.48550/arXiv.1706.03762" and entries[-1].doi == "10.5555/1102013"


def test_zotero_csv_export():
    entries = read("zotero.csv")
    assert triples(entries) == [
        ("1706.03762", "Attention Is All You Need", "Attention Is All You Need"),  # Zotero 7 preprint
        ("1412.6980", "Adam: A Method for Stochastic Optimization", "Adam: A Method for Stochastic Optimization"),
        ("1312.6114", "Auto-Encoding Variational Bayes", "Auto-Encoding Variational Bayes"),  # Archive Location
        (None, "Deep Residual Learning for Image Recognition", "Deep Residual Learning for Image Recognition"),
        ("2307.09288", "Paper page - Llama 2: Open Foundation and Fine-Tuned Chat Models",
         "Paper page - Llama 2: Open Foundation and Fine-Tuned Chat Models"),  # a Hugging Face page saved
        ("2005.14165", "Language Models are Few-Shot Learners", "Language Models are Few-Shot Learners"),  # DOI, Extra
    ]  # fmt: skip
    assert [e.doi for e in entries] == ["10.48550/arXiv.1706.03762", None, None, "10.1109/CVPR.2016.90", None,
                                        "10.48550/arXiv.2005.14165"]  # fmt: skip
    assert read("zotero.csv", filename=None) == entries  # recognized by its header too


def test_plain_list_of_ids_and_urls():
    assert [(e.arxiv_id, e.label) for e in read("ids.txt")] == [
        ("2401.04088", "line 2"),
        ("1706.03762", "line 3"),
        ("2106.09685", "line 4"),
        ("2005.14165", "line 5"),
        ("hep-th/9711200", "line 6"),
        ("math/0211159", "line 7"),  # arXiv's id has no subject class
        ("2307.09288", "line 9"),
        ("0704.0001", "line 10"),
        ("cond-mat/0102536", "line 12"),  # line 11 repeats 1706.03762
        ("1412.6980", "line 12"),
    ]
    assert all(e.title is None for e in read("ids.txt"))


@pytest.mark.parametrize(
    "name, message",
    [
        ("unbalanced.bib", "line 3: the '{' that opens the value of 'journal' in entry 'radford2019language' is never "
                           "closed: a '}' is missing"),
        ("unclosed.bib", "line 7: entry 'dosovitskiy2020image' is never closed: the file ends before its '}'"),
        ("missing-comma.bib", "line 2: in entry 'hu2021lora', a ',' is missing after the value of 'title'"),
        ("extra-brace.bib", "line 3: this is outside any entry: the entry before it was closed too early, most likely "
                            "by an extra '}' in one of its values"),
        ("latin1.bib", "line 3 is not UTF-8 text (byte 0xFC): save the file as UTF-8 and import it again"),
        ("bad-line.txt", "line 2: 'Attention is all you need' is neither an arXiv id (like 2401.01234 or hep-th/9901001) "
                         "nor an arxiv.org URL (and 2 more lines like it): put one id or URL on each line, or import a "
                         "BibTeX or CSV file"),
        ("broken.csv", "line 3: this row is not valid CSV (',' expected after '\"'): check its quotes, or export the "
                       "file again"),
    ],
)  # fmt: skip
def test_malformed_files_name_the_line(name, message):
    assert error_of((LIBRARY / name).read_bytes(), name) == message


# --- Where ids are found ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, arxiv_id",
    [
        ("eprint = {2401.01234}, archivePrefix = {arXiv}", "2401.01234"),
        ("eprint = {2401.01234v3}", "2401.01234"),
        ("eprint = {arXiv:2401.01234 [cs.CL]}", "2401.01234"),
        ("eprint = {hal-01234567}, eprinttype = {HAL}", None),
        ("eprint = {2401.01234}, archivePrefix = {HAL}", None),  # another archive's number
        ("eprint = {9901001}, archivePrefix = {arXiv}, primaryClass = {hep-th}", "hep-th/9901001"),
        ("eprint = {math.GT/0309136v2}, archivePrefix = {arXiv}", "math/0309136"),
        ("arxivid = {2401.01234}", "2401.01234"),
        ("arxiv = {arXiv:2401.01234}", "2401.01234"),
        ("doi = {10.48550/arXiv.2401.01234}", "2401.01234"),
        ("doi = {https://doi.org/10.48550/ARXIV.2401.01234}", "2401.01234"),
        ("url = {https://arxiv.org/pdf/2401.01234v2.pdf}", "2401.01234"),
        ("url = {http://www.arxiv.org/abs/cond-mat/0102536v1}", "cond-mat/0102536"),
        ("url = {https://huggingface.co/papers/2401.01234}", "2401.01234"),
        ("howpublished = {\\url{https://arxiv.org/abs/2401.01234}}", "2401.01234"),
        ('journal = "arXiv preprint arXiv:hep-th/9901001"', "hep-th/9901001"),
        ("note = {arXiv: 2401.01234}", "2401.01234"),
        ("journal = {CoRR}, volume = {abs/1810.04805}", "1810.04805"),
        ("url = {https://example.org/2401.01234}", None),  # a number that looks like an id, in no arXiv context
        ("abstract = {We improve on arXiv:2401.01234.}", None),  # abstracts cite other papers
        ("pages = {2401.01234}", None),
        ("eprint = {2401.012345}", None),  # six digits: not an id
    ],
)  # fmt: skip
def test_arxiv_id_in_bibtex(fields, arxiv_id):
    (entry,) = read_library(f"@article{{key, title = {{A title}}, {fields}}}".encode(), "x.bib")
    assert entry.arxiv_id == arxiv_id


@pytest.mark.parametrize(
    "value, text",
    [
        ("{BERT}: {P}re-training of {{Deep}} Transformers", "BERT: Pre-training of Deep Transformers"),
        ('Schr{\\"o}dinger\'s cat and Erd{\\H{o}}s and Ko\\c{c}', "Schrödinger's cat and Erdős and Koç"),
        ("The \\emph{effect} of {\\em deep} \\textbf{nets}", "The effect of deep nets"),
        ("Learning $\\mathcal{O}(n)$ {{maps}} with $k$-{NN}", "Learning $\\mathcal{O}(n)$ maps with $k$-NN"),
        ("50\\% \\& more~than \\$5 \\textbackslash{}alpha", "50% & more than $5 \\alpha"),
        ("The {\\TeX}book and \\LaTeX", "The TeXbook and LaTeX"),
        ("A title\n                  on two lines", "A title on two lines"),
        ("{}", None),
    ],
)  # fmt: skip
def test_titles_are_plain_text(value, text):
    assert latex_to_text(value) == text


def test_bibtex_syntax():
    bib = b"""@String(venue = {Conf. on }) @string{ year = "2024" }
Text between entries is a comment, even with braces { or an email: ada@example.org
@Article{a, title = venue # {Things} # " " # year, eprint = 2401.01234, month = jan}
@misc{b,title="The {"}quoted{"} word",url={https://arxiv.org/abs/2401.05678}}
@misc{c,
  title = {Commented fields},
  % eprint = {2401.99999},
  eprint = {2401.11111},
}
@inproceedings{d}
@MISC{e, title = {Unknown @string names read as empty, as BibTeX reads them: } # nosuchstring,}
"""
    assert triples(read_library(bib, "x.bib")) == [
        ("2401.01234", "Conf. on Things 2024", "a"),
        ("2401.05678", 'The "quoted" word', "b"),
        ("2401.11111", "Commented fields", "c"),
        (None, None, "d"),
        (None, "Unknown @string names read as empty, as BibTeX reads them:", "e"),
    ]


@pytest.mark.parametrize(
    "bib, message",
    [
        ('@article{a,\n  title = "Foo,\n  year = 2020\n}\n\n@article{b,\n  title = "Bar"\n}\n',
         "line 2: the '\"' that opens the value of 'title' in entry 'a' is never closed: a '\"' is missing"),
        ("@article{a,\n  title = {Foo,\n  year = 2020\n}\n\n@article{b,\n  title = {Bar}\n}\n",
         "line 2: in entry 'a', a '}' is missing in the value of 'title': it runs on to the end of the entry (line 4)"),
        ("@article{a,\n  title = {Foo},\n  note = {{x\n}\n\n@article{b,\n  title = {Bar}\n}\n}\n",
         "line 3: the value of 'note' in entry 'a' runs on into the entry on line 6: a '}' is missing in it"),
        ('@string(name = "Foo)\n@string(other = "Bar")',
         "line 1: the value of 'name' in @string runs on into the entry on line 2: a '\"' is missing in it"),
        ("@article{a,\n  title = {Foo},\n\n@article{b, title = {Bar}}\n",
         "line 4: entry 'a' (line 1) is not closed before the next entry: a '}' is missing at its end"),
        ("@article{title = {Foo}}", "line 1: the @article entry has no key: an entry starts @type{key, ..."),
        ("@article{a\n  title = {Foo}}", "line 1: the ',' after the key of the @article entry 'a' is missing: an entry "
                                         "starts @type{key, ..."),
        ("\n@article a,\n  title = {Foo}\n}", "line 2: '@article' is not followed by '{': an entry reads "
                                             "@type{key, field = {value}, ...}"),
        ("@article{a,\n  title {Foo}}", "line 2: in entry 'a', 'title' is not followed by '=': fields read name = {value}"),
        ("@article{a, title = }", "line 1: in entry 'a', the value of 'title' is missing: it should start with '{', "
                                  "'\"', a number or a @string name"),
        ("@comment{ never closed\n", "line 1: the '{' that opens the @comment is never closed: a '}' is missing"),
        ("% only comments\n@comment{nothing here}\n", "found no BibTeX entry (like @article{key, title = {...}}) in "
                                                      "the file: export your library as BibTeX (.bib), as a Zotero CSV "
                                                      "(.csv), or as a list of arXiv ids (.txt)"),
    ],
)  # fmt: skip
def test_malformed_bibtex(bib, message):
    assert error_of(bib.encode(), "library.bib") == message


def test_format_from_content_when_the_name_says_nothing():
    bibtex = (LIBRARY / "scholar.bib").read_bytes()
    assert read_library(bibtex) == read_library(bibtex, "citations.txt") == read("scholar.bib")
    assert [e.arxiv_id for e in read_library(b"2401.01234 https://arxiv.org/abs/2401.05678\n", None)] == [
        "2401.01234", "2401.05678"]  # fmt: skip
    csv_text = b"title;arXiv ID\nA paper;2401.01234v2\nNo id here;\n"
    assert triples(read_library(csv_text)) == [("2401.01234", "A paper", "A paper"), (None, "No id here", "No id here")]


def test_other_csv_files():
    assert triples(read_library(b"ID,Link\n,https://arxiv.org/pdf/2401.01234\n2401.05678,\n\n", "papers.csv")) == [
        ("2401.01234", None, "line 2"), ("2401.05678", None, "line 3")]  # fmt: skip
    assert error_of(b"Name,Year\nfoo,2020\n", "papers.csv").startswith(
        "line 1: this CSV's header names no Title column and no column of arXiv ids, URLs or DOIs: export it from Zotero")
    assert error_of(b"Title,Url\n", "papers.csv").startswith("the CSV file has a header but no rows: ")


def test_encodings():
    text = "@article{a, title = {Schrödinger's cat}, eprint = {2401.01234}}\n"
    expected = [Entry("2401.01234", "Schrödinger's cat", "a")]
    assert read_library(codecs.BOM_UTF8 + text.encode(), "a.bib") == expected
    assert read_library(text.encode("utf-16"), "a.bib") == expected  # as Windows tools save "Unicode" text
    assert read_library(text.replace("\n", "\r\n").encode(), "a.bib") == expected


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "the file is empty: export your library as BibTeX (.bib), as a Zotero CSV (.csv), or as a list of "
              "arXiv ids (.txt)"),
        (b" \n\r\n\t\n", "the file is empty: "),
        (b"2401.01234\nhttps://arxiv.org/abs/2401.05678\x00\x01\x02", "line 2 holds a NUL byte: this is a binary "
                                                                      "file, not a text export: "),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "this is a PDF, not a library export: "),
        (b"PK\x03\x04\x14\x00\x06\x00", "this is a ZIP archive (an Excel, Word or OpenDocument file?), not a library "
                                        "export: "),
        (b"SQLite format 3\x00\x10\x00", "this is an SQLite database (zotero.sqlite?), not a library export: "),
        (b"# nothing but comments\n\n", "found no arXiv id in the file: "),
    ],
)  # fmt: skip
def test_unreadable_files(data, message):
    assert error_of(data, "library.txt").startswith(message)


def test_size_and_entry_limits():
    at_limit = b"2401.01234\n#" + b"x" * (MAX_BYTES - 12)
    assert len(at_limit) == MAX_BYTES and [e.arxiv_id for e in read_library(at_limit)] == ["2401.01234"]
    assert error_of(at_limit + b"x") == "the file is 5.0 MB, and an import takes at most 5 MB: split it into smaller files"
    assert error_of(b"x" * 10_000_000) == "the file is 10.0 MB, and an import takes at most 5 MB: split it into smaller files"
    ids = [f"2401.{n:05d}" for n in range(1, MAX_ENTRIES + 2)]
    assert len(read_library("\n".join(ids[:MAX_ENTRIES]).encode())) == MAX_ENTRIES
    assert error_of("\n".join(ids).encode()) == (f"line {MAX_ENTRIES + 1}: the file holds more than 5,000 references, "
                                                  "the most one import takes: split it into smaller files")  # fmt: skip
    bib = "".join(f"@misc{{k{n}, title = {{Paper {n}}}}}\n" for n in range(MAX_ENTRIES + 1)).encode()
    assert error_of(bib, "big.bib").startswith(f"line {MAX_ENTRIES + 1}: the file holds more than 5,000 references")


def test_duplicates_are_kept_once():
    text = b"2401.01234v1\nhttps://arxiv.org/abs/2401.01234v2\narXiv:2401.01234\n2401.05678\n"
    assert [(e.arxiv_id, e.label) for e in read_library(text)] == [("2401.01234", "line 1"), ("2401.05678", "line 4")]
    bib = b"@misc{a, title={Same title}}\n@misc{b, title={Same title}}\n"
    assert [e.label for e in read_library(bib, "x.bib")] == ["a", "b"]  # without an id, nothing says they are one


# --- Writing BibTeX -------------------------------------------------------------------------------------

PAPERS = [
    {"id": "1706.03762", "title": "Attention Is All You Need", "published_at": "2017-06-12T17:57:34.000Z",
     "authors": [{"name": "Ashish Vaswani"}, {"name": "Noam Shazeer"}], "categories": ["cs.CL", "cs.LG"],
     "abstract": "The dominant sequence transduction models..."},
    {"id": "hep-th/9711200", "title": "The Large $N$ limit of {superconformal} field theories: 100% & #1 a_b ~x^2 \\o",
     "published_at": "1997-11-27T00:00:00Z", "authors": [{"name": "Juan Martín Maldacena"}], "categories": None},
    {"id": "2401.00001", "title": None, "authors": None, "published_at": None},
    {"id": "2401.00002", "title": "Attention is all you need, again", "published_at": "2017-12-01",
     "authors": [{"name": "Ashish Vaswani"}, {"name": "The ATLAS and CMS Collaborations"}], "categories": ["cs.LG"]},
    {"id": "2401.00003", "title": "Über $\\mathcal{O}(n^{2})$ naïve   bounds\n on $x$", "published_at": "2024-01-01",
     "authors": [{"name": "Zoë Ångström Jr."}], "categories": ["math.CO"]},
]  # fmt: skip


def test_to_bibtex_in_arxivs_style():
    assert to_bibtex(PAPERS[:1]) == (
        "@misc{vaswani2017attention,\n"
        "      title={Attention Is All You Need},\n"
        "      author={Ashish Vaswani and Noam Shazeer},\n"
        "      year={2017},\n"
        "      eprint={1706.03762},\n"
        "      archivePrefix={arXiv},\n"
        "      primaryClass={cs.CL},\n"
        "      url={https://arxiv.org/abs/1706.03762},\n"
        "}\n"
    )
    assert to_bibtex([]) == ""


def test_to_bibtex_reads_back():
    bib = to_bibtex(PAPERS)
    entries = read_library(bib.encode(), "library.bib")
    assert [(e.arxiv_id, e.title) for e in entries] == [
        ("1706.03762", "Attention Is All You Need"),
        ("hep-th/9711200", "The Large $N$ limit of {superconformal} field theories: 100% & #1 a_b ~x^2 \\o"),
        ("2401.00001", None),
        ("2401.00002", "Attention is all you need, again"),
        ("2401.00003", "Über $\\mathcal{O}(n^{2})$ naïve bounds on $x$"),  # whitespace collapsed
    ]
    assert [e.label for e in entries] == ["vaswani2017attention", "maldacena1997large", "anonymous",
                                          "vaswani2017attention-2", "angstrom2024uber"]  # fmt: skip
    assert "author={Ashish Vaswani and {The ATLAS and CMS Collaborations}}" in bib


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Co")), max_size=40))
def test_any_title_reads_back(title):
    (entry,) = read_library(to_bibtex([{"id": "2401.01234", "title": title}]).encode(), "x.bib")
    assert entry.title == (" ".join(title.split()) or None)
    assert text_to_latex(title).count("{") == text_to_latex(title).count("}")


# --- Fetching from the arXiv API in batches ------------------------------------------------------------

TWO_IDS = "arxivpy__id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json"  # arXiv's answer: only 1707.08567 exists
ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}


def recorded(name: str) -> tuple[int, dict, bytes]:
    saved = json.loads((FIXTURES / "arxiv-api" / name).read_text())
    return saved["status_code"], ATOM, saved["body"].encode("latin-1")


@pytest.fixture
def client():
    c = PoliteClient(min_interval=0, max_retries=2, timeout=30)
    yield c
    c.close()


def test_a_batch_is_one_request_and_unknown_ids_are_missing(replay_server, client):
    server = replay_server({"/api/query": lambda q: recorded(TWO_IDS) if q["id_list"] == "0808.05394,1707.08567"
                            else (500, {}, b"unexpected request")})  # fmt: skip
    done = []
    records, missing = fetch_papers(["0808.05394", "1707.08567v1", "arXiv:0808.05394"], url=f"{server.url}/api/query",
                                    client=client, progress=done.append)  # fmt: skip
    assert [r.id for r in records] == ["1707.08567"] and missing == ["0808.05394"]
    assert records[0].title == "Proceedings of Workshop AEW10: Concepts in Information Theory and Communications"
    assert [q for _, _, q in server.requests] == [{"id_list": "0808.05394,1707.08567", "max_results": "2"}]
    assert done == [2]


def test_batches(replay_server, client):
    server = replay_server({"/api/query": recorded_arxiv_api})
    done = []
    records, missing = fetch_papers(["2104.12255v1", "https://arxiv.org/abs/1605.08386", "0808.05394"], batch=1,
                                    url=f"{server.url}/api/query", client=client, progress=done.append)  # fmt: skip
    assert [r.id for r in records] == ["2104.12255", "1605.08386"] and missing == ["0808.05394"]
    assert records[1].title == "Heat-bath random walks with Markov bases"
    assert [q["id_list"] for _, _, q in server.requests] == ["2104.12255", "1605.08386", "0808.05394"]
    assert done == [1, 1, 1]


def test_papers_not_asked_for_are_not_returned(replay_server, client):
    server = replay_server({"/api/query": lambda q: recorded(TWO_IDS)})
    assert fetch_papers(["0808.05394"], url=f"{server.url}/api/query", client=client) == ([], ["0808.05394"])


def test_fetch_errors(replay_server, client):
    server = replay_server({"/api/query": lambda q: recorded("arxivpy__id_abc_s0_m100_b79c8dcf6bc3.json")})
    with pytest.raises(ArxivApiError, match="^arXiv says: incorrect id format for abc$"):
        fetch_papers(["2401.01234", "2401.05678"], url=f"{server.url}/api/query", client=client)
    with pytest.raises(InvalidRecord):
        fetch_papers(["2401.01234", "not an id"], url=f"{server.url}/api/query", client=client)
    assert len(server.requests) == 1  # the bad id was refused before any request
    assert fetch_papers([], url=f"{server.url}/api/query", client=client) == ([], [])
    assert len(server.requests) == 1
