"""What the derived indexes' folders share: whose index a folder holds, and how far it has caught up."""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

WATERMARK_FILE = "indexed_seq"
LOCK_FILE = "writer.lock"


def unique_temporary(path: Path) -> Path:
    """A name to write `path`'s next version under before it replaces `path`: one per process and thread,
    so that two writers (serve's catch-up and a sync round's refresh) never rename each other's file."""
    return path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


class DerivedFolder:
    """A folder beside the database holding an index derived from it."""

    folder: Path

    def claim(self, folder: Path, identity: str, owner_file: str) -> None:
        """Make `folder` this index's. One written for another database (whose keys mean other papers),
        schema or model is emptied first; a missing one is created, to be rebuilt from the store."""
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        owner = folder / owner_file
        if owner.exists() and owner.read_text().strip() != identity:
            shutil.rmtree(folder)
            folder.mkdir(parents=True)
        owner.write_text(identity)

    @contextmanager
    def writing(self):
        """One writer of this folder at a time, whichever process or thread (a lock on an open file)."""
        with open(self.folder / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @property
    def indexed_seq(self) -> int:
        """The highest catalog `seq` this index holds everything up to."""
        try:
            return int((self.folder / WATERMARK_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return 0

    @indexed_seq.setter
    def indexed_seq(self, seq: int) -> None:
        temporary = unique_temporary(self.folder / WATERMARK_FILE)
        temporary.write_text(str(seq))
        os.replace(temporary, self.folder / WATERMARK_FILE)
