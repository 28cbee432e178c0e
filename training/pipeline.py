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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.baselines import linearsvc_baseline, majority_baseline
from training.calibration import (
    abstain_mask,
    fit_platt,
    fit_temperature,
    fit_thresholds,
    softmax,
)
from training.competition import Designs, Head, HeadData, Outcome, compete
from training.evaluation import (
    brier_score,
    classification_metrics,
    coverage_report,
    expected_calibration_error,
    roc_auc,
    split_indices,
    stratified_indices,
)
from training.features import describe_inputs, fit_meta_spec, fit_text_vectorizer
from training.ordinal import PriorityDecision
from triage.checkout import commit_sha
from triage.contract import KBArticle, Ticket
from triage.dataset import iter_articles, iter_tickets, kb_path_for
from triage.errors import InputFileError, TriageError
from triage.features import MetaEncoder, normalize_text
from triage.ordinal import PRIORITY_ORDER
from triage.progress import Progress, Silent
from triage.settings import Settings
from triage.splits import plan_split

TEXT_HEADS = ("category", "subcategory", "priority", "team", "assignee")
# Heads trained at the same time (each runs its own pool of fits, see `training.competition`).
HEAD_JOBS = 2
MIN_LABELLED = 30


@dataclass
class TrainConfig:
    """Parameters of a training run (all logged as MLflow params)."""

    encoder: str | None = "all-MiniLM-L6-v2"
    seed: int = 42
    target_precision: float = 0.9
    test_fraction: float = 0.2
    # "auto": time-ordered when the tickets have timestamps, else stratified; "stratified"
    # ignores timestamps (benchmarks that compare with published stratified figures).
    split: str = "auto"
    calibration_fraction: float = 0.15
    # "auto": each head picks its model among `candidates` on the first out-of-fold split
    # (macro-F1; ROC-AUC for escalation); "svm", "nbsvm" or "logreg" fix it (with `C`
    # and `class_weight_power` below).
    model: str = "auto"
    # (kind, C, class-weight power). Measured on the shared datasets (80/20, seed 42):
    # NB-SVM lifted endava's macro-F1 by 1.2 points, class weights servicenow's long tail by
    # 2.6, each losing on the other dataset, hence a choice per head rather than one recipe.
    candidates: tuple[tuple[str, float, float], ...] = (
        ("svm", 1.0, 0.0),
        ("svm", 1.0, 0.3),
        ("nbsvm", 0.7, 0.0),
        ("nbsvm", 0.7, 0.3),
    )
    C: float = 1.0
    # Threads for a head's independent fits (0: one per CPU).
    n_jobs: int = 0
    # The gradient-boosted structured-fields candidate (`training.boosted`) for heads with
    # few classes; it ships only when it wins out of fold.
    boosted: bool = True
    # Class weights (n / (k * count))^power: 0 = none, 1 = "balanced". A partial power lifts
    # the long tail's recall (macro-F1) without giving away the frequent classes' accuracy.
    class_weight_power: float = 0.0
    emb_weight: float = 1.0
    meta_weight: float = 0.3
    # Calibration (temperature, thresholds) is fitted on out-of-fold scores of the whole
    # training part, so the final head is fitted on all of it.
    calibration_folds: int = 3
    max_iter: int = 300
    # The SVMs' stopping tolerance (liblinear's default for its dual solvers; scikit-learn's
    # 1e-4 took twice the iterations for the same held-out scores, see training.heads).
    svm_tol: float = 0.1
    word_max_features: int = 30_000
    stem_max_features: int = 20_000
    char_max_features: int = 60_000
    # Newest training tickets kept for the explanation's similar tickets (searched in a
    # 64-dimensional projection per request, see export.NEIGHBOUR_DIMS).
    neighbours_max: int = 5_000
    answers_max: int = 5_000
    # An agent answer's template must recur this often in the training part to be suggested.
    min_answer_uses: int = 3
    # The auto-reply query's strongest TF-IDF terms kept (0: all): see auto_reply.Matcher.
    match_query_terms: int = 300
    # Stored values of a sparse serve-time index (neighbours without an encoder, auto-reply):
    # scoring one ticket touches each once, so this bounds its latency (~0.5 ms). A KB with
    # its answers as a second field (auto_reply.kb_vectors) needs ~240k on rutube.
    index_max_values: int = 500_000
    embedding_cache_dir: Path | None = None
    # Where encoder exports are cached (`training.encoder_export`): the CLI and the
    # benchmarks pass `settings.encoder_cache_dir`; the default is that setting's default,
    # read from the field (not from the environment, which only composition roots read).
    encoder_cache_dir: Path = field(
        default_factory=lambda: Settings.model_fields["encoder_cache_dir"].default
    )
    bundle_name: str = "model"
    # Tokens the encoder reads, head and tail (`triage.token_window`): "auto" picks the
    # smallest of encoder_selection.LENGTHS within noise of the longest on the primary head's
    # out-of-fold score; an int fixes it. Recorded as the manifest's `encoder.max_tokens`.
    max_tokens: int | str = "auto"
    # Contrastive fine-tuning of the encoder on the primary head's labels
    # (`training.encoder_selection`): "off", "auto" (desks with enough labelled tickets,
    # kept when it wins beyond the bootstrap interval) or "on" (any desk, same keep rule).
    finetune: str = "off"
    finetune_steps: int = 300
    # Tokens a text is read with while fine-tuning (at most the serving window).
    finetune_max_tokens: int = 64
    # A safety stop on training time; with the export and the embeddings the stage stays
    # within ~10 minutes on 2 cores for 10,000 tickets.
    finetune_budget_s: float = 360.0
    # The cascade (issue 17): a cheap stage over TF-IDF and a static encoder distilled from
    # the sentence encoder answers the tickets it is sure of (`training.cascade_stage`).
    cascade: bool = True
    # What the static encoder is distilled from (None: `encoder`); the fine-tune stage
    # points it at the fine-tuned sentence-transformers folder.
    cascade_source: str | None = None


