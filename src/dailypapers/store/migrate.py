"""Schema migrations (Alembic), run on every `Store` open so a database is always at the current schema.

Before a migration changes a SQLite database that holds tables, the file is backed up beside itself
(`<db>.pre-<revision>.bak`, store/backup.py); if that fails, the database is left as it was.
"""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


class MigrationError(RuntimeError):
    pass


def upgrade(connection) -> None:
    config = _config(connection)
    head = ScriptDirectory.from_config(config).get_current_head()
    current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return
    _back_up(connection, current, head)
    command.upgrade(config, "head")
    if connection.in_transaction():
        connection.commit()


def _back_up(connection, current: str | None, head: str) -> None:
    """Copy the SQLite file before migrating it from `current` to `head` (a new, empty one needs none).
    The caller's transaction holds the write lock, so nobody changes the file between copy and migration."""
    from . import backup

    path = backup.sqlite_path(connection.engine.url.render_as_string(hide_password=False))
    if path is None or not inspect(connection).get_table_names():
        return
    target = backup.free_name(path.with_name(f"{path.name}.pre-{head}.bak"))  # an earlier try's is kept too
    try:
        backup.backup(path, target)
    except (backup.BackupError, OSError) as exc:
        raise MigrationError(f"could not back up {path} before migrating it from schema revision {current} to "
                             f"{head}, so it was not migrated: {exc}") from None  # fmt: skip
    log.warning("backed up %s to %s before migrating it from schema revision %s to %s", path, target, current, head)
