"""`triage worker` and `triage db upgrade`: the lifecycle's background jobs and schema."""

from __future__ import annotations

import json
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.console import Console

db_app = typer.Typer(no_args_is_help=True)
_out = Console()
_err = Console(stderr=True)

DATABASE_URL_HELP = "database URL (default: TRIAGE_DATABASE_URL, else sqlite:///triage.db)"


def _database_url(option: str | None) -> str:
    from triage.settings import get_settings

    return option or get_settings().database_url


@db_app.command("upgrade")
def upgrade(
    database_url: str | None = typer.Option(None, "--database-url", help=DATABASE_URL_HELP),
    revision: str = typer.Option("head", "--revision", help="Alembic revision to upgrade to"),
) -> None:
    """Create or upgrade the lifecycle database schema (Alembic migrations)."""
    from triage.store import current_revision, migrate

    url = _database_url(database_url)
    migrate(url, revision)
    _out.print(f"database at revision {current_revision(url)}", highlight=False)


def _parse_now(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"--now {text!r}: expected ISO 8601, e.g. 2026-01-05T10:00:00Z"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _triager(settings: Any) -> Any:
    """The triager the settings choose: remote URL, else a bundle path, else a registry
    alias; None (re-triage off) when none is configured."""
    if settings.triager_url:
        from triage.remote import HttpTriager

        return HttpTriager.from_settings(settings, api_key=settings.triager_api_key)
    bundle = settings.bundle
    if bundle is None and settings.model_alias:
        from triage.registry import ModelRegistry

        bundle = ModelRegistry(settings.models_dir).resolve(settings.model_alias)
    if bundle is None:
        return None
    from triage.bundle import load_bundle
    from triage.predictor import OnnxTriager

    return OnnxTriager(
        load_bundle(bundle, threads=settings.onnx_threads, spinning=settings.onnx_allow_spinning)
    )


def worker(
    once: bool = typer.Option(False, "--once", help="run one pass and exit"),
    now: str | None = typer.Option(
        None,
        "--now",
        help="start the clock at this ISO time (tests and replays move time this way)",
    ),
    interval: float = typer.Option(30.0, "--interval", min=0.1, help="seconds between passes"),
    batch: int = typer.Option(100, "--batch", min=1, help="tickets per job per pass"),
    database_url: str | None = typer.Option(None, "--database-url", help=DATABASE_URL_HELP),
    name: str = typer.Option("worker", "--name", help="actor name in the audit log"),
    allow_unsigned_webhooks: bool = typer.Option(
        False,
        "--allow-unsigned-webhooks",
        help="send webhooks without a signature when TRIAGE_WEBHOOK_SECRET is not set",
    ),
) -> None:
    """Run the lifecycle jobs: re-triage, SLA escalation, pending reminders, auto-close.

    Prints one JSON line per pass. Several workers may run at once on one database.
    """
    from triage.desk import Desk
    from triage.settings import get_settings
    from triage.store import connect
    from triage.worker import Worker

    settings = get_settings()
    if now is None:
        clock = None
    else:
        start, started = _parse_now(now), time.monotonic()

        def clock() -> datetime:
            # With --once the pass runs exactly at --now; otherwise --now sets where the
            # clock starts and it runs at real speed from there.
            return start if once else start + timedelta(seconds=time.monotonic() - started)

    engine = connect(_database_url(database_url))
    triager = _triager(settings)
    if triager is None:
        _err.print(
            "warning: no triager configured (TRIAGE_TRIAGER_URL / TRIAGE_BUNDLE); re-triage is off"
        )
    desk = Desk.from_settings(settings, engine, triager, **({"clock": clock} if clock else {}))
    webhooks = None
    if settings.webhook_url:
        from triage.webhook import WebhookSender

        allow = allow_unsigned_webhooks or settings.allow_unsigned_webhooks
        webhooks = WebhookSender(
            settings.webhook_url, settings.webhook_secret, allow_unsigned=allow
        )
        if not settings.webhook_secret:
            _err.print("warning: webhooks go out UNSIGNED (--allow-unsigned-webhooks)")
    runner = Worker(desk, webhooks=webhooks, batch=batch, name=name)
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    try:
        while True:
            report = runner.run_once()
            line = {
                "now": report.now.isoformat(),
                "retriaged": report.retriaged,
                "retriage_failed": report.retriage_failed,
                "breached": report.breached,
                "escalated": report.escalated,
                "assigned": report.assigned,
                "reminded": report.reminded,
                "closed": report.closed,
                "webhooks_delivered": report.delivered,
                "webhooks_failed": report.delivery_failed,
                "tickets": report.tickets,
            }
            print(json.dumps(line), flush=True)
            if once or stop.wait(interval):
                break
    finally:
        if webhooks is not None:
            webhooks.close()
        engine.dispose()
