"""ServiceNow incident list exports: CSV or XLSX, field names or display labels.

A list export names its columns by field (`short_description`, with `sys_` columns such
as `sys_id`, `sys_created_on`, `sys_tags`) or by label (`Short description`, `Opened`);
both read. Values are display values (`1 - Critical`, `Software`, a group's name) and stay
as they are. A REST Table API JSON (`{"result": [...]}`, display values or
`{"display_value", "value"}` pairs) reads with the same preset. `made_sla` becomes
`sla_breached` inverted; `sys_created_on` fills `created_at` when there is no `opened_at`.
"""

from __future__ import annotations

from triage.ingest.presets.base import Preset

_MADE_SLA = {"true": False, "false": True, "yes": False, "no": True, "1": False, "0": True}

SERVICENOW = Preset(
    name="servicenow",
    title="ServiceNow incident export",
    description="ServiceNow incident list CSV/XLSX export (field names or labels) or "
    "Table API JSON",
    fields={
        "id": ("number", "Number"),
        "subject": ("short_description", "Short description"),
        "body": ("description", "Description"),
        "created_at": ("opened_at", "Opened", "sys_created_on", "Created"),
        "channel": ("contact_type", "Contact type", "Channel"),
        "priority": ("priority", "Priority"),
        "category": ("category", "Category"),
        "subcategory": ("subcategory", "Subcategory"),
        "team": ("assignment_group", "Assignment group"),
        "assignee": ("assigned_to", "Assigned to"),
        "requester": ("caller_id", "Caller"),
        "resolved_at": ("resolved_at", "Resolved"),
        "sla_breached": ("made_sla", "Made SLA"),
        "tags": ("sys_tags", "Tags"),
        "extra.impact": ("impact", "Impact"),
        "extra.urgency": ("urgency", "Urgency"),
        "extra.state": ("state", "State", "incident_state", "Incident state"),
        "extra.sys_id": ("sys_id",),
        "extra.configuration_item": ("cmdb_ci", "Configuration item"),
        "extra.reassignment_count": ("reassignment_count", "Reassignment count"),
        "extra.reopen_count": ("reopen_count", "Reopen count"),
        "extra.close_code": ("close_code", "Resolution code", "Close code"),
    },
    date_formats=("%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S"),
    tag_separator=",",
    channel_values={"self-service": "web", "walk-in": "phone", "virtual agent": "chat"},
    value_maps={"sla_breached": _MADE_SLA},
    value_notes={"sla_breached": "made_sla inverted (false = breached)"},
)
