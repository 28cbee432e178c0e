"""API keys over HTTP: 401 without a valid key, 403 for the wrong scope, refusal to start
without any key unless auth is explicitly disabled."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.app import ServeConfigError, create_app
from tests.api.conftest import TICKET_100_WORDS, serve_settings
from triage.keys import create_key, revoke_key


def test_triage_needs_a_key(client, api_keys):
    response = client.post("/v1/triage", json=TICKET_100_WORDS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "missing API key" in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    ["Bearer tt_000000000000_nope", "Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer"],
)
def test_invalid_keys_get_401(client, header):
    response = client.post("/v1/triage", json=TICKET_100_WORDS, headers={"Authorization": header})
    assert response.status_code == 401


def test_scopes_are_enforced(client, api_keys):
    assert (
        client.post(
            "/v1/triage", json=TICKET_100_WORDS, headers=api_keys.header(api_keys.admin)
        ).status_code
        == 403
    )
    assert client.get("/v1/model", headers=api_keys.header(api_keys.admin)).status_code == 403
    refused = client.post("/v1/admin/reload", headers=api_keys.header(api_keys.triage))
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    ok = client.post("/v1/triage", json=TICKET_100_WORDS, headers=api_keys.header(api_keys.triage))
    assert ok.status_code == 200


def test_health_and_metrics_need_no_key(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/metrics").status_code == 200


def test_no_key_configured_refuses_to_start(demo_bundle, tmp_path, api_keys):
    settings = serve_settings(demo_bundle, api_keys, api_keys_file=tmp_path / "none.json")
    with pytest.raises(ServeConfigError, match="no API key configured.*--insecure-no-auth"):
        create_app(settings)


def test_insecure_no_auth_serves_without_keys(demo_bundle, tmp_path, api_keys):
    settings = serve_settings(
        demo_bundle, api_keys, api_keys_file=tmp_path / "none.json", insecure_no_auth=True
    )
    with TestClient(create_app(settings)) as open_client:
        assert open_client.post("/v1/triage", json=TICKET_100_WORDS).status_code == 200


def test_new_and_revoked_keys_apply_without_restart(demo_bundle, tmp_path, api_keys):
    keys_file = tmp_path / "keys.json"
    first, first_record = create_key(keys_file, frozenset({"triage"}))
    settings = serve_settings(
        demo_bundle, api_keys, api_keys_file=keys_file, model_watch_interval_s=0.05
    )
    with TestClient(create_app(settings)) as live:
        second, _ = create_key(keys_file, frozenset({"triage"}))
        revoke_key(keys_file, first_record.id)

        def status(key: str) -> int:
            return live.get("/v1/model", headers={"Authorization": f"Bearer {key}"}).status_code

        deadline = time.monotonic() + 5
        while (status(second), status(first)) != (200, 401) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (status(second), status(first)) == (200, 401)
