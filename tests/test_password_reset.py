"""Password reset by mail against a live server and a real SMTP server (aiosmtpd): the link works once,
expires, cannot be guessed or altered, and the answers do not tell which accounts exist."""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest
from conftest import PATIENCE, LiveServer, MailServer, free_port, mail_settings
from test_community import PASSWORD, browser_client, sign_up

NEW_PASSWORD = "a brand new passphrase"
SENT = "If an account matches, we sent a link to its email address."
BAD_LINK = "invalid, already used or expired"


@pytest.fixture
def site(demo_copy, mail_server):
    with LiveServer(demo_copy, signups_per_hour=50, **mail_settings(mail_server)) as server:
        yield server


def client_from(site: LiveServer, address: str) -> httpx.Client:
    """A browser on the site's pages, connecting from another loopback address (another IP to the server)."""
    return httpx.Client(base_url=site.url, headers={"Origin": site.url}, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))  # fmt: skip


def mails_to(mail: MailServer, address: str, count: int, timeout: float = PATIENCE) -> list:
    """The mails to `address` once there are `count` (they go out after the answer)."""
    deadline = time.monotonic() + timeout
    while len(mail.to(address)) < count:
        assert time.monotonic() < deadline, f"{len(mail.to(address))} mails to {address}, not {count}"
        time.sleep(0.05)
    return mail.to(address)


def reset_token(message) -> str:
    return re.search(r"/reset/([A-Za-z0-9_-]+)", message.get_body(("plain",)).get_content())[1]


def forgot(client: httpx.Client, name: str) -> httpx.Response:
    return client.post("/forgot", data={"username": name})


