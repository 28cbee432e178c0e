"""Help-desk exports as their tools write them, built from the vendors' documented formats
(see ../shared/datasets/README.md, "Real help-desk exports"). Each builder writes one file
into a folder and returns its path; the importer tests and the report script use them.

The contents are invented; the shapes (headers, repeated columns, date and comment
formats, JSON envelopes, nested values) are the tools'.
"""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import datetime
from pathlib import Path


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    """Rows as a CSV file the way spreadsheets and exports write it (quoted when needed)."""
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(rows)
    return path


# ---- Jira ---------------------------------------------------------------------------

JIRA_CLOUD_EN_HEADER = [
    "Summary", "Issue key", "Issue id", "Issue Type", "Status", "Priority", "Resolution",
    "Assignee", "Reporter", "Reporter Id", "Created", "Updated", "Resolved", "Labels", "Labels",
    "Component/s", "Component/s", "Description", "Comment", "Comment", "Comment",
]  # fmt: skip


def jira_cloud_en(folder: Path) -> Path:
    """Jira Cloud "Export > CSV (all fields)" in English: `dd/MMM/yy h:mm a` dates,
    repeated Labels/Component/s/Comment columns, comments `date;account id;text`, the
    reporter's own comment first on HELP-1."""
    reporter = "557058:0a1b2c3d-reporter"
    agent = "557058:9f8e7d6c-agent"
    rows = [
        JIRA_CLOUD_EN_HEADER,
        [
            "VPN drops every hour", "HELP-1", "10001", "Incident", "Done", "High", "Done",
            "Kim Agent", "Lee Reporter", reporter, "12/Mar/24 9:05 AM", "12/Mar/24 4:40 PM",
            "12/Mar/24 4:40 PM", "vpn", "remote", "Network", "",
            "Since Monday the VPN client drops.\nReconnecting works for an hour.",
            f"12/Mar/24 9:20 AM;{reporter};Adding the client log.",
            f"12/Mar/24 10:02 AM;{agent};Thanks; we are looking at the gateway.",
            "",
        ],
        [
            "Printer on floor 3 jams", "HELP-2", "10002", "Service request", "In Progress",
            "Low", "", "Ann Agent", "Bo Reporter", "557058:bo", "13/Mar/24 11:30 AM",
            "13/Mar/24 12:00 PM", "", "printer", "", "Facilities", "Hardware",
            "Paper jams on every job.", "", "", "",
        ],
    ]  # fmt: skip
    return write_csv(folder / "jira_cloud_en.csv", rows)


JIRA_CLOUD_ES_HEADER = [
    "Resumen", "Clave de incidencia", "ID de la incidencia", "Tipo de Incidencia", "Estado",
    "Prioridad", "Resolución", "Persona asignada", "Informador", "Creada", "Actualizada",
    "Resuelta", "Etiquetas", "Etiquetas", "Componentes", "Descripción", "Comentario",
    "Comentario",
]  # fmt: skip


