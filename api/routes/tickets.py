"""The help desk over HTTP: tickets, threads, audit, corrections, agents, dashboard, CSAT.

Thin adapter over `triage.desk.Desk`, which the app keeps in `app.state.desk`.
Endpoints are sync `def`: FastAPI runs them in its threadpool, so database calls
never block the event loop. Domain errors map to HTTP in `api.errors`: `NotFound`
404, `Conflict` / `IllegalTransition` 409.

Who acted: the `X-Actor` header (an agent id, sent by a desk UI acting for its
user) or else the API key's name, so the audit log names a person or an integration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.security import require_scope
from triage.contract import Ticket, TriageResult
from triage.desk import Desk, NewMessage, NewTicket, Status, TicketChanges, TicketQuery, TicketView
from triage.desk.agents import AgentSpec, AgentView, Directory
from triage.desk.records import (
    AuditEntry,
    CorrectionView,
    Dashboard,
    IntakeResult,
    TicketPage,
    TriageState,
)
from triage.desk.reference import format_reference
from triage.settings import Settings

router = APIRouter(prefix="/v1")


class HeldTriager:
    """The desk's `Triager`: whichever model the app's holder serves right now, so
    reloads and alias changes apply to intake too. No model loaded means the call
    raises and the ticket is queued for re-triage."""

    def __init__(self, holder: Any) -> None:
        self.holder = holder

    @property
    def model_version(self) -> str:
        """The served model's version."""
        return str(self.holder.get().triager.model_version)

    def triage(self, ticket: Ticket) -> TriageResult:
        """Score one ticket with the served model."""
        return self.holder.get().triager.triage(ticket)

    def triage_batch(self, tickets: list[Ticket]) -> list[TriageResult]:
        """Score tickets with the served model."""
        return self.holder.get().triager.triage_batch(tickets)


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
    app.include_router(router)
    return desk


_triage = require_scope("triage")
_admin = require_scope("admin")


def _desk(request: Request) -> Desk:
    desk = getattr(request.app.state, "desk", None)
    if desk is None:
        raise HTTPException(
            status_code=503, detail="the help desk is not configured on this server"
        )
    return desk


def _actor(key: Any, x_actor: str | None) -> str:
    if x_actor:
        return f"agent:{x_actor.strip()}"
    if key is None:
        return "api:anonymous"
    return f"api:{getattr(key, 'name', '') or getattr(key, 'id', 'key')}"


DeskDep = Annotated[Desk, Depends(_desk)]
TriageKey = Annotated[Any, Depends(_triage)]
AdminKey = Annotated[Any, Depends(_admin)]
ActorHeader = Annotated[str | None, Header(alias="X-Actor", max_length=200)]


