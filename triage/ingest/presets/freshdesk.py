"""Freshdesk: the ticket CSV export (Tickets > Export)."""

from __future__ import annotations

from triage.ingest.presets.base import Preset

FRESHDESK = Preset(
    name="freshdesk",
    title="Freshdesk CSV export",
    description="Freshdesk ticket CSV export",
    fields={
        "id": ("Ticket ID", "Ticket Id"),
        "subject": ("Subject",),
        "body": ("Description",),
        "created_at": ("Created time",),
        "resolved_at": ("Resolved time",),
        "first_response_at": ("Initial response time",),
        "priority": ("Priority",),
        "channel": ("Source",),
        "category": ("Type",),
        "team": ("Group",),
        "assignee": ("Agent",),
        "tags": ("Tags",),
        "requester": ("Contact ID", "Requester email", "Email", "Full name"),
        "sla_breached": ("Resolution status",),
        "extra.status": ("Status",),
        "extra.product": ("Product",),
        "extra.company": ("Company Name",),
        "extra.first_response_status": ("First response status",),
    },
    tag_separator=",",
    channel_values={
        "portal": "web",
        "feedback widget": "web",
        "outbound email": "email",
        "mobihelp": "chat",
    },
    value_maps={"sla_breached": {"sla violated": True, "within sla": False}},
    value_notes={"sla_breached": "'SLA Violated' = true, 'Within SLA' = false"},
)
