"""Who is signed in to the console: API-key sign-in, a signed session cookie, CSRF tokens.

The only module of the console that knows about keys and roles (docs/security.md): a
person signs in with an `agent` or `admin` key from `triage keys create`; the cookie
then carries the key's id, name, role and the session's CSRF token, signed with
HMAC-SHA256 (never the key itself). Every request looks the key up again, so revoking a
key ends its sessions, and what the person sees is what that key sees over the API
(`api.security.may_see`, `teams_of`: an agent its teams' tickets, an admin every one).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace

from fastapi import Request

from api.errors import forbidden
from api.security import Authenticator, may_see, teams_of
from triage.errors import NotFound
from triage.keys import KeyRecord

COOKIE = "triage_console"


@dataclass(frozen=True)
class ConsoleUser:
    """A signed-in person: the key's id and name (the agent id), role, CSRF token."""

    key_id: str
    name: str
    role: str
    csrf: str
    expires: float
    # The key, looked up on every request (None with auth off): what it may see.
    key: KeyRecord | None = None

    @property
    def actor(self) -> str:
        """The audit log's name for this person's changes (as the API's `X-Actor`)."""
        return f"agent:{self.name}"

    @property
    def is_admin(self) -> bool:
        """Admins see every ticket."""
        return self.role == "admin"

    @property
    def teams(self) -> list[str] | None:
        """The teams whose tickets this person sees (None: every ticket)."""
        return teams_of(self.key)

    def check_visible(self, ticket: object) -> None:
        """404, as for a ticket that does not exist, unless this person may see it."""
        inbox, team = getattr(ticket, "inbox", None), getattr(ticket, "team", None)
        if not may_see(self.key, inbox, team):
            raise NotFound(f"no ticket {getattr(ticket, 'reference', '')}")


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

    Role: `admin` with the admin scope, `agent` with the agent scope; scoring
    (`triage`) and integration (`tickets`) keys are not people and cannot sign in. With
    auth off (`--insecure-no-auth`) any non-empty name signs in as an admin named by it.
    """
    token = token.strip()
    if not token:
        return None
    expires = time.time() + lifetime_s
    if not auth.enabled:
        return ConsoleUser("insecure", token[:100], "admin", secrets.token_urlsafe(24), expires)
    record = auth.store.verify(token)
    if record is None or not record.scopes & {"agent", "admin"}:
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
    if not auth.enabled:
        return user
    record = next((r for r in auth.store.records if r.id == user.key_id), None)
    if record is None:
        return None
    return replace(user, key=record)


def check_csrf(user: ConsoleUser, token: str | None) -> None:
    """Refuse (403) a form whose CSRF token is not this session's."""
    if not token or not hmac.compare_digest(token, user.csrf):
        raise forbidden("the form's CSRF token is missing or stale: reload the page")
