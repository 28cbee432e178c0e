"""`benchmarks.latency --quick` against a real `triage serve` (a TF-IDF-only demo bundle)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.latency import QUICK
from triage.bundle import read_manifest

# The measurements and JSON keys the benchmark had before the sweep: kept for old readers.
EXISTING_KEYS = {
    "benchmark",
    "taken_at",
    "bundle",
    "machine",
    "onnx_threads",
    "startup",
    "single",
    "p50_over_encoder_p50",
    "batch",
    "concurrent",
    "memory",
    "memory_after",
    "targets",
}


def test_quick_run_keeps_its_keys_and_adds_the_sweep(latency_run, bench_work) -> None:
    data = json.loads(latency_run.path.read_text())
    assert set(data) >= EXISTING_KEYS
    assert {"cpus", "affinity", "python", "load_avg_at_end"} <= set(data["machine"])
    assert {"git_sha", "cpu_model", "cores", "libraries", "load_average"} <= set(data["machine"])
    assert data["bundle_version"] == read_manifest(bench_work / "bundle-demo")["model_version"]
    assert data["quick"] is True and data["wall_s"] > 0
    assert data["single"]["service"]["n"] == QUICK.rounds * QUICK.per_round
    assert "encoder" not in data["single"]  # a TF-IDF-only bundle has none
    assert data["targets"]["p50<=1.3x_encoder"] is None  # so that target does not apply
    assert data["batch"]["batch_size"] == QUICK.batch_size
    assert data["concurrent"]["concurrency"] == QUICK.concurrency
    assert data["concurrent"]["errors"] == 0
    # A bundle without a cascade answers every ticket of the path split on no path.
    assert data["paths"]["tickets"] == QUICK.path_tickets
    assert data["paths"]["paths"]["none"]["share"] == 1.0
    sweep = data["sweep"]
    assert [level["concurrency"] for level in sweep] == list(QUICK.sweep)
    for level in sweep:
        assert level["errors"] == 0 and level["requests"] > 0 and level["req_per_s"] > 0
        assert 0 < level["p50_ms"] <= level["p99_ms"]


def test_raw_samples_match_the_summaries(latency_run) -> None:
    data = latency_run.data
    with np.load(latency_run.path.parent / data["samples"], allow_pickle=False) as npz:
        service = npz["single_service"]
        assert len(service) == data["single"]["service"]["n"]
        # The JSON rounds to 3 decimals.
        assert np.percentile(service, 50) == pytest.approx(
            data["single"]["service"]["p50_ms"], abs=1e-3
        )
        assert len(npz["single_encoder"]) == 0
        assert len(npz["concurrent"]) == data["concurrent"]["requests"]
        for level in data["sweep"]:
            samples = npz[f"sweep_c{level['concurrency']}"]
            assert len(samples) == level["requests"]
            assert np.percentile(samples, 99) == pytest.approx(level["p99_ms"], abs=1e-3)


def test_cli_runs_the_quick_benchmark_and_refuses_a_missing_bundle(
    monkeypatch, capsys, accuracy_run, bench_work: Path, tmp_path: Path
) -> None:
    """`triage bench latency` through the real entry point: the command wires its options
    into `run_latency` (a wrong keyword there once broke only the CLI)."""
    from tests.cli.conftest import run_cli

    code, _, stderr = run_cli(monkeypatch, capsys, "bench", "latency",
                              "--bundle", tmp_path / "absent",
                              "--out", tmp_path / "x", "--no-track")  # fmt: skip
    assert code == 2 and str(tmp_path / "absent") in stderr
    code, _, stderr = run_cli(monkeypatch, capsys, "bench", "latency",
                              "--bundle", bench_work / "bundle-demo",
                              "--quick", "--out", tmp_path / "run", "--no-track")  # fmt: skip
    assert code == 0, stderr
    assert json.loads((tmp_path / "run" / "latency.json").read_text())["single"]["service"]["n"] > 0
