"""The heap settings Warden's server runs its forwards under, for Python measurements of the same forwards.

Warden keeps freed heap memory in the process between batches (glibc `mallopt`: trim threshold 256 MiB, top
pad 64 MiB, mmap threshold 32 MiB; `wt_retain_allocator_memory` in the C shim). A Python process left at
glibc's defaults returns each forward's activation buffers to the kernel and faults them in again on the next
forward; on a virtual machine that alone can make a single `exp` over a 3 MB tensor 6x slower. Timings taken
that way measure the kernel's page faults, not the graph, and not what the server runs. Call
`retain_allocator_memory()` before timing anything.
"""
from __future__ import annotations

import ctypes
import ctypes.util

# glibc's mallopt parameter numbers (malloc.h).
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

SETTINGS = {M_TRIM_THRESHOLD: 256 << 20, M_TOP_PAD: 64 << 20, M_MMAP_THRESHOLD: 32 << 20}


def retain_allocator_memory() -> bool:
    """Applies Warden's heap settings to this process. Returns False where there is no glibc (nothing changed)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS.items())
