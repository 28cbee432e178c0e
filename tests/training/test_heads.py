"""Linear heads: the NB-SVM variant's folded weights score like the models it fitted."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from training.heads import LinearHead


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    n, n_text, n_emb = 300, 60, 8
    y = rng.integers(0, 3, n)
    text = sp.random(n, n_text, density=0.1, random_state=seed, format="lil", dtype=np.float32)
    # Each class owns a column, so the naive-Bayes ratios have something to find.
    for c in range(3):
        text[np.flatnonzero(y == c), c * 5] = 1.0
    emb = rng.normal(size=(n, n_emb)).astype(np.float32)
    meta = rng.normal(size=(n, 2)).astype(np.float32)
    return text.tocsr(), emb, meta, y


def test_nbsvm_folds_its_scaling_into_raw_feature_weights() -> None:
    text, emb, meta, y = _data()
    head = LinearHead(4, C=0.7, emb_weight=1.0, meta_weight=0.3, kind="nbsvm", tol=1e-4).fit(
        text, emb, meta, y
    )
    logits = head.logits(text, emb, meta)
    assert logits.shape == (len(y), 4)
    assert np.all(logits[:, 3] < -20)  # a class never seen in training never wins
    # Reference: one scaled one-vs-rest problem per class, scored on scaled features.
    x = sp.hstack([text, sp.csr_matrix(emb), sp.csr_matrix(meta * 0.3)], format="csr")
    members = np.stack([np.asarray(text[y == c].sum(axis=0)).ravel() for c in range(3)])
    for c in range(3):
        p, q = 1.0 + members[c], 1.0 + members.sum(axis=0) - members[c]
        scale = np.ones(x.shape[1])
        scale[: text.shape[1]] = np.abs(np.log((p / p.sum()) / (q / q.sum())))
        scaled = x.multiply(scale.astype(np.float32)).tocsr()
        svm = LinearSVC(C=0.7, random_state=42, max_iter=1500).fit(scaled, (y == c).astype(int))
        np.testing.assert_allclose(
            logits[:, c], svm.decision_function(scaled), rtol=1e-4, atol=1e-4
        )
    assert np.mean(logits.argmax(axis=1) == y) > 0.9


def test_nbsvm_binary_head_is_a_sigmoid_pair() -> None:
    text, emb, meta, y = _data(1)
    y = (y == 0).astype(np.int64)
    head = LinearHead(2, kind="nbsvm", class_weight={0: 1.0, 1: 2.0}, tol=1e-4).fit(
        text, emb, meta, y
    )
    logits = head.logits(text, emb, meta)
    assert np.allclose(logits[:, 0], 0.0)
    assert np.mean((logits[:, 1] > 0) == (y == 1)) > 0.9
