"""One definition of the latency figures every benchmark reports (p50, p90, p99, ...).

numpy's default (linear interpolation between the closest ranks) for every percentile,
so that a p99 from the latency benchmark and one from the desk benchmark mean the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def summary_ms(samples_ms: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Count, p50, p90, p99, mean and max of latencies in milliseconds (3 decimals)."""
    ms = np.asarray(samples_ms, dtype=np.float64)
    return {
        "n": int(ms.size),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "max_ms": round(float(ms.max()), 3),
    }
