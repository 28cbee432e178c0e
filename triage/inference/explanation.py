"""The explanation of a prediction: the terms behind each head's predicted class (the
class's coefficients gathered at the ticket's non-zero word and metadata columns) and the
most similar past tickets (embedding neighbours, or word TF-IDF without an encoder)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from triage.contract import SimilarTicket, TermWeight
from triage.inference.arrays import csr_dot, f32, top
from triage.inference.heads import Heads
from triage.inference.text import TextFeatures

TERMS_PER_HEAD = 3
SIMILAR_TICKETS = 3
# Neighbours re-ranked on their full vectors after the projected first pass: with a 64-dim
# projection, 30 candidates held the exact top 3 for 98.7% of demo tickets.
NEIGHBOUR_CANDIDATES = 30

# What `Explainer.similar` reads for one ticket with an encoder: its projected candidates'
# scores and its full embedding.
NeighbourQuery = tuple[np.ndarray, np.ndarray]


class Explainer:
    """A bundle's `explain` coefficients and `neighbours` index; `details=False` leaves
    every part out (the explanation is then empty)."""

    def __init__(
        self,
        bundle: Any,
        heads: Heads,
        *,
        word_terms: list[str],
        meta_names: list[str],
        n_word: int,
        details: bool,
    ) -> None:
        self._heads = heads
        self._terms = word_terms
        self._meta_names = meta_names
        self._n_word = n_word
        ex = bundle.explain
        nb = bundle.neighbours
        self.coef_word = f32(ex["coef_word"]) if details and "coef_word" in ex else None
        self._coef_meta = f32(ex["coef_meta"]) if details and "coef_meta" in ex else None
        self._ids = nb["ids"].tolist() if "ids" in nb else []
        self._labels = nb["labels"].tolist() if "labels" in nb else None
        # Embedding neighbours: a first pass in a low-dimensional projection finds candidates,
        # the full vectors (float16, only the candidates' rows read) rank them exactly.
        self._vectors = nb.get("vectors") if details else None
        self._projection = f32(nb["projection"]) if "projection" in nb else None
        self._projected = f32(nb["projected"]) if details and "projected" in nb else None
        self._csr = (
            (nb["indptr"], nb["indices"], f32(nb["data"])) if details and "indptr" in nb else None
        )

    def explained(self, text: TextFeatures | None) -> TextFeatures | None:
        """`text` with its word contributions under this explainer's coefficients (every
        class: the explanation then picks the predicted classes' columns)."""
        if text is None or self.coef_word is None:
            return text
        return replace(
            text, word_contributions=text.word_values[:, None] * self.coef_word[text.word_cols]
        )

    def candidates(self, emb: np.ndarray) -> np.ndarray | None:
        """The neighbours' projected embedding scores for every ticket of a call
        (neighbours × tickets); None without embedding neighbours."""
        if self._projected is None:
            return None
        return self._projected @ (emb @ self._projection).T

    def terms(
        self, tops: list[int], text: TextFeatures | None, meta: np.ndarray
    ) -> list[TermWeight]:
        """The top positive contributions to each head's predicted class (word and metadata)."""
        if self.coef_word is None and self._coef_meta is None:
            return []
        heads = self._heads.heads
        cols = np.array([h.start + t for h, t in zip(heads, tops, strict=True)], dtype=np.intp)
        blocks, names = [], []
        if text is not None and self.coef_word is not None and len(text.word_cols):
            # The text stage computed them: it reads the same `coef_word`.
            assert text.word_contributions is not None
            blocks.append(text.word_contributions[:, cols])
            names.append((text.word_cols, self._terms))
        if self._coef_meta is not None:
            meta_nz = np.flatnonzero(meta)
            if len(meta_nz):
                blocks.append(meta[meta_nz, None] * self._coef_meta[meta_nz[:, None], cols])
                names.append((meta_nz, self._meta_names))
        if not blocks:
            return []
        w = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
        index = np.concatenate([nz for nz, _ in names]) if len(names) > 1 else names[0][0]
        split = len(names[0][0])
        k = min(TERMS_PER_HEAD, len(w))
        best = (
            np.argpartition(-w, k - 1, axis=0)[:k]
            if k < len(w)
            else np.broadcast_to(np.arange(len(w))[:, None], w.shape)
        )
        terms: list[TermWeight] = []
        for h, head in enumerate(heads):
            rows = best[:, h]
            rows = rows[np.argsort(-w[rows, h])].tolist()
            for r in rows:
                weight = float(w[r, h])
                if weight <= 0:
                    break
                source = names[0][1] if r < split else names[-1][1]
                terms.append(
                    TermWeight.model_construct(
                        head=head.name, term=source[int(index[r])], weight=weight
                    )
                )
        return terms

    def similar(
        self, text: TextFeatures | None, query: NeighbourQuery | None
    ) -> list[SimilarTicket]:
        """The nearest neighbour tickets: by embedding (projected candidates, re-ranked on the
        full vectors) or, in a bundle without an encoder, by word TF-IDF."""
        if query is not None:
            approx, emb = query
            # A query comes only from the projected index, written with the vectors.
            assert self._vectors is not None
            rows = top(approx, NEIGHBOUR_CANDIDATES)
            exact = self._vectors[rows].astype(np.float32) @ emb
            order = top(exact, SIMILAR_TICKETS)
            best, scores = rows[order].tolist(), exact[order].tolist()
        elif self._csr is not None and text is not None:
            q = np.zeros(self._n_word, dtype=np.float32)
            q[text.word_cols] = text.word_values
            all_scores = csr_dot(*self._csr, q)
            order = top(all_scores, SIMILAR_TICKETS)
            best, scores = order.tolist(), all_scores[order].tolist()
        else:
            return []
        out = []
        primary = self._heads.primary.classes
        for j, score in zip(best, scores, strict=True):
            code = self._labels[j] if self._labels is not None else -1
            out.append(
                SimilarTicket.model_construct(
                    id=self._ids[j],
                    score=score,
                    label=primary[code] if code >= 0 else None,
                )
            )
        return out
