"""What API keys and the per-key rate limit cost on `/v1/triage` (issue 14: <= 0.3 ms p50).

    .venv/bin/python benchmarks/security_overhead.py --bundle models/demo [--rounds 30]

Two measurements, each comparing auth + rate limit on (the defaults) against off
(`--insecure-no-auth`), in the same run and interleaved in rounds (alternating which goes
first) so that both see the same machine load:

1. `stack`: the whole ASGI app in this process (middleware, routing, the key check and
   token bucket, validation, serialisation) over a model that answers at once, so that
   the model's own time and its noise do not hide a fraction of a millisecond;
2. `served` (unless `--no-served`): two real `triage serve` processes on the bundle,
   the same ~100-word ticket over loopback at concurrency 1.

Prints p50 / p99 of each side and the differences as JSON (also to `--out`).
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
    """p50 / p99 of `/v1/triage` on two served processes, auth + rate limit on and off,
    interleaved."""
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
    return _compare(samples)


class _Instant:
    """A model that answers at once: the stack measurement times everything else."""

    model_version = "instant"

    def triage(self, ticket):  # type: ignore[no-untyped-def]
        from triage.contract import TriageResult

        return TriageResult(ticket_id=ticket.id, model_version="instant", timing_ms=0.0)


def _app(tmp: Path, keys_file: Path, *, auth: bool):  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from api.app import create_app
    from triage.settings import Settings

    settings = Settings(
        _env_file=None,
        bundle=tmp,
        model_alias=None,
        api_keys_file=keys_file,
        model_watch_interval_s=0,
        insecure_no_auth=not auth,
        # The bucket is consulted on every call but never empties: in process the calls
        # come far faster than any real client's, and a 429 would end the measurement.
        rate_limit_per_s=1e9,
        rate_limit_burst=1e9,
    )
    app = create_app(settings, load=lambda path: (SimpleNamespace(manifest={}), _Instant()))
    app.state.holder.reload()
    return app


def measure_stack(rounds: int, per_round: int) -> dict[str, object]:
    """p50 / p99 of one `/v1/triage` call through the ASGI app, auth + limit on vs off."""
    import asyncio
    import logging

    logging.getLogger("triage.api").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = Path(tmp) / "keys.json"
        key, _ = create_key(keys_file, frozenset({"triage"}), name="bench")
        apps = {
            "on": _app(Path(tmp), keys_file, auth=True),
            "off": _app(Path(tmp), keys_file, auth=False),
        }
        body = json.dumps(TICKET).encode()
        base = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers = {"on": [*base, (b"authorization", f"Bearer {key}".encode())], "off": base}

        async def call(name: str) -> float:
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": "/v1/triage",
                "raw_path": b"/v1/triage",
                "query_string": b"",
                "root_path": "",
                "headers": headers[name],
                "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 8000),
            }
            sent = False
            status = 0

            async def receive() -> dict[str, object]:
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, object]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])  # type: ignore[call-overload]

            t0 = time.perf_counter()
            await apps[name](scope, receive, send)
            elapsed = time.perf_counter() - t0
            if status != 200:
                raise RuntimeError(f"{name}: HTTP {status}")
            return elapsed

        async def run() -> dict[str, list[float]]:
            samples: dict[str, list[float]] = {"on": [], "off": []}
            for name in ("on", "off"):
                for _ in range(200):
                    await call(name)
            for index in range(rounds):
                for name in ("on", "off") if index % 2 == 0 else ("off", "on"):
                    for _ in range(per_round):
                        samples[name].append(await call(name))
            return samples

        samples = asyncio.run(run())
    return _compare(samples)


def _compare(samples: dict[str, list[float]]) -> dict[str, object]:
    on, off = _percentiles(samples["on"]), _percentiles(samples["off"])
    return {
        "auth_and_rate_limit_on": on,
        "auth_and_rate_limit_off": off,
        "p50_cost_ms": round(on["p50_ms"] - off["p50_ms"], 3),
        "p99_cost_ms": round(on["p99_ms"] - off["p99_ms"], 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--stack-per-round", type=int, default=200)
    parser.add_argument("--no-served", action="store_true", help="only the in-process stack")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    figures: dict[str, object] = {"target_p50_cost_ms": 0.3}
    figures["stack"] = measure_stack(args.rounds, args.stack_per_round)
    if not args.no_served:
        figures["served"] = measure(args.bundle, args.rounds, args.per_round)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
