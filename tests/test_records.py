from datetime import timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dailypapers.ingest.latex import decode_accents
from dailypapers.records import (
    InvalidRecord, PaperRecord, clean_abstract, clean_title, iso_datetime, iso_day, parse_arxiv_id, single_spaced,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2405.15738", ("2405.15738", None)),
        ("2405.15738v3", ("2405.15738", "v3")),
        ("arXiv:2405.15738v2", ("2405.15738", "v2")),
        ("https://arxiv.org/abs/2405.15738v1", ("2405.15738", "v1")),
        ("http://arxiv.org/pdf/2405.15738v1.pdf", ("2405.15738", "v1")),
        ("oai:arXiv.org:1305.0014", ("1305.0014", None)),
        ("0704.0001", ("0704.0001", None)),
        ("hep-th/9901001v2", ("hep-th/9901001", "v2")),
        ("math.AG/0601001", ("math.AG/0601001", None)),
        (" 2501.00001 ", ("2501.00001", None)),
    ],
)
def test_arxiv_ids_are_normalized(text, expected):
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "2405.157", "2405.1573812", "../etc/passwd", "2405.15738v", "hep-th/99"])
def test_bad_arxiv_ids_are_refused(text):
    with pytest.raises(InvalidRecord):
        parse_arxiv_id(text)


def test_abstract_hard_wraps_are_joined_and_paragraphs_kept():
    raw = "Language agents have shown\nimpressive skills.\n  Second paragraph\nwraps here.\n"
    assert clean_abstract(raw) == "Language agents have shown impressive skills.\n\nSecond paragraph wraps here."


def test_dates_are_normalized_to_utc_iso():
    assert iso_datetime("2024-05-24T17:34:15.000Z") == "2024-05-24T17:34:15.000Z"
    assert iso_datetime("2024-05-24T19:34:15+02:00") == "2024-05-24T17:34:15.000Z"
    assert iso_datetime("Mon, 2 Apr 2007 19:18:42 GMT") == "2007-04-02T19:18:42.000Z"
    assert iso_datetime("2025-03-18") == "2025-03-18T00:00:00.000Z"
    assert iso_day("2025-10-02T03:50:58.348Z") == "2025-10-02"
    with pytest.raises(InvalidRecord):
        iso_day("2025-02-30")
    with pytest.raises(InvalidRecord):
        iso_day(["2025-02-03"])  # days are cached by text: other types still get a clear error
    with pytest.raises(InvalidRecord):
        iso_datetime("yesterday")


@pytest.mark.parametrize("zone", ["GMT", "UTC", "+0000"])
def test_rfc2822_dates_read_fast_as_email_utils_reads_them(zone):
    """The snapshot's version dates take a fast path; it must agree with the general one, errors included."""
    from email.utils import parsedate_to_datetime

    for text in [f"{weekday}{day} {month} {year} {clock} {zone}"
                 for weekday in ("", "Mon, ") for day in ("1", "02", "28", "29", "30", "31", "0")
                 for month in ("Jan", "Feb", "Apr", "Dec", "Foo") for year in ("1999", "2008", "2023")
                 for clock in ("00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60")]:  # fmt: skip
        try:
            expected = parsedate_to_datetime(text).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        except (TypeError, ValueError):
            expected = InvalidRecord
        if expected is InvalidRecord:
            with pytest.raises(InvalidRecord):
                iso_datetime(text)
        else:
            assert iso_datetime(text) == expected, text


def test_record_requires_a_title_and_known_source():
    with pytest.raises(InvalidRecord):
        PaperRecord(id="2405.15738", source="hf", observed="2024-05-27", title="  \n ")
    with pytest.raises(InvalidRecord):
        PaperRecord(id="2405.15738", source="nowhere", observed="2024-05-27", title="x")


def test_tex_accents_become_unicode():
    assert decode_accents('Bj\\"orn Sch\\"{o}lkopf') == "Björn Schölkopf"
    assert decode_accents("Fran{\\c c}ois") == "François"
    assert decode_accents("{\\O}ystein and Pawe{\\l}") == "Øystein and Paweł"
    assert decode_accents("Energy $E = {mc}^2$") == "Energy $E = {mc}^2$"  # math is left alone


@given(st.text(st.characters(blacklist_categories=["Cs"])) | st.lists(st.sampled_from(["a", "b", " ", "  ", "\t", "\n", "\xa0", "\u2003", "\x00", "é"])).map("".join))
def test_a_title_checked_cheaply_is_cleaned_as_splitting_it_would(text):
    """clean_title (and the arXiv authors' check) skip splitting a text that is already single-spaced."""
    assert clean_title(text) == (" ".join(text.split()) or None)
    if single_spaced(text):  # it may say no to a clean text (one with unprintable characters), never yes to another
        assert text == " ".join(text.split())


@pytest.mark.parametrize("value", ["2025-03-18", "2025-03-18T10:00:00Z", " 2025-03-18", "2025-02-31", "2024-02-29", "18/03/2025", "", None, 20250318])
def test_a_day_read_fast_is_the_day_read_in_full(value):
    from datetime import date

    def in_full(value):
        text = str(value or "").strip()[:10]
        return date.fromisoformat(text).isoformat()

    try:
        expected = in_full(value)
    except ValueError:
        with pytest.raises(InvalidRecord):
            iso_day(value)
    else:
        assert iso_day(value) == expected
