"""The file registry: promotion gate, rollback order, aliases and concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from triage.bundle import FORMAT_VERSION
from triage.errors import TriageError
from triage.files import sha256_file
from triage.registry import (
    CHAMPION,
    ModelRegistry,
    NoPreviousChampionError,
    PromotionRefusedError,
    RegistryError,
    UnknownModelVersionError,
)


def write_bundle(root: Path, version: str, **macro_f1: float) -> Path:
    """A bundle directory with a manifest in the bundle format (metrics per head)."""
    bundle = root / version
    bundle.mkdir(parents=True)
    metrics: dict = {
        head: {
            "accuracy": score,
            "macro_f1": score,
            "coverage_at_target_precision": 0.5,
            "baselines": {"majority": {"accuracy": 0.3, "macro_f1": 0.1}},
        }
        for head, score in macro_f1.items()
    }
    metrics["auto_reply"] = {"recall_at_1": 0.5, "recall_at_5": 0.8}
    # One listed file, so that `promote` (which verifies every file) has something to check.
    (bundle / "heads.onnx").write_bytes(b"graph of " + version.encode())
    manifest = {
        "format_version": FORMAT_VERSION,
        "model_version": version,
        "created_at": "2026-11-22T00:00:00+00:00",
        "metrics": metrics,
        "heads": list(macro_f1),
        "meta": {},
        "files": {"heads.onnx": sha256_file(bundle / "heads.onnx")},
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return bundle


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def test_register_reads_heads_from_manifest_and_skips_auto_reply(registry: ModelRegistry) -> None:
    entry = registry.register(write_bundle(registry.root, "v1", priority=0.6, category=0.8))
    assert entry.version == "v1"
    assert entry.macro_f1 == {"priority": 0.6, "category": 0.8}
    assert entry.heads == ["priority", "category"]
    assert entry.primary_head == "category"
    # Bundles under models_dir are stored relative, so the tree can be moved.
    stored = json.loads(registry.path.read_text())["versions"]["v1"]["path"]
    assert stored == "v1"
    assert [v.version for v in registry.list_versions()] == ["v1"]


def test_register_rejects_a_directory_without_manifest(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RegistryError, match="no manifest.json"):
        registry.register(tmp_path / "empty")


def test_a_second_bundle_cannot_claim_a_registered_version(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    bundle = write_bundle(registry.root, "v1", category=0.8)
    registry.register(bundle)
    registry.register(bundle)  # the same bundle again: a no-op
    with pytest.raises(RegistryError, match="already registered"):
        registry.register(write_bundle(tmp_path / "elsewhere", "v1", category=0.9))


def test_first_version_becomes_champion_and_resolves(registry: ModelRegistry) -> None:
    bundle = write_bundle(registry.root, "v1", category=0.80)
    registry.register(bundle)
    assert registry.current() is None
    decision = registry.promote("v1")
    assert decision.promoted and decision.previous_champion is None
    assert registry.current(CHAMPION) == "v1"
    assert registry.resolve(CHAMPION).resolve() == bundle.resolve()
    assert registry.resolve("v1").resolve() == bundle.resolve()


def test_promotion_within_one_point_is_allowed(registry: ModelRegistry) -> None:
    for version, score in [("v1", 0.80), ("v2", 0.79)]:  # exactly one point below
        registry.register(write_bundle(registry.root, version, category=score))
    registry.promote("v1")
    decision = registry.promote("v2")
    assert decision.promoted and not decision.forced
    assert (decision.head, decision.candidate_macro_f1, decision.champion_macro_f1) == (
        "category",
        0.79,
        0.80,
    )
    assert registry.current() == "v2"


def test_promotion_more_than_one_point_below_is_refused_with_both_numbers(
    registry: ModelRegistry,
) -> None:
    for version, score in [("v1", 0.80), ("v2", 0.7849)]:
        registry.register(write_bundle(registry.root, version, category=score))
    registry.promote("v1")
    with pytest.raises(PromotionRefusedError) as info:
        registry.promote("v2")
    assert isinstance(info.value, TriageError)
    message = str(info.value)
    assert "0.7849" in message and "0.8000" in message and "v1" in message
    assert registry.current() == "v1"
    assert registry.check("v2").promoted is False


def test_force_overrides_the_gate(registry: ModelRegistry) -> None:
    for version, score in [("v1", 0.80), ("v2", 0.50)]:
        registry.register(write_bundle(registry.root, version, category=score))
    registry.promote("v1")
    decision = registry.promote("v2", force=True)
    assert decision.promoted and decision.forced
    assert registry.current() == "v2"


def test_gate_compares_category_first_then_the_champions_first_shared_head(
    registry: ModelRegistry,
) -> None:
    # category is better, priority much worse: category decides.
    registry.register(write_bundle(registry.root, "v1", priority=0.9, category=0.7))
    registry.register(write_bundle(registry.root, "v2", priority=0.1, category=0.75))
    registry.promote("v1")
    assert registry.promote("v2").head == "category"
    # No category anywhere: the champion's first head that the candidate also has.
    registry.register(write_bundle(registry.root, "t1", team=0.6, assignee=0.4))
    registry.register(write_bundle(registry.root, "t2", assignee=0.9, team=0.3))
    registry.promote("t1", force=True)
    with pytest.raises(PromotionRefusedError, match="team macro-F1 0.3000"):
        registry.promote("t2")


def test_versions_with_no_shared_head_need_force(registry: ModelRegistry) -> None:
    registry.register(write_bundle(registry.root, "v1", category=0.8))
    registry.register(write_bundle(registry.root, "v2", team=0.9))
    registry.promote("v1")
    with pytest.raises(PromotionRefusedError, match="shares no evaluated head"):
        registry.promote("v2")
    assert registry.promote("v2", force=True).forced


def test_rollback_walks_back_through_previous_champions(registry: ModelRegistry) -> None:
    for version in ["v1", "v2", "v3"]:
        registry.register(write_bundle(registry.root, version, category=0.8))
        registry.promote(version)
    registry.promote("v3")  # promoting the champion again does not grow the history
    assert registry.previous_champions() == ["v1", "v2"]
    assert registry.rollback() == ("v3", "v2")
    assert registry.current() == "v2"
    assert registry.rollback() == ("v2", "v1")
    with pytest.raises(NoPreviousChampionError, match="champion is v1"):
        registry.rollback()
    assert registry.current() == "v1"


def test_rollback_without_champion_is_an_error(registry: ModelRegistry) -> None:
    with pytest.raises(NoPreviousChampionError, match="no champion yet"):
        registry.rollback()


def test_unknown_names_are_clear_errors(registry: ModelRegistry) -> None:
    with pytest.raises(UnknownModelVersionError, match="no champion model yet"):
        registry.resolve(CHAMPION)
    registry.register(write_bundle(registry.root, "v1", category=0.8))
    with pytest.raises(UnknownModelVersionError, match="'v9'.*known versions: v1"):
        registry.resolve("v9")
    with pytest.raises(UnknownModelVersionError):
        registry.promote("v9")


def test_alias_mtime_moves_when_the_champion_moves(registry: ModelRegistry) -> None:
    assert registry.alias_mtime() is None
    for version in ["v1", "v2"]:
        registry.register(write_bundle(registry.root, version, category=0.8))
    registry.promote("v1")
    before = registry.alias_mtime()
    assert registry.alias_mtime() == before  # stable while nothing changes
    registry.promote("v2")  # within the same mtime tick, most likely: the inode differs
    assert registry.alias_mtime() != before
    assert registry.path.stat().st_mode & 0o777 == 0o644  # readable by a server of another user
    # Writers leave no temporary files behind.
    assert sorted(p.name for p in registry.root.iterdir() if p.name.startswith(".")) == []


def test_mlflow_annotation_survives_re_registration(registry: ModelRegistry) -> None:
    bundle = write_bundle(registry.root, "v1", category=0.8)
    registry.register(bundle)
    registry.annotate_mlflow("v1", run_id="abc", registered_version="3")
    assert registry.register(bundle).mlflow == {"run_id": "abc", "registered_version": "3"}


def _promote_many(root: str, versions: list[str], rounds: int) -> None:
    registry = ModelRegistry(root)
    for _ in range(rounds):
        for version in versions:
            registry.promote(version)
            registry.annotate_mlflow(version, run_id=f"run-{version}")


def test_concurrent_promoters_do_not_corrupt_the_file(registry: ModelRegistry) -> None:
    versions = [f"v{i}" for i in range(6)]
    for version in versions:
        registry.register(write_bundle(registry.root, version, category=0.8))
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_promote_many, args=(str(registry.root), versions[i::2], 25))
        for i in range(2)
    ]
    for proc in procs:
        proc.start()
    # Lock-free readers see a whole file at every moment.
    while any(p.is_alive() for p in procs):
        assert registry.current() in {None, *versions}
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    # Every promotion was recorded: no writer overwrote another's update.
    assert len(registry.previous_champions()) == 2 * 25 * 3 - 1
    assert {v.version for v in registry.list_versions()} == set(versions)
    assert all(v.mlflow == {"run_id": f"run-{v.version}"} for v in registry.list_versions())


def test_resolving_an_alias_needs_no_mlflow(registry: ModelRegistry) -> None:
    # The serve-only install has no mlflow: the registry must not even import it.
    import subprocess
    import sys

    registry.register(write_bundle(registry.root, "v1", category=0.8))
    registry.promote("v1")
    code = (
        "import sys; from triage.registry import ModelRegistry; "
        f"print(ModelRegistry({str(registry.root)!r}).resolve('champion').name); "
        "assert not any(m.split('.')[0] in {'mlflow', 'numpy', 'pydantic'} for m in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "v1"


def test_retraining_into_a_registered_directory_drops_the_overwritten_version(
    registry: ModelRegistry,
) -> None:
    registry.register(write_bundle(registry.root, "v1", category=0.8))
    registry.promote("v1")
    shared = write_bundle(registry.root, "shared", category=0.8)  # directory "shared"
    registry.register(shared)
    registry.promote("shared")
    # A retrain writes a new version into the champion's directory.
    manifest = json.loads((shared / "manifest.json").read_text())
    manifest["model_version"] = "shared-2"
    manifest["metrics"]["category"]["macro_f1"] = 0.5
    (shared / "manifest.json").write_text(json.dumps(manifest))
    entry = registry.register(shared)
    assert entry.replaced == ("shared",)
    assert {v.version for v in registry.list_versions()} == {"v1", "shared-2"}
    # The alias follows the directory: its path serves the new files now.
    assert registry.current() == "shared-2"
    assert registry.previous_champions() == ["v1"]
    with pytest.raises(UnknownModelVersionError):
        registry.resolve("shared")


# -- integrity (issue 14, item 3) ----------------------------------------------------------


def test_register_records_the_manifest_sha256(registry: ModelRegistry) -> None:
    bundle = write_bundle(registry.root, "v1", category=0.8)
    entry = registry.register(bundle)
    assert entry.manifest_sha256 == sha256_file(bundle / "manifest.json")


def _edit_manifest(bundle: Path, **changes: object) -> None:
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_an_edited_manifest_is_refused_at_resolve_and_promote(registry: ModelRegistry) -> None:
    from triage.errors import BundleError

    bundle = write_bundle(registry.root, "v1", category=0.8)
    registry.register(bundle)
    registry.promote("v1")
    _edit_manifest(bundle, thresholds={"category": 0.0})
    with pytest.raises(BundleError, match="changed since the bundle was registered"):
        registry.resolve_verified("champion")
    with pytest.raises(BundleError, match="changed since"):
        registry.promote("v1", force=True)


def test_promote_verifies_every_file_before_moving_the_alias(registry: ModelRegistry) -> None:
    from triage.errors import BundleError

    registry.register(write_bundle(registry.root, "v1", category=0.8))
    registry.promote("v1")
    bad = write_bundle(registry.root, "v2", category=0.9)
    registry.register(bad)
    (bad / "heads.onnx").write_bytes(b"tampered")
    with pytest.raises(BundleError, match="corrupt or was modified"):
        registry.promote("v2")
    assert registry.current() == "v1"


def test_with_a_signing_key_only_signed_bundles_are_promoted(registry: ModelRegistry) -> None:
    from triage.bundle import sign_bundle
    from triage.errors import BundleError

    bundle = write_bundle(registry.root, "v1", category=0.8)
    registry.register(bundle)
    with pytest.raises(BundleError, match="unsigned bundle refused"):
        registry.promote("v1", signing_key="k1")
    sign_bundle(bundle, "someone-else")
    with pytest.raises(BundleError, match="signature does not match"):
        registry.promote("v1", signing_key="k1")
    sign_bundle(bundle, "k1")
    assert registry.promote("v1", signing_key="k1").promoted
