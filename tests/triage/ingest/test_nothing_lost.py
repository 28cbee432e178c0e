"""Nothing lost, nothing silent: blank rows, values outside the channel list, repeated ids,
rejected rows, archives, labels and the split line of the import report."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest

from tests.triage.ingest.exports import write_csv, zendesk_ndjson
from triage.contract import Channel
from triage.dataset import iter_tickets
from triage.errors import RowError
from triage.ingest import ImportOptions, import_source, parse_mapping, rejects_path_for
from triage.splits import plan_split

DAY = 86_400


def _import(src: Path, fmt: str = "csv", *maps: str, **options):  # type: ignore[no-untyped-def]
    out = src.parent / "out.parquet"
    report = import_source(
        src, fmt, out, ImportOptions(mapping=parse_mapping(list(maps)), **options)
    )
    return report, list(iter_tickets(out))


def test_a_blank_row_is_skipped_and_counted(tmp_path: Path) -> None:
    src = write_csv(
        tmp_path / "t.csv",
        [["subject", "body"], ["printer", "jams"], ["", ""], [], ["vpn", "down"], [" ", ""]],
    )
    report, tickets = _import(src)
    assert [t.subject for t in tickets] == ["printer", "vpn"]
    assert report.blank_rows == 3  # ",", an empty line, " ,"
    assert "3 blank rows skipped" in "\n".join(report.lines())


def test_a_channel_outside_the_list_is_kept_in_extra_with_a_warning(tmp_path: Path) -> None:
    src = write_csv(
        tmp_path / "c.csv",
        [
            ["subject", "channel"],
            ["a", "Social media"],
            ["b", "E-mail"],
            ["c", "Social media"],
            ["d", "Fax"],
        ],
    )
    report, tickets = _import(src)
    assert [t.channel for t in tickets] == [None, Channel.email, None, None]
    assert [t.extra.get("channel") for t in tickets] == [
        "Social media",
        None,
        "Social media",
        "Fax",
    ]
    (warning,) = report.warnings
    assert "3 rows" in warning and "'Social media' x2" in warning and "'Fax' x1" in warning


def test_duplicate_ids_fail_naming_the_first_pair_unless_deduped(tmp_path: Path) -> None:
    src = write_csv(
        tmp_path / "d.csv",
        [
            ["id", "subject"],
            ["A", "first"],
            ["B", "other"],
            ["A", "second"],
            ["A", "third"],
            ["B", "again"],
        ],
    )
    with pytest.raises(RowError) as err:
        _import(src)
    assert (err.value.row, err.value.field) == (3, "id")
    assert "duplicate id 'A': rows 1 and 3" in err.value.reason
    assert not (tmp_path / "out.parquet").exists()
    report, tickets = _import(src, dedupe="first")
    assert [(t.id, t.subject) for t in tickets] == [("A", "first"), ("B", "other")]
    assert report.duplicates == 3
    report, tickets = _import(src, dedupe="last")
    assert [(t.id, t.subject) for t in tickets] == [("A", "third"), ("B", "again")]
    assert report.duplicates == 3 and "3 duplicate ids dropped (--dedupe last)" in report.lines()[1]


def test_on_error_skip_writes_the_rejects_and_counts_them(tmp_path: Path) -> None:
    src = write_csv(
        tmp_path / "r.csv",
        [
            ["subject", "created_at", "escalated"],
            ["ok", "2024-01-01", "no"],
            ["bad date", "31/01/2024", "no"],
            ["bad flag", "2024-01-02", "maybe"],
            ["short"],
            ["", "2024-01-03", "yes"],
            ["ok too", "2024-01-04", ""],
        ],
    )
    with pytest.raises(RowError) as err:  # the default stays fail-fast
        _import(src, "csv", "escalated=escalated")
    assert err.value.row == 2
    assert not rejects_path_for(tmp_path / "out.parquet").exists()
    report, tickets = _import(src, "csv", "escalated=escalated", on_error="skip")
    assert [t.subject for t in tickets] == ["ok", "ok too"]
    assert report.rows_rejected == 4 and report.rejects_out == tmp_path / "out.rejects.csv"
    with report.rejects_out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["row"], r["field"]) for r in rows] == [
        ("2", "created_at"),
        ("3", "escalated"),
        ("4", ""),
        ("5", "subject/body"),
    ]
    assert all(r["file"] == str(src) and r["reason"] for r in rows)
    assert "'31/01/2024'" in rows[0]["reason"] and "header has 3" in rows[2]["reason"]
    lines = "\n".join(report.lines())
    assert "4 rows rejected" in lines and "out.rejects.csv" in lines
    # A clean rerun removes the stale rejects file.
    write_csv(src, [["subject"], ["fine"]])
    report, _ = _import(src, on_error="skip")
    assert report.rejects_out is None and not (tmp_path / "out.rejects.csv").exists()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    src = write_csv(
        tmp_path / "x.csv", [["subject", "created_at"], ["a", "2024-01-01"], ["b", "bad"]]
    )
    report = import_source(src, "csv", None, ImportOptions(on_error="skip"), dry_run=True)
    assert report.dry_run and report.rows_written == 1 and report.rows_rejected == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]
    assert report.lines()[1].startswith("would write 1 ticket;")


def test_archives_ignore_macosx_and_dotfiles(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("export/tickets.csv", "subject,category\nvpn,Network\n")
        archive.writestr("__MACOSX/export/._tickets.csv", b"\x00\x05\x16\x07")
        archive.writestr("export/.~lock.tickets.csv#", "lock")
        archive.writestr("export/.hidden.csv", "subject\nnot me\n")
    _, (ticket,) = _import(path, "csv", "category=category")
    assert (ticket.subject, ticket.category) == ("vpn", "Network")


def test_a_label_comes_only_from_a_map_never_from_a_name(tmp_path: Path) -> None:
    """A column called `team` is not a routing label by its name: it is kept as the
    structured field `extra.team`, the report says how to make it the label, and
    `--map team=team` does."""
    src = write_csv(
        tmp_path / "l.csv", [["subject", "team", "Kind"], ["vpn", "Network", "Incident"]]
    )
    report, (ticket,) = _import(src, "csv", "category=Kind")
    assert (ticket.team, ticket.extra["team"], ticket.category) == (None, "Network", "Incident")
    assert {c.field: (c.columns, c.how) for c in report.labels} == {"category": (["Kind"], "map")}
    text = "\n".join(report.lines())
    assert (
        "-> extra.team (same name, not a label; --map team=team to learn it as the team label)"
        in text
    )
    assert "not labels (named like one, never a label by name): 'team' -> extra.team" in text
    report, (ticket,) = _import(src, "csv", "category=Kind", "team=team")
    assert (ticket.team, "team" in ticket.extra) == ("Network", False)
    labels = {c.field: (c.columns, c.how) for c in report.labels}
    assert labels == {"team": (["team"], "map"), "category": (["Kind"], "map")}
    assert "not labels" not in "\n".join(report.lines())
    # Leaving the label out keeps the column as the structured field it was.
    report, (ticket,) = _import(src, "csv", "category=Kind", "team=")
    assert ticket.team is None and ticket.extra["team"] == "Network"


def test_a_file_in_the_common_format_keeps_its_labels_a_plain_parquet_does_not(
    tmp_path: Path,
) -> None:
    """Our own ticket file (the exact ticket schema, as `triage data demo` writes it) is the
    contract: its `team` column is the team label. A Parquet file from elsewhere with a
    column called `team` is a plain table: the column stays `extra.team`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from triage.contract import Ticket
    from triage.dataset import write_tickets

    ours = tmp_path / "ours.parquet"
    write_tickets(
        ours,
        [Ticket(id="t1", subject="vpn down", body="it drops", team="Network", category="IT")],
    )
    report, (ticket,) = _import(ours, "parquet")
    assert (ticket.team, ticket.category, "team" in ticket.extra) == ("Network", "IT", False)
    hows = {c.field: c.how for c in report.labels}
    assert {"team", "category"} <= set(hows)
    assert set(hows.values()) == {"the common format's label field"}

    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"subject": ["vpn down"], "team": ["Network"]}), plain)
    report, (ticket,) = _import(plain, "parquet")
    assert (ticket.team, ticket.extra["team"]) == (None, "Network")
    assert not report.labels


