"""A static encoder distilled from the bundle's sentence encoder: one table lookup a token.

A static encoder gives every token one fixed vector and a text the mean of its tokens'
vectors, L2-normalised: no attention, no layers, ~0.1 ms a ticket where the transformer
takes ~10. It is the cascade's cheap stage (issue 17): TF-IDF plus this embedding answers
the tickets it is sure of, the transformer the rest. Two sources:

- a sentence-transformers folder (MiniLM, or the desk's fine-tuned copy): model2vec's
  `distill` (Tublin & van Dongen, MinishLab) embeds every vocabulary token alone with the
  transformer, reduces the vectors by PCA and weighs them by SIF over a Zipf estimate of the
  token frequencies. It runs offline on a local folder (torch, at training time only).
- a text graph (`use-multilingual`, whose SentencePiece tokenizer is an op inside the graph
  and which has no weights to hand to model2vec): the same recipe done here, each piece of
  the graph's own SentencePiece vocabulary embedded alone through the graph, PCA, and SIF
  weights from the vocabulary's unigram log-probabilities (the real frequency estimate
  model2vec approximates by rank).

Either way the result is an ordinary encoder folder that `triage.encoder.OnnxEncoder`
loads with no new serving code and no torch:

- from a tokens source: `model.onnx` (inputs `input_ids`, `attention_mask`; Gather, masked
  mean as a MatMul, L2 norm), `tokenizer.json` (model2vec's, without special tokens, as
  model2vec encodes) and `encoder.json` (kind `tokens`);
- from a text graph: `model.onnx` taking the raw strings (the source graph's
  SentencepieceTokenizer node, copied, then Gather and a per-text mean) and `encoder.json`
  (kind `text`).

Distilling takes minutes (MiniLM: ~30k single-token passes), so results are cached under
`cache_dir`, keyed by the source's content, the parameters and the library versions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triage.encoder import (
    FORMAT_VERSION,
    MODEL_FILE,
    OUTPUT_NAME,
    SPEC_FILE,
    TEXT_GRAPH_MAX_CHARS,
    TEXT_KIND,
    TOKENIZER_FILE,
    TOKENS_KIND,
    EncoderSpec,
)
from triage.errors import EncoderError
from triage.files import sha256_file

log = logging.getLogger(__name__)

# Changes whenever the recipe changes what ends up in the files.
RECIPE = "static/model2vec-or-pieces/pca/sif/fp16-table/v1"
OPSET = 17
# Tokens a static encoder reads: a lookup per token, so a long ticket costs little; the cap
# only bounds a pasted log.
STATIC_MAX_LENGTH = 512
SENTENCEPIECE_OP = "SentencepieceTokenizer"
CONTRIB_DOMAIN = "ai.onnx.contrib"
# Texts per run when embedding a text graph's vocabulary (one piece a text).
_PIECE_BATCH = 256


@dataclass(frozen=True)
class StaticTable:
    """A distilled static model: one row per token id, and how to read a text into ids."""

    vectors: np.ndarray  # vocabulary × dim, float32, SIF-weighted
    unk_id: int | None  # a token id the mean skips (model2vec drops the unknown token)


def distill_static_encoder(
    name_or_path: str | Path,
    out_dir: Path,
    *,
    pca_dims: int = 256,
    sif_coefficient: float = 1e-4,
    cache_dir: Path | None = None,
) -> EncoderSpec:
    """Distil the static encoder of `name_or_path` (a name `resolve_encoder` knows, a
    sentence-transformers folder or a text-graph `.onnx`) into the encoder folder `out_dir`.

    Comes from the cache (`cache_dir`) when the same source was distilled with the same
    parameters before; `cache_dir=None` distils without caching.
    """
    from training.encoder_export import _exclusive, _slug, resolve_encoder

    name, source = resolve_encoder(name_or_path)
    out_dir = Path(out_dir)
    if cache_dir is None:
        return _distill_into(name, source, out_dir, pca_dims, sif_coefficient)
    key = _cache_key(source, pca_dims, sif_coefficient)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    entry = cache_dir / f"static-{_slug(name)}-{key[:16]}"
    with _exclusive(cache_dir / f"{entry.name}.lock"):
        if not (entry / SPEC_FILE).is_file():
            for stale in cache_dir.glob(f".{entry.name}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=cache_dir))
            staging.chmod(0o755)
            try:
                _distill_into(name, source, staging, pca_dims, sif_coefficient)
                if entry.exists():
                    shutil.rmtree(entry)
                os.replace(staging, entry)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in entry.iterdir():
        if path.is_file():
            shutil.copyfile(path, out_dir / path.name)
    return EncoderSpec.read(out_dir)


def _distill_into(
    name: str, source: Path, out_dir: Path, pca_dims: int, sif_coefficient: float
) -> EncoderSpec:
    from training.encoder_export import is_text_graph

    out_dir.mkdir(parents=True, exist_ok=True)
    static_name = f"{name}-static{pca_dims}"
    if is_text_graph(source):
        return _distill_text_graph(static_name, source, out_dir, pca_dims, sif_coefficient)
    return _distill_sentence_transformer(static_name, source, out_dir, pca_dims, sif_coefficient)


def _distill_sentence_transformer(
    name: str, source: Path, out_dir: Path, pca_dims: int, sif_coefficient: float
) -> EncoderSpec:
    """model2vec's distillation of a local sentence-transformers folder, written as ONNX."""
    try:
        from model2vec.distill import distill
    except ImportError:
        raise EncoderError(
            "distilling a static encoder needs model2vec (pip install 'ticket-triage[train]')"
        ) from None
    import model2vec

    # float32 here; the graph stores the table as float16 itself (see `static_tokens_graph`).
    model = distill(
        str(source), pca_dims=pca_dims, sif_coefficient=sif_coefficient, quantize_to="float32"
    )
    if model.weights is not None or model.token_mapping is not None:
        raise EncoderError(f"{source}: a vocabulary-quantized static model is not supported")
    table = StaticTable(np.asarray(model.embedding, dtype=np.float32), model.unk_token_id)
    return write_tokens_encoder(
        name,
        table,
        json.loads(model.tokenizer.to_str()),
        out_dir,
        source=f"model2vec.distill({source.name}, pca_dims={pca_dims})",
        versions={"model2vec": model2vec.__version__},
    )


