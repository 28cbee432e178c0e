"""Storage of the lifecycle core: SQLAlchemy models, engines and Alembic migrations.

`migrate(url)` brings a database to the latest schema; nothing autogenerates at run
time. SQLite (the default, a file) and PostgreSQL (`postgresql+psycopg://...`) are
both supported and both tested.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from triage.store.engine import connect, session_factory

if TYPE_CHECKING:  # alembic is imported only when a migration runs
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

__all__ = [
    "MIGRATIONS",
    "connect",
    "current_revision",
    "head_revision",
    "migrate",
    "session_factory",
]


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(database_url: str | Engine, revision: str = "head") -> None:
    """Upgrade the database at `database_url` (or an engine) to `revision`."""
    from alembic import command

    engine = connect(database_url) if isinstance(database_url, str) else database_url
    try:
        command.upgrade(_alembic_config(engine), revision)
    finally:
        if isinstance(database_url, str):
            engine.dispose()


def current_revision(database_url: str | Engine) -> str | None:
    """The schema revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    engine = connect(database_url) if isinstance(database_url, str) else database_url
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if isinstance(database_url, str):
            engine.dispose()


def head_revision() -> str:
    """The newest schema revision this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head
