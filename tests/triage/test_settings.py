"""The core's own defaults are the settings' defaults: a library caller that passes nothing
gets what a server started without `TRIAGE_*` variables gets."""

from __future__ import annotations

import inspect

from triage import language
from triage.bundle import load_bundle
from triage.encoder import DEFAULT_SPINNING, OnnxEncoder
from triage.settings import Settings


def test_core_defaults_equal_the_settings_defaults() -> None:
    defaults = Settings(_env_file=None)
    assert defaults.onnx_allow_spinning == DEFAULT_SPINNING
    assert defaults.language_cache_dir == language.DEFAULT_CACHE_DIR
    for function in (load_bundle, OnnxEncoder.__init__):
        parameters = inspect.signature(function).parameters
        assert parameters["threads"].default == defaults.onnx_threads
        assert parameters["spinning"].default == defaults.onnx_allow_spinning