def jira_cloud_es(folder: Path) -> Path:
    """Jira Cloud CSV with Spanish headers and Spanish month names (`dd/MMM/yy h:mm a`,
    `a. m.`/`p. m.`), three issues with multi-line descriptions inside quotes."""
    rows = [
        JIRA_CLOUD_ES_HEADER,
        [
            "No puedo acceder al correo", "SOP-11", "20011", "Incidencia", "Finalizada", "Alta",
            "Hecho", "Marta Gil", "Luis Pardo", "03/ene/24 9:15 a. m.", "03/ene/24 1:00 p. m.",
            "03/ene/24 1:00 p. m.", "correo", "acceso", "Correo",
            "Desde esta mañana Outlook pide la contraseña.\n\nYa reinicié el equipo,\n"
            "sigue igual.",
            "03/ene/24 9:40 a. m.;Marta Gil;Reiniciamos tu sesión, prueba de nuevo.", "",
        ],
        [
            "Solicitud de portátil nuevo", "SOP-12", "20012", "Solicitud", "Abierta", "Media", "",
            "", "Ana Ruiz", "15/abr/24 4:30 p. m.", "15/abr/24 4:30 p. m.", "", "hardware", "",
            "Equipos", "El portátil actual tiene 6 años.\nNecesito uno para el lunes.", "", "",
        ],
        [
            "Error al imprimir facturas", "SOP-13", "20013", "Incidencia", "Resuelta", "Alta",
            "Hecho", "Marta Gil", "Pablo Sanz", "28/ago/24 11:05 a. m.", "02/sept/24 10:00 a. m.",
            "02/sept/24 10:00 a. m.", "facturación", "", "Aplicaciones",
            "Al imprimir sale:\n\"Error 0x51\"\ny se cancela el trabajo.",
            "28/ago/24 11:05 a. m.;Pablo Sanz;Adjunto captura.",
            "29/ago/24 8:30 a. m.;Marta Gil;Actualizamos el controlador.",
        ],
    ]  # fmt: skip
    return write_csv(folder / "jira_cloud_es.csv", rows)


def jira_server_all_fields(folder: Path, blank_rows: int = 5) -> Path:
    """Jira Server "CSV (all fields)" as re-saved by a spreadsheet: numeric
    `dd/mm/yyyy HH:MM` dates, repeated columns, trailing rows of only commas (the shape of
    ../shared/datasets/real_exports/jira_server_all_fields.csv)."""
    header = [
        "Summary", "Issue key", "Issue id", "Issue Type", "Status", "Priority", "Assignee",
        "Reporter", "Created", "Resolved", "Labels", "Labels", "Description", "Watchers",
        "Watchers", "Sprint", "Sprint", "Comment", "Comment",
    ]  # fmt: skip
    row = [
        "Admin can create promo codes ", "A-3367", "24018", "Bug", "Open", "High", "xyz", "xyz",
        "16/02/2017 15:26", "", "", "", "", "xyz", "zzz", "abc", "",
        "16/Feb/17 3:29 PM;;Provide more details on this- which user can create?", "",
    ]  # fmt: skip
    return write_csv(
        folder / "jira_server_all_fields.csv", [header, row] + [[""] * len(header)] * blank_rows
    )


# ---- Zendesk ------------------------------------------------------------------------


def zendesk_ticket(ticket_id: int, **fields: object) -> dict:
    """A ticket object as `GET /api/v2/tickets` returns it (fields the docs list)."""
    ticket = {
        "url": f"https://example.zendesk.com/api/v2/tickets/{ticket_id}.json",
        "id": ticket_id,
        "external_id": None,
        "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": "2024-05-01T09:15:00Z",
        "updated_at": "2024-05-01T10:00:00Z",
        "type": "incident",
        "subject": "Invoice charged twice",
        "raw_subject": "Invoice charged twice",
        "description": "My card was charged twice for invoice 1042.",
        "priority": "high",
        "status": "open",
        "recipient": "support@example.com",
        "requester_id": 361000001,
        "submitter_id": 361000001,
        "assignee_id": 361000777,
        "organization_id": 360000123,
        "group_id": 360000042,
        "collaborator_ids": [],
        "follower_ids": [],
        "is_public": True,
        "due_at": None,
        "tags": ["billing", "refund"],
        "custom_fields": [{"id": 360011111, "value": "premium"}, {"id": 360022222, "value": None}],
        "satisfaction_rating": {"score": "unoffered"},
        "sharing_agreement_ids": [],
        "fields": [{"id": 360011111, "value": "premium"}, {"id": 360022222, "value": None}],
        "brand_id": 360000001,
        "allow_channelback": False,
        "allow_attachments": True,
    }
    ticket.update(fields)
    return ticket


