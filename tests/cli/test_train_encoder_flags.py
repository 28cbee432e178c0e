"""`triage train --finetune / --max-tokens`: a bad value is exit 2 naming the flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_cli


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--finetune", "always", "one of auto, on, off"),
        ("--max-tokens", "4", "8 or more"),
        ("--max-tokens", "long", "auto or a number"),
    ],
)
def test_a_bad_encoder_flag_is_refused_naming_it(
    tmp_path: Path, monkeypatch, capsys, flag: str, value: str, says: str
) -> None:
    data = tmp_path / "missing.parquet"
    code, _, err = run_cli(
        monkeypatch, capsys, "train", "--data", data, "--out", tmp_path / "m", flag, value
    )
    assert code == 2
    assert flag in err and says in err
