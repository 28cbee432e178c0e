"""Liveness, readiness and Prometheus metrics: unauthenticated, for orchestrators and scrapers."""

from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from api.dependencies import AppMetrics, Holder

router = APIRouter(tags=["operations"])

_OK = b'{"status":"ok"}'


class Liveness(BaseModel):
    """The process answers."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """Whether a model is loaded (`ready`, with its version) or not yet (`loading`)."""

    status: Literal["ready", "loading"]
    model_version: str | None = None


@router.get(
    "/healthz",
    summary="The process is alive",
    response_class=Response,
    responses={200: {"model": Liveness, "description": "the process answers"}},
)
async def healthz() -> Response:
    """200 as long as the process answers; says nothing about the model."""
    return Response(_OK, media_type="application/json")


@router.get(
    "/readyz",
    summary="A model is loaded and serving",
    response_class=Response,
    responses={
        200: {"model": Readiness, "description": "serving, with the model version"},
        503: {"model": Readiness, "description": "no model loaded yet (`loading`)"},
    },
)
async def readyz(holder: Holder) -> Response:
    """200 with the model version once a model is loaded, 503 before."""
    model = holder.current
    if model is None:
        return Response(b'{"status":"loading"}', status_code=503, media_type="application/json")
    body = orjson.dumps({"status": "ready", "model_version": model.version})
    return Response(body, media_type="application/json")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(registry: AppMetrics) -> Response:
    """Request counts and latency per route and status, model version, predictions per head."""
    return Response(registry.render(), media_type=registry.content_type)
