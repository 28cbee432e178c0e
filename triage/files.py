"""Files on disk: written whole or not at all, hashed, and read back as versioned JSON.

Every file other processes read (bundles, the registry, API keys, datasets, rescore
checkpoints, benchmark results) is written under a temporary name beside its target and
renamed over it: `os.replace` is atomic on POSIX, so a reader sees the old file or the
whole new one, and a crash or an interrupt leaves at most a hidden `.NAME.*.tmp` behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Files are hashed in blocks of this size: a bundle's encoder or a dataset may be large.
_BLOCK = 1 << 20


def temporary_sibling(path: Path) -> Path:
    """A hidden, unique name beside `path` (same filesystem, so the rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write `path`'s new content to.

    When the block ends the temporary file replaces `path`; when it raises (an
    interrupt included) the temporary file is removed and `path` is left as it was.
    The parent folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_atomically(
    path: str | Path, data: str | bytes, *, mode: int | None = None, durable: bool = False
) -> Path:
    """Write `data` (text is UTF-8) to `path` through `atomic_path`; returns `path`.

    `mode` sets the file's permissions before anything is written (0o600 keeps a
    secret from other local users at every moment); without it the umask decides, as
    for any new file. `durable` fsyncs the data before the rename, for files whose loss
    after a power cut would matter (the model registry).
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fd, mode)  # exactly `mode`, whatever the umask
            fh.write(payload)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
    return path


def write_json(path: str | Path, data: Any, **options: Any) -> Path:
    """`data` as indented UTF-8 JSON with a final newline, written atomically.

    `options` go to `json.dumps` (e.g. `default=str`, `sort_keys=True`).
    """
    text = json.dumps(data, indent=2, ensure_ascii=False, **options) + "\n"
    return write_atomically(path, text)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def read_json_object(path: str | Path, error: type[Exception], missing: str) -> dict[str, Any]:
    """The JSON object stored in `path`.

    Raises `error` naming the file when it is absent (`"{path}: {missing}"`),
    unreadable, not valid JSON, or holds something other than an object.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except OSError as exc:
        raise error(f"{path}: unreadable ({exc.strerror or exc})") from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise error(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    return data


def read_versioned_json(
    path: str | Path,
    version: int,
    error: type[Exception],
    *,
    what: str,
    missing: str,
    remedy: str,
    key: str = "format_version",
) -> dict[str, Any]:
    """The JSON object in `path` (see `read_json_object`), refused with `error` unless its
    `key` is `version`: a file written by another format of ticket-triage.

    `what` names the kind of file and `remedy` what the user can do about an outdated
    one, e.g. `what="bundle"`, `remedy="retrain it, or upgrade ticket-triage"`.
    """
    data = read_json_object(path, error, missing)
    found = data.get(key)
    if isinstance(found, bool) or found != version:
        raise error(
            f"{path}: {what} format version {found!r}; this version of ticket-triage reads "
            f"format {version}: {remedy}"
        )
    return data
