#!/usr/bin/env bash
# The main job on built-in demo data: set up, generate demo tickets, print their stats.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
OUT=${DEMO_OUT:-demo-out}
mkdir -p "$OUT"
triage data demo --out "$OUT/demo.parquet"
triage data stats "$OUT/demo.parquet"
