"""The model-health loop on a demo desk with a planted shift (issue 18, item 5).

A demo history is split in time: the champion trains on the first part, which never
mentions one category (NEW_CATEGORY); the live stream then runs through a real desk
(SQLite, the bundle's `OnnxTriager`), with people settling every ticket with its true
labels (correcting the model where it was wrong). Midway the shift starts: the new
category arrives with a product the desk never sold (`extra.product`, named in the
subject), and CHANGED_CATEGORY's customers start using other words (its most
distinctive words are replaced). Then:

1. the drift monitor runs every `check_every` tickets: how many tickets after the shift
   it first counts the model as drifted;
2. the retraining job exports the confirmed labels, trains, passes the offline gate and
   installs the result as challenger;
3. the challenger scores the next tickets in shadow; the comparison with the champion
   on the human labels decides the (auto-)promotion;
4. figures: the new category's recall on post-shift tickets (champion and challenger),
   realized precision of both on the shadow phase, shadow agreement.

Run: `python -m benchmarks.health_loop --tickets 2000 --out /tmp/loop` (prints JSON).
tests/training/test_health_loop.py runs it small.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from triage.contract import Ticket
from triage.demo.generator import generate
from triage.desk import Desk, Status, TicketChanges
from triage.desk.config import DeskConfig
from triage.health.shadow import ShadowScorer
from triage.health.trigger import retrain_reason
from triage.health.versions import is_version, of_version
from triage.health.window import DriftMonitor
from triage.replay import MovableClock, intake_of
from triage.store import connect, migrate
from triage.store.models import ShadowRow, TicketRow

NEW_CATEGORY = "Returns & Refunds"
NEW_PRODUCT = "Orbit e-bike"
CHANGED_CATEGORY = "Billing"
_WORD = re.compile(r"(?u)\b\w\w\w+\b")


@dataclass
class LoopConfig:
    """Sizes of the loop's phases and the monitor's settings."""

    tickets: int = 2000  # generated; the new category's tickets all go after the shift
    seed: int = 5
    base: int = 1000  # champion's training tickets
    pre: int = 200  # live tickets before the shift
    phase_a: int = 400  # after the shift, before retraining
    phase_b: int = 400  # challenger in shadow
    window: int = 150
    warn: float = 0.1
    alert: float = 0.25
    alert_signals: int = 2
    check_every: int = 10
    changed_words: int = 25
    min_shadow_tickets: int = 100


@dataclass
class LoopResult:
    """The loop's figures."""

    figures: dict[str, Any] = field(default_factory=dict)
    monitor_before: dict[str, Any] | None = None
    monitor_after: dict[str, Any] | None = None


def _distinctive(tickets: list[Ticket], category: str, n: int) -> list[str]:
    """The words most specific to `category` (frequent in it, rare elsewhere)."""
    inside: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    for t in tickets:
        words = set(_WORD.findall(t.text.lower()))
        (inside if t.category == category else outside).update(words)
    n_in = sum(1 for t in tickets if t.category == category) or 1
    n_out = len(tickets) - n_in or 1
    score = {w: c / n_in - outside[w] / n_out for w, c in inside.items() if c >= 5}
    return [w for w, _ in sorted(score.items(), key=lambda kv: -kv[1])[:n]]


def _substitute(text: str, words: list[str]) -> str:
    """Replace each of `words` by an invented word the vocabulary never saw."""
    for w in words:
        text = re.sub(rf"(?iu)\b{re.escape(w)}\b", f"zq{w[::-1]}x", text)
    return text


