"""What a training run hands back: one `HeadReport` per head inside a `TrainingReport`,
and the warnings the user must hear about it (`precision_warnings`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class HeadReport:
    """One head's evaluation on the test part, with its test predictions for plots."""

    name: str
    field: str
    classes: list[str]
    temperature: float
    thresholds: list[float]
    global_threshold: float
    metrics: dict[str, Any]
    baselines: dict[str, dict[str, float]]
    n_train: int
    n_calibration: int
    n_test: int
    test_ids: list[str]
    y_true: np.ndarray  # class index per test ticket, -1 for a label unseen in training
    proba: np.ndarray  # calibrated probabilities (n_test × n_classes)
    abstained: np.ndarray
    parents: dict[str, str] | None = None
    # Calibrated probabilities for every ticket of the data from a model that never saw
    # it: out-of-fold for the labelled training part, the final head elsewhere. The
    # auto-reply matcher's category prior is tuned on these.
    held_out_proba: np.ndarray | None = None
    # The answered class per test ticket when the decision is not arg-max (priority).
    decided: np.ndarray | None = None

    @property
    def y_pred(self) -> np.ndarray:
        """The answered class index per test ticket (arg-max unless decided otherwise)."""
        return self.proba.argmax(axis=1) if self.decided is None else self.decided


@dataclass
class TrainingReport:
    """Everything a training run produced: where the bundle is, what it scores, what it saw."""

    bundle_dir: Path
    model_version: str
    data_path: Path
    params: dict[str, Any]
    split: dict[str, Any]
    heads: dict[str, HeadReport]
    auto_reply: dict[str, Any] | None
    languages: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    # What the user must hear (thresholds that did not hold on the test split).
    warnings: list[str] = field(default_factory=list)
    # What the heads learned from and what was ignored (`features.describe_inputs`).
    inputs: dict[str, list[str]] = field(default_factory=dict)
    # The encoder stage's choices (`encoder_selection.EncoderDecision.to_dict`): the
    # manifest's `encoder.max_tokens`, `encoder.length`, `encoder.finetune`.
    encoder: dict[str, Any] = field(default_factory=dict)
    # The sentence-transformers model behind the shipped encoder (the fine-tuned folder
    # when one was kept): what the static encoder of the cascade is distilled from.
    encoder_source: str | None = None
    # The cascade stage's summary lines (`training.cascade_stage.describe`); None: no cascade.
    cascade: list[str] | None = None

    def flat_metrics(self) -> dict[str, float]:
        """Numeric metrics as flat keys (`category.macro_f1`,
        `category.baseline.majority.accuracy`).
        """
        out: dict[str, float] = {}
        for name, head in self.heads.items():
            for key, value in head.metrics.items():
                if isinstance(value, (int, float)) and value is not None:
                    out[f"{name}.{key}"] = float(value)
            for base, values in head.baselines.items():
                for key, value in values.items():
                    if isinstance(value, (int, float)):
                        out[f"{name}.baseline.{base}.{key}"] = float(value)
        for key, value in (self.auto_reply or {}).items():
            if isinstance(value, (int, float)) and value is not None:
                out[f"auto_reply.{key}"] = float(value)
        for key, value in self.timings.items():
            out[f"seconds.{key}"] = float(value)
        return out


# Realized precision this far below the target on the test split is worth a warning.
PRECISION_SHORTFALL = 0.05


def precision_warnings(reports: dict[str, HeadReport], target: float) -> list[str]:
    """One warning per head whose thresholds missed the target precision on the test split
    by more than `PRECISION_SHORTFALL`."""
    out = []
    for name, head in reports.items():
        realized = head.metrics.get("precision_at_threshold")
        if head.metrics.get("no_signal") or realized is None:
            continue
        if realized < target - PRECISION_SHORTFALL:
            calibrated_on = head.metrics.get("calibrated_on", "out-of-fold")
            # Only a time split's test tickets are newer than the calibration tickets.
            why = (
                "the newer tickets differ from the ones the thresholds were fitted on"
                if calibrated_on == "newest training slice"
                else "the out-of-fold scores the thresholds were fitted on were surer than "
                "the shipped head is on unseen tickets"
            )
            out.append(
                f"{name}: thresholds fitted for precision {target:.2f} gave {realized:.2f} on "
                f"the test split ({head.metrics['coverage_at_target_precision']:.1%} answered, "
                f"calibrated on the {calibrated_on} scores); {why}"
            )
    return out
