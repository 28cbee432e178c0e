"""`benchmarks.report`: every plot section inline, summary tables equal to the JSON."""

from __future__ import annotations

import base64
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from benchmarks.report import (
    SUMMARY_COLUMNS,
    build_report,
    format_cell,
    load_results,
    machine_rows,
    summary_markdown,
    summary_rows,
)
from benchmarks.results import newest_results
from triage.errors import InputFileError

DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
HEAD_KINDS = ("per-class-f1", "confusion", "precision-coverage", "reliability")


def expected_sections(accuracy: dict) -> list[str]:
    """Every plot section the report must hold for these results (with latency beside them)."""
    ids = ["systems"]
    for result in accuracy["results"]:
        name = result["dataset"]
        for head in result["heads"]:
            ids += [f"{name}-{head}-{kind}" for kind in HEAD_KINDS]
            if head == "escalation":
                ids.append(f"{name}-{head}-roc")
        if (result.get("auto_reply") or {}).get("recall_at_k"):
            ids.append(f"{name}-auto-reply-recall-at-k")
    return ids + ["latency-histogram", "throughput"]


def test_every_plot_section_is_there_with_its_png_inline(report_files, accuracy_run) -> None:
    page = report_files.html.read_text(encoding="utf-8")
    expected = expected_sections(accuracy_run.data)
    # The demo reports category and escalation (ROC) and has a KB (recall@k).
    assert {"demo-escalation-roc", "demo-auto-reply-recall-at-k"} <= set(expected)
    for section in [
        "summary",
        "machine",
        "latency",
        "dataset-demo",
        "dataset-odd_export",
        *expected,
    ]:
        assert f'id="{section}"' in page, section
    images = DATA_URI.findall(page)
    assert len(images) == len(expected) == len(report_files.plots)
    for encoded in images:
        assert base64.b64decode(encoded).startswith(b"\x89PNG\r\n\x1a\n")
    assert report_files.warnings == []


def test_both_runs_say_where_they_ran_with_the_load_before_and_after(
    report_files, accuracy_run, latency_run
) -> None:
    """accuracy.json and latency.json record the machine under different keys for the
    load at the end; the report shows both, and the cores, the same way."""
    for data in (accuracy_run.data, latency_run.data):
        rows = dict(machine_rows(data))
        machine = data["machine"]
        assert rows["git sha"].startswith(machine["git_sha"] or "unknown")
        assert rows["CPU"].startswith(f"{machine['cpu_model']}, {machine['cores']} cores")
        assert rows["load average"] and rows["load average at end"] != "–"
    latency_line = next(
        line
        for line in report_files.markdown.read_text(encoding="utf-8").splitlines()
        if line.startswith("**Latency**")
    )
    assert f"{latency_run.data['machine']['cores']} cores" in latency_line


def test_the_page_is_self_contained(report_files) -> None:
    page = report_files.html.read_text(encoding="utf-8")
    assert "<link" not in page and "<script" not in page
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<style>" in page


def test_the_markdown_summary_equals_the_json(report_files, accuracy_run) -> None:
    text = report_files.markdown.read_text(encoding="utf-8")
    headers = [header for _, header in SUMMARY_COLUMNS]
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    table_start = lines.index("| " + " | ".join(headers) + " |")
    rows = {}
    for line in lines[table_start + 1 :]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != len(headers):
            break
        rows[(cells[0], cells[1])] = dict(zip(headers, cells, strict=True))
    results = accuracy_run.data["results"]
    assert set(rows) == {(r["dataset"], head) for r in results for head in r["heads"]}
    for result in results:
        for head, h in result["heads"].items():
            row = rows[(result["dataset"], head)]
            assert row["acc"] == f"{h['ours']['accuracy']:.3f}"
            assert row["macro-F1"] == f"{h['ours']['macro_f1']:.3f}"
            assert row["maj acc"] == f"{h['majority']['accuracy']:.3f}"
            assert row["maj F1"] == f"{h['majority']['macro_f1']:.3f}"
            assert row["svc acc"] == f"{h['tfidf_linearsvc']['accuracy']:.3f}"
            assert row["svc F1"] == f"{h['tfidf_linearsvc']['macro_f1']:.3f}"
            delta = h["ours"]["macro_f1"] - h["tfidf_linearsvc"]["macro_f1"]
            assert row["ΔF1 svc"] == f"{delta:+.3f}"
            assert row["cov@P"] == f"{h['ours']['coverage_at_target_precision']:.3f}"
            assert row["ECE"] == f"{h['ours']['ece']:.3f}"
            assert row["test n"] == str(h["n_test"])
            assert row["wall s"] == f"{result['wall_s']:.1f}"
    assert rows[("demo", "escalation")]["AUC"] == (
        f"{results[0]['heads']['escalation']['ours']['roc_auc']:.3f}"
    )
    demo_targets = results[0]["targets"]  # category's and the auto-reply's count on category
    met = sum(t["met"] for t in demo_targets.values())
    assert rows[("demo", "category")]["targets"] == f"{met}/{len(demo_targets)} met"
    assert "| demo | category.ece |" in text and "| MISSED |" in text
    assert "**Latency**" in text and "QUICK smoke run" in text and "sweep c=4" in text


