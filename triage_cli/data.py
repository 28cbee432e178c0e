"""`triage data ...`: bring help-desk history into the ticket contract."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)


_FORMAT_HELP = (
    "a shared dataset (endava_it_tickets, endava_all_labels_sample, servicenow_assignment, "
    "rutube_support_ru, uci_incident_log, synthetic_multilingual), a table format (csv, "
    "parquet, jsonl, json, xlsx), a preset (jira, zendesk, freshdesk, servicenow) or eventlog"
)


@app.command("import")
def import_(
    source: Path = typer.Argument(
        ..., help="a file, a zip or folder of JSON pages, or a dataset folder"
    ),
    format: str = typer.Option(..., "--format", "-f", help=_FORMAT_HELP),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="the Parquet file to write (atomically); not with --dry-run"
    ),
    map_: list[str] = typer.Option(
        [],
        "--map",
        "-m",
        help="FIELD=COLUMN, e.g. --map subject=Title --map extra.region=Region; it overrides "
        "presets; FIELD= leaves a field out (a preset's, a same-name column's, a derived one)",
    ),
    date_format: str | None = typer.Option(
        None,
        "--date-format",
        help="strptime format of the dates (default ISO 8601; presets "
        "also read their tool's formats)",
    ),
    encoding: str = typer.Option(
        "utf-8", "--encoding", help="text encoding of CSV/JSON input (a BOM is tolerated)"
    ),
    case: str | None = typer.Option(None, "--case", help="eventlog: the case id column"),
    time_column: str | None = typer.Option(None, "--time", help="eventlog: the event time column"),
    status: str | None = typer.Option(None, "--status", help="eventlog: the status column"),
    level: str | None = typer.Option(None, "--level", help="eventlog: the support level column"),
    escalated_when: str | None = typer.Option(
        None,
        "--escalated-when",
        help="eventlog: e.g. 'level in L2,L3' (a case is escalated when one of its events matches)",
    ),
    resolved_when: str | None = typer.Option(
        None,
        "--resolved-when",
        help="eventlog: e.g. 'status in Resolved,Closed' (default: "
        "the usual resolved/closed words)",
    ),
    dedupe: str | None = typer.Option(
        None, "--dedupe", help="first|last: keep that row of a repeated id (default: fail)"
    ),
    on_error: str = typer.Option(
        "fail", "--on-error", help="fail (default) or skip: write bad rows to F.rejects.csv"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the report, write nothing"),
    split: str = typer.Option(
        "auto",
        "--split",
        help="the split you will train with (auto|time|stratified), for the report's split line",
    ),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Import help-desk history into the common Parquet format, validating every row, and
    print the import report (docs/importing.md)."""
    from triage.ingest import EventLogOptions, ImportOptions, import_source, parse_mapping

    eventlog = None
    if any((case, time_column, status, level, escalated_when, resolved_when)):
        if not (case and time_column):
            raise typer.BadParameter("an event log needs both --case and --time")
        eventlog = EventLogOptions(case, time_column, status, level, escalated_when, resolved_when)
    options = ImportOptions(
        mapping=parse_mapping(map_),
        date_format=date_format,
        encoding=encoding,
        dedupe=_choice(dedupe, ("first", "last"), "--dedupe"),
        on_error=_choice(on_error, ("fail", "skip"), "--on-error"),
        eventlog=eventlog,
    )
    _choice(split, ("auto", "time", "stratified"), "--split")
    started = time.perf_counter()
    with _progress(source) as advance:
        report = import_source(
            source, format, out, options, on_progress=advance, dry_run=dry_run, split=split
        )
    elapsed = time.perf_counter() - started
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    _print_import(report, elapsed)


def _choice(value, choices, option):  # type: ignore[no-untyped-def]
    if value is not None and value not in choices:
        raise typer.BadParameter(
            f"{value!r}: expected one of {', '.join(choices)}", param_hint=option
        )
    return value


