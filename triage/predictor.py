"""The in-process predictor: a loaded bundle answering `Triager` calls.

Per request: normalise the text, embed it (the ONNX encoder, the dominant cost), run the
TF-IDF graph and the heads graph once each, then a few small numpy operations per head
(tempered softmax, top-k, threshold), the explanation (a gather over the ticket's
non-zero word columns) and the auto-reply match. Everything the hot path needs is
precomputed at load time; no pandas, no scikit-learn, no torch.
"""

from __future__ import annotations

import time
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
# A detected language outside the training set makes the text heads abstain only when
# the detector is this sure: short or mixed texts get low confidences and are scored.
LANGUAGE_MIN_CONFIDENCE = 0.8
# Tickets per onnxruntime call in `triage_batch` (bounds the dense TF-IDF buffer).
BATCH_CHUNK = 32


@dataclass
class _Head:
    name: str
    classes: list[str]
    start: int
    stop: int
    temperature: float
    thresholds: np.ndarray
    parents: dict[str, str] | None


class OnnxTriager:
    """`Triager` over a verified bundle. Safe to share across threads."""

    def __init__(self, bundle: Bundle, *, warm_up: bool = True) -> None:
        self.bundle = bundle
        m = bundle.manifest
        self._model_version = bundle.model_version
        self._heads = [
            _Head(
                name=h["name"], classes=list(h["classes"]), start=h["offset"],
                stop=h["offset"] + len(h["classes"]), temperature=float(h["temperature"]),
                thresholds=np.asarray(h["thresholds"], dtype=np.float64), parents=h.get("parents"),
            )
            for h in m["heads"]
        ]
        self._primary = next(h for h in self._heads if h.name == m.get("primary_head", self._heads[0].name))
        self._meta = MetaEncoder(MetaSpec.from_dict(m["meta"]["spec"]))
        self._meta_names = m["meta"]["names"]
        text = m.get("text") or {}
        self._text = bool(text.get("enabled")) and bundle.vectorizer is not None
        self._max_chars = int(text.get("max_chars", 4000))
        self._n_word = int(text.get("word_features", 0))
        self._n_char = int(text.get("char_features", 0))
        self._languages = set(m.get("languages") or [])
        self._encoder = bundle.encoder
        self._heads_inputs = {i.name for i in bundle.heads.get_inputs()}

        ex = bundle.explain
        self._terms = ex["terms"].tolist() if "terms" in ex else []
        self._coef_word = ex["coef_word"].astype(np.float32) if "coef_word" in ex else None
        self._coef_meta = ex["coef_meta"].astype(np.float32) if "coef_meta" in ex else None

        nb = bundle.neighbours
        self._nb_ids = nb["ids"].tolist() if "ids" in nb else []
        self._nb_labels = nb.get("labels", None)
        self._nb_vectors = nb["vectors"].astype(np.float32) if "vectors" in nb else None
        self._nb_csr = (nb["indptr"], nb["indices"], nb["data"].astype(np.float32)) if "indptr" in nb else None

        self._ar = None
        if bundle.auto_reply is not None and m.get("auto_reply"):
            ar = bundle.auto_reply
            self._ar = {
                "indptr": ar["indptr"],
                "indices": ar["indices"],
                "data": ar["data"].astype(np.float32),
                "target_start": ar["target_start"],
                "vectors": ar["vectors"].astype(np.float32) if "vectors" in ar else None,
                "alpha": float(m["auto_reply"]["alpha"]),
                "threshold": m["auto_reply"]["safe_threshold"],
                "targets": bundle.auto_reply_targets,
            }
        if self._languages:
            from triage import language

            language.load()
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
        return self._score([ticket])[0]

    def triage_batch(self, tickets: list[Ticket]) -> list[TriageResult]:
        """Score several tickets, in order; grouped by length so each graph call pads little."""
        results: list[TriageResult | None] = [None] * len(tickets)
        order = sorted(range(len(tickets)), key=lambda i: len(tickets[i].subject) + len(tickets[i].body))
        for start in range(0, len(order), BATCH_CHUNK):
            rows = order[start : start + BATCH_CHUNK]
            for i, result in zip(rows, self._score([tickets[i] for i in rows]), strict=True):
                results[i] = result
        return results  # type: ignore[return-value]

    # -- internals -------------------------------------------------------------------

    def _score(self, tickets: list[Ticket]) -> list[TriageResult]:
        started = time.perf_counter()
        n = len(tickets)
        raw = [t.text for t in tickets]
        feeds: dict[str, np.ndarray] = {}
        emb = None
        if self._encoder is not None:
            if n == 1:
                emb = self._encoder.encode_one(raw[0])[None, :]
            else:
                # Unpadded, one by one: the numbers training saw (int8 output shifts with padding).
                emb = self._encoder.encode(raw, batch_size=1)
        tfidf = None
        if self._text:
            texts = np.array([normalize_text(t, self._max_chars) for t in raw], dtype=object).reshape(-1, 1)
            (tfidf,) = self.bundle.vectorizer.run(None, {"text": texts})
            feeds["tfidf"] = tfidf
        meta = self._meta.matrix(tickets)
        if "dense" in self._heads_inputs:
            feeds["dense"] = np.hstack([emb, meta]) if emb is not None else meta
        (logits,) = self.bundle.heads.run(None, feeds)
        shared = (time.perf_counter() - started) * 1000.0 / n

        out = []
        for i, ticket in enumerate(tickets):
            t0 = time.perf_counter()
            out.append(
                self._result(
                    ticket, raw[i], logits[i],
                    tfidf[i] if tfidf is not None else None,
                    emb[i] if emb is not None else None, meta[i], shared, t0,
                )
            )
        return out

    def _language(self, text: str) -> Language | None:
        if not self._languages:
            return None
        from triage.language import UNDETERMINED, detect

        code, confidence = detect(text)
        supported = (
            code == UNDETERMINED or code in self._languages or confidence < LANGUAGE_MIN_CONFIDENCE
        )
        return Language(code=code, confidence=confidence, supported=supported)

    def _result(self, ticket, raw, logits, tfidf, emb, meta, shared_ms, t0) -> TriageResult:
        language = self._language(raw) if self._text else None
        unsupported = language is not None and not language.supported
        preds: dict[str, HeadPrediction] = {}
        probas: dict[str, np.ndarray] = {}
        for head in self._heads:
            z = logits[head.start : head.stop].astype(np.float64) / head.temperature
            z -= z.max()
            p = np.exp(z)
            p /= p.sum()
            probas[head.name] = p
            order = np.argsort(-p)[:TOP_K]
            top = int(order[0])
            confidence = float(p[top])
            abstained = unsupported or confidence < head.thresholds[top]
            top_k = [LabelScore(label=head.classes[j], probability=float(p[j])) for j in order]
            label = None if abstained else head.classes[top]
            if head.name == "escalation":
                risk = float(p[head.classes.index("true")]) if "true" in head.classes else 0.0
                preds[head.name] = EscalationPrediction(
                    label=label, confidence=confidence, abstained=abstained, top_k=top_k, risk=risk
                )
            else:
                preds[head.name] = HeadPrediction(
                    label=label, confidence=confidence, abstained=abstained, top_k=top_k
                )
        self._hierarchy(preds, probas)
        explanation = Explanation(
            terms=self._terms_for(preds, probas, tfidf, meta),
            similar_tickets=self._similar(tfidf, emb),
        )
        auto_reply = self._auto_reply(tfidf, emb, unsupported) if self._ar is not None else None
        timing = shared_ms + (time.perf_counter() - t0) * 1000.0
        return TriageResult(
            ticket_id=ticket.id,
            category=preds.get("category"),
            subcategory=preds.get("subcategory"),
            priority=preds.get("priority"),
            team=preds.get("team"),
            assignee=preds.get("assignee"),
            escalation=preds.get("escalation"),  # type: ignore[arg-type]
            auto_reply=auto_reply,
            language=language,
            explanation=explanation,
            model_version=self._model_version,
            timing_ms=timing,
        )

    def _hierarchy(self, preds: dict[str, HeadPrediction], probas: dict[str, np.ndarray]) -> None:
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

    def _terms_for(self, preds, probas, tfidf, meta) -> list[TermWeight]:
        terms: list[TermWeight] = []
        if self._coef_word is None and self._coef_meta is None:
            return terms
        word_nz = np.flatnonzero(tfidf[: self._n_word]) if tfidf is not None and self._n_word else None
        meta_nz = np.flatnonzero(meta)
        for head in self._heads:
            p = probas[head.name]
            col = head.start + int(p.argmax())
            names: list[str] = []
            weights: list[np.ndarray] = []
            if word_nz is not None and len(word_nz) and self._coef_word is not None:
                weights.append(tfidf[word_nz] * self._coef_word[word_nz, col])
                names_idx = word_nz
                names.extend(self._terms[j] for j in names_idx)
            if len(meta_nz) and self._coef_meta is not None:
                weights.append(meta[meta_nz] * self._coef_meta[meta_nz, col])
                names.extend(self._meta_names[j] for j in meta_nz)
            if not weights:
                continue
            w = np.concatenate(weights)
            for j in np.argsort(-w)[:TERMS_PER_HEAD]:
                if w[j] <= 0:
                    break
                terms.append(TermWeight(head=head.name, term=names[j], weight=float(w[j])))
        return terms

    def _similar(self, tfidf, emb) -> list[SimilarTicket]:
        if self._nb_vectors is not None and emb is not None:
            scores = self._nb_vectors @ emb
        elif self._nb_csr is not None and tfidf is not None:
            scores = _csr_dot(*self._nb_csr, tfidf[: self._n_word])
        else:
            return []
        k = min(SIMILAR_TICKETS, len(scores))
        if k == 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        out = []
        for j in best:
            code = int(self._nb_labels[j]) if self._nb_labels is not None else -1
            label = self._primary.classes[code] if code >= 0 else None
            out.append(SimilarTicket(id=self._nb_ids[j], score=float(scores[j]), label=label))
        return out

    def _auto_reply(self, tfidf, emb, unsupported: bool) -> AutoReply | None:
        ar = self._ar
        if tfidf is None:
            return None
        q = tfidf[self._n_word : self._n_word + self._n_char]
        scores = ar["alpha"] * _csr_dot(ar["indptr"], ar["indices"], ar["data"], q)
        if ar["vectors"] is not None and emb is not None and ar["alpha"] < 1.0:
            scores += (1.0 - ar["alpha"]) * (ar["vectors"] @ emb)
        per_target = np.maximum.reduceat(scores, ar["target_start"])
        best = int(per_target.argmax())
        score = float(per_target[best])
        if score <= 0.0:
            return None
        target = ar["targets"][best]
        threshold = ar["threshold"]
        return AutoReply(
            answer_id=target["answer_id"], kind=target["kind"], text=target["text"], score=score,
            safe_to_send=bool(threshold is not None and score >= threshold and not unsupported),
            article_id=target.get("article_id"),
        )


def _csr_dot(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise dot products of a CSR matrix with a dense vector (no scipy at serve time)."""
    # A trailing zero keeps `reduceat` in bounds when the last rows are empty; empty rows
    # (which `reduceat` would give the next value) are zeroed afterwards.
    products = np.append(data * q[indices], np.float32(0.0))
    out = np.add.reduceat(products, indptr[:-1])
    out[indptr[:-1] == indptr[1:]] = 0.0
    return out
