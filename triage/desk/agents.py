"""Agents and teams: who works tickets, with which skills, languages, capacity and shifts."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from triage.contract import StoredModel
from triage.desk.status import Status
from triage.errors import NotFound
from triage.store.models import AgentRow, TeamRow, TicketRow

# Tickets that count against an agent's capacity.
LOAD_STATUSES: tuple[str, ...] = (
    Status.new.value,
    Status.open.value,
    Status.reopened.value,
    Status.pending.value,
)


# A time of day in the shift's own zone (`tz`), so without an offset. JSON Schema's
# "time" format, which pydantic would document, requires one.
LocalTime = Annotated[
    time, WithJsonSchema({"type": "string", "format": "partial-time", "examples": ["09:00"]})
]


class Shift(StoredModel):
    """Working hours on some weekdays (0 = Monday), in the agent's time zone."""

    model_config = ConfigDict(extra="forbid")

    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], max_length=7)
    start: LocalTime = time(9)
    end: LocalTime = time(17)
    tz: str = Field(default="UTC", max_length=100)

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a time of day without an offset: the shift's zone is `tz`")
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in value):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return value

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def covers(self, moment: datetime) -> bool:
        """True when `moment` falls inside this shift (overnight shifts wrap)."""
        local = moment.astimezone(ZoneInfo(self.tz))
        now = local.time()
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= now < self.end
        # Overnight: the part after midnight belongs to the previous day's shift.
        if now >= self.start:
            return local.weekday() in self.days
        return (local.weekday() - 1) % 7 in self.days and now < self.end


class AgentSpec(StoredModel):
    """An agent as created or updated through the desk."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Lengths as the columns store them; an empty team would name no team (use null).
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    team: str | None = Field(default=None, min_length=1, max_length=200)
    skills: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    languages: list[Annotated[str, Field(max_length=20)]] = Field(
        default_factory=list, max_length=100
    )
    capacity: int = Field(default=10, ge=0, le=1000)
    shifts: list[Shift] = Field(default_factory=list, description="empty: always on shift")
    online: bool = True
    tier: int = Field(default=1, ge=1, le=3)

    def on_shift(self, moment: datetime) -> bool:
        """True when the agent works at `moment` (no shifts configured: always)."""
        return not self.shifts or any(s.covers(moment) for s in self.shifts)


class AgentView(AgentSpec):
    """An agent with the tickets currently counting against their capacity."""

    load: int


def spec_of(row: AgentRow) -> AgentSpec:
    """The pydantic view of a stored agent."""
    return AgentSpec(
        id=row.id,
        name=row.name,
        email=row.email,
        team=row.team,
        skills=list(row.skills or []),
        languages=list(row.languages or []),
        capacity=row.capacity,
        shifts=[Shift.model_validate(s) for s in row.shifts or []],
        online=row.online,
        tier=row.tier,
    )


def loads(session: Session, agent_ids: list[str] | None = None) -> dict[str, int]:
    """Open tickets per agent (the ones counting against capacity)."""
    query = (
        select(TicketRow.assignee, func.count())
        .where(TicketRow.assignee.is_not(None), TicketRow.status.in_(LOAD_STATUSES))
        .group_by(TicketRow.assignee)
    )
    if agent_ids is not None:
        query = query.where(TicketRow.assignee.in_(agent_ids))
    return {str(a): int(n) for a, n in session.execute(query).all()}


class Directory:
    """Reads and writes agents and teams."""

    def __init__(
        self, sessions: sessionmaker[Session], readers: sessionmaker[Session] | None = None
    ) -> None:
        self.sessions = sessions
        self.readers = readers or sessions

    def upsert_team(self, name: str, manager: str | None = None) -> None:
        """Create or update a team and the manager escalations notify."""
        with self.sessions.begin() as session:
            row = session.get(TeamRow, name) or TeamRow(name=name)
            row.manager = manager
            session.add(row)

    def upsert_agent(self, spec: AgentSpec) -> AgentView:
        """Create or update an agent; an unknown team is created on the way."""
        with self.sessions.begin() as session:
            if spec.team and session.get(TeamRow, spec.team) is None:
                session.add(TeamRow(name=spec.team))
                session.flush()
            row = session.get(AgentRow, spec.id) or AgentRow(id=spec.id)
            row.name = spec.name
            row.email = spec.email
            row.team = spec.team
            row.skills = spec.skills
            row.languages = spec.languages
            row.capacity = spec.capacity
            row.shifts = [s.model_dump(mode="json") for s in spec.shifts]
            row.online = spec.online
            row.tier = spec.tier
            session.add(row)
        return self.get_agent(spec.id)

    def set_online(self, agent_id: str, online: bool) -> AgentView:
        """Mark an agent online or offline."""
        with self.sessions.begin() as session:
            row = session.get(AgentRow, agent_id)
            if row is None:
                raise NotFound(f"no agent {agent_id!r}")
            row.online = online
        return self.get_agent(agent_id)

    def get_agent(self, agent_id: str) -> AgentView:
        """One agent with their current load."""
        with self.readers() as session:
            row = session.get(AgentRow, agent_id)
            if row is None:
                raise NotFound(f"no agent {agent_id!r}")
            return AgentView(
                **spec_of(row).model_dump(), load=loads(session, [agent_id]).get(agent_id, 0)
            )

    def list_agents(self, team: str | None = None) -> list[AgentView]:
        """Every agent (of `team`), with loads."""
        with self.readers() as session:
            query = select(AgentRow).order_by(AgentRow.id)
            if team is not None:
                query = query.where(AgentRow.team == team)
            rows = session.scalars(query).all()
            counts = loads(session)
            return [AgentView(**spec_of(r).model_dump(), load=counts.get(r.id, 0)) for r in rows]
