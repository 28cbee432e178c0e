"""The dense heads stage (`triage.inference.heads`) on hand-made logits: calibration, top-k,
thresholds, the escalation risk and every branch of the category hierarchy."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from triage.contract import HeadPrediction, LabelScore
from triage.inference.heads import TOP_K, Heads

SPECS = [
    {
        "name": "category",
        "classes": ["Billing", "Access"],
        "offset": 0,
        "temperature": 2.0,
        "thresholds": [0.6, 0.6],
    },
    {
        "name": "subcategory",
        "classes": ["Refund", "Invoice", "Password"],
        "offset": 2,
        "temperature": 1.0,
        "thresholds": [0.5, 0.5, 0.5],
        "parents": {"Refund": "Billing", "Invoice": "Billing", "Password": "Access"},
    },
    {
        "name": "team",
        "classes": [f"team{i}" for i in range(7)],
        "offset": 5,
        "temperature": 1.0,
        "thresholds": [0.0] * 7,
    },
    {
        "name": "escalation",
        "classes": ["false", "true"],
        "offset": 12,
        "temperature": 1.0,
        "thresholds": [0.5, 0.5],
    },
]


class FakeGraph:
    """What `Heads` reads of an onnxruntime session: its inputs and `run`."""

    def __init__(self, inputs: tuple[str, ...] = ("dense",)) -> None:
        self.inputs = inputs
        self.feeds: dict | None = None

    def get_inputs(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=n) for n in self.inputs]

    def run(self, _outputs: None, feeds: dict) -> list[np.ndarray]:
        self.feeds = feeds
        return [np.zeros((1, 14), dtype=np.float32)]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.fixture
def heads() -> Heads:
    return Heads(SPECS, None, FakeGraph())


def test_calibration_is_a_tempered_softmax_per_head(heads: Heads) -> None:
    logits = np.array([[2.0, 0.0, 3.0, 1.0, 0.0, *range(7), 0.5, -0.5]])
    proba = heads.calibrate(logits)[0]
    assert proba[0:2] == pytest.approx(_softmax(np.array([2.0, 0.0]) / 2.0))
    assert proba[2:5] == pytest.approx(_softmax(np.array([3.0, 1.0, 0.0])))
    assert proba[5:12] == pytest.approx(_softmax(np.arange(7.0)))
    for h in heads.heads:
        assert proba[h.start : h.stop].sum() == pytest.approx(1.0)


def test_the_primary_head_is_the_first_unless_named(heads: Heads) -> None:
    assert heads.primary.name == "category"
    assert Heads(SPECS, "team", FakeGraph()).primary.name == "team"


def test_text_logits_are_fed_only_to_a_graph_that_takes_them() -> None:
    dense, text = np.ones((1, 3), dtype=np.float32), np.ones((1, 14), dtype=np.float32)
    plain, both = FakeGraph(), FakeGraph(("dense", "text_logits"))
    Heads(SPECS, None, plain).logits(dense, text)
    Heads(SPECS, None, both).logits(dense, text)
    assert set(plain.feeds) == {"dense"} and set(both.feeds) == {"dense", "text_logits"}


def _proba(category, subcategory, team=None, escalation=(0.8, 0.2)) -> np.ndarray:  # type: ignore[no-untyped-def]
    team = team if team is not None else [0.4, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05]
    return np.array([*category, *subcategory, *team, *escalation])


def test_predictions_take_top_k_in_order_and_abstain_below_the_threshold(heads: Heads) -> None:
    preds, tops = heads.predict(_proba([0.9, 0.1], [0.7, 0.2, 0.1]), unsupported=False)
    assert tops == [0, 0, 0, 0]
    cat, team = preds["category"], preds["team"]
    assert (cat.label, cat.confidence, cat.abstained) == ("Billing", 0.9, False)
    assert [s.label for s in cat.top_k] == ["Billing", "Access"]
    # Seven teams: the five most likely, most likely first.
    assert len(team.top_k) == TOP_K and [s.probability for s in team.top_k] == [
        0.4,
        0.2,
        0.1,
        0.1,
        0.1,
    ]
    below, _ = heads.predict(_proba([0.55, 0.45], [0.7, 0.2, 0.1]), unsupported=False)
    assert below["category"].abstained and below["category"].label is None
    assert below["category"].top_k[0].label == "Billing"  # the guess is still shown


def test_an_unsupported_language_makes_every_head_abstain(heads: Heads) -> None:
    preds, _ = heads.predict(_proba([0.99, 0.01], [0.9, 0.05, 0.05]), unsupported=True)
    assert all(p.abstained and p.label is None for p in preds.values())


def test_the_escalation_risk_is_the_probability_of_true(heads: Heads) -> None:
    preds, _ = heads.predict(_proba([0.9, 0.1], [0.7, 0.2, 0.1], escalation=(0.3, 0.7)), False)
    assert preds["escalation"].risk == pytest.approx(0.7)
    assert preds["escalation"].label == "true"


def _head(label: str | None, abstained: bool = False) -> HeadPrediction:
    return HeadPrediction(
        label=None if abstained else label,
        confidence=0.99 if not abstained else 0.3,
        abstained=abstained,
        top_k=[LabelScore(label=label, probability=0.99)] if label else [],
    )


def test_a_subcategory_under_its_own_category_is_kept(heads: Heads) -> None:
    preds = {"category": _head("Billing"), "subcategory": _head("Refund")}
    heads.apply_hierarchy(preds)
    sub = preds["subcategory"]
    assert (sub.label, sub.abstained, sub.fallback_to_parent) == ("Refund", False, False)


def test_a_subcategory_contradicting_the_category_falls_back_to_it(heads: Heads) -> None:
    preds = {"category": _head("Billing"), "subcategory": _head("Password")}
    heads.apply_hierarchy(preds)
    sub = preds["subcategory"]
    assert (sub.label, sub.abstained, sub.fallback_to_parent) == (None, True, True)


def test_an_unsure_subcategory_falls_back_only_to_a_known_category(heads: Heads) -> None:
    known = {"category": _head("Billing"), "subcategory": _head("Refund", abstained=True)}
    heads.apply_hierarchy(known)
    assert known["subcategory"].fallback_to_parent is True
    unknown = {"category": _head("Billing", abstained=True), "subcategory": _head("Refund")}
    heads.apply_hierarchy(unknown)
    # An abstaining category contradicts nothing: the subcategory stands.
    assert (unknown["subcategory"].label, unknown["subcategory"].fallback_to_parent) == (
        "Refund",
        False,
    )
    both = {
        "category": _head("Billing", abstained=True),
        "subcategory": _head("Refund", abstained=True),
    }
    heads.apply_hierarchy(both)
    assert both["subcategory"].abstained and not both["subcategory"].fallback_to_parent
