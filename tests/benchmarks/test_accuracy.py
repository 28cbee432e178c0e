"""`benchmarks.accuracy`: datasets by config through the real pipeline, results on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchmarks.accuracy import run_accuracy
from benchmarks.config import DatasetConfigError, load_config
from tests.benchmarks.conftest import ODD_KINDS, ODD_ROWS, write_odd_csv
from triage.errors import InputFileError


def result_of(run, name: str) -> dict:
    return next(r for r in run.data["results"] if r["dataset"] == name)


def test_the_json_records_machine_versions_sha_and_wall_time(accuracy_run, bench_data) -> None:
    data = json.loads(accuracy_run.path.read_text())
    assert data == json.loads(json.dumps(accuracy_run.data, default=str))
    machine = data["machine"]
    assert machine["cores"] >= 1 and machine["cpu_model"]
    assert len(machine["load_average"]) == 3 and len(machine["load_average_at_end"]) == 3
    assert len(machine["git_sha"]) == 40  # the tests run in a checkout
    assert machine["libraries"]["scikit-learn"] and machine["libraries"]["numpy"]
    assert data["wall_s"] > 0 and data["encoder"] is None
    assert [r["dataset"] for r in data["results"]] == ["demo", "odd_export"]
    assert data["skipped"] == [f"not_here: skipped, {bench_data / 'no-such-export.csv'} is absent"]
    for result in data["results"]:
        assert result["bundle_version"].startswith(result["dataset"] + "-")
        assert result["wall_s"] >= result["pipeline_wall_s"] > 0
        assert set(result["split"]) >= {"kind", "train", "test", "seed", "test_fraction"}


def test_each_dataset_keeps_its_training_warnings(accuracy_run) -> None:
    for result in accuracy_run.data["results"]:
        assert isinstance(result["training_warnings"], list), result["dataset"]
        for warning in result["training_warnings"]:
            assert f"{result['dataset']}: {warning}" in accuracy_run.warnings


def test_reported_heads_beside_both_baselines(accuracy_run) -> None:
    demo = result_of(accuracy_run, "demo")
    assert demo["primary_head"] == "category" and list(demo["heads"]) == ["category", "escalation"]
    # The heads the entry does not report are summarised, not dropped.
    assert {"priority", "team"} <= set(demo["other_heads"])
    for head in demo["heads"].values():
        assert set(head["ours"]) >= {"accuracy", "macro_f1", "coverage_at_target_precision", "ece"}
        assert set(head["majority"]) == {"accuracy", "macro_f1"}
        assert {"accuracy", "macro_f1"} <= set(head["tfidf_linearsvc"])
    category = demo["heads"]["category"]  # ten learnable classes: the majority class is a floor
    assert category["majority"]["macro_f1"] < 0.2 < category["ours"]["macro_f1"]
    assert demo["heads"]["escalation"]["ours"]["roc_auc"] is not None


def test_targets_are_checked_against_the_measured_values(accuracy_run) -> None:
    targets = result_of(accuracy_run, "demo")["targets"]
    assert set(targets) == {"category.macro_f1", "category.ece", "auto_reply.kb_only.recall_at_5"}
    f1 = targets["category.macro_f1"]
    assert f1["value"] == result_of(accuracy_run, "demo")["heads"]["category"]["ours"]["macro_f1"]
    assert f1["met"] is (f1["value"] >= 0.3)
    ece = targets["category.ece"]  # an upper bound nobody meets
    assert ece["max"] == 0.0001 and ece["met"] is False and ece["bound"] == "≤ 0.000"
    kb = targets["auto_reply.kb_only.recall_at_5"]
    assert kb["value"] == result_of(accuracy_run, "demo")["auto_reply"]["kb_only"]["recall_at_5"]


def test_predictions_npz_holds_what_the_report_draws(accuracy_run) -> None:
    demo = result_of(accuracy_run, "demo")
    folder = accuracy_run.path.parent
    with np.load(folder / demo["predictions"], allow_pickle=False) as npz:
        for name, head in demo["heads"].items():
            proba = npz[f"{name}__proba"]
            classes = npz[f"{name}__classes"]
            assert (
                proba.shape
                == (head["n_test"], head["classes"])
                == (len(npz[f"{name}__y_true"]), len(classes))
            )
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
            assert npz[f"{name}__abstained"].dtype == bool
            assert len(npz[f"{name}__test_ids"]) == head["n_test"]
            # Baselines' per-class F1: one per class (+ the unseen-label slot).
            assert len(npz[f"{name}__majority_f1"]) == len(classes) + 1
            assert len(npz[f"{name}__svc_f1"]) == len(classes) + 1
            # The majority class is right for one class only.
            assert np.count_nonzero(npz[f"{name}__majority_f1"]) <= 1
        assert set(npz["escalation__classes"]) == {"false", "true"}


def test_every_system_is_scored_on_the_same_newest_tickets(accuracy_run, bench_data) -> None:
    """Time split: the test tickets of every head are the newest 20% of the desk."""
    demo = result_of(accuracy_run, "demo")
    table = pq.read_table(bench_data / "demo.parquet", columns=["id", "created_at"]).to_pylist()
    newest = {
        row["id"] for row in sorted(table, key=lambda r: r["created_at"])[-demo["split"]["test"] :]
    }
    with np.load(accuracy_run.path.parent / demo["predictions"], allow_pickle=False) as npz:
        for name in demo["heads"]:
            assert set(npz[f"{name}__test_ids"].tolist()) <= newest
    assert demo["split"]["kind"] == "time" and demo["split"]["test"] == 60


def test_auto_reply_recall_curve_agrees_with_recall_at_1_and_5(accuracy_run) -> None:
    auto_reply = result_of(accuracy_run, "demo")["auto_reply"]
    for figures in (auto_reply, auto_reply["kb_only"]):
        curve = figures["recall_at_k"]
        assert len(curve) == 10 and curve == sorted(curve)
        assert curve[0] == pytest.approx(figures["recall_at_1"])
        assert curve[4] == pytest.approx(figures["recall_at_5"])


def test_kb_only_recall_is_measured_on_the_test_part_only(accuracy_run) -> None:
    """The KB weights are tuned on the training part's questions: scoring those too made
    the demo's KB-only recall@1 1.000 (issue 13)."""
    demo = result_of(accuracy_run, "demo")
    kb = demo["auto_reply"]["kb_only"]
    assert kb["evaluated_on"] == "test part"
    assert 0 < kb["n_eval"] <= demo["split"]["test"]
    assert kb["n_eval_training_part"] > 0 and 0.0 <= kb["recall_at_1_training_part"] <= 1.0


