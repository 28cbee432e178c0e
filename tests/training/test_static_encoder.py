"""The static encoder: its ONNX graph, determinism, torch-free loading and distillation."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx", reason="writing the graph needs the train extra")

from training.static_encoder import (
    StaticTable,
    pca,
    sentencepiece_pieces,
    sif_weights,
    write_tokens_encoder,
)
from triage.encoder import OnnxEncoder
from triage.files import sha256_file

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "encoders"
WORDS = ["[UNK]", "printer", "vpn", "password", "reset", "broken", "invoice", "twice", "the", "is"]


def _tokenizer() -> dict:
    """A word-level tokenizers JSON over WORDS, with a [CLS]/[SEP] post-processor that
    the static encoder must drop."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {w: i for i, w in enumerate(WORDS)} | {"[CLS]": len(WORDS), "[SEP]": len(WORDS) + 1}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", len(WORDS)), ("[SEP]", len(WORDS) + 1)]
    )
    return json.loads(tokenizer.to_str())


@pytest.fixture(scope="module")
def table() -> StaticTable:
    rng = np.random.default_rng(3)
    return StaticTable(rng.normal(size=(len(WORDS) + 2, 16)).astype(np.float32), unk_id=0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, table: StaticTable) -> Path:
    out = tmp_path_factory.mktemp("static")
    write_tokens_encoder("toy-static16", table, _tokenizer(), out, source="test table")
    return out


def _reference(table: StaticTable, text: str) -> np.ndarray:
    """What the graph must compute: the mean of the known words' rows (float16 table),
    L2-normalised; no special tokens."""
    rows = [WORDS.index(w) for w in text.split() if w in WORDS]
    rows = [r for r in rows if r != table.unk_id]
    if not rows:
        return np.zeros(table.vectors.shape[1], dtype=np.float32)
    mean = table.vectors.astype(np.float16).astype(np.float32)[rows].mean(axis=0)
    return mean / np.linalg.norm(mean)


def test_the_graph_is_the_mean_of_the_known_tokens(folder: Path, table: StaticTable) -> None:
    encoder = OnnxEncoder(folder, threads=1, spinning=False)
    assert (encoder.dim, encoder.spec.kind, encoder.spec.pooling) == (16, "tokens", "mean")
    for text in ["printer is broken", "vpn password reset twice", "unknownword printer xyz"]:
        np.testing.assert_allclose(encoder.encode_one(text), _reference(table, text), atol=1e-6)
    # Only unknown words: a zero vector, not NaN.
    assert not encoder.encode_one("qwerty asdf").any()


def test_vectors_do_not_depend_on_the_batch(folder: Path) -> None:
    encoder = OnnxEncoder(folder, threads=1, spinning=False)
    texts = ["printer", "the invoice is broken twice " * 5, "vpn", "password reset", "is the"] * 3
    alone = np.stack([encoder.encode_one(t) for t in texts])
    for batch_size in (2, 7, 32):
        np.testing.assert_allclose(encoder.encode(texts, batch_size=batch_size), alone, atol=1e-6)


def test_writing_is_deterministic(tmp_path: Path, table: StaticTable, folder: Path) -> None:
    again = tmp_path / "again"
    write_tokens_encoder("toy-static16", table, _tokenizer(), again, source="test table")
    for name in ("model.onnx", "tokenizer.json", "encoder.json"):
        assert sha256_file(again / name) == sha256_file(folder / name)


