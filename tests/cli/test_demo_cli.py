"""`triage data demo` through the real entry point (`main`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from triage.dataset import iter_tickets
from triage.demo import load_roster
from triage_cli.main import main


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(sys, "argv", ["triage", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_demo_writes_three_files_and_a_summary(tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "demo.parquet"
    code, stdout, _ = _run(
        monkeypatch, capsys, "data", "demo", "--out", out, "--tickets", "400", "--seed", "3"
    )
    assert code == 0
    assert "400 tickets" in stdout and "SLA breached" in stdout and "KB articles" in stdout
    assert len(list(iter_tickets(out))) == 400
    assert (tmp_path / "demo.kb.parquet").stat().st_size > 0
    assert load_roster(tmp_path / "demo.agents.json").agents

    code, stdout, _ = _run(
        monkeypatch,
        capsys,
        "data",
        "demo",
        "--out",
        tmp_path / "again.parquet",
        "-n",
        "400",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0
    summary = json.loads(stdout)
    assert summary["tickets"] == 400 and set(summary["languages"]) == {"en", "ru", "pl", "de"}
    assert (tmp_path / "again.parquet").read_bytes() == out.read_bytes()

    code, stdout, _ = _run(monkeypatch, capsys, "data", "stats", out, "--json")
    assert code == 0
    assert json.loads(stdout)["rows"] == 400


def test_demo_refuses_a_non_parquet_name(tmp_path: Path, monkeypatch, capsys) -> None:
    code, _, stderr = _run(
        monkeypatch, capsys, "data", "demo", "--out", tmp_path / "demo.csv", "-n", "10"
    )
    assert code == 2
    assert "NAME.parquet" in stderr
    assert list(tmp_path.iterdir()) == []
