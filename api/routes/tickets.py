"""The help desk over HTTP: tickets, threads, audit, corrections, agents, dashboard, CSAT.

Thin adapter over `triage.desk.Desk`, which the app keeps in `app.state.desk`.
Endpoints are sync `def`: FastAPI runs them in its threadpool, so database calls
never block the event loop. Domain errors map to HTTP in `api.errors`: `NotFound`
404, `Conflict` / `IllegalTransition` 409.

Who acted: the `X-Actor` header (an agent id, sent by a desk UI acting for its
user) from a key with the `act-as` scope, else the API key's name, so the audit log
names a person or an integration.

Who sees what (docs/security.md): admin keys every ticket, agent keys their teams'
tickets, integration (`tickets`) keys their inbox's tickets; a ticket the caller may not
see is a 404, like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from api.dependencies import AdminKey, DeskKey, IntakeKey, StaffKey
from api.errors import BODY_ERRORS, error_responses, forbidden, unavailable
from api.holder import HeldTriager
from api.security import (
    actor_of,
    inbox_of,
    may_see,
    may_set_presence,
    scoped_idempotency_key,
    teams_of,
)
from triage.contract import StoredModel
from triage.desk import Desk, NewMessage, NewTicket, Status, TicketChanges, TicketQuery, TicketView
from triage.desk.agents import AgentSpec, AgentView, Directory
from triage.desk.records import (
    AuditEntry,
    CorrectionView,
    Dashboard,
    HeldMessageView,
    IntakeResult,
    TicketPage,
    TriageState,
)
from triage.desk.reference import format_reference
from triage.errors import NotFound, RowError
from triage.keys import KeyRecord
from triage.settings import Settings

router = APIRouter(prefix="/v1")


def install_desk(app: FastAPI, settings: Settings, *, migrate_schema: bool = False) -> Desk:
    """Attach the help desk to a triage app: a `Desk` on `settings.database_url` whose
    triager is the app's model holder, in `app.state.desk`, and these routes.

    The schema is expected to be current (`triage db upgrade`); `migrate_schema=True`
    upgrades it here instead. Call `app.state.desk.engine.dispose()` at shutdown.
    """
    from triage.store import connect, migrate

    engine = connect(settings.database_url)
    if migrate_schema:
        migrate(engine)
    desk = Desk.from_settings(settings, engine, HeldTriager(app.state.holder))
    app.state.desk = desk
    # Live quality per model version and head, as gauges on the app's /metrics.
    from api.health_metrics import ModelHealthCollector

    metrics = getattr(app.state, "metrics", None)
    if metrics is not None:
        drift = _served_drift(app, desk, settings)
        metrics.registry.register(ModelHealthCollector(desk.model_health, drift))
    if settings.shadow_model:
        from api.shadow import attach_shadow

        attach_shadow(app, desk, settings)
    app.include_router(router)
    # Imported here: they build on this module's dependencies.
    from api.routes import customer, templates

    app.include_router(customer.router)
    app.include_router(templates.router)
    return desk


def _served_drift(app: FastAPI, desk: Desk, settings: Settings) -> Callable[[], Any]:
    """The drift of the model being served (its bundle's reference, reloaded when the
    holder swaps bundles); None while nothing is loaded or the bundle has no reference."""
    from triage.health.window import DriftMonitor

    monitors: dict[Path, DriftMonitor] = {}

    def drift() -> Any:
        current = app.state.holder.current
        if current is None:
            return None
        monitor = monitors.get(current.path)
        if monitor is None:
            monitors.clear()
            monitor = monitors[current.path] = DriftMonitor(
                current.path,
                warn=settings.drift_psi_warn,
                alert=settings.drift_psi_alert,
                size=settings.drift_window,
            )
        with desk.readers() as session:
            return monitor.check(session, model_version=current.version)

    return drift


async def _desk(request: Request) -> Desk:
    desk = getattr(request.app.state, "desk", None)
    if desk is None:
        raise unavailable("the help desk is not configured on this server")
    return desk


def _actor(key: KeyRecord | None, x_actor: str | None) -> str:
    return actor_of(key, x_actor)


def _visible(desk: Desk, key: KeyRecord | None, ticket_id: str) -> TicketView:
    """The ticket if the caller may see it; a 404 (the same as for no ticket) otherwise."""
    ticket = desk.get(ticket_id, messages=False)
    if not may_see(key, ticket.inbox, ticket.team):
        raise NotFound(f"no ticket {ticket.reference}")
    return ticket


DeskDep = Annotated[Desk, Depends(_desk)]
ActorHeader = Annotated[str | None, Header(alias="X-Actor", max_length=200)]
# The id a new agent is stored under: what `AgentSpec.id` allows in a body (not blank,
# at most 200 characters, surrounding whitespace dropped).
NewAgentId = Annotated[str, PathParam(min_length=1, max_length=200, pattern=r"\S")]
TeamName = Annotated[str, PathParam(min_length=1, max_length=200, pattern=r"\S")]
IdempotencyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
# The largest OFFSET the databases take (a signed 64-bit integer), and the largest row
# id (`INTEGER` columns, signed 32-bit on PostgreSQL): a larger one is a 422, not an
# overflow inside the database.
MAX_SQL_INT = 2**63 - 1
MAX_ROW_ID = 2**31 - 1

# The statuses the routes below can answer besides their success (see `api.errors`).
_NO_DESK = (503, "the help desk is not configured on this server")
_KEYED = (401, 403, 429, _NO_DESK)
_TICKET = (404, "no such ticket")
_AGENT = (404, "no such agent")
_STATE = (409, "the ticket's state does not allow this (e.g. an illegal status move)")


@router.post(
    "/tickets",
    tags=["tickets"],
    status_code=201,
    response_model=TicketView,
    responses={
        200: {"model": TicketView, "description": "a retry: the ticket this key created"},
        **error_responses(*_KEYED, *BODY_ERRORS),
    },
)
def create_ticket(
    new: NewTicket,
    response: Response,
    desk: DeskDep,
    key: DeskKey,
    idempotency_key: IdempotencyHeader = None,
) -> TicketView:
    """Create a ticket from any channel (an integration key: in its inbox). A retry with
    the same `Idempotency-Key` from the same inbox (or key) answers 200 with the ticket
    the first request created, never a second ticket."""
    result = desk.intake(
        new, idempotency_key=scoped_idempotency_key(key, idempotency_key), inbox=inbox_of(key)
    )
    if not result.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/tickets/{result.ticket.id}"
    return result.ticket


@router.post(
    "/messages",
    tags=["tickets"],
    response_model=IntakeResult,
    responses={
        201: {"model": IntakeResult, "description": "the message opened a new ticket"},
        **error_responses(*_KEYED, _TICKET, _STATE, *BODY_ERRORS),
    },
)
def receive_message(
    message: NewMessage,
    response: Response,
    desk: DeskDep,
    key: IntakeKey,
    idempotency_key: IdempotencyHeader = None,
) -> IntakeResult:
    """An incoming e-mail or chat message: joins the ticket its reference (`[#T-12]`)
    or thread id names (an integration key: only in its inbox), else opens a new
    ticket (201)."""
    result = desk.receive(
        message,
        idempotency_key=scoped_idempotency_key(key, idempotency_key),
        inbox=inbox_of(key),
    )
    if result.created:
        response.status_code = 201
    return result


@router.get(
    "/tickets",
    tags=["tickets"],
    response_model=TicketPage,
    responses=error_responses(*_KEYED, 422),
)
def list_tickets(
    desk: DeskDep,
    key: DeskKey,
    status: Annotated[list[Status] | None, Query()] = None,
    team: str | None = None,
    assignee: str | None = None,
    priority: str | None = None,
    tag: str | None = None,
    due_before: datetime | None = None,
    triage_state: TriageState | None = None,
    priority_unconfirmed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> TicketPage:
    """Tickets by status, team, assignee, priority, tag, "SLA due before" (running clocks
    only), triage queue or unconfirmed priority; most urgent priority first, then earliest
    due; paginated."""
    if due_before is not None and due_before.tzinfo is None:
        raise RowError("request", None, "due_before", "needs a time zone")
    return desk.list(
        TicketQuery(
            status=status or [],
            team=team,
            assignee=assignee,
            priority=priority,
            tag=tag,
            inbox=inbox_of(key),
            teams=teams_of(key),
            due_before=due_before,
            triage_state=triage_state,
            priority_unconfirmed=priority_unconfirmed,
            limit=limit,
            offset=offset,
        )
    )


@router.get(
    "/tickets/{ticket_id}",
    tags=["tickets"],
    response_model=TicketView,
    responses=error_responses(*_KEYED, _TICKET, 422),
)
def get_ticket(ticket_id: str, desk: DeskDep, key: DeskKey) -> TicketView:
    """One ticket with its thread (`ticket_id` is `123` or `T-123`)."""
    _visible(desk, key, ticket_id)
    return desk.get(ticket_id)


@router.patch(
    "/tickets/{ticket_id}",
    tags=["tickets"],
    response_model=TicketView,
    responses=error_responses(*_KEYED, _TICKET, _STATE, *BODY_ERRORS),
)
def update_ticket(
    ticket_id: str,
    changes: TicketChanges,
    desk: DeskDep,
    key: StaffKey,
    x_actor: ActorHeader = None,
) -> TicketView:
    """Change status, tags, assignee, category, priority... Overriding a prediction
    stores a correction; an illegal status move is a 409 and changes nothing."""
    _visible(desk, key, ticket_id)
    return desk.update(ticket_id, changes, actor=_actor(key, x_actor))


@router.post(
    "/tickets/{ticket_id}/messages",
    tags=["tickets"],
    response_model=TicketView,
    responses=error_responses(*_KEYED, _TICKET, _STATE, *BODY_ERRORS),
)
def add_message(
    ticket_id: str, message: NewMessage, desk: DeskDep, key: DeskKey, x_actor: ActorHeader = None
) -> TicketView:
    """Add a message to the thread (inbound: the customer; outbound: the desk)."""
    _visible(desk, key, ticket_id)
    return desk.add_message(ticket_id, message, actor=_actor(key, x_actor))


class AutoReplyAnswer(BaseModel):
    """The customer's answer to an auto-reply."""

    model_config = ConfigDict(extra="forbid")
    solved: bool


