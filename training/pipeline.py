"""The training pipeline: data file in, evaluated and calibrated bundle out.

Stages: load → split → features (TF-IDF, embeddings through the cache, metadata) →
one head per label (fit on the training part minus a calibration slice, temperature
and per-class thresholds fitted on the slice, evaluated on the test part beside both
baselines) → auto-reply matcher → export. `train` returns a `TrainingReport` holding
everything the CLI prints and MLflow logs (parameters, metrics, test predictions), so
nobody recomputes anything afterwards.
"""

from __future__ import annotations

import math
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.competition import Designs, Head
from training.config import TrainConfig
from training.corpus import (
    MIN_LABELLED,
    TEXT_HEADS,
    Corpus,
    head_labels,
    load_data,
    supported_languages,
)
from training.evaluation import split_indices, stratified_indices
from training.features import describe_inputs, fit_meta_spec, fit_text_vectorizer
from training.head_training import NO_SIGNAL_THRESHOLD, in_memory_proba, train_head
from training.report import PRECISION_SHORTFALL, HeadReport, TrainingReport, precision_warnings
from triage.checkout import commit_sha
from triage.contract import Ticket
from triage.errors import TriageError
from triage.features import MetaEncoder, normalize_text
from triage.progress import Progress, Silent
from triage.splits import plan_split

# The pipeline's names from before the split into config, corpus, report and head_training:
# the CLI, benchmarks, tests and notebooks import them from here.
__all__ = [
    "HEAD_JOBS",
    "MIN_LABELLED",
    "NO_SIGNAL_THRESHOLD",
    "PRECISION_SHORTFALL",
    "TEXT_HEADS",
    "Corpus",
    "HeadReport",
    "TrainConfig",
    "TrainingReport",
    "head_labels",
    "in_memory_proba",
    "load_data",
    "longest_first",
    "precision_warnings",
    "resolve_encoder_folder",
    "supported_languages",
    "train",
]

# Heads trained at the same time (each runs its own pool of fits, see `training.competition`).
HEAD_JOBS = 2


def _timestamps(tickets: list[Ticket]) -> np.ndarray:
    return np.array(
        [t.created_at.timestamp() if t.created_at is not None else np.nan for t in tickets]
    )


def resolve_encoder_folder(encoder: str | None, into: Path, cache_dir: Path) -> Path | None:
    """Put the ONNX encoder for `encoder` (a name, an export folder or None) into `into`;
    a name is exported through the cache in `cache_dir`."""
    if encoder is None or str(encoder).lower() == "none":
        return None
    source = Path(str(encoder))
    into.mkdir(parents=True, exist_ok=True)
    if (source / "encoder.json").is_file():
        for name in ("model.onnx", "tokenizer.json", "encoder.json"):
            if name != "tokenizer.json" or (source / name).is_file():  # a text graph has none
                shutil.copyfile(source / name, into / name)
    else:
        from training.encoder_export import export_encoder

        export_encoder(str(encoder), into, cache_dir=cache_dir)
    return into


