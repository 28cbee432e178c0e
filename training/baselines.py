"""The two baselines every head is compared with, trained on the same split."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from training.evaluation import classification_metrics


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray, n_classes: int) -> dict:
    """Always predict the most frequent training class."""
    majority = int(np.bincount(y_train, minlength=n_classes).argmax())
    metrics = classification_metrics(y_test, np.full(len(y_test), majority), n_classes)
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}


def linearsvc_baseline(x_train, y_train: np.ndarray, x_test, y_test: np.ndarray, n_classes: int,
                       seed: int = 42) -> tuple[dict, np.ndarray]:
    """TF-IDF (word 1–2 + char 2–5) + LinearSVC (C=1); returns (metrics, test predictions)."""
    model = LinearSVC(C=1.0, random_state=seed)
    if len(np.unique(y_train)) < 2:
        pred = np.full(len(y_test), y_train[0])
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_train, y_train)
        pred = model.predict(x_test)
    metrics = classification_metrics(y_test, pred, n_classes)
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}, pred
