"""The core's own defaults are the settings' defaults: a library caller that passes nothing
gets what a server started without `TRIAGE_*` variables gets."""

from __future__ import annotations

import inspect

from triage import language
from triage.bundle import load_bundle
from triage.desk.config import DeskConfig
from triage.desk.reply_policy import AutoReplyPolicy
from triage.encoder import DEFAULT_SPINNING, OnnxEncoder
from triage.escalation import EscalationPolicy
from triage.settings import Settings


def test_core_defaults_equal_the_settings_defaults() -> None:
    defaults = Settings(_env_file=None)
    assert defaults.onnx_allow_spinning == DEFAULT_SPINNING
    assert defaults.language_cache_dir == language.DEFAULT_CACHE_DIR
    for function in (load_bundle, OnnxEncoder.__init__):
        parameters = inspect.signature(function).parameters
        assert parameters["threads"].default == defaults.onnx_threads
        assert parameters["spinning"].default == defaults.onnx_allow_spinning


def test_the_escalation_risk_threshold_defaults_to_the_models() -> None:
    # Unset everywhere: each ticket is compared with its model's rate-matched threshold.
    defaults = Settings(_env_file=None)
    assert defaults.escalation_risk_threshold is None
    assert EscalationPolicy().risk_threshold is None
    assert AutoReplyPolicy().escalation_risk_threshold is None
    config = DeskConfig.from_settings(defaults)
    assert config.escalation.threshold_for(0.2) == 0.2
    assert config.escalation.threshold_for(None) == 0.7  # a model without one
    explicit = DeskConfig.from_settings(Settings(_env_file=None, escalation_risk_threshold=0.4))
    assert explicit.escalation.threshold_for(0.2) == 0.4
    assert explicit.reply_policy.risk_threshold(0.2) == 0.4
