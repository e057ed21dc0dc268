"""Sending the outbox over SMTP: one connection for many mails, a configurable rate, retries with
back-off, and a record of every mail's fate.

A mail is marked sent in the database as soon as the server accepted it. A sender killed between the
two (a window of one database write) leaves the mail claimed; when the claim lapses the mail is sent
again, with the same Message-ID for digests. Nothing else can send a mail twice: mails are claimed
before they are sent, so two senders (cron and `serve`, say) never hold the same mail.

Failures: a 5xx answer for the recipient or the message is permanent (the mail is marked failed and
its papers may go out in a later digest). A 4xx answer, a refused or dropped connection or a timeout
is temporary: the mail is tried again after mail_retry_base seconds, doubled at each try, until
mail_attempts tries. A refused login is a configuration error: the run stops and says so.
"""

from __future__ import annotations

import random
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .render import Renderer

CLAIM_BATCH = 100
CLAIM_HOLD = timedelta(minutes=5)  # renewed batch by batch; another host's crashed sender is waited for this long


class MailConfigError(RuntimeError):
    """The SMTP settings are wrong (a refused login, TLS the server does not offer)."""


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    render_s: float = 0.0
    errors: list[str] = field(default_factory=list)


def connect(config) -> smtplib.SMTP:
    host, port, timeout = config.smtp_host, config.smtp_port, config.smtp_timeout
    security = config.smtp_security.lower()
    if security not in ("none", "starttls", "tls"):
        raise MailConfigError(f"smtp_security must be none, starttls or tls, not {config.smtp_security!r}")
    context = ssl.create_default_context()
    smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context) if security == "tls" else smtplib.SMTP(host, port, timeout=timeout)
    try:
        if security == "starttls":
            smtp.starttls(context=context)
        if config.smtp_username:
            smtp.login(config.smtp_username, config.smtp_password)
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
        smtp.close()
        raise MailConfigError(f"the SMTP server refused the settings: {exc}") from None
    except BaseException:
        smtp.close()
        raise
    return smtp


def is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(exc, smtplib.SMTPResponseException) and code is not None and code >= 500


class Sender:
    def __init__(self, store, config, renderer: Renderer, *, sleep=time.sleep):
        self.store, self.config, self.renderer, self.sleep = store, config, renderer, sleep
        self._smtp: smtplib.SMTP | None = None
        self._next_slot = 0.0

    def run(self, ids: list[int] | None = None, *, wait: bool = True, progress=None) -> SendReport:
        """Send the due mails (only `ids`, if given). With `wait`, keep going until no mail is pending,
        sleeping until retries are due; without, send what is due now and return."""
        report = SendReport()
        batch = max(1, min(CLAIM_BATCH, int(self.config.mail_rate * CLAIM_HOLD.total_seconds() / 2))) if self.config.mail_rate > 0 else CLAIM_BATCH
        try:
            while True:
                mails = self.store.claim_mails(batch, CLAIM_HOLD, ids=ids)
                if not mails:
                    due = self.store.next_mail_due() if wait and ids is None else None
                    if due is None:
                        break
                    self.sleep(max((due - datetime.now(timezone.utc)).total_seconds(), 0.0) + 0.01)
                    continue
                papers = self._papers(mails)
                for done, mail in enumerate(mails):
                    try:
                        self._send(mail, papers, report)
                    except MailConfigError:
                        self.store.release_mails([m["id"] for m in mails[done:]])
                        raise
                    if progress:
                        progress(1)
        finally:
            self.close()
        return report

    def _papers(self, mails: list[dict]) -> dict[str, dict]:
        ids = {paper_id for mail in mails for _, paper_ids in mail["papers"] for paper_id in paper_ids}
        return {paper["id"]: paper for paper in self.store.papers_by_ids(list(ids))} if ids else {}

    def _send(self, mail: dict, papers: dict[str, dict], report: SendReport) -> None:
        started = time.perf_counter()
        sections = [(title, [papers[i] for i in ids if i in papers]) for title, ids in mail["papers"]]
        message = self.renderer.message(mail, sections)
        report.render_s += time.perf_counter() - started
        self._pace()
        try:
            if self._smtp is None:
                self._smtp = connect(self.config)
            self._smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            self._failed(mail, exc, report)
        else:
            self.store.mark_sent(mail["id"])
            report.sent += 1

    def _failed(self, mail: dict, exc: Exception, report: SendReport) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
            self.close()  # the connection is in an unknown state
        attempts = mail["attempts"] + 1
        if is_permanent(exc) or attempts >= self.config.mail_attempts:
            self.store.mark_failed(mail["id"], error)
            report.failed += 1
            report.errors.append(f"{mail['email']}: {error}")
        else:
            delay = self.config.mail_retry_base * 2 ** (attempts - 1) * random.uniform(0.8, 1.2)
            self.store.mark_retry(mail["id"], error, datetime.now(timezone.utc) + timedelta(seconds=delay))
            report.retried += 1

    def _pace(self) -> None:
        """At most mail_rate mails per second."""
        if self.config.mail_rate <= 0:
            return
        now = time.monotonic()
        if self._next_slot > now:
            self.sleep(self._next_slot - now)
        self._next_slot = max(now, self._next_slot) + 1.0 / self.config.mail_rate

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None
