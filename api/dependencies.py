"""What a route may ask for, as `Annotated` aliases: the caller's key and the app's parts.

`create_app` puts the parts on `app.state` once; routes never read `app.state`
themselves, they declare `holder: Holder`, `key: TriageKey`, ... The help desk's alias
(`DeskDep`) lives with its routes, so that a triage-only server never imports the desk.

The readers are `async def` on purpose: FastAPI runs sync dependencies in its
threadpool, and a thread hop per request is measurable against a 10 ms budget.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from api.holder import ModelHolder
from api.metrics import Metrics
from api.security import require_scope
from triage.keys import KeyRecord
from triage.settings import Settings


async def _holder(request: Request) -> ModelHolder:
    return request.app.state.holder


async def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _prediction_slots(request: Request) -> threading.BoundedSemaphore:
    return request.app.state.prediction_slots


# The served model; read `holder.get()` once per request and keep what it returns.
Holder = Annotated[ModelHolder, Depends(_holder)]
AppMetrics = Annotated[Metrics, Depends(_metrics)]
AppSettings = Annotated[Settings, Depends(_settings)]
# Bounds the model calls in flight (`settings.max_concurrent_predictions`).
PredictionSlots = Annotated[threading.BoundedSemaphore, Depends(_prediction_slots)]
# The caller's API key (None with `--insecure-no-auth`); 401 / 403 otherwise. The role
# x route table is in docs/security.md.
TriageKey = Annotated[KeyRecord | None, Depends(require_scope("triage"))]
AdminKey = Annotated[KeyRecord | None, Depends(require_scope("admin"))]
# Staff: agents (their teams' tickets) and admins.
StaffKey = Annotated[KeyRecord | None, Depends(require_scope("admin", "agent"))]
# Anyone who works tickets: staff, and integrations (their inbox's tickets).
DeskKey = Annotated[KeyRecord | None, Depends(require_scope("admin", "agent", "tickets"))]
# Intake of e-mail and chat messages: integrations and admins.
IntakeKey = Annotated[KeyRecord | None, Depends(require_scope("admin", "tickets"))]
