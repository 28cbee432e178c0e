"""The lifecycle core's storage costs on SQLite and PostgreSQL, measured in the same run.

    .venv/bin/python benchmarks/desk.py [--tickets 500] [--threads 8]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each backend (a fresh SQLite file; a throw-away PostgreSQL schema):

1. intake, one client: per-ticket latency (p50, p99) and tickets/s. No triager is
   attached, so this is the store's cost: ticket, first message, audit entry and
   outbox event in one transaction;
2. intake from `--threads` clients at once with an idempotency key each, every key
   sent twice: tickets/s, and a check that exactly one ticket exists per key;
3. listing (status filter, page of 50, priority then due order): p50, p99;
4. one worker pass escalating every ticket (all overdue): seconds and tickets/s.

Writes `benchmarks/results/desk-<timestamp>.json` and prints a table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info
from benchmarks.percentiles import summary_ms
from benchmarks.results import write_json
from triage.contract import Channel
from triage.desk import Desk, NewTicket, Status, TicketQuery
from triage.store import connect, migrate
from triage.worker import Worker


class Clock:
    """The desk's clock, moved by hand: the worker pass finds every ticket overdue."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _ticket(i: int) -> NewTicket:
    return NewTicket(
        channel=Channel.email,
        subject=f"Invoice charged twice #{i}",
        body="Hello, my card was charged twice after the upgrade. Please refund one charge. " * 4,
        requester=f"user{i}@example.com",
        priority=("urgent", "high", "medium", "low")[i % 4],
        tags=["billing"] if i % 3 == 0 else [],
    )


def run_backend(url: str, n: int, threads: int) -> dict[str, object]:
    """Steps 1-4 of the module docstring on the database at `url` with `n` tickets."""
    migrate(url)
    engine = connect(url, pool_size=threads + 2) if not url.startswith("sqlite") else connect(url)
    clock = Clock()
    desk = Desk(engine, clock=clock)
    out: dict[str, object] = {}

    samples = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        desk.intake(_ticket(i))
        samples.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    out["intake_sequential"] = {
        **summary_ms(np.asarray(samples) * 1000),
        "tickets_per_s": round(n / elapsed, 1),
    }

    keys = [f"k-{uuid.uuid4().hex}" for _ in range(n)]
    work = [k for k in keys for _ in range(2)]
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        while True:
            with lock:
                if not work:
                    return
                key = work.pop()
            try:
                desk.intake(_ticket(0), idempotency_key=key)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(repr(exc))

    start = time.perf_counter()
    pool = [threading.Thread(target=client) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    total = desk.list(TicketQuery(limit=1)).total
    out["intake_concurrent"] = {
        "threads": threads,
        "requests": 2 * n,
        "requests_per_s": round(2 * n / elapsed, 1),
        "errors": len(errors),
        "tickets_created": total - n,
        "one_ticket_per_key": total - n == n,
    }

    samples = []
    for _ in range(200):
        t0 = time.perf_counter()
        desk.list(TicketQuery(status=[Status.new], limit=50))
        samples.append(time.perf_counter() - t0)
    out["list_page_50"] = summary_ms(np.asarray(samples) * 1000)

    clock.now += timedelta(days=30)
    worker = Worker(desk, batch=10 * n)
    t0 = time.perf_counter()
    report = worker.run_once()
    elapsed = time.perf_counter() - t0
    out["worker_pass"] = {
        "tickets": 2 * n,
        "escalated": report.escalated,
        "seconds": round(elapsed, 3),
        "tickets_per_s": round(report.escalated / elapsed, 1),
    }
    engine.dispose()
    return out


def main() -> None:
    """Both backends in one run; writes the JSON and prints one line per backend."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()

    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(),
        "machine": machine_info(),
        "tickets": args.tickets,
    }
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run_backend(f"sqlite:///{tmp}/bench.db", args.tickets, args.threads)

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = args.postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{args.postgres_url}?options=-csearch_path%3D{schema}"
        results["postgresql"] = run_backend(url, args.tickets, args.threads)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    path = ROOT / "benchmarks" / "results" / f"desk-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    write_json(path, results)
    for backend in ("sqlite", "postgresql"):
        r = results[backend]
        assert isinstance(r, dict)
        print(
            f"{backend:11s} intake p50 {r['intake_sequential']['p50_ms']} ms p99 "
            f"{r['intake_sequential']['p99_ms']} ms "
            f"({r['intake_sequential']['tickets_per_s']}/s); concurrent "
            f"{r['intake_concurrent']['requests_per_s']} req/s "
            f"errors {r['intake_concurrent']['errors']} one-per-key "
            f"{r['intake_concurrent']['one_ticket_per_key']}; "
            f"list p50 {r['list_page_50']['p50_ms']} ms p99 {r['list_page_50']['p99_ms']} ms; "
            f"worker {r['worker_pass']['tickets_per_s']} tickets/s"
        )
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
