#!/usr/bin/env bash
# The linters CI runs before the tests: ruff (rules and formatting), mypy on triage/ and api/,
# and the import-linter layering contracts (all configured in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
