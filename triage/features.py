"""Feature code shared by training and serving, so that both compute the same numbers.

Two things live here: how ticket text is normalised before the TF-IDF graph sees it, and
the metadata vector (channel, tier, time of day, weekday, text length, tags and a desk's
structured extras). Training *fits* a `MetaSpec` (which values are frequent enough to get
a column, the mean of numeric fields) and stores it in the bundle manifest; serving reads
it back and calls the very same `MetaEncoder.vector`. Pure Python and numpy: this module
runs in the serving process.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from triage.contract import Ticket

# Longer texts add nothing to a category decision but cost linear time in the
# char-n-gram graph; training truncates identically, so train == serve.
MAX_TEXT_CHARS = 4_000

# Four-hour buckets: a linear model cannot use a raw hour (23 and 0 are neighbours).
HOUR_BUCKETS = 6


def normalize_text(text: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Lower-case, collapse whitespace and truncate: the input of the TF-IDF vectorizers.

    Done in Python rather than in the ONNX graph because onnxruntime's string
    normaliser depends on the host's locale; `str.lower` does not.
    """
    if not text:
        return ""
    return " ".join(text[: max_chars * 2].lower().split())[:max_chars]


def canonical_value(value: Any) -> str | None:
    """How a categorical value (tier, extra field) is spelled as a feature key."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().lower()
    return text or None


@dataclass
class ExtraField:
    """One structured extra field (`Ticket.extra[key]`) and how it becomes columns.

    `kind` is "categorical" (one-hot of `values`, anything else present goes to an
    "other" column), "numeric" (standardised value clipped to ±5 plus a missing flag,
    and optionally one-hot of its frequent `values` too, for integer ids) or "bool".
    """

    key: str
    kind: str
    values: list[str] = field(default_factory=list)
    mean: float = 0.0
    std: float = 1.0


@dataclass
class MetaSpec:
    """What the metadata vector contains; fitted on training data, stored in the manifest."""

    channels: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    time: bool = False
    extras: list[ExtraField] = field(default_factory=list)
    version: int = 1

    def to_dict(self) -> dict:
        """JSON-ready form for the manifest."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MetaSpec:
        """Inverse of `to_dict`."""
        data = dict(data)
        data["extras"] = [ExtraField(**e) for e in data.get("extras", [])]
        return cls(**data)


class MetaEncoder:
    """Turns a ticket into its metadata vector according to a `MetaSpec`.

    The column layout is computed once (dict lookups per field at request time) and is
    described by `names`, which explanations show to a human ("channel=email").
    """

    def __init__(self, spec: MetaSpec) -> None:
        self.spec = spec
        names: list[str] = ["text_length_log", "text_empty"]
        self._channel = self._block(names, "channel", spec.channels)
        self._tier = self._block(names, "tier", spec.tiers)
        self._tags = self._block(names, "tag", spec.tags)
        self._hour = self._weekday = -1
        if spec.time:
            self._hour = len(names)
            names += [f"hour={4 * i:02d}-{4 * i + 3:02d}" for i in range(HOUR_BUCKETS)]
            self._weekday = len(names)
            names += [f"weekday={d}" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]
        self._extras: list[tuple[ExtraField, int, dict[str, int], int]] = []
        for extra in spec.extras:
            start = len(names)
            if extra.kind == "numeric":
                names += [f"{extra.key}(z)", f"{extra.key} missing"]
            elif extra.kind == "bool":
                names += [f"{extra.key}=true", f"{extra.key} missing"]
            onehot = self._block(names, extra.key, extra.values)
            other = -1
            if extra.kind == "categorical":
                other = len(names)
                names.append(f"{extra.key}=other")
            self._extras.append((extra, start, onehot, other))
        self.names = names
        self.size = len(names)

    @staticmethod
    def _block(names: list[str], prefix: str, values: list[str]) -> dict[str, int]:
        index = {}
        for value in values:
            index[value] = len(names)
            names.append(f"{prefix}={value}")
        return index

    def vector(self, ticket: Ticket) -> np.ndarray:
        """The metadata vector of one ticket (float32, length `size`)."""
        out = np.zeros(self.size, dtype=np.float32)
        self.fill(out, ticket)
        return out

    def matrix(self, tickets: list[Ticket]) -> np.ndarray:
        """Metadata vectors of many tickets (N × size float32)."""
        out = np.zeros((len(tickets), self.size), dtype=np.float32)
        for i, ticket in enumerate(tickets):
            self.fill(out[i], ticket)
        return out

    def fill(self, out: np.ndarray, ticket: Ticket) -> None:
        """Write the vector of `ticket` into the zeroed row `out`."""
        length = len(ticket.subject) + len(ticket.body)
        # Scaled to about [0, 1] so it is regularised like the other columns.
        out[0] = math.log1p(length) / 10.0
        out[1] = 1.0 if length == 0 else 0.0
        if ticket.channel is not None:
            _flag(out, self._channel.get(ticket.channel.value))
        tier = canonical_value(ticket.customer_tier)
        if tier is not None:
            _flag(out, self._tier.get(tier))
        for tag in ticket.tags:
            _flag(out, self._tags.get(tag.lower()))
        if self._hour >= 0 and ticket.created_at is not None:
            created: datetime = ticket.created_at
            out[self._hour + created.hour // 4] = 1.0
            out[self._weekday + created.weekday()] = 1.0
        extra = ticket.extra
        for spec, start, onehot, other in self._extras:
            _fill_extra(out, spec, start, onehot, other, extra.get(spec.key))


def _flag(out: np.ndarray, column: int | None) -> None:
    """Set a one-hot column; None: a value the spec does not know (no column)."""
    if column is not None:
        out[column] = 1.0


def _fill_extra(
    out: np.ndarray,
    spec: ExtraField,
    start: int,
    onehot: dict[str, int],
    other: int,
    value: Any,
) -> None:
    """One `extra` field's columns: a numeric's z-score (clipped) or missing flag, a
    bool's value or missing flag, then the value's one-hot column (or "other")."""
    if spec.kind == "numeric":
        number = _number(value)
        if number is None:
            out[start + 1] = 1.0
        else:
            out[start] = max(-5.0, min(5.0, (number - spec.mean) / spec.std))
    elif spec.kind == "bool":
        if value is None:
            out[start + 1] = 1.0
        elif _truthy(value):
            out[start] = 1.0
    key = canonical_value(value)
    if key is None or not onehot and other < 0:
        return
    j = onehot.get(key)
    if j is not None:
        out[j] = 1.0
    elif other >= 0:
        out[other] = 1.0


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "y", "t"}
