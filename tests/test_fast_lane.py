"""The fast lane's guard (tests/fast_lane.py) in a session of its own: a test using a heavy
fixture is marked slow, and one that reaches it another way fails, saying why."""

from __future__ import annotations

import pytest

pytest_plugins = ("pytester",)

CONFTEST = """
from tests.conftest import (
    pytest_collection_modifyitems,
    pytest_fixture_setup,
    pytest_runtest_setup,
)
"""

TESTS = """
import pytest

@pytest.fixture(scope="session")
def exported_encoder():
    return "encoder"  # stands in for the export

@pytest.fixture
def app_server():
    return "server"

def test_requests_it(exported_encoder):
    assert exported_encoder == "encoder"

def test_starts_a_server(app_server):
    assert app_server == "server"

def test_reaches_it_unmarked(request):
    request.getfixturevalue("exported_encoder")

@pytest.mark.slow
def test_reaches_it_marked(request):
    assert request.getfixturevalue("exported_encoder") == "encoder"

def test_light():
    pass
"""


@pytest.fixture
def session(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    slow: heavy\n")
    pytester.makepyfile(test_lane=TESTS)
    return pytester


def test_the_fast_lane_runs_only_light_tests_and_fails_a_sneaky_one(
    session: pytest.Pytester,
) -> None:
    result = session.runpytest("-m", "not slow", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, deselected=3)
    result.stdout.fnmatch_lines(
        ["*test_reaches_it_unmarked is not marked slow but needs the `exported_encoder`*"]
    )


def test_the_slow_lane_runs_what_uses_heavy_fixtures(session: pytest.Pytester) -> None:
    result = session.runpytest("-m", "slow", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, deselected=2)
