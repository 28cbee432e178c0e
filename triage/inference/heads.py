"""The dense heads: the heads graph on one ticket, calibration of every head in one pass,
then per head the top-k, the abstention threshold and the category hierarchy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from triage.contract import EscalationPrediction, HeadPrediction, LabelScore
from triage.ordinal import EXPECTED_COST, distance_matrix, expected_cost_choice

TOP_K = 5
# A boosted head's log-probability floor (training.boosted.PROBA_FLOOR).
PROBA_FLOOR = 1e-7


@dataclass
class Head:
    """One head's slice of the logits row and its calibration."""

    name: str
    classes: list[str]
    start: int
    stop: int
    temperature: float
    thresholds: np.ndarray
    parents: dict[str, str] | None
    # Training found nothing beyond chance (issue 15): the head always abstains.
    no_signal: bool = False
    # Ordered levels answered by expected cost (`triage.ordinal`): levels apart per pair.
    cost: np.ndarray | None = None
    # The escalation head's risk threshold (`training.risk_threshold`); None: not recorded.
    risk_threshold: float | None = None


def _risk_threshold(spec: dict[str, Any]) -> float | None:
    """The manifest head's `risk_threshold.value` (None for older bundles)."""
    value = (spec.get("risk_threshold") or {}).get("value")
    return None if value is None else float(value)


