"""The encoder stage of `triage train`: how many tokens it reads, and whether to fine-tune it.

Both choices are made on the training part with the machinery of issue 15's model
selection (`training.competition.HeadData`, `training.selection`): the primary head's
stacked candidate is scored on held-out rows with each encoder variant's embeddings, and
a paired bootstrap gives the margin's 95% interval.

- **Length** (`choose_length`): the head's out-of-fold score (3 folds of the training part)
  with the encoder reading at most N tokens, head and tail (`triage.token_window`), for N
  in `LENGTHS` up to the graph's limit; the smallest N whose margin to the longest has an
  interval reaching 0 ships. A text within the shortest window embeds to the same vector
  at every N, so only the longer ones are embedded again. The head is judged on a
  stratified sample of at most a few thousand training tickets and the decision is cached
  by the sample's fingerprint (`training.window_decision` says why that is enough), so on a
  large desk only the sample is read at the windows that lose.
- **Fine-tuning** (`finetune_and_compare`): fine-tuning on the rows a head is scored on
  would leak their labels into their embeddings, so the training part is split once: the
  encoder is fine-tuned on the first part (`FIT`) only and both encoders are judged on the
  rest (`VALIDATION`, 25%, stratified; the newest quarter on a time split) with heads
  fitted on `FIT`. The encoder fine-tuned on `FIT` is the one that ships when it wins:
  what ships is what was measured. The step cap (300 steps × 32 texts) means a bigger
  fine-tuning set would add little.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.competition import HeadData, folds_of
from training.selection import bootstrap_margin, metric, scores_of, stacked

LENGTHS = (64, 128, 256)
VALIDATION_SHARE = 0.25
# `auto` fine-tunes only a desk with this many labelled training tickets for the primary
# head: below it the validation slice cannot tell a win from noise.
AUTO_MIN_LABELLED = 400
FINETUNE_MODES = ("auto", "on", "off")


@dataclass
class EncoderDecision:
    """What the encoder stage decided, as the summary prints it and the manifest records it."""

    max_tokens: int | None = None
    length: dict[str, Any] = field(default_factory=dict)
    finetune: dict[str, Any] = field(default_factory=dict)
    # The sentence-transformers model the shipped graph was exported from (a name, or the
    # fine-tuned folder in the cache): what a static encoder is distilled from. Not in the
    # manifest (a local path).
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The manifest's `encoder` additions (`max_tokens`, `length`, `finetune`)."""
        out: dict[str, Any] = {}
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        if self.length:
            out["length"] = self.length
        if self.finetune:
            out["finetune"] = self.finetune
        return out