def test_a_dataset_never_seen_works_from_its_config_entry_alone(accuracy_run) -> None:
    """The odd CSV export: generic importer, column map, day-first dates, a time split."""
    odd = result_of(accuracy_run, "odd_export")
    assert odd["config"]["format"] == "csv"
    assert odd["import"]["rows_written"] == ODD_ROWS and odd["import"]["rows_dropped"] == 0
    assert odd["split"] | {"kind": "time", "seed": 7, "test_fraction": 0.25} == odd["split"]
    head = odd["heads"]["category"]
    assert head["classes"] == len(ODD_KINDS) and head["n_test"] == round(ODD_ROWS * 0.25)
    assert head["ours"]["accuracy"] > head["majority"]["accuracy"]
    assert odd["targets"]["category.accuracy"]["met"] is (head["ours"]["accuracy"] >= 0.5)


def test_a_time_split_without_dates_is_refused_naming_the_field(
    tmp_path: Path, bench_settings
) -> None:
    write_odd_csv(tmp_path / "undated.csv", rows=60, dates=False)
    (tmp_path / "b.toml").write_text(
        '[datasets.undated]\nsource = "undated.csv"\nformat = "csv"\nheads = ["category"]\n'
        'split = { kind = "time" }\n'
        'map = { subject = "Betreff (kurz)", body = "Beschreibung / Text", '
        'category = "Art des Anliegens" }\n'
    )
    specs = list(load_config(tmp_path / "b.toml").values())
    with pytest.raises(DatasetConfigError) as caught:
        run_accuracy(specs, tmp_path / "out", encoder=None, settings=bench_settings, track=False)
    assert caught.value.entry == "undated" and caught.value.field == "split.kind"
    assert "created_at" in str(caught.value) and str(tmp_path / "b.toml") in str(caught.value)


def test_a_head_the_data_cannot_train_is_refused_naming_the_field(
    tmp_path: Path, bench_settings
) -> None:
    write_odd_csv(tmp_path / "x.csv", rows=60)
    (tmp_path / "b.toml").write_text(
        '[datasets.x]\nsource = "x.csv"\nformat = "csv"\nheads = ["category", "priority"]\n'
        'map = { subject = "Betreff (kurz)", category = "Art des Anliegens" }\n'
    )
    specs = list(load_config(tmp_path / "b.toml").values())
    with pytest.raises(DatasetConfigError) as caught:
        run_accuracy(specs, tmp_path / "out", encoder=None, settings=bench_settings, track=False)
    assert caught.value.field == "heads" and "priority" in caught.value.reason
    assert "supports: category" in caught.value.reason


def test_nothing_to_benchmark_when_every_source_is_absent(tmp_path: Path, bench_settings) -> None:
    (tmp_path / "b.toml").write_text(
        '[datasets.gone]\nsource = "gone.csv"\nformat = "csv"\nheads = ["category"]\n'
    )
    specs = list(load_config(tmp_path / "b.toml").values())
    with pytest.raises(InputFileError, match="nothing to benchmark: gone: skipped"):
        run_accuracy(specs, tmp_path / "out", encoder=None, settings=bench_settings, track=False)
    assert not (tmp_path / "out").exists()
