"""The encoder window's decision at scale: judged on a sample, remembered by fingerprint.

`encoder_selection.choose_length` scores the primary head out of fold with the embeddings
read at each candidate window. On a large desk that meant embedding every long ticket at
every window and fitting 3 windows × 3 folds on the whole training part (47,837 Endava
tickets: 9 fits on ~25,500 rows each), to decide one number.

- **A stratified sample** (`training.sampling.stratified_sample`) of at most `SAMPLE_MAX`
  labelled training tickets is enough. The comparison is paired (the same tickets and folds
  at every window; a ticket within the shortest window has the same vector at all of them),
  so what varies is only how the long tickets read. Its paired-bootstrap interval on
  macro-F1 is about ±1 point at 4,000 tickets (endava sample, 4,346 tickets: 64 − 256 =
  +0.004 [−0.004, +0.015]), the size of the test split's own noise on such desks: a smaller
  difference between windows is not one a user would see, and a window that costs more
  than a point is rejected on the sample too. A larger sample narrows the interval and so
  can only reject a short window over a difference smaller than that. Only the sample is
  embedded at the windows that lose; every other ticket is embedded once, at the chosen
  window.
- **A cache** (`DecisionStore`): the decision is a function of the sample's feature
  matrices, labels and texts, the encoder, the judge's recipe and the seed; its key hashes
  all of them, so a retrain on the same data reuses the decision and any change to the
  data, the vocabulary, the encoder or the recipe decides again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from triage.files import write_json

log = logging.getLogger(__name__)

# Labelled training tickets the window is judged on (the rest are not needed: see above).
SAMPLE_MAX = 4_000
# Bumped when what a cached decision means changes (the rule, the sample, the record).
DECISION_VERSION = "window-1"


def decision_key(parts: dict[str, Any], arrays: list[Any]) -> str:
    """sha256 over `parts` (JSON-ready settings) and `arrays` (numpy arrays, scipy sparse
    matrices, lists of strings or None), in order."""
    digest = hashlib.sha256(DECISION_VERSION.encode() + b"\0")
    digest.update(json.dumps(parts, sort_keys=True, default=str).encode() + b"\0")
    for item in arrays:
        if item is None:
            digest.update(b"none\0")
        elif hasattr(item, "indptr"):  # CSR: its three arrays say everything
            for part in (item.data, item.indices, item.indptr, np.array(item.shape)):
                digest.update(np.ascontiguousarray(part).tobytes())
            digest.update(b"\0")
        elif isinstance(item, np.ndarray) and item.dtype != object:
            digest.update(str(item.dtype).encode() + np.ascontiguousarray(item).tobytes() + b"\0")
        else:
            for value in item:
                digest.update(str(value).encode("utf-8", "surrogatepass") + b"\x1f")
            digest.update(b"\0")
    return digest.hexdigest()


class DecisionStore:
    """Window decisions as `folder/KEY.json` (written atomically: concurrent runs that
    decide the same key write the same content)."""

    def __init__(self, folder: Path) -> None:
        """`folder`: e.g. the encoder cache's `windows/`."""
        self.folder = Path(folder)

    def load(self, key: str) -> dict[str, Any] | None:
        """The record stored under `key`, or None (absent or unreadable: decide again)."""
        path = self.folder / f"{key}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable window decision %s: %s", path, exc)
            return None
        if not isinstance(record, dict) or not isinstance(record.get("chosen"), int):
            return None
        return record

    def save(self, key: str, record: dict[str, Any]) -> None:
        """Store `record` (with its `chosen` window) under `key`."""
        write_json(self.folder / f"{key}.json", record)
