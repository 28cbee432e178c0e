"""`POST /v1/triage` and `POST /v1/triage/batch`.

Both are sync `def` endpoints: FastAPI runs them in its threadpool, so onnxruntime's
milliseconds of CPU never block the event loop (an `async def` endpoint would, and p99
explodes under concurrency). Results are serialised once by pydantic-core straight to
JSON bytes; declaring `response_model` would validate and serialise them a second time.
"""

# No `from __future__ import annotations` here: the batch request model is built per app,
# and FastAPI must see that local class, not a string it cannot resolve.
import logging
import time

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from api.dependencies import AppMetrics, Holder, PredictionSlots, TriageKey
from api.errors import BODY_ERRORS, error_responses
from triage.contract import Ticket, TriageResult
from triage.errors import RowError
from triage.settings import Settings

log = logging.getLogger("triage.api")


class BatchResponse(BaseModel):
    """Results in the order of the submitted tickets."""

    results: list[TriageResult]


def _batch_request(max_batch: int) -> type[BaseModel]:
    # Built per app so that the OpenAPI schema shows this deployment's `maxItems`.
    return create_model(
        "BatchRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__="Up to `max_batch` tickets scored in one call.",
        tickets=(list[Ticket], Field(min_length=1, max_length=max_batch)),
    )


def _check_text(ticket: Ticket, limit: int, field: str) -> None:
    length = len(ticket.subject) + len(ticket.body)
    if length > limit:
        raise RowError(
            file="request",
            row=None,
            field=field,
            reason=f"subject and body together are {length} characters; the limit is {limit}",
        )


def build_router(settings: Settings) -> APIRouter:
    """The triage routes for one app, with this deployment's limits."""
    router = APIRouter(prefix="/v1", tags=["triage"])
    limit = settings.max_text_chars
    log_text = settings.log_ticket_text
    BatchRequest = _batch_request(settings.max_batch)
    errors = error_responses(
        401,
        (403, "the key lacks the `triage` scope"),
        429,
        *BODY_ERRORS,
        (422, "invalid ticket: names the field and the reason"),
        503,
    )

    @router.post(
        "/triage",
        summary="Triage one ticket",
        response_class=Response,
        responses={200: {"model": TriageResult, "description": "the prediction"}, **errors},
    )
    def triage_one(
        ticket: Ticket,
        holder: Holder,
        metrics: AppMetrics,
        slots: PredictionSlots,
        _key: TriageKey,
    ) -> Response:
        """Category, priority, routing, escalation risk, auto-reply, language, explanation."""
        _check_text(ticket, limit, "body")
        model = holder.get()  # read once: a reload mid-request does not affect us
        with slots:
            result = model.triager.triage(ticket)
        metrics.count_result(result)
        if log.isEnabledFor(logging.DEBUG):
            # The client's ticket id and text only with `log_ticket_text`: either may be
            # personal data (an e-mail address as the id is common).
            log.debug(
                "triaged a ticket with %s in %.2f ms%s",
                result.model_version,
                result.timing_ms,
                f": {ticket.id} {ticket.text!r}" if log_text else "",
            )
        return Response(result.model_dump_json(), media_type="application/json")

    @router.post(
        "/triage/batch",
        summary="Triage up to max_batch tickets",
        response_class=Response,
        responses={
            200: {"model": BatchResponse, "description": "results, in request order"},
            **errors,
        },
    )
    def triage_batch(
        batch: BatchRequest,  # type: ignore[valid-type]
        holder: Holder,
        metrics: AppMetrics,
        slots: PredictionSlots,
        _key: TriageKey,
    ) -> Response:
        """The same prediction for each ticket, in order, from the same model version."""
        tickets: list[Ticket] = batch.tickets  # type: ignore[attr-defined]
        for index, ticket in enumerate(tickets):
            _check_text(ticket, limit, f"tickets[{index}].body")
        model = holder.get()
        started = time.perf_counter()
        with slots:
            results = model.triager.triage_batch(tickets)
        for result in results:
            metrics.count_result(result)
        log.debug(
            "triaged a batch of %d with %s in %.2f ms",
            len(tickets),
            model.version,
            (time.perf_counter() - started) * 1000,
        )
        body = b'{"results":[' + b",".join(r.model_dump_json().encode() for r in results) + b"]}"
        return Response(body, media_type="application/json")

    return router
