"""What API keys and the per-key rate limit cost on `/v1/triage` (issue 14: <= 0.3 ms p50).

    .venv/bin/python benchmarks/security_overhead.py --bundle models/demo [--rounds 30]

Starts two `triage serve` processes on the same bundle in the same run: one with API
keys and the token-bucket rate limit on (the defaults), one with `--insecure-no-auth`
(no key check, no limit). Sends the same ~100-word ticket to each at concurrency 1,
alternating in rounds so that both see the same machine load, and prints p50 / p99 of
each and the p50 difference as JSON (also written to `--out`, if given).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(ROOT))

from benchmarks.latency import TICKET, RawClient, _free_port, _ok, _percentiles  # noqa: E402
from triage.keys import create_key  # noqa: E402


def start(bundle: Path, port: int, keys_file: Path, *, auth: bool) -> subprocess.Popen:
    """`triage serve` on `port`, with or without API keys; returns once /readyz is 200."""
    env = {
        **os.environ,
        "TRIAGE_API_KEYS_FILE": str(keys_file),
        "TRIAGE_MODEL_WATCH_INTERVAL_S": "0",
    }
    command = [sys.executable, "-m", "triage_cli.main", "serve", "--bundle", str(bundle)]
    command += ["--port", str(port), "--no-access-log", "--log-level", "error"]
    if not auth:
        command.append("--insecure-no-auth")
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    while True:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


def measure(bundle: Path, rounds: int, per_round: int) -> dict[str, object]:
    """p50 / p99 of `/v1/triage` with auth + rate limit on and off, interleaved."""
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = Path(tmp) / "keys.json"
        key, _ = create_key(keys_file, frozenset({"triage"}), name="bench")
        ports = {"on": _free_port(), "off": _free_port()}
        servers = {
            "on": start(bundle, ports["on"], keys_file, auth=True),
            "off": start(bundle, ports["off"], keys_file, auth=False),
        }
        try:
            clients = {
                "on": RawClient("127.0.0.1", ports["on"], {"Authorization": f"Bearer {key}"}),
                "off": RawClient("127.0.0.1", ports["off"], {}),
            }
            body = json.dumps(TICKET).encode()
            requests = {n: c.request_bytes("/v1/triage", body) for n, c in clients.items()}
            samples: dict[str, list[float]] = {"on": [], "off": []}
            for name in ("on", "off"):  # warm up
                for _ in range(20):
                    _ok(clients[name].send(requests[name]))
            for index in range(rounds):
                # Alternate which goes first, so neither always follows the other.
                for name in ("on", "off") if index % 2 == 0 else ("off", "on"):
                    for _ in range(per_round):
                        t0 = time.perf_counter()
                        _ok(clients[name].send(requests[name]))
                        samples[name].append(time.perf_counter() - t0)
            for client in clients.values():
                client.close()
        finally:
            for process in servers.values():
                process.terminate()
                process.wait(timeout=30)
    on, off = _percentiles(samples["on"]), _percentiles(samples["off"])
    return {
        "auth_and_rate_limit_on": on,
        "auth_and_rate_limit_off": off,
        "p50_cost_ms": round(on["p50_ms"] - off["p50_ms"], 3),
        "p99_cost_ms": round(on["p99_ms"] - off["p99_ms"], 3),
        "target_p50_cost_ms": 0.3,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    figures = measure(args.bundle, args.rounds, args.per_round)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
