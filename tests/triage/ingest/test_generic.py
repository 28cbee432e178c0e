"""The generic importer: mappings, presets, formats, and a clear error for every bad input."""

from __future__ import annotations

import csv
import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from triage.contract import Channel
from triage.dataset import iter_tickets, kb_path_for
from triage.errors import InputFileError, RowError
from triage.ingest import ImportOptions, import_source, parse_mapping


def _csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(rows)
    return path


def _import(path: Path, fmt: str = "csv", **options) -> tuple[Path, list]:
    out = path.with_suffix(".out.parquet")
    import_source(path, fmt, out, ImportOptions(**options))
    return out, list(iter_tickets(out))


def test_columns_named_like_contract_fields_need_no_mapping(tmp_path: Path) -> None:
    src = _csv(
        tmp_path / "desk.csv",
        [
            ["subject", "body", "category", "created_at", "channel", "tags", "escalated", "Region"],
            [
                "VPN down",
                "cannot connect",
                "Network",
                "2024-03-01T10:00:00Z",
                "E-mail",
                "vpn;remote",
                "yes",
                "EU",
            ],
            ["", "printer jam", "", "2024-03-02 11:30:00+01:00", "", "", "", "US"],
        ],
    )
    _, tickets = _import(
        src, mapping={"category": "category", "escalated": "escalated"}
    )  # labels only through a map
    first, second = tickets
    assert first.id == "desk-1" and second.id == "desk-2"
    assert first.created_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert second.created_at == datetime(
        2024, 3, 2, 10, 30, tzinfo=UTC
    )  # +01:00 kept as an instant
    assert (first.channel, first.tags, first.escalated) == (Channel.email, ["vpn", "remote"], True)
    assert (second.subject, second.category, second.channel, second.escalated) == (
        "",
        None,
        None,
        None,
    )
    assert first.extra == {}  # unmapped columns are not imported


def test_mapping_renames_columns_and_fills_extra(tmp_path: Path) -> None:
    src = _csv(
        tmp_path / "x.csv",
        [
            ["Title", "Issue Type", "When", "Region"],
            ["Laptop broken", "Hardware", "01/03/2024", "EU"],
        ],
    )
    mapping = parse_mapping(
        ["subject=Title", "category=Issue Type", "created_at=When", "extra.region=Region"]
    )
    _, (ticket,) = _import(src, mapping=mapping, date_format="%d/%m/%Y")
    assert (ticket.subject, ticket.category, ticket.extra) == (
        "Laptop broken",
        "Hardware",
        {"region": "EU"},
    )
    assert ticket.created_at == datetime(2024, 3, 1, tzinfo=UTC)


def test_unknown_map_target_is_rejected() -> None:
    with pytest.raises(InputFileError, match="'title' is not a ticket field"):
        parse_mapping(["title=Title"])


def test_jsonl_parquet_and_xlsx_read_the_same(tmp_path: Path) -> None:
    rows = [
        {"id": "A-1", "subject": "refund", "body": "money back", "priority": 2},
        {"id": "A-2", "subject": "login", "body": "", "priority": None},
    ]
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for r in rows:
        sheet.append(list(r.values()))
    book.save(tmp_path / "t.xlsx")
    results = [
        _import(tmp_path / name, fmt, mapping={"priority": "priority"})[1]
        for name, fmt in (("t.jsonl", "jsonl"), ("t.parquet", "parquet"), ("t.xlsx", "xlsx"))
    ]
    assert results[0] == results[1] == results[2]
    assert [(t.id, t.priority) for t in results[0]] == [("A-1", "2"), ("A-2", None)]


def test_jsonl_keys_first_seen_on_a_later_line_are_columns(tmp_path: Path) -> None:
    """Exports leave empty fields out: a key missing from the first object still counts."""
    from triage.ingest.tables import open_table
    from triage.rescore import FileSource

    src = tmp_path / "late.jsonl"
    src.write_text(
        '{"id": "J-1", "subject": "refund", "body": "charged twice"}\n'
        "\n"
        '{"id": "J-2", "body": "vpn down", "category": "Network", "priority": "high"}\n'
        '{"id": "J-3", "subject": "printer", "team": "IT"}\n',
        encoding="utf-8",
    )
    with open_table(src) as table:
        assert table.columns == ["id", "subject", "body", "category", "priority", "team"]
        records = list(table)
    assert [(r.row, r.position) for r in records] == [
        (1, "line 1 of the file"),
        (2, "line 3 of the file"),
        (3, "line 4 of the file"),
    ]
    assert records[0].values == ["J-1", "refund", "charged twice", None, None, None]
    assert records[2].values == ["J-3", "printer", None, None, None, "IT"]

    # `triage data import --format jsonl` ...
    labels = {"category": "category", "priority": "priority", "team": "team"}
    _, tickets = _import(src, "jsonl", mapping=labels)
    assert [(t.id, t.category, t.priority, t.team) for t in tickets] == [
        ("J-1", None, None, None),
        ("J-2", "Network", "high", None),
        ("J-3", None, None, "IT"),
    ]
    # ... and `triage rescore --input` (whose baseline is these labels) read them all.
    scored = [(t.id, baseline.labels["team"]) for t, baseline in FileSource(src).tickets()]
    assert scored == [("J-1", None), ("J-2", None), ("J-3", "IT")]