def write_tokens_encoder(
    name: str,
    table: StaticTable,
    tokenizer: dict,
    out_dir: Path,
    *,
    source: str,
    versions: dict[str, str] | None = None,
) -> EncoderSpec:
    """Write a static encoder of kind `tokens` into `out_dir`: the graph over `table`, the
    `tokenizer` (a tokenizers JSON object; its special tokens, truncation and padding are
    removed: a static model averages the text's own tokens, and the runtime truncates to
    the spec's `max_length`) and `encoder.json`."""
    import onnx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = dict(tokenizer, post_processor=None, truncation=None, padding=None)
    (out_dir / TOKENIZER_FILE).write_text(json.dumps(tokenizer, ensure_ascii=False), "utf-8")
    onnx.save(static_tokens_graph(table), str(out_dir / MODEL_FILE))
    return _spec(
        name,
        table,
        out_dir,
        kind=TOKENS_KIND,
        inputs=("input_ids", "attention_mask"),
        max_length=STATIC_MAX_LENGTH,
        source=source,
        versions=versions or {},
    )


def _distill_text_graph(
    name: str, source: Path, out_dir: Path, pca_dims: int, sif_coefficient: float
) -> EncoderSpec:
    """The model2vec recipe on a text graph: every SentencePiece piece embedded alone."""
    import onnx

    graph = onnx.load(str(source)).graph
    node = sentencepiece_node(graph)
    pieces = sentencepiece_pieces(_attribute(node, "model").s)
    texts = [_piece_text(p.piece) for p in pieces]
    from triage.encoder import OnnxEncoder

    tmp = Path(tempfile.mkdtemp(prefix="static-source-"))
    try:
        from training.encoder_export import write_text_graph

        write_text_graph(name, source, tmp)
        encoder = OnnxEncoder(tmp, threads=0, spinning=False)
        raw = encoder.encode(texts, batch_size=_PIECE_BATCH)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # Control and unknown pieces never stand for text: zero rows (the mean skips `unk`).
    special = np.array([p.kind in (2, 3) for p in pieces])
    raw[special] = 0.0
    vectors = pca(raw, pca_dims, fit_rows=~special)
    scores = np.array([p.score for p in pieces], dtype=np.float64)
    vectors *= sif_weights(scores, sif_coefficient)[:, None]
    vectors[special] = 0.0
    unk = next((i for i, p in enumerate(pieces) if p.kind == 2), None)
    table = StaticTable(vectors.astype(np.float32), unk)
    onnx.save(static_text_graph(table, graph, node), str(out_dir / MODEL_FILE))
    import onnxruntime_extensions

    return _spec(
        name,
        table,
        out_dir,
        kind=TEXT_KIND,
        inputs=("inputs",),
        max_length=TEXT_GRAPH_MAX_CHARS,
        source=f"pieces of {source.name} embedded alone, pca_dims={pca_dims}",
        versions={"onnxruntime_extensions": onnxruntime_extensions.__version__},
    )


