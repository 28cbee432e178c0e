"""The one place where errors become HTTP responses, and where their bodies are documented.

Every error body has one of two shapes: `{"detail": [{"field": ..., "reason": ...}]}`
(`FieldErrors`) for input the client can fix (422, 413), `{"detail": "message"}`
(`ErrorMessage`) otherwise. Routes declare the statuses they can answer with
`error_responses(...)`, so the OpenAPI schema shows these bodies rather than FastAPI's
default `loc/msg/type` validation error, which this API never sends.

| error                                   | status | why                                 |
|-----------------------------------------|--------|-------------------------------------|
| request validation (pydantic)           | 422    | names the field (`tickets[3].id`)   |
| a body that is not UTF-8 (FastAPI)      | 400    | "There was an error parsing the body" |
| `RowError` (text too long, batch size)  | 422    | same shape as validation errors     |
| body over `max_body_bytes`              | 413    | `api.limits`; body from `too_large` |
| no or unknown API key                   | 401    | `unauthorized` (`api.security`)     |
| key without the route's scope           | 403    | `forbidden` (`api.security`)        |
| key over its request rate               | 429    | `too_many_requests`, `Retry-After`  |
| desk routes on a server without a desk  | 503    | `unavailable`                       |
| `BundleError`, `EncoderError` on reload | 422    | the old model keeps serving         |
| `ModelNotReadyError`                    | 503    | no model loaded yet; retry later    |
| `NotFound`, unknown registry alias      | 404    | no such record, alias or version    |
| `Conflict` (e.g. `IllegalTransition`)   | 409    | conflicts with the current state    |
| other `RegistryError`                   | 422    |                                     |
| other `TriageError`                     | 400    |                                     |
| anything else                           | 500    | logged with its traceback; no leak  |
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
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


class FieldError(BaseModel):
    """One field at fault and why."""

    field: str = Field(
        description="where in the request: `tickets[3].body`, `due_before`; `body` for "
        "the body as a whole"
    )
    reason: str = Field(description="what is wrong with it, without echoing the input")


class FieldErrors(BaseModel):
    """Input the client can fix (413, 422): every field at fault."""

    detail: list[FieldError]


class ErrorMessage(BaseModel):
    """Any other error: one message."""

    detail: str


# What each status means when a route does not say more; the body model each one has.
_STATUSES: dict[int, tuple[type[BaseModel], str]] = {
    400: (ErrorMessage, "the request cannot be carried out"),
    401: (ErrorMessage, "missing or invalid API key (`WWW-Authenticate: Bearer`)"),
    403: (ErrorMessage, "the API key lacks the scope this route needs"),
    404: (ErrorMessage, "no such record"),
    409: (ErrorMessage, "the request conflicts with the record's current state"),
    413: (FieldErrors, "request body over the size limit (`max_body_bytes`)"),
    422: (FieldErrors, "invalid input: names each field and the reason"),
    429: (ErrorMessage, "this API key is over its request rate; retry after `Retry-After` s"),
    503: (ErrorMessage, "no model loaded yet; retry later"),
}


# What a route that reads a JSON body can answer because of the body alone: bytes that
# are not text (FastAPI's 400), a body over the limit, invalid JSON or fields.
BODY_ERRORS: tuple[int | tuple[int, str], ...] = (
    (400, "the body cannot be read (not UTF-8 text)"),
    413,
    422,
)


def error_responses(
    *statuses: int | tuple[int, str], either: tuple[int, ...] = ()
) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries of a route for the error statuses it can answer.

    A status is `404`, or `(404, "no such ticket")` to say what it means on this route.
    A status in `either` may come with either body (a refused bundle is a 422 with a
    message, invalid input one with field errors). Declaring 422 also keeps FastAPI
    from documenting its own validation error shape.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for entry in statuses:
        status, said = entry if isinstance(entry, tuple) else (entry, None)
        model, description = _STATUSES[status]
        responses[status] = {
            "model": FieldErrors | ErrorMessage if status in either else model,
            "description": said or description,
        }
    return responses


def body(detail: str | list[dict[str, str]]) -> bytes:
    """An error body as JSON bytes: a message, or the fields at fault."""
    return orjson.dumps({"detail": detail})


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


def too_large(limit: int) -> list[dict[str, str]]:
    """The detail of a 413: the body is the field at fault."""
    return [{"field": "body", "reason": f"request body larger than {limit} bytes"}]


def unauthorized(reason: str) -> HTTPException:
    """A 401 asking for a bearer key."""
    return HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def too_many_requests(retry_after_s: float) -> HTTPException:
    """A 429 with `Retry-After` in whole seconds (at least 1)."""
    seconds = max(1, math.ceil(retry_after_s))
    return HTTPException(
        status_code=429,
        detail="rate limit exceeded for this API key",
        headers={"Retry-After": str(seconds)},
    )


def forbidden(reason: str) -> HTTPException:
    """A 403: the key is valid but may not do this."""
    return HTTPException(status_code=403, detail=reason)


def unavailable(reason: str) -> HTTPException:
    """A 503: this server is not set up for the request."""
    return HTTPException(status_code=503, detail=reason)


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


def _json(status: int, detail: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body(detail), status_code=status, media_type="application/json", headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return _json(422, field_errors(list(exc.errors())))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        # Starlette's own 404/405 and the 401/403/413/503 above; a list detail is field errors.
        return _json(exc.status_code, exc.detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(TriageError)
    async def _domain(request: Request, exc: TriageError) -> Response:
        status = status_for(exc)
        if isinstance(exc, RowError):
            return _json(status, [{"field": exc.field or "body", "reason": exc.reason}])
        return _json(status, str(exc))


class UnexpectedErrorMiddleware:
    """Turns any exception a route lets escape into a 500, and lets none escape further.

    Not an `exception_handler(Exception)`: Starlette's outermost middleware sends that
    handler's response and then re-raises, and uvicorn answers an exception after the
    response started by closing the connection, so the client's next request on the same
    keep-alive connection was reset. Only the exception's type is logged with the
    traceback, never the request's body or query (they may hold personal data).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                return  # the response is out; the connection stays usable
            payload = body("internal error; see the server log")
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
