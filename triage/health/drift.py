"""Drift: the tickets arriving now against the bundle's training data, signal by signal.

A bundle may carry `reference.json` (written by `training.reference` at export): the
distribution of each signal over a sample of its training tickets, as the bundle itself
scored them. The service's rolling window is the last N tickets the desk scored (read
from the store: `triage.health.window`). For each signal the population stability index

    PSI = sum over buckets of (window% - reference%) * ln(window% / reference%)

says how far the window moved (rule of thumb: < 0.1 stable, 0.1-0.25 moving, > 0.25
shifted). Signals: each head's predicted label ("(abstained)" when it abstained), the
primary head's confidence, the language, the text length, the share of words outside
the TF-IDF vocabulary, and the structured fields (channel, tier, categorical extras).

Bundles exported before this module have no reference: `read_reference` returns None
and the monitor says so instead of failing.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from triage.contract import Ticket
from triage.errors import TriageError
from triage.features import canonical_value, normalize_text
from triage.files import read_json_object, write_json

REFERENCE_FILE = "reference.json"
REFERENCE_VERSION = 1
ABSTAINED = "(abstained)"
MISSING = "(none)"
OTHER = "(other)"
RARE = "(rare)"
# Buckets under 1% of the reference are pooled (`merge_rare`).
RARE_SHARE = 0.01
# Fixed bucket edges (upper bounds; the last bucket is open): a window and its reference
# are bucketed alike whatever their sizes.
NUMERIC_EDGES: dict[str, list[float]] = {
    "confidence": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    "text_length": [50, 100, 200, 400, 800, 1600, 3200],
    "oov_rate": [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5],
}
# Keeps a bucket empty on one side finite: PSI of a brand-new category stays large
# without being infinite.
_EPSILON = 1e-4
_WORD = re.compile(r"(?u)\b\w\w+\b")


class DriftError(TriageError):
    """A reference file that cannot be read."""


class SignalDrift(BaseModel):
    """One signal: its PSI and the buckets that moved most."""

    signal: str
    psi: float
    status: str  # ok, warn, alert
    moved: list[dict[str, Any]]  # [{"bucket", "reference", "window"}], largest first
    reference: dict[str, float]  # bucket -> share, for plots
    window: dict[str, float]


class DriftReport(BaseModel):
    """The window against the reference, per signal."""

    model_version: str | None
    window: int
    reference_size: int
    warn: float
    alert: float
    signals: list[SignalDrift]

    @property
    def status(self) -> str:
        """The worst signal's status ("ok" with no signal)."""
        order = {"ok": 0, "warn": 1, "alert": 2}
        return max((s.status for s in self.signals), key=order.__getitem__, default="ok")

    @property
    def alerts(self) -> list[str]:
        """The signals at alert level."""
        return [s.signal for s in self.signals if s.status == "alert"]


def _bucket(value: float, edges: list[float]) -> str:
    i = bisect.bisect_left(edges, value)
    low = "-inf" if i == 0 else f"{edges[i - 1]:g}"
    high = "inf" if i == len(edges) else f"{edges[i]:g}"
    return f"({low}, {high}]"


def oov_rate(text: str, vocabulary: frozenset[str] | None) -> float | None:
    """The share of the text's words outside the TF-IDF word vocabulary (None without
    a vocabulary or a word)."""
    if vocabulary is None:
        return None
    words = _WORD.findall(normalize_text(text))
    if not words:
        return None
    return sum(1 for w in words if w not in vocabulary) / len(words)


def ticket_signals(
    ticket: Ticket,
    prediction: Mapping[str, Any],
    *,
    heads: Iterable[str],
    primary: str,
    extras: Mapping[str, Collection[str]] | None = None,
    vocabulary: frozenset[str] | None = None,
) -> dict[str, str]:
    """One scored ticket's bucket per signal. `prediction` is a `TriageResult` in its
    JSON form (what the desk stores); `extras` the categorical `Ticket.extra` keys with
    the values the bundle knows (others count as "(other)"; empty: any value)."""
    extras = extras or {}
    out: dict[str, str] = {}
    for head in heads:
        answer = prediction.get(head)
        if answer is None:
            continue
        out[f"predicted.{head}"] = (
            ABSTAINED if answer.get("abstained") or answer.get("label") is None else answer["label"]
        )
    primary_answer = prediction.get(primary)
    if primary_answer is not None:
        out["confidence"] = _bucket(
            float(primary_answer["confidence"]), NUMERIC_EDGES["confidence"]
        )
    language = prediction.get("language") or {}
    out["language"] = language.get("code") or ticket.language or MISSING
    out["text_length"] = _bucket(len(ticket.text), NUMERIC_EDGES["text_length"])
    rate = oov_rate(ticket.text, vocabulary)
    if rate is not None:
        out["oov_rate"] = _bucket(rate, NUMERIC_EDGES["oov_rate"])
    out["field.channel"] = ticket.channel.value if ticket.channel is not None else MISSING
    out["field.customer_tier"] = ticket.customer_tier or MISSING
    for key, known in extras.items():
        # Spelled as the bundle's metadata spells it (`canonical_value`: "Aero X2" and
        # "aero x2" are one value).
        value = canonical_value((ticket.extra or {}).get(key))
        if value is None:
            out[f"field.extra.{key}"] = MISSING
        else:
            out[f"field.extra.{key}"] = value if not known or value in known else OTHER
    return out


