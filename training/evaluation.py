"""Splits and metrics for honest evaluation."""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def split_indices(
    labels: np.ndarray | None,
    timestamps: np.ndarray | None,
    test_fraction: float = 0.2,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(train indices, test indices, kind): time-ordered when timestamps exist, else stratified.

    `timestamps` is a float array (NaN where unknown); when at least 90% are known the
    newest `test_fraction` becomes the test set (unknown times sort first, as history).
    Otherwise the split is stratified on `labels` (None entries form their own stratum);
    a class with a single example stays in training, so rare classes never crash it.
    """
    n = len(labels) if labels is not None else len(timestamps)
    if timestamps is not None and np.isfinite(timestamps).mean() >= 0.9:
        keys = np.where(np.isfinite(timestamps), timestamps, -np.inf)
        order = np.argsort(keys, kind="stable")
        n_test = round(n * test_fraction)
        return np.sort(order[: n - n_test]), np.sort(order[n - n_test :]), "time"
    return (*stratified_indices(labels, test_fraction, seed), "stratified")


def stratified_indices(
    labels: np.ndarray | None, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (rest, held-out) index split; each class contributes round(n * fraction)."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    groups: dict[object, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    held: list[int] = []
    for key in sorted(groups, key=lambda k: (k is None, str(k))):
        members = np.array(groups[key])
        rng.shuffle(members)
        k = round(len(members) * fraction)
        if len(members) < 2:
            k = 0
        held.extend(members[:k].tolist())
    held_arr = np.sort(np.array(held, dtype=np.int64))
    rest = np.setdiff1d(np.arange(n), held_arr)
    return rest, held_arr


def classification_metrics(y: np.ndarray, pred: np.ndarray, n_classes: int) -> dict:
    """Accuracy, macro-F1 (over classes present in `y` or predicted) and per-class P/R."""
    y = np.asarray(y)
    pred = np.asarray(pred)
    accuracy = float(np.mean(y == pred)) if len(y) else 0.0
    tp = np.bincount(y[y == pred], minlength=n_classes).astype(float)
    support = np.bincount(y, minlength=n_classes).astype(float)
    predicted = np.bincount(pred, minlength=n_classes).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros(n_classes), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(n_classes), where=support > 0)
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros(n_classes),
        where=(precision + recall) > 0,
    )
    present = (support > 0) | (predicted > 0)
    macro_f1 = float(f1[present].mean()) if present.any() else 0.0
    return {
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support.astype(int),
    }


def brier_score(proba: np.ndarray, y: np.ndarray) -> float:
    """Multi-class Brier score: mean squared distance to the one-hot truth."""
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-class confidence over equal-width bins."""
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(conf[mask].mean() - correct[mask].mean())
    return float(ece)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """ROC-AUC by the rank statistic (ties averaged); None when one class is missing."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = np.asarray(scores)[order]
    # Average ranks over ties.
    start = 0
    for end in np.r_[np.flatnonzero(np.diff(sorted_scores)) + 1, len(scores)]:
        ranks[order[start:end]] = (start + end + 1) / 2.0
        start = end
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def coverage_report(
    proba: np.ndarray, y: np.ndarray, abstained: np.ndarray, pred: np.ndarray | None = None
) -> dict:
    """Coverage (share answered) and the precision of the answered predictions (`pred`:
    the answers when the decision is not arg-max)."""
    answered = ~abstained
    coverage = float(answered.mean()) if len(y) else 0.0
    pred = proba.argmax(axis=1) if pred is None else pred
    precision = float(np.mean(pred[answered] == y[answered])) if answered.any() else None
    return {"coverage": coverage, "precision": precision}
