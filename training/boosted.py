"""A gradient-boosted head over the structured fields (issue 15, item 2).

`BoostedHead` is scikit-learn's `HistGradientBoostingClassifier` on the metadata block
(one-hot categoricals with a rare bucket, scaled numerics with missing indicators, hour and
weekday), for heads whose signal is in those fields and in how they interact, which a linear
model over one-hot columns cannot express. It competes like every other family
(`training.competition`) and ships only when it wins out of fold.

It looks like a `LinearHead` to the rest of the pipeline: zero block weights and a bias
(the Platt shift of a binary head is folded into it, as for the linear heads), plus the
trees, whose log-probabilities are added to the head's slice of the logits. So the heads
graph is unchanged, and serving adds the tree graph's output (`boosted_graph`, exported by
skl2onnx; run by onnxruntime, no scikit-learn at serve time, see
`triage.inference.heads`).
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

# log(p) floor: a class the trees give (almost) no probability stays finite.
PROBA_FLOOR = 1e-7
# Bias of a class absent from the training rows (as `LinearHead`): it never wins.
UNSEEN_BIAS = -30.0


class BoostedHead:
    """Histogram gradient boosting on the metadata block, exportable as a tree graph.

    Attributes after `fit`: `model_` (the fitted classifier), `classes_` (class indices it
    saw, the columns its probabilities fill), `W_text_`, `W_emb_`, `W_meta_` (zeros, for
    the heads graph) and `b_` (0 for seen classes, `UNSEEN_BIAS` for the others).
    """

    def __init__(
        self,
        n_classes: int,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 20,
        l2_regularization: float = 1.0,
        class_weight: dict[int, float] | None = None,
        seed: int = 42,
    ) -> None:
        self.n_classes = n_classes
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.class_weight = class_weight
        self.seed = seed

    def fit(self, x_text, x_emb, x_meta, y: np.ndarray) -> BoostedHead:
        """Fit the trees on the metadata block only; the other blocks (only their widths
        are read, so whole matrices do) get zero weights."""
        if x_meta is None:
            raise ValueError("a boosted head needs the structured-field block")
        if len(np.unique(y)) < 2:
            raise ValueError("a head needs at least two classes in its training rows")
        # One OpenMP thread: the competition already runs fits side by side on every core,
        # and OpenMP threads spinning for a core another fit holds waste most of it.
        with threadpool_limits(limits=1, user_api="openmp"):
            self.model_ = self._classifier().fit(np.asarray(x_meta, dtype=np.float32), y)
        self.classes_ = self.model_.classes_.astype(np.int64)

        def zeros(x) -> np.ndarray | None:  # type: ignore[no-untyped-def]
            return None if x is None else np.zeros((x.shape[1], self.n_classes), np.float32)

        self.W_text_, self.W_emb_, self.W_meta_ = zeros(x_text), zeros(x_emb), zeros(x_meta)
        self.b_ = np.full(self.n_classes, UNSEEN_BIAS, dtype=np.float32)
        self.b_[self.classes_] = 0.0
        return self

    def _classifier(self) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            class_weight=self.class_weight,
            # A fixed tree count: early stopping would carve its own validation split out
            # of the fold, and its fit time is already small.
            early_stopping=False,
            random_state=self.seed,
        )

    def tree_logits(self, x_meta) -> np.ndarray:
        """The trees' part of the logits: log-probabilities in the seen classes' columns."""
        proba = self.model_.predict_proba(np.asarray(x_meta, dtype=np.float32))
        out = np.zeros((proba.shape[0], self.n_classes))
        out[:, self.classes_] = np.log(np.maximum(proba, PROBA_FLOOR))
        return out

    def logits(self, x_text, x_emb, x_meta) -> np.ndarray:
        """Raw class scores (N × n_classes, float64): log-probabilities plus the bias."""
        return self.tree_logits(x_meta) + self.b_.astype(np.float64)


def boosted_graph(head: BoostedHead, n_meta: int):  # type: ignore[no-untyped-def]
    """The trees as an ONNX graph: `input` (N × n_meta float32) → `probabilities`
    (N × seen classes, in `head.classes_` order), through skl2onnx's converter."""
    from skl2onnx import to_onnx
    from skl2onnx.common import tree_ensemble
    from skl2onnx.common.data_types import FloatTensorType

    # skl2onnx 1.20 passes each node's missing-value direction as a Python or numpy bool,
    # which onnx >= 1.19 refuses in an ints attribute ("Expected an int, got a boolean"):
    # the same call with an int. (Our metadata has no NaN, so the direction never applies.)
    add_node = tree_ensemble.add_node

    def add_int_node(*args, nodes_missing_value_tracks_true=0, **kwargs):  # type: ignore[no-untyped-def]
        return add_node(
            *args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs
        )

    tree_ensemble.add_node = add_int_node
    try:
        return to_onnx(
            head.model_,
            initial_types=[("input", FloatTensorType([None, n_meta]))],
            options={id(head.model_): {"zipmap": False}},
            target_opset={"": 18, "ai.onnx.ml": 3},
        )
    finally:
        tree_ensemble.add_node = add_node