def count_signals(samples: Iterable[Mapping[str, str]]) -> tuple[int, dict[str, dict[str, int]]]:
    """(number of samples, signal -> bucket -> count)."""
    counts: dict[str, Counter[str]] = {}
    n = 0
    for sample in samples:
        n += 1
        for signal, bucket in sample.items():
            counts.setdefault(signal, Counter())[bucket] += 1
    return n, {s: dict(c) for s, c in counts.items()}


def merge_rare(
    reference: Mapping[str, int], window: Mapping[str, int], min_share: float = RARE_SHARE
) -> tuple[dict[str, int], dict[str, int]]:
    """Both sides with the buckets rarer than `min_share` of the reference (and those
    the reference never saw) pooled as one `(rare)` bucket.

    Without it a signal with many small buckets (forty assignees) reads as drifted on
    sampling noise alone: PSI's expected value grows with the number of buckets over the
    window's size. A value the reference never saw still moves the pooled bucket.
    """
    total = sum(reference.values()) or 1
    kept = {b for b, c in reference.items() if c / total >= min_share}

    def pooled(counts: Mapping[str, int]) -> dict[str, int]:
        out: Counter[str] = Counter()
        for bucket, count in counts.items():
            out[bucket if bucket in kept else RARE] += count
        return dict(out)

    return pooled(reference), pooled(window)


def psi(reference: Mapping[str, int], window: Mapping[str, int]) -> float:
    """Population stability index of `window` against `reference` (bucket counts)."""
    ref_total = sum(reference.values())
    win_total = sum(window.values())
    if not ref_total or not win_total:
        return 0.0
    total = 0.0
    for bucket in set(reference) | set(window):
        r = max(reference.get(bucket, 0) / ref_total, _EPSILON)
        w = max(window.get(bucket, 0) / win_total, _EPSILON)
        total += (w - r) * math.log(w / r)
    return total


def compare(
    reference: Reference,
    samples: Sequence[Mapping[str, str]],
    *,
    warn: float,
    alert: float,
    model_version: str | None = None,
) -> DriftReport:
    """PSI per signal of the window `samples` against `reference`."""
    n, window = count_signals(samples)
    signals = []
    for signal, raw_counts in sorted(reference.counts.items()):
        if not window.get(signal):
            continue
        ref_counts, win_counts = merge_rare(raw_counts, window[signal])
        value = psi(ref_counts, win_counts)
        ref_share = _shares(ref_counts)
        win_share = _shares(win_counts)
        buckets = sorted(
            set(ref_share) | set(win_share),
            key=lambda b: -abs(win_share.get(b, 0.0) - ref_share.get(b, 0.0)),
        )[:5]
        moved: list[dict[str, Any]] = [
            {"bucket": b, "reference": ref_share.get(b, 0.0), "window": win_share.get(b, 0.0)}
            for b in buckets
        ]
        status = "alert" if value >= alert else "warn" if value >= warn else "ok"
        signals.append(
            SignalDrift(
                signal=signal,
                psi=round(value, 4),
                status=status,
                moved=moved,
                reference=ref_share,
                window=win_share,
            )
        )
    return DriftReport(
        model_version=model_version,
        window=n,
        reference_size=reference.size,
        warn=warn,
        alert=alert,
        signals=signals,
    )


def _shares(counts: Mapping[str, int]) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {b: round(c / total, 4) for b, c in sorted(counts.items())}


class Reference(BaseModel):
    """A bundle's reference distributions and how its signals are computed."""

    version: int = REFERENCE_VERSION
    model_version: str
    size: int
    heads: list[str]
    primary: str
    extras: dict[str, list[str]]
    counts: dict[str, dict[str, int]]

    def signals_of(
        self, ticket: Ticket, prediction: Mapping[str, Any], vocabulary: frozenset[str] | None
    ) -> dict[str, str]:
        """A ticket's buckets, computed as this reference's were."""
        return ticket_signals(
            ticket,
            prediction,
            heads=self.heads,
            primary=self.primary,
            extras=self.extras,
            vocabulary=vocabulary,
        )


def write_reference(path: str | Path, reference: Reference) -> Path:
    """Write `reference` as the bundle directory's `reference.json`."""
    return write_json(Path(path) / REFERENCE_FILE, reference.model_dump(mode="json"))


def read_reference(bundle_dir: str | Path) -> Reference | None:
    """The reference of the bundle at `bundle_dir`; None when it has none (exported
    before drift monitoring)."""
    path = Path(bundle_dir) / REFERENCE_FILE
    if not path.is_file():
        return None
    data = read_json_object(path, DriftError, "no reference")
    if data.get("version") != REFERENCE_VERSION:
        raise DriftError(f"{path}: reference version {data.get('version')!r} is not supported")
    return Reference.model_validate(data)


def read_vocabulary(bundle_dir: str | Path) -> frozenset[str] | None:
    """The TF-IDF word unigrams of the bundle at `bundle_dir` (None without text features)."""
    import numpy as np

    path = Path(bundle_dir) / "vectorizer.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        if "word_terms" not in data.files:
            return None
        terms = data["word_terms"]
    return frozenset(str(t) for t in terms if " " not in str(t))
