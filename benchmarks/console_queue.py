"""The console's queue page: server time to render a queue of 500 tickets (target ≤ 300 ms).

    .venv/bin/python benchmarks/console_queue.py [--tickets 500] [--runs 50]
        [--database-url sqlite:///...]

Builds the real app (`create_app` with the desk and the console) over a fresh SQLite desk
holding `--tickets` open tickets (stored without a model: the queue page never calls
one), signs in with an API key, then requests `GET /console/queue/all` `--runs` times
(after 3 warm-up requests). Reports, in the same run:

- `render`: the endpoint's own time, from the page's `Server-Timing` header (the desk
  query, the rows and the template);
- `request`: the whole in-process request as the test client sees it (routing, the
  session check, middleware).

It also counts Python's full (generation 2) garbage collections during the timed
requests and their longest pause: they make the slow tail. `--gc-freeze` calls
`gc.freeze()` once the app has started (start-up objects are then never scanned again),
to measure what that would change in a server.

Writes `benchmarks/results/console-queue-<timestamp>.json` and prints one line.
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info
from benchmarks.percentiles import summary_ms
from benchmarks.results import write_json
from triage.contract import Channel, Ticket, TriageResult
from triage.desk import Desk, NewTicket
from triage.keys import create_key
from triage.settings import Settings
from triage.store import connect, migrate


class NoModel:
    """The served "model" of this benchmark: the queue page never asks it anything."""

    model_version = "none"

    def triage(self, ticket: Ticket) -> TriageResult:
        raise RuntimeError("the queue benchmark scores nothing")

    def triage_batch(self, tickets: list[Ticket]) -> list[TriageResult]:
        raise RuntimeError("the queue benchmark scores nothing")


def fill(url: str, tickets: int) -> None:
    """`tickets` open tickets across priorities, teams, languages and channels."""
    engine = connect(url)
    migrate(engine)
    desk = Desk(engine)
    channels = list(Channel)
    for i in range(tickets):
        desk.intake(
            NewTicket(
                channel=channels[i % len(channels)],
                subject=f"Invoice charged twice #{i}",
                body="Hello, my card was charged twice after the upgrade. " * 4,
                priority=("urgent", "high", "medium", "low")[i % 4],
                team=("billing", "support", "logistics")[i % 3],
                category=("Billing", "Account", "Shipping")[i % 3],
                language=("en", "de", "pl", "ru")[i % 4],
                tags=["bench"],
            )
        )
    engine.dispose()


def main() -> None:
    """Fill a desk, render its queue `--runs` times, report median and p99."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after start-up")
    args = parser.parse_args()
    pauses: list[float] = []
    started_at: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started_at[:] = [time.perf_counter()]
        elif started_at:
            pauses.append(1000 * (time.perf_counter() - started_at[0]))

    from fastapi.testclient import TestClient

    from api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/console.db"
        fill(url, args.tickets)
        keys = Path(tmp) / "keys.json"
        key, _ = create_key(keys, frozenset({"admin"}), name="bench")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bundle=Path(tmp),
            model_alias=None,
            api_keys_file=keys,
            model_watch_interval_s=0,
            desk=True,
            database_url=url,
        )
        app = create_app(settings, load=lambda path: (None, NoModel()))
        render, request = [], []
        with TestClient(app) as client:
            client.post("/console/login", data={"key": key})
            if args.gc_freeze:
                gc.collect()
                gc.freeze()
            gc.callbacks.append(on_gc)
            for i in range(args.runs + 3):
                started = time.perf_counter()
                r = client.get("/console/queue/all")
                took = time.perf_counter() - started
                r.raise_for_status()
                rows = r.text.count("<tr tabindex")
                assert rows == min(args.tickets, 500), rows
                timing = re.search(r"render;dur=([0-9.]+)", r.headers["server-timing"])
                assert timing is not None
                if i >= 3:
                    render.append(float(timing.group(1)))
                    request.append(took * 1000)
            gc.callbacks.remove(on_gc)
    results = {
        "when": datetime.now(UTC).isoformat(),
        "machine": machine_info(),
        "tickets": args.tickets,
        "database": "sqlite" if args.database_url is None else "given",
        "render": summary_ms(np.asarray(render)),
        "request": summary_ms(np.asarray(request)),
        "target_ms": 300,
        "gc_freeze": args.gc_freeze,
        "full_collections": len(pauses),
        "full_collection_max_ms": round(max(pauses, default=0.0), 1),
    }
    path = ROOT / "benchmarks" / "results" / f"console-queue-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    write_json(path, results)
    print(
        f"queue of {args.tickets}: render p50 {results['render']['p50_ms']} ms "
        f"p99 {results['render']['p99_ms']} ms; request p50 {results['request']['p50_ms']} ms "
        f"p99 {results['request']['p99_ms']} ms (target ≤ 300 ms); {len(pauses)} full GCs, "
        f"longest {results['full_collection_max_ms']} ms; wrote {path.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
