"""`triage models list | promote VERSION | rollback`: the model registry from the shell.

The file registry under `TRIAGE_MODELS_DIR` decides what `--model champion` serves; a
running server follows the alias within its watch interval. When a version was tracked
in MLflow, promote and rollback move the MLflow `champion` alias too (best effort: the
file registry stays authoritative, an MLflow failure is a warning).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from triage.registry import ModelRegistry

app = typer.Typer(no_args_is_help=True)

_out = Console()
_err = Console(stderr=True)

_MODELS_DIR = typer.Option(
    None, "--models-dir", help="the registry directory (default: TRIAGE_MODELS_DIR, ./models)"
)


def _registry(models_dir: Path | None) -> ModelRegistry:
    from triage.registry import ModelRegistry
    from triage.settings import get_settings

    return ModelRegistry(models_dir if models_dir is not None else get_settings().models_dir)


def _mirror_alias(registry: ModelRegistry) -> None:
    """Move the MLflow alias after the file registry moved (warn, never fail)."""
    from triage.registry import CHAMPION

    version = registry.current(CHAMPION)
    if version is None or not registry.get(version).mlflow.get("registered_version"):
        return  # never tracked in MLflow: nothing to mirror, no reason to import it
    try:
        from training.tracking import sync_alias
    except ImportError as exc:  # a serve-only install has no training stack
        _err.print(f"[yellow]warning:[/] MLflow alias not moved ({exc})", highlight=False)
        return
    if warning := sync_alias(registry, CHAMPION):
        _err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


@app.command("list")
def list_models(
    models_dir: Path | None = _MODELS_DIR,
    as_json: bool = typer.Option(False, "--json", help="print the versions as JSON"),
) -> None:
    """Registered versions: created, macro-F1 per head, which one is champion, where."""
    from rich.table import Table

    from triage.registry import CHAMPION

    registry = _registry(models_dir)
    versions = registry.list_versions()
    champion = registry.current(CHAMPION)
    if as_json:
        rows = [
            {
                "version": v.version,
                "champion": v.version == champion,
                "created_at": v.created_at,
                "macro_f1": v.macro_f1,
                "model_name": v.model_name,
                "no_signal": list(v.no_signal),
                "path": str(v.path),
                "mlflow": v.mlflow,
            }
            for v in versions
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not versions:
        _err.print(f"no model versions registered in {registry.path} (run `triage train`)")
        return
    table = Table(
        title=f"models in {registry.root}", caption="* = champion (what --model champion serves)"
    )
    table.add_column("", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("macro-F1 per head", no_wrap=True)
    table.add_column("path", overflow="fold", min_width=10)
    for v in versions:
        scores = (
            "\n".join(
                f"{head} {v.macro_f1[head]:.3f}" + (" (no signal)" if head in v.no_signal else "")
                for head in v.heads
            )
            or "-"
        )
        table.add_row(
            "*" if v.version == champion else "",
            v.version,
            v.created_at.replace("T", " ")[:16],
            scores,
            str(v.path) + ("" if v.path.exists() else " (missing)"),
        )
    _out.print(table)


@app.command("promote")
def promote(
    version: str = typer.Argument(..., help="a registered version (see `triage models list`)"),
    force: bool = typer.Option(
        False, "--force", help="promote even if macro-F1 is more than 1 point below the champion's"
    ),
    to: str = typer.Option(
        "champion",
        "--to",
        help="champion, or challenger: score in shadow beside the champion without acting",
    ),
    models_dir: Path | None = _MODELS_DIR,
) -> None:
    """Make VERSION the champion if its macro-F1 is at most 1 point below the current champion's
    (and, with TRIAGE_SHADOW_MIN_TICKETS / _DAYS, after enough time in shadow); or, with
    `--to challenger`, the model scored in shadow."""
    if to not in ("champion", "challenger"):
        raise typer.BadParameter(f"--to {to!r}: expected champion or challenger")
    from triage.settings import get_settings, signing_key

    registry = _registry(models_dir)
    if to == "challenger":
        old = registry.set_challenger(version)
        _out.print(
            f"challenger: {old or '(none)'} -> {version} (serve with --shadow challenger)",
            highlight=False,
        )
        return
    if not force:
        _check_shadow(registry, version)
    decision = registry.promote(version, force=force, signing_key=signing_key(get_settings()))
    _out.print(decision.message, highlight=False, soft_wrap=True)
    _mirror_alias(registry)


@app.command("sign")
def sign(
    bundle: Path = typer.Argument(..., help="a bundle directory, e.g. models/NAME"),
) -> None:
    """Sign a bundle's manifest with TRIAGE_BUNDLE_SIGNING_KEY (writes manifest.sig)."""
    from triage.bundle import sign_bundle, verify_bundle
    from triage.settings import get_settings, signing_key

    key = signing_key(get_settings())
    if not key:
        raise typer.BadParameter("set TRIAGE_BUNDLE_SIGNING_KEY first", param_hint="BUNDLE")
    verify_bundle(bundle)  # never sign files that fail their sha256
    target = sign_bundle(bundle, key)
    _out.print(f"signed {bundle} ({target.name})", highlight=False)


