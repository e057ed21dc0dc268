"""The digest's pure parts: signed tokens, preference checks, periods and the schedule."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from dailypapers.digest import parse_periods
from dailypapers.digest.compose import digest_period
from dailypapers.digest.preferences import InvalidSubscription, check_email, check_preferences
from dailypapers.digest.schedule import next_run, parse_schedule
from dailypapers.digest.tokens import BadToken, Signer


def test_token_round_trip_and_every_alteration_is_refused():
    signer = Signer("k1")
    token = signer.sign("unsubscribe", 42)
    assert signer.verify(token, "unsubscribe") == 42
    for n in range(len(token)):
        if token[n] == ".":
            continue
        altered = token[:n] + ("A" if token[n] != "A" else "B") + token[n + 1 :]
        with pytest.raises(BadToken):
            signer.verify(altered, "unsubscribe")
    with pytest.raises(BadToken):
        Signer("another key").verify(token, "unsubscribe")
    with pytest.raises(BadToken, match="something else"):
        signer.verify(token, "manage")
    with pytest.raises(BadToken, match="expired"):
        signer.verify(signer.sign("confirm", 1, ttl_s=-1), "confirm")
    for junk in ("", ".", "abc", "a.b.c", "\x00.\x00"):
        with pytest.raises(BadToken):
            signer.verify(junk, "unsubscribe")


def test_email_checks():
    assert check_email("  Ada@Example.ORG ") == "ada@example.org"
    for bad in ("ada@example.org\r\nBcc: x@y.org", "ada@example.org\n", "ada\x00@example.org", "@example.org",
                "ada@", "ada", "", "ada@exa mple.org"):  # fmt: skip
        with pytest.raises(InvalidSubscription):
            check_email(bad)


def test_preferences_from_form_fields_and_lists():
    prefs = check_preferences("weekly", "5", "graph neural\r\n\r\ncat:cs.LG\ngraph neural", "Ada Lovelace, Alan Turing,", "google")
    assert prefs == {"frequency": "weekly", "top": 5, "searches": ["graph neural", "cat:cs.LG"],
                     "authors": ["Ada Lovelace", "Alan Turing"], "organizations": ["google"]}  # fmt: skip
    for bad in ({"frequency": "hourly"}, {"top": -1}, {"top": "many"}, {"top": 0}, {"top": 0, "searches": ["x" * 251]},
                {"top": 1, "authors": ["a\x1bb"]}, {"top": 1, "organizations": [f"o{n}" for n in range(21)]}):  # fmt: skip
        with pytest.raises(InvalidSubscription):
            check_preferences(**bad)


def test_default_periods():
    # The latest day on the feed, and the latest finished week.
    assert digest_period("daily", None, "2025-02-14", date(2025, 2, 17)).label == "2025-02-14"
    assert digest_period("weekly", None, "2025-02-14", date(2025, 2, 17)).label == "2025-W07"  # week over
    assert digest_period("weekly", None, "2025-02-12", date(2025, 2, 13)).label == "2025-W06"  # still running
    assert [(f, p.label) for f, p in parse_periods("weekly:2025-W09", None)] == [("weekly", "2025-W09")]
    assert [f for f, _ in parse_periods(None, "2025-02-14")] == ["daily", "weekly"]
    for bad in ("hourly", "daily:2025-02-30", "weekly:2025-W60"):
        with pytest.raises(ValueError):
            parse_periods(bad, "2025-02-14")


def test_schedule_daily_on_weekdays_weekly_on_its_day():
    when, tz, monday = parse_schedule("07:30", "Europe/Berlin", "Monday")
    friday_evening = datetime(2025, 2, 14, 20, 0, tzinfo=timezone.utc)
    moment, due = next_run(friday_evening, when, tz, monday)
    assert moment == datetime(2025, 2, 17, 7, 30, tzinfo=ZoneInfo("Europe/Berlin")) and due == ["daily", "weekly"]
    tuesday_early = datetime(2025, 2, 18, 5, 0, tzinfo=timezone.utc)  # 06:00 in Berlin: today's run is ahead
    assert next_run(tuesday_early, when, tz, monday) == (datetime(2025, 2, 18, 7, 30, tzinfo=tz), ["daily"])
    _, _, sunday = parse_schedule("07:30", "UTC", "sunday")
    saturday = datetime(2025, 2, 15, 12, 0, tzinfo=timezone.utc)
    assert next_run(saturday, time(7, 30), ZoneInfo("UTC"), sunday)[1] == ["weekly"]
    for bad in (("7h", "UTC", "monday"), ("25:00", "UTC", "monday"), ("07:00", "Mars/Olympus", "monday"),
                ("07:00", "UTC", "someday")):  # fmt: skip
        with pytest.raises(ValueError):
            parse_schedule(*bad)


def test_rendered_mail_parses_back_with_the_standard_library():
    import email
    import email.policy

    from dailypapers.digest import Renderer
    from dailypapers.digest.render import mime_alternative

    renderer = Renderer("https://papers.example.org", "Papiers du jour", "Papiers du jour <digest@example.org>", Signer("k"))
    paper = {"id": "2502.01234", "title": "Ünïcode & <b>bold</b> claims", "abstract": "Zürich " * 80, "upvotes": 3,
             "authors": [{"name": f"Author {n}"} for n in range(9)], "organization": {"name": "acme", "fullname": "ACME Lab"},
             "github_repo": "javascript:alert(1)", "project_page": "https://acme.example.org"}  # fmt: skip
    mail = {"kind": "digest", "subscriber_id": 7, "feed_token": "t", "email": "r@example.org", "period": "weekly:2025-W07"}
    raw = renderer.message(mail, [("Trending", [paper])])
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Papiers du jour: 1 paper for Week 07 of 2025 (Feb 10 – Feb 16)"
    assert parsed["Message-ID"] == "<digest.7.weekly.2025-W07@papers.example.org>"
    assert parsed["List-Unsubscribe"].startswith("<https://papers.example.org/unsubscribe/")
    text, html = parsed.get_body(("plain",)).get_content(), parsed.get_body(("html",)).get_content()
    assert "Ünïcode & <b>bold</b> claims" in text and "Ünïcode &amp; &lt;b&gt;bold&lt;/b&gt; claims" in html
    assert "javascript:" not in html and "https://acme.example.org" in html  # only http(s) links
    assert "Author 5 and 3 more" in text and "ACME Lab" in text
    with pytest.raises(ValueError):
        mime_alternative({"To": "a@b.org\r\nBcc: c@d.org"}, "x", "y")


def test_internationalized_addresses_are_written_for_smtp():
    import email
    import email.policy

    from dailypapers.digest import Renderer
    from dailypapers.digest.render import mime_alternative, smtp_address

    # accepted at subscription, as before
    assert check_email("User@Bücher.de") == "user@bücher.de" and check_email("Jörg@Bücher.de") == "jörg@bücher.de"
    assert smtp_address("r@example.org") == ("r@example.org", False)
    assert smtp_address("user@bücher.de") == ("user@xn--bcher-kva.de", False)  # the A-label: no SMTPUTF8 needed
    assert smtp_address("user@straße.de") == ("user@xn--strae-oqa.de", False)  # IDNA 2008 (IDNA 2003 says strasse.de)
    assert smtp_address("jörg@bücher.de") == ("jörg@bücher.de", True)  # no ASCII form: SMTPUTF8
    with pytest.raises(ValueError, match="cannot send"):
        smtp_address("x@ü")

    renderer = Renderer("https://papers.example.org", "Papers", "Papers <digest@bücher.de>", Signer("k"))
    mail = {"kind": "confirm", "subscriber_id": 7, "feed_token": "t", "email": "user@bücher.de", "period": "confirm:x"}
    raw = renderer.message(mail)
    assert raw.isascii()  # nothing in it needs SMTPUTF8
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"] == "user@xn--bcher-kva.de" and parsed["From"] == "Papers <digest@xn--bcher-kva.de>"
    assert renderer.envelope(mail, raw)[:2] == ("digest@xn--bcher-kva.de", ["user@xn--bcher-kva.de"])

    raw = renderer.message({**mail, "email": "jörg@bücher.de"})
    assert "To: jörg@bücher.de\r\n".encode() in raw  # RFC 6532: a UTF-8 header, in a mail sent with SMTPUTF8
    parsed = email.message_from_bytes(raw, policy=email.policy.SMTPUTF8)
    assert links_in(parsed) and renderer.envelope(mail | {"email": "jörg@bücher.de"}, raw)[1] == ["jörg@bücher.de"]
    with pytest.raises(ValueError):
        mime_alternative({"To": "jörg@bücher.de"}, "x", "y")  # only when the mail is sent with SMTPUTF8
    with pytest.raises(ValueError):
        mime_alternative({"To": "jörg@bücher.de\r\nBcc: c@d.org"}, "x", "y", utf8=True)


def links_in(message) -> list[str]:
    return [word for word in message.get_body(("plain",)).get_content().split() if word.startswith("https://")]


def test_scheduler_runs_the_due_frequencies(monkeypatch):
    import threading
    from datetime import timedelta

    from dailypapers.config import Config
    from dailypapers.digest import schedule

    ran, done = [], threading.Event()
    moments = iter([timedelta(seconds=0.05), timedelta(hours=1)])
    monkeypatch.setattr(schedule, "next_run", lambda now, *_: (now + next(moments), ["daily", "weekly"]))

    def send(frequency):
        ran.append(frequency)
        if frequency == "weekly":
            done.set()
        raise RuntimeError("a failing run does not stop the schedule")  # logged, then the next one

    scheduler = schedule.Scheduler(Config({"digest_timezone": "Europe/Berlin"}, environ={}), send)
    scheduler.start()
    assert done.wait(5)
    scheduler.stop()
    scheduler.join(5)
    assert ran == ["daily", "weekly"] and not scheduler.is_alive()


def test_serve_refuses_a_bad_schedule(tmp_path, new_db):
    from conftest import run_cli

    db = new_db("x")
    assert run_cli("--db", str(db), "stats").returncode == 0  # creates it
    result = run_cli("--db", str(db), "serve", env={"DAILYPAPERS_DIGEST_SCHEDULE": "yes", "DAILYPAPERS_DIGEST_TIMEZONE": "Mars/Base"})
    assert result.returncode == 1 and "not a time zone" in result.stderr
