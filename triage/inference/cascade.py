"""The cascade's cheap stage (issue 17): TF-IDF plus a static embedding, answering the
tickets it is sure of so that the transformer runs only for the rest.

The bundle's `cascade/` folder holds a static encoder (one table lookup per token, an
ordinary encoder folder `OnnxEncoder` reads), the cheap heads' two graphs (the same layout
as the full heads: a TF-IDF half and a dense half), their coefficients for the explanation
and the static vectors of the bundle's neighbour tickets. The manifest's `cascade` section
gives each head's calibration (temperature, abstention thresholds) and cascade threshold.

A ticket takes the cheap path when every gating head's calibrated top probability reaches
its cascade threshold (`answers`); `score_cascade` runs both stages for the predictor.
Everything here runs one ticket at a time, so the choice and the numbers of a ticket do
not depend on the batch it came in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from triage.contract import Ticket, TriageResult
from triage.errors import BundleError, EncoderError
from triage.features import MetaEncoder
from triage.inference.auto_reply import AutoReplyIndex
from triage.inference.explanation import Explainer
from triage.inference.heads import Heads
from triage.inference.text import Lap, TextFeatures, TextStage

if TYPE_CHECKING:
    from triage.encoder import OnnxEncoder

CHEAP: Final = "cheap"
FULL: Final = "full"


class CheapStage:
    """The cheap stage of a bundle with a `cascade` section."""

    def __init__(
        self,
        bundle: Any,
        section: dict[str, Any],
        *,
        word_terms: list[str],
        n_word: int,
        details: bool,
    ) -> None:
        from triage.bundle import _arrays, _session
        from triage.encoder import OnnxEncoder

        m = bundle.manifest
        path = Path(bundle.path)
        folder = path / section["folder"]
        files = m["files"]
        prefix = section["folder"] + "/"
        by_name = {h["name"]: h for h in section["heads"]}
        specs = []
        for h in m["heads"]:
            cheap = by_name[h["name"]]
            spec = dict(h, temperature=cheap["temperature"], thresholds=cheap["thresholds"])
            if cheap.get("risk_threshold"):
                # The escalation twin's own rate-matched threshold (older bundles: the
                # full head's).
                spec["risk_threshold"] = cheap["risk_threshold"]
            specs.append(spec)
        graph = _session(folder / "heads.onnx", 1, False)
        # A boosted head's trees read only the fields: the cheap path adds them as the full
        # path does (its twin is the head itself, see training.cascade_stage._same_head).
        self.heads = Heads(
            specs,
            m.get("primary_head"),
            graph,
            bundle.head_graphs,
            n_meta=len(m["meta"]["names"]),
        )
        self.text_heads = (
            _session(folder / "heads_text.onnx", 1, False)
            if prefix + "heads_text.onnx" in files
            else None
        )
        # Per gating head: its column slice and threshold (None in the manifest: never).
        self._gates = []
        for head in self.heads.heads:
            cheap = by_name[head.name]
            if not cheap.get("gating", True):
                continue
            t = cheap.get("cascade_threshold")
            self._gates.append((head.start, head.stop, math.inf if t is None else float(t)))
        try:
            # One thread: a lookup and a mean, far below what a pool's wake-up costs.
            self.encoder = OnnxEncoder(path / section["encoder"]["folder"], threads=1)
        except EncoderError as exc:
            raise BundleError(f"{path}: cascade encoder: {exc}") from exc
        nb = dict(bundle.neighbours)
        for key in ("vectors", "projection", "projected"):
            nb.pop(key, None)
        if prefix + "neighbours.npz" in files:
            nb.update(_arrays(folder / "neighbours.npz"))
        explain = _arrays(folder / "explain.npz") if prefix + "explain.npz" in files else {}
        self.explainer = Explainer(
            SimpleNamespace(explain=explain, neighbours=nb),
            self.heads,
            word_terms=word_terms,
            meta_names=m["meta"]["names"],
            n_word=n_word,
            details=details,
        )

    @property
    def never(self) -> bool:
        """No ticket can take the cheap path (a gating head's threshold is infinite)."""
        return any(math.isinf(t) for _, _, t in self._gates)

    def embed(self, raw: list[str]) -> np.ndarray:
        """Static embeddings, one text at a time (N × dim)."""
        return np.vstack([self.encoder.encode_one(t) for t in raw])

    def text_logits(self, text: TextFeatures) -> np.ndarray:
        """The cheap heads' TF-IDF half for one ticket (1 × outputs)."""
        assert self.text_heads is not None
        (logits,) = self.text_heads.run(
            None, {"tfidf_col": text.cols, "tfidf_weight": text.values[None, :]}
        )
        return logits

    def answers(self, proba: np.ndarray) -> np.ndarray:
        """True per ticket (rows of calibrated cheap probabilities) the cheap path answers."""
        cheap = np.ones(len(proba), dtype=bool)
        for start, stop, threshold in self._gates:
            cheap &= proba[:, start:stop].max(axis=1) >= threshold
        return cheap


def score_cascade(
    cheap_stage: CheapStage,
    tickets: list[Ticket],
    lap: Lap,
    *,
    text: TextStage,
    meta: MetaEncoder,
    encoder: OnnxEncoder,
    heads: Heads,
    explainer: Explainer,
    auto_reply: AutoReplyIndex | None,
    result: Callable[..., TriageResult],
) -> list[TriageResult]:
    """The cascade: the cheap stage for every ticket, the transformer for the tickets
    it is not sure of. Each ticket is scored alone by every graph, so its path and its
    numbers are those it gets in any batch.

    The full path's parts (`text` ... `auto_reply`) are the predictor's, and `result`
    is its `OnnxTriager._result`, which builds one ticket's answer from either path.
    """
    started = time.perf_counter()
    n = len(tickets)
    raw = [t.text for t in tickets]
    texts, languages, ar_text = text.run(raw, lap, contributions=False)
    assert texts is not None
    fields = meta.matrix(tickets)
    lap("meta")
    static = cheap_stage.embed(raw)
    lap("static")
    dense = np.hstack([static, fields])
    logits = np.vstack(
        [
            cheap_stage.heads.logits(dense[i : i + 1], cheap_stage.text_logits(texts[i]))
            for i in range(n)
        ]
    )
    probas = cheap_stage.heads.calibrate(logits)
    cheap = cheap_stage.answers(probas)
    lap("cascade")
    full = np.flatnonzero(~cheap)
    emb = None
    if len(full):
        emb = np.vstack([encoder.encode_one(raw[i]) for i in full])
    lap("encode")
    if emb is not None:
        dense_full = np.hstack([emb, fields[full]])
        full_logits = np.vstack(
            [heads.logits(dense_full[j : j + 1], texts[i].logits) for j, i in enumerate(full)]
        )
        probas[full] = heads.calibrate(full_logits)
    lap("heads")
    # Per ticket, not one GEMM for the call: a GEMM's sums may round differently from a
    # GEMV's, and a ticket must get the same numbers alone as in a batch of 32.
    ar_emb = nb_full = None
    if emb is not None:
        if auto_reply is not None:
            ar_emb = _per_ticket(auto_reply.embedding_scores, emb)
        nb_full = _per_ticket(explainer.candidates, emb)
    nb_cheap = _per_ticket(cheap_stage.explainer.candidates, static)
    lap("similar")
    shared = (time.perf_counter() - started) * 1000.0 / n
    slot = {int(i): j for j, i in enumerate(full)}
    out = []
    for i, ticket in enumerate(tickets):
        t0 = time.perf_counter()
        j = slot.get(i)
        if j is None:
            # The auto-reply's safe threshold was tuned with the transformer's half of
            # the score: the cheap path suggests from the text half and never sends.
            out.append(
                result(
                    ticket,
                    probas[i],
                    cheap_stage.explainer.explained(texts[i]),
                    languages[i],
                    ar_text[i] if ar_text is not None else None,
                    None,
                    (nb_cheap[:, i], static[i]) if nb_cheap is not None else None,
                    fields[i],
                    shared,
                    t0,
                    lap,
                    heads=cheap_stage.heads,
                    explainer=cheap_stage.explainer,
                    path=CHEAP,
                )
            )
            continue
        assert emb is not None
        out.append(
            result(
                ticket,
                probas[i],
                explainer.explained(texts[i]),
                languages[i],
                ar_text[i] if ar_text is not None else None,
                ar_emb[:, j] if ar_emb is not None else None,
                (nb_full[:, j], emb[j]) if nb_full is not None else None,
                fields[i],
                shared,
                t0,
                lap,
                path=FULL,
            )
        )
    return out


def _per_ticket(
    scores: Callable[[np.ndarray], np.ndarray | None], rows: np.ndarray
) -> np.ndarray | None:
    """`scores` (an index's scores, index rows × tickets) of each row alone, side by side."""
    parts = []
    for i in range(len(rows)):
        part = scores(rows[i : i + 1])
        if part is None:
            return None
        parts.append(part)
    return np.hstack(parts) if parts else None