@dataclass
class HeadReport:
    """One head's evaluation on the test part, with its test predictions for plots."""

    name: str
    field: str
    classes: list[str]
    temperature: float
    thresholds: list[float]
    global_threshold: float
    metrics: dict[str, Any]
    baselines: dict[str, dict[str, float]]
    n_train: int
    n_calibration: int
    n_test: int
    test_ids: list[str]
    y_true: np.ndarray  # class index per test ticket, -1 for a label unseen in training
    proba: np.ndarray  # calibrated probabilities (n_test × n_classes)
    abstained: np.ndarray
    parents: dict[str, str] | None = None
    # Calibrated probabilities for every ticket of the data from a model that never saw
    # it: out-of-fold for the labelled training part, the final head elsewhere. The
    # auto-reply matcher's category prior is tuned on these.
    held_out_proba: np.ndarray | None = None
    # The answered class per test ticket when the decision is not arg-max (priority).
    decided: np.ndarray | None = None

    @property
    def y_pred(self) -> np.ndarray:
        """The answered class index per test ticket (arg-max unless decided otherwise)."""
        return self.proba.argmax(axis=1) if self.decided is None else self.decided


@dataclass
class TrainingReport:
    """Everything a training run produced: where the bundle is, what it scores, what it saw."""

    bundle_dir: Path
    model_version: str
    data_path: Path
    params: dict[str, Any]
    split: dict[str, Any]
    heads: dict[str, HeadReport]
    auto_reply: dict[str, Any] | None
    languages: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    # What the user must hear (thresholds that did not hold on the test split).
    warnings: list[str] = field(default_factory=list)
    # What the heads learned from and what was ignored (`features.describe_inputs`).
    inputs: dict[str, list[str]] = field(default_factory=dict)
    # The encoder stage's choices (`encoder_selection.EncoderDecision.to_dict`): the
    # manifest's `encoder.max_tokens`, `encoder.length`, `encoder.finetune`.
    encoder: dict[str, Any] = field(default_factory=dict)
    # The sentence-transformers model behind the shipped encoder (the fine-tuned folder
    # when one was kept): what the static encoder of the cascade is distilled from.
    encoder_source: str | None = None
    # The cascade stage's summary lines (`training.cascade_stage.describe`); None: no cascade.
    cascade: list[str] | None = None

    def flat_metrics(self) -> dict[str, float]:
        """Numeric metrics as flat keys (`category.macro_f1`,
        `category.baseline.majority.accuracy`).
        """
        out: dict[str, float] = {}
        for name, head in self.heads.items():
            for key, value in head.metrics.items():
                if isinstance(value, (int, float)) and value is not None:
                    out[f"{name}.{key}"] = float(value)
            for base, values in head.baselines.items():
                for key, value in values.items():
                    if isinstance(value, (int, float)):
                        out[f"{name}.baseline.{base}.{key}"] = float(value)
        for key, value in (self.auto_reply or {}).items():
            if isinstance(value, (int, float)) and value is not None:
                out[f"auto_reply.{key}"] = float(value)
        for key, value in self.timings.items():
            out[f"seconds.{key}"] = float(value)
        return out


