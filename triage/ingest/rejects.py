"""The rejects file of `--on-error skip`: each rejected row with file, row, field, reason.

Rows go to a temporary file beside the output as they are rejected (memory stays flat)
and the file is renamed to `F.rejects.csv` only when the import finishes; a failed or
dry run leaves none behind, and an import without rejects removes a stale one.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO

from triage.errors import RowError
from triage.files import temporary_sibling

HEADER = ("file", "row", "field", "reason")


def rejects_path_for(out: str | Path) -> Path:
    """Where the rejects of an import into `out` go: `NAME.rejects.csv` beside it."""
    out = Path(out)
    return out.with_name(f"{out.name.removesuffix('.parquet')}.rejects.csv")


class RejectsFile:
    """Collects rejected rows; `commit()` publishes them, `discard()` drops them."""

    def __init__(self, path: Path, write: bool = True) -> None:
        self.path = path
        self.write = write
        self.count = 0
        # Streamed to over many calls, so not `atomic_path`'s block: the same hidden
        # sibling name, renamed over `path` by `commit`.
        self._tmp = temporary_sibling(path)
        self._fh: IO[str] | None = None
        self._writer: csv.writer | None = None  # type: ignore[valid-type]

    def __call__(self, error: RowError) -> None:
        self.count += 1
        if not self.write:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self._tmp.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(HEADER)
        self._writer.writerow(  # type: ignore[union-attr]
            (
                str(error.file),
                "" if error.row is None else error.row,
                error.field or "",
                error.reason,
            )
        )

    def commit(self) -> Path | None:
        """Publish the rejects (None when there were none; a stale file is removed)."""
        if self._fh is None:
            if self.write:
                self.path.unlink(missing_ok=True)
            return None
        self._fh.close()
        os.replace(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Drop what was collected (the import failed)."""
        if self._fh is not None:
            self._fh.close()
            self._tmp.unlink(missing_ok=True)
