"""Model bundles: the directory `triage train` writes and the service loads.

Layout (every file but the manifest is listed with its sha256 in `manifest.json`):

    manifest.json      format/model version, label maps, thresholds, calibration, feature
                       spec, languages, metrics, library versions, files
    vectorizer.npz     TF-IDF vocabulary and idf: normalised text → sparse word ⊕ char
                       TF-IDF (`triage.vectorizer`; absent without text)
    heads_text.onnx    TF-IDF non-zeros → every head's text logits (absent without text)
    heads.onnx         [dense = embedding ⊕ metadata, text logits] → logits of every head
    explain.npz        word terms and their coefficients, metadata coefficients (float16)
    neighbours.npz     ids, primary labels and vectors of recent training tickets
    auto_reply.npz     the matcher's entries (char TF-IDF CSR, embeddings), targets grouping
    auto_reply.json    the answers / KB articles the matcher can suggest
    encoder/           ONNX sentence encoder, tokenizer.json, encoder.json (absent: TF-IDF only)
    cascade/           the cheap stage (absent: no cascade): encoder/ (a static encoder),
                       heads.onnx, heads_text.onnx, explain.npz, neighbours.npz; thresholds
                       and calibration in the manifest's `cascade` section
    head_<name>.onnx   a boosted head's trees: metadata → class probabilities, which serving
                       adds (as logs) to that head's logits (the manifest head's `graph`)

`load_bundle` verifies before it builds anything: format version, every listed file
present and matching its sha256, and, when the operator set a signing key, the HMAC in
`manifest.sig` over the manifest's bytes. It creates one onnxruntime session per graph.

The manifest lists every other file's sha256, so the manifest's own sha256 identifies
the whole bundle: the served `model_version` carries it (`<version>+<12 hex>`), and the
registry records it at registration and checks it at serve, reload and promote.
Format 2 replaced format 1's `vectorizer.onnx` (a dense TF-IDF graph) with
`vectorizer.npz` and made the heads graph take the TF-IDF non-zeros.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from triage.encoder import DEFAULT_SPINNING
from triage.errors import BundleError
from triage.files import read_versioned_json, sha256_file
from triage.vectorizer import TextVectorizer

# Bumped on incompatible changes; a loader reads bundles of its own major version only.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
# HMAC-SHA256 of manifest.json's bytes under the operator's signing key, in hex.
SIGNATURE = "manifest.sig"
VECTORIZER_FILE = "vectorizer.npz"
HEADS_FILE = "heads.onnx"
# A head with a graph of its own (a boosted head's trees): head_<name>.onnx.
HEAD_GRAPH_PREFIX = "head_"
TEXT_HEADS_FILE = "heads_text.onnx"
EXPLAIN_FILE = "explain.npz"
NEIGHBOURS_FILE = "neighbours.npz"
AUTO_REPLY_ARRAYS = "auto_reply.npz"
AUTO_REPLY_TARGETS = "auto_reply.json"
ENCODER_DIR = "encoder"
# The cascade's cheap stage (issue 17): static encoder, its heads graphs, explanation
# coefficients and neighbour vectors (`triage.inference.cascade`).
CASCADE_DIR = "cascade"


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of the bundle at `path`, format version checked (files are not)."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not path.is_dir():
        raise BundleError(f"{path}: no such bundle directory")
    manifest = read_versioned_json(
        manifest_path,
        FORMAT_VERSION,
        BundleError,
        what="bundle",
        missing="missing; not a model bundle",
        remedy="retrain it, or upgrade ticket-triage",
    )
    for key in ("model_version", "heads", "files", "meta"):
        if key not in manifest:
            raise BundleError(f"{manifest_path}: no {key!r} entry")
    return manifest


def manifest_sha256(path: str | Path) -> str:
    """The sha256 of the bundle's `manifest.json`: with the files verified against it,
    it identifies the bundle's whole content."""
    try:
        return sha256_file(Path(path) / MANIFEST)
    except OSError as exc:
        raise BundleError(f"{path}: no readable {MANIFEST}") from exc


def signature_of(path: str | Path, key: str) -> str:
    """The HMAC-SHA256 (hex) of the bundle's manifest under `key`."""
    data = (Path(path) / MANIFEST).read_bytes()
    return hmac.new(key.encode("utf-8"), data, hashlib.sha256).hexdigest()


