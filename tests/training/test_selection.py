"""Model selection per head: the baselines are candidates, and noise gets a verdict."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from training.pipeline import TrainConfig, train
from training.selection import bootstrap_margin, fast_auc
from triage.contract import Ticket
from triage.dataset import write_tickets
from triage_cli.train import selection_lines

WORDS = {
    "billing": "invoice refund charge payment card",
    "access": "password login locked account reset",
    "network": "vpn wifi router latency packet",
}


def _tickets(n: int, *, shuffled: bool, fields_signal: bool = False, seed: int = 3) -> list:
    """Tickets whose category is in the text (or, with `fields_signal`, in a field only)."""
    rng = np.random.default_rng(seed)
    names = list(WORDS)
    labels = rng.integers(0, 3, n)
    shown = rng.permutation(labels) if shuffled else labels
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        text_label = names[rng.integers(0, 3)] if fields_signal else names[labels[i]]
        words = rng.choice(WORDS[text_label].split(), size=4).tolist()
        filler = rng.choice(["please", "help", "today", "urgent", "thanks"], size=3).tolist()
        out.append(
            Ticket(
                id=f"T{i}",
                created_at=start + timedelta(hours=7 * i),
                subject=" ".join(words[:2]),
                body=" ".join(words[2:] + filler),
                category=names[shown[i]],
                extra={"product": f"p{labels[i]}" if fields_signal else f"p{rng.integers(0, 3)}"},
            )
        )
    return out


def _train(tmp_path, tickets, name: str):
    path = tmp_path / f"{name}.parquet"
    write_tickets(path, tickets)
    config = TrainConfig(encoder=None, bundle_name=name, split="stratified", n_jobs=1)
    return train(path, tmp_path / name, config)


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
def test_the_shipped_head_is_never_worse_than_a_baseline_out_of_fold(tmp_path) -> None:
    report = _train(tmp_path, _tickets(450, shuffled=False), "text")
    sel = report.heads["category"].metrics["selection"]
    oof = sel["oof"]
    assert set(oof) >= {"stacked", "tfidf_svc", "fields", "majority", "chance"}
    assert oof[sel["winner"]] >= max(oof["tfidf_svc"], oof["fields"])
    assert sel["verdict"] == "signal"
    for other, m in sel["margins"].items():
        assert m["low"] <= m["margin"] <= m["high"], other
    assert "fields" in report.heads["category"].baselines
    # The manifest says which rule chose the winner and why; so does the summary.
    manifest = json.loads((report.bundle_dir / "manifest.json").read_text())
    recorded = manifest["metrics"]["category"]["selection"]
    assert recorded["rule"].startswith("in order tfidf_svc, stacked, fields, hgb")
    assert recorded["why"].endswith(f"{sel['winner']} ships")
    assert [s["challenger"] for s in recorded["steps"]] == ["stacked", "fields", "hgb"]
    assert any(line.startswith("category: why ") for line in selection_lines(report))


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
def test_a_fields_only_signal_picks_the_fields_model_and_serves_it(tmp_path) -> None:
    from triage.predictor import OnnxTriager

    tickets = _tickets(450, shuffled=False, fields_signal=True)
    report = _train(tmp_path, tickets, "fields")
    head = report.heads["category"]
    assert head.metrics["selection"]["winner"] in ("fields", "stacked")
    assert (
        head.metrics["selection"]["oof"]["fields"] > head.metrics["selection"]["oof"]["tfidf_svc"]
    )
    assert head.metrics["macro_f1"] > 0.9
    triager = OnnxTriager.from_path(report.bundle_dir)
    by_id = {t.id: t for t in tickets}
    results = triager.triage_batch([by_id[i] for i in head.test_ids[:40]])
    agree = [
        r.category.top_k[0].label == head.classes[int(p.argmax())]
        for r, p in zip(results, head.proba[:40], strict=True)
    ]
    assert np.mean(agree) >= 0.95


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
def test_shuffled_labels_end_in_no_signal_and_always_abstain(tmp_path) -> None:
    from triage.predictor import OnnxTriager

    tickets = _tickets(450, shuffled=True)
    report = _train(tmp_path, tickets, "noise")
    head = report.heads["category"]
    assert head.metrics["no_signal"] is True
    assert head.metrics["selection"]["verdict"] == "no_signal"
    assert head.abstained.all()
    manifest = json.loads((report.bundle_dir / "manifest.json").read_text())
    entry = next(h for h in manifest["heads"] if h["name"] == "category")
    assert entry["no_signal"] is True
    result = OnnxTriager.from_path(report.bundle_dir).triage_batch(tickets[:5])
    assert all(r.category.abstained for r in result)


def test_bootstrap_margin_brackets_the_point_and_is_zero_for_itself() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    good = np.where(rng.random(300) < 0.8, y, (y + 1) % 3)
    noise = rng.integers(0, 3, 300)
    m = bootstrap_margin(y, good, noise, 3, auc=False, seed=1)
    assert m["low"] > 0.3 and m["low"] <= m["margin"] <= m["high"]
    assert bootstrap_margin(y, good, good, 3, auc=False, seed=1)["high"] == 0.0
    assert fast_auc(np.array([0.1, 0.2, 0.9, 0.8]), np.array([False, False, True, True])) == 1.0


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
@pytest.mark.parametrize("split", ["time", "stratified"])
def test_the_summary_says_which_split_and_why(tmp_path, split) -> None:
    path = tmp_path / "d.parquet"
    write_tickets(path, _tickets(300, shuffled=False))
    config = TrainConfig(encoder=None, bundle_name="d", split=split, n_jobs=1)
    report = train(path, tmp_path / "d", config)
    assert report.split["kind"] == split
    assert f"--split {split} was asked" in report.split["reason"]


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
def test_the_report_says_what_it_learned_from_and_what_it_ignored(tmp_path) -> None:
    tickets = _tickets(200, shuffled=False)
    tickets = [
        t.model_copy(update={"extra": {**t.extra, "reassignment_count": 2, "once": "x"}})
        for t in tickets
    ]
    report = _train(tmp_path, tickets, "inputs")
    inputs = report.inputs
    assert inputs["labels"] == ["category ← category"]
    assert any(f.startswith("extra.product (one-hot") for f in inputs["features"])
    assert "created_at (hour and weekday)" in inputs["features"]
    assert any(i.startswith("extra.reassignment_count (an outcome") for i in inputs["ignored"])
    assert any(i.startswith("extra.once (") for i in inputs["ignored"])


def _predictions(y: np.ndarray, right: float, rng: np.random.Generator) -> np.ndarray:
    """One-hot logits right on a `right` share of the tickets, the next class elsewhere."""
    pred = np.where(rng.random(len(y)) < right, y, (y + 1) % 3)
    return np.eye(3)[pred]


def _trade(logits: np.ndarray, y: np.ndarray, better: int, worse: int) -> np.ndarray:
    """`logits` right on `better` more tickets and wrong on `worse` others: a small lead
    that the paired bootstrap sees as noise."""
    out = logits.copy()
    right = logits.argmax(axis=1) == y
    fix, spoil = np.flatnonzero(~right)[:better], np.flatnonzero(right)[:worse]
    out[fix] = np.eye(3)[y[fix]]
    out[spoil] = np.eye(3)[(y[spoil] + 1) % 3]
    return out


def _select(y: np.ndarray, logits: dict) -> object:
    from training.selection import chance_scores, select

    refs = chance_scores([(np.arange(len(y)), y)], len(y), auc=False, seed=0)
    return select(y, logits, refs, 3, auc=False, seed=1)


def test_a_challenger_within_noise_does_not_ship_and_the_summary_says_why() -> None:
    from training.selection import HGB, TFIDF_SVC, stacked

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 900)
    base = _predictions(y, 0.70, rng)
    ours = _trade(base, y, better=24, worse=20)
    sel = _select(y, {stacked("svm", 1.0, 0.0): ours, TFIDF_SVC: base})
    assert sel.oof_scores["stacked"] > sel.oof_scores["tfidf_svc"]  # ahead on the point...
    assert sel.winner.family == "tfidf_svc"  # ...but inside the interval: the baseline ships
    assert sel.steps[0]["challenger"] == "stacked" and not sel.steps[0]["replaced"]
    assert "within noise" in sel.why and sel.why.endswith("tfidf_svc ships")

    # The trees lead the stacked model by noise: the stacked model, a clear winner over the
    # baseline, ships.
    clear = _predictions(y, 0.90, rng)
    trees = _trade(clear, y, better=12, worse=10)
    sel = _select(y, {stacked("svm", 1.0, 0.0): clear, TFIDF_SVC: base, HGB: trees})
    assert sel.oof_scores["hgb"] > sel.oof_scores["stacked"]
    assert sel.winner.family == "stacked"
    assert [(s["challenger"], s["replaced"]) for s in sel.steps] == [
        ("stacked", True),
        ("hgb", False),
    ]
    summary = sel.to_dict()
    assert summary["steps"][0]["margin"]["low"] > 0 and "rule" in summary
    report = type("Report", (), {})()
    report.heads = {
        "team": type(
            "Head", (), {"metrics": {"selection": summary, "macro_f1": 0.9}, "baselines": {}}
        )()
    }
    lines = selection_lines(report)
    assert lines[0].startswith("team: winner stacked")
    assert lines[1].startswith("team: why stacked: stacked beats tfidf_svc by +0.")
    assert "hgb vs stacked" in lines[1] and "within noise" in lines[1]


def test_a_clear_winner_ships_and_the_fields_models_must_beat_the_text_models() -> None:
    from training.selection import FIELDS, HGB, TFIDF_SVC, stacked

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 900)
    text = _predictions(y, 0.60, rng)
    stacked_ = _predictions(y, 0.75, rng)  # beats the text baseline clearly
    fields = _trade(stacked_, y, better=12, worse=10)  # leads stacked by noise
    sel = _select(y, {stacked("svm", 1.0, 0.0): stacked_, TFIDF_SVC: text, FIELDS: fields})
    assert sel.oof_scores["fields"] > sel.oof_scores["stacked"]
    assert sel.winner.family == "stacked"
    assert [(s["challenger"], s["against"], s["replaced"]) for s in sel.steps] == [
        ("stacked", "tfidf_svc", True),
        ("fields", "stacked", False),
    ]
    trees = _predictions(y, 0.95, rng)  # the fields' interactions: a clear winner
    sel = _select(
        y, {stacked("svm", 1.0, 0.0): stacked_, TFIDF_SVC: text, FIELDS: fields, HGB: trees}
    )
    assert sel.winner.family == "hgb"
    assert sel.steps[-1] == {**sel.steps[-1], "challenger": "hgb", "replaced": True}
    # Every margin is now the winner's over the other families: all positive here.
    assert all(sel.margins[f]["low"] > 0 for f in ("stacked", "tfidf_svc", "fields"))
