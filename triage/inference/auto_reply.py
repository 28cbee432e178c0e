"""The auto-reply matcher at serve time: its index, its embedding half and the safe-to-send rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from triage.contract import AutoReply
from triage.inference.arrays import f32
from triage.inference.heads import Heads


class AutoReplyIndex:
    """The auto-reply matcher's entries, scored as `alpha · char TF-IDF + (1 - alpha) · embedding`.

    The char TF-IDF block is kept column-major (an inverted index: for each n-gram, the
    entries containing it). A ticket has ~1,000 non-zero n-grams out of ~50,000 and
    only the postings of those are read: about an eighth of the index's values, where a
    row-major product reads all of them on every request.
    """

    def __init__(
        self,
        *,
        indptr,
        indices,
        data,
        n_columns,
        target_start,
        alpha,
        threshold,
        targets,
        vectors=None,
        priors=(),
        prior_floor=1e-4,
        query_terms=0,
        by_margin=False,
    ):
        self.entries = len(indptr) - 1
        rows = np.repeat(np.arange(self.entries, dtype=np.int32), np.diff(indptr))
        order = np.argsort(indices, kind="stable")
        self.rows = np.ascontiguousarray(rows[order])
        self.data = np.ascontiguousarray(data[order], dtype=np.float32)
        self.colptr = np.zeros(n_columns + 1, dtype=np.int64)
        np.cumsum(np.bincount(indices, minlength=n_columns)[:n_columns], out=self.colptr[1:])
        self.target_start = target_start
        self.alpha = alpha
        self.threshold = threshold
        self.targets = targets
        # The entries' embeddings (float32), or None when the matcher is char TF-IDF only.
        self.vectors = vectors
        self.with_embedding = vectors is not None
        # (first column of the head in the calibrated row, each entry's class or -1, weight):
        # the category prior, score + w · log P(entry's class).
        self.priors = [
            (start + np.maximum(classes, 0), classes >= 0, weight)
            for start, classes, weight in priors
        ]
        self.prior_floor = prior_floor
        self.query_terms = query_terms
        # Safe to send when the best target leads the runner-up by the threshold (bundles
        # since the margin rule), else when its score reaches it.
        self.by_margin = by_margin

    @classmethod
    def from_bundle(cls, bundle: Any, heads: Heads, n_columns: int) -> AutoReplyIndex | None:
        """The index of `bundle`'s matcher, or None when the bundle has none. `n_columns`:
        the char and stem columns of the ticket's TF-IDF (what the entries are written in)."""
        spec = bundle.manifest.get("auto_reply")
        if bundle.auto_reply is None or not spec:
            return None
        ar = bundle.auto_reply
        alpha = float(spec["alpha"])
        by_name = {h.name: h for h in heads.heads}
        priors = [
            (by_name[name].start, ar[f"entry_class__{name}"].astype(np.intp), float(weight))
            for name, weight in (spec.get("prior_weights") or {}).items()
        ]
        return cls(
            indptr=ar["indptr"],
            indices=ar["indices"],
            data=ar["data"],
            n_columns=n_columns,
            target_start=ar["target_start"],
            alpha=alpha,
            threshold=spec["safe_threshold"],
            targets=bundle.auto_reply_targets,
            vectors=f32(ar["vectors"]) if "vectors" in ar and alpha < 1.0 else None,
            priors=priors,
            query_terms=int(spec.get("query_terms", 0)),
            prior_floor=float(spec.get("prior_floor", 1e-4)),
            by_margin=spec.get("safe_confidence", "score") == "margin",
        )

    def embedding_scores(self, emb: np.ndarray) -> np.ndarray | None:
        """Every entry's embedding score for every ticket of a call (entries × tickets)."""
        return self.vectors @ emb.T if self.vectors is not None else None

    def tfidf_scores(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Dot product of every entry's char TF-IDF row with the sparse query (`columns`, `values`).

        Only the query's `query_terms` largest values count (as in training): the weak ones
        are common n-grams with the longest posting lists.
        """
        if self.query_terms and len(values) > self.query_terms:
            keep = np.sort(np.argsort(-values, kind="stable")[: self.query_terms])
            columns, values = columns[keep], values[keep]
        starts = self.colptr[columns]
        lengths = self.colptr[columns + 1] - starts
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if len(ends) else 0
        # Positions of every posting of the query's columns, concatenated.
        positions = np.arange(total) + np.repeat(starts - (ends - lengths), lengths)
        weights = self.data[positions] * np.repeat(values, lengths)
        return np.bincount(self.rows[positions], weights=weights, minlength=self.entries)

    def best(
        self, text_scores: np.ndarray, embedding: np.ndarray | None, proba: np.ndarray | None = None
    ) -> tuple[int, float, float]:
        """(best target, its score, its lead over the runner-up) from the entries' char-TF-IDF
        scores (`tfidf_scores`), embedding scores and the ticket's calibrated head
        probabilities (the category prior); the lead is the score with a single target."""
        scores = self.alpha * text_scores
        if embedding is not None:
            scores += (1.0 - self.alpha) * embedding
        if proba is not None:
            for columns, known, weight in self.priors:
                scores += weight * np.where(
                    known, np.log(np.maximum(proba[columns], self.prior_floor)), 0.0
                )
        per_target = np.maximum.reduceat(scores, self.target_start)
        best = int(per_target.argmax())
        if len(per_target) < 2:
            return best, float(per_target[best]), float(per_target[best])
        runner_up = float(np.partition(per_target, -2)[-2])
        return best, float(per_target[best]), float(per_target[best]) - runner_up

    def match(
        self,
        text_scores: np.ndarray,
        embedding: np.ndarray | None,
        proba: np.ndarray,
        unsupported: bool,
    ) -> AutoReply | None:
        """The best answer for one ticket, safe to send when its confidence (score or lead)
        reaches the threshold and the language is supported; None when nothing matches."""
        best, score, margin = self.best(
            text_scores, embedding if self.with_embedding else None, proba
        )
        if score <= 0.0:
            return None
        target = self.targets[best]
        threshold = self.threshold
        confidence = margin if self.by_margin else score
        return AutoReply.model_construct(
            answer_id=target["answer_id"],
            kind=target["kind"],
            text=target["text"],
            score=score,
            safe_to_send=bool(
                threshold is not None and confidence >= threshold and not unsupported
            ),
            article_id=target.get("article_id"),
        )
