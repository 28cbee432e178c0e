"""Entry point of the `triage` command.

Command groups live in their own modules and import their heavy dependencies
(torch, onnxruntime, FastAPI) inside the commands, so `triage --help` stays fast and
a serve-only install can run `triage serve` without the training stack.
Domain errors become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from triage.errors import TriageError
from triage_cli import bench as bench_cli
from triage_cli import data
from triage_cli import desk as desk_cli
from triage_cli import models as models_cli
from triage_cli import monitor as monitor_cli
from triage_cli import replies as replies_cli
from triage_cli import rescore as rescore_cli
from triage_cli import serve as serve_cli
from triage_cli import train as train_cli
from triage_cli import worker as worker_cli

app = typer.Typer(
    name="triage",
    help="ticket-triage: ML-powered help-desk triage (train, serve, run the desk, rescore).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(
    data.app, name="data", help="Import help-desk exports, generate demo data, print stats."
)
app.command("serve")(serve_cli.serve)
app.command("train")(train_cli.train)
app.add_typer(
    serve_cli.keys_app, name="keys", help="Create, list and revoke API keys of the triage service."
)
app.command("worker")(worker_cli.worker)
app.command("rescore")(rescore_cli.rescore)
app.command("monitor")(monitor_cli.monitor)
app.add_typer(worker_cli.db_app, name="db", help="Create or upgrade the lifecycle database schema.")
app.add_typer(
    desk_cli.app, name="desk", help="Run ticket histories through the help desk (replay)."
)
app.add_typer(
    replies_cli.app,
    name="replies",
    help="Answer templates: mine past replies, approve or retire what auto-replies may send.",
)
app.add_typer(
    models_cli.app,
    name="models",
    help="List registered model versions, promote one to champion, roll back.",
)
app.add_typer(
    bench_cli.app,
    name="bench",
    help="Benchmark accuracy and latency; write the analyst report (HTML).",
)

_err = Console(stderr=True)


@app.callback()
def _configure() -> None:
    """Hand the core what it needs from the settings before any command runs."""
    from triage import language
    from triage.settings import get_settings

    language.configure(get_settings().language_cache_dir)


def main() -> None:
    """Run the CLI, turning domain errors into a clear message and a non-zero exit."""
    from pydantic import ValidationError

    try:
        app()
    except TriageError as exc:
        _err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # A bad TRIAGE_* value: name the variable and the rule, never the value (a
        # database URL or a secret may be in it).
        for error in exc.errors(include_input=False, include_url=False):
            name = "TRIAGE_" + "_".join(str(part) for part in error["loc"]).upper()
            _err.print(
                f"[bold red]error:[/] invalid setting {name}: {error['msg']}",
                highlight=False,
                soft_wrap=True,
            )
        sys.exit(2)


if __name__ == "__main__":
    main()