def test_the_folder_loads_and_runs_without_torch(folder: Path, dim: int = 16) -> None:
    code = (
        "import sys\n"
        "from triage.encoder import OnnxEncoder\n"
        f"e = OnnxEncoder({str(folder)!r}, threads=1, spinning=False)\n"
        f"assert e.encode_one('printer is broken').shape == ({dim},)\n"
        "bad = sorted(m for m in ('torch', 'model2vec', 'sklearn', 'sentence_transformers') "
        "if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_pca_is_deterministic_and_keeps_the_main_directions() -> None:
    rng = np.random.default_rng(0)
    x = (
        rng.normal(size=(500, 3))
        @ np.diag([10.0, 3.0, 0.1])
        @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
    )
    a, b = pca(x, 2), pca(x.copy(), 2)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (500, 2)
    assert a.var(axis=0)[0] > a.var(axis=0)[1] > 5
    assert pca(x, 3).shape == (500, 3)


def test_sif_weighs_frequent_tokens_down() -> None:
    weights = sif_weights(np.log(np.array([0.5, 0.3, 0.19, 0.01])), 1e-3)
    assert np.all(np.diff(weights) > 0) and weights[-1] < 1


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _piece(text: str, score: float, kind: int | None) -> bytes:
    raw = text.encode()
    body = b"\x0a" + _varint(len(raw)) + raw + b"\x15" + struct.pack("<f", score)
    if kind is not None:
        body += b"\x18" + _varint(kind)
    return b"\x0a" + _varint(len(body)) + body


def test_sentencepiece_vocabulary_is_read_from_the_model_proto() -> None:
    trainer_spec = b"\x12\x04\x08\x01\x10\x02"  # field 2 (another message) is skipped
    proto = _piece("<unk>", 0.0, 2) + trainer_spec + _piece("\u2581hallo", -3.5, None)
    pieces = sentencepiece_pieces(proto)
    assert [(p.piece, p.kind) for p in pieces] == [("<unk>", 2), ("\u2581hallo", 1)]
    assert pieces[1].score == pytest.approx(-3.5)


@pytest.mark.slow
def test_distilled_minilm_serves_as_model2vec_encodes_it(tmp_path: Path) -> None:
    """The distilled table read through our graph and runtime gives model2vec's own
    vectors for it (model2vec's tokenization and pooling), and loads without torch."""
    pytest.importorskip("model2vec")
    import onnx
    from model2vec import StaticModel
    from onnx import numpy_helper
    from tokenizers import Tokenizer

    from tests.training.test_encoder_export import ticket_texts
    from training.static_encoder import distill_static_encoder

    out = tmp_path / "static"
    spec = distill_static_encoder("all-MiniLM-L6-v2", out, pca_dims=256, cache_dir=CACHE)
    assert (spec.dim, spec.kind, spec.inputs) == (256, "tokens", ("input_ids", "attention_mask"))
    graph = onnx.load(str(out / "model.onnx")).graph
    table = next(numpy_helper.to_array(i) for i in graph.initializer if i.name == "table")
    reference = StaticModel(
        vectors=table.astype(np.float32),
        tokenizer=Tokenizer.from_file(str(out / "tokenizer.json")),
        normalize=True,
    )
    texts = ticket_texts(80)
    encoder = OnnxEncoder(out, threads=2, spinning=False)
    ours = np.stack([encoder.encode_one(t) for t in texts])
    theirs = reference.encode(texts, max_length=None)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    # A second call is a cache hit: same files.
    again = distill_static_encoder("all-MiniLM-L6-v2", tmp_path / "again", cache_dir=CACHE)
    assert again.model_sha256 == spec.model_sha256
    test_the_folder_loads_and_runs_without_torch(out, dim=256)


@pytest.fixture(scope="module")
def use_graph():
    """The multilingual USE graph (GraphProto) and its SentencePiece node, or a skip."""
    pytest.importorskip("onnxruntime_extensions", reason="text graphs need the multilingual extra")
    import onnx

    from training.encoder_export import resolve_encoder
    from training.static_encoder import sentencepiece_node
    from triage.errors import EncoderError

    try:
        _, path = resolve_encoder("use-multilingual")
    except EncoderError as exc:
        pytest.skip(f"multilingual encoder unavailable: {exc}")
    graph = onnx.load(str(path)).graph
    return graph, sentencepiece_node(graph)


def _piece_ids(graph, node, texts: list[str]) -> list[list[int]]:
    """The source graph's own SentencePiece ids per text (a graph of its tokenizer alone)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper
    from onnxruntime_extensions import get_library_path

    inits = {i.name: i for i in graph.initializer}
    tokenize = helper.make_node(
        node.op_type, list(node.input), ["ids", "splits"], domain=node.domain
    )
    tokenize.attribute.extend(node.attribute)
    model = helper.make_model(
        helper.make_graph(
            [tokenize],
            "tokenize",
            [helper.make_tensor_value_info(node.input[0], TensorProto.STRING, ["batch"])],
            [
                helper.make_tensor_value_info("ids", TensorProto.INT32, ["tokens"]),
                helper.make_tensor_value_info("splits", TensorProto.INT64, ["splits"]),
            ],
            [inits[n] for n in dict.fromkeys(node.input[1:])],
        ),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(node.domain, 1)],
    )
    options = ort.SessionOptions()
    options.register_custom_ops_library(get_library_path())
    session = ort.InferenceSession(model.SerializeToString(), options)
    ids, splits = session.run(None, {node.input[0]: np.array(texts, dtype=object)})
    return [ids[splits[i] : splits[i + 1]].tolist() for i in range(len(texts))]


@pytest.mark.slow
def test_text_graph_static_encoder_is_the_mean_of_its_pieces(use_graph, tmp_path: Path) -> None:
    """The static graph over a text graph's tokenizer: per text, the mean of its pieces'
    rows (the unknown piece left out), alone or in any batch."""
    import onnx
    import onnxruntime_extensions

    from training.static_encoder import (
        StaticTable,
        _spec,
        sentencepiece_pieces,
        static_text_graph,
    )

    graph, node = use_graph
    pieces = sentencepiece_pieces(next(a for a in node.attribute if a.name == "model").s)
    unk = next(i for i, p in enumerate(pieces) if p.kind == 2)
    table = StaticTable(
        np.random.default_rng(1).normal(size=(len(pieces), 8)).astype(np.float32), unk
    )
    onnx.save(static_text_graph(table, graph, node), str(tmp_path / "model.onnx"))
    _spec(
        "toy-text-static",
        table,
        tmp_path,
        kind="text",
        inputs=(graph.input[0].name,),
        max_length=4000,
        source="test",
        versions={"onnxruntime_extensions": onnxruntime_extensions.__version__},
    )
    texts = ["Как загрузить видео?", "printer broken", "Der Drucker druckt nicht", "ok", "日本"]
    encoder = OnnxEncoder(tmp_path, threads=1, spinning=False)
    rows = table.vectors.astype(np.float16).astype(np.float32)
    for text, ids in zip(texts, _piece_ids(graph, node, texts), strict=True):
        known = [i for i in ids if i != unk]
        mean = rows[known].mean(axis=0)
        np.testing.assert_allclose(encoder.encode_one(text), mean / np.linalg.norm(mean), atol=1e-5)
    alone = np.stack([encoder.encode_one(t) for t in texts])
    np.testing.assert_allclose(
        encoder.encode(texts * 3, batch_size=4), np.vstack([alone] * 3), atol=1e-5
    )
