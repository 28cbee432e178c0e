"""The promotion gate: may a newly registered version replace the champion?

The gate compares like with like (issue 15):

- A bundle whose primary head has **no signal** (training found nothing beyond chance)
  is never promoted.
- Two bundles are the **same model** only when their `model_name` matches: a fingerprint
  of the data source and of the primary head's field and label set, written by training
  into the manifest. Figures of different models are never compared: promoting across
  models takes `--force` (audited by the registry).
- For the same model, the champion's figure is its **re-score on the candidate's test
  split** when the caller has it (training does, see `training.tracking`); stored figures
  are compared only when both were measured on the same test tickets (same split
  fingerprint). Otherwise the gate refuses rather than compare different tickets.

Within those rules a candidate may be at most `PROMOTION_TOLERANCE` (one macro-F1 point)
below the champion. Bundles from before model names (no `model_name` on either side)
keep the old rule: stored macro-F1 of the shared primary head.

Pure functions over `ModelVersion` records: `triage.registry` reads and writes the
registry file around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRIMARY_HEAD = "category"
# Largest macro-F1 drop (absolute, 1 point) a new champion may have against the current one.
PROMOTION_TOLERANCE = 0.01
# Float noise must not turn "exactly one point below" into a refusal.
_EPSILON = 1e-9


@dataclass(frozen=True)
class ModelVersion:
    """One registered bundle, as the registry file records it."""

    version: str
    path: Path
    created_at: str
    registered_at: str
    macro_f1: dict[str, float]
    heads: list[str]
    mlflow: dict[str, str] = field(default_factory=dict)
    # The model this version is of (data source and label set, see the module docstring),
    # its manifest's primary head, the heads training found no signal in, and a
    # fingerprint of the primary head's test tickets. None / empty for older bundles.
    model_name: str | None = None
    primary: str | None = None
    no_signal: tuple[str, ...] = ()
    test_split: str | None = None
    # sha256 of the bundle's manifest.json when it was registered ("" in registry files
    # written before issue 14: such entries are trusted as they are until re-registered).
    manifest_sha256: str = ""
    # Set by `register` only: versions dropped because this bundle overwrote their directory.
    replaced: tuple[str, ...] = ()

    @property
    def primary_head(self) -> str | None:
        """The head the promotion gate compares when the other version has it too."""
        if PRIMARY_HEAD in self.macro_f1:
            return PRIMARY_HEAD
        return self.heads[0] if self.heads else None


@dataclass(frozen=True)
class PromotionDecision:
    """What the gate decided for `version` and why, with the numbers it compared."""

    version: str
    promoted: bool
    message: str
    previous_champion: str | None = None
    head: str | None = None
    candidate_macro_f1: float | None = None
    champion_macro_f1: float | None = None
    forced: bool = False
    # How the champion's figure was obtained: "rescored" on the candidate's test split,
    # "stored" (same split), or None when nothing was compared.
    basis: str | None = None


def compare_head(candidate: ModelVersion, champion: ModelVersion) -> str | None:
    """The head the gate compares: `category` if both have it, else the champion's first
    shared head."""
    if PRIMARY_HEAD in candidate.macro_f1 and PRIMARY_HEAD in champion.macro_f1:
        return PRIMARY_HEAD
    for head in champion.heads:
        if head in candidate.macro_f1:
            return head
    return None


def _refuse_or_force(
    candidate: ModelVersion,
    champion: ModelVersion | None,
    reason: str,
    force: bool,
    head: str | None = None,
) -> PromotionDecision:
    previous = champion.version if champion is not None else None
    if force:
        return PromotionDecision(
            candidate.version, True, f"forced: {reason}", previous, head=head, forced=True
        )
    return PromotionDecision(
        candidate.version, False, f"refused: {reason}; use --force to promote anyway", previous
    )


def gate(
    candidate: ModelVersion,
    champion: ModelVersion | None,
    *,
    force: bool = False,
    champion_rescored: float | None = None,
) -> PromotionDecision:
    """Decide whether `candidate` may replace `champion` (pure: reads and writes nothing).

    `champion_rescored`: the champion's macro-F1 on the candidate's test split, for the
    head `compare_head` picks (the caller re-scored it; see `training.tracking`).
    """
    primary = candidate.primary or (candidate.heads[0] if candidate.heads else None)
    if primary is not None and primary in candidate.no_signal:
        return _refuse_or_force(
            candidate,
            champion,
            f"{candidate.version}'s primary head {primary} has no signal (it does not beat "
            "the majority and chance baselines beyond the bootstrap interval)",
            force,
        )
    if champion is None:
        return PromotionDecision(
            candidate.version, True, f"{candidate.version} is the first champion"
        )
    if champion.version == candidate.version:
        return PromotionDecision(
            candidate.version,
            True,
            f"{candidate.version} is already the champion",
            previous_champion=champion.version,
        )
    new_name, old_name = (
        candidate.model_name,
        champion.model_name,
    )
    if (new_name or old_name) and new_name != old_name:
        return _refuse_or_force(
            candidate,
            champion,
            f"{candidate.version} is model {new_name or 'unnamed'} and champion "
            f"{champion.version} is model {old_name or 'unnamed'} (different data source or "
            "label set), so their figures are not compared",
            force,
        )
    head = compare_head(candidate, champion)
    if head is None:
        reason = (
            f"{candidate.version} shares no evaluated head with champion {champion.version} "
            f"(candidate heads: {', '.join(candidate.heads) or 'none'}; "
            f"champion heads: {', '.join(champion.heads) or 'none'}), "
            "so the gate cannot compare them"
        )
        return _refuse_or_force(candidate, champion, reason, force)
    new = candidate.macro_f1[head]
    if champion_rescored is not None:
        old, basis = champion_rescored, "rescored"
        where = f"champion {champion.version} re-scored on the candidate's test split"
    elif new_name is None or candidate.test_split == champion.test_split:
        old, basis = champion.macro_f1[head], "stored"
        where = f"champion {champion.version}"
    else:
        return _refuse_or_force(
            candidate,
            champion,
            f"{candidate.version} and champion {champion.version} were evaluated on different "
            "test tickets and the champion was not re-scored on the candidate's (train with "
            "`triage train`, which re-scores it)",
            force,
            head,
        )
    numbers = (
        f"{head} macro-F1 {new:.4f} vs {where} {old:.4f} "
        f"(delta {new - old:+.4f}, allowed drop {PROMOTION_TOLERANCE:.2f})"
    )
    allowed = new + _EPSILON >= old - PROMOTION_TOLERANCE
    if allowed:
        message = f"promoted {candidate.version}: {numbers}"
    elif force:
        message = f"forced promotion of {candidate.version} past the gate: {numbers}"
    else:
        message = (
            f"refused to promote {candidate.version}: {numbers}; "
            "it is more than 1 point below the champion (use --force to override)"
        )
    return PromotionDecision(
        candidate.version,
        allowed or force,
        message,
        previous_champion=champion.version,
        head=head,
        candidate_macro_f1=new,
        champion_macro_f1=old,
        forced=force and not allowed,
        basis=basis,
    )


def gate_identity(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the gate needs beyond the figures: model name, primary head, no-signal heads."""
    evaluation = manifest.get("evaluation") or {}
    return {
        "model_name": manifest.get("model_name"),
        "primary": manifest.get("primary_head"),
        "no_signal": [
            h["name"]
            for h in manifest.get("heads") or []
            if isinstance(h, dict) and h.get("no_signal")
        ],
        "test_split": evaluation.get("test_split"),
    }


def head_scores(manifest: dict[str, Any]) -> tuple[list[str], dict[str, float]]:
    """Heads in manifest order and their macro-F1; `auto_reply` and friends have none."""
    heads: list[str] = []
    scores: dict[str, float] = {}
    for name, value in (manifest.get("metrics") or {}).items():
        if isinstance(value, dict) and isinstance(value.get("macro_f1"), int | float):
            heads.append(name)
            scores[name] = float(value["macro_f1"])
    return heads, scores
