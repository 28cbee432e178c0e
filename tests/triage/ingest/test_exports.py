"""Real exports in: Jira, Zendesk, Freshdesk and ServiceNow files as their tools write them
(fixtures from the vendors' documented formats, tests/triage/ingest/exports.py), and the
shared real Jira export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.triage.ingest.exports import (
    JIRA_CLOUD_ES_HEADER,
    freshdesk_csv,
    jira_cloud_en,
    jira_cloud_es,
    jira_server_all_fields,
    servicenow_api_json,
    servicenow_csv,
    servicenow_xlsx,
    write_csv,
    zendesk_admin_csv,
    zendesk_api_json,
    zendesk_incremental_zip,
    zendesk_ndjson,
)
from triage.contract import Channel
from triage.dataset import iter_tickets
from triage.errors import InputFileError
from triage.ingest import ImportOptions, import_source, parse_mapping, read_provenance


def _import(path: Path, fmt: str, *maps: str, **options) -> tuple:
    out = path.parent / f"{path.name}.out.parquet"
    report = import_source(
        path, fmt, out, ImportOptions(mapping=parse_mapping(list(maps)), **options)
    )
    return report, list(iter_tickets(out))


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# ---- Jira ---------------------------------------------------------------------------


@pytest.mark.shared_data
def test_the_shared_jira_server_export_imports(shared_datasets: Path, tmp_path: Path) -> None:
    """102 columns, repeated Labels/Watchers/Attachment/Sprint/Comment, `dd/mm/yyyy HH:MM`
    dates, 1 issue and then 739 rows of only commas."""
    src = shared_datasets / "real_exports" / "jira_server_all_fields.csv"
    out = tmp_path / "jira.parquet"
    report = import_source(src, "jira", out)
    (ticket,) = iter_tickets(out)
    assert (report.rows_written, report.blank_rows, report.rows_rejected) == (1, 739, 0)
    assert (ticket.id, ticket.category, ticket.priority, ticket.extra["status"]) == (
        "A-3367",
        "Bug",
        "High",
        "Open",
    )
    assert ticket.subject.startswith("[ML]Admin::Promotions") and ticket.body == ""
    assert ticket.created_at == _at(2017, 2, 16, 15, 26)
    # The one comment (`16/Feb/17 3:29 PM;;Provide more details ...`) has no author.
    assert ticket.first_response_at == _at(2017, 2, 16, 15, 29)
    assert report.detected == "Jira CSV export, headers in English"
    assert "'Watchers' x10" in report.unmapped and "'Attachment' x15" in report.unmapped
    assert {c.field for c in report.labels} == {"category", "priority", "assignee"}


def test_jira_server_spreadsheet_dates_and_blank_rows(tmp_path: Path) -> None:
    report, (ticket,) = _import(jira_server_all_fields(tmp_path, blank_rows=7), "jira")
    assert (report.rows_written, report.blank_rows) == (1, 7)
    assert ticket.created_at == _at(2017, 2, 16, 15, 26)
    assert ticket.first_response_at == _at(2017, 2, 16, 15, 29)


def test_jira_cloud_english_comments_labels_components(tmp_path: Path) -> None:
    report, (vpn, printer) = _import(jira_cloud_en(tmp_path), "jira")
    assert (vpn.id, vpn.category, vpn.team, vpn.tags) == (
        "HELP-1",
        "Incident",
        "Network",
        ["vpn", "remote"],
    )
    assert vpn.body == "Since Monday the VPN client drops.\nReconnecting works for an hour."
    assert vpn.created_at == _at(2024, 3, 12, 9, 5) and vpn.resolved_at == _at(2024, 3, 12, 16, 40)
    # The reporter's own comment (by account id) is no response; the agent's at 10:02 is.
    assert vpn.first_response_at == _at(2024, 3, 12, 10, 2)
    assert (printer.team, printer.first_response_at, printer.resolved_at) == (
        "Facilities",
        None,
        None,
    )
    team = next(c for c in report.columns if c.field == "team")
    assert (team.columns, team.how) == (["Component/s", "Component/s"], "preset")


def test_jira_cloud_spanish_headers_months_and_multiline(tmp_path: Path) -> None:
    report, tickets = _import(jira_cloud_es(tmp_path), "jira")
    assert report.detected == "Jira CSV export, headers in Spanish"
    assert [t.id for t in tickets] == ["SOP-11", "SOP-12", "SOP-13"]
    mail, laptop, invoices = tickets
    assert mail.subject == "No puedo acceder al correo" and mail.priority == "Alta"
    assert mail.body.count("\n") == 3 and invoices.body.startswith(
        'Al imprimir sale:\n"Error 0x51"'
    )
    assert (mail.assignee, mail.requester, mail.team, mail.tags) == (
        "Marta Gil",
        "Luis Pardo",
        "Correo",
        ["correo", "acceso"],
    )
    assert mail.created_at == _at(2024, 1, 3, 9, 15)  # 03/ene/24 9:15 a. m.
    assert laptop.created_at == _at(2024, 4, 15, 16, 30)  # 15/abr/24 4:30 p. m.
    assert invoices.resolved_at == _at(2024, 9, 2, 10, 0)  # 02/sept/24
    assert mail.first_response_at == _at(2024, 1, 3, 9, 40)
    # Pablo's own comment at 11:05 is not a response; Marta's the next day is.
    assert invoices.first_response_at == _at(2024, 8, 29, 8, 30)
    assert "dd/MMM/yy h:mm a" in next(c.note for c in report.columns if c.field == "created_at")


def test_jira_map_wins_over_the_preset_and_its_required_columns(tmp_path: Path) -> None:
    """Headers the preset does not know: the user's map rescues the import; the preset's
    own text check runs after the map, never before it."""
    header = [
        "Asunto" if h == "Resumen" else "Detalle" if h == "Descripción" else h
        for h in JIRA_CLOUD_ES_HEADER
    ]
    rows = [
        header,
        ["Correo caído", "SOP-1", "1", "Incidencia", "Abierta", "Alta", "", "", "Ana",
         "03/ene/24 9:15 a. m.", "", "", "", "", "", "Outlook no abre.\nNada.", "", ""],
    ]  # fmt: skip
    src = write_csv(tmp_path / "es.csv", rows)
    with pytest.raises(InputFileError) as err:
        _import(src, "jira")
    assert "--map subject=COLUMN" in str(err.value) and "'Asunto'" in str(err.value)
    _, (ticket,) = _import(src, "jira", "subject=Asunto", "body=Detalle")
    assert (ticket.subject, ticket.body) == ("Correo caído", "Outlook no abre.\nNada.")
    # The issue's own case: mapping columns the preset also knows works the same.
    _, (mail, *_) = _import(jira_cloud_es(tmp_path), "jira", "subject=Resumen", "body=Descripción")
    assert mail.subject == "No puedo acceder al correo"


JIRA_LANGUAGES = {
    # language: (summary, key, type, created, labels, date)
    "de": ("Zusammenfassung", "Vorgangsschlüssel", "Vorgangstyp", "Erstellt", "Stichwörter",
           "05/Mär/24 2:30 nachm."),
    "fr": ("Résumé", "Clé de ticket", "Type de ticket", "Création", "Étiquettes",
           "05/mars/24 14:30"),
    "pt": ("Resumo", "Chave do item", "Tipo de item", "Criado", "Rótulos", "05/mar/24 2:30 PM"),
    "ru": ("Тема", "Ключ задачи", "Тип задачи", "Создано", "Метки", "05/мар/24 14:30"),
    "pl": ("Podsumowanie", "Klucz zgłoszenia", "Typ zgłoszenia", "Utworzono", "Etykiety",
           "05/mar/24 14:30"),
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(JIRA_LANGUAGES))
def test_jira_headers_in_other_languages(tmp_path: Path, language: str) -> None:
    summary, key, kind, created, labels, when = JIRA_LANGUAGES[language]
    src = write_csv(
        tmp_path / f"{language}.csv",
        [[summary, key, kind, created, labels, labels], ["Text", "X-1", "Bug", when, "a", "b"]],
    )
    report, (ticket,) = _import(src, "jira")
    assert (ticket.id, ticket.subject, ticket.category, ticket.tags) == (
        "X-1",
        "Text",
        "Bug",
        ["a", "b"],
    )
    assert ticket.created_at == _at(2024, 3, 5, 14, 30)
    assert report.detected is not None and report.detected.endswith(
        {"de": "German", "fr": "French", "pt": "Portuguese", "ru": "Russian", "pl": "Polish"}[
            language
        ]
    )


def test_jira_month_first_numeric_dates_say_to_pass_a_date_format(tmp_path: Path) -> None:
    from triage.errors import RowError

    src = write_csv(tmp_path / "us.csv", [["Summary", "Created"], ["a", "02/16/2017 15:26"]])
    with pytest.raises(RowError) as err:
        _import(src, "jira")
    assert err.value.field == "Created -> created_at" and "month first" in err.value.reason
    assert "--date-format" in err.value.reason
    _, (ticket,) = _import(src, "jira", date_format="%m/%d/%Y %H:%M")
    assert ticket.created_at == _at(2017, 2, 16, 15, 26)


# ---- Zendesk ------------------------------------------------------------------------


def test_zendesk_rest_api_page(tmp_path: Path) -> None:
    report, (billing, login, social) = _import(zendesk_api_json(tmp_path), "zendesk")
    assert (billing.id, billing.subject, billing.body) == (
        "35436",
        "Invoice charged twice",
        "My card was charged twice for invoice 1042.",
    )
    assert (billing.channel, login.channel) == (Channel.email, Channel.web)  # via.channel
    assert (billing.category, billing.priority, billing.team, billing.assignee) == (
        "incident",
        "high",
        "360000042",
        "361000777",
    )
    assert billing.tags == ["billing", "refund"] and billing.created_at == _at(2024, 5, 1, 9, 15)
    assert billing.extra["custom_field_360011111"] == "premium"  # custom fields as extra
    assert "custom_field_360022222" not in billing.extra  # empty stays out
    assert billing.extra["status"] == "open" and billing.extra["organization"] == 360000123
    # `twitter` is no channel of ours: kept aside, with a warning, not an aborted import.
    assert social.channel is None and social.extra["channel"] == "twitter"
    assert any("'twitter' x1" in w and "extra.channel" in w for w in report.warnings)


def test_zendesk_ndjson_export_reads_like_the_api(tmp_path: Path) -> None:
    _, from_api = _import(zendesk_api_json(tmp_path), "zendesk")
    _, from_export = _import(zendesk_ndjson(tmp_path), "zendesk")
    assert from_export == from_api


def test_zendesk_incremental_pages_in_a_mac_zip(tmp_path: Path) -> None:
    src = zendesk_incremental_zip(tmp_path)
    from triage.errors import RowError

    with pytest.raises(RowError) as err:  # ticket 35437 is on both pages
        _import(src, "zendesk")
    assert "duplicate id '35437'" in err.value.reason and "rows 2 and 3" in err.value.reason
    assert "--dedupe" in err.value.reason
    report, tickets = _import(src, "zendesk", dedupe="last")
    assert [t.id for t in tickets] == ["35436", "35437", "35438"]
    assert tickets[1].extra["status"] == "solved"  # the later page's copy
    assert report.duplicates == 1
    _, tickets = _import(src, "zendesk", dedupe="first")
    assert tickets[1].extra["status"] == "open"


def test_zendesk_admin_csv_without_description(tmp_path: Path) -> None:
    report, (invoice, parcel) = _import(zendesk_admin_csv(tmp_path), "zendesk")
    assert (invoice.subject, invoice.body, invoice.channel, invoice.tags) == (
        "Invoice wrong",
        "",
        Channel.web,
        ["billing", "refund"],
    )
    assert invoice.created_at == _at(2024, 5, 1, 7, 15)  # +0200 kept as an instant
    assert invoice.first_response_at == _at(2024, 5, 1, 8, 0)  # + 45 minutes
    assert (parcel.channel, parcel.first_response_at) == (Channel.email, None)
    assert invoice.category == "Incident" and invoice.extra["reopens"] == "0"
    derived = next(c for c in report.columns if c.field == "first_response_at")
    assert derived.how == "derived" and derived.columns == ["First reply time in minutes"]


# ---- Freshdesk and ServiceNow -------------------------------------------------------


def test_freshdesk_csv(tmp_path: Path) -> None:
    report, (refund, crash, thanks) = _import(freshdesk_csv(tmp_path), "freshdesk")
    assert (refund.id, refund.priority, refund.channel, refund.team, refund.assignee) == (
        "1001",
        "High",
        Channel.email,
        "Billing",
        "Priya",
    )
    assert refund.tags == ["refund", "returns"] and refund.first_response_at == _at(
        2024, 2, 1, 9, 30
    )
    assert (refund.sla_breached, crash.sla_breached, thanks.sla_breached) == (False, None, True)
    assert crash.channel == Channel.web  # Portal
    assert thanks.channel is None and thanks.extra["channel"] == "Twitter"
    assert [c.field for c in report.labels] == [
        "category",
        "priority",
        "team",
        "assignee",
        "sla_breached",
    ]


def test_servicenow_csv_display_values_and_sys_columns(tmp_path: Path) -> None:
    report, (mail, intranet) = _import(servicenow_csv(tmp_path), "servicenow")
    assert (mail.id, mail.priority, mail.team, mail.assignee, mail.requester) == (
        "INC0010001",
        "2 - High",
        "Service Desk",
        "Beth Anglin",
        "Abel Tuter",
    )
    assert mail.channel == Channel.phone and intranet.channel == Channel.web  # Self-service
    assert (mail.sla_breached, intranet.sla_breached) == (False, True)  # made_sla inverted
    assert mail.tags == ["mobile", "email"]  # sys_tags
    assert mail.extra["sys_id"] == "9d385017c611228701d22104cc95c371"
    # No opened_at: sys_created_on fills created_at for that row.
    assert intranet.created_at == _at(2024, 4, 3, 9, 30)
    assert "'sys_updated_on'" in report.unmapped


def test_servicenow_xlsx_labels_and_api_json(tmp_path: Path) -> None:
    report, (vpn, laptop) = _import(servicenow_xlsx(tmp_path), "servicenow")
    assert (vpn.id, vpn.created_at, vpn.sla_breached, laptop.sla_breached) == (
        "INC0020001",
        _at(2024, 4, 5, 10, 0),
        True,
        False,
    )
    assert report.blank_rows == 1
    _, (outlook,) = _import(servicenow_api_json(tmp_path), "servicenow")
    assert (outlook.id, outlook.priority, outlook.team, outlook.channel) == (
        "INC0030001",
        "1 - Critical",
        "Service Desk",
        Channel.email,
    )


def test_the_import_decisions_travel_with_the_file(tmp_path: Path) -> None:
    src = freshdesk_csv(tmp_path)
    out = tmp_path / "fd.parquet"
    import_source(src, "freshdesk", out, ImportOptions(mapping=parse_mapping(["team="])))
    meta = read_provenance(out)
    assert meta is not None and meta["format"] == "freshdesk"
    assert meta["labels"]["sla_breached"]["columns"] == ["Resolution status"]
    assert meta["labels"]["priority"] == {"columns": ["Priority"], "how": "preset", "note": ""}
    assert "team" not in meta["labels"] and all(t.team is None for t in iter_tickets(out))
