"""`triage keys create` and the refusals of `triage serve` (before it binds a port)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from triage.keys import KeyStore

ROOT = Path(__file__).resolve().parents[2]


def _triage(*args: str, keys_file: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIAGE_API_KEYS_FILE": str(keys_file)}
    return subprocess.run(
        [sys.executable, "-m", "triage_cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keys_create_prints_the_key_once_and_stores_a_hash(tmp_path):
    keys_file = tmp_path / "keys.json"
    done = _triage(
        "keys", "create", "--scopes", "triage,admin", "--name", "ops", keys_file=keys_file
    )
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("tt_") and key not in keys_file.read_text()
    assert "cannot be shown again" in done.stderr
    record = KeyStore.load(keys_file).verify(key)
    assert record is not None and record.scopes == {"triage", "admin"}
    listed = _triage("keys", "list", keys_file=keys_file)
    assert record.id in listed.stdout and key not in listed.stdout


def test_keys_create_rejects_unknown_scopes(tmp_path):
    done = _triage("keys", "create", "--scopes", "triage,root", keys_file=tmp_path / "k.json")
    assert done.returncode == 2 and "unknown scope" in done.stderr


def test_serve_without_any_key_refuses_to_start(tmp_path, demo_bundle):
    done = _triage("serve", "--bundle", str(demo_bundle), keys_file=tmp_path / "none.json")
    assert done.returncode == 2
    assert "no API key configured" in done.stderr and "--insecure-no-auth" in done.stderr


def test_serve_refuses_a_tampered_bundle(tmp_path, demo_bundle):
    keys_file = tmp_path / "keys.json"
    _triage("keys", "create", keys_file=keys_file)
    bundle = shutil.copytree(demo_bundle, tmp_path / "bundle")
    target = bundle / "heads.onnx"
    target.write_bytes(target.read_bytes() + b"\0")
    done = _triage("serve", "--bundle", str(bundle), "--port", "1", keys_file=keys_file)
    assert done.returncode == 2
    assert "heads.onnx" in done.stderr and "corrupt or was modified" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_needs_exactly_one_model_source(tmp_path):
    keys_file = tmp_path / "keys.json"
    _triage("keys", "create", keys_file=keys_file)
    neither = _triage("serve", keys_file=keys_file)
    assert neither.returncode == 2 and "--bundle" in neither.stderr
    both = _triage("serve", "--bundle", "x", "--model", "champion", keys_file=keys_file)
    assert both.returncode == 2 and "not both" in both.stderr
