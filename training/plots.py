"""Evaluation plots of the training runs (MLflow) and the benchmark report (PNG, Agg backend).

Each chart function takes plain arrays from the evaluation split and writes one PNG:
confusion matrix, reliability diagram, precision–coverage curve, per-class F1 beside
the baselines, the ROC curve of the escalation head and the auto-reply recall@k curve.
`head_plots` draws every plot of one head; `training.tracking` (MLflow artifacts of a
training run) and `benchmarks.report` (the analyst report) both call it, so the two show
the same charts. They build a bare `matplotlib.figure.Figure` on an Agg canvas instead
of going through `pyplot`, so nothing depends on a display or on pyplot's global state
(safe in threads, no leaks).
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
UNSEEN = "(unseen in training)"


def save_figure(fig: Figure, path: Path) -> Path:
    """Write `fig` as a PNG (100 dpi, tight) on an Agg canvas; returns `path`."""
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
    return save_figure(fig, path)


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
    return save_figure(fig, path)


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
    precision_at_threshold: float | None = None,
    title: str = "Precision vs coverage",
) -> Path:
    """How much the model can answer alone at each precision; marks the target precision.

    With `coverage_at_target` and `precision_at_threshold` (what the per-class abstention
    thresholds reach on the same tickets) the operating point is drawn on the curve's plane.
    """
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
        if precision_at_threshold is not None:
            ax.plot(
                [coverage_at_target],
                [precision_at_threshold],
                marker="o",
                color="green",
                linestyle="none",
                label=f"thresholds: precision {precision_at_threshold:.1%}",
            )
    ax.set_xlabel("coverage (share of tickets answered)")
    ax.set_ylabel("precision of answered tickets")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    return save_figure(fig, path)


def per_class_f1_chart(
    y: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    classes: Sequence[str],
    path: Path,
    *,
    per_class_f1: Mapping[str, tuple[Sequence[float], float]] | None = None,
    baseline_macro_f1: Mapping[str, float] | None = None,
    title: str = "Per-class F1",
) -> Path:
    """Grouped bars: per-class F1 of each predictor (the model first, then the baselines).

    `predictions` are scored here; `per_class_f1` holds predictors already scored
    elsewhere as (F1 per class index, macro-F1), e.g. the baselines of a training report.
    Baselines known only by their score (`baseline_macro_f1`) are drawn as dashed lines.
    """
    y = np.asarray(y)
    shown = _frequent(y, len(classes), MAX_BAR_CLASSES)
    bars: dict[str, tuple[np.ndarray, float]] = {}
    for name, pred in predictions.items():
        scores = classification_metrics(y, np.asarray(pred), len(classes))
        bars[name] = scores["f1"], scores["macro_f1"]
    for name, (f1, macro) in (per_class_f1 or {}).items():
        f1 = np.asarray(f1, dtype=float)
        # A head's classes may carry one extra "unseen" slot that a list computed without it lacks.
        bars[name] = np.pad(f1, (0, max(len(classes) - len(f1), 0))), float(macro)
    width = 0.8 / max(len(bars), 1)
    x = np.arange(len(shown))
    fig = Figure(figsize=(max(6.0, 0.45 * len(shown) + 2), 4.5))
    ax = fig.add_subplot()
    for i, (name, (f1, macro)) in enumerate(bars.items()):
        offset = (i - (len(bars) - 1) / 2) * width
        ax.bar(x + offset, f1[shown], width, label=f"{name} (macro-F1 {macro:.3f})")
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
    return save_figure(fig, path)


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
    return save_figure(fig, path)


def recall_at_k_chart(
    curves: Mapping[str, Sequence[float]],
    path: Path,
    *,
    title: str = "Auto-reply recall@k",
) -> Path:
    """recall@k for k = 1..len(curve) of each curve: how often the right answer is in the top k."""
    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    longest = 1
    for name, curve in curves.items():
        k = np.arange(1, len(curve) + 1)
        longest = max(longest, len(curve))
        ax.plot(k, curve, marker="o", label=name)
    ax.set_xticks(range(1, longest + 1))
    ax.set_xlabel("k (answers offered)")
    ax.set_ylabel("recall@k (right answer among the top k)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, path)


def labels_with_unseen(y: np.ndarray, classes: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Test labels as indices, with labels unseen in training (-1) as one extra class."""
    y = np.asarray(y)
    names = [str(c) for c in classes]
    if (y < 0).any():
        names.append(UNSEEN)
        y = np.where(y >= 0, y, len(classes))
    return y, names


def head_plots(
    name: str,
    y_true: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    out_dir: Path,
    *,
    field: str | None = None,
    target_precision: float | None = None,
    coverage_at_target: float | None = None,
    precision_at_threshold: float | None = None,
    baseline_f1: Mapping[str, tuple[Sequence[float], float]] | None = None,
    baseline_macro_f1: Mapping[str, float] | None = None,
    model_label: str = "model",
) -> dict[str, Path]:
    """Every evaluation plot of one head, as `out_dir/{name}_{kind}.png`; returns kind → path.

    Kinds: `confusion`, `reliability`, `precision_coverage`, `per_class_f1`, and `roc` for
    an escalation head (classes "false"/"true"). `y_true` holds class indices into
    `classes`, -1 for a label the training part never saw (an error the model cannot
    avoid, drawn as its own class); `proba` is the calibrated n × len(classes) matrix.
    """
    y, names = labels_with_unseen(y_true, classes)
    proba = np.asarray(proba, dtype=float)
    pred = proba.argmax(axis=1)
    drawn = {
        "confusion": confusion_matrix(
            y, pred, names, out_dir / f"{name}_confusion.png", title=f"{name}: confusion matrix"
        ),
        "reliability": reliability_diagram(
            proba, y, out_dir / f"{name}_reliability.png", title=f"{name}: reliability"
        ),
        "precision_coverage": precision_coverage_curve(
            proba,
            y,
            out_dir / f"{name}_precision_coverage.png",
            target_precision=target_precision,
            coverage_at_target=coverage_at_target,
            precision_at_threshold=precision_at_threshold,
            title=f"{name}: precision vs coverage",
        ),
        "per_class_f1": per_class_f1_chart(
            y,
            {model_label: pred},
            names,
            out_dir / f"{name}_per_class_f1.png",
            per_class_f1=baseline_f1,
            baseline_macro_f1=baseline_macro_f1,
            title=f"{name}: per-class F1 beside the baselines",
        ),
    }
    if name == "escalation" and "true" in classes:
        positive = list(classes).index("true")
        drawn["roc"] = roc_curve_chart(
            proba[:, positive],
            np.asarray(y_true) == positive,
            out_dir / f"{name}_roc.png",
            title=f"{name} ({field or name}): ROC",
        )
    return drawn
