"""The promotion gate: whether a newly registered version may replace the champion.

A version becomes `champion` only if its macro-F1 on its evaluation set is at most
`PROMOTION_TOLERANCE` (one point, 0.01) below the current champion's. The compared head
is the *primary head*: `category` when both versions have it, otherwise the first head of
the champion's manifest that the candidate also has. Pure functions over `ModelVersion`
records: `triage.registry` reads and writes the registry file around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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


def compare_head(candidate: ModelVersion, champion: ModelVersion) -> str | None:
    """The head the gate compares: `category` if both have it, else the champion's first
    shared head."""
    if PRIMARY_HEAD in candidate.macro_f1 and PRIMARY_HEAD in champion.macro_f1:
        return PRIMARY_HEAD
    for head in champion.heads:
        if head in candidate.macro_f1:
            return head
    return None


def gate(
    candidate: ModelVersion, champion: ModelVersion | None, *, force: bool = False
) -> PromotionDecision:
    """Decide whether `candidate` may replace `champion` (pure: reads and writes nothing)."""
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
    head = compare_head(candidate, champion)
    if head is None:
        reason = (
            f"{candidate.version} shares no evaluated head with champion {champion.version} "
            f"(candidate heads: {', '.join(candidate.heads) or 'none'}; "
            f"champion heads: {', '.join(champion.heads) or 'none'}), so the gate "
            "cannot compare them"
        )
        if force:
            return PromotionDecision(
                candidate.version, True, f"forced: {reason}", champion.version, forced=True
            )
        return PromotionDecision(
            candidate.version,
            False,
            f"refused: {reason}; use --force to promote anyway",
            champion.version,
        )
    new, old = candidate.macro_f1[head], champion.macro_f1[head]
    numbers = (
        f"{head} macro-F1 {new:.4f} vs champion {champion.version} {old:.4f} "
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
    )
