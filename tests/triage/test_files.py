"""`triage.files`: a file is replaced whole or not at all; versioned JSON is checked."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from triage.errors import BundleError
from triage.files import atomic_path, read_versioned_json, sha256_file, write_atomically


def test_a_failed_write_leaves_the_old_file_and_no_leftovers(tmp_path: Path) -> None:
    target = write_atomically(tmp_path / "sub" / "data.json", '{"old": true}')
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("interrupted")
    assert target.read_text() == '{"old": true}'
    assert [p.name for p in target.parent.iterdir()] == ["data.json"]


def test_a_finished_write_replaces_the_file(tmp_path: Path) -> None:
    target = write_atomically(tmp_path / "data.bin", b"old")
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # readers see the old file until the end
    assert target.read_bytes() == b"new"
    assert sha256_file(target) == "11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437"


def test_mode_is_exact_whatever_the_umask(tmp_path: Path) -> None:
    secret = write_atomically(tmp_path / "keys.json", "{}", mode=0o600)
    public = write_atomically(tmp_path / "registry.json", "{}", mode=0o644, durable=True)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644


def test_versioned_json_names_the_file_and_the_versions(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"

    def read() -> dict:
        return read_versioned_json(
            path, 2, BundleError, what="bundle", missing="missing", remedy="retrain"
        )

    with pytest.raises(BundleError, match="manifest.json: missing"):
        read()
    path.write_text("{not json")
    with pytest.raises(BundleError, match="manifest.json: not valid JSON"):
        read()
    path.write_text("[1, 2]")
    with pytest.raises(BundleError, match="expected a JSON object"):
        read()
    for version in (1, True, "2", None):
        path.write_text(json.dumps({"format_version": version}))
        with pytest.raises(BundleError, match=r"bundle format version .*reads format 2: retrain"):
            read()
    path.write_text(json.dumps({"format_version": 2, "x": 1}))
    assert read() == {"format_version": 2, "x": 1}
