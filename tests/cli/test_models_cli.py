"""`triage models list | promote | rollback` through the real entry point (exit codes included)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from tests.triage.test_registry import write_bundle
from triage.registry import ModelRegistry


@pytest.fixture
def models(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    registry = ModelRegistry(root)
    registry.register(write_bundle(root, "v1", category=0.80, priority=0.55))
    registry.register(write_bundle(root, "v2", category=0.75, priority=0.70))
    registry.register(write_bundle(root, "v3", category=0.795, priority=0.50))
    registry.promote("v1")
    return root


def test_list_shows_versions_scores_and_champion(monkeypatch, capsys, models: Path) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "models", "list", "--models-dir", str(models))
    assert code == 0
    marked = [line for line in out.splitlines() if line.startswith("│ *")]
    assert len(marked) == 1 and "v1" in marked[0] and "category 0.800" in marked[0]
    assert "v2" in out and "v3" in out and "priority 0.700" in out

    code, out, _ = run_cli(
        monkeypatch, capsys, "models", "list", "--json", "--models-dir", str(models)
    )
    rows = {row["version"]: row for row in json.loads(out)}
    assert [v for v, row in rows.items() if row["champion"]] == ["v1"]
    assert rows["v3"]["macro_f1"] == {"category": 0.795, "priority": 0.5}
    assert Path(rows["v2"]["path"]).resolve() == (models / "v2").resolve()


def test_list_of_an_empty_registry_says_so(monkeypatch, capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "models", "list", "--models-dir", str(tmp_path))
    assert code == 0 and "no model versions registered" in err


def test_promote_refused_by_the_gate_exits_2_with_both_numbers(
    monkeypatch, capsys, models: Path
) -> None:
    code, _, err = run_cli(
        monkeypatch, capsys, "models", "promote", "v2", "--models-dir", str(models)
    )
    assert code == 2
    assert (
        "refused to promote v2" in err and "0.7500" in err and "0.8000" in err and "--force" in err
    )
    assert ModelRegistry(models).current() == "v1"

    code, out, _ = run_cli(
        monkeypatch, capsys, "models", "promote", "v2", "--force", "--models-dir", str(models)
    )
    assert code == 0 and "forced" in out
    assert ModelRegistry(models).current() == "v2"


def test_promote_within_a_point_and_rollback(monkeypatch, capsys, models: Path) -> None:
    code, out, _ = run_cli(
        monkeypatch, capsys, "models", "promote", "v3", "--models-dir", str(models)
    )
    assert code == 0 and "promoted v3" in out
    code, out, _ = run_cli(monkeypatch, capsys, "models", "rollback", "--models-dir", str(models))
    assert code == 0 and "v3 -> v1" in out
    assert ModelRegistry(models).current() == "v1"
    code, _, err = run_cli(monkeypatch, capsys, "models", "rollback", "--models-dir", str(models))
    assert code == 2 and "no previous champion" in err


def test_unknown_version_exits_2(monkeypatch, capsys, models: Path) -> None:
    code, _, err = run_cli(
        monkeypatch, capsys, "models", "promote", "v9", "--models-dir", str(models)
    )
    assert code == 2 and "unknown model version or alias 'v9'" in err


def test_list_marks_a_no_signal_head_and_promote_refuses_it(
    monkeypatch, capsys, tmp_path: Path
) -> None:
    from tests.triage.test_gate import bundle

    root = tmp_path / "models"
    ModelRegistry(root).register(bundle(root, "noise", 0.2, no_signal=True))
    code, out, _ = run_cli(monkeypatch, capsys, "models", "list", "--models-dir", str(root))
    assert code == 0 and "category 0.200 (no signal)" in out
    code, _, err = run_cli(monkeypatch, capsys, "models", "promote", "noise", "--models-dir", root)
    assert code == 2 and "no signal" in err
    code, out, _ = run_cli(
        monkeypatch, capsys, "models", "promote", "noise", "--force", "--models-dir", root
    )
    assert code == 0 and "forced" in out
    assert [e["forced"] for e in ModelRegistry(root).audit()] == [False, True]
