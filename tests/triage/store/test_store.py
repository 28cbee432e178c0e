"""The schema: migrations match the models, round-trip, and keep the invariants we rely on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from triage.store import connect, current_revision, head_revision, migrate, session_factory
from triage.store.models import Base, TagRow, TicketRow

HEAD = head_revision()


def _ticket(**kwargs: object) -> TicketRow:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    values: dict[str, object] = {
        "created_at": now,
        "updated_at": now,
        "channel": "email",
        "status": "new",
        "triage_state": "queued",
    }
    values.update(kwargs)
    return TicketRow(**values)


def test_migrations_match_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = connect(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
    assert current_revision(database_url) == HEAD


def test_migrate_is_idempotent_and_downgrades(database_url: str) -> None:
    migrate(database_url)
    assert current_revision(database_url) == HEAD


def test_downgrade_then_upgrade_on_a_fresh_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    from triage.store import _alembic_config

    url = f"sqlite:///{tmp_path / 'x.db'}"
    migrate(url)
    engine = connect(url)
    command.downgrade(_alembic_config(engine), "base")
    engine.dispose()
    assert current_revision(url) is None
    migrate(url)
    assert current_revision(url) == HEAD


def test_datetimes_come_back_aware_utc(engine) -> None:  # type: ignore[no-untyped-def]
    paris = timezone(timedelta(hours=1))
    local = datetime(2026, 1, 5, 10, 30, tzinfo=paris)
    Session = session_factory(engine)
    with Session.begin() as session:
        row = _ticket(first_response_due_at=local)
        session.add(row)
    with Session() as session:
        got = session.scalars(select(TicketRow)).one()
        assert got.first_response_due_at == local
        assert got.first_response_due_at.utcoffset() == timedelta(0)
        assert got.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(engine) -> None:  # type: ignore[no-untyped-def]
    Session = session_factory(engine)
    with pytest.raises(Exception, match="naive datetime"), Session.begin() as session:
        session.add(_ticket(created_at=datetime(2026, 1, 5)))


def test_idempotency_key_is_unique(engine) -> None:  # type: ignore[no-untyped-def]
    Session = session_factory(engine)
    with Session.begin() as session:
        session.add(_ticket(idempotency_key="k1"))
    with pytest.raises(IntegrityError), Session.begin() as session:
        session.add(_ticket(idempotency_key="k1"))
    with Session() as session:
        assert len(session.scalars(select(TicketRow)).all()) == 1


def test_tags_json_and_cascade(engine) -> None:  # type: ignore[no-untyped-def]
    Session = session_factory(engine)
    with Session.begin() as session:
        row = _ticket(extra={"impact": 2, "vip": True})
        row.tags = [TagRow(tag="billing"), TagRow(tag="vip")]
        session.add(row)
    with Session.begin() as session:
        got = session.scalars(select(TicketRow)).one()
        assert got.extra == {"impact": 2, "vip": True}
        assert sorted(t.tag for t in got.tags) == ["billing", "vip"]
        session.delete(got)
    with Session() as session:
        assert session.scalars(select(TagRow)).all() == []


def test_concurrent_writers_do_not_fail(engine) -> None:  # type: ignore[no-untyped-def]
    """SQLite serialises writers behind BEGIN IMMEDIATE; PostgreSQL just runs them."""
    Session = session_factory(engine)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                with Session.begin() as session:
                    session.add(_ticket(idempotency_key=f"w{n}-{i}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session() as session:
        assert len(session.scalars(select(TicketRow)).all()) == 40


def test_stepwise_upgrade_keeps_existing_tickets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0001")
    engine = connect(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tickets (created_at, updated_at, channel, subject, body, extra, "
                "status, tier,"
                " escalated, sla_breached, needs_followup, triage_state, triage_attempts)"
                " VALUES ('2026-01-05 09:00:00', '2026-01-05 09:00:00', 'email', 's', 'b', '{}', "
                "'new', 1,"
                " 0, 0, 0, 'queued', 0)"
            )
        )
    migrate(engine)
    assert head_revision() == "0007" and current_revision(engine) == "0007"
    with session_factory(engine)() as session:
        row = session.scalars(select(TicketRow)).one()
        assert row.subject == "s" and row.auto_reply_id is None
        assert row.priority_unconfirmed is False and row.auto_reply_due_at is None
    engine.dispose()


def test_readers_do_not_wait_for_a_writer(engine) -> None:  # type: ignore[no-untyped-def]
    """On SQLite writers hold BEGIN IMMEDIATE; read-only sessions read a snapshot beside them."""
    writers = session_factory(engine)
    readers = session_factory(engine, read_only=True)
    with writers.begin() as writer:
        writer.add(_ticket(idempotency_key="w"))
        writer.flush()  # the write lock is held from here to the commit
        with readers() as reader:
            assert reader.scalars(select(TicketRow)).all() == []
    with readers() as reader:
        assert len(reader.scalars(select(TicketRow)).all()) == 1


def test_upgrading_keeps_every_row_of_the_tables_that_reference_tickets(tmp_path) -> None:
    """SQLite's batch migrations rebuild `tickets`; with foreign keys on, dropping the old
    table would cascade into the audit log, messages, tags and corrections."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0002")
    engine = connect(url)
    stamp = "2026-01-05 09:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tickets (id, created_at, updated_at, channel, subject, body, extra, "
                "status, "
                "tier, escalated, sla_breached, needs_followup, triage_state, triage_attempts) "
                f"VALUES (1, '{stamp}', '{stamp}', 'email', 's', 'b', '{{}}', 'open', 1, 0, 0, 0, "
                f"'done', 1)"
            )
        )
        conn.execute(
            text(
                f"INSERT INTO audit_log (ticket_id, actor, created_at, action, details) "
                f"VALUES (1, 'agent:ann', '{stamp}', 'update', '{{}}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO messages (ticket_id, direction, channel, subject, body, kind, "
                "created_at) "
                f"VALUES (1, 'inbound', 'email', 's', 'b', 'reply', '{stamp}')"
            )
        )
        conn.execute(text("INSERT INTO ticket_tags (ticket_id, tag) VALUES (1, 'vip')"))
        conn.execute(
            text(
                "INSERT INTO corrections (ticket_id, field, new_value, actor, created_at) "
                f"VALUES (1, 'category', 'Billing', 'agent:ann', '{stamp}')"
            )
        )
    engine.dispose()

    migrate(url)

    engine = connect(url)
    with engine.connect() as conn:
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("tickets", "audit_log", "messages", "ticket_tags", "corrections")
        }
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    engine.dispose()
    assert counts == {
        "tickets": 1,
        "audit_log": 1,
        "messages": 1,
        "ticket_tags": 1,
        "corrections": 1,
    }
