"""`triage rescore` throughput against the bare encoder, TF-IDF-only throughput, peak memory
against backlog size, and local against Ray.

    .venv/bin/python benchmarks/rescore.py [--bundle DIR] [--tfidf-bundle DIR] [--work DIR]
        [--embedding-n 2000] [--tfidf-n 20000] [--sizes 1000,10000,100000] [--layouts 2x1,1x2]
        [--no-ray] [--quick]

Without `--bundle` / `--tfidf-bundle` it trains both on 2,000 demo tickets (the pipeline
`triage train` runs, with the settings' encoder and with none) into `--work` (default: a
temporary folder; pass one to reuse bundles and backlogs between runs). Backlogs are demo tickets
generated 5,000 at a time (seeds 1, 2, ...) and streamed to Parquet, labels kept.
Measures, in one run:

1. per layout (worker processes x onnxruntime threads; default: rescore's own), the
   embedding bundle's steady tickets/s through `triage.rescore.rescore` (first chunk to
   last, worker start-up excluded; end to end reported too) between two measurements of
   the bare encoder on the same texts in the same layout (`OnnxEncoder.encode(texts,
   batch_size=1)`, the unpadded path predictions use, each process a shard): the ratio
   to their mean (target >= 0.9); and the padded batch-32 encoder for reference;
2. the TF-IDF-only bundle's steady tickets/s (target >= 2,000);
3. `triage rescore` (the CLI, a subprocess) on each backlog size with the TF-IDF-only
   bundle: peak resident memory of the largest process and of the whole process tree,
   sampled every 0.1 s (target: flat from 1k to 100k);
4. the largest backlog again with `--engine ray` (a local Ray instance): identical results
   to the local run, compared batch by batch.

Writes `rescore.json` into `benchmarks/results/rescore-<timestamp>/` and prints a table.
`--quick` shrinks every size for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

TARGET_RATIO = 0.9
TARGET_TFIDF_PER_S = 2000.0
BLOCK = 5_000
SAMPLE_S = 0.1


# -- inputs --------------------------------------------------------------------------------


def build_bundles(work: Path, settings: Any) -> tuple[Path, Path]:
    """An embedding bundle (the settings' encoder) and a TF-IDF-only bundle trained on 2,000
    demo tickets (cached in `work`), by the pipeline `triage train` runs: throw-away
    bundles, so neither the model registry nor MLflow hears of them."""
    from training.pipeline import TrainConfig, train
    from triage.demo import write_demo

    data = work / "train.parquet"
    if not data.exists():
        write_demo(data, tickets=2000)
    built = []
    for name, encoder in (("bundle", settings.encoder), ("tfidf", None)):
        folder = work / name
        if not (folder / "manifest.json").exists():
            config = TrainConfig(
                encoder=encoder,
                embedding_cache_dir=settings.embedding_cache_dir,
                encoder_cache_dir=settings.encoder_cache_dir,
                bundle_name=name,
            )
            train(data, folder, config)
        built.append(folder)
    return built[0], built[1]


def write_backlog(path: Path, tickets: int) -> Path:
    """`tickets` demo tickets (ids BL-0000001...), generated and written a block at a time."""
    if path.exists():
        return path
    from triage.dataset import TicketWriter
    from triage.demo import generate

    with TicketWriter(path) as writer:
        number = 0
        for block in range((tickets + BLOCK - 1) // BLOCK):
            size = min(BLOCK, tickets - block * BLOCK)
            for ticket in generate(tickets=size, seed=block + 1).tickets:
                number += 1
                writer.write(ticket.model_copy(update={"id": f"BL-{number:07d}"}))
    return path


def _texts(path: Path, limit: int) -> list[str]:
    from triage.dataset import iter_tickets

    texts = []
    for ticket in iter_tickets(path):
        texts.append(ticket.text)
        if len(texts) == limit:
            break
    return texts


# -- the bare encoder ----------------------------------------------------------------------

_encoder = None


def _load_encoder(folder: str, threads: int, max_tokens: int | None = None) -> None:
    global _encoder
    from triage.encoder import OnnxEncoder

    _encoder = OnnxEncoder(folder, threads=threads, spinning=False, max_tokens=max_tokens)
    _encoder.encode(["warm up"], batch_size=1)


def _encode(args: tuple[list[str], int]) -> int:
    texts, batch_size = args
    assert _encoder is not None
    _encoder.encode(texts, batch_size=batch_size)
    return len(texts)


def encoder_throughput(
    folder: Path,
    texts: list[str],
    workers: int,
    threads: int,
    batch_size: int,
    max_tokens: int | None = None,
) -> float:
    """Texts/s of the bare encoder over `texts` split across `workers` processes (loading
    excluded), the rescore's layout; `max_tokens`: the bundle's window."""
    if workers == 1:
        _load_encoder(str(folder), threads, max_tokens)
        started = time.perf_counter()
        _encode((texts, batch_size))
        return len(texts) / (time.perf_counter() - started)
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    shards = [(texts[i::workers], batch_size) for i in range(workers)]
    with context.Pool(
        workers, initializer=_load_encoder, initargs=(str(folder), threads, max_tokens)
    ) as pool:
        pool.map(_encode, [(["warm up"], 1)] * workers * 2)  # every worker loaded
        started = time.perf_counter()
        pool.map(_encode, shards, chunksize=1)
        return len(texts) / (time.perf_counter() - started)


# -- rescore in this process ---------------------------------------------------------------


class _Timeline:
    """A progress sink recording when each scored chunk came back."""

    def __init__(self) -> None:
        self.scoring = False
        self.events: list[tuple[float, int]] = []

    def stage(self, name: str, total: int | None = None, completed: int = 0) -> None:
        self.scoring = name == "scoring"
        if self.scoring:
            self.started = time.perf_counter()

    def advance(self, steps: int = 1) -> None:
        if self.scoring:
            self.events.append((time.perf_counter(), steps))


def rescore_throughput(
    bundle: Path, backlog: Path, work: Path, workers: int, threads: int, chunk_rows: int
) -> dict[str, Any]:
    """Steady tickets/s (first chunk back to last: worker start-up excluded) and end to end."""
    from triage.rescore import FileSource, RescoreOptions, rescore

    out = work / f"throughput-{bundle.name}-{workers}x{threads}.parquet"
    timeline = _Timeline()
    report = rescore(
        RescoreOptions(
            bundle=bundle,
            source=FileSource(backlog),
            out=out,
            workers=workers,
            threads=threads,
            chunk_rows=chunk_rows,
            checkpoint_dir=work / f"checkpoint-{os.getpid()}",
        ),
        timeline,
    )
    events = timeline.events
    # Every worker's first chunk comes back after its start-up, at about the same time;
    # from the last of those on, each chunk back is one more chunk-time of some worker.
    warm = min(workers, len(events)) - 1
    first, last = events[warm][0], events[-1][0]
    steady_tickets = sum(n for _, n in events[warm + 1 :])
    steady = steady_tickets / (last - first) if last > first else None
    return {
        "tickets": report.tickets,
        "workers": report.workers,
        "threads": report.threads,
        "chunk_rows": chunk_rows,
        "steady_tickets_per_s": round(steady, 1) if steady else None,
        "end_to_end_tickets_per_s": round(report.tickets_per_s or 0.0, 1),
        "startup_s": round(events[0][0] - timeline.started, 2),
    }


# -- the CLI in a subprocess: memory, Ray --------------------------------------------------


def _tree_rss_kb(root: int) -> tuple[int, int]:
    """(largest process, whole tree) resident memory in KiB of `root` and its descendants."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    sizes = []
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]))
        except OSError:
            continue
    return (max(sizes), sum(sizes)) if sizes else (0, 0)


