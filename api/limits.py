"""Request limits enforced before the app runs: body size, and no NUL in the target.

A NUL character (`%00`) in the path or the query string is refused with a 422 here:
PostgreSQL cannot compare or store it, and no route needs one.

Plain ASGI: a declared `Content-Length` over the limit is refused at once; a chunked
body is counted as it streams in and cut off as soon as it passes the limit, so a client
cannot make the server buffer an unbounded body.
"""

from __future__ import annotations

from typing import Any

# FastAPI's subclass of starlette's, whose `detail` may be a list (our error body).
from fastapi import HTTPException

from api import errors


class BodyTooLarge(HTTPException):
    """Raised inside `receive` when a streamed body passes the limit.

    An `HTTPException` so that FastAPI's body reader passes it through as a 413 instead
    of wrapping it into a generic 400 "error parsing the body".
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=errors.too_large(limit))


def _response(status: int, detail: list[dict[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    # Sent before the app runs, so the error handlers never see it: same body, though.
    body = errors.body(detail)
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def nul_in_target(scope: dict[str, Any]) -> str | None:
    """`"path"` or `"query"` when that part of the request target holds a NUL, else None."""
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query"
    return None


class BodySizeLimitMiddleware:
    """Answers 413 to any request whose body exceeds `max_bytes`."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = nul_in_target(scope)
        if where is not None:
            start, body = _response(422, [{"field": where, "reason": "contains a NUL character"}])
            await send(start)
            await send(body)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # uvicorn already rejects malformed lengths
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
                break

        received = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        start, body = _response(413, errors.too_large(self.max_bytes))
        await send(start)
        await send(body)
