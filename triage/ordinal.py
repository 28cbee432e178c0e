"""Ordered labels: priority levels and the expected-cost decision over them.

Priority is not a bag of names: answering "low" for an urgent ticket is worse than
answering "high". With calibrated probabilities p over ordered levels, the level that
minimises the expected distance to the truth, sum_j p_j |pos_j − pos_k|, is the weighted
median of p; it moves the answer toward the middle of the mass where arg-max would bet on
one far mode. Training decides per head whether to use it (`decision: "expected_cost"`
in the manifest, with the `order`), and serving applies it here, with numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Priority names from most to least urgent.
PRIORITY_ORDER: tuple[str, ...] = ("urgent", "critical", "high", "medium", "normal", "low")
# The manifest's names for a head's decision rule.
ARGMAX = "argmax"
EXPECTED_COST = "expected_cost"


def priority_order(classes: Sequence[str]) -> list[str] | None:
    """`classes` from most to least urgent; None unless every one is a known priority
    name (and there are at least three levels: with two, arg-max is already optimal)."""
    if len(classes) < 3 or not set(classes) <= set(PRIORITY_ORDER):
        return None
    return sorted(classes, key=PRIORITY_ORDER.index)


def distance_matrix(classes: Sequence[str], order: Sequence[str]) -> np.ndarray:
    """|levels apart| between every pair of `classes` (in the head's class order), with
    the levels given by `order`."""
    pos = np.array([list(order).index(c) for c in classes], dtype=np.float64)
    return np.abs(pos[:, None] - pos[None, :])


def expected_cost_choice(proba: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """The class index minimising the expected cost, per row of `proba` (N × K)."""
    expected = np.atleast_2d(proba) @ cost
    return expected.argmin(axis=1)


def level_errors(y: np.ndarray, pred: np.ndarray, cost: np.ndarray) -> dict[str, object]:
    """How many levels off the answers are: counts per distance (0 = right) and the mean
    absolute level error. `y` entries below 0 (labels unseen in training) are skipped."""
    seen = y >= 0
    distance = cost[y[seen], pred[seen]].astype(np.int64)
    counts = np.bincount(distance, minlength=int(cost.max()) + 1 if cost.size else 1)
    return {
        "by_distance": {str(d): int(n) for d, n in enumerate(counts)},
        "mean_level_error": float(distance.mean()) if len(distance) else 0.0,
    }
