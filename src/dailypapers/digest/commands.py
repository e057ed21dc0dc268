"""`dailypapers digest ...`: send the digests (cron or by hand), see what the outbox holds."""

from __future__ import annotations

import sys

import click

from ..config import Config
from ..web.periods import PeriodError

PERIOD_HELP = ("daily or weekly, optionally with the period: daily:2025-02-14, weekly:2025-W07 "
               "(default: both, for the latest day and the latest finished week).")  # fmt: skip


@click.group()
def digest() -> None:
    """Email digests: compose and send them, see the outbox."""


def _open(config: Config):
    from ..cli_common import open_store
    from ..search import Search

    store = open_store(config)
    return store, Search(store, config.index_dir or None, encoder=None)  # digests match saved searches by words


@digest.command("send")
@click.option("--period", help=PERIOD_HELP)
@click.option("--dry-run", is_flag=True, help="Show who would get what; queue and send nothing.")
@click.option("--no-wait", is_flag=True, help="Do not wait for retries of failed mails; a later run sends them.")
@click.pass_obj
def send(config: Config, period: str | None, dry_run: bool, no_wait: bool) -> None:
    """Queue this period's digest for every confirmed subscriber (once per subscriber and period), then
    send everything the outbox holds. Safe to rerun after a crash: nothing is sent twice."""
    from .. import digest as digests
    from ..cli_common import console
    from .send import MailConfigError

    store, search = _open(config)
    try:
        targets = digests.parse_periods(period, store.latest_day())
    except (PeriodError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    if dry_run:
        found = digests.preview(store, search, targets)
        for subscriber, key, sections in found:
            counts = ", ".join(f"{title} ({len(papers)})" for title, papers in sections)
            click.echo(f"{subscriber['email']}  {key}  {counts}")
        click.echo(f"{len(found):,} digests would be sent (dry run: nothing queued or sent)")
        return
    try:
        with console.status("composing") as status:
            handled = [0]

            def tick(n: int) -> None:
                handled[0] += n
                status.update(f"sending: {handled[0]:,} mails handled")

            runs, report = digests.send(store, search, config, targets, wait=not no_wait, progress=tick)
    except MailConfigError as exc:
        raise click.ClickException(f"{exc} (check the smtp_* settings: `dailypapers settings`)") from None
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted[/]: run `dailypapers digest send` again to send the rest (nothing is sent twice).")
        sys.exit(130)
    for run in runs:
        console.print(f"{run.period}: {run.queued:,} digests queued")
    console.print(f"{report.sent:,} sent, {report.retried:,} to retry, {report.failed:,} failed for good")
    for error in report.errors[:20]:
        console.print(f"  [red]{error}[/]")


@digest.command("status")
@click.pass_obj
def status(config: Config) -> None:
    """Subscribers by status, mails by kind and status, and when the next pending mail is due."""
    from ..cli_common import open_store

    store = open_store(config)
    for state, count in sorted(store.count_subscribers().items()):
        click.echo(f"subscribers {state:>12}: {count:,}")
    for (kind, state), count in sorted(store.count_mails().items()):
        click.echo(f"{kind:>7} mails {state:>9}: {count:,}")
    due = store.next_mail_due()
    click.echo(f"next pending mail due: {due.isoformat() if due else 'none pending'}")
