"""Response contract, model manifest, metrics."""

from __future__ import annotations

from tests.api.conftest import TICKET_100_WORDS

HEAD_KEYS = {"label", "confidence", "abstained", "top_k"}
TOP_LEVEL = {
    "category",
    "priority",
    "team",
    "assignee",
    "escalation",
    "auto_reply",
    "language",
    "explanation",
    "model_version",
    "timing_ms",
}


def test_triage_response_contract(client, api_keys):
    response = client.post(
        "/v1/triage", json=TICKET_100_WORDS, headers=api_keys.header(api_keys.triage)
    )
    assert response.status_code == 200
    data = response.json()
    assert set(data) >= TOP_LEVEL
    assert data["ticket_id"] == "T-100"
    heads = [data[h] for h in ("category", "priority", "team", "assignee", "escalation") if data[h]]
    assert heads, "the demo bundle has at least one head"
    for head in heads:
        assert set(head) >= HEAD_KEYS
        assert head["abstained"] == (head["label"] is None)
        probabilities = [s["probability"] for s in head["top_k"]]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert data["timing_ms"] > 0


def test_batch_keeps_order_and_version(client, api_keys):
    tickets = [
        {**TICKET_100_WORDS, "id": f"B-{i}", "subject": s}
        for i, s in enumerate(
            ["Refund please", "Cannot log in to my account", "Package never arrived"]
        )
    ]
    response = client.post(
        "/v1/triage/batch", json={"tickets": tickets}, headers=api_keys.header(api_keys.triage)
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["ticket_id"] for r in results] == ["B-0", "B-1", "B-2"]
    assert len({r["model_version"] for r in results}) == 1


def test_model_manifest_hides_file_list_and_paths(client, api_keys, demo_bundle):
    response = client.get("/v1/model", headers=api_keys.header(api_keys.triage))
    data = response.json()
    assert data["model_version"]
    assert "heads" in data["manifest"]
    assert "files" not in data["manifest"]
    # The training machine's paths (data file, caches) stay private.
    assert str(demo_bundle) not in response.text and '"/' not in response.text


def test_metrics_count_routes_statuses_and_heads(client, api_keys):
    client.post("/v1/triage", json=TICKET_100_WORDS, headers=api_keys.header(api_keys.triage))
    client.post("/v1/triage", json={"id": ""}, headers=api_keys.header(api_keys.triage))
    text = client.get("/metrics").text
    assert 'triage_http_requests_total{method="POST",route="/v1/triage",status="200"}' in text
    assert 'triage_http_requests_total{method="POST",route="/v1/triage",status="422"}' in text
    assert (
        'triage_http_request_duration_seconds_bucket{le="0.025",method="POST",route="/v1/triage",status="200"}'
        in text
    )
    assert "triage_predictions_total{head=" in text
    version = client.get("/readyz").json()["model_version"]
    assert f'triage_model_info{{version="{version}"}} 1.0' in text


def test_openapi_documents_the_routes(client):
    spec = client.get("/openapi.json").json()
    assert {
        "/v1/triage",
        "/v1/triage/batch",
        "/v1/model",
        "/v1/admin/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= set(spec["paths"])
    ok = spec["paths"]["/v1/triage"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/TriageResult")
    assert client.get("/docs").status_code == 200