@router.post("/tickets", tags=["tickets"], status_code=201, response_model=TicketView)
def create_ticket(
    new: NewTicket,
    response: Response,
    desk: DeskDep,
    key: TriageKey,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> TicketView:
    """Create a ticket from any channel. A retry with the same `Idempotency-Key` answers
    200 with the ticket the first request created, never a second ticket."""
    result = desk.intake(new, idempotency_key=idempotency_key)
    if not result.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/tickets/{result.ticket.id}"
    return result.ticket


@router.post("/messages", tags=["tickets"], response_model=IntakeResult)
def receive_message(
    message: NewMessage,
    response: Response,
    desk: DeskDep,
    key: TriageKey,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> IntakeResult:
    """An incoming e-mail or chat message: joins the ticket its reference (`[#T-12]`)
    or thread id names, else opens a new ticket (201)."""
    result = desk.receive(message, idempotency_key=idempotency_key)
    if result.created:
        response.status_code = 201
    return result


@router.get("/tickets", tags=["tickets"], response_model=TicketPage)
def list_tickets(
    desk: DeskDep,
    key: TriageKey,
    status: Annotated[list[Status] | None, Query()] = None,
    team: str | None = None,
    assignee: str | None = None,
    priority: str | None = None,
    tag: str | None = None,
    due_before: datetime | None = None,
    triage_state: TriageState | None = None,
    priority_unconfirmed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketPage:
    """Tickets by status, team, assignee, priority, tag, "SLA due before" (running clocks
    only), triage queue or unconfirmed priority; most urgent priority first, then earliest
    due; paginated."""
    if due_before is not None and due_before.tzinfo is None:
        raise HTTPException(
            status_code=422, detail=[{"field": "due_before", "reason": "needs a time zone"}]
        )
    return desk.list(
        TicketQuery(
            status=status or [],
            team=team,
            assignee=assignee,
            priority=priority,
            tag=tag,
            due_before=due_before,
            triage_state=triage_state,
            priority_unconfirmed=priority_unconfirmed,
            limit=limit,
            offset=offset,
        )
    )


@router.get("/tickets/{ticket_id}", tags=["tickets"], response_model=TicketView)
def get_ticket(ticket_id: str, desk: DeskDep, key: TriageKey) -> TicketView:
    """One ticket with its thread (`ticket_id` is `123` or `T-123`)."""
    return desk.get(ticket_id)


@router.patch("/tickets/{ticket_id}", tags=["tickets"], response_model=TicketView)
def update_ticket(
    ticket_id: str,
    changes: TicketChanges,
    desk: DeskDep,
    key: TriageKey,
    x_actor: ActorHeader = None,
) -> TicketView:
    """Change status, tags, assignee, category, priority... Overriding a prediction
    stores a correction; an illegal status move is a 409 and changes nothing."""
    return desk.update(ticket_id, changes, actor=_actor(key, x_actor))


@router.post("/tickets/{ticket_id}/messages", tags=["tickets"], response_model=TicketView)
def add_message(
    ticket_id: str, message: NewMessage, desk: DeskDep, key: TriageKey, x_actor: ActorHeader = None
) -> TicketView:
    """Add a message to the thread (inbound: the customer; outbound: the desk)."""
    return desk.add_message(ticket_id, message, actor=_actor(key, x_actor))


class AutoReplyAnswer(BaseModel):
    """The customer's answer to an auto-reply."""

    model_config = ConfigDict(extra="forbid")
    solved: bool


@router.post("/tickets/{ticket_id}/auto-reply", tags=["tickets"], response_model=TicketView)
def answer_auto_reply(
    ticket_id: str,
    answer: AutoReplyAnswer,
    desk: DeskDep,
    key: TriageKey,
    x_actor: ActorHeader = None,
) -> TicketView:
    """Solved by the auto-reply, or still needs an agent (reopened)."""
    return desk.answer_auto_reply(ticket_id, answer.solved, actor=_actor(key, x_actor))


@router.get("/tickets/{ticket_id}/audit", tags=["tickets"], response_model=list[AuditEntry])
def ticket_audit(ticket_id: str, desk: DeskDep, key: TriageKey) -> list[AuditEntry]:
    """Every change to the ticket: who, when, what, under which model version."""
    return desk.audit(ticket_id)


@router.get("/corrections", tags=["tickets"], response_model=list[CorrectionView])
def corrections(
    desk: DeskDep,
    key: AdminKey,
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[CorrectionView]:
    """People's overrides of predictions, oldest first: labels for the next training run."""
    return desk.corrections(after_id=after_id, limit=limit)


@router.get("/dashboard", tags=["tickets"], response_model=Dashboard)
def dashboard(desk: DeskDep, key: TriageKey) -> Dashboard:
    """Open tickets by status and team, SLA compliance, agent load, auto-reply
    resolution rate, CSAT."""
    return desk.dashboard()


@router.get("/agents", tags=["agents"], response_model=list[AgentView])
def list_agents(desk: DeskDep, key: TriageKey, team: str | None = None) -> list[AgentView]:
    """Agents with skills, languages, shifts, capacity and current load."""
    return Directory(desk.sessions, desk.readers).list_agents(team)


@router.get("/agents/{agent_id}", tags=["agents"], response_model=AgentView)
def get_agent(agent_id: str, desk: DeskDep, key: TriageKey) -> AgentView:
    """One agent."""
    return Directory(desk.sessions, desk.readers).get_agent(agent_id)


@router.put("/agents/{agent_id}", tags=["agents"], response_model=AgentView)
def put_agent(agent_id: str, spec: AgentSpec, desk: DeskDep, key: AdminKey) -> AgentView:
    """Create or replace an agent (the path id wins over the body's)."""
    return Directory(desk.sessions, desk.readers).upsert_agent(
        spec.model_copy(update={"id": agent_id})
    )


class RemovedAgent(BaseModel):
    """An agent removed, and their open tickets handed back for the worker to assign."""

    id: str
    unassigned: list[str]


@router.delete("/agents/{agent_id}", tags=["agents"], response_model=RemovedAgent)
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


@router.put("/agents/{agent_id}/presence", tags=["agents"], response_model=AgentView)
def set_presence(agent_id: str, presence: Presence, desk: DeskDep, key: TriageKey) -> AgentView:
    """Mark an agent online or offline."""
    return Directory(desk.sessions, desk.readers).set_online(agent_id, presence.online)


class TeamSpec(BaseModel):
    """A team and the manager its escalations notify."""

    model_config = ConfigDict(extra="forbid")
    manager: str | None = Field(default=None, max_length=320)


@router.put("/teams/{name}", tags=["agents"], status_code=204)
def put_team(name: str, team: TeamSpec, desk: DeskDep, key: AdminKey) -> Response:
    """Create or update a team."""
    Directory(desk.sessions, desk.readers).upsert_team(name, team.manager)
    return Response(status_code=204)


class Rating(BaseModel):
    """A CSAT answer."""

    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=5_000)


@router.post("/csat/{token}", tags=["csat"], status_code=204)
def rate(token: str, rating: Rating, desk: DeskDep) -> Response:
    """The customer's satisfaction rating. No API key: the unguessable token in the
    survey link is the credential. 409 when already answered."""
    desk.rate(token, rating.rating, rating.comment)
    return Response(status_code=204)
