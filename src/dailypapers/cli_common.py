"""What the command modules share (cli.py, digest/commands.py, backup_commands.py): the console that
progress and messages go to, opening the store with a one-line error, and reading a day."""

from __future__ import annotations

from datetime import date

import click
from rich.console import Console

from .config import Config

console = Console(stderr=True)


def open_store(config: Config):
    from .store import Store

    try:
        return Store(config.db, timeout=config.db_timeout)
    except Exception as exc:  # a path we cannot create, a URL we cannot reach, a file that is not a database
        from .store.errors import storage_unavailable

        problem = storage_unavailable(exc)  # e.g. a migration on a full disk: its words, not the SQL
        raise click.ClickException(f"cannot open database {config.db!r}: {problem.command_message if problem else exc}") from None


def parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None
