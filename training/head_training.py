"""One head's training: the competition's winner calibrated (temperature or Platt shift,
per-class thresholds), its priority decision and escalation risk threshold, and its
test-split figures beside the baselines (`train_head`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.baselines import linearsvc_baseline, majority_baseline
from training.calibration import (
    abstain_mask,
    fit_platt,
    fit_temperature,
    fit_thresholds,
    softmax,
)
from training.competition import Designs, Head, HeadData, Outcome, compete
from training.config import TrainConfig
from training.corpus import Corpus
from training.evaluation import (
    brier_score,
    classification_metrics,
    coverage_report,
    expected_calibration_error,
    roc_auc,
)
from training.ordinal import PriorityDecision
from training.report import HeadReport
from triage.contract import Ticket
from triage.ordinal import PRIORITY_ORDER


def train_head(
    name: str,
    fld: str,
    labels: list[str | None],
    corpus: Corpus,
    fit_idx: np.ndarray,
    cal_idx: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    config: TrainConfig,
    split_kind: str = "stratified",
    designs: Designs | None = None,
) -> tuple[HeadReport, Head]:
    """Train, calibrate and evaluate the head `name` on ticket field `fld` (`labels`: one
    per ticket, None where unlabelled): its `HeadReport` and the shipped model."""
    label_arr = np.array(labels, dtype=object)
    known = np.array([v is not None for v in labels])
    train_rows = train_idx[known[train_idx]]
    test_rows = test_idx[known[test_idx]]
    classes = sorted(set(label_arr[train_rows].tolist()))
    data = HeadData(name, label_arr, classes, corpus, config, designs=designs)
    n_classes = data.n_classes
    y_train, y_test = data.codes(train_rows), data.codes(test_rows)
    # Time split: calibration and thresholds from the newest training slice.
    recent = (fit_idx[known[fit_idx]], cal_idx[known[cal_idx]]) if split_kind == "time" else None
    outcome = compete(data, train_rows, recent)
    selection, model = outcome.selection, outcome.model
    temperature, shift, thresholds, global_t = _calibrate(outcome, n_classes, config)
    # Priority is ordered: arg-max or the expected-cost level (`training.ordinal`).
    ordered = PriorityDecision.for_head(name, classes)
    if ordered is not None:
        oof_proba = softmax(outcome.oof[selection.winner], temperature)
        ordered.choose(oof_proba, y_train, config.seed)
        cal = softmax(outcome.cal_logits, temperature)
        fitted = ordered.fit_thresholds(cal, outcome.y_cal, config.target_precision, thresholds)
        if fitted is not None and not selection.no_signal:
            thresholds, global_t = fitted

    def logits(rows: np.ndarray) -> np.ndarray:
        return data.logits(model, rows)

    proba = softmax(logits(test_rows), temperature)
    decided = ordered.predict(proba) if ordered is not None else proba.argmax(axis=1)
    abstained = abstain_mask(proba, thresholds, decided)
    # Test labels never seen in training count as errors (an extra, never-predicted class).
    y_eval = np.where(y_test >= 0, y_test, n_classes)
    metrics = _head_metrics(name, classes, proba, y_test, abstained, thresholds, config, decided)
    if ordered is not None:
        metrics["ordinal"] |= ordered.evidence | {"test": ordered.test_figures(proba, y_test)}
    metrics.update(
        {
            "calibrated_on": "newest training slice" if outcome.recent_slice else "out-of-fold",
            "temperature": temperature,
            "calibration": "platt" if shift is not None else "temperature",
            "model": selection.winner.describe(),
            "stacked_model": {
                "kind": outcome.stacked_choice.kind,
                "C": outcome.stacked_choice.C,
                "class_weight_power": outcome.stacked_choice.class_weight_power,
            },
            "model_selection": [
                {
                    "kind": c.kind,
                    "C": c.C,
                    "class_weight_power": c.class_weight_power,
                    "score": round(v, 6),
                }
                for c, v in outcome.stacked_scores.items()
            ],
            "selection": selection.to_dict(),
            "no_signal": selection.no_signal,
        }
    )
    _add_risk_threshold(
        metrics,
        outcome,
        (shift, temperature),
        classes,
        corpus.tickets,
        (train_rows, test_rows),
        fld,
    )
    if "risk_threshold" in metrics:
        metrics["risk_threshold"]["test_rate"] = float(
            np.mean(proba[:, 1] >= metrics["risk_threshold"]["value"])
        )
    # Baselines on the same split (trained on the whole training part).
    baselines: dict[str, dict[str, Any]] = {
        "majority": majority_baseline(y_train, y_eval, n_classes + 1)
    }
    for c, m in outcome.models.items():
        if c.family in ("tfidf_svc", "fields", "hgb"):
            key = "tfidf_linearsvc" if c.family == "tfidf_svc" else c.family
            baselines[key] = _test_summary(data.logits(m, test_rows), y_eval, data.index)
    if "tfidf_linearsvc" not in baselines:
        # No text in the data: the LinearSVC baseline reads the metadata.
        x = sp.csr_matrix(corpus.x_meta)
        svc, _ = linearsvc_baseline(
            x[train_rows], y_train, x[test_rows], y_eval, n_classes + 1, seed=config.seed
        )
        svc["features"] = "metadata (no text in the data)"
        baselines["tfidf_linearsvc"] = svc
    report = HeadReport(
        name=name,
        field=fld,
        classes=classes,
        temperature=temperature,
        thresholds=[float(t) for t in thresholds],
        global_threshold=global_t,
        metrics=metrics,
        baselines=baselines,
        n_train=len(train_rows),
        n_calibration=len(outcome.cal_rows),
        n_test=len(test_rows),
        test_ids=[corpus.tickets[i].id for i in test_rows],
        y_true=y_test,
        proba=proba,
        abstained=abstained,
        decided=decided,
    )
    everyone = np.arange(len(corpus.tickets))
    held_out = softmax(logits(everyone), temperature)
    oof = outcome.oof[selection.winner]
    if shift is not None:
        oof = oof + np.array([0.0, shift])
    held_out[train_rows] = softmax(oof, temperature)
    report.held_out_proba = held_out.astype(np.float32)
    return report, model


def _add_risk_threshold(
    metrics: dict[str, Any],
    outcome: Outcome,
    calibration: tuple[float | None, float],
    classes: list[str],
    tickets: list[Ticket],
    rows: tuple[np.ndarray, np.ndarray],
    fld: str,
) -> None:
    """The escalation head's rate-matched risk threshold (`training.risk_threshold`),
    chosen on the calibration rows' calibrated probabilities (`calibration`: the Platt
    shift or None, the temperature); heads that are not true/false: nothing."""
    if classes != ["false", "true"]:
        return
    from training import risk_threshold

    shift, temperature = calibration
    cal_logits = outcome.cal_logits + (np.array([0.0, shift]) if shift is not None else 0.0)
    metrics["risk_threshold"] = risk_threshold.choose(
        tickets,
        fld,
        rows,
        softmax(cal_logits, temperature)[:, 1],
        bool(outcome.selection.no_signal),
    )


def _calibrate(
    outcome: Outcome, n_classes: int, config: TrainConfig
) -> tuple[float, float | None, np.ndarray, float]:
    """(temperature, Platt shift or None, per-class thresholds, global threshold).

    A binary head is Platt-scaled to the held-out base rate (the shift is folded into the
    winner's bias, so serving does not change); others get a temperature. A head with no
    signal gets thresholds nothing reaches: it always abstains.
    """
    cal_logits, y_cal = outcome.cal_logits, outcome.y_cal
    platt = fit_platt(cal_logits, y_cal) if n_classes == 2 else None
    shift = None
    if platt is not None:
        temperature, shift = platt
        model = outcome.model
        model.b_ = model.b_ + np.array([0.0, shift], dtype=np.float32)
        cal_logits = cal_logits + np.array([0.0, shift])
    else:
        temperature = fit_temperature(cal_logits, y_cal)
    thresholds, global_t = fit_thresholds(
        softmax(cal_logits, temperature), y_cal, config.target_precision
    )
    if outcome.selection.no_signal:
        thresholds = np.full(n_classes, NO_SIGNAL_THRESHOLD)
        global_t = NO_SIGNAL_THRESHOLD
    return temperature, shift, thresholds, global_t


def _head_metrics(
    name: str,
    classes: list[str],
    proba: np.ndarray,
    y_test: np.ndarray,
    abstained: np.ndarray,
    thresholds: np.ndarray,
    config: TrainConfig,
    pred: np.ndarray | None = None,
) -> dict[str, Any]:
    """The shipped head's test-split figures (unseen test labels count as errors);
    `pred`: its answers when its decision is not arg-max."""
    n_classes = len(classes)
    pred = proba.argmax(axis=1) if pred is None else pred
    y_eval = np.where(y_test >= 0, y_test, n_classes)
    cls = classification_metrics(y_eval, pred, n_classes + 1)
    seen = y_test >= 0
    cover = coverage_report(proba, y_eval, abstained, pred)
    metrics: dict[str, Any] = {
        "accuracy": cls["accuracy"],
        "macro_f1": cls["macro_f1"],
        "brier": brier_score(proba[seen], y_test[seen]) if seen.any() else None,
        "ece": expected_calibration_error(proba[seen], y_test[seen]) if seen.any() else None,
        "coverage_at_target_precision": cover["coverage"],
        "precision_at_threshold": cover["precision"],
        "target_precision": config.target_precision,
        "unseen_test_labels": int((~seen).sum()),
        "per_class": {
            c: {
                "precision": float(cls["precision"][i]),
                "recall": float(cls["recall"][i]),
                "f1": float(cls["f1"][i]),
                "support": int(cls["support"][i]),
                "threshold": float(thresholds[i]),
            }
            for i, c in enumerate(classes)
        },
    }
    if ordinal := _ordinal_errors(name, classes, y_test, pred):
        metrics["ordinal"] = ordinal
    if n_classes == 2 and "true" in classes:
        t = classes.index("true")
        metrics["roc_auc"] = roc_auc(proba[:, t], y_test == t)
    return metrics


# A threshold no calibrated probability reaches: the head always abstains.
NO_SIGNAL_THRESHOLD = 1.01


def _test_summary(logits: np.ndarray, y_eval: np.ndarray, index: dict[str, int]) -> dict[str, Any]:
    """A baseline's test-split figures from its logits (as `baselines._summary`)."""
    n_classes = len(index)
    cls = classification_metrics(y_eval, logits.argmax(axis=1), n_classes + 1)
    out: dict[str, Any] = {
        "accuracy": cls["accuracy"],
        "macro_f1": cls["macro_f1"],
        "per_class_f1": [round(float(f), 6) for f in cls["f1"]],
    }
    if n_classes == 2 and "true" in index:
        t = index["true"]
        out["roc_auc"] = roc_auc(logits[:, t] - logits[:, 1 - t], y_eval == t)
    return out


def _ordinal_errors(
    name: str, classes: list[str], y: np.ndarray, pred: np.ndarray
) -> dict[str, Any] | None:
    """For priority: how many levels off the errors are (0 = right, 1 = adjacent level...)."""
    if name != "priority" or not set(classes) <= set(PRIORITY_ORDER):
        return None
    rank = np.array([PRIORITY_ORDER.index(c) for c in classes])
    ordered = np.argsort(np.argsort(rank))  # class index → position among this head's levels
    seen = y >= 0
    distance = np.abs(ordered[y[seen]] - ordered[pred[seen]])
    counts = np.bincount(distance, minlength=len(classes))
    return {
        "order": [classes[i] for i in np.argsort(rank)],
        "errors_by_distance": {str(d): int(n) for d, n in enumerate(counts) if d > 0},
        "mean_distance": float(distance.mean()) if len(distance) else 0.0,
    }


def in_memory_proba(model: Head, temperature: float, x_text, x_emb, x_meta) -> np.ndarray:
    """Calibrated probabilities from the in-memory head (the parity reference)."""
    return softmax(model.logits(x_text, x_emb, x_meta), temperature)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value
