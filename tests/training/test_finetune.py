"""Contrastive fine-tuning: pair sampling, the cache key, progress, and the fine-tuned
encoder's export to the ONNX graph serving runs (parity with torch)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from training.finetune import ContrastiveFinetuner, StepProgress

TEXTS = [
    f"{system} {problem} ticket {i}"
    for i, (system, problem) in enumerate(
        [("printer", "jammed"), ("vpn", "disconnects"), ("invoice", "charged twice")] * 8
    )
]
LABELS = ["hardware", "network", "billing"] * 8


@pytest.fixture()
def fake_base(tmp_path: Path) -> Path:
    """A folder `resolve_encoder` accepts, enough for the cache key (no weights loaded)."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text('{"hidden_size": 8}')
    (base / "model.safetensors").write_bytes(b"weights")
    return base


def test_the_cache_key_follows_data_and_recipe_not_machine(fake_base: Path, tmp_path) -> None:
    key = ContrastiveFinetuner(fake_base).fingerprint(TEXTS, LABELS)
    same = ContrastiveFinetuner(
        fake_base, threads=1, time_budget_s=5, cache_dir=tmp_path, progress=StepProgress()
    ).fingerprint(TEXTS, LABELS)
    assert key == same
    flipped = LABELS[:-1] + ["hardware"]
    assert ContrastiveFinetuner(fake_base).fingerprint(TEXTS, flipped) != key
    assert ContrastiveFinetuner(fake_base).fingerprint(TEXTS[::-1], LABELS[::-1]) != key
    assert ContrastiveFinetuner(fake_base, max_steps=10).fingerprint(TEXTS, LABELS) != key
    assert ContrastiveFinetuner(fake_base, max_length=128).fingerprint(TEXTS, LABELS) != key
    (fake_base / "model.safetensors").write_bytes(b"other weights")
    assert ContrastiveFinetuner(fake_base).fingerprint(TEXTS, LABELS) != key


def test_each_step_draws_classes_uniformly_and_texts_within_them() -> None:
    labels = ["a"] * 50 + ["b"] * 5 + ["c"] * 3 + ["lonely"]
    finetuner = ContrastiveFinetuner(classes_per_step=2, per_class=4, seed=7)
    batches = finetuner._batches(labels, steps=300)
    assert batches[0].tolist() == finetuner._batches(labels, steps=1)[0].tolist()  # seeded
    seen = {}
    for rows in batches:
        classes = [labels[r] for r in rows]
        assert len(set(rows.tolist())) == len(rows)  # no text twice in a step
        assert len(set(classes)) == 2 and "lonely" not in classes  # no pair for a singleton
        for c in set(classes):
            assert classes.count(c) == min(4, labels.count(c))
            seen[c] = seen.get(c, 0) + 1
    # Uniform over classes, not over texts: the 3-text class is drawn as often as the 50.
    assert seen["c"] > 0.5 * seen["a"]


def test_steps_are_capped_by_epochs_for_a_small_desk() -> None:
    finetuner = ContrastiveFinetuner(max_steps=300, max_epochs=2, classes_per_step=8, per_class=4)
    assert finetuner.n_steps(10_000) == 300
    assert finetuner.n_steps(320) == 20


def test_unusable_labels_are_refused_before_anything_loads(fake_base: Path) -> None:
    finetuner = ContrastiveFinetuner(fake_base)
    with pytest.raises(ValueError, match="two classes with two or more"):
        finetuner.fit(["a", "b", "c"], ["x", "x", "y"])
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        finetuner.fit(["a", "b", "c"], ["x", "y"])
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        finetuner.fit(["a", 3, "c", "d"], ["x", "x", "y", "y"])


def test_progress_prints_stage_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = StepProgress(stream=out, lines=5)
    progress.start("fine-tuning toy", 50)
    for step in range(1, 51):
        progress.step(step, loss=1.0 / step)
    progress.finish("50 steps in 1 s")
    lines = out.getvalue().splitlines()
    assert lines[0] == "fine-tuning toy: 50 steps"
    assert 5 <= len(lines) - 2 <= 6
    assert "step 50/50" in lines[-2] and "loss 0.0" in lines[-2]
    assert lines[-1] == "fine-tuning toy: 50 steps in 1 s"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    pytest.importorskip("torch", reason="fine-tuning needs the train extra")
    from tests.training.tiny_encoder import write_tiny_sentence_transformer

    return write_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny") / "model")


