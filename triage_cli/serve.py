"""`triage serve` (the HTTP triage service) and `triage keys ...` (its API keys)."""

from __future__ import annotations

from pathlib import Path

import typer

keys_app = typer.Typer(no_args_is_help=True)


def serve(
    bundle: Path | None = typer.Option(
        None, "--bundle", help="a bundle directory from `triage train`, e.g. models/NAME"
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="a registry alias or version, e.g. champion; the server follows the alias when it "
        "moves",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="interface to bind"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int = typer.Option(
        1, "--workers", min=1, help="processes; one already uses both onnxruntime threads"
    ),
    insecure_no_auth: bool = typer.Option(
        False,
        "--insecure-no-auth",
        help="serve without API keys: loopback addresses only, warned at every start "
        "(never read from the environment or .env)",
    ),
    desk: bool = typer.Option(
        False,
        "--desk",
        help="also serve the help desk (/v1/tickets, /v1/agents, /v1/dashboard) on "
        "TRIAGE_DATABASE_URL; the schema is upgraded at start-up",
    ),
    shadow: str | None = typer.Option(
        None,
        "--shadow",
        help="with --desk: a registry alias or version (e.g. challenger) that scores every "
        "new ticket too, in the background, without acting (TRIAGE_SHADOW_MODEL)",
    ),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log"),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Serve /v1/triage over HTTP from a verified bundle (torch-free, onnxruntime only)."""
    # Imported here: FastAPI, uvicorn and onnxruntime are not needed for `triage --help`.
    from api.server import serve as run_server
    from triage.settings import get_settings

    if bundle is not None and model is not None:
        raise typer.BadParameter("give either --bundle or --model, not both")
    settings = get_settings()
    update: dict[str, object] = {}
    if bundle is not None:
        update.update(bundle=bundle, model_alias=None)
    elif model is not None:
        update.update(bundle=None, model_alias=model)
    if insecure_no_auth:
        if not is_loopback(host):
            raise typer.BadParameter(
                f"--insecure-no-auth only on a loopback address (127.0.0.1, ::1, localhost), "
                f"not {host!r}",
                param_hint="--host",
            )
        update["insecure_no_auth"] = True
    if desk:
        update["desk"] = True
    if shadow is not None:
        update["shadow_model"] = shadow
    settings = settings.model_copy(update=update)
    run_server(
        settings,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level=log_level,
    )


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@keys_app.command("create")
def create(
    scopes: str = typer.Option(
        "triage",
        "--scopes",
        help="comma-separated: triage (scoring), tickets (an integration; needs --inbox), "
        "agent (a desk UI; see --teams), admin, act-as (may send X-Actor)",
    ),
    name: str = typer.Option("", "--name", help="a note to recognise the key by (e.g. the client)"),
    inbox: str | None = typer.Option(
        None, "--inbox", help="tickets keys: the inbox whose tickets the key creates and reads"
    ),
    teams: str = typer.Option("", "--teams", help="agent keys: comma-separated teams it sees"),
) -> None:
    """Create an API key and print it once; only its salted hash is stored."""
    from triage.keys import check_binding, create_key, parse_scopes
    from triage.settings import get_settings

    team_set = frozenset(t.strip() for t in teams.split(",") if t.strip())
    try:
        scope_set = parse_scopes(scopes)
        check_binding(scope_set, inbox, team_set)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scopes") from None
    path = get_settings().api_keys_file
    key, record = create_key(path, scope_set, name=name, inbox=inbox, teams=team_set)
    typer.echo(key)
    typer.echo(
        f"key {record.id} ({', '.join(sorted(record.scopes))}) stored hashed in {path}; "
        "copy it now, it cannot be shown again",
        err=True,
    )


@keys_app.command("list")
def list_keys() -> None:
    """List key ids, scopes and names (never the keys themselves)."""
    from triage.keys import KeyStore
    from triage.settings import get_settings

    path = get_settings().api_keys_file
    for record in KeyStore.load(path).records:
        binding = record.inbox or ",".join(sorted(record.teams))
        typer.echo(
            f"{record.id}\t{','.join(sorted(record.scopes))}\t{binding}\t{record.created_at}"
            f"\t{record.name}"
        )


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="the id printed by `triage keys list`")) -> None:
    """Delete a key; a running server stops accepting it within its watch interval."""
    from triage.keys import revoke_key
    from triage.settings import get_settings

    record = revoke_key(Path(get_settings().api_keys_file), key_id)
    typer.echo(f"revoked key {record.id} ({record.name or 'unnamed'})", err=True)
