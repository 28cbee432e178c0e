"""The import report as the lines `triage data import` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from triage.ingest.mapping import LABEL_BY_NAME
from triage.ingest.outcomes import OUTCOME_EXTRA_KEYS

if TYPE_CHECKING:
    from triage.ingest.report import ImportReport

_SHOWN_UNMAPPED = 30


def plural(count: int, word: str) -> str:
    """`1 ticket`, `2 tickets`, `1,000 rows`."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _counts(report: ImportReport) -> str:
    verb = "would write" if report.dry_run else "wrote"
    parts = [f"{verb} {plural(report.rows_written, 'ticket')}"]
    parts.append(f"{plural(report.blank_rows, 'blank row')} skipped")
    parts.append(f"dropped {plural(report.rows_dropped, 'row')} (documented quirks)")
    if report.dedupe or report.duplicates:
        duplicates = plural(report.duplicates, "duplicate id")
        parts.append(f"{duplicates} dropped (--dedupe {report.dedupe})")
    parts.append(f"{plural(report.rows_rejected, 'row')} rejected")
    return "; ".join(parts)


def _fields(report: ImportReport) -> list[str]:
    lines = ["columns -> fields:"]
    width = max((len(c.source()) for c in report.columns), default=0)
    for use in report.columns:
        label = "  [label]" if use.is_label else ""
        if use.field.startswith("extra.") and use.field[6:] in OUTCOME_EXTRA_KEYS:
            label = "  [outcome: not known at open]"
        note = f"; {use.note}" if use.note else ""
        source = use.source() or "(history)"
        lines.append(f"  {source:<{width}} -> {use.field} ({use.how}{note}){label}")
    return lines


def _not_labels(report: ImportReport) -> list[str]:
    """Label-named columns kept as structured fields (no map or preset made them labels)."""
    kept = [c for c in report.columns if c.how == LABEL_BY_NAME]
    if not kept:
        return []
    shown = ", ".join(f"{c.source()} -> {c.field}" for c in kept)
    return [f"not labels (named like one, never a label by name): {shown}; --map FIELD=COLUMN"]


def _labels(report: ImportReport) -> str:
    labels = report.labels
    if not labels:
        return (
            "labels: none (nothing for the trainer to learn from; map one, "
            "e.g. --map category=Type)"
        )
    shown = ", ".join(f"{c.field} <- {c.source() or '(history)'} ({c.how})" for c in labels)
    if all(c.how == "dataset" for c in labels):
        return f"labels: {shown}; fixed by the dataset's importer"
    return f"labels: {shown}; leave one out with --map FIELD="


def _unmapped(report: ImportReport) -> list[str]:
    if report.unmapped is None:
        return []
    if not report.unmapped:
        return ["not imported: none"]
    shown = ", ".join(report.unmapped[:_SHOWN_UNMAPPED])
    more = len(report.unmapped) - _SHOWN_UNMAPPED
    tail = f" and {more} more" if more > 0 else ""
    count = plural(len(report.unmapped), "column")
    return [
        f"not imported ({count}; add one with --map FIELD=COLUMN or --map extra.NAME=COLUMN): "
        f"{shown}{tail}"
    ]


def _time(report: ImportReport) -> list[str]:
    span = report.time_range()
    if span is None:
        lines = ["time range: no created_at"]
    else:
        first, last, known = span
        lines = [
            f"time range: {first} .. {last} ({known:,} of {report.rows_written:,} with created_at)"
        ]
    if report.split is not None:
        kind = "by time" if report.split.kind == "time" else "stratified (not by time)"
        lines.append(f"trainer split: {kind}: {report.split.reason}")
    return lines


def report_lines(report: ImportReport) -> list[str]:
    """Every line of the report, in reading order."""
    head = f"import report: {report.source} --format {report.format}"
    if report.detected:
        head += f" ({report.detected})"
    lines = [head, _counts(report)]
    if report.columns:
        lines += _fields(report)
    lines.append(_labels(report))
    lines += _not_labels(report)
    lines += _unmapped(report)
    lines += [f"derived: {d}" for d in report.derivations]
    lines += _time(report)
    if report.rejected:
        by_field = ", ".join(f"{n:,} x {f}" for f, n in report.rejected.most_common())
        where = f" -> {report.rejects_out}" if report.rejects_out else ""
        lines.append(f"rejected rows by field: {by_field}{where}")
    for reason, count in report.dropped.most_common():
        lines.append(f"dropped {count:,} x {reason}")
    lines += [f"warning: {w}" for w in report.warnings]
    lines += [f"note: {n}" for n in report.notes]
    return lines
