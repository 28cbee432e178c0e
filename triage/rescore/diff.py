"""The diff report: what the new predictions change against the baseline, overall and per class.

Per head stored by the desk (category, subcategory, priority, team, assignee; those
the bundle has), each ticket falls in one bucket:

- `unchanged` / `changed`: the baseline and the new model both give a label, equal or not;
- `newly_predicted`: no label in the baseline, one now;
- `now_abstains`: a label in the baseline, the new model abstains (routes to a human);
- `neither`: no label on either side.

`per_class` counts, for every label, the tickets that had it (`before`), have it now
(`after`), changed to it (`gained`) and changed away from it (`lost`); `top_changes`
lists the most frequent `from → to` pairs.

Escalation: a ticket is *at risk* when its risk reaches the threshold the desk's worker
would escalate it at (before its SLA breaches), by the worker's own rule
(`EscalationPolicy.threshold_for`): the configured one
(`TRIAGE_ESCALATION_RISK_THRESHOLD`) when set, else the threshold the scoring model's
training chose (`escalation_risk_threshold`, per prediction: the new bundle's for the new
risks, the stored model's for the stored ones), else 0.7 for a model without one. The
baseline is the stored risk, or for a file the `sla_breached` label. `newly_at_risk`
counts tickets at risk now that were not before, broken down by their new category and
priority; `thresholds` lists the thresholds applied on each side, with their tickets.

Counters only: the report is computed chunk by chunk, whatever the backlog's size.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from triage.escalation import EscalationPolicy
from triage.rescore.sources import BASELINE_FIELDS

TOP_CHANGES = 10


class DiffCounter:
    """Accumulates the diff over (baseline, results) chunks; `report()` gives the JSON."""

    def __init__(self, heads: list[str], threshold: float | None, baseline: str) -> None:
        """`threshold`: the configured escalation risk threshold, which wins over the
        models' own (None: each prediction's model's, else the default)."""
        self.heads = [h for h in BASELINE_FIELDS if h in heads]
        self.escalation = "escalation" in heads
        self.policy = EscalationPolicy(risk_threshold=threshold)
        self.baseline = baseline
        self.tickets = 0
        self._buckets: dict[str, Counter[str]] = {h: Counter() for h in self.heads}
        self._before: dict[str, Counter[str]] = {h: Counter() for h in self.heads}
        self._after: dict[str, Counter[str]] = {h: Counter() for h in self.heads}
        self._moves: dict[str, Counter[tuple[str, str]]] = {h: Counter() for h in self.heads}
        self._risk: Counter[str] = Counter()
        # Threshold applied -> tickets, for the stored (before) and new (after) risks.
        self._thresholds: dict[str, Counter[float]] = {"before": Counter(), "after": Counter()}
        # Whether any new prediction carried its model's threshold.
        self._model_chose = False
        self._newly_by: dict[str, Counter[str]] = {"category": Counter(), "priority": Counter()}

    def add(self, baseline: pa.Table, results: pa.Table) -> None:
        """Count one chunk: its baseline columns and its results, row for row."""
        if baseline.num_rows != results.num_rows:
            raise ValueError(f"chunk sizes differ: {baseline.num_rows} vs {results.num_rows}")
        self.tickets += results.num_rows
        for head in self.heads:
            befores = baseline.column(f"baseline_{head}").to_pylist()
            afters = results.column(f"{head}_label").to_pylist()
            buckets, before_n, after_n, moves = (
                self._buckets[head],
                self._before[head],
                self._after[head],
                self._moves[head],
            )
            for before, after in zip(befores, afters, strict=True):
                if before is not None:
                    before_n[before] += 1
                if after is not None:
                    after_n[after] += 1
                if before is None:
                    buckets["neither" if after is None else "newly_predicted"] += 1
                elif after is None:
                    buckets["now_abstains"] += 1
                elif before == after:
                    buckets["unchanged"] += 1
                else:
                    buckets["changed"] += 1
                    moves[(before, after)] += 1
        if self.escalation:
            self._add_risk(baseline, results)

    def _add_risk(self, baseline: pa.Table, results: pa.Table) -> None:
        risks = baseline.column("baseline_risk").to_pylist()
        stored_thresholds = _column(baseline, "baseline_risk_threshold")
        outcomes = baseline.column("baseline_at_risk").to_pylist()
        new = results.column("escalation_risk").to_pylist()
        new_thresholds = _column(results, "escalation_risk_threshold")
        by = {
            name: results.column(f"{name}_label").to_pylist()
            for name in self._newly_by
            if f"{name}_label" in results.column_names
        }
        rows = zip(risks, stored_thresholds, outcomes, new, new_thresholds, strict=True)
        for i, (risk, stored_threshold, outcome, now, new_threshold) in enumerate(rows):
            if risk is not None:
                threshold = self.policy.threshold_for(stored_threshold)
                self._thresholds["before"][threshold] += 1
                before = risk >= threshold
            else:
                before = outcome
            after = False
            if now is not None:
                threshold = self.policy.threshold_for(new_threshold)
                self._thresholds["after"][threshold] += 1
                self._model_chose |= new_threshold is not None
                after = now >= threshold
            if before:
                self._risk["at_risk_before"] += 1
            if after:
                self._risk["at_risk_after"] += 1
            if after and not before:
                self._risk["newly_at_risk"] += 1
                for name, labels in by.items():
                    self._newly_by[name][labels[i] or "(abstained)"] += 1
            elif before and not after:
                self._risk["no_longer_at_risk"] += 1
            if before is None:
                self._risk["no_baseline"] += 1

    def _threshold(self) -> float | None:
        """The threshold the new risks were counted at: the configured one, else the new
        model's when every prediction shared one (None: several, see `thresholds`)."""
        if self.policy.risk_threshold is not None:
            return self.policy.risk_threshold
        after = self._thresholds["after"]
        return next(iter(after)) if len(after) == 1 else None

    def _threshold_source(self) -> str:
        """Where the new predictions' threshold came from, as the worker's audit names it."""
        if self.policy.risk_threshold is not None:
            return "configured"
        return "model's" if self._model_chose else "default"

    def report(self) -> dict[str, Any]:
        """The diff as a JSON-ready dict."""
        heads = {}
        for head in self.heads:
            buckets = self._buckets[head]
            moves = self._moves[head]
            classes = sorted(set(self._before[head]) | set(self._after[head]))
            gained: Counter[str] = Counter()
            lost: Counter[str] = Counter()
            for (before, after), n in moves.items():
                lost[before] += n
                gained[after] += n
            compared = buckets["changed"] + buckets["unchanged"]
            heads[head] = {
                "compared": compared,
                "changed": buckets["changed"],
                "changed_share": round(buckets["changed"] / compared, 4) if compared else None,
                "unchanged": buckets["unchanged"],
                "newly_predicted": buckets["newly_predicted"],
                "now_abstains": buckets["now_abstains"],
                "neither": buckets["neither"],
                "per_class": {
                    c: {
                        "before": self._before[head][c],
                        "after": self._after[head][c],
                        "gained": gained[c],
                        "lost": lost[c],
                    }
                    for c in classes
                },
                "top_changes": [
                    {"from": before, "to": after, "tickets": n}
                    for (before, after), n in moves.most_common(TOP_CHANGES)
                ],
            }
        out: dict[str, Any] = {
            "baseline": self.baseline,
            "tickets": self.tickets,
            "heads": heads,
        }
        if self.escalation:
            out["escalation"] = {
                "threshold": self._threshold(),
                "threshold_source": self._threshold_source(),
                "thresholds": {
                    side: [{"threshold": t, "tickets": n} for t, n in sorted(counts.items())]
                    for side, counts in self._thresholds.items()
                },
                "at_risk_before": self._risk["at_risk_before"],
                "at_risk_after": self._risk["at_risk_after"],
                "newly_at_risk": self._risk["newly_at_risk"],
                "no_longer_at_risk": self._risk["no_longer_at_risk"],
                "without_baseline": self._risk["no_baseline"],
                "newly_at_risk_by": {
                    name: dict(counts.most_common())
                    for name, counts in self._newly_by.items()
                    if counts
                },
            }
        return out


def _column(table: pa.Table, name: str) -> list[Any]:
    """The column's values, or nulls when the table has no such column (a baseline or
    result without recorded thresholds)."""
    if name in table.column_names:
        return table.column(name).to_pylist()
    return [None] * table.num_rows
