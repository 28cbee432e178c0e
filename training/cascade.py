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

On a small validation set the point estimate is not enough: when the two stages are close
the cascade looks as good as the full model on validation with every ticket on the cheap
path and then loses a point on the test tickets (measured on issue 17: endava sample -0.9,
synthetic team -1.1 macro-F1 points). `n_boot` replicates make the choice robust: a
threshold qualifies only when the cascade's loss stays within `tolerance` in `level` of
the bootstrap resamples of the validation tickets (each replicate scored in the same one
pass, all replicates at once).
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
    n_boot: int = 0,
    level: float = 0.9,
    seed: int = 0,
) -> CascadeChoice:
    """The lowest cheap-confidence threshold whose cascade keeps held-out macro-F1 within
    `tolerance - margin` of the full model's (`y`: true class indices, -1 = unseen class).

    Macro-F1 is taken over the classes present in `y` or predicted, as
    `training.evaluation.classification_metrics` does. With `n_boot` > 0 a threshold must
    also keep the loss within `tolerance` in a share `level` of `n_boot` bootstrap
    resamples (seeded by `seed`).
    """
    cheap_proba = np.asarray(cheap_proba, dtype=np.float64)
    full_pred = np.asarray(full_pred, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    if not (len(cheap_proba) == len(full_pred) == len(y)):
        raise ValueError("cheap_proba, full_pred and y need one row per ticket")
    if margin < 0 or tolerance < margin:
        raise ValueError(f"need 0 <= margin <= tolerance, got {margin} and {tolerance}")
    if n_boot < 0 or not 0.0 < level < 1.0:
        raise ValueError(f"need n_boot >= 0 and 0 < level < 1, got {n_boot} and {level}")
    n_classes = cheap_proba.shape[1]
    confidence = cheap_proba.max(axis=1)
    cheap_pred = cheap_proba.argmax(axis=1)
    # Row 0: the validation tickets as they are; rows 1..n_boot: bootstrap resamples.
    weights = np.ones((1, len(y)), dtype=np.int64)
    if n_boot:
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, len(y), size=(n_boot, len(y)))
        resampled = np.stack([np.bincount(d, minlength=len(y)) for d in draws])
        weights = np.vstack([weights, resampled])
    counts = _Counts(y, full_pred, n_classes, weights)
    full_f1 = counts.macro_f1()
    best = CascadeChoice(np.inf, 0.0, float(full_f1[0]), float(full_f1[0]), len(y))
    order = np.argsort(-confidence, kind="stable")
    for k, row in enumerate(order):
        counts.switch(row, y[row], full_pred[row], cheap_pred[row])
        # A threshold can only fall between distinct confidences.
        if k + 1 < len(order) and confidence[order[k + 1]] == confidence[row]:
            continue
        f1 = counts.macro_f1()
        ok = f1[0] >= full_f1[0] - (tolerance - margin)
        if n_boot:
            ok = ok and np.quantile(f1[1:] - full_f1[1:], 1.0 - level) >= -tolerance
        if ok:
            best = CascadeChoice(
                float(confidence[row]), (k + 1) / len(y), float(full_f1[0]), float(f1[0]), len(y)
            )
    return best


class _Counts:
    """Per-class true positives, predictions and support behind macro-F1, one row per
    weighting of the tickets (the tickets themselves, then bootstrap resamples)."""

    def __init__(self, y: np.ndarray, pred: np.ndarray, n_classes: int, weights) -> None:
        self.weights = weights  # replicates × tickets
        known = y >= 0
        cls = np.arange(n_classes)
        truth = (y[:, None] == cls[None, :]) & known[:, None]  # tickets × classes
        said = pred[:, None] == cls[None, :]
        self.support = weights @ truth.astype(np.int64)
        self.predicted = weights @ said.astype(np.int64)
        self.tp = weights @ (truth & said).astype(np.int64)

    def switch(self, row: int, y: int, old: int, new: int) -> None:
        if old == new:
            return
        w = self.weights[:, row]
        self.predicted[:, old] -= w
        self.predicted[:, new] += w
        if y == old:
            self.tp[:, old] -= w
        elif y == new:
            self.tp[:, new] += w

    def macro_f1(self) -> np.ndarray:
        """Macro-F1 per replicate over the classes present in it (truth or prediction)."""
        present = (self.support > 0) | (self.predicted > 0)
        denominator = self.support + self.predicted
        f1 = np.divide(
            2.0 * self.tp, denominator, out=np.zeros(denominator.shape), where=denominator > 0
        )
        return (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)
