"""One head's competition: every candidate fitted on the same folds, the winner refitted.

`HeadData` holds what every fit of a head shares (its labels as class indices, the feature
blocks, the KB articles that are extra examples for the category heads); `compete` runs
the folds in a thread pool (liblinear releases the GIL, so fits share the cores), picks the
stacked recipe on the first fold, scores every family out of fold on all folds, and
returns the winner refitted on the whole training part with what calibrates it.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.boosted import BoostedHead
from training.evaluation import classification_metrics, roc_auc
from training.heads import LinearHead, stack_blocks
from training.selection import (
    FIELDS,
    HGB,
    TFIDF_SVC,
    Candidate,
    Selection,
    chance_scores,
    select,
    stacked,
)

Head = LinearHead | BoostedHead
# The boosted family fits one tree per class per round: past this many classes it cost more
# than every linear candidate together (demo desk: 2 s a fit for team's 6 classes on 1,300
# tickets) and the heads with many classes (category, team, assignee) are text heads.
HGB_MAX_CLASSES = 4


def _rows(x, idx):  # type: ignore[no-untyped-def]
    return None if x is None else x[idx]


def class_weights(y: np.ndarray, power: float) -> dict[int, float] | None:
    """Per-class weights (n / (k * count))^power for the classes in `y`; None for power 0."""
    if not power:
        return None
    counts = np.bincount(y)
    present = np.flatnonzero(counts)
    scale = len(y) / len(present)
    return {int(c): float((scale / counts[c]) ** power) for c in present}


def folds_of(y: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """A stratified fold number per training row (shared by every candidate)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        fold[members] = (rng.permutation(len(members)) + rng.integers(n_folds)) % n_folds
    return fold


class Designs:
    """Design matrices (`stack_blocks` over every ticket and KB article), built once per
    (blocks, metadata weight) and shared by every head, fold and candidate of a run.

    Stacking the TF-IDF block beside the dense embedding and converting the whole to CSR
    took longer than some fits; each fit now slices rows out of the shared matrix.
    """

    def __init__(self, corpus: Any, emb_weight: float) -> None:
        self.corpus = corpus
        self.emb_weight = emb_weight
        self._cache: dict[tuple, tuple] = {}
        self._lock = threading.Lock()

    def get(self, blocks: tuple[str, ...], meta_weight: float, dtype: type = np.float32) -> tuple:
        """(tickets' matrix, KB articles' matrix or None, block widths, serve-time shapes).

        `dtype`: float64 for the SVMs, what liblinear reads (scikit-learn converted a
        float32 matrix again for every fit: a copy of the whole slice each time, with the
        same numbers); the logistic regression fits float32 as it is given.
        """
        key = (blocks, meta_weight, dtype)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._build(blocks, meta_weight, dtype)
            return self._cache[key]

    def _build(self, blocks: tuple[str, ...], meta_weight: float, dtype: type) -> tuple:
        c = self.corpus
        full = (c.x_text, c.x_emb, c.x_meta)
        shapes = [None if b is None else b.shape[1] for b in full]
        used = [b if name in blocks else None for name, b in zip(BLOCKS, full, strict=True)]
        if all(b is None for b in used):
            raise ValueError(f"none of the blocks {blocks} is present")
        widths = [None if b is None else b.shape[1] for b in used]
        x = stack_blocks(*used, self.emb_weight, meta_weight).astype(dtype, copy=False)
        x_kb = None
        if c.articles and (c.kb_text is not None or c.kb_emb is not None):
            kb = [
                c.kb_text if used[0] is not None else None,
                c.kb_emb if used[1] is not None else None,
                # KB articles have no structured fields.
                np.zeros((len(c.articles), shapes[2]), np.float32) if used[2] is not None else None,
            ]
            if all(
                (u is None) == (k is None) for u, k in zip(used, kb, strict=True)
            ):  # every used block exists for the articles too
                x_kb = stack_blocks(*kb, self.emb_weight, meta_weight).astype(dtype, copy=False)
        return x, x_kb, widths, shapes


BLOCKS = ("text", "emb", "meta")


