"""What a rescore computes per ticket, and the columns of its results file.

`heads_triager` is the in-process predictor with the parts a rescore does not keep
switched off (`OnnxTriager(details=False)`): the explanation terms, the similar tickets
and the auto-reply match (about 40% of a TF-IDF-only bundle's time per ticket). Everything
it does return comes from `OnnxTriager`'s own code (the same graphs, the same
length-sorted micro-batches, calibration, thresholds, language check and hierarchy), so
a label, a confidence or an abstention is exactly what `/v1/triage` answers for the same ticket;
tests/triage/test_rescore.py compares the two.

A results file has one row per ticket: `ticket_id`; for every head of the bundle
`HEAD_label` (null when the head abstains), `HEAD_confidence`, `HEAD_abstained` and
`HEAD_top_k` (label, probability); `escalation_risk` and `escalation_risk_threshold` (the
risk at which the model's training flags a ticket, null for bundles without one: what the
desk's worker compares the risk with unless a threshold is configured); `language`;
`model_version`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from triage.bundle import Bundle
from triage.contract import TriageResult
from triage.predictor import OnnxTriager

TOP_K_TYPE = pa.list_(pa.struct([("label", pa.string()), ("probability", pa.float64())]))


def heads_triager(bundle: Bundle, **kwargs: Any) -> OnnxTriager:
    """The predictor without explanations, similar tickets or auto-replies: `explanation`
    comes back empty and `auto_reply` null; heads, escalation risk and language as served."""
    return OnnxTriager(bundle, details=False, **kwargs)


def head_names(manifest: dict[str, Any]) -> list[str]:
    """The bundle's heads a `TriageResult` carries, in manifest order (the column order)."""
    return [str(h["name"]) for h in manifest["heads"] if h["name"] in TriageResult.model_fields]


def results_schema(heads: list[str]) -> pa.Schema:
    """Columns of a results file for a bundle with `heads`."""
    fields = [pa.field("ticket_id", pa.string(), nullable=False)]
    for head in heads:
        fields += [
            pa.field(f"{head}_label", pa.string()),
            pa.field(f"{head}_confidence", pa.float64()),
            pa.field(f"{head}_abstained", pa.bool_()),
            pa.field(f"{head}_top_k", TOP_K_TYPE),
        ]
    fields += [
        pa.field("escalation_risk", pa.float64()),
        pa.field("escalation_risk_threshold", pa.float64()),
        pa.field("language", pa.string()),
        pa.field("model_version", pa.string()),
    ]
    return pa.schema(fields)


def results_table(results: list[TriageResult], heads: list[str]) -> pa.Table:
    """`TriageResult`s as rows of the results file (column by column: no dict per row)."""
    columns: dict[str, list[Any]] = {"ticket_id": [r.ticket_id for r in results]}
    for head in heads:
        preds = [getattr(r, head) for r in results]
        columns[f"{head}_label"] = [p.label if p is not None else None for p in preds]
        columns[f"{head}_confidence"] = [p.confidence if p is not None else None for p in preds]
        columns[f"{head}_abstained"] = [p.abstained if p is not None else None for p in preds]
        columns[f"{head}_top_k"] = [
            [{"label": s.label, "probability": s.probability} for s in p.top_k]
            if p is not None
            else None
            for p in preds
        ]
    columns["escalation_risk"] = [
        r.escalation.risk if r.escalation is not None else None for r in results
    ]
    columns["escalation_risk_threshold"] = [
        r.escalation.risk_threshold if r.escalation is not None else None for r in results
    ]
    columns["language"] = [r.language.code if r.language is not None else None for r in results]
    columns["model_version"] = [r.model_version for r in results]
    return pa.Table.from_pydict(columns, schema=results_schema(heads))
