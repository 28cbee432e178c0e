"""The git checkout this code runs from: which commit, and whether its tree was changed.

Bundles and benchmark results record it, so that a figure or a model can be traced to the
code that produced it. Outside a checkout (an installed package) or without git, every
answer is None rather than an error.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

# The repository root when this file lives in a checkout.
ROOT = Path(__file__).resolve().parents[1]


def git(*args: str) -> str | None:
    """The output of `git ARGS` run in the checkout, or None when git cannot answer."""
    try:
        done = subprocess.run(
            ["git", *args], check=False, cwd=ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git, or it hung
    return done.stdout.strip() if done.returncode == 0 else None


def commit_sha() -> str | None:
    """HEAD's full sha, or None outside a git checkout."""
    return git("rev-parse", "HEAD") or None


def is_dirty(*paths: str) -> bool | None:
    """Whether `paths` (default: the whole tree) have uncommitted changes; None without git."""
    status = git("status", "--porcelain", "--", *paths)
    return None if status is None else bool(status)