class Judge:
    """Scores embedding variants with the primary head's stacked candidate."""

    def __init__(
        self, name: str, labels: list, corpus: Any, train_rows: np.ndarray, config: Any
    ) -> None:
        """`labels`: the primary head's label per ticket (None: unlabelled)."""
        self.name, self.corpus, self.config = name, corpus, config
        self.n_tickets, self.n_articles = len(corpus.tickets), len(corpus.articles)
        label_arr = np.array(labels, dtype=object)
        known = np.array([v is not None for v in labels])
        self.rows = train_rows[known[train_rows]]
        self.labels = label_arr
        self.classes = sorted(set(label_arr[self.rows].tolist()))
        recipe = config.candidates[0] if config.model == "auto" else None
        self.candidate = (
            stacked(*recipe)
            if recipe is not None
            else stacked(config.model, config.C, config.class_weight_power)
        )
        self.auc = name == "escalation" and len(self.classes) == 2

    def data(self, vectors: np.ndarray) -> HeadData:
        """The head's data with `vectors` (tickets, then KB titles, ...) as the embeddings."""
        n, k = self.n_tickets, self.n_articles
        corpus = dataclasses.replace(
            self.corpus, x_emb=vectors[:n], kb_emb=vectors[n : n + k] if k else None
        )
        return HeadData(self.name, self.labels, self.classes, corpus, self.config)

    def oof(self, data: HeadData) -> tuple[np.ndarray, np.ndarray]:
        """(labels, out-of-fold scores) of the training rows, `calibration_folds` folds."""
        y = data.codes(self.rows)
        fold = folds_of(y, self.config.calibration_folds, self.config.seed)
        logits = np.zeros((len(self.rows), data.n_classes))

        def part(k: int) -> None:
            model = data.fit(self.rows[fold != k], self.candidate)
            logits[fold == k] = data.logits(model, self.rows[fold == k])

        with ThreadPoolExecutor(max_workers=self.config.n_jobs or os.cpu_count() or 1) as pool:
            list(pool.map(part, range(self.config.calibration_folds)))
        return y, scores_of(logits, self.auc)

    def held_out(self, data: HeadData, fit: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Scores of `rows` from the candidate fitted on `fit`."""
        return scores_of(data.logits(data.fit(fit, self.candidate), rows), self.auc)

    def score(self, y: np.ndarray, scores: np.ndarray) -> float:
        """Macro-F1 (ROC-AUC for escalation)."""
        return metric(y, scores, len(self.classes), self.auc)

    def margin(self, y: np.ndarray, ours: np.ndarray, other: np.ndarray) -> dict[str, float]:
        """Paired bootstrap margin of `ours` over `other`."""
        return bootstrap_margin(y, ours, other, len(self.classes), self.auc, self.config.seed)

    def on_sample(self, rows: np.ndarray) -> Judge:
        """The same judge over training tickets `rows` only (and every KB article): its
        corpus holds just those tickets, so its fits and design matrices are the sample's
        size, whatever the desk's."""
        c = self.corpus
        sub = dataclasses.replace(
            c,
            tickets=[c.tickets[i] for i in rows],
            texts=[c.texts[i] for i in rows],
            x_text=None if c.x_text is None else c.x_text[rows],
            x_emb=None,
            x_meta=None if c.x_meta is None else c.x_meta[rows],
            x_stem=None,
        )
        labels = [self.labels[i] for i in rows]
        return Judge(self.name, labels, sub, np.arange(len(rows)), self.config)

    def fingerprint_arrays(self) -> list[Any]:
        """What the judge's scores depend on besides the embeddings: its labels, rows and
        feature blocks, KB articles included (`window_decision.decision_key`)."""
        c = self.corpus
        kb_labels = [getattr(a, self.name, None) for a in c.articles]
        return [self.labels, self.rows, c.x_text, c.x_meta, c.kb_text, kb_labels]

    def recipe(self) -> dict[str, Any]:
        """The judge's model and folds, as the decision's key records them."""
        cfg = self.config
        return {
            "head": self.name,
            "candidate": self.candidate.describe(),
            "folds": cfg.calibration_folds,
            "seed": cfg.seed,
            "emb_weight": cfg.emb_weight,
            "meta_weight": cfg.meta_weight,
            "max_iter": cfg.max_iter,
            "svm_tol": getattr(cfg, "svm_tol", None),
        }


def choose_length(
    judge: Judge,
    embed: Any,
    counts: np.ndarray,
    longest: np.ndarray,
    limit: int,
    lengths: tuple[int, ...] = LENGTHS,
) -> tuple[int, dict[str, Any], dict[int, np.ndarray]]:
    """(N, the record, embeddings per N): the smallest N within noise of the longest.

    `embed(rows, n)`: the vectors of tickets `rows` read at `n` tokens; `counts`: each
    ticket's token count with specials at the longest window; `longest`: every ticket's
    vectors at `limit` tokens.
    """
    candidates = sorted({min(n, limit) for n in lengths})
    top = candidates[-1]
    vectors = {top: longest}
    for n in candidates[:-1]:
        over = np.flatnonzero(counts > n)
        x = longest.copy()
        if len(over):
            x[over] = embed(over, n)
        vectors[n] = x
    y = None
    scores: dict[int, np.ndarray] = {}
    for n in candidates:
        y, scores[n] = judge.oof(judge.data(vectors[n]))
    assert y is not None
    record: dict[str, Any] = {
        "candidates": candidates,
        "metric": "roc_auc" if judge.auc else "macro_f1",
        "head": judge.name,
        "oof": {str(n): round(judge.score(y, scores[n]), 6) for n in candidates},
        "margins_vs_longest": {},
        "share_over": {str(n): round(float((counts > n).mean()), 4) for n in candidates},
    }
    chosen = top
    for n in candidates[:-1]:
        m = judge.margin(y, scores[n], scores[top])
        record["margins_vs_longest"][str(n)] = {k: round(v, 6) for k, v in m.items()}
        if m["high"] >= 0.0 and chosen == top:
            chosen = n
    record["chosen"] = chosen
    record["rule"] = "smallest N whose margin to the longest has a 95% interval reaching 0"
    return chosen, record, vectors


def validation_split(
    rows: np.ndarray, labels: np.ndarray, stamps: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows) of the labelled training rows: the newest
    `VALIDATION_SHARE` on a time split (`stamps` given), else a stratified draw."""
    n_val = max(1, round(len(rows) * VALIDATION_SHARE))
    if stamps is not None:
        order = rows[np.argsort(stamps[rows], kind="stable")]
        return np.sort(order[: len(order) - n_val]), np.sort(order[len(order) - n_val :])
    rng = np.random.default_rng(seed)
    held = []
    for c in sorted(set(labels[rows].tolist()), key=str):
        members = rows[labels[rows] == c]
        take = round(len(members) * VALIDATION_SHARE)
        if take and len(members) - take >= 2:
            held.extend(rng.choice(members, size=take, replace=False).tolist())
    val = np.sort(np.array(held, dtype=rows.dtype))
    return np.setdiff1d(rows, val), val


def compare_finetuned(
    judge: Judge,
    frozen: np.ndarray,
    tuned: np.ndarray,
    fit_rows: np.ndarray,
    val_rows: np.ndarray,
    mode: str,
) -> dict[str, Any]:
    """Both encoders' heads fitted on `fit_rows` and scored on `val_rows`: the record,
    whose `kept` says whether the fine-tuned encoder wins.

    Kept only when the margin's 95% interval is above 0, in both modes (`on` only skips
    the desk-size rule): on servicenow_assignment a +0.6-point validation margin inside
    [−2.1, +3.1] became −2.6 on the test split.
    """
    y = judge.data(frozen).codes(val_rows)
    ours = judge.held_out(judge.data(tuned), fit_rows, val_rows)
    other = judge.held_out(judge.data(frozen), fit_rows, val_rows)
    m = judge.margin(y, ours, other)
    kept = m["low"] > 0.0
    return {
        "mode": mode,
        "kept": bool(kept),
        "metric": "roc_auc" if judge.auc else "macro_f1",
        "head": judge.name,
        "finetuned": round(judge.score(y, ours), 6),
        "frozen": round(judge.score(y, other), 6),
        "margin": {k: round(v, 6) for k, v in m.items()},
        "validation": (
            f"encoder fine-tuned on {len(fit_rows)} training tickets; both encoders judged "
            f"on the other {len(val_rows)} ({VALIDATION_SHARE:.0%} of the training part), "
            "heads fitted on the fine-tuning rows"
        ),
        "rule": "interval above 0",
    }


class StageSteps:
    """Fine-tuning steps as a stage of the pipeline's `Progress` (a bar in the CLI), plus
    `finetune.StepProgress` lines when stderr is not a terminal."""

    def __init__(self, progress: Any) -> None:
        """`progress`: the pipeline's `triage.progress.Progress`."""
        from training.finetune import StepProgress

        self.progress = progress
        self.lines = None if sys.stderr.isatty() else StepProgress()
        self._done = 0

    def start(self, name: str, total: int) -> None:
        """A run of `total` steps begins."""
        self.progress.stage("fine-tuning", total=total)
        self._done = 0
        if self.lines is not None:
            self.lines.start(name, total)

    def step(self, done: int, loss: float) -> None:
        """`done` steps are finished."""
        self.progress.advance(done - self._done)
        self._done = done
        if self.lines is not None:
            self.lines.step(done, loss)

    def finish(self, message: str) -> None:
        """The run ended."""
        if self.lines is not None:
            self.lines.finish(message)