def _spec(name, table, out_dir, *, kind, inputs, max_length, source, versions) -> EncoderSpec:
    import onnxruntime

    spec = EncoderSpec(
        name=name,
        dim=int(table.vectors.shape[1]),
        max_length=max_length,
        pooling="mean",
        normalize=True,
        quantization="float16 table",
        do_lower_case=False,
        inputs=inputs,
        model_sha256=sha256_file(out_dir / MODEL_FILE),
        source=source,
        kind=kind,
        output=OUTPUT_NAME,
        format_version=FORMAT_VERSION,
        versions={"onnxruntime": onnxruntime.__version__, "recipe": RECIPE, **versions},
    )
    (out_dir / SPEC_FILE).write_text(spec.to_json(), encoding="utf-8")
    return spec


def pca(vectors: np.ndarray, dims: int, fit_rows: np.ndarray | None = None) -> np.ndarray:
    """`vectors` projected on their first `dims` principal components (fitted on
    `fit_rows`), as model2vec does; no reduction when `dims` is not below the width."""
    fit = vectors if fit_rows is None else vectors[fit_rows]
    mean = fit.mean(axis=0)
    if dims >= vectors.shape[1] or dims >= len(fit):
        components = np.eye(vectors.shape[1])
    else:
        centred = (fit - mean).astype(np.float64)
        eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)
        components = eigvecs[:, ::-1][:, :dims]
        # A fixed sign per component (the largest loading positive), so that re-running
        # on the same input gives the same table whatever the LAPACK build chooses.
        signs = np.sign(components[np.abs(components).argmax(axis=0), np.arange(dims)])
        components = components * np.where(signs == 0, 1.0, signs)
    return ((vectors - mean) @ components).astype(np.float32)


def sif_weights(log_probs: np.ndarray, coefficient: float) -> np.ndarray:
    """SIF weights a / (a + p(token)) from unigram log-probabilities."""
    p = np.exp(log_probs - np.logaddexp.reduce(log_probs))
    return coefficient / (coefficient + p)


