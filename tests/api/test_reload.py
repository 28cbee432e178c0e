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
def models(tmp_path_factory):
    """The models directory reloads may load from (`settings.models_dir`)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def first_bundle(demo_bundle, models):
    return copy_bundle(demo_bundle, models / "first")


@pytest.fixture(scope="module")
def second_bundle(demo_bundle, models):
    return copy_bundle(demo_bundle, models / "second", version="reload-test-v2")


@pytest.fixture(scope="module")
def tampered_bundle(demo_bundle, models):
    bundle = copy_bundle(demo_bundle, models / "bad")
    tamper(bundle)
    return bundle


@pytest.fixture(scope="module")
def reload_client(first_bundle, models, api_keys):
    with TestClient(create_app(serve_settings(first_bundle, api_keys, models_dir=models))) as c:
        yield c


def version_of(served: str) -> str:
    """The manifest's version in a served `model_version` (`<version>+<content digest>`)."""
    return served.rsplit("+", 1)[0]


def test_tampered_bundle_is_refused_at_start(tampered_bundle, api_keys):
    app = create_app(serve_settings(tampered_bundle, api_keys))
    with pytest.raises(BundleError, match="heads.onnx.*corrupt or was modified"), TestClient(app):
        pass


@pytest.mark.slow
def test_reload_under_load_loses_no_request(
    first_bundle, second_bundle, tampered_bundle, models, api_keys
):
    demo_bundle = first_bundle
    server = start_server(serve_settings(demo_bundle, api_keys, models_dir=models))
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


def test_refused_reload_keeps_serving(reload_client, api_keys, tampered_bundle, tmp_path):
    client = reload_client
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
        "/v1/admin/reload", json={"bundle": "nonexistent"}, headers=api_keys.header(api_keys.admin)
    )
    assert missing.status_code == 422 and "no such bundle directory" in missing.json()["detail"]
    assert 'triage_model_reloads_total{outcome="refused"}' in client.get("/metrics").text


def test_reload_paths_outside_the_models_dir_get_one_answer(reload_client, api_keys, tmp_path):
    # Existing or not, a directory or a file: the same error, which names nothing.
    (tmp_path / "real").mkdir()
    answers = set()
    for path in (str(tmp_path / "real"), "/nonexistent/bundle", "/etc/passwd", "../../etc"):
        r = reload_client.post(
            "/v1/admin/reload", json={"bundle": path}, headers=api_keys.header(api_keys.admin)
        )
        assert r.status_code == 422
        answers.add(r.text)
    assert len(answers) == 1 and "models directory" in answers.pop()


def test_the_served_version_changes_with_the_content(
    first_bundle, models, api_keys, tmp_path
) -> None:
    import json

    copy = copy_bundle(first_bundle, models / "edited")
    with TestClient(create_app(serve_settings(copy, api_keys, models_dir=models))) as c:
        before = c.get("/readyz").json()["model_version"]
        manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
        manifest.setdefault("meta", {})["note"] = "edited, same version string"
        (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        r = c.post("/v1/admin/reload", json={}, headers=api_keys.header(api_keys.admin))
        after = r.json()["model_version"]
    assert version_of(before) == version_of(after) and before != after


def test_an_edited_manifest_of_a_registered_bundle_is_refused_at_reload(
    first_bundle, models, api_keys
) -> None:
    import json

    bundle = copy_bundle(first_bundle, models / "registered", version="reg-v1")
    registry = ModelRegistry(models)
    registry.register(bundle)
    registry.promote("reg-v1", force=True)
    settings = serve_settings(None, api_keys, model_alias="champion", models_dir=models)
    with TestClient(create_app(settings)) as c:
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        manifest["model_version"] = "reg-v1"
        manifest.setdefault("meta", {})["thresholds_zeroed"] = True
        (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        r = c.post("/v1/admin/reload", json={}, headers=api_keys.header(api_keys.admin))
        assert r.status_code == 422 and "changed since" in r.json()["detail"]
        r = c.post(
            "/v1/admin/reload", json={"model": "reg-v1"}, headers=api_keys.header(api_keys.admin)
        )
        assert r.status_code == 422


def test_with_a_signing_key_unsigned_bundles_are_refused(first_bundle, models, api_keys):
    from triage.bundle import sign_bundle

    signed = copy_bundle(first_bundle, models / "signed")
    sign_bundle(signed, "operator-key")
    settings = serve_settings(
        signed, api_keys, models_dir=models, bundle_signing_key="operator-key"
    )
    with TestClient(create_app(settings)) as c:
        admin = api_keys.header(api_keys.admin)
        r = c.post("/v1/admin/reload", json={"bundle": str(first_bundle)}, headers=admin)
        assert r.status_code == 422 and "unsigned bundle refused" in r.json()["detail"]
        assert (
            c.post("/v1/admin/reload", json={"bundle": "signed"}, headers=admin).status_code == 200
        )


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
        while version_of(seen) != version and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = c.get("/readyz").json()["model_version"]
        return seen

    with TestClient(create_app(settings)) as c:
        assert version_of(c.get("/readyz").json()["model_version"]) == "alias-v1"
        registry.promote("alias-v2", force=True)
        assert version_of(wait_for(c, "alias-v2")) == "alias-v2"
        registry.rollback()
        assert version_of(wait_for(c, "alias-v1")) == "alias-v1"
        model = c.get("/v1/model", headers=api_keys.header(api_keys.triage)).json()
        assert "champion" in model["source"]
