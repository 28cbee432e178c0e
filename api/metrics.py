"""Prometheus metrics of the triage service and the ASGI middleware that records them.

Each app gets its own `CollectorRegistry` so that several apps (tests, reloads) never
clash on the process-global default registry. With `--workers N` every worker keeps its
own counters; a scrape sees the worker that answered it (run one worker per container,
or scrape each, when exact fleet totals matter).

The middleware is plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which costs a
task and a queue per request: this one only wraps `send` to see the status code.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from triage.contract import TriageResult

# The heads of a TriageResult, in response order; `escalation` is a head like the others.
HEADS: tuple[str, ...] = ("category", "subcategory", "priority", "team", "assignee", "escalation")

# Millisecond-scale buckets: the service targets p50 ~10 ms and p99 ~25 ms.
_LATENCY_BUCKETS = (
    0.002,
    0.004,
    0.006,
    0.008,
    0.010,
    0.0125,
    0.015,
    0.020,
    0.025,
    0.035,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


class Metrics:
    """The service's counters, histograms and gauges, on a private registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "triage_http_requests_total",
            "HTTP requests by route template, method and status code.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "triage_http_request_duration_seconds",
            "Time from request start to the end of the response, by route and status.",
            ("route", "method", "status"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "triage_predictions_total",
            "Head predictions served (abstentions included), by head.",
            ("head",),
            registry=self.registry,
        )
        self.abstentions = Counter(
            "triage_abstentions_total",
            "Head predictions that abstained (routed to a human), by head.",
            ("head",),
            registry=self.registry,
        )
        self.model_info = Gauge(
            "triage_model_info",
            "The model being served: 1 for the current version, 0 for earlier ones.",
            ("version",),
            registry=self.registry,
        )
        self.reloads = Counter(
            "triage_model_reloads_total",
            "Model (re)loads by outcome (ok, refused).",
            ("outcome",),
            registry=self.registry,
        )
        self._version: str | None = None

    def set_model(self, version: str) -> None:
        """Mark `version` as the model now serving."""
        if self._version is not None and self._version != version:
            self.model_info.labels(version=self._version).set(0)
        self.model_info.labels(version=version).set(1)
        self._version = version

    def count_result(self, result: TriageResult) -> None:
        """Count one result's predictions and abstentions per head."""
        for head in HEADS:
            prediction = getattr(result, head)
            if prediction is None:
                continue
            self.predictions.labels(head=head).inc()
            if prediction.abstained:
                self.abstentions.labels(head=head).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (not raw path) and status."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            # Unmatched paths share one label: raw paths would let a scanner blow up the
            # metric's cardinality.
            template = getattr(route, "path", None) or "unmatched"
            labels = (template, scope["method"], str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - start)
