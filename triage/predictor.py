"""The in-process predictor: a loaded bundle answering `Triager` calls.

Per request: normalise the text, embed it (the ONNX encoder, the dominant cost), compute
its sparse TF-IDF (`triage.vectorizer`), run the heads graph once, calibrate every head in
one vectorised pass, then per ticket: language on a short prefix, top-k and thresholds,
the explanation (the predicted columns' coefficients gathered at the ticket's non-zero
word columns), the similar tickets and the auto-reply match. The embedding half of the
last two is one float32 GEMV over both indexes; the auto-reply's char TF-IDF half reads an
inverted index, only the postings of the ticket's n-grams. Everything the hot path needs is
precomputed at load time (float32, contiguous); no pandas, no scikit-learn, no torch.
`OnnxTriager.profile` returns the time of each stage (benchmarks/predictor.py).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triage.bundle import Bundle, load_bundle
from triage.contract import (
    AutoReply,
    EscalationPrediction,
    Explanation,
    HeadPrediction,
    LabelScore,
    Language,
    SimilarTicket,
    TermWeight,
    Ticket,
    TriageResult,
)
from triage.features import MetaEncoder, MetaSpec, normalize_text

TOP_K = 5
TERMS_PER_HEAD = 3
SIMILAR_TICKETS = 3
# Neighbours re-ranked on their full vectors after the projected first pass: with a 64-dim
# projection, 30 candidates held the exact top 3 for 98.7% of demo tickets.
NEIGHBOUR_CANDIDATES = 30
# A detected language outside the training set makes the text heads abstain only when
# the detector is this sure: short or mixed texts get low confidences and are scored.
LANGUAGE_MIN_CONFIDENCE = 0.8
# Characters of a ticket the language detector reads (its cost is linear in bytes).
# 160 characters identified all 2,000 demo tickets checked, as 300 did, in half the time.
LANGUAGE_PREFIX_CHARS = 160
# Tickets per micro-batch in `triage_batch`: bounds the memory of a call. A 256-ticket
# batch grew the worker by ~170 MB with 32 per call, ~65 MB with 8, at the same throughput
# (the encoder and the heads run one ticket at a time anyway).
BATCH_CHUNK = 8


@dataclass
class _Head:
    name: str
    classes: list[str]
    start: int
    stop: int
    temperature: float
    thresholds: np.ndarray
    parents: dict[str, str] | None


@dataclass
class _Text:
    """One ticket's TF-IDF non-zeros: what the heads read, the word block, and what the matcher reads."""

    cols: np.ndarray  # word and char blocks: what the heads read
    values: np.ndarray
    word_cols: np.ndarray
    word_values: np.ndarray
    char_cols: np.ndarray  # char and stem blocks, relative to the char block: the auto-reply's
    char_values: np.ndarray
    logits: np.ndarray | None = None  # the heads' text half (1 × outputs)
    word_contributions: np.ndarray | None = None  # word value × coefficient, every class


class _Laps:
    """Nanoseconds per named stage, summed over the tickets of a call (`OnnxTriager.profile`)."""

    __slots__ = ("last", "totals")

    def __init__(self) -> None:
        self.totals: dict[str, int] = {}
        self.last = time.perf_counter_ns()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter_ns()
        self.totals[stage] = self.totals.get(stage, 0) + now - self.last
        self.last = now


def _no_lap(stage: str) -> None:
    """The default: stage timing off costs one call to this per stage."""


