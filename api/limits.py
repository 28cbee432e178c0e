"""Request body-size limit, enforced before the body is read into memory.

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


def _response_413(limit: int) -> tuple[dict[str, Any], dict[str, Any]]:
    # Sent before the app runs, so the error handlers never see it: same body, though.
    body = errors.body(errors.too_large(limit))
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodySizeLimitMiddleware:
    """Answers 413 to any request whose body exceeds `max_bytes`."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
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
        start, body = _response_413(self.max_bytes)
        await send(start)
        await send(body)
