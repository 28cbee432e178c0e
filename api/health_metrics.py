"""Model health as Prometheus gauges: live quality per model version and head, and the
drift of the served model's last scored tickets, read from the desk's store when
Prometheus scrapes (cached, so a busy scraper costs one set of queries per `ttl_s`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from triage.health.drift import DriftReport
from triage.health.quality import ModelHealth

# (metric name, help, attribute of HeadQuality)
_HEAD_GAUGES: tuple[tuple[str, str, str], ...] = (
    (
        "triage_model_acceptance_rate",
        "Answered predictions people kept (not overridden), by model version and head.",
        "acceptance_rate",
    ),
    (
        "triage_model_realized_precision",
        "Answered predictions equal to the human label (settled or corrected tickets).",
        "realized_precision",
    ),
    (
        "triage_model_abstention_rate",
        "Scored tickets on which the head abstained, by model version and head.",
        "abstention_rate",
    ),
    (
        "triage_model_labelled_predictions",
        "Answered predictions with a human label: the realized precision's sample size.",
        "labelled",
    ),
)


class ModelHealthCollector(Collector):
    """Yields the live-quality gauges; `measure` returns the desk's `ModelHealth`."""

    def __init__(
        self,
        measure: Callable[[], ModelHealth],
        drift: Callable[[], DriftReport | None] | None = None,
        ttl_s: float = 30.0,
    ) -> None:
        self.measure = measure
        self.drift = drift
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: tuple[float, ModelHealth, DriftReport | None] | None = None

    def _health(self) -> tuple[ModelHealth, DriftReport | None]:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self.ttl_s:
                drift = self.drift() if self.drift is not None else None
                self._cached = (now, self.measure(), drift)
            return self._cached[1], self._cached[2]

    def describe(self) -> list[Any]:
        """No description up front: registering must not query the store."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges of every model version and head with a defined value."""
        health, drift = self._health()
        families = {
            name: GaugeMetricFamily(name, text, labels=["version", "head"])
            for name, text, _ in _HEAD_GAUGES
        }
        replies = GaugeMetricFamily(
            "triage_auto_reply_resolution_rate",
            "Auto-replies the customer marked solved, of those answered, by model version.",
            labels=["version"],
        )
        for version in health.versions:
            for head in version.heads:
                for name, _, attribute in _HEAD_GAUGES:
                    value = getattr(head, attribute)
                    if value is not None:
                        families[name].add_metric([version.model_version, head.head], value)
            if version.auto_reply_resolution_rate is not None:
                replies.add_metric([version.model_version], version.auto_reply_resolution_rate)
        yield from families.values()
        yield replies
        psi = GaugeMetricFamily(
            "triage_drift_psi",
            "Population stability index of each drift signal over the last scored tickets "
            "against the served bundle's reference (docs/monitoring.md).",
            labels=["version", "signal"],
        )
        if drift is not None:
            for signal in drift.signals:
                psi.add_metric([drift.model_version or "", signal.signal], signal.psi)
        yield psi
