"""Zendesk Support: the admin CSV export, the JSON export (NDJSON), and the REST API.

The REST API (`GET /api/v2/tickets`, `/api/v2/incremental/tickets`) pages read as
`{"tickets": [...]}`; nested values are columns (`via.channel`, `custom_fields.ID`,
`satisfaction_rating.score`). Custom fields become `extra.custom_field_ID`. Incremental
export pages repeat a ticket each time it changed: import them with `--dedupe last`.

The admin CSV export has no description column: its text is the subject alone. Its
`First reply time in minutes` gives `first_response_at`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from triage.ingest.presets.base import Derivation, Preset, RowContext


def _first_reply(ctx: RowContext) -> datetime | None:
    created = ctx.data.get("created_at")
    minutes = next(
        (m for m in ctx.roles.get("first_reply_minutes", ()) if m not in (None, "")), None
    )
    if created is None or minutes is None:
        return None
    try:
        return created + timedelta(minutes=float(minutes))
    except (TypeError, ValueError):
        raise ValueError(f"{minutes!r} is not a number of minutes") from None


ZENDESK = Preset(
    name="zendesk",
    title="Zendesk export",
    description="Zendesk Support: admin CSV export, JSON export (NDJSON), REST API and "
    'incremental export pages ({"tickets": [...]})',
    fields={
        "id": ("Id", "Ticket ID"),
        "subject": ("Subject",),
        "body": ("Description",),
        "created_at": ("Created at", "created_at"),
        "channel": ("Via", "via.channel"),
        "priority": ("Priority",),
        "team": ("Group", "group_id"),
        "assignee": ("Assignee", "assignee_id"),
        "tags": ("Tags",),
        "requester": ("Requester", "requester_id"),
        "category": ("Ticket type", "Type"),
        "resolved_at": ("Solved at",),
        "extra.status": ("Status",),
        "extra.organization": ("Organization", "organization_id"),
        "extra.brand": ("Brand", "brand_id"),
        "extra.form": ("Ticket form", "ticket_form_id"),
        "extra.reopens": ("Reopens",),
        "extra.satisfaction": ("Satisfaction Score", "satisfaction_rating.score"),
    },
    date_formats=("%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M", "%Y-%m-%d"),
    tag_separator=" ",
    channel_values={
        "web form": "web",
        "web widget": "web",
        "web_widget": "web",
        "web_form": "web",
        "help center": "web",
        "help_center": "web",
        "mail": "email",
        "chat": "chat",
        "chat_transcript": "chat",
        "messaging": "chat",
        "native_messaging": "chat",
        "web service": "api",
        "phone call (incoming)": "phone",
        "phone call (outgoing)": "phone",
        "voicemail": "phone",
    },
    roles={"first_reply_minutes": ("First reply time in minutes",)},
    derivations=(
        Derivation(
            "first_response_at",
            ("first_reply_minutes",),
            "created_at + 'First reply time in minutes'",
            _first_reply,
        ),
    ),
    extra_prefixes={"custom_fields.": "custom_field_"},
)
