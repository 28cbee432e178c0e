"""One head's competition: every candidate fitted on the same folds, the winner refitted.

`HeadData` holds what every fit of a head shares (its labels as class indices, the feature
blocks, the KB articles that are extra examples for the category heads); `compete` runs
the folds in a thread pool (liblinear releases the GIL, so fits share the cores), picks the
stacked recipe on the first fold, scores every family out of fold on all folds, and
returns the winner refitted on the whole training part with what calibrates it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.evaluation import classification_metrics, roc_auc
from training.heads import LinearHead
from training.selection import (
    FIELDS,
    TFIDF_SVC,
    Candidate,
    Selection,
    chance_scores,
    select,
    stacked,
)


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


@dataclass
class HeadData:
    """A head's labels and the corpus' feature blocks, with the fit every candidate uses."""

    name: str
    labels: np.ndarray  # object array, None where unlabelled
    classes: list[str]
    corpus: Any
    config: Any
    x_kb: list = field(default_factory=lambda: [None, None, None])
    y_kb: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.index = {c: i for i, c in enumerate(self.classes)}
        corpus = self.corpus
        # KB articles are extra labelled examples for the category heads' text models.
        if self.name in ("category", "subcategory") and corpus.articles:
            kb_labels = [getattr(a, self.name) for a in corpus.articles]
            kb_rows = np.array(
                [i for i, v in enumerate(kb_labels) if v in self.index], dtype=np.int64
            )
            if len(kb_rows):
                self.y_kb = np.array([self.index[kb_labels[i]] for i in kb_rows], dtype=np.int64)
                self.x_kb = [
                    _rows(corpus.kb_text, kb_rows),
                    _rows(corpus.kb_emb, kb_rows),
                    np.zeros((len(kb_rows), corpus.x_meta.shape[1]), dtype=np.float32),
                ]

    @property
    def n_classes(self) -> int:
        """Classes seen in training."""
        return len(self.classes)

    def codes(self, rows: np.ndarray) -> np.ndarray:
        """Class index per row (-1 for a label unseen in training)."""
        return np.array([self.index.get(v, -1) for v in self.labels[rows]], dtype=np.int64)

    def fit(self, rows: np.ndarray, candidate: Candidate) -> LinearHead:
        """`candidate`'s `LinearHead` fitted on `rows` (and the KB articles, for text models)."""
        # Not for the fields model: KB articles have no structured fields.
        with_kb = len(self.y_kb) > 0 and candidate.family != "fields"
        corpus, config = self.corpus, self.config
        blocks = []
        for x_all, x_extra in zip(
            (corpus.x_text, corpus.x_emb, corpus.x_meta), self.x_kb, strict=True
        ):
            if x_all is None:
                blocks.append(None)
            elif not with_kb:
                blocks.append(x_all[rows])
            elif sp.issparse(x_all):
                blocks.append(sp.vstack([x_all[rows], x_extra], format="csr"))
            else:
                blocks.append(np.vstack([x_all[rows], x_extra]))
        y_fit = np.r_[self.codes(rows), self.y_kb if with_kb else []].astype(np.int64)
        meta_weight = candidate.meta_weight
        return LinearHead(
            self.n_classes,
            C=candidate.C,
            emb_weight=config.emb_weight,
            meta_weight=config.meta_weight if meta_weight is None else meta_weight,
            kind=candidate.kind,
            max_iter=config.max_iter,
            seed=config.seed,
            class_weight=class_weights(y_fit, candidate.class_weight_power),
            blocks=candidate.blocks,
        ).fit(*blocks, y_fit)

    def logits(self, model: LinearHead, rows: np.ndarray) -> np.ndarray:
        """`model`'s raw scores of `rows`."""
        c = self.corpus
        return model.logits(_rows(c.x_text, rows), _rows(c.x_emb, rows), _rows(c.x_meta, rows))


@dataclass
class Outcome:
    """What the competition produced for one head."""

    selection: Selection
    stacked_choice: Candidate
    stacked_scores: dict[Candidate, float]  # the first fold's score per stacked recipe
    oof: dict[Candidate, np.ndarray]  # out-of-fold logits per family, training rows
    models: dict[Candidate, LinearHead]  # every family refitted on the training part
    cal_logits: np.ndarray  # what calibrates the winner, and its labels
    y_cal: np.ndarray
    cal_rows: np.ndarray
    recent_slice: bool  # calibrated on the newest training slice (time split)

    @property
    def model(self) -> LinearHead:
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

    choice, scores = recipes[0], {}
    oof: dict[Candidate, np.ndarray] = {}
    with ThreadPoolExecutor(max_workers=config.n_jobs or os.cpu_count() or 1) as pool:
        first: dict[Candidate, np.ndarray] = {}
        if folds:
            # The first usable fold picks the stacked recipe; every family is scored on it.
            todo = recipes + families
            first = dict(zip(todo, pool.map(lambda c: held_out(folds[0], c), todo), strict=True))
            if len(recipes) > 1:
                held_y = y[fold == folds[0]]
                scores = {c: selection_score(data.name, first[c], held_y) for c in recipes}
                choice = max(recipes, key=lambda c: (scores[c], -recipes.index(c)))
        entrants = [choice, *families]
        parts = {(k, c): pool.submit(held_out, k, c) for k in folds[1:] for c in entrants}
        for c in entrants:
            oof[c] = np.zeros((len(train_rows), n))
            if folds:
                oof[c][fold == folds[0]] = first[c]
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
        finals = {c: pool.submit(data.fit, train_rows, c) for c in entrants}
        slice_fit = None
        if recent is not None:
            older, newest = recent
            if len(newest) >= 2 and len(np.unique(data.codes(older))) >= 2:
                slice_fit = pool.submit(data.fit, older, selection.winner)
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
