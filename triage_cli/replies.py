"""`triage replies templates`: review the answer templates mined from past agent replies.

Only an approved template (and a knowledge-base article) is ever sent to a customer
automatically; a past reply nobody approved is a suggestion for agents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(no_args_is_help=True)
templates_app = typer.Typer(no_args_is_help=True)
app.add_typer(
    templates_app,
    name="templates",
    help="Mine, list, approve and retire the answer templates auto-replies may send.",
)
_out = Console()

_DB = typer.Option(None, "--database-url", help="default: TRIAGE_DATABASE_URL")
_ACTOR = typer.Option("admin:cli", "--actor", help="who reviews (recorded on the template)")


def _desk(database_url: str | None):  # type: ignore[no-untyped-def]
    from triage.desk import Desk
    from triage.settings import get_settings
    from triage.store import connect, migrate

    settings = get_settings()
    url = database_url or settings.database_url
    migrate(url)
    return Desk.from_settings(settings, connect(url))


@templates_app.command("mine")
def mine(
    data: Annotated[
        Path, typer.Argument(help="tickets with past agent replies (common Parquet format)")
    ],
    min_uses: int = typer.Option(3, "--min-uses", min=1, help="a wording must recur this often"),
    database_url: str | None = _DB,
) -> None:
    """Propose templates from the past replies in DATA (customer details replaced by
    placeholders); replies quoting a KB article are the article's, not templates."""
    from triage.dataset import iter_tickets

    desk = _desk(database_url)
    replies = (
        (t.agent_answer, t.language)
        for t in iter_tickets(data)
        if t.agent_answer and not t.kb_article_id
    )
    report = desk.mine_templates(replies, min_uses=min_uses)
    _out.print(
        f"{report.replies} past replies: {report.candidates} recurring templates, "
        f"{report.added} new proposals, {report.known} already known"
    )


@templates_app.command("list")
def list_command(
    status: str | None = typer.Option(
        None, "--status", help="proposed, approved or retired (default: all)"
    ),
    full: bool = typer.Option(False, "--full", help="print each template's whole text"),
    database_url: str | None = _DB,
) -> None:
    """Templates, most used first: id, status, uses, language, placeholders, text."""
    from triage.desk.templates import TemplateStatus

    try:
        wanted = TemplateStatus(status) if status else None
    except ValueError:
        raise typer.BadParameter(
            f"--status {status!r}: expected proposed, approved or retired"
        ) from None
    for t in _desk(database_url).list_templates(wanted):
        text = t.text if full else t.text.replace("\n", " ")[:100]
        marks = ",".join(t.placeholders) or "-"
        line = f"{t.id:>4} {t.status.value:<8} {t.uses:>4}x {t.language or '-':<3} [{marks}] {text}"
        _out.print(escape(line), soft_wrap=True)


@templates_app.command("approve")
def approve(
    template_id: int = typer.Argument(..., help="the id `triage replies templates list` shows"),
    text_file: Path | None = typer.Option(
        None, "--text-file", help="approve this reviewed wording instead of the mined text"
    ),
    actor: str = _ACTOR,
    database_url: str | None = _DB,
) -> None:
    """Let the desk send a template automatically (after the policy's checks)."""
    from triage.desk.templates import TemplateStatus

    text = text_file.read_text(encoding="utf-8") if text_file is not None else None
    t = _desk(database_url).review_template(
        template_id, TemplateStatus.approved, actor=actor, text=text
    )
    _out.print(f"template {t.id} approved by {escape(actor)}")


@templates_app.command("retire")
def retire(
    template_id: int = typer.Argument(..., help="the id `triage replies templates list` shows"),
    actor: str = _ACTOR,
    database_url: str | None = _DB,
) -> None:
    """Stop sending a template; matches of it become suggestions again."""
    from triage.desk.templates import TemplateStatus

    t = _desk(database_url).review_template(template_id, TemplateStatus.retired, actor=actor)
    _out.print(f"template {t.id} retired by {escape(actor)}")