def test_the_html_summary_table_shows_the_same_cells(report_files, accuracy_run) -> None:
    page = report_files.html.read_text(encoding="utf-8")
    summary = page[page.index('<table class="summary">') :]
    summary = summary[: summary.index("</table>")]
    for row in summary_rows(accuracy_run.data):
        cells = "".join(
            f'<td class="[^"]*">{re.escape(format_cell(key, row[key]))}</td>'
            for key, _ in SUMMARY_COLUMNS
        )
        assert re.search(cells, summary), (row["dataset"], row["head"])


def test_a_folder_with_accuracy_only_says_latency_is_missing(accuracy_run, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("accuracy.json", "demo.npz"):
        shutil.copy(accuracy_run.path.parent / name, folder / name)
    files = build_report(folder, tmp_path / "out")
    page = files.html.read_text(encoding="utf-8")
    assert files.html.parent == tmp_path / "out" and not (folder / "report.html").exists()
    assert 'id="latency"' in page and "No latency.json in this folder" in page
    assert 'id="latency-histogram"' not in page and 'id="demo-category-confusion"' in page
    # odd_export.npz was not copied: its plots are left out, with a warning, not a crash.
    assert 'id="odd_export-category-confusion"' not in page
    assert any("odd_export.npz is missing" in w for w in files.warnings)


def test_a_folder_with_latency_only(latency_run, tmp_path: Path) -> None:
    for name in ("latency.json", "latency.npz"):
        shutil.copy(latency_run.path.parent / name, tmp_path / name)
    files = build_report(tmp_path)
    page = files.html.read_text(encoding="utf-8")
    assert len(DATA_URI.findall(page)) == 2 and "No accuracy.json in this folder" in page
    assert "**Latency**" in files.markdown.read_text(encoding="utf-8")


def test_a_folder_without_results_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="neither accuracy.json nor latency.json"):
        load_results(tmp_path)
    (tmp_path / "accuracy.json").write_text("{not json")
    with pytest.raises(InputFileError, match="accuracy.json: not valid JSON"):
        load_results(tmp_path)
    with pytest.raises(InputFileError, match="no benchmark results"):
        newest_results(tmp_path / "nothing-here")


def test_the_newest_run_folder_is_the_default(tmp_path: Path) -> None:
    for name, age in (("old", 100), ("new", 10), ("empty", 0)):
        (tmp_path / name).mkdir()
        if name != "empty":
            result = tmp_path / name / "latency.json"
            result.write_text("{}")
            stamp = time.time() - age
            os.utime(result, (stamp, stamp))
    assert newest_results(tmp_path) == tmp_path / "new"


def test_training_warnings_reach_the_run_and_the_summary() -> None:
    """A threshold that missed its precision in training is printed by `triage train`; a
    benchmark run says it too, prefixed with its dataset, and so does the summary."""
    from benchmarks.accuracy import training_warnings

    warning = "team: thresholds fitted for precision 0.90 gave 0.85 on the test split"
    data = {
        "results": [
            {"dataset": "synthetic", "heads": {}, "training_warnings": [warning]},
            {"dataset": "quiet", "heads": {}, "training_warnings": []},
        ]
    }
    assert training_warnings(data) == [f"synthetic: {warning}"]
    text = summary_markdown(data)
    assert "**Training warnings**" in text
    assert f"- synthetic: {warning}" in text
    assert "**Training warnings**" not in summary_markdown({"results": data["results"][1:]})
