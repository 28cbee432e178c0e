"""Ordered priority (`triage.ordinal`, `training.ordinal`): the expected-cost decision on
hand-made probabilities, its choice on out-of-fold scores, and serving applying it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from triage.inference.heads import Heads
from triage.ordinal import (
    distance_matrix,
    expected_cost_choice,
    level_errors,
    priority_order,
)

CLASSES = ["high", "low", "normal", "urgent"]  # sorted, as training stores them


def test_levels_are_ordered_by_urgency_whatever_the_class_order() -> None:
    assert priority_order(CLASSES) == ["urgent", "high", "normal", "low"]
    assert priority_order(["p1", "p2", "p3"]) is None  # unknown names: not ordered
    assert priority_order(["high", "low"]) is None  # two levels: arg-max is already optimal
    cost = distance_matrix(CLASSES, ["urgent", "high", "normal", "low"])
    assert cost[CLASSES.index("urgent"), CLASSES.index("low")] == 3
    assert cost[CLASSES.index("high"), CLASSES.index("normal")] == 1


def test_expected_cost_answers_the_weighted_median_level() -> None:
    cost = distance_matrix(CLASSES, ["urgent", "high", "normal", "low"])
    #              high  low  normal urgent
    proba = np.array(
        [
            [0.05, 0.45, 0.10, 0.40],  # split between the extremes: the middle is closer
            [0.70, 0.10, 0.10, 0.10],  # a clear mode stays
            [0.30, 0.00, 0.35, 0.35],  # arg-max would say normal (or urgent); median: high
        ]
    )
    choice = expected_cost_choice(proba, cost)
    assert [CLASSES[i] for i in choice] == ["normal", "high", "high"]
    # Expected distance of each answer on the first row: urgent 1.6, high 1.4,
    # normal 1.3, low 1.4 (in the class order: high, low, normal, urgent).
    assert np.allclose((proba @ cost)[0], [1.4, 1.4, 1.3, 1.6])


def test_level_errors_count_by_distance() -> None:
    cost = distance_matrix(CLASSES, ["urgent", "high", "normal", "low"])
    u, h, n, lo = (CLASSES.index(c) for c in ("urgent", "high", "normal", "low"))
    y = np.array([u, u, u, h, -1])
    pred = np.array([u, h, lo, lo, u])
    assert level_errors(y, pred, cost) == {
        "by_distance": {"0": 1, "1": 1, "2": 1, "3": 1},
        "mean_level_error": 1.5,
    }


def test_training_chooses_expected_cost_only_when_it_keeps_macro_f1() -> None:
    from training.ordinal import PriorityDecision

    assert PriorityDecision.for_head("category", CLASSES) is None
    order = ["urgent", "high", "normal", "low"]
    pos = {c: order.index(c) for c in CLASSES}
    by_pos = {order.index(c): CLASSES.index(c) for c in CLASSES}
    y = np.tile(np.arange(4), 100)

    def rows(spread) -> np.ndarray:  # type: ignore[no-untyped-def]
        out = np.zeros((len(y), 4))
        for i, t in enumerate(y):
            for level, p in spread(pos[CLASSES[t]]).items():
                out[i, by_pos[level]] += p
        return out

    # The truth in the middle of the mass: arg-max bets on a neighbour, the median is right.
    def middle(level: int) -> dict[int, float]:
        if level in (0, 3):
            return {level: 0.6, 1 if level == 0 else 2: 0.4}
        return {level: 0.3, level - 1: 0.35, level + 1: 0.35}

    decision = PriorityDecision.for_head("priority", CLASSES)
    assert decision is not None
    decision.choose(rows(middle), y, seed=0)
    oof = decision.evidence["oof"]
    assert oof["expected_cost"]["mean_level_error"] == 0.0
    assert oof["argmax"]["mean_level_error"] == 0.5
    assert decision.rule == "expected_cost" and decision.evidence["order"] == order
    assert decision.evidence["macro_f1_margin"]["low"] > 0

    # The truth as the mode with a heavy far tail: the median is off, arg-max is right.
    def tail(level: int) -> dict[int, float]:
        far = 3 if level < 2 else 0
        rest = [k for k in range(4) if k not in (level, far)]
        return {level: 0.4, far: 0.35, rest[0]: 0.125, rest[1]: 0.125}

    refused = PriorityDecision(CLASSES, order).choose(rows(tail), y, seed=0)
    assert refused.rule == "argmax" and refused.evidence["why"] == "expected cost is not closer"


def _heads(decision: dict) -> Heads:
    spec = {
        "name": "priority",
        "classes": CLASSES,
        "offset": 0,
        "temperature": 1.0,
        "thresholds": [0.3] * 4,
        **decision,
    }
    graph = SimpleNamespace(get_inputs=lambda: [SimpleNamespace(name="dense")])
    return Heads([spec], None, graph)


def test_serving_applies_the_manifest_decision() -> None:
    row = np.array([0.05, 0.45, 0.10, 0.40])
    preds, tops = _heads({}).predict(row, unsupported=False)
    assert (preds["priority"].label, tops) == ("low", [1])  # arg-max
    ordered = {"decision": "expected_cost", "order": ["urgent", "high", "normal", "low"]}
    preds, tops = _heads(ordered).predict(row, unsupported=False)
    p = preds["priority"]
    # The expected-cost level, its own probability as the confidence, below its threshold.
    assert (p.label, p.confidence, p.abstained, tops) == (None, 0.10, True, [2])
    assert p.top_k[0].label == "low"  # the top-k list stays by probability
    row = np.array([0.30, 0.00, 0.35, 0.35])
    p = _heads(ordered).predict(row, unsupported=False)[0]["priority"]
    assert (p.label, p.confidence, p.abstained) == ("high", 0.30, False)


def test_the_decision_round_trips_through_the_manifest() -> None:
    import json

    from training.ordinal import PriorityDecision, manifest_entry

    order = ["urgent", "high", "normal", "low"]
    decision = PriorityDecision(CLASSES, order)
    decision.rule = "expected_cost"
    decision.evidence = {"decision": "expected_cost", "order": order}
    entry = json.loads(json.dumps(manifest_entry({"ordinal": decision.evidence})))
    assert entry == {"decision": "expected_cost", "order": order}
    heads = _heads(entry)
    assert heads.get("priority").cost is not None
    row = np.array([0.30, 0.00, 0.35, 0.35])
    assert heads.predict(row, unsupported=False)[0]["priority"].label == "high"
    # Arg-max writes nothing: the manifest of an unordered head is as before.
    assert manifest_entry({"ordinal": {"decision": "argmax", "order": order}}) == {}
    assert manifest_entry({}) == {}
    assert _heads({}).get("priority").cost is None