def sign_bundle(path: str | Path, key: str) -> Path:
    """Write `manifest.sig` for the bundle at `path`; returns the signature file."""
    target = Path(path) / SIGNATURE
    target.write_text(signature_of(path, key) + "\n", encoding="utf-8")
    return target


def check_signature(path: str | Path, key: str | None) -> None:
    """With a signing key set, the bundle must carry a valid `manifest.sig`."""
    if not key:
        return
    target = Path(path) / SIGNATURE
    if not target.is_file():
        raise BundleError(f"{path}: unsigned bundle refused (a signing key is configured)")
    given = target.read_text(encoding="utf-8").strip()
    if not hmac.compare_digest(given, signature_of(path, key)):
        raise BundleError(f"{path}: the bundle's signature does not match its manifest")


def verify_bundle(path: str | Path, signing_key: str | None = None) -> str:
    """Manifest, signature and every file checked; returns the manifest's sha256."""
    path = Path(path)
    manifest = read_manifest(path)
    check_signature(path, signing_key)
    verify_files(path, manifest)
    return manifest_sha256(path)


def verify_files(path: Path, manifest: dict[str, Any]) -> None:
    """Every listed file exists and matches its sha256; raises `BundleError` naming the first bad
    one.
    """
    files = manifest["files"]
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{path / MANIFEST}: empty file list")
    root = path.resolve()
    for rel, expected in sorted(files.items()):
        target = (path / rel).resolve()
        if root not in target.parents:
            raise BundleError(f"{path}: manifest lists a file outside the bundle: {rel!r}")
        if not target.is_file():
            raise BundleError(f"{path}: file {rel!r} listed in the manifest is missing")
        actual = sha256_file(target)
        if actual != expected:
            raise BundleError(
                f"{path}: file {rel!r} is corrupt or was modified "
                f"(sha256 {actual[:12]}…, manifest says {str(expected)[:12]}…)"
            )


@dataclass
class Bundle:
    """A verified, loaded bundle: manifest, onnxruntime sessions and arrays."""

    path: Path
    manifest: dict[str, Any]
    vectorizer: TextVectorizer | None
    heads: Any  # onnxruntime.InferenceSession
    text_heads: Any | None  # onnxruntime.InferenceSession
    encoder: Any | None  # triage.encoder.OnnxEncoder
    explain: dict[str, np.ndarray] = field(default_factory=dict)
    neighbours: dict[str, np.ndarray] = field(default_factory=dict)
    auto_reply: dict[str, np.ndarray] | None = None
    auto_reply_targets: list[dict[str, Any]] = field(default_factory=list)
    # sha256 of manifest.json as loaded ("" for a bundle built in memory).
    content_sha256: str = ""
    # Head name → the onnxruntime session of its own graph (the manifest head's `graph`).
    head_graphs: dict[str, Any] = field(default_factory=dict)

    @property
    def model_version(self) -> str:
        """The version recorded at training time plus the content's digest
        (`<version>+<12 hex>`), so that any change to any file changes it."""
        return served_version(str(self.manifest["model_version"]), self.content_sha256)


def served_version(version: str, content_sha256: str) -> str:
    """The name a bundle is served under: its training-time `version` plus the first 12 hex of
    its manifest's sha256 (the version alone for a bundle built in memory)."""
    return f"{version}+{content_sha256[:12]}" if content_sha256 else version