def train(
    data: str | Path,
    out: str | Path,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
) -> TrainingReport:
    """Train every head the data supports, evaluate, calibrate and write the bundle to `out`."""
    from training.export import write_bundle

    config = config or TrainConfig()
    progress = progress or Silent()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    data = Path(data)
    out = Path(out)
    progress.stage("loading tickets")
    tickets, articles = load_data(data)
    heads_spec = head_labels(tickets)
    if not heads_spec:
        raise TriageError(
            f"{data}: no usable labels: need at least {MIN_LABELLED} tickets with one of "
            "category, subcategory, priority, team, assignee, escalated or sla_breached, "
            "and two classes with two or more tickets each"
        )
    texts = [normalize_text(t.text) for t in tickets]
    has_text = sum(bool(t) for t in texts) >= 0.5 * len(texts)
    lap("load")

    # Split: stratified on the primary head, time-ordered when timestamps exist.
    primary = next(iter(heads_spec))
    primary_labels = np.array(heads_spec[primary][1], dtype=object)
    stamps = _timestamps(tickets)
    plan = plan_split([None if math.isnan(t) else t for t in stamps], config.split)
    if plan.kind == "time" and np.isfinite(stamps).mean() < 0.9:
        raise TriageError(f"{data}: a time split needs timestamps on 90% of tickets: {plan.reason}")
    train_idx, test_idx, split_kind = split_indices(
        primary_labels,
        stamps if plan.kind == "time" else None,
        config.test_fraction,
        config.seed,
    )
    if split_kind == "time":
        n_cal = round(len(train_idx) * config.calibration_fraction)
        order = train_idx[np.argsort(stamps[train_idx], kind="stable")]
        fit_idx, cal_idx = (
            np.sort(order[: len(order) - n_cal]),
            np.sort(order[len(order) - n_cal :]),
        )
    else:
        rest, held = stratified_indices(
            primary_labels[train_idx], config.calibration_fraction, config.seed + 1
        )
        fit_idx, cal_idx = train_idx[rest], train_idx[held]

    # Features.
    corpus = Corpus(tickets=tickets, articles=articles, texts=texts)
    train_texts = [texts[i] for i in train_idx]
    kb_titles = [normalize_text(a.title) for a in articles]
    vectorizer = None
    if has_text:
        progress.stage("TF-IDF")
        min_df = 2 if len(train_texts) >= 200 else 1
        # Stems serve the auto-reply matcher only: fitted when there is something to match.
        answers = bool(articles) or any(t.agent_answer for t in tickets)
        vectorizer = fit_text_vectorizer(
            train_texts + kb_titles,
            config.word_max_features,
            config.char_max_features,
            min_df,
            stem_max_features=config.stem_max_features if answers else 0,
        )
        # The serving vectorizer computes every matrix, so train and serve cannot disagree.
        heads_width = vectorizer.n_word + vectorizer.n_char

        def features(batch: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
            x = vectorizer.transform(batch)
            return x[:, :heads_width], x[:, heads_width:] if vectorizer.n_stem else None

        corpus.x_text, corpus.x_stem = features(texts)
        if articles:
            corpus.kb_text, corpus.kb_stem = features(kb_titles)
            corpus.kb_body_text, corpus.kb_body_stem = features(
                [normalize_text(a.body) for a in articles]
            )
        lap("tfidf")

    # Before the embeddings: the encoder stage scores heads, which read the fields too.
    progress.stage("metadata")
    meta_spec = fit_meta_spec([tickets[i] for i in train_idx])
    meta_encoder = MetaEncoder(meta_spec)
    corpus.x_meta = meta_encoder.matrix(tickets)
    languages = supported_languages(tickets, texts, config.seed) if has_text else []
    lap("metadata")

    encoder_dir = None
    encoder_choice: dict[str, Any] = {}
    encoder_source = None
    if has_text and config.encoder is not None and str(config.encoder).lower() != "none":
        progress.stage("embedding")
        from training.encoder_selection import run_encoder_stage

        encoder_dir = resolve_encoder_folder(
            config.encoder, out / "encoder", config.encoder_cache_dir
        )
        raw = [t.text for t in tickets] + [a.title for a in articles] + [a.body for a in articles]
        vectors, decision = run_encoder_stage(
            encoder_dir,
            raw,
            (primary, heads_spec[primary][1]),
            corpus,
            train_idx,
            stamps if split_kind == "time" else None,
            config,
            progress,
        )
        encoder_choice = decision.to_dict()
        encoder_source = decision.source
        corpus.x_emb = vectors[: len(tickets)]
        if articles:
            corpus.kb_emb = vectors[len(tickets) : len(tickets) + len(articles)]
            corpus.kb_body_emb = vectors[len(tickets) + len(articles) :]
        lap("embedding")

    # Heads.
    reports: dict[str, HeadReport] = {}
    models: dict[str, Head] = {}
    progress.stage("heads", total=len(heads_spec))
    # Every head's candidates slice rows out of the same stacked matrices.
    designs = Designs(corpus, config.emb_weight)
    # Two heads at a time: each head's competition ends with a few long fits (the chosen
    # recipe's refits) that leave a core idle; the next head's fits fill it.
    head_jobs = min(HEAD_JOBS, config.n_jobs or HEAD_JOBS)
    with ThreadPoolExecutor(max_workers=head_jobs) as heads_pool:
        futures = {
            name: heads_pool.submit(
                train_head,
                name,
                heads_spec[name][0],
                heads_spec[name][1],
                corpus,
                fit_idx,
                cal_idx,
                train_idx,
                test_idx,
                config,
                split_kind,
                designs=designs,
            )
            for name in longest_first(heads_spec)
        }
        for future in as_completed(futures.values()):
            future.result()  # a failure surfaces as soon as it happens
            progress.advance()
    for name in heads_spec:  # the primary head first, as the report and the bundle expect
        reports[name], models[name] = futures[name].result()
    if "subcategory" in reports and "category" in reports:
        reports["subcategory"].parents = _parents(heads_spec)
    lap("heads")

    cascade, cascade_warning = None, None
    if config.cascade and encoder_dir is not None:
        progress.stage("cascade")
        cascade, cascade_warning = _cascade_stage(
            out,
            corpus,
            heads_spec,
            reports,
            (fit_idx, cal_idx, train_idx, test_idx),
            config,
            models,
            encoder_source if encoder_source != str(config.encoder) else None,
        )
        lap("cascade")

    progress.stage("auto-reply")
    from training.auto_reply import PRIOR_HEADS, build_matcher

    matcher, auto_reply = build_matcher(
        corpus,
        vectorizer,
        train_idx,
        cal_idx,
        test_idx,
        config,
        priors={n: r for n, r in reports.items() if n in PRIOR_HEADS},
    )
    lap("auto_reply")

    progress.stage("export")
    created = datetime.now(UTC)
    model_version = f"{config.bundle_name}-{created:%Y%m%d%H%M%S}"
    report = TrainingReport(
        bundle_dir=out,
        model_version=model_version,
        data_path=data,
        params={
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(config).items()},
            "data": str(data),
            "n_tickets": len(tickets),
            "n_kb_articles": len(articles),
            "has_text": has_text,
        },
        split={
            "kind": split_kind,
            "reason": plan.reason,
            "train": len(train_idx),
            "fit": len(fit_idx),
            "calibration": len(cal_idx),
            "test": len(test_idx),
            "seed": config.seed,
        },
        heads=reports,
        encoder=encoder_choice,
        encoder_source=encoder_source,
        auto_reply=auto_reply,
        languages=languages,
        timings=timings,
        warnings=precision_warnings(reports, config.target_precision),
        inputs=describe_inputs(
            [tickets[i] for i in train_idx],
            meta_spec,
            {n: f for n, (f, _) in heads_spec.items()},
            has_text=has_text,
            encoder=str(config.encoder) if encoder_dir is not None else None,
        ),
        cascade=[cascade_warning]
        if cascade_warning
        else (None if cascade is None else _describe_cascade(cascade)),
    )
    report.manifest = write_bundle(
        out,
        report=report,
        vectorizer=vectorizer,
        models=models,
        meta_spec=meta_spec,
        meta_names=meta_encoder.names,
        corpus=corpus,
        train_idx=train_idx,
        encoder_dir=encoder_dir,
        matcher=matcher,
        created_at=created,
        git_sha=commit_sha(),
        config=config,
        cascade=cascade,
    )
    lap("export")
    return report