@router.post(
    "/tickets/{ticket_id}/auto-reply",
    tags=["tickets"],
    response_model=TicketView,
    responses=error_responses(
        *_KEYED, _TICKET, (409, "no auto-reply was sent, or it was already answered"), *BODY_ERRORS
    ),
)
def answer_auto_reply(
    ticket_id: str,
    answer: AutoReplyAnswer,
    desk: DeskDep,
    key: DeskKey,
    x_actor: ActorHeader = None,
) -> TicketView:
    """Solved by the auto-reply, or still needs an agent (reopened)."""
    _visible(desk, key, ticket_id)
    return desk.answer_auto_reply(ticket_id, answer.solved, actor=_actor(key, x_actor))


@router.get(
    "/tickets/{ticket_id}/audit",
    tags=["tickets"],
    response_model=list[AuditEntry],
    responses=error_responses(*_KEYED, _TICKET, 422),
)
def ticket_audit(ticket_id: str, desk: DeskDep, key: StaffKey) -> list[AuditEntry]:
    """Every change to the ticket: who, when, what, under which model version."""
    _visible(desk, key, ticket_id)
    return desk.audit(ticket_id)


@router.get(
    "/held-messages",
    tags=["tickets"],
    response_model=list[HeldMessageView],
    responses=error_responses(*_KEYED),
)
def held_messages(desk: DeskDep, key: StaffKey) -> list[HeldMessageView]:
    """E-mails that named a ticket but came from neither its requester nor its CC list:
    held for an agent instead of joining (and reopening) the ticket. Oldest first; an
    agent key sees its teams' tickets' only."""
    return desk.held_messages(teams=teams_of(key))


