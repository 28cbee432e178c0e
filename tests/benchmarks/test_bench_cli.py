"""`triage bench accuracy` and `triage bench report` through the real entry point, into MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.tracking import BENCHMARK_EXPERIMENT
from tests.cli.conftest import run_cli
from triage.settings import get_settings

pytestmark = pytest.mark.slow  # the first MLflow call creates its database: ~10 s


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A throw-away MLflow store the CLI's settings point at."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("TRIAGE_MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("TRIAGE_EMBEDDING_CACHE_DIR", str(tmp_path / "embeddings"))
    get_settings.cache_clear()
    yield store
    get_settings.cache_clear()


def test_accuracy_and_report_are_logged_to_mlflow(
    monkeypatch, capsys, bench_data: Path, tmp_path: Path, mlflow_store: str
) -> None:
    from mlflow import MlflowClient

    out = tmp_path / "run"
    code, stdout, stderr = run_cli(
        monkeypatch, capsys, "bench", "accuracy", "--config", str(bench_data / "bench.toml"),
        "--datasets", "odd_export", "--out", str(out), "--encoder", "none",
    )  # fmt: skip
    assert code == 0, stderr
    assert "odd_export" in stdout and "triage bench report --results" in stdout
    data = json.loads((out / "accuracy.json").read_text())
    logged = data["mlflow"]
    assert logged["experiment"] == BENCHMARK_EXPERIMENT and logged["tracking_uri"] == mlflow_store

    client = MlflowClient(tracking_uri=mlflow_store)
    run = client.get_run(logged["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    params, metrics = run.data.params, run.data.metrics
    assert params["datasets"] == "odd_export"
    assert params["git_sha"] == data["machine"]["git_sha"]
    assert json.loads(params["seeds"]) == {"odd_export": 7}
    head = data["results"][0]["heads"]["category"]
    assert metrics["odd_export.category.accuracy"] == pytest.approx(head["ours"]["accuracy"])
    assert metrics["odd_export.category.tfidf_linearsvc.macro_f1"] == pytest.approx(
        head["tfidf_linearsvc"]["macro_f1"]
    )
    assert metrics["odd_export.targets_total"] == 1

    code, stdout, stderr = run_cli(monkeypatch, capsys, "bench", "report", "--results", str(out))
    assert code == 0, stderr
    # One head's four charts and the summary chart; no answers, so no recall@k.
    assert "(5 plots inline)" in " ".join(stdout.split())
    artifacts = {Path(a.path).name for a in client.list_artifacts(logged["run_id"])}
    assert artifacts == {"accuracy.json", "odd_export.npz", "report.html", "summary.md"}


def test_an_mlflow_failure_is_a_warning_and_the_results_stay(
    monkeypatch, capsys, bench_data: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    monkeypatch.setenv("TRIAGE_MLFLOW_TRACKING_URI", f"sqlite:///{blocker / 'mlflow.db'}")
    get_settings.cache_clear()
    try:
        code, _, stderr = run_cli(
            monkeypatch, capsys, "bench", "accuracy", "--config", str(bench_data / "bench.toml"),
            "-d", "odd_export", "--out", str(tmp_path / "run"), "--encoder", "none",
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert code == 0, stderr
    assert "warning: benchmark not logged to MLflow" in " ".join(stderr.split())
    data = json.loads((tmp_path / "run" / "accuracy.json").read_text())
    assert "mlflow" not in data and data["results"][0]["dataset"] == "odd_export"
