"""The one place where errors become HTTP responses.

Every error body has the same shape: `{"detail": [{"field": ..., "reason": ...}]}` for
input the client can fix (422, 413), `{"detail": "message"}` otherwise.

| error                                  | status | why                                         |
|----------------------------------------|--------|---------------------------------------------|
| request validation (pydantic)          | 422    | names the field (`tickets[3].id`) and reason |
| `RowError` (text too long, batch size) | 422    | same shape as validation errors              |
| body over `max_body_bytes`             | 413    | `api.limits`                                 |
| `BundleError`, `EncoderError` on reload | 422   | the bundle sent to `/v1/admin/reload` cannot be used; the old model keeps serving |
| `ModelNotReadyError`                   | 503    | no model loaded yet; retry later             |
| `NotFound`, unknown registry alias     | 404    | the record, alias or version does not exist  |
| `Conflict` (e.g. `IllegalTransition`)  | 409    | the request conflicts with the current state |
| other `RegistryError`                  | 422    |                                             |
| other `TriageError`                    | 400    |                                             |
| anything else                          | 500    | logged with its traceback; the body leaks nothing |
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from triage.errors import (
    BundleError,
    Conflict,
    EncoderError,
    InputFileError,
    ModelNotReadyError,
    NotFound,
    RowError,
    TriageError,
)

log = logging.getLogger("triage.api")


def _json(status: int, content: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(content), status_code=status, media_type="application/json", headers=headers
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "tickets", 3, "id")` -> `"tickets[3].id"`; the request part is dropped."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Pydantic errors as `{field, reason}` pairs, without echoing the input back."""
    pairs = []
    for error in errors:
        if error.get("type") == "json_invalid":
            # FastAPI puts the character offset where a field name would be.
            loc = error.get("loc", ())
            where = f" at character {loc[1]}" if len(loc) > 1 else ""
            cause = (error.get("ctx") or {}).get("error", "")
            pairs.append({"field": "body", "reason": f"invalid JSON{where}: {cause}".rstrip(": ")})
        else:
            pairs.append(
                {"field": _field(error.get("loc", ())), "reason": str(error.get("msg", "invalid"))}
            )
    return pairs


def status_for(exc: TriageError) -> int:
    """The HTTP status of a domain error (see the module table)."""
    # Imported here: the registry is optional for a server started on a plain bundle path.
    from triage.registry import RegistryError, UnknownModelVersionError

    if isinstance(exc, RowError | InputFileError | BundleError | EncoderError):
        return 422
    if isinstance(exc, ModelNotReadyError):
        return 503
    if isinstance(exc, NotFound | UnknownModelVersionError):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, RegistryError):
        return 422
    return 400


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return _json(422, {"detail": field_errors(list(exc.errors()))})

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        detail: Any = exc.detail
        if exc.status_code == 413:
            detail = [{"field": "body", "reason": str(exc.detail)}]
        return _json(exc.status_code, {"detail": detail}, headers=getattr(exc, "headers", None))

    @app.exception_handler(TriageError)
    async def _domain(request: Request, exc: TriageError) -> Response:
        status = status_for(exc)
        if isinstance(exc, RowError):
            return _json(status, {"detail": [{"field": exc.field or "body", "reason": exc.reason}]})
        return _json(status, {"detail": str(exc)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json(500, {"detail": "internal error; see the server log"})
