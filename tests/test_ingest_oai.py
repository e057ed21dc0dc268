"""arXiv OAI-PMH harvesting against recorded arXiv responses served over real HTTP.

The recorded metadataPrefix=arXiv ListRecords responses have no resumption tokens, so the multi-page
tests use a small OAI-PMH server (`OAIServer`) that pages the real `<record>` elements, byte for byte,
out of the recorded files and hands out its own tokens. Errors are the recorded arXiv error responses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from datetime import date

import pytest
from conftest import FIXTURES, PATIENCE, catalog_dump, dailypapers_cmd, sql_rows

from dailypapers.config import Config
from dailypapers.ingest import arxiv_oai
from dailypapers.ingest.http import FetchError, PoliteClient
from dailypapers.ingest.items import Checkpoint, Skipped
from dailypapers.records import PaperRecord

OAI_DIR = FIXTURES / "arxiv-oai"
HEP_TH = OAI_DIR / "hepcrawl__arxiv-physics-hep-th.xml"
RECORD_FILES = [
    "hepcrawl__arxiv-physics-hep-th.xml",
    "hepcrawl__arxiv-physics-hep-ex.xml",
    "inspire-next__GetRecord_arXiv_1305.0014.xml",
    "inspire-next__GetRecord_arXiv_physics-0112006.xml",
    "hepcrawl__arxiv-single.xml",
]
RECORDS = [m.group(0) for name in RECORD_FILES for m in re.finditer(rb"<record>.*?</record>", (OAI_DIR / name).read_bytes(), re.S)]
ALL_IDS = sorted(
    ["1412.8323", "1507.07790", "1607.01710", "1706.05371", "1706.09418", "1707.00874", "1305.0014",
     "physics/0112006", "1401.2122"]
)  # fmt: skip
BAD_TOKEN = (OAI_DIR / "arXivOAIHarvester__ErrorResponseBadResumptionToken.xml").read_bytes()
XML = {"Content-Type": "text/xml"}
FROM = "2017-12-14"


def envelope(body: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">\n'
        b"<responseDate>2017-12-14T12:56:31Z</responseDate>\n<request>http://export.arxiv.org/oai2</request>\n"
        + body + b"\n</OAI-PMH>\n"
    )  # fmt: skip


class OAIServer:
    """Pages RECORDS `page_size` at a time behind resumption tokens; unknown tokens get arXiv's real
    badResumptionToken answer. `before(n, query)` may return a response to send instead (503s), or block."""

    def __init__(self, replay_server, records=RECORDS, page_size=2, before=None):
        self.pages = [records[i : i + page_size] for i in range(0, len(records), page_size)]
        self.tokens = [f"5791802|{(n + 1) * page_size + 1}" for n in range(len(self.pages) - 1)]
        self.before = before
        self.server = replay_server({"/oai2": self.answer})
        self.url = self.server.url + "/oai2"

    def answer(self, query: dict):
        early = self.before(len(self.requests), query) if self.before else None
        if early:
            return early
        if "resumptionToken" in query:
            if query["resumptionToken"] not in self.tokens:
                return 200, XML, BAD_TOKEN
            page = self.tokens.index(query["resumptionToken"]) + 1
        else:
            assert query == {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "physics:hep-th", "from": FROM}
            page = 0
        size, total = len(self.pages[0]), sum(len(p) for p in self.pages)
        token = self.tokens[page] if page < len(self.tokens) else ""
        resumption = f'<resumptionToken cursor="{page * size}" completeListSize="{total}">{token}</resumptionToken>'
        return 200, XML, envelope(b"<ListRecords>\n" + b"\n".join(self.pages[page]) + resumption.encode() + b"</ListRecords>")

    @property
    def requests(self) -> list[tuple[float, str, dict]]:
        return self.server.requests

    @property
    def tokens_seen(self) -> list[str | None]:
        return [query.get("resumptionToken") for _, _, query in self.requests]


def run_cli(db, url, interval="0", **popen):
    command = [*dailypapers_cmd(), "--db", str(db), "ingest", "arxiv-oai", "--set", "physics:hep-th", "--from", FROM,
               "--base-url", url]  # fmt: skip
    env = {**os.environ, "DAILYPAPERS_ARXIV_MIN_INTERVAL": interval}
    if popen:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=PATIENCE)


def dump(db) -> dict:
    return catalog_dump(db)


def ids(db) -> list[str]:
    return [row[0] for row in sql_rows(db, "SELECT id FROM papers ORDER BY id")]


def harvest(url, min_interval=0.0, **options) -> list:
    client = PoliteClient(min_interval=min_interval)
    try:
        return list(arxiv_oai.harvest(client, url, set_spec="physics:hep-th", from_day=date(2017, 12, 14), **options))
    finally:
        client.close()


def test_parses_recorded_list_records(replay_server):
    server = replay_server({"/oai2": lambda query: (200, XML, HEP_TH.read_bytes())})
    items = harvest(server.url + "/oai2")

    assert server.requests[0][2] == {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "physics:hep-th", "from": FROM}
    *records, checkpoint = items
    assert checkpoint == Checkpoint({"token": None, "cursor": None, "complete_list_size": None})
    assert [r.id for r in records] == ["1412.8323", "1507.07790", "1607.01710"]
    first, second, third = records
    assert first.title == "Toolbox for reconstructing quantum theory from rules on information acquisition"
    assert first.authors == [{"name": "Philipp A Hoehn"}]
    assert first.categories == ["quant-ph", "gr-qc", "hep-th", "math-ph", "math.MP", "physics.hist-ph"]
    assert (first.published_at, first.updated_at) == ("2014-12-29T00:00:00.000Z", "2017-12-13T00:00:00.000Z")
    assert first.observed == "2017-12-14" and first.source == "arxiv"
    assert first.license == "http://creativecommons.org/licenses/by/4.0/"
    assert first.comment.startswith("78 pages, many figures") and first.doi is None
    assert first.abstract.startswith("We develop an operational approach for reconstructing the quantum theory of qubit")
    assert second.title == "Relativistic quantum dynamics of vector bosons in an Aharonov-Bohm potential"
    assert second.authors == [{"name": "Luis B. Castro"}, {"name": "Edilberto O. Silva"}]
    assert (second.journal_ref, second.doi) == ("J. Phys. A: Math. Theor. 51 (2018) 035201", "10.1088/1751-8121/aa9c53")
    assert second.published_at == "2015-07-28T00:00:00.000Z"
    assert [a["name"] for a in third.authors] == [
        "R. A. C. Correa", "D. M. Dantas", "P. H. R. S. Moraes", "A. de Souza Dutra", "C. A. S. Almeida"
    ]  # fmt: skip
    assert third.categories == ["hep-th"] and third.comment is None


def test_parses_pretty_printed_old_style_records(replay_server):
    server = OAIServer(replay_server, records=RECORDS[6:8], page_size=2)
    gardner, fiorentini, _ = harvest(server.url)

    assert fiorentini.id == "physics/0112006"
    assert fiorentini.authors == [{"name": "G. Fiorentini"}, {"name": "L. Okun"}, {"name": "M. Vysotsky"}]
    assert fiorentini.title == "Is G a conversion factor or a fundamental unit?"
    assert (fiorentini.published_at, fiorentini.updated_at, fiorentini.observed) == ("2001-12-04T00:00:00.000Z", None, "2009-11-07")
    assert gardner.title.startswith("Framework for maximum likelihood") and not gardner.title.endswith("\n")
    assert gardner.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert gardner.categories == ["hep-ph", "hep-lat", "nucl-ex", "nucl-th"]


def test_deleted_and_broken_records_are_skipped(replay_server):
    deleted = (b'<record><header status="deleted"><identifier>oai:arXiv.org:0704.0001</identifier>'
               b"<datestamp>2017-12-14</datestamp></header></record>")  # fmt: skip
    untitled = re.sub(rb"<title>.*?</title>", b"", RECORDS[1], flags=re.S)
    server = OAIServer(replay_server, records=[RECORDS[0], deleted, untitled, RECORDS[2]], page_size=4)
    items = harvest(server.url)

    assert [type(i) for i in items] == [PaperRecord, Skipped, Skipped, PaperRecord, Checkpoint]
    assert items[1] == Skipped("oai:arXiv.org:0704.0001", "deleted record")
    assert items[2].where == "oai:arXiv.org:1507.07790" and "no title" in items[2].reason


def test_multi_page_harvest_via_cli_is_spaced(replay_server, tmp_path, new_db):
    server = OAIServer(replay_server)
    db = new_db("oai")
    result = run_cli(db, server.url, interval="0.2")

    assert result.returncode == 0, result.stderr
    assert ids(db) == ALL_IDS
    assert server.tokens_seen == [None, "5791802|3", "5791802|5", "5791802|7", "5791802|9"]
    times = [t for t, _, _ in server.requests]
    # Arrival times, measured by the server, carry scheduling jitter on a loaded 2-core box (over 40 ms
    # was seen): the mean gap shows the spacing, the smallest gap that no two requests came together.
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert sum(gaps) / len(gaps) >= 0.19 and min(gaps) >= 0.1


def test_retry_after_on_503_is_honoured(replay_server):
    def busy_once(n, query):
        if n == 2 and query.get("resumptionToken") == "5791802|3":
            return 503, {"Retry-After": "1"}, b"Retry after 1 second"

    server = OAIServer(replay_server, before=busy_once)
    items = harvest(server.url, min_interval=0.05)

    assert sorted(i.id for i in items if isinstance(i, PaperRecord)) == ALL_IDS
    assert server.tokens_seen[:3] == [None, "5791802|3", "5791802|3"]
    (busy, _, _), (retry, _, _) = server.requests[1:3]
    assert retry - busy >= 1.0


def test_killed_harvest_resumes_at_its_token(replay_server, new_db):
    arrived, release = threading.Event(), threading.Event()

    def slow_page_3(n, query):
        if query.get("resumptionToken") == "5791802|5" and not arrived.is_set():
            arrived.set()
            release.wait(5)

    server = OAIServer(replay_server, before=slow_page_3)
    db = new_db("resumed")
    process = run_cli(db, server.url, start_new_session=True)
    try:
        assert arrived.wait(20), process.stdout.read() if process.poll() is not None else "page 3 never requested"
    finally:
        process.kill()  # SIGKILL: no cleanup at all
        process.wait()
        process.stdout.close()
        release.set()
    (source, state), = sql_rows(db, "SELECT source, state FROM checkpoints")  # fmt: skip
    state = json.loads(state) if isinstance(state, str) else state  # SQLite's JSON is text
    assert source == "arxiv-oai" and state["token"] == "5791802|5"
    assert ids(db) == sorted(["1412.8323", "1507.07790", "1607.01710", "1706.05371"])

    first_rerun_request = len(server.requests)
    result = run_cli(db, server.url)
    assert result.returncode == 0, result.stderr
    assert server.requests[first_rerun_request][2] == {"verb": "ListRecords", "resumptionToken": "5791802|5"}
    assert "resuming at token 5791802|5" in result.stderr
    assert sql_rows(db, "SELECT count(*) FROM checkpoints") == [(0,)]

    fresh = new_db("fresh")
    assert run_cli(fresh, server.url).returncode == 0
    assert ids(fresh) == ALL_IDS
    assert dump(db) == dump(fresh)


def test_expired_token_restarts_from_the_first_request(replay_server):
    server = OAIServer(replay_server)
    log: list[str] = []
    items = harvest(server.url, resume={"token": "3", "cursor": "4", "complete_list_size": "9"}, log=log.append)

    assert sorted(i.id for i in items if isinstance(i, PaperRecord)) == ALL_IDS
    assert server.tokens_seen == ["3", None, "5791802|3", "5791802|5", "5791802|7", "5791802|9"]
    assert "resuming at token 3" in log[0] and "illegal for this repository" in log[1]
    assert items[-1] == Checkpoint({"token": None, "cursor": "8", "complete_list_size": "9"})


def test_no_records_match_is_an_empty_harvest(replay_server, tmp_path, new_db):
    body = (OAI_DIR / "arXivOAIHarvester__ErrorResponseNoRecordsMatch.xml").read_bytes()
    server = replay_server({"/oai2": lambda query: (200, XML, body)})
    db = new_db("empty")
    result = run_cli(db, server.url + "/oai2")

    assert result.returncode == 0, result.stderr
    assert ids(db) == []
    assert len(server.requests) == 1


def test_oai_error_fails_the_command(replay_server, tmp_path, new_db):
    body = (OAI_DIR / "arXivOAIHarvester__ErrorResponseBadArgument.xml").read_bytes()
    server = replay_server({"/oai2": lambda query: (200, XML, body)})
    result = run_cli(new_db("bad"), server.url + "/oai2")

    assert result.returncode != 0
    assert "badArgument" in result.stdout + result.stderr
    assert "illegal argument 'identifier'" in result.stdout + result.stderr
    with pytest.raises(FetchError, match="badArgument"):
        harvest(server.url + "/oai2")


def test_malformed_xml_is_a_fetch_error(replay_server):
    server = replay_server({"/oai2": lambda query: (200, XML, HEP_TH.read_bytes()[:3000])})
    with pytest.raises(FetchError, match="malformed XML"):
        harvest(server.url + "/oai2")


def test_harvesting_twice_changes_nothing(replay_server, tmp_path, new_db):
    server = OAIServer(replay_server, page_size=3)
    db = new_db("twice")
    assert run_cli(db, server.url).returncode == 0
    before = dump(db)
    assert run_cli(db, server.url).returncode == 0
    assert dump(db) == before and len(before["papers"]) == len(ALL_IDS)


def test_default_arxiv_spacing_is_three_seconds():
    assert Config(environ={}).arxiv_min_interval == 3.0
