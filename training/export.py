"""Writing a bundle: ONNX graphs, arrays and `manifest.json` (see `triage.bundle` for the layout).

- `vectorizer.npz`: the TF-IDF vocabulary and idf (`triage.vectorizer.TextVectorizer`),
  computed once per request and shared by every head, the explanations and the auto-reply
  matcher.
- `heads_text.onnx` and `heads.onnx` (built here): every head's linear layer, in two graphs:
  the TF-IDF half (which serving runs beside the encoder) and the dense half plus bias. The
  TF-IDF block arrives sparse (the columns of the non-zeros, and their values) and only
  those weight rows are gathered: a ticket has ~1,000 non-zero n-grams out of ~90,000
  columns, so a dense MatMul would stream the whole weight matrix through memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from training.auto_reply import PRIOR_FLOOR
from training.boosted import BoostedHead, boosted_graph
from training.ordinal import manifest_entry as ordinal_manifest_entry
from training.reference import add_reference
from triage.bundle import (
    AUTO_REPLY_ARRAYS,
    AUTO_REPLY_TARGETS,
    CASCADE_DIR,
    ENCODER_DIR,
    EXPLAIN_FILE,
    FORMAT_VERSION,
    HEAD_GRAPH_PREFIX,
    HEADS_FILE,
    MANIFEST,
    NEIGHBOURS_FILE,
    TEXT_HEADS_FILE,
    VECTORIZER_FILE,
)
from triage.encoder import EncoderSpec
from triage.features import MAX_TEXT_CHARS, MetaSpec
from triage.files import sha256_file

OPSET = 18
# Dimensions of the neighbours' first-pass projection: 5,000 × 64 floats is a GEMV of 1.3 MB
# per request where the full vectors took 7.7 MB; re-ranking 30 candidates on the full vectors
# keeps the exact top 3 for 98.7% of demo tickets.
NEIGHBOUR_DIMS = 64


def build_text_heads_graph(w_text: np.ndarray) -> onnx.ModelProto:
    """Every head's TF-IDF half: `tfidf_col` (the K non-zero columns, int64) and
    `tfidf_weight` (N × K, each non-zero's value in its ticket's row) → `text_logits`
    (N × outputs) = tfidf_weight @ W_text[tfidf_col].

    Only the K weight rows a ticket uses are read: measured on the demo bundle, this
    Gather + MatMul takes 33 µs a ticket where a ScatterElements-add formulation took 420 µs.
    Serving runs it beside the encoder, since it needs only the text.
    """
    nodes = [
        helper.make_node("Gather", ["w_text", "tfidf_col"], ["w_rows"], axis=0),
        helper.make_node("MatMul", ["tfidf_weight", "w_rows"], ["text_logits"]),
    ]
    inputs = [
        helper.make_tensor_value_info("tfidf_col", TensorProto.INT64, ["K"]),
        helper.make_tensor_value_info("tfidf_weight", TensorProto.FLOAT, ["N", "K"]),
    ]
    outputs = [
        helper.make_tensor_value_info("text_logits", TensorProto.FLOAT, ["N", w_text.shape[1]])
    ]
    inits = [numpy_helper.from_array(w_text.astype(np.float32), "w_text")]
    return _model(helper.make_graph(nodes, "heads_text", inputs, outputs, inits))


def build_heads_graph(w_dense: np.ndarray, bias: np.ndarray, with_text: bool) -> onnx.ModelProto:
    """Every head's logits: `dense` (N × D: embedding ⊕ metadata), and with text the
    `text_logits` of `build_text_heads_graph` → `logits` = dense @ W_dense + b (+ text_logits)."""
    n_out = int(bias.shape[0])
    if w_dense.shape[0] == 0:
        raise ValueError("the heads graph needs at least one dense (metadata) column")
    inputs = [helper.make_tensor_value_info("dense", TensorProto.FLOAT, ["N", w_dense.shape[0]])]
    inits = [
        numpy_helper.from_array(bias.astype(np.float32), "bias"),
        numpy_helper.from_array(w_dense.astype(np.float32), "w_dense"),
    ]
    nodes = [
        helper.make_node("MatMul", ["dense", "w_dense"], ["dense_logits"]),
        helper.make_node("Add", ["dense_logits", "bias"], ["base" if with_text else "logits"]),
    ]
    if with_text:
        inputs.append(helper.make_tensor_value_info("text_logits", TensorProto.FLOAT, ["N", n_out]))
        nodes.append(helper.make_node("Add", ["base", "text_logits"], ["logits"]))
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_out])]
    return _model(helper.make_graph(nodes, "heads", inputs, outputs, inits))


def _model(graph) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("numpy", "scikit-learn", "skl2onnx", "onnx", "onnxruntime", "tokenizers"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if np.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def head_metrics(report) -> dict[str, Any]:
    """The manifest's `metrics` section."""
    metrics: dict[str, Any] = {}
    for name, head in report.heads.items():
        keep = (
            "accuracy",
            "macro_f1",
            "coverage_at_target_precision",
            "precision_at_threshold",
            "brier",
            "ece",
            "roc_auc",
        )
        metrics[name] = {k: head.metrics[k] for k in keep if k in head.metrics}
        metrics[name]["baselines"] = {
            b: {k: v[k] for k in ("accuracy", "macro_f1", "roc_auc") if k in v}
            for b, v in head.baselines.items()
        }
        # Realized precision on the test split beside the target the thresholds aimed at.
        metrics[name]["target_precision"] = head.metrics.get("target_precision")
        metrics[name]["realized_precision"] = head.metrics.get("precision_at_threshold")
        metrics[name]["calibrated_on"] = head.metrics.get("calibrated_on")
        if "selection" in head.metrics:
            metrics[name]["selection"] = head.metrics["selection"]
            metrics[name]["no_signal"] = bool(head.metrics.get("no_signal"))
        if "ordinal" in head.metrics:
            metrics[name]["ordinal"] = head.metrics["ordinal"]
    if report.auto_reply:
        metrics["auto_reply"] = {
            k: v
            for k, v in report.auto_reply.items()
            if k
            in (
                "recall_at_1",
                "recall_at_5",
                "coverage_at_safe_threshold",
                "precision_at_safe_threshold",
                "kb_only",
            )
        }
    return _jsonable(metrics)


