"""The cascade threshold: chosen on held-out tickets, within the tolerance, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from training.cascade import cascade_predictions, choose_threshold
from training.evaluation import classification_metrics


def _case(seed: int, n: int = 400, k: int = 5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    full_pred = np.where(rng.random(n) < 0.85, y, rng.integers(0, k, n))
    logits = rng.normal(size=(n, k)) + 2.5 * np.eye(k)[y] * (rng.random(n) < 0.8)[:, None]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba = np.round(proba, 2)  # ties between confidences
    proba /= proba.sum(axis=1, keepdims=True)
    return proba, full_pred, y, k


@pytest.mark.parametrize("seed", range(5))
def test_the_choice_is_the_lowest_threshold_within_tolerance(seed: int) -> None:
    proba, full_pred, y, k = _case(seed)
    choice = choose_threshold(proba, full_pred, y, tolerance=0.003, margin=0.001)
    full_f1 = classification_metrics(y, full_pred, k)["macro_f1"]
    assert choice.macro_f1_full == pytest.approx(full_f1)

    def f1_at(threshold: float) -> float:
        pred, _ = cascade_predictions(proba, full_pred, threshold)
        return classification_metrics(y, pred, k)["macro_f1"]

    # Brute force over every distinct confidence gives the same answer.
    feasible = [t for t in np.unique(proba.max(axis=1)) if f1_at(t) >= full_f1 - 0.002 - 1e-12]
    expected = min(feasible) if feasible else np.inf
    assert choice.threshold == expected
    if np.isfinite(choice.threshold):
        pred, cheap = cascade_predictions(proba, full_pred, choice.threshold)
        assert choice.cheap_share == pytest.approx(cheap.mean())
        assert choice.macro_f1_cascade == pytest.approx(f1_at(choice.threshold))


def test_a_perfect_cheap_stage_answers_everything_and_a_useless_one_nothing() -> None:
    y = np.array([0, 1, 2, 0, 1, 2] * 20)
    full = y.copy()
    perfect = np.eye(3)[y] * 0.9 + 0.1 / 3
    assert choose_threshold(perfect, full, y).cheap_share == 1.0
    wrong = np.eye(3)[(y + 1) % 3] * 0.9 + 0.1 / 3
    choice = choose_threshold(wrong, full, y)
    assert np.isinf(choice.threshold) and choice.cheap_share == 0.0
    assert choice.as_dict()["threshold"] is None


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="one row per ticket"):
        choose_threshold(np.ones((3, 2)) / 2, np.zeros(2, int), np.zeros(3, int))
    with pytest.raises(ValueError, match="margin"):
        choose_threshold(np.ones((3, 2)) / 2, np.zeros(3, int), np.zeros(3, int), margin=0.01)


@pytest.mark.parametrize("seed", range(3))
def test_bootstrap_choice_is_more_cautious_and_seeded(seed: int) -> None:
    proba, full_pred, y, _ = _case(seed, n=300)
    point = choose_threshold(proba, full_pred, y)
    robust = choose_threshold(proba, full_pred, y, n_boot=100, level=0.9, seed=1)
    assert robust.threshold >= point.threshold
    assert robust.cheap_share <= point.cheap_share
    assert robust == choose_threshold(proba, full_pred, y, n_boot=100, level=0.9, seed=1)


def test_a_cheap_stage_close_on_average_but_noisy_is_not_trusted_with_everything() -> None:
    """Two stages of equal skill that disagree on many tickets: the point estimate on the
    validation tickets can happen to favour the cheap one; the bootstrap sees the spread."""
    rng = np.random.default_rng(5)
    n, k = 200, 6
    y = rng.integers(0, k, n)
    full_pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    cheap_pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    proba = np.full((n, k), 0.1 / (k - 1))
    proba[np.arange(n), cheap_pred] = 0.9  # equally (over)confident everywhere
    robust = choose_threshold(proba, full_pred, y, n_boot=200, level=0.9)
    assert robust.cheap_share == 0.0
