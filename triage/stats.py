"""Statistics of a ticket file in the common Parquet format, computed in one streaming pass.

Label distributions, language mix, duplicate texts (and how many of them disagree on
category or team), and the time range of `created_at`. Memory stays small however long
the file is: counters hold distinct values only, and duplicate detection keeps a 64-bit
hash plus two small label codes per row in NumPy arrays (16 bytes a row) instead of
the texts.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from triage.contract import LABEL_FIELDS
from triage.errors import InputFileError

UNKNOWN_LANGUAGE = "unknown"
_NEEDED = ("subject", "body", "language", "created_at", *LABEL_FIELDS)


def _language_detector() -> Callable[[str], tuple[str, float]] | None:
    # The detector is optional: stats must work on an install without its model package.
    try:
        from triage.language import detect
    except ImportError:
        return None
    return detect


def normalized_text(subject: str | None, body: str | None) -> str:
    """Subject and body, lower-cased with whitespace collapsed: what counts as "the same text"."""
    return " ".join(f"{subject or ''} {body or ''}".split()).lower()


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


class _Codes:
    """Small integer codes for label values, so per-row arrays stay compact."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}

    def code(self, value: Any) -> int:
        if value is None or value == "":
            return -1
        return self.vocab.setdefault(str(value), len(self.vocab))


def _conflicts(group_start: np.ndarray, codes: np.ndarray) -> int:
    """How many duplicate groups (sorted, starting at `group_start`) hold >1 distinct label."""
    if len(group_start) == 0:
        return 0
    high = np.iinfo(np.int32).max
    lows = np.minimum.reduceat(np.where(codes < 0, high, codes), group_start)
    highs = np.maximum.reduceat(codes, group_start)
    return int(np.count_nonzero((highs >= 0) & (lows != high) & (lows != highs)))


def compute_stats(
    path: str | Path, top: int = 10, batch_rows: int = 20_000, detect_languages: bool = True
) -> dict[str, Any]:
    """Statistics of the ticket file at `path` (see the module docstring), as a JSON-ready dict."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    try:
        pfile = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a non-Parquet file
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from None
    present = set(pfile.schema_arrow.names)
    if not {"subject", "body"} <= present:
        raise InputFileError(
            f"{path}: not a ticket file (needs columns 'subject' and 'body'; has "
            f"{', '.join(sorted(present))})"
        )
    columns = [c for c in _NEEDED if c in present]
    labels = [f for f in LABEL_FIELDS if f in present]
    detect = _language_detector() if detect_languages else None

    rows = 0
    label_counts: dict[str, Counter[str]] = {f: Counter() for f in labels}
    label_missing: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    language_source: Counter[str] = Counter()
    hashes: list[np.ndarray] = []
    cat_codes: list[np.ndarray] = []
    team_codes: list[np.ndarray] = []
    cat_vocab, team_vocab = _Codes(), _Codes()
    no_text = 0
    first: datetime | None = None
    last: datetime | None = None
    created_missing = 0

    for batch in pfile.iter_batches(batch_size=batch_rows, columns=columns):
        n = batch.num_rows
        rows += n
        data = {c: batch.column(c).to_pylist() for c in columns if c != "created_at"}
        for f in labels:
            values = data[f]
            counter = label_counts[f]
            for value in values:
                if value is None or value == "":
                    label_missing[f] += 1
                else:
                    counter[str(value)] += 1
        subjects, bodies = data["subject"], data["body"]
        langs = data.get("language") or [None] * n
        h = np.empty(n, dtype=np.uint64)
        keep = np.ones(n, dtype=bool)
        for i in range(n):
            text = normalized_text(subjects[i], bodies[i])
            if text:
                h[i] = _hash(text)
            else:
                keep[i] = False
                no_text += 1
            lang = langs[i]
            if lang:
                languages[lang] += 1
                language_source["column"] += 1
            elif text and detect is not None:
                code, _ = detect(f"{subjects[i] or ''}\n{bodies[i] or ''}")
                languages[code if code and code != "und" else UNKNOWN_LANGUAGE] += 1
                language_source["detected"] += 1
            else:
                languages[UNKNOWN_LANGUAGE] += 1
                language_source["unknown"] += 1
        hashes.append(h[keep])
        cats = data.get("category") or [None] * n
        teams = data.get("team") or [None] * n
        cat_codes.append(
            np.fromiter((cat_vocab.code(v) for v in cats), dtype=np.int32, count=n)[keep]
        )
        team_codes.append(
            np.fromiter((team_vocab.code(v) for v in teams), dtype=np.int32, count=n)[keep]
        )
        if "created_at" in columns:
            created = batch.column("created_at")
            created_missing += created.null_count
            if created.null_count < n:
                bounds = pc.min_max(created).as_py()
                first = bounds["min"] if first is None else min(first, bounds["min"])
                last = bounds["max"] if last is None else max(last, bounds["max"])
        else:
            created_missing += n

    all_hashes = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
    order = np.argsort(all_hashes, kind="stable")
    sorted_hashes = all_hashes[order]
    if len(sorted_hashes):
        starts = np.flatnonzero(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]])
        sizes = np.diff(np.r_[starts, len(sorted_hashes)])
    else:
        starts = sizes = np.empty(0, dtype=np.int64)
    dup = sizes > 1
    # Restrict to the duplicated groups before the reductions.
    dup_rows_idx = np.repeat(dup, sizes)
    dup_sizes = sizes[dup]
    dup_starts = (
        np.r_[0, np.cumsum(dup_sizes)[:-1]] if len(dup_sizes) else np.empty(0, dtype=np.int64)
    )
    cats_sorted = (np.concatenate(cat_codes) if cat_codes else np.empty(0, np.int32))[order][
        dup_rows_idx
    ]
    teams_sorted = (np.concatenate(team_codes) if team_codes else np.empty(0, np.int32))[order][
        dup_rows_idx
    ]

    return {
        "file": str(path),
        "rows": rows,
        "labels": {
            f: {
                "missing": label_missing[f],
                "distinct": len(label_counts[f]),
                "top": [{"value": v, "count": c} for v, c in label_counts[f].most_common(top)],
            }
            for f in labels
        },
        "languages": {
            "counts": dict(languages.most_common()),
            "from_column": language_source["column"],
            "detected": language_source["detected"],
            "unknown": language_source["unknown"],
            "detector": "triage.language" if detect is not None else None,
        },
        "duplicates": {
            "duplicated_texts": int(np.count_nonzero(dup)),
            "duplicate_rows": int((dup_sizes - 1).sum()) if len(dup_sizes) else 0,
            "conflicting_category": _conflicts(dup_starts, cats_sorted),
            "conflicting_team": _conflicts(dup_starts, teams_sorted),
            "rows_without_text": no_text,
        },
        "created_at": {
            "min": first.isoformat() if first else None,
            "max": last.isoformat() if last else None,
            "missing": created_missing,
        },
    }
