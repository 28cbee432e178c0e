"""Helpers of the CLI tests: `run_cli` runs the real `triage` entry point in-process."""

from __future__ import annotations

import sys

import pytest


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object
) -> tuple[int, str, str]:
    """Run `triage ARGS` through `triage_cli.main.main` (domain errors become exit 2 there);
    returns (exit code, stdout, stderr)."""
    from triage_cli.main import main

    monkeypatch.setenv("COLUMNS", "250")  # keep rich from wrapping the lines tests assert on
    monkeypatch.setattr(sys, "argv", ["triage", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
