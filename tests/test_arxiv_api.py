"""Fetching one paper from the arXiv query API, against recorded arXiv responses served over real HTTP.

`arxivpy__*.json` hold the current backend's answers (the body as latin-1 text of the raw bytes);
`arxivpy-2016__*.xml` is a raw answer of the legacy backend.
"""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from dailypapers.ingest.arxiv_api import ArxivApiError, fetch_paper
from dailypapers.ingest.http import PoliteClient
from dailypapers.records import InvalidRecord

API_DIR = FIXTURES / "arxiv-api"

# id_list sent -> recorded file. The recorded requests carried versions for some; the answers are the same.
RECORDED = {
    "2104.12255": "arxivpy__id_2104.12255v1_s0_m100_6ae69987ffe1.json",
    "1605.08386": "arxivpy__id_1605.08386_s0_m100_199195aa31ad.json",
    "astro-ph/0601001": "arxivpy__id_astro-ph_0601001_s0_m100_3150dca9dc76.json",
    "quant-ph/0201082": "arxivpy__id_quant-ph_0201082v1_s0_m100_86989fe779ef.json",
    "0808.05394": "arxivpy__id_0808.05394_s0_m100_7b0c7d0a7cdd.json",
    "1111.2011": "arxivpy-2016__id_list_1111.2011v2.xml",
}
ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}


def recorded(name: str) -> tuple[int, bytes]:
    path = API_DIR / name
    if path.suffix == ".xml":
        return 200, path.read_bytes()
    saved = json.loads(path.read_text())
    return saved["status_code"], saved["body"].encode("latin-1")


def replay(query: dict):
    status, body = recorded(RECORDED[query["id_list"]])
    return status, ATOM, body


@pytest.fixture
def client():
    c = PoliteClient(min_interval=0, max_retries=2, timeout=10)
    yield c
    c.close()


@pytest.fixture
def arxiv(replay_server):
    server = replay_server({"/api/query": replay})
    server.query_url = f"{server.url}/api/query"
    return server


def test_current_backend_single_entry(arxiv, client):
    paper = fetch_paper("2104.12255v1", url=arxiv.query_url, client=client)
    assert paper.id == "2104.12255" and paper.source == "arxiv"
    assert paper.title == "0"  # the paper's real title
    assert paper.abstract.startswith("What is the funniest number in cryptography? 0.")
    assert paper.authors == [{"name": "Quan Thoi Minh Nguyen"}]
    assert paper.categories == ["cs.CR"]
    assert paper.published_at == paper.updated_at == "2021-04-20T16:07:14.000Z"
    assert paper.observed == "2021-04-20"
    assert paper.versions == [{"version": "v1", "created": "2021-04-20T16:07:14.000Z"}]
    assert paper.comment is None and paper.journal_ref is None and paper.doi is None
    # The version is dropped from the request, so arXiv answers with the latest version.
    assert [q for _, _, q in arxiv.requests] == [{"id_list": "2104.12255", "max_results": "1"}]


def test_abs_url_and_default_client(arxiv):
    paper = fetch_paper("https://arxiv.org/abs/2104.12255v1", url=arxiv.query_url)
    assert paper.id == "2104.12255" and paper.categories == ["cs.CR"]
    assert arxiv.requests[0][2]["id_list"] == "2104.12255"


def test_legacy_backend_entry(arxiv, client):
    paper = fetch_paper("arXiv:1111.2011", url=arxiv.query_url, client=client)
    assert paper.id == "1111.2011"
    assert paper.title == "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    assert paper.abstract.startswith("Theoretical description of anisotropic systems, such as layered superconductors")
    assert "\n" not in paper.abstract and paper.abstract.endswith("describing a single node.")
    assert [a["name"] for a in paper.authors] == ["James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic"]
    assert paper.doi == "10.1103/PhysRevB.85.115117"
    assert paper.comment == "8 pages, 3 figures. Published version"
    assert paper.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert paper.categories == ["cond-mat.str-el", "cond-mat.stat-mech"]
    assert paper.published_at == "2011-11-08T18:48:36.000Z"
    assert paper.updated_at == "2012-04-02T12:38:54.000Z" and paper.observed == "2012-04-02"
    assert paper.versions == [
        {"version": "v1", "created": "2011-11-08T18:48:36.000Z"},
        {"version": "v2", "created": "2012-04-02T12:38:54.000Z"},
    ]


def test_primary_category_first(arxiv, replay_server, client):
    paper = fetch_paper("1605.08386", url=arxiv.query_url, client=client)
    assert paper.categories == ["math.CO", "math.ST"]
    assert paper.authors == [{"name": "Caprice Stanley"}, {"name": "Tobias Windisch"}]
    assert paper.comment == "20 pages, 3 figures"
    # Every recorded entry lists its primary category first; reorder one to check it moves to the front, once.
    status, body = recorded(RECORDED["1111.2011"])
    primary = b'<category term="cond-mat.str-el" scheme="http://arxiv.org/schemas/atom"/>'
    body = body.replace(primary + b"\n", b"").replace(b"</entry>", primary + b"</entry>")
    assert body.count(primary) == 1 and body.index(b'term="cond-mat.stat-mech"') < body.index(primary)
    server = replay_server({"/api/query": lambda query: (status, ATOM, body)})
    paper = fetch_paper("1111.2011", url=f"{server.url}/api/query", client=client)
    assert paper.categories == ["cond-mat.str-el", "cond-mat.stat-mech"]


