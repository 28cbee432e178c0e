"""Hot reload: atomic under load, refused bundles keep the old model, the champion alias
is followed."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import TICKET_100_WORDS, copy_bundle, serve_settings, start_server, tamper
from triage.errors import BundleError
from triage.registry import ModelRegistry


@pytest.fixture(scope="module")
def second_bundle(demo_bundle, tmp_path_factory):
    return copy_bundle(
        demo_bundle, tmp_path_factory.mktemp("b2") / "bundle", version="reload-test-v2"
    )


@pytest.fixture(scope="module")
def tampered_bundle(demo_bundle, tmp_path_factory):
    bundle = copy_bundle(demo_bundle, tmp_path_factory.mktemp("bad") / "bundle")
    tamper(bundle)
    return bundle


def test_tampered_bundle_is_refused_at_start(tampered_bundle, api_keys):
    app = create_app(serve_settings(tampered_bundle, api_keys))
    with pytest.raises(BundleError, match="heads.onnx.*corrupt or was modified"), TestClient(app):
        pass


@pytest.mark.slow
def test_reload_under_load_loses_no_request(demo_bundle, second_bundle, tampered_bundle, api_keys):
    server = start_server(serve_settings(demo_bundle, api_keys))
    statuses: list[int] = []
    versions: set[str] = set()
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(
            base_url=server.url, headers=api_keys.header(api_keys.triage), timeout=30
        ) as c:
            while not stop.is_set():
                try:
                    response = c.post("/v1/triage", json=TICKET_100_WORDS)
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                statuses.append(response.status_code)
                if response.status_code == 200:
                    versions.add(response.json()["model_version"])

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        admin = httpx.Client(
            base_url=server.url, headers=api_keys.header(api_keys.admin), timeout=60
        )
        targets = [second_bundle, demo_bundle, tampered_bundle, second_bundle, demo_bundle]
        for target in targets:
            time.sleep(0.3)
            response = admin.post("/v1/admin/reload", json={"bundle": str(target)})
            if target == tampered_bundle:
                assert response.status_code == 422
                assert "corrupt or was modified" in response.json()["detail"]
            else:
                assert response.status_code == 200, response.text
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        server.stop()
    assert failures == []
    assert len(statuses) > 20 and set(statuses) == {200}
    assert len(versions) == 2  # both models answered; the tampered one never did


def test_refused_reload_keeps_serving(client, api_keys, tampered_bundle):
    before = client.get("/readyz").json()["model_version"]
    response = client.post(
        "/v1/admin/reload",
        json={"bundle": str(tampered_bundle)},
        headers=api_keys.header(api_keys.admin),
    )
    assert response.status_code == 422
    assert "corrupt or was modified" in response.json()["detail"]
    assert client.get("/readyz").json()["model_version"] == before
    ok = client.post("/v1/triage", json=TICKET_100_WORDS, headers=api_keys.header(api_keys.triage))
    assert ok.status_code == 200 and ok.json()["model_version"] == before
    missing = client.post(
        "/v1/admin/reload",
        json={"bundle": "/nonexistent/bundle"},
        headers=api_keys.header(api_keys.admin),
    )
    assert missing.status_code == 422 and "no such bundle directory" in missing.json()["detail"]
    assert 'triage_model_reloads_total{outcome="refused"}' in client.get("/metrics").text


@pytest.mark.slow
def test_champion_alias_is_followed(demo_bundle, second_bundle, tmp_path, api_keys):
    models = tmp_path / "models"
    first = copy_bundle(demo_bundle, models / "first", version="alias-v1")
    second = copy_bundle(second_bundle, models / "second", version="alias-v2")
    registry = ModelRegistry(models)
    registry.register(first)
    registry.promote("alias-v1")
    registry.register(second)
    settings = serve_settings(
        None,
        api_keys,
        model_alias="champion",
        models_dir=models,
        model_watch_interval_s=0.05,
    )

    def wait_for(c: TestClient, version: str) -> str:
        deadline = time.monotonic() + 20
        seen = c.get("/readyz").json()["model_version"]
        while seen != version and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = c.get("/readyz").json()["model_version"]
        return seen

    with TestClient(create_app(settings)) as c:
        assert c.get("/readyz").json()["model_version"] == "alias-v1"
        registry.promote("alias-v2", force=True)
        assert wait_for(c, "alias-v2") == "alias-v2"
        registry.rollback()
        assert wait_for(c, "alias-v1") == "alias-v1"
        model = c.get("/v1/model", headers=api_keys.header(api_keys.triage)).json()
        assert "champion" in model["source"]
