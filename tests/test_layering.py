"""The layering contracts of pyproject.toml ([tool.importlinter]), checked by import-linter.

The core (`triage`) imports none of the packages built on it, the HTTP adapter none of
training, benchmarks or the CLI, and neither imports torch, sentence-transformers or
scikit-learn. CI runs `lint-imports` too (scripts/lint.sh); this test keeps the check in
the suite, and shows the contracts do catch a break. tests/api/test_torch_free.py checks
the same at run time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("triage", "api", "training", "benchmarks", "triage_cli")


def _lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _contracts_section() -> str:
    """The [tool.importlinter] tables of the real pyproject.toml, verbatim."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    start = text.index("[tool.importlinter]")
    rest = re.search(r"^\[(?!\[?tool\.importlinter)", text[start + 1 :], re.M)
    return text[start : start + 1 + rest.start()] if rest else text[start:]


@pytest.fixture(scope="module")
def real_tree() -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} missing: run scripts/setup.sh (the dev extra)")
    return _lint_imports(ROOT)


def test_the_tree_keeps_every_contract(real_tree: subprocess.CompletedProcess[str]) -> None:
    assert real_tree.returncode == 0, real_tree.stdout + real_tree.stderr
    assert re.search(r"Contracts: 3 kept, 0 broken", real_tree.stdout), real_tree.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("triage/core.py", "import api.app", "the core imports none"),
        ("triage/core.py", "from triage_cli import main", "the core imports none"),
        ("api/app.py", "import training.pipeline", "the HTTP adapter imports neither"),
        ("api/app.py", "import sklearn.linear_model", "no torch, sentence-transformers"),
        ("triage/core.py", "import torch", "no torch, sentence-transformers"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    """The same contracts over a toy tree with one forbidden import: lint-imports fails
    and names the contract."""
    (tmp_path / "pyproject.toml").write_text(_contracts_section(), encoding="utf-8")
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    for sub in ("training/pipeline.py", "triage_cli/main.py", "api/app.py", "triage/core.py"):
        (tmp_path / sub).write_text("", encoding="utf-8")
    (tmp_path / module).write_text(line + "\n", encoding="utf-8")
    done = _lint_imports(tmp_path)
    assert done.returncode != 0, done.stdout
    assert re.search(re.escape(broken) + r".* BROKEN", done.stdout), done.stdout


def test_only_settings_reads_the_environment() -> None:
    readers = []
    for package in ("triage", "training", "api", "triage_cli"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if ("os.environ" in text or "os.getenv" in text) and path.name != "settings.py":
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []
