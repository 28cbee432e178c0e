"""Safe defaults (issue 14, item 6): auth off only from the CLI flag on loopback and
never from the environment, loudly; unsigned webhooks refused unless allowed; a
header-read timeout against slow clients; a per-key token bucket (429 + Retry-After);
local files git-ignored."""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.dependencies import TriageKey
from api.errors import install_error_handlers
from api.security import Authenticator, TokenBuckets
from tests.cli.test_serve_cli import _triage
from triage.keys import create_key
from triage.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_environment_cannot_turn_auth_off(monkeypatch, caplog) -> None:
    monkeypatch.setenv("TRIAGE_INSECURE_NO_AUTH", "true")
    get_settings.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            assert get_settings().insecure_no_auth is False
        assert "TRIAGE_INSECURE_NO_AUTH is ignored" in caplog.text
    finally:
        get_settings.cache_clear()


def test_the_env_file_cannot_turn_auth_off(tmp_path, monkeypatch) -> None:
    (tmp_path / ".env").write_text("TRIAGE_INSECURE_NO_AUTH=true\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRIAGE_INSECURE_NO_AUTH", raising=False)
    get_settings.cache_clear()
    try:
        assert get_settings().insecure_no_auth is False
    finally:
        get_settings.cache_clear()


def test_insecure_no_auth_only_on_loopback(tmp_path) -> None:
    done = _triage(
        "serve", "--insecure-no-auth", "--host", "0.0.0.0", keys_file=tmp_path / "none.json"
    )
    assert done.returncode == 2 and "loopback" in done.stderr


def test_auth_off_warns_at_every_start(tmp_path, caplog) -> None:
    from api.app import check_auth

    settings = Settings(_env_file=None, api_keys_file=tmp_path / "k.json", insecure_no_auth=True)
    with caplog.at_level(logging.WARNING, logger="triage.api"):
        check_auth(settings)
        check_auth(settings)
    assert caplog.text.count("API keys are OFF") == 2


def test_webhooks_refuse_to_go_out_unsigned() -> None:
    from triage.webhook import UnsignedWebhooksError, WebhookSender

    with pytest.raises(UnsignedWebhooksError, match="unsigned"):
        WebhookSender("http://127.0.0.1:9/hook", None)
    WebhookSender("http://127.0.0.1:9/hook", None, allow_unsigned=True)
    WebhookSender("http://127.0.0.1:9/hook", "secret")


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBuckets(rate=2.0, burst=2.0)
    assert bucket.take("k", now=0.0) == 0.0 and bucket.take("k", now=0.0) == 0.0
    assert bucket.take("k", now=0.0) == pytest.approx(0.5)
    assert bucket.take("other", now=0.0) == 0.0  # per key
    assert bucket.take("k", now=0.5) == 0.0


def test_a_key_over_its_rate_gets_429_with_retry_after(tmp_path) -> None:
    keys = tmp_path / "keys.json"
    key, _ = create_key(keys, frozenset({"triage"}))
    other, _ = create_key(keys, frozenset({"triage"}))
    app = FastAPI()
    app.state.auth = Authenticator(keys, enabled=True, rate=0.5, burst=2)
    install_error_handlers(app)

    @app.get("/ping")
    async def ping(_key: TriageKey) -> dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as c:
        headers = {"Authorization": f"Bearer {key}"}
        assert [c.get("/ping", headers=headers).status_code for _ in range(2)] == [200, 200]
        refused = c.get("/ping", headers=headers)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert c.get("/ping", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_local_configuration_is_git_ignored() -> None:
    paths = [".env", ".triage/api_keys.json", "sub/.env"]
    done = subprocess.run(
        ["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert sorted(done.stdout.split()) == sorted(paths)


@pytest.mark.slow
def test_a_slow_client_is_disconnected_after_the_header_timeout() -> None:
    import uvicorn

    from api.server import with_timeouts

    app = FastAPI()

    @app.get("/ok")
    def ok() -> dict[str, bool]:
        return {"ok": True}

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, http=with_timeouts(0.5), log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        # A well-behaved client is served.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as fast:
            fast.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200 OK" in fast.recv(4096)
        # A slow-loris client trickling its headers is cut off.
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        started = time.monotonic()
        closed = False
        for byte in b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            slow.settimeout(0.1)
            try:
                if slow.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
            if time.monotonic() - started > 5:
                break
        slow.close()
        assert closed and time.monotonic() - started < 3
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_startup_objects_are_frozen_out_of_the_collectors_view() -> None:
    import gc

    from api.server import freeze_startup_objects

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        freeze_startup_objects()
        # Everything alive at start-up (this test process's modules included) is frozen.
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
