"""API-key authentication: `Authorization: Bearer KEY`, scopes `triage` and `admin`.

The dependencies are `async def` on purpose: FastAPI runs sync dependencies in the
threadpool, and one extra thread hop per request is measurable against a 10 ms budget.
Checking a key is a dict lookup and one sha256, so it never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import forbidden, unauthorized
from triage.keys import KeyRecord, KeyStore

_bearer = HTTPBearer(auto_error=False, description="an API key from `triage keys create`")


class Authenticator:
    """Holds the loaded key store; `enabled=False` only with `--insecure-no-auth`."""

    def __init__(self, keys_file: Path, enabled: bool) -> None:
        self.keys_file = keys_file
        self.enabled = enabled
        self.store = KeyStore.load(keys_file) if enabled else KeyStore()

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


def require_scope(scope: str) -> Callable[..., Awaitable[KeyRecord | None]]:
    """A dependency that admits requests whose key carries `scope` (401 / 403 otherwise)."""

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
        if scope not in record.scopes:
            raise forbidden(f"this API key lacks the '{scope}' scope")
        return record

    return check
