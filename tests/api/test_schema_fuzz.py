"""Schemathesis fuzzes every operation of the OpenAPI schema, the help desk's included.

Positive and negative cases (wrong types, missing fields, extra fields) with a key that
has both scopes, so that the requests reach the handlers; a few more with no key (401)
and with a key lacking the `admin` scope (403). Every response must be no 5xx, carry a
status the schema documents for that route, and a body and content type that match
what the schema documents for that status.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from api.app import create_app
from tests.api.conftest import serve_settings

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 15
# Requests that stop at the key check need only show that 401/403 are documented.
EXAMPLES_PER_AUTH_FAILURE = 3
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


@pytest.fixture(scope="module")
def fuzz_app(demo_bundle, api_keys, database_url):
    # Once on SQLite and once on PostgreSQL: the limits that matter (column lengths,
    # 32-bit integers, NUL bytes) differ between the two.
    # No rate limit: thousands of cases come from one key (the limit has its own tests).
    app = create_app(
        serve_settings(
            demo_bundle, api_keys, desk=True, database_url=database_url, rate_limit_per_s=0
        )
    )
    app.state.holder.reload()  # what `triage serve` does before binding
    # A few records, so that some generated ids ("1", "T-1") find something.
    with TestClient(app) as client:
        headers = api_keys.header(api_keys.both)
        for n in range(3):
            body = {"channel": "email", "subject": f"Refund {n}", "body": "charged twice"}
            assert client.post("/v1/tickets", json=body, headers=headers).status_code == 201
        agent = {"id": "1", "name": "Ada", "team": "billing", "skills": ["refunds"]}
        assert client.put("/v1/agents/1", json=agent, headers=headers).status_code == 200
    return app


def _fuzz(operation, mode, who, headers, examples, failures, counts) -> None:
    name = f"{operation.method.upper()} {operation.path} ({mode.value}, {who})"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        counts[0] += 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - reported together below
            failures.setdefault(name, f"{type(exc).__name__}: {exc}"[:2000])

    try:
        check()
    except Unsatisfiable:
        # Only a negative case of an operation without input: nothing to get wrong.
        assert mode is GenerationMode.NEGATIVE, name


def test_every_response_conforms_to_the_schema(fuzz_app, api_keys, capsys) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 24  # health, triage, model and every desk route
    failures: dict[str, str] = {}
    counts = [0]
    full = api_keys.header(api_keys.both)
    triage_only = api_keys.header(api_keys.triage)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, "both scopes", full, EXAMPLES_PER_OPERATION, failures, counts)
        # Customer links (CSAT, auto-reply confirmation) take no key: the token is it.
        keyless = operation.path.startswith(("/v1/csat", "/v1/confirm"))
        if operation.path.startswith("/v1/") and not keyless:
            for who, headers in (("no key", {}), ("triage scope", triage_only)):
                _fuzz(
                    operation,
                    GenerationMode.POSITIVE,
                    who,
                    headers,
                    EXAMPLES_PER_AUTH_FAILURE,
                    failures,
                    counts,
                )
    with capsys.disabled():
        print(f"\nschemathesis: {len(operations)} operations, {counts[0]} cases, "
              f"{len(failures)} failing")  # fmt: skip
    assert not failures, "\n\n".join(f"{name}\n{reason}" for name, reason in failures.items())


def _refs(schema: dict) -> set[str]:
    options = schema.get("anyOf", [schema])
    return {option["$ref"].rsplit("/", 1)[-1] for option in options}


def test_the_schema_documents_our_error_bodies_not_fastapis(fuzz_app) -> None:
    spec = fuzz_app.openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    seen = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith(("4", "5")) or path == "/readyz":
                    continue
                if "text/html" in response["content"]:
                    # A customer's link page answers a browser with a page, errors too.
                    assert path.startswith(("/v1/csat/", "/v1/confirm/")), (method, path)
                    continue
                seen.add(status)
                refs = _refs(response["content"]["application/json"]["schema"])
                if status in {"413", "422"}:
                    assert "FieldErrors" in refs, (method, path, status)
                else:
                    assert refs == {"ErrorMessage"}, (method, path, status)
    assert seen == {"400", "401", "403", "404", "409", "413", "422", "429", "503"}
