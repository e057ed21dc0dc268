"""Backups of a live SQLite database, restoring one, and the lock that marks a database as served.

A backup is SQLite's online backup API run inside one read transaction on the source: the copy is the
database as of that transaction's start, and in WAL mode the site and an ingest go on writing meanwhile
(readers never block writers). Without that held transaction the copy would go step by step, and every
commit another process makes restarts it from the first page: under a steady ingest it never finished
(see the README's "Backups"; VACUUM INTO was as fast, but gives no progress and no way to stop it).
The copy goes to a temporary file beside the target, passes `PRAGMA integrity_check`, and only then
takes the target's name, so an interrupted backup leaves no half file under it.
"""

from __future__ import annotations

import os
import shlex
import signal
import sqlite3
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

PAGES_PER_STEP = 256  # 4 MB at the store's 16 KiB pages: a progress report and a chance to stop per step
SQLITE_HEADER = b"SQLite format 3\x00"
APP_TABLES = ("papers", "featured", "meta", "alembic_version")  # what makes a file this application's database

Progress = Callable[[int, int], None]  # (pages copied, pages in all)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in one line."""


class AlreadyServed(BackupError):
    pass


@dataclass
class Copied:
    path: Path
    size: int  # bytes
    pages: int
    seconds: float
    replaced: Path | None = None  # restore: where the database it replaced was moved


def sqlite_path(db: str | Path) -> Path | None:
    """The file of a SQLite database path or URL; None for another database (or an in-memory one)."""
    from . import database_url

    url = sa.engine.make_url(database_url(db))
    if url.get_backend_name() != "sqlite":
        return None
    return Path(url.database) if url.database and url.database != ":memory:" else None


# -- backing up ---------------------------------------------------------------------------------------


def backup(db: str | Path, target: str | Path, *, force: bool = False, progress: Progress | None = None) -> Copied:
    """Copy the database `db` (a path or URL) to the file `target`, consistently, while others write."""
    source = _sqlite_source(db, "backup")
    target = Path(target).expanduser().absolute()
    if _same_file(source, target):
        raise BackupError(f"{target} is the database itself; give another file")
    _check_target(target, force)
    started = time.perf_counter()
    temporary = _copy(source, target.parent, progress)
    try:
        _same_access(temporary, source)  # as private as the database: it holds password hashes
        if not force and target.exists():  # appeared while we copied
            raise BackupError(f"{target} exists; use --force to overwrite it")
        os.replace(temporary, target)
    finally:
        _remove(temporary)
    _sync_folder(target.parent)
    return Copied(target, target.stat().st_size, _page_count(target), time.perf_counter() - started)


def free_name(path: Path) -> Path:
    """`path`, or if that exists the first free of `name-2.suffix`, `name-3.suffix`, ..."""
    candidate, number = path, 1
    while candidate.exists() or Path(f"{candidate}-wal").exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def _sqlite_source(db: str | Path, verb: str) -> Path:
    path = sqlite_path(db)
    if path is None:
        raise BackupError(_other_database(str(db), verb))
    if not path.is_file():
        raise BackupError(f"no database at {path}")
    return path


