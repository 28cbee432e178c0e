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

"Safe to send" is judged on the *margin*, the best target's score minus the runner-up's,
not on the score itself: a high score says the ticket shares words with an entry, a wide
margin says no other answer comes close. On the Russian FAQ (USE encoder) the score
reached 90% precision only on its top 1% of tickets; the margin did on ~12–17%. Its
threshold is the lowest margin whose sends reach the target precision over the
calibration slice plus the fit part's tickets, each scored without its own index entry
(leave-one-out): ~640 tickets there, where the calibration slice alone had ~100 and the
threshold hung on a single ticket; and the precision that must reach the target there is
its Wilson lower bound (`SAFE_PRECISION_Z`).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.calibration import _lowest_threshold
from triage.features import normalize_text

ALPHAS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
# Heads whose predicted class is a prior over the entries (each entry carries the class of
# its KB article or past ticket): score + w · log P(entry's class | ticket).
PRIOR_HEADS = ("category", "subcategory")
PRIOR_WEIGHTS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12)
# log P is floored so that one confident head cannot rule an entry out entirely.
PRIOR_FLOOR = 1e-4
# recall@k is also reported for k = 1..RECALL_CURVE_K (the benchmark report's recall@k curve).
RECALL_CURVE_K = 10
BODY_WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5)
# A wrong auto-reply goes to a customer unseen, and the threshold rests on few sends (tens
# at the cut): it must reach the target precision with one standard error to spare (the
# Wilson lower bound at z = 1), not just on average.
SAFE_PRECISION_Z = 1.0
# Weight of the stem block against the char block in an entry's text vector.
STEM_WEIGHTS = (0.0, 0.5, 1.0, 1.5)


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
    # Per prior head: the class index of each entry (-1: none) and the weight of its log P.
    entry_classes: dict[str, np.ndarray] = field(default_factory=dict)
    prior_weights: dict[str, float] = field(default_factory=dict)
    # A query keeps its `query_terms` largest TF-IDF values (0: all). The weakest terms are
    # the most common n-grams, which have the longest posting lists: on the demo desk the top
    # 300 of ~860 read a quarter of the postings, at 0.4 points of rutube recall@1.
    query_terms: int = 0

    def similarities(
        self, q_tfidf: sp.csr_matrix, q_emb: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The queries' TF-IDF and embedding cosines to every entry (n × entries each; the
        second None without embeddings): what `scores` blends. Tuning the blend and the
        priors scores the same queries dozens of times, so it computes these once."""
        q_tfidf = keep_largest(sp.csr_matrix(q_tfidf), self.query_terms)
        text = np.asarray((q_tfidf @ self.entry_tfidf.T).todense(), dtype=np.float64)
        emb = None
        if self.entry_emb is not None and q_emb is not None:
            emb = q_emb.astype(np.float64) @ self.entry_emb.T.astype(np.float64)
        return text, emb

    def scores(
        self,
        q_tfidf: sp.csr_matrix | None,
        q_emb: np.ndarray | None,
        alpha: float | None = None,
        priors: dict[str, np.ndarray] | None = None,
        weights: dict[str, float] | None = None,
        exclude: np.ndarray | None = None,
        sims: tuple[np.ndarray, np.ndarray | None] | None = None,
    ) -> np.ndarray:
        """Target scores for a batch of queries (n × n_targets).

        `priors` maps a prior head to the queries' class probabilities (n × classes);
        `weights` overrides `prior_weights` (tuning); `exclude` names one entry per query
        that does not count (-1: none), a ticket's own entry when it is scored leave-one-out;
        `sims`: the queries' `similarities`, when already computed (the query vectors are
        then not read).
        """
        alpha = self.alpha if alpha is None else alpha
        text, emb = self.similarities(q_tfidf, q_emb) if sims is None else sims
        s = text * alpha
        if emb is not None and alpha < 1.0:
            s += (1.0 - alpha) * emb
        s += self.prior(priors, weights)
        if exclude is not None:
            rows = np.flatnonzero(exclude >= 0)
            s[rows, exclude[rows]] = -np.inf
        return np.maximum.reduceat(s, self.target_start, axis=1)

    def prior(self, priors: dict[str, np.ndarray] | None, weights: dict[str, float] | None = None):
        """Σ_h w_h · log P_h(entry's class) for each query and entry (0 where unknown)."""
        weights = self.prior_weights if weights is None else weights
        total = 0.0
        for head, w in weights.items():
            if not w or priors is None or head not in priors:
                continue
            classes = self.entry_classes[head]
            logp = np.log(np.maximum(priors[head], PRIOR_FLOOR)).astype(np.float64)
            total = total + w * np.where(classes >= 0, logp[:, np.maximum(classes, 0)], 0.0)
        return total


def send_confidence(target_scores: np.ndarray) -> np.ndarray:
    """How safe sending the best target is, per query: its score minus the runner-up's
    (the best score itself when there is one target). `triage.predictor` computes the same."""
    if target_scores.shape[1] < 2:
        return target_scores[:, 0].copy()
    top2 = -np.partition(-target_scores, 1, axis=1)[:, :2]
    return top2[:, 0] - top2[:, 1]


def answer_template(text: str) -> str:
    """The reusable part of an agent's answer: without its greeting and its sign-off.

    Agents personalise answers ("Hi Sarah," … "Best regards, Tom / Support"): kept whole,
    each answer would be a target of its own that no later ticket can match, and an
    auto-reply would greet the next customer by someone else's name. With three or more
    blank-line separated paragraphs, a short first one (≤ 60 characters) and a short last
    one (≤ 200), the middle is the template; otherwise the whole text is.
    """
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if len(paragraphs) >= 3 and len(paragraphs[0]) <= 60 and len(paragraphs[-1]) <= 200:
        return "\n\n".join(paragraphs[1:-1])
    return text.strip()


def _answer_key(text: str) -> str:
    return "answer:" + hashlib.sha1(normalize_text(answer_template(text)).encode()).hexdigest()[:16]


def gold_target(ticket, kb_ids: set[str]) -> str | None:
    """The target a ticket's history says was the right answer: `kb:ID` for a KB article
    in `kb_ids`, `answer:HASH` for an agent answer's template, None when unanswered."""
    if ticket.kb_article_id and ticket.kb_article_id in kb_ids:
        return f"kb:{ticket.kb_article_id}"
    if ticket.agent_answer:
        return _answer_key(ticket.agent_answer)
    return None


def _entry_classes(sources: list[tuple[str, int]], corpus, head) -> np.ndarray:
    """The class index (in `head.classes`) of each entry's KB article or ticket, -1 if none."""
    index = {c: i for i, c in enumerate(head.classes)}
    out = np.full(len(sources), -1, dtype=np.int64)
    for e, (kind, j) in enumerate(sources):
        item = corpus.articles[j] if kind == "kb" else corpus.tickets[j]
        value = (
            getattr(item, head.field, None) if kind == "ticket" else getattr(item, head.name, None)
        )
        out[e] = index.get(value, -1) if isinstance(value, str) else -1
    return out


def keep_largest(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Each row's `k` largest values (all of them for k = 0), as `triage.predictor` keeps a
    query's strongest terms (ties: the earlier column)."""
    if not k or (np.diff(matrix.indptr) <= k).all():
        return matrix
    # All rows at once (a loop over rows took seconds for the few thousand queries that
    # tune the auto-reply): each row's k-th largest value from a partition of the rows laid
    # side by side, then the values above it and, of those equal to it, the earliest.
    lengths = np.diff(matrix.indptr)
    row = np.repeat(np.arange(matrix.shape[0]), lengths)
    within = np.arange(matrix.nnz) - matrix.indptr[row]
    laid = np.full((matrix.shape[0], int(lengths.max())), -np.inf, dtype=matrix.data.dtype)
    laid[row, within] = matrix.data
    kth = -np.partition(-laid, k - 1, axis=1)[:, k - 1]  # -inf for a row shorter than k
    above = matrix.data > kth[row]
    tied = matrix.data == kth[row]
    tied_before = np.r_[0, np.cumsum(tied)]  # tied values before each position
    tied_rank = tied_before[:-1] - tied_before[matrix.indptr[row]]  # ... in the same row
    room = k - np.bincount(row, weights=above, minlength=matrix.shape[0]).astype(np.int64)
    keep = above | (tied & (tied_rank < room[row]))
    indptr = np.r_[0, np.cumsum(np.bincount(row[keep], minlength=matrix.shape[0]))]
    return sp.csr_matrix(
        (matrix.data[keep].astype(np.float32), matrix.indices[keep], indptr),
        shape=matrix.shape,
    )


def tune_prior_weights(
    matcher: Matcher, q_text, q_emb, gold: np.ndarray, priors: dict[str, np.ndarray]
) -> dict[str, float]:
    """Prior weight per head (a small grid, heads in turn) ranking `gold` best: recall@1,
    then @5."""
    weights = {h: 0.0 for h in priors if h in matcher.entry_classes}
    sims = matcher.similarities(q_text, q_emb)
    for head in list(weights):

        def quality(w: float, head: str = head) -> tuple[float, float, float]:
            s = matcher.scores(None, None, priors=priors, weights={**weights, head: w}, sims=sims)
            return _recall(s, gold, 1), _recall(s, gold, 5), -w

        weights[head] = max(PRIOR_WEIGHTS, key=quality)
    return weights


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


def query_text(corpus, rows, char: slice) -> sp.csr_matrix:
    """The matcher's text vectors of tickets `rows`: their char block, then their stems."""
    blocks = [corpus.x_text[rows][:, char]]
    if corpus.x_stem is not None:
        blocks.append(corpus.x_stem[rows])
    return sp.hstack(blocks, format="csr", dtype=np.float32)


def kb_vectors(
    corpus,
    char: slice,
    body_weight: float,
    stem_weight: float = 1.0,
) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """KB entry vectors: question + `body_weight` × answer, in the char block, the stem block
    (× `stem_weight`) and the embedding."""

    def field(text, body):
        return text + body_weight * body if body_weight and body is not None else text

    blocks = [
        field(
            corpus.kb_text[:, char],
            corpus.kb_body_text[:, char] if corpus.kb_body_text is not None else None,
        )
    ]
    if corpus.x_stem is not None:
        blocks.append(stem_weight * field(corpus.kb_stem, corpus.kb_body_stem))
    emb = None
    if corpus.kb_emb is not None:
        emb = field(corpus.kb_emb, corpus.kb_body_emb).astype(np.float32)
    return sp.hstack(blocks, format="csr", dtype=np.float32), emb


def tune_kb_weights(
    corpus,
    char: slice,
    rows: list[int],
    gold: np.ndarray,
) -> tuple[float, float, float, dict]:
    """(body weight, blend weight, stem weight) ranking the gold KB article best for `rows`.

    Against the KB alone; chosen on recall@1, then recall@5; ties go to the simpler setting
    (less body, more TF-IDF, less stem). `rows` must come from the training part.
    """
    q_char = corpus.x_text[rows][:, char]
    q_stem = corpus.x_stem[rows] if corpus.x_stem is not None else None
    q_emb = corpus.x_emb[rows] if corpus.x_emb is not None else None
    alphas = ALPHAS if corpus.kb_emb is not None else (1.0,)
    stem_weights = STEM_WEIGHTS if q_stem is not None else (0.0,)
    n_char = q_char.shape[1]
    grid = {}
    for w in BODY_WEIGHTS:
        kb, kb_emb = kb_vectors(corpus, char, w)
        by_char = np.asarray((q_char @ kb[:, :n_char].T).todense(), dtype=np.float64)
        by_stem = (
            np.asarray((q_stem @ kb[:, n_char:].T).todense(), dtype=np.float64)
            if q_stem is not None
            else 0.0
        )
        by_emb = (
            q_emb.astype(np.float64) @ kb_emb.T.astype(np.float64) if kb_emb is not None else 0.0
        )
        for g in stem_weights:
            text = by_char + g * by_stem
            for a in alphas:
                s = a * text + (1.0 - a) * by_emb
                grid[(w, a, g)] = (_recall(s, gold, 1), _recall(s, gold, 5))
    w, a, g = max(grid, key=lambda k: (grid[k], -k[0], k[1], -k[2]))
    return (
        float(w),
        float(a),
        float(g),
        {
            "recall_at_1": grid[(w, a, g)][0],
            "recall_at_5": grid[(w, a, g)][1],
            "n": len(rows),
        },
    )


# Complexity 26: the matcher's stages (answers, KB, priors, thresholds, evaluation) share
# the split indices and the fitted vectorizer; to be split by stage (issue 12 follow-up).
def build_matcher(  # noqa: C901
    corpus,
    vectorizer,
    train_idx,
    cal_idx,
    test_idx,
    config,
    priors=None,
) -> tuple[Matcher | None, dict | None]:
    """Build the index from KB articles and the fit part's answered tickets; evaluate it.

    `priors` maps a head in `PRIOR_HEADS` to its `HeadReport`: its class probabilities
    for tickets it never saw (`held_out_proba`) tune and evaluate the category prior.
    """
    priors = priors or {}
    if corpus.x_text is None or vectorizer is None:
        return None, None
    n_word, n_char = vectorizer.n_word, vectorizer.n_char
    char = slice(n_word, n_word + n_char)
    tickets = corpus.tickets
    kb_ids = {a.id for a in corpus.articles}
    cal_set = set(cal_idx.tolist())
    fit_rows = [i for i in train_idx.tolist() if i not in cal_set]

    # Body, blend and stem weights from the training part's questions against the KB alone.
    body_weight, tuned_alpha, stem_weight, tuning = 0.0, None, 1.0, None
    if corpus.articles and corpus.kb_text is not None:
        kb_index = {a.id: j for j, a in enumerate(corpus.articles)}
        rows = [i for i in train_idx.tolist() if tickets[i].kb_article_id in kb_index]
        if len(rows) >= 10:
            gold = np.array([kb_index[tickets[i].kb_article_id] for i in rows], dtype=np.int64)
            body_weight, tuned_alpha, stem_weight, tuning = tune_kb_weights(
                corpus, char, rows, gold
            )
    kb_char, kb_emb = (
        kb_vectors(corpus, char, body_weight, stem_weight)
        if corpus.articles and corpus.kb_text is not None
        else (None, None)
    )
    stem_scale = np.ones(n_char + (corpus.x_stem.shape[1] if corpus.x_stem is not None else 0))
    stem_scale[n_char:] = stem_weight

    # (target key, source) per entry; source: ("kb", article index) or ("ticket", row).
    entries: list[tuple[str, tuple[str, int]]] = []
    targets: dict[str, dict[str, Any]] = {}
    for j, article in enumerate(corpus.articles):
        key = f"kb:{article.id}"
        targets[key] = {
            "answer_id": article.id,
            "kind": "kb",
            "text": article.body,
            "article_id": article.id,
        }
        entries.append((key, ("kb", j)))
    # Most recent answered tickets first, capped. An agent's answer becomes a target only
    # when its template recurs (`min_answer_uses`): a one-off answer is no template, and it
    # may carry another customer's details (an order number, what the agent did for them).
    gold_of = {i: gold_target(tickets[i], kb_ids) for i in fit_rows}
    uses = Counter(key for key in gold_of.values() if key is not None and key.startswith("answer:"))
    answered = [
        i
        for i in fit_rows
        if gold_of[i] is not None
        and (gold_of[i].startswith("kb:") or uses[gold_of[i]] >= config.min_answer_uses)
    ]
    answered.sort(
        key=lambda i: tickets[i].created_at.timestamp() if tickets[i].created_at else 0.0,
        reverse=True,
    )
    budget = config.index_max_values - (kb_char.nnz if kb_char is not None else 0)
    for i in answered[: config.answers_max]:
        budget -= corpus.x_text[i, char].nnz + (
            corpus.x_stem[i].nnz if corpus.x_stem is not None else 0
        )
        if budget < 0:
            break
        key = gold_target(tickets[i], kb_ids)
        if key not in targets:
            targets[key] = {
                "answer_id": f"answer-{tickets[i].id}",
                "kind": "answer",
                "text": answer_template(tickets[i].agent_answer),
                "article_id": None,
            }
        entries.append((key, ("ticket", i)))
    if not entries:
        return None, None

    keys = sorted(targets)
    key_index = {k: t for t, k in enumerate(keys)}
    order = sorted(range(len(entries)), key=lambda e: key_index[entries[e][0]])
    entry_target = np.array([key_index[entries[e][0]] for e in order], dtype=np.int64)
    target_start = np.flatnonzero(np.r_[True, entry_target[1:] != entry_target[:-1]])

    sources = [entries[e][1] for e in order]
    ticket_rows = [j for kind, j in sources if kind == "ticket"]
    from_tickets = query_text(corpus, ticket_rows, char).multiply(stem_scale[None, :]).tocsr()
    position = {row: k for k, row in enumerate(ticket_rows)}
    entry_tfidf = sp.vstack(
        [kb_char[j] if kind == "kb" else from_tickets[position[j]] for kind, j in sources],
        format="csr",
        dtype=np.float32,
    )
    entry_emb = None
    if corpus.x_emb is not None:
        entry_emb = np.stack(
            [
                kb_emb[entries[e][1][1]]
                if entries[e][1][0] == "kb"
                else corpus.x_emb[entries[e][1][1]]
                for e in order
            ]
        ).astype(np.float32)
    matcher = Matcher(
        entry_tfidf=entry_tfidf,
        entry_emb=entry_emb,
        entry_target=entry_target,
        target_start=target_start,
        targets=[targets[k] for k in keys],
        alpha=1.0,
        safe_threshold=None,
        entry_classes={h: _entry_classes(sources, corpus, r) for h, r in priors.items()},
        query_terms=config.match_query_terms,
    )

    def prior_of(rows) -> dict[str, np.ndarray]:
        return {h: r.held_out_proba[rows] for h, r in priors.items()}

    def queries(rows: list[int], reachable: bool = True):
        """Tickets with a known answer: query vectors, gold target (-1: not in the index), priors.

        Recall is measured where the gold answer is in the index (`reachable`); whether an
        answer is safe to send is judged over every answered ticket, because sending any
        target to a ticket whose real answer is not in the index is a wrong answer.
        """
        golds = {
            i: key_index.get(gold_target(tickets[i], kb_ids), -1)
            for i in rows
            if gold_target(tickets[i], kb_ids)
        }
        rows = [i for i, g in golds.items() if g >= 0 or not reachable]
        gold = np.array([golds[i] for i in rows], dtype=np.int64)
        q_emb = corpus.x_emb[rows] if corpus.x_emb is not None else None
        return query_text(corpus, rows, char), q_emb, gold, prior_of(rows), rows

    cal_q, cal_e, cal_gold, cal_p, _ = queries(cal_idx.tolist())
    test_q, test_e, test_gold, test_p, _ = queries(test_idx.tolist())
    alphas = ALPHAS if entry_emb is not None else (1.0,)
    if tuned_alpha is not None:
        matcher.alpha = tuned_alpha
    elif len(cal_gold) >= 10 and len(alphas) > 1:
        cal_sims = matcher.similarities(cal_q, cal_e)
        best = max(
            alphas,
            key=lambda a: (_recall(matcher.scores(None, None, a, sims=cal_sims), cal_gold, 1), a),
        )
        matcher.alpha = float(best)
    elif entry_emb is not None:
        matcher.alpha = 0.7  # what the probes on rutube preferred when nothing can be tuned

    # The KB alone: the benchmark, and where the prior weights are tuned when the
    # data has a KB (on the training part's questions, like the blend above).
    kb_entries = np.array([kind == "kb" for kind, _ in sources])
    kb_matcher = None
    if kb_entries.any():
        kb_matcher = Matcher(
            entry_tfidf=entry_tfidf[kb_entries],
            entry_emb=entry_emb[kb_entries] if entry_emb is not None else None,
            entry_target=np.arange(kb_entries.sum()),
            target_start=np.arange(kb_entries.sum()),
            targets=[],
            alpha=matcher.alpha,
            safe_threshold=None,
            entry_classes={h: c[kb_entries] for h, c in matcher.entry_classes.items()},
            query_terms=matcher.query_terms,
        )
        kb_pos = {keys[t]: j for j, t in enumerate(entry_target[kb_entries])}
    if priors:
        if kb_matcher is not None and tuning is not None:
            rows = [i for i in train_idx.tolist() if f"kb:{tickets[i].kb_article_id}" in kb_pos]
            gold = np.array([kb_pos[f"kb:{tickets[i].kb_article_id}"] for i in rows])
            q_emb = corpus.x_emb[rows] if corpus.x_emb is not None else None
            weights = tune_prior_weights(
                kb_matcher, query_text(corpus, rows, char), q_emb, gold, prior_of(rows)
            )
        elif len(cal_gold) >= 10:
            weights = tune_prior_weights(matcher, cal_q, cal_e, cal_gold, cal_p)
        else:
            weights = {}
        matcher.prior_weights = {h: w for h, w in weights.items() if w}
        if kb_matcher is not None:
            kb_matcher.prior_weights = matcher.prior_weights

    report: dict[str, Any] = {
        "alpha": matcher.alpha,
        "body_weight": body_weight,
        "stem_weight": stem_weight,
        "entries": len(entries),
        "targets": len(keys),
        "prior_weights": matcher.prior_weights,
    }
    if tuning is not None:
        report["tuned_on_training_part"] = tuning
    # Safe threshold on the margin (`send_confidence`), over every answered ticket (reachable
    # or not) of the calibration slice and of the fit part, the latter scored without its
    # own entry; when they are too few, on the test part (flagged as such).
    entry_of_row = {j: e for e, (kind, j) in enumerate(sources) if kind == "ticket"}
    where = "calibration slice + fit part (leave-one-out)"
    source_q, source_e, source_gold, source_p, source_rows = queries(
        cal_idx.tolist() + fit_rows, reachable=False
    )
    if len(source_gold) < 30:
        where = "test (calibration slice and fit part too small)"
        source_q, source_e, source_gold, source_p, source_rows = queries(
            test_idx.tolist(), reachable=False
        )
    if len(source_gold):
        exclude = np.array([entry_of_row.get(i, -1) for i in source_rows], dtype=np.int64)
        s = matcher.scores(source_q, source_e, priors=source_p, exclude=exclude)
        t = _lowest_threshold(
            send_confidence(s),
            s.argmax(axis=1) == source_gold,
            config.target_precision,
            z=SAFE_PRECISION_Z,
        )
        matcher.safe_threshold = t
    report["safe_threshold"] = matcher.safe_threshold
    report["safe_confidence"] = "margin"
    report["safe_threshold_fitted_on"] = where
    if len(test_gold):
        s = matcher.scores(test_q, test_e, priors=test_p)
        report.update(
            recall_at_1=_recall(s, test_gold, 1),
            recall_at_5=_recall(s, test_gold, 5),
            recall_at_k=_recall_curve(s, test_gold),
            n_eval=len(test_gold),
        )
        all_q, all_e, all_gold, all_p, _ = queries(test_idx.tolist(), reachable=False)
        s = matcher.scores(all_q, all_e, priors=all_p)
        top = s.argmax(axis=1)
        safe = (
            send_confidence(s) >= matcher.safe_threshold
            if matcher.safe_threshold is not None
            else np.zeros(len(top), bool)
        )
        report.update(
            coverage_at_safe_threshold=float(safe.mean()),
            precision_at_safe_threshold=float(np.mean(top[safe] == all_gold[safe]))
            if safe.any()
            else None,
            n_answered=len(all_gold),
        )
    # The benchmark: the test part's tickets with a gold KB article against the KB alone.
    # Only the test part: the body, blend, stem and prior weights were tuned to rank the
    # training part's gold articles first, so scoring those tickets too (as this did up to
    # issue 13, over every ticket) reported the tuning's own fit: recall@1 1.000 on the
    # demo desk. `n_eval_training_part` and `recall_at_1_training_part` keep that figure
    # beside the honest one, so the gap stays visible.
    test_set = set(test_idx.tolist())
    kb_rows = [i for i in sorted(test_set) if tickets[i].kb_article_id in kb_ids]
    fit_kb_rows = [i for i in train_idx.tolist() if tickets[i].kb_article_id in kb_ids]
    if kb_matcher is not None and kb_rows:
        q_emb = corpus.x_emb[kb_rows] if corpus.x_emb is not None else None
        gold = np.array([kb_pos[f"kb:{tickets[i].kb_article_id}"] for i in kb_rows])
        s = kb_matcher.scores(query_text(corpus, kb_rows, char), q_emb, priors=prior_of(kb_rows))
        report["kb_only"] = {
            "recall_at_1": _recall(s, gold, 1),
            "recall_at_5": _recall(s, gold, 5),
            "recall_at_k": _recall_curve(s, gold),
            "n_eval": len(kb_rows),
            "evaluated_on": "test part",
        }
        if fit_kb_rows:
            f_emb = corpus.x_emb[fit_kb_rows] if corpus.x_emb is not None else None
            f_gold = np.array([kb_pos[f"kb:{tickets[i].kb_article_id}"] for i in fit_kb_rows])
            f_s = kb_matcher.scores(
                query_text(corpus, fit_kb_rows, char), f_emb, priors=prior_of(fit_kb_rows)
            )
            report["kb_only"]["recall_at_1_training_part"] = _recall(f_s, f_gold, 1)
            report["kb_only"]["n_eval_training_part"] = len(fit_kb_rows)
        # The served threshold (fitted with the full index) applied to the KB alone.
        if matcher.safe_threshold is not None:
            safe = send_confidence(s) >= matcher.safe_threshold
            right = s.argmax(axis=1) == gold
            report["kb_only"]["coverage_at_safe_threshold"] = float(safe.mean())
            report["kb_only"]["precision_at_safe_threshold"] = (
                float(right[safe].mean()) if safe.any() else None
            )
    return matcher, report