@contextmanager
def _progress(source: Path):  # type: ignore[no-untyped-def]
    """A spinner with rows and rows/s on stderr while an import runs."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.completed:,.0f} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(f"importing {source.name}", total=None, rate="")

        def advance(rows: int) -> None:
            rate = rows / max(time.perf_counter() - started, 1e-9)
            progress.update(task, completed=rows, rate=f"{rate:,.0f} rows/s")

        yield advance


def _print_import(report, elapsed: float) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    from triage.ingest.report_text import plural

    console = Console()
    rate = report.rows_written / max(elapsed, 1e-9)
    if report.dry_run:
        console.print(
            f"dry run: would write {plural(report.rows_written, 'ticket')}; nothing was written",
            highlight=False,
        )
    else:
        console.print(
            f"[green]wrote[/] {plural(report.rows_written, 'ticket')} to {report.out} "
            f"in {elapsed:.1f}s ({rate:,.0f} rows/s)",
            highlight=False,
        )
    if report.kb_out:
        console.print(
            f"[green]wrote[/] {report.kb_written:,} KB articles to {report.kb_out}", highlight=False
        )
    for line in report.lines():
        console.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command("stats")
def stats(
    file: Path = typer.Argument(..., help="a ticket file in the common Parquet format"),
    as_json: bool = typer.Option(False, "--json", help="print the statistics as JSON"),
    top: int = typer.Option(10, "--top", min=1, help="how many top values to show per label"),
    detect_language: bool = typer.Option(
        True,
        "--detect-language/--no-detect-language",
        help="detect the language of rows with an empty language column (else count them as "
        "unknown)",
    ),
) -> None:
    """Rows, label distributions, language mix, duplicate texts and time range of a ticket file."""
    from rich.console import Console
    from rich.table import Table

    from triage.stats import compute_stats

    result = compute_stats(file, top=top, detect_languages=detect_language)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(f"[bold]{result['file']}[/]: {result['rows']:,} rows", highlight=False)
    created = result["created_at"]
    if created["min"]:
        console.print(
            f"created_at: {created['min']} .. {created['max']} ({created['missing']:,} missing)",
            highlight=False,
        )
    else:
        console.print("created_at: none", highlight=False)
    for name, label in result["labels"].items():
        if not label["distinct"]:
            continue
        console.print(
            f"[bold]{name}[/]: {label['distinct']:,} values, {label['missing']:,} missing",
            highlight=False,
        )
        table = Table()
        table.add_column("value")
        table.add_column("rows", justify="right")
        table.add_column("share", justify="right")
        for item in label["top"]:
            table.add_row(
                item["value"], f"{item['count']:,}", f"{item['count'] / max(result['rows'], 1):.1%}"
            )
        console.print(table)
    langs = result["languages"]
    mix = ", ".join(f"{code} {count:,}" for code, count in list(langs["counts"].items())[:12])
    console.print(
        f"languages: {mix} (from column {langs['from_column']:,}, detected {langs['detected']:,}, "
        f"unknown {langs['unknown']:,})",
        highlight=False,
    )
    dup = result["duplicates"]
    console.print(
        f"duplicates: {dup['duplicated_texts']:,} texts occur more than once "
        f"({dup['duplicate_rows']:,} extra rows); "
        f"{dup['conflicting_category']:,} with conflicting categories, "
        f"{dup['conflicting_team']:,} with conflicting teams; "
        f"{dup['rows_without_text']:,} rows without text",
        highlight=False,
    )


@app.command("export-desk")
def export_desk_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="the Parquet file to write (atomically)")
    ],
    database_url: str | None = typer.Option(
        None, "--database-url", help="the help desk's store (default: TRIAGE_DATABASE_URL)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Export the help desk's tickets for training: labels only where a person decided them,
    SLA outcomes of solved tickets, the answers that solved them (docs/training.md)."""
    from triage.settings import get_settings

    report = export_desk_with_progress(database_url or get_settings().database_url, out)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    print_desk_export(report)


