"""Engines and sessions for SQLite and PostgreSQL.

SQLite: every transaction starts with `BEGIN IMMEDIATE`, which takes the database's
single write lock up front. A read-check-write (an idempotency-key lookup, the worker
picking a due ticket) is therefore atomic, and two workers on one SQLite file
serialise instead of acting on the same ticket twice. PostgreSQL gets row locks
(`SELECT ... FOR UPDATE SKIP LOCKED`) in the worker instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Execution option marking a connection whose transactions only read.
READ_ONLY = "triage_read_only"
# How long a SQLite writer waits for the lock before failing, in seconds.
SQLITE_BUSY_TIMEOUT_S = 30.0


def connect(database_url: str, **kwargs: Any) -> Engine:
    """An engine for `database_url`, configured for the lifecycle core's locking rules.

    Statement parameters never appear in database errors (`hide_parameters`): they are
    ticket text and e-mail addresses, and errors end up in logs.
    """
    kwargs.setdefault("hide_parameters", True)
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take over transaction control from the sqlite3 module so that we can
            # issue BEGIN IMMEDIATE ourselves.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # Read-only sessions (see `session_factory`) start a plain deferred
            # transaction: with WAL they read a snapshot without waiting for writers.
            if connection.get_execution_options().get(READ_ONLY):
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(database_url, pool_pre_ping=True, **kwargs)


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (views are built after commits).

    `read_only=True` sessions must not write: on SQLite they skip the write lock.
    """
    if read_only:
        engine = engine.execution_options(**{READ_ONLY: True})
    return sessionmaker(engine, expire_on_commit=False)
