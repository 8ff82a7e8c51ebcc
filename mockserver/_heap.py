"""Returning freed heap memory to the operating system while the server runs.

A mock left running for days frees as much as it allocates (every structure that grows with traffic is
bounded), but glibc's malloc keeps freed memory in its free lists, so the resident size drifts towards the
high-water mark of each size class. `HeapTrimmer` asks glibc (`malloc_trim(0)`) to give free pages back,
every `interval_s` seconds of wall time, off the event loop (ctypes releases the GIL during the call).
Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable

__all__ = ["HeapTrimmer", "glibc_malloc_trim"]

TRIM_INTERVAL_S = 60.0


def glibc_malloc_trim() -> Callable[[], int] | None:
    """`malloc_trim(0)` of the C library, if it is glibc's; else None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): no malloc_trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


class HeapTrimmer:
    """Calls `trim` every `interval_s` seconds until cancelled; `trims` counts the calls made."""

    def __init__(self, *, trim: Callable[[], int] | None, interval_s: float = TRIM_INTERVAL_S) -> None:
        self._trim = trim
        self.interval_s = interval_s
        self.trims = 0

    @property
    def enabled(self) -> bool:
        return self._trim is not None

    async def run(self) -> None:
        if self._trim is None:
            return
        while True:
            await asyncio.sleep(self.interval_s)
            await asyncio.to_thread(self._trim)
            self.trims += 1