def finetune_encoder(
    base: str,
    texts: list[str],
    labels: list,
    *,
    max_tokens: int,
    seed: int,
    cache_dir: Path,
    progress: Any,
    **params: Any,
) -> tuple[Any, Any, float]:
    """(the fitted `ContrastiveFinetuner`, its `ExportedEncoder`, seconds): fine-tuned on
    `texts`/`labels` reading `max_tokens` tokens, exported to int8 ONNX with the export's
    parity checks, both cached by fingerprint under `cache_dir`."""
    from training.encoder_export import ensure_exported
    from training.finetune import ContrastiveFinetuner

    started = time.perf_counter()
    tuner = ContrastiveFinetuner(
        base,
        max_length=max_tokens,
        seed=seed,
        cache_dir=Path(cache_dir) / "finetuned",
        progress=StageSteps(progress),
        **params,
    ).fit(texts, labels)
    progress.stage("exporting fine-tuned encoder")
    exported = ensure_exported(tuner.model_dir_, cache_dir=cache_dir)
    return tuner, exported, time.perf_counter() - started


def parity(model_dir: Path, exported: Any, texts: list[str]) -> dict[str, float]:
    """Cosine of the int8 ONNX graph's vectors to torch's on `texts` (the export's checks:
    mean ≥ `PARITY_MEAN`, min ≥ `PARITY_MIN`, as tests/training/test_encoder_export.py)."""
    from sentence_transformers import SentenceTransformer

    from triage.encoder import OnnxEncoder

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    model.max_seq_length = exported.spec.max_length
    reference = model.encode(texts, batch_size=16, normalize_embeddings=True)
    encoder = OnnxEncoder(exported.model_dir, threads=0)
    onnx = np.stack([encoder.encode_one(t) for t in texts])
    cosine = (onnx * reference).sum(axis=1)
    return {"mean": round(float(cosine.mean()), 5), "min": round(float(cosine.min()), 5)}


