"""The in-process predictor against its floor, the bare encoder, with a per-stage breakdown.

    .venv/bin/python benchmarks/predictor.py [--bundle DIR] [--data demo.parquet] [-n 300]

Without `--bundle` it builds one (`triage data demo` + `triage train` into a temporary
folder; the encoder export and the embeddings are cached under .cache/). Measures, in
one process and one run:

1. ready time: `load_bundle` + `OnnxTriager(...)` (language model included) + first triage;
2. the bare encoder (`encode_one`) and `OnnxTriager.triage` on the same ~300 tickets,
   interleaved ticket by ticket so both see the same machine load: p50/p99 and the
   p50 ratio (issue 4: ≤ 1.3);
3. per-stage medians of the predictor (`OnnxTriager.profile`, `time.perf_counter_ns`);
4. `triage_batch` throughput at 256 tickets per call;
5. resident and peak memory of this process.

With `--spinning` it repeats 2. for `session.intra_op.allow_spinning` 0 and 1.
Writes `benchmarks/results/predictor-<timestamp>.json` and prints a table.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _percentiles(ns: list[int]) -> dict[str, float]:
    from benchmarks.percentiles import summary_ms  # after the sys.path line above

    return summary_ms(np.asarray(ns, dtype=np.float64) / 1e6)


def _memory_mb() -> dict[str, float]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return {"rss_mb": values.get("VmRSS", 0.0), "peak_rss_mb": values.get("VmHWM", 0.0)}


def _load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def build_bundle(work: Path, rows: int) -> tuple[Path, Path]:
    """A demo data set and a bundle trained on it, with the project's own CLI."""
    data = work / "demo.parquet"
    bundle = work / "bundle"
    triage = [sys.executable, "-m", "triage_cli.main"]
    subprocess.run(
        [*triage, "data", "demo", "--out", str(data), "-n", str(rows)], cwd=ROOT, check=True
    )
    subprocess.run(
        [*triage, "train", "--data", str(data), "--out", str(bundle)], cwd=ROOT, check=True
    )
    return data, bundle


