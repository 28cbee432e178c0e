"""`triage train` on labels that carry nothing: the verdict, the manifest, the gate, exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import run_cli
from tests.training.test_selection import _tickets
from triage.dataset import iter_tickets, write_tickets
from triage.registry import CHAMPION, ModelRegistry
from triage.settings import get_settings


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Registry, MLflow store and embedding cache of the CLI's settings, under tmp_path."""
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TRIAGE_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("TRIAGE_EMBEDDING_CACHE_DIR", str(tmp_path / "embeddings"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _assert_no_signal_verdict(code: int, out: str, err: str, workspace: Path, out_dir: Path):
    assert code == 0, err
    assert "category: NO SIGNAL" in out
    assert "] heads (1 steps)" in err  # stage lines, though stderr is no terminal
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert next(h for h in manifest["heads"] if h["name"] == "category")["no_signal"] is True
    assert "not promoted" in err and "no signal" in err
    assert ModelRegistry(workspace / "models").current(CHAMPION) is None


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
def test_synthetic_shuffled_labels_end_in_no_signal(workspace, monkeypatch, capsys) -> None:
    data = workspace / "noise.parquet"
    write_tickets(data, _tickets(450, shuffled=True))
    out_dir = workspace / "models" / "noise"
    args = ("train", "--data", data, "--out", out_dir, "--encoder", "none", "--split", "stratified")
    code, out, err = run_cli(monkeypatch, capsys, *args, "--no-track")
    _assert_no_signal_verdict(code, out, err, workspace, out_dir)


@pytest.mark.slow
def test_a_shared_dataset_with_shuffled_labels_ends_in_no_signal(
    shared_datasets: Path, workspace: Path, monkeypatch, capsys
) -> None:
    from triage.ingest import import_source

    imported = workspace / "endava.parquet"
    import_source(
        shared_datasets / "endava_all_labels_sample", "endava_all_labels_sample", imported
    )
    tickets = list(iter_tickets(imported))[:2000]
    rng = np.random.default_rng(7)
    labels = rng.permutation([t.category for t in tickets])
    # Only the shuffled category is a label: every other head would still carry signal.
    noisy = [
        t.model_copy(
            update={
                "category": c,
                "subcategory": None,
                "priority": None,
                "team": None,
                "assignee": None,
                "escalated": None,
                "sla_breached": None,
            }
        )
        for t, c in zip(tickets, labels, strict=True)
    ]
    data = workspace / "shuffled.parquet"
    write_tickets(data, noisy)
    out_dir = workspace / "models" / "shuffled"
    args = ("train", "--data", data, "--out", out_dir, "--encoder", "none", "--split", "stratified")
    code, out, err = run_cli(monkeypatch, capsys, *args, "--no-track")
    _assert_no_signal_verdict(code, out, err, workspace, out_dir)
