"""Bundle verification: tampered, missing or future-format bundles are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from triage.bundle import load_bundle
from triage.errors import BundleError

pytestmark = pytest.mark.slow


@pytest.fixture
def bundle_copy(demo_bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(demo_bundle, target)
    return target


def test_intact_bundle_loads(bundle_copy: Path) -> None:
    bundle = load_bundle(bundle_copy)
    assert bundle.model_version.startswith("demo-")


def test_one_changed_byte_is_refused(bundle_copy: Path) -> None:
    path = bundle_copy / "heads.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="heads.onnx.*corrupt or was modified"):
        load_bundle(bundle_copy)


def test_missing_file_is_refused(bundle_copy: Path) -> None:
    (bundle_copy / "encoder" / "tokenizer.json").unlink()
    with pytest.raises(BundleError, match="encoder/tokenizer.json.*missing"):
        load_bundle(bundle_copy)


def test_future_format_version_is_refused(bundle_copy: Path) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="format version 99"):
        load_bundle(bundle_copy)


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="manifest.json: missing"):
        load_bundle(tmp_path)
