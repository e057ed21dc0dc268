"""Sending the outbox over SMTP: one connection for many mails, a configurable rate, retries with
back-off, and a record of every mail's fate.

A mail is marked sent in the database as soon as the server accepted it. SMTP has no way to make the
two one step: a sender killed in the millisecond between the server's "250 queued" and that record
sends the mail again when rerun (at least once, never lost), with the same Message-ID for digests so
the receiving side can drop the repeat. A kill at any other moment repeats nothing: the rerun takes
over the dead sender's claimed mails (same host) or waits for its claims to lapse (CLAIM_HOLD), and
mails are claimed before they are sent, so two senders (cron and `serve`, say) never hold the same mail.

Failures: a 5xx answer for the recipient or the message is permanent (the mail is marked failed and
its papers may go out in a later digest). A 4xx answer, a refused or dropped connection or a timeout
is temporary: the mail is tried again after mail_retry_base seconds, doubled at each try, until
mail_attempts tries. A refused login is a configuration error: the run stops and says so.

One mail never stops the others: a mail that cannot be written or sent as it is (`Undeliverable`: an
address email-validator no longer accepts, one that needs SMTPUTF8 from a server that does not offer
it, anything else rendering or smtplib refuses before the server answers) fails for good, with the
reason in the outbox, and the run goes on. Internationalized addresses: see render.smtp_address (an
IDN domain with an ASCII local part goes as its A-label and needs nothing; a non-ASCII local part is
sent with SMTPUTF8, which the server must offer).
"""

from __future__ import annotations

import random
import smtplib
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .render import Renderer

CLAIM_BATCH = 100
CLAIM_HOLD = timedelta(minutes=5)  # renewed batch by batch; another host's crashed sender is waited for this long
LOOK_AGAIN_S = 2.0  # while waiting for mails due later or held by another sender, how often to look again


class MailConfigError(RuntimeError):
    """The SMTP settings are wrong (a refused login, TLS the server does not offer)."""


class Undeliverable(Exception):
    """This mail cannot be sent as it is, whatever the server would answer: it fails for good."""


def mail_options(smtp: smtplib.SMTP, sender: str, recipients: list[str]) -> tuple[str, ...]:
    """("SMTPUTF8",) for a mail with a non-ASCII address (RFC 6531), if the server offers it;
    Undeliverable if not. () for the others."""
    if sender.isascii() and all(address.isascii() for address in recipients):
        return ()
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("smtputf8"):
        wanted = ", ".join(a for a in (sender, *recipients) if not a.isascii())
        raise Undeliverable(f"{wanted}: an address with a non-ASCII local part can only be sent with SMTPUTF8, "
                            "which the SMTP server does not offer")  # fmt: skip
    return ("SMTPUTF8",)


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
    if isinstance(exc, Undeliverable):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(exc, smtplib.SMTPResponseException) and code is not None and code >= 500


