"""numpy helpers of the prediction hot path (no scipy at serve time)."""

from __future__ import annotations

import numpy as np


def f32(array: np.ndarray) -> np.ndarray:
    """`array` as C-contiguous float32: bundles store float16, and numpy has no float16 BLAS
    (it would convert on every touch)."""
    return np.ascontiguousarray(array, dtype=np.float32)


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` largest scores, largest first."""
    k = min(k, len(scores))
    if k == 0:
        return np.zeros(0, dtype=np.intp)
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(k)
    return best[np.argsort(-scores[best], kind="stable")]


def csr_dot(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise dot products of a CSR matrix with a dense vector."""
    # A trailing zero keeps `reduceat` in bounds when the last rows are empty; empty rows
    # (which `reduceat` would give the next value) are zeroed afterwards.
    products = np.append(data * q[indices], np.float32(0.0))
    out = np.add.reduceat(products, indptr[:-1])
    out[indptr[:-1] == indptr[1:]] = 0.0
    return out
