"""The gradient-boosted structured-fields head: ONNX parity, competition and serving."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from training.boosted import BoostedHead, boosted_graph
from training.pipeline import TrainConfig, train
from triage.contract import Ticket
from triage.dataset import write_tickets


def _synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-hot categoricals, a scaled numeric and a missing indicator; 3 classes that
    depend on an interaction of two fields."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, n)
    b = rng.integers(0, 3, n)
    num = rng.normal(size=n)
    missing = rng.random(n) < 0.1
    x = np.hstack(
        [
            np.eye(4)[a],
            np.eye(3)[b],
            np.where(missing, 0.0, num)[:, None],
            missing[:, None].astype(float),
        ]
    ).astype(np.float32)
    y = ((a % 2) ^ (b == 1)) + (num > 1.0)
    return x, y.astype(np.int64)


def test_the_tree_graph_gives_scikit_learns_probabilities() -> None:
    import onnxruntime as ort

    x, y = _synthetic(600)
    head = BoostedHead(4, max_iter=30).fit(None, None, x, y)  # class 3 never seen
    graph = boosted_graph(head, x.shape[1])
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    x_new, _ = _synthetic(200, seed=1)
    label, proba = session.run(None, {"input": x_new})
    expected = head.model_.predict_proba(x_new)
    assert proba.shape == expected.shape == (200, 3)
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    np.testing.assert_array_equal(head.classes_, [0, 1, 2])
    # The unseen class never wins; the seen ones are the trees' log-probabilities.
    logits = head.logits(None, None, x_new)
    assert (logits.argmax(axis=1) != 3).all()
    np.testing.assert_allclose(np.exp(logits[:, :3]), expected, atol=1e-6)


def _interaction_tickets(n: int, seed: int = 5) -> list[Ticket]:
    """Escalation decided by an interaction of two fields (XOR: no linear model over their
    one-hot columns can fit it); the text says nothing about it."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    words = ["printer", "laptop", "screen", "mouse", "email", "calendar", "vpn", "badge"]
    out = []
    for i in range(n):
        product, region = int(rng.integers(0, 2)), int(rng.integers(0, 2))
        escalated = bool(product ^ region) if rng.random() < 0.95 else bool(rng.integers(0, 2))
        out.append(
            Ticket(
                id=f"H{i}",
                created_at=start + timedelta(hours=5 * i),
                subject=" ".join(rng.choice(words, 2)),
                body=" ".join(rng.choice(words, 5)),
                escalated=escalated,
                extra={"product": f"prod{product}", "region": f"reg{region}"},
            )
        )
    return out


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
def test_a_boosted_winner_serves_without_scikit_learn(tmp_path) -> None:
    tickets = _interaction_tickets(500)
    path = tmp_path / "hgb.parquet"
    write_tickets(path, tickets)
    config = TrainConfig(encoder=None, bundle_name="hgb", split="stratified", n_jobs=1)
    report = train(path, tmp_path / "hgb", config)
    head = report.heads["escalation"]
    sel = head.metrics["selection"]
    assert sel["winner"] == "hgb", sel["oof"]
    assert sel["oof"]["hgb"] > sel["oof"]["fields"] + 0.2
    assert "hgb" in head.baselines
    manifest = json.loads((report.bundle_dir / "manifest.json").read_text())
    entry = next(h for h in manifest["heads"] if h["name"] == "escalation")
    assert entry["graph"]["kind"] == "hgb" and entry["graph"]["file"] in manifest["files"]

    by_id = {t.id: t for t in tickets}
    test = [by_id[i].model_dump(mode="json") for i in head.test_ids[:30]]
    script = (
        "import json, sys\n"
        "from triage.contract import Ticket\n"
        "from triage.predictor import OnnxTriager\n"
        f"t = OnnxTriager.from_path({str(report.bundle_dir)!r})\n"
        "tickets = [Ticket(**d) for d in json.loads(sys.stdin.read())]\n"
        "out = [{p.label: p.probability for p in r.escalation.top_k} "
        "for r in t.triage_batch(tickets)]\n"
        "heavy = sorted({'sklearn', 'torch'} & {m.split('.')[0] for m in sys.modules})\n"
        "print(json.dumps({'proba': out, 'heavy': heavy}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(test),
        capture_output=True,
        text=True,
        check=True,
    )
    served = json.loads(done.stdout.strip().splitlines()[-1])
    assert served["heavy"] == []
    expected = head.proba[:30]
    got = np.array([[p[c] for c in head.classes] for p in served["proba"]])
    np.testing.assert_allclose(got, expected, atol=1e-4)
