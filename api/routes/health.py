"""Liveness, readiness and Prometheus metrics: unauthenticated, for orchestrators and scrapers."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

router = APIRouter(tags=["operations"])

_OK = b'{"status":"ok"}'


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Response:
    """200 as long as the process answers; says nothing about the model."""
    return Response(_OK, media_type="application/json")


@router.get(
    "/readyz",
    summary="A model is loaded and serving",
    responses={503: {"description": "no model loaded yet"}},
)
async def readyz(request: Request) -> Response:
    """200 with the model version once a model is loaded, 503 before."""
    model = request.app.state.holder.current
    if model is None:
        return Response(b'{"status":"loading"}', status_code=503, media_type="application/json")
    body = orjson.dumps({"status": "ready", "model_version": model.version})
    return Response(body, media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Request counts and latency per route and status, model version, predictions per head."""
    registry = request.app.state.metrics
    return Response(registry.render(), media_type=registry.content_type)
