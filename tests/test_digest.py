"""Email digests against real parts: the demo database, a live server, and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import httpx
import pytest

from conftest import PATIENCE, LiveServer, MailServer, dailypapers_cmd, mail_settings, run_cli
from dailypapers.config import Config
from dailypapers.digest.preferences import check_email, check_preferences
from dailypapers.search import Search
from dailypapers.store import Store

LINK = re.compile(r"https?://\S+")


def links(message) -> dict[str, str]:
    """The site's links in a mail's plain-text part, by what they do."""
    text = message.get_body(("plain",)).get_content()
    found = {}
    for url in LINK.findall(text):
        for kind in ("confirm", "manage", "unsubscribe", "personal"):
            if f"/{kind}/" in url:
                found[kind] = url
    return found


def subscribe(server: LiveServer, email: str, **preferences) -> httpx.Response:
    return httpx.post(f"{server.url}/api/subscriptions", json={"email": email, **preferences}, timeout=30)


def same_origin(server: LiveServer) -> dict:
    """The Origin header a browser sends with a form from the site's own pages (forms check it)."""
    return {"Origin": server.url}


def mails_to(mail: MailServer, email: str, count: int = 1, timeout: float = PATIENCE) -> list:
    """The mails `email` received, once there are `count` (the site sends after answering)."""
    deadline = time.monotonic() + timeout
    while len(mail.to(email)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return mail.to(email)


def confirmed(db, email: str, **preferences) -> int:
    """A confirmed subscriber written straight into the store (for tests about digests, not opt-in)."""
    store = Store(db)
    subscriber, confirmation = store.subscribe(email, check_preferences(**preferences))
    store.mark_sent(confirmation)  # as if it had been mailed and opened
    store.set_subscriber_status(subscriber["id"], "confirmed", only_from=["pending"])
    store.close()
    return subscriber["id"]


def send_digests(db, mail: MailServer, *args: str, **settings) -> subprocess.CompletedProcess:
    env = {f"DAILYPAPERS_{k.upper()}": str(v) for k, v in mail_settings(mail, **settings).items()}
    return run_cli("--db", str(db), "digest", "send", *args, env=env)


@pytest.fixture
def site(demo_copy, mail_server):
    with LiveServer(demo_copy, **mail_settings(mail_server)) as server:
        yield server


# -- subscribing, confirming, leaving ------------------------------------------------------------------


def test_double_opt_in_digest_and_one_click_unsubscribe(site, mail_server, demo_copy):
    email = "reader@example.org"
    answer = subscribe(site, email, frequency="daily", top=5, searches=["diffusion"])
    assert answer.status_code == 202 and answer.json()["status"] == "pending"
    [confirmation] = mails_to(mail_server, email)
    assert set(links(confirmation)) == {"confirm", "manage", "unsubscribe", "personal"}  # every mail has them all
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Unconfirmed: the digest run mails nothing to this address.
    assert send_digests(demo_copy, mail_server).returncode == 0
    assert len(mail_server.to(email)) == 1

    page = httpx.get(links(confirmation)["confirm"])
    assert page.status_code == 200 and "You are subscribed" in page.text
    result = send_digests(demo_copy, mail_server, public_url=site.url)
    assert result.returncode == 0, result.stderr
    [digest] = [m for m in mail_server.to(email) if m is not confirmation]
    assert digest.get_content_type() == "multipart/alternative"
    assert {part.get_content_type() for part in digest.iter_parts()} == {"text/plain", "text/html"}
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(https?://\S+)>", digest["List-Unsubscribe"])[1]
    assert unsubscribe == links(digest)["unsubscribe"]  # the visible link is the header's link

    # The digest holds the latest day's most upvoted papers, each with title, link, upvotes and abstract.
    store = Store(demo_copy)
    top = store.feed(*[__import__("datetime").date.fromisoformat(store.latest_day())] * 2, limit=5)[0]
    html = digest.get_body(("html",)).get_content()
    for paper in top:
        assert paper["title"].split()[0] in html and f"/papers/{paper['id']}" in html
        assert f"https://arxiv.org/pdf/{paper['id']}" in html
    assert f"{len(top) + 0}" in digest["Subject"] or "papers for" in digest["Subject"]

    # RFC 8058 one-click: one POST, no login, no cookie.
    answer = httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "unsubscribed" in answer.text
    assert store.subscribers_without("daily", "digest", "none") == []
    assert send_digests(demo_copy, mail_server, "--period", "daily:" + store.neighbor_days(store.latest_day())[0]).returncode == 0
    assert len(mail_server.to(email)) == 2  # nothing after leaving
    store.close()


def test_forged_altered_and_misused_tokens_are_refused(site, mail_server, demo_copy):
    subscribe(site, "someone@example.org", top=3)
    confirm = links(mails_to(mail_server, "someone@example.org")[0])["confirm"]
    payload, signature = confirm.rsplit("/", 1)[1].split(".")
    base = confirm.rsplit("/", 1)[0]
    altered = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    for url in (f"{base}/{altered}.{signature}", f"{base}/{payload}.{signature[:-2]}xx", f"{base}/nonsense",
                f"{site.url}/unsubscribe/{payload}.{signature}",  # a confirm token cannot unsubscribe
                f"{site.url}/subscriptions/manage/{payload}.{signature}"):  # fmt: skip
        answer = httpx.get(url)
        assert answer.status_code == 400, url
    store = Store(demo_copy)
    assert store.count_subscribers() == {"pending": 1}
    store.close()


def test_expired_confirmation_link_is_refused(demo_copy, mail_server):
    from dailypapers.digest import Renderer, signer

    store = Store(demo_copy)
    subscriber, _ = store.subscribe("late@example.org", check_preferences(top=3))
    config = Config({"db": str(demo_copy)}, environ={})
    stale = Renderer("http://x", "dp", "a@b.c", signer(store, config), confirm_hours=-1).confirm_link(subscriber["id"])
    with LiveServer(demo_copy, **mail_settings(mail_server)) as server:
        answer = httpx.get(server.url + stale.removeprefix("http://x"))
    assert answer.status_code == 400 and "expired" in answer.text
    assert store.subscriber(subscriber["id"])["status"] == "pending"
    store.close()


@pytest.mark.parametrize("email", ["a@example.org\r\nBcc: victim@example.org", "a@example.org\nSubject: x",
                                   "a@example.org%0d%0aBcc:x@y.org", "not an address", "a@", "a" * 250 + "@x.org"])  # fmt: skip
def test_bad_addresses_and_header_injection_are_refused(site, mail_server, demo_copy, email):
    answer = subscribe(site, email, top=5)
    assert answer.status_code == 422 and answer.json()["error"]
    form = httpx.post(f"{site.url}/subscribe", data={"email": email, "frequency": "daily", "top": "5"}, headers=same_origin(site))
    assert form.status_code == 422 and 'role="alert"' in form.text
    time.sleep(0.2)
    assert mail_server.messages == []
    store = Store(demo_copy)
    assert store.count_subscribers() == {}
    store.close()


def test_bad_preferences_are_refused_with_a_message(site):
    for body, words in [({"frequency": "hourly"}, "frequency"), ({"top": 0}, "choose something"),
                        ({"top": 500}, "less than or equal"), ({"searches": ["x" * 300]}, "at most 250"),
                        ({"authors": ["Ann\r\nBcc: x"]}, "control characters")]:  # fmt: skip
        answer = subscribe(site, "p@example.org", **body)
        assert answer.status_code == 422 and words in answer.json()["error"], (body, answer.text)


def test_subscribing_again_changes_nothing_and_sends_a_manage_link(site, mail_server, demo_copy):
    subscriber_id = confirmed(demo_copy, "kept@example.org", frequency="weekly", top=7, searches=["robots"])
    assert subscribe(site, "Kept@EXAMPLE.org", frequency="daily", top=1).status_code == 202
    [notice] = mails_to(mail_server, "kept@example.org")
    assert "already" in notice["Subject"] + notice.get_body(("plain",)).get_content()
    store = Store(demo_copy)
    kept = store.subscriber(subscriber_id)
    assert (kept["frequency"], kept["top"], kept["searches"]) == ("weekly", 7, ["robots"])
    store.close()
    page = httpx.get(links(notice)["manage"])
    assert page.status_code == 200 and "robots</textarea>" in page.text


def test_manage_page_changes_preferences_and_resubscribes(site, mail_server, demo_copy):
    subscribe(site, "m@example.org", top=3)
    confirmation = mails_to(mail_server, "m@example.org")[0]
    page = httpx.get(links(confirmation)["confirm"])
    manage = re.search(r'href="(http[^"]*/subscriptions/manage/[^"]+)"', page.text)[1]  # offered once confirmed
    saved = httpx.post(manage, data={"frequency": "weekly", "top": "0", "searches": "graph neural\ncat:cs.CL",
                                     "authors": "Yann LeCun, Ada Lovelace", "organizations": ""}, headers=same_origin(site))  # fmt: skip
    assert saved.status_code == 200 and "Saved." in saved.text
    store = Store(demo_copy)
    subscriber = store.subscriber(1)
    assert subscriber["searches"] == ["graph neural", "cat:cs.CL"] and subscriber["authors"] == ["Yann LeCun", "Ada Lovelace"]
    bad = httpx.post(manage, data={"frequency": "weekly", "top": "0"}, headers=same_origin(site))
    assert bad.status_code == 422 and "choose something" in bad.text.lower()
    assert store.subscriber(1)["searches"] == ["graph neural", "cat:cs.CL"]  # a refused change keeps what was there
    leave = re.search(r'action="(/unsubscribe/[^"]+)"', httpx.get(manage).text)[1]  # the manage page's button
    assert httpx.post(site.url + leave).status_code == 200
    assert store.subscriber(1)["status"] == "unsubscribed"
    httpx.post(manage, data={"frequency": "daily", "top": "4"}, headers=same_origin(site))
    assert store.subscriber(1)["status"] == "confirmed"
    store.close()


# -- digests ---------------------------------------------------------------------------------------------


def _days(db) -> list[str]:
    store = Store(db)
    latest = store.latest_day()
    before = store.neighbor_days(latest)[0]
    store.close()
    return [before, latest]


def test_no_paper_twice_and_no_empty_digest(demo_copy, mail_server):
    reader = confirmed(demo_copy, "r@example.org", top=10, searches=["language model"])
    confirmed(demo_copy, "n@example.org", top=0, searches=['"no paper says this qwxz"'])
    sent = []
    for day in _days(demo_copy):
        result = send_digests(demo_copy, mail_server, "--period", f"daily:{day}")
        assert result.returncode == 0, result.stderr
        [digest] = [m for m in mail_server.to("r@example.org") if m not in sent]
        sent.append(digest)
    first, second = (set(re.findall(r"/papers/([\w.]+)", m.get_body(("plain",)).get_content())) for m in sent)
    assert first and second and not first & second
    assert mail_server.to("n@example.org") == []
    store = Store(demo_copy)
    digests = [m for m in store.mails() if m["kind"] == "digest"]
    assert [m["subscriber_id"] for m in digests] == [reader, reader]  # none queued for the empty one
    store.close()


def test_rerun_sends_nothing_twice(demo_copy, mail_server):
    for n in range(5):
        confirmed(demo_copy, f"s{n}@example.org", top=3)
    assert send_digests(demo_copy, mail_server, "--period", "daily").returncode == 0
    assert send_digests(demo_copy, mail_server, "--period", "daily").returncode == 0
    assert sorted(m["To"] for m in mail_server.messages) == [f"s{n}@example.org" for n in range(5)]


def test_dry_run_queues_and_sends_nothing(demo_copy, mail_server):
    confirmed(demo_copy, "d@example.org", top=3)
    result = send_digests(demo_copy, mail_server, "--dry-run")
    assert result.returncode == 0 and "d@example.org" in result.stdout and "Trending (3)" in result.stdout
    store = Store(demo_copy)
    assert [m["kind"] for m in store.mails()] == ["confirm"] and mail_server.messages == []
    store.close()


def test_flaky_server_every_subscriber_gets_exactly_one_digest(demo_copy):
    emails = [f"f{n}@example.org" for n in range(30)]
    for email in emails:
        confirmed(demo_copy, email, top=3, frequency="weekly")
    with MailServer(fail_rate=0.3, seed=7) as flaky:
        result = send_digests(demo_copy, flaky, "--period", "weekly", mail_attempts=12)
        assert result.returncode == 0, result.stderr
        assert flaky.failures >= 5  # the faults did happen
        assert sorted(m["To"] for m in flaky.messages) == sorted(emails)
    store = Store(demo_copy)
    digests = [m for m in store.mails() if m["kind"] == "digest"]
    assert len(digests) == 30 and {m["status"] for m in digests} == {"sent"}
    assert max(m["attempts"] for m in digests) > 1
    store.close()


def test_permanent_failure_is_recorded_not_retried(demo_copy):
    confirmed(demo_copy, "gone@example.org", top=3)
    confirmed(demo_copy, "here@example.org", top=3)
    with MailServer(reject={"gone@example.org"}) as server:
        result = send_digests(demo_copy, server, "--period", "daily")
        assert result.returncode == 0 and "1 failed" in result.stderr
        assert [m["To"] for m in server.messages] == ["here@example.org"]
        assert server.transactions == 2
    store = Store(demo_copy)
    failed = [m for m in store.mails() if m["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["attempts"] == 1 and "550" in failed[0]["last_error"]
    assert store.already_sent([failed[0]["subscriber_id"]], failed[0]["papers"][0][1]) == {}  # may go out later
    store.close()


def utf8_server(smtputf8: bool) -> tuple[MailServer, list]:
    """A MailServer that offers SMTPUTF8 or not, and the envelopes of what it accepted: (recipients,
    whether the mail came with SMTPUTF8)."""
    from aiosmtpd.controller import Controller

    server, envelopes = MailServer(), []
    handler, data = server.controller.handler, server.controller.handler.handle_DATA

    async def handle_data(smtp, session, envelope):
        envelopes.append((tuple(envelope.rcpt_tos), envelope.smtp_utf8))
        return await data(smtp, session, envelope)

    handler.handle_DATA = handle_data
    server.controller = Controller(handler, hostname="127.0.0.1", port=server.port, enable_SMTPUTF8=smtputf8)
    return server, envelopes


IDN = {"plain@example.org": ("plain@example.org", False), "User@Bücher.de": ("user@xn--bcher-kva.de", False),
       "user@straße.de": ("user@xn--strae-oqa.de", False),  # IDNA 2008: not strasse.de, another domain
       "Jörg@Bücher.de": ("jörg@bücher.de", True), "other@example.org": ("other@example.org", False)}  # fmt: skip


def test_internationalized_addresses_with_a_server_that_offers_smtputf8(demo_copy):
    """Accepted at subscription; an IDN domain goes as its A-label (no SMTPUTF8 needed), a non-ASCII
    local part with SMTPUTF8; and every other subscriber gets their digest too."""
    for email in IDN:
        confirmed(demo_copy, check_email(email), top=3)
    server, envelopes = utf8_server(smtputf8=True)
    with server:
        result = send_digests(demo_copy, server, "--period", "daily")
    assert result.returncode == 0 and "5 sent" in result.stderr, result.stderr
    assert sorted(envelopes) == sorted(((to,), utf8) for to, utf8 in IDN.values())
    assert {m["To"] for m in server.messages if m["To"].isascii()} == {to for to, utf8 in IDN.values() if not utf8}
    store = Store(demo_copy)
    assert {m["status"] for m in store.mails() if m["kind"] == "digest"} == {"sent"}
    store.close()


def test_internationalized_address_without_smtputf8_fails_alone(demo_copy):
    """A mail that cannot be sent (a non-ASCII local part and a server without SMTPUTF8; an address
    stored long ago that is no longer valid) fails for good with the reason; the run goes on."""
    ids = {email: confirmed(demo_copy, check_email(email), top=3) for email in IDN}
    broken = confirmed(demo_copy, "x@ü", top=3)  # written straight into the store: not an address email-validator takes
    server, envelopes = utf8_server(smtputf8=False)
    with server:
        result = send_digests(demo_copy, server, "--period", "daily")
    assert result.returncode == 0 and "4 sent" in result.stderr and "2 failed" in result.stderr, result.stderr
    assert sorted(envelopes) == sorted(((to,), False) for to, utf8 in IDN.values() if not utf8)
    store = Store(demo_copy)
    digests = {m["subscriber_id"]: m for m in store.mails() if m["kind"] == "digest"}
    failed = {i: m["last_error"] for i, m in digests.items() if m["status"] == "failed"}
    assert set(failed) == {ids["Jörg@Bücher.de"], broken}
    assert "SMTPUTF8" in failed[ids["Jörg@Bücher.de"]] and "does not offer" in failed[ids["Jörg@Bücher.de"]]
    assert "cannot be written" in failed[broken] and "x@ü" in failed[broken]
    assert all(digests[i]["attempts"] == 1 for i in failed)  # permanent: not retried
    assert {m["status"] for i, m in digests.items() if i not in failed} == {"sent"}
    store.close()


def test_subscribing_with_an_idn_address_sends_the_confirmation(site, mail_server):
    assert subscribe(site, "Reader@Bücher.de", top=3).status_code == 202
    [confirmation] = mails_to(mail_server, "reader@xn--bcher-kva.de")
    assert set(links(confirmation)) == {"confirm", "manage", "unsubscribe", "personal"}


def test_killed_mid_run_then_rerun_sends_the_rest_once(demo_copy):
    emails = [f"k{n}@example.org" for n in range(40)]
    for email in emails:
        confirmed(demo_copy, email, top=2)
    process = None

    def kill_at(transaction: int) -> None:
        if transaction == 15:  # the sender is waiting for the server's answer to its 15th mail
            process.send_signal(signal.SIGKILL)

    with MailServer(on_mail=kill_at) as server:
        # One connection, so that at the kill no other mail is between the server's "250 queued" and
        # the sender's record of it: the one moment a kill makes a mail go out twice (see digest/send.py).
        settings = mail_settings(server, smtp_connections=1)
        env = {**os.environ, **{f"DAILYPAPERS_{k.upper()}": str(v) for k, v in settings.items()}}
        process = subprocess.Popen([*dailypapers_cmd(), "--db", str(demo_copy), "digest", "send", "--period", "daily"],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        process.wait(timeout=PATIENCE)
        assert process.returncode == -signal.SIGKILL
        assert 0 < len(server.messages) < len(emails)
        # The killed sender still holds claims on its mails; the rerun sees it is dead and takes them over.
        store = Store(demo_copy)
        assert any(m["claimed_until"] for m in store.mails())
        store.close()
        result = send_digests(demo_copy, server, "--period", "daily")
        assert result.returncode == 0, result.stderr
        assert sorted(m["To"] for m in server.messages) == sorted(emails)


def test_mail_rate_paces_sending(demo_copy, mail_server):
    from dailypapers import digest

    for n in range(6):
        confirmed(demo_copy, f"p{n}@example.org", top=2)
    config = Config({"db": str(demo_copy), "mail_rate": 4, **mail_settings(mail_server)}, environ={})
    store = Store(demo_copy)
    digest.queue(store, Search(store, encoder=None), digest.parse_periods("daily", store.latest_day()))
    report = digest.Sender(store, config, digest.renderer(store, config)).run()
    assert report.sent == 6 and len(mail_server.messages) == 6
    # six mails at 4 per second, over two connections: five gaps of 0.25 s at least (a slow machine adds)
    assert mail_server.received_at[-1] - mail_server.received_at[0] >= 5 * 0.25 * 0.9
    store.close()


def test_unreachable_server_leaves_mails_to_retry(demo_copy):
    confirmed(demo_copy, "later@example.org", top=2)
    result = run_cli("--db", str(demo_copy), "digest", "send", "--period", "daily", "--no-wait",
                     env={"DAILYPAPERS_SMTP_HOST": "127.0.0.1", "DAILYPAPERS_SMTP_PORT": "9"})  # fmt: skip
    assert result.returncode == 0 and "1 to retry" in result.stderr
    store = Store(demo_copy)
    [mail] = [m for m in store.mails() if m["kind"] == "digest"]
    assert mail["status"] == "pending" and mail["attempts"] == 1 and mail["next_attempt_at"] > mail["created_at"]
    store.close()
    with MailServer() as server:  # the server is back: the same digest goes out, once
        result = send_digests(demo_copy, server, "--period", "daily")
        assert result.returncode == 0 and [m["To"] for m in server.messages] == ["later@example.org"]


# -- feeds ------------------------------------------------------------------------------------------------


def test_personal_feed_behind_a_secret_url(demo_copy, mail_server):
    import feedparser

    subscriber_id = confirmed(demo_copy, "feed@example.org", top=4, searches=["agents"])
    store = Store(demo_copy)
    token = store.subscriber(subscriber_id)["feed_token"]
    store.close()
    with LiveServer(demo_copy, **mail_settings(mail_server)) as server:
        feed = feedparser.parse(httpx.get(f"{server.url}/feeds/personal/{token}.rss").content)
        assert not feed.bozo and len(feed.entries) >= 4
        assert "feed@example.org" not in feed.feed.title
        altered = token[:-1] + ("x" if token[-1] != "x" else "y")  # (a token may end in x)
        assert httpx.get(f"{server.url}/feeds/personal/{altered}.rss").status_code == 404
        assert httpx.get(f"{server.url}/feeds/personal/{token}.atom").status_code == 200


def test_subscription_requests_are_rate_limited_per_address(demo_copy, mail_server):
    with LiveServer(demo_copy, subscribe_per_hour=3, **mail_settings(mail_server)) as server:
        answers = [subscribe(server, f"flood{n}@example.org", top=3).status_code for n in range(5)]
        assert answers == [202, 202, 202, 429, 429]
        assert "too many" in subscribe(server, "x@example.org", top=3).json()["error"]
        form = httpx.post(f"{server.url}/subscribe", data={"email": "y@example.org", "frequency": "daily", "top": "3"},
                          headers=same_origin(server))  # fmt: skip
        assert form.status_code == 429 and "try again" in form.text
        store = server.app.state.store
        assert store.count_subscribers() == {"pending": 3}


def test_search_page_offers_its_search_by_email(site, mail_server, demo_copy):
    page = httpx.get(f"{site.url}/search", params={"q": 'diffusion "video generation"'})
    form = re.search(r'<form class="wrap footer-subscribe".*?</form>', page.text, re.S)[0]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert fields == {"searches": "diffusion &#34;video generation&#34;", "top": "0"}
    answer = httpx.post(f"{site.url}/subscribe", data={"email": "s@example.org", "frequency": "weekly",
                                                       "searches": 'diffusion "video generation"', "top": "0"},
                        headers=same_origin(site))  # fmt: skip
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    subscriber = site.app.state.store.subscriber(1)
    assert (subscriber["searches"], subscriber["top"], subscriber["frequency"]) == (['diffusion "video generation"'], 0, "weekly")


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    import shutil

    if not shutil.which("openssl"):
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_tls_and_login_from_the_settings(demo_copy, certificate, security):
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    received = []

    class Handler:
        async def handle_DATA(self, smtp, session, envelope):  # noqa: N802
            received.append((session.authenticated, envelope.rcpt_tos))
            return "250 OK"

    def login(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"digest", b"s3cret"), handled=False)

    port = __import__("conftest").free_port()
    # aiosmtpd cannot tell that an implicit-TLS session is encrypted: let it offer AUTH there
    tls = {"tls_context": context, "require_starttls": True} if security == "starttls" else {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=login, auth_required=True, **tls)
    confirmed(demo_copy, "secure@example.org", top=2)
    env = {"DAILYPAPERS_SMTP_HOST": "127.0.0.1", "DAILYPAPERS_SMTP_PORT": str(port), "DAILYPAPERS_SMTP_SECURITY": security,
           "DAILYPAPERS_SMTP_USERNAME": "digest", "SSL_CERT_FILE": str(cert)}  # fmt: skip
    controller.start()
    try:
        wrong = run_cli("--db", str(demo_copy), "digest", "send", "--period", "daily", env={**env, "DAILYPAPERS_SMTP_PASSWORD": "nope"})
        assert wrong.returncode == 1 and "refused the settings" in wrong.stderr and received == []
        right = run_cli("--db", str(demo_copy), "digest", "send", "--period", "daily", env={**env, "DAILYPAPERS_SMTP_PASSWORD": "s3cret"})
        assert right.returncode == 0, right.stderr
        assert received == [(True, ["secure@example.org"])]
    finally:
        controller.stop()
