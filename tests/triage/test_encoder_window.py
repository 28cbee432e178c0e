"""The encoder's token window: a long ticket reads as its head and tail, within N tokens;
bundles without `encoder.max_tokens` keep the old head cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from triage.encoder import OnnxEncoder
from triage.errors import EncoderError
from triage.token_window import window_sizes

# Words that are one token each in MiniLM's vocabulary (checked below).
WORDS = ["the", "printer", "is", "broken", "please", "help", "network", "down", "today"]


def _words(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [WORDS[i] for i in rng.integers(0, len(WORDS), n)]


def test_a_long_ticket_embeds_as_its_head_and_tail_window(exported_encoder: Path) -> None:
    plain = OnnxEncoder(exported_encoder, threads=1)
    windowed = OnnxEncoder(exported_encoder, threads=1, max_tokens=64)
    words = _words(300)
    text = " ".join(words)
    assert plain.token_count(text) == 256  # the old head cut at the spec's max_length
    assert windowed.token_count(text) == 64
    # 62 content tokens (64 minus [CLS] and [SEP]): the first ones and the last ones.
    head, tail = window_sizes(300, 62)
    kept = " ".join(words[:head] + words[len(words) - tail :])
    assert plain.token_count(kept) == 64  # one token a word, so the window is this text
    np.testing.assert_allclose(windowed.encode_one(text), plain.encode_one(kept), atol=1e-6)
    # Batched and one-by-one agree on the window too (batch padding aside).
    batch = windowed.encode([text, "printer broken", kept], batch_size=3)
    assert float(batch[0] @ windowed.encode_one(text)) > 0.99
    assert float(batch[0] @ batch[2]) > 0.99


def test_a_short_ticket_is_the_same_at_any_window(exported_encoder: Path) -> None:
    text = "VPN disconnects every ten minutes since the update"
    plain = OnnxEncoder(exported_encoder, threads=1)
    for n in (64, 128, 256):
        np.testing.assert_allclose(
            OnnxEncoder(exported_encoder, threads=1, max_tokens=n).encode_one(text),
            plain.encode_one(text),
            atol=1e-6,
        )


def test_the_window_is_in_the_fingerprint_and_capped_by_the_graph(exported_encoder: Path) -> None:
    plain = OnnxEncoder(exported_encoder, threads=1)
    assert plain.max_tokens is None
    at_64 = OnnxEncoder(exported_encoder, threads=1, max_tokens=64)
    assert at_64.fingerprint != plain.fingerprint
    assert at_64.fingerprint == OnnxEncoder(exported_encoder, threads=1, max_tokens=64).fingerprint
    assert OnnxEncoder(exported_encoder, threads=1, max_tokens=10_000).max_tokens == 256
    with pytest.raises(EncoderError, match="at least 8"):
        OnnxEncoder(exported_encoder, threads=1, max_tokens=4)
