"""API keys for the triage service: created once, stored hashed, checked in constant time.

A key looks like `tt_<id>_<secret>`. The id is public and names the record to check;
the secret is 32 random bytes and is never stored: the file keeps a per-key salt and
`sha256(salt + secret)`. A fast hash is enough here (unlike for passwords) because the
secret is machine-generated with 256 bits of entropy, so there is nothing to brute-force,
and verification stays in the microseconds on every request.

Scopes (docs/security.md has the role x route table):
- `triage`: scoring only (`/v1/triage`, `/v1/model`).
- `admin`: everything on the desk, agents, teams, corrections and model reloads.
- `agent`: a person's desk UI: the tickets of the key's `teams`, presence, audit.
- `tickets`: an integration bound to one `inbox`: creates and reads that inbox's tickets.
- `act-as`: may name the person acting in `X-Actor` (a desk UI acting for its user).

Keys files written before the roles existed load unchanged: their records have no
`inbox` and no `teams`, and keep the scopes they had (`triage` now scores only).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from triage.errors import InputFileError
from triage.files import write_atomically

SCOPES: frozenset[str] = frozenset({"triage", "admin", "agent", "tickets", "act-as"})
PREFIX = "tt"


@dataclass(frozen=True)
class KeyRecord:
    """One stored key: what it may do, never the secret itself."""

    id: str
    salt: str
    digest: str
    scopes: frozenset[str]
    name: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    # `tickets` keys: the inbox the key creates tickets in and may read.
    inbox: str | None = None
    # `agent` keys: the teams whose tickets the key sees.
    teams: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, object]:
        """The record as stored in the keys file."""
        return {
            "id": self.id,
            "salt": self.salt,
            "sha256": self.digest,
            "scopes": sorted(self.scopes),
            "name": self.name,
            "created_at": self.created_at,
            "inbox": self.inbox,
            "teams": sorted(self.teams),
        }


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def parse_scopes(text: str) -> frozenset[str]:
    """`"triage,admin"` -> the scope set; an unknown or empty scope list is an error."""
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = scopes - SCOPES
    if not scopes or unknown:
        raise ValueError(
            f"unknown scope(s) {sorted(unknown)}; expected a comma-separated subset of "
            f"{sorted(SCOPES)}"
            if unknown
            else f"no scope given; expected some of {sorted(SCOPES)}"
        )
    return scopes


class KeyStore:
    """The set of API keys in `settings.api_keys_file`; immutable once loaded."""

    def __init__(self, records: list[KeyRecord] | None = None) -> None:
        self._records = {r.id: r for r in records or []}

    def __len__(self) -> int:
        return len(self._records)

    @property
    def records(self) -> list[KeyRecord]:
        """Every stored key record."""
        return list(self._records.values())

    @classmethod
    def load(cls, path: Path) -> KeyStore:
        """Read a keys file; a missing file is an empty store, a malformed one an error."""
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            records = [
                KeyRecord(
                    id=str(item["id"]),
                    salt=str(item["salt"]),
                    digest=str(item["sha256"]),
                    scopes=frozenset(item["scopes"]),
                    name=str(item.get("name", "")),
                    created_at=str(item.get("created_at", "")),
                    inbox=item.get("inbox") or None,
                    teams=frozenset(item.get("teams") or ()),
                )
                for item in data["keys"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputFileError(f"{path}: not a valid API keys file ({exc})") from exc
        return cls(records)

    def verify(self, token: str) -> KeyRecord | None:
        """The record a presented key belongs to, or None when it matches none."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        record = self._records.get(parts[1])
        if record is None:
            return None
        if not hmac.compare_digest(_digest(record.salt, parts[2]), record.digest):
            return None
        return record


def check_binding(scopes: frozenset[str], inbox: str | None, teams: frozenset[str]) -> None:
    """A `tickets` key needs an inbox and an inbox needs `tickets`; teams go with `agent`."""
    if "tickets" in scopes and not inbox:
        raise ValueError("a key with the 'tickets' scope belongs to an inbox: give --inbox NAME")
    if inbox and "tickets" not in scopes:
        raise ValueError("--inbox is for keys with the 'tickets' scope")
    if teams and "agent" not in scopes:
        raise ValueError("--teams is for keys with the 'agent' scope")
    if inbox is not None and (len(inbox) > 200 or "\x00" in inbox):
        raise ValueError("an inbox name has at most 200 characters")


def create_key(
    path: Path,
    scopes: frozenset[str],
    name: str = "",
    *,
    inbox: str | None = None,
    teams: frozenset[str] = frozenset(),
) -> tuple[str, KeyRecord]:
    """Add a new key to the keys file and return `(plaintext key, record)`.

    The plaintext is returned once and never stored.
    """
    unknown = scopes - SCOPES
    if not scopes or unknown:
        raise ValueError(
            f"scopes must be a non-empty subset of {sorted(SCOPES)}, got {sorted(scopes)}"
        )
    check_binding(scopes, inbox, teams)
    store = KeyStore.load(path)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    record = KeyRecord(
        id=key_id,
        salt=salt,
        digest=_digest(salt, secret),
        scopes=scopes,
        name=name,
        inbox=inbox or None,
        teams=teams,
    )
    _write(path, store.records + [record])
    return f"{PREFIX}_{key_id}_{secret}", record


def revoke_key(path: Path, key_id: str) -> KeyRecord:
    """Remove the key `key_id` from the keys file; unknown ids are an error."""
    store = KeyStore.load(path)
    kept = [r for r in store.records if r.id != key_id]
    if len(kept) == len(store):
        raise InputFileError(f"{path}: no API key with id {key_id!r}")
    _write(path, kept)
    return next(r for r in store.records if r.id == key_id)


def _write(path: Path, records: list[KeyRecord]) -> None:
    # Atomic replace with owner-only permissions: a crash never leaves a half-written
    # file, and other local users cannot read the digests.
    payload = {"keys": [r.to_json() for r in records]}
    write_atomically(path, json.dumps(payload, indent=2), mode=0o600)
