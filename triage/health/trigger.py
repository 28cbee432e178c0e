"""When to retrain: the served model drifted, or its live precision fell (decided from
the monitor's own measurements; the retraining itself is `training.retrain`)."""

from __future__ import annotations

from triage.health.drift import DriftReport
from triage.health.quality import ModelHealth
from triage.health.versions import is_version


def retrain_reason(
    health: ModelHealth | None,
    drift: DriftReport | None,
    *,
    model_version: str | None,
    primary: str = "category",
    precision_floor: float,
    min_labelled: int = 50,
    alert_signals: int = 2,
) -> str | None:
    """Why the served model should be retrained now, or None.

    Drift: at least `alert_signals` signals at alert level. Precision: the primary
    head's realized precision in `health` (a recent window) under `precision_floor`,
    measured on at least `min_labelled` labelled predictions of `model_version`.
    """
    if drift is not None and len(drift.alerts) >= alert_signals:
        return f"drift: {', '.join(drift.alerts)} shifted (PSI >= {drift.alert})"
    if health is None:
        return None
    for version in health.versions:
        if model_version is not None and not is_version(version.model_version, model_version):
            continue
        for head in version.heads:
            if (
                head.head == primary
                and head.labelled >= min_labelled
                and head.realized_precision is not None
                and head.realized_precision < precision_floor
            ):
                return (
                    f"precision: {primary} realized {head.realized_precision:.1%} on "
                    f"{head.labelled} labelled tickets, under the floor {precision_floor:.0%}"
                )
    return None