def _zendesk_tickets() -> list[dict]:
    return [
        zendesk_ticket(35436),
        zendesk_ticket(
            35437,
            via={"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            subject="Cannot log in",
            description="The login page says my password expired.",
            type="problem",
            priority="normal",
            tags=["login"],
            group_id=360000043,
            created_at="2024-05-20T14:02:11Z",
        ),
        zendesk_ticket(
            35438,
            via={"channel": "twitter", "source": {"from": {}, "to": {}, "rel": "mention"}},
            subject="Your app is down?",
            description="Nothing loads since this morning.",
            type="question",
            priority=None,
            tags=[],
            created_at="2024-06-03T08:00:00Z",
        ),
    ]


def zendesk_api_json(folder: Path) -> Path:
    """One page of `GET /api/v2/tickets`: `{"tickets": [...], "next_page": ..., "count": ...}`."""
    page = {"tickets": _zendesk_tickets(), "next_page": None, "previous_page": None, "count": 3}
    path = folder / "zendesk_tickets.json"
    path.write_text(json.dumps(page, indent=2), encoding="utf-8")
    return path


def zendesk_ndjson(folder: Path) -> Path:
    """The JSON export: one ticket object per line."""
    path = folder / "zendesk_export.ndjson"
    path.write_text("".join(json.dumps(t) + "\n" for t in _zendesk_tickets()), encoding="utf-8")
    return path


def zendesk_incremental_zip(folder: Path) -> Path:
    """Two pages of `/api/v2/incremental/tickets` zipped on a Mac: ticket 35437 changed
    between the pages (the later copy is newer), plus `__MACOSX/` and `.DS_Store` entries."""
    first, second, third = _zendesk_tickets()
    updated = dict(second, status="solved", updated_at="2024-05-21T09:00:00Z")
    pages = [
        {"tickets": [first, second], "end_time": 1716200000, "end_of_stream": False,
         "next_page": "https://example.zendesk.com/api/v2/incremental/tickets.json?start_time=1716200000",
         "count": 2},
        {"tickets": [updated, third], "end_time": 1717400000, "end_of_stream": True,
         "next_page": None, "count": 2},
    ]  # fmt: skip
    path = folder / "zendesk_incremental.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for n, page in enumerate(pages, start=1):
            archive.writestr(f"export/page-{n}.json", json.dumps(page))
            archive.writestr(f"__MACOSX/export/._page-{n}.json", b"\x00\x05\x16\x07junk")
        archive.writestr("export/.DS_Store", b"\x00\x00\x00\x01Bud1")
    return path


def zendesk_admin_csv(folder: Path) -> Path:
    """The admin CSV export (Reporting > Export): no description column."""
    header = [
        "Id", "Requester", "Requester id", "Assignee", "Group", "Subject", "Tags", "Status",
        "Priority", "Via", "Ticket type", "Created at", "Updated at", "Solved at",
        "Organization", "Reopens", "Replies", "First reply time in minutes",
        "Full resolution time in minutes",
    ]  # fmt: skip
    rows = [
        header,
        ["101", "Ann Customer", "361000001", "Bob Agent", "Billing", "Invoice wrong",
         "billing refund", "Solved", "High", "Web Form", "Incident", "2024-05-01 09:15:00 +0200",
         "2024-05-02 10:00:00 +0200", "2024-05-02 10:00:00 +0200", "Acme", "0", "2", "45", "1485"],
        ["102", "Cy Customer", "361000002", "", "Support", "Where is my parcel", "shipping",
         "Open", "Normal", "Mail", "Question", "2024-05-03 16:20:00 +0200",
         "2024-05-03 16:20:00 +0200", "", "", "0", "0", "", ""],
    ]  # fmt: skip
    return write_csv(folder / "zendesk_admin.csv", rows)


# ---- Freshdesk ----------------------------------------------------------------------


def freshdesk_csv(folder: Path) -> Path:
    """Freshdesk "Export tickets" CSV: `Source` includes channels outside our list."""
    header = [
        "Ticket ID", "Subject", "Description", "Status", "Priority", "Source", "Type", "Group",
        "Agent", "Created time", "Resolved time", "Initial response time", "Tags",
        "Resolution status", "Product",
    ]  # fmt: skip
    rows = [
        header,
        ["1001", "Refund not received", "I returned the shoes two weeks ago.", "Resolved",
         "High", "Email", "Refund", "Billing", "Priya", "2024-02-01 09:00:00",
         "2024-02-02 12:00:00", "2024-02-01 09:30:00", "refund,returns", "Within SLA", "Shop"],
        ["1002", "App crashes on start", "Version 3.2 on Android 14 crashes.", "Open",
         "Urgent", "Portal", "Problem", "Mobile", "Tom", "2024-02-03 14:45:00", "", "",
         "android", "", "App"],
        ["1003", "Love the new design", "Just saying thanks!", "Closed", "Low", "Twitter",
         "Feedback", "Social", "Priya", "2024-02-20 18:10:00", "2024-02-22 09:00:00",
         "2024-02-21 08:00:00", "", "SLA Violated", "Shop"],
    ]  # fmt: skip
    return write_csv(folder / "freshdesk_tickets.csv", rows)


# ---- ServiceNow ---------------------------------------------------------------------


def servicenow_csv(folder: Path) -> Path:
    """An incident list export with field names, display values and `sys_` columns."""
    header = [
        "number", "short_description", "description", "opened_at", "caller_id", "contact_type",
        "priority", "state", "category", "subcategory", "assignment_group", "assigned_to",
        "impact", "urgency", "made_sla", "resolved_at", "reassignment_count", "sys_id",
        "sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count",
        "sys_tags",
    ]  # fmt: skip
    rows = [
        header,
        ["INC0010001", "Email not syncing on phone", "Mail app shows no new mail since 8:00.",
         "2024-04-02 08:12:00", "Abel Tuter", "Phone", "2 - High", "Resolved", "Software",
         "Email", "Service Desk", "Beth Anglin", "2 - Medium", "1 - High", "true",
         "2024-04-02 11:00:00", "1", "9d385017c611228701d22104cc95c371", "2024-04-02 08:12:00",
         "admin", "2024-04-02 11:00:00", "admin", "4", "mobile,email"],
        ["INC0010002", "Cannot reach the intranet", "", "", "Fred Luddy", "Self-service",
         "3 - Moderate", "In Progress", "Network", "", "Network", "", "3 - Low", "2 - Medium",
         "false", "", "0", "e8caedcbc0a80164017df472f39eaed1", "2024-04-03 09:30:00", "fred",
         "2024-04-03 10:00:00", "admin", "2", ""],
    ]  # fmt: skip
    return write_csv(folder / "servicenow_incidents.csv", rows)


def servicenow_xlsx(folder: Path) -> Path:
    """An incident list exported to Excel: display labels as headers."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Page 1"
    rows = [
        ["Number", "Opened", "Short description", "Caller", "Priority", "State", "Category",
         "Assignment group", "Assigned to", "Contact type", "Made SLA"],
        ["INC0020001", datetime(2024, 4, 5, 10, 0), "VPN token expired", "Abel Tuter",
         "3 - Moderate", "Closed", "Network", "Network", "Beth Anglin", "Email", False],
        [None] * 11,
        ["INC0020002", datetime(2024, 4, 6, 15, 30), "New starter laptop", "Fred Luddy",
         "4 - Low", "New", "Hardware", "Hardware", None, "Walk-in", True],
    ]  # fmt: skip
    for row in rows:
        sheet.append(row)
    path = folder / "servicenow_incidents.xlsx"
    book.save(path)
    return path


def servicenow_api_json(folder: Path) -> Path:
    """The REST Table API with `sysparm_display_value=all`: `{"result": [...]}` whose values
    are `{"display_value", "value"}` pairs."""

    def pair(display: str, value: str | None = None) -> dict:
        return {"display_value": display, "value": display if value is None else value}

    result = [
        {
            "number": pair("INC0030001"),
            "short_description": pair("Outlook crashes"),
            "opened_at": pair("2024-05-06 07:45:00"),
            "priority": pair("1 - Critical", "1"),
            "assignment_group": pair("Service Desk", "8a4dde73c6112278017a6a4baf547aa7"),
            "contact_type": pair("Email", "email"),
            "sys_id": pair("46d44a23a9fe19810012d100cca80666"),
        }
    ]
    path = folder / "servicenow_incidents.json"
    path.write_text(json.dumps({"result": result}), encoding="utf-8")
    return path


# ---- event logs ---------------------------------------------------------------------

EVENT_HEADER = ["Case ID", "Timestamp", "Status", "Support level", "Group", "Channel", "Subject"]


def event_log(folder: Path) -> Path:
    """One row per event, sorted by time (cases interleave): case id, timestamp, status,
    support level, the owning group, and the first event's channel and subject."""
    rows = [
        EVENT_HEADER,
        ["C-1", "2024-03-01T09:00:00", "New", "L1", "Desk", "Email", "Password reset"],
        ["C-2", "2024-03-01T09:05:00", "New", "L1", "Desk", "Phone", "Laptop will not boot"],
        ["C-1", "2024-03-01T09:30:00", "Resolved", "L1", "Desk", "", ""],
        ["C-2", "2024-03-01T10:00:00", "In progress", "L2", "Hardware", "", ""],
        ["C-3", "2024-03-02T08:00:00", "New", "L1", "Desk", "Social media", "Invoice question"],
        ["C-2", "2024-03-02T11:00:00", "Resolved", "L2", "Hardware", "", ""],
        ["C-3", "2024-03-02T09:00:00", "In progress", "L1", "Billing", "", ""],
        ["C-2", "2024-03-04T09:00:00", "Reopened", "L3", "Hardware", "", ""],
        ["C-2", "2024-03-05T16:00:00", "Closed", "L3", "Hardware", "", ""],
        ["C-4", "2024-03-20T12:00:00", "New", "L1", "Desk", "Chat", "VPN slow"],
    ]
    return write_csv(folder / "events.csv", rows)


def event_log_zip(folder: Path) -> Path:
    """The event log zipped on a Mac: a `__MACOSX/` resource fork beside the CSV."""
    source = event_log(folder)
    path = folder / "events.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(source, "events/events.csv")
        archive.writestr("__MACOSX/events/._events.csv", b"\x00\x05\x16\x07resource fork")
    return path


ALL_FIXTURES = {
    "jira_cloud_en": ("jira", jira_cloud_en, []),
    "jira_cloud_es": ("jira", jira_cloud_es, []),
    "jira_server_all_fields": ("jira", jira_server_all_fields, []),
    "zendesk_api_json": ("zendesk", zendesk_api_json, []),
    "zendesk_ndjson": ("zendesk", zendesk_ndjson, []),
    "zendesk_incremental_zip": ("zendesk", zendesk_incremental_zip, ["--dedupe", "last"]),
    "zendesk_admin_csv": ("zendesk", zendesk_admin_csv, []),
    "freshdesk_csv": ("freshdesk", freshdesk_csv, []),
    "servicenow_csv": ("servicenow", servicenow_csv, []),
    "servicenow_xlsx": ("servicenow", servicenow_xlsx, []),
    "servicenow_api_json": ("servicenow", servicenow_api_json, []),
    "event_log_zip": (
        "eventlog",
        event_log_zip,
        ["--case", "Case ID", "--time", "Timestamp", "--status", "Status", "--level",
         "Support level", "--escalated-when", "level in L2,L3", "--map", "team=Group",
         "--map", "channel=Channel", "--map", "subject=Subject"],
    ),
}  # fmt: skip
