"""`GET /v1/model` (what is serving) and `POST /v1/admin/reload` (swap it, admin only)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.security import require_scope
from triage.errors import TriageError

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


class ReloadResponse(BaseModel):
    """What the reload did."""

    model_version: str
    previous_version: str | None
    bundle: str


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
    responses={401: {"description": "missing or invalid key"}, 403: {"description": "wrong scope"}},
)
async def model_info(request: Request, _key: object = Depends(require_scope("triage"))) -> Response:
    """Model version, when it was loaded, and the manifest (heads, labels, metrics, encoder)."""
    model = request.app.state.holder.get()
    body = {
        "model_version": model.version,
        "loaded_at": model.loaded_at,
        "source": request.app.state.holder.source,
        "manifest": public_manifest(model.bundle),
    }
    return Response(orjson.dumps(body, default=str), media_type="application/json")


@router.post(
    "/v1/admin/reload",
    summary="Load a bundle and swap it in atomically",
    response_model=ReloadResponse,
    responses={
        401: {"description": "missing or invalid key"},
        403: {"description": "the key lacks the `admin` scope"},
        404: {"description": "unknown registry alias or version"},
        422: {
            "description": "the bundle was refused (corrupt, tampered, incompatible); the old model keeps serving"
        },
    },
)
def reload_model(
    request: Request,
    body: ReloadRequest | None = Body(default=None),
    _key: object = Depends(require_scope("admin")),
) -> ReloadResponse:
    """Build the new predictor fully, then swap; requests in flight finish on the old one.

    Without a body the server re-resolves its start-up source (the alias, or the bundle
    path). A refused bundle answers 422 with the reason and changes nothing.
    """
    state = request.app.state
    holder = state.holder
    previous = holder.current
    path: Path | None = None
    if body is not None and body.bundle is not None and body.model is not None:
        from triage.errors import RowError

        raise RowError("request", None, "model", "give either 'bundle' or 'model', not both")
    if body is not None and body.bundle is not None:
        path = Path(body.bundle)
    elif body is not None and body.model is not None:
        from triage.registry import ModelRegistry

        path = ModelRegistry(state.settings.models_dir).resolve(body.model)
    try:
        loaded = holder.reload(path)
    except TriageError as exc:
        state.metrics.reloads.labels(outcome="refused").inc()
        log.error(
            "reload refused, still serving %s: %s", previous.version if previous else None, exc
        )
        raise
    return ReloadResponse(
        model_version=loaded.version,
        previous_version=previous.version if previous else None,
        bundle=str(loaded.path),
    )
