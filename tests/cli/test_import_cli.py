"""`triage data import` through the real entry point: the report, --dry-run, presets,
event logs, --on-error skip, and one line naming file, row, field and reason on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from tests.triage.ingest.exports import event_log, jira_cloud_es, write_csv


@pytest.mark.shared_data
def test_the_shared_jira_export_through_the_cli(
    shared_datasets: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    src = shared_datasets / "real_exports" / "jira_server_all_fields.csv"
    out = tmp_path / "jira.parquet"
    code, stdout, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "jira", "-o", out
    )
    assert code == 0, stderr
    assert f"wrote 1 ticket to {out}" in stdout
    assert (
        "wrote 1 ticket; 739 blank rows skipped; dropped 0 rows (documented quirks); "
        "0 rows rejected" in stdout
    )
    assert "'Comment' x13 -> first_response_at (derived" in stdout
    assert (
        "labels: category <- 'Issue Type' (preset), priority <- 'Priority' (preset), "
        "assignee <- 'Assignee' (preset); leave one out with --map FIELD=" in stdout
    )


def test_dry_run_prints_the_report_and_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    src = jira_cloud_es(tmp_path)
    code, stdout, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "jira", "--dry-run"
    )
    assert code == 0, stderr
    assert "dry run: would write 3 tickets; nothing was written" in stdout
    assert "(Jira CSV export, headers in Spanish)" in stdout
    assert "'Resumen'             -> subject (preset)" in stdout
    assert "'Creada'              -> created_at (preset; dates: dd/MMM/yy h:mm a)" in stdout
    assert (
        "time range: 2024-01-03T09:15+00:00 .. 2024-08-28T11:05+00:00 (3 of 3 with created_at)"
        in stdout
    )
    assert "trainer split: by time: auto: 100% of 3 tickets have a timestamp" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jira_cloud_es.csv"]
    code, stdout, _ = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "jira", "--dry-run", "--json"
    )
    report = json.loads(stdout)
    assert report["rows_written"] == 3 and report["labels"] == [
        "category",
        "priority",
        "team",
        "assignee",
    ]
    code, _, stderr = run_cli(monkeypatch, capsys, "data", "import", src, "-f", "jira")
    assert code == 2 and "--out is required unless --dry-run" in stderr


def test_event_log_through_the_cli(tmp_path: Path, monkeypatch, capsys) -> None:
    src = event_log(tmp_path)
    out = tmp_path / "cases.parquet"
    args = [
        "--case",
        "Case ID",
        "--time",
        "Timestamp",
        "--status",
        "Status",
        "--level",
        "Support level",
    ]
    code, stdout, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "eventlog", "-o", out, *args,
        "--escalated-when", "level in L2,L3", "--map", "team=Group", "--map", "subject=Subject",
    )  # fmt: skip
    assert code == 0, stderr
    assert "wrote 4 tickets" in stdout
    assert (
        "derived: escalated = some event matches --escalated-when 'level in L2,L3': 1 of 4 cases"
        in stdout
    )
    assert "'Case ID'       -> id (--case; one ticket per case)" in stdout
    code, _, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "eventlog", "-o", out, "--case", "Case ID"
    )
    assert code == 2 and "needs both --case and --time" in " ".join(stderr.split())
    code, _, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "csv", "-o", out, *args
    )
    assert code == 2 and "apply to --format eventlog only" in stderr


def test_on_error_skip_prints_counts_and_keeps_personal_data_out(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    src = write_csv(
        tmp_path / "desk.csv",
        [
            ["subject", "body", "created_at"],
            ["Reset please", "mail me at jane.doe@example.com", "2024-01-05"],
            ["Invoice", "my IBAN is DE89370400440532013000", "05/01/2024"],
        ],
    )
    out = tmp_path / "desk.parquet"
    code, stdout, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "csv", "-o", out
    )
    assert code == 2 and stdout == ""
    line = " ".join(stderr.split())
    assert f"{src}, row 2, field 'created_at'" in line and "'05/01/2024'" in line
    assert "IBAN" not in stderr and "jane.doe" not in stderr and not out.exists()
    code, stdout, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "csv", "-o", out, "--on-error", "skip"
    )
    assert code == 0, stderr
    assert (
        "wrote 1 ticket; 0 blank rows skipped; dropped 0 rows (documented quirks); 1 row rejected"
        in stdout
    )
    assert f"rejected rows by field: 1 x created_at -> {tmp_path / 'desk.rejects.csv'}" in stdout
    assert "IBAN" not in stdout + stderr and "jane.doe" not in stdout + stderr
    rejects = (tmp_path / "desk.rejects.csv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == "file,row,field,reason" and rejects[1].startswith(f"{src},2,created_at,")
    code, _, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "csv", "-o", out, "--dedupe", "middle"
    )
    assert code == 2 and "expected one of first, last" in " ".join(stderr.split())


def test_a_label_needs_a_map(tmp_path: Path, monkeypatch, capsys) -> None:
    src = write_csv(tmp_path / "t.csv", [["subject", "team"], ["vpn", "Network"]])
    code, stdout, _ = run_cli(monkeypatch, capsys, "data", "import", src, "-f", "csv", "--dry-run")
    assert code == 0 and "labels: none" in stdout
    assert "not labels (named like one, never a label by name): 'team' -> extra.team" in stdout
    code, stdout, _ = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "csv", "--dry-run", "--map", "team=team"
    )
    assert code == 0
    assert "labels: team <- 'team' (map); leave one out with --map FIELD=" in stdout
    assert "time range: no created_at" in stdout
    assert "auto: 0% of 1 tickets have a timestamp" in stdout


def test_train_says_where_the_labels_came_from(tmp_path: Path, monkeypatch, capsys) -> None:
    from triage_cli.train import label_source_lines

    src = write_csv(
        tmp_path / "t.csv", [["subject", "team", "Kind"], ["vpn", "Network", "Incident"]]
    )
    out = tmp_path / "t.parquet"
    args = ("data", "import", src, "-f", "csv", "-o", out, "--map", "category=Kind")
    assert run_cli(monkeypatch, capsys, *args)[0] == 0
    assert label_source_lines(out) == [
        "label columns (as imported, csv): category <- 'Kind' (map)",
        "named like labels but not labels (never by name): extra.team (column 'team'); "
        "import with --map FIELD=COLUMN to learn one",
    ]
    assert label_source_lines(tmp_path / "missing.parquet") == []
