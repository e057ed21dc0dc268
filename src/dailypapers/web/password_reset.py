"""Password reset by mail: a link that works once and expires after `reset_hours`, sent through the
same SMTP settings as the digests.

POST /forgot answers the same page, with the same status, whether or not the name is an account's:
looking the account up, making the link and sending the mail all happen after the answer has gone (a
background task), so neither its text nor its timing tells which accounts exist. Requests are limited
(429) per IP address and per name asked for, whether or not the name is an account's; and however an
account is named (username or email), it gets at most `resets_per_hour` mails an hour, silently.
These forms have no session, hence no CSRF token: their Origin (or Referer) must be this site.
A new password uses up the link and the user's other links, logs the user out everywhere, then in here.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from .. import accounts
from ..digest.render import mail_headers, mime_alternative, smtp_address
from ..digest.send import connect, mail_options
from .auth import check_same_origin, password_work
from .community import account_page, log_in
from .ratelimit import TooMany, client_address, limit, take

log = logging.getLogger("dailypapers.web.password_reset")
router = APIRouter()


def duration(hours: float) -> str:
    """'1 hour', '1.5 hours', '20 minutes'."""
    count, unit = (f"{hours:g}", "hour") if hours >= 1 else (str(max(1, round(hours * 60))), "minute")
    return f"{count} {unit}{'s' * (count != '1')}"


def reset_message(config, to: str, username: str, link: str, utf8: bool = False) -> bytes:
    """The mail with a reset link: plain text and HTML."""
    subject = f"Reset your password on {config.site_name}"
    headers = mail_headers(subject, config.mail_from, to, urlsplit(config.site_url).hostname or "localhost")
    lines = [
        f"Hello {username},",
        (f"Someone, we hope you, asked to reset the password of your {config.site_name} account. "
         "To choose a new password, open this link:"),
        link,
        (f"It works once and expires in {duration(config.reset_hours)}. "
         "If you did not ask for this, ignore this mail: nothing changes."),
    ]
    paragraphs = [html.escape(line) for line in lines]
    paragraphs[2] = f'<a href="{html.escape(link)}">{html.escape(link)}</a>'
    return mime_alternative(headers, "\n\n".join(lines) + "\n", "".join(f"<p>{p}</p>\n" for p in paragraphs), utf8=utf8)


def send_reset_link(store, config, name: str) -> None:
    """After POST /forgot has answered: if `name` is an account's username or email, and the account
    has not had its mails for the hour, store a new link and mail it. Failures are logged only."""
    try:
        found = store.login_candidate(name)
        if found is None:
            return
        user = found[0]
        try:
            take(store, config, ("reset", f"mail:{user['id']}"))
        except TooMany:
            log.warning("password reset for user %s not sent: %d mails in the last hour already", user["id"], config.resets_per_hour)
            return
        token, token_hash = accounts.new_secret()
        store.create_password_reset(user["id"], token_hash, datetime.now(UTC) + timedelta(hours=config.reset_hours))
        to, utf8 = smtp_address(user["email"])
        message = reset_message(config, user["email"], user["username"], f"{config.site_url}/reset/{token}", utf8=utf8)
        sender = smtp_address(parseaddr(config.mail_from)[1])[0]
        with connect(config) as smtp:
            smtp.sendmail(sender, [to], message, mail_options=mail_options(smtp, sender, [to]))
    except Exception:
        log.exception("a password reset mail was not sent")


# -- pages ----------------------------------------------------------------------------------------------


@router.get("/forgot", include_in_schema=False)
def forgot_page(request: Request):
    return account_page(request, view="forgot")


@router.post("/forgot", include_in_schema=False)
async def forgot(request: Request):
    check_same_origin(request)
    form = await request.form()
    name = str(form.get("username", "")).strip().lower()[:254]
    if not name:
        return account_page(request, 422, view="forgot", error="enter your username or email address")
    limit(request, "reset", client_address(request), f"account:{name}")  # whether or not there is such an account
    state = request.app.state
    response = account_page(request, view="forgot_sent", hours=duration(state.config.reset_hours))
    response.background = BackgroundTask(send_reset_link, state.store, state.config, name)
    return response


def _bad_link(request: Request) -> Response:
    return account_page(request, 400, view="reset")


def _reset_form(request: Request, account: dict, token: str, status: int = 200, error: str | None = None) -> Response:
    response = account_page(request, status, view="reset", account=account["username"], token=token, error=error)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/reset/{token}", include_in_schema=False)
def reset_page(request: Request, token: str):
    account = request.app.state.store.password_reset_user(accounts.secret_hash(token))
    return _reset_form(request, account, token) if account else _bad_link(request)


@router.post("/reset/{token}", include_in_schema=False)
async def reset(request: Request, token: str):
    check_same_origin(request)
    form = await request.form()
    store, token_hash = request.app.state.store, accounts.secret_hash(token)
    account = store.password_reset_user(token_hash)
    if account is None:
        return _bad_link(request)
    try:
        password = accounts.check_password(str(form.get("password", "")), account["username"])
    except accounts.InvalidAccount as exc:
        return _reset_form(request, account, token, 422, str(exc))
    password_hash = await password_work(request, accounts.hash_password, password)
    account = store.use_password_reset(token_hash, password_hash)  # None if the link was used meanwhile
    return log_in(request, account, "/") if account else _bad_link(request)
