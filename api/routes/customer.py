"""The customer's links: a CSAT survey and the "did this solve it?" link under an
auto-reply. GET opens a small page (`api.pages`) whose buttons POST a form; a JSON POST
serves integrations. No API key: the unguessable, single-purpose, expiring token in the
link is the credential (`triage.desk.tokens`), and the access log never shows it
(`api.access_log`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

from api import pages
from api.errors import BODY_ERRORS, error_responses
from api.routes.tickets import DeskDep
from triage.desk import Desk
from triage.desk.tokens import CONFIRM, CSAT, LinkView
from triage.errors import Conflict, NotFound

router = APIRouter(prefix="/v1")

_NO_DESK = (503, "the help desk is not configured on this server")


def _pages(**statuses: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a page route: HTML pages (`s200="..."`), and the JSON 503."""
    html = {"text/html": {"schema": {"type": "string"}}}
    out: dict[int | str, dict[str, Any]] = {
        int(k[1:]): {"content": html, "description": v} for k, v in statuses.items()
    }
    # Declared 422 keeps FastAPI from documenting its own validation error shape.
    return {**error_responses(_NO_DESK, *BODY_ERRORS), **out}


_GET = _pages(s200="the page (or: this link was already used)", s404="invalid or expired link")
_POST = _pages(
    s200="thank you",
    s404="invalid or expired link",
    s409="this link was already used",
    s422="a form field is missing or invalid (named on the page)",
)


class ConfirmAnswer(BaseModel):
    """The customer's answer to an auto-reply: did it solve the request?"""

    model_config = ConfigDict(extra="forbid")
    solved: bool


def _link(desk: Desk, token: str, purpose: str) -> LinkView | None:
    try:
        return desk.link(token, purpose)
    except NotFound:
        return None


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form body (what the pages' buttons send), first value per field."""
    raw = (await request.body())[:20_000].decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


@router.get("/csat/{token}", tags=["csat"], response_class=HTMLResponse, responses=_GET)
def csat_page(token: str, desk: DeskDep) -> HTMLResponse:
    """The survey page: five buttons that POST the rating (404 page: invalid or expired)."""
    link = _link(desk, token, CSAT)
    if link is None:
        return pages.message(None, "invalid", 404)
    if link.answered:
        return pages.message(link.language, "used")
    return pages.csat_form(link.language, link.reference, f"/v1/csat/{token}/form")


@router.post("/csat/{token}/form", tags=["csat"], response_class=HTMLResponse, responses=_POST)
async def csat_form(token: str, request: Request, desk: DeskDep) -> HTMLResponse:
    """The survey page's form: `rating` 1-5 and an optional `comment`."""
    link = _link(desk, token, CSAT)
    if link is None:
        return pages.message(None, "invalid", 404)
    form = await _form(request)
    rating = form.get("rating", "")
    if rating not in {"1", "2", "3", "4", "5"}:
        return pages.page(link.language, "rating", "<p>rating: expected 1 to 5</p>", 422)
    comment = form.get("comment", "").strip()[:5_000] or None
    try:
        desk.rate(token, int(rating), comment)
    except Conflict:
        return pages.message(link.language, "used", 409)
    return pages.message(link.language, "thanks")


@router.get("/confirm/{token}", tags=["csat"], response_class=HTMLResponse, responses=_GET)
def confirm_page(token: str, desk: DeskDep) -> HTMLResponse:
    """The page under an auto-reply: "this solved it" / "I still need help"."""
    link = _link(desk, token, CONFIRM)
    if link is None:
        return pages.message(None, "invalid", 404)
    if link.answered:
        return pages.message(link.language, "used")
    return pages.confirm_form(link.language, link.reference, f"/v1/confirm/{token}/form")


@router.post("/confirm/{token}/form", tags=["csat"], response_class=HTMLResponse, responses=_POST)
async def confirm_form(token: str, request: Request, desk: DeskDep) -> HTMLResponse:
    """The confirm page's form: `solved` yes or no."""
    link = _link(desk, token, CONFIRM)
    if link is None:
        return pages.message(None, "invalid", 404)
    solved = (await _form(request)).get("solved", "")
    if solved not in {"yes", "no"}:
        return pages.page(link.language, "solved", "<p>solved: expected yes or no</p>", 422)
    try:
        desk.confirm_auto_reply(token, solved == "yes")
    except Conflict:
        return pages.message(link.language, "used", 409)
    key = "thanks_yes" if solved == "yes" else "thanks_no"
    return pages.message(link.language, key, ref=link.reference)


@router.post(
    "/confirm/{token}",
    tags=["csat"],
    status_code=204,
    responses=error_responses(
        _NO_DESK,
        (404, "no such link, or it expired"),
        (409, "this link was already used"),
        *BODY_ERRORS,
    ),
)
def confirm(token: str, answer: ConfirmAnswer, desk: DeskDep) -> Response:
    """The customer's answer to an auto-reply, for integrations (JSON)."""
    desk.confirm_auto_reply(token, answer.solved)
    return Response(status_code=204)