def static_tokens_graph(table: StaticTable):
    """ONNX: (input_ids, attention_mask) → L2-normalised mean of the token rows
    (`sentence_embedding`), the unknown token left out of the mean."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["rows16"], axis=0),
        helper.make_node("Cast", ["rows16"], ["rows"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
    ]
    mask = "mask"
    if table.unk_id is not None:
        nodes += [
            helper.make_node("Equal", ["input_ids", "unk_id"], ["is_unk"]),
            helper.make_node("Not", ["is_unk"], ["known"]),
            helper.make_node("Cast", ["known"], ["known_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["mask", "known_f"], ["valid"]),
        ]
        mask = "valid"
    nodes += [
        helper.make_node("Unsqueeze", [mask, "axis1"], ["mask3"]),  # B × 1 × T
        helper.make_node("MatMul", ["mask3", "rows"], ["sums3"]),  # B × 1 × D
        helper.make_node("Squeeze", ["sums3", "axis1"], ["sums"]),
        helper.make_node("ReduceSum", [mask, "axis1"], ["count"], keepdims=1),
        helper.make_node("Max", ["count", "one"], ["count1"]),
        helper.make_node("Div", ["sums", "count1"], ["mean"]),
    ]
    nodes += _l2_nodes("mean", OUTPUT_NAME)
    initializers = [
        numpy_helper.from_array(table.vectors.astype(np.float16), "table"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "tiny"),
    ]
    if table.unk_id is not None:
        initializers.append(numpy_helper.from_array(np.array(table.unk_id, np.int64), "unk_id"))
    graph = helper.make_graph(
        nodes,
        "static_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info(
                "attention_mask", TensorProto.INT64, ["batch", "sequence"]
            ),
        ],
        [
            helper.make_tensor_value_info(
                OUTPUT_NAME, TensorProto.FLOAT, ["batch", table.vectors.shape[1]]
            )
        ],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def static_text_graph(table: StaticTable, source_graph, tokenizer_node):
    """ONNX: strings → the source graph's SentencePiece ids → per-text mean of the rows,
    L2-normalised. The per-text mean is a (texts × tokens) membership matrix from the
    tokenizer's row splits times the gathered rows."""
    from onnx import TensorProto, helper, numpy_helper

    source_inits = {init.name: init for init in source_graph.initializer}
    text_input = source_graph.input[0].name
    node = helper.make_node(
        tokenizer_node.op_type,
        [text_input, *tokenizer_node.input[1:]],
        ["ids32", "splits"],
        domain=tokenizer_node.domain,
    )
    node.attribute.extend(tokenizer_node.attribute)
    nodes = [
        node,
        helper.make_node("Cast", ["ids32"], ["ids"], to=TensorProto.INT64),
        helper.make_node("Gather", ["table", "ids"], ["rows16"], axis=0),
        helper.make_node("Cast", ["rows16"], ["rows"], to=TensorProto.FLOAT),  # T × D
        helper.make_node("Shape", ["ids"], ["n_tokens"]),
        helper.make_node("Squeeze", ["n_tokens", "axis0"], ["n_tokens0"]),
        helper.make_node("Range", ["zero", "n_tokens0", "step"], ["positions"]),  # T
        helper.make_node("Cast", ["splits"], ["splits64"], to=TensorProto.INT64),
        helper.make_node("Slice", ["splits64", "s0", "e_last", "axis0"], ["starts"]),
        helper.make_node("Slice", ["splits64", "s1", "e_end", "axis0"], ["ends"]),
        helper.make_node("Unsqueeze", ["starts", "axis1"], ["starts2"]),  # B × 1
        helper.make_node("Unsqueeze", ["ends", "axis1"], ["ends2"]),
        helper.make_node("Unsqueeze", ["positions", "axis0"], ["positions2"]),  # 1 × T
        helper.make_node("GreaterOrEqual", ["positions2", "starts2"], ["after"]),
        helper.make_node("Less", ["positions2", "ends2"], ["before"]),
        helper.make_node("And", ["after", "before"], ["member"]),  # B × T
    ]
    member = "member"
    if table.unk_id is not None:
        nodes += [
            helper.make_node("Equal", ["ids", "unk_id"], ["is_unk"]),
            helper.make_node("Not", ["is_unk"], ["known"]),
            helper.make_node("Unsqueeze", ["known", "axis0"], ["known2"]),
            helper.make_node("And", ["member", "known2"], ["member_known"]),
        ]
        member = "member_known"
    nodes += [
        helper.make_node("Cast", [member], ["weights"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["weights", "rows"], ["sums"]),  # B × D
        helper.make_node("ReduceSum", ["weights", "axis1"], ["count"], keepdims=1),
        helper.make_node("Max", ["count", "one"], ["count1"]),
        helper.make_node("Div", ["sums", "count1"], ["mean"]),
    ]
    nodes += _l2_nodes("mean", OUTPUT_NAME)
    ints = {"axis0": [0], "axis1": [1], "s0": [0], "e_last": [-1], "s1": [1]}
    initializers = [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in ints.items()]
    initializers += [
        numpy_helper.from_array(np.array([np.iinfo(np.int64).max], np.int64), "e_end"),
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array(1, np.int64), "step"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(1e-12, np.float32), "tiny"),
        numpy_helper.from_array(table.vectors.astype(np.float16), "table"),
    ]
    if table.unk_id is not None:
        initializers.append(numpy_helper.from_array(np.array(table.unk_id, np.int64), "unk_id"))
    # The tokenizer's constant inputs (nbest, alpha, add_bos, ...), each once.
    for name in dict.fromkeys(n for n in tokenizer_node.input[1:] if n):
        initializers.append(source_inits[name])
    graph = helper.make_graph(
        nodes,
        "static_text_encoder",
        [helper.make_tensor_value_info(text_input, TensorProto.STRING, ["batch"])],
        [
            helper.make_tensor_value_info(
                OUTPUT_NAME, TensorProto.FLOAT, ["batch", table.vectors.shape[1]]
            )
        ],
        initializers,
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(CONTRIB_DOMAIN, 1)],
    )


