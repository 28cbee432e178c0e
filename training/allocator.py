"""The C allocator's settings for a training process: freed memory is kept for reuse.

Training allocates and frees the same large blocks over and over: every fit slices its rows
out of the shared design matrix, and liblinear copies them into its own format (about 70 MB
a problem on the demo desk, once per class for NB-SVM). glibc serves a block above its mmap
threshold with freshly mapped pages and gives them back on free, and a thread other than
the main one allocates from an arena of at most 64 MB, so every copy faulted its pages in
again. Measured on the demo desk's heads stage (captured features, same fits): 8.3 million
page faults and 19.6 s of system time out of 144 CPU s; with one arena that neither maps
large blocks nor trims the heap, 0.25 million faults, 1.1 s of system time, 123 CPU s in
all, and the same peak memory (1.6 GB). See docs/training.md.

The settings are process-wide, so only the commands that train call this (their process
ends with the run); serving keeps glibc's defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt(3) parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4
M_ARENA_MAX = -8


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for the next allocation (one arena, no mmap
    for large blocks, no trimming); False where there is no glibc (macOS, musl), which
    changes nothing."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = (
        (M_ARENA_MAX, 1),
        (M_MMAP_MAX, 0),
        (M_TRIM_THRESHOLD, 2**31 - 1),
        (M_TOP_PAD, 64 << 20),
    )
    return all(mallopt(param, value) == 1 for param, value in settings)
