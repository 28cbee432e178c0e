"""The honest gate: no-signal bundles, different models, the same tickets, audited force."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage.bundle import FORMAT_VERSION
from triage.files import sha256_file
from triage.registry import CHAMPION, ModelRegistry, PromotionRefusedError


def bundle(
    root: Path,
    version: str,
    score: float,
    *,
    name: str | None = "desk-aaaa",
    split: str | None = "s1",
    no_signal: bool = False,
) -> Path:
    """A bundle manifest as training writes it: model name, split fingerprint, heads."""
    path = root / version
    path.mkdir(parents=True)
    # One listed file: `promote` verifies every file of the bundle.
    (path / "heads.onnx").write_bytes(b"graph of " + version.encode())
    manifest = {
        "format_version": FORMAT_VERSION,
        "meta": {},
        "files": {"heads.onnx": sha256_file(path / "heads.onnx")},
        "model_version": version,
        "created_at": "2026-12-01T00:00:00+00:00",
        "model_name": name,
        "evaluation": {"test_split": split},
        "primary_head": "category",
        "heads": [{"name": "category", "no_signal": no_signal}],
        "metrics": {"category": {"accuracy": score, "macro_f1": score}},
    }
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return path


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def test_a_no_signal_primary_head_is_never_promoted(registry: ModelRegistry) -> None:
    registry.register(bundle(registry.root, "noise", 0.2, no_signal=True))
    with pytest.raises(PromotionRefusedError, match="no signal"):
        registry.promote("noise")
    assert registry.current(CHAMPION) is None


def test_figures_of_different_models_are_never_compared(registry: ModelRegistry) -> None:
    registry.register(bundle(registry.root, "banking", 0.93, name="banking-1111"))
    registry.promote("banking")
    # Far worse by its stored figure, but a different model: refused for that reason only.
    registry.register(bundle(registry.root, "issues", 0.55, name="issues-2222"))
    with pytest.raises(PromotionRefusedError) as refused:
        registry.promote("issues")
    message = refused.value.decision.message
    assert "not compared" in message and "0.93" not in message and "0.55" not in message
    # And a better stored figure does not let another model through either.
    registry.register(bundle(registry.root, "other", 0.99, name="other-3333"))
    with pytest.raises(PromotionRefusedError, match="not compared"):
        registry.promote("other")


def test_force_overrides_and_is_audited(registry: ModelRegistry) -> None:
    registry.register(bundle(registry.root, "a", 0.9, name="a-1"))
    registry.promote("a")
    registry.register(bundle(registry.root, "b", 0.5, name="b-2"))
    with pytest.raises(PromotionRefusedError):
        registry.promote("b")
    decision = registry.promote("b", force=True)
    assert decision.forced and registry.current(CHAMPION) == "b"
    audit = registry.audit()
    assert [(e["version"], e["promoted"], e["forced"]) for e in audit] == [
        ("a", True, False),
        ("b", False, False),
        ("b", True, True),
    ]


def test_the_champion_is_rescored_on_the_candidates_tickets(registry: ModelRegistry) -> None:
    registry.register(bundle(registry.root, "old", 0.95, split="s1"))
    registry.promote("old")
    registry.register(bundle(registry.root, "new", 0.80, split="s2"))
    # Stored figures come from different test tickets: not compared.
    with pytest.raises(PromotionRefusedError, match="different test tickets"):
        registry.promote("new")
    # Re-scored on the candidate's split the champion does worse: promoted on that basis.
    decision = registry.promote("new", champion_rescored=0.78)
    assert decision.promoted and decision.basis == "rescored"
    assert decision.champion_macro_f1 == pytest.approx(0.78)
    registry.register(bundle(registry.root, "newer", 0.70, split="s3"))
    with pytest.raises(PromotionRefusedError, match="more than 1 point below"):
        registry.promote("newer", champion_rescored=0.85)


def test_same_model_same_split_compares_stored_figures(registry: ModelRegistry) -> None:
    registry.register(bundle(registry.root, "v1", 0.80))
    registry.promote("v1")
    registry.register(bundle(registry.root, "v2", 0.795))
    decision = registry.promote("v2")
    assert decision.promoted and decision.basis == "stored"
