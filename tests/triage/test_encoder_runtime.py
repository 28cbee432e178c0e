"""The serving-side encoder: order, batching, truncation, integrity, thread safety, no torch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from triage.encoder import OnnxEncoder
from triage.errors import EncoderError

ROOT = Path(__file__).resolve().parents[2]

# Deliberately of very different lengths and not in length order.
TEXTS = [
    "Printer on floor 3 jams on every second page and shows error E-204 since the toner swap.",
    "VPN down",
    (
        "Hello, I was charged twice for my subscription this month (invoice 4471 and 4472). "
        "Please refund the duplicate payment to the card ending 1234. I attached both receipts "
        "and a screenshot of my bank statement showing the two withdrawals on the same day."
    ),
    "Can't log in to Outlook",
    "The mobile app crashes right after the splash screen on Android 14; reinstalling did not "
    "help.",
    "Please add Maria to the finance shared drive with read access.",
    "",
    (
        "Our whole team lost access to the CRM after the SSO certificate rotation at midnight; "
        "error says SAML assertion invalid."
    ),
]


@pytest.fixture(scope="module")
def encoder(exported_encoder: Path) -> OnnxEncoder:
    return OnnxEncoder(exported_encoder, threads=2)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_encoder_exposes_its_spec(encoder: OnnxEncoder) -> None:
    assert encoder.name == "all-MiniLM-L6-v2"
    assert encoder.dim == 384
    assert encoder.max_length == 256


def test_batches_come_back_in_input_order_and_agree_with_single(encoder: OnnxEncoder) -> None:
    batched = encoder.encode(TEXTS, batch_size=3)
    singles = np.stack([encoder.encode_one(t) for t in TEXTS])
    assert batched.shape == (len(TEXTS), 384) and batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-4)
    # Row i of the batch is closest to text i alone: the length sort was undone.
    similarity = batched @ singles.T
    assert list(similarity.argmax(axis=1)) == list(range(len(TEXTS)))
    # int8 activations are quantized per batch (padding included), so a text inside a
    # batch comes out a little different from the same text alone; the empty text, all
    # special tokens and padding, moves most (0.967 when measured) and is left out here.
    agreement = _cos(batched, singles)
    real = [i for i, t in enumerate(TEXTS) if t]
    assert agreement[real].min() > 0.98
    assert agreement.min() > 0.9


def test_batch_size_one_is_exactly_the_single_path(encoder: OnnxEncoder) -> None:
    one_by_one = encoder.encode(TEXTS, batch_size=1)
    singles = np.stack([encoder.encode_one(t) for t in TEXTS])
    np.testing.assert_allclose(one_by_one, singles, atol=1e-6)


def test_empty_input_and_bad_input(encoder: OnnxEncoder) -> None:
    assert encoder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="texts\\[1\\]"):
        encoder.encode(["ok", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="encode_one"):
        encoder.encode("a string, not a list")  # type: ignore[arg-type]


def test_long_texts_are_truncated_to_max_length(encoder: OnnxEncoder) -> None:
    long = " ".join(["the shared mailbox rejects every message with a quota error"] * 60)
    # Both exceed 256 tokens, so only the first 256 tokens count and the tails do not.
    a = encoder.encode_one(long + " printer")
    b = encoder.encode_one(long + " completely different ending about payroll")
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert encoder.encode([long, "short"], batch_size=2).shape == (2, 384)


def test_concurrent_calls_give_the_same_vectors(encoder: OnnxEncoder) -> None:
    expected = [encoder.encode_one(t) for t in TEXTS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(encoder.encode_one, TEXTS * 4))
    for i, vector in enumerate(results):
        np.testing.assert_allclose(vector, expected[i % len(TEXTS)], atol=1e-6)


def test_tampered_or_incomplete_folders_are_refused(exported_encoder: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered"
    shutil.copytree(exported_encoder, tampered)
    with open(tampered / "model.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(EncoderError, match="does not match"):
        OnnxEncoder(tampered)

    incomplete = tmp_path / "incomplete"
    shutil.copytree(exported_encoder, incomplete)
    (incomplete / "tokenizer.json").unlink()
    with pytest.raises(EncoderError, match="tokenizer.json"):
        OnnxEncoder(incomplete)

    with pytest.raises(EncoderError, match="encoder.json"):
        OnnxEncoder(tmp_path / "nowhere")


def test_serving_encoder_never_imports_torch(exported_encoder: Path) -> None:
    code = (
        "import sys; from triage.encoder import OnnxEncoder; "
        f"e = OnnxEncoder({str(exported_encoder)!r}, threads=1); e.encode_one('printer broken'); "
        "e.encode(['a', 'bb cc'], batch_size=2); "
        "heavy = {'torch', 'sentence_transformers', 'transformers', 'sklearn'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