@pytest.mark.slow
def test_fit_trains_saves_and_is_reused_by_fingerprint(tiny: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    cache = tmp_path / "cache"
    out = io.StringIO()

    def run():
        return ContrastiveFinetuner(
            tiny,
            max_steps=4,
            classes_per_step=3,
            per_class=2,
            learning_rate=1e-3,
            threads=1,
            cache_dir=cache,
            progress=StepProgress(stream=out),
        ).fit(TEXTS, LABELS)

    first = run()
    assert not first.from_cache_ and first.steps_ == 4 and first.stopped_by_ == "max_steps"
    meta = json.loads((first.model_dir_ / "finetune.json").read_text())
    assert meta["fingerprint"] == first.fingerprint_ and meta["classes"] == 3
    assert all(np.isfinite(first.losses_))
    before = load_file(str(tiny / "model.safetensors"))
    after = load_file(str(first.model_dir_ / "model.safetensors"))
    changed = [k for k in before if not np.array_equal(before[k], after[k])]
    assert changed, "training changed no weight"
    lines_after_first = out.getvalue().count("\n")

    second = run()
    assert second.from_cache_ and second.model_dir_ == first.model_dir_
    assert second.steps_ == 4 and out.getvalue().count("\n") == lines_after_first  # no training
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []  # no staging left


@pytest.mark.slow
def test_fine_tuned_encoder_exports_with_parity_to_torch(tmp_path: Path) -> None:
    """The real MiniLM, a few steps: the exported fp32 graph equals torch, the int8 graph
    stays as close as the stock encoder's does (tests/training/test_encoder_export.py)."""
    from sentence_transformers import SentenceTransformer

    from tests.training.test_encoder_export import ticket_texts
    from training.encoder_export import ensure_exported
    from triage.encoder import OnnxEncoder

    finetuner = ContrastiveFinetuner(
        "all-MiniLM-L6-v2", max_steps=3, learning_rate=1e-4, threads=2, cache_dir=tmp_path
    ).fit(TEXTS, LABELS)
    exported = ensure_exported(finetuner.model_dir_, cache_dir=tmp_path)
    texts = ticket_texts(80)
    torch_vectors = SentenceTransformer(
        str(finetuner.model_dir_), device="cpu", local_files_only=True
    ).encode(texts, batch_size=16, normalize_embeddings=True, show_progress_bar=False)
    fp32 = OnnxEncoder(exported.fp32_dir, threads=2).encode(texts, batch_size=16)
    assert (fp32 * torch_vectors).sum(axis=1).min() >= 0.9999
    encoder = OnnxEncoder(exported.model_dir, threads=2)
    int8 = np.stack([encoder.encode_one(t) for t in texts])
    cosine = (int8 * torch_vectors).sum(axis=1)
    assert cosine.mean() >= 0.99 and cosine.min() >= 0.95


def test_the_export_reads_the_pooling_that_sentence_transformers_6_writes(tmp_path: Path) -> None:
    """A fine-tuned folder is saved by sentence-transformers 6, whose Pooling config names
    one `pooling_mode` instead of a flag per mode."""
    from training.encoder_export import _pooling_mode
    from triage.errors import EncoderError

    config = tmp_path / "config.json"
    for mode in ("mean", "cls", "max"):
        config.write_text(json.dumps({"embedding_dimension": 8, "pooling_mode": mode}))
        assert _pooling_mode(config) == mode
    config.write_text(json.dumps({"pooling_mode_mean_tokens": True}))  # the older format
    assert _pooling_mode(config) == "mean"
    config.write_text(json.dumps({"pooling_mode": "lasttoken"}))
    with pytest.raises(EncoderError, match="'lasttoken' is not supported"):
        _pooling_mode(config)
