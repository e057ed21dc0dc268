"""A real PostgreSQL server for the tests and benchmarks, started in a temporary folder on a free port.

Debian's PostgreSQL (15 where installed, `/usr/lib/postgresql/15/bin`; or `DAILYPAPERS_PG_BIN`) refuses to run as root, so
as root the cluster belongs to the `postgres` user and is started through `runuser`. Local connections
are trusted: the server listens on 127.0.0.1 only (or on `listen`) and lives as long as the test session.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

def _pg_bin() -> Path:
    """DAILYPAPERS_PG_BIN, else Debian's PostgreSQL 15, else the newest Debian PostgreSQL installed."""
    if os.environ.get("DAILYPAPERS_PG_BIN"):
        return Path(os.environ["DAILYPAPERS_PG_BIN"])
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    preferred = Path("/usr/lib/postgresql/15/bin")
    return preferred if (preferred / "initdb").exists() or not installed else installed[-1].parent


PG_BIN = _pg_bin()
PATIENCE = 600.0


def available() -> str | None:
    """None if a server can be started here, else why not."""
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL is not installed under {PG_BIN} (apt-get install postgresql, or set DAILYPAPERS_PG_BIN)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root needs runuser to start PostgreSQL as the postgres user"
    return None


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, listen: str = "127.0.0.1", port: int | None = None, settings: dict | None = None,
                 prefix: list[str] = ()):
        """`prefix`: what to run the server under, e.g. `ip netns exec NAME` for another host (tests/hosts.py)."""
        self.listen, self.prefix = listen, list(prefix)
        self.host = "127.0.0.1" if listen in ("127.0.0.1", "*", "0.0.0.0") else listen
        self.port = port or (5432 if prefix else _free_port("127.0.0.1" if listen in ("*", "0.0.0.0") else listen))
        self.folder = Path(tempfile.mkdtemp(prefix="dailypapers-pg."))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.settings = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                         "max_connections": "300", "shared_buffers": "128MB", **(settings or {})}  # fmt: skip
        self._names = itertools.count(1)
        self.process: subprocess.Popen | None = None
        as_root = os.geteuid() == 0
        self._user = ["runuser", "-u", "postgres", "--"] if as_root else []
        self.superuser = "postgres" if as_root else os.environ.get("USER", "postgres")
        if as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run([*self._user, str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.superuser, "-A", "trust",
                        "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)  # fmt: skip
        if listen != "127.0.0.1":  # the other hosts of a test network (tests/hosts.py) connect too
            with open(self.data / "pg_hba.conf", "a") as hba:
                hba.write("host all all 0.0.0.0/0 trust\n")

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.superuser}@{self.host}:{self.port}/{database}"

    def start(self) -> PostgresServer:
        options = [f"-c{key}={value}" for key, value in self.settings.items()]
        command = [*self.prefix, *self._user, str(PG_BIN / "postgres"), "-D", str(self.data), "-h", self.listen, "-p", str(self.port),
                   "-k", str(self.folder), *options]  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + PATIENCE
        while not self.ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.1)
        return self

    def ready(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=5):
                pass
        except OSError:
            return False
        result = subprocess.run([str(PG_BIN / "pg_isready"), "-h", self.host, "-p", str(self.port), "-q"],
                                capture_output=True)  # fmt: skip
        return result.returncode == 0

    def sql(self, statement: str, database: str = "postgres") -> str:
        result = subprocess.run([str(PG_BIN / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.host,
                                 "-p", str(self.port), "-U", self.superuser, "-d", database, "-c", statement],
                                capture_output=True, text=True)  # fmt: skip
        if result.returncode:
            raise RuntimeError(f"psql: {result.stderr.strip()}")
        return result.stdout

    def create_database(self, prefix: str = "t", template: str | None = None) -> str:
        """A new database, empty or a copy of `template` (which nobody may be connected to); its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def kill(self) -> None:
        """As `kill -9` of every process of the server: no shutdown, no checkpoint. (The backends put
        themselves in sessions of their own, so they are found as the postmaster's children.)"""
        postmaster = self._postmaster_pid()
        doomed = [postmaster] if postmaster else []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                ppid = next(line.split()[1] for line in status.read_text().splitlines() if line.startswith("PPid:"))
            except (OSError, StopIteration):
                continue
            if postmaster and int(ppid) == postmaster:
                doomed.append(int(status.parent.name))
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process:
            self.process.wait()
        deadline = time.monotonic() + PATIENCE
        while self._port_taken() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _port_taken(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # "fast" shutdown
            try:
                self.process.wait(timeout=PATIENCE)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