def export_desk_with_progress(database_url: str, out: Path):  # type: ignore[no-untyped-def]
    """`triage.labels.export_desk` with a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from triage.labels import export_desk

    columns = (
        TextColumn("exporting the desk"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("export", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return export_desk(database_url, out, on_progress=advance)


def print_desk_export(report) -> None:  # type: ignore[no-untyped-def]
    """What an export of the desk wrote per field, and what it withheld as unconfirmed."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[green]wrote[/] {report.tickets_written:,} of {report.tickets_read:,} tickets from "
        f"{report.database} to {report.out}",
        highlight=False,
        soft_wrap=True,
    )
    skipped = report.skipped_unconfirmed + report.skipped_unlabelled
    console.print(
        f"skipped {skipped:,}: {report.skipped_unconfirmed:,} whose labels were all unconfirmed "
        f"(the model's answers, a fallback priority, the requester's or the assigner's), "
        f"{report.skipped_unlabelled:,} with nothing set yet",
        highlight=False,
        soft_wrap=True,
    )
    data = report.as_dict()
    table = Table(title="labels", title_justify="left")
    table.add_column("field")
    table.add_column("exported", justify="right")
    table.add_column("withheld", justify="right")
    table.add_column("why withheld")
    for name, count in data["labels"].items():
        if name == "sla_breached":
            withheld = report.no_outcome
            why = f"open: no outcome yet (of those exported, {report.breached:,} breached)"
        elif name == "agent_answer":
            withheld, why = report.answers_unsatisfied, "the customer rated the solve 2 or less"
        else:
            withheld, why = data["withheld"][name], "unconfirmed (not set by a person)"
        table.add_row(name, f"{count:,}", f"{withheld:,}", why)
    console.print(table)
    sources = ", ".join(f"{source} {n:,}" for source, n in data["withheld_by_source"].items())
    console.print(f"withheld by source: {sources or 'none'}", highlight=False, soft_wrap=True)


@app.command("demo")
def demo(
    out: Path = typer.Option(
        ..., "--out", "-o", help="the tickets Parquet file to write (NAME.parquet)"
    ),
    tickets: int = typer.Option(
        6000, "--tickets", "-n", min=1, help="how many tickets to generate"
    ),
    seed: int = typer.Option(7, "--seed", help="same seed, byte-identical files"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Generate seeded demo history: tickets, KB articles (NAME.kb.parquet) and the roster
    (NAME.agents.json).
    """
    from rich.console import Console
    from rich.table import Table

    from triage.demo import write_demo

    if not out.name.endswith(".parquet"):
        raise typer.BadParameter(
            f"{out}: the demo is written as Parquet; name it NAME.parquet", param_hint="--out"
        )
    console = Console(stderr=True)
    with console.status(f"generating {tickets:,} demo tickets (seed {seed})"):
        summary = write_demo(out, tickets=tickets, seed=seed)
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
        return
    console = Console()
    console.print(
        f"[bold]{summary.tickets:,} tickets[/] → {summary.tickets_path}\n"
        f"{summary.articles} KB articles → {summary.kb_path}\n"
        f"{summary.agents} agents in {summary.teams} teams → {summary.agents_path}\n"
        f"created_at: {summary.first_created} .. {summary.last_created}",
        highlight=False,
    )
    for title, counts in (
        ("language", summary.languages),
        ("category", summary.categories),
        ("priority", summary.priorities),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column(title)
        table.add_column("tickets", justify="right")
        table.add_column("share", justify="right")
        for value, count in counts.items():
            table.add_row(value, f"{count:,}", f"{count / max(summary.tickets, 1):.1%}")
        console.print(table)
    console.print(
        f"SLA breached {summary.sla_breach_rate:.1%}, escalated {summary.escalation_rate:.1%}, "
        f"answered from a KB article {summary.kb_answer_rate:.1%}, follow-ups "
        f"{summary.follow_ups:,}, "
        f"labels deliberately flipped {summary.flipped_labels:,}",
        highlight=False,
    )
