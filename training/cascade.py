"""The cascade's threshold: when the cheap stage may answer instead of the transformer.

The cheap stage (TF-IDF plus a static embedding, calibrated) answers a ticket when its top
probability reaches a threshold; the transformer stack answers the rest. The threshold is
the lowest one (the most tickets on the cheap path) at which the cascade's macro-F1 on
held-out tickets stays within `tolerance` of the full model's, less a `margin` kept for
the noise between validation and live traffic. Raising the threshold only moves tickets to
the full model, so "never cheap" (an infinite threshold) always qualifies.

All candidate thresholds are scored in one pass: tickets sorted by cheap confidence,
each one switching from the full model's answer to the cheap one updates the per-class
counts behind macro-F1 in O(1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CascadeChoice:
    """The chosen threshold and what it gave on the held-out tickets."""

    threshold: float  # cheap top probability needed to answer; inf: never
    cheap_share: float  # share of tickets the cheap stage answers
    macro_f1_full: float
    macro_f1_cascade: float
    n: int

    def as_dict(self) -> dict:
        """JSON-ready (an infinite threshold as None)."""
        return {
            "threshold": None if np.isinf(self.threshold) else float(self.threshold),
            "cheap_share": self.cheap_share,
            "macro_f1_full": self.macro_f1_full,
            "macro_f1_cascade": self.macro_f1_cascade,
            "n": self.n,
        }


def cascade_predictions(
    cheap_proba: np.ndarray, full_pred: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class per ticket, True where the cheap stage answered)."""
    cheap = np.asarray(cheap_proba).max(axis=1) >= threshold
    pred = np.where(cheap, np.asarray(cheap_proba).argmax(axis=1), np.asarray(full_pred))
    return pred, cheap


def choose_threshold(
    cheap_proba: np.ndarray,
    full_pred: np.ndarray,
    y: np.ndarray,
    *,
    tolerance: float = 0.003,
    margin: float = 0.001,
) -> CascadeChoice:
    """The lowest cheap-confidence threshold whose cascade keeps held-out macro-F1 within
    `tolerance - margin` of the full model's (`y`: true class indices, -1 = unseen class).

    Macro-F1 is taken over the classes present in `y` or predicted, as
    `training.evaluation.classification_metrics` does.
    """
    cheap_proba = np.asarray(cheap_proba, dtype=np.float64)
    full_pred = np.asarray(full_pred, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    if not (len(cheap_proba) == len(full_pred) == len(y)):
        raise ValueError("cheap_proba, full_pred and y need one row per ticket")
    if margin < 0 or tolerance < margin:
        raise ValueError(f"need 0 <= margin <= tolerance, got {margin} and {tolerance}")
    n_classes = cheap_proba.shape[1]
    confidence = cheap_proba.max(axis=1)
    cheap_pred = cheap_proba.argmax(axis=1)
    counts = _Counts(y, full_pred, n_classes)
    full_f1 = counts.macro_f1()
    floor = full_f1 - (tolerance - margin)
    best = CascadeChoice(np.inf, 0.0, full_f1, full_f1, len(y))
    order = np.argsort(-confidence, kind="stable")
    for k, row in enumerate(order):
        counts.switch(y[row], full_pred[row], cheap_pred[row])
        # A threshold can only fall between distinct confidences.
        if k + 1 < len(order) and confidence[order[k + 1]] == confidence[row]:
            continue
        f1 = counts.macro_f1()
        if f1 >= floor:
            best = CascadeChoice(float(confidence[row]), (k + 1) / len(y), full_f1, f1, len(y))
    return best


class _Counts:
    """Per-class true positives, predictions and support behind macro-F1."""

    def __init__(self, y: np.ndarray, pred: np.ndarray, n_classes: int) -> None:
        known = y >= 0
        self.support = np.bincount(y[known], minlength=n_classes).astype(np.int64)
        self.predicted = np.bincount(pred, minlength=n_classes).astype(np.int64)
        self.tp = np.bincount(y[known & (y == pred)], minlength=n_classes).astype(np.int64)

    def switch(self, y: int, old: int, new: int) -> None:
        if old == new:
            return
        self.predicted[old] -= 1
        self.predicted[new] += 1
        if y == old:
            self.tp[old] -= 1
        elif y == new:
            self.tp[new] += 1

    def macro_f1(self) -> float:
        present = (self.support > 0) | (self.predicted > 0)
        denominator = self.support + self.predicted
        f1 = np.divide(
            2.0 * self.tp, denominator, out=np.zeros(len(denominator)), where=denominator > 0
        )
        return float(f1[present].mean()) if present.any() else 0.0
