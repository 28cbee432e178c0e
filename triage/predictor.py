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

Each stage is its own module under `triage.inference` (text, heads, explanation,
auto-reply); `OnnxTriager` builds them from the bundle and runs them in order.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np

from triage.bundle import Bundle, load_bundle
from triage.contract import EscalationPrediction, Explanation, Language, Ticket, TriageResult
from triage.features import MetaEncoder, MetaSpec
from triage.inference.auto_reply import AutoReplyIndex
from triage.inference.cascade import CHEAP, FULL, CheapStage, score_cascade
from triage.inference.explanation import Explainer, NeighbourQuery
from triage.inference.heads import Heads
from triage.inference.text import Lap, TextFeatures, TextStage

# Which stage of a cascade answered (`TriageResult.path`).
Path_ = Literal["cheap", "full"]

# Tickets per micro-batch in `triage_batch`: bounds the memory of a call. A 256-ticket
# batch grew the worker by ~170 MB with 32 per call, ~65 MB with 8, at the same throughput
# (the encoder and the heads run one ticket at a time anyway).
BATCH_CHUNK = 8


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

    def __init__(
        self, bundle: Bundle, *, warm_up: bool = True, details: bool = True, cascade: bool = True
    ) -> None:
        """Wrap a loaded bundle.

        `cascade=False` ignores the bundle's cheap stage: every ticket takes the transformer
        (the reference `triage bench accuracy` compares the cascade with).

        `details=False` leaves out the explanation, the similar tickets and the auto-reply
        (and the indexes they read): the heads, the escalation risk and the language only,
        for bulk rescoring, where those parts would be most of the time per ticket.
        """
        self.bundle = bundle
        m = bundle.manifest
        self._model_version = bundle.model_version
        self._heads = Heads(
            m["heads"],
            m.get("primary_head"),
            bundle.heads,
            bundle.head_graphs,
            n_meta=len(m["meta"]["names"]),
        )
        self._meta = MetaEncoder(MetaSpec.from_dict(m["meta"]["spec"]))
        text = m.get("text") or {}
        n_word = int(text.get("word_features", 0))
        n_char = int(text.get("char_features", 0))
        languages = set(m.get("languages") or [])
        self._encoder = bundle.encoder

        # float16 on disk halves the bundle; numpy has no float16 BLAS and converts on every
        # touch, so every array the hot path reads is float32 and C-contiguous from here on.
        vectorizer = bundle.vectorizer
        self._explainer = Explainer(
            bundle,
            self._heads,
            word_terms=vectorizer.word_terms if vectorizer is not None else [],
            meta_names=m["meta"]["names"],
            n_word=n_word,
            details=details,
        )
        self._auto_reply = (
            AutoReplyIndex.from_bundle(
                bundle, self._heads, n_char + int(text.get("stem_features", 0))
            )
            if details
            else None
        )
        # The cascade's cheap stage (issue 17), when the bundle has one and `cascade` is on.
        self._cheap = None
        if cascade and m.get("cascade") and self._encoder is not None:
            self._cheap = CheapStage(
                bundle,
                m["cascade"],
                word_terms=vectorizer.word_terms if vectorizer is not None else [],
                n_word=n_word,
                details=details,
            )
        self._text = TextStage(
            vectorizer,
            bundle.text_heads,
            enabled=bool(text.get("enabled")),
            max_chars=int(text.get("max_chars", 4000)),
            n_word=n_word,
            n_char=n_char,
            languages=languages,
            auto_reply=self._auto_reply,
            coef_word=self._explainer.coef_word,
        )
        if languages:
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

    def _score(self, tickets: list[Ticket], lap: Lap) -> list[TriageResult]:
        if self._cheap is not None and self._text.enabled and not self._cheap.never:
            return self._score_cascade(tickets, lap)
        return self._score_full(tickets, lap)

    def _score_cascade(self, tickets: list[Ticket], lap: Lap) -> list[TriageResult]:
        assert self._cheap is not None and self._encoder is not None
        return score_cascade(
            self._cheap,
            tickets,
            lap,
            text=self._text,
            meta=self._meta,
            encoder=self._encoder,
            heads=self._heads,
            explainer=self._explainer,
            auto_reply=self._auto_reply,
            result=self._result,
        )

    def _score_full(self, tickets: list[Ticket], lap: Lap) -> list[TriageResult]:
        started = time.perf_counter()
        n = len(tickets)
        raw = [t.text for t in tickets]
        # The work that needs only the text (TF-IDF, language, the auto-reply's TF-IDF half)
        # runs on a helper thread while this one is in the encoder, which releases the GIL:
        # onnxruntime leaves a core partly idle at batch 1, and this soaks it up (measured:
        # text stage + encoder 10.9 ms overlapped against 11.8 ms one after the other).
        # `profile` keeps them in sequence so that each stage has its own time.
        text_stage = None
        if self._text.enabled and self._encoder is not None and lap is _no_lap:
            text_stage = self._text_pool.submit(self._text.run, raw, lap)
        else:
            texts, languages, ar_text = self._text.run(raw, lap)
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
                self._heads.logits(dense[i : i + 1], texts[i].logits if texts is not None else None)
                for i in range(n)
            ]
        )
        lap("heads")
        probas = self._heads.calibrate(logits)
        lap("calibrate")
        # Auto-reply entries' and neighbours' (projected) embedding scores for the whole call.
        ar_emb = nb_approx = None
        if emb is not None:
            if self._auto_reply is not None:
                ar_emb = self._auto_reply.embedding_scores(emb)
            nb_approx = self._explainer.candidates(emb)
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
                    (nb_approx[:, i], emb[i])
                    if nb_approx is not None and emb is not None
                    else None,
                    meta[i],
                    shared,
                    t0,
                    lap,
                    # A cascade bundle whose cheap stage can never answer: every ticket full.
                    path=FULL if self._cheap is not None else None,
                )
            )
        return out

    def _result(
        self,
        ticket: Ticket,
        proba: np.ndarray,
        text: TextFeatures | None,
        language: Language | None,
        ar_text: np.ndarray | None,
        ar_emb: np.ndarray | None,
        nb_query: NeighbourQuery | None,
        meta: np.ndarray,
        shared_ms: float,
        t0: float,
        lap: Lap,
        *,
        heads: Heads | None = None,
        explainer: Explainer | None = None,
        path: Path_ | None = None,
    ) -> TriageResult:
        heads = heads or self._heads
        explainer = explainer or self._explainer
        unsupported = language is not None and not language.supported
        preds, tops = heads.predict(proba, unsupported)
        lap("result")
        terms = explainer.terms(tops, text, meta)
        lap("explain")
        similar = explainer.similar(text, nb_query)
        lap("similar")
        auto_reply = (
            self._auto_reply.match(ar_text, ar_emb, proba, unsupported)
            if self._auto_reply is not None and ar_text is not None
            else None
        )
        if (
            auto_reply is not None
            and path == CHEAP
            and self._auto_reply is not None
            and self._auto_reply.with_embedding
        ):
            auto_reply.safe_to_send = False
        lap("auto_reply")
        timing = shared_ms + (time.perf_counter() - t0) * 1000.0
        # Heads.predict builds the escalation head as an EscalationPrediction.
        escalation = preds.get("escalation")
        result = TriageResult.model_construct(
            ticket_id=ticket.id,
            category=preds.get("category"),
            subcategory=preds.get("subcategory"),
            priority=preds.get("priority"),
            team=preds.get("team"),
            assignee=preds.get("assignee"),
            escalation=escalation if isinstance(escalation, EscalationPrediction) else None,
            auto_reply=auto_reply,
            language=language,
            explanation=Explanation.model_construct(terms=terms, similar_tickets=similar),
            model_version=self._model_version,
            timing_ms=timing,
            path=path,
        )
        lap("result")
        return result


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