@dataclass
class HeadData:
    """A head's labels and the corpus' feature blocks, with the fit every candidate uses."""

    name: str
    labels: np.ndarray  # object array, None where unlabelled
    classes: list[str]
    corpus: Any
    config: Any
    designs: Designs | None = None
    kb_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    y_kb: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.index = {c: i for i, c in enumerate(self.classes)}
        corpus = self.corpus
        if self.designs is None:
            self.designs = Designs(corpus, self.config.emb_weight)
        # KB articles are extra labelled examples for the category heads' text models.
        if self.name in ("category", "subcategory") and corpus.articles:
            kb_labels = [getattr(a, self.name) for a in corpus.articles]
            self.kb_rows = np.array(
                [i for i, v in enumerate(kb_labels) if v in self.index], dtype=np.int64
            )
            self.y_kb = np.array([self.index[kb_labels[i]] for i in self.kb_rows], dtype=np.int64)

    @property
    def n_classes(self) -> int:
        """Classes seen in training."""
        return len(self.classes)

    def codes(self, rows: np.ndarray) -> np.ndarray:
        """Class index per row (-1 for a label unseen in training)."""
        return np.array([self.index.get(v, -1) for v in self.labels[rows]], dtype=np.int64)

    def fit(self, rows: np.ndarray, candidate: Candidate) -> Head:
        """`candidate`'s head fitted on `rows` (and the KB articles, for text models)."""
        config = self.config
        y = self.codes(rows)
        if candidate.family == "hgb":
            c = self.corpus
            # The text and embedding blocks only give the widths of their zero weights.
            return BoostedHead(self.n_classes, seed=config.seed).fit(
                c.x_text, c.x_emb, c.x_meta[rows], y
            )
        meta_weight = config.meta_weight if candidate.meta_weight is None else candidate.meta_weight
        assert self.designs is not None
        dtype = np.float64 if candidate.kind in ("svm", "nbsvm") else np.float32
        x_all, x_kb, widths, shapes = self.designs.get(candidate.blocks, meta_weight, dtype)
        x = x_all[rows]
        # Not for the fields model: KB articles have no structured fields.
        if len(self.y_kb) and candidate.family != "fields" and x_kb is not None:
            x = sp.vstack([x, x_kb[self.kb_rows]], format="csr")
            y = np.r_[y, self.y_kb].astype(np.int64)
        return LinearHead(
            self.n_classes,
            C=candidate.C,
            emb_weight=config.emb_weight,
            meta_weight=meta_weight,
            kind=candidate.kind,
            max_iter=config.max_iter,
            seed=config.seed,
            class_weight=class_weights(y, candidate.class_weight_power),
            blocks=candidate.blocks,
            tol=config.svm_tol,
        ).fit_stacked(x, widths, shapes, y)

    def logits(self, model: Head, rows: np.ndarray) -> np.ndarray:
        """`model`'s raw scores of `rows`."""
        c = self.corpus
        if isinstance(model, BoostedHead):
            return model.logits(None, None, c.x_meta[rows])
        return model.logits(_rows(c.x_text, rows), _rows(c.x_emb, rows), _rows(c.x_meta, rows))


@dataclass
class Outcome:
    """What the competition produced for one head."""

    selection: Selection
    stacked_choice: Candidate
    stacked_scores: dict[Candidate, float]  # the first fold's score per stacked recipe
    oof: dict[Candidate, np.ndarray]  # out-of-fold logits per family, training rows
    models: dict[Candidate, Head]  # every family refitted on the training part
    cal_logits: np.ndarray  # what calibrates the winner, and its labels
    y_cal: np.ndarray
    cal_rows: np.ndarray
    recent_slice: bool  # calibrated on the newest training slice (time split)

    @property
    def model(self) -> Head:
        """The winner, refitted on the whole training part."""
        return self.models[self.selection.winner]


def selection_score(head: str, logits: np.ndarray, y: np.ndarray) -> float:
    """How well a candidate's held-out scores rank: ROC-AUC for escalation, else macro-F1."""
    if head == "escalation" and logits.shape[1] == 2:
        auc = roc_auc(logits[:, 1] - logits[:, 0], y == 1)
        if auc is not None:
            return auc
    return classification_metrics(y, logits.argmax(axis=1), logits.shape[1])["macro_f1"]


def _families(data: HeadData) -> list[Candidate]:
    corpus = data.corpus
    out: list[Candidate] = []
    if corpus.x_text is not None:
        out.append(TFIDF_SVC)
    if corpus.x_meta is not None and corpus.x_meta.shape[1] > 2:
        out.append(FIELDS)
        if data.n_classes <= HGB_MAX_CLASSES and data.config.boosted:
            out.append(HGB)
    return out


