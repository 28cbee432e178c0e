"""The model registry that serving trusts: a small JSON file beside the bundles.

`models_dir/registry.json` lists every registered bundle (its `model_version`, where it
lives, the macro-F1 of each head from its manifest, and the MLflow run and model
version when the training run was tracked) and the aliases (`champion`) with the
history of previous champions, so `rollback` knows where to go back to.

Why a file and not MLflow: the serving process must resolve `champion` without
importing mlflow (the `serve` extra does not ship it) and without a tracking server.
MLflow mirrors the alias (`training.tracking`), but this file is authoritative.

Concurrency: readers never lock, because writers replace the file atomically
(write a temporary file, fsync, `os.replace`). Writers serialise their
read-modify-write under an exclusive `fcntl.flock` on a sidecar lock file (the JSON
file itself is replaced on every write, so locking it would lock a stale inode).

Promotion gate: `promote` applies `triage.promotion.gate` (at most one point of
macro-F1 below the champion, on the primary head) under the registry lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.errors import BundleError, TriageError
from triage.files import read_json_object, sha256_file, write_atomically
from triage.promotion import ModelVersion, PromotionDecision, gate, gate_identity, head_scores

REGISTRY_FILE = "registry.json"
CHAMPION = "champion"
# The version scored in shadow beside the champion (docs/monitoring.md); never gated.
CHALLENGER = "challenger"
_FORMAT = 1


class RegistryError(TriageError):
    """The model registry cannot do what was asked (bad bundle, corrupt registry file)."""


class UnknownModelVersionError(RegistryError):
    """No registered version or alias has this name."""


class PromotionRefusedError(RegistryError):
    """The promotion gate refused a version; `decision` holds both numbers."""

    def __init__(self, decision: PromotionDecision) -> None:
        super().__init__(decision.message)
        self.decision = decision


class NoPreviousChampionError(RegistryError):
    """`rollback` was asked for, but there is no earlier champion to go back to."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read_manifest(bundle_dir: Path) -> dict[str, Any]:
    path = bundle_dir / "manifest.json"
    manifest = read_json_object(path, RegistryError, "not a model bundle (no manifest.json)")
    if not manifest.get("model_version"):
        raise RegistryError(f"{path}: manifest has no 'model_version'")
    return manifest


