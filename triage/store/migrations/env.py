"""Alembic environment: runs migrations on the engine `triage.store.migrate` passes in."""

from __future__ import annotations

from alembic import context

from triage.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run the migrations in one transaction on the caller's engine."""
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it into a new one and dropping the old: with
            # foreign keys on, that drop would cascade into every table referencing it (the
            # audit log, messages, corrections). The pragma only takes effect outside a
            # transaction, so it goes to the driver before SQLAlchemy begins one; the keys
            # are checked once the migrations are done.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(
                        f"migration left rows with dangling foreign keys: {broken[:5]}"
                    )
        connection.commit()
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; use triage db upgrade")
run_migrations_online()
