"""The encoder stage: the window chosen on validation, fine-tuning kept only when it wins,
and both recorded in the manifest and applied at serving."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from training.encoder_selection import (
    Judge,
    choose_length,
    compare_finetuned,
    validation_split,
)
from training.pipeline import Corpus, TrainConfig
from triage_cli.train import encoder_lines

N, DIM = 360, 16


def _judge(seed: int = 0) -> tuple[Judge, np.ndarray, np.ndarray]:
    """A head over embeddings only (no text, one constant field): (judge, informative
    vectors, noise vectors)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, N)
    centres = rng.normal(size=(3, DIM)) * 2.0
    informative = (centres[y] + rng.normal(size=(N, DIM))).astype(np.float32)
    noise = rng.normal(size=(N, DIM)).astype(np.float32)
    corpus = Corpus(
        tickets=[None] * N, articles=[], texts=[""] * N, x_meta=np.zeros((N, 1), np.float32)
    )
    labels = [f"c{v}" for v in y]
    config = TrainConfig(encoder=None, n_jobs=1, seed=seed)
    return Judge("category", labels, corpus, np.arange(N), config), informative, noise


def test_a_fine_tune_that_loses_is_discarded_and_the_summary_says_so() -> None:
    judge, informative, noise = _judge()
    fit, val = validation_split(judge.rows, judge.labels, None, seed=1)
    for mode in ("auto", "on"):
        lost = compare_finetuned(judge, informative, noise, fit, val, mode)
        assert lost["kept"] is False and lost["margin"]["margin"] < 0
        assert lost["frozen"] > lost["finetuned"]
        won = compare_finetuned(judge, noise, informative, fit, val, mode)
        assert won["kept"] is True and won["margin"]["low"] > 0
    lost.update(parity={"mean": 0.995, "min": 0.97}, seconds=12.0, steps=30)
    lost.update(stopped_by="max_steps", from_cache=False)
    (line,) = encoder_lines(SimpleNamespace(encoder={"finetune": lost}))
    assert "DISCARDED (the frozen encoder ships)" in line
    assert "margin -" in line and "validation slice" in line and "30 steps" in line


def test_a_margin_inside_the_noise_is_not_a_win() -> None:
    judge, informative, _ = _judge(seed=2)
    fit, val = validation_split(judge.rows, judge.labels, None, seed=1)
    same = compare_finetuned(judge, informative, informative.copy(), fit, val, "on")
    assert same["kept"] is False and same["margin"]["margin"] == 0.0


def test_the_validation_slice_is_held_out_stratified_or_newest() -> None:
    labels = np.array(["a"] * 80 + ["b"] * 20, dtype=object)
    rows = np.arange(100)
    fit, val = validation_split(rows, labels, None, seed=3)
    assert not set(fit) & set(val) and len(fit) + len(val) == 100
    assert sorted(labels[val].tolist()).count("b") == 5 and len(val) == 25
    stamps = np.arange(100, dtype=float)[::-1]  # row 0 is the newest
    fit, val = validation_split(rows, labels, stamps, seed=3)
    assert sorted(val.tolist()) == list(range(25))


def test_the_smallest_window_within_noise_of_the_longest_ships() -> None:
    judge, informative, noise = _judge(seed=4)
    counts = np.full(N, 300)  # every ticket is longer than every window

    def loses_at_64(rows: np.ndarray, n: int) -> np.ndarray:
        return (noise if n == 64 else informative)[rows]

    chosen, record, vectors = choose_length(judge, loses_at_64, counts, informative, limit=256)
    assert chosen == 128 and record["candidates"] == [64, 128, 256]
    assert record["margins_vs_longest"]["64"]["high"] < 0
    assert record["oof"]["128"] == record["oof"]["256"]
    np.testing.assert_array_equal(vectors[128], informative)

    chosen, record, _ = choose_length(judge, loses_at_64, np.full(N, 40), informative, 256)
    assert chosen == 64  # no ticket is over 64 tokens: nothing re-embedded, all equal
    assert record["share_over"]["64"] == 0.0
    chosen, record, _ = choose_length(judge, loses_at_64, counts, informative, limit=128)
    assert record["candidates"] == [64, 128] and chosen == 128


# -- the whole stage in `train`, with a tiny random encoder --------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    pytest.importorskip("torch", reason="fine-tuning needs the train extra")
    from tests.training.tiny_encoder import write_tiny_sentence_transformer

    return write_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny") / "model")


@pytest.mark.slow
def test_train_records_the_window_and_the_fine_tune_and_serving_applies_them(
    tiny: Path, tmp_path: Path
) -> None:
    from tests.training.test_selection import _tickets
    from training.pipeline import train
    from triage.bundle import load_bundle
    from triage.dataset import write_tickets
    from triage.encoder import OnnxEncoder

    data = tmp_path / "desk.parquet"
    write_tickets(data, _tickets(240, shuffled=False))
    config = TrainConfig(
        encoder=str(tiny),
        split="stratified",
        n_jobs=1,
        finetune="on",
        finetune_steps=3,
        embedding_cache_dir=tmp_path / "embeddings",
        encoder_cache_dir=tmp_path / "encoders",
    )
    out = tmp_path / "bundle"
    report = train(data, out, config)
    manifest = json.loads((out / "manifest.json").read_text())
    enc = manifest["encoder"]
    assert enc["max_tokens"] == enc["length"]["chosen"] in (64, 128, 256)
    assert set(enc["length"]["oof"]) == {"64", "128", "256"}
    ft = enc["finetune"]
    assert ft["mode"] == "on" and ft["steps"] == 3 and "margin" in ft and "parity" in ft
    assert ft["validation_rows"] + ft["fit_rows"] == report.heads["category"].n_train
    shipped = json.loads((out / "encoder" / "encoder.json").read_text())["name"]
    assert shipped.startswith("finetuned-") == ft["kept"]
    assert (report.encoder_source != str(tiny)) == ft["kept"]  # what a static model distils
    lines = encoder_lines(report)
    assert any(line.startswith("encoder window:") for line in lines)
    assert any(("KEPT" if ft["kept"] else "DISCARDED") in line for line in lines)

    # Serving reads the same window the heads were trained on.
    bundle = load_bundle(out)
    assert bundle.encoder.max_tokens == enc["max_tokens"]
    long_ticket = " ".join(["printer jammed again on floor three"] * 60)
    windowed = OnnxEncoder(out / "encoder", max_tokens=enc["max_tokens"])
    np.testing.assert_allclose(
        bundle.encoder.encode_one(long_ticket), windowed.encode_one(long_ticket), atol=1e-6
    )
    # A bundle written before the key keeps the head cut at the graph's max_length.
    del manifest["encoder"]["max_tokens"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert load_bundle(out).encoder.max_tokens is None
