"""Where and with what a benchmark ran: recorded in every result JSON of benchmarks/.

Figures from a loaded 2-core box and a quiet 16-core one are not comparable, and a
result is only reproducible with the code that produced it, so each result carries the
machine (cores, CPU model, load average), the git sha (and whether the tree was dirty)
and the versions of the libraries that shape speed and accuracy.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from triage.checkout import commit_sha, is_dirty

LIBRARIES = (
    "ticket-triage",
    "numpy",
    "scipy",
    "scikit-learn",
    "onnxruntime",
    "onnx",
    "tokenizers",
    "torch",
    "sentence-transformers",
    "pandas",
    "pyarrow",
    "mlflow",
    "matplotlib",
    "fastapi",
    "uvicorn",
    "httpx",
    "ray",
)


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux, else what `platform` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries in `LIBRARIES` (None for one that is absent)."""
    versions: dict[str, str | None] = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = version(lib)
        except PackageNotFoundError:
            versions[lib] = None
    return versions


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, load average, Python and library versions, git sha and dirtiness."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        affinity = os.cpu_count()
    return {
        "git_sha": commit_sha(),
        # Uncommitted changes in the code that decides the figures: the sha alone does not
        # reproduce them.
        "git_dirty": is_dirty("training", "triage", "benchmarks"),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": library_versions(),
    }
