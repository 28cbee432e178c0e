"""`HttpTriager`: the `Triager` protocol over HTTP, against a `triage serve` instance.

Retries only when the request never reached the service (connection refused or reset,
connect timeout, a pooled keep-alive connection the server had already closed): scoring
is a pure function, so sending the same ticket again is safe then. A read timeout is not
retried: the service is slow or overloaded, and retrying would pile more load onto it.
HTTP errors become typed `RemoteTriagerError`s carrying the status and the server's
reason (a 422 names the field), never a bare `httpx` exception.
"""

from __future__ import annotations

import time
from typing import Any, Self

import httpx
import orjson

from triage.contract import Ticket, TriageResult
from triage.errors import ModelNotReadyError, RemoteTriagerError, RemoteUnavailableError

# Failures where the request cannot have been processed by the service.
_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


def _reason(response: httpx.Response) -> str:
    """The server's error detail as one line (`field: reason; ...` for 422s)."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:200] or response.reason_phrase
    if isinstance(detail, list):
        return "; ".join(
            f"{d.get('field', '?')}: {d.get('reason', '')}" if isinstance(d, dict) else str(d)
            for d in detail
        )
    return str(detail)


class HttpTriager:
    """Scores tickets by calling a remote triage service. Thread-safe (one pooled client)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 2.0,
        retries: int = 2,
        backoff_s: float = 0.05,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )
        self._model_version: str | None = None

    @classmethod
    def from_settings(cls, settings: Any, api_key: str | None = None) -> HttpTriager:
        """A client for `settings.triager_url` with the configured key, timeout and retries."""
        if not settings.triager_url:
            raise RemoteTriagerError("no triage service URL configured (TRIAGE_TRIAGER_URL)")
        return cls(
            settings.triager_url,
            api_key if api_key is not None else getattr(settings, "triager_api_key", None),
            timeout_s=settings.triager_timeout_s,
            retries=settings.triager_retries,
        )

    # -- Triager protocol --------------------------------------------------------------------

    @property
    def model_version(self) -> str:
        """The version the service answered with last (asked via `/v1/model` the first time)."""
        if self._model_version is None:
            data = orjson.loads(self._request("GET", "/v1/model").content)
            self._model_version = str(data["model_version"])
        return self._model_version

    def triage(self, ticket: Ticket) -> TriageResult:
        """Score one ticket remotely."""
        response = self._request("POST", "/v1/triage", content=ticket.model_dump_json())
        result = TriageResult.model_validate_json(response.content)
        self._model_version = result.model_version
        return result

    def triage_batch(self, tickets: list[Ticket]) -> list[TriageResult]:
        """Score tickets remotely, in order (split into calls of at most 256)."""
        results: list[TriageResult] = []
        for start in range(0, len(tickets), 256):
            chunk = tickets[start : start + 256]
            body = b'{"tickets":[' + b",".join(t.model_dump_json().encode() for t in chunk) + b"]}"
            response = self._request("POST", "/v1/triage/batch", content=body)
            data = orjson.loads(response.content)
            results.extend(TriageResult.model_validate(r) for r in data["results"])
        if results:
            self._model_version = results[-1].model_version
        return results

    # -- plumbing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(
        self, method: str, path: str, content: str | bytes | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content is not None else None
        attempt = 0
        while True:
            try:
                response = self._client.request(method, path, content=content, headers=headers)
                break
            except _RETRYABLE as exc:
                if attempt >= self.retries:
                    raise RemoteUnavailableError(
                        f"triage service at {self.base_url} unreachable after "
                        f"{attempt + 1} attempt(s): {type(exc).__name__}: {exc}"
                    ) from exc
                time.sleep(self.backoff_s * (2**attempt))
                attempt += 1
            except httpx.TimeoutException as exc:
                raise RemoteUnavailableError(
                    f"triage service at {self.base_url} timed out on {method} {path}: "
                    f"{type(exc).__name__}"
                ) from exc
            except httpx.HTTPError as exc:
                raise RemoteUnavailableError(
                    f"triage service at {self.base_url}: {type(exc).__name__}: {exc}"
                ) from exc
        if response.status_code >= 400:
            reason = _reason(response)
            message = f"triage service answered {response.status_code} to {method} {path}: {reason}"
            if response.status_code == 503:
                raise ModelNotReadyError(message)
            raise RemoteTriagerError(message, status=response.status_code)
        return response
