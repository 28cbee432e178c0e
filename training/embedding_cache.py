"""Training embeddings, computed with the serving encoder and cached on disk.

Training embeds with `triage.encoder.OnnxEncoder`, the very graph and tokenizer the
bundle ships, so a head never sees vectors that serving would not produce. Vectors are
computed one text at a time by default (`batch_size=1`): the int8 graph quantizes its
activations per batch, so a text padded inside a batch comes out slightly different
(cosine about 0.99) from the same text alone, which is how serving embeds a ticket; and
on the 2-core target batch 1 back to back is also the fastest (130 vs 121 tickets/s at
batch 8).

The cache lives in one folder per encoder fingerprint (graph sha256 + tokenizer +
max_length). Each run that computes something appends a shard `shard-*.npz` holding
text sha256 digests and their vectors; shards are written atomically, so concurrent
runs and interrupted runs never corrupt it, and many small shards are merged now and
then. Identical texts are embedded once per call, and never again in a later run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triage.encoder import OnnxEncoder
from triage.files import atomic_path

log = logging.getLogger(__name__)

# Vectors computed between two shard writes: an interrupted run loses at most this many.
FLUSH_EVERY = 2048
# Above this many shards the cache merges them into one on the next write.
MAX_SHARDS = 32
# Texts per encode call between progress-bar updates.
CHUNK = 64


@dataclass(frozen=True)
class EmbedStats:
    """What one `embed_texts` call did."""

    texts: int
    unique: int
    cache_hits: int
    computed: int
    seconds: float

    @property
    def rate(self) -> float:
        """Texts embedded per second (computed ones only)."""
        return self.computed / self.seconds if self.seconds > 0 else 0.0


def text_key(text: str) -> bytes:
    """The 32-byte sha256 digest a text is cached under."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingStore:
    """The on-disk vectors of one encoder: `folder/shard-*.npz` with `keys` (n × 32 uint8)
    and `vectors` (n × dim float32)."""

    def __init__(self, cache_dir: Path, encoder: OnnxEncoder) -> None:
        """Open (creating if needed) the store for `encoder` under `cache_dir`."""
        self.dim = encoder.dim
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in encoder.name)[:60]
        self.folder = Path(cache_dir) / f"{slug}-{encoder.fingerprint[:24]}"
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "encoder.json"
        if not meta.exists():
            info = {"name": encoder.name, "dim": encoder.dim, "fingerprint": encoder.fingerprint}
            meta.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")

    def _shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard-*.npz"))

    def load(self, wanted: set[bytes]) -> dict[bytes, np.ndarray]:
        """Vectors for the keys in `wanted` that the store holds."""
        found: dict[bytes, np.ndarray] = {}
        if not wanted:
            return found
        for shard in self._shards():
            data = self._read(shard)
            if data is None:
                continue
            keys, vectors = data
            for row, key in enumerate(keys):
                k = key.tobytes()
                if k in wanted and k not in found:
                    found[k] = vectors[row]
            if len(found) == len(wanted):
                break
        return found

    def _read(self, shard: Path) -> tuple[np.ndarray, np.ndarray] | None:
        # A cache must never break training: a shard that vanished (merged by a
        # concurrent run) or cannot be read is skipped and its texts are recomputed.
        try:
            with np.load(shard, allow_pickle=False) as npz:
                keys, vectors = npz["keys"], npz["vectors"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("ignoring unreadable embedding cache shard %s: %s", shard, exc)
            return None
        if keys.ndim != 2 or keys.shape[1] != 32 or vectors.shape != (len(keys), self.dim):
            log.warning("ignoring embedding cache shard %s with unexpected shapes", shard)
            return None
        return keys, vectors

    def add(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Append a shard with these vectors; merge the shards when there are too many."""
        if not len(keys):
            return
        self._write(np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 32), vectors)
        shards = self._shards()
        if len(shards) > MAX_SHARDS:
            self._merge(shards)

    def _write(self, keys: np.ndarray, vectors: np.ndarray) -> Path:
        path = self.folder / f"shard-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.npz"
        # A file object, not a name: `np.savez` would add ".npz" to the temporary name.
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, keys=keys, vectors=np.asarray(vectors, dtype=np.float32))
        return path

    def _merge(self, shards: list[Path]) -> None:
        parts = [d for d in (self._read(s) for s in shards) if d is not None]
        if not parts:
            return
        keys = np.concatenate([k for k, _ in parts])
        vectors = np.concatenate([v for _, v in parts])
        _, first = np.unique(keys, axis=0, return_index=True)
        first.sort()
        self._write(keys[first], vectors[first])
        for shard in shards:
            shard.unlink(missing_ok=True)


def embed_texts(
    encoder: OnnxEncoder,
    texts: Sequence[str],
    cache_dir: Path | None,
    progress: bool = True,
    *,
    batch_size: int = 1,
) -> np.ndarray:
    """Embed `texts` (N × dim float32, input order) with the serving encoder, through the cache.

    `cache_dir=None` keeps nothing on disk but still embeds each distinct text once.
    """
    vectors, _ = embed_texts_with_stats(
        encoder, texts, cache_dir, progress=progress, batch_size=batch_size
    )
    return vectors


def embed_texts_with_stats(
    encoder: OnnxEncoder,
    texts: Sequence[str],
    cache_dir: Path | None,
    progress: bool = True,
    *,
    batch_size: int = 1,
) -> tuple[np.ndarray, EmbedStats]:
    """`embed_texts`, also returning how many texts came from the cache and how many were
    computed."""
    started = time.perf_counter()
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}]: expected str, got {type(text).__name__}")
    keys = [text_key(t) for t in texts]
    first_text: dict[bytes, str] = {}
    for key, text in zip(keys, texts, strict=True):
        first_text.setdefault(key, text)

    store = EmbeddingStore(cache_dir, encoder) if cache_dir is not None else None
    known = store.load(set(first_text)) if store is not None else {}
    missing = [k for k in first_text if k not in known]

    compute_started = time.perf_counter()
    if missing:
        known.update(_compute(encoder, missing, first_text, store, progress, batch_size))
    compute_seconds = time.perf_counter() - compute_started

    out = np.empty((len(texts), encoder.dim), dtype=np.float32)
    for row, key in enumerate(keys):
        out[row] = known[key]
    stats = EmbedStats(
        texts=len(texts),
        unique=len(first_text),
        cache_hits=len(first_text) - len(missing),
        computed=len(missing),
        seconds=compute_seconds,
    )
    log.info(
        "embedded %d texts (%d distinct): %d from cache, %d computed in %.1fs (%.0f/s); total "
        "%.1fs",
        stats.texts,
        stats.unique,
        stats.cache_hits,
        stats.computed,
        stats.seconds,
        stats.rate,
        time.perf_counter() - started,
    )
    return out, stats


def _compute(
    encoder: OnnxEncoder,
    missing: list[bytes],
    first_text: dict[bytes, str],
    store: EmbeddingStore | None,
    progress: bool,
    batch_size: int,
) -> dict[bytes, np.ndarray]:
    computed: dict[bytes, np.ndarray] = {}
    pending: list[bytes] = []
    # Length-sorted chunks keep padding small when batch_size > 1.
    order = sorted(missing, key=lambda k: len(first_text[k]))
    bar = _progress_bar(len(order)) if progress and len(order) >= CHUNK else None
    try:
        task = bar.add_task("embedding", total=len(order)) if bar else None
        for start in range(0, len(order), CHUNK):
            chunk = order[start : start + CHUNK]
            vectors = encoder.encode([first_text[k] for k in chunk], batch_size=batch_size)
            for key, vector in zip(chunk, vectors, strict=True):
                computed[key] = vector
            pending.extend(chunk)
            if store is not None and len(pending) >= FLUSH_EVERY:
                store.add(pending, np.stack([computed[k] for k in pending]))
                pending = []
            if bar is not None:
                bar.update(task, advance=len(chunk))
        if store is not None and pending:
            store.add(pending, np.stack([computed[k] for k in pending]))
    finally:
        if bar is not None:
            bar.stop()
    return computed


def _progress_bar(total: int):
    """A rich progress bar on stderr showing tickets/s."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.0f} tickets/s" if speed else "- tickets/s")

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    bar.start()
    return bar
