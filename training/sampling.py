"""Stratified samples of the training part, for the stages that do not need all of it
(the encoder window's judge, the cascade's cheap twins on a large desk)."""

from __future__ import annotations

import numpy as np

# Tickets kept per class however small its share, so that each of 3 stratified folds holds
# the class (a class with fewer tickets keeps them all).
MIN_PER_CLASS = 3


def stratified_sample(rows: np.ndarray, labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """At most about `size` of `rows` (sorted), stratified on `labels[rows]`: each class in
    proportion, at least `MIN_PER_CLASS` (or all it has). All of `rows` when they fit."""
    rows = np.asarray(rows)
    if len(rows) <= size:
        return np.sort(rows)
    rng = np.random.default_rng(seed)
    share = size / len(rows)
    keys = np.array([str(v) for v in labels[rows]], dtype=object)
    taken: list[np.ndarray] = []
    for c in sorted(set(keys.tolist())):
        members = rows[keys == c]
        take = min(len(members), max(round(len(members) * share), MIN_PER_CLASS))
        taken.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(taken))
