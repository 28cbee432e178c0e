"""`benchmarks.config`: dataset entries, and errors that name the file, entry and field."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.config import DEFAULT_CONFIG, HEADS, DatasetConfigError, load_config, select
from training.pipeline import TEXT_HEADS
from triage.ingest import IMPORTERS
from triage_cli.main import main

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def test_the_shipped_config_covers_the_shared_datasets() -> None:
    specs = load_config(DEFAULT_CONFIG)
    assert {
        "endava_it_tickets",
        "servicenow_assignment",
        "rutube_support_ru",
        "uci_incident_log",
    } <= set(specs)
    for spec in specs.values():
        assert spec.format in IMPORTERS and not IMPORTERS[spec.format].takes_mapping
        assert spec.source == (SHARED / spec.name).resolve()
    assert specs["uci_incident_log"].split.kind == "time"
    assert specs["endava_it_tickets"].targets[0].metric == "category.macro_f1"
    assert specs["endava_it_tickets"].targets[0].minimum == 0.875
    rutube = {t.metric: t.minimum for t in specs["rutube_support_ru"].targets}
    assert rutube["auto_reply.kb_only.recall_at_5"] == 0.8


def test_config_heads_are_the_pipelines() -> None:
    assert set(HEADS) == {*TEXT_HEADS, "escalation"}


def test_an_entry_with_a_column_map_and_nested_extras(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text(
        'data_root = "data"\n'
        "[datasets.desk]\n"
        'source = "export.csv"\nformat = "csv"\nheads = ["team", "priority"]\n'
        'map = { subject = "Title", team = "Group", extra.region = "Region" }\n'
        'split = { kind = "stratified", seed = 3 }\n'
        "targets.team.macro_f1 = 0.4\n"
        "targets.priority.ece = { max = 0.1 }\n"
        "targets.auto_reply.recall_at_1 = { min = 0.2, max = 0.9 }\n"
    )
    spec = load_config(tmp_path / "b.toml")["desk"]
    assert spec.source == tmp_path / "data" / "export.csv"
    assert spec.mapping == {"subject": "Title", "team": "Group", "extra.region": "Region"}
    assert spec.primary_head == "team" and spec.split.seed == 3 and spec.split.test_fraction == 0.2
    bounds = {t.metric: (t.minimum, t.maximum) for t in spec.targets}
    assert bounds == {
        "team.macro_f1": (0.4, None),
        "priority.ece": (None, 0.1),
        "auto_reply.recall_at_1": (0.2, 0.9),
    }
    ece = spec.targets[1]
    assert ece.met(0.05) and not ece.met(0.2) and not ece.met(None)


ENTRY = '[datasets.desk]\nsource = "x.csv"\nformat = "csv"\nheads = ["category"]\n'


@pytest.mark.parametrize(
    ("text", "entry", "field", "reason"),
    [
        (ENTRY + "colour = 1\n", "desk", "colour", "unknown field"),
        (ENTRY.replace('format = "csv"\n', ""), "desk", "format", "missing"),
        (ENTRY.replace('"csv"', '"excel"'), "desk", "format", "unknown format 'excel'"),
        (ENTRY.replace('["category"]', '["topic"]'), "desk", "heads", "unknown head 'topic'"),
        (ENTRY.replace('["category"]', "[]"), "desk", "heads", "non-empty list"),
        (ENTRY + 'split = { kind = "random" }\n', "desk", "split.kind", "'random' is not one of"),
        (ENTRY + "split = { test_fraction = 1.5 }\n", "desk", "split.test_fraction", "between 0"),
        (ENTRY + "split = { seed = -1 }\n", "desk", "split.seed", "non-negative"),
        (ENTRY + 'map = { subjekt = "Title" }\n', "desk", "map.subjekt", "not a ticket field"),
        (ENTRY + "map = { subject = 3 }\n", "desk", "map.subject", "a column name"),
        (
            ENTRY + "targets.team.macro_f1 = 0.5\n",
            "desk",
            "targets.team.macro_f1",
            "neither a reported head",
        ),
        (ENTRY + "targets.category.f2 = 0.5\n", "desk", "targets.category.f2", "unknown metric"),
        (
            ENTRY + 'targets.category.accuracy = "high"\n',
            "desk",
            "targets.category.accuracy",
            "expected a number",
        ),
        (
            ENTRY + "targets.category.ece = { min = 0.5, max = 0.1 }\n",
            "desk",
            "targets.category.ece",
            "above max",
        ),
        (ENTRY + 'kb = "kb.xlsx"\n', "desk", "kb", "Parquet file of KB articles"),
        (
            ENTRY.replace('"x.csv"\nformat = "csv"', '"x"\nformat = "rutube_support_ru"')
            + 'map = { subject = "A" }\n',
            "desk",
            "map",
            "fixed column mapping",
        ),
        (ENTRY.replace("[datasets.desk]", "[datasets.'my desk']"), "my desk", None, "letters"),
        ("[datasets]\n", None, "datasets", "no [datasets.NAME] entries"),
        ("datasets = 3 = 4\n", None, None, "not valid TOML"),
    ],
)
def test_config_errors_name_file_entry_and_field(
    tmp_path: Path, text: str, entry: str | None, field: str | None, reason: str
) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(text)
    with pytest.raises(DatasetConfigError) as caught:
        load_config(path)
    error = caught.value
    assert (error.entry, error.field) == (entry, field)
    assert reason in error.reason
    assert str(error).startswith(str(path))


def test_selecting_an_unknown_entry_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text(ENTRY)
    specs = load_config(tmp_path / "b.toml")
    assert [s.name for s in select(specs, None, tmp_path / "b.toml")] == ["desk"]
    with pytest.raises(
        DatasetConfigError, match="dataset 'helpdesk': no such dataset entry; the file has desk"
    ):
        select(specs, ["helpdesk"], tmp_path / "b.toml")


def test_the_cli_exits_2_with_one_line_naming_file_entry_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(ENTRY + 'split = { kind = "random" }\n')
    monkeypatch.setattr(sys, "argv", ["triage", "bench", "accuracy", "--config", str(path)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    line = " ".join(err.split())  # rich may wrap a long line
    assert f"{path}, dataset 'desk', field 'split.kind': 'random' is not one of" in line
    assert "Traceback" not in err


def test_an_entry_may_name_its_own_encoder(tmp_path: Path) -> None:
    from benchmarks.accuracy import _dataset_encoder

    (tmp_path / "e.toml").write_text(
        "[datasets.ru]\n"
        'source = "ru.csv"\nformat = "csv"\nheads = ["category"]\nencoder = "use-multilingual"\n'
        "[datasets.plain]\n"
        'source = "en.csv"\nformat = "csv"\nheads = ["category"]\n'
        "[datasets.off]\n"
        'source = "x.csv"\nformat = "csv"\nheads = ["category"]\nencoder = "none"\n'
    )
    specs = load_config(tmp_path / "e.toml")
    assert specs["ru"].as_dict()["encoder"] == "use-multilingual"
    # The entry's own encoder wins over the run's default; 'none' turns embeddings off.
    assert _dataset_encoder(specs["ru"], "all-MiniLM-L6-v2") == "use-multilingual"
    assert _dataset_encoder(specs["plain"], "all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert _dataset_encoder(specs["off"], "all-MiniLM-L6-v2") is None
    assert load_config(DEFAULT_CONFIG)["rutube_support_ru"].encoder == "use-multilingual"
