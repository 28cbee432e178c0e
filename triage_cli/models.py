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
        scores = "\n".join(f"{head} {v.macro_f1[head]:.3f}" for head in v.heads) or "-"
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
    models_dir: Path | None = _MODELS_DIR,
) -> None:
    """Make VERSION the champion if its macro-F1 is at most 1 point below the current champion's."""
    from triage.settings import get_settings, signing_key

    registry = _registry(models_dir)
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
