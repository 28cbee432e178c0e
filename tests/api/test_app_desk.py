"""`create_app` with the desk switched on: one server answers /v1/triage and runs the
help desk, and tickets taken in through /v1/tickets are triaged by the served bundle."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from triage.settings import Settings


def test_served_desk_triages_intake_with_the_real_bundle(
    demo_bundle: Path, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        bundle=demo_bundle,
        insecure_no_auth=True,
        desk=True,
        database_url=database_url,
        api_keys_file=tmp_path / "keys.json",
        model_watch_interval_s=0,
    )
    app = create_app(settings)
    body = {
        "channel": "email",
        "subject": "Charged twice for my subscription",
        "body": "Hello, my card was charged twice this month for the premium plan. "
        "Please refund the duplicate payment, invoice INV-2231.",
    }
    with TestClient(app) as client:
        created = client.post("/v1/tickets", json=body, headers={"Idempotency-Key": "mail-1"})
        assert created.status_code == 201, created.text
        ticket = created.json()
        model_version = client.get("/v1/model").json()["model_version"]
        # Scored by the served model: routed, or sent to the human queue on an abstention.
        assert ticket["triage_state"] in {"done", "needs_human"}, ticket
        assert ticket["model_version"] == model_version
        # The same ticket scored directly (as intake scored it: same fields, same
        # `created_at`) agrees with what intake stored, whether the category head is
        # confident (its label stored) or abstains (nothing stored).
        probe = {"id": "probe", **body, "created_at": ticket["created_at"]}
        scored = client.post("/v1/triage", json=probe).json()
        category = scored["category"]
        expected = None if category["abstained"] else category["label"]
        assert ticket["category"] == expected
        assert ticket["predicted"]["category"] == expected
        fetched = client.get(f"/v1/tickets/{ticket['id']}")
        assert fetched.status_code == 200
        audit = client.get(f"/v1/tickets/{ticket['id']}/audit").json()
        # The audit log records which model version triaged the ticket.
        assert any(entry["model_version"] == model_version for entry in audit), audit


def test_desk_is_off_by_default(demo_bundle: Path, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        bundle=demo_bundle,
        insecure_no_auth=True,
        api_keys_file=tmp_path / "keys.json",
        model_watch_interval_s=0,
    )
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/tickets", json={"channel": "api", "body": "x"}).status_code == 404
