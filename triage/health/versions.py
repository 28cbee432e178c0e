"""Matching a registry version against the versions the desk stored.

The service names the model it serves `<version>+<12 hex of the manifest's sha256>` (so that
any edit of a bundle changes the name), while the registry, the reference file and people
name it by `<version>` alone. A stored answer belongs to a registry version when its name is
that version, or that version followed by a content digest.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute


def is_version(stored: str | None, version: str) -> bool:
    """Whether a stored model name (`v` or `v+digest`) is registry version `version`."""
    if stored is None:
        return False
    return stored == version or stored.startswith(version + "+") or version.startswith(stored + "+")


def of_version(column: InstrumentedAttribute[str | None], version: str) -> ColumnElement[bool]:
    """SQL: the stored model name in `column` is registry version `version` (or, when
    `version` carries a digest itself, exactly it)."""
    if "+" in version:
        return column == version
    return or_(column == version, column.startswith(version + "+", autoescape=True))
