"""What the encoder stage of `triage train` buys on one labelled dataset: window and fine-tune.

    nice -n 10 .venv/bin/python benchmarks/finetune.py --data data/endava.parquet \
        --head category [--steps 300] [--limit 10000] [--max-tokens auto]

The same steps as `triage train` (stratified 80/20 split, TF-IDF and fields fitted on the
training part, `training.encoder_selection`): the window chosen out of fold, then the
encoder fine-tuned on 75% of the training part and both encoders judged on the other 25%
(what `triage train` decides on). Then, whatever the decision, both encoders are judged on
the test split too (the head's stacked candidate fitted on the whole training part, with
the TF-IDF + LinearSVC baseline beside them), so the figures say whether the keep rule
chose right. CPU seconds (user+sys of this process) and the load average are printed.
Writes JSON to benchmarks/results/finetune-DATASET.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.competition import HeadData  # noqa: E402
from training.encoder_selection import (  # noqa: E402
    Judge,
    compare_finetuned,
    finetune_encoder,
    run_encoder_stage,
    validation_split,
)
from training.evaluation import split_indices  # noqa: E402
from training.features import fit_meta_spec, fit_text_vectorizer  # noqa: E402
from training.pipeline import Corpus, TrainConfig, head_labels, resolve_encoder_folder  # noqa: E402
from training.selection import TFIDF_SVC  # noqa: E402
from triage.dataset import iter_tickets  # noqa: E402
from triage.features import MetaEncoder, normalize_text  # noqa: E402
from triage.progress import Printed  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    """Run the measurement and print/write its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--head", default="category")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--budget", type=float, default=480.0, help="fine-tuning seconds")
    parser.add_argument("--max-tokens", default="auto")
    parser.add_argument("--work", type=Path, default=Path("/tmp/finetune-bench"))
    args = parser.parse_args()
    started, cpu0 = time.perf_counter(), _cpu()
    tickets = list(iter_tickets(args.data))
    if args.limit:
        tickets = tickets[: args.limit]
    fld, labels = head_labels(tickets)[args.head]
    texts = [normalize_text(t.text) for t in tickets]
    label_arr = np.array(labels, dtype=object)
    train_idx, test_idx, _ = split_indices(label_arr, None, 0.2, 42)
    config = TrainConfig(
        finetune="off",
        finetune_steps=args.steps,
        finetune_budget_s=args.budget,
        max_tokens=args.max_tokens if args.max_tokens == "auto" else int(args.max_tokens),
        embedding_cache_dir=ROOT / ".cache" / "embeddings",
        encoder_cache_dir=ROOT / ".cache" / "encoders",
    )
    vectorizer = fit_text_vectorizer(
        [texts[i] for i in train_idx],
        config.word_max_features,
        config.char_max_features,
        2,
        stem_max_features=0,
    )
    width = vectorizer.n_word + vectorizer.n_char
    corpus = Corpus(tickets=tickets, articles=[], texts=texts)
    corpus.x_text = vectorizer.transform(texts)[:, :width]
    corpus.x_meta = MetaEncoder(fit_meta_spec([tickets[i] for i in train_idx])).matrix(tickets)
    encoder_dir = resolve_encoder_folder(
        config.encoder, args.work / "encoder", config.encoder_cache_dir
    )
    raw = [t.text for t in tickets]
    progress = Printed()
    t0 = time.perf_counter()
    frozen, decision = run_encoder_stage(
        encoder_dir, raw, (args.head, labels), corpus, train_idx, None, config, progress
    )
    length_s = time.perf_counter() - t0
    n = decision.max_tokens
    judge = Judge(args.head, labels, corpus, train_idx, config)
    fit_rows, val_rows = validation_split(judge.rows, judge.labels, None, config.seed)
    t0, c0 = time.perf_counter(), _cpu()
    tuner, exported, ft_s = finetune_encoder(
        config.encoder,
        [raw[i] for i in fit_rows],
        judge.labels[fit_rows].tolist(),
        max_tokens=min(n, config.finetune_max_tokens),
        seed=config.seed,
        cache_dir=config.encoder_cache_dir,
        progress=progress,
        max_steps=config.finetune_steps,
        time_budget_s=config.finetune_budget_s,
    )
    from training.embedding_cache import embed_texts
    from triage.encoder import OnnxEncoder

    tuned = embed_texts(
        OnnxEncoder(exported.model_dir, threads=0, max_tokens=n),
        raw,
        config.embedding_cache_dir,
        progress=False,
    )
    ft_total_s, ft_cpu = time.perf_counter() - t0, _cpu() - c0
    validation = {
        mode: compare_finetuned(judge, frozen, tuned, fit_rows, val_rows, mode)
        for mode in ("auto", "on")
    }
    test_rows = test_idx[np.array([labels[i] is not None for i in test_idx])]
    data = judge.data(frozen)
    y_test = data.codes(test_rows)
    test = {}
    for name, vectors in (("frozen", frozen), ("finetuned", tuned)):
        test[name] = judge.score(y_test, judge.held_out(judge.data(vectors), judge.rows, test_rows))
    svc = HeadData(args.head, label_arr, judge.classes, corpus, config)
    logits = svc.logits(svc.fit(judge.rows, TFIDF_SVC), test_rows)
    test["tfidf_svc"] = judge.score(y_test, logits.argmax(axis=1))
    test["margin_finetuned_vs_frozen"] = judge.margin(
        y_test,
        judge.held_out(judge.data(tuned), judge.rows, test_rows),
        judge.held_out(judge.data(frozen), judge.rows, test_rows),
    )
    result = {
        "data": str(args.data),
        "head": args.head,
        "field": fld,
        "tickets": len(tickets),
        "train": len(train_idx),
        "test_tickets": len(test_rows),
        "length": decision.length,
        "length_seconds": round(length_s, 1),
        "finetune": {
            "steps": tuner.steps_,
            "stopped_by": tuner.stopped_by_,
            "from_cache": tuner.from_cache_,
            "train_seconds": tuner.seconds_,
            "finetune_export_seconds": round(ft_s, 1),
            "with_embedding_seconds": round(ft_total_s, 1),
            "cpu_seconds": round(ft_cpu, 1),
        },
        "validation": validation,
        "test": test,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(_cpu() - cpu0, 1),
        "loadavg": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / f"finetune-{args.data.stem}-{args.head}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