@router.post(
    "/held-messages/{held_id}/release",
    tags=["tickets"],
    response_model=TicketView,
    responses=error_responses(
        *_KEYED,
        (404, "no such held message"),
        (409, "already released, or the ticket's state does not allow it"),
        422,
    ),
)
def release_held_message(
    held_id: Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)],
    desk: DeskDep,
    key: StaffKey,
    x_actor: ActorHeader = None,
) -> TicketView:
    """Let a held message into its ticket's thread, as the customer's reply."""
    ticket_id = desk.held_ticket(held_id)
    _visible(desk, key, str(ticket_id))
    return desk.release_held(held_id, actor=_actor(key, x_actor))


@router.get(
    "/corrections",
    tags=["tickets"],
    response_model=list[CorrectionView],
    responses=error_responses(*_KEYED, 422),
)
def corrections(
    desk: DeskDep,
    key: AdminKey,
    after_id: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[CorrectionView]:
    """People's overrides of predictions, oldest first: labels for the next training run."""
    return desk.corrections(after_id=after_id, limit=limit)


@router.get(
    "/dashboard", tags=["tickets"], response_model=Dashboard, responses=error_responses(*_KEYED)
)
def dashboard(desk: DeskDep, key: StaffKey) -> Dashboard:
    """Open tickets by status and team, SLA compliance, agent load, auto-reply
    resolution rate, CSAT."""
    return desk.dashboard()


@router.get(
    "/agents",
    tags=["agents"],
    response_model=list[AgentView],
    responses=error_responses(*_KEYED, 422),
)
def list_agents(desk: DeskDep, key: StaffKey, team: str | None = None) -> list[AgentView]:
    """Agents with skills, languages, shifts, capacity and current load."""
    return Directory(desk.sessions, desk.readers).list_agents(team)


@router.get(
    "/agents/{agent_id}",
    tags=["agents"],
    response_model=AgentView,
    responses=error_responses(*_KEYED, _AGENT, 422),
)
def get_agent(agent_id: str, desk: DeskDep, key: StaffKey) -> AgentView:
    """One agent."""
    return Directory(desk.sessions, desk.readers).get_agent(agent_id)


@router.put(
    "/agents/{agent_id}",
    tags=["agents"],
    response_model=AgentView,
    responses=error_responses(*_KEYED, *BODY_ERRORS),
)
def put_agent(agent_id: NewAgentId, spec: AgentSpec, desk: DeskDep, key: AdminKey) -> AgentView:
    """Create or replace an agent (the path id wins over the body's)."""
    return Directory(desk.sessions, desk.readers).upsert_agent(
        spec.model_copy(update={"id": agent_id.strip()})
    )


class RemovedAgent(BaseModel):
    """An agent removed, and their open tickets handed back for the worker to assign."""

    id: str
    unassigned: list[str]


@router.delete(
    "/agents/{agent_id}",
    tags=["agents"],
    response_model=RemovedAgent,
    responses=error_responses(*_KEYED, _AGENT, 422),
)
def delete_agent(
    agent_id: str, desk: DeskDep, key: AdminKey, x_actor: ActorHeader = None
) -> RemovedAgent:
    """Remove an agent; their open tickets are unassigned (audited) and reassigned by
    the worker. Solved and closed tickets keep the name."""
    ids = desk.remove_agent(agent_id, actor=_actor(key, x_actor))
    return RemovedAgent(id=agent_id, unassigned=[format_reference(i) for i in ids])


class Presence(BaseModel):
    """An agent going online or offline."""

    model_config = ConfigDict(extra="forbid")
    online: bool


@router.put(
    "/agents/{agent_id}/presence",
    tags=["agents"],
    response_model=AgentView,
    responses=error_responses(*_KEYED, _AGENT, *BODY_ERRORS),
)
def set_presence(agent_id: str, presence: Presence, desk: DeskDep, key: StaffKey) -> AgentView:
    """Mark an agent online or offline: an admin, the agent's own key, or an agent key of
    the agent's team (any other key would take a colleague off the desk)."""
    directory = Directory(desk.sessions, desk.readers)
    if not may_set_presence(key, agent_id, directory.get_agent(agent_id).team):
        raise forbidden("an agent key sets the presence of its own team's agents only")
    return directory.set_online(agent_id, presence.online)


class TeamSpec(StoredModel):
    """A team and the manager its escalations notify."""

    model_config = ConfigDict(extra="forbid")
    manager: str | None = Field(default=None, max_length=320)


@router.put(
    "/teams/{name}",
    tags=["agents"],
    status_code=204,
    responses=error_responses(*_KEYED, *BODY_ERRORS),
)
def put_team(name: TeamName, team: TeamSpec, desk: DeskDep, key: AdminKey) -> Response:
    """Create or update a team."""
    Directory(desk.sessions, desk.readers).upsert_team(name, team.manager)
    return Response(status_code=204)


class Rating(BaseModel):
    """A CSAT answer."""

    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=5_000)


@router.post(
    "/csat/{token}",
    tags=["csat"],
    status_code=204,
    responses=error_responses(
        _NO_DESK,
        (404, "no such survey"),
        (409, "this survey was already answered"),
        *BODY_ERRORS,
    ),
)
def rate(token: str, rating: Rating, desk: DeskDep) -> Response:
    """The customer's satisfaction rating. No API key: the unguessable token in the
    survey link is the credential. 409 when already answered."""
    desk.rate(token, rating.rating, rating.comment)
    return Response(status_code=204)
