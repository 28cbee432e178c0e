"""Which files of a zip archive or a folder an importer reads.

Archives made on a Mac carry a `__MACOSX/` folder of resource forks (`._name.csv`) beside
the real files, and folders collect dotfiles (`.DS_Store`, editors' `.~lock` files):
none of them is data, so they are never picked. Members are ordered the way a person
numbers pages (`page-2` before `page-10`).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from triage.errors import InputFileError

_DIGITS = re.compile(r"(\d+)")


def is_hidden(name: str) -> bool:
    """True for `__MACOSX/...` entries and any path with a component starting with a dot."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p == "__MACOSX" or (p.startswith(".") and p not in (".", "..")) for p in parts)


def natural_key(name: str) -> list[object]:
    """Sort key that orders embedded numbers by value: page-2 < page-10."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name)]


def visible(names: list[str], suffixes: tuple[str, ...]) -> list[str]:
    """The names ending in one of `suffixes` (case-insensitive) that are not hidden, in
    natural order."""
    picked = [
        n
        for n in names
        if not n.endswith("/") and n.lower().endswith(suffixes) and not is_hidden(n)
    ]
    return sorted(picked, key=natural_key)


def files_in(source: Path, pattern: str) -> list[Path]:
    """`source` itself when it is a file, else its files matching `pattern` (a glob), hidden
    ones left out, in natural order."""
    if source.is_file():
        return [source]
    found = [p for p in source.glob(pattern) if p.is_file() and not is_hidden(p.name)]
    return sorted(found, key=lambda p: natural_key(p.name))


def one_file(source: Path, pattern: str) -> Path:
    """The one file of a dataset folder matching `pattern` (or `source` if it is a file)."""
    found = files_in(source, pattern)
    if len(found) != 1:
        raise InputFileError(
            f"{source}: expected one file matching {pattern!r}, found {[p.name for p in found]}"
        )
    return found[0]
