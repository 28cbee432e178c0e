"""A training process keeps freed memory: large blocks reallocated in a thread no longer
fault their pages in again (run in a subprocess, since the setting is process-wide)."""

import subprocess
import sys

import pytest

SCRIPT = """
import resource, sys, threading
import numpy as np
from training.allocator import keep_freed_memory

tuned = keep_freed_memory() if sys.argv[1] == "tuned" else None
faults = []

def churn():
    for _ in range(6):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = np.ones(80 << 17)  # 80 MB, written: every page touched
        del block
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

thread = threading.Thread(target=churn)
thread.start()
thread.join()
print(tuned, sum(faults[1:]), faults[0])
"""


def _faults(mode: str) -> tuple[str, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1]), int(out[2])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_a_reallocated_block_reuses_pages_already_faulted_in() -> None:
    tuned, again, first = _faults("tuned")
    assert tuned == "True"
    assert first > 0
    # Faulted in once, then reused: the next five rounds fault almost nothing.
    assert again < first / 4
    _, again_default, first_default = _faults("default")
    # glibc's defaults map and unmap the block each time: every round faults it in again
    # (in 4 kB pages, or 2 MB ones where numpy's huge-page advice is taken).
    assert again_default > 3 * first_default
