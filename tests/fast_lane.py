"""The fast lane, `pytest -m "not slow"`: it exports no encoder, trains nothing and starts no
server, so that it runs in a few minutes on a 2-core machine.

Nobody has to remember the mark. `mark_heavy_tests` (called at collection by
tests/conftest.py) marks `slow` every test whose fixtures include one of
`HEAVY_FIXTURES`, directly or through another fixture. And the guard: `check_fixture` (run
before any fixture is set up) and `require_slow` (called by the helpers that start a
server) fail a test that is not marked `slow` but reaches heavy work anyway, through
`request.getfixturevalue` or a helper called in its body, instead of quietly slowing the
lane down. (A session fixture is set up once: in a full run a slow test may have set it
up already, and the guard fires where it matters, in the fast lane.)
tests/test_fast_lane.py runs both in a session of its own.

Kept out of the conftest files: those are imported by pytest under their own names, and
this module's state (the running test) must exist once.
"""

from __future__ import annotations

import pytest

# Fixture name -> the heavy work it does. A fixture built on one of these (demo_bundle on
# demo_training, api_settings on demo_bundle, ...) is covered through it.
HEAVY_FIXTURES: dict[str, str] = {
    "exported_encoder": "exports the MiniLM encoder to ONNX",
    "demo_training": "trains a bundle on the demo desk",
    "accuracy_run": "trains the benchmark's models",
    "use_folder": "exports the multilingual encoder",
    "exported": "exports the MiniLM encoder to ONNX",
    "torch_vectors": "runs the encoder in torch",
    "retrained": "trains the notebooks' model",
    "app_server": "starts a uvicorn server",
    "live_server": "starts a uvicorn server",
    "health_loop": "trains a champion and a retrained challenger (the model-health loop)",
}

_running: pytest.Item | None = None


def mark_heavy_tests(items: list[pytest.Item]) -> None:
    """Mark `slow` every collected test that uses a heavy fixture."""
    for item in items:
        heavy = HEAVY_FIXTURES.keys() & set(getattr(item, "fixturenames", ()))
        if heavy and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow(reason=f"uses {', '.join(sorted(heavy))}"))


def enter(item: pytest.Item) -> None:
    """Record the test being set up and run (fixtures are set up for it from here on)."""
    global _running
    _running = item


def check_fixture(name: str) -> None:
    """Fail the running test if `name` is heavy and the test is not marked slow."""
    if name in HEAVY_FIXTURES:
        require_slow(f"needs the `{name}` fixture, which {HEAVY_FIXTURES[name]}")


def require_slow(what: str) -> None:
    """Fail the running test, loudly, unless it is marked `slow`."""
    item = _running
    if item is not None and item.get_closest_marker("slow") is None:
        pytest.fail(
            f"{item.nodeid} is not marked slow but {what}: the fast lane "
            '(`pytest -m "not slow"`) exports, trains and serves nothing. Request the '
            "fixture as an argument (collection then marks the test slow) or mark it "
            "`@pytest.mark.slow`.",
            pytrace=False,
        )
