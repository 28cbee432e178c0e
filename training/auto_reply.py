"""The auto-reply matcher: which KB article or past answer fits a new ticket.

Index entries are KB questions (titles) and past tickets of the training part that
carry a KB article id or an agent answer. An entry points at a *target* (a KB article
or one distinct answer text); several entries may share one. A ticket's score for an
entry blends char-n-gram TF-IDF cosine (the char block of the main vectorizer, which
carries languages the encoder does not) with embedding cosine; a target scores the max
of its entries. A KB entry's vectors are its question's plus `body_weight` times its
answer's (the score is linear in the entry, so this scores question + w · answer and
serving needs nothing new); on rutube the answer as a weak second field lifts recall@1
by ~3 points, while question and answer as one document lose ~6. The body and blend
weights are tuned on the training part's questions against the KB alone (when there is
a KB; else the blend on the calibration slice), the "safe to send" threshold on the
calibration slice; recall@1/@5 and coverage at the threshold are reported on the test
part, and recall over every ticket with a gold KB article against the KB alone (the
issue's benchmark).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.calibration import _lowest_threshold
from triage.features import normalize_text

ALPHAS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
# recall@k is also reported for k = 1..RECALL_CURVE_K (the benchmark report's recall@k curve).
RECALL_CURVE_K = 10
BODY_WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5)


@dataclass
class Matcher:
    """The index as arrays, grouped so that each target's entries are contiguous."""

    entry_tfidf: sp.csr_matrix  # char-block TF-IDF per entry (unit rows)
    entry_emb: np.ndarray | None  # embedding per entry
    entry_target: np.ndarray  # target index per entry (non-decreasing)
    target_start: np.ndarray  # first entry of each target
    targets: list[dict[str, Any]]  # {answer_id, kind, text, article_id}
    alpha: float
    safe_threshold: float | None

    def scores(self, q_tfidf: sp.csr_matrix, q_emb: np.ndarray | None, alpha: float | None = None,
               entry_mask: sp.csr_matrix | None = None) -> np.ndarray:
        """Target scores for a batch of queries (n × n_targets)."""
        alpha = self.alpha if alpha is None else alpha
        s = np.asarray((q_tfidf @ self.entry_tfidf.T).todense(), dtype=np.float64) * alpha
        if self.entry_emb is not None and q_emb is not None and alpha < 1.0:
            s += (1.0 - alpha) * (q_emb.astype(np.float64) @ self.entry_emb.T.astype(np.float64))
        return np.maximum.reduceat(s, self.target_start, axis=1)


def _answer_key(text: str) -> str:
    return "answer:" + hashlib.sha1(normalize_text(text).encode()).hexdigest()[:16]


def _gold(ticket, kb_ids: set[str]) -> str | None:
    if ticket.kb_article_id and ticket.kb_article_id in kb_ids:
        return f"kb:{ticket.kb_article_id}"
    if ticket.agent_answer:
        return _answer_key(ticket.agent_answer)
    return None


def _recall(scores: np.ndarray, gold: np.ndarray, k: int) -> float:
    if len(gold) == 0:
        return 0.0
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean([g in row for g, row in zip(gold, top, strict=True)]))


def _recall_curve(scores: np.ndarray, gold: np.ndarray, k_max: int = RECALL_CURVE_K) -> list[float]:
    """recall@k for k = 1..k_max from one sort (same ranking and ties as `_recall`)."""
    if len(gold) == 0:
        return [0.0] * k_max
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k_max]
    # Gold sits at most once in a row: hits per rank position, summed up to k.
    at_rank = (top == np.asarray(gold)[:, None]).sum(axis=0)
    hits = np.cumsum(np.pad(at_rank, (0, k_max - len(at_rank))))  # fewer than k_max targets
    return [float(h / len(gold)) for h in hits]


def kb_vectors(corpus, char: slice, body_weight: float) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """KB entry vectors: question + `body_weight` × answer (char TF-IDF, embedding)."""
    text = corpus.kb_text[:, char]
    emb = corpus.kb_emb
    if body_weight and corpus.kb_body_text is not None:
        text = text + body_weight * corpus.kb_body_text[:, char]
        if emb is not None and corpus.kb_body_emb is not None:
            emb = emb + body_weight * corpus.kb_body_emb
    return sp.csr_matrix(text, dtype=np.float32), None if emb is None else emb.astype(np.float32)


def _kb_scores(kb_text, kb_emb, q_text, q_emb, alpha: float) -> np.ndarray:
    s = np.asarray((q_text @ kb_text.T).todense(), dtype=np.float64) * alpha
    if kb_emb is not None and q_emb is not None and alpha < 1.0:
        s += (1.0 - alpha) * (q_emb.astype(np.float64) @ kb_emb.T.astype(np.float64))
    return s


