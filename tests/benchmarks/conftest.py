"""A small benchmark run shared by the benchmark tests: two datasets by config, latency, report.

The datasets are a 300-ticket demo desk (with its KB: auto-reply) read through the
generic Parquet importer, and a CSV export the benchmark has never seen, with odd column
names, read through the generic CSV importer from nothing but its config entry. Training
uses no encoder (TF-IDF only), so the whole run takes seconds.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from triage.settings import Settings

ODD_KINDS = {
    "Rechnung": [
        "invoice charged twice",
        "refund for my payment",
        "billing address is wrong",
        "VAT missing on the invoice",
    ],
    "Zugang": [
        "cannot log in",
        "password reset fails",
        "account locked after the update",
        "two-factor code never arrives",
    ],
    "Versand": [
        "package arrived damaged",
        "parcel never delivered",
        "wrong item shipped",
        "tracking number does not work",
    ],
}
ODD_ROWS = 240


def write_odd_csv(path: Path, rows: int = ODD_ROWS, *, dates: bool = True) -> Path:
    """A German-style export: odd column names, a day-first date, three kinds of request."""
    rng = random.Random(3)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        header = ["Ticket Nr.", "Betreff (kurz)", "Beschreibung / Text", "Art des Anliegens"]
        out.writerow(header + (["Eröffnet am"] if dates else []))
        for i in range(rows):
            kind = rng.choice(sorted(ODD_KINDS))
            # Some noise: a phrase of another kind now and then, so the task is not trivial.
            source = kind if rng.random() > 0.15 else rng.choice(sorted(ODD_KINDS))
            phrase = rng.choice(ODD_KINDS[source])
            row = [
                f"T-{i}",
                phrase.capitalize(),
                f"Hello, {phrase}; order {rng.randint(1000, 9999)}. Please help.",
                kind,
            ]
            out.writerow(
                row + ([f"{1 + i % 28:02d}.03.2025 {8 + i % 9:02d}:{i % 60:02d}"] if dates else [])
            )
    return path


BENCH_CONFIG = """
[datasets.demo]
source = "demo.parquet"
format = "parquet"
kb = "demo.kb.parquet"
heads = ["category", "escalation"]
label = "demo desk"
targets.category.macro_f1 = 0.3
targets.category.ece = { max = 0.0001 }
targets.auto_reply.kb_only.recall_at_5 = 0.5

[datasets.odd_export]
source = "odd export.csv"
format = "csv"
date_format = "%d.%m.%Y %H:%M"
heads = ["category"]
split = { kind = "time", test_fraction = 0.25, seed = 7 }
targets.category.accuracy = 0.5

[datasets.odd_export.map]
id = "Ticket Nr."
subject = "Betreff (kurz)"
body = "Beschreibung / Text"
category = "Art des Anliegens"
created_at = "Eröffnet am"
extra.kind_code = "Art des Anliegens"

[datasets.not_here]
source = "no-such-export.csv"
format = "csv"
heads = ["category"]
"""


@pytest.fixture(scope="session")
def bench_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the demo desk, the odd CSV export and `bench.toml` describing both."""
    from triage.demo import write_demo

    folder = tmp_path_factory.mktemp("bench-data")
    write_demo(folder / "demo.parquet", tickets=300, seed=5)
    write_odd_csv(folder / "odd export.csv")
    (folder / "bench.toml").write_text(BENCH_CONFIG, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def bench_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with a throw-away MLflow store and embedding cache."""
    tmp = tmp_path_factory.mktemp("bench-settings")
    return Settings(
        _env_file=None,
        models_dir=tmp / "models",
        mlflow_tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}",
        embedding_cache_dir=tmp / "embeddings",
    )


@pytest.fixture(scope="session")
def bench_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the accuracy run keeps its imports and scratch bundles (the latency run serves one)."""
    return tmp_path_factory.mktemp("bench-work")


@pytest.fixture(scope="session")
def accuracy_run(
    bench_data: Path,
    bench_settings: Settings,
    bench_work: Path,
    tmp_path_factory: pytest.TempPathFactory,
):
    """`run_accuracy` over the demo desk and the odd export (the absent entry is skipped)."""
    from benchmarks.accuracy import run_accuracy
    from benchmarks.config import load_config

    specs = list(load_config(bench_data / "bench.toml").values())
    return run_accuracy(
        specs,
        tmp_path_factory.mktemp("results") / "run",
        encoder=None,
        settings=bench_settings,
        work_dir=bench_work,
        track=False,
    )


@pytest.fixture(scope="session")
def latency_run(accuracy_run, bench_work: Path, bench_settings: Settings):
    """`run_latency --quick` on the demo desk's scratch bundle, into the accuracy run's folder."""
    from benchmarks.latency import QUICK, run_latency

    return run_latency(
        bench_work / "bundle-demo",
        accuracy_run.path.parent,
        options=QUICK,
        settings=bench_settings,
        track=False,
    )


@pytest.fixture(scope="session")
def report_files(latency_run, accuracy_run):
    """`build_report` on the folder holding both results."""
    from benchmarks.report import build_report

    return build_report(accuracy_run.path.parent)