class OnnxTriager:
    """`Triager` over a verified bundle. Safe to share across threads."""

    def __init__(self, bundle: Bundle, *, warm_up: bool = True, details: bool = True) -> None:
        """Wrap a loaded bundle.

        `details=False` leaves out the explanation, the similar tickets and the auto-reply
        (and the indexes they read): the heads, the escalation risk and the language only,
        for bulk rescoring, where those parts would be most of the time per ticket.
        """
        self.bundle = bundle
        m = bundle.manifest
        self._model_version = bundle.model_version
        self._heads = [
            _Head(
                name=h["name"],
                classes=list(h["classes"]),
                start=h["offset"],
                stop=h["offset"] + len(h["classes"]),
                temperature=float(h["temperature"]),
                thresholds=np.asarray(h["thresholds"], dtype=np.float64),
                parents=h.get("parents"),
            )
            for h in m["heads"]
        ]
        self._primary = next(
            h for h in self._heads if h.name == m.get("primary_head", self._heads[0].name)
        )
        # Calibration for every head in one pass over the logits row: a per-column inverse
        # temperature, and each head's first column for the segment max / sum.
        n_out = max(h.stop for h in self._heads)
        self._inv_temp = np.ones(n_out, dtype=np.float64)
        for h in self._heads:
            self._inv_temp[h.start : h.stop] = 1.0 / h.temperature
        self._head_starts = np.array([h.start for h in self._heads], dtype=np.intp)
        self._head_sizes = np.array([h.stop - h.start for h in self._heads], dtype=np.intp)
        self._contiguous = self._heads[0].start == 0 and all(
            a.stop == b.start for a, b in zip(self._heads, self._heads[1:], strict=False)
        )
        self._true_index = {
            h.name: h.classes.index("true") if "true" in h.classes else -1 for h in self._heads
        }
        self._meta = MetaEncoder(MetaSpec.from_dict(m["meta"]["spec"]))
        self._meta_names = m["meta"]["names"]
        text = m.get("text") or {}
        self._vectorizer = bundle.vectorizer
        self._text = bool(text.get("enabled")) and self._vectorizer is not None
        self._max_chars = int(text.get("max_chars", 4000))
        self._n_word = int(text.get("word_features", 0))
        self._n_char = int(text.get("char_features", 0))
        self._languages = set(m.get("languages") or [])
        self._encoder = bundle.encoder
        self._heads_inputs = {i.name for i in bundle.heads.get_inputs()}

        # float16 on disk halves the bundle; numpy has no float16 BLAS and converts on every
        # touch, so every array the hot path reads is float32 and C-contiguous from here on.
        ex = bundle.explain
        self._terms = self._vectorizer.word_terms if self._vectorizer is not None else []
        self._coef_word = _f32(ex["coef_word"]) if "coef_word" in ex else None
        self._coef_meta = _f32(ex["coef_meta"]) if "coef_meta" in ex else None

        nb = bundle.neighbours
        self._nb_ids = nb["ids"].tolist() if "ids" in nb else []
        self._nb_labels = nb["labels"].tolist() if "labels" in nb else None
        # Embedding neighbours: a first pass in a low-dimensional projection finds candidates,
        # the full vectors (float16, only the candidates' rows read) rank them exactly.
        self._nb_vectors = nb.get("vectors")
        self._nb_projection = _f32(nb["projection"]) if "projection" in nb else None
        self._nb_projected = _f32(nb["projected"]) if "projected" in nb else None
        self._nb_csr = (nb["indptr"], nb["indices"], _f32(nb["data"])) if "indptr" in nb else None

        self._ar = None
        ar_vectors = None
        if bundle.auto_reply is not None and m.get("auto_reply"):
            ar = bundle.auto_reply
            alpha = float(m["auto_reply"]["alpha"])
            if "vectors" in ar and alpha < 1.0:
                ar_vectors = _f32(ar["vectors"])
            heads = {h.name: h for h in self._heads}
            priors = [
                (heads[name].start, ar[f"entry_class__{name}"].astype(np.intp), float(weight))
                for name, weight in (m["auto_reply"].get("prior_weights") or {}).items()
            ]
            self._ar = _AutoReplyIndex(
                indptr=ar["indptr"],
                indices=ar["indices"],
                data=ar["data"],
                n_columns=self._n_char + int(text.get("stem_features", 0)),
                target_start=ar["target_start"],
                alpha=alpha,
                threshold=m["auto_reply"]["safe_threshold"],
                targets=bundle.auto_reply_targets,
                with_embedding=ar_vectors is not None,
                priors=priors,
                query_terms=int(m["auto_reply"].get("query_terms", 0)),
                prior_floor=float(m["auto_reply"].get("prior_floor", 1e-4)),
                by_margin=m["auto_reply"].get("safe_confidence", "score") == "margin",
            )
        if not details:
            self._ar = self._coef_word = self._coef_meta = self._nb_csr = None
            self._nb_vectors = self._nb_projected = ar_vectors = None
        self._ar_vectors = ar_vectors
        if self._languages:
            from triage import language

            language.load()
        _limit_blas_threads()
        # One helper thread per concurrent prediction a worker allows (api: 2 by default).
        self._text_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="triage-text")
        if warm_up:
            self.triage(Ticket(id="warm-up", subject="warm up", body="printer does not print"))

    @classmethod
    def from_path(cls, path: str | Path, **kwargs) -> OnnxTriager:
        """Load, verify and wrap the bundle at `path`."""
        return cls(load_bundle(path), **kwargs)

    @property
    def model_version(self) -> str:
        """The bundle's model version."""
        return self._model_version

    @property
    def manifest(self) -> dict:
        """The bundle manifest (what `GET /v1/model` shows)."""
        return self.bundle.manifest

    def triage(self, ticket: Ticket) -> TriageResult:
        """Score one ticket."""
        return self._score([ticket], _no_lap)[0]

    def profile(self, ticket: Ticket) -> tuple[TriageResult, dict[str, int]]:
        """Score one ticket and return nanoseconds per stage too (benchmarks/predictor.py)."""
        laps = _Laps()
        result = self._score([ticket], laps)[0]
        return result, laps.totals

    def triage_batch(self, tickets: list[Ticket]) -> list[TriageResult]:
        """Score several tickets, in order, in micro-batches of `BATCH_CHUNK` grouped by length.

        Every graph runs one ticket at a time (nothing is padded), so a ticket's numbers do
        not depend on the batch it came in; the micro-batches share the neighbour and
        auto-reply GEMM and bound a call's memory.
        """
        results: list[TriageResult | None] = [None] * len(tickets)
        order = sorted(
            range(len(tickets)), key=lambda i: len(tickets[i].subject) + len(tickets[i].body)
        )
        for start in range(0, len(order), BATCH_CHUNK):
            rows = order[start : start + BATCH_CHUNK]
            for i, result in zip(
                rows, self._score([tickets[i] for i in rows], _no_lap), strict=True
            ):
                results[i] = result
        return results  # type: ignore[return-value]

    # -- internals -------------------------------------------------------------------

    def _score(self, tickets: list[Ticket], lap) -> list[TriageResult]:
        started = time.perf_counter()
        n = len(tickets)
        raw = [t.text for t in tickets]
        # The work that needs only the text (TF-IDF, language, the auto-reply's TF-IDF half)
        # runs on a helper thread while this one is in the encoder, which releases the GIL:
        # onnxruntime leaves a core partly idle at batch 1, and this soaks it up (measured:
        # text stage + encoder 10.9 ms overlapped against 11.8 ms one after the other).
        # `profile` keeps them in sequence so that each stage has its own time.
        text_stage = None
        if self._text and self._encoder is not None and lap is _no_lap:
            text_stage = self._text_pool.submit(self._text_features, raw, lap)
        else:
            texts, languages, ar_text = self._text_features(raw, lap)
        meta = self._meta.matrix(tickets)
        lap("meta")
        emb = None
        if self._encoder is not None:
            if n == 1:
                emb = self._encoder.encode_one(raw[0])[None, :]
            else:
                # Unpadded, one by one: the numbers training saw (int8 output shifts with padding).
                emb = self._encoder.encode(raw, batch_size=1)
        lap("encode")
        if text_stage is not None:
            texts, languages, ar_text = text_stage.result()
        dense = np.hstack([emb, meta]) if emb is not None else meta
        # Per ticket too, for the same reason as the text half.
        logits = np.vstack(
            [
                self._logits(dense[i : i + 1], texts[i] if texts is not None else None)
                for i in range(n)
            ]
        )
        lap("heads")
        probas = self._calibrate(logits)
        lap("calibrate")
        # Auto-reply entries' and neighbours' (projected) embedding scores for the whole call.
        ar_emb = nb_approx = None
        if emb is not None:
            if self._ar_vectors is not None:
                ar_emb = self._ar_vectors @ emb.T
            if self._nb_projected is not None:
                nb_approx = self._nb_projected @ (emb @ self._nb_projection).T
        lap("similar")
        shared = (time.perf_counter() - started) * 1000.0 / n

        out = []
        for i, ticket in enumerate(tickets):
            t0 = time.perf_counter()
            out.append(
                self._result(
                    ticket,
                    probas[i],
                    texts[i] if texts is not None else None,
                    languages[i],
                    ar_text[i] if ar_text is not None else None,
                    ar_emb[:, i] if ar_emb is not None else None,
                    (nb_approx[:, i], emb[i]) if nb_approx is not None else None,
                    meta[i],
                    shared,
                    t0,
                    lap,
                )
            )
        return out

    def _text_features(self, raw: list[str], lap):
        """Per ticket: TF-IDF non-zeros, language, the auto-reply entries' TF-IDF scores."""
        if not self._text:
            return None, [None] * len(raw), None
        texts = [
            self._split(*self._vectorizer.transform_one(normalize_text(t, self._max_chars)))
            for t in raw
        ]
        lap("vectorize")
        languages = [self._language(t) for t in raw]
        lap("language")
        ar_text = None
        if self._ar is not None:
            ar_text = [self._ar.tfidf_scores(x.char_cols, x.char_values) for x in texts]
        lap("auto_reply")
        for x in texts:
            if self._coef_word is not None:
                # Every class's word contributions, so that after the encoder the explanation
                # only picks the predicted classes' columns (the gather from the coefficient
                # matrix is the costly part, and it needs only the text).
                x.word_contributions = x.word_values[:, None] * self._coef_word[x.word_cols]
            # One graph call per ticket: a batched call would sum each ticket's non-zeros
            # in an order that depends on its neighbours in the batch, and a ticket must get
            # the same numbers alone (/v1/triage) as in any batch (rescoring). ~30 µs a call.
            (x.logits,) = self.bundle.text_heads.run(
                None, {"tfidf_col": x.cols, "tfidf_weight": x.values[None, :]}
            )
        lap("heads_text")
        return texts, languages, ar_text

    def _logits(self, dense: np.ndarray, text: _Text | None) -> np.ndarray:
        """The heads graph on one ticket (1 × outputs), its text logits added."""
        feeds = {"dense": dense}
        if text is not None and "text_logits" in self._heads_inputs:
            feeds["text_logits"] = text.logits
        (logits,) = self.bundle.heads.run(None, feeds)
        return logits

    def _split(self, cols: np.ndarray, values: np.ndarray) -> _Text:
        """One ticket's TF-IDF non-zeros as its word block and its char block (columns ascending)."""
        k, h = np.searchsorted(cols, (self._n_word, self._n_word + self._n_char)).tolist()
        return _Text(
            cols[:h], values[:h], cols[:k], values[:k], cols[k:] - self._n_word, values[k:]
        )

    def _calibrate(self, logits: np.ndarray) -> np.ndarray:
        """Tempered softmax of every head at once (N × outputs, each head's slice sums to 1)."""
        z = logits.astype(np.float64) * self._inv_temp
        if not self._contiguous:  # pragma: no cover - export always writes contiguous heads
            out = np.empty_like(z)
            for h in self._heads:
                part = z[:, h.start : h.stop]
                e = np.exp(part - part.max(axis=1, keepdims=True))
                out[:, h.start : h.stop] = e / e.sum(axis=1, keepdims=True)
            return out
        z -= np.repeat(np.maximum.reduceat(z, self._head_starts, axis=1), self._head_sizes, axis=1)
        np.exp(z, out=z)
        z /= np.repeat(np.add.reduceat(z, self._head_starts, axis=1), self._head_sizes, axis=1)
        return z

    def _language(self, text: str) -> Language | None:
        if not self._languages:
            return None
        from triage.language import UNDETERMINED, detect

        # The language is settled by the first few hundred characters; the detector's
        # cost is a Python loop over every byte.
        code, confidence = detect(text[:LANGUAGE_PREFIX_CHARS])
        supported = (
            code == UNDETERMINED or code in self._languages or confidence < LANGUAGE_MIN_CONFIDENCE
        )
        return Language.model_construct(code=code, confidence=confidence, supported=supported)

    def _result(
        self, ticket, proba, text, language, ar_text, ar_emb, nb_query, meta, shared_ms, t0, lap
    ) -> TriageResult:
        unsupported = language is not None and not language.supported
        preds: dict[str, HeadPrediction] = {}
        tops: list[int] = []
        for head in self._heads:
            p = proba[head.start : head.stop]
            order = np.argsort(-p)[:TOP_K].tolist()
            values = p[order].tolist()
            top = order[0]
            tops.append(top)
            confidence = values[0]
            abstained = bool(unsupported or confidence < head.thresholds[top])
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
        self._hierarchy(preds, None)
        lap("result")
        terms = self._terms_for(tops, text, meta)
        lap("explain")
        similar = self._similar(text, nb_query)
        lap("similar")
        auto_reply = (
            self._auto_reply(ar_text, ar_emb, proba, unsupported) if ar_text is not None else None
        )
        lap("auto_reply")
        timing = shared_ms + (time.perf_counter() - t0) * 1000.0
        result = TriageResult.model_construct(
            ticket_id=ticket.id,
            category=preds.get("category"),
            subcategory=preds.get("subcategory"),
            priority=preds.get("priority"),
            team=preds.get("team"),
            assignee=preds.get("assignee"),
            escalation=preds.get("escalation"),
            auto_reply=auto_reply,
            language=language,
            explanation=Explanation.model_construct(terms=terms, similar_tickets=similar),
            model_version=self._model_version,
            timing_ms=timing,
        )
        lap("result")
        return result

    def _hierarchy(self, preds: dict[str, HeadPrediction], probas=None) -> None:
        """An unsure subcategory, or one that contradicts the category, falls back to the parent."""
        sub, cat = preds.get("subcategory"), preds.get("category")
        head = next((h for h in self._heads if h.name == "subcategory"), None)
        if sub is None or cat is None or head is None or not head.parents:
            return
        top = sub.top_k[0].label if sub.top_k else None
        inconsistent = cat.label is not None and head.parents.get(top) not in (None, cat.label)
        if sub.abstained or inconsistent:
            sub.label = None
            sub.abstained = True
            sub.fallback_to_parent = cat.label is not None

    def _terms_for(self, tops: list[int], text: _Text | None, meta) -> list[TermWeight]:
        """The top positive contributions to each head's predicted class (word and metadata)."""
        if self._coef_word is None and self._coef_meta is None:
            return []
        cols = np.array(
            [h.start + t for h, t in zip(self._heads, tops, strict=True)], dtype=np.intp
        )
        blocks, names = [], []
        if text is not None and self._coef_word is not None and len(text.word_cols):
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
        for h, head in enumerate(self._heads):
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

    def _similar(self, text: _Text | None, nb_query) -> list[SimilarTicket]:
        """The nearest neighbour tickets: by embedding (projected candidates, re-ranked on the
        full vectors) or, in a bundle without an encoder, by word TF-IDF."""
        if nb_query is not None:
            approx, emb = nb_query
            rows = _top(approx, NEIGHBOUR_CANDIDATES)
            exact = self._nb_vectors[rows].astype(np.float32) @ emb
            order = _top(exact, SIMILAR_TICKETS)
            best, scores = rows[order].tolist(), exact[order].tolist()
        elif self._nb_csr is not None and text is not None:
            q = np.zeros(self._n_word, dtype=np.float32)
            q[text.word_cols] = text.word_values
            all_scores = _csr_dot(*self._nb_csr, q)
            order = _top(all_scores, SIMILAR_TICKETS)
            best, scores = order.tolist(), all_scores[order].tolist()
        else:
            return []
        out = []
        primary = self._primary.classes
        for j, score in zip(best, scores, strict=True):
            code = self._nb_labels[j] if self._nb_labels is not None else -1
            out.append(
                SimilarTicket.model_construct(
                    id=self._nb_ids[j],
                    score=score,
                    label=primary[code] if code >= 0 else None,
                )
            )
        return out

    def _auto_reply(
        self, text_scores: np.ndarray, ar_emb, proba: np.ndarray, unsupported: bool
    ) -> AutoReply | None:
        ar = self._ar
        embedding = ar_emb if ar.with_embedding else None
        best, score, margin = ar.best(text_scores, embedding, proba)
        if score <= 0.0:
            return None
        target = ar.targets[best]
        threshold = ar.threshold
        confidence = margin if ar.by_margin else score
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


