"""Webhook delivery: events from the outbox, signed with HMAC-SHA256, retried with back-off.

The receiver checks `X-Triage-Signature: sha256=<hex>`, the HMAC of
`"{X-Triage-Timestamp}.{raw body}"` under the shared secret (`verify` below does
exactly that), and de-duplicates on `X-Triage-Delivery`: a delivery whose answer got
lost is sent again, so receivers may see an event more than once, never zero times.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from triage.errors import TriageError

# Retries: 30 s, 1 min, 2 min, ... capped at 1 h, for at most MAX_ATTEMPTS tries.
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 12


class UnsignedWebhooksError(TriageError):
    """Webhooks configured without a secret, and unsigned delivery was not allowed."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """True when `signature` is what `sign` gives (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


@dataclass
class Delivery:
    """The outcome of one try."""

    ok: bool
    error: str | None = None


class WebhookSender:
    """Posts events to one URL. Thread-safe (one pooled client)."""

    def __init__(
        self,
        url: str,
        secret: str | None,
        *,
        timeout_s: float = 5.0,
        allow_unsigned: bool = False,
    ) -> None:
        if not secret and not allow_unsigned:
            raise UnsignedWebhooksError(
                f"webhooks to {url} would go out unsigned: set TRIAGE_WEBHOOK_SECRET, or "
                "allow it with --allow-unsigned-webhooks (TRIAGE_ALLOW_UNSIGNED_WEBHOOKS=true)"
            )
        self.url = url
        self.secret = secret
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s))

    def send(
        self, delivery_id: int, event: str, payload: dict[str, Any], now: datetime
    ) -> Delivery:
        """Post one event; any non-2xx answer or network error is a failed try."""
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Triage-Event": event,
            "X-Triage-Delivery": str(delivery_id),
            "X-Triage-Timestamp": timestamp,
        }
        if self.secret:
            headers["X-Triage-Signature"] = sign(self.secret, timestamp, body)
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Delivery(ok=False, error=f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return Delivery(ok=True)
        return Delivery(ok=False, error=f"HTTP {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
