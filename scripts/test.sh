#!/usr/bin/env bash
# Set up and run the whole test suite (PostgreSQL at 127.0.0.1:5432 for the store tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# No network here: keep MLflow from trying to send telemetry.
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
exec .venv/bin/python -m pytest "$@"