def session_options(threads: int, spinning: bool | None):
    """onnxruntime options shared by every graph of a bundle (the encoder's included)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    if spinning is not None:
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if spinning else "0"
        )
    return options


def _session(path: Path, threads: int, spinning: bool | None):
    import onnxruntime as ort

    options = session_options(threads, spinning)
    # These graphs' buffers scale with the batch; without onnxruntime's arena they go back
    # after each call instead of staying reserved at the largest batch seen (~10 MB).
    options.enable_cpu_mem_arena = False
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises untyped errors for invalid graphs
        raise BundleError(f"{path}: cannot load the graph ({exc})") from exc


def _arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # numpy raises several types for a broken archive
        raise BundleError(f"{path}: unreadable arrays ({exc})") from exc


def load_bundle(
    path: str | Path,
    *,
    threads: int = 0,
    spinning: bool | None = DEFAULT_SPINNING,
    signing_key: str | None = None,
    expected_sha256: str | None = None,
) -> Bundle:
    """Verify and load the bundle at `path`.

    Raises `BundleError` for a missing directory or manifest, an unsupported format
    version, a listed file that is missing, or any file whose sha256 differs from the
    manifest. `threads` is onnxruntime's intra-op thread count (0: onnxruntime decides)
    and `spinning` its `session.intra_op.allow_spinning` (None: onnxruntime's default);
    a server passes `settings.onnx_threads` and `settings.onnx_allow_spinning`.
    With `signing_key`, an unsigned or wrongly signed bundle is refused; with
    `expected_sha256` (what the registry recorded), a changed manifest is refused.
    """
    path = Path(path)
    manifest = read_manifest(path)
    content = manifest_sha256(path)
    if expected_sha256 and content != expected_sha256:
        raise BundleError(f"{path}: manifest.json changed since the bundle was registered")
    check_signature(path, signing_key)
    if manifest.get("languages"):
        # The predictor needs the language model too; it loads alongside the files below.
        from triage import language

        language.preload()
    verify_files(path, manifest)
    files = manifest["files"]
    # The heads graph is a fraction of a millisecond per ticket: run on the calling thread,
    # it needs no pool of its own whose threads would compete with the encoder's.
    vectorizer = None
    if VECTORIZER_FILE in files:
        try:
            vectorizer = TextVectorizer.from_arrays(_arrays(path / VECTORIZER_FILE))
        except (KeyError, ValueError) as exc:
            raise BundleError(f"{path / VECTORIZER_FILE}: invalid vocabulary ({exc})") from exc
    if HEADS_FILE not in files:
        raise BundleError(f"{path}: manifest lists no {HEADS_FILE}")
    heads = _session(path / HEADS_FILE, 1, spinning)
    text_heads = _session(path / TEXT_HEADS_FILE, 1, spinning) if TEXT_HEADS_FILE in files else None
    encoder = None
    if manifest.get("encoder"):
        from triage.encoder import OnnxEncoder
        from triage.errors import EncoderError

        try:
            encoder = OnnxEncoder(
                path / manifest["encoder"]["folder"],
                threads=threads,
                spinning=spinning,
                # The window the heads were trained on; absent in older bundles (head cut).
                max_tokens=manifest["encoder"].get("max_tokens"),
            )
        except EncoderError as exc:
            raise BundleError(f"{path}: encoder: {exc}") from exc
    head_graphs = {}
    for head in manifest["heads"]:
        graph = head.get("graph")
        if graph:
            if graph.get("file") not in files:
                raise BundleError(f"{path}: head {head.get('name')!r}: its graph is not listed")
            head_graphs[head["name"]] = _session(path / graph["file"], 1, spinning)
    bundle = Bundle(
        path=path,
        manifest=manifest,
        vectorizer=vectorizer,
        heads=heads,
        text_heads=text_heads,
        encoder=encoder,
        content_sha256=content,
        head_graphs=head_graphs,
    )
    if EXPLAIN_FILE in files:
        bundle.explain = _arrays(path / EXPLAIN_FILE)
    if NEIGHBOURS_FILE in files:
        bundle.neighbours = _arrays(path / NEIGHBOURS_FILE)
    if AUTO_REPLY_ARRAYS in files and AUTO_REPLY_TARGETS in files:
        bundle.auto_reply = _arrays(path / AUTO_REPLY_ARRAYS)
        try:
            bundle.auto_reply_targets = json.loads(
                (path / AUTO_REPLY_TARGETS).read_text(encoding="utf-8")
            )
        except ValueError as exc:
            raise BundleError(f"{path / AUTO_REPLY_TARGETS}: unreadable ({exc})") from exc
    return bundle


def check_manifest(path: Path, expected: str) -> None:
    """The bundle's manifest still has the sha256 recorded at registration (`BundleError`
    otherwise); an empty `expected` (a pre-issue-14 entry) checks nothing."""
    if not expected:
        return
    try:
        actual = sha256_file(path / "manifest.json")
    except OSError as exc:
        raise BundleError(f"{path}: no readable manifest.json") from exc
    if actual != expected:
        raise BundleError(f"{path}: manifest.json changed since the bundle was registered")
