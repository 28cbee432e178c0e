"""Training embeddings go through the serving encoder and are computed once per text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.embedding_cache import embed_texts, embed_texts_with_stats
from triage.encoder import OnnxEncoder

TEXTS = [
    "Outlook keeps asking for my password after the update.",
    "Need a new laptop charger, mine stopped working.",
    "Outlook keeps asking for my password after the update.",  # duplicate
    "Refund for order 8812 please, the parcel never arrived.",
    "Cannot open the shared finance folder: access denied.",
    "Need a new laptop charger, mine stopped working.",  # duplicate
]


class CountingEncoder(OnnxEncoder):
    """The real encoder, counting how many texts it is asked to embed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.embedded = 0

    def encode(self, texts: list[str], batch_size: int = 8) -> np.ndarray:
        self.embedded += len(texts)
        return super().encode(texts, batch_size=batch_size)


@pytest.fixture
def encoder(exported_encoder: Path) -> CountingEncoder:
    return CountingEncoder(exported_encoder, threads=1)


def test_training_vectors_are_exactly_what_serving_computes(encoder: CountingEncoder) -> None:
    vectors = embed_texts(encoder, TEXTS, cache_dir=None, progress=False)
    serving = np.stack([encoder.encode_one(t) for t in TEXTS])
    np.testing.assert_allclose(vectors, serving, atol=1e-6)
    assert vectors.shape == (len(TEXTS), encoder.dim) and vectors.dtype == np.float32


def test_duplicates_are_embedded_once_and_second_run_embeds_nothing(
    exported_encoder: Path, encoder: CountingEncoder, tmp_path: Path
) -> None:
    first, stats = embed_texts_with_stats(encoder, TEXTS, tmp_path, progress=False)
    assert encoder.embedded == 4
    assert (stats.texts, stats.unique, stats.cache_hits, stats.computed) == (6, 4, 0, 4)
    np.testing.assert_array_equal(first[0], first[2])

    # A fresh process would open a new encoder on the same export: same fingerprint.
    again = CountingEncoder(exported_encoder, threads=1)
    second, stats = embed_texts_with_stats(again, TEXTS, tmp_path, progress=False)
    assert again.embedded == 0
    assert (stats.cache_hits, stats.computed) == (4, 0)
    np.testing.assert_array_equal(first, second)

    # Only the new text is computed.
    more = [*TEXTS, "The VPN client fails with error 809 on hotel wifi."]
    third, stats = embed_texts_with_stats(again, more, tmp_path, progress=False)
    assert again.embedded == 1 and stats.computed == 1
    np.testing.assert_array_equal(third[: len(TEXTS)], first)


def test_unreadable_shard_is_ignored_and_recomputed(
    encoder: CountingEncoder, tmp_path: Path
) -> None:
    embed_texts(encoder, TEXTS[:2], tmp_path, progress=False)
    (shard,) = tmp_path.glob("*/shard-*.npz")
    shard.write_bytes(b"not a zip file")
    encoder.embedded = 0
    vectors = embed_texts(encoder, TEXTS[:2], tmp_path, progress=False)
    assert encoder.embedded == 2
    np.testing.assert_allclose(vectors[0], encoder.encode_one(TEXTS[0]), atol=1e-6)


def test_non_text_is_rejected(encoder: CountingEncoder) -> None:
    with pytest.raises(TypeError, match="texts\\[1\\]"):
        embed_texts(encoder, ["fine", 42], cache_dir=None, progress=False)  # type: ignore[list-item]


def test_many_shards_are_merged_without_losing_vectors(
    encoder: CountingEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("training.embedding_cache.MAX_SHARDS", 2)
    unique = list(dict.fromkeys(TEXTS))
    for i in range(len(unique)):
        embed_texts(encoder, unique[: i + 1], tmp_path, progress=False)
    assert len(list(tmp_path.glob("*/shard-*.npz"))) <= 2
    encoder.embedded = 0
    vectors = embed_texts(encoder, unique, tmp_path, progress=False)
    assert encoder.embedded == 0
    np.testing.assert_allclose(vectors[-1], encoder.encode_one(unique[-1]), atol=1e-6)
