"""Latency and throughput of `triage serve` on loopback, against the bare encoder.

    triage bench latency [--bundle DIR | --model champion] [--out DIR] [--quick]
    .venv/bin/python benchmarks/latency.py --bundle models/NAME [--duration 60] [--quick]

Starts the real server (`triage serve`, one worker, a throw-away API key) in a
subprocess and measures, in this order:

1. start-up: process start to the first 200 from /readyz (target ≤ 3 s);
2. the bare encoder (tokenize + ONNX, this process, same thread count) and the
   service at concurrency 1 on a ~100-word ticket, interleaved in rounds so that both
   see the same machine load (targets: p50 ≤ 10 ms, p99 ≤ 25 ms, p50 ≤ 1.3 × encoder);
3. the cascade's paths (issue 17): `path_tickets` varied tickets (a generated demo desk,
   or `--tickets`) at concurrency 1, the share each path answered and p50/p99 per path;
   then batch endpoint throughput, 256 tickets per call (target ≥ 150 tickets/s);
4. `--duration` seconds at concurrency 32 (target: zero errors; req/s and p99);
5. the worker's resident memory after all of it (target ≤ 400 MB);
6. throughput against concurrency: `--sweep-duration` seconds at each of `--sweep`
   (1, 2, 4, 8, 16, 32 clients): req/s, p50, p99, errors.

Writes `latency.json` (figures, targets, the machine, git sha, library versions, bundle
version, wall time) and `latency.npz` (every raw latency sample in ms: the histograms of
the report) into the run folder (default `benchmarks/results/latency-<timestamp>/`), logs
the run to MLflow and prints a table. `--quick` is a seconds-long smoke run (tests).
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
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: python benchmarks/latency.py
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info
from benchmarks.percentiles import summary_ms
from benchmarks.results import (
    LATENCY_FILE,
    LATENCY_SAMPLES_FILE,
    BenchmarkRun,
    new_run_dir,
    write_json,
)
from triage.keys import create_key
from triage.progress import Printed, Progress

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


class RawClient:
    """A keep-alive HTTP/1.1 client on one socket: what the measured requests go through.

    httpx spends ~0.5–1 ms of Python per request, on the same two cores as the server: at
    concurrency 1 it added 0.9 ms to a 14.5 ms p50 (measured back to back on the same
    bundle), and 32 httpx threads take CPU from the server they measure. This client
    sends prepared bytes and reads the response by its Content-Length (the server always
    sends one).
    """

    def __init__(
        self, host: str, port: int, headers: dict[str, str], timeout: float = 30.0
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = sock, b""
        return sock

    def request_bytes(self, path: str, body: bytes) -> bytes:
        """The whole request for POSTing `body` (JSON) to `path`: build it once, send it often."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{self.extra}\r\n"
        )
        return head.encode() + body

    def send(self, request: bytes) -> tuple[int, bytes]:
        """(status, body) of one prepared request; reconnects once if the server closed."""
        for attempt in (0, 1):
            sock = self.sock or self._connect()
            try:
                sock.sendall(request)
                return self._read(sock)
            except (ConnectionError, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _read(self, sock: socket.socket) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill(sock)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(v)
            for k, _, v in (line.partition(b":") for line in lines[1:])
            if k.strip().lower() == b"content-length"
        )
        while len(self.buffer) < length:
            self._fill(sock)
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, body

    def _fill(self, sock: socket.socket) -> None:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    return summary_ms(np.asarray(samples_s) * 1000.0)


