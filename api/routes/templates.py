"""Answer templates over HTTP (admin scope): review what auto-replies may send.

Mining reads a dataset file, so it stays a CLI job (`triage replies templates mine`);
listing, approving (optionally with a reviewed text) and retiring are here too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from api.dependencies import AdminKey
from api.errors import BODY_ERRORS, error_responses
from api.routes.tickets import ActorHeader, DeskDep, _actor
from triage.desk.templates import TemplateStatus, TemplateView

router = APIRouter(prefix="/v1/admin/templates", tags=["templates"])

_KEYED = (401, 403, (503, "the help desk is not configured on this server"))
_TEMPLATE = (404, "no such template")
# The templates table's id is a 32-bit INTEGER on PostgreSQL: a larger id is a 422.
TemplateId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


class Approval(BaseModel):
    """An approval, optionally with the reviewed wording to send instead of the mined one."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, min_length=1, max_length=20_000)


@router.get("", response_model=list[TemplateView], responses=error_responses(*_KEYED, *BODY_ERRORS))
def list_templates(
    desk: DeskDep,
    key: AdminKey,
    status: Annotated[TemplateStatus | None, Query()] = None,
) -> list[TemplateView]:
    """Templates mined from past replies, most used first; filter by `status`."""
    return desk.list_templates(status)


@router.post(
    "/{template_id}/approve",
    response_model=TemplateView,
    responses=error_responses(
        *_KEYED,
        _TEMPLATE,
        (409, "the text still holds another customer's details (placeholders)"),
        *BODY_ERRORS,
    ),
)
def approve(
    template_id: TemplateId,
    desk: DeskDep,
    key: AdminKey,
    approval: Approval | None = None,
    x_actor: ActorHeader = None,
) -> TemplateView:
    """Let auto-replies send this template (after the policy's checks)."""
    text = approval.text if approval is not None else None
    return desk.review_template(
        template_id, TemplateStatus.approved, actor=_actor(key, x_actor), text=text
    )


@router.post(
    "/{template_id}/retire",
    response_model=TemplateView,
    responses=error_responses(*_KEYED, _TEMPLATE, *BODY_ERRORS),
)
def retire(
    template_id: TemplateId, desk: DeskDep, key: AdminKey, x_actor: ActorHeader = None
) -> TemplateView:
    """Stop sending this template; its matches become suggestions again."""
    return desk.review_template(template_id, TemplateStatus.retired, actor=_actor(key, x_actor))