def _other_database(db: str, verb: str) -> str:
    url = sa.engine.make_url(db)
    if url.get_backend_name() != "postgresql":
        return f"dailypapers {verb} works on SQLite files; use {url.get_backend_name()}'s own dump and restore tools"
    plain = url.set(drivername="postgresql")._replace(password=None).render_as_string(hide_password=False)
    command = (["pg_dump", "--format=custom", "--file=FILE", plain] if verb == "backup" else
               ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={plain}", "FILE"])  # fmt: skip
    password = " (the password from PGPASSWORD or ~/.pgpass)" if url.password else ""
    return f"dailypapers {verb} works on SQLite files; for PostgreSQL run: {shlex.join(command)}{password}"


def _check_target(target: Path, force: bool) -> None:
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give a file name")
    if not target.parent.is_dir():
        raise BackupError(f"no folder {target.parent}")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; use --force to overwrite it")


def _copy(source: Path, folder: Path, progress: Progress | None) -> Path:
    """A checked copy of `source` in a new temporary file in `folder` (removed again on any failure)."""
    _check_header(source)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{source.name}.", suffix=".partial", dir=folder)
    except OSError as exc:
        raise BackupError(f"cannot write in {folder}: {exc.strerror}") from None
    os.close(handle)
    temporary = Path(name)
    try:
        try:
            src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot open {source}: {exc}") from None
        dst = sqlite3.connect(temporary, isolation_level=None)
        written = os.open(temporary, os.O_RDONLY)
        try:
            # A failed copy is deleted, not rolled back; and it is flushed to disk step by step below.
            dst.execute("PRAGMA journal_mode=OFF")
            dst.execute("PRAGMA synchronous=OFF")
            src.execute("BEGIN")  # one snapshot for every step: commits by others then neither show nor restart it
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()

            def report(_status, remaining, total):
                # Flushed a step at a time: one flush of the whole copy at the end held the site's
                # commits up for a quarter of a second (bench/backup_bench.py).
                os.fsync(written)
                if progress:
                    progress(total - remaining, total)

            src.backup(dst, pages=PAGES_PER_STEP, progress=report)
            src.execute("COMMIT")
            # A copy of a WAL database says WAL in its header; a backup is one self-contained file.
            dst.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"cannot copy {source}: {exc}") from None
        finally:
            os.close(written)
            dst.close()
            src.close()
        _sync_file(temporary)
        _check_integrity(temporary)
    except BaseException:  # Ctrl-C too: nothing half-made stays behind
        _remove(temporary)
        raise
    return temporary


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        raise BackupError(f"{path} is not a SQLite database")


def _check_integrity(path: Path) -> None:
    with _read_only(path) as con:
        problems = [row[0] for row in con.execute("PRAGMA integrity_check(5)")]
    if problems != ["ok"]:
        raise BackupError(f"the copy of the database fails PRAGMA integrity_check: {'; '.join(problems)}")


class _read_only:
    def __init__(self, path: Path):
        self.con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)

    def __enter__(self) -> sqlite3.Connection:
        return self.con

    def __exit__(self, *exc) -> None:
        self.con.close()


def _page_count(path: Path) -> int:
    with _read_only(path) as con:
        return con.execute("PRAGMA page_count").fetchone()[0]


def _same_access(path: Path, like: Path) -> None:
    """Give `path` the permissions (and, where allowed, the owner) of `like`."""
    info = like.stat()
    os.chmod(path, stat.S_IMODE(info.st_mode))
    if hasattr(os, "chown") and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(path, info.st_uid, info.st_gid)
        except PermissionError:
            pass


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))