PARITY_MEAN, PARITY_MIN = 0.99, 0.95
PARITY_TEXTS = 64


def _choose_window(
    judge: Judge, raw: list[str], encoder_dir: Path, embed: Any, top: int, limit: int
) -> tuple[int, dict[str, Any], np.ndarray]:
    """(N, the record, every text's vectors at N): `choose_length` on a stratified sample of
    the training part (`training.window_decision`), or the decision cached for the same
    sample, encoder and recipe; then every text embedded once, at N.

    `embed(rows, n)`: the vectors of `raw[rows]` read at `n` tokens (through the cache).
    """
    from training.sampling import stratified_sample
    from training.window_decision import SAMPLE_MAX, DecisionStore, decision_key
    from triage.encoder import OnnxEncoder

    window = OnnxEncoder(encoder_dir, threads=0, max_tokens=top)
    n, k = judge.n_tickets, judge.n_articles
    sample = stratified_sample(judge.rows, judge.labels, SAMPLE_MAX, judge.config.seed)
    small = judge.on_sample(sample)
    # The sample's tickets, then the KB titles (the judge's extra examples).
    sub_raw = np.r_[sample, n + np.arange(k)].astype(np.int64)
    key = decision_key(
        {"encoder": window.fingerprint, "limit": limit, "lengths": LENGTHS, **small.recipe()},
        [*small.fingerprint_arrays(), [raw[i] for i in sub_raw]],
    )
    store = DecisionStore(Path(judge.config.encoder_cache_dir) / "windows")
    record = store.load(key)
    if record is not None:
        record["from_cache"] = True
    else:
        sub_counts = np.array([window.token_count(raw[i]) for i in sub_raw], dtype=np.int64)
        longest = embed(sub_raw, top)
        _, record, _ = choose_length(
            small, lambda rows, m: embed(sub_raw[rows], m), sub_counts, longest, limit
        )
        record["sample"] = {
            "tickets": len(sample),
            "of": len(judge.rows),
            "rule": f"stratified, at most {SAMPLE_MAX} labelled training tickets",
        }
        record["key"] = key[:16]
        store.save(key, record)
        record["from_cache"] = False
    chosen = int(record["chosen"])
    # A text within N tokens embeds the same at every window from N up; it is read (and
    # cached) at the longest, as before the sample, so earlier caches still hit.
    if chosen >= top:
        return chosen, record, embed(None, top)
    counts = np.fromiter((window.token_count(t) for t in raw), dtype=np.int64, count=len(raw))
    over = np.flatnonzero(counts > chosen)
    within = np.flatnonzero(counts <= chosen)
    parts = []
    if len(within):
        parts.append((within, embed(within, top)))
    if len(over):
        parts.append((over, embed(over, chosen)))
    dim = parts[0][1].shape[1]
    vectors = np.empty((len(raw), dim), dtype=np.float32)
    for rows, values in parts:
        vectors[rows] = values
    return chosen, record, vectors


