"""Accuracy of the real training pipeline on the shared datasets, beside both baselines.

    .venv/bin/python benchmarks/accuracy.py [--datasets endava_it_tickets,servicenow_assignment,...]
        [--run NAME] [--encoder all-MiniLM-L6-v2|none] [--work-dir DIR]

For each dataset: import it from ../shared/datasets with its importer (`triage data
import`), run `training.pipeline.train` (the code `triage train` runs: same 80/20
stratified split, seed 42, text = subject + body; time-ordered split where tickets carry
timestamps) into a scratch bundle, and record the benchmark head's figures (ours, the
majority class and TF-IDF + LinearSVC on the same split), coverage at precision 0.90,
the auto-reply figures where the data has a KB, the pipeline's stage timings and its wall
time. Targets are those of issue 3. Writes benchmarks/results/<run>/accuracy.json and
prints a table. Datasets whose folder is absent are skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "datasets"

# dataset → (benchmark head, what the head is, targets: metric → minimum)
DATASETS: dict[str, dict] = {
    "endava_it_tickets": {
        "head": "category", "label": "topic (Topic_group)",
        "targets": {"macro_f1": 0.875},
    },
    "servicenow_assignment": {
        "head": "team", "label": "assignment group",
        "targets": {"accuracy": 0.75, "macro_f1": 0.50, "coverage_at_target_precision": 0.60},
    },
    "rutube_support_ru": {
        "head": "category", "label": "level-1 category",
        "targets": {"macro_f1": 0.76},
        "auto_reply_targets": {"kb_only.recall_at_1": 0.50, "kb_only.recall_at_5": 0.80,
                               "precision_at_safe_threshold": 0.90},
    },
    "uci_incident_log": {
        "head": "escalation", "label": "sla_breached (= not made_sla), fields known at open",
        "targets": {"roc_auc": 0.80},
    },
}


def machine_info() -> dict:
    """Cores, CPU model, Python and library versions, git sha."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for lib in ("numpy", "scipy", "scikit-learn", "onnxruntime", "skl2onnx", "onnx", "tokenizers",
                "pandas", "pyarrow"):
        try:
            from importlib.metadata import version

            versions[lib] = version(lib)
        except Exception:  # noqa: BLE001 - a missing library is recorded as such
            versions[lib] = None
    sha = subprocess.run(["git", "rev-parse", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "training", "triage", "benchmarks"], check=False,
                                cwd=ROOT, capture_output=True, text=True).stdout.strip())
    return {
        "git_sha": sha or None, "git_dirty": dirty, "cpu_model": cpu, "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()), "python": platform.python_version(),
        "platform": platform.platform(), "libraries": versions,
    }


