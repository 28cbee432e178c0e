"""`triage bench accuracy | latency | report`: the benchmarks and the analyst report.

Thin wrappers over `benchmarks.accuracy`, `benchmarks.latency` and `benchmarks.report`
(which also run as scripts): options, progress bars, tables, warnings. Results go to
`benchmarks/results/<run>/` unless `--out` says otherwise; every run is logged to MLflow
(experiment `ticket-triage-benchmarks`) unless `--no-track`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from triage_cli.progress import LineStages

app = typer.Typer(no_args_is_help=True)
# The summary columns a terminal fits; report.html and summary.md carry all of them.
TERMINAL_COLUMNS = (
    "dataset",
    "head",
    "n_test",
    "accuracy",
    "macro_f1",
    "majority_macro_f1",
    "svc_accuracy",
    "svc_macro_f1",
    "f1_vs_svc",
    "coverage",
    "ece",
    "roc_auc",
    "wall_s",
    "targets",
)
_out = Console(width=160)
_err = Console(stderr=True)


class _BenchProgress:
    """One bar over the datasets and one for the current stage (its name changes)."""

    def __init__(self, progress) -> None:  # type: ignore[no-untyped-def]
        self._progress = progress
        self._datasets = None
        self._stage = progress.add_task("starting", total=None)

    def dataset(self, name: str, index: int, total: int) -> None:
        if self._datasets is None:
            self._datasets = self._progress.add_task("datasets", total=total)
        self._progress.update(self._datasets, completed=index - 1, description=f"datasets ({name})")

    def stage(self, name: str, total: int | None = None, completed: int = 0) -> None:
        # A fresh task per stage (the finished one hidden): `reset` cannot unset a total.
        self._progress.update(self._stage, visible=False)
        self._stage = self._progress.add_task(name, total=total, completed=completed)

    def advance(self, steps: int = 1) -> None:
        self._progress.advance(self._stage, steps)

    def finish(self) -> None:
        if self._datasets is not None:
            task = self._progress.tasks[self._datasets]
            self._progress.update(self._datasets, completed=task.total, description="datasets")
        self._progress.update(self._stage, visible=False)


def _progress():  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=_err, transient=False)


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        _err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _names(values: list[str]) -> list[str] | None:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


def print_accuracy(data: dict) -> None:
    """The summary table of an accuracy run, then every missed target."""
    from rich.table import Table

    from benchmarks.report import SUMMARY_COLUMNS, format_cell, summary_rows, target_rows

    table = Table(
        title="ours beside the majority class (maj) and TF-IDF + LinearSVC (svc), same split; "
        "cov@P = coverage at the target precision",
        padding=(0, 1),
    )
    headers = dict(SUMMARY_COLUMNS)
    for key in TERMINAL_COLUMNS:
        left = key in ("dataset", "head")
        table.add_column(headers[key], justify="left" if left else "right", no_wrap=left)
    for row in summary_rows(data):
        table.add_row(*(format_cell(key, row[key]) for key in TERMINAL_COLUMNS))
    _out.print(table)
    from benchmarks.report import cascade_rows

    for dataset, head, full, mixed, share, ok in cascade_rows(data):
        _out.print(
            f"cascade {dataset} {head}: macro-F1 full {full:.4f}, cascade {mixed:.4f} "
            f"({(mixed - full) * 100:+.2f} points), cheap path {share:.1%} of test tickets"
            + ("" if ok else " [red]beyond 0.3 points[/]"),
            highlight=False,
        )
    for dataset, metric, value, bound, met in target_rows(data):
        if not met:
            _out.print(
                f"[red]missed[/] {dataset} {metric}: {value} (target {bound})", highlight=False
            )


@app.command("accuracy")
def accuracy(
    datasets: list[str] = typer.Option(
        [],
        "--datasets",
        "-d",
        help="dataset entries of the config, comma-separated or repeated (default: every entry)",
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="dataset config (TOML), default benchmarks/datasets.toml; see docs/benchmarks.md",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="results folder (default benchmarks/results/accuracy-<timestamp>)"
    ),
    encoder: str | None = typer.Option(
        None,
        "--encoder",
        help="encoder name or folder, or 'none', for every dataset (default: a dataset's own "
        "encoder, else settings.encoder)",
    ),
    work_dir: Path | None = typer.Option(
        None, "--work-dir", help="keep imported data and scratch bundles here (default: temporary)"
    ),
    track: bool = typer.Option(True, "--track/--no-track", help="log the run to MLflow"),
    experiment: str | None = typer.Option(
        None, "--experiment", help="MLflow experiment (default ticket-triage-benchmarks)"
    ),
) -> None:
    """Our model beside the majority and TF-IDF + LinearSVC baselines on every dataset entry."""
    from benchmarks.accuracy import run_accuracy
    from benchmarks.config import DEFAULT_CONFIG, load_config, select
    from benchmarks.results import new_run_dir
    from triage.settings import get_settings

    config = config or DEFAULT_CONFIG
    specs = select(load_config(config), _names(datasets), config)
    settings = get_settings()
    chosen = encoder if encoder is not None else settings.encoder
    with _progress() as bar:
        # A log or a pipe gets one line per stage; a live bar would show only at the end.
        sink = _BenchProgress(bar) if _err.is_terminal else LineStages()
        run = run_accuracy(
            specs,
            out or new_run_dir("accuracy"),
            encoder=None if chosen.lower() == "none" else chosen,
            settings=settings,
            work_dir=work_dir,
            progress=sink,
            track=track,
            experiment=experiment,
            # A dataset's own encoder (the config's `encoder`) unless --encoder was given.
            dataset_encoders=encoder is None,
        )
        sink.finish()
    _warn(run.warnings)
    print_accuracy(run.data)
    line = f"written to {run.path} and {len(run.data['results'])} .npz beside it"
    if run.data.get("mlflow"):
        line += f"; MLflow run {run.data['mlflow']['run_id']}"
    _out.print(line, highlight=False, soft_wrap=True)
    _out.print(f"next: triage bench report --results {run.path.parent}", highlight=False)


@app.command("latency")
def latency(
    bundle: Path | None = typer.Option(None, "--bundle", help="a bundle directory"),
    model: str | None = typer.Option(
        None, "--model", help="a registry alias or version (default: champion)"
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="results folder (default benchmarks/results/latency-<timestamp>); "
        "the accuracy run's folder puts both in one report",
    ),
    quick: bool = typer.Option(
        False, "--quick", help="a seconds-long smoke run (not figures to quote)"
    ),
    duration: float = typer.Option(60.0, "--duration", min=0.5, help="seconds at --concurrency"),
    concurrency: int = typer.Option(32, "--concurrency", min=1),
    sweep: str = typer.Option("1,2,4,8,16,32", "--sweep", help="concurrency levels of the sweep"),
    sweep_duration: float = typer.Option(
        10.0, "--sweep-duration", min=0.5, help="seconds per level"
    ),
    threads: int = typer.Option(
        2, "--threads", min=1, help="onnxruntime threads (server, encoder)"
    ),
    tickets: Path | None = typer.Option(
        None,
        "--tickets",
        help="tickets (common Parquet format) for the cascade's path split (default: a "
        "generated demo desk)",
    ),
    path_tickets: int = typer.Option(
        400, "--path-tickets", min=1, help="tickets of the path split (each sent once, c=1)"
    ),
    track: bool = typer.Option(True, "--track/--no-track", help="log the run to MLflow"),
    experiment: str | None = typer.Option(None, "--experiment", help="MLflow experiment"),
) -> None:
    """Start-up, latency against the bare encoder, batch, load, throughput against concurrency."""
    from dataclasses import replace

    from benchmarks.latency import QUICK, LatencyOptions, run_latency
    from benchmarks.report import latency_rows
    from benchmarks.results import new_run_dir
    from triage.registry import ModelRegistry
    from triage.settings import get_settings

    if bundle is not None and model is not None:
        raise typer.BadParameter("give either --bundle or --model, not both")
    settings = get_settings()
    if bundle is None:
        bundle = ModelRegistry(settings.models_dir).resolve(model or "champion")
    from triage.bundle import read_manifest

    read_manifest(bundle)  # a missing or broken bundle: exit 2 here, not a server that dies later
    try:
        levels = tuple(int(c) for c in sweep.split(",") if c.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{sweep!r}: expected numbers like 1,2,4", param_hint="--sweep"
        ) from None
    if not levels or min(levels) < 1:
        raise typer.BadParameter(f"{sweep!r}: expected levels of 1 or more", param_hint="--sweep")
    options = (
        replace(QUICK, threads=threads, tickets_file=tickets)
        if quick
        else LatencyOptions(
            threads=threads,
            duration=duration,
            concurrency=concurrency,
            sweep=levels,
            sweep_duration=sweep_duration,
            path_tickets=path_tickets,
            tickets_file=tickets,
        )
    )
    with _progress() as bar:
        sink = _BenchProgress(bar)
        run = run_latency(
            bundle,
            out or new_run_dir("latency"),
            options=options,
            settings=settings,
            progress=sink,
            track=track,
            experiment=experiment,
        )
        sink.finish()
    _warn(run.warnings)
    from rich.table import Table

    table = Table(
        title=f"triage serve on loopback, bundle {run.data['bundle_version']}"
        + (" (QUICK smoke run)" if quick else ""),
        padding=(0, 1),
    )
    for column in ("figure", "value", "target", "result"):
        table.add_column(column)
    for name, value, target, met in latency_rows(run.data):
        table.add_row(
            name, value, target, "" if met is None else ("met" if met else "[red]MISSED[/]")
        )
    _out.print(table)
    _out.print(f"written to {run.path}", highlight=False, soft_wrap=True)


@app.command("report")
def report(
    results: Path | None = typer.Option(
        None, "--results", help="a run folder (default: the newest under benchmarks/results)"
    ),
    out: Path | None = typer.Option(None, "--out", help="where to write (default: the run folder)"),
    track: bool = typer.Option(
        True, "--track/--no-track", help="attach the report to the runs' MLflow runs"
    ),
) -> None:
    """The self-contained HTML report with every plot, and a markdown summary table."""
    from benchmarks.report import build_report
    from benchmarks.tracking import attach_artifacts

    with _err.status("drawing the report"):
        files = build_report(results, out)
    warnings = list(files.warnings)
    if track:
        for data in (files.results.accuracy, files.results.latency):
            if data and data.get("mlflow"):
                warning = attach_artifacts(data["mlflow"], [files.html, files.markdown])
                warnings += [warning] if warning else []
    _warn(warnings)
    _out.print(
        f"wrote {files.html} ({len(files.plots)} plots inline) and {files.markdown}",
        highlight=False,
        soft_wrap=True,
    )
