"""Calibration and thresholds on synthetic scores where the truth is known."""

from __future__ import annotations

import numpy as np

from training.calibration import abstain_mask, fit_temperature, fit_thresholds, softmax
from training.evaluation import expected_calibration_error, roc_auc, split_indices


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    true_logits = rng.normal(0, 1.0, (n, 3))
    true_logits[np.arange(n), y] += 1.5
    return true_logits * 4.0, y  # scaled up: 4x too confident


def test_temperature_undoes_overconfidence() -> None:
    logits, y = _overconfident(4000, 0)
    t = fit_temperature(logits, y)
    assert t > 2.0  # far above 1: the scores were too confident
    before = expected_calibration_error(softmax(logits), y)
    after = expected_calibration_error(softmax(logits, t), y)
    assert after < before / 2 and after < 0.03
    p = softmax(logits, t)
    assert np.allclose(p.sum(axis=1), 1.0)


def test_thresholds_reach_target_precision_on_fresh_data() -> None:
    logits, y = _overconfident(6000, 1)
    t = fit_temperature(logits, y)
    thresholds, global_t = fit_thresholds(softmax(logits, t), y, 0.9)
    assert thresholds.shape == (3,) and 0 < global_t <= 1.01
    fresh, y_fresh = _overconfident(6000, 2)
    p = softmax(fresh, t)
    answered = ~abstain_mask(p, thresholds)
    precision = np.mean(p.argmax(1)[answered] == y_fresh[answered])
    assert precision >= 0.88  # target 0.90 up to sampling noise
    assert 0.05 < answered.mean() < 0.95


def test_class_that_never_reaches_target_always_abstains() -> None:
    proba = np.array([[0.6, 0.4]] * 100)
    y = np.array([0, 1] * 50)  # 50% precision at every confidence
    thresholds, _ = fit_thresholds(proba, y, 0.9)
    assert thresholds[0] > 1.0
    assert abstain_mask(proba, thresholds).all()


def test_stratified_split_keeps_singletons_in_training() -> None:
    labels = np.array(["a"] * 50 + ["b"] * 10 + ["rare"], dtype=object)
    train, test, kind = split_indices(labels, None, 0.2, 42)
    assert kind == "stratified"
    assert 60 in train and len(test) == 12
    assert sorted(np.r_[train, test].tolist()) == list(range(61))


def test_time_split_puts_newest_in_test() -> None:
    stamps = np.arange(100, dtype=float)[::-1]
    _train, test, kind = split_indices(None, stamps, 0.2, 42)
    assert kind == "time" and set(test.tolist()) == set(range(20))


def test_roc_auc() -> None:
    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75


def test_wilson_bound_keeps_a_thin_cut_from_passing() -> None:
    from training.calibration import _lowest_threshold

    # 9 of the top 10 right, then a long 80%-right tail: the plain rule cuts at the 10th
    # score (precision exactly 0.9); a cut resting on 10 predictions does not clear 0.9
    # with a standard error to spare, so the Wilson rule asks for more than that.
    conf = np.linspace(1.0, 0.0, 100)
    correct = np.r_[np.ones(9, bool), False, np.arange(90) % 5 != 0]
    plain = _lowest_threshold(conf, correct, 0.9)
    assert plain == conf[9]
    strict = _lowest_threshold(conf, correct, 0.9, z=1.0)
    assert strict is None or strict > plain
    # With many predictions at 97% the bound clears 0.9 as well.
    many = np.r_[np.arange(300) % 33 != 0, np.zeros(50, bool)]
    conf = np.linspace(1.0, 0.0, len(many))
    assert _lowest_threshold(conf, many, 0.9, z=1.0) is not None


def test_platt_scaling_brings_the_mean_risk_to_the_base_rate() -> None:
    import numpy as np

    from training.calibration import fit_platt, softmax

    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.14).astype(int)
    # Margins that over-state the positive class (a class-weighted fit does this).
    logits = np.c_[np.zeros(4000), rng.normal(0, 1, 4000) + 1.2 * y + 0.8]
    assert softmax(logits)[:, 1].mean() > 0.5
    temperature, shift = fit_platt(logits, y)
    risk = softmax(logits + np.array([0.0, shift]), temperature)[:, 1]
    assert abs(risk.mean() - y.mean()) < 0.01
    assert fit_platt(logits, np.zeros(4000, dtype=int)) is None