@app.command("rollback")
def rollback(models_dir: Path | None = _MODELS_DIR) -> None:
    """Point champion back at the previous champion (repeat to go further back)."""
    registry = _registry(models_dir)
    old, new = registry.rollback()
    _out.print(f"champion rolled back: {old} -> {new}", highlight=False)
    _mirror_alias(registry)


def _check_shadow(registry: ModelRegistry, version: str) -> None:
    """Refuse (exit 2) a promotion the settings want proven in shadow first."""
    from triage.settings import get_settings

    settings = get_settings()
    if not (settings.shadow_min_tickets or settings.shadow_min_days):
        return
    from triage.registry import CHAMPION

    champion = registry.current(CHAMPION)
    if champion is None or champion == version:
        return
    comparison = _comparison(settings.database_url, champion, version, "category")
    from triage.health.compare import shadow_verdict

    reason = shadow_verdict(
        comparison, min_tickets=settings.shadow_min_tickets, min_days=settings.shadow_min_days
    )
    if reason:
        _err.print(f"not promoted: {reason} (--force to promote anyway)", highlight=False)
        raise typer.Exit(2)


def _comparison(database_url: str, champion: str, challenger: str, head: str):  # type: ignore[no-untyped-def]
    from triage.desk.ledger import utcnow
    from triage.health.compare import compare_models
    from triage.store import connect, session_factory

    engine = connect(database_url)
    try:
        with session_factory(engine, read_only=True)() as session:
            return compare_models(session, champion, challenger, head=head, now=utcnow())
    finally:
        engine.dispose()


@app.command("compare")
def compare(
    champion: str = typer.Argument("champion", help="an alias or version"),
    challenger: str = typer.Argument("challenger", help="an alias or version"),
    head: str = typer.Option("category", "--head", help="the head compared"),
    database_url: str | None = typer.Option(
        None, "--db", help="the desk's database (default: TRIAGE_DATABASE_URL)"
    ),
    models_dir: Path | None = _MODELS_DIR,
    as_json: bool = typer.Option(False, "--json", help="print the comparison as JSON"),
) -> None:
    """Champion against challenger on the tickets both scored: agreement, and accuracy
    against the human labels since, with 95% confidence intervals."""
    from triage.settings import get_settings

    registry = _registry(models_dir)
    aliases = registry.aliases()
    champion_version = aliases.get(champion, champion)
    challenger_version = aliases.get(challenger, challenger)
    comparison = _comparison(
        database_url or get_settings().database_url, champion_version, challenger_version, head
    )
    if as_json:
        typer.echo(comparison.model_dump_json(indent=2))
        return

    def show(interval) -> str:  # type: ignore[no-untyped-def]
        if interval.value is None:
            return "-"
        return f"{interval.value:.1%} [{interval.low:.1%}, {interval.high:.1%}]"

    _out.print(
        f"{head}: {champion_version} (champion) vs {challenger_version} (challenger)\n"
        f"  tickets both scored: {comparison.shadowed} over {comparison.shadow_days} days\n"
        f"  agreement:           {show(comparison.agreement)}\n"
        f"  labelled since:      {comparison.labelled}\n"
        f"  champion accuracy:   {show(comparison.champion_accuracy)}\n"
        f"  challenger accuracy: {show(comparison.challenger_accuracy)}\n"
        f"  difference:          {show(comparison.difference)} (challenger - champion, 95% CI)",
        highlight=False,
    )


