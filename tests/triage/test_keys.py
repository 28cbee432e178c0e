"""API keys: shown once, stored salted and hashed, checked per scope."""

from __future__ import annotations

import json
import stat

import pytest

from triage.errors import InputFileError
from triage.keys import KeyStore, create_key, parse_scopes, revoke_key


def test_created_key_verifies_and_is_not_stored_in_clear(tmp_path):
    path = tmp_path / "keys.json"
    key, record = create_key(path, frozenset({"triage"}), name="desk")
    text = path.read_text()
    secret = key.split("_", 2)[2]
    assert secret not in text and key not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = KeyStore.load(path).verify(key)
    assert found is not None and found.id == record.id and found.scopes == {"triage"}


def test_wrong_secret_unknown_id_and_garbage_are_rejected(tmp_path):
    path = tmp_path / "keys.json"
    key, _ = create_key(path, frozenset({"triage", "admin"}))
    store = KeyStore.load(path)
    prefix, key_id, secret = key.split("_", 2)
    assert store.verify(f"{prefix}_{key_id}_{secret[:-1]}x") is None
    assert store.verify(f"{prefix}_000000000000_{secret}") is None
    assert store.verify("not-a-key") is None
    assert store.verify("") is None


def test_same_secret_gets_different_digests_per_key(tmp_path):
    path = tmp_path / "keys.json"
    create_key(path, frozenset({"triage"}))
    create_key(path, frozenset({"triage"}))
    salts = {k["salt"] for k in json.loads(path.read_text())["keys"]}
    assert len(salts) == 2


def test_revoke_removes_only_that_key(tmp_path):
    path = tmp_path / "keys.json"
    first, first_record = create_key(path, frozenset({"triage"}))
    second, _ = create_key(path, frozenset({"admin"}))
    revoke_key(path, first_record.id)
    store = KeyStore.load(path)
    assert store.verify(first) is None and store.verify(second) is not None
    with pytest.raises(InputFileError, match="no API key with id"):
        revoke_key(path, first_record.id)


def test_scopes_are_parsed_strictly():
    assert parse_scopes("triage, admin") == {"triage", "admin"}
    with pytest.raises(ValueError, match="unknown scope"):
        parse_scopes("triage,root")
    with pytest.raises(ValueError, match="no scope"):
        parse_scopes(" , ")


def test_malformed_keys_file_is_a_clear_error(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text('{"keys": [{"id": "x"}]}')
    with pytest.raises(InputFileError, match="not a valid API keys file"):
        KeyStore.load(path)
    assert len(KeyStore.load(tmp_path / "missing.json")) == 0