def load_tickets(data: Path, n: int):
    """`n` tickets of the data set, labels stripped (what a help desk sends), spread over it."""
    from triage.dataset import iter_tickets

    tickets = list(iter_tickets(data))
    step = max(1, len(tickets) // n)
    labels = (
        "category",
        "subcategory",
        "priority",
        "team",
        "assignee",
        "escalated",
        "agent_answer",
        "kb_article_id",
    )
    return [t.model_copy(update=dict.fromkeys(labels)) for t in tickets[::step][:n]]


def bench_single(triager, tickets, rounds: int) -> dict:
    """Bare encoder vs full triage, interleaved per ticket; stage medians from `profile`."""
    encoder = triager.bundle.encoder
    enc_ns: list[int] = []
    tri_ns: list[int] = []
    stages: dict[str, list[int]] = {}
    for t in tickets[:20]:  # warm both paths
        triager.triage(t)
        if encoder is not None:
            encoder.encode_one(t.text)
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for t in tickets:
            if encoder is not None:
                s = clock()
                encoder.encode_one(t.text)
                enc_ns.append(clock() - s)
            s = clock()
            triager.triage(t)
            tri_ns.append(clock() - s)
    for t in tickets if hasattr(triager, "profile") else ():
        _, timings = triager.profile(t)
        for k, v in timings.items():
            stages.setdefault(k, []).append(v)
    out = {"triage": _percentiles(tri_ns)}
    if enc_ns:
        out["encoder"] = _percentiles(enc_ns)
        out["ratio_p50"] = round(out["triage"]["p50_ms"] / out["encoder"]["p50_ms"], 3)
        out["overhead_p50_ms"] = round(out["triage"]["p50_ms"] - out["encoder"]["p50_ms"], 3)
    out["stages_p50_ms"] = {k: round(float(np.median(v)) / 1e6, 4) for k, v in stages.items()}
    out["stages_p99_ms"] = {
        k: round(float(np.percentile(v, 99)) / 1e6, 4) for k, v in stages.items()
    }
    return out


def bench_batch(triager, tickets, size: int, repeats: int) -> dict:
    """Tickets per second through `triage_batch` at `size` tickets per call."""
    batch = (tickets * (size // max(1, len(tickets)) + 1))[:size]
    triager.triage_batch(batch[:8])
    seconds = []
    for _ in range(repeats):
        s = time.perf_counter()
        triager.triage_batch(batch)
        seconds.append(time.perf_counter() - s)
    best = min(seconds)
    return {
        "batch": size,
        "repeats": repeats,
        "median_s": round(float(np.median(seconds)), 3),
        "tickets_per_s_median": round(size / float(np.median(seconds)), 1),
        "tickets_per_s_best": round(size / best, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bundle", type=Path, help="bundle directory (default: build one from demo data)"
    )
    parser.add_argument("--data", type=Path, help="tickets to score (parquet; default: demo data)")
    parser.add_argument("-n", type=int, default=300, help="tickets to score")
    parser.add_argument(
        "--rounds", type=int, default=2, help="passes over the tickets at concurrency 1"
    )
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--batch-repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, help="onnxruntime intra-op threads (default: settings)"
    )
    parser.add_argument(
        "--spinning", action="store_true", help="also compare allow_spinning 0 and 1"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--label", default="", help="free text stored with the results")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-predictor-"))
    data, bundle = args.data, args.bundle
    if bundle is None:
        data, bundle = build_bundle(work, 2000)
    if data is None:
        data = work / "demo.parquet"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "triage_cli.main",
                "data",
                "demo",
                "--out",
                str(data),
                "-n",
                "2000",
            ],
            cwd=ROOT,
            check=True,
        )

    from triage.bundle import load_bundle
    from triage.predictor import OnnxTriager

    tickets = load_tickets(data, args.n)
    words = [len(t.text.split()) for t in tickets]
    memory_before = _memory_mb()
    load_before = _load_avg()

    started = time.perf_counter()
    loaded = load_bundle(bundle, threads=args.threads)
    load_s = time.perf_counter() - started
    triager = OnnxTriager(loaded, warm_up=False)
    init_s = time.perf_counter() - started - load_s
    first = time.perf_counter()
    triager.triage(tickets[0])
    first_s = time.perf_counter() - first
    memory_ready = _memory_mb()

    results: dict = {
        "bundle": str(bundle),
        "tickets": len(tickets),
        "words_median": float(np.median(words)),
        "label": args.label,
        "ready": {
            "load_bundle_s": round(load_s, 3),
            "predictor_init_s": round(init_s, 3),
            "first_triage_s": round(first_s, 3),
            "total_s": round(load_s + init_s + first_s, 3),
        },
        "memory_before_load": memory_before,
        "memory_ready": memory_ready,
    }
    results["single"] = bench_single(triager, tickets, args.rounds)
    results["batch"] = bench_batch(triager, tickets, args.batch, args.batch_repeats)
    results["memory_after"] = _memory_mb()
    if args.spinning:
        # After the memory reading (a second predictor would inflate it). Spinning is a
        # session option: each setting gets its own freshly loaded predictor.
        results["spinning"] = {}
        for spin in (False, True):
            other = OnnxTriager(load_bundle(bundle, threads=args.threads, spinning=spin))
            results["spinning"][f"allow_spinning={int(spin)}"] = bench_single(
                other, tickets, args.rounds
            )
            del other
    results["load_avg_before"] = load_before
    results["load_avg_after"] = _load_avg()
    results["host"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"predictor-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    single = results["single"]
    print(
        f"load avg {load_before} → {results['load_avg_after']}; {len(tickets)} tickets, "
        f"median {results['words_median']:.0f} words"
    )
    print(
        f"ready: load_bundle {load_s:.3f} s, predictor {init_s:.3f} s, first triage "
        f"{first_s * 1000:.1f} ms"
    )
    if "encoder" in single:
        e = single["encoder"]
        print(f"encoder  p50 {e['p50_ms']:7.3f}  p99 {e['p99_ms']:7.3f} ms")
    t = single["triage"]
    print(
        f"triage   p50 {t['p50_ms']:7.3f}  p99 {t['p99_ms']:7.3f} ms   ratio "
        f"{single.get('ratio_p50')}"
    )
    for k, v in single["stages_p50_ms"].items():
        print(f"  {k:<24} p50 {v:8.4f}  p99 {single['stages_p99_ms'][k]:8.4f} ms")
    for name, s in results.get("spinning", {}).items():
        print(
            f"{name}: encoder p50 {s['encoder']['p50_ms']} p99 {s['encoder']['p99_ms']}; "
            f"triage p50 {s['triage']['p50_ms']} p99 {s['triage']['p99_ms']}"
        )
    b = results["batch"]
    print(
        f"batch {b['batch']}: {b['tickets_per_s_median']} tickets/s (best "
        f"{b['tickets_per_s_best']})"
    )
    print(f"memory: ready {memory_ready}, after {results['memory_after']}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
