"""What the derived indexes' folders share: whose index a folder holds, and how far it has caught up."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

WATERMARK_FILE = "indexed_seq"


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

    @property
    def indexed_seq(self) -> int:
        """The highest catalog `seq` this index holds everything up to."""
        try:
            return int((self.folder / WATERMARK_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return 0

    @indexed_seq.setter
    def indexed_seq(self, seq: int) -> None:
        temporary = self.folder / f"{WATERMARK_FILE}.tmp"
        temporary.write_text(str(seq))
        os.replace(temporary, self.folder / WATERMARK_FILE)
