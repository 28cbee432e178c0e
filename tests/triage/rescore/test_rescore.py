"""Batch rescoring (`triage.rescore`) on files: results against the predictor, resume, bad input.

The store side (--db, dry run, --apply) is in test_rescore_store.py; the CLI, the
kill-and-resume run and the Ray engine in tests/cli/test_rescore_cli.py.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from triage.contract import Ticket
from triage.dataset import iter_tickets, write_tickets
from triage.errors import RowError
from triage.rescore import FileSource, RescoreOptions, checkpoint_dir_for, diff_path_for, rescore
from triage.rescore.checkpoint import CheckpointError
from triage.rescore.diff import DiffCounter
from triage.rescore.results import head_names, heads_triager, results_table


@pytest.fixture(scope="module")
def tickets(demo_tickets_file: Path) -> list[Ticket]:
    """110 demo tickets, labels kept (the diff's baseline for a file)."""
    return list(iter_tickets(demo_tickets_file))[:110]


@pytest.fixture(scope="module")
def backlog(tickets: list[Ticket], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backlog") / "backlog.parquet"
    write_tickets(path, tickets)
    return path


@pytest.fixture(scope="module")
def expected(demo_bundle: Path, tickets: list[Ticket]) -> pa.Table:
    """What the service's own predictor says for the same tickets, as a results table."""
    from triage.bundle import load_bundle
    from triage.predictor import OnnxTriager

    triager = OnnxTriager(load_bundle(demo_bundle, threads=1))
    return results_table(triager.triage_batch(tickets), head_names(triager.manifest))


def _options(bundle: Path, source: Path, out: Path, **kwargs) -> RescoreOptions:  # type: ignore[no-untyped-def]
    kwargs.setdefault("workers", 1)
    kwargs.setdefault("threads", 1)
    return RescoreOptions(bundle=bundle, source=FileSource(source), out=out, **kwargs)


class _StopAfter:
    """A progress sink that interrupts the run after `chunks` scored chunks (a crash)."""

    def __init__(self, chunks: int) -> None:
        self.left = chunks
        self.scoring = False

    def stage(self, name: str, total: int | None = None, completed: int = 0) -> None:
        self.scoring = name == "scoring"

    def advance(self, steps: int = 1) -> None:
        if self.scoring:
            self.left -= 1
            if self.left == 0:
                raise KeyboardInterrupt


def test_results_are_the_predictors_own_on_a_process_pool(
    demo_bundle: Path, backlog: Path, expected: pa.Table, tmp_path: Path
) -> None:
    out = tmp_path / "results.parquet"
    report = rescore(_options(demo_bundle, backlog, out, workers=2, chunk_rows=32))
    table = pq.read_table(out)
    # Every column, bit for bit: labels, confidences, abstentions, top-k, risk, language.
    assert table.equals(expected)
    assert table.num_rows == report.tickets == report.scored == 110
    for head in head_names(_manifest(demo_bundle)):
        assert {f"{head}_label", f"{head}_confidence", f"{head}_abstained"} <= set(
            table.column_names
        )
    assert {"ticket_id", "escalation_risk", "model_version"} <= set(table.column_names)
    assert set(table.column("model_version").to_pylist()) == {report.model_version}
    assert (report.workers, report.threads) == (2, 1)
    assert not checkpoint_dir_for(out).exists()  # a finished run leaves no checkpoint
    assert json.loads(diff_path_for(out).read_text())["tickets"] == 110


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))


def test_heads_triager_leaves_out_what_a_rescore_does_not_keep(
    demo_bundle: Path, tickets: list[Ticket]
) -> None:
    from triage.bundle import load_bundle
    from triage.predictor import OnnxTriager

    bundle = load_bundle(demo_bundle, threads=1)
    full = OnnxTriager(bundle).triage_batch(tickets[:20])
    heads_only = heads_triager(bundle).triage_batch(tickets[:20])
    assert any(r.explanation.terms or r.explanation.similar_tickets for r in full)
    assert any(r.auto_reply is not None for r in full)
    assert all(not r.explanation.terms and not r.explanation.similar_tickets for r in heads_only)
    assert all(r.auto_reply is None for r in heads_only)
    names = head_names(_manifest(demo_bundle))
    assert results_table(heads_only, names).equals(results_table(full, names))


def test_an_interrupted_run_resumes_with_the_missing_chunks_only(
    demo_bundle: Path, backlog: Path, expected: pa.Table, tmp_path: Path
) -> None:
    out = tmp_path / "results.parquet"
    options = _options(demo_bundle, backlog, out, chunk_rows=25)
    with pytest.raises(KeyboardInterrupt):
        rescore(options, _StopAfter(chunks=2))
    parts = sorted(p.name for p in (checkpoint_dir_for(out) / "parts").iterdir())
    assert parts == ["000000.parquet", "000001.parquet"]
    assert not out.exists()

    report = rescore(options)
    assert (report.resumed_tickets, report.scored, report.tickets) == (50, 60, 110)
    assert any("resumed" in note for note in report.notes)
    assert pq.read_table(out).equals(expected)


