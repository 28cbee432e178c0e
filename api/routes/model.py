"""`GET /v1/model` (what is serving) and `POST /v1/admin/reload` (swap it, admin only)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.dependencies import AdminKey, AppMetrics, AppSettings, Holder, TriageKey
from api.errors import BODY_ERRORS, error_responses
from triage.errors import RowError, TriageError

log = logging.getLogger("triage.api")

router = APIRouter(tags=["model"])

# Manifest keys that describe the training machine or its files rather than the model.
_PRIVATE_KEYS = frozenset(
    {"files", "paths", "path", "source_path", "data_path", "training_data", "host", "user"}
)


class ReloadRequest(BaseModel):
    """Which bundle to load; empty: re-resolve what the server was started with."""

    model_config = ConfigDict(extra="forbid")

    bundle: str | None = Field(
        default=None, min_length=1, description="bundle directory on the server"
    )
    model: str | None = Field(
        default=None, min_length=1, description="registry alias or version, e.g. 'champion'"
    )


class ModelInfo(BaseModel):
    """The model being served."""

    model_version: str
    loaded_at: float = Field(description="Unix time the bundle was loaded")
    source: str = Field(description="what the server was started with: a bundle or an alias")
    manifest: dict[str, Any] = Field(
        description="the bundle manifest (heads, labels, metrics, encoder) without its file "
        "list and without paths of the training machine"
    )


class ReloadResponse(BaseModel):
    """What the reload did."""

    model_version: str
    previous_version: str | None
    bundle: str


def inside_models_dir(bundle: str, models_dir: Path) -> Path:
    """The bundle directory a reload names, which must lie inside the models directory
    (relative paths are taken from it). Outside it, one error that says nothing about
    whether the path exists."""
    root = Path(models_dir).resolve()
    candidate = Path(bundle)
    target = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if root not in target.parents:
        raise RowError("request", None, "bundle", "not a bundle of this server's models directory")
    return target


def _is_machine_path(value: Any) -> bool:
    return isinstance(value, str) and (
        value.startswith(("/", "~", "\\\\")) or value[1:3] in (":\\", ":/")
    )


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _scrub(v)
            for k, v in value.items()
            if k not in _PRIVATE_KEYS and not _is_machine_path(v)
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def public_manifest(bundle: Any) -> dict[str, Any]:
    """The bundle's manifest without its file list and without paths of the training machine."""
    manifest = getattr(bundle, "manifest", None)
    if manifest is None:
        return {}
    if hasattr(manifest, "model_dump"):
        manifest = manifest.model_dump(mode="json")
    elif not isinstance(manifest, dict):
        manifest = dict(vars(manifest))
    return _scrub(manifest)


@router.get(
    "/v1/model",
    summary="The model being served",
    response_class=Response,
    responses={
        200: {"model": ModelInfo, "description": "version, load time, source and manifest"},
        **error_responses(401, 403, 429, 503),
    },
)
async def model_info(holder: Holder, _key: TriageKey) -> Response:
    """Model version, when it was loaded, and the manifest (heads, labels, metrics, encoder)."""
    model = holder.get()
    body = {
        "model_version": model.version,
        "loaded_at": model.loaded_at,
        "source": holder.source,
        "manifest": public_manifest(model.bundle),
    }
    return Response(orjson.dumps(body, default=str), media_type="application/json")


@router.post(
    "/v1/admin/reload",
    summary="Load a bundle and swap it in atomically",
    response_model=ReloadResponse,
    responses=error_responses(
        401,
        (403, "the key lacks the `admin` scope"),
        429,
        (404, "unknown registry alias or version"),
        *BODY_ERRORS,
        (422, "invalid input, or the bundle was refused (corrupt, tampered, incompatible)"),
        either=(422,),
    ),
)
def reload_model(
    holder: Holder,
    metrics: AppMetrics,
    settings: AppSettings,
    _key: AdminKey,
    body: Annotated[ReloadRequest | None, Body()] = None,
) -> ReloadResponse:
    """Build the new predictor fully, then swap; requests in flight finish on the old one.

    Without a body the server re-resolves its start-up source (the alias, or the bundle
    path). A refused bundle answers 422 with the reason and changes nothing.
    """
    previous = holder.current
    path: Path | None = None
    if body is not None and body.bundle is not None and body.model is not None:
        raise RowError("request", None, "model", "give either 'bundle' or 'model', not both")
    if body is not None and body.bundle is not None:
        path = inside_models_dir(body.bundle, settings.models_dir)
    elif body is not None and body.model is not None:
        from triage.registry import ModelRegistry

        path = ModelRegistry(settings.models_dir).resolve_verified(body.model)[0]
    try:
        loaded = holder.reload(path)
    except TriageError as exc:
        metrics.reloads.labels(outcome="refused").inc()
        log.error(
            "reload refused, still serving %s: %s", previous.version if previous else None, exc
        )
        raise
    return ReloadResponse(
        model_version=loaded.version,
        previous_version=previous.version if previous else None,
        bundle=str(loaded.path),
    )
