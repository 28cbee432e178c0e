"""The auto-reply matcher's index (`triage.inference.auto_reply`) against dense numpy:
the inverted-index product, the blend with embeddings and priors, and when an answer is
safe to send."""

from __future__ import annotations

import numpy as np
import pytest

from triage.inference.auto_reply import AutoReplyIndex

# Four entries (two per target) over six char columns.
ENTRIES = np.array(
    [
        [0.5, 0.0, 0.2, 0.0, 0.0, 0.1],
        [0.0, 0.3, 0.0, 0.0, 0.4, 0.0],
        [0.0, 0.0, 0.0, 0.9, 0.0, 0.0],
        [0.2, 0.0, 0.0, 0.0, 0.0, 0.7],
    ]
)
TARGETS = [
    {"answer_id": "kb-1", "kind": "kb", "text": "Reset it here.", "article_id": "KB-1"},
    {"answer_id": "macro-2", "kind": "macro", "text": "We refunded you."},
]


def _index(**kwargs) -> AutoReplyIndex:  # type: ignore[no-untyped-def]
    indptr, indices, data = [0], [], []
    for row in ENTRIES:
        nz = np.flatnonzero(row)
        indices.extend(nz.tolist())
        data.extend(row[nz].tolist())
        indptr.append(len(indices))
    values = {
        "indptr": np.array(indptr),
        "indices": np.array(indices),
        "data": np.array(data),
        "n_columns": ENTRIES.shape[1],
        "target_start": np.array([0, 2]),
        "alpha": 1.0,
        "threshold": 0.3,
        "targets": TARGETS,
    }
    values.update(kwargs)
    return AutoReplyIndex(**values)


def test_tfidf_scores_are_the_dense_product() -> None:
    columns, values = np.array([0, 3, 5]), np.array([1.0, 0.5, 2.0])
    query = np.zeros(ENTRIES.shape[1])
    query[columns] = values
    assert _index().tfidf_scores(columns, values) == pytest.approx(ENTRIES @ query)


def test_only_the_strongest_query_terms_count() -> None:
    columns, values = np.array([0, 3, 5]), np.array([1.0, 0.5, 2.0])
    query = np.zeros(ENTRIES.shape[1])
    query[[0, 5]] = [1.0, 2.0]
    got = _index(query_terms=2).tfidf_scores(columns, values)
    assert got == pytest.approx(ENTRIES @ query)


def test_best_takes_each_targets_best_entry_and_its_lead() -> None:
    scores = np.array([0.2, 0.1, 0.9, 0.4])
    assert _index().best(scores, None) == (1, pytest.approx(0.9), pytest.approx(0.7))


def test_embeddings_and_priors_blend_in() -> None:
    index = _index(
        alpha=0.5,
        vectors=np.eye(4, dtype=np.float32),
        priors=[(0, np.array([0, 0, 1, -1]), 1.0)],
    )
    text, emb = np.array([0.2, 0.1, 0.4, 0.4]), np.array([0.0, 0.0, 0.0, 0.8])
    proba = np.array([0.25, 0.75])  # the ticket's two classes of the prior's head
    _, score, _ = index.best(text, emb, proba)
    # Entry 3 (no class: no prior) 0.5·0.4 + 0.5·0.8 against entry 2, 0.5·0.4 + log 0.75.
    assert score == pytest.approx(max(0.6, 0.2 + np.log(0.75)))
    assert index.embedding_scores(np.ones((2, 4), dtype=np.float32)).shape == (4, 2)


def test_safe_to_send_needs_the_threshold_and_a_supported_language() -> None:
    scores = np.array([0.2, 0.1, 0.9, 0.4])
    reply = _index().match(scores, None, np.array([]), unsupported=False)
    assert (reply.answer_id, reply.kind, reply.safe_to_send) == ("macro-2", "macro", True)
    assert not _index().match(scores, None, np.array([]), unsupported=True).safe_to_send
    assert not _index(threshold=0.95).match(scores, None, np.array([]), False).safe_to_send
    assert not _index(threshold=None).match(scores, None, np.array([]), False).safe_to_send
    # By margin: the lead over the runner-up (0.9 - 0.2) must reach the threshold.
    assert (
        _index(by_margin=True, threshold=0.7).match(scores, None, np.array([]), False).safe_to_send
    )
    assert (
        not _index(by_margin=True, threshold=0.75)
        .match(scores, None, np.array([]), False)
        .safe_to_send
    )


def test_nothing_matches_without_a_positive_score() -> None:
    assert _index().match(np.zeros(4), None, np.array([]), unsupported=False) is None