def model_name(report) -> str:  # type: ignore[no-untyped-def]
    """The model a bundle is a version of: its data source and its primary head's label set.

    Versions of the same model are compared by the promotion gate; versions of different
    models never are (`triage.promotion`).
    """
    source = Path(str(report.data_path)).name.split(".")[0] or "data"
    primary = report.heads[next(iter(report.heads))]
    identity = json.dumps(
        {"source": source, "field": primary.field, "classes": sorted(primary.classes)},
        sort_keys=True,
    )
    return f"{source}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


def split_fingerprint(report) -> str:  # type: ignore[no-untyped-def]
    """sha256 of the primary head's test ticket ids: same value, same test tickets."""
    primary = report.heads[next(iter(report.heads))]
    return hashlib.sha256("\n".join(sorted(primary.test_ids)).encode()).hexdigest()


# Complexity 17: one optional part of the bundle per branch (encoder, neighbours, auto-reply,
# static encoder...), each a few lines; written in one place so the manifest lists them all.
def write_bundle(  # noqa: C901
    out: Path,
    *,
    report,
    vectorizer,
    models,
    meta_spec: MetaSpec,
    meta_names: list[str],
    corpus,
    train_idx: np.ndarray,
    encoder_dir: Path | None,
    matcher,
    created_at: datetime,
    git_sha: str | None,
    config,
    cascade=None,
) -> dict:
    """Write every file of the bundle into `out` and return the manifest written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (
        VECTORIZER_FILE,
        HEADS_FILE,
        TEXT_HEADS_FILE,
        EXPLAIN_FILE,
        NEIGHBOURS_FILE,
        AUTO_REPLY_ARRAYS,
        AUTO_REPLY_TARGETS,
        MANIFEST,
    ):
        (out / stale).unlink(missing_ok=True)
    for stale in out.glob(HEAD_GRAPH_PREFIX + "*.onnx"):
        stale.unlink()
    if encoder_dir is None and (out / ENCODER_DIR).exists():
        shutil.rmtree(out / ENCODER_DIR)
    if cascade is None and (out / CASCADE_DIR).exists():
        shutil.rmtree(out / CASCADE_DIR)

    names = list(report.heads)
    offsets, start = {}, 0
    for name in names:
        offsets[name] = start
        start += len(report.heads[name].classes)

    # Heads graph.
    n_word = n_char = 0
    w_text = None
    if vectorizer is not None:
        np.savez(out / VECTORIZER_FILE, **vectorizer.arrays())
        n_word, n_char = vectorizer.n_word, vectorizer.n_char
        w_text = np.hstack([models[n].W_text_ for n in names])
    dense_parts = []
    emb_dim = corpus.x_emb.shape[1] if corpus.x_emb is not None else 0
    if emb_dim:
        dense_parts.append(np.hstack([models[n].W_emb_ for n in names]))
    dense_parts.append(np.hstack([models[n].W_meta_ for n in names]))
    w_dense = np.vstack(dense_parts)
    bias = np.hstack([models[n].b_ for n in names])
    (out / HEADS_FILE).write_bytes(
        build_heads_graph(w_dense, bias, w_text is not None).SerializeToString()
    )
    if w_text is not None:
        (out / TEXT_HEADS_FILE).write_bytes(build_text_heads_graph(w_text).SerializeToString())
    # A boosted head's trees: a graph of its own, whose log-probabilities serving adds to
    # the head's slice of the logits (its weights in the graphs above are zeros).
    head_graphs = {}
    for name in names:
        if isinstance(models[name], BoostedHead):
            file = f"{HEAD_GRAPH_PREFIX}{name}.onnx"
            graph = boosted_graph(models[name], len(meta_names))
            (out / file).write_bytes(graph.SerializeToString())
            head_graphs[name] = {
                "kind": "hgb",
                "file": file,
                "input": "meta",
                "columns": [int(c) for c in models[name].classes_],
            }

    # Explanations: word-block and metadata coefficients (float16 halves the size).
    explain: dict[str, np.ndarray] = {
        "coef_meta": np.hstack([models[n].W_meta_ for n in names]).astype(np.float16),
    }
    if vectorizer is not None:
        explain["coef_word"] = w_text[:n_word].astype(np.float16)
    np.savez(out / EXPLAIN_FILE, **explain)

    # Nearest historical tickets: the newest training tickets, capped.
    primary = names[0]
    primary_head = report.heads[primary]
    stamps = np.array(
        [
            t.created_at.timestamp() if t.created_at else 0.0
            for t in (corpus.tickets[i] for i in train_idx)
        ]
    )
    keep = train_idx[np.argsort(-stamps, kind="stable")[: config.neighbours_max]]
    index = {c: i for i, c in enumerate(primary_head.classes)}
    field = primary_head.field
    labels = np.array(
        [index.get(_label(getattr(corpus.tickets[i], field)), -1) for i in keep], dtype=np.int32
    )
    neighbours: dict[str, np.ndarray] = {
        "ids": np.array([corpus.tickets[i].id for i in keep], dtype=np.str_),
        "labels": labels,
    }
    neighbour_kind = "none"
    if corpus.x_emb is not None:
        vectors = corpus.x_emb[keep].astype(np.float32)
        # Serving scores every neighbour in the span of their top singular vectors, then
        # re-ranks the best candidates on the full vectors (triage.inference.explanation).
        _, _, basis = np.linalg.svd(vectors, full_matrices=False)
        projection = basis[: min(NEIGHBOUR_DIMS, len(basis))].T
        neighbours.update(
            vectors=vectors.astype(np.float16),
            projection=projection.astype(np.float32),
            projected=(vectors @ projection).astype(np.float16),
        )
        neighbour_kind = "embedding"
    elif corpus.x_text is not None:
        block = corpus.x_text[keep][:, :n_word].tocsr()
        # Serve-time cost is linear in the stored values: keep the newest tickets that fit.
        fits = int(np.searchsorted(block.indptr, config.index_max_values, side="right")) - 1
        keep, labels, block = keep[:fits], labels[:fits], block[:fits]
        neighbours["ids"] = neighbours["ids"][:fits]
        neighbours["labels"] = labels
        neighbours.update(
            indptr=block.indptr.astype(np.int64),
            indices=block.indices.astype(np.int32),
            data=block.data.astype(np.float16),
        )
        neighbour_kind = "tfidf"
    np.savez(out / NEIGHBOURS_FILE, **neighbours)
    cascade_info = None
    if cascade is not None:
        from training.cascade_stage import write_cascade

        cascade_info = write_cascade(out, cascade, names, keep)

    auto_reply = None
    if matcher is not None:
        entry_tfidf = matcher.entry_tfidf
        arrays = {
            "indptr": entry_tfidf.indptr.astype(np.int64),
            "indices": entry_tfidf.indices.astype(np.int32),
            "data": entry_tfidf.data.astype(np.float16),
            "target_start": matcher.target_start.astype(np.int64),
        }
        if matcher.entry_emb is not None:
            arrays["vectors"] = matcher.entry_emb.astype(np.float16)
        for head in matcher.prior_weights:
            arrays[f"entry_class__{head}"] = matcher.entry_classes[head].astype(np.int32)
        np.savez(out / AUTO_REPLY_ARRAYS, **arrays)
        (out / AUTO_REPLY_TARGETS).write_text(
            json.dumps(matcher.targets, ensure_ascii=False), encoding="utf-8"
        )
        auto_reply = {
            "alpha": matcher.alpha,
            "safe_threshold": matcher.safe_threshold,
            # What the threshold is compared with: the best target's lead over the runner-up
            # (training.auto_reply.send_confidence); bundles without the key compare the score.
            "safe_confidence": "margin",
            "prior_weights": matcher.prior_weights,
            "query_terms": matcher.query_terms,
            "prior_floor": PRIOR_FLOOR,
            "entries": int(matcher.entry_tfidf.shape[0]),
            "targets": len(matcher.targets),
        }

    encoder_info = None
    if encoder_dir is not None:
        spec = EncoderSpec.read(encoder_dir)
        encoder_info = {"folder": encoder_dir.name, "name": spec.name, "dim": spec.dim}
        # max_tokens (the window serving reads), length and finetune (how they were chosen).
        encoder_info.update(getattr(report, "encoder", {}) or {})

    heads_manifest = []
    for name in names:
        head = report.heads[name]
        entry = {
            "name": name,
            "field": head.field,
            "classes": head.classes,
            "offset": offsets[name],
            "temperature": head.temperature,
            "thresholds": head.thresholds,
            "global_threshold": head.global_threshold,
        }
        if head.parents is not None:
            entry["parents"] = head.parents
        if head.metrics.get("no_signal"):
            # Serving always abstains on it; the registry never promotes it as primary.
            entry["no_signal"] = True
        if "selection" in head.metrics:
            entry["model"] = head.metrics["selection"]["model"]
        if "risk_threshold" in head.metrics:
            # The desk's risk rule reads `value` (`training.risk_threshold`).
            entry["risk_threshold"] = head.metrics["risk_threshold"]
        # An ordered head answered by expected cost: its decision and order.
        entry.update(ordinal_manifest_entry(head.metrics))
        if name in head_graphs:
            entry["graph"] = head_graphs[name]
        heads_manifest.append(entry)

    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != MANIFEST):
        files[path.relative_to(out).as_posix()] = sha256_file(path)
    manifest = {
        "format_version": FORMAT_VERSION,
        "model_version": report.model_version,
        "model_name": model_name(report),
        "evaluation": {"test_split": split_fingerprint(report)},
        "created_at": created_at.isoformat(),
        "git_sha": git_sha,
        "library_versions": _versions(),
        "text": {
            "enabled": vectorizer is not None,
            "max_chars": MAX_TEXT_CHARS,
            "word_features": n_word,
            "char_features": n_char,
            "stem_features": vectorizer.n_stem if vectorizer is not None else 0,
        },
        "encoder": encoder_info,
        "cascade": cascade_info,
        "meta": {"spec": meta_spec.to_dict(), "names": meta_names},
        "heads": heads_manifest,
        "primary_head": primary,
        "languages": report.languages,
        "target_precision": config.target_precision,
        "neighbours": {"kind": neighbour_kind, "count": len(keep)},
        "auto_reply": auto_reply,
        "split": report.split,
        "params": {
            k: v for k, v in report.params.items() if isinstance(v, (int, float, str, bool))
        },
        "metrics": head_metrics(report),
        "warnings": list(getattr(report, "warnings", [])),
        "inputs": dict(getattr(report, "inputs", {})),
        "files": files,
    }
    manifest = _jsonable(manifest)
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    # Drift monitoring's reference: the finished bundle scores the tickets held out of its
    # training (the test split: its confidences are those of unseen tickets), or, with no
    # held-out ticket, its training tickets.
    held_out = np.setdiff1d(np.arange(len(corpus.tickets)), train_idx)
    rows = held_out if len(held_out) else train_idx
    vectors = None
    if encoder_dir is not None and corpus.x_emb is not None:
        vectors = {corpus.tickets[i].text: corpus.x_emb[i] for i in rows}
    return add_reference(out, manifest, [corpus.tickets[i] for i in rows], vectors=vectors)


def _label(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return value or None