def test_a_checkpoint_of_another_input_is_refused(
    demo_bundle: Path, backlog: Path, tickets: list[Ticket], tmp_path: Path
) -> None:
    out = tmp_path / "results.parquet"
    with pytest.raises(KeyboardInterrupt):
        rescore(_options(demo_bundle, backlog, out, chunk_rows=25), _StopAfter(chunks=1))
    other = tmp_path / "other.parquet"
    write_tickets(other, tickets[:30])
    with pytest.raises(CheckpointError, match="another run"):
        rescore(_options(demo_bundle, other, out, chunk_rows=25))


def test_csv_and_jsonl_in_the_contract_score_like_parquet(
    demo_bundle: Path, tickets: list[Ticket], expected: pa.Table, tmp_path: Path
) -> None:
    sample = tickets[:12]
    fields = ["id", "created_at", "channel", "subject", "body", "customer_tier", "tags", "extra"]
    csv_path = tmp_path / "backlog.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(fields)
        for t in sample:
            writer.writerow(
                [
                    t.id,
                    t.created_at.isoformat() if t.created_at else "",
                    t.channel.value,
                    t.subject,
                    t.body,
                    t.customer_tier or "",
                    ";".join(t.tags),
                    json.dumps(t.extra),
                ]
            )
    jsonl_path = tmp_path / "backlog.jsonl"
    jsonl_path.write_text(
        "".join(t.model_dump_json(include=set(fields)) + "\n" for t in sample), encoding="utf-8"
    )
    for path in (csv_path, jsonl_path):
        out = tmp_path / f"{path.suffix[1:]}.parquet"
        rescore(_options(demo_bundle, path, out))
        assert pq.read_table(out).equals(expected.slice(0, 12)), path.name


def test_a_bad_row_names_file_row_and_field_and_scores_nothing(
    demo_bundle: Path, tmp_path: Path
) -> None:
    path = tmp_path / "backlog.csv"
    path.write_text(
        "id,subject,body,channel\n"
        "A-1,Refund,charged twice,email\n"
        "A-2,Printer,does not print,pigeon\n",
        encoding="utf-8",
    )
    out = tmp_path / "results.parquet"
    with pytest.raises(RowError) as caught:
        rescore(_options(demo_bundle, path, out))
    message = str(caught.value)
    assert str(path) in message and "row 2" in message and "'channel'" in message
    assert "pigeon" in message
    assert not out.exists()
    assert not (checkpoint_dir_for(out) / "run.json").exists()


def _with_risk_threshold(bundle: Path, folder: Path, value: float) -> Path:
    """A copy of `bundle` whose escalation head (and its cascade twin) chose `value`."""
    copy = folder / "bundle"
    shutil.copytree(bundle, copy)
    path = copy / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for head in [*manifest["heads"], *(manifest.get("cascade") or {}).get("heads", [])]:
        if head["name"] == "escalation":
            head["risk_threshold"] = {**(head.get("risk_threshold") or {}), "value": value}
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return copy