def import_dataset(name: str, into: Path) -> Path:
    """The dataset in the common Parquet format (imported once per work dir)."""
    out = into / f"{name}.parquet"
    if not out.exists():
        subprocess.run(
            [sys.executable, "-m", "triage_cli.main", "data", "import", str(SHARED / name),
             "--format", name, "--out", str(out)],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
    return out


def _get(d: dict | None, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


def run_one(name: str, spec: dict, work: Path, encoder: str | None, cache_dir: Path) -> dict:
    """Import, train with the real pipeline and collect the benchmark figures."""
    from training.pipeline import TrainConfig, train

    t0 = time.perf_counter()
    data = import_dataset(name, work)
    t_import = time.perf_counter() - t0
    config = TrainConfig(encoder=encoder, embedding_cache_dir=cache_dir, bundle_name=name)
    t0 = time.perf_counter()
    report = train(data, work / f"bundle-{name}", config)
    wall = time.perf_counter() - t0
    head = report.heads[spec["head"]]
    m, b = head.metrics, head.baselines
    ours = {k: m.get(k) for k in ("accuracy", "macro_f1", "coverage_at_target_precision",
                                  "precision_at_threshold", "ece", "brier", "roc_auc", "temperature")}
    result = {
        "dataset": name, "head": spec["head"], "label": spec["label"], "classes": len(head.classes),
        "split": report.split, "n_train": head.n_train, "n_test": head.n_test,
        "ours": ours,
        "majority": b["majority"], "tfidf_linearsvc": b["tfidf_linearsvc"],
        "coverage_at_precision_0.90_all_heads": {
            h: r.metrics.get("coverage_at_target_precision") for h, r in report.heads.items()
        },
        "other_heads": {
            h: {k: r.metrics.get(k) for k in ("accuracy", "macro_f1", "roc_auc")}
            for h, r in report.heads.items() if h != spec["head"]
        },
        "auto_reply": report.auto_reply,
        "timings_s": report.timings, "pipeline_wall_s": round(wall, 1), "import_s": round(t_import, 1),
        "encoder": encoder,
    }
    checks = {}
    for key, minimum in spec["targets"].items():
        value = ours.get(key)
        checks[key] = {"target": minimum, "value": value, "met": value is not None and value >= minimum}
    for key, minimum in spec.get("auto_reply_targets", {}).items():
        value = _get(report.auto_reply, key)
        checks[f"auto_reply.{key}"] = {"target": minimum, "value": value,
                                       "met": value is not None and value >= minimum}
    result["targets"] = checks
    return result


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def print_table(results: list[dict]) -> None:
    """One line per dataset; then every target with met / missed; then auto-reply."""
    print(f"{'dataset':<24}{'head':<11}{'acc':>7}{'F1':>7}{'AUC':>7}{'cov@.9':>8}"
          f"{'maj acc':>8}{'svc acc':>8}{'svc F1':>7}{'wall s':>8}")
    for r in results:
        o, s = r["ours"], r["tfidf_linearsvc"]
        print(f"{r['dataset']:<24}{r['head']:<11}{_f(o['accuracy']):>7}{_f(o['macro_f1']):>7}"
              f"{_f(o['roc_auc']):>7}{_f(o['coverage_at_target_precision']):>8}"
              f"{_f(r['majority']['accuracy']):>8}{_f(s.get('accuracy')):>8}{_f(s.get('macro_f1')):>7}"
              f"{r['pipeline_wall_s']:>8.1f}")
    print()
    for r in results:
        for key, c in r["targets"].items():
            print(f"  {r['dataset']:<24}{key:<40}{_f(c['value']):>7} (target {c['target']:.2f}) "
                  f"{'met' if c['met'] else 'MISSED'}")
        ar = r.get("auto_reply")
        if ar and "recall_at_1" in ar:
            print(f"  {r['dataset']:<24}auto-reply with training cases, test split: recall@1 "
                  f"{_f(ar.get('recall_at_1'))} @5 {_f(ar.get('recall_at_5'))}, coverage "
                  f"{_f(ar.get('coverage_at_safe_threshold'))} at precision "
                  f"{_f(ar.get('precision_at_safe_threshold'))}")
        if ar and "kb_only" in ar:
            kb = ar["kb_only"]
            print(f"  {r['dataset']:<24}auto-reply KB only, {kb['n_eval']} questions: coverage "
                  f"{_f(kb.get('coverage_at_safe_threshold'))} at precision "
                  f"{_f(kb.get('precision_at_safe_threshold'))}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run each dataset, write the JSON and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help="comma-separated subset of: " + ", ".join(DATASETS))
    parser.add_argument("--run", default=None, help="results folder name (default: accuracy-<timestamp>)")
    parser.add_argument("--encoder", default=None, help="encoder name or 'none' (default: settings.encoder)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where imported data and scratch bundles go (default: a temporary folder)")
    args = parser.parse_args(argv)

    from triage.settings import get_settings

    settings = get_settings()
    encoder = args.encoder if args.encoder is not None else settings.encoder
    encoder = None if encoder.lower() == "none" else encoder
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s): {', '.join(unknown)}")
    run = args.run or f"accuracy-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    out_dir = ROOT / "benchmarks" / "results" / run
    out_dir.mkdir(parents=True, exist_ok=True)
    info = machine_info()

    results, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="triage-accuracy-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name in names:
            if not (SHARED / name).is_dir():
                msg = f"{name}: skipped, {SHARED / name} is absent"
                print(msg, file=sys.stderr)
                skipped.append(msg)
                continue
            print(f"{name}: training ...", file=sys.stderr, flush=True)
            result = run_one(name, DATASETS[name], work, encoder, Path(settings.embedding_cache_dir))
            results.append(result)
            print(f"{name}: done in {result['pipeline_wall_s']} s", file=sys.stderr, flush=True)
            # Written after each dataset so a long run keeps what it measured.
            (out_dir / "accuracy.json").write_text(json.dumps(
                {"run": run, "machine": info, "results": results, "skipped": skipped},
                indent=2, default=str) + "\n")
    (out_dir / "accuracy.json").write_text(json.dumps(
        {"run": run, "machine": info, "results": results, "skipped": skipped}, indent=2, default=str) + "\n")
    print_table(results)
    print(f"\nwritten to {out_dir / 'accuracy.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