class Heads:
    """Every head of a bundle (its manifest's `heads`) over the heads graph."""

    def __init__(
        self,
        specs: list[dict[str, Any]],
        primary: str | None,
        graph: Any,
        head_graphs: dict[str, Any] | None = None,
        n_meta: int = 0,
    ) -> None:
        """`specs`: the manifest's heads; `primary`: the head neighbours are labelled with
        (default: the first); `graph`: the heads' onnxruntime session; `head_graphs`: the
        sessions of heads with a graph of their own (boosted trees over the last `n_meta`
        columns of `dense`, the metadata)."""
        self.heads = [
            Head(
                name=h["name"],
                classes=list(h["classes"]),
                start=h["offset"],
                stop=h["offset"] + len(h["classes"]),
                temperature=float(h["temperature"]),
                thresholds=np.asarray(h["thresholds"], dtype=np.float64),
                parents=h.get("parents"),
                no_signal=bool(h.get("no_signal", False)),
                cost=(
                    distance_matrix(h["classes"], h["order"])
                    if h.get("decision") == EXPECTED_COST
                    else None
                ),
                risk_threshold=_risk_threshold(h),
            )
            for h in specs
        ]
        self.primary = self.get(primary or self.heads[0].name)
        self._graph = graph
        # (session, input name, the logits columns its probabilities fill) per boosted head.
        self._trees = []
        for spec in specs:
            session = (head_graphs or {}).get(spec["name"])
            if session is not None and n_meta:
                columns = np.asarray(spec["graph"]["columns"], dtype=np.intp) + spec["offset"]
                self._trees.append((session, session.get_inputs()[0].name, columns))
        self._n_meta = n_meta
        self._inputs = {i.name for i in graph.get_inputs()}
        # Calibration for every head in one pass over the logits row: a per-column inverse
        # temperature, and each head's first column for the segment max / sum.
        n_out = max(h.stop for h in self.heads)
        self._inv_temp = np.ones(n_out, dtype=np.float64)
        for h in self.heads:
            self._inv_temp[h.start : h.stop] = 1.0 / h.temperature
        self._starts = np.array([h.start for h in self.heads], dtype=np.intp)
        self._sizes = np.array([h.stop - h.start for h in self.heads], dtype=np.intp)
        self._contiguous = self.heads[0].start == 0 and all(
            a.stop == b.start for a, b in zip(self.heads, self.heads[1:], strict=False)
        )
        self._true_index = {
            h.name: h.classes.index("true") if "true" in h.classes else -1 for h in self.heads
        }

    def get(self, name: str) -> Head:
        """The head called `name` (StopIteration when the bundle has none)."""
        return next(h for h in self.heads if h.name == name)

    def logits(self, dense: np.ndarray, text_logits: np.ndarray | None) -> np.ndarray:
        """The heads graph on one ticket (1 × outputs), its text logits added."""
        feeds = {"dense": dense}
        if text_logits is not None and "text_logits" in self._inputs:
            feeds["text_logits"] = text_logits
        (logits,) = self._graph.run(None, feeds)
        if self._trees:
            meta = np.ascontiguousarray(dense[:, dense.shape[1] - self._n_meta :])
            for session, name, columns in self._trees:
                # skl2onnx's classifier outputs (label, probabilities), zipmap off.
                proba = session.run(None, {name: meta})[1]
                logits[:, columns] += np.log(np.maximum(proba, PROBA_FLOOR))
        return logits

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        """Tempered softmax of every head at once (N × outputs, each head's slice sums to 1)."""
        z = logits.astype(np.float64) * self._inv_temp
        if not self._contiguous:  # pragma: no cover - export always writes contiguous heads
            out = np.empty_like(z)
            for h in self.heads:
                part = z[:, h.start : h.stop]
                e = np.exp(part - part.max(axis=1, keepdims=True))
                out[:, h.start : h.stop] = e / e.sum(axis=1, keepdims=True)
            return out
        z -= np.repeat(np.maximum.reduceat(z, self._starts, axis=1), self._sizes, axis=1)
        np.exp(z, out=z)
        z /= np.repeat(np.add.reduceat(z, self._starts, axis=1), self._sizes, axis=1)
        return z

    def predict(
        self, proba: np.ndarray, unsupported: bool
    ) -> tuple[dict[str, HeadPrediction], list[int]]:
        """Every head's prediction from one calibrated row, and each head's answered class
        index (the top class, or the expected-cost level of an ordered head).

        A head abstains below its threshold for the answered class, and every head abstains on
        a text in an unsupported language; the hierarchy rule runs last.
        """
        preds: dict[str, HeadPrediction] = {}
        tops: list[int] = []
        for head in self.heads:
            p = proba[head.start : head.stop]
            order = np.argsort(-p)[:TOP_K].tolist()
            values = p[order].tolist()
            # The answered class: the most probable, or the expected-cost level; its
            # probability is the confidence its threshold was fitted on.
            top = order[0] if head.cost is None else int(expected_cost_choice(p, head.cost)[0])
            tops.append(top)
            confidence = float(p[top])
            abstained = bool(unsupported or head.no_signal or confidence < head.thresholds[top])
            classes = head.classes
            top_k = [
                LabelScore.model_construct(label=classes[j], probability=v)
                for j, v in zip(order, values, strict=True)
            ]
            label = None if abstained else classes[top]
            if head.name == "escalation":
                t = self._true_index[head.name]
                risk = float(p[t]) if t >= 0 else 0.0
                preds[head.name] = EscalationPrediction.model_construct(
                    label=label,
                    confidence=confidence,
                    abstained=abstained,
                    top_k=top_k,
                    risk=risk,
                    risk_threshold=head.risk_threshold,
                    fallback_to_parent=False,
                )
            else:
                preds[head.name] = HeadPrediction.model_construct(
                    label=label,
                    confidence=confidence,
                    abstained=abstained,
                    top_k=top_k,
                    fallback_to_parent=False,
                )
        self.apply_hierarchy(preds)
        return preds, tops

    def apply_hierarchy(self, preds: dict[str, HeadPrediction]) -> None:
        """An unsure subcategory, or one that contradicts the category, falls back to the parent."""
        sub, cat = preds.get("subcategory"), preds.get("category")
        head = next((h for h in self.heads if h.name == "subcategory"), None)
        if sub is None or cat is None or head is None or not head.parents:
            return
        parent = head.parents.get(sub.top_k[0].label) if sub.top_k else None
        inconsistent = cat.label is not None and parent not in (None, cat.label)
        if sub.abstained or inconsistent:
            sub.label = None
            sub.abstained = True
            sub.fallback_to_parent = cat.label is not None