@dataclass
class Corpus:
    """The loaded tickets and everything derived from them, row-aligned."""

    tickets: list[Ticket]
    articles: list[KBArticle]
    texts: list[str]  # normalised, what the TF-IDF graph reads
    x_text: sp.csr_matrix | None = None
    x_emb: np.ndarray | None = None
    x_meta: np.ndarray | None = None
    kb_text: sp.csr_matrix | None = None  # KB titles (questions)
    kb_emb: np.ndarray | None = None
    kb_body_text: sp.csr_matrix | None = None  # KB answers: a weaker second field for auto-reply
    kb_body_emb: np.ndarray | None = None
    # Word stems (`triage.vectorizer`'s third block): the auto-reply matcher's only.
    x_stem: sp.csr_matrix | None = None
    kb_stem: sp.csr_matrix | None = None
    kb_body_stem: sp.csr_matrix | None = None


def load_data(path: Path) -> tuple[list[Ticket], list[KBArticle]]:
    """Tickets of `path` and the KB articles of its `.kb.parquet` sibling (if any)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    tickets = list(iter_tickets(path))
    if not tickets:
        raise InputFileError(f"{path}: no tickets")
    kb = kb_path_for(path)
    articles = list(iter_articles(kb)) if kb.exists() else []
    return tickets, articles


def head_labels(tickets: list[Ticket]) -> dict[str, tuple[str, list[str | None]]]:
    """The heads this data supports: name → (ticket field, label per ticket or None).

    A label qualifies with at least `MIN_LABELLED` values and two classes that occur
    twice or more. Escalation uses `escalated`, else `sla_breached`.
    """
    heads: dict[str, tuple[str, list[str | None]]] = {}

    def usable(values: list[str | None]) -> bool:
        counts = Counter(v for v in values if v is not None)
        return sum(counts.values()) >= MIN_LABELLED and sum(c >= 2 for c in counts.values()) >= 2

    for name in TEXT_HEADS:
        values = [getattr(t, name) for t in tickets]
        values = [v if v else None for v in values]
        if usable(values):
            heads[name] = (name, values)
    for fld in ("escalated", "sla_breached"):
        values = [
            None if getattr(t, fld) is None else str(getattr(t, fld)).lower() for t in tickets
        ]
        if usable(values):
            heads["escalation"] = (fld, values)
            break
    return heads


def supported_languages(tickets: list[Ticket], texts: list[str], seed: int) -> list[str]:
    """Languages the text models were trained on: the data's `language` column, else detected."""
    declared = [t.language for t in tickets if t.language]
    if len(declared) >= 0.5 * len(tickets):
        codes = Counter(c.lower() for c in declared)
    else:
        from triage.language import UNDETERMINED, detect

        rng = np.random.default_rng(seed)
        sample = rng.choice(len(tickets), size=min(2_000, len(tickets)), replace=False)
        codes = Counter(detect(tickets[i].text)[0] for i in sample)
        codes.pop(UNDETERMINED, None)
    total = sum(codes.values())
    return sorted(c for c, n in codes.items() if n >= 3 and n >= 0.01 * total)


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
                _train_head,
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


