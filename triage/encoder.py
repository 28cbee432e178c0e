"""The sentence encoder at serving time: an ONNX graph plus a fast tokenizer, no torch.

An encoder folder (written by `training.encoder_export.export_encoder`) holds
`model.onnx`, `encoder.json` (`EncoderSpec`) and, for a graph that takes token ids,
`tokenizer.json`. Two kinds of graph:

- `tokens` (sentence-transformers exports, the default MiniLM): the graph takes
  `input_ids`/`attention_mask`/`token_type_ids` and returns the pooled, L2-normalised
  `sentence_embedding`; the `tokenizers` library tokenizes beside it.
- `text`: the graph takes the raw strings and tokenizes inside (a SentencePiece op of
  onnxruntime-extensions), e.g. the multilingual Universal Sentence Encoder that
  `use-multilingual` names. Its vectors are L2-normalised here.

Training computes its embeddings with this same class, so training and serving can
never disagree on a vector.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from triage.errors import EncoderError
from triage.files import read_versioned_json, sha256_file
from triage.token_window import DEFAULT_HEAD_SHARE, with_specials

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
SPEC_FILE = "encoder.json"
# Bumped when the folder layout or the graph's inputs/outputs change incompatibly.
FORMAT_VERSION = 1
OUTPUT_NAME = "sentence_embedding"
TOKENS_KIND, TEXT_KIND = "tokens", "text"
# A `text` graph sees at most this many characters of a ticket: its tokenizer has no
# truncation of its own, and a pasted log would otherwise cost time for nothing. Exports
# record it as the spec's `max_length` (characters for this kind), which the runtime reads.
TEXT_GRAPH_MAX_CHARS = 4000
# onnxruntime's intra-op threads do not busy-wait between ops unless asked to: the
# default of `Settings.onnx_allow_spinning`, whose description says why.
DEFAULT_SPINNING = False


@dataclass(frozen=True)
class EncoderSpec:
    """What `encoder.json` records about an exported encoder."""

    name: str
    dim: int
    max_length: int
    pooling: str = "mean"
    normalize: bool = True
    quantization: str = "int8-per-channel"
    do_lower_case: bool = True
    inputs: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
    model_sha256: str = ""
    source: str = ""
    # `tokens` or `text` (see the module docstring); specs written before the field existed
    # are `tokens`. `output` is the graph output holding the vectors.
    kind: str = TOKENS_KIND
    output: str = OUTPUT_NAME
    format_version: int = FORMAT_VERSION
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """The spec as pretty JSON, as written to `encoder.json`."""
        data = asdict(self)
        data["inputs"] = list(self.inputs)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, folder: Path) -> EncoderSpec:
        """Read `folder/encoder.json`; an unreadable or incompatible spec is an `EncoderError`."""
        path = Path(folder) / SPEC_FILE
        data = read_versioned_json(
            path,
            FORMAT_VERSION,
            EncoderError,
            what="encoder",
            missing="missing; not an exported encoder folder",
            remedy="re-export the encoder with this version",
        )
        known = set(cls.__dataclass_fields__)
        try:
            data["inputs"] = tuple(data.get("inputs", cls.inputs))
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise EncoderError(f"{path}: invalid encoder spec ({exc})") from None


class OnnxEncoder:
    """Turns ticket texts into unit-norm float32 vectors with the exported ONNX encoder.

    One `InferenceSession` per instance. `encode` and `encode_one` may be called from
    several threads at once (onnxruntime's `run` is thread-safe and the tokenizer is
    only read).
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        threads: int = 0,
        model_file: str = MODEL_FILE,
        verify_sha256: bool = True,
        spinning: bool | None = DEFAULT_SPINNING,
        max_tokens: int | None = None,
    ) -> None:
        """Load `folder`.

        `threads` is onnxruntime's intra-op thread count (0 lets onnxruntime decide).
        `model_file` picks another graph in the folder (the fp32 reference). With
        `verify_sha256` a `model.onnx` that does not match the hash recorded in
        `encoder.json` is refused. `spinning` sets onnxruntime's
        `session.intra_op.allow_spinning` (None keeps onnxruntime's default, on). A
        server passes `settings.onnx_threads` and `settings.onnx_allow_spinning`.
        `max_tokens` (a bundle's `encoder.max_tokens`): read at most that many tokens of a
        text, special tokens included, its head and tail (`triage.token_window`); None
        keeps the spec's `max_length` cut at the head (bundles written before the key).
        A text graph ignores it (it tokenizes inside).
        """
        import onnxruntime as ort

        self.folder = Path(folder)
        self.spec = EncoderSpec.read(self.folder)
        if self.spec.kind not in (TOKENS_KIND, TEXT_KIND):
            raise EncoderError(
                f"{self.folder / SPEC_FILE}: unknown encoder kind {self.spec.kind!r} "
                f"(this runtime reads {TOKENS_KIND!r} and {TEXT_KIND!r})"
            )
        self._text_graph = self.spec.kind == TEXT_KIND
        model_path = self.folder / model_file
        tokenizer_path = self.folder / TOKENIZER_FILE
        for path in (model_path,) if self._text_graph else (model_path, tokenizer_path):
            if not path.is_file():
                raise EncoderError(f"{path}: missing from the encoder folder")
        self.model_sha256 = sha256_file(model_path)
        if (
            verify_sha256
            and model_file == MODEL_FILE
            and self.spec.model_sha256
            and self.spec.model_sha256 != self.model_sha256
        ):
            raise EncoderError(
                f"{model_path}: sha256 {self.model_sha256[:12]} does not match "
                f"{self.spec.model_sha256[:12]} recorded in {SPEC_FILE} (modified or corrupt)"
            )

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if spinning is not None:
            options.add_session_config_entry(
                "session.intra_op.allow_spinning", "1" if spinning else "0"
            )
        if self._text_graph:
            options.register_custom_ops_library(text_graph_ops_library(self.spec.name))
        try:
            self._session = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EncoderError(f"{self.folder}: cannot load the encoder ({exc})") from exc
        self._input_names = [i.name for i in self._session.get_inputs()]
        fingerprint_parts = [self.model_sha256, self.spec.kind, str(self.spec.max_length)]
        self.max_tokens: int | None = None
        if self._text_graph:
            if len(self._input_names) != 1:
                raise EncoderError(
                    f"{model_path}: a text graph takes one input, got {self._input_names}"
                )
            self._tokenizer = None
        else:
            from tokenizers import Tokenizer

            try:
                tokenizer = Tokenizer.from_file(str(tokenizer_path))
            except Exception as exc:  # tokenizers raises its own untyped errors
                raise EncoderError(f"{self.folder}: cannot load the tokenizer ({exc})") from exc
            # The file's own truncation/padding settings are not trusted (MiniLM's pads every
            # text to 128): we truncate to the spec's max_length and pad per batch ourselves.
            # Padded positions are masked out, so the id only has to be a valid token.
            padding = tokenizer.padding or {}
            self._pad_id = int(padding.get("pad_id") or tokenizer.token_to_id("[PAD]") or 0)
            tokenizer.no_padding()
            if max_tokens is None:
                tokenizer.enable_truncation(max_length=self.spec.max_length)
            else:
                self._set_window(tokenizer, max_tokens)
                # Only a windowed encoder's key changes: old caches stay valid.
                fingerprint_parts.append(f"head-tail:{self.max_tokens}:{DEFAULT_HEAD_SHARE}")
            self._tokenizer = tokenizer
            unknown = set(self._input_names) - {"input_ids", "attention_mask", "token_type_ids"}
            if unknown:
                raise EncoderError(f"{model_path}: unexpected graph inputs {sorted(unknown)}")
            fingerprint_parts.insert(1, sha256_file(tokenizer_path))
        digest = hashlib.sha256()
        for part in fingerprint_parts:
            digest.update(part.encode() + b"\0")
        self._fingerprint = digest.hexdigest()
        self._callers: ThreadPoolExecutor | None = None

    def _set_window(self, tokenizer, max_tokens: int) -> None:
        """Read the special tokens the tokenizer adds around a text, for `with_specials`."""
        if max_tokens < 8:
            raise EncoderError(f"max_tokens must be at least 8, got {max_tokens}")
        tokenizer.no_truncation()
        probe = tokenizer.encode("a")
        plain = tokenizer.encode("a", add_special_tokens=False).ids
        ids = probe.ids
        start = next((i for i in range(len(ids)) if ids[i : i + len(plain)] == plain), None)
        if start is None:
            raise EncoderError(f"{self.folder}: cannot locate the text among its special tokens")
        self._prefix = ids[:start]
        self._suffix = ids[start + len(plain) :]
        # Never more than the graph's position embeddings (the spec's max_length).
        self.max_tokens = min(int(max_tokens), self.spec.max_length)

    def _ids(self, text: str) -> list[int]:
        """The token ids the graph reads for `text`: the spec's head cut, or the window."""
        assert self._tokenizer is not None  # a token-id graph always has one
        if self.max_tokens is None:
            return self._tokenizer.encode(text).ids
        content = self._tokenizer.encode(text, add_special_tokens=False).ids
        return with_specials(content, self.max_tokens, self._prefix, self._suffix)

    @property
    def name(self) -> str:
        """The encoder's name, e.g. `all-MiniLM-L6-v2`."""
        return self.spec.name

    @property
    def dim(self) -> int:
        """Length of every embedding."""
        return self.spec.dim

    @property
    def max_length(self) -> int:
        """Tokens per text after truncation (special tokens included)."""
        return self.spec.max_length

    @property
    def fingerprint(self) -> str:
        """Identifies what this encoder computes: graph, tokenizer and truncation length.

        Embedding caches key on it, so a re-export with other settings never reuses
        vectors from the old one.
        """
        return self._fingerprint

    def token_count(self, text: str) -> int:
        """Tokens the encoder sees for `text`, special tokens included, after truncation
        (a `text` graph tokenizes inside: there, its whitespace-separated words)."""
        if self._text_graph:
            return len(text[: self.spec.max_length].split())
        return len(self._ids(text))

    def encode_one(self, text: str) -> np.ndarray:
        """Embed one text without padding: the latency path for a single ticket (shape `dim`)."""
        if not isinstance(text, str):
            raise TypeError(f"expected str, got {type(text).__name__}")
        if self._text_graph:
            return self._run_texts([text])[0]
        ids = np.asarray([self._ids(text)], dtype=np.int64)
        # One text, no padding: every position is attended to, all of segment 0.
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        return self._run(feeds)[0]

    def encode(self, texts: list[str], batch_size: int = 8) -> np.ndarray:
        """Embed `texts` (N × dim float32, unit-norm), in input order.

        Texts are sorted by token count before batching so that each batch pads only to
        its own longest text; the rows are put back in input order afterwards.
        """
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts; use encode_one for a single text")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}]: expected str, got {type(text).__name__}")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        if batch_size == 1:
            # Unpadded one by one: the same numbers `encode_one` gives at serving time. With
            # a multi-threaded session two texts go through it at once: one text leaves a core
            # partly idle (~120-word tickets: 112 texts/s against 100 one after the other).
            if self.threads != 1 and len(texts) > 1:
                for i, vector in enumerate(self._pool().map(self.encode_one, texts)):
                    out[i] = vector
            else:
                for i, text in enumerate(texts):
                    out[i] = self.encode_one(text)
            return out
        if self._text_graph:
            # The graph pads inside. Its int8 dynamic quantization takes one scale per
            # batch, so a batch's vectors differ from one-by-one ones by ~1e-2 at most:
            # batch_size=1 is what serving computes (and what training caches).
            for start in range(0, len(texts), batch_size):
                out[start : start + batch_size] = self._run_texts(texts[start : start + batch_size])
            return out
        assert self._tokenizer is not None  # a token-id graph always has one
        if self.max_tokens is None:
            encodings = [e.ids for e in self._tokenizer.encode_batch(texts)]
        else:
            content = self._tokenizer.encode_batch(texts, add_special_tokens=False)
            encodings = [
                with_specials(e.ids, self.max_tokens, self._prefix, self._suffix) for e in content
            ]
        lengths = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(texts))
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for j, row in enumerate(rows):
                row_ids = encodings[row]
                n = len(row_ids)
                ids[j, :n] = row_ids
                mask[j, :n] = 1
            out[rows] = self._run(
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            )
        return out

    def _pool(self) -> ThreadPoolExecutor:
        if self._callers is None:
            self._callers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="encoder")
        return self._callers

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {name: feeds[name] for name in self._input_names}
        (vectors,) = self._session.run([OUTPUT_NAME], feeds)
        return np.asarray(vectors, dtype=np.float32)

    def _run_texts(self, texts: list[str]) -> np.ndarray:
        """A text graph's unit-norm vectors for `texts`, each cut to the spec's `max_length`
        characters (TEXT_GRAPH_MAX_CHARS when exported)."""
        batch = np.array([t[: self.spec.max_length] for t in texts], dtype=object)
        (vectors,) = self._session.run([self.spec.output], {self._input_names[0]: batch})
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        if self.spec.normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms > 0, norms, 1.0)
        return vectors

    def __repr__(self) -> str:
        return f"OnnxEncoder({self.name!r}, dim={self.dim}, folder={str(self.folder)!r})"


def text_graph_ops_library(name: str) -> str:
    """The onnxruntime-extensions custom-op library that a `text` graph needs (its tokenizer)."""
    try:
        from onnxruntime_extensions import get_library_path
    except ImportError:
        raise EncoderError(
            f"encoder {name!r} tokenizes inside its graph and needs onnxruntime-extensions "
            "(pip install 'ticket-triage[multilingual]')"
        ) from None
    return get_library_path()
