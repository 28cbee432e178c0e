"""Event logs folded into one ticket per case, the derived labels and their rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.triage.ingest.exports import EVENT_HEADER, event_log, event_log_zip, write_csv
from triage.contract import Channel
from triage.dataset import iter_tickets
from triage.errors import InputFileError, RowError
from triage.ingest import EventLogOptions, ImportOptions, import_source, parse_mapping
from triage.ingest.eventlog import fold_events
from triage.ingest.report import ImportReport
from triage.ingest.tables import open_table

MAPS = ["team=Group", "channel=Channel", "subject=Subject"]


def _fold(src: Path, *maps: str, **spec) -> tuple[ImportReport, dict]:
    spec = {"case": "Case ID", "time": "Timestamp", **spec}
    out = src.parent / "folded.parquet"
    options = ImportOptions(mapping=parse_mapping(list(maps)), eventlog=EventLogOptions(**spec))
    report = import_source(src, "eventlog", out, options)
    return report, {t.id: t for t in iter_tickets(out)}


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_events_fold_into_one_ticket_per_case(tmp_path: Path) -> None:
    report, tickets = _fold(
        event_log(tmp_path),
        *MAPS,
        status="Status",
        level="Support level",
        escalated_when="level in L2,L3",
    )
    assert sorted(tickets) == ["C-1", "C-2", "C-3", "C-4"] and report.rows_written == 4
    c1, c2, c3, c4 = (tickets[k] for k in ("C-1", "C-2", "C-3", "C-4"))
    # At open: the first event's time, subject and channel.
    assert (c2.created_at, c2.subject, c2.channel) == (
        _at(2024, 3, 1, 9, 5),
        "Laptop will not boot",
        Channel.phone,
    )
    # Labels from the history: the last team, the opening one kept apart.
    assert (c2.team, c2.extra["open_team"]) == ("Hardware", "Desk")
    assert [t.escalated for t in (c1, c2, c3, c4)] == [False, True, False, False]
    assert c1.resolved_at == _at(2024, 3, 1, 9, 30)
    assert c2.resolved_at == _at(2024, 3, 5, 16, 0)  # closed again after the reopen
    assert (c3.resolved_at, c4.resolved_at) == (None, None)
    assert (c2.extra["reopen_count"], c2.extra["reassignment_count"], c2.extra["event_count"]) == (
        1,
        1,
        5,
    )
    assert (c2.extra["first_level"], c2.extra["last_level"], c2.extra["last_status"]) == (
        "L1",
        "L3",
        "Closed",
    )
    # C-3's events are out of time order in the file: folded by time all the same.
    assert (c3.extra["first_status"], c3.extra["last_status"], c3.team) == (
        "New",
        "In progress",
        "Billing",
    )
    # 'Social media' is kept aside with a warning, never an aborted import.
    assert c3.channel is None and c3.extra["channel"] == "Social media"
    assert any("'Social media' x1" in w for w in report.warnings)
    derivations = "\n".join(report.derivations)
    assert (
        "escalated = some event matches --escalated-when 'level in L2,L3': 1 of 4 cases"
        in derivations
    )
    assert "values of 'Status' that matched: Closed, Resolved" in derivations
    assert "changes of 'Group' between consecutive events: 2 cases reassigned" in derivations
    labels = {c.field: (c.columns, c.how) for c in report.labels}
    assert labels == {"team": (["Group"], "map"), "escalated": (["Support level"], "derived")}


def test_a_mac_zip_of_the_log_reads_the_csv_only(tmp_path: Path) -> None:
    _, tickets = _fold(event_log_zip(tmp_path), *MAPS, status="Status")
    assert len(tickets) == 4


def test_mapping_an_event_log_as_tickets_fails_on_the_first_duplicate(tmp_path: Path) -> None:
    """The issue's 65,533 'tickets': read as a plain CSV, a case id repeats, and that is an
    error naming both rows, not a silent pile of duplicates."""
    src = event_log(tmp_path)
    with pytest.raises(RowError) as err:
        import_source(
            src,
            "csv",
            tmp_path / "o.parquet",
            ImportOptions(mapping=parse_mapping(["id=Case ID", "subject=Status"])),
        )
    assert err.value.row == 3 and err.value.field == "Case ID -> id"
    assert "duplicate id 'C-1': rows 1 and 3" in err.value.reason


def test_without_a_rule_the_level_moving_up_is_escalation(tmp_path: Path) -> None:
    report, tickets = _fold(event_log(tmp_path), *MAPS, level="Support level")
    assert [tickets[k].escalated for k in ("C-1", "C-2", "C-3", "C-4")] == [
        False,
        True,
        False,
        False,
    ]
    assert any(
        "the level ('Support level') moved away from the opening level" in d
        for d in report.derivations
    )
    # No --status: nothing says when a case was resolved.
    assert all(t.resolved_at is None for t in tickets.values())


def test_resolved_when_and_the_users_map_win(tmp_path: Path) -> None:
    report, tickets = _fold(
        event_log(tmp_path),
        *MAPS,
        "escalated=",
        status="Status",
        level="Support level",
        resolved_when="status in Closed",
    )
    assert tickets["C-1"].resolved_at is None  # 'Resolved' is not 'Closed' here
    assert tickets["C-2"].resolved_at == _at(2024, 3, 5, 16, 0)
    assert all(t.escalated is None for t in tickets.values())  # --map escalated= unmaps it
    assert "escalated" not in {c.field for c in report.labels}


def test_bad_event_times_are_row_errors_or_rejects(tmp_path: Path) -> None:
    rows = [EVENT_HEADER, ["C-1", "2024-03-01T09:00:00", "New", "L1", "Desk", "Email", "a"],
            ["C-1", "yesterday", "Closed", "L1", "Desk", "", ""],
            ["", "2024-03-01T10:00:00", "New", "L1", "Desk", "Email", "b"]]  # fmt: skip
    src = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(RowError) as err:
        _fold(src, *MAPS)
    assert (err.value.row, err.value.field) == (
        2,
        "Timestamp",
    ) and "'yesterday'" in err.value.reason
    out = tmp_path / "skip.parquet"
    options = ImportOptions(
        mapping=parse_mapping(MAPS),
        eventlog=EventLogOptions("Case ID", "Timestamp"),
        on_error="skip",
    )
    report = import_source(src, "eventlog", out, options)
    (ticket,) = iter_tickets(out)
    assert ticket.id == "C-1" and ticket.extra["event_count"] == 1
    assert dict(report.rejected) == {"Timestamp": 1, "Case ID": 1}


def test_event_log_needs_its_columns(tmp_path: Path) -> None:
    src = event_log(tmp_path)
    with pytest.raises(InputFileError, match="--case COLUMN --time COLUMN"):
        import_source(src, "eventlog", tmp_path / "o.parquet")
    with pytest.raises(InputFileError, match="no column 'When'"):
        _fold(src, time="When")
    with pytest.raises(InputFileError, match="no column 'tier'"):
        _fold(src, escalated_when="tier = 2")  # neither a role nor a column
    with pytest.raises(InputFileError, match="'level' needs --level"):
        _fold(src, escalated_when="level in L2")


def test_a_grouped_log_is_folded_one_case_at_a_time(tmp_path: Path) -> None:
    """A case is handed on as soon as its last event is read, so a log grouped by case
    never holds more than one case."""
    rows = [EVENT_HEADER] + [
        [f"C-{c}", f"2024-03-0{c}T0{e}:00:00", "New", "L1", "Desk", "", ""]
        for c in range(1, 5)
        for e in range(3)
    ]
    src = write_csv(tmp_path / "grouped.csv", rows)
    read: list[int] = []

    def open_source(on_bad_row):  # type: ignore[no-untyped-def]
        table = open_table(src, on_bad_row=on_bad_row)
        records = table.records

        def tracked():  # type: ignore[no-untyped-def]
            for rec in records:
                read.append(rec.row)
                yield rec

        table.records = tracked()
        return table

    def case(table, rec):  # type: ignore[no-untyped-def]
        return rec.values[0]

    def time(table, rec):  # type: ignore[no-untyped-def]
        return datetime.fromisoformat(rec.values[1])

    report = ImportReport("grouped.csv", "eventlog")
    folded = fold_events(open_source, case, time, report)
    first_case, events = next(folded)
    assert first_case == "C-1" and len(events) == 3
    assert read[-1] == 3  # second pass: only C-1's three rows read so far
    assert [c for c, _ in folded] == ["C-2", "C-3", "C-4"]
