"""Latency and throughput of `triage serve` on loopback, against the bare encoder.

    .venv/bin/python benchmarks/latency.py --bundle models/NAME [--duration 60]

Starts the real server (`triage serve`, one worker, a throw-away API key) in a
subprocess and measures, in this order:

1. start-up: process start to the first 200 from /readyz (target ≤ 3 s);
2. the bare encoder (tokenize + ONNX, this process, same thread count) and the
   service at concurrency 1 on a ~100-word ticket, interleaved in rounds so that both
   see the same machine load (targets: p50 ≤ 10 ms, p99 ≤ 25 ms, p50 ≤ 1.3 × encoder);
3. batch endpoint throughput, 256 tickets per call (target ≥ 150 tickets/s);
4. `--duration` seconds at concurrency 32 (target: zero errors; req/s and p99);
5. the worker's resident memory after all of it (target ≤ 400 MB).

Writes `benchmarks/results/latency-<timestamp>.json` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triage.keys import create_key  # noqa: E402

TICKET = {
    "id": "bench-1",
    "channel": "email",
    "customer_tier": "gold",
    "subject": "Invoice charged twice after plan upgrade",
    "body": (
        "Hello support team, last week I upgraded our company account from the basic plan to "
        "the business plan and today I noticed that my credit card was charged twice for the "
        "same invoice. The first charge appeared on Monday and the second one on Tuesday, both "
        "for the full amount. I have attached screenshots of the bank statement and the invoice "
        "from your portal. Could you please check what happened, refund the duplicate payment "
        "and confirm that future invoices will only be charged once? Our finance department "
        "needs this sorted before the end of the month because we close the books then. "
        "Thank you in advance for your help."
    ),
}
SUBJECTS = [
    "Invoice charged twice after plan upgrade",
    "Cannot log in after password reset",
    "Package arrived damaged, need a replacement",
    "Feature request: export reports to Excel",
    "Laptop screen flickers after the latest update",
    "Refund not received after returning the order",
    "Two-factor authentication codes never arrive",
    "App crashes when uploading attachments",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1000.0
    return {
        "n": int(ms.size),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def _rss_mb(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return {"rss_mb": values.get("VmRSS", 0.0), "peak_rss_mb": values.get("VmHWM", 0.0)}


def start_server(bundle: Path, port: int, keys_file: Path, threads: int) -> tuple[subprocess.Popen, float]:
    """Start `triage serve`; return the process and seconds until /readyz answered 200."""
    env = {
        **os.environ,
        "TRIAGE_API_KEYS_FILE": str(keys_file),
        "TRIAGE_ONNX_THREADS": str(threads),
        "TRIAGE_MODEL_WATCH_INTERVAL_S": "0",
    }
    command = [
        sys.executable, "-m", "triage_cli.main", "serve", "--bundle", str(bundle),
        "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/readyz"
    while True:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode} before becoming ready")
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return process, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.01)


def bench_interleaved(bundle: Path, client: httpx.Client, threads: int, rounds: int, per_round: int) -> dict:
    """The bare encoder and the service at concurrency 1, alternating in rounds."""
    from triage.bundle import read_manifest
    from triage.encoder import OnnxEncoder

    manifest = read_manifest(bundle)
    encoder = None
    if manifest.get("encoder"):
        encoder = OnnxEncoder(bundle / manifest["encoder"]["folder"], threads=threads)
    text = f"{TICKET['subject']}\n{TICKET['body']}"
    body = json.dumps(TICKET).encode()
    headers = {"Content-Type": "application/json"}
    for _ in range(20):  # warm both paths
        client.post("/v1/triage", content=body, headers=headers).raise_for_status()
        if encoder is not None:
            encoder.encode_one(text)
    enc_s: list[float] = []
    http_s: list[float] = []
    server_ms: list[float] = []
    for _ in range(rounds):
        if encoder is not None:
            for _ in range(per_round):
                t0 = time.perf_counter()
                encoder.encode_one(text)
                enc_s.append(time.perf_counter() - t0)
        for _ in range(per_round):
            t0 = time.perf_counter()
            response = client.post("/v1/triage", content=body, headers=headers)
            http_s.append(time.perf_counter() - t0)
            response.raise_for_status()
            server_ms.append(response.json()["timing_ms"])
    words = len(text.split())
    result = {"ticket_words": words, "service": _percentiles(http_s)}
    result["service"]["server_timing_p50_ms"] = round(statistics.median(server_ms), 3)
    if encoder is not None:
        result["encoder"] = _percentiles(enc_s)
    return result


def bench_batch(client: httpx.Client, calls: int, size: int) -> dict:
    """Tickets/s through /v1/triage/batch."""
    tickets = [
        {**TICKET, "id": f"b-{i}", "subject": SUBJECTS[i % len(SUBJECTS)],
         "body": f"{TICKET['body']} Reference number {i}."}
        for i in range(size)
    ]
    body = json.dumps({"tickets": tickets}).encode()
    headers = {"Content-Type": "application/json"}
    client.post("/v1/triage/batch", content=body, headers=headers, timeout=120).raise_for_status()
    durations = []
    for _ in range(calls):
        t0 = time.perf_counter()
        response = client.post("/v1/triage/batch", content=body, headers=headers, timeout=120)
        durations.append(time.perf_counter() - t0)
        response.raise_for_status()
        assert len(response.json()["results"]) == size
    total = sum(durations)
    return {
        "batch_size": size,
        "calls": calls,
        "tickets_per_s": round(size * calls / total, 1),
        "seconds_per_call_median": round(statistics.median(durations), 3),
    }


def bench_concurrent(url: str, key: str, concurrency: int, duration_s: float) -> dict:
    """`concurrency` keep-alive clients in threads, each posting back to back."""
    body = json.dumps(TICKET).encode()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + duration_s

    def worker(index: int) -> None:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    response = client.post("/v1/triage", content=body)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies[index].append(time.perf_counter() - t0)
                with lock:
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    samples = [s for per in latencies for s in per]
    non_200 = sum(n for status, n in statuses.items() if status != 200)
    return {
        "concurrency": concurrency,
        "duration_s": round(elapsed, 1),
        "requests": len(samples),
        "req_per_s": round(len(samples) / elapsed, 1),
        "errors": len(errors) + non_200,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "first_errors": errors[:5],
        **_percentiles(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads (server and encoder)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--batch-calls", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds at concurrency 32")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        keys_file = Path(tmp) / "keys.json"
        key, _ = create_key(keys_file, frozenset({"triage"}), name="benchmark")
        port = _free_port()
        process, ready_s = start_server(args.bundle.resolve(), port, keys_file, args.threads)
        url = f"http://127.0.0.1:{port}"
        try:
            memory_ready = _rss_mb(process.pid)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
                print("concurrency 1 vs bare encoder ...", flush=True)
                single = bench_interleaved(args.bundle.resolve(), client, args.threads, args.rounds, args.per_round)
                memory_single = _rss_mb(process.pid)
                print("batch ...", flush=True)
                batch = bench_batch(client, args.batch_calls, args.batch_size)
                memory_batch = _rss_mb(process.pid)
            print(f"{args.duration:.0f} s at concurrency {args.concurrency} ...", flush=True)
            loaded = bench_concurrent(url, key, args.concurrency, args.duration)
            memory_after = _rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)

    encoder_p50 = single.get("encoder", {}).get("p50_ms")
    service = single["service"]
    ratio = round(service["p50_ms"] / encoder_p50, 3) if encoder_p50 else None
    report = {
        "benchmark": "latency",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bundle": str(args.bundle),
        "machine": {
            "cpus": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "load_avg_at_end": os.getloadavg(),
        },
        "onnx_threads": args.threads,
        "startup": {"ready_s": round(ready_s, 3), **memory_ready},
        "single": single,
        "p50_over_encoder_p50": ratio,
        "batch": batch,
        "concurrent": loaded,
        "memory": {"ready": memory_ready, "after_single": memory_single,
                   "after_batch": memory_batch, "after_concurrent": memory_after},
        "memory_after": memory_after,
        "targets": {
            "p50_ms<=10": service["p50_ms"] <= 10,
            "p99_ms<=25": service["p99_ms"] <= 25,
            "p50<=1.3x_encoder": ratio is not None and ratio <= 1.3,
            "batch>=150/s": batch["tickets_per_s"] >= 150,
            "concurrent_zero_errors": loaded["errors"] == 0,
            "rss<=400MB": memory_after["peak_rss_mb"] <= 400,
            "ready<=3s": ready_s <= 3,
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"latency-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")

    enc = single.get("encoder", {})
    rows = [
        ("ready after start", f"{ready_s:.2f} s", "≤ 3 s"),
        ("bare encoder p50 / p99", f"{enc.get('p50_ms', float('nan')):.2f} / {enc.get('p99_ms', float('nan')):.2f} ms", "floor"),
        ("service c=1 p50 / p99", f"{service['p50_ms']:.2f} / {service['p99_ms']:.2f} ms", "≤ 10 / ≤ 25 ms"),
        ("server-side timing p50", f"{service['server_timing_p50_ms']:.2f} ms", ""),
        ("service p50 / encoder p50", f"{ratio}", "≤ 1.3"),
        ("batch throughput", f"{batch['tickets_per_s']:.0f} tickets/s", "≥ 150"),
        (f"c={loaded['concurrency']} for {loaded['duration_s']:.0f} s",
         f"{loaded['req_per_s']:.0f} req/s, p50 {loaded['p50_ms']:.0f} ms, p99 {loaded['p99_ms']:.0f} ms, "
         f"{loaded['errors']} errors", "0 errors"),
        ("worker RSS (peak)", f"{memory_after['rss_mb']:.0f} MB ({memory_after['peak_rss_mb']:.0f} MB)", "≤ 400 MB"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<48}  {target}")
    print(f"targets met: {sum(report['targets'].values())}/{len(report['targets'])}  -> {path}")


if __name__ == "__main__":
    main()