def test_forgotten_password_journey(site, mail_server):
    first = sign_up(site, "ada")
    assert 'href="/forgot"' in httpx.get(f"{site.url}/login").text
    assert 'name="username"' in httpx.get(f"{site.url}/forgot").text
    other = browser_client(site)
    for name in ("ada@example.org", " ADA "):
        answer = forgot(other, name)
        assert answer.status_code == 200 and SENT in answer.text
    other_mail, newer = mails_to(mail_server, "ada@example.org", 2)
    assert newer["Subject"] == "Reset your password on dailypapers" and newer["From"] == "dailypapers <digest@localhost>"
    assert newer["Message-ID"] and newer["Date"] and newer.get_content_type() == "multipart/alternative"
    token = reset_token(newer)
    link = f"{site.url}/reset/{token}"
    assert link in newer.get_body(("plain",)).get_content() and f'href="{link}"' in newer.get_body(("html",)).get_content()
    assert "works once" in newer.get_body(("plain",)).get_content() and "1 hour" in newer.get_body(("plain",)).get_content()

    form = other.get(f"/reset/{token}")
    assert form.status_code == 200 and 'autocomplete="new-password"' in form.text and form.headers["cache-control"] == "no-store"
    answer = other.post(f"/reset/{token}", data={"password": NEW_PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert "ada@example.org" in other.get("/settings").text  # logged in
    assert first.get("/settings").status_code == 303  # the old session is over: to the log-in page

    again = other.post(f"/reset/{token}", data={"password": "yet another passphrase"})
    assert again.status_code == 400 and BAD_LINK in again.text and 'href="/forgot"' in again.text
    assert other.get(f"/reset/{reset_token(other_mail)}").status_code == 400  # the other open link is used up too
    login = browser_client(site)
    assert login.post("/login", data={"username": "ada", "password": PASSWORD}).status_code == 401
    assert login.post("/login", data={"username": "ada", "password": NEW_PASSWORD}).status_code == 303


def test_a_weak_password_is_refused_and_the_link_still_works(site, mail_server):
    sign_up(site, "bea")
    client = browser_client(site)
    forgot(client, "bea")
    token = reset_token(mails_to(mail_server, "bea@example.org", 1)[0])
    for weak, message in (("short", "10 to 200 characters"), ("bea-1234567890", "must not contain the username")):
        answer = client.post(f"/reset/{token}", data={"password": weak})
        assert answer.status_code == 422 and message in answer.text
    assert client.get(f"/reset/{token}").status_code == 200
    assert client.post(f"/reset/{token}", data={"password": NEW_PASSWORD}).status_code == 303


def test_an_expired_link_is_refused(demo_copy, mail_server):
    with LiveServer(demo_copy, reset_hours=0.0003, **mail_settings(mail_server)) as site:  # about a second
        sign_up(site, "cid")
        client = browser_client(site)
        assert "expires in 1 minute" in forgot(client, "cid").text
        token = reset_token(mails_to(mail_server, "cid@example.org", 1)[0])
        time.sleep(1.3)
        assert client.get(f"/reset/{token}").status_code == 400
        answer = client.post(f"/reset/{token}", data={"password": NEW_PASSWORD})
        assert answer.status_code == 400 and BAD_LINK in answer.text and "dp_session" not in client.cookies


def test_an_altered_or_made_up_link_is_refused(site, mail_server):
    sign_up(site, "dan")
    client = browser_client(site)
    forgot(client, "dan")
    token = reset_token(mails_to(mail_server, "dan@example.org", 1)[0])
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (altered, token[:-1], "x" * 43):
        assert client.get(f"/reset/{bad}").status_code == 400
        assert client.post(f"/reset/{bad}", data={"password": NEW_PASSWORD}).status_code == 400
    assert client.get(f"/reset/{token}").status_code == 200


def test_unknown_accounts_get_the_same_answer_and_no_mail(site, mail_server):
    sign_up(site, "eve")
    client = browser_client(site)
    unknown = [forgot(client, name) for name in ("nobody", "nobody@example.org")]
    known = [forgot(client, name) for name in ("eve", "eve@example.org")]
    for answer in unknown + known:
        assert (answer.status_code, answer.text) == (known[0].status_code, known[0].text)
    mails_to(mail_server, "eve@example.org", 2)
    time.sleep(0.3)
    assert len(mail_server.messages) == 2


def test_the_answer_does_not_wait_for_the_mail(demo_copy):
    """The slow part (SMTP) happens after the answer, so the time to answer cannot tell an account."""
    held = threading.Event()  # the mail server holds the mail until the answers are in
    with MailServer(on_mail=lambda n: held.wait(PATIENCE)) as mail, LiveServer(demo_copy, **mail_settings(mail)) as site:
        sign_up(site, "fay")
        client = browser_client(site)
        try:
            assert forgot(client, "fay").status_code == 200
            assert client.get("/forgot").status_code == 200  # the same connection is not held up either
            assert mail.messages == []
        finally:
            held.set()
        mails_to(mail, "fay@example.org", 1)


def test_rate_limits_per_address_and_per_account(demo_copy, mail_server):
    with LiveServer(demo_copy, resets_per_hour=3, signups_per_hour=50, **mail_settings(mail_server)) as site:
        sign_up(site, "gus")
        # per IP address: any names
        client = browser_client(site)
        assert [forgot(client, f"someone{i}").status_code for i in range(4)] == [200, 200, 200, 429]
        assert int(forgot(client, "someone9").headers["retry-after"]) > 0
        # per account name, whatever the address, and the same for a name that is nobody's
        for first, name in ((2, "gus"), (6, "nobody")):
            addresses = [f"127.0.0.{n}" for n in (first, first, first + 1, first + 2)]
            assert [forgot(client_from(site, address), name).status_code for address in addresses] == [200, 200, 200, 429]
        # at most 3 mails an hour to one account, whether asked by username or email
        assert forgot(client_from(site, "127.0.0.10"), "gus@example.org").status_code == 200
        mails_to(mail_server, "gus@example.org", 3)
        time.sleep(0.5)
        assert len(mail_server.to("gus@example.org")) == 3


def test_the_forms_must_come_from_the_site(site, mail_server):
    sign_up(site, "hal")
    for headers in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}):
        assert httpx.post(f"{site.url}/forgot", data={"username": "hal"}, headers=headers).status_code == 403
    client = browser_client(site)
    forgot(client, "hal")
    token = reset_token(mails_to(mail_server, "hal@example.org", 1)[0])
    assert httpx.post(f"{site.url}/reset/{token}", data={"password": NEW_PASSWORD}).status_code == 403
    assert len(mail_server.messages) == 1 and client.get(f"/reset/{token}").status_code == 200
    assert client.post(f"/reset/{token}", data={"password": NEW_PASSWORD}).status_code == 303


def test_a_mail_server_that_is_down_is_logged_not_shown(demo_copy, caplog):
    with LiveServer(demo_copy, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout=2) as site:
        sign_up(site, "ida")
        answer = forgot(browser_client(site), "ida")
        assert answer.status_code == 200 and SENT in answer.text
        deadline = time.monotonic() + PATIENCE
        while "a password reset mail was not sent" not in caplog.text:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_an_internationalized_address_gets_its_mail(site, mail_server):
    """An IDN domain is written as its A-label in the envelope (no SMTPUTF8 needed), as for digests."""
    client = browser_client(site)
    made = client.post("/signup", data={"username": "kurt", "email": "kurt@bücher.de", "password": PASSWORD})
    assert made.status_code == 303
    assert forgot(browser_client(site), "kurt").status_code == 200
    (message,) = mails_to(mail_server, "kurt@xn--bcher-kva.de", 1)
    assert message["To"] == "kurt@xn--bcher-kva.de" and reset_token(message)