def cli_run(bundle: Path, backlog: Path, out: Path, *extra: object) -> dict[str, Any]:
    """`triage rescore` in a subprocess, its process tree's memory sampled as it runs."""
    command = [
        sys.executable,
        "-m",
        "triage_cli.main",
        "rescore",
        "--bundle",
        str(bundle),
        "--input",
        str(backlog),
        "--out",
        str(out),
        "--json",
        *map(str, extra),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    peak_process = peak_tree = 0
    while process.poll() is None:
        largest, total = _tree_rss_kb(process.pid)
        peak_process, peak_tree = max(peak_process, largest), max(peak_tree, total)
        time.sleep(SAMPLE_S)
    output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with code {process.returncode}")
    import json

    summary = json.loads(output.strip().splitlines()[-1])["summary"]
    return {
        "tickets": summary["tickets"],
        "wall_s": round(time.perf_counter() - started, 1),
        "tickets_per_s": summary["tickets_per_s"],
        "peak_rss_largest_process_mb": round(peak_process / 1024, 1),
        "peak_rss_process_tree_mb": round(peak_tree / 1024, 1),
        "workers": summary["workers"],
        "threads": summary["threads_per_worker"],
    }


def same_results(a: Path, b: Path) -> tuple[bool, int]:
    """Whether two results files hold the same rows (compared a batch at a time)."""
    import pyarrow.parquet as pq

    left, right = pq.ParquetFile(a), pq.ParquetFile(b)
    if left.metadata.num_rows != right.metadata.num_rows or left.schema_arrow != right.schema_arrow:
        return False, 0
    rows = 0
    for x, y in zip(left.iter_batches(10_000), right.iter_batches(10_000), strict=True):
        if not x.equals(y):
            return False, rows
        rows += x.num_rows
    return True, rows


# -- main ----------------------------------------------------------------------------------


def _layouts(text: str | None) -> list[tuple[int | None, int | None]]:
    if not text:
        return [(None, None)]
    out = []
    for item in text.split(","):
        workers, _, threads = item.partition("x")
        out.append((int(workers), int(threads)))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the measurements of the module docstring; writes `rescore.json`."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, help="embedding bundle (default: train one)")
    parser.add_argument("--tfidf-bundle", type=Path, help="TF-IDF-only bundle (default: train one)")
    parser.add_argument("--work", type=Path, help="folder for bundles, backlogs and outputs")
    parser.add_argument("--embedding-n", type=int, default=2000)
    parser.add_argument("--tfidf-n", type=int, default=20_000)
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="backlog sizes for the memory runs (the smallest against the largest; a middle "
        "size shows where the workers' allocator settles)",
    )
    parser.add_argument("--layouts", help="WORKERSxTHREADS,... (default: rescore's own)")
    parser.add_argument("--chunk-rows", type=int, default=256)
    parser.add_argument("--no-ray", action="store_true", help="skip the local-vs-Ray comparison")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--out", type=Path, help="run folder (default benchmarks/results/rescore-*)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.embedding_n, args.tfidf_n, args.sizes = 200, 1000, "300,600,1200"
        args.chunk_rows = min(args.chunk_rows, 50)

    from benchmarks.machine import machine_info
    from benchmarks.results import new_run_dir, write_json
    from triage.bundle import read_manifest
    from triage.rescore.engines import default_layout

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-rescore-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    bundle, tfidf = args.bundle, args.tfidf_bundle
    if bundle is None or tfidf is None:
        from triage.settings import get_settings

        built, built_tfidf = build_bundles(work, get_settings())
        bundle, tfidf = bundle or built, tfidf or built_tfidf
    sizes = [int(s) for s in args.sizes.split(",")]
    backlogs = {
        n: write_backlog(work / f"backlog-{n}.parquet", n)
        for n in sorted({args.embedding_n, args.tfidf_n, *sizes})
    }
    machine_before = machine_info()

    manifest = read_manifest(bundle)
    encoder_folder = bundle / manifest["encoder"]["folder"]
    window = manifest["encoder"].get("max_tokens")
    texts = _texts(backlogs[args.embedding_n], args.embedding_n)
    layouts = []
    for workers, threads in _layouts(args.layouts):
        workers, threads = default_layout(workers, threads)
        floor_before = encoder_throughput(encoder_folder, texts, workers, threads, 1, window)
        scored = rescore_throughput(
            bundle, backlogs[args.embedding_n], work, workers, threads, args.chunk_rows
        )
        floor_after = encoder_throughput(encoder_folder, texts, workers, threads, 1, window)
        padded = encoder_throughput(encoder_folder, texts, workers, threads, 32, window)
        floor = (floor_before + floor_after) / 2
        steady = scored["steady_tickets_per_s"] or 0.0
        layouts.append(
            {
                "layout": f"{workers}x{threads}",
                "encoder_batch1_texts_per_s": [round(floor_before, 1), round(floor_after, 1)],
                "encoder_batch32_padded_texts_per_s": round(padded, 1),
                "rescore": scored,
                "ratio_to_encoder": round(steady / floor, 3),
                "target_ratio": TARGET_RATIO,
            }
        )
        print(
            f"embedding {workers}x{threads}: encoder {floor_before:.1f} / {floor_after:.1f} "
            f"texts/s (padded b32 {padded:.1f}), rescore {steady:.1f} tickets/s steady "
            f"({scored['end_to_end_tickets_per_s']} end to end), ratio {steady / floor:.3f}",
            flush=True,
        )

    tfidf_run = rescore_throughput(
        tfidf, backlogs[args.tfidf_n], work, *default_layout(None, None), args.chunk_rows
    )
    print(
        f"tf-idf only: {tfidf_run['steady_tickets_per_s']} tickets/s steady "
        f"({tfidf_run['end_to_end_tickets_per_s']} end to end)",
        flush=True,
    )

    memory = {}
    for n in sizes:
        memory[str(n)] = cli_run(tfidf, backlogs[n], work / f"local-{n}.parquet")
        print(f"memory {n:,} tickets: {memory[str(n)]}", flush=True)
    small, large = memory[str(sizes[0])], memory[str(sizes[-1])]
    memory["largest_process_ratio"] = round(
        large["peak_rss_largest_process_mb"] / small["peak_rss_largest_process_mb"], 3
    )
    memory["process_tree_ratio"] = round(
        large["peak_rss_process_tree_mb"] / small["peak_rss_process_tree_mb"], 3
    )
    if len(sizes) > 2:
        middle = memory[str(sizes[-2])]
        memory["largest_process_ratio_from_second_size"] = round(
            large["peak_rss_largest_process_mb"] / middle["peak_rss_largest_process_mb"], 3
        )

    ray = None
    if not args.no_ray:
        n = sizes[-1]
        ray = cli_run(tfidf, backlogs[n], work / f"ray-{n}.parquet", "--engine", "ray")
        identical, rows = same_results(work / f"local-{n}.parquet", work / f"ray-{n}.parquet")
        ray = {
            "tickets": n,
            "identical_to_local": identical,
            "rows_compared": rows,
            "wall_s": ray["wall_s"],
            "tickets_per_s": ray["tickets_per_s"],
        }
        print(f"ray {n:,} tickets: identical to local: {identical} ({rows:,} rows)", flush=True)

    results = {
        "bundle": str(bundle),
        "tfidf_bundle": str(tfidf),
        "embedding": layouts,
        "tfidf": {**tfidf_run, "target_tickets_per_s": TARGET_TFIDF_PER_S},
        "memory": memory,
        "ray": ray,
        "wall_s": round(time.perf_counter() - started, 1),
        "machine_before": machine_before,
        "machine_after": machine_info(),
    }
    run_dir = args.out or new_run_dir("rescore")
    path = write_json(run_dir / "rescore.json", results)
    print(
        f"load average {machine_before['load_average']} -> "
        f"{results['machine_after']['load_average']}; wrote {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
