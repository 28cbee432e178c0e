"""Bad input gets a 4xx naming the field and the reason, never a 500."""

from __future__ import annotations

import httpx

from tests.api.conftest import TICKET_100_WORDS


def _post(client, api_keys, path="/v1/triage", headers=None, **kwargs):
    return client.post(
        path, headers={**api_keys.header(api_keys.triage), **(headers or {})}, **kwargs
    )


def _fields(response) -> dict[str, str]:
    return {d["field"]: d["reason"] for d in response.json()["detail"]}


def test_missing_and_invalid_fields_are_named(client, api_keys):
    response = _post(client, api_keys, json={"body": "hi", "channel": "fax", "tags": 3})
    assert response.status_code == 422
    fields = _fields(response)
    assert "Field required" in fields["id"]
    assert "unknown channel 'fax'" in fields["channel"]
    assert "list" in fields["tags"]


def test_malformed_json_is_422_not_500(client, api_keys):
    response = _post(
        client,
        api_keys,
        content=b'{"id": "1", "body": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert _fields(response)["body"].startswith("invalid JSON")


def test_unknown_fields_are_rejected(client, api_keys):
    response = _post(client, api_keys, json={**TICKET_100_WORDS, "urgency": "high"})
    assert response.status_code == 422
    assert "urgency" in _fields(response)


def test_text_length_limit(client, api_keys, api_settings):
    too_long = "x" * (api_settings.max_text_chars + 1)
    response = _post(client, api_keys, json={"id": "1", "body": too_long})
    assert response.status_code == 422
    assert "limit is" in _fields(response)["body"]
    batch = {"tickets": [{"id": "ok", "body": "fine"}, {"id": "2", "body": too_long}]}
    response = _post(client, api_keys, "/v1/triage/batch", json=batch)
    assert response.status_code == 422
    assert "tickets[1].body" in _fields(response)


def test_batch_limits_and_field_paths(client, api_keys, api_settings):
    too_many = {"tickets": [{"id": str(i), "body": "x"} for i in range(api_settings.max_batch + 1)]}
    response = _post(client, api_keys, "/v1/triage/batch", json=too_many)
    assert response.status_code == 422
    assert "at most" in _fields(response)["tickets"]
    assert _post(client, api_keys, "/v1/triage/batch", json={"tickets": []}).status_code == 422
    response = _post(
        client, api_keys, "/v1/triage/batch", json={"tickets": [{"id": "a"}, {"body": "b"}]}
    )
    assert "tickets[1].id" in _fields(response)


def test_body_size_limit_declared_length(client, api_keys, api_settings):
    big = b'{"id": "1", "body": "' + b"x" * api_settings.max_body_bytes + b'"}'
    response = _post(client, api_keys, content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert _fields(response)["body"].startswith("request body larger than")


def test_body_size_limit_streamed_without_length(live_server, api_keys, api_settings):
    chunk = b"x" * 65536

    def body():
        yield b'{"id": "1", "body": "'
        for _ in range(api_settings.max_body_bytes // len(chunk) + 2):
            yield chunk
        yield b'"}'

    response = httpx.post(
        f"{live_server.url}/v1/triage",
        content=body(),
        headers={**api_keys.header(api_keys.triage), "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