def _l2_nodes(source: str, output: str) -> list:
    from onnx import helper

    return [
        helper.make_node("Mul", [source, source], ["squares"]),
        helper.make_node("ReduceSum", ["squares", "axis1"], ["sq_norm"], keepdims=1),
        helper.make_node("Sqrt", ["sq_norm"], ["norm"]),
        helper.make_node("Max", ["norm", "tiny"], ["norm1"]),
        helper.make_node("Div", [source, "norm1"], [output]),
    ]


@dataclass(frozen=True)
class Piece:
    """One entry of a SentencePiece vocabulary."""

    piece: str
    score: float
    kind: int  # 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte


def sentencepiece_node(graph):
    """The SentencepieceTokenizer node of a text graph; an `EncoderError` if it has none."""
    for node in graph.node:
        if node.op_type == SENTENCEPIECE_OP:
            return node
    raise EncoderError(
        f"the text graph has no {SENTENCEPIECE_OP} node: its vocabulary cannot be distilled"
    )


def sentencepiece_pieces(model_proto: bytes) -> list[Piece]:
    """The pieces of a serialized SentencePiece `ModelProto` (field 1, repeated), read from
    the protobuf wire format directly: the `sentencepiece` package is not needed for this."""
    import struct

    pieces = []
    for field, value in _fields(model_proto):
        if field != 1:
            continue
        text, score, kind = "", 0.0, 1
        for sub, sub_value in _fields(value):
            if sub == 1:
                text = sub_value.decode("utf-8")
            elif sub == 2:
                score = struct.unpack("<f", sub_value)[0]
            elif sub == 3:
                kind = sub_value
        pieces.append(Piece(text, score, kind))
    if not pieces:
        raise EncoderError("the SentencePiece model holds no pieces")
    return pieces


def _fields(data: bytes):
    """(field number, value) of a protobuf message: varints as int, fixed32 as 4 bytes,
    length-delimited as bytes."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise EncoderError(f"unsupported protobuf wire type {wire} in the SentencePiece model")
        yield field, value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _piece_text(piece: str) -> str:
    """The text a piece stands for (SentencePiece writes a leading space as '▁')."""
    return piece.replace("\u2581", " ").strip() or piece


def _attribute(node, name: str):
    for attribute in node.attribute:
        if attribute.name == name:
            return attribute
    raise EncoderError(f"{node.op_type} node has no {name!r} attribute")


def _cache_key(source: Path, pca_dims: int, sif_coefficient: float) -> str:
    """Content hash of the source plus everything else that changes the distillation."""
    import onnx

    digest = hashlib.sha256()
    header = {
        "format": FORMAT_VERSION,
        "recipe": RECIPE,
        "pca_dims": pca_dims,
        "sif": sif_coefficient,
        "onnx": onnx.__version__,
    }
    try:
        import model2vec

        header["model2vec"] = model2vec.__version__
    except ImportError:
        pass
    digest.update(json.dumps(header, sort_keys=True).encode())
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for path in files:
        if path.name in ("README.md", ".gitattributes"):
            continue
        digest.update(str(path.relative_to(source) if source.is_dir() else path.name).encode())
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()
