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

from training.evaluation import classification_metrics, expected_calibration_error, roc_auc

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


def _frequent(y: np.ndarray, n_classes: int, limit: int) -> list[int]:
    """Class indices by descending support (ties by index), at most `limit`, only those present."""
    support = np.bincount(y, minlength=n_classes)
    order = sorted(np.flatnonzero(support), key=lambda c: (-support[c], c))
    return [int(c) for c in order[:limit]]


def confusion_matrix(
    y: np.ndarray,
    pred: np.ndarray,
    classes: Sequence[str],
    path: Path,
    *,
    title: str = "Confusion matrix",
) -> Path:
    """Row-normalised confusion matrix (rows: true class); rare classes folded into (other).

    `y` and `pred` are class indices into `classes`, as everywhere in `training.evaluation`.
    """
    y, pred = np.asarray(y), np.asarray(pred)
    kept = _frequent(y, len(classes), MAX_MATRIX_CLASSES)
    slot = np.full(len(classes), len(kept), dtype=np.int64)  # everything else: (other)
    slot[kept] = np.arange(len(kept))
    names = [str(classes[c]) for c in kept]
    if np.any(slot[np.concatenate([y, pred])] == len(kept)):
        names.append(_OTHER)
    size_n = len(names)
    matrix = np.zeros((size_n, size_n), dtype=float)
    np.add.at(matrix, (slot[y], slot[pred]), 1)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)

    size = max(4.0, 0.35 * size_n + 2)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.add_subplot()
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_xticks(range(size_n), names, rotation=90, fontsize=7)
    ax.set_yticks(range(size_n), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if size_n <= 12:
        for i in range(size_n):
            for j in range(size_n):
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


def reliability_diagram(
    proba: np.ndarray,
    y: np.ndarray,
    path: Path,
    *,
    bins: int = 15,
    title: str = "Reliability",
) -> Path:
    """Accuracy against top-class confidence per bin, with the diagonal and bin counts.

    Same bins as `training.evaluation.expected_calibration_error`, whose value is in the title.
    """
    proba, y = np.asarray(proba, dtype=float), np.asarray(y)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    counts = np.bincount(which, minlength=bins)
    hits = np.bincount(which, weights=correct.astype(float), minlength=bins)
    accuracy = np.divide(hits, counts, out=np.zeros(bins), where=counts > 0)
    ece = expected_calibration_error(proba, y, bins=bins)

    fig = Figure(figsize=(5, 6))
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.bar(centres, accuracy, width=1 / bins, edgecolor="black", alpha=0.7, label="accuracy")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"{title} (ECE {ece:.3f})")
    ax.legend(loc="upper left")
    hist.bar(centres, counts, width=1 / bins, color="grey", edgecolor="black")
    hist.set_xlabel("top-class confidence")
    hist.set_ylabel("tickets")
    hist.set_xlim(0, 1)
    return _save(fig, path)


def precision_coverage(proba: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision of the answered tickets against coverage, answering the most confident first."""
    proba, y = np.asarray(proba, dtype=float), np.asarray(y)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    order = np.argsort(-confidence, kind="stable")
    answered = np.arange(1, len(order) + 1)
    precision = np.cumsum(correct[order]) / answered
    return answered / max(len(order), 1), precision


def precision_coverage_curve(
    proba: np.ndarray,
    y: np.ndarray,
    path: Path,
    *,
    target_precision: float | None = None,
    coverage_at_target: float | None = None,
    title: str = "Precision vs coverage",
) -> Path:
    """How much the model can answer alone at each precision; marks the target precision."""
    coverage, precision = precision_coverage(proba, y)
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


def per_class_f1_chart(
    y: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    classes: Sequence[str],
    path: Path,
    *,
    baseline_macro_f1: Mapping[str, float] | None = None,
    title: str = "Per-class F1",
) -> Path:
    """Grouped bars: per-class F1 of each predictor (the model first, then the baselines).

    Baselines known only by their score (`baseline_macro_f1`) are drawn as dashed lines.
    """
    y = np.asarray(y)
    shown = _frequent(y, len(classes), MAX_BAR_CLASSES)
    names = list(predictions)
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(shown))
    fig = Figure(figsize=(max(6.0, 0.45 * len(shown) + 2), 4.5))
    ax = fig.add_subplot()
    for i, name in enumerate(names):
        scores = classification_metrics(y, np.asarray(predictions[name]), len(classes))
        offset = (i - (len(names) - 1) / 2) * width
        ax.bar(
            x + offset,
            scores["f1"][shown],
            width,
            label=f"{name} (macro-F1 {scores['macro_f1']:.3f})",
        )
    styles = iter([":", "--", "-."] * 4)
    for name, score in (baseline_macro_f1 or {}).items():
        ax.axhline(
            score, color="grey", linestyle=next(styles), label=f"{name} (macro-F1 {score:.3f})"
        )
    ax.set_xticks(x, [str(classes[c]) for c in shown], rotation=90, fontsize=7)
    ax.set_ylabel("F1")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    # Outside, right of the axes: inside, it would hide the bars of the first classes.
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return _save(fig, path)


def roc_points(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False-positive and true-positive rates at every distinct score threshold."""
    truth = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    truth, scores = truth[order], scores[order]
    # One point per distinct threshold: the last index of each run of equal scores.
    distinct = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tps = np.cumsum(truth)[distinct]
    fps = (distinct + 1) - tps
    return (
        np.r_[0.0, fps / max(int((~truth).sum()), 1)],
        np.r_[0.0, tps / max(int(truth.sum()), 1)],
    )


def roc_curve_chart(
    scores: np.ndarray, positive: np.ndarray, path: Path, *, title: str = "Escalation ROC"
) -> Path:
    """ROC curve of a binary risk score (escalation / SLA breach) with its AUC."""
    fpr, tpr = roc_points(scores, positive)
    auc = roc_auc(np.asarray(scores, dtype=float), np.asarray(positive, dtype=bool))
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, label="model" + (f" (AUC {auc:.3f})" if auc is not None else ""))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return _save(fig, path)