@pytest.mark.parametrize("days", [3, 30])
def test_the_split_line_is_the_trainers_rule(tmp_path: Path, days: int) -> None:
    """A file's own created_at decides the trainer's split: the report says which, by the
    same `plan_split` the trainer calls."""
    stamps = [f"2024-01-{1 + d * days // 10:02d}T00:00:00" for d in range(10)]
    src = write_csv(
        tmp_path / "s.csv",
        [["subject", "created_at"], *([f"t{i}", s] for i, s in enumerate(stamps))],
    )
    report, tickets = _import(src)
    expected = plan_split([t.created_at.timestamp() for t in tickets])
    assert report.split == expected
    assert report.split.kind == ("time" if days == 30 else "stratified")
    assert f"trainer split: {'by time' if days == 30 else 'stratified (not by time)'}" in "\n".join(
        report.lines()
    )


def test_jsonl_with_a_description_column_is_not_silent(tmp_path: Path) -> None:
    """`--format jsonl` maps only same-name columns: a `description` it cannot place is a
    warning with the map that fixes it; nested `via` is the column `via.channel`."""
    src = zendesk_ndjson(tmp_path)
    report, tickets = _import(src, "jsonl")
    assert tickets[0].body == ""
    assert any("'description'" in w and "--map body='description'" in w for w in report.warnings)
    report, tickets = _import(src, "jsonl", "body=description", "channel=via.channel")
    assert tickets[0].body.startswith("My card") and tickets[0].channel == Channel.email
    assert report.warnings == [
        "'via.channel' -> channel: 1 row with a value outside api, chat, email, phone, web "
        "('twitter' x1); kept in extra.channel, channel left empty"
    ]


def test_json_pages_and_bad_lines(tmp_path: Path) -> None:
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"results": [{"id": 1, "subject": "a"}, {"id": 2, "subject": "b"}]}))
    _, tickets = _import(page, "json")
    assert [t.id for t in tickets] == ["1", "2"]
    lines = tmp_path / "l.jsonl"
    lines.write_text('{"subject": "a"}\n{"subject": \n{"subject": "c"}\n', encoding="utf-8")
    with pytest.raises(RowError) as err:
        _import(lines, "jsonl")
    assert err.value.row == 2 and "invalid JSON" in err.value.reason
    report, tickets = _import(lines, "jsonl", on_error="skip")
    assert [t.subject for t in tickets] == ["a", "c"] and report.rows_rejected == 1
