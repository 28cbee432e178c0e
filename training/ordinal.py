"""Priority as an ordered label: choosing between arg-max and the expected-cost decision.

The expected-cost rule (`triage.ordinal`) answers the level nearest the truth on average
under the calibrated probabilities. It is chosen for a head only when, on the
out-of-fold predictions of the training part (never the test split), it lowers the mean
level error and does not lower macro-F1 beyond noise (the paired bootstrap interval of
its macro-F1 minus arg-max's reaches 0). The decision, the order and the out-of-fold
figures go into the head's metrics and the manifest; the test split reports both rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.calibration import abstain_mask, fit_thresholds
from training.evaluation import coverage_report
from training.selection import bootstrap_margin, metric
from triage.ordinal import (
    ARGMAX,
    EXPECTED_COST,
    distance_matrix,
    expected_cost_choice,
    level_errors,
    priority_order,
)


class PriorityDecision:
    """The decision rule of an ordered head (`choose` says which)."""

    def __init__(self, classes: list[str], order: list[str]) -> None:
        self.classes = classes
        self.order = order
        self.cost = distance_matrix(classes, order)
        self.rule = ARGMAX
        self.evidence: dict[str, Any] = {}
        self.thresholds: dict[str, np.ndarray] = {}

    @classmethod
    def for_head(cls, name: str, classes: list[str]) -> PriorityDecision | None:
        """A decision for the priority head when its classes are known levels; else None."""
        order = priority_order(classes) if name == "priority" else None
        return None if order is None else cls(classes, order)

    def predict(self, proba: np.ndarray, rule: str | None = None) -> np.ndarray:
        """Answered class per row under `rule` (default: the chosen one)."""
        if (rule or self.rule) == EXPECTED_COST:
            return expected_cost_choice(proba, self.cost)
        return proba.argmax(axis=1)

    def choose(self, proba: np.ndarray, y: np.ndarray, seed: int) -> PriorityDecision:
        """Pick the rule on out-of-fold calibrated probabilities `proba` and labels `y`."""
        n_classes = len(self.classes)
        figures = {}
        preds = {}
        for rule in (ARGMAX, EXPECTED_COST):
            preds[rule] = self.predict(proba, rule)
            figures[rule] = {
                "macro_f1": metric(y, preds[rule], n_classes, False),
                **level_errors(y, preds[rule], self.cost),
            }
        margin = bootstrap_margin(
            y, preds[EXPECTED_COST], preds[ARGMAX], n_classes, auc=False, seed=seed
        )
        closer = figures[EXPECTED_COST]["mean_level_error"] < figures[ARGMAX]["mean_level_error"]
        self.rule = EXPECTED_COST if closer and margin["high"] >= 0 else ARGMAX
        self.evidence = {
            "decision": self.rule,
            "order": self.order,
            "oof": figures,
            "macro_f1_margin": margin,
            "why": (
                "closer levels without losing macro-F1 beyond the bootstrap interval"
                if self.rule == EXPECTED_COST
                else "expected cost is not closer"
                if not closer
                else "expected cost loses macro-F1 beyond the bootstrap interval"
            ),
        }
        return self

    def fit_thresholds(
        self, cal_proba: np.ndarray, y_cal: np.ndarray, target: float, argmax: np.ndarray
    ) -> tuple[np.ndarray, float] | None:
        """Thresholds for the expected-cost answers on the calibration scores (its answer's
        probability is the confidence); `argmax`: the arg-max thresholds, kept to report
        both rules. Returns the expected-cost thresholds when that rule was chosen."""
        answers = self.predict(cal_proba, EXPECTED_COST)
        fitted = fit_thresholds(cal_proba, y_cal, target, pred=answers)
        self.thresholds = {ARGMAX: argmax, EXPECTED_COST: fitted[0]}
        return fitted if self.rule == EXPECTED_COST else None

    def test_figures(self, proba: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """Both rules on the test split: macro-F1, errors by distance, and coverage at
        the target precision with the precision realized."""
        n = len(self.classes)
        y_eval = np.where(y >= 0, y, n)
        out: dict[str, Any] = {}
        for rule in (ARGMAX, EXPECTED_COST):
            pred = self.predict(proba, rule)
            out[rule] = {
                "macro_f1": metric(y_eval, pred, n + 1, False),
                **level_errors(y, pred, self.cost),
            }
            if rule in self.thresholds:
                abstained = abstain_mask(proba, self.thresholds[rule], pred)
                cover = coverage_report(proba, y_eval, abstained, pred)
                out[rule]["coverage"] = cover["coverage"]
                out[rule]["realized_precision"] = cover["precision"]
        return out


def manifest_entry(metrics: dict[str, Any]) -> dict[str, Any]:
    """The keys a head's manifest entry gets from its metrics: `decision` and `order`
    when serving must answer the expected-cost level (`triage.inference.heads` reads
    them); nothing for arg-max, so older bundles and other heads read as before."""
    ordinal = metrics.get("ordinal") or {}
    if ordinal.get("decision") != EXPECTED_COST:
        return {}
    return {"decision": EXPECTED_COST, "order": list(ordinal["order"])}


def ordinal_lines(report: Any) -> list[str]:
    """What `triage train` prints for an ordered head: the rule chosen and why, and both
    rules' errors by distance on the test split."""
    lines = []
    for name, head in getattr(report, "heads", {}).items():
        ordinal = head.metrics.get("ordinal") or {}
        if "decision" not in ordinal:
            continue
        m = ordinal["macro_f1_margin"]
        lines.append(
            f"{name} is ordered ({' > '.join(ordinal['order'])}): {ordinal['decision']} "
            f"({ordinal['why']}; out-of-fold macro-F1 of expected cost minus arg-max "
            f"{m['margin']:+.3f} [{m['low']:+.3f}, {m['high']:+.3f}])"
        )
        for rule, figures in ordinal.get("test", {}).items():
            off = "/".join(str(n) for n in figures["by_distance"].values())
            chosen = " (shipped)" if rule == ordinal["decision"] else ""
            cover = (
                f", answers {figures['coverage']:.1%} at precision "
                f"{figures['realized_precision']:.3f}"
                if figures.get("realized_precision") is not None
                else ""
            )
            lines.append(
                f"  test, {rule}{chosen}: macro-F1 {figures['macro_f1']:.3f}, mean level error "
                f"{figures['mean_level_error']:.3f}, levels off "
                f"{'/'.join(figures['by_distance'])}: {off}{cover}"
            )
    return lines
