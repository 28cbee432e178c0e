"""`triage data import` and `triage data stats` through the real entry point (`main`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli


def _csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_import_then_stats(tmp_path: Path, monkeypatch, capsys) -> None:
    src = _csv(
        tmp_path / "desk.csv",
        [
            ["Title", "Text", "Queue", "Type", "Opened", "language"],
            ["VPN down", "cannot connect", "Network", "Incident", "05/01/2024 10:00", "en"],
            ["vpn  DOWN", "Cannot connect", "Desktop", "Incident", "07/01/2024 09:30", "en"],
            ["Drucker", "druckt nicht", "Desktop", "Request", "06/01/2024 08:00", "de"],
            ["printer", "no paper", "Desktop", "Request", "", ""],
        ],
    )
    out = tmp_path / "desk.parquet"
    code, stdout, stderr = run_cli(
        monkeypatch,
        capsys,
        "data",
        "import",
        src,
        "--format",
        "csv",
        "--out",
        out,
        "--map",
        "subject=Title",
        "--map",
        "body=Text",
        "--map",
        "team=Queue",
        "--map",
        "category=Type",
        "--map",
        "created_at=Opened",
        "--date-format",
        "%d/%m/%Y %H:%M",
    )
    assert code == 0, stderr
    assert "wrote 4 tickets" in stdout and "dropped 0 rows" in stdout and out.exists()

    code, stdout, stderr = run_cli(monkeypatch, capsys, "data", "stats", out, "--json")
    assert code == 0, stderr
    stats = json.loads(stdout)
    assert stats["rows"] == 4
    assert stats["labels"]["team"]["top"][0] == {"value": "Desktop", "count": 3}
    assert stats["labels"]["category"]["distinct"] == 2
    # Rows 1 and 2 are the same text up to case and spacing, routed to different teams.
    assert stats["duplicates"] == {
        "duplicated_texts": 1,
        "duplicate_rows": 1,
        "conflicting_category": 0,
        "conflicting_team": 1,
        "rows_without_text": 0,
    }
    assert stats["languages"]["counts"]["en"] >= 2 and stats["languages"]["counts"]["de"] == 1
    assert stats["languages"]["from_column"] == 3
    assert stats["created_at"] == {
        "min": "2024-01-05T10:00:00+00:00",
        "max": "2024-01-07T09:30:00+00:00",
        "missing": 1,
    }

    code, stdout, _ = run_cli(monkeypatch, capsys, "data", "stats", out)
    assert (
        code == 0
        and "4 rows" in stdout
        and "Desktop" in stdout
        and "1 with conflicting teams" in stdout
    )


@pytest.mark.parametrize(
    ("rows", "args", "expected"),
    [
        pytest.param(
            [["Title", "Body"], ["a", "b"]],
            ["--map", "subject=Summary"],
            ["'Summary' is missing", "'Title', 'Body'"],
            id="missing-column",
        ),
        pytest.param(
            [["subject", "body", "category"], ["a", "b", "x"], ["", " ", "y"]],
            [],
            ["row 2", "subject/body", "empty text"],
            id="empty-text",
        ),
        pytest.param(
            [["subject", "Opened"], ["a", "2024-13-45"]],
            ["--map", "created_at=Opened"],
            ["row 1", "Opened -> created_at", "'2024-13-45'", "--date-format"],
            id="wrong-date",
        ),
        pytest.param(
            [["subject", "body"], ["a"]],
            [],
            ["row 1", "1 fields but the header has 2"],
            id="short-row",
        ),
        pytest.param(
            [["subject"], ["a"]],
            ["--encoding", "nope-1"],
            ["unknown encoding 'nope-1'"],
            id="unknown-encoding",
        ),
    ],
)
def test_import_errors_exit_2_and_leave_no_file(
    tmp_path: Path, monkeypatch, capsys, rows, args, expected
) -> None:
    src = _csv(tmp_path / "bad.csv", rows)
    out = tmp_path / "out.parquet"
    code, _, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "csv", "-o", out, *args
    )
    assert code == 2
    message = " ".join(stderr.split())
    assert "bad.csv" in message
    for part in expected:
        assert part in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_undecodable_file_exits_2_naming_the_line(tmp_path: Path, monkeypatch, capsys) -> None:
    src = tmp_path / "latin.csv"
    src.write_bytes("subject\nok\nna\xefve\n".encode("latin-1"))
    code, _, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "csv", "-o", tmp_path / "o.parquet"
    )
    message = " ".join(stderr.split())
    assert code == 2 and "latin.csv: line 3" in message and "--encoding" in message
    assert not (tmp_path / "o.parquet").exists()
    code, stdout, _ = run_cli(
        monkeypatch,
        capsys,
        "data",
        "import",
        src,
        "-f",
        "csv",
        "-o",
        tmp_path / "o.parquet",
        "--encoding",
        "latin-1",
    )
    assert code == 0 and "wrote 2 tickets" in stdout


def test_unknown_format_and_missing_stats_file(tmp_path: Path, monkeypatch, capsys) -> None:
    src = _csv(tmp_path / "a.csv", [["subject"], ["a"]])
    code, _, stderr = run_cli(
        monkeypatch, capsys, "data", "import", src, "-f", "helpscout", "-o", tmp_path / "o.parquet"
    )
    assert code == 2 and "unknown format 'helpscout'" in stderr and "zendesk" in stderr
    code, _, stderr = run_cli(
        monkeypatch,
        capsys,
        "data",
        "import",
        src,
        "-f",
        "uci_incident_log",
        "-o",
        tmp_path / "o.parquet",
        "--map",
        "subject=x",
    )
    assert code == 2 and "fixed column mapping" in stderr
    code, _, stderr = run_cli(monkeypatch, capsys, "data", "stats", tmp_path / "none.parquet")
    assert code == 2 and "none.parquet: no such file" in stderr


@pytest.mark.shared_data
def test_import_reports_dropped_rows_and_kb_articles(
    shared_datasets: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    code, stdout, stderr = run_cli(
        monkeypatch,
        capsys,
        "data",
        "import",
        shared_datasets / "synthetic_multilingual",
        "--format",
        "synthetic_multilingual",
        "--out",
        tmp_path / "syn.parquet",
    )
    assert code == 0, stderr
    assert (
        "wrote 3,348 tickets" in stdout
        and "dropped 2 rows" in stdout
        and "truncated last record" in stdout
    )
    code, stdout, stderr = run_cli(
        monkeypatch,
        capsys,
        "data",
        "import",
        shared_datasets / "rutube_support_ru",
        "--format",
        "rutube_support_ru",
        "--out",
        tmp_path / "ru.parquet",
    )
    assert code == 0, stderr
    assert "wrote 801 tickets" in stdout and "wrote 326 KB articles" in stdout
    assert (tmp_path / "ru.kb.parquet").exists()
