"""Contrastive fine-tuning of the sentence encoder on a desk's own labels (SetFit-style).

The frozen encoder never learns what separates this desk's classes; SetFit (Tunstall et
al., 2022) showed that a sentence encoder fine-tuned on pairs of labelled texts (same
class: cosine towards 1, different classes: towards 0) and then read by a linear head
beats both the frozen encoder and TF-IDF on small labelled sets. This module does that
step on the training part and writes an ordinary sentence-transformers folder, which
`training.encoder_export` exports to the int8 ONNX graph serving runs (with the same
parity checks as the stock encoder).

How a step is built: `classes_per_step` classes are drawn uniformly (a long tail gets as
many pairs as the head, which is what macro-F1 rewards), `per_class` texts from each,
and *every* pair inside that batch is a training pair: one forward pass over
`classes_per_step * per_class` texts gives ~B²/2 labelled pairs instead of B/2 for
SetFit's independently sampled pairs. Positive and negative pairs weigh equally in the
loss (SetFit samples them 1:1). Texts are cut to `max_length` tokens by the same head and
tail window serving uses (`triage.token_window`).

The cost is capped twice: `max_steps` (which, with the seed, fixes the result) and
`time_budget_s` (a safety stop on a slow machine; the report says which one ended the
run). The result is cached under `cache_dir`, keyed by a fingerprint of the base model's
files, the parameters, the texts and the labels (in order) and the library versions, so a
retrain on the same data reuses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage.token_window import DEFAULT_HEAD_SHARE, with_specials

log = logging.getLogger(__name__)

# Changes whenever the training recipe changes what a given fingerprint produces.
RECIPE = "setfit-inbatch-pairs/cosine-mse/balanced/v1"
META_FILE = "finetune.json"
_IRRELEVANT_FILES = {"README.md", ".gitattributes"}


class StepProgress:
    """Reports training steps: a rich bar on a terminal, else a stage line now and then.

    A log file or CI output gets one line per ~10% of the steps (step, seconds per step,
    loss, time left), never a carriage-return bar.
    """

    def __init__(self, stream: Any = None, lines: int = 10) -> None:
        """Write to `stream` (default stderr); `lines` stage lines per run when not a terminal."""
        self.stream = stream
        self.lines = lines
        self._bar = None
        self._task = None
        self._total = 0
        self._started = 0.0
        self._next_line = 0
        self._name = ""

    def start(self, name: str, total: int) -> None:
        """A run of `total` steps named `name` begins."""
        stream = self.stream or sys.stderr
        self._name, self._total, self._started = name, total, time.perf_counter()
        self._next_line = max(1, total // self.lines)
        if hasattr(stream, "isatty") and stream.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=stream),
            )
            self._bar.start()
            self._task = self._bar.add_task(name, total=total, loss="-")
        else:
            print(f"{name}: {total} steps", file=stream, flush=True)

    def step(self, done: int, loss: float) -> None:
        """`done` steps are finished; `loss` is the running loss."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done, loss=f"{loss:.4f}")
            return
        if done >= self._next_line or done == self._total:
            self._next_line = done + max(1, self._total // self.lines)
            elapsed = time.perf_counter() - self._started
            per_step = elapsed / max(done, 1)
            left = per_step * (self._total - done)
            print(
                f"{self._name}: step {done}/{self._total}, {per_step:.2f} s/step, "
                f"loss {loss:.4f}, ~{left:.0f} s left",
                file=self.stream or sys.stderr,
                flush=True,
            )

    def finish(self, message: str) -> None:
        """The run ended; `message` says how."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        print(f"{self._name}: {message}", file=self.stream or sys.stderr, flush=True)


class ContrastiveFinetuner:
    """Fine-tunes a sentence-transformers encoder on labelled texts with in-batch pairs.

    Attributes after `fit`: `model_dir_` (the fine-tuned sentence-transformers folder, for
    `training.encoder_export.export_encoder`), `fingerprint_` (the cache key), `steps_`
    (steps trained), `stopped_by_` (`"max_steps"` or `"time_budget"`), `seconds_` (training
    time of the run that made it), `from_cache_` and `losses_` (mean loss per ~5% of steps).
    """

    def __init__(
        self,
        base_model: str | Path = "all-MiniLM-L6-v2",
        *,
        max_steps: int = 300,
        max_epochs: float = 4.0,
        time_budget_s: float | None = 480.0,
        classes_per_step: int = 8,
        per_class: int = 4,
        learning_rate: float = 2e-5,
        warmup_share: float = 0.1,
        max_length: int = 64,
        head_share: float = DEFAULT_HEAD_SHARE,
        seed: int = 42,
        threads: int | None = None,
        cache_dir: Path | None = None,
        progress: StepProgress | None = None,
    ) -> None:
        """Set the run's parameters.

        `base_model`: a name `training.encoder_export.resolve_encoder` knows or a local
        sentence-transformers folder. A step reads `classes_per_step * per_class` texts;
        `max_epochs` caps the steps so that a small desk is not seen more than that many
        times over (`max_steps` still applies). `max_length` tokens per text (head and tail,
        special tokens included). `threads`: torch's intra-op threads (None: every CPU).
        `cache_dir`: where fine-tuned folders are kept by fingerprint (None: a new temporary
        folder per fit, nothing reused). `progress`: a `StepProgress` (None: one on stderr).
        """
        self.base_model = base_model
        self.max_steps = max_steps
        self.max_epochs = max_epochs
        self.time_budget_s = time_budget_s
        self.classes_per_step = classes_per_step
        self.per_class = per_class
        self.learning_rate = learning_rate
        self.warmup_share = warmup_share
        self.max_length = max_length
        self.head_share = head_share
        self.seed = seed
        self.threads = threads
        self.cache_dir = cache_dir
        self.progress = progress

    # The parameters that change what a fit produces (not where or how fast it runs).
    _RESULT_PARAMS = (
        "max_steps",
        "max_epochs",
        "classes_per_step",
        "per_class",
        "learning_rate",
        "warmup_share",
        "max_length",
        "head_share",
        "seed",
    )

    def fingerprint(self, texts: Sequence[str], labels: Sequence[Any]) -> str:
        """The cache key of a fit on `texts` and `labels` (hex sha256)."""
        from importlib.metadata import version

        from training.encoder_export import resolve_encoder
        from triage.files import sha256_file

        _, base = resolve_encoder(self.base_model)
        if base.is_file():
            raise ValueError(f"{base}: a text graph cannot be fine-tuned (it has no weights)")
        digest = hashlib.sha256()
        header = {
            "recipe": RECIPE,
            "params": {k: getattr(self, k) for k in self._RESULT_PARAMS},
            # Read from the package metadata: computing a cache key must not import torch.
            "versions": {p: version(p) for p in ("torch", "transformers", "sentence-transformers")},
        }
        digest.update(json.dumps(header, sort_keys=True).encode())
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            if path.name not in _IRRELEVANT_FILES:
                digest.update(str(path.relative_to(base)).encode() + b"\0")
                digest.update(sha256_file(path).encode())
        for text, label in zip(texts, labels, strict=True):
            digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
            digest.update(str(label).encode("utf-8", "surrogatepass") + b"\1")
        return digest.hexdigest()

    def fit(self, texts: Sequence[str], labels: Sequence[Any]) -> ContrastiveFinetuner:
        """Fine-tune on `texts` and their `labels` (any hashable; None = unlabelled, skipped)."""
        texts, labels = self._labelled(texts, labels)
        self.fingerprint_ = self.fingerprint(texts, labels)
        if self.cache_dir is None:
            entry = Path(tempfile.mkdtemp(prefix="finetuned-")) / "model"
            self._train_into(entry, texts, labels)
            self._set_result(entry, from_cache=False)
            return self

        from training.encoder_export import _exclusive

        cache_dir = Path(self.cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        name = f"finetuned-{_slug(Path(str(self.base_model)).name)}-{self.fingerprint_[:16]}"
        entry = cache_dir / name
        with _exclusive(cache_dir / f"{name}.lock"):
            from_cache = (entry / META_FILE).is_file()
            if not from_cache:
                for stale in cache_dir.glob(f".{name}-*"):  # a killed run's staging folder
                    shutil.rmtree(stale, ignore_errors=True)
                staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir))
                staging.chmod(0o755)
                try:
                    self._train_into(staging, texts, labels)
                    if entry.exists():
                        shutil.rmtree(entry)
                    os.replace(staging, entry)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
        self._set_result(entry, from_cache=from_cache)
        return self

    def _set_result(self, entry: Path, *, from_cache: bool) -> None:
        meta = json.loads((entry / META_FILE).read_text(encoding="utf-8"))
        self.model_dir_ = entry
        self.steps_ = int(meta["steps"])
        self.stopped_by_ = str(meta["stopped_by"])
        self.seconds_ = float(meta["seconds"])
        self.losses_ = list(meta["losses"])
        self.from_cache_ = from_cache

    @staticmethod
    def _labelled(texts: Sequence[str], labels: Sequence[Any]) -> tuple[list[str], list[Any]]:
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        pairs = [(t, y) for t, y in zip(texts, labels, strict=True) if y is not None]
        for i, (text, _) in enumerate(pairs):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}]: expected str, got {type(text).__name__}")
        counts: dict[Any, int] = {}
        for _, y in pairs:
            counts[y] = counts.get(y, 0) + 1
        if sum(n >= 2 for n in counts.values()) < 2:
            raise ValueError(
                "contrastive fine-tuning needs at least two classes with two or more "
                f"labelled texts each; got {len(counts)} classes ({len(pairs)} labelled texts)"
            )
        return [t for t, _ in pairs], [y for _, y in pairs]

    def n_steps(self, n_texts: int) -> int:
        """Steps a fit on `n_texts` labelled texts will run (unless the time budget ends it)."""
        per_step = self.classes_per_step * self.per_class
        by_epochs = math.ceil(self.max_epochs * n_texts / per_step)
        return max(1, min(self.max_steps, by_epochs))

    def _batches(self, labels: Sequence[Any], steps: int) -> list[np.ndarray]:
        """Row indices of each step: `per_class` texts of each of `classes_per_step` classes."""
        rng = np.random.default_rng(self.seed)
        members: dict[Any, list[int]] = {}
        for row, y in enumerate(labels):
            members.setdefault(y, []).append(row)
        # Classes in a fixed order so that the draw depends on the data, not on dict order.
        pools = [np.array(rows) for _, rows in sorted(members.items(), key=lambda kv: str(kv[0]))]
        pools = [p for p in pools if len(p) >= 2]
        k = min(self.classes_per_step, len(pools))
        batches = []
        for _ in range(steps):
            rows = []
            for c in rng.choice(len(pools), size=k, replace=False):
                pool = pools[c]
                take = min(self.per_class, len(pool))
                rows.append(rng.choice(pool, size=take, replace=False))
            batches.append(np.concatenate(rows))
        return batches

    def _train_into(self, dest: Path, texts: list[str], labels: list[Any]) -> None:
        """Train and save the sentence-transformers folder plus `finetune.json` into `dest`."""
        import torch
        from sentence_transformers import SentenceTransformer

        from training.encoder_export import resolve_encoder

        name, base = resolve_encoder(self.base_model)
        threads_before = torch.get_num_threads()
        torch.set_num_threads(self.threads or os.cpu_count() or 1)
        torch.manual_seed(self.seed)
        try:
            model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
            steps = self.n_steps(len(texts))
            stopped_by, done, seconds, losses = self._run(model, texts, labels, steps, name)
            model.save(str(dest), create_model_card=False)
        finally:
            torch.set_num_threads(threads_before)
        meta = {
            "base_model": name,
            "recipe": RECIPE,
            "fingerprint": self.fingerprint_,
            "params": {k: getattr(self, k) for k in self._RESULT_PARAMS},
            "texts": len(texts),
            "classes": len(set(labels)),
            "steps": done,
            "planned_steps": steps,
            "stopped_by": stopped_by,
            "seconds": round(seconds, 2),
            "losses": losses,
        }
        (dest / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    def _run(
        self, model, texts: list[str], labels: list[Any], steps: int, name: str
    ) -> tuple[str, int, float, list[float]]:
        """The training loop; returns (what stopped it, steps done, seconds, loss curve)."""
        import torch

        tokenizer = model.tokenizer
        cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
        prefix = [cls_id] if cls_id is not None else []
        suffix = [sep_id] if sep_id is not None else []
        pad_id = tokenizer.pad_token_id or 0
        # Tokenized once; each step only cuts, pads and runs.
        content = tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)[
            "input_ids"
        ]
        label_ids = {y: i for i, y in enumerate(sorted(set(labels), key=str))}
        y_all = torch.tensor([label_ids[y] for y in labels])

        batches = self._batches(labels, steps)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=self.learning_rate, weight_decay=0.01)
        warmup = max(1, round(steps * self.warmup_share))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))),
        )
        progress = self.progress or StepProgress()
        progress.start(f"fine-tuning {name} on {len(texts):,} labelled texts", steps)
        model.train()
        started = time.perf_counter()
        curve, window, stopped_by, done = [], [], "max_steps", 0
        every = max(1, steps // 20)
        for step, rows in enumerate(batches):
            ids = [
                with_specials(content[r], self.max_length, prefix, suffix, self.head_share)
                for r in rows
            ]
            features = _padded(ids, pad_id)
            embeddings = model(features)["sentence_embedding"]
            loss = pair_loss(embeddings, y_all[torch.as_tensor(rows)])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            done = step + 1
            window.append(loss.item())
            progress.step(done, float(np.mean(window[-every:])))
            if done % every == 0 or done == steps:
                curve.append(round(float(np.mean(window)), 5))
                window = []
            if (
                self.time_budget_s is not None
                and time.perf_counter() - started > self.time_budget_s
            ):
                stopped_by = "time_budget"
                if window:
                    curve.append(round(float(np.mean(window)), 5))
                break
        model.eval()
        seconds = time.perf_counter() - started
        progress.finish(f"{done} steps in {seconds:.0f} s (stopped by {stopped_by})")
        if stopped_by == "time_budget":
            log.warning("fine-tuning stopped by its time budget after %d of %d steps", done, steps)
        return stopped_by, done, seconds, curve


def pair_loss(embeddings, labels):
    """SetFit's cosine loss over every pair of the batch, positives and negatives weighed
    equally: mean (cos - 1)² over same-class pairs plus mean cos² over the others."""
    import torch

    unit = torch.nn.functional.normalize(embeddings, p=2.0, dim=1)
    cosine = unit @ unit.T
    same = labels[:, None] == labels[None, :]
    upper = torch.ones(same.shape, dtype=torch.bool, device=same.device).triu(diagonal=1)
    positive, negative = same & upper, ~same & upper
    loss = cosine.new_zeros(())
    if positive.any():
        loss = loss + ((cosine[positive] - 1.0) ** 2).mean()
    if negative.any():
        loss = loss + (cosine[negative] ** 2).mean()
    return loss


def _padded(ids: list[list[int]], pad_id: int) -> dict:
    """Token-id lists as the padded tensors a sentence-transformers model takes."""
    import torch

    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "token_type_ids": torch.zeros_like(input_ids),
    }


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40]
