"""The analyst report of a benchmark run: one self-contained HTML file and a markdown summary.

    triage bench report [--results DIR] [--out DIR]

Reads a run folder (default: the newest under `benchmarks/results/`) holding
`accuracy.json` with its `<dataset>.npz` files and/or `latency.json` with `latency.npz`,
and writes into `--out` (default: the same folder):

- `report.html`: the summary table first (per dataset and head: ours, the majority class
  and TF-IDF + LinearSVC, coverage at the target precision, calibration, wall time,
  targets met or missed; the machine, git sha and versions), then per dataset the
  per-class F1 beside the baselines, confusion matrices, precision–coverage curves of the
  abstention thresholds, reliability diagrams, the auto-reply recall@k curve and the
  escalation ROC, then the latency histograms and throughput against concurrency. The
  PNGs are inlined as base64 data URIs: one file to mail or attach, no external assets;
- `summary.md`: the same summary tables in markdown (for a resolve note or a PR);
- `plots/`: the PNGs, for slides.

The evaluation charts are `training.plots.head_plots`, the charts MLflow shows for a
training run. Matplotlib is imported only to draw (the table helpers are light). The page
is the Jinja2 template `templates/report.html.j2`: this module decides what it shows
(tables of cells and their style, plot sections, notes), the template writes the markup
and escapes every value.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.results import (
    ACCURACY_FILE,
    LATENCY_FILE,
    LATENCY_SAMPLES_FILE,
    newest_results,
    read_json,
)
from triage.errors import InputFileError
from triage.files import write_atomically

REPORT_FILE = "report.html"
SUMMARY_FILE = "summary.md"
PLOTS_DIR = "plots"
SVC = "TF-IDF + LinearSVC"

# (key, header) of the summary table, in order; `summary_rows` fills the keys.
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("dataset", "dataset"),
    ("head", "head"),
    ("classes", "classes"),
    ("n_test", "test n"),
    ("split", "split"),
    ("accuracy", "acc"),
    ("macro_f1", "macro-F1"),
    ("majority_accuracy", "maj acc"),
    ("majority_macro_f1", "maj F1"),
    ("svc_accuracy", "svc acc"),
    ("svc_macro_f1", "svc F1"),
    ("f1_vs_svc", "ΔF1 svc"),
    ("coverage", "cov@P"),
    ("precision", "prec@thr"),
    ("ece", "ECE"),
    ("roc_auc", "AUC"),
    ("wall_s", "wall s"),
    ("targets", "targets"),
)
_CAPTIONS = {
    "per_class_f1": "F1 of each class (most frequent first) for our model beside the "
    "majority-class and TF-IDF + LinearSVC baselines, on the same test tickets.",
    "confusion": "Rows are the true class (each row sums to 1), columns the predicted one: "
    "the off-diagonal cells are the confusions. Past 25 classes the rare ones are folded "
    "into (other); labels the training part never saw form their own row.",
    "precision_coverage": "Answering the most confident tickets first: precision of the "
    "answered tickets against the share answered. Red: the target precision; green: the "
    "share the per-class abstention thresholds (fitted on the training part) answer on the "
    "test tickets, and their precision. The rest abstains and goes to a human.",
    "reliability": "Accuracy per bin of top-class confidence: a calibrated head follows the "
    "diagonal. ECE (expected calibration error) in the title, tickets per bin below.",
    "roc": "True-positive against false-positive rate of the escalation risk score over "
    "every threshold; AUC in the legend, the diagonal is chance.",
    "recall_at_k": "How often the right answer is among the k best suggestions of the "
    "auto-reply matcher. Test split: KB articles and past answers of the training part; "
    "KB only: every ticket with a gold KB article against the KB alone.",
    "systems": "Macro-F1 per dataset and head: ours beside both baselines on the same split.",
    "latency_histogram": "Request latency as the client sees it. Left: one client, the "
    "service beside the bare encoder (its floor), measured in alternating rounds. Right: "
    "every level of the concurrency sweep (log scale).",
    "throughput": "Requests per second (bars, left axis) and p50 / p99 latency (lines, right "
    "axis) against the number of concurrent clients, one server worker.",
}
_HEAD_KINDS = (
    ("per_class_f1", "Per-class F1 beside the baselines"),
    ("confusion", "Confusion matrix"),
    ("precision_coverage", "Precision against coverage"),
    ("reliability", "Reliability (calibration)"),
    ("roc", "Escalation ROC"),
)
_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1250px; color: #222; }
h1 { margin-bottom: .2em; } h2 { border-bottom: 2px solid #ddd; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
td.met { background: #e3f6e3; } td.missed { background: #fbe1e1; }
td.better { color: #176317; } td.worse { color: #a12020; }
.note { color: #555; } .warn { color: #8a5a00; }
.plots { display: flex; flex-wrap: wrap; gap: 1.2em; }
section.plot { flex: 1 1 460px; max-width: 100%; }
section.plot img { max-width: 100%; border: 1px solid #eee; }
section.plot h4 { margin: .4em 0 .2em; }
.caption { font-size: 12px; color: #555; margin: 0 0 .4em; }
"""


