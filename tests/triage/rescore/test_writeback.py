"""`rescore --db` on SQLite and PostgreSQL: the dry run writes nothing, `--apply` writes the
model's columns and an audit entry under the new version, never what people decided.

The desk's tickets are triaged first by the scripted triager (model `scripted-1`, see
tests/triage/conftest.py); the rescore uses the real demo bundle.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from triage.contract import Channel
from triage.desk import Desk, NewTicket, Status, TicketChanges, TriageState
from triage.errors import InputFileError, TriageError
from triage.rescore import RescoreOptions, StoreSource, checkpoint_dir_for, rescore
from triage.rescore.writeback import apply_results
from triage.store import migrate
from triage.store.models import AuditRow, CorrectionRow, TicketRow

pytestmark = pytest.mark.slow  # a bundle load per rescore

PERSON = "agent:alice"


def _new(subject: str, body: str) -> NewTicket:
    return NewTicket(channel=Channel.email, subject=subject, body=body, requester="c@example.com")


def _desk_with_backlog(desk: Desk, triager) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Five tickets: routed by the model, in the human queue, overridden by a person,
    still queued (service down at intake), and solved (not part of the backlog)."""
    ids = {
        "routed": desk.intake(_new("Refund", "I was charged twice, refund please")).ticket.id,
        "human_queue": desk.intake(_new("Printer", "the printer does not print")).ticket.id,
        "overridden": desk.intake(_new("Refund", "refund the annual plan")).ticket.id,
    }
    desk.update(ids["overridden"], TicketChanges(category="Account Access"), actor=PERSON)
    triager.down = True
    ids["queued"] = desk.intake(_new("Login", "cannot log in since yesterday")).ticket.id
    triager.down = False
    ids["solved"] = desk.intake(_new("Refund", "refund for order 1234")).ticket.id
    desk.update(ids["solved"], TicketChanges(status=Status.solved), actor=PERSON)
    return ids


def _dump(desk: Desk) -> dict[str, Any]:
    """Every stored column of every ticket, and every audit entry and correction."""
    with desk.sessions() as session:

        def rows(model) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
            return [
                {c.key: getattr(r, c.key) for c in model.__mapper__.column_attrs}
                for r in session.scalars(select(model).order_by(model.id)).all()
            ]

        return {
            "tickets": rows(TicketRow),
            "audit": rows(AuditRow),
            "corrections": rows(CorrectionRow),
        }


def _options(bundle: Path, url: str, out: Path, apply: bool) -> RescoreOptions:
    return RescoreOptions(
        bundle=bundle, source=StoreSource(url), out=out, workers=1, threads=1, apply=apply
    )


