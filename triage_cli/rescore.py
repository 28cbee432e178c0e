"""`triage rescore`: score a backlog with a bundle, resumably; report (and apply) what changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from triage_cli.progress import RichStages

_out = Console()
_err = Console(stderr=True)
PER_CLASS_ROWS = 12


def _speed_column():  # type: ignore[no-untyped-def]
    from rich.progress import ProgressColumn
    from rich.text import Text

    class SpeedColumn(ProgressColumn):
        """Steps per second of this run (resumed steps are not counted)."""

        def render(self, task) -> Text:  # type: ignore[no-untyped-def]
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")

    return SpeedColumn()


def rescore(
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="results Parquet, one row per ticket; the diff goes to NAME.diff.json"
        ),
    ],
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="a bundle directory from `triage train`, e.g. models/NAME"),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="a registry alias or version instead of --bundle, e.g. champion"
        ),
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="tickets to score: CSV, Parquet, JSONL or XLSX in the ticket contract (e.g. a "
            "`triage data import` output); the diff compares with the file's labels "
            "(category, priority, team, ...; sla_breached for the escalation risk)",
        ),
    ] = None,
    db: Annotated[
        bool,
        typer.Option(
            "--db",
            help="score the desk's open tickets (every status but solved/closed); the diff "
            "compares with the predictions stored for them",
        ),
    ] = False,
    engine: Annotated[
        str, typer.Option("--engine", help="local (worker processes) or ray")
    ] = "local",
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="worker processes / Ray actors (default: one per CPU)"
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads", min=1, help="onnxruntime threads per worker (default: CPUs / workers)"
        ),
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="with --db: write the new predictions (predicted_*, escalation_risk, "
            "model_version) to the store, audit-logged; never the fields people set. Without "
            "it nothing is written (a dry run)",
        ),
    ] = False,
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint-dir",
            help="where progress is kept (default: OUT.checkpoint); rerunning the same command "
            "resumes from it; removed when the run completes",
        ),
    ] = None,
    chunk_rows: Annotated[
        int | None,
        typer.Option("--chunk-rows", min=1, help="tickets per checkpointed chunk (default 256)"),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="join this Ray cluster (bundle and checkpoint folder on a file system every "
            "node reaches) instead of starting a local Ray instance",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="with --db (default: TRIAGE_DATABASE_URL)"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the summary and diff as JSON")
    ] = False,
) -> None:
    """Rescore a backlog with a bundle: one results row per ticket, resumable after a crash,
    a diff report against the current labels or stored predictions, optionally applied."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from triage.rescore import (
        DEFAULT_CHUNK_ROWS,
        ENGINES,
        FileSource,
        RescoreOptions,
        StoreSource,
    )
    from triage.rescore import rescore as run_rescore
    from triage.settings import get_settings

    if (bundle is None) == (model is None):
        raise typer.BadParameter("give either --bundle or --model")
    if (input_file is None) == (not db):
        raise typer.BadParameter("give either --input FILE or --db")
    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if ray_address and engine != "ray":
        raise typer.BadParameter("--ray-address needs --engine ray")
    if apply and not db:
        raise typer.BadParameter("--apply writes to the desk's store: it needs --db")
    settings = get_settings()
    if model is not None:
        from triage.registry import ModelRegistry

        bundle = ModelRegistry(settings.models_dir).resolve(model)
    assert bundle is not None
    source = (
        FileSource(input_file)
        if input_file is not None
        else StoreSource(database_url or settings.database_url)
    )
    options = RescoreOptions(
        bundle=bundle,
        source=source,
        out=out,
        engine=engine,
        workers=workers,
        threads=threads,
        spinning=settings.onnx_allow_spinning,
        chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
        checkpoint_dir=checkpoint_dir,
        ray_address=ray_address,
        # The worker's rule: the configured threshold wins; unset, each prediction is
        # counted at its own model's threshold (the default for a model without one).
        risk_threshold=settings.escalation_risk_threshold,
        apply=apply,
    )
    columns = (
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        _speed_column(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=_err, transient=False) as bar:
            sink = RichStages(bar)
            report = run_rescore(options, sink)
            sink.finish()
    except KeyboardInterrupt:
        _err.print("interrupted: run the same command again to resume where it stopped")
        raise typer.Exit(130) from None

    summary = {
        "out": str(report.out),
        "diff": str(report.diff_path),
        "model_version": report.model_version,
        "tickets": report.tickets,
        "scored": report.scored,
        "resumed": report.resumed_tickets,
        "engine": report.engine,
        "workers": report.workers,
        "threads_per_worker": report.threads,
        "scoring_s": round(report.scoring_s, 2),
        "tickets_per_s": round(report.tickets_per_s, 1) if report.tickets_per_s else None,
        "applied": report.applied.as_dict() if report.applied else None,
        "notes": report.notes,
    }
    if as_json:
        print(json.dumps({"summary": summary, "diff": report.diff}, ensure_ascii=False), flush=True)
        return
    _print_report(summary, report.diff, dry_run=db and not apply)


def _thresholds(risk: dict[str, Any]) -> str:
    """The diff's escalation thresholds in words: the new risks' (with their tickets when
    several, e.g. a cascade's full and cheap paths) and where they came from, and the
    stored risks' when they were counted at other ones."""

    def shown(side: str) -> str:
        used = risk["thresholds"][side]
        if len(used) == 1:
            return f"{used[0]['threshold']:.2f}"
        return ", ".join(f"{t['threshold']:.2f} on {t['tickets']:,}" for t in used) or "-"

    after, before = risk["thresholds"]["after"], risk["thresholds"]["before"]
    plural = "s" if len(after) > 1 else ""
    text = f"{shown('after')} (the {risk['threshold_source']} threshold{plural})"
    if before and [t["threshold"] for t in before] != [t["threshold"] for t in after]:
        text += f"; stored risks at {shown('before')}"
    return text


def _print_report(summary: dict[str, Any], diff: dict[str, Any], *, dry_run: bool) -> None:
    rate = f", {summary['tickets_per_s']:,.0f} tickets/s" if summary["tickets_per_s"] else ""
    _out.print(
        escape(
            f"rescored {summary['tickets']:,} tickets with {summary['model_version']} "
            f"({summary['scored']:,} now, {summary['resumed']:,} resumed; {summary['engine']}, "
            f"{summary['workers']} workers x {summary['threads_per_worker']} threads{rate})"
        ),
        soft_wrap=True,
    )
    _out.print(escape(f"results: {summary['out']}; diff: {summary['diff']}"), soft_wrap=True)
    for note in summary["notes"]:
        _out.print(escape(f"note: {note}"), soft_wrap=True)
    heads = diff.get("heads", {})
    table = Table(title=f"what changes, against the {diff['baseline']}")
    for column in ("head", "compared", "changed", "share", "newly predicted", "now abstains"):
        table.add_column(column, justify="left" if column == "head" else "right")
    for name, head in heads.items():
        share = head["changed_share"]
        table.add_row(
            name,
            f"{head['compared']:,}",
            f"{head['changed']:,}",
            f"{share:.1%}" if share is not None else "-",
            f"{head['newly_predicted']:,}",
            f"{head['now_abstains']:,}",
        )
    _out.print(table)
    risk = diff.get("escalation")
    if risk:
        _out.print(
            f"escalation risk >= {_thresholds(risk)}: {risk['at_risk_before']:,} before, "
            f"{risk['at_risk_after']:,} now; [bold]{risk['newly_at_risk']:,} newly at risk[/], "
            f"{risk['no_longer_at_risk']:,} no longer",
            highlight=False,
        )
    for name, head in heads.items():
        if not head["changed"] and not head["now_abstains"] and not head["newly_predicted"]:
            continue
        per_class = Table(title=f"{name} per class")
        for column in ("class", "before", "after", "gained", "lost"):
            per_class.add_column(column, justify="left" if column == "class" else "right")
        classes = sorted(
            head["per_class"].items(),
            key=lambda kv: (-(kv[1]["gained"] + kv[1]["lost"]), kv[0]),
        )
        for label, counts in classes[:PER_CLASS_ROWS]:
            per_class.add_row(
                escape(label), *(f"{counts[k]:,}" for k in ("before", "after", "gained", "lost"))
            )
        _out.print(per_class)
    applied = summary["applied"]
    if applied is not None:
        _out.print(
            f"applied: {applied['updated']:,} tickets updated, {applied['unchanged']:,} already "
            f"current, {applied['skipped_queued']:,} queued for the worker, "
            f"{applied['skipped_closed']:,} solved/closed since, {applied['missing']:,} gone",
            highlight=False,
        )
    elif dry_run:
        _out.print("dry run: nothing was written to the store (add --apply to write)")