def test_old_style_ids(arxiv, client):
    paper = fetch_paper("astro-ph/0601001", url=arxiv.query_url, client=client)
    assert paper.id == "astro-ph/0601001"
    assert paper.title.startswith("Frequency of Hot Jupiters and Very Hot Jupiters")
    assert [a["name"] for a in paper.authors] == ["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"]
    assert paper.journal_ref == "ActaAstron.56:1-50,2006" and paper.categories == ["astro-ph"]
    assert "V_max<17.5" in paper.abstract  # entities decoded
    pdf = fetch_paper("https://arxiv.org/pdf/quant-ph/0201082v1", url=arxiv.query_url, client=client)
    assert pdf.id == "quant-ph/0201082" and pdf.categories == ["quant-ph", "cs.PL"]
    assert [q["id_list"] for _, _, q in arxiv.requests] == ["astro-ph/0601001", "quant-ph/0201082"]


def test_empty_feed_is_none(arxiv, client):
    assert fetch_paper("0808.05394", url=arxiv.query_url, client=client) is None


def test_another_paper_in_the_answer_is_none(replay_server, client):
    # arXiv's real answer to id_list=0808.05394,1707.08567: only 1707.08567 comes back.
    status, body = recorded("arxivpy__id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json")
    server = replay_server({"/api/query": lambda query: (status, ATOM, body)})
    assert fetch_paper("0808.05394", url=f"{server.url}/api/query", client=client) is None


def test_error_feed_is_an_error_for_the_user(replay_server, client):
    # "abc" never reaches arXiv (it is not an id), so replay arXiv's HTTP 400 answer to it for an id that
    # looks valid here but that arXiv refuses the same way.
    status, body = recorded("arxivpy__id_abc_s0_m100_b79c8dcf6bc3.json")
    assert status == 400
    server = replay_server({"/api/query": lambda query: (status, ATOM, body)})
    with pytest.raises(ArxivApiError, match="incorrect id format") as raised:
        fetch_paper("9912.12345", url=f"{server.url}/api/query", client=client)
    assert str(raised.value) == "arXiv says: incorrect id format for abc"
    assert len(server.requests) == 1  # a 400 is not retried
    server.routes["/api/query"] = lambda query: (400, {}, b"Bad Request")
    with pytest.raises(ArxivApiError, match=r"^arXiv refused the request: HTTP 400$"):
        fetch_paper("9912.12345", url=f"{server.url}/api/query", client=client)


def test_not_an_id_raises_before_any_request(arxiv, client):
    with pytest.raises(InvalidRecord):
        fetch_paper("abc", url=arxiv.query_url, client=client)
    assert arxiv.requests == []


def test_retries_a_503_with_retry_after(replay_server, client):
    answers = iter([(503, {"Retry-After": "0"}, b"busy")])

    def busy_then_real(query):
        return next(answers, None) or replay(query)

    server = replay_server({"/api/query": busy_then_real})
    paper = fetch_paper("1605.08386", url=f"{server.url}/api/query", client=client)
    assert paper.title == "Heat-bath random walks with Markov bases"
    assert len(server.requests) == 2


def test_persistent_503_is_an_error(replay_server, client):
    server = replay_server({"/api/query": lambda query: (503, {"Retry-After": "0"}, b"down for maintenance")})
    with pytest.raises(ArxivApiError, match=r"^arXiv did not answer: HTTP 503$"):
        fetch_paper("1605.08386", url=f"{server.url}/api/query", client=client)
    assert len(server.requests) == 3  # the first try and max_retries=2


@pytest.mark.parametrize(
    "body", [b"<html><body>Bad gateway", b"", b'{"not": "xml"}', b"<html><body>a page</body></html>"]
)
def test_garbage_is_an_error(replay_server, client, body):
    server = replay_server({"/api/query": lambda query: (200, {"Content-Type": "text/html"}, body)})
    with pytest.raises(ArxivApiError, match="not an Atom feed"):
        fetch_paper("1605.08386", url=f"{server.url}/api/query", client=client)


def test_unreadable_entry_is_an_error(replay_server, client):
    status, body = recorded(RECORDED["1605.08386"])
    body = body.replace(b"<published>2016-05-26T17:59:46Z</published>", b"<published>soon</published>")
    server = replay_server({"/api/query": lambda query: (status, ATOM, body)})
    with pytest.raises(ArxivApiError, match="cannot be read"):
        fetch_paper("1605.08386", url=f"{server.url}/api/query", client=client)


def test_no_server_is_an_error():
    from conftest import free_port

    client = PoliteClient(min_interval=0, max_retries=0, timeout=5)  # no retry: it would wait a second
    with pytest.raises(ArxivApiError, match="^arXiv did not answer: "):
        fetch_paper("1605.08386", url=f"http://127.0.0.1:{free_port()}/api/query", client=client)
    client.close()
