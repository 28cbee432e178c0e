"""The console's routes: sign-in, queues, the ticket page, the dashboard.

Server-rendered HTML over the same `Desk` the JSON API uses; every change goes through
the desk's own use cases (`Desk.update` stores corrections with the model version,
`Desk.add_message`, legal status moves only), so the console can do nothing the API
could not. Forms post URL-encoded bodies, each with the session's CSRF token, and answer
with a redirect (post/redirect/get). Page endpoints are sync `def`: the desk's database
calls run in FastAPI's threadpool.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from api.console import charts, views
from api.console.i18n import LANG_COOKIE, LANGUAGES, pick_language, translator
from api.console.session import (
    COOKIE,
    ConsoleUser,
    SessionSigner,
    check_csrf,
    current_user,
    sign_in,
)
from api.docs import HTML_SECURITY_HEADERS
from api.errors import unavailable
from triage.contract import Channel, Ticket
from triage.desk import Desk, NewMessage, Status, TicketChanges
from triage.desk.agents import Directory
from triage.desk.records import Direction
from triage.desk.status import TRANSITIONS
from triage.desk.templates import TemplateStatus
from triage.errors import NotFound, TriageError
from triage.settings import Settings

HERE = Path(__file__).parent
router = APIRouter(prefix="/console", include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
QUEUE_LIMIT = 500
# The service's HTML headers, with a policy for the console: its own scripts and styles
# only (nothing inline), forms posting to this origin only.
SECURITY_HEADERS = {
    **HTML_SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
}


class SignInRequired(Exception):
    """No valid session: the page answers with a redirect to the sign-in form."""


def install_console(app: FastAPI, settings: Settings) -> None:
    """Serve the console on `app` (which has a desk): pages, static files, `/` redirect."""
    app.state.console_signer = SessionSigner(
        settings.console_secret, settings.console_session_hours * 3600
    )

    async def to_sign_in(request: Request, exc: SignInRequired) -> Response:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/console/login?next={target}", status_code=303)

    app.add_exception_handler(SignInRequired, to_sign_in)  # type: ignore[arg-type]
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/console", status_code=303)


async def _desk(request: Request) -> Desk:
    desk = getattr(request.app.state, "desk", None)
    if desk is None:
        raise unavailable("the help desk is not configured on this server")
    return desk


async def _user(request: Request) -> ConsoleUser:
    user = current_user(request)
    if user is None:
        raise SignInRequired()
    return user


async def _form(request: Request) -> dict[str, str]:
    """The URL-encoded form body (the console's forms send nothing else)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


DeskDep = Annotated[Desk, Depends(_desk)]
User = Annotated[ConsoleUser, Depends(_user)]
Form = Annotated[dict[str, str], Depends(_form)]


def _render(
    request: Request, template: str, user: ConsoleUser | None, **context: Any
) -> HTMLResponse:
    lang = pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    html = _env.get_template(template).render(
        t=translator(lang), lang=lang, languages=LANGUAGES, user=user, request=request, **context
    )
    response = HTMLResponse(html)
    response.headers.update(SECURITY_HEADERS)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", httponly=True)
    return response


def _back(path: str, note: str | None = None) -> RedirectResponse:
    return RedirectResponse(path + (f"?note={quote(note)}" if note else ""), status_code=303)


# -- sign-in -----------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/console") -> HTMLResponse:
    """The sign-in form."""
    return _render(request, "login.html", None, next=next, failed=False)


@router.post("/login", response_model=None)
def login(request: Request, form: Form) -> Response:
    """Sign in with an API key: a session cookie, then the page asked for."""
    user = sign_in(request.app.state.auth, form.get("key", ""), _lifetime(request))
    target = form.get("next", "")
    if not target.startswith("/console") or target.startswith("//"):
        target = "/console"
    if user is None:
        response = _render(request, "login.html", None, next=target, failed=True)
        response.status_code = 401
        return response
    redirect = RedirectResponse(target, status_code=303)
    signer: SessionSigner = request.app.state.console_signer
    redirect.set_cookie(
        COOKIE,
        signer.dumps(user),
        max_age=int(_lifetime(request)),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return redirect


def _lifetime(request: Request) -> float:
    return float(request.app.state.console_signer.lifetime_s)


@router.post("/logout")
def logout(user: User, form: Form) -> RedirectResponse:
    """End the session."""
    check_csrf(user, form.get("csrf"))
    redirect = RedirectResponse("/console/login", status_code=303)
    redirect.delete_cookie(COOKIE, path="/")
    return redirect


# -- queues ------------------------------------------------------------------------------


@router.get("")
def console_home(user: User) -> RedirectResponse:
    """The human triage queue is where work starts."""
    return RedirectResponse("/console/queue/triage", status_code=303)


def _my_teams(desk: Desk, user: ConsoleUser) -> list[str]:
    """An agent key's teams; for an admin, the team the roster gives an agent of that name."""
    if user.teams is not None:
        return user.teams
    try:
        team = Directory(desk.sessions, desk.readers).get_agent(user.name).team
    except NotFound:
        return []
    return [team] if team else []


# A queue's extra filters (the desk's own): `?priority=high&tag=vip&team=billing` narrow any
# queue, and the URL is the saved view (bookmark it; the rows refresh keeps it).
FILTERS = ("priority", "tag", "team")


async def _filters(request: Request) -> dict[str, str]:
    return {
        f: request.query_params[f][:200].strip()
        for f in FILTERS
        if request.query_params.get(f, "").strip()
    }


Filters = Annotated[dict[str, str], Depends(_filters)]


def _queue(
    desk: Desk,
    user: ConsoleUser,
    name: str,
    sort: str,
    desc: bool,
    filters: dict[str, str] | None = None,
) -> dict[str, Any]:
    if name not in views.QUEUES:
        raise NotFound(f"no queue {name!r}; queues: {', '.join(views.QUEUES)}")
    if sort not in views.SORT_KEYS:
        sort = "due"
    now = desk.clock()
    teams = _my_teams(desk, user) if name == "team" else None
    query = views.queue_query(name, user.name, teams, now, QUEUE_LIMIT)
    if filters:
        query = query.model_copy(update=filters)
    if user.teams is not None:
        # What the key sees over the API: its teams' tickets only.
        visible = set(user.teams) & set(query.teams) if query.teams is not None else user.teams
        query = query.model_copy(update={"teams": sorted(visible)})
    page = desk.list(query)
    rows = views.queue_rows(page.items, now, list(desk.sla.policies), sort, desc)
    return {
        "queue": name,
        "rows": rows,
        "total": page.total,
        "sort": sort,
        "desc": desc,
        "filters": filters or {},
        "filter_qs": "".join(f"&{k}={quote(v)}" for k, v in (filters or {}).items()),
    }


@router.get("/queue/{name}")
def queue_page(
    request: Request,
    name: str,
    desk: DeskDep,
    user: User,
    filters: Filters,
    sort: str = "due",
    desc: bool = False,
) -> HTMLResponse:
    """A queue: mine, my team's, human triage, breaching soon, unconfirmed priority, all;
    narrowed by `priority`, `tag` or `team` (a saved view is its URL)."""
    started = time.perf_counter()
    context = _queue(desk, user, name, sort, desc, filters)
    refresh = request.app.state.settings.console_refresh_s
    response = _render(request, "queue.html", user, refresh_s=refresh, **context)
    response.headers["Server-Timing"] = f"render;dur={1000 * (time.perf_counter() - started):.1f}"
    return response


@router.get("/queue/{name}/rows")
def queue_rows(
    request: Request,
    name: str,
    desk: DeskDep,
    user: User,
    filters: Filters,
    sort: str = "due",
    desc: bool = False,
) -> HTMLResponse:
    """The queue's rows alone: what the page polls to refresh itself."""
    context = _queue(desk, user, name, sort, desc, filters)
    return _render(request, "_rows.html", user, **context)


# -- the ticket page ---------------------------------------------------------------------


def _fresh_result(request: Request, ticket: Any) -> dict[str, Any] | None:
    """Score the ticket again with the served model for its explanation (the desk stores
    results without it); None when no model is loaded or scoring fails."""
    holder = request.app.state.holder
    if holder.current is None:
        return None
    contract = Ticket(
        id=ticket.reference,
        channel=ticket.channel,
        subject=ticket.subject,
        body=ticket.body,
        customer_tier=ticket.customer_tier,
        language=ticket.language,
        tags=ticket.tags,
    )
    try:
        with request.app.state.prediction_slots:
            result = holder.get().triager.triage(contract)
    except Exception:  # noqa: BLE001 - the page shows the ticket without an explanation
        return None
    return dict(result.model_dump(mode="json"))


@router.get("/tickets/{ticket_id}")
def ticket_page(
    request: Request, ticket_id: str, desk: DeskDep, user: User, note: str | None = None
) -> HTMLResponse:
    """One ticket: thread, predictions, explanation, suggested replies, actions, audit."""
    ticket = desk.get(ticket_id)
    user.check_visible(ticket)
    stored = desk.prediction(ticket.id)
    fresh = _fresh_result(request, ticket)
    agents = [a.id for a in Directory(desk.sessions, desk.readers).list_agents(None)]
    return _render(
        request,
        "ticket.html",
        user,
        ticket=ticket,
        heads=views.head_rows(ticket, stored),
        risk=(stored or {}).get("escalation"),
        explanation=(fresh or {}).get("explanation"),
        replies=views.suggestions((stored or {}).get("auto_reply"), (fresh or {}).get("auto_reply"))
        + views.template_suggestions(
            desk.list_templates(TemplateStatus.approved), ticket.language, ticket.reference
        ),
        moves=sorted(TRANSITIONS[ticket.status]),
        audit=desk.audit(ticket.id),
        agents=agents,
        note=note,
    )


@router.post("/tickets/{ticket_id}/set")
def set_field(ticket_id: str, desk: DeskDep, user: User, form: Form) -> RedirectResponse:
    """Accept a prediction or change a field: the desk stores a correction when the value
    differs from the model's, with the model version."""
    check_csrf(user, form.get("csrf"))
    field = form.get("field", "")
    if field not in views.EDITABLE:
        raise TriageError(f"field: not one of {', '.join(views.EDITABLE)}")
    value = form.get("value", "").strip() or None
    ticket = desk.get(ticket_id, messages=False)
    user.check_visible(ticket)
    try:
        changes = TicketChanges(**{field: value})
    except ValidationError as exc:
        # Too long for its column, a NUL byte...: shown on the page, nothing stored.
        reasons = "; ".join(e["msg"] for e in exc.errors())
        return _back(f"/console/tickets/{ticket.id}", f"{field}: {reasons}")
    try:
        desk.update(ticket.id, changes, actor=user.actor)
    except TriageError as exc:
        return _back(f"/console/tickets/{ticket.id}", str(exc))
    return _back(f"/console/tickets/{ticket.id}")


@router.post("/tickets/{ticket_id}/status")
def move_status(ticket_id: str, desk: DeskDep, user: User, form: Form) -> RedirectResponse:
    """A status move; an illegal one is refused by the desk and changes nothing."""
    check_csrf(user, form.get("csrf"))
    ticket = desk.get(ticket_id, messages=False)
    user.check_visible(ticket)
    try:
        target = Status(form.get("status", ""))
        desk.update(ticket.id, TicketChanges(status=target), actor=user.actor)
    except (ValueError, TriageError) as exc:
        return _back(f"/console/tickets/{ticket.id}", str(exc))
    return _back(f"/console/tickets/{ticket.id}")


@router.post("/tickets/{ticket_id}/reply")
def reply(ticket_id: str, desk: DeskDep, user: User, form: Form) -> RedirectResponse:
    """Send the agent's reply (outbound, on the ticket's channel)."""
    check_csrf(user, form.get("csrf"))
    ticket = desk.get(ticket_id, messages=False)
    user.check_visible(ticket)
    body = form.get("body", "").strip()
    if not body:
        return _back(f"/console/tickets/{ticket.id}", "body: the reply is empty")
    channel = ticket.channel if ticket.channel in Channel.__members__ else Channel.email
    try:
        message = NewMessage(
            direction=Direction.outbound, channel=Channel(channel), author=user.name, body=body
        )
    except ValidationError as exc:
        reasons = "; ".join(e["msg"] for e in exc.errors())
        return _back(f"/console/tickets/{ticket.id}", f"body: {reasons}")
    try:
        desk.add_message(ticket.id, message, actor=user.actor)
    except TriageError as exc:
        return _back(f"/console/tickets/{ticket.id}", str(exc))
    return _back(f"/console/tickets/{ticket.id}")


# -- the manager's dashboard -------------------------------------------------------------


@router.get("/dashboard")
def dashboard_page(request: Request, desk: DeskDep, user: User) -> HTMLResponse:
    """The manager's dashboard: the figures of `GET /v1/dashboard`, drawn."""
    board = desk.dashboard()
    lang = pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    return _render(
        request,
        "dashboard.html",
        user,
        board=board,
        charts=charts.dashboard_charts(board, translator(lang)),
    )