@dataclass
class Results:
    """A run folder's results: accuracy and/or latency (None when absent)."""

    folder: Path
    accuracy: dict[str, Any] | None
    latency: dict[str, Any] | None


@dataclass
class ReportFiles:
    """What `build_report` wrote from which results, and what it could not draw (with why)."""

    html: Path
    markdown: Path
    plots: dict[str, Path]
    results: Results
    warnings: list[str] = field(default_factory=list)


def load_results(folder: Path | None = None) -> Results:
    """The results of `folder` (default: the newest run), or an error naming what is missing."""
    folder = Path(folder) if folder is not None else newest_results()
    if not folder.is_dir():
        raise InputFileError(f"{folder}: no such results folder")
    accuracy = read_json(folder / ACCURACY_FILE) if (folder / ACCURACY_FILE).is_file() else None
    latency = read_json(folder / LATENCY_FILE) if (folder / LATENCY_FILE).is_file() else None
    if accuracy is None and latency is None:
        raise InputFileError(
            f"{folder}: neither {ACCURACY_FILE} nor {LATENCY_FILE} (run `triage bench accuracy "
            f"--out {folder}` and/or `triage bench latency --out {folder}`)"
        )
    for name, data, key in (
        (ACCURACY_FILE, accuracy, "results"),
        (LATENCY_FILE, latency, "single"),
    ):
        if data is not None and key not in data:
            raise InputFileError(f"{folder / name}: no {key!r}: not a benchmark result")
    return Results(folder=folder, accuracy=accuracy, latency=latency)


