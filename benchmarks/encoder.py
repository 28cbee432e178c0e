"""Encoder latency, throughput and fidelity: int8 ONNX vs fp32 ONNX vs torch, in one run.

    .venv/bin/python benchmarks/encoder.py [--n 300] [--threads 2] [--rounds 3]

Texts: the first N tickets of 60-120 words from ../shared/datasets/endava_all_labels_sample
(title + body) when present, else generated help-desk texts of that length. Batch-1
figures include tokenization. Every engine is measured in each round, rounds are
interleaved and the medians over rounds are reported, so the ratios compare figures taken
under the same machine load. Writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.percentiles import summary_ms
from training.encoder_export import ensure_exported, resolve_encoder
from triage.encoder import OnnxEncoder

SHARED_SAMPLE = (
    ROOT.parent / "shared" / "datasets" / "endava_all_labels_sample" / "all_tickets_first5431.csv"
)


def load_texts(n: int, seed: int = 11) -> tuple[list[str], str]:
    """N ticket texts of 60-120 words and where they came from."""
    if SHARED_SAMPLE.is_file():
        texts = []
        with open(SHARED_SAMPLE, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                text = f"{row['title'] or ''}\n{row['body'] or ''}".strip()
                if 60 <= len(text.split()) <= 120:
                    texts.append(text)
                if len(texts) == n:
                    return texts, f"{SHARED_SAMPLE.name} (first {n} with 60-120 words)"
    rng = random.Random(seed)
    words = [
        "printer",
        "vpn",
        "outlook",
        "password",
        "reset",
        "access",
        "denied",
        "laptop",
        "screen",
        "error",
        "update",
        "install",
        "licence",
        "invoice",
        "refund",
        "order",
        "shipping",
        "account",
        "locked",
        "slow",
        "network",
        "wifi",
        "server",
        "crash",
        "login",
        "timeout",
        "manager",
        "approved",
        "urgent",
        "please",
        "thanks",
        "team",
        "folder",
        "shared",
        "drive",
        "permission",
        "payroll",
        "calendar",
        "meeting",
        "phone",
        "badge",
        "office",
        "monitor",
    ]
    texts = [
        "Hello support, " + " ".join(rng.choice(words) for _ in range(rng.randint(58, 118)))
        for _ in range(n)
    ]
    return texts, f"generated ({n} texts, 60-120 words)"


def measure_single(encode_one: Callable[[str], object], texts: list[str]) -> dict[str, float]:
    """Batch 1, back to back: per-call latency (p50/p99 ms) and tickets/s over the loop."""
    times = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for text in texts:
        t0 = time.perf_counter()
        encode_one(text)
        times.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    latency = summary_ms(times)
    return {
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
        "tickets_per_s": len(texts) / total,
        # CPU seconds of all threads per ticket: less distorted than wall time when other
        # processes compete for the cores, though spinning worker threads inflate it.
        "cpu_ms_per_ticket": cpu * 1000 / len(texts),
    }


def measure_batched(
    encode: Callable[[list[str], int], object], texts: list[str], size: int
) -> float:
    """Tickets/s encoding all texts in length-sorted batches of `size`."""
    started = time.perf_counter()
    encode(texts, size)
    return len(texts) / (time.perf_counter() - started)


def cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean and min row-wise cosine of two embedding matrices."""
    c = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"mean": float(c.mean()), "min": float(c.min())}


def main() -> None:
    """Run the benchmark and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="tickets (default 300)")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads per engine")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "encoders")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--no-torch", action="store_true", help="skip sentence-transformers")
    args = parser.parse_args()

    texts, source = load_texts(args.n)
    exported = ensure_exported(args.encoder, cache_dir=args.cache_dir)
    int8 = OnnxEncoder(exported.model_dir, threads=args.threads)
    fp32 = OnnxEncoder(exported.fp32_dir, threads=args.threads)
    engines: dict[str, tuple[Callable, Callable]] = {
        "onnx_int8": (int8.encode_one, lambda t, b, e=int8: e.encode(t, batch_size=b)),
        "onnx_fp32": (fp32.encode_one, lambda t, b, e=fp32: e.encode(t, batch_size=b)),
    }
    st = None
    if not args.no_torch:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(args.threads)
        st = SentenceTransformer(
            str(resolve_encoder(args.encoder)[1]), device="cpu", local_files_only=True
        )
        st.max_seq_length = exported.spec.max_length
        kw = {"normalize_embeddings": True, "show_progress_bar": False}
        engines["torch"] = (
            lambda t: st.encode(t, **kw),
            lambda t, b: st.encode(t, batch_size=b, **kw),
        )

    tokens = [int8.token_count(t) for t in texts]
    for one, _ in engines.values():  # warm-up: first calls allocate arenas
        for text in texts[:20]:
            one(text)

    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in engines}
    for r in range(args.rounds):
        for name, (one, many) in engines.items():
            row = measure_single(one, texts)
            for size in args.batches:
                row[f"batch{size}_sorted_tickets_per_s"] = measure_batched(many, texts, size)
            rounds[name].append(row)
            print(
                f"round {r + 1}/{args.rounds} {name}: "
                + ", ".join(f"{k}={v:.1f}" for k, v in row.items()),
                flush=True,
            )

    results = {
        name: {k: statistics.median(row[k] for row in rows) for k in rows[0]}
        for name, rows in rounds.items()
    }
    ratios = {}
    for key in results["onnx_int8"]:
        base = "torch" if "torch" in results else "onnx_fp32"
        for name in results:
            if name != base:
                ratios[f"{name}/{base} {key}"] = results[name][key] / results[base][key]
    if "torch" in results:
        for key in results["onnx_int8"]:
            ratios[f"onnx_int8/onnx_fp32 {key}"] = (
                results["onnx_int8"][key] / results["onnx_fp32"][key]
            )

    single_int8 = np.stack([int8.encode_one(t) for t in texts])
    single_fp32 = np.stack([fp32.encode_one(t) for t in texts])
    fidelity = {
        "int8_vs_fp32": cosines(single_int8, single_fp32),
        "int8_batch8_vs_int8_single": cosines(int8.encode(texts, batch_size=8), single_int8),
    }
    if st is not None:
        torch_vectors = st.encode(texts, batch_size=32, normalize_embeddings=True)
        fidelity["fp32_vs_torch"] = cosines(single_fp32, torch_vectors)
        fidelity["int8_vs_torch"] = cosines(single_int8, torch_vectors)

    import onnxruntime

    report = {
        "benchmark": "encoder",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "encoder": exported.spec.name,
        "texts": {"source": source, "n": len(texts), "median_tokens": statistics.median(tokens)},
        "threads": args.threads,
        "rounds": args.rounds,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__,
            "load_average_at_end": os.getloadavg(),
        },
        "results": results,
        "ratios": ratios,
        "fidelity": fidelity,
        "model_bytes": {
            "int8": (exported.model_dir / "model.onnx").stat().st_size,
            "fp32": (exported.fp32_dir / "model.onnx").stat().st_size,
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"encoder-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"results": results, "fidelity": fidelity}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
