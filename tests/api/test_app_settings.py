"""`create_app(settings)` honours every field of the settings it is given.

The environment holds a third value for every field (`TRIAGE_*`, different from the
given one), so a part of the app that reads the environment instead of its settings
shows up here. `ROWS` has one row per `Settings` field: a probe that finds the given
value at its consumer, or the reason the API does not read the field. A field added
to `Settings` without a row fails `test_every_settings_field_has_a_row`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from triage.keys import create_key
from triage.settings import Settings, get_settings

pytestmark = pytest.mark.slow

TICKET = {"id": "T-1", "subject": "Invoice charged twice", "body": "Please refund me."}


@dataclass
class Served:
    """The app built from the given settings, running, and what the probes need."""

    app: FastAPI
    client: TestClient
    given: Settings
    key: str  # a key in the given keys file
    env_key: str  # a key only in the environment's keys file
    demo_bundle: Path
    tmp: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def triage(self, body: str) -> Any:
        return self.client.post("/v1/triage", json={**TICKET, "body": body}, headers=self.headers)


Probe = Callable[[Served], None]


@dataclass(frozen=True)
class Row:
    """A field's given value, the environment's (a string, as the environment holds it),
    and a probe, or why the API does not read the field."""

    given: Any
    env: str
    probe: Probe | None = None
    unread_because: str = ""


# -- probes ------------------------------------------------------------------------------


def _served_from_the_given_registry(s: Served) -> None:
    # The alias resolved in the given models_dir; reload by alias reads it there too.
    assert s.app.state.holder.source == "alias 'champion'"
    assert s.app.state.holder.current.path.resolve() == s.demo_bundle.resolve()
    r = s.client.post("/v1/admin/reload", json={"model": "champion"}, headers=s.headers)
    assert r.status_code == 200, r.text


def _bundle_path_is_served(s: Served) -> None:
    from api.app import create_app

    given = s.given.model_dump()
    app = create_app(
        Settings(_env_file=None, **{**given, "bundle": s.demo_bundle, "model_alias": None})
    )
    assert app.state.holder.source == f"bundle {s.demo_bundle.name}"
    assert app.state.holder._resolve() == s.demo_bundle


def _given_keys_file_is_read(s: Served) -> None:
    assert s.client.get("/v1/model", headers=s.headers).status_code == 200
    env_only = {"Authorization": f"Bearer {s.env_key}"}
    assert s.client.get("/v1/model", headers=env_only).status_code == 401


def _auth_is_on(s: Served) -> None:
    assert s.client.get("/v1/model").status_code == 401


def _sessions(s: Served) -> list[Any]:
    bundle = s.app.state.holder.current.bundle
    return [bundle.heads, bundle.encoder._session]


def _onnx_threads(s: Served) -> None:
    encoder = s.app.state.holder.current.bundle.encoder
    assert encoder.threads == s.given.onnx_threads
    assert encoder._session.get_session_options().intra_op_num_threads == s.given.onnx_threads


def _onnx_spinning(s: Served) -> None:
    for session in _sessions(s):
        options = session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def _language_cache(s: Served) -> None:
    assert list(Path(s.given.language_cache_dir).glob("py3langid-*/*.npy"))
    assert not (s.tmp / "env" / "language").exists()


def _body_limit(s: Served) -> None:
    limit = s.given.max_body_bytes
    # Under the limit the body is read (and refused for its text length, a 422)...
    assert s.triage("x" * (limit - 1_000)).status_code == 422
    # ...over it, it is not.
    assert s.triage("x" * (limit + 1_000)).status_code == 413


def _text_limit(s: Served) -> None:
    limit = s.given.max_text_chars - len(TICKET["subject"])
    assert s.triage("y" * limit).status_code == 200
    r = s.triage("y" * (limit + 1))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"


def _batch_limit(s: Served) -> None:
    tickets = [{**TICKET, "id": f"T-{n}"} for n in range(s.given.max_batch + 1)]
    url = "/v1/triage/batch"
    ok = s.client.post(url, json={"tickets": tickets[:-1]}, headers=s.headers)
    assert ok.status_code == 200, ok.text
    assert s.client.post(url, json={"tickets": tickets}, headers=s.headers).status_code == 422


def _logs_text(s: Served, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="triage.api"):
        assert s.triage("my printer prints blank pages").status_code == 200
    assert "my printer prints blank pages" in caplog.text


def _watcher(s: Served) -> None:
    assert s.app.state.watcher is not None
    assert s.app.state.watcher.interval_s == s.given.model_watch_interval_s


def _prediction_slots(s: Served) -> None:
    slots = s.app.state.prediction_slots
    taken = [slots.acquire(blocking=False) for _ in range(s.given.max_concurrent_predictions)]
    try:
        assert all(taken)
        assert not slots.acquire(blocking=False)
    finally:
        for _ in taken:
            slots.release()


def _desk_served(s: Served) -> None:
    r = s.client.post("/v1/tickets", json={"channel": "web", "body": "hi"}, headers=s.headers)
    assert r.status_code == 201, r.text


def _given_database(s: Served) -> None:
    from sqlalchemy import create_engine, func, select

    from triage.store.models import TicketRow

    _desk_served(s)
    engine = create_engine(s.given.database_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(TicketRow)) >= 1
    finally:
        engine.dispose()
    assert not (s.tmp / "env" / "desk.db").exists()


def _calendar(s: Served) -> Any:
    return s.app.state.desk.sla.calendar


def _hours(s: Served) -> None:
    calendar = _calendar(s)
    assert (calendar.days, calendar.start, calendar.end) == (
        frozenset({1, 2, 3, 4, 5}),
        time(10),
        time(16),
    )


def _timezone(s: Served) -> None:
    assert _calendar(s).tz == ZoneInfo(s.given.business_timezone)


def _holidays(s: Served) -> None:
    assert _calendar(s).holidays == frozenset(s.given.business_holidays)


def _policies(s: Served) -> None:
    assert list(s.app.state.desk.sla.policies) == ["p1", "p2"]


def _config(name: str, expected: Callable[[Settings], Any]) -> Probe:
    def probe(s: Served) -> None:
        assert getattr(s.app.state.desk.config, name) == expected(s.given)

    return probe


def _console_signs_with_the_given_secret(s: Served) -> None:
    # A cookie signed with the given secret verifies; the environment's secret would not.
    from api.console.session import SessionSigner

    assert s.given.console_secret is not None
    ours = SessionSigner(s.given.console_secret, 3600)
    theirs = s.app.state.console_signer
    assert theirs._mac(b"probe") == ours._mac(b"probe")


def _console_session_lifetime(s: Served) -> None:
    assert s.app.state.console_signer.lifetime_s == s.given.console_session_hours * 3600


def _console_refresh(s: Served) -> None:
    # The queue page reads the refresh period from the settings the app was given.
    assert s.app.state.settings.console_refresh_s == s.given.console_refresh_s


def _escalation(name: str, expected: Callable[[Settings], Any]) -> Probe:
    def probe(s: Served) -> None:
        assert getattr(s.app.state.desk.config.escalation, name) == expected(s.given)

    return probe


def _policy(name: str, expected: Callable[[Settings], Any]) -> Probe:
    def probe(s: Served) -> None:
        assert getattr(s.app.state.desk.config.reply_policy, name) == expected(s.given)

    return probe


def _rate_limit(s: Served) -> None:
    limiter = s.app.state.auth.limiter
    assert (limiter.rate, limiter.burst) == (s.given.rate_limit_per_s, s.given.rate_limit_burst)


def _unsigned_bundle_served(s: Served) -> None:
    # No signing key given: the (unsigned) bundle was accepted.
    assert s.app.state.holder.current is not None


TRAINING = "training only (`triage train`, benchmarks): the server reads the bundle"
REMOTE = "the worker's and `triage desk replay`'s remote triager; the server is the triager"
WEBHOOK = "the worker sends webhooks, the server does not"
HEALTH = "`triage monitor` and `triage models retrain/promote` read it; the server does not"


def _no_shadow(s: Served) -> None:
    # The environment names a shadow model that does not exist: reading it would have
    # failed the start-up; the given settings have none.
    assert getattr(s.app.state, "shadow", None) is None
    assert s.app.state.desk.shadow is None


UVICORN = "uvicorn's connection settings, passed by `api.server.serve` (test_timeouts.py)"

ROWS: dict[str, Row] = {
    "models_dir": Row("<tmp>/models", "<tmp>/env/models", _served_from_the_given_registry),
    "mlflow_tracking_uri": Row("sqlite:///given.db", "sqlite:///env.db", None, TRAINING),
    "mlflow_registry_name": Row("given", "env", None, TRAINING),
    "experiment": Row("given", "env", None, TRAINING),
    "encoder": Row("given-encoder", "env-encoder", None, TRAINING),
    "embedding_cache_dir": Row("<tmp>/emb", "<tmp>/env/emb", None, TRAINING),
    "encoder_cache_dir": Row("<tmp>/enc", "<tmp>/env/enc", None, TRAINING),
    "language_cache_dir": Row("<tmp>/language", "<tmp>/env/language", _language_cache),
    "bundle": Row(None, "<tmp>/env/no-bundle", _bundle_path_is_served),
    "model_alias": Row("champion", "no-such-alias", _served_from_the_given_registry),
    "onnx_threads": Row(1, "2", _onnx_threads),
    "onnx_allow_spinning": Row(True, "false", _onnx_spinning),
    "triager_url": Row("http://given.invalid", "http://env.invalid", None, REMOTE),
    "triager_timeout_s": Row(7.0, "9", None, REMOTE),
    "triager_api_key": Row("given-key", "env-key", None, REMOTE),
    "api_keys_file": Row("<tmp>/keys.json", "<tmp>/env/keys.json", _given_keys_file_is_read),
    "insecure_no_auth": Row(False, "true", _auth_is_on),
    "bundle_signing_key": Row(None, "env-signing-key", _unsigned_bundle_served),
    "rate_limit_per_s": Row(1000.0, "3", _rate_limit),
    "rate_limit_burst": Row(2000.0, "5", _rate_limit),
    "header_timeout_s": Row(7.0, "3", None, UVICORN),
    "keep_alive_timeout_s": Row(4.0, "2", None, UVICORN),
    "allow_unsigned_webhooks": Row(True, "false", None, WEBHOOK),
    "max_body_bytes": Row(30_000, "100", _body_limit),
    "max_text_chars": Row(12_000, "50", _text_limit),
    "max_batch": Row(3, "1", _batch_limit),
    "log_ticket_text": Row(True, "false", _logs_text),
    "model_watch_interval_s": Row(30.0, "0", _watcher),
    "triager_retries": Row(5, "7", None, REMOTE),
    "max_concurrent_predictions": Row(3, "1", _prediction_slots),
    "desk": Row(True, "false", _desk_served),
    "database_url": Row("sqlite:///<tmp>/desk.db", "sqlite:///<tmp>/env/desk.db", _given_database),
    "webhook_url": Row("http://given.invalid/hook", "http://env.invalid/hook", None, WEBHOOK),
    "webhook_secret": Row("given-secret", "env-secret", None, WEBHOOK),
    "business_hours": Row("tue-sat 10:00-16:00", "sun-sun 01:00-02:00", _hours),
    "business_timezone": Row("Asia/Tokyo", "Europe/Paris", _timezone),
    "escalation_risk_threshold": Row(
        0.55, "0.9", _escalation("risk_threshold", lambda g: g.escalation_risk_threshold)
    ),
    "escalation_immediate_priorities": Row(
        ["P1"], '["urgent"]', _escalation("immediate", lambda g: frozenset({"p1"}))
    ),
    "escalation_grace": Row(0.25, "2", _escalation("grace", lambda g: 0.25)),
    "escalate_on_first_response": Row(
        True, "false", _escalation("escalate_first_response", lambda g: True)
    ),
    "pending_reminder_hours": Row(
        5.0, "7", _config("pending_reminder", lambda g: timedelta(hours=g.pending_reminder_hours))
    ),
    "close_after_days": Row(
        2.0, "9", _config("close_after", lambda g: timedelta(days=g.close_after_days))
    ),
    "retriage_backoff_s": Row(
        11.0, "13", _config("retriage_backoff", lambda g: timedelta(seconds=g.retriage_backoff_s))
    ),
    "auto_reply_enabled": Row(False, "true", _config("auto_reply", lambda g: False)),
    "auto_reply_blocked_priorities": Row(
        ["p1"],
        '["urgent"]',
        _policy("blocked_priorities", lambda g: frozenset({"p1"})),
    ),
    "auto_reply_always_human": Row(
        ["Legal"], '["Security"]', _policy("always_human", lambda g: frozenset({"Legal"}))
    ),
    "auto_reply_languages": Row(
        ["en"], '["de"]', _policy("languages", lambda g: frozenset({"en"}))
    ),
    "auto_reply_unconfirmed_priority_max": Row(
        0.3, "0.2", _policy("unconfirmed_priority_max", lambda g: 0.3)
    ),
    "auto_reply_confirm_hours": Row(
        5.0, "7", _config("auto_reply_confirm_within", lambda g: timedelta(hours=5))
    ),
    "customer_token_days": Row(
        3.0, "9", _config("customer_token_ttl", lambda g: timedelta(days=3))
    ),
    "route_without_priority": Row(
        False, "true", _config("route_without_priority", lambda g: False)
    ),
    "default_priority": Row("p2", "p1", _config("default_priority", lambda g: "p2")),
    "public_url": Row(
        "https://desk.example",
        "https://env.example",
        _config("survey_url", lambda g: "https://desk.example/v1/csat/{token}"),
    ),
    "sla_policies_file": Row("<tmp>/sla.json", "<tmp>/env/sla.json", _policies),
    "business_holidays": Row([date(2030, 1, 2)], '["2031-05-05"]', _holidays),
    "drift_window": Row(120, "240", None, HEALTH),
    "drift_psi_warn": Row(0.15, "0.05", None, HEALTH),
    "drift_psi_alert": Row(0.3, "0.5", None, HEALTH),
    "drift_alert_signals": Row(3, "1", None, HEALTH),
    "precision_floor": Row(0.7, "0.6", None, HEALTH),
    "shadow_model": Row(None, "no-such-shadow-model", _no_shadow),
    "shadow_min_tickets": Row(50, "70", None, HEALTH),
    "shadow_min_days": Row(2.0, "3", None, HEALTH),
    "auto_promote": Row(False, "true", None, HEALTH),
    "console_secret": Row(
        "given-console-secret", "env-secret", _console_signs_with_the_given_secret
    ),
    "console_session_hours": Row(3.0, "9", _console_session_lifetime),
    "console_refresh_s": Row(7, "11", _console_refresh),
}


def _in(tmp: Path, value: Any) -> Any:
    return value.replace("<tmp>", str(tmp)) if isinstance(value, str) else value


def test_every_settings_field_has_a_row() -> None:
    assert set(ROWS) == set(Settings.model_fields)
    for name, row in ROWS.items():
        assert (row.probe is None) == bool(row.unread_because), name


def test_the_environment_holds_other_values(tmp_path: Path) -> None:
    given = Settings(_env_file=None, **{n: _in(tmp_path, r.given) for n, r in ROWS.items()})
    with pytest.MonkeyPatch.context() as env:
        for name, row in ROWS.items():
            env.setenv(f"TRIAGE_{name.upper()}", _in(tmp_path, row.env))
        from_env = Settings(_env_file=None)
    for name in ROWS:
        assert getattr(given, name) != getattr(from_env, name), name


@pytest.fixture(scope="module")
def served(demo_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from api.app import create_app
    from triage import language
    from triage.registry import ModelRegistry

    tmp = tmp_path_factory.mktemp("given")
    (tmp / "env").mkdir()
    given = Settings(_env_file=None, **{n: _in(tmp, r.given) for n, r in ROWS.items()})
    key, _ = create_key(given.api_keys_file, frozenset({"triage", "admin"}), name="given")
    env_key, _ = create_key(tmp / "env" / "keys.json", frozenset({"triage", "admin"}))
    registry = ModelRegistry(given.models_dir)
    registry.register(demo_bundle)
    registry.promote(registry.list_versions()[0].version, force=True)
    policy = {"first_response_minutes": 60, "resolution_minutes": 240}
    given.sla_policies_file.write_text(json.dumps({"policies": {"p1": policy, "p2": policy}}))
    with pytest.MonkeyPatch.context() as patch:
        for name, row in ROWS.items():
            patch.setenv(f"TRIAGE_{name.upper()}", _in(tmp, row.env))
        get_settings.cache_clear()  # anything that reads the environment now sees it
        # The language model is one per process: unload it so that this app loads it.
        patch.setattr(language, "_identifier", None)
        patch.setattr(language, "_cache_dir", language._cache_dir)
        app = create_app(given)
        with TestClient(app) as client:
            yield Served(app, client, given, key, env_key, demo_bundle, tmp)
    get_settings.cache_clear()


@pytest.mark.parametrize("name", sorted(n for n, r in ROWS.items() if r.probe is not None))
def test_create_app_honours_the_given_value(
    name: str, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    probe = ROWS[name].probe
    assert probe is not None
    if probe is _logs_text:
        _logs_text(served, caplog)
    else:
        probe(served)
