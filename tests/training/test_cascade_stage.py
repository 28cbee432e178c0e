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
