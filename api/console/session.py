"""Who is signed in to the console: API-key sign-in, a signed session cookie, CSRF tokens.

The only module of the console that knows about keys and roles, so that it follows the
key store's scopes (and, later, roles) in one place. A person signs in with an API key
from `triage keys create`; the cookie then carries the key's id, name, role and the
session's CSRF token, signed with HMAC-SHA256 (never the key itself). Every request
re-checks that the key still exists, so revoking a key ends its console sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request

from api.errors import forbidden
from api.security import Authenticator

COOKIE = "triage_console"


@dataclass(frozen=True)
class ConsoleUser:
    """A signed-in person: the key's id and name (the agent id), role, CSRF token."""

    key_id: str
    name: str
    role: str
    csrf: str
    expires: float

    @property
    def actor(self) -> str:
        """The audit log's name for this person's changes (as the API's `X-Actor`)."""
        return f"agent:{self.name}"

    @property
    def is_admin(self) -> bool:
        """Admins see the manager's dashboard and every correction."""
        return self.role == "admin"


class SessionSigner:
    """Signs and checks session cookies with one HMAC secret."""

    def __init__(self, secret: str | None, lifetime_s: float) -> None:
        # No configured secret: one per process, so sessions end with the process.
        self._key = (secret or secrets.token_urlsafe(32)).encode()
        self.lifetime_s = lifetime_s

    def _mac(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def dumps(self, user: ConsoleUser) -> str:
        """The cookie value of `user`'s session."""
        data = json.dumps(
            [user.key_id, user.name, user.role, user.csrf, user.expires], separators=(",", ":")
        ).encode()
        payload = base64.urlsafe_b64encode(data)
        return f"{payload.decode()}.{self._mac(payload)}"

    def loads(self, value: str | None) -> ConsoleUser | None:
        """The session a cookie value carries; None when absent, forged or expired."""
        if not value or "." not in value:
            return None
        payload, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload.encode())):
            return None
        try:
            key_id, name, role, csrf, expires = json.loads(base64.urlsafe_b64decode(payload))
        except (ValueError, TypeError):
            return None
        if float(expires) < time.time():
            return None
        return ConsoleUser(str(key_id), str(name), str(role), str(csrf), float(expires))


def sign_in(auth: Authenticator, token: str, lifetime_s: float) -> ConsoleUser | None:
    """The session for an API key, or None when the key is unknown.

    Role: `admin` when the key has the admin scope, else `agent`; a key needs the
    `triage` or `admin` scope. With auth off (`--insecure-no-auth`) any non-empty
    name signs in as an admin named by it.
    """
    token = token.strip()
    if not token:
        return None
    expires = time.time() + lifetime_s
    if not auth.enabled:
        return ConsoleUser("insecure", token[:100], "admin", secrets.token_urlsafe(24), expires)
    record = auth.store.verify(token)
    if record is None or not record.scopes & {"triage", "admin"}:
        return None
    role = "admin" if "admin" in record.scopes else "agent"
    name = record.name or record.id
    return ConsoleUser(record.id, name, role, secrets.token_urlsafe(24), expires)


def current_user(request: Request) -> ConsoleUser | None:
    """The signed-in person of this request, or None (no cookie, bad one, revoked key)."""
    signer: SessionSigner = request.app.state.console_signer
    user = signer.loads(request.cookies.get(COOKIE))
    if user is None:
        return None
    auth: Authenticator = request.app.state.auth
    if auth.enabled and not any(r.id == user.key_id for r in auth.store.records):
        return None
    return user


def check_csrf(user: ConsoleUser, token: str | None) -> None:
    """Refuse (403) a form whose CSRF token is not this session's."""
    if not token or not hmac.compare_digest(token, user.csrf):
        raise forbidden("the form's CSRF token is missing or stale: reload the page")