def _rss_mb(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return {"rss_mb": values.get("VmRSS", 0.0), "peak_rss_mb": values.get("VmHWM", 0.0)}


def start_server(
    bundle: Path, port: int, keys_file: Path, threads: int
) -> tuple[subprocess.Popen, float]:
    """Start `triage serve`; return the process and seconds until /readyz answered 200."""
    env = {
        **os.environ,
        "TRIAGE_API_KEYS_FILE": str(keys_file),
        "TRIAGE_ONNX_THREADS": str(threads),
        "TRIAGE_MODEL_WATCH_INTERVAL_S": "0",
        # One key drives every level of the sweep: the per-key rate limit would answer 429
        # and measure the limiter, not the service (benchmarks/security_overhead.py does that).
        "TRIAGE_RATE_LIMIT_PER_S": "0",
    }
    command = [
        sys.executable,
        "-m",
        "triage_cli.main",
        "serve",
        "--bundle",
        str(bundle),
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
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


def bench_interleaved(
    bundle: Path,
    client: RawClient,
    threads: int,
    rounds: int,
    per_round: int,
    on_round: Callable[[], None] | None = None,
) -> tuple[dict, dict[str, list[float]]]:
    """The bare encoder and the service at concurrency 1, alternating in rounds.

    Returns the percentiles and the raw samples in seconds (`service`, `encoder`).
    """
    from triage.bundle import read_manifest
    from triage.encoder import OnnxEncoder

    manifest = read_manifest(bundle)
    encoder = None
    if manifest.get("encoder"):
        encoder = OnnxEncoder(
            bundle / manifest["encoder"]["folder"],
            threads=threads,
            max_tokens=manifest["encoder"].get("max_tokens"),
        )
    text = f"{TICKET['subject']}\n{TICKET['body']}"
    request = client.request_bytes("/v1/triage", json.dumps(TICKET).encode())
    for _ in range(20):  # warm both paths
        _ok(client.send(request))
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
            answer = client.send(request)
            http_s.append(time.perf_counter() - t0)
            server_ms.append(json.loads(_ok(answer))["timing_ms"])
        if on_round is not None:
            on_round()
    words = len(text.split())
    result = {"ticket_words": words, "service": _percentiles(http_s)}
    result["service"]["server_timing_p50_ms"] = round(statistics.median(server_ms), 3)
    if encoder is not None:
        result["encoder"] = _percentiles(enc_s)
    return result, {"service": http_s, "encoder": enc_s}


def path_tickets(n: int, tickets_file: Path | None = None, seed: int = 99) -> list[dict]:
    """`n` tickets as request bodies: the first of `tickets_file` (the common Parquet
    format), or a freshly generated demo desk (the distribution the demo bundle knows)."""
    from triage.dataset import iter_tickets

    def body(t) -> dict:  # type: ignore[no-untyped-def]
        keep = ("id", "subject", "body", "channel", "customer_tier", "language")
        return {k: getattr(t, k) for k in keep if getattr(t, k, None) is not None}

    if tickets_file is not None:
        out = []
        for t in iter_tickets(tickets_file):
            out.append(body(t))
            if len(out) >= n:
                break
        return out
    from triage.demo import write_demo

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "desk.parquet"
        write_demo(path, tickets=max(n, 50), seed=seed)
        return [body(t) for t in list(iter_tickets(path))[:n]]


def bench_paths(client: RawClient, tickets: list[dict]) -> tuple[dict, dict[str, list[float]]]:
    """Each ticket once at concurrency 1: which path answered it (the response's `path`)
    and the latency per path. A bundle without a cascade answers every ticket on `none`."""
    requests = [client.request_bytes("/v1/triage", json.dumps(t).encode()) for t in tickets]
    for request in requests[:10]:  # warm up
        _ok(client.send(request))
    by_path: dict[str, list[float]] = {}
    server: dict[str, list[float]] = {}
    for request in requests:
        t0 = time.perf_counter()
        answer = client.send(request)
        elapsed = time.perf_counter() - t0
        result = json.loads(_ok(answer))
        path = result.get("path") or "none"
        by_path.setdefault(path, []).append(elapsed)
        server.setdefault(path, []).append(result["timing_ms"])
    n = len(requests)
    summary = {
        "tickets": n,
        "paths": {
            path: {
                "share": round(len(samples) / n, 4),
                **_percentiles(samples),
                "server_timing_p50_ms": round(statistics.median(server[path]), 3),
            }
            for path, samples in sorted(by_path.items())
        },
    }
    return summary, {f"path_{p}": v for p, v in by_path.items()}


def _ok(answer: tuple[int, bytes]) -> bytes:
    status, body = answer
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
    return body


def bench_batch(client: RawClient, calls: int, size: int) -> dict:
    """Tickets/s through /v1/triage/batch."""
    tickets = [
        {
            **TICKET,
            "id": f"b-{i}",
            "subject": SUBJECTS[i % len(SUBJECTS)],
            "body": f"{TICKET['body']} Reference number {i}.",
        }
        for i in range(size)
    ]
    request = client.request_bytes("/v1/triage/batch", json.dumps({"tickets": tickets}).encode())
    _ok(client.send(request))
    durations = []
    for _ in range(calls):
        t0 = time.perf_counter()
        answer = client.send(request)
        durations.append(time.perf_counter() - t0)
        assert len(json.loads(_ok(answer))["results"]) == size
    total = sum(durations)
    return {
        "batch_size": size,
        "calls": calls,
        "tickets_per_s": round(size * calls / total, 1),
        "seconds_per_call_median": round(statistics.median(durations), 3),
    }


def bench_concurrent(
    url: str, key: str, concurrency: int, duration_s: float
) -> tuple[dict, list[float]]:
    """`concurrency` keep-alive clients in threads, each posting back to back.

    Returns the summary and every successful request's latency in seconds.
    """
    body = json.dumps(TICKET).encode()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + duration_s

    host, port = url.removeprefix("http://").rsplit(":", 1)

    def worker(index: int) -> None:
        client = RawClient(host, int(port), {"Authorization": f"Bearer {key}"})
        request = client.request_bytes("/v1/triage", body)
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    status, _ = client.send(request)
                except (OSError, ValueError) as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies[index].append(time.perf_counter() - t0)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            client.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    samples = [s for per in latencies for s in per]
    non_200 = sum(n for status, n in statuses.items() if status != 200)
    if not samples:  # every request failed: no percentiles, the errors say why
        return {
            "concurrency": concurrency,
            "duration_s": round(elapsed, 1),
            "requests": 0,
            "req_per_s": 0.0,
            "errors": len(errors) + non_200,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "first_errors": errors[:5],
        }, samples
    return {
        "concurrency": concurrency,
        "duration_s": round(elapsed, 1),
        "requests": len(samples),
        "req_per_s": round(len(samples) / elapsed, 1),
        "errors": len(errors) + non_200,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "first_errors": errors[:5],
        **_percentiles(samples),
    }, samples


@dataclass(frozen=True)
class LatencyOptions:
    """How long and how hard each measurement runs (the defaults are the full benchmark)."""

    threads: int = 2
    rounds: int = 10
    per_round: int = 50
    batch_calls: int = 3
    batch_size: int = 256
    duration: float = 60.0
    concurrency: int = 32
    sweep: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    sweep_duration: float = 10.0
    # The cascade's paths (issue 17): varied tickets at concurrency 1, latency per path.
    path_tickets: int = 400
    tickets_file: Path | None = None  # default: a generated demo desk
    quick: bool = False


# A smoke run of every measurement in ~15 s (tests, a first look); not a figure to quote.
QUICK = LatencyOptions(
    rounds=2,
    per_round=10,
    batch_calls=1,
    batch_size=16,
    duration=2.0,
    concurrency=4,
    sweep=(1, 2, 4),
    sweep_duration=1.0,
    path_tickets=40,
    quick=True,
)


def measure(
    bundle: Path, options: LatencyOptions, progress: Progress | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Run every measurement against a fresh `triage serve`; (report, raw samples in ms)."""
    from triage.bundle import read_manifest

    progress = progress or Printed()
    bundle = bundle.resolve()
    started_at = time.perf_counter()
    machine = machine_info()
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = Path(tmp) / "keys.json"
        key, _ = create_key(keys_file, frozenset({"triage"}), name="benchmark")
        port = _free_port()
        progress.stage("starting the server")
        process, ready_s = start_server(bundle, port, keys_file, options.threads)
        url = f"http://127.0.0.1:{port}"
        try:
            memory_ready = _rss_mb(process.pid)
            client = RawClient("127.0.0.1", port, {"Authorization": f"Bearer {key}"}, timeout=120)
            try:
                progress.stage("concurrency 1 vs bare encoder", total=options.rounds)
                single, raw = bench_interleaved(
                    bundle,
                    client,
                    options.threads,
                    options.rounds,
                    options.per_round,
                    on_round=progress.advance,
                )
                samples["single_service"], samples["single_encoder"] = (
                    raw["service"],
                    raw["encoder"],
                )
                memory_single = _rss_mb(process.pid)
                progress.stage(f"paths of {options.path_tickets} tickets")
                paths, raw_paths = bench_paths(
                    client, path_tickets(options.path_tickets, options.tickets_file)
                )
                samples.update(raw_paths)
                progress.stage(f"batch of {options.batch_size}")
                batch = bench_batch(client, options.batch_calls, options.batch_size)
                memory_batch = _rss_mb(process.pid)
            finally:
                client.close()
            progress.stage(f"{options.duration:.0f} s at concurrency {options.concurrency}")
            loaded, samples["concurrent"] = bench_concurrent(
                url, key, options.concurrency, options.duration
            )
            memory_after = _rss_mb(process.pid)
            # Throughput against concurrency, after the memory figure the target is about.
            progress.stage("concurrency sweep", total=len(options.sweep))
            sweep = []
            for level in options.sweep:
                summary, samples[f"sweep_c{level}"] = bench_concurrent(
                    url, key, level, options.sweep_duration
                )
                sweep.append(summary)
                progress.advance()
            memory_sweep = _rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)

    encoder_p50 = single.get("encoder", {}).get("p50_ms")
    service = single["service"]
    ratio = round(service["p50_ms"] / encoder_p50, 3) if encoder_p50 else None
    report = {
        "benchmark": "latency",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bundle": str(bundle),
        "bundle_version": read_manifest(bundle).get("model_version"),
        "quick": options.quick,
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(options).items()},
        "machine": {
            **machine,
            "cpus": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "load_avg_at_end": os.getloadavg(),
        },
        "onnx_threads": options.threads,
        "startup": {"ready_s": round(ready_s, 3), **memory_ready},
        "single": single,
        "p50_over_encoder_p50": ratio,
        "paths": paths,
        "batch": batch,
        "concurrent": loaded,
        "sweep": sweep,
        "memory": {
            "ready": memory_ready,
            "after_single": memory_single,
            "after_batch": memory_batch,
            "after_concurrent": memory_after,
            "after_sweep": memory_sweep,
        },
        "memory_after": memory_after,
        "targets": {
            "p50_ms<=10": service["p50_ms"] <= 10,
            "p99_ms<=25": service["p99_ms"] <= 25,
            # Not applicable (None) to a bundle without an encoder (TF-IDF only).
            "p50<=1.3x_encoder": None if ratio is None else ratio <= 1.3,
            "batch>=150/s": batch["tickets_per_s"] >= 150,
            # Issue 17's targets (the cascade).
            "p50_ms<=6": service["p50_ms"] <= 6,
            "p99_ms<=15": service["p99_ms"] <= 15,
            "batch>=300/s": batch["tickets_per_s"] >= 300,
            "concurrent_zero_errors": loaded["errors"] == 0,
            "rss<=400MB": memory_after["peak_rss_mb"] <= 400,
            "ready<=3s": ready_s <= 3,
        },
        "samples": LATENCY_SAMPLES_FILE,
        "wall_s": round(time.perf_counter() - started_at, 1),
    }
    arrays = {
        name: np.asarray(values, dtype=np.float64) * 1000.0 for name, values in samples.items()
    }
    return report, arrays


def mlflow_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The headline figures as MLflow metrics: `single.service.p50_ms`, `sweep.c8.req_per_s`."""
    from training.tracking import flatten_metrics

    keep = ("n", "p50_ms", "p90_ms", "p99_ms", "req_per_s", "errors", "requests")
    nested: dict[str, Any] = {
        "startup": report["startup"],
        "single": {
            part: {k: v for k, v in values.items() if k in keep or k.endswith("_p50_ms")}
            for part, values in report["single"].items()
            if isinstance(values, dict)
        },
        "p50_over_encoder_p50": report["p50_over_encoder_p50"],
        "paths": {
            p: {k: v for k, v in values.items() if k in keep or k == "share"}
            for p, values in report.get("paths", {}).get("paths", {}).items()
        },
        "batch": {"tickets_per_s": report["batch"]["tickets_per_s"]},
        "concurrent": {k: v for k, v in report["concurrent"].items() if k in keep},
        "sweep": {
            f"c{s['concurrency']}": {k: v for k, v in s.items() if k in keep}
            for s in report["sweep"]
        },
        "memory_after": report["memory_after"],
        "targets_met": sum(v is True for v in report["targets"].values()),
        "targets_total": sum(v is not None for v in report["targets"].values()),
        "wall_s": report["wall_s"],
    }
    return flatten_metrics(nested)


def run_latency(
    bundle: Path,
    out_dir: Path,
    *,
    options: LatencyOptions = LatencyOptions(),
    settings=None,  # type: ignore[no-untyped-def]
    progress: Progress | None = None,
    track: bool = True,
    experiment: str | None = None,
) -> BenchmarkRun:
    """Measure; write `latency.json` and `latency.npz` into `out_dir`; with `track`, log to
    the MLflow store `settings` name."""
    if track and settings is None:
        raise ValueError("run_latency(track=True) needs the settings that name the MLflow store")
    report, samples = measure(bundle, options, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / LATENCY_SAMPLES_FILE, **samples)
    path = write_json(out_dir / LATENCY_FILE, report)
    run = BenchmarkRun(path=path, data=report)
    if track:
        from benchmarks.tracking import try_log_benchmark_run

        machine = report["machine"]
        logged, warning = try_log_benchmark_run(
            settings,
            run_name=out_dir.name,
            source="triage bench latency",
            params={
                "benchmark": "latency",
                "bundle": report["bundle"],
                "bundle_version": report["bundle_version"],
                "git_sha": machine["git_sha"],
                "git_dirty": machine["git_dirty"],
                "cpu_model": machine["cpu_model"],
                "cores": machine["cores"],
                **report["options"],
            },
            metrics=mlflow_metrics(report),
            artifacts=[path, out_dir / LATENCY_SAMPLES_FILE],
            experiment=experiment,
        )
        if warning:
            run.warnings.append(warning)
        if logged is not None:
            report["mlflow"] = logged.as_dict()
            write_json(path, report)
    return run


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure, write the results, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = LatencyOptions()
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument(
        "--threads",
        type=int,
        default=defaults.threads,
        help="onnxruntime threads (server and encoder)",
    )
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--per-round", type=int, default=defaults.per_round)
    parser.add_argument("--batch-calls", type=int, default=defaults.batch_calls)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument(
        "--duration", type=float, default=defaults.duration, help="seconds at --concurrency"
    )
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument(
        "--sweep",
        default=",".join(map(str, defaults.sweep)),
        help="concurrency levels of the throughput sweep",
    )
    parser.add_argument(
        "--sweep-duration",
        type=float,
        default=defaults.sweep_duration,
        help="seconds at each sweep level",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a seconds-long smoke run (ignores the sizes above)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results folder (default: benchmarks/results/latency-<timestamp>)",
    )
    parser.add_argument(
        "--path-tickets", type=int, default=defaults.path_tickets, help="tickets of the path split"
    )
    parser.add_argument(
        "--tickets", type=Path, default=None, help="tickets for the path split (default: demo)"
    )
    parser.add_argument("--no-track", action="store_true", help="do not log the run to MLflow")
    args = parser.parse_args(argv)

    from benchmarks.report import latency_rows

    options = (
        replace(QUICK, threads=args.threads)
        if args.quick
        else LatencyOptions(
            threads=args.threads,
            rounds=args.rounds,
            per_round=args.per_round,
            batch_calls=args.batch_calls,
            batch_size=args.batch_size,
            duration=args.duration,
            concurrency=args.concurrency,
            sweep=tuple(int(c) for c in args.sweep.split(",") if c.strip()),
            sweep_duration=args.sweep_duration,
            path_tickets=args.path_tickets,
            tickets_file=args.tickets,
        )
    )
    from triage.settings import get_settings

    run = run_latency(
        args.bundle,
        args.out or new_run_dir("latency"),
        options=options,
        settings=None if args.no_track else get_settings(),
        track=not args.no_track,
    )
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    rows = latency_rows(run.data)
    width = max(len(r[0]) for r in rows)
    for name, value, target, _ in rows:
        print(f"{name:<{width}}  {value:<48}  {target}")
    targets = [v for v in run.data["targets"].values() if v is not None]
    print(f"targets met: {sum(targets)}/{len(targets)}  -> {run.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