def test_dry_run_scores_the_open_backlog_and_writes_nothing(
    desk: Desk,
    triager,
    database_url: str,
    demo_bundle: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    ids = _desk_with_backlog(desk, triager)
    before = _dump(desk)
    out = tmp_path / "results.parquet"
    report = rescore(_options(demo_bundle, database_url, out, apply=False))
    assert _dump(desk) == before
    assert report.applied is None

    results = pq.read_table(out).to_pylist()
    # Open tickets only, in id order, named as the desk names them.
    open_ids = [ids[k] for k in ("routed", "human_queue", "overridden", "queued")]
    assert [r["ticket_id"] for r in results] == [f"T-{i}" for i in open_ids]
    # The diff compares with what is stored: scripted-1's predictions.
    stored = {t["id"]: t for t in before["tickets"]}
    category = report.diff["heads"]["category"]
    pairs = [
        (stored[i]["predicted_category"], r["category_label"])
        for i, r in zip(open_ids, results, strict=True)
    ]
    assert category["changed"] == sum(1 for b, a in pairs if b and a and b != a)
    assert category["unchanged"] == sum(1 for b, a in pairs if b and a and b == a)
    assert category["newly_predicted"] == sum(1 for b, a in pairs if b is None and a)
    assert category["now_abstains"] == sum(1 for b, a in pairs if b and a is None)
    assert report.diff["baseline"] == "predictions stored in the desk"


def test_apply_writes_the_models_columns_with_an_audit_entry_and_is_idempotent(
    desk: Desk,
    triager,
    database_url: str,
    demo_bundle: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    ids = _desk_with_backlog(desk, triager)
    before = {t["id"]: t for t in _dump(desk)["tickets"]}
    report = rescore(_options(demo_bundle, database_url, tmp_path / "r.parquet", apply=True))
    assert report.applied is not None
    assert report.applied.as_dict() == {
        "updated": 3,
        "unchanged": 0,
        "skipped_queued": 1,
        "skipped_closed": 0,
        "missing": 0,
    }
    results = {r["ticket_id"]: r for r in pq.read_table(tmp_path / "r.parquet").to_pylist()}
    after = {t["id"]: t for t in _dump(desk)["tickets"]}
    for key in ("routed", "human_queue", "overridden"):
        number = ids[key]
        row, new = after[number], results[f"T-{number}"]
        assert row["model_version"] == report.model_version != "scripted-1"
        for field in ("category", "subcategory", "priority", "team", "assignee"):
            if f"{field}_label" in new:
                assert row[f"predicted_{field}"] == new[f"{field}_label"], (key, field)
        assert row["escalation_risk"] == new["escalation_risk"]
        # The new model's own threshold goes with its risk: the worker compares the two
        # (the scripted triager recorded none; the demo bundle's training chose one).
        assert new["escalation_risk_threshold"] is not None
        assert row["escalation_risk_threshold"] == new["escalation_risk_threshold"]
        assert row["prediction"]["escalation"]["risk_threshold"] == new["escalation_risk_threshold"]
        assert row["prediction"]["category"]["label"] == new["category_label"]
        assert row["prediction"]["model_version"] == report.model_version
        # What people work with stays: the model's intake fill-ins and the override alike.
        for field in ("category", "priority", "team", "assignee", "status", "tier", "triage_state"):
            assert row[field] == before[number][field], (key, field)
        entries = [e for e in desk.audit(number) if e.action == "rescored"]
        assert len(entries) == 1
        assert entries[0].actor == "system:rescore"
        assert entries[0].model_version == report.model_version
        assert entries[0].details["model_version"] == {
            "old": "scripted-1",
            "new": report.model_version,
        }
    assert after[ids["overridden"]]["category"] == "Account Access"
    # Never triaged: left to the worker's intake triage, untouched here.
    assert after[ids["queued"]] == before[ids["queued"]]
    assert after[ids["solved"]] == before[ids["solved"]]

    again = rescore(_options(demo_bundle, database_url, tmp_path / "r2.parquet", apply=True))
    assert again.applied is not None
    assert (again.applied.updated, again.applied.unchanged) == (0, 3)
    assert again.diff["heads"]["category"]["changed"] == 0
    assert [e.action for e in desk.audit(ids["routed"])].count("rescored") == 1


def test_apply_leaves_tickets_solved_since_the_snapshot(
    desk: Desk,
    triager,
    database_url: str,
    demo_bundle: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    ids = _desk_with_backlog(desk, triager)
    out = tmp_path / "results.parquet"
    rescore(_options(demo_bundle, database_url, out, apply=False))
    desk.update(ids["routed"], TicketChanges(status=Status.solved), actor=PERSON)
    applied = apply_results(database_url, out)
    assert (applied.updated, applied.skipped_closed, applied.skipped_queued) == (2, 1, 1)
    assert desk.get(ids["routed"]).model_version == "scripted-1"
    assert desk.get(ids["human_queue"]).triage_state is TriageState.needs_human


def test_a_database_without_the_current_store_is_refused_before_anything_is_staged(
    demo_bundle: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.db"
    out = tmp_path / "results.parquet"
    with pytest.raises(InputFileError, match="no such database file"):
        rescore(_options(demo_bundle, f"sqlite:///{missing}", out, apply=False))
    # Not created on the way (SQLite creates a file on connect), nothing staged.
    assert not missing.exists() and not checkpoint_dir_for(out).exists()

    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(TriageError, match=r"no help-desk store.*`triage db upgrade`"):
        StoreSource(f"sqlite:///{empty}").fingerprint()

    old = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(old, "0002")
    with pytest.raises(TriageError, match=r"schema revision 0002.*run `triage db upgrade`"):
        StoreSource(old).fingerprint()
    migrate(old)
    assert StoreSource(old).fingerprint() == {"kind": "store", "database": old}
