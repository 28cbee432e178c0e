"""Evaluation plots logged with every training run (PNG files, Agg backend).

Each function takes plain arrays from the evaluation split and writes one PNG:
confusion matrix, reliability diagram, precision–coverage curve, per-class F1 beside
the baselines, and the ROC curve of the escalation head. They build a bare
`matplotlib.figure.Figure` on an Agg canvas instead of going through `pyplot`, so
nothing depends on a display or on pyplot's global state (safe in threads, no leaks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Past this many classes the confusion matrix keeps the most frequent and lumps the rest.
MAX_MATRIX_CLASSES = 25
# Past this many classes the F1 chart shows the most frequent ones.
MAX_BAR_CLASSES = 40
_OTHER = "(other)"


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def _as_labels(values: Sequence) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=object)


def _frequent(y_true: np.ndarray, limit: int) -> list[str]:
    """Classes by descending support (ties by name), at most `limit`."""
    names, counts = np.unique(y_true, return_counts=True)
    order = sorted(zip(names, counts, strict=True), key=lambda nc: (-nc[1], nc[0]))
    return [str(n) for n, _ in order[:limit]]


def confusion_matrix(
    y_true: Sequence, y_pred: Sequence, path: Path, *, title: str = "Confusion matrix"
) -> Path:
    """Row-normalised confusion matrix (rows: true class); rare classes folded into (other)."""
    true, pred = _as_labels(y_true), _as_labels(y_pred)
    classes = _frequent(true, MAX_MATRIX_CLASSES)
    keep = set(classes)
    if len(np.unique(np.concatenate([true, pred]))) > len(classes):
        classes.append(_OTHER)
    index = {c: i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=float)
    for t, p in zip(true, pred, strict=True):
        matrix[index[t if t in keep else _OTHER], index[p if p in keep else _OTHER]] += 1
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)

    size = max(4.0, 0.35 * len(classes) + 2)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.add_subplot()
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if len(classes) <= 12:
        for i in range(len(classes)):
            for j in range(len(classes)):
                if matrix[i, j]:
                    colour = "white" if normalised[i, j] > 0.5 else "black"
                    ax.text(
                        j,
                        i,
                        f"{int(matrix[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color=colour,
                    )
    return _save(fig, path)


def _confidence(
    y_true: Sequence, proba: np.ndarray, classes: Sequence
) -> tuple[np.ndarray, np.ndarray]:
    """Top-class probability and whether the top class is right, per row."""
    proba = np.asarray(proba, dtype=float)
    top = proba.argmax(axis=1)
    predicted = np.asarray([str(c) for c in classes], dtype=object)[top]
    correct = predicted == _as_labels(y_true)
    return proba[np.arange(len(top)), top], correct


def expected_calibration_error(
    y_true: Sequence, proba: np.ndarray, classes: Sequence, *, bins: int = 10
) -> float:
    """Top-label ECE: the support-weighted gap between confidence and accuracy per bin."""
    confidence, correct = _confidence(y_true, proba, classes)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            gap += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(gap)


def reliability_diagram(
    y_true: Sequence,
    proba: np.ndarray,
    classes: Sequence,
    path: Path,
    *,
    bins: int = 10,
    title: str = "Reliability",
) -> Path:
    """Accuracy against top-class confidence per bin, with the diagonal and bin counts."""
    confidence, correct = _confidence(y_true, proba, classes)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    accuracy = np.full(bins, np.nan)
    counts = np.zeros(bins, dtype=int)
    for b in range(bins):
        mask = which == b
        counts[b] = int(mask.sum())
        if counts[b]:
            accuracy[b] = correct[mask].mean()
    ece = expected_calibration_error(y_true, proba, classes, bins=bins)

    fig = Figure(figsize=(5, 6))
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.bar(
        centres,
        np.nan_to_num(accuracy),
        width=1 / bins,
        edgecolor="black",
        alpha=0.7,
        label="accuracy",
    )
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"{title} (ECE {ece:.3f})")
    ax.legend(loc="upper left")
    hist.bar(centres, counts, width=1 / bins, color="grey", edgecolor="black")
    hist.set_xlabel("top-class confidence")
    hist.set_ylabel("tickets")
    hist.set_xlim(0, 1)
    return _save(fig, path)


def precision_coverage(
    y_true: Sequence, proba: np.ndarray, classes: Sequence
) -> tuple[np.ndarray, np.ndarray]:
    """Precision of the answered tickets against coverage, answering the most confident first."""
    confidence, correct = _confidence(y_true, proba, classes)
    order = np.argsort(-confidence, kind="stable")
    answered = np.arange(1, len(order) + 1)
    precision = np.cumsum(correct[order]) / answered
    return answered / max(len(order), 1), precision


def precision_coverage_curve(
    y_true: Sequence,
    proba: np.ndarray,
    classes: Sequence,
    path: Path,
    *,
    target_precision: float | None = None,
    coverage_at_target: float | None = None,
    title: str = "Precision vs coverage",
) -> Path:
    """How much the model can answer alone at each precision; marks the target precision."""
    coverage, precision = precision_coverage(y_true, proba, classes)
    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    ax.plot(coverage, precision, label="answer the most confident first")
    if target_precision is not None:
        ax.axhline(
            target_precision, color="red", linestyle="--", label=f"target {target_precision:.2f}"
        )
    if coverage_at_target is not None:
        ax.axvline(
            coverage_at_target,
            color="green",
            linestyle=":",
            label=f"coverage with per-class thresholds {coverage_at_target:.1%}",
        )
    ax.set_xlabel("coverage (share of tickets answered)")
    ax.set_ylabel("precision of answered tickets")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    return _save(fig, path)


def per_class_f1(y_true: Sequence, y_pred: Sequence, classes: Sequence[str]) -> np.ndarray:
    """F1 of each class in `classes` (0 where the class is never predicted nor present)."""
    true, pred = _as_labels(y_true), _as_labels(y_pred)
    scores = []
    for c in classes:
        tp = float(np.sum((true == c) & (pred == c)))
        denominator = float(np.sum(true == c) + np.sum(pred == c))
        scores.append(2 * tp / denominator if denominator else 0.0)
    return np.asarray(scores)


def per_class_f1_chart(
    y_true: Sequence,
    predictions: Mapping[str, Sequence],
    path: Path,
    *,
    title: str = "Per-class F1",
) -> Path:
    """Grouped bars: per-class F1 of each predictor (the model first, then the baselines)."""
    true = _as_labels(y_true)
    classes = _frequent(true, MAX_BAR_CLASSES)
    names = list(predictions)
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(classes))
    fig = Figure(figsize=(max(6.0, 0.45 * len(classes) + 2), 4.5))
    ax = fig.add_subplot()
    for i, name in enumerate(names):
        scores = per_class_f1(true, predictions[name], classes)
        macro = per_class_f1(true, predictions[name], sorted(set(true))).mean()
        ax.bar(
            x + (i - (len(names) - 1) / 2) * width,
            scores,
            width,
            label=f"{name} (macro {macro:.3f})",
        )
    ax.set_xticks(x, classes, rotation=90, fontsize=7)
    ax.set_ylabel("F1")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def roc_points(
    y_true: Sequence[bool], score: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, float]:
    """False-positive rate, true-positive rate and ROC-AUC (ties scored as half)."""
    truth = np.asarray(y_true, dtype=bool)
    score = np.asarray(score, dtype=float)
    order = np.argsort(-score, kind="stable")
    truth, score = truth[order], score[order]
    # One point per distinct threshold: the last index of each run of equal scores.
    distinct = np.r_[np.nonzero(np.diff(score))[0], len(score) - 1]
    tps = np.cumsum(truth)[distinct]
    fps = (distinct + 1) - tps
    positives, negatives = max(int(truth.sum()), 1), max(int((~truth).sum()), 1)
    tpr = np.r_[0.0, tps / positives]
    fpr = np.r_[0.0, fps / negatives]
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def roc_curve_chart(
    y_true: Sequence[bool], score: Sequence[float], path: Path, *, title: str = "Escalation ROC"
) -> Path:
    """ROC curve of a binary risk score (escalation / SLA breach) with its AUC."""
    fpr, tpr, auc = roc_points(y_true, score)
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return _save(fig, path)