class Sender:
    """Sends over `smtp_connections` connections at once: while one waits for the server's answer,
    another renders and sends (a mail spends about as long waiting as being rendered)."""

    def __init__(self, store, config, renderer: Renderer, *, sleep=time.sleep):
        self.store, self.config, self.renderer, self.sleep = store, config, renderer, sleep
        self._lock = threading.Lock()
        self._local = threading.local()  # each thread's own SMTP connection
        self._open: list[smtplib.SMTP] = []
        self._next_slot = 0.0

    def run(self, ids: list[int] | None = None, *, wait: bool = True, progress=None) -> SendReport:
        """Send the due mails (only `ids`, if given). With `wait`, keep going until no mail is pending,
        sleeping until retries are due; without, send what is due now and return."""
        report = SendReport()
        rate = self.config.mail_rate
        batch = max(1, min(CLAIM_BATCH, int(rate * CLAIM_HOLD.total_seconds() / 2))) if rate > 0 else CLAIM_BATCH
        pool = ThreadPoolExecutor(max(1, self.config.smtp_connections), thread_name_prefix="smtp")
        try:
            while True:
                mails = self.store.claim_mails(batch, CLAIM_HOLD, ids=ids)
                if not mails:
                    due = self.store.next_mail_due() if wait and ids is None else None
                    if due is None:
                        break
                    # Not longer than a glance: a mail another sender holds (another host's `digest send`)
                    # is waited for until its claim lapses, in case that sender died, but that sender
                    # usually sends it long before.
                    self.sleep(min(max((due - datetime.now(timezone.utc)).total_seconds(), 0.0) + 0.01, LOOK_AGAIN_S))
                    continue
                papers = self._papers(mails)
                handled: set[int] = set()
                try:
                    for mail_id in pool.map(lambda mail: self._send(mail, papers, report), mails):
                        handled.add(mail_id)
                        if progress:
                            progress(1)
                except MailConfigError:
                    pool.shutdown(wait=True, cancel_futures=True)
                    unsent = [m["id"] for m in mails if m["id"] not in handled]
                    self.store.release_mails(unsent)  # a mail another thread finished meanwhile is not pending: untouched
                    raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.close()
        return report

    def _papers(self, mails: list[dict]) -> dict[str, dict]:
        ids = {paper_id for mail in mails for _, paper_ids in mail["papers"] for paper_id in paper_ids}
        return {paper["id"]: paper for paper in self.store.papers_by_ids(list(ids))} if ids else {}

    def _send(self, mail: dict, papers: dict[str, dict], report: SendReport) -> int:
        started = time.perf_counter()
        try:
            sections = [(title, [papers[i] for i in ids if i in papers]) for title, ids in mail["papers"]]
            sender, recipients, message = self.renderer.envelope(mail, self.renderer.message(mail, sections))
        except Exception as exc:  # this mail cannot be written (say, an address or a header it cannot hold)
            self._failed(mail, Undeliverable(f"cannot be written: {type(exc).__name__}: {exc}"), report)
            return mail["id"]
        rendered = time.perf_counter() - started
        self._pace()
        try:
            smtp = self._connection()
            smtp.sendmail(sender, recipients, message, mail_options=mail_options(smtp, sender, recipients))
        except MailConfigError:
            raise
        except (smtplib.SMTPException, OSError, Undeliverable) as exc:
            self._failed(mail, exc, report)
        except Exception as exc:  # refused by smtplib before the server could answer, the session left half-way
            self._drop_connection()
            self._failed(mail, Undeliverable(f"{type(exc).__name__}: {exc}"), report)
        else:
            self.store.mark_sent(mail["id"])
            with self._lock:
                report.sent += 1
        with self._lock:
            report.render_s += rendered
        return mail["id"]

    def _connection(self) -> smtplib.SMTP:
        smtp = getattr(self._local, "smtp", None)
        if smtp is None:
            smtp = self._local.smtp = connect(self.config)
            with self._lock:
                self._open.append(smtp)
        return smtp

    def _failed(self, mail: dict, exc: Exception, report: SendReport) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused | smtplib.SMTPDataError | Undeliverable):
            self._drop_connection()  # it is in an unknown state
        attempts = mail["attempts"] + 1
        if is_permanent(exc) or attempts >= self.config.mail_attempts:
            self.store.mark_failed(mail["id"], error)
            with self._lock:
                report.failed += 1
                report.errors.append(f"{mail['email']}: {error}")
        else:
            delay = self.config.mail_retry_base * 2 ** (attempts - 1) * random.uniform(0.8, 1.2)
            self.store.mark_retry(mail["id"], error, datetime.now(timezone.utc) + timedelta(seconds=delay))
            with self._lock:
                report.retried += 1

    def _pace(self) -> None:
        """At most mail_rate mails per second, over all connections."""
        if self.config.mail_rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.config.mail_rate
        if slot > now:
            self.sleep(slot - now)

    def _drop_connection(self) -> None:
        smtp = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if smtp is not None:
            with self._lock:
                self._open.remove(smtp)
            _quit(smtp)

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for smtp in connections:
            _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
