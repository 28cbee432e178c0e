"""Retraining that proves itself before it acts.

`retrain` exports the desk's confirmed labels (`triage.labels.export`: only what people
decided), adds them to the base training data, trains a bundle, registers it, passes
an offline gate against the champion (both scored on the same held-out tickets), and
installs it as `challenger`: it
then scores in shadow (`triage.health.shadow`) and a person promotes it after
`triage models compare`. `promote_if_proven` promotes it without a person only where
the operator configured `auto_promote`, and only when the shadow comparison shows it
better with 95% confidence over the minimum sample and period. Every step is audited
(`audit_log` entries with no ticket, actor `system:retrain`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from training.config import TrainConfig
from training.pipeline import train
from triage.contract import Ticket
from triage.dataset import iter_tickets, kb_path_for, write_tickets
from triage.health.compare import Comparison, compare_models, shadow_verdict
from triage.labels.export import export_desk
from triage.registry import CHALLENGER, CHAMPION, ModelRegistry
from triage.store import session_factory
from triage.store.models import AuditRow

log = logging.getLogger(__name__)
ACTOR = "system:retrain"


@dataclass
class RetrainOutcome:
    """What a retraining run did."""

    reason: str
    version: str | None
    installed: bool  # became the challenger
    gate: str  # the offline gate's message
    desk_labels: int
    training_tickets: int
    bundle_dir: Path | None


def audit(engine: Engine, action: str, details: dict[str, Any], now: datetime) -> None:
    """A desk-wide audit entry (no ticket) by the retraining job."""
    with session_factory(engine).begin() as session:
        session.add(
            AuditRow(
                ticket_id=None,
                actor=ACTOR,
                created_at=now,
                action=action,
                details=details,
                model_version=details.get("version"),
            )
        )


def retrain(
    engine: Engine,
    registry: ModelRegistry,
    *,
    reason: str,
    work_dir: Path,
    config: TrainConfig,
    base_data: Path | None = None,
    clock: Callable[[], datetime],
    gate_head: str = "category",
    holdout_fraction: float = 0.2,
    max_drop: float = 0.01,
) -> RetrainOutcome:
    """Export confirmed labels, train on them (plus `base_data`), gate, install as
    challenger (see the module docstring)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    audit(engine, "retrain_started", {"reason": reason}, clock())
    exported = work_dir / "desk-labels.parquet"
    report = export_desk(engine, exported)
    tickets = list(iter_tickets(base_data)) if base_data is not None else []
    desk_tickets = list(iter_tickets(exported)) if report.tickets_written else []
    train_tickets, holdout = hold_out(tickets, desk_tickets, gate_head, holdout_fraction)
    data = work_dir / "training.parquet"
    write_tickets(data, train_tickets)
    if base_data is not None and kb_path_for(base_data).exists():
        kb_path_for(data).write_bytes(kb_path_for(base_data).read_bytes())
    stamp = f"{clock():%Y%m%d%H%M%S}"
    out = registry.root / f"{config.bundle_name}-{stamp}"
    # Stratified, not time-ordered: the newest tickets are the desk's, which carry only
    # the labels people set, and a time-ordered test split would hold nothing else.
    trained = train(data, out, replace(config, split="stratified"))
    entry = registry.register(trained.bundle_dir)
    champion = registry.current(CHAMPION)
    gate = offline_gate(
        registry.resolve(CHAMPION) if champion else None,
        trained.bundle_dir,
        holdout,
        gate_head,
        max_drop=max_drop,
    )
    installed = gate["passed"]
    if installed:
        registry.set_challenger(entry.version)
    details = {
        "reason": reason,
        "version": entry.version,
        "desk_labels": report.tickets_written,
        "training_tickets": len(train_tickets),
        "gate": gate,
        "installed_as": CHALLENGER if installed else None,
    }
    audit(engine, "challenger_installed" if installed else "retrain_refused", details, clock())
    log.info("retrained %s: %s", entry.version, gate["message"])
    return RetrainOutcome(
        reason=reason,
        version=entry.version,
        installed=installed,
        gate=gate["message"],
        desk_labels=report.tickets_written,
        training_tickets=len(train_tickets),
        bundle_dir=trained.bundle_dir,
    )


