"""The training pipeline on the demo desk: heads, calibration, baselines, parity with the bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from triage.dataset import iter_tickets
from triage.errors import TriageError
from triage.predictor import OnnxTriager

pytestmark = pytest.mark.slow


def test_every_label_gets_a_head_with_baselines(demo_training) -> None:
    assert set(demo_training.heads) == {
        "category",
        "subcategory",
        "priority",
        "team",
        "assignee",
        "escalation",
    }
    for name, head in demo_training.heads.items():
        assert np.allclose(head.proba.sum(axis=1), 1.0), name
        assert {"majority", "tfidf_linearsvc"} <= set(head.baselines)
        assert (
            head.metrics["accuracy"] > head.baselines["majority"]["accuracy"]
            or name == "escalation"
        )
    category = demo_training.heads["category"]
    assert category.metrics["macro_f1"] >= category.baselines["tfidf_linearsvc"]["macro_f1"] - 0.03
    assert demo_training.heads["escalation"].metrics["roc_auc"] is not None


def test_thresholds_hold_their_precision_on_the_test_split(demo_training) -> None:
    for name in ("category", "team"):
        head = demo_training.heads[name]
        answered = ~head.abstained
        assert answered.mean() > 0.3, name
        precision = np.mean(head.y_pred[answered] == head.y_true[answered])
        assert precision >= 0.9 - 0.06, (name, precision)  # target 0.90 up to sampling noise


def test_bundle_agrees_with_the_in_memory_pipeline(demo_training, demo_tickets_file) -> None:
    triager = OnnxTriager.from_path(demo_training.bundle_dir)
    tickets = {t.id: t for t in iter_tickets(demo_tickets_file)}
    ids = sorted({i for head in demo_training.heads.values() for i in head.test_ids})
    by_id = dict(zip(ids, triager.triage_batch([tickets[i] for i in ids]), strict=True))
    for name, head in demo_training.heads.items():
        same = 0
        for k, ticket_id in enumerate(head.test_ids):
            pred = getattr(by_id[ticket_id], name)
            top = head.classes[int(head.proba[k].argmax())]
            # The bundle also applies the hierarchy, which can only add subcategory abstentions.
            same_abstention = pred.abstained == bool(head.abstained[k]) or name == "subcategory"
            same += pred.top_k[0].label == top and same_abstention
        assert same / len(head.test_ids) >= 0.995, name


def test_manifest_carries_metrics_and_hashes(demo_training) -> None:
    manifest = json.loads((demo_training.bundle_dir / "manifest.json").read_text())
    assert manifest["model_version"].startswith("demo-")
    category = manifest["metrics"]["category"]
    assert {"accuracy", "macro_f1", "coverage_at_target_precision", "baselines"} <= set(category)
    assert set(category["baselines"]) == {"majority", "tfidf_linearsvc", "fields"}
    assert category["selection"]["verdict"] == "signal"
    assert category["realized_precision"] is not None
    assert {"recall_at_1", "recall_at_5"} <= set(manifest["metrics"]["auto_reply"])
    assert "encoder/model.onnx" in manifest["files"]
    assert set(manifest["languages"]) >= {"en", "de", "ru"}
    size = sum(p.stat().st_size for p in demo_training.bundle_dir.rglob("*") if p.is_file())
    assert size < 150e6


def test_tfidf_only_bundle_works(demo_tickets_file, tmp_path) -> None:
    from training.pipeline import TrainConfig, train

    report = train(
        demo_tickets_file, tmp_path / "tfidf", TrainConfig(encoder=None, bundle_name="tfidf")
    )
    assert not (tmp_path / "tfidf" / "encoder").exists()
    triager = OnnxTriager.from_path(tmp_path / "tfidf")
    ticket = next(iter(iter_tickets(demo_tickets_file)))
    result = triager.triage(ticket)
    assert result.category is not None and result.explanation.similar_tickets
    assert report.heads["category"].metrics["macro_f1"] > 0.5


def test_no_usable_labels_is_a_clear_error(tmp_path) -> None:
    from training.pipeline import train
    from triage.contract import Ticket
    from triage.dataset import write_tickets

    path = tmp_path / "bare.parquet"
    write_tickets(path, [Ticket(id=f"T{i}", subject="printer broken") for i in range(50)])
    with pytest.raises(TriageError, match="no usable labels"):
        train(path, tmp_path / "out")
    with pytest.raises(TriageError, match="no such file"):
        train(tmp_path / "missing.parquet", tmp_path / "out")


def test_each_head_records_the_model_its_held_out_fold_chose(demo_training) -> None:
    from training.pipeline import TrainConfig

    candidates = TrainConfig().candidates
    for name, head in demo_training.heads.items():
        chosen = head.metrics["stacked_model"]
        assert head.metrics["model"]["family"] == head.metrics["selection"]["winner"], name
        scores = {
            (s["kind"], s["C"], s["class_weight_power"]): s["score"]
            for s in head.metrics["model_selection"]
        }
        assert set(scores) == set(candidates), name
        key = (chosen["kind"], chosen["C"], chosen["class_weight_power"])
        assert scores[key] == max(scores.values()), name


def test_heads_are_trained_costliest_first() -> None:
    """Many classes over many tickets first, so the last head to finish is a short one."""
    from training.pipeline import longest_first

    spec = {
        "category": ("category", ["a", "b", "c"] * 10 + [None] * 5),  # 3 classes × 30
        "subcategory": ("subcategory", [str(i % 9) for i in range(27)]),  # 9 × 27
        "escalation": ("escalated", ["true", "false"] * 40),  # one binary problem × 80
        "priority": ("priority", ["low", "high"] * 5),  # 1 × 10
    }
    assert longest_first(spec) == ["subcategory", "category", "escalation", "priority"]


def test_the_pipeline_still_exports_the_names_that_moved_out_of_it() -> None:
    """The CLI, benchmarks, tests and notebooks import these from `training.pipeline`; since
    the split they live in config, corpus, report and head_training, and are the same objects."""
    import training.pipeline as pipeline
    from training import config, corpus, head_training, report

    homes = {
        "TrainConfig": config,
        "Corpus": corpus,
        "MIN_LABELLED": corpus,
        "TEXT_HEADS": corpus,
        "head_labels": corpus,
        "load_data": corpus,
        "supported_languages": corpus,
        "HeadReport": report,
        "TrainingReport": report,
        "PRECISION_SHORTFALL": report,
        "precision_warnings": report,
        "NO_SIGNAL_THRESHOLD": head_training,
        "in_memory_proba": head_training,
    }
    for name, home in homes.items():
        assert name in pipeline.__all__, name
        assert getattr(pipeline, name) is getattr(home, name), name
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None, name
