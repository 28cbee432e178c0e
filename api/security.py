"""API-key authentication (`Authorization: Bearer KEY`) and what each key may see.

Scopes are in `triage.keys`; the role x route table is in docs/security.md, and
`tests/api/test_roles.py` walks every route of the app against it.

The dependencies are `async def` on purpose: FastAPI runs sync dependencies in the
threadpool, and one extra thread hop per request is measurable against a 10 ms budget.
Checking a key is a dict lookup and one sha256, so it never blocks the event loop.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import forbidden, too_many_requests, unauthorized
from triage.keys import KeyRecord, KeyStore

_bearer = HTTPBearer(auto_error=False, description="an API key from `triage keys create`")


class TokenBuckets:
    """A token bucket per API key: `rate` requests a second on average, bursts of `burst`.

    Only touched from the event loop (the auth dependency is `async def`), so it needs
    no lock; one dict lookup and a little arithmetic per request.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key_id: str, now: float | None = None) -> float:
        """Spend one token of `key_id`'s bucket: 0.0 when admitted, else the seconds
        until a token is available (the request is refused and spends nothing)."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key_id] = (tokens - 1.0, now)
        return 0.0


class Authenticator:
    """Holds the loaded key store and the per-key rate limits; `enabled=False` only
    with `triage serve --insecure-no-auth` on a loopback address."""

    def __init__(
        self, keys_file: Path, enabled: bool, rate: float = 0.0, burst: float = 0.0
    ) -> None:
        self.keys_file = keys_file
        self.enabled = enabled
        self.store = KeyStore.load(keys_file) if enabled else KeyStore()
        # rate 0: no rate limit.
        self.limiter = TokenBuckets(rate, burst or rate) if rate > 0 else None

    def reload(self) -> None:
        """Re-read the keys file (new or revoked keys take effect without a restart)."""
        if self.enabled:
            self.store = KeyStore.load(self.keys_file)

    def stamp(self) -> object:
        """A change stamp for the watcher: the keys file's mtime and size."""
        try:
            stat = self.keys_file.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)


def require_scope(*scopes: str) -> Callable[..., Awaitable[KeyRecord | None]]:
    """A dependency that admits requests whose key carries one of `scopes` (401 / 403
    otherwise). With auth off (`--insecure-no-auth`) it admits everyone as `None`."""
    wanted = frozenset(scopes)
    said = " or ".join(f"'{s}'" for s in scopes)

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> KeyRecord | None:
        auth: Authenticator = request.app.state.auth
        if not auth.enabled:
            return None
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise unauthorized("missing API key: send 'Authorization: Bearer KEY'")
        record = auth.store.verify(credentials.credentials)
        if record is None:
            raise unauthorized("invalid API key")
        if not wanted & record.scopes:
            raise forbidden(f"this API key lacks the {said} scope")
        if auth.limiter is not None:
            wait = auth.limiter.take(record.id)
            if wait > 0:
                raise too_many_requests(wait)
        return record

    return check


def is_unscoped(key: KeyRecord | None) -> bool:
    """True when the caller sees every ticket: an admin key, or auth off."""
    return key is None or "admin" in key.scopes


def inbox_of(key: KeyRecord | None) -> str | None:
    """The inbox an integration key is bound to (None: not an integration key)."""
    if key is None or "admin" in key.scopes or "agent" in key.scopes:
        return None
    return key.inbox


def teams_of(key: KeyRecord | None) -> list[str] | None:
    """The teams an agent key sees (None: no team restriction)."""
    if is_unscoped(key) or key is None or "agent" not in key.scopes:
        return None
    return sorted(key.teams)


def may_see(key: KeyRecord | None, inbox: str | None, team: str | None) -> bool:
    """Whether the caller may see a ticket of this inbox and team; a ticket it may not
    see is answered 404, exactly like one that does not exist."""
    if is_unscoped(key):
        return True
    assert key is not None
    if "agent" in key.scopes and team is not None and team in key.teams:
        return True
    return "tickets" in key.scopes and key.inbox is not None and inbox == key.inbox


def may_set_presence(key: KeyRecord | None, agent_id: str, agent_team: str | None) -> bool:
    """Whether the caller may take this agent on or off line: an admin (or auth off), the
    agent's own key (named after the agent), or an agent key of the agent's team."""
    if is_unscoped(key):
        return True
    assert key is not None
    if "agent" not in key.scopes:
        return False
    return key.name == agent_id or (agent_team is not None and agent_team in key.teams)


def actor_of(key: KeyRecord | None, x_actor: str | None) -> str:
    """Who acted, for the audit log: `X-Actor` only from a key with the `act-as` scope
    (or with auth off), else the key's own name."""
    if x_actor and x_actor.strip() and (key is None or "act-as" in key.scopes):
        return f"agent:{x_actor.strip()}"
    if key is None:
        return "api:anonymous"
    return f"api:{key.name or key.id}"


def scoped_idempotency_key(key: KeyRecord | None, header: str | None) -> str | None:
    """The `Idempotency-Key` as stored: hashed together with the caller's scope (its
    inbox, else its key id), so that two clients sending the same key never meet."""
    if not header:
        return None
    if key is None:
        scope = "anonymous"
    elif inbox_of(key) is not None:
        scope = f"inbox:{inbox_of(key)}"
    else:
        scope = f"key:{key.id}"
    return hashlib.sha256(f"{scope}\x00{header}".encode()).hexdigest()