def planted_stream(config: LoopConfig) -> tuple[list[Ticket], list[Ticket], int, list[str]]:
    """(base training tickets, live stream, index of the shift in the stream, the words
    replaced in CHANGED_CATEGORY)."""
    data = generate(tickets=config.tickets, seed=config.seed)
    tickets = sorted(data.tickets, key=lambda t: t.created_at)
    new = [t for t in tickets if t.category == NEW_CATEGORY]
    rest = [t for t in tickets if t.category != NEW_CATEGORY]
    base = rest[: config.base]
    pre = rest[config.base : config.base + config.pre]
    after = rest[
        config.base + config.pre : config.base + config.pre + config.phase_a + config.phase_b
    ]
    words = _distinctive(base, CHANGED_CATEGORY, config.changed_words)
    post: list[Ticket] = []
    # Spread the new category evenly over the post-shift stream.
    total = len(new) + len(after)
    step = total / max(len(new), 1)
    next_new = step / 2
    queue_new, queue_rest = list(new), list(after)
    for i in range(total):
        if queue_new and (i >= next_new or not queue_rest):
            t = queue_new.pop(0)
            extra = {**t.extra, "product": NEW_PRODUCT}
            t = t.model_copy(update={"extra": extra, "subject": f"{NEW_PRODUCT}: {t.subject}"})
            next_new += step
        else:
            t = queue_rest.pop(0)
            if t.category == CHANGED_CATEGORY:
                t = t.model_copy(
                    update={
                        "subject": _substitute(t.subject, words),
                        "body": _substitute(t.body, words),
                    }
                )
        post.append(t)
    post = post[: config.phase_a + config.phase_b]
    stream = pre + post
    # One ticket every 20 minutes after the base period: a steady stream in time order.
    start = base[-1].created_at + timedelta(minutes=20)
    stream = [
        t.model_copy(update={"created_at": start + timedelta(minutes=20 * i)})
        for i, t in enumerate(stream)
    ]
    return base, stream, len(pre), words


def _settle(desk: Desk, ticket_id: int, truth: Ticket) -> None:
    """A person works the ticket: fixes what the model got wrong, then solves it."""
    view = desk.get(ticket_id, messages=False)
    fix: dict[str, Any] = {}
    for name in ("category", "priority", "team"):
        value = getattr(truth, name)
        if value is not None and getattr(view, name) != value:
            fix[name] = value
    status = Status.solved if view.status is not Status.solved else None
    desk.update(ticket_id, TicketChanges(**fix, status=status), actor="agent:loop")


