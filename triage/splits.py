"""How a ticket history is split into training and test parts, decided in one place.

Both the importer's report ("will the trainer split by time?") and the trainer ask
`plan_split`, so the two never disagree. A time split (newest tickets held out) is the
honest one for a desk whose questions drift; it needs timestamps on nearly every ticket
and a history long enough that "newer" means something.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

SplitKind = Literal["time", "stratified"]
SplitRequest = Literal["time", "stratified", "auto"]

# `auto` splits by time only when this share of tickets has a timestamp...
MIN_KNOWN_SHARE = 0.9
# ...and the known timestamps span at least this many days.
MIN_SPAN_DAYS = 14.0


@dataclass(frozen=True)
class SplitPlan:
    """The split a training run will use, and why (printed by `triage train` and the
    import report)."""

    kind: SplitKind
    reason: str


def plan_split(timestamps: Iterable[float | None], requested: SplitRequest = "auto") -> SplitPlan:
    """Decide the split for tickets with these creation times (POSIX seconds; None or NaN
    where unknown).

    `requested` "time" or "stratified" is honoured as asked (a time split with too few
    timestamps is still refused by the caller that needs them); "auto" picks time when
    at least 90% of the tickets have a timestamp and they span 14 days or more.
    """
    values = [t for t in timestamps]
    known = [float(t) for t in values if t is not None and not math.isnan(float(t))]
    n = len(values)
    share = len(known) / n if n else 0.0
    span_days = (max(known) - min(known)) / 86_400 if known else 0.0
    facts = f"{share:.0%} of {n} tickets have a timestamp, spanning {span_days:.1f} days"
    if requested == "time":
        return SplitPlan("time", f"--split time was asked ({facts})")
    if requested == "stratified":
        return SplitPlan("stratified", f"--split stratified was asked ({facts})")
    if share >= MIN_KNOWN_SHARE and span_days >= MIN_SPAN_DAYS:
        return SplitPlan("time", f"auto: {facts}; the newest tickets are held out")
    why = (
        f"fewer than {MIN_KNOWN_SHARE:.0%} have one"
        if share < MIN_KNOWN_SHARE
        else f"shorter than {MIN_SPAN_DAYS:.0f} days"
    )
    return SplitPlan("stratified", f"auto: {facts} ({why}); stratified on the label")