class _AutoReplyIndex:
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
        with_embedding,
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
        self.with_embedding = with_embedding
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


_blas_limited = False


def _limit_blas_threads() -> None:
    """numpy's BLAS on one thread, once per process that serves a bundle.

    Measured on the 2-core box: OpenBLAS split the 2,200 × 384 neighbour GEMV over two
    threads that then waited for cores held by onnxruntime's encoder pool, 1.5 ms against
    0.2 ms on one thread; a 32-ticket GEMM was 6.7 ms against 2.6 ms. Every BLAS call
    in the predictor is this small. Without threadpoolctl the limit is skipped.
    """
    global _blas_limited
    if _blas_limited:
        return
    _blas_limited = True
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - in the serve extra
        return
    threadpool_limits(limits=1, user_api="blas")


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` largest scores, largest first."""
    k = min(k, len(scores))
    if k == 0:
        return np.zeros(0, dtype=np.intp)
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(k)
    return best[np.argsort(-scores[best], kind="stable")]


def _f32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


def _csr_dot(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, q: np.ndarray
) -> np.ndarray:
    """Row-wise dot products of a CSR matrix with a dense vector (no scipy at serve time)."""
    # A trailing zero keeps `reduceat` in bounds when the last rows are empty; empty rows
    # (which `reduceat` would give the next value) are zeroed afterwards.
    products = np.append(data * q[indices], np.float32(0.0))
    out = np.add.reduceat(products, indptr[:-1])
    out[indptr[:-1] == indptr[1:]] = 0.0
    return out
