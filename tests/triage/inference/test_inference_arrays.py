"""The numpy helpers of the prediction hot path against plain numpy."""

from __future__ import annotations

import numpy as np

from triage.inference.arrays import csr_dot, f32, top


def test_top_returns_the_largest_first_and_copes_with_short_inputs() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.3])
    assert top(scores, 3).tolist() == [1, 3, 2]
    assert top(scores, 10).tolist() == [1, 3, 2, 4, 0]
    assert top(np.zeros(0), 3).tolist() == []


def test_csr_dot_matches_the_dense_product_with_empty_rows() -> None:
    dense = np.array(
        [[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]],
        dtype=np.float32,
    )
    indptr, indices, data = [0], [], []
    for row in dense:
        nz = np.flatnonzero(row)
        indices.extend(nz.tolist())
        data.extend(row[nz].tolist())
        indptr.append(len(indices))
    q = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    got = csr_dot(np.array(indptr), np.array(indices), np.array(data, dtype=np.float32), q)
    assert got.tolist() == (dense @ q).tolist()


def test_f32_is_contiguous_float32() -> None:
    out = f32(np.arange(6, dtype=np.float16).reshape(2, 3).T)
    assert out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
