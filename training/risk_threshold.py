"""The escalation head's risk threshold, matched to the history's rate (issue 15, item 6).

The desk escalates a ticket early when its escalation risk reaches a threshold
(`triage.escalation`). The head is Platt-scaled to the history's base rate, so its
probabilities are honest but rarely high: on the demo desk the mean risk is 0.125 for a
14% escalation rate and the largest 0.57, and a fixed 0.7 escalated nothing. A threshold
on a probability scale says "how sure", not "how many"; what a desk can check against its
history is how many. So training picks the threshold by rate: the risk at which the share
of calibration tickets (calibrated probabilities, never the test split) at or above it
equals the history's rate of escalations *not explained by an SLA breach*. Breach-driven
escalations come from the desk's own SLA rules (a late ticket escalates whatever the
model says); the risk rule covers the rest, at the rate the history had. Without an
`sla_breached` column the whole escalation rate is the target (the rule says so).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from triage.contract import Ticket

# Above every probability: the risk rule never fires (a head with no signal).
NEVER = 1.01


def target_rate(tickets: list[Ticket], rows: np.ndarray, field: str) -> tuple[float, str, int]:
    """(rate, rule, rows counted): the share of `rows` escalated without a breach.

    Counted over the tickets where both `escalated` and `sla_breached` are known; when
    none has both (or the head learned `sla_breached` itself), the head's own positive
    rate over the tickets where its field is known.
    """
    if field == "escalated":
        both = [
            tickets[i]
            for i in rows
            if tickets[i].escalated is not None and tickets[i].sla_breached is not None
        ]
        if both:
            unexplained = sum(bool(t.escalated) and not t.sla_breached for t in both)
            return unexplained / len(both), "rate_matched", len(both)
    known = [getattr(tickets[i], field) for i in rows if getattr(tickets[i], field) is not None]
    rate = sum(bool(v) for v in known) / len(known) if known else 0.0
    return rate, f"rate_matched_{field}", len(known)


def rate_matched_threshold(risk: np.ndarray, rate: float) -> float:
    """The risk t at which the share of `risk` >= t is `rate` (the k-th largest risk,
    k = round(rate * n)); `NEVER` for a rate that rounds to no ticket."""
    k = int(round(rate * len(risk)))
    if k <= 0 or len(risk) == 0:
        return NEVER
    ordered = np.sort(np.asarray(risk, dtype=np.float64))[::-1]
    return float(ordered[min(k, len(ordered)) - 1])


def choose(
    tickets: list[Ticket],
    field: str,
    rows: tuple[np.ndarray, np.ndarray],
    cal_risk: np.ndarray,
    no_signal: bool,
) -> dict[str, Any]:
    """The manifest's `risk_threshold` entry: the threshold, how it was chosen, the target
    rate (from the training part, `rows[0]`), the share of calibration tickets it flags and
    the test split's own rate (`rows[1]`; the caller adds `test_rate`, the share it flags).

    `cal_risk`: calibrated positive-class probabilities of the calibration rows (the
    newest training slice on a time split, out-of-fold scores otherwise)."""
    train_rows, test_rows = rows
    rate, rule, counted = target_rate(tickets, train_rows, field)
    value = NEVER if no_signal else rate_matched_threshold(cal_risk, rate)
    test_target, _, _ = target_rate(tickets, test_rows, field)
    return {
        "value": value,
        "rule": "no_signal" if no_signal else rule,
        "rate": rate,
        "source_rows": counted,
        "calibration_rows": len(cal_risk),
        "calibration_rate": float(np.mean(cal_risk >= value)) if len(cal_risk) else 0.0,
        "test_target_rate": test_target,
    }


def summary_line(entry: dict[str, Any]) -> str:
    """One line of the training summary for the manifest's `risk_threshold` entry."""
    if entry["rule"] == "no_signal":
        return "escalation: no signal: the risk rule never fires (threshold above 1)"
    basis = (
        "escalations not explained by an SLA breach"
        if entry["rule"] == "rate_matched"
        else f"the whole rate of `{entry['rule'].removeprefix('rate_matched_')}` "
        "(no sla_breached beside it)"
    )
    return (
        f"escalation: risk threshold {entry['value']:.3f}, rate-matched to {entry['rate']:.1%} "
        f"of the training part ({basis}, {entry['source_rows']} tickets); flags "
        f"{entry['calibration_rate']:.1%} of the {entry['calibration_rows']} calibration tickets "
        f"and {entry.get('test_rate', 0.0):.1%} of the test split (its own rate: "
        f"{entry['test_target_rate']:.1%})"
    )
