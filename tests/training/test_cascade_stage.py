"""The cascade stage's pieces that need no training run (the end to end is
tests/triage/test_cascade_predictor.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from training.cascade_stage import _blocks, _same_head
from training.heads import LinearHead


def test_a_head_without_the_embedding_is_its_own_cheap_twin() -> None:
    rng = np.random.default_rng(0)
    x_text, x_meta = rng.random((40, 6)), rng.random((40, 3))
    y = np.arange(40) % 3
    model = LinearHead(3, blocks=("text", "meta")).fit(x_text, rng.random((40, 5)), x_meta, y)
    report = SimpleNamespace(
        classes=["a", "b", "c"],
        temperature=0.7,
        thresholds=[0.5, 0.6, 0.7],
        metrics={"model": {"blocks": ["text", "meta"]}},
    )
    assert _blocks(report) == ["text", "meta"]
    twin = _same_head(report, model, static_dim=8)
    assert not twin.gating and twin.temperature == 0.7 and twin.thresholds == [0.5, 0.6, 0.7]
    # Whatever the static embedding says, the twin's scores are the head's own.
    static = rng.random((40, 8))
    expected = model.logits(x_text, rng.random((40, 5)), x_meta)
    assert np.array_equal(twin.model.logits(x_text, static, x_meta), expected)
    assert model.W_emb_.shape == (5, 3)  # the shipped head is left as it was


def _cheap_inputs(n: int = 900):
    """A corpus whose class shows in the (static) embedding, and the head's report."""
    from training.pipeline import Corpus

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, n)
    centres = rng.normal(size=(3, 8)) * 2.0
    corpus = Corpus(
        tickets=[None] * n,
        articles=[],
        texts=[""] * n,
        x_emb=(centres[y] + rng.normal(size=(n, 8))).astype(np.float32),
        x_meta=np.zeros((n, 1), np.float32),
    )
    values = [f"c{v}" for v in y]
    proba = np.full((n, 3), 0.1)
    proba[np.arange(n), y] = 0.8  # the full model: right everywhere
    report = SimpleNamespace(
        classes=["c0", "c1", "c2"],
        metrics={"stacked_model": {"kind": "svm", "C": 1.0, "class_weight_power": 0.0}},
        held_out_proba=proba,
    )
    rows = np.arange(n)
    return corpus, values, report, (rows[:600], rows[600:720], rows[:720])


def test_the_twin_ships_as_calibrated_and_a_large_fit_part_is_sampled(monkeypatch) -> None:
    from training import cascade_stage
    from training.cascade_stage import _fit_head
    from training.competition import HeadData
    from training.pipeline import TrainConfig
    from training.sampling import stratified_sample
    from training.selection import stacked

    corpus, values, report, (fit, cal, _) = _cheap_inputs()
    config = TrainConfig(encoder=None, n_jobs=1)
    labels = np.array(values, dtype=object)
    data = HeadData("category", labels, report.classes, corpus, config)

    def logits(model) -> np.ndarray:
        return model.logits(None, corpus.x_emb, corpus.x_meta)

    small = _fit_head("category", values, report, corpus, fit, cal, config)
    assert small.rows == 600  # the fit part, not refitted on the calibration slice
    expected = data.fit(fit, stacked("svm", 1.0, 0.0))
    np.testing.assert_allclose(logits(small.model), logits(expected), atol=1e-6)
    assert small.choice.threshold < 1.0  # a cheap stage this good still answers

    monkeypatch.setattr(cascade_stage, "TWIN_MAX_ROWS", 200)
    big = _fit_head("category", values, report, corpus, fit, cal, config)
    sample = stratified_sample(fit, labels, 200, config.seed)
    assert big.rows == len(sample) and abs(len(sample) - 200) <= 3
    expected = data.fit(sample, stacked("svm", 1.0, 0.0))
    np.testing.assert_allclose(logits(big.model), logits(expected), atol=1e-6)


def test_the_escalation_twin_gets_its_own_rate_matched_risk_threshold() -> None:
    from training.cascade_stage import _twin_risk_threshold
    from training.risk_threshold import NEVER

    rng = np.random.default_rng(5)
    positive = rng.random(200) * 0.4  # a twin whose risks sit lower than the full head's
    cal_proba = np.column_stack([1 - positive, positive])
    report = SimpleNamespace(
        metrics={"risk_threshold": {"value": 0.9, "rule": "rate_matched", "rate": 0.05}}
    )
    threshold = _twin_risk_threshold(report, cal_proba)
    # The twin flags the target share of the slice, whatever the full head's value was.
    assert threshold != 0.9
    assert np.mean(positive >= threshold) == 0.05
    no_signal = SimpleNamespace(
        metrics={"risk_threshold": {"value": NEVER, "rule": "no_signal", "rate": 0.05}}
    )
    assert _twin_risk_threshold(no_signal, cal_proba) == NEVER
    # Heads without a risk threshold (every head but escalation) keep none of their own.
    assert _twin_risk_threshold(SimpleNamespace(metrics={}), cal_proba) is None