def compete(
    data: HeadData,
    train_rows: np.ndarray,
    recent: tuple[np.ndarray, np.ndarray] | None,
) -> Outcome:
    """Run the head's competition on `train_rows`.

    `recent`: (older rows, newest rows) of the training part on a time split; the winner
    is then also fitted on the older rows and calibrated on the newest, so thresholds are
    fitted on tickets like the test ones.
    """
    config, n = data.config, data.n_classes
    y = data.codes(train_rows)
    fold = folds_of(y, config.calibration_folds, config.seed)
    recipes = (
        [stacked(*c) for c in config.candidates]
        if config.model == "auto"
        else [stacked(config.model, config.C, config.class_weight_power)]
    )
    families = _families(data)
    folds = [
        k
        for k in range(config.calibration_folds)
        if len(np.unique(y[fold != k])) >= 2 and not (fold != k).all()
    ]

    def held_out(k: int, candidate: Candidate) -> np.ndarray:
        return data.logits(data.fit(train_rows[fold != k], candidate), train_rows[fold == k])

    slice_rows = None
    if recent is not None:
        older, newest = recent
        if len(newest) >= 2 and len(np.unique(data.codes(older))) >= 2:
            slice_rows = older
    choice, scores = recipes[0], {}
    oof: dict[Candidate, np.ndarray] = {}
    with ThreadPoolExecutor(max_workers=config.n_jobs or os.cpu_count() or 1) as pool:
        # Every fit is queued as soon as what it depends on is known, the longest first, so
        # both cores stay busy: the stacked recipes on the first usable fold (which pick the
        # recipe), then the baselines' fits on every fold and on the whole training part
        # (they do not depend on the recipe), then the chosen recipe's other folds and its
        # refit; on a time split, the winner's fit on the older rows once it is known
        # (fitted ahead for the stacked recipe, it was thrown away whenever a baseline won).
        # The recipes are searched as a grid: kind and class weights interact (endava's
        # endava_all_labels_sample category: LinearSVC with class weights 0.598 on the first fold,
        # every other recipe 0.481 or less), so a search by rounds missed the best one.
        first = {c: pool.submit(held_out, folds[0], c) for c in recipes} if folds else {}
        family_parts = {(k, c): pool.submit(held_out, k, c) for k in folds for c in families}
        finals = {c: pool.submit(data.fit, train_rows, c) for c in families}
        if folds and len(recipes) > 1:
            held_y = y[fold == folds[0]]
            scores = {c: selection_score(data.name, first[c].result(), held_y) for c in recipes}
            choice = max(recipes, key=lambda c: (scores[c], -recipes.index(c)))
        parts = {(k, choice): pool.submit(held_out, k, choice) for k in folds[1:]}
        if folds:
            parts[(folds[0], choice)] = first[choice]
        parts.update(family_parts)
        finals = {choice: pool.submit(data.fit, train_rows, choice), **finals}
        entrants = [choice, *families]
        for c in entrants:
            oof[c] = np.zeros((len(train_rows), n))
        for (k, c), part in parts.items():
            oof[c][fold == k] = part.result()
        evaluated = np.isin(fold, folds)
        auc = data.name == "escalation" and n == 2
        references = chance_scores(
            [(np.flatnonzero(fold[evaluated] == k), y[fold != k]) for k in folds],
            int(evaluated.sum()),
            auc,
            config.seed,
        )
        selection = select(
            y[evaluated], {c: z[evaluated] for c, z in oof.items()}, references, n, auc, config.seed
        )
        slice_fit = None
        if slice_rows is not None:
            slice_fit = pool.submit(data.fit, slice_rows, selection.winner)
        models = {c: f.result() for c, f in finals.items()}
        if slice_fit is not None and recent is not None:
            cal_rows = recent[1]
            cal_logits, y_cal = data.logits(slice_fit.result(), cal_rows), data.codes(cal_rows)
        else:
            cal_rows, cal_logits, y_cal = train_rows, oof[selection.winner], y
    return Outcome(
        selection=selection,
        stacked_choice=choice,
        stacked_scores=scores,
        oof=oof,
        models=models,
        cal_logits=cal_logits,
        y_cal=y_cal,
        cal_rows=cal_rows,
        recent_slice=slice_fit is not None,
    )