# Realized precision this far below the target on the test split is worth a warning.
PRECISION_SHORTFALL = 0.05


def precision_warnings(reports: dict[str, HeadReport], target: float) -> list[str]:
    """One warning per head whose thresholds missed the target precision on the test split
    by more than `PRECISION_SHORTFALL`."""
    out = []
    for name, head in reports.items():
        realized = head.metrics.get("precision_at_threshold")
        if head.metrics.get("no_signal") or realized is None:
            continue
        if realized < target - PRECISION_SHORTFALL:
            out.append(
                f"{name}: thresholds fitted for precision {target:.2f} gave {realized:.2f} on "
                f"the test split ({head.metrics['coverage_at_target_precision']:.1%} answered, "
                f"calibrated on the {head.metrics.get('calibrated_on', 'out-of-fold')} scores); "
                "the newer tickets differ from the ones the thresholds were fitted on"
            )
    return out


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


def _train_head(
    name: str,
    fld: str,
    labels: list[str | None],
    corpus: Corpus,
    fit_idx: np.ndarray,
    cal_idx: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    config: TrainConfig,
    split_kind: str = "stratified",
    designs: Designs | None = None,
) -> tuple[HeadReport, Head]:
    label_arr = np.array(labels, dtype=object)
    known = np.array([v is not None for v in labels])
    train_rows = train_idx[known[train_idx]]
    test_rows = test_idx[known[test_idx]]
    classes = sorted(set(label_arr[train_rows].tolist()))
    data = HeadData(name, label_arr, classes, corpus, config, designs=designs)
    n_classes = data.n_classes
    y_train, y_test = data.codes(train_rows), data.codes(test_rows)
    # Time split: calibration and thresholds from the newest training slice.
    recent = (fit_idx[known[fit_idx]], cal_idx[known[cal_idx]]) if split_kind == "time" else None
    outcome = compete(data, train_rows, recent)
    selection, model = outcome.selection, outcome.model
    temperature, shift, thresholds, global_t = _calibrate(outcome, n_classes, config)
    # Priority is ordered: arg-max or the expected-cost level (`training.ordinal`).
    ordered = PriorityDecision.for_head(name, classes)
    if ordered is not None:
        oof_proba = softmax(outcome.oof[selection.winner], temperature)
        ordered.choose(oof_proba, y_train, config.seed)
        cal = softmax(outcome.cal_logits, temperature)
        fitted = ordered.fit_thresholds(cal, outcome.y_cal, config.target_precision, thresholds)
        if fitted is not None and not selection.no_signal:
            thresholds, global_t = fitted

    def logits(rows: np.ndarray) -> np.ndarray:
        return data.logits(model, rows)

    proba = softmax(logits(test_rows), temperature)
    decided = ordered.predict(proba) if ordered is not None else proba.argmax(axis=1)
    abstained = abstain_mask(proba, thresholds, decided)
    # Test labels never seen in training count as errors (an extra, never-predicted class).
    y_eval = np.where(y_test >= 0, y_test, n_classes)
    metrics = _head_metrics(name, classes, proba, y_test, abstained, thresholds, config, decided)
    if ordered is not None:
        metrics["ordinal"] |= ordered.evidence | {"test": ordered.test_figures(proba, y_test)}
    metrics.update(
        {
            "calibrated_on": "newest training slice" if outcome.recent_slice else "out-of-fold",
            "temperature": temperature,
            "calibration": "platt" if shift is not None else "temperature",
            "model": selection.winner.describe(),
            "stacked_model": {
                "kind": outcome.stacked_choice.kind,
                "C": outcome.stacked_choice.C,
                "class_weight_power": outcome.stacked_choice.class_weight_power,
            },
            "model_selection": [
                {
                    "kind": c.kind,
                    "C": c.C,
                    "class_weight_power": c.class_weight_power,
                    "score": round(v, 6),
                }
                for c, v in outcome.stacked_scores.items()
            ],
            "selection": selection.to_dict(),
            "no_signal": selection.no_signal,
        }
    )
    _add_risk_threshold(
        metrics,
        outcome,
        (shift, temperature),
        classes,
        corpus.tickets,
        (train_rows, test_rows),
        fld,
    )
    if "risk_threshold" in metrics:
        metrics["risk_threshold"]["test_rate"] = float(
            np.mean(proba[:, 1] >= metrics["risk_threshold"]["value"])
        )
    # Baselines on the same split (trained on the whole training part).
    baselines: dict[str, dict[str, Any]] = {
        "majority": majority_baseline(y_train, y_eval, n_classes + 1)
    }
    for c, m in outcome.models.items():
        if c.family in ("tfidf_svc", "fields", "hgb"):
            key = "tfidf_linearsvc" if c.family == "tfidf_svc" else c.family
            baselines[key] = _test_summary(data.logits(m, test_rows), y_eval, data.index)
    if "tfidf_linearsvc" not in baselines:
        # No text in the data: the LinearSVC baseline reads the metadata.
        x = sp.csr_matrix(corpus.x_meta)
        svc, _ = linearsvc_baseline(
            x[train_rows], y_train, x[test_rows], y_eval, n_classes + 1, seed=config.seed
        )
        svc["features"] = "metadata (no text in the data)"
        baselines["tfidf_linearsvc"] = svc
    report = HeadReport(
        name=name,
        field=fld,
        classes=classes,
        temperature=temperature,
        thresholds=[float(t) for t in thresholds],
        global_threshold=global_t,
        metrics=metrics,
        baselines=baselines,
        n_train=len(train_rows),
        n_calibration=len(outcome.cal_rows),
        n_test=len(test_rows),
        test_ids=[corpus.tickets[i].id for i in test_rows],
        y_true=y_test,
        proba=proba,
        abstained=abstained,
        decided=decided,
    )
    everyone = np.arange(len(corpus.tickets))
    held_out = softmax(logits(everyone), temperature)
    oof = outcome.oof[selection.winner]
    if shift is not None:
        oof = oof + np.array([0.0, shift])
    held_out[train_rows] = softmax(oof, temperature)
    report.held_out_proba = held_out.astype(np.float32)
    return report, model


