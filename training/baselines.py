"""The two baselines every head is compared with, trained on the same split.

Each returns its accuracy, macro-F1 and per-class F1 (a list indexed like the head's
classes, from the same `classification_metrics` call, so it costs nothing extra): the
benchmark report draws the baselines' per-class F1 beside the model's.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from training.evaluation import classification_metrics


def _summary(metrics: dict) -> dict:
    return {
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "per_class_f1": [round(float(f), 6) for f in metrics["f1"]],
    }


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray, n_classes: int) -> dict:
    """Always predict the most frequent training class; returns its metrics."""
    majority = int(np.bincount(y_train, minlength=n_classes).argmax())
    return _summary(classification_metrics(y_test, np.full(len(y_test), majority), n_classes))


def linearsvc_baseline(
    x_train, y_train: np.ndarray, x_test, y_test: np.ndarray, n_classes: int, seed: int = 42
) -> tuple[dict, np.ndarray]:
    """TF-IDF (word 1–2 + char 2–5) + LinearSVC (C=1); returns (metrics, test predictions)."""
    model = LinearSVC(C=1.0, random_state=seed)
    if len(np.unique(y_train)) < 2:
        pred = np.full(len(y_test), y_train[0])
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_train, y_train)
        pred = model.predict(x_test)
    return _summary(classification_metrics(y_test, pred, n_classes)), pred
