"""`dailypapers backup` and `dailypapers restore`, and the serving lock `serve` takes (store/backup.py)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from .cli_common import console
from .config import Config

@contextmanager
def _pages(what: str):
    """A progress bar of pages copied; yields the callback that moves it."""
    progress = Progress(TextColumn(f"[bold]{what}"), BarColumn(), TaskProgressColumn(),
                        TextColumn("{task.completed:,.0f} pages"), TimeElapsedColumn(),
                        console=console, transient=True)  # fmt: skip
    with progress:
        task = progress.add_task(what, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


@contextmanager
def _copying(what: str, file: Path, if_interrupted: str):
    """A progress bar of pages copied (yields its callback); a refusal or a failure in one line."""
    from .store.backup import BackupError

    try:
        with _pages(what) as progress:
            yield progress
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # a folder we may not write in, a full disk
        raise click.ClickException(f"{exc.filename or file}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        console.print(f"[yellow]Interrupted[/]; {if_interrupted}.")
        sys.exit(130)


def _summary(copied) -> str:
    return f"{copied.size / 1e6:,.1f} MB, {copied.pages:,} pages, {copied.seconds:.1f} s"


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.pass_obj
def backup(config: Config, file: Path, force: bool) -> None:
    """Copy the database to FILE while the site serves and ingests: a consistent snapshot, checked with
    PRAGMA integrity_check before it takes the name FILE."""
    from .store.backup import backup as back_up

    with _copying("backup", file, f"nothing was written to {file}") as progress:
        copied = back_up(config.db, file, force=force, progress=progress)
    console.print(f"Backed up {config.db} to {copied.path}: {_summary(copied)} (integrity_check ok)", soft_wrap=True)


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Restore even while a server serves the database (restart it right after).")
@click.pass_obj
def restore(config: Config, file: Path, force: bool) -> None:
    """Put the backup FILE back as the database. The database it replaces is kept beside it, renamed
    (<db>.replaced-<time>.bak); the search indexes are rebuilt by the next `serve` or `index`."""
    from .store.backup import restore as put_back

    with _copying("restore", file, f"{config.db} was not changed") as progress:
        copied = put_back(file, config.db, force=force, progress=progress)
    kept = f"; the database it replaced is now {copied.replaced}" if copied.replaced else ""
    console.print(f"Restored {file} to {copied.path}: {_summary(copied)}{kept}. The search indexes are rebuilt "
                  "by the next `dailypapers serve` or `dailypapers index`.", soft_wrap=True)  # fmt: skip


def serving_lock(db: str):
    """For `serve`: mark `db` as served for this process's life (the handle must be kept), or refuse."""
    from .store.backup import BackupError, hold_serving_lock

    try:
        return hold_serving_lock(db)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
