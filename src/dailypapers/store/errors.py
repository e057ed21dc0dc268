"""When the database cannot store anything now, rather than a bug: out of space, failing storage, a lock
held too long, a server that is down. Named here, in one place, for SQLite and PostgreSQL, with what to
say about each.

The site answers them with 503 and a message (web/errors.py), a command with one line and exit status 1
(cli.py), and the log gets the database's own words, never the SQL with its bound rows (SQLAlchemy's
message quotes both: 22 kB for a batch of papers). A failed write is a rolled-back transaction, so what
was stored before is all still there.
"""

from __future__ import annotations

import errno
import sys
from dataclasses import dataclass

# SQLite's primary result codes (https://sqlite.org/rescode.html); an extended code keeps its primary
# code in the low byte (SQLITE_IOERR_WRITE is 778 = 3 << 8 | 10).
_SQLITE_KINDS = {13: "full", 10: "io", 5: "busy", 6: "busy"}  # SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY, SQLITE_LOCKED
# What SQLite says for each, for an error that lost its code on the way (e.g. a driver that has none).
_SQLITE_MESSAGES = {"database or disk is full": "full", "disk i/o error": "io", "database is locked": "busy",
                    "database table is locked": "busy"}  # fmt: skip
# PostgreSQL's SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html), by prefix:
# class 53 "insufficient resources" (53100 disk_full, 53200 out_of_memory, 53300 too_many_connections,
# 53400 configuration_limit_exceeded), 55P03 lock_not_available, 57014 query_canceled (a timeout), class 08
# connection exceptions, 57P01-57P03 the server shutting down or starting up. A connection that could not
# be made, or broke, has no SQLSTATE: psycopg raises its OperationalError.
_POSTGRESQL_KINDS = {"53100": "full", "53": "resources", "55P03": "busy", "57014": "busy", "08": "unavailable",
                     "57P01": "unavailable", "57P02": "unavailable", "57P03": "unavailable"}  # fmt: skip
_OS_KINDS = {errno.ENOSPC: "full", errno.EDQUOT: "full", errno.EIO: "io"}

_SUMMARIES = {
    "full": "the database is full",
    "resources": "the database server is out of resources",
    "io": "the database cannot read or write its files",
    "busy": "the database is busy",
    "unavailable": "the database is unavailable",
}
_WHAT_TO_DO = {  # for whoever runs a command
    "full": "free space and run the command again",
    "resources": "see the database server's log, then run the command again",
    "io": "check the disk, then run the command again",
    "busy": "another program held it too long; run the command again",
    "unavailable": "check that the database server is running, then run the command again",
}
_PUBLIC = {  # for a visitor of the site
    "full": "The site cannot save anything right now: its storage is full.",
    "resources": "The site cannot save anything right now: its database is overloaded.",
    "io": "The site cannot save anything right now: its storage is failing.",
    "busy": "The site is busy right now.",
    "unavailable": "The site's database is unavailable right now.",
}


@dataclass(frozen=True)
class StorageUnavailable:
    kind: str  # "full", "resources", "io", "busy" or "unavailable"
    cause: str  # the database's own words, e.g. "database or disk is full" (no SQL, no values)

    @property
    def summary(self) -> str:
        """For the log and the command line: "the database is full (database or disk is full)"."""
        return f"{_SUMMARIES[self.kind]} ({self.cause})" if self.cause else _SUMMARIES[self.kind]

    @property
    def command_message(self) -> str:
        return f"{self.summary}: {_WHAT_TO_DO[self.kind]}; nothing stored was lost"

    @property
    def public_message(self) -> str:
        return f"{_PUBLIC[self.kind]} Nothing was lost; please try again later."

    @property
    def retry_after(self) -> int:
        """Seconds for a Retry-After header."""
        return 5 if self.kind == "busy" else 60


def storage_unavailable(exc: BaseException) -> StorageUnavailable | None:
    """Whether `exc` (a SQLAlchemy error, the driver's own, or an OSError) says the database cannot store
    anything now, and why; None for any other error."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout):  # every pooled connection is busy waiting for the database
        return StorageUnavailable("busy", "no database connection free")
    error = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    kind = _kind(error)
    if kind is None:
        return None
    return StorageUnavailable(kind, _cause(error))


def _kind(error: BaseException) -> str | None:
    code = getattr(error, "sqlite_errorcode", None)  # sqlite3 (Python 3.11+)
    if isinstance(code, int):
        return _SQLITE_KINDS.get(code & 0xFF)
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)  # psycopg 3, asyncpg / psycopg2
    if isinstance(state, str) and state:
        return _POSTGRESQL_KINDS.get(state) or _POSTGRESQL_KINDS.get(state[:2])
    psycopg = sys.modules.get("psycopg")  # loaded if a PostgreSQL URL is in use
    if psycopg and isinstance(error, psycopg.OperationalError):  # e.g. ConnectionTimeout
        return "unavailable"
    if isinstance(error, OSError):
        return _OS_KINDS.get(error.errno)
    if type(error).__module__ == "sqlite3":
        return _SQLITE_MESSAGES.get(str(error).strip().lower())
    return None


def _cause(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    diag = getattr(error, "diag", None)  # psycopg: the server's message without DETAIL, HINT and the query
    text = getattr(diag, "message_primary", None) or str(error)
    return (text.strip().splitlines() or [""])[0][:200]