def test_jsonl_bad_line_after_the_first_fails_before_any_row_is_used(tmp_path: Path) -> None:
    from triage.ingest.tables import open_table

    src = tmp_path / "bad.jsonl"
    src.write_text('{"subject": "a"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(RowError) as err:
        open_table(src)
    assert err.value.row == 2 and "line 2" in err.value.reason and "JSON object" in err.value.reason


def test_zendesk_preset(tmp_path: Path) -> None:
    header = [
        "Id",
        "Requester",
        "Assignee",
        "Group",
        "Subject",
        "Description",
        "Tags",
        "Status",
        "Priority",
        "Via",
        "Type",
        "Created at",
        "Solved at",
    ]
    src = _csv(
        tmp_path / "zd.csv",
        [
            header,
            [
                "101",
                "Ann",
                "Bob",
                "Billing",
                "Invoice wrong",
                "double charged",
                "billing refund",
                "solved",
                "high",
                "Web Form",
                "incident",
                "2024-05-01 09:15:00 +0200",
                "",
            ],
        ],
    )
    _, (t,) = _import(src, "zendesk")
    assert (t.id, t.requester, t.assignee, t.team, t.priority, t.category) == (
        "101",
        "Ann",
        "Bob",
        "Billing",
        "high",
        "incident",
    )
    assert (t.channel, t.tags, t.extra) == (
        Channel.web,
        ["billing", "refund"],
        {"status": "solved"},
    )
    assert t.created_at == datetime(2024, 5, 1, 7, 15, tzinfo=UTC)


def test_jira_preset_joins_repeated_label_columns(tmp_path: Path) -> None:
    header = [
        "Summary",
        "Issue key",
        "Issue Type",
        "Status",
        "Priority",
        "Assignee",
        "Reporter",
        "Created",
        "Resolved",
        "Labels",
        "Labels",
        "Component/s",
        "Description",
    ]
    src = _csv(
        tmp_path / "jira.csv",
        [
            header,
            [
                "SSO broken",
                "HELP-7",
                "Incident",
                "Done",
                "High",
                "kim",
                "lee",
                "12/Mar/24 10:15 AM",
                "",
                "sso",
                "login",
                "Identity",
                "cannot sign in",
            ],
        ],
    )
    _, (t,) = _import(src, "jira")
    assert (t.id, t.category, t.team, t.requester, t.tags) == (
        "HELP-7",
        "Incident",
        "Identity",
        "lee",
        ["sso", "login"],
    )
    assert t.created_at == datetime(2024, 3, 12, 10, 15, tzinfo=UTC)


def test_servicenow_preset_and_unmapping_a_preset_column(tmp_path: Path) -> None:
    header = [
        "number",
        "short_description",
        "description",
        "opened_at",
        "contact_type",
        "priority",
        "category",
        "subcategory",
        "assignment_group",
        "assigned_to",
        "caller_id",
        "resolved_at",
        "impact",
    ]
    src = _csv(
        tmp_path / "sn.csv",
        [
            header,
            [
                "INC001",
                "Mail down",
                "",
                "2024-01-05 08:00:00",
                "Carrier pigeon",
                "1 - Critical",
                "Email",
                "Outlook",
                "Messaging",
                "sam",
                "joe",
                "",
                "1",
            ],
        ],
    )
    # A channel outside the contract's list is kept in extra, with a warning.
    out, (t,) = _import(src, "servicenow")
    assert t.channel is None and t.extra["channel"] == "Carrier pigeon"
    _, (t,) = _import(src, "servicenow", mapping=parse_mapping(["channel="]))
    assert (t.id, t.subject, t.team, t.priority, t.channel, t.extra) == (
        "INC001",
        "Mail down",
        "Messaging",
        "1 - Critical",
        None,
        {"impact": "1"},
    )


def test_import_without_a_kb_removes_a_stale_kb_file(tmp_path: Path) -> None:
    src = _csv(tmp_path / "a.csv", [["subject"], ["hello"]])
    out = tmp_path / "out.parquet"
    kb_path_for(out).write_bytes(b"stale")
    report = import_source(src, "csv", out)
    assert not kb_path_for(out).exists() and report.rows_written == 1


# ---- malformed input: every error names the file, the row, the column and the reason,
# ---- and no output file is left behind.


def _fails(src: Path, fmt: str = "csv", **options) -> Exception:
    out = src.parent / "out.parquet"
    with pytest.raises((RowError, InputFileError)) as err:
        import_source(src, fmt, out, ImportOptions(**options))
    assert sorted(p.name for p in src.parent.iterdir() if p.name.startswith(("out", ".out"))) == []
    assert str(src.name) in str(err.value)
    return err.value


def test_missing_required_column(tmp_path: Path) -> None:
    src = _csv(tmp_path / "m.csv", [["Title", "Body"], ["a", "b"]])
    err = _fails(src, mapping=parse_mapping(["subject=Summary"]))
    assert isinstance(err, InputFileError)
    assert "'Summary' is missing" in str(err) and "'Title', 'Body'" in str(err)
    err = _fails(src, "jira")
    assert "'Summary'" in str(err) and "--map subject=COLUMN" in str(err)


def test_no_text_column_at_all(tmp_path: Path) -> None:
    err = _fails(_csv(tmp_path / "n.csv", [["Title"], ["a"]]))
    assert "--map subject=" in str(err)


def test_undecodable_bytes_name_the_line_and_suggest_encoding(tmp_path: Path) -> None:
    src = _csv(
        tmp_path / "e.csv",
        [["subject", "body"], ["ok", "fine"], ["Café", "crème brûlée"]],
        encoding="cp1252",
    )
    err = _fails(src)
    assert "line 3" in str(err) and "--encoding" in str(err)
    _, tickets = _import(src, encoding="cp1252")
    assert tickets[1].subject == "Café"


def test_unknown_encoding(tmp_path: Path) -> None:
    err = _fails(_csv(tmp_path / "u.csv", [["subject"], ["a"]]), encoding="klingon-8")
    assert "unknown encoding 'klingon-8'" in str(err) and "--encoding" in str(err)


def test_bom_is_tolerated(tmp_path: Path) -> None:
    src = _csv(tmp_path / "bom.csv", [["subject", "category"], ["a", "b"]], encoding="utf-8-sig")
    assert _import(src, mapping={"category": "category"})[1][0].category == "b"


def test_empty_text_is_a_row_error(tmp_path: Path) -> None:
    src = _csv(
        tmp_path / "t.csv", [["Title", "Text", "category"], ["a", "b", "x"], ["", "  ", "y"]]
    )
    err = _fails(src, mapping=parse_mapping(["subject=Title", "body=Text"]))
    assert isinstance(err, RowError) and err.row == 2
    assert "empty text" in err.reason and "'Title'" in err.reason and "'Text'" in err.reason


def test_truncated_last_row_unterminated_quote(tmp_path: Path) -> None:
    src = tmp_path / "q.csv"
    src.write_text('subject,body\nfirst,"fine"\nsecond,"cut off in the mid', encoding="utf-8")
    err = _fails(src)
    assert (
        isinstance(err, RowError)
        and err.row == 2
        and "unterminated quote" in err.reason
        and "line 3" in err.reason
    )


def test_truncated_last_row_fewer_fields(tmp_path: Path) -> None:
    src = tmp_path / "f.csv"
    src.write_text("subject,body,category\na,b,c\nd,e\n", encoding="utf-8")
    err = _fails(src)
    assert (
        isinstance(err, RowError) and err.row == 2 and "2 fields but the header has 3" in err.reason
    )


def test_wrong_date_format_names_the_column(tmp_path: Path) -> None:
    src = _csv(
        tmp_path / "d.csv", [["subject", "Opened"], ["a", "2024-01-01"], ["b", "31/01/2024"]]
    )
    err = _fails(src, mapping=parse_mapping(["created_at=Opened"]))
    assert isinstance(err, RowError) and err.row == 2
    assert (
        err.field == "Opened -> created_at"
        and "'31/01/2024'" in err.reason
        and "--date-format" in err.reason
    )
    err = _fails(src, mapping=parse_mapping(["created_at=Opened"]), date_format="%d/%m/%Y")
    assert err.row == 1 and "'2024-01-01'" in err.reason


def test_contract_violation_names_the_source_column(tmp_path: Path) -> None:
    src = _csv(tmp_path / "c.csv", [["subject", "Ref"], ["a", "x" * 201]])
    err = _fails(src, mapping=parse_mapping(["id=Ref"]))
    assert isinstance(err, RowError) and err.field == "Ref -> id" and "at most 200" in err.reason


def test_bad_json_line(tmp_path: Path) -> None:
    src = tmp_path / "j.jsonl"
    src.write_text('{"subject": "a"}\n\n{"subject": \n', encoding="utf-8")
    err = _fails(src, "jsonl")
    assert isinstance(err, RowError) and err.row == 2 and "line 3" in err.reason


@pytest.mark.slow
def test_import_streams_in_constant_memory(tmp_path: Path) -> None:
    """Peak Python allocations stay far below what holding every row would take (~3 KB a
    ticket, 18 MB here): the importer streams in batches of 2,000."""
    rows = 6_000
    src = tmp_path / "big.csv"
    with src.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["subject", "body", "category", "created_at"])
        for i in range(rows):
            writer.writerow(
                [
                    f"printer {i}",
                    f"floor {i % 7} printer fails on page {i}",
                    f"c{i % 5}",
                    "2024-01-02T03:04:05",
                ]
            )
    import_source(
        _csv(tmp_path / "warm.csv", [["subject"], ["x"]]), "csv", tmp_path / "warm.parquet"
    )  # import-time allocations
    tracemalloc.start()
    try:
        report = import_source(src, "csv", tmp_path / "big.parquet")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.rows_written == rows
    assert peak < 8_000_000, f"peak Python allocations {peak / 1e6:.1f} MB for {rows} rows"