def _add_risk_threshold(
    metrics: dict[str, Any],
    outcome: Outcome,
    calibration: tuple[float | None, float],
    classes: list[str],
    tickets: list[Ticket],
    rows: tuple[np.ndarray, np.ndarray],
    fld: str,
) -> None:
    """The escalation head's rate-matched risk threshold (`training.risk_threshold`),
    chosen on the calibration rows' calibrated probabilities (`calibration`: the Platt
    shift or None, the temperature); heads that are not true/false: nothing."""
    if classes != ["false", "true"]:
        return
    from training import risk_threshold

    shift, temperature = calibration
    cal_logits = outcome.cal_logits + (np.array([0.0, shift]) if shift is not None else 0.0)
    metrics["risk_threshold"] = risk_threshold.choose(
        tickets,
        fld,
        rows,
        softmax(cal_logits, temperature)[:, 1],
        bool(outcome.selection.no_signal),
    )


def _calibrate(
    outcome: Outcome, n_classes: int, config: TrainConfig
) -> tuple[float, float | None, np.ndarray, float]:
    """(temperature, Platt shift or None, per-class thresholds, global threshold).

    A binary head is Platt-scaled to the held-out base rate (the shift is folded into the
    winner's bias, so serving does not change); others get a temperature. A head with no
    signal gets thresholds nothing reaches: it always abstains.
    """
    cal_logits, y_cal = outcome.cal_logits, outcome.y_cal
    platt = fit_platt(cal_logits, y_cal) if n_classes == 2 else None
    shift = None
    if platt is not None:
        temperature, shift = platt
        model = outcome.model
        model.b_ = model.b_ + np.array([0.0, shift], dtype=np.float32)
        cal_logits = cal_logits + np.array([0.0, shift])
    else:
        temperature = fit_temperature(cal_logits, y_cal)
    thresholds, global_t = fit_thresholds(
        softmax(cal_logits, temperature), y_cal, config.target_precision
    )
    if outcome.selection.no_signal:
        thresholds = np.full(n_classes, NO_SIGNAL_THRESHOLD)
        global_t = NO_SIGNAL_THRESHOLD
    return temperature, shift, thresholds, global_t