def test_a_rescore_counts_escalations_at_the_bundles_own_risk_threshold(
    demo_bundle: Path, backlog: Path, expected: pa.Table, tmp_path: Path
) -> None:
    """Unconfigured, a new risk is at risk from the threshold its bundle's training chose,
    as the desk's worker decides (not 0.7); a configured threshold still wins."""
    risks = [r for r in expected.column("escalation_risk").to_pylist() if r is not None]
    chosen = round(sorted(risks)[len(risks) // 2], 6)  # the median: about half flagged

    def flagged(threshold: float) -> int:
        return sum(r >= threshold for r in risks)

    assert chosen != 0.7 and flagged(chosen) != flagged(0.7)
    bundle = _with_risk_threshold(demo_bundle, tmp_path, chosen)
    out = tmp_path / "results.parquet"
    report = rescore(_options(bundle, backlog, out))
    table = pq.read_table(out)
    assert (
        table.column("escalation_risk").to_pylist()
        == expected.column("escalation_risk").to_pylist()
    )
    assert set(table.column("escalation_risk_threshold").to_pylist()) == {chosen}
    risk = report.diff["escalation"]
    assert (risk["threshold"], risk["threshold_source"]) == (chosen, "model's")
    assert risk["at_risk_after"] == flagged(chosen)
    assert risk["thresholds"]["after"] == [{"threshold": chosen, "tickets": len(risks)}]

    configured = rescore(_options(bundle, backlog, tmp_path / "c.parquet", risk_threshold=0.7))
    risk = configured.diff["escalation"]
    assert (risk["threshold"], risk["threshold_source"]) == (0.7, "configured")
    assert risk["at_risk_after"] == flagged(0.7)


def _chunk(**columns: list) -> pa.Table:  # type: ignore[type-arg]
    return pa.table(columns)


def test_diff_counts_changes_per_class_and_new_breach_risks() -> None:
    counter = DiffCounter(["category", "escalation"], threshold=0.7, baseline="test")
    baseline = _chunk(
        baseline_category=["a", "a", "b", None, "b", "a"],
        baseline_risk=[0.1, 0.9, None, None, 0.2, None],
        baseline_at_risk=[None, None, True, None, None, False],
    )
    results = _chunk(
        category_label=["a", "b", "a", "c", None, "b"],
        escalation_risk=[0.8, 0.95, 0.1, 0.75, 0.1, 0.2],
    )
    counter.add(baseline, results)
    report = counter.report()
    category = report["heads"]["category"]
    assert (category["compared"], category["changed"], category["unchanged"]) == (4, 3, 1)
    assert (category["newly_predicted"], category["now_abstains"]) == (1, 1)
    assert category["per_class"]["a"] == {"before": 3, "after": 2, "gained": 1, "lost": 2}
    assert category["per_class"]["b"] == {"before": 2, "after": 2, "gained": 2, "lost": 1}
    assert category["per_class"]["c"] == {"before": 0, "after": 1, "gained": 0, "lost": 0}
    assert category["top_changes"][0] == {"from": "a", "to": "b", "tickets": 2}
    risk = report["escalation"]
    # Ticket 1 (0.1 -> 0.8) and ticket 4 (no baseline -> 0.75) are newly at risk; ticket 3
    # (breached per its label, now 0.1) no longer is; ticket 2 stays at risk.
    assert (risk["at_risk_before"], risk["at_risk_after"]) == (2, 3)
    assert (risk["newly_at_risk"], risk["no_longer_at_risk"]) == (2, 1)
    assert risk["newly_at_risk_by"]["category"] == {"a": 1, "c": 1}


def test_diff_counts_each_risk_at_its_models_threshold_unless_one_is_configured() -> None:
    """The worker's rule (`EscalationPolicy.threshold_for`): unset, a new risk is at risk
    from the new model's threshold and a stored one from the threshold its model chose
    (0.7 for a model without one); a configured threshold wins on both sides."""
    baseline = _chunk(
        baseline_risk=[0.5, 0.5, 0.65, 0.8],
        baseline_risk_threshold=[0.45, None, 0.6, 0.9],
        baseline_at_risk=[None, None, None, None],
    )
    results = _chunk(
        escalation_risk=[0.5, 0.4, 0.3, 0.45],
        escalation_risk_threshold=[0.42, 0.42, 0.42, 0.42],
    )
    counter = DiffCounter(["escalation"], threshold=None, baseline="test")
    counter.add(baseline, results)
    risk = counter.report()["escalation"]
    # Before: 0.5 >= 0.45 and 0.65 >= 0.6 (the stored models'); 0.5 < the default 0.7 and
    # 0.8 < 0.9. After, at the new model's 0.42: 0.5 and 0.45.
    assert (risk["at_risk_before"], risk["at_risk_after"]) == (2, 2)
    assert (risk["newly_at_risk"], risk["no_longer_at_risk"]) == (1, 1)
    assert (risk["threshold"], risk["threshold_source"]) == (0.42, "model's")
    assert risk["thresholds"] == {
        "before": [
            {"threshold": 0.45, "tickets": 1},
            {"threshold": 0.6, "tickets": 1},
            {"threshold": 0.7, "tickets": 1},
            {"threshold": 0.9, "tickets": 1},
        ],
        "after": [{"threshold": 0.42, "tickets": 4}],
    }

    configured = DiffCounter(["escalation"], threshold=0.48, baseline="test")
    configured.add(baseline, results)
    risk = configured.report()["escalation"]
    # 0.48 on both sides: before 0.5, 0.5, 0.65, 0.8; after 0.5 only.
    assert (risk["at_risk_before"], risk["at_risk_after"]) == (4, 1)
    assert (risk["threshold"], risk["threshold_source"]) == (0.48, "configured")

    older = DiffCounter(["escalation"], threshold=None, baseline="test")
    older.add(baseline, _chunk(escalation_risk=[0.75, 0.6, 0.3, 0.45]))  # no thresholds
    risk = older.report()["escalation"]
    assert (risk["at_risk_after"], risk["threshold"], risk["threshold_source"]) == (
        1,
        0.7,
        "default",
    )