@app.command("retrain")
def retrain_command(
    base_data: Path | None = typer.Option(
        None, "--base-data", help="the champion's training data, to which the desk's labels add"
    ),
    work_dir: Path = typer.Option(Path(".triage/retrain"), "--work-dir", help="scratch files"),
    if_needed: bool = typer.Option(
        False, "--if-needed", help="only when the champion drifted or its live precision fell"
    ),
    promote_if_proven: bool = typer.Option(
        False,
        "--promote-if-proven",
        help="instead of training: promote the challenger if TRIAGE_AUTO_PROMOTE is on and "
        "it beat the champion in shadow (minimum sample and period from the settings)",
    ),
    database_url: str | None = typer.Option(None, "--db", help="the desk's database"),
    models_dir: Path | None = _MODELS_DIR,
) -> None:
    """The retraining job (run it from cron or beside `triage worker`): export the desk's
    confirmed labels, train, pass the offline gate, install the result as challenger.
    Audited in the desk's audit log (actor system:retrain)."""
    from training.pipeline import TrainConfig
    from training.retrain import promote_if_proven as promote_proven
    from training.retrain import retrain
    from triage.desk.ledger import utcnow
    from triage.health.quality import measure_quality
    from triage.health.trigger import retrain_reason
    from triage.health.window import DriftMonitor
    from triage.registry import CHAMPION
    from triage.settings import get_settings
    from triage.store import connect, session_factory

    settings = get_settings()
    registry = _registry(models_dir)
    engine = connect(database_url or settings.database_url)
    try:
        if promote_if_proven:
            promoted, _, why = promote_proven(
                engine,
                registry,
                auto_promote=settings.auto_promote,
                min_tickets=settings.shadow_min_tickets,
                min_days=settings.shadow_min_days,
                clock=utcnow,
            )
            _out.print(why, highlight=False)
            if promoted:
                _mirror_alias(registry)
            return
        reason = "requested"
        if if_needed:
            champion = registry.current(CHAMPION)
            monitor = DriftMonitor(
                registry.resolve(CHAMPION),
                warn=settings.drift_psi_warn,
                alert=settings.drift_psi_alert,
                size=settings.drift_window,
            )
            with session_factory(engine, read_only=True)() as session:
                drift = monitor.check(session, model_version=champion)
                health = measure_quality(session)
            found = retrain_reason(
                health,
                drift,
                model_version=champion,
                precision_floor=settings.precision_floor,
                alert_signals=settings.drift_alert_signals,
            )
            if found is None:
                _out.print("no retraining needed: no drift, live precision above the floor")
                return
            reason = found
        outcome = retrain(
            engine,
            registry,
            reason=reason,
            work_dir=work_dir,
            config=TrainConfig(
                encoder=None if settings.encoder.lower() == "none" else settings.encoder,
                embedding_cache_dir=settings.embedding_cache_dir,
                encoder_cache_dir=settings.encoder_cache_dir,
                bundle_name="retrained",
            ),
            base_data=base_data,
            clock=utcnow,
        )
    finally:
        engine.dispose()
    state = "installed as challenger" if outcome.installed else "refused by the gate"
    _out.print(f"retrained ({reason}): {outcome.version} {state}; {outcome.gate}", highlight=False)