def _head_metrics(
    name: str,
    classes: list[str],
    proba: np.ndarray,
    y_test: np.ndarray,
    abstained: np.ndarray,
    thresholds: np.ndarray,
    config: TrainConfig,
    pred: np.ndarray | None = None,
) -> dict[str, Any]:
    """The shipped head's test-split figures (unseen test labels count as errors);
    `pred`: its answers when its decision is not arg-max."""
    n_classes = len(classes)
    pred = proba.argmax(axis=1) if pred is None else pred
    y_eval = np.where(y_test >= 0, y_test, n_classes)
    cls = classification_metrics(y_eval, pred, n_classes + 1)
    seen = y_test >= 0
    cover = coverage_report(proba, y_eval, abstained, pred)
    metrics: dict[str, Any] = {
        "accuracy": cls["accuracy"],
        "macro_f1": cls["macro_f1"],
        "brier": brier_score(proba[seen], y_test[seen]) if seen.any() else None,
        "ece": expected_calibration_error(proba[seen], y_test[seen]) if seen.any() else None,
        "coverage_at_target_precision": cover["coverage"],
        "precision_at_threshold": cover["precision"],
        "target_precision": config.target_precision,
        "unseen_test_labels": int((~seen).sum()),
        "per_class": {
            c: {
                "precision": float(cls["precision"][i]),
                "recall": float(cls["recall"][i]),
                "f1": float(cls["f1"][i]),
                "support": int(cls["support"][i]),
                "threshold": float(thresholds[i]),
            }
            for i, c in enumerate(classes)
        },
    }
    if ordinal := _ordinal_errors(name, classes, y_test, pred):
        metrics["ordinal"] = ordinal
    if n_classes == 2 and "true" in classes:
        t = classes.index("true")
        metrics["roc_auc"] = roc_auc(proba[:, t], y_test == t)
    return metrics


# A threshold no calibrated probability reaches: the head always abstains.
NO_SIGNAL_THRESHOLD = 1.01


def _test_summary(logits: np.ndarray, y_eval: np.ndarray, index: dict[str, int]) -> dict[str, Any]:
    """A baseline's test-split figures from its logits (as `baselines._summary`)."""
    n_classes = len(index)
    cls = classification_metrics(y_eval, logits.argmax(axis=1), n_classes + 1)
    out: dict[str, Any] = {
        "accuracy": cls["accuracy"],
        "macro_f1": cls["macro_f1"],
        "per_class_f1": [round(float(f), 6) for f in cls["f1"]],
    }
    if n_classes == 2 and "true" in index:
        t = index["true"]
        out["roc_auc"] = roc_auc(logits[:, t] - logits[:, 1 - t], y_eval == t)
    return out


def _ordinal_errors(
    name: str, classes: list[str], y: np.ndarray, pred: np.ndarray
) -> dict[str, Any] | None:
    """For priority: how many levels off the errors are (0 = right, 1 = adjacent level...)."""
    if name != "priority" or not set(classes) <= set(PRIORITY_ORDER):
        return None
    rank = np.array([PRIORITY_ORDER.index(c) for c in classes])
    ordered = np.argsort(np.argsort(rank))  # class index → position among this head's levels
    seen = y >= 0
    distance = np.abs(ordered[y[seen]] - ordered[pred[seen]])
    counts = np.bincount(distance, minlength=len(classes))
    return {
        "order": [classes[i] for i in np.argsort(rank)],
        "errors_by_distance": {str(d): int(n) for d, n in enumerate(counts) if d > 0},
        "mean_distance": float(distance.mean()) if len(distance) else 0.0,
    }


def in_memory_proba(model: Head, temperature: float, x_text, x_emb, x_meta) -> np.ndarray:
    """Calibrated probabilities from the in-memory head (the parity reference)."""
    return softmax(model.logits(x_text, x_emb, x_meta), temperature)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value