def run_encoder_stage(
    encoder_dir: Path,
    raw: list[str],
    primary: tuple[str, list],
    corpus: Any,
    train_idx: np.ndarray,
    stamps: np.ndarray | None,
    config: Any,
    progress: Any,
) -> tuple[np.ndarray, EncoderDecision]:
    """Embed `raw` (tickets, then KB titles, then KB bodies) with the encoder the bundle
    ships, choosing its window and whether it is fine-tuned; a kept fine-tuned encoder
    replaces the files in `encoder_dir`. Returns (vectors, the decision)."""
    from training.embedding_cache import embed_texts
    from triage.encoder import TEXT_KIND, EncoderSpec, OnnxEncoder

    decision = EncoderDecision(source=str(config.encoder))
    spec = EncoderSpec.read(encoder_dir)
    cache = config.embedding_cache_dir
    if spec.kind == TEXT_KIND:
        vectors = embed_texts(OnnxEncoder(encoder_dir, threads=0), raw, cache, progress=False)
        if config.finetune == "on":
            decision.finetune = {
                "mode": "on",
                "kept": False,
                "reason": "a text graph has no weights to fine-tune",
            }
        return vectors, decision

    def embed(folder: Path, rows: np.ndarray | None, n: int) -> np.ndarray:
        texts = raw if rows is None else [raw[i] for i in rows]
        return embed_texts(
            OnnxEncoder(folder, threads=0, max_tokens=n), texts, cache, progress=False
        )

    limit = spec.max_length
    fixed = None if config.max_tokens == "auto" else min(int(config.max_tokens), limit)
    top = fixed or max(min(n, limit) for n in LENGTHS)
    judge = Judge(primary[0], primary[1], corpus, train_idx, config)
    if fixed is None:
        progress.stage("encoder length")
        started = time.perf_counter()
        chosen, record, vectors = _choose_window(
            judge, raw, encoder_dir, lambda rows, n: embed(encoder_dir, rows, n), top, limit
        )
        record["seconds"] = round(time.perf_counter() - started, 1)
        decision.max_tokens, decision.length = chosen, record
    else:
        decision.max_tokens, vectors = fixed, embed(encoder_dir, None, top)
        decision.length = {"chosen": fixed, "rule": "fixed by --max-tokens"}

    mode = config.finetune
    if mode == "off":
        return vectors, decision
    labelled = judge.rows
    if mode == "auto" and len(labelled) < AUTO_MIN_LABELLED:
        decision.finetune = {
            "mode": mode,
            "kept": False,
            "reason": (
                f"{len(labelled)} labelled training tickets, auto fine-tunes from "
                f"{AUTO_MIN_LABELLED}"
            ),
        }
        return vectors, decision
    why_not = None
    if (Path(str(config.encoder)) / "encoder.json").is_file():
        why_not = "an exported ONNX encoder has no weights to fine-tune (name the model instead)"
    else:
        try:
            import torch  # noqa: F401
        except ImportError:
            why_not = "torch is not installed (pip install 'ticket-triage[train]')"
    if why_not is not None:
        decision.finetune = {"mode": mode, "kept": False, "reason": why_not}
        return vectors, decision
    fit_rows, val_rows = validation_split(labelled, judge.labels, stamps, config.seed)
    tuner, exported, seconds = finetune_encoder(
        config.encoder,
        [raw[i] for i in fit_rows],
        judge.labels[fit_rows].tolist(),
        # Fine-tuning reads a shorter window than serving may: a step's cost grows with
        # its tokens (~4-8 CPU s for 32 texts at 128 on this machine), and the pairs
        # teach what separates the classes, which the head of a ticket mostly says.
        max_tokens=min(decision.max_tokens, config.finetune_max_tokens),
        seed=config.seed,
        cache_dir=config.encoder_cache_dir,
        progress=progress,
        max_steps=config.finetune_steps,
        time_budget_s=config.finetune_budget_s,
    )
    progress.stage("fine-tuned encoder: parity and embedding")
    sample = [raw[i] for i in val_rows[:PARITY_TEXTS]]
    check = parity(tuner.model_dir_, exported, sample)
    tuned = embed(exported.model_dir, None, decision.max_tokens)
    record = compare_finetuned(judge, vectors, tuned, fit_rows, val_rows, mode)
    parity_ok = check["mean"] >= PARITY_MEAN and check["min"] >= PARITY_MIN
    if not parity_ok:
        record["kept"] = False
        record["reason"] = f"int8 export parity {check} below mean {PARITY_MEAN}, min {PARITY_MIN}"
    record.update(
        {
            "parity": check,
            "seconds": round(seconds, 1),
            "steps": tuner.steps_,
            "stopped_by": tuner.stopped_by_,
            "from_cache": tuner.from_cache_,
            "fingerprint": tuner.fingerprint_[:16],
            "fit_rows": len(fit_rows),
            "validation_rows": len(val_rows),
        }
    )
    decision.finetune = record
    if record["kept"]:
        import shutil

        from triage.encoder import MODEL_FILE, SPEC_FILE, TOKENIZER_FILE

        for name in (MODEL_FILE, TOKENIZER_FILE, SPEC_FILE):
            shutil.copyfile(exported.model_dir / name, encoder_dir / name)
        decision.source = str(tuner.model_dir_)
        return tuned, decision
    return vectors, decision
