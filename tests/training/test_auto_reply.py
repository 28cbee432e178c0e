"""The auto-reply matcher: answer templates, and the served bundle keeping the trained figures."""

from __future__ import annotations

import json

import pytest

from training.auto_reply import answer_template, gold_target
from triage.dataset import iter_articles, iter_tickets, kb_path_for
from triage.predictor import OnnxTriager


def test_answer_template_drops_greeting_and_sign_off() -> None:
    personal = (
        "Hi Sarah,\n\nYou can change the address under Orders > Details.\n\nBest "
        "regards,\nTom\nSupport"
    )
    assert answer_template(personal) == "You can change the address under Orders > Details."
    # Two middle paragraphs stay together; a long first paragraph is content, not a greeting.
    long_first = (
        "Thanks for the detailed report about the failing exports on your workspace!\n\nA\n\nB"
    )
    assert answer_template(long_first) == long_first
    assert answer_template("Hello,\n\nStep one.\n\nStep two.\n\nCheers") == "Step one.\n\nStep two."
    assert answer_template("Restart the app.") == "Restart the app."


@pytest.mark.slow
def test_served_bundle_sends_what_training_measured(demo_training, demo_tickets_file) -> None:
    """Safe-to-send coverage and precision on the test split, recomputed from the served bundle."""
    report = demo_training.auto_reply
    tickets = {t.id: t for t in iter_tickets(demo_tickets_file)}
    kb_ids = {a.id for a in iter_articles(kb_path_for(demo_tickets_file))}
    test = [tickets[i] for i in demo_training.heads["category"].test_ids]
    answered = [t for t in test if gold_target(t, kb_ids) is not None]
    results = OnnxTriager.from_path(demo_training.bundle_dir).triage_batch(answered)
    sent = right = 0
    for ticket, result in zip(answered, results, strict=True):
        reply = result.auto_reply
        if reply is None or not reply.safe_to_send:
            continue
        sent += 1
        served = (
            f"kb:{reply.article_id}"
            if reply.kind == "kb"
            else gold_target(tickets[reply.answer_id.removeprefix("answer-")], kb_ids)
        )
        right += served == gold_target(ticket, kb_ids)
    assert report["n_answered"] == len(answered)
    # Within one ticket: a score a hair from the threshold may round the other way.
    assert abs(sent - report["coverage_at_safe_threshold"] * len(answered)) <= 1
    if report["precision_at_safe_threshold"] is not None and sent:
        assert abs(right - report["precision_at_safe_threshold"] * sent) <= 1
    # Answer targets are templates, never a customer's personal greeting.
    targets = json.loads((demo_training.bundle_dir / "auto_reply.json").read_text())
    for target in targets:
        if target["kind"] == "answer":
            assert answer_template(target["text"]) == target["text"]


def test_send_confidence_is_the_lead_over_the_runner_up() -> None:
    import numpy as np

    from training.auto_reply import send_confidence

    scores = np.array([[0.9, 0.2, 0.7], [0.5, 0.5, 0.1], [0.3, -np.inf, 0.0]])
    np.testing.assert_allclose(send_confidence(scores), [0.2, 0.0, 0.3])
    np.testing.assert_allclose(send_confidence(np.array([[0.4], [0.8]])), [0.4, 0.8])


@pytest.mark.slow
def test_margin_threshold_is_recorded_and_old_bundles_keep_the_score_rule(
    demo_training, demo_tickets_file, tmp_path
) -> None:
    """The manifest says the threshold is on the margin; a bundle written before the rule
    (no `safe_confidence`) still compares the score, as it was trained to."""
    import shutil

    manifest = json.loads((demo_training.bundle_dir / "manifest.json").read_text())
    assert manifest["auto_reply"]["safe_confidence"] == "margin"
    assert demo_training.auto_reply["safe_threshold_fitted_on"].startswith(
        "calibration slice + fit part"
    )
    old = tmp_path / "old"
    shutil.copytree(demo_training.bundle_dir, old)
    data = json.loads((old / "manifest.json").read_text())
    del data["auto_reply"]["safe_confidence"]
    data["auto_reply"]["safe_threshold"] = 10.0  # no score reaches it; a margin rule would not care
    (old / "manifest.json").write_text(json.dumps(data))  # not among the checksummed files
    tickets = list(iter_tickets(demo_tickets_file))[:200]
    new = OnnxTriager.from_path(demo_training.bundle_dir).triage_batch(tickets)
    assert any(
        r.auto_reply and r.auto_reply.safe_to_send for r in new
    )  # the margin rule sends some
    for result in OnnxTriager.from_path(old).triage_batch(tickets):
        assert result.auto_reply is None or not result.auto_reply.safe_to_send


def test_keep_largest_keeps_each_rows_strongest_terms_ties_to_the_earlier_column() -> None:
    import numpy as np
    import scipy.sparse as sp

    from training.auto_reply import keep_largest

    m = sp.csr_matrix(
        np.array(
            [
                [0.1, 0.5, 0.0, 0.5, 0.2],  # a tie at the cut: the earlier column stays
                [0.0, 0.0, 0.3, 0.0, 0.0],  # fewer terms than k: all kept
                [0.0, 0.0, 0.0, 0.0, 0.0],  # an empty query
                [0.4, 0.3, 0.2, 0.1, 0.9],
            ],
            dtype=np.float32,
        )
    )
    kept = keep_largest(m, 2).toarray()
    expected = np.array(
        [
            [0.0, 0.5, 0.0, 0.5, 0.0],
            [0.0, 0.0, 0.3, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [0.4, 0.0, 0.0, 0.0, 0.9],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(kept, expected)
    ties = sp.csr_matrix(np.array([[0.2, 0.2, 0.2, 0.2]], dtype=np.float32))
    np.testing.assert_array_equal(keep_largest(ties, 3).toarray(), ties.toarray() * [1, 1, 1, 0])
    assert keep_largest(m, 0) is m


def test_scores_from_precomputed_similarities_match_the_query_vectors() -> None:
    """Tuning scores the same queries many times from one `similarities` call."""
    import numpy as np
    import scipy.sparse as sp

    from training.auto_reply import Matcher

    rng = np.random.default_rng(1)
    entries = sp.random(6, 40, density=0.3, format="csr", random_state=1, dtype=np.float32)
    queries = sp.random(5, 40, density=0.5, format="csr", random_state=2, dtype=np.float32)
    q_emb = rng.normal(size=(5, 8)).astype(np.float32)
    matcher = Matcher(
        entry_tfidf=entries,
        entry_emb=rng.normal(size=(6, 8)).astype(np.float32),
        entry_target=np.array([0, 0, 1, 2, 2, 2]),
        target_start=np.array([0, 2, 3]),
        targets=[{}, {}, {}],
        alpha=0.6,
        safe_threshold=None,
        entry_classes={"category": np.array([0, 1, 1, -1, 0, 1])},
        query_terms=4,
    )
    priors = {"category": rng.dirichlet([1.0, 1.0], size=5)}
    sims = matcher.similarities(queries, q_emb)
    for alpha in (0.0, 0.6, 1.0):
        direct = matcher.scores(queries, q_emb, alpha, priors, {"category": 0.05})
        reused = matcher.scores(None, None, alpha, priors, {"category": 0.05}, sims=sims)
        np.testing.assert_array_equal(direct, reused)
        assert direct.shape == (5, 3)
