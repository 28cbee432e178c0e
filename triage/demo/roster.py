"""The roster file (`NAME.agents.json`): teams, managers, agents and SLA targets.

`triage data demo` writes one beside the demo tickets; the lifecycle core reads the same
schema to route tickets to people. `Roster.model_json_schema()` is the documented schema
(see docs/demo-data.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triage.errors import InputFileError
from triage.files import write_atomically

FORMAT_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SlaTarget(_Strict):
    """How fast a ticket of one priority must be answered and solved, in calendar hours."""

    first_response_hours: float = Field(gt=0)
    resolution_hours: float = Field(gt=0)


class Shift(_Strict):
    """When an agent works: hours in the desk's time zone, end exclusive; 0 = Monday."""

    start_hour: int = Field(ge=0, le=23)
    end_hour: int = Field(ge=1, le=24)
    weekdays: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Shift:
        if self.end_hour <= self.start_hour:
            raise ValueError("end_hour must be after start_hour")
        if any(d < 0 or d > 6 for d in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return self

    def covers(self, weekday: int, hour: int) -> bool:
        """True when the shift is on at that weekday and hour."""
        return weekday in self.weekdays and self.start_hour <= hour < self.end_hour


class Manager(_Strict):
    """A person agents report to; escalations go to them."""

    id: str = Field(min_length=1)
    name: str
    email: str


class Agent(_Strict):
    """A person who answers tickets, with what they can handle."""

    id: str = Field(min_length=1, description="the value tickets carry in `assignee`")
    name: str
    email: str
    team: str = Field(description="id of the agent's team")
    tier: Literal["L1", "L2", "L3"] = Field(description="support level: L3 takes the hardest cases")
    languages: list[str] = Field(min_length=1, description="ISO 639-1 codes the agent answers in")
    categories: list[str] = Field(description="categories the agent is skilled in")
    subcategories: list[str] = Field(description="subcategories the agent is skilled in")
    capacity: int = Field(gt=0, description="most open tickets the agent should hold at once")
    shift: Shift
    manager: str = Field(description="id of the agent's manager")


class Team(_Strict):
    """A queue tickets are routed to."""

    id: str = Field(min_length=1, description="the value tickets carry in `team`")
    name: str
    manager: str
    categories: list[str]


class Roster(_Strict):
    """Everything a desk's routing needs besides the tickets."""

    format_version: int = FORMAT_VERSION
    name: str
    timezone: str = "UTC"
    languages: list[str]
    priorities: list[str]
    customer_tiers: list[str]
    sla: dict[str, SlaTarget] = Field(description="targets per priority")
    managers: list[Manager]
    teams: list[Team]
    agents: list[Agent]

    @model_validator(mode="after")
    def _references(self) -> Roster:
        managers = {m.id for m in self.managers}
        teams = {t.id for t in self.teams}
        for team in self.teams:
            if team.manager not in managers:
                raise ValueError(f"team {team.id!r}: unknown manager {team.manager!r}")
        for agent in self.agents:
            if agent.team not in teams:
                raise ValueError(f"agent {agent.id!r}: unknown team {agent.team!r}")
            if agent.manager not in managers:
                raise ValueError(f"agent {agent.id!r}: unknown manager {agent.manager!r}")
        missing = set(self.priorities) - set(self.sla)
        if missing:
            raise ValueError(f"no SLA target for priorities {sorted(missing)}")
        return self

    def agents_of(self, team: str) -> list[Agent]:
        """The agents of one team, in file order."""
        return [a for a in self.agents if a.team == team]


def agents_path_for(path: str | Path) -> Path:
    """Where the roster file that goes with a ticket file lives (`NAME.agents.json`)."""
    path = Path(path)
    return path.with_name(f"{path.name.removesuffix('.parquet')}.agents.json")


def write_roster(path: str | Path, roster: Roster) -> None:
    """Write the roster file as indented JSON (stable key order, so identical rosters are
    identical bytes)."""
    write_atomically(path, roster.model_dump_json(indent=2) + "\n")


def load_roster(path: str | Path) -> Roster:
    """Read and validate a roster file; a clear `InputFileError` names what is wrong."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path}: not a JSON file ({exc})") from exc
    try:
        return Roster.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputFileError(f"{path}: field {where}: {first['msg']}") from exc
