"""Schemathesis fuzzes every operation from the OpenAPI schema: no input may cause a 5xx.

Positive and negative cases (wrong types, missing fields, extra fields), with a key that
has both scopes, so that the requests reach the handlers instead of stopping at a 401.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from api.app import create_app

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 15


@pytest.fixture(scope="module")
def fuzz_schema(api_settings):
    app = create_app(api_settings)
    app.state.holder.reload()  # what `triage serve` does before binding
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_input_causes_a_server_error(fuzz_schema, api_keys):
    headers = api_keys.header(api_keys.both)
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:
        # A GET without parameters has no input to get wrong.
        modes = [GenerationMode.POSITIVE]
        if operation.method.upper() == "POST":
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case) -> None:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            check()
