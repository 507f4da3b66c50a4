"""Keeps freed activation memory in the process for reuse instead of returning it to the OS.

A model run allocates every activation anew (up to a few MB each) and frees it once its last
reader ran. glibc's malloc serves such sizes with fresh ``mmap`` regions, or trims them from the
heap top once freed, so each run touches new pages and the kernel zero-fills them on first write:
~2,000-5,000 page faults and 5-15 ms of system time per EfficientNet-B0 run on the development
machine, a third of the run. ONNX Runtime avoids the same cost with its own arena allocator; here
raising glibc's mmap and trim thresholds (``mallopt``) has the same effect — freed blocks stay in
the heap and the next run reuses them, cache-warm. Only on glibc (Linux); a no-op elsewhere or
when ``PIPELINE_RUNNER_KEEP_FREED_MEMORY=0``. The cost: up to ``TRIM_THRESHOLD`` bytes of freed
memory stay mapped by the process.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's maximum: blocks up to 32 MB come from the heap
TRIM_THRESHOLD = 256 << 20  # freed memory at the heap top kept up to this much

_done = False


def keep_freed_memory() -> bool:
    """Sets the thresholds once per process; True when they are in effect."""
    global _done
    if _done:
        return _done is True
    _done = None  # tried
    if not sys.platform.startswith("linux") or os.environ.get("PIPELINE_RUNNER_KEEP_FREED_MEMORY") == "0":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1:
        _done = True
    return _done is True
