"""Accuracy of the real training pipeline on benchmark datasets, beside both baselines.

    triage bench accuracy [--datasets NAME,...] [--config FILE] [--out DIR] [--encoder NAME|none]
    .venv/bin/python benchmarks/accuracy.py [the same options]

Datasets are entries of a config file (`benchmarks/datasets.toml` by default, see
`benchmarks.config`). For each: import the source with its importer into the common
format, run `training.pipeline.train` (the code `triage train` runs) with the entry's
split and seed into a scratch bundle, so our model and both baselines (majority class,
TF-IDF + LinearSVC) are fitted on the same training part and scored on the same test
tickets. Writes into the run folder (default `benchmarks/results/accuracy-<timestamp>/`):

- `accuracy.json`: per dataset and reported head our figures beside both baselines,
  coverage at the target precision, calibration, the auto-reply figures (recall@k,
  k = 1..10) where the data has answers, the targets met or missed, the bundle version,
  the stage timings and wall times; for the run the machine, git sha and library
  versions. Rewritten after each dataset, so a long run keeps what it measured.
- `<dataset>.npz`: per reported head the test labels, calibrated probabilities,
  abstentions, classes and thresholds, and the baselines' per-class F1: what
  `triage bench report` draws.

The run is logged to MLflow (experiment `ticket-triage-benchmarks`). Datasets whose
source is absent are skipped with a message.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

if __package__ in (None, ""):  # run as a script: python benchmarks/accuracy.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.config import (
    DEFAULT_CONFIG,
    HEAD_METRICS,
    DatasetConfigError,
    DatasetSpec,
    load_config,
    select,
)
from benchmarks.machine import machine_info
from benchmarks.results import ACCURACY_FILE, BenchmarkRun, new_run_dir, write_json
from triage.errors import InputFileError
from triage.progress import Progress as StageProgress
from triage.progress import Silent

# What the result records of our model per head: the metrics a target may bound, and the
# calibration temperature.
OURS_METRICS = (*HEAD_METRICS, "temperature")


class Progress(StageProgress, Protocol):
    """What a run reports: the pipeline's stages per dataset."""

    def dataset(self, name: str, index: int, total: int) -> None:
        """Dataset `index` of `total` starts."""


class _Quiet(Silent):
    def dataset(self, name: str, index: int, total: int) -> None:
        pass


class _Printed(_Quiet):
    """Progress for the script: one line per dataset on stderr."""

    def dataset(self, name: str, index: int, total: int) -> None:
        print(f"[{index}/{total}] {name} ...", file=sys.stderr, flush=True)


def import_dataset(spec: DatasetSpec, into: Path, progress: Progress) -> tuple[Path, dict]:
    """The dataset in the common Parquet format (imported once per work folder).

    An entry's `kb` file goes beside it as `NAME.kb.parquet`, where training looks.
    """
    from triage.dataset import kb_path_for
    from triage.ingest import ImportOptions, import_source

    out = into / f"{spec.name}.parquet"
    if out.exists():
        return out, {"reused": str(out)}
    if spec.kb is not None and not spec.kb.is_file():
        raise DatasetConfigError(spec.config_file, spec.name, "kb", f"{spec.kb}: no such file")
    options = ImportOptions(
        mapping=dict(spec.mapping), date_format=spec.date_format, encoding=spec.encoding
    )
    progress.stage(f"{spec.name}: import")
    done = 0

    def rows(n: int) -> None:
        nonlocal done
        progress.advance(n - done)
        done = n

    report = import_source(spec.source, spec.format, out, options, on_progress=rows)
    if spec.kb is not None:
        shutil.copyfile(spec.kb, kb_path_for(out))
    return out, report.as_dict()


def check_data(spec: DatasetSpec, data: Path) -> None:
    """Refuse before training what the data cannot give: a time split, a reported head."""
    from training.pipeline import head_labels
    from triage.dataset import iter_tickets

    tickets = list(iter_tickets(data))
    if spec.split.kind == "time":
        # The rule of training.evaluation.split_indices: 90% of the tickets carry a time.
        known = sum(t.created_at is not None for t in tickets)
        if known < 0.9 * len(tickets):
            raise DatasetConfigError(
                spec.config_file,
                spec.name,
                "split.kind",
                f"'time' needs created_at on 90% of the tickets; {known:,} of {len(tickets):,} "
                'have one (map a date column, or use kind = "stratified")',
            )
    supported = head_labels(tickets)
    missing = [h for h in spec.heads if h not in supported]
    if missing:
        raise DatasetConfigError(
            spec.config_file,
            spec.name,
            "heads",
            f"no usable labels for {', '.join(missing)} in {spec.source} (a head needs 30 "
            "labelled tickets and two classes with two or more); the data supports: "
            f"{', '.join(supported) or 'none'}",
        )