def _sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (where the platform can)."""
    try:
        _sync_file(folder)
    except OSError:
        pass


def _remove(*paths: Path) -> None:
    for path in paths:
        for name in (path, Path(f"{path}-journal")):
            try:
                name.unlink()
            except FileNotFoundError:
                pass


# -- restoring ----------------------------------------------------------------------------------------


def restore(backup_file: str | Path, db: str | Path, *, force: bool = False, progress: Progress | None = None) -> Copied:
    """Put the backup `backup_file` in place as the database `db`.

    The current database, if any, is not deleted: it is renamed to `<db>.replaced-<UTC time>.bak` (with its
    WAL). The restored copy gets a new store id, so the search indexes beside it, which name the id of
    the database they were built from, are rebuilt by the next `serve` or `index`: the id alone does not
    tell an older copy of the same database from the one the index was built for.
    """
    path = sqlite_path(db)
    if path is None:
        raise BackupError(_other_database(str(db), "restore"))
    backup_file = Path(backup_file).expanduser().absolute()
    if not backup_file.is_file():
        raise BackupError(f"no backup file at {backup_file}")
    if _same_file(backup_file, path):
        raise BackupError(f"{backup_file} is the database itself")
    if not force and is_served(path):
        raise BackupError(f"a server is serving {path} ({_holder(path)}); stop it first, or use --force and "
                          "restart it right after (until then it serves the replaced file)")  # fmt: skip
    if not path.parent.is_dir():
        raise BackupError(f"no folder {path.parent}")
    started = time.perf_counter()
    temporary = _copy(backup_file, path.parent, progress)
    try:
        _check_application(temporary, backup_file)
        _new_store_id(temporary)
        _same_access(temporary, path if path.exists() else backup_file)  # the server's user must still open it
        _sync_file(temporary)
        with _no_interrupt():  # not between moving the database aside and putting the copy in its place
            replaced = _move_aside(path)
            os.replace(temporary, path)
    finally:
        _remove(temporary)
    _sync_folder(path.parent)
    return Copied(path, path.stat().st_size, _page_count(path), time.perf_counter() - started, replaced)


def _check_application(copy: Path, named: Path) -> None:
    """That the copy is a dailypapers database, at a schema revision this version knows."""
    from .migrate import known_revisions

    with _read_only(copy) as con:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in APP_TABLES if t not in tables]
        if missing:
            raise BackupError(f"{named} is a SQLite database but not one of dailypapers (no table {', '.join(missing)})")
        revision = con.execute("SELECT version_num FROM alembic_version").fetchone()
    if revision is None or revision[0] not in known_revisions():
        raise BackupError(f"{named} is at schema revision {revision[0] if revision else None}, which this version "
                          "of dailypapers does not know (a newer version made it)")  # fmt: skip


def _new_store_id(copy: Path) -> None:
    con = sqlite3.connect(copy, isolation_level=None)
    try:
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('store_id', ?)", (uuid.uuid4().hex,))
    finally:
        con.close()


@contextmanager
def _no_interrupt():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _move_aside(path: Path) -> Path | None:
    """Rename the database at `path` (and its WAL, which holds its latest commits) out of the way."""
    if not path.exists():
        for stale in (Path(f"{path}-wal"), Path(f"{path}-shm")):  # another database's, left behind
            stale.unlink(missing_ok=True)
        return None
    aside = free_name(path.with_name(f"{path.name}.replaced-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.bak"))
    wal = Path(f"{path}-wal")
    if wal.exists():
        os.replace(wal, f"{aside}-wal")
    os.replace(path, aside)
    Path(f"{path}-shm").unlink(missing_ok=True)  # rebuilt from the WAL by whoever opens the file next
    return aside


# -- the serving lock ---------------------------------------------------------------------------------
# `serve` holds an exclusive flock on `<db>.serving` for its whole life. The kernel drops it when the
# process ends, however it ends (kill -9 too), so a lock nobody holds is never stale. The file itself
# stays: deleting it would let two servers lock two different files of the same name.


def _lock_file(db: str | Path) -> Path | None:
    path = sqlite_path(db)
    return None if path is None else path.with_name(f"{path.name}.serving")


def hold_serving_lock(db: str | Path):
    """Mark `db` as served by this process, until the returned handle is closed or the process ends.
    Raises AlreadyServed if another process serves it (BackupError if the lock file cannot be made).
    None for a database that is not a SQLite file."""
    import fcntl

    path = _lock_file(db)
    if path is None:
        return None
    try:
        handle = open(path, "a+")
    except OSError as exc:
        raise BackupError(f"cannot create the serving lock {path}: {exc.strerror}") from None
    for _ in range(20):  # `is_served` takes the lock for a moment to test it: wait such a moment out
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            time.sleep(0.05)
    else:
        handle.close()
        raise AlreadyServed(f"another server serves {sqlite_path(db)} ({_holder(db)}); stop it first")
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def is_served(db: str | Path) -> bool:
    """Whether a running `serve` holds `db`'s serving lock."""
    import fcntl

    path = _lock_file(db)
    if path is None or not path.exists():
        return False
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _holder(db: str | Path) -> str:
    try:
        return f"process {int(_lock_file(db).read_text())}"
    except (OSError, ValueError):
        return "its lock file is held"