def longest_first(heads_spec: dict[str, tuple[str, list[str | None]]]) -> list[str]:
    """The heads in the order they are trained: the costliest first, so that the last one
    to finish is a short one and both workers stay busy to the end.

    A fit costs about one binary problem per class (one for a binary head) over every
    labelled ticket.
    """

    def cost(name: str) -> int:
        labels = [v for v in heads_spec[name][1] if v is not None]
        classes = len(set(labels))
        return (classes if classes > 2 else 1) * len(labels)

    return sorted(heads_spec, key=lambda name: -cost(name))


def _cascade_stage(out, corpus, heads_spec, reports, split, config, models, encoder_source):  # type: ignore[no-untyped-def]
    """(the cascade stage, None) or (None, why it was left out)."""
    from training.cascade_stage import fit_cascade, static_source
    from triage.errors import EncoderError

    try:
        # A kept fine-tune ships its own encoder: the static model is distilled from it.
        source = (
            config.cascade_source
            or encoder_source
            or static_source(config.encoder, out / "encoder")
        )
        stage = fit_cascade(source, out, corpus, heads_spec, reports, split, config, models)
        return stage, None
    except EncoderError as exc:
        return None, f"cascade left out (every ticket takes the transformer): {exc}"


def _describe_cascade(stage) -> list[str]:  # type: ignore[no-untyped-def]
    from training.cascade_stage import describe

    return describe(stage)


def _parents(heads_spec: dict) -> dict[str, str]:
    """Each subcategory's most frequent category: the hierarchy the fallback follows."""
    pairs = Counter(
        (s, c)
        for c, s in zip(heads_spec["category"][1], heads_spec["subcategory"][1], strict=True)
        if c is not None and s is not None
    )
    parents: dict[str, str] = {}
    best: dict[str, int] = {}
    for (sub, cat), n in pairs.items():
        if n > best.get(sub, 0):
            parents[sub], best[sub] = cat, n
    return parents