def hold_out(
    base: list[Ticket], desk: list[Ticket], head: str, fraction: float, seed: int = 7
) -> tuple[list[Ticket], list[Ticket]]:
    """(training tickets, held-out tickets) for the gate: tickets neither model trained on.

    Of the base data, the newest `fraction` labelled for `head`: the champion trained on
    the base data with the newest tickets as its (time-ordered) test split, so those are
    the ones it never fitted. Of the desk's labels, a seeded random `fraction`. Both are
    kept out of the candidate's training.
    """
    labelled = sorted(
        (i for i, t in enumerate(base) if getattr(t, head, None) is not None),
        key=lambda i: base[i].created_at.timestamp() if base[i].created_at else 0.0,
    )
    newest = set(labelled[len(labelled) - round(len(labelled) * fraction) :])
    rng = random.Random(seed)
    desk_labelled = [i for i, t in enumerate(desk) if getattr(t, head, None) is not None]
    drawn = set(rng.sample(desk_labelled, round(len(desk_labelled) * fraction)))
    train = [t for i, t in enumerate(base) if i not in newest]
    train += [t for i, t in enumerate(desk) if i not in drawn]
    held = [base[i] for i in sorted(newest)] + [desk[i] for i in sorted(drawn)]
    return train, held


def offline_gate(
    champion_dir: Path | None,
    candidate_dir: Path,
    holdout: list[Ticket],
    head: str,
    *,
    max_drop: float,
) -> dict[str, Any]:
    """Both models on the same held-out tickets: the candidate passes unless its
    macro-F1 on `head` is more than `max_drop` below the champion's. (The registry's
    gate compares each bundle's own test split; after a shift those splits differ in
    kind, and the older model would win on easier tickets.) An abstention counts as a
    wrong answer."""
    from sklearn.metrics import f1_score

    from triage.bundle import load_bundle
    from triage.predictor import OnnxTriager

    truth = [str(getattr(t, head)) for t in holdout]

    def score(bundle_dir: Path) -> float:
        triager = OnnxTriager(load_bundle(bundle_dir), warm_up=False, details=False)
        answers = []
        for result in triager.triage_batch(holdout):
            answer = getattr(result, head)
            abstained = answer is None or answer.abstained or answer.label is None
            answers.append("(abstained)" if abstained else str(answer.label))
        return float(f1_score(truth, answers, labels=sorted(set(truth)), average="macro"))

    candidate = score(candidate_dir) if holdout else 0.0
    if champion_dir is None or not holdout:
        return {
            "passed": bool(holdout),
            "candidate_macro_f1": round(candidate, 4),
            "champion_macro_f1": None,
            "held_out": len(holdout),
            "message": "no champion to compare with" if holdout else "no held-out ticket",
        }
    champion = score(champion_dir)
    passed = candidate >= champion - max_drop
    verb = "passed" if passed else "refused"
    return {
        "passed": passed,
        "candidate_macro_f1": round(candidate, 4),
        "champion_macro_f1": round(champion, 4),
        "held_out": len(holdout),
        "message": f"offline gate {verb}: {head} macro-F1 {candidate:.4f} vs champion "
        f"{champion:.4f} on the same {len(holdout)} held-out tickets (allowed drop {max_drop})",
    }


def promote_if_proven(
    engine: Engine,
    registry: ModelRegistry,
    *,
    auto_promote: bool,
    min_tickets: int,
    min_days: float,
    head: str = "category",
    clock: Callable[[], datetime],
) -> tuple[bool, Comparison | None, str]:
    """Promote the challenger when `auto_promote` is on, its shadow sample and period are
    long enough, and it beats the champion with 95% confidence (the paired difference's
    interval above 0). Returns (promoted, comparison, why)."""
    champion, challenger = registry.current(CHAMPION), registry.current(CHALLENGER)
    if champion is None or challenger is None or champion == challenger:
        return False, None, "no challenger beside the champion"
    readers: Callable[[], Session] = session_factory(engine, read_only=True)
    with readers() as session:
        comparison = compare_models(session, champion, challenger, head=head, now=clock())
    why = shadow_verdict(comparison, min_tickets=min_tickets, min_days=min_days)
    if why is None and (comparison.difference.low or 0.0) <= 0.0:
        why = f"not better with 95% confidence (difference {comparison.difference.value})"
    details = {
        "version": challenger,
        "champion": champion,
        "comparison": comparison.model_dump(mode="json"),
    }
    if why is not None:
        return False, comparison, why
    if not auto_promote:
        audit(engine, "challenger_proven", details, clock())
        return False, comparison, "proven in shadow; auto_promote is off: a person promotes it"
    registry.promote(challenger, force=True)
    audit(engine, "auto_promoted", details, clock())
    return True, comparison, "promoted"
