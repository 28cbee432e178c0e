"""What shadow scoring costs intake: `Desk.intake` latency with and without a shadow
challenger, in the same run, on the same tickets (issue 18: ≤ 1 ms at p50).

Intake scores the ticket with the champion and stores it (SQLite in a temporary
directory); with the shadow on, the ticket number is also handed to the
`ShadowScorer`'s queue, whose thread scores it with the challenger and writes its
answer while the next intake runs. Blocks of tickets alternate off/on so that a
machine that slows down during the run weighs on both sides alike.

Run: `python -m benchmarks.shadow_latency --bundle models/A --shadow-bundle models/B
--tickets 600 [--gap-ms 50]` (prints JSON: p50/p90/p99 in ms, off and on, and the p50
difference). Back to back (`--gap-ms 0`) is the worst case: the shadow thread has no idle
time between intakes and competes with every one of them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.percentiles import summary_ms
from triage.bundle import load_bundle
from triage.demo.generator import generate
from triage.desk import Desk
from triage.desk.config import DeskConfig
from triage.health.shadow import ShadowScorer
from triage.predictor import OnnxTriager
from triage.replay import intake_of
from triage.store import connect, migrate


def measure(
    bundle: Path, shadow_bundle: Path, tickets: int, block: int, seed: int, gap_ms: float = 0.0
) -> dict:
    """Intake latency (ms) with the shadow off and on, alternating blocks of `block`;
    `gap_ms` between tickets (0: back to back, the shadow competes with every intake)."""
    sample = generate(tickets=tickets, seed=seed).tickets
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'desk.db'}"
        migrate(url)
        engine = connect(url)
        config = DeskConfig(auto_reply=False, auto_assign=False)
        desk = Desk(engine, OnnxTriager(load_bundle(bundle), details=False), config=config)
        scorer = ShadowScorer(
            OnnxTriager(load_bundle(shadow_bundle), details=False), desk.sessions, desk.clock
        )
        timings: dict[str, list[float]] = {"off": [], "on": []}
        for i, ticket in enumerate(sample):
            mode = "on" if (i // block) % 2 else "off"
            desk.shadow = scorer if mode == "on" else None
            new = intake_of(ticket)
            start = time.perf_counter()
            desk.intake(new)
            timings[mode].append((time.perf_counter() - start) * 1000)
            if gap_ms:
                time.sleep(gap_ms / 1000)
        scorer.drain()
        stored, dropped = scorer.stored, scorer.dropped
        scorer.close()
        engine.dispose()
    off, on = summary_ms(timings["off"]), summary_ms(timings["on"])
    return {
        "tickets": tickets,
        "block": block,
        "gap_ms": gap_ms,
        "off_ms": off,
        "on_ms": on,
        "p50_added_ms": round(on["p50_ms"] - off["p50_ms"], 3),
        "shadow_stored": stored,
        "shadow_dropped": dropped,
    }


def main() -> None:
    """Command line: print the measurement as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="the champion")
    parser.add_argument("--shadow-bundle", type=Path, required=True, help="the challenger")
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--gap-ms", type=float, default=0.0, help="pause between tickets (0: back to back)"
    )
    args = parser.parse_args()
    result = measure(
        args.bundle, args.shadow_bundle, args.tickets, args.block, args.seed, args.gap_ms
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