def _head_summary(head) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    m = head.metrics
    baselines = {
        name: {k: v for k, v in values.items() if k != "per_class_f1"}
        for name, values in head.baselines.items()
    }
    return {
        "field": head.field,
        "classes": len(head.classes),
        "n_train": head.n_train,
        "n_test": head.n_test,
        "unseen_test_labels": m.get("unseen_test_labels", 0),
        "ours": {k: m.get(k) for k in OURS_METRICS},
        "majority": baselines["majority"],
        "tfidf_linearsvc": baselines["tfidf_linearsvc"],
        **({"fields": baselines["fields"]} if "fields" in baselines else {}),
        "selection": m.get("selection"),
        "target_precision": m.get("target_precision"),
        "realized_precision": m.get("precision_at_threshold"),
        "calibrated_on": m.get("calibrated_on"),
    }


def save_predictions(report, heads: tuple[str, ...], path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Per head `H__y_true`, `H__proba`, `H__abstained`, `H__classes`, `H__thresholds`,
    `H__test_ids`, `H__majority_f1` and `H__svc_f1` (per-class F1) into one `.npz`."""
    arrays: dict[str, np.ndarray] = {}
    for name in heads:
        head = report.heads[name]
        arrays.update(
            {
                f"{name}__y_true": np.asarray(head.y_true, dtype=np.int64),
                f"{name}__proba": np.asarray(head.proba, dtype=np.float32),
                f"{name}__abstained": np.asarray(head.abstained, dtype=bool),
                f"{name}__classes": np.asarray(head.classes, dtype=str),
                f"{name}__thresholds": np.asarray(head.thresholds, dtype=np.float32),
                f"{name}__test_ids": np.asarray(head.test_ids, dtype=str),
                f"{name}__majority_f1": np.asarray(
                    head.baselines["majority"]["per_class_f1"], dtype=np.float32
                ),
                f"{name}__svc_f1": np.asarray(
                    head.baselines["tfidf_linearsvc"]["per_class_f1"], dtype=np.float32
                ),
            }
        )
    np.savez_compressed(path, **arrays)
    return path


def metric_value(result: dict[str, Any], metric: str) -> float | None:
    """A target's metric in a dataset result: `HEAD.METRIC` (ours) or `auto_reply.PATH`."""
    owner, _, rest = metric.partition(".")
    node: Any = (
        result.get("auto_reply")
        if owner == "auto_reply"
        else (result["heads"].get(owner, {}).get("ours"))
    )
    for part in rest.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node if isinstance(node, int | float) and not isinstance(node, bool) else None


def run_dataset(
    spec: DatasetSpec,
    work: Path,
    out_dir: Path,
    *,
    encoder: str | None,
    cache_dir: Path | None,
    encoder_cache_dir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Import, check, train with the real pipeline, save the predictions; the dataset's result."""
    from training.pipeline import TrainConfig, train

    started = time.perf_counter()
    data, imported = import_dataset(spec, work, progress)
    t_import = time.perf_counter() - started
    progress.stage(f"{spec.name}: checking labels")
    check_data(spec, data)

    class _Prefixed:  # the pipeline's stages, named after the dataset
        def stage(self, name: str, total: int | None = None, completed: int = 0) -> None:
            progress.stage(f"{spec.name}: {name}", total, completed)

        def advance(self, steps: int = 1) -> None:
            progress.advance(steps)

    config = TrainConfig(
        encoder=encoder,
        seed=spec.split.seed,
        test_fraction=spec.split.test_fraction,
        # "time" was checked above: the pipeline's "auto" takes the time split then.
        split="stratified" if spec.split.kind == "stratified" else "auto",
        embedding_cache_dir=cache_dir,
        encoder_cache_dir=encoder_cache_dir,
        bundle_name=spec.name,
    )
    t0 = time.perf_counter()
    report = train(data, work / f"bundle-{spec.name}", config, _Prefixed())
    pipeline_wall = time.perf_counter() - t0
    predictions = save_predictions(report, spec.heads, out_dir / f"{spec.name}.npz")
    result: dict[str, Any] = {
        "dataset": spec.name,
        "label": spec.label,
        "note": spec.note,
        "config": spec.as_dict(),
        "bundle_version": report.model_version,
        "encoder": encoder,
        "n_tickets": report.params.get("n_tickets"),
        "n_kb_articles": report.params.get("n_kb_articles"),
        "import": imported,
        "split": {
            **report.split,
            "test_fraction": spec.split.test_fraction,
            "requested": spec.split.kind,
        },
        "target_precision": config.target_precision,
        "primary_head": spec.primary_head,
        "heads": {name: _head_summary(report.heads[name]) for name in spec.heads},
        "other_heads": {
            name: {
                k: head.metrics.get(k)
                for k in ("accuracy", "macro_f1", "coverage_at_target_precision", "roc_auc")
            }
            for name, head in report.heads.items()
            if name not in spec.heads
        },
        "auto_reply": report.auto_reply,
        # What `triage train` would have printed (thresholds that missed their precision).
        "training_warnings": list(report.warnings),
        "cascade": cascade_result(report.manifest.get("cascade")),
        "timings_s": report.timings,
        "import_s": round(t_import, 2),
        "pipeline_wall_s": round(pipeline_wall, 2),
        "predictions": predictions.name,
    }
    result["targets"] = {}
    for target in spec.targets:
        value = metric_value(result, target.metric)
        result["targets"][target.metric] = {
            "min": target.minimum,
            "max": target.maximum,
            "bound": target.describe(),
            "value": value,
            "met": target.met(value),
        }
    result["wall_s"] = round(time.perf_counter() - started, 2)
    return result


def training_warnings(data: dict[str, Any]) -> list[str]:
    """Every dataset's training warnings, each prefixed with the dataset's name."""
    return [
        f"{result['dataset']}: {warning}"
        for result in data.get("results", [])
        for warning in result.get("training_warnings", [])
    ]


def cascade_result(section: dict[str, Any] | None) -> dict[str, Any] | None:
    """Full vs cascade per head on the test split, and the cheap path's share (issue 17);
    None for a bundle without a cascade."""
    if not section:
        return None
    test = section.get("test") or {}
    return {
        "cheap_share": test.get("cheap_share"),
        "validation_cheap_share": (section.get("validation") or {}).get("cheap_share"),
        "static_encoder": section["encoder"]["name"],
        "thresholds": {h["name"]: h.get("cascade_threshold") for h in section["heads"]},
        "heads": test.get("heads", {}),
    }


def mlflow_metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """`DATASET.HEAD.METRIC` (ours), `DATASET.HEAD.majority.macro_f1`, `DATASET.auto_reply.*`,
    `DATASET.wall_s` and `DATASET.targets_met` / `targets_total`."""
    from training.tracking import flatten_metrics

    nested: dict[str, Any] = {}
    for r in results:
        entry: dict[str, Any] = {
            head: {**h["ours"], "majority": h["majority"], "tfidf_linearsvc": h["tfidf_linearsvc"]}
            for head, h in r["heads"].items()
        }
        if r.get("auto_reply"):
            entry["auto_reply"] = r["auto_reply"]
        entry["wall_s"] = r["wall_s"]
        entry["pipeline_wall_s"] = r["pipeline_wall_s"]
        entry["targets_met"] = sum(t["met"] for t in r["targets"].values())
        entry["targets_total"] = len(r["targets"])
        nested[r["dataset"]] = entry
    return flatten_metrics(nested)


def _dataset_encoder(spec: DatasetSpec, default: str | None) -> str | None:
    """The entry's own encoder ('none': no embedding), else `default`."""
    if spec.encoder is None:
        return default
    return None if spec.encoder.lower() == "none" else spec.encoder


def run_accuracy(
    specs: list[DatasetSpec],
    out_dir: Path,
    *,
    encoder: str | None,
    settings,  # type: ignore[no-untyped-def]
    work_dir: Path | None = None,
    progress: Progress | None = None,
    track: bool = True,
    experiment: str | None = None,
    on_skip: Callable[[str], None] | None = None,
    dataset_encoders: bool = False,
) -> BenchmarkRun:
    """Benchmark every dataset of `specs` into `out_dir`; log the run to MLflow (best effort).

    `encoder` (None: no embedding) serves every dataset; with `dataset_encoders` an entry's
    own `encoder` (the Russian FAQ's multilingual one) wins over it.
    """
    progress = progress or _Quiet()
    present = [s for s in specs if s.source.exists()]
    skipped = [f"{s.name}: skipped, {s.source} is absent" for s in specs if s not in present]
    for message in skipped:
        if on_skip is not None:
            on_skip(message)
    if not present:
        raise InputFileError("nothing to benchmark: " + "; ".join(skipped))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ACCURACY_FILE
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    data: dict[str, Any] = {
        "benchmark": "accuracy",
        "run": out_dir.name,
        "started_at": started_at.isoformat(timespec="seconds"),
        "config_file": str(specs[0].config_file),
        "encoder": encoder,
        "machine": machine_info(),
        "results": [],
        "skipped": skipped,
    }

    def write() -> None:
        write_json(path, data)

    with tempfile.TemporaryDirectory(prefix="triage-accuracy-") as tmp:
        work = work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for index, spec in enumerate(present, start=1):
            progress.dataset(spec.name, index, len(present))
            data["results"].append(
                run_dataset(
                    spec,
                    work,
                    out_dir,
                    encoder=_dataset_encoder(spec, encoder) if dataset_encoders else encoder,
                    cache_dir=settings.embedding_cache_dir,
                    encoder_cache_dir=settings.encoder_cache_dir,
                    progress=progress,
                )
            )
            write()
    data["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    data["wall_s"] = round(time.perf_counter() - clock, 2)
    # Load after the run: what the machine was doing while it measured.
    data["machine"]["load_average_at_end"] = machine_info()["load_average"]
    write()
    run = BenchmarkRun(path=path, data=data, warnings=[*skipped, *training_warnings(data)])
    if track:
        results = data["results"]
        logged, warning = _try_log(settings, data, results, out_dir, experiment)
        if warning:
            run.warnings.append(warning)
        if logged is not None:
            data["mlflow"] = logged.as_dict()
            write()
    return run


def _try_log(settings, data, results, out_dir: Path, experiment):  # type: ignore[no-untyped-def]
    from benchmarks.tracking import try_log_benchmark_run

    machine = data["machine"]
    params = {
        "benchmark": "accuracy",
        "datasets": ",".join(r["dataset"] for r in results),
        "seeds": {r["dataset"]: r["split"]["seed"] for r in results},
        "splits": {r["dataset"]: r["split"]["kind"] for r in results},
        "encoder": data["encoder"],
        "config_file": data["config_file"],
        "git_sha": machine["git_sha"],
        "git_dirty": machine["git_dirty"],
        "cpu_model": machine["cpu_model"],
        "cores": machine["cores"],
        "bundle_versions": {r["dataset"]: r["bundle_version"] for r in results},
    }
    return try_log_benchmark_run(
        settings,
        run_name=data["run"],
        source="triage bench accuracy",
        params=params,
        metrics={**mlflow_metrics(results), "wall_s": data["wall_s"]},
        artifacts=[out_dir / ACCURACY_FILE, *(out_dir / r["predictions"] for r in results)],
        experiment=experiment,
    )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run each dataset, write the results, print the summary table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help="dataset config (TOML; default benchmarks/datasets.toml)",
    )
    parser.add_argument(
        "--datasets", default=None, help="comma-separated entries of the config (default: all)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results folder (default: benchmarks/results/accuracy-<timestamp>)",
    )
    parser.add_argument(
        "--encoder",
        default=None,
        help="encoder name or 'none' for every dataset (default: a dataset's own, else "
        "settings.encoder)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="where imported data and scratch bundles go (default: a temporary folder)",
    )
    parser.add_argument("--no-track", action="store_true", help="do not log the run to MLflow")
    args = parser.parse_args(argv)

    from benchmarks.report import summary_markdown
    from triage.errors import TriageError
    from triage.settings import get_settings

    settings = get_settings()
    encoder = args.encoder if args.encoder is not None else settings.encoder
    names = [n.strip() for n in args.datasets.split(",") if n.strip()] if args.datasets else None
    try:
        specs = select(load_config(args.config), names, args.config)
        run = run_accuracy(
            specs,
            args.out or new_run_dir("accuracy"),
            encoder=None if encoder.lower() == "none" else encoder,
            settings=settings,
            work_dir=args.work_dir,
            progress=_Printed(),
            track=not args.no_track,
            dataset_encoders=args.encoder is None,
        )
    except TriageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary_markdown(run.data))
    print(f"\nwritten to {run.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
