"""`triage monitor`: the model's health on this desk, printed, and as an HTML page.

Live quality per model version and head (`triage.health.quality`) and the drift of the
last scored tickets against the served bundle's training data (`triage.health.drift`).
Exit code 0 whatever the findings: the page and the printout are the report; a cron
job or CI step that must fail on drift passes `--fail-on-drift`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from triage.health.drift import DriftReport
    from triage.health.quality import ModelHealth

_out = Console()
_err = Console(stderr=True)


def _bundle_dir(bundle: Path | None, model: str | None, models_dir: Path | None) -> Path | None:
    from triage.registry import ModelRegistry
    from triage.settings import get_settings

    settings = get_settings()
    if bundle is not None:
        return bundle
    alias = model or settings.model_alias
    if settings.bundle is not None and alias is None:
        return Path(settings.bundle)
    if alias is None:
        return None
    return ModelRegistry(models_dir or settings.models_dir).resolve(alias)


def monitor(
    database_url: str | None = typer.Option(
        None, "--db", help="the desk's database (default: TRIAGE_DATABASE_URL)"
    ),
    bundle: Path | None = typer.Option(None, "--bundle", help="the served bundle's directory"),
    model: str | None = typer.Option(
        None, "--model", help="a registry alias or version (default: TRIAGE_MODEL_ALIAS)"
    ),
    models_dir: Path | None = typer.Option(None, "--models-dir", help="the registry directory"),
    window: int | None = typer.Option(
        None, "--window", min=20, help="scored tickets in the window (default: TRIAGE_DRIFT_WINDOW)"
    ),
    html: str = typer.Option("monitor.html", "--html", help="write the page here ('' to skip)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    fail_on_drift: bool = typer.Option(
        False, "--fail-on-drift", help="exit 1 when the model counts as drifted"
    ),
) -> None:
    """Live precision, acceptance and abstention per model version and head, and the PSI
    of every drift signal over the last scored tickets; writes an HTML page with plots."""
    from triage.health.window import DriftMonitor
    from triage.settings import get_settings
    from triage.store import connect, session_factory

    settings = get_settings()
    engine = connect(database_url or settings.database_url)
    try:
        readers = session_factory(engine)
        directory = _bundle_dir(bundle, model, models_dir)
        with readers() as session:
            from triage.health.quality import measure_quality

            health = measure_quality(session)
            drift = None
            if directory is not None:
                monitor_ = DriftMonitor(
                    directory,
                    warn=settings.drift_psi_warn,
                    alert=settings.drift_psi_alert,
                    size=window or settings.drift_window,
                )
                drift = monitor_.check(session)
    finally:
        engine.dispose()
    drifted = drift is not None and len(drift.alerts) >= settings.drift_alert_signals
    if as_json:
        body = {
            "quality": health.model_dump(mode="json"),
            "drift": drift.model_dump(mode="json") if drift else None,
            "drifted": drifted,
        }
        typer.echo(json.dumps(body, indent=2))
    else:
        print_report(health, drift, directory, drifted)
    if html:
        write_page(Path(html), health, drift, drifted)
        _err.print(f"wrote {html}", highlight=False)
    if fail_on_drift and drifted:
        raise typer.Exit(1)


def print_report(
    health: ModelHealth, drift: DriftReport | None, directory: Path | None, drifted: bool
) -> None:
    """The report as tables on the terminal."""
    from rich.table import Table

    table = Table(title="live quality per model version and head")
    for column in ("version", "head", "answered", "abstention", "acceptance", "precision", "n"):
        table.add_column(column, no_wrap=True)
    for version in health.versions:
        for head in version.heads:
            table.add_row(
                version.model_version,
                head.head,
                str(head.answered),
                _pct(head.abstention_rate),
                _pct(head.acceptance_rate),
                _pct(head.realized_precision),
                str(head.labelled),
            )
        if version.auto_replies_sent:
            table.add_row(
                version.model_version,
                "auto-reply",
                str(version.auto_replies_sent),
                "",
                "",
                _pct(version.auto_reply_resolution_rate),
                str(version.auto_replies_resolved + version.auto_replies_reopened),
            )
    _out.print(table)
    if directory is None:
        _out.print("drift: no model given (--bundle or --model)")
        return
    if drift is None:
        _out.print(f"drift: {directory.name} has no reference (exported before drift monitoring)")
        return
    table = Table(
        title=f"drift of the last {drift.window} scored tickets against "
        f"{drift.reference_size} held-out training tickets of {drift.model_version}",
        caption=f"PSI: warn >= {drift.warn}, alert >= {drift.alert}; "
        f"{'DRIFTED' if drifted else 'not drifted'}",
    )
    for column in ("signal", "PSI", "status", "moved most"):
        table.add_column(column, no_wrap=column != "moved most")
    for s in drift.signals:
        moved = ", ".join(
            f"{m['bucket']} {m['reference']:.0%}->{m['window']:.0%}" for m in s.moved[:2]
        )
        table.add_row(s.signal, f"{s.psi:.3f}", s.status, moved)
    _out.print(table)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def write_page(path: Path, health: ModelHealth, drift: DriftReport | None, drifted: bool) -> None:
    """The HTML page: quality tables and, per drift signal, reference vs window bars."""
    from triage.files import write_atomically

    try:
        from jinja2 import Environment, PackageLoader, StrictUndefined
    except ImportError as exc:  # a serve-only install
        raise typer.BadParameter(f"--html needs jinja2 ({exc}); pass --html ''") from None
    env = Environment(
        loader=PackageLoader("triage_cli", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    context: dict[str, Any] = {
        "health": health.model_dump(mode="json"),
        "drift": _plotted(drift) if drift else None,
        "drifted": drifted,
    }
    write_atomically(path, env.get_template("monitor.html.j2").render(context))


def _plotted(drift: DriftReport) -> dict[str, Any]:
    """The drift report with each signal's bars laid out for an inline SVG chart."""
    data = drift.model_dump(mode="json")
    for signal in data["signals"]:
        buckets = sorted(set(signal["reference"]) | set(signal["window"]))[:30]
        top = max([*signal["reference"].values(), *signal["window"].values(), 0.01])
        signal["bars"] = [
            {
                "bucket": b,
                "reference": signal["reference"].get(b, 0.0),
                "window": signal["window"].get(b, 0.0),
                "ref_width": round(300 * signal["reference"].get(b, 0.0) / top, 1),
                "win_width": round(300 * signal["window"].get(b, 0.0) / top, 1),
            }
            for b in buckets
        ]
    return data