def tune_kb_weights(corpus, char: slice, rows: list[int], gold: np.ndarray) -> tuple[float, float, dict]:
    """(body weight, blend weight) that rank the gold KB article best for `rows` (KB alone).

    Chosen on recall@1, then recall@5; ties go to the simpler setting (less body, more
    TF-IDF). `rows` must come from the training part.
    """
    q_text = corpus.x_text[rows][:, char]
    q_emb = corpus.x_emb[rows] if corpus.x_emb is not None else None
    alphas = ALPHAS if corpus.kb_emb is not None else (1.0,)
    grid = {}
    for w in BODY_WEIGHTS:
        kb_text, kb_emb = kb_vectors(corpus, char, w)
        for a in alphas:
            s = _kb_scores(kb_text, kb_emb, q_text, q_emb, a)
            grid[(w, a)] = (_recall(s, gold, 1), _recall(s, gold, 5))
    w, a = max(grid, key=lambda k: (grid[k], -k[0], k[1]))
    return float(w), float(a), {"recall_at_1": grid[(w, a)][0], "recall_at_5": grid[(w, a)][1], "n": len(rows)}


def build_matcher(corpus, vectorizer, train_idx, cal_idx, test_idx, config) -> tuple[Matcher | None, dict | None]:
    """Build the index from KB articles and the fit part's answered tickets; evaluate it."""
    if corpus.x_text is None or vectorizer is None:
        return None, None
    n_word, n_char = vectorizer.n_word, vectorizer.n_char
    char = slice(n_word, n_word + n_char)
    tickets = corpus.tickets
    kb_ids = {a.id for a in corpus.articles}
    cal_set = set(cal_idx.tolist())
    fit_rows = [i for i in train_idx.tolist() if i not in cal_set]

    # Body and blend weights from the training part's questions against the KB alone.
    body_weight, tuned_alpha, tuning = 0.0, None, None
    if corpus.articles and corpus.kb_text is not None:
        kb_index = {a.id: j for j, a in enumerate(corpus.articles)}
        rows = [i for i in train_idx.tolist() if tickets[i].kb_article_id in kb_index]
        if len(rows) >= 10:
            gold = np.array([kb_index[tickets[i].kb_article_id] for i in rows], dtype=np.int64)
            body_weight, tuned_alpha, tuning = tune_kb_weights(corpus, char, rows, gold)
    kb_char, kb_emb = (kb_vectors(corpus, char, body_weight) if corpus.articles and corpus.kb_text is not None
                       else (None, None))

    # (target key, source) per entry; source: ("kb", article index) or ("ticket", row).
    entries: list[tuple[str, tuple[str, int]]] = []
    targets: dict[str, dict[str, Any]] = {}
    for j, article in enumerate(corpus.articles):
        key = f"kb:{article.id}"
        targets[key] = {"answer_id": article.id, "kind": "kb", "text": article.body, "article_id": article.id}
        entries.append((key, ("kb", j)))
    # Most recent answered tickets first, capped: a one-off answer is no template anyway.
    answered = [i for i in fit_rows if _gold(tickets[i], kb_ids) is not None]
    answered.sort(key=lambda i: tickets[i].created_at.timestamp() if tickets[i].created_at else 0.0,
                  reverse=True)
    budget = config.index_max_values - (kb_char.nnz if kb_char is not None else 0)
    for i in answered[: config.answers_max]:
        budget -= corpus.x_text[i, char].nnz
        if budget < 0:
            break
        key = _gold(tickets[i], kb_ids)
        if key not in targets:
            targets[key] = {
                "answer_id": f"answer-{tickets[i].id}", "kind": "answer",
                "text": tickets[i].agent_answer, "article_id": None,
            }
        entries.append((key, ("ticket", i)))
    if not entries:
        return None, None

    keys = sorted(targets)
    key_index = {k: t for t, k in enumerate(keys)}
    order = sorted(range(len(entries)), key=lambda e: key_index[entries[e][0]])
    entry_target = np.array([key_index[entries[e][0]] for e in order], dtype=np.int64)
    target_start = np.flatnonzero(np.r_[True, entry_target[1:] != entry_target[:-1]])

    def block(source: tuple[str, int]):
        kind, j = source
        return kb_char[j] if kind == "kb" else corpus.x_text[j, char]

    entry_tfidf = sp.vstack([block(entries[e][1]) for e in order], format="csr")
    entry_emb = None
    if corpus.x_emb is not None:
        entry_emb = np.stack([
            kb_emb[entries[e][1][1]] if entries[e][1][0] == "kb" else corpus.x_emb[entries[e][1][1]]
            for e in order
        ]).astype(np.float32)
    matcher = Matcher(
        entry_tfidf=entry_tfidf, entry_emb=entry_emb, entry_target=entry_target,
        target_start=target_start, targets=[targets[k] for k in keys], alpha=1.0, safe_threshold=None,
    )

    def queries(rows: list[int]):
        rows = [i for i in rows if _gold(tickets[i], kb_ids) in key_index]
        gold = np.array([key_index[_gold(tickets[i], kb_ids)] for i in rows], dtype=np.int64)
        q_emb = corpus.x_emb[rows] if corpus.x_emb is not None else None
        return corpus.x_text[rows][:, char], q_emb, gold

    cal_q, cal_e, cal_gold = queries(cal_idx.tolist())
    test_q, test_e, test_gold = queries(test_idx.tolist())
    alphas = ALPHAS if entry_emb is not None else (1.0,)
    if tuned_alpha is not None:
        matcher.alpha = tuned_alpha
    elif len(cal_gold) >= 10 and len(alphas) > 1:
        best = max(alphas, key=lambda a: (_recall(matcher.scores(cal_q, cal_e, a), cal_gold, 1), a))
        matcher.alpha = float(best)
    elif entry_emb is not None:
        matcher.alpha = 0.7  # what the probes on rutube preferred when nothing can be tuned

    report: dict[str, Any] = {
        "alpha": matcher.alpha, "body_weight": body_weight, "entries": len(entries), "targets": len(keys),
    }
    if tuning is not None:
        report["tuned_on_training_part"] = tuning
    # Safe threshold on the calibration slice (else on the test part, flagged as such).
    source_q, source_e, source_gold, where = cal_q, cal_e, cal_gold, "calibration"
    if len(cal_gold) < 30:
        source_q, source_e, source_gold, where = test_q, test_e, test_gold, "test (calibration slice too small)"
    if len(source_gold):
        s = matcher.scores(source_q, source_e)
        t = _lowest_threshold(s.max(axis=1), s.argmax(axis=1) == source_gold, config.target_precision)
        matcher.safe_threshold = t
    report["safe_threshold"] = matcher.safe_threshold
    report["safe_threshold_fitted_on"] = where
    if len(test_gold):
        s = matcher.scores(test_q, test_e)
        top = s.argmax(axis=1)
        best = s.max(axis=1)
        safe = best >= matcher.safe_threshold if matcher.safe_threshold is not None else np.zeros(len(best), bool)
        report.update(
            recall_at_1=_recall(s, test_gold, 1),
            recall_at_5=_recall(s, test_gold, 5),
            recall_at_k=_recall_curve(s, test_gold),
            coverage_at_safe_threshold=float(safe.mean()),
            precision_at_safe_threshold=float(np.mean(top[safe] == test_gold[safe])) if safe.any() else None,
            n_eval=len(test_gold),
        )
    # The benchmark: every ticket with a gold KB article against the KB alone.
    kb_rows = [i for i in range(len(tickets)) if tickets[i].kb_article_id in kb_ids]
    if corpus.articles and kb_rows:
        kb_entries = np.array([entries[e][1][0] == "kb" for e in order])
        kb_matcher = Matcher(
            entry_tfidf=entry_tfidf[kb_entries],
            entry_emb=entry_emb[kb_entries] if entry_emb is not None else None,
            entry_target=np.arange(kb_entries.sum()),
            target_start=np.arange(kb_entries.sum()),
            targets=[], alpha=matcher.alpha, safe_threshold=None,
        )
        kb_keys = [keys[t] for t in entry_target[kb_entries]]
        kb_pos = {k: j for j, k in enumerate(kb_keys)}
        q_emb = corpus.x_emb[kb_rows] if corpus.x_emb is not None else None
        gold = np.array([kb_pos[f"kb:{tickets[i].kb_article_id}"] for i in kb_rows])
        s = kb_matcher.scores(corpus.x_text[kb_rows][:, char], q_emb)
        report["kb_only"] = {
            "recall_at_1": _recall(s, gold, 1),
            "recall_at_5": _recall(s, gold, 5),
            "recall_at_k": _recall_curve(s, gold),
            "n_eval": len(kb_rows),
        }
        # The served threshold (fitted with the full index) applied to the KB alone.
        if matcher.safe_threshold is not None:
            safe = s.max(axis=1) >= matcher.safe_threshold
            right = s.argmax(axis=1) == gold
            report["kb_only"]["coverage_at_safe_threshold"] = float(safe.mean())
            report["kb_only"]["precision_at_safe_threshold"] = float(right[safe].mean()) if safe.any() else None
    return matcher, report