def load_predictions(folder: Path, result: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
    """The arrays `triage bench accuracy` saved for one dataset, or None when the file is absent."""
    path = folder / result.get("predictions", f"{result['dataset']}.npz")
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


# -- tables ----------------------------------------------------------------------------


def _targets_cell(result: Mapping[str, Any], owner: str, primary: bool) -> tuple[int, int]:
    """(met, total) of the targets of `owner`; auto-reply targets count on the primary head."""
    mine = [
        t
        for metric, t in result.get("targets", {}).items()
        if metric.split(".")[0] == owner or (primary and metric.startswith("auto_reply."))
    ]
    return sum(bool(t["met"]) for t in mine), len(mine)


def summary_rows(accuracy: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per dataset and reported head, keyed like `SUMMARY_COLUMNS` (raw values)."""
    rows = []
    for result in accuracy.get("results", []):
        for head, h in result["heads"].items():
            ours, maj, svc = h["ours"], h["majority"], h["tfidf_linearsvc"]
            met, total = _targets_cell(result, head, head == result.get("primary_head"))
            delta = None
            if ours.get("macro_f1") is not None and svc.get("macro_f1") is not None:
                delta = ours["macro_f1"] - svc["macro_f1"]
            rows.append(
                {
                    "dataset": result["dataset"],
                    "head": head,
                    "classes": h["classes"],
                    "n_test": h["n_test"],
                    "split": result["split"]["kind"],
                    "accuracy": ours.get("accuracy"),
                    "macro_f1": ours.get("macro_f1"),
                    "majority_accuracy": maj.get("accuracy"),
                    "majority_macro_f1": maj.get("macro_f1"),
                    "svc_accuracy": svc.get("accuracy"),
                    "svc_macro_f1": svc.get("macro_f1"),
                    "f1_vs_svc": delta,
                    "coverage": ours.get("coverage_at_target_precision"),
                    "precision": ours.get("precision_at_threshold"),
                    "ece": ours.get("ece"),
                    "roc_auc": ours.get("roc_auc"),
                    "wall_s": result.get("wall_s"),
                    "targets": (met, total),
                }
            )
    return rows


def format_cell(key: str, value: Any) -> str:
    """How the summary tables print a value (3 decimals; `–` for none)."""
    if key == "targets":
        met, total = value
        return "–" if not total else f"{met}/{total} met"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if key == "f1_vs_svc":
        return f"{value:+.3f}"
    if key == "wall_s":
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def target_rows(accuracy: Mapping[str, Any]) -> list[tuple[str, str, str, str, bool]]:
    """(dataset, metric, value, bound, met) for every target of every dataset."""
    return [
        (r["dataset"], metric, format_cell(metric, t["value"]), t["bound"], bool(t["met"]))
        for r in accuracy.get("results", [])
        for metric, t in r.get("targets", {}).items()
    ]


def auto_reply_rows(accuracy: Mapping[str, Any]) -> list[dict[str, str]]:
    """Per dataset with an auto-reply matcher: recall@1/5/10, coverage and precision when safe."""
    rows = []
    for r in accuracy.get("results", []):
        ar = r.get("auto_reply") or {}
        if "recall_at_1" not in ar and "kb_only" not in ar:
            continue
        kb = ar.get("kb_only") or {}

        def at(curve: Any, k: int) -> float | None:
            return curve[k - 1] if isinstance(curve, list) and len(curve) >= k else None

        rows.append(
            {
                "dataset": r["dataset"],
                "test n": format_cell("n", ar.get("n_eval")),
                "test r@1": format_cell("r", ar.get("recall_at_1")),
                "test r@5": format_cell("r", ar.get("recall_at_5")),
                "test r@10": format_cell("r", at(ar.get("recall_at_k"), 10)),
                "coverage safe": format_cell("r", ar.get("coverage_at_safe_threshold")),
                "precision safe": format_cell("r", ar.get("precision_at_safe_threshold")),
                "KB-only n": format_cell("n", kb.get("n_eval")),
                "KB-only r@1": format_cell("r", kb.get("recall_at_1")),
                "KB-only r@5": format_cell("r", kb.get("recall_at_5")),
                "KB-only r@10": format_cell("r", at(kb.get("recall_at_k"), 10)),
            }
        )
    return rows


def latency_rows(latency: Mapping[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(figure, value, target, met or None) of a latency result, as `latency.py` prints them."""
    single, batch, loaded = latency["single"], latency["batch"], latency["concurrent"]
    service, enc = single["service"], single.get("encoder", {})
    memory, targets = latency["memory_after"], latency["targets"]
    nan = float("nan")
    rows: list[tuple[str, str, str, bool | None]] = [
        (
            "ready after start",
            f"{latency['startup']['ready_s']:.2f} s",
            "≤ 3 s",
            targets.get("ready<=3s"),
        ),
        (
            "bare encoder p50 / p99",
            f"{enc['p50_ms']:.2f} / {enc['p99_ms']:.2f} ms"
            if enc
            else "– (no encoder in the bundle)",
            "floor",
            None,
        ),
        (
            "service c=1 p50 / p99",
            f"{service['p50_ms']:.2f} / {service['p99_ms']:.2f} ms",
            "≤ 10 / ≤ 25 ms",
            targets.get("p50_ms<=10", False) and targets.get("p99_ms<=25", False),
        ),
        ("server-side timing p50", f"{service['server_timing_p50_ms']:.2f} ms", "", None),
        (
            "service p50 / encoder p50",
            format_cell("ratio", latency["p50_over_encoder_p50"]),
            "≤ 1.3",
            targets.get("p50<=1.3x_encoder"),
        ),
        (
            "batch throughput",
            f"{batch['tickets_per_s']:.0f} tickets/s",
            "≥ 150",
            targets.get("batch>=150/s"),
        ),
        (
            f"c={loaded['concurrency']} for {loaded['duration_s']:.0f} s",
            (
                f"{loaded['req_per_s']:.0f} req/s, p50 {loaded.get('p50_ms', nan):.0f} ms, "
                f"p99 {loaded.get('p99_ms', nan):.0f} ms, {loaded['errors']} errors"
            ),
            "0 errors",
            targets.get("concurrent_zero_errors"),
        ),
        (
            "worker RSS (peak)",
            f"{memory['rss_mb']:.0f} MB ({memory['peak_rss_mb']:.0f} MB)",
            "≤ 400 MB",
            targets.get("rss<=400MB"),
        ),
    ]
    paths = latency.get("paths", {})
    for path, values in paths.get("paths", {}).items():
        rows.append(
            (
                f"path {path} ({paths['tickets']} tickets, c=1)",
                f"{values['share']:.1%} of tickets, p50 {values['p50_ms']:.2f} / p99 "
                f"{values['p99_ms']:.2f} ms",
                "",
                None,
            )
        )
    rows.append(
        (
            "issue 17: c=1 p50 / p99, batch",
            f"{service['p50_ms']:.2f} / {service['p99_ms']:.2f} ms, "
            f"{batch['tickets_per_s']:.0f} tickets/s",
            "≤ 6 / ≤ 15 ms, ≥ 300/s",
            None
            if "p50_ms<=6" not in targets
            else bool(targets["p50_ms<=6"] and targets["p99_ms<=15"] and targets["batch>=300/s"]),
        )
    )
    for level in latency.get("sweep", []):
        rows.append(
            (
                f"sweep c={level['concurrency']}",
                (
                    f"{level['req_per_s']:.0f} req/s, p50 {level.get('p50_ms', nan):.1f} ms, "
                    f"p99 {level.get('p99_ms', nan):.1f} ms, {level['errors']} errors"
                ),
                "",
                None,
            )
        )
    return rows


def machine_rows(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Where and with what a result was measured, as (what, value) pairs."""
    m = data.get("machine", {})
    libraries = m.get("libraries") or {}
    load = m.get("load_average")
    # accuracy.json and latency.json name the load at the end differently.
    load_at_end = m.get("load_average_at_end") or m.get("load_avg_at_end")
    dirty = " (uncommitted changes)" if m.get("git_dirty") else ""
    cores = m.get("cores", m.get("cpus", "?"))
    usable = m.get("cores_usable", m.get("affinity", "?"))
    rows = [
        ("git sha", f"{m.get('git_sha') or 'unknown'}{dirty}"),
        ("CPU", f"{m.get('cpu_model', '?')}, {cores} cores ({usable} usable)"),
        ("load average", ", ".join(f"{x:.2f}" for x in load) if load else "–"),
        ("Python", str(m.get("python", "?"))),
        ("libraries", ", ".join(f"{k} {v}" for k, v in libraries.items() if v) or "–"),
    ]
    if load_at_end:
        rows.insert(3, ("load average at end", ", ".join(f"{x:.2f}" for x in load_at_end)))
    return rows


def _md_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    headers = list(headers)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(
    accuracy: Mapping[str, Any] | None, latency: Mapping[str, Any] | None = None
) -> str:
    """The summary tables in markdown: accuracy per dataset/head, targets, auto-reply, latency."""
    parts: list[str] = []
    if accuracy is not None:
        m = accuracy.get("machine", {})
        parts.append(
            f"**Accuracy** (run `{accuracy.get('run')}`, git "
            f"`{(m.get('git_sha') or 'unknown')[:12]}`{' dirty' if m.get('git_dirty') else ''}, "
            f"encoder `{accuracy.get('encoder') or 'none'}`, "
            f"{m.get('cpu_model', '?')}, {m.get('cores', '?')} cores, "
            f"wall {format_cell('wall_s', accuracy.get('wall_s'))} s). Ours beside the majority "
            "class (maj) and TF-IDF + LinearSVC (svc) on the same split; cov@P = coverage at the "
            "target precision, prec@thr = precision of the answered tickets."
        )
        parts.append(
            _md_table(
                (header for _, header in SUMMARY_COLUMNS),
                (
                    [format_cell(key, row[key]) for key, _ in SUMMARY_COLUMNS]
                    for row in summary_rows(accuracy)
                ),
            )
        )
        targets = target_rows(accuracy)
        if targets:
            parts.append("**Targets**")
            parts.append(
                _md_table(
                    ("dataset", "metric", "value", "target", "result"),
                    (
                        (d, metric, v, b, "met" if ok else "MISSED")
                        for d, metric, v, b, ok in targets
                    ),
                )
            )
        replies = auto_reply_rows(accuracy)
        if replies:
            parts.append("**Auto-reply** (recall@k: the right answer among the k best)")
            parts.append(_md_table(replies[0].keys(), (r.values() for r in replies)))
        warned = [
            f"- {r['dataset']}: {w}"
            for r in accuracy.get("results", [])
            for w in r.get("training_warnings", [])
        ]
        if warned:
            parts.append("**Training warnings**\n\n" + "\n".join(warned))
        if accuracy.get("skipped"):
            parts.append("Skipped: " + "; ".join(accuracy["skipped"]))
    if latency is not None:
        m = latency.get("machine", {})
        quick = " — QUICK smoke run, not figures to quote" if latency.get("quick") else ""
        parts.append(
            f"**Latency** (bundle `{latency.get('bundle_version')}`, "
            f"{m.get('cpu_model', '?')}, {m.get('cores', m.get('cpus', '?'))} cores{quick})"
        )
        parts.append(
            _md_table(
                ("figure", "value", "target", "result"),
                (
                    (n, v, t, "–" if ok is None else ("met" if ok else "MISSED"))
                    for n, v, t, ok in latency_rows(latency)
                ),
            )
        )
    return "\n\n".join(parts) + "\n"


# -- plots -----------------------------------------------------------------------------


def systems_chart(rows: list[dict[str, Any]], path: Path) -> Path:
    """Grouped bars: macro-F1 of ours, the majority class and the SVC per dataset and head."""
    from matplotlib.figure import Figure

    from training.plots import save_figure

    # Dataset names are long (endava_all_labels_sample): break them at underscores so that
    # neighbouring labels never overlap.
    labels = [f"{_wrap(r['dataset'])}\n{r['head']}" for r in rows]
    systems = (("ours", "macro_f1"), ("majority", "majority_macro_f1"), (SVC, "svc_macro_f1"))
    x = np.arange(len(rows))
    width = 0.8 / len(systems)
    fig = Figure(figsize=(max(6.0, 1.3 * len(rows) + 2), 4.2))
    ax = fig.add_subplot()
    for i, (name, key) in enumerate(systems):
        values = [np.nan if r[key] is None else r[key] for r in rows]
        bars = ax.bar(x + (i - 1) * width, values, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("macro-F1 (test split)")
    ax.set_ylim(0, 1.08)
    ax.set_title("Ours beside the baselines")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return save_figure(fig, path)


def _wrap(name: str, width: int = 14) -> str:
    """`name` broken into lines of about `width` characters at its underscores."""
    lines, line = [], ""
    for part in name.split("_"):
        piece = part if not line else f"{line}_{part}"
        if line and len(piece) > width:
            lines.append(line + "_")
            line = part
        else:
            line = piece
    return "\n".join([*lines, line])


def latency_histogram(samples: Mapping[str, np.ndarray], path: Path) -> Path:
    """Left: c=1 service vs bare encoder; right: each sweep level (log-scaled latency)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from training.plots import save_figure

    fig = Figure(figsize=(11, 4))
    single, sweep = fig.subplots(1, 2)
    for key, label in (("single_encoder", "bare encoder"), ("single_service", "service (HTTP)")):
        values = samples.get(key)
        if values is not None and len(values):
            single.hist(
                values,
                bins=40,
                alpha=0.6,
                label=f"{label}: p50 {np.percentile(values, 50):.1f}, "
                f"p99 {np.percentile(values, 99):.1f} ms",
            )
    single.set_xlabel("latency (ms)")
    single.set_ylabel("requests")
    single.set_title("One client")
    single.legend(fontsize=8)
    levels = sorted(
        (int(k.removeprefix("sweep_c")), v)
        for k, v in samples.items()
        if k.startswith("sweep_c") and len(v)
    )
    if levels:
        low = max(min(float(v.min()) for _, v in levels), 0.05)
        high = max(float(v.max()) for _, v in levels)
        bins = np.geomspace(low, high * 1.01, 50)
        for level, values in levels:
            sweep.hist(
                values,
                bins=bins,
                histtype="step",
                linewidth=1.5,
                density=True,
                label=f"c={level} (p99 {np.percentile(values, 99):.0f} ms)",
            )
        sweep.set_xscale("log")
        # Plain numbers at 1-2-3-5 steps: the default log labels (2×10¹, 3×10¹...) collide.
        sweep.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
        sweep.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        sweep.xaxis.set_minor_formatter(NullFormatter())
        sweep.legend(fontsize=8)
    sweep.set_xlabel("latency (ms, log scale)")
    sweep.set_ylabel("density")
    sweep.set_title("Concurrency sweep")
    return save_figure(fig, path)


def throughput_chart(sweep: list[Mapping[str, Any]], path: Path) -> Path:
    """Requests per second and p50 / p99 latency against concurrent clients."""
    from matplotlib.figure import Figure

    from training.plots import save_figure

    levels = [s["concurrency"] for s in sweep]
    x = np.arange(len(levels))
    fig = Figure(figsize=(6.5, 4))
    ax = fig.add_subplot()
    rates = [s["req_per_s"] for s in sweep]
    bars = ax.bar(x, rates, color="#9ecae1", label="req/s")
    ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_ylim(0, max(max(rates), 1.0) * 1.3)  # headroom for the legend
    ax.set_xticks(x, [str(c) for c in levels])
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel("requests per second")
    latency = ax.twinx()
    for key, style in (("p50_ms", "-o"), ("p99_ms", "--s")):
        latency.plot(
            x,
            [s.get(key, np.nan) for s in sweep],
            style,
            color="#d62728" if key == "p99_ms" else "#2ca02c",
            label=key.replace("_ms", " latency"),
        )
    latency.set_ylabel("latency (ms)")
    latency.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()
    more = latency.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="upper left")
    ax.set_title("Throughput against concurrency")
    return save_figure(fig, path)


def draw_dataset(
    result: Mapping[str, Any], arrays: Mapping[str, np.ndarray], out_dir: Path
) -> dict[str, Path]:
    """Every plot of one dataset: `HEAD.KIND` (training.plots.head_plots) and `recall_at_k`."""
    from training import plots

    drawn: dict[str, Path] = {}
    target = result.get("target_precision")
    for head, h in result["heads"].items():
        if f"{head}__proba" not in arrays:
            continue
        ours = h["ours"]
        baseline_f1 = {
            "majority": (arrays[f"{head}__majority_f1"], h["majority"]["macro_f1"]),
            SVC: (arrays[f"{head}__svc_f1"], h["tfidf_linearsvc"]["macro_f1"]),
        }
        for kind, path in plots.head_plots(
            head,
            arrays[f"{head}__y_true"],
            arrays[f"{head}__proba"],
            arrays[f"{head}__classes"].tolist(),
            out_dir,
            field=h.get("field"),
            target_precision=target,
            coverage_at_target=ours.get("coverage_at_target_precision"),
            precision_at_threshold=ours.get("precision_at_threshold"),
            baseline_f1=baseline_f1,
            model_label="ours",
        ).items():
            drawn[f"{head}.{kind}"] = path
    ar = result.get("auto_reply") or {}
    curves = {}
    if ar.get("recall_at_k"):
        curves[f"test split ({ar.get('n_eval')} tickets): KB + past answers"] = ar["recall_at_k"]
    if (ar.get("kb_only") or {}).get("recall_at_k"):
        kb = ar["kb_only"]
        curves[f"KB only ({kb.get('n_eval')} tickets with a gold article)"] = kb["recall_at_k"]
    if curves:
        drawn["recall_at_k"] = plots.recall_at_k_chart(
            curves, out_dir / "auto_reply_recall_at_k.png", title="Auto-reply recall@k"
        )
    return drawn


# -- HTML ------------------------------------------------------------------------------
# The page is `templates/report.html.j2`; the functions below turn the results into what
# it shows (tables of cells with their style, plot sections, notes), the template writes
# the markup and escapes every value.


@dataclass(frozen=True)
class Cell:
    """A table cell: its text and its CSS class (`text` aligns left, `met`, `better`, ...)."""

    text: str
    css: str = ""


@dataclass(frozen=True)
class Table:
    """A table the template draws: header cells, rows of cells, the table's CSS class."""

    headers: list[Cell]
    rows: list[list[Cell]]
    css: str = ""


@dataclass(frozen=True)
class Plot:
    """A plot section: anchor id, CSS kind, title, caption and the PNG as a data URI."""

    id: str
    kind: str
    title: str
    caption: str
    src: str


def _table(
    headers: Iterable[str],
    rows: Iterable[Iterable[str]],
    *,
    css: str = "",
    text_columns: int = 1,
    cell_class: Callable[[int, int, str], str] | None = None,
) -> Table:
    """A table: the first `text_columns` align left; `cell_class(row, column, text)` styles."""
    return Table(
        headers=[Cell(h, "text" if i < text_columns else "") for i, h in enumerate(headers)],
        rows=[
            [
                Cell(
                    value,
                    cell_class(r, c, value) if cell_class else ("text" if c < text_columns else ""),
                )
                for c, value in enumerate(row)
            ]
            for r, row in enumerate(rows)
        ],
        css=css,
    )


def _plot(section_id: str, kind: str, title: str, path: Path) -> Plot:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return Plot(
        id=section_id,
        kind=kind.replace("_", "-"),
        title=title,
        caption=_CAPTIONS[kind],
        src=f"data:image/png;base64,{data}",
    )


def _summary_table(rows: list[dict[str, Any]]) -> Table:
    keys = [key for key, _ in SUMMARY_COLUMNS]

    def klass(r: int, c: int, value: str) -> str:
        key, row = keys[c], rows[r]
        if key in ("dataset", "head", "split"):
            return "text"
        if key == "targets" and row["targets"][1]:
            return "met" if row["targets"][0] == row["targets"][1] else "missed"
        if key == "f1_vs_svc" and row["f1_vs_svc"] is not None:
            return "better" if row["f1_vs_svc"] >= 0 else "worse"
        return ""

    return _table(
        (header for _, header in SUMMARY_COLUMNS),
        ([format_cell(key, row[key]) for key in keys] for row in rows),
        css="summary",
        text_columns=2,
        cell_class=klass,
    )


def _honesty_notes(
    accuracy: Mapping[str, Any] | None, latency: Mapping[str, Any] | None
) -> list[str]:
    notes = []
    for name, data in (("accuracy", accuracy), ("latency", latency)):
        if data is None:
            continue
        m = data.get("machine", {})
        if m.get("git_dirty"):
            notes.append(
                f"The {name} run had uncommitted changes in training/, triage/ or "
                "benchmarks/: the git sha alone does not reproduce it."
            )
        load = m.get("load_average") or m.get("load_avg_at_end") or [0]
        cores = m.get("cores_usable") or m.get("affinity") or m.get("cores") or 1
        if load and load[0] > cores:
            notes.append(
                f"The {name} run started at load average {load[0]:.1f} on {cores} usable "
                "cores: other work shared the machine, so timings are noisy."
            )
    if latency is not None and latency.get("quick"):
        notes.append(
            "The latency figures come from a --quick smoke run (seconds per "
            "measurement): not figures to quote."
        )
    return notes


def _summary_view(accuracy: Mapping[str, Any], plots_dir: Path, drawn: dict[str, Path]) -> dict:
    """The accuracy half of the summary section (drawing the systems chart into `drawn`)."""
    rows = summary_rows(accuracy)
    targets = target_rows(accuracy)
    replies = auto_reply_rows(accuracy)
    systems = None
    if rows:
        drawn["systems"] = systems_chart(rows, plots_dir / "systems.png")
        systems = _plot("systems", "systems", "Ours beside the baselines", drawn["systems"])
    first = (accuracy["results"] or [{}])[0]
    return {
        "target_precision": format_cell("p", first.get("target_precision")),
        "table": _summary_table(rows),
        "targets": targets
        and _table(
            ("dataset", "metric", "value", "target", "result"),
            ([d, metric, v, b, "met" if ok else "MISSED"] for d, metric, v, b, ok in targets),
            text_columns=2,
            cell_class=lambda r, c, v: (
                "text" if c < 2 else (("met" if targets[r][4] else "missed") if c == 4 else "")
            ),
        ),
        "auto_reply": replies and _table(replies[0].keys(), (r.values() for r in replies)),
        "skipped": "; ".join(accuracy.get("skipped") or []),
        "systems": systems,
    }


def _latency_table(latency: Mapping[str, Any]) -> Table:
    return _table(
        ("figure", "value", "target", "result"),
        (
            [n, v, t, "–" if ok is None else ("met" if ok else "MISSED")]
            for n, v, t, ok in latency_rows(latency)
        ),
        cell_class=lambda r, c, v: (
            "text" if c == 0 else ({"met": "met", "MISSED": "missed"}.get(v, "") if c == 3 else "")
        ),
    )


def _machine_views(
    accuracy: Mapping[str, Any] | None, latency: Mapping[str, Any] | None
) -> list[dict]:
    return [
        {
            "name": name,
            "table": _table(
                ("what", "value"), machine_rows(data), cell_class=lambda r, c, v: "text"
            ),
            "mlflow": data.get("mlflow"),
        }
        for name, data in (("accuracy", accuracy), ("latency", latency))
        if data is not None
    ]


def _dataset_view(result: Mapping[str, Any], drawn: Mapping[str, Path], has_arrays: bool) -> dict:
    name = result["dataset"]
    split = result["split"]
    config = result.get("config", {})
    wall = {
        k: format_cell("wall_s", result.get(k)) for k in ("wall_s", "import_s", "pipeline_wall_s")
    }
    facts = [
        result.get("label") or "",
        (
            f"{result.get('n_tickets') or '?'} tickets; split {split['kind']} (train "
            f"{split.get('train')}, test {split.get('test')}, seed {split.get('seed')}), the same "
            "for ours and both baselines"
        ),
        (
            f"bundle {result.get('bundle_version')}, encoder "
            f"{result.get('encoder') or 'none (TF-IDF only)'}"
        ),
        (
            f"wall {wall['wall_s']} s (import {wall['import_s']} s, pipeline "
            f"{wall['pipeline_wall_s']} s)"
        ),
        f"source {config.get('source', '?')} ({config.get('format', '?')})",
    ]
    systems = _table(
        ("head", "system", "accuracy", "macro-F1"),
        (
            [
                head,
                system,
                format_cell("x", h[key].get("accuracy")),
                format_cell("x", h[key].get("macro_f1")),
            ]
            for head, h in result["heads"].items()
            for system, key in (
                ("ours", "ours"),
                ("majority class", "majority"),
                (SVC, "tfidf_linearsvc"),
            )
        ),
        text_columns=2,
    )
    heads = [
        (
            head,
            [
                _plot(
                    f"{name}-{head}-{kind.replace('_', '-')}", kind, title, drawn[f"{head}.{kind}"]
                )
                for kind, title in _HEAD_KINDS
                if f"{head}.{kind}" in drawn
            ],
        )
        for head in result["heads"]
    ]
    return {
        "name": name,
        "facts": [f for f in facts if f],
        "note": result.get("note"),
        "systems": systems,
        "missing": None if has_arrays else result.get("predictions"),
        "heads": [(head, plots) for head, plots in heads if plots],
        "auto_reply": _plot(
            f"{name}-auto-reply-recall-at-k",
            "recall_at_k",
            "Auto-reply recall@k",
            drawn["recall_at_k"],
        )
        if "recall_at_k" in drawn
        else None,
    }


def _dataset_views(
    results: Results, plots_dir: Path, drawn: dict[str, Path], warnings: list[str]
) -> list[dict]:
    """Every dataset's section, drawing its plots into `drawn` (missing arrays: a warning)."""
    views = []
    for result in (results.accuracy or {}).get("results", []):
        arrays = load_predictions(results.folder, result)
        if arrays is None:
            warnings.append(
                f"{result['dataset']}: {result.get('predictions')} is missing; "
                "its plots are left out"
            )
            dataset_plots = {}
        else:
            dataset_plots = draw_dataset(result, arrays, plots_dir / result["dataset"])
        drawn.update({f"{result['dataset']}.{k}": p for k, p in dataset_plots.items()})
        views.append(_dataset_view(result, dataset_plots, arrays is not None))
    return views


def _latency_view(
    results: Results, plots_dir: Path, drawn: dict[str, Path], warnings: list[str]
) -> dict | None:
    """The latency section's plots (drawn into `drawn`); None without a latency result."""
    latency = results.latency
    if latency is None:
        return None
    sections = []
    samples_path = results.folder / latency.get("samples", LATENCY_SAMPLES_FILE)
    if samples_path.is_file():
        with np.load(samples_path, allow_pickle=False) as npz:
            samples = {k: npz[k] for k in npz.files}
        drawn["latency_histogram"] = latency_histogram(samples, plots_dir / "latency_histogram.png")
        sections.append(
            _plot(
                "latency-histogram",
                "latency_histogram",
                "Latency histograms",
                drawn["latency_histogram"],
            )
        )
    else:
        warnings.append(f"{samples_path} is missing: no latency histograms")
    if latency.get("sweep"):
        drawn["throughput"] = throughput_chart(latency["sweep"], plots_dir / "throughput.png")
        sections.append(
            _plot("throughput", "throughput", "Throughput against concurrency", drawn["throughput"])
        )
    else:
        warnings.append(
            f"{results.folder / LATENCY_FILE} has no concurrency sweep: no "
            "throughput chart (rerun `triage bench latency`)"
        )
    return {
        "bundle_version": latency.get("bundle_version"),
        "bundle": latency.get("bundle"),
        "threads": latency.get("onnx_threads"),
        "wall_s": latency.get("wall_s"),
        "plots": sections,
    }


def render_html(context: Mapping[str, Any]) -> str:
    """The page `templates/report.html.j2` makes of `context` (every value escaped)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("benchmarks", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2").render(context)


def build_report(folder: Path | None = None, out_dir: Path | None = None) -> ReportFiles:
    """Draw every plot of the run in `folder` and write `report.html` and `summary.md`."""
    from markupsafe import Markup

    results = load_results(folder)
    out_dir = Path(out_dir) if out_dir is not None else results.folder
    plots_dir = out_dir / PLOTS_DIR
    accuracy, latency = results.accuracy, results.latency
    drawn: dict[str, Path] = {}
    warnings: list[str] = []
    runs = ", ".join(
        dict.fromkeys(str(d.get("run") or results.folder.name) for d in (accuracy, latency) if d)
    )
    context = {
        "css": Markup(_CSS),  # our own constant: the one value not escaped
        "runs": runs,
        "folder": str(results.folder),
        "written": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "notes": _honesty_notes(accuracy, latency),
        "accuracy_file": ACCURACY_FILE,
        "latency_file": LATENCY_FILE,
        "summary": _summary_view(accuracy, plots_dir, drawn) if accuracy is not None else None,
        "latency_table": _latency_table(latency) if latency is not None else None,
        "machines": _machine_views(accuracy, latency),
        "datasets": _dataset_views(results, plots_dir, drawn, warnings),
        "latency": _latency_view(results, plots_dir, drawn, warnings),
    }
    html_path = write_atomically(out_dir / REPORT_FILE, render_html(context))
    md_path = write_atomically(
        out_dir / SUMMARY_FILE,
        "# ticket-triage benchmark summary\n\n" + summary_markdown(accuracy, latency),
    )
    return ReportFiles(
        html=html_path, markdown=md_path, plots=drawn, results=results, warnings=warnings
    )


# The cascade may lose this much macro-F1 against the full model (issue 17).
CASCADE_TOLERANCE = 0.003


def cascade_rows(accuracy: Mapping[str, Any]) -> list[tuple[str, str, float, float, float, bool]]:
    """(dataset, head, full macro-F1, cascade macro-F1, cheap share, within tolerance) per
    dataset with a cascade, on the test split."""
    rows = []
    for result in accuracy.get("results", []):
        cascade = result.get("cascade")
        if not cascade:
            continue
        for head, h in cascade["heads"].items():
            full, mixed = h["macro_f1_full"], h["macro_f1_cascade"]
            rows.append(
                (
                    result["dataset"],
                    head,
                    full,
                    mixed,
                    cascade["cheap_share"],
                    mixed >= full - CASCADE_TOLERANCE - 1e-9,
                )
            )
    return rows