class ModelRegistry:
    """The file registry under `models_dir`. Cheap to create; every call re-reads the file."""

    def __init__(self, models_dir: Path | str) -> None:
        self.root = Path(models_dir)
        self.path = self.root / REGISTRY_FILE
        self._lock_path = self.root / (REGISTRY_FILE + ".lock")

    # -- reading (lock-free: writers replace the file atomically) ---------------------------

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():  # never deleted, only replaced: no registration yet
            return {"format": _FORMAT, "versions": {}, "aliases": {}, "history": {}}
        data = read_json_object(self.path, RegistryError, "registry file vanished")
        data.setdefault("versions", {})
        data.setdefault("aliases", {})
        data.setdefault("history", {})
        return data

    def _entry(self, version: str, record: dict[str, Any]) -> ModelVersion:
        raw = Path(record["path"])
        return ModelVersion(
            version=version,
            path=raw if raw.is_absolute() else self.root / raw,
            created_at=record.get("created_at", ""),
            registered_at=record.get("registered_at", ""),
            macro_f1=dict(record.get("macro_f1", {})),
            heads=list(record.get("heads", [])),
            mlflow=dict(record.get("mlflow", {})),
            model_name=record.get("model_name"),
            primary=record.get("primary"),
            no_signal=tuple(record.get("no_signal", ())),
            test_split=record.get("test_split"),
            manifest_sha256=str(record.get("manifest_sha256", "")),
        )

    def list_versions(self) -> list[ModelVersion]:
        """Every registered version, oldest registration first."""
        data = self._load()
        entries = [self._entry(v, r) for v, r in data["versions"].items()]
        return sorted(entries, key=lambda e: (e.registered_at, e.version))

    def aliases(self) -> dict[str, str]:
        """Alias name → version."""
        return dict(self._load()["aliases"])

    def current(self, alias: str = CHAMPION) -> str | None:
        """The version `alias` points at, or None when it is unset."""
        return self._load()["aliases"].get(alias)

    def get(self, version: str) -> ModelVersion:
        """The registered version `version` (not an alias)."""
        record = self._load()["versions"].get(version)
        if record is None:
            raise UnknownModelVersionError(self._unknown(version))
        return self._entry(version, record)

    def resolve(self, alias_or_version: str) -> Path:
        """The bundle directory of an alias (`champion`) or of a version."""
        data = self._load()
        version = data["aliases"].get(alias_or_version, alias_or_version)
        record = data["versions"].get(version)
        if record is None:
            if alias_or_version == CHAMPION:
                raise UnknownModelVersionError(
                    f"no champion model yet in {self.path} (train one with `triage train`, "
                    "or promote a version with `triage models promote VERSION`)"
                )
            raise UnknownModelVersionError(self._unknown(alias_or_version))
        return self._entry(version, record).path

    def resolve_verified(self, alias_or_version: str) -> tuple[Path, str]:
        """`(bundle directory, recorded manifest sha256)` of an alias or version, the
        manifest checked against what was recorded at registration (`BundleError`)."""
        data = self._load()
        version = data["aliases"].get(alias_or_version, alias_or_version)
        path = self.resolve(alias_or_version)
        expected = str(data["versions"][version].get("manifest_sha256", ""))
        from triage.bundle import check_manifest  # numpy and onnxruntime: only when serving

        check_manifest(path, expected)
        return path, expected

    def alias_mtime(self) -> tuple[int, int] | None:
        """A cheap change stamp for watchers (one `stat`); compare stamps with `==`.

        It changes on every write: each write replaces the file by a new inode, so two
        writes within one coarse mtime tick still differ. None while no registry exists.
        """
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_ino

    def previous_champions(self) -> list[str]:
        """Earlier champions, most recent last (what `rollback` pops)."""
        return list(self._load()["history"].get(CHAMPION, []))

    def _unknown(self, name: str) -> str:
        known = list(self._load()["versions"])
        hint = f"known versions: {', '.join(known[-5:])}" if known else "the registry is empty"
        return f"unknown model version or alias {name!r} in {self.path} ({hint})"

    # -- writing (flock + atomic replace) ----------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """Exclusive read-modify-write: yields the current data, writes it back on success."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                data = self._load()
                yield data
                data["format"] = _FORMAT
                self._write(data)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _write(self, data: dict[str, Any]) -> None:
        # 0o644: a server running as another user must read it; durable: losing the
        # registry to a power cut would orphan every bundle.
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        write_atomically(self.path, text, mode=0o644, durable=True)

    def _stored_path(self, bundle_dir: Path) -> str:
        """Relative to the registry when the bundle lives under it, so the tree can move."""
        absolute = bundle_dir.resolve()
        try:
            return str(absolute.relative_to(self.root.resolve()))
        except ValueError:
            return str(absolute)

    def register(self, bundle_dir: Path | str) -> ModelVersion:
        """Record the bundle in `bundle_dir` under its manifest's `model_version`.

        Registering the same bundle again is a no-op that refreshes its metrics; a
        different bundle claiming a version that is already registered is an error.

        A retrain into the directory of an earlier version overwrote that version's files,
        so the earlier version is dropped (listed in `replaced`): the registry must never
        resolve a version to files of another. If it was the champion, the champion alias
        follows the directory to the new version, because that is what its path now serves.
        """
        bundle_dir = Path(bundle_dir)
        manifest = _read_manifest(bundle_dir)
        version = str(manifest["model_version"])
        heads, scores = head_scores(manifest)
        stored = self._stored_path(bundle_dir)
        digest = sha256_file(bundle_dir / "manifest.json")
        with self._locked() as data:
            old = data["versions"].get(version)
            if old is not None and old["path"] != stored:
                old_path = self._entry(version, old).path
                if (old_path / "manifest.json").exists():
                    raise RegistryError(
                        f"model version {version!r} is already registered for {old_path}; "
                        f"refusing to point it at {bundle_dir}"
                    )
            replaced = tuple(
                other
                for other, rec in data["versions"].items()
                if other != version and rec["path"] == stored
            )
            for other in replaced:
                del data["versions"][other]
                for alias, target in list(data["aliases"].items()):
                    if target == other:
                        data["aliases"][alias] = version
                for alias, earlier in data["history"].items():
                    data["history"][alias] = [v for v in earlier if v != other]
            data["versions"][version] = {
                "path": stored,
                "created_at": str(manifest.get("created_at", "")),
                "registered_at": (old or {}).get("registered_at") or _now(),
                "macro_f1": scores,
                "heads": heads,
                "mlflow": (old or {}).get("mlflow", {}),
                **gate_identity(manifest),
                "manifest_sha256": digest,
            }
            record = data["versions"][version]
        return replace(self._entry(version, record), replaced=replaced)

    def annotate_mlflow(self, version: str, /, **info: str) -> ModelVersion:
        """Attach the MLflow coordinates (tracking_uri, run_id, registered_model,
        registered_version).
        """
        with self._locked() as data:
            record = data["versions"].get(version)
            if record is None:
                raise UnknownModelVersionError(self._unknown(version))
            record.setdefault("mlflow", {}).update({k: str(v) for k, v in info.items()})
        return self._entry(version, record)

    def check(
        self, version: str, *, force: bool = False, champion_rescored: float | None = None
    ) -> PromotionDecision:
        """What `promote` would decide right now, without changing anything."""
        data = self._load()
        return self._decide(data, version, force, champion_rescored)

    def audit(self) -> list[dict[str, Any]]:
        """Every promotion and refusal, oldest first (forced ones flagged)."""
        return list(self._load().get("audit", []))

    def _decide(
        self,
        data: dict[str, Any],
        version: str,
        force: bool,
        champion_rescored: float | None = None,
    ) -> PromotionDecision:
        record = data["versions"].get(version)
        if record is None:
            raise UnknownModelVersionError(self._unknown(version))
        champion_version = data["aliases"].get(CHAMPION)
        champion_record = data["versions"].get(champion_version) if champion_version else None
        champion = self._entry(champion_version, champion_record) if champion_record else None
        return gate(
            self._entry(version, record),
            champion,
            force=force,
            champion_rescored=champion_rescored,
        )

    def promote(
        self,
        version: str,
        *,
        force: bool = False,
        champion_rescored: float | None = None,
        signing_key: str | None = None,
    ) -> PromotionDecision:
        """Make `version` the champion if the gate allows (or `force`); raise otherwise.

        Every file of the bundle is verified first: the manifest against the sha256
        recorded at registration, the signature when `signing_key` is set, every file
        against the manifest (`BundleError`), so the alias never names a bundle the
        server would refuse. Raises `PromotionRefusedError` (its message shows both
        macro-F1 numbers) when the candidate is more than one point below the champion,
        `UnknownModelVersionError` for a version that was never registered.
        """
        from triage.bundle import verify_bundle

        path, expected = self.resolve_verified(version)
        if verify_bundle(path, signing_key) != expected and expected:
            raise BundleError(f"{path}: manifest.json changed since the bundle was registered")
        with self._locked() as data:
            decision = self._decide(data, version, force, champion_rescored)
            data.setdefault("audit", []).append(
                {
                    "at": _now(),
                    "version": version,
                    "champion": data["aliases"].get(CHAMPION),
                    "promoted": decision.promoted,
                    "forced": decision.forced,
                    "basis": decision.basis,
                    "message": decision.message,
                }
            )
            # The refusal is raised after the lock wrote the audit entry.
            old = data["aliases"].get(CHAMPION)
            if decision.promoted and old != version:
                if old is not None:
                    data["history"].setdefault(CHAMPION, []).append(old)
                data["aliases"][CHAMPION] = version
        if not decision.promoted:
            raise PromotionRefusedError(decision)
        return decision

    def set_challenger(self, version: str) -> str | None:
        """Point `challenger` at `version` (no gate: a challenger only scores in shadow).
        Returns the previous challenger."""
        with self._locked() as data:
            known = version in data["versions"]
            old = data["aliases"].get(CHALLENGER)
            if known:
                data["aliases"][CHALLENGER] = version
        if not known:
            raise UnknownModelVersionError(self._unknown(version))
        return old

    def rollback(self) -> tuple[str, str]:
        """Point `champion` back at the previous champion; returns (from, to).

        The rolled-back version is not pushed onto the history, so repeated rollbacks
        walk further back instead of toggling between two versions.
        """
        with self._locked() as data:
            history: list[str] = data["history"].get(CHAMPION, [])
            current = data["aliases"].get(CHAMPION)
            # Skip entries whose version was removed from the registry by hand.
            while history and history[-1] not in data["versions"]:
                history.pop()
            if not history or current is None:
                raise NoPreviousChampionError(
                    f"no previous champion to roll back to in {self.path}"
                    + (f" (champion is {current})" if current else " (no champion yet)")
                )
            previous = history.pop()
            data["aliases"][CHAMPION] = previous
        return current, previous
