"""Dataset quirks on small generated files: what is dropped, what stays an error."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from triage.dataset import iter_tickets
from triage.errors import RowError
from triage.ingest import import_source
from triage.ingest.servicenow import clean_text
from triage.ingest.uci import AT_OPEN_KEYS, OUTCOME_KEYS

SYNTHETIC_HEADER = "subject,body,answer,type,queue,priority,language,tag_1,tag_2\n"


def _synthetic(folder: Path, body: str) -> Path:
    folder.mkdir()
    (folder / "tickets_multilang_xx_truncated.csv").write_text(
        SYNTHETIC_HEADER + body, encoding="utf-8"
    )
    return folder


def test_synthetic_drops_a_truncated_last_record_only(tmp_path: Path) -> None:
    ok = "Hi,help,answer,Incident,IT,high,en,a,b\n"
    src = _synthetic(tmp_path / "tail", ok + ok + 'Cut,"off in the mid')
    report = import_source(src, "synthetic_multilingual", tmp_path / "tail.parquet")
    assert report.rows_written == 2 and report.rows_dropped == 1
    assert any("data row 3" in note for note in report.notes)
    assert [t.tags for t in iter_tickets(tmp_path / "tail.parquet")] == [["a", "b"], ["a", "b"]]

    src = _synthetic(tmp_path / "middle", ok + "Short,row\n" + ok)
    with pytest.raises(RowError) as err:
        import_source(src, "synthetic_multilingual", tmp_path / "middle.parquet")
    assert err.value.row == 2 and "2 fields but the header has 9" in err.value.reason
    assert not (tmp_path / "middle.parquet").exists()


def test_servicenow_text_cleaning() -> None:
    raw = (
        "_x000D_\n_x000D_\nreceived from: abc.def@gmail.com_x000D_\n_x000D_\nhello team,_x000D_\n"
        "_x000D_\n_x000D_\nFrom: Someone\nSent: Monday\nTo: it\nSubject: vpn   broken\nplease help"
    )
    assert clean_text(raw) == "hello team,\nSubject: vpn broken\nplease help"


UCI_HEADER = (
    "number,ident_state,active,reassignment_count,reopen_count,sys_mod_count,made_sla,caller_id,opened_by,"
    "opened_at,sys_created_by,sys_created_at,sys_updated_by,sys_updated_at,contact_type,location,category,"
    "category,u_symptom,cmdb_ci,impact,urgency,priority,assignment_group,assigned_to,knowledge,"
    "u_priority_confirmation,notify,problem_id,rfc,vendor,caused_by,closed_code,resolved_by,resolved_at,closed_at"
)


def _event(
    number: str, state: str, reassign: int, sla: str, group: str, opened: str = "3/1/2016 09:05"
) -> str:
    return (
        f"{number},{state},true,{reassign},0,1,{sla},7,8,{opened},?,?,9,?,Self "
        f"service,1,10,20,?,?,2,2,3,"
        f"{group},?,false,false,Do Not Notify,?,?,?,?,?,?,4/1/2016 10:00,?"
    )


def _uci(tmp_path: Path, events: list[str]) -> Path:
    zpath = tmp_path / "incident_event_log.zip"
    with zipfile.ZipFile(zpath, "w") as archive:
        archive.writestr(
            "incident_event_log/incident_event_log.csv", "\n".join([UCI_HEADER, *events]) + "\n"
        )
    return zpath


def test_uci_folds_events_and_keeps_outcomes_apart(tmp_path: Path) -> None:
    src = _uci(
        tmp_path,
        [
            _event("001", "New", 0, "true", "5"),
            _event("001", "Active", 1, "false", "6"),
            _event("001", "Resolved", 1, "false", "6"),
            _event("002", "New", 0, "true", "?"),
        ],
    )
    import_source(src, "uci_incident_log", tmp_path / "u.parquet")
    first, second = iter_tickets(tmp_path / "u.parquet")
    assert (first.id, first.sla_breached, first.team, first.channel.value) == (
        "INC001",
        True,
        "6",
        "web",
    )
    assert first.created_at.isoformat() == "2016-01-03T09:05:00+00:00"  # dd/mm/yyyy
    assert first.extra["open_assignment_group"] == "5" and first.extra["reassignment_count"] == 1
    assert (first.extra["first_state"], first.extra["last_state"], first.extra["event_count"]) == (
        "New",
        "Resolved",
        3,
    )
    assert second.team is None and second.sla_breached is False  # "?" is missing
    assert set(AT_OPEN_KEYS).isdisjoint(OUTCOME_KEYS)
    assert set(first.extra) <= set(AT_OPEN_KEYS) | set(OUTCOME_KEYS)


def test_uci_bad_date_is_a_row_error_and_an_ungrouped_log_folds(tmp_path: Path) -> None:
    src = _uci(tmp_path, [_event("001", "New", 0, "true", "5", opened="2016-01-03 09:05")])
    with pytest.raises(RowError) as err:
        import_source(src, "uci_incident_log", tmp_path / "u.parquet")
    assert (err.value.row, err.value.field) == (1, "opened_at") and "dd/mm/yyyy" in err.value.reason
    assert not (tmp_path / "u.parquet").exists()
    # The event-log machinery folds an incident whose events are not next to each other.
    src = _uci(
        tmp_path,
        [
            _event("001", "New", 0, "true", "5"),
            _event("002", "New", 0, "true", "5"),
            _event("001", "Active", 1, "true", "6"),
        ],
    )
    import_source(src, "uci_incident_log", tmp_path / "u.parquet")
    first, second = sorted(iter_tickets(tmp_path / "u.parquet"), key=lambda t: t.id)
    assert (first.id, first.extra["event_count"], first.team) == ("INC001", 2, "6")
    assert (second.id, second.extra["event_count"]) == ("INC002", 1)