def run_loop(config: LoopConfig, work: Path) -> LoopResult:  # noqa: C901 - the loop's script, step by step
    """Run the whole loop in `work` and return its figures."""
    from training.pipeline import TrainConfig, train
    from training.retrain import promote_if_proven, retrain
    from triage.bundle import load_bundle
    from triage.dataset import write_tickets
    from triage.health.quality import measure_quality
    from triage.predictor import OnnxTriager
    from triage.registry import CHALLENGER, CHAMPION, ModelRegistry

    work.mkdir(parents=True, exist_ok=True)
    base, stream, shift_at, words = planted_stream(config)
    base_file = work / "base.parquet"
    write_tickets(base_file, base)
    train_config = TrainConfig(encoder=None, bundle_name="loop", n_jobs=1)
    registry = ModelRegistry(work / "models")
    champion_report = train(base_file, registry.root / "loop-champion", train_config)
    champion = registry.register(champion_report.bundle_dir).version
    registry.promote(champion, force=True)

    url = f"sqlite:///{work / 'desk.db'}"
    migrate(url)
    engine = connect(url)
    clock = MovableClock(stream[0].created_at)
    desk = Desk(
        engine,
        OnnxTriager(load_bundle(registry.resolve(CHAMPION)), details=False),
        config=DeskConfig(auto_reply=False, auto_assign=False),
        clock=clock,
    )
    monitor = DriftMonitor(
        registry.resolve(CHAMPION), warn=config.warn, alert=config.alert, size=config.window
    )
    result = LoopResult()
    figures = result.figures
    figures["words_replaced"] = words[:10]
    flagged_at: int | None = None
    false_alarms = 0
    ids: list[int] = []

    def feed(tickets: list[Ticket], offset: int) -> None:
        nonlocal flagged_at, false_alarms
        for i, truth in enumerate(tickets, start=offset):
            clock.now = truth.created_at
            ticket_id = desk.intake(intake_of(truth)).ticket.id
            ids.append(ticket_id)
            _settle(desk, ticket_id, truth)
            if flagged_at is None and (i + 1) % config.check_every == 0 and i + 1 >= config.window:
                with desk.readers() as session:
                    report = monitor.check(session, model_version=champion)
                reason = retrain_reason(
                    None,
                    report,
                    model_version=champion,
                    precision_floor=0.0,
                    alert_signals=config.alert_signals,
                )
                if reason is not None:
                    if i < shift_at:
                        false_alarms += 1
                    else:
                        flagged_at = i + 1 - shift_at
                        figures["flag_reason"] = reason
                        result.monitor_before = report.model_dump(mode="json") if report else None

    feed(stream[: shift_at + config.phase_a], 0)
    figures["flagged_after_tickets"] = flagged_at
    figures["false_alarms_before_shift"] = false_alarms

    # Retraining: confirmed labels + base data -> gate -> challenger.
    outcome = retrain(
        engine,
        registry,
        reason=str(figures.get("flag_reason", "schedule")),
        work_dir=work / "retrain",
        config=train_config,
        base_data=base_file,
        clock=clock,
    )
    figures["retrain"] = {
        "version": outcome.version,
        "installed": outcome.installed,
        "gate": outcome.gate,
        "desk_labels": outcome.desk_labels,
        "training_tickets": outcome.training_tickets,
    }
    if not outcome.installed:
        return result
    challenger = registry.current(CHALLENGER)
    scorer = ShadowScorer(
        OnnxTriager(load_bundle(registry.resolve(CHALLENGER)), details=False),
        desk.sessions,
        clock,
    )
    desk.shadow = scorer
    shadow_start = len(ids)
    feed(stream[shift_at + config.phase_a :], shift_at + config.phase_a)
    scorer.drain()
    scorer.close()

    promoted, comparison, why = promote_if_proven(
        engine,
        registry,
        auto_promote=True,
        min_tickets=config.min_shadow_tickets,
        min_days=0.0,
        clock=clock,
    )
    figures["comparison"] = comparison.model_dump(mode="json") if comparison else None
    figures["promoted"] = promoted
    figures["promotion"] = why
    figures["champion_after"] = registry.current(CHAMPION)

    # Post-shift figures on the shadow phase, from the store.
    truths = {ticket_id: t for ticket_id, t in zip(ids, stream, strict=True)}
    shadow_ids = ids[shadow_start:]
    with desk.readers() as session:
        rows = session.execute(
            select(TicketRow.id, TicketRow.predicted_category, ShadowRow.category)
            .join(ShadowRow, ShadowRow.ticket_id == TicketRow.id)
            .where(TicketRow.id.in_(shadow_ids), of_version(ShadowRow.model_version, challenger))
        ).all()
        health = measure_quality(session)
    new_rows = [r for r in rows if truths[r[0]].category == NEW_CATEGORY]
    figures["shadow_tickets"] = len(rows)
    figures["new_category_tickets_in_shadow"] = len(new_rows)
    figures["new_category_recall_champion"] = _ratio(
        sum(1 for r in new_rows if r[1] == NEW_CATEGORY), len(new_rows)
    )
    figures["new_category_recall_challenger"] = _ratio(
        sum(1 for r in new_rows if r[2] == NEW_CATEGORY), len(new_rows)
    )
    for name, column in (("champion", 1), ("challenger", 2)):
        answered = [r for r in rows if r[column] is not None]
        figures[f"{name}_precision_shadow_phase"] = _ratio(
            sum(1 for r in answered if r[column] == truths[r[0]].category), len(answered)
        )
    figures["target_precision"] = champion_report.manifest.get("target_precision")
    figures["champion_live_quality"] = [
        h.model_dump(mode="json")
        for v in health.versions
        if is_version(v.model_version, champion)
        for h in v.heads
        if h.head == "category"
    ]
    pre_ids = ids[:shift_at]
    with desk.readers() as session:
        pre = session.execute(
            select(TicketRow.id, TicketRow.predicted_category).where(TicketRow.id.in_(pre_ids))
        ).all()
    answered = [r for r in pre if r[1] is not None]
    figures["champion_precision_pre_shift"] = _ratio(
        sum(1 for r in answered if r[1] == truths[r[0]].category), len(answered)
    )
    engine.dispose()
    return result


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def main() -> None:
    """Run the loop from the command line and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="a work directory")
    parser.add_argument("--tickets", type=int, default=LoopConfig.tickets)
    parser.add_argument("--seed", type=int, default=LoopConfig.seed)
    parser.add_argument("--window", type=int, default=LoopConfig.window)
    args = parser.parse_args()
    config = LoopConfig(tickets=args.tickets, seed=args.seed, window=args.window)
    result = run_loop(config, args.out)
    print(json.dumps(result.figures, indent=2, default=str))


if __name__ == "__main__":
    main()
