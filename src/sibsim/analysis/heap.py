"""Keep freed memory for reuse while the same evaluation is repeated (glibc only).

The break-even grid, a design's variants and a tornado's ends evaluate the money chain many
times over arrays of the same sizes (tens of megabytes for 100,000 draws). glibc's ``malloc``
returns such blocks to the operating system when they are freed (``mmap``, or trimming the top
of the heap), so every evaluation maps them again and the kernel zero-fills every page on
first touch: on Peterborough's break-even over 100,000 draws, about 350,000 page faults and a
third of the CPU time went there (``benchmarks/compare_breakeven_speed.py``).

:func:`kept_heap` raises glibc's thresholds while such a loop runs, so freed blocks stay in the
heap and the next evaluation reuses them, and afterwards sets them back and returns the free
memory to the operating system (``malloc_trim``). Elsewhere (macOS, Windows, musl) it does
nothing. ``SIBSIM_KEEP_HEAP=0`` in the environment turns it off.

While it holds, numpy does not advise the kernel to back its large arrays with huge pages
(``madvise(MADV_HUGEPAGE)``, numpy's default on Linux for arrays of 4 MiB and more). Where the
kernel answers that advice by compacting memory on the first touch (transparent huge pages with
``defrag`` set to ``madvise``, the usual setting), a fresh process's first loop spends more time
in the kernel than in its work: on this project's 2-core virtual machines, the first
:func:`sibsim.tornado` of 10,000 draws took 5.2-5.5 s with the advice and 3.7-4.0 s without
(``benchmarks/bench_hugepages.py``). The memory is re-used inside the loop, so the advice has
little left to save there. Numpy's own setting is restored afterwards; a user who sets
``NUMPY_MADVISE_HUGEPAGE`` in the environment keeps that choice throughout.

The peak memory of a loop grows by what the evaluations free and reuse (about a quarter for
the break-even search); what a run keeps afterwards does not.

>>> with kept_heap():
...     pass
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib
import os
import platform
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["kept_heap"]

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: While a loop runs: blocks up to this size come from the heap, not from mmap ...
_KEEP_MMAP = 256 << 20
#: ... the heap is not trimmed below this much free memory at its top ...
_KEEP_TRIM = 1 << 30
#: ... and grows by this much beyond each request.
_KEEP_PAD = 64 << 20
#: Afterwards: the largest mmap threshold glibc's own adjustment reaches (32 MiB on 64-bit
#: systems; any mallopt call turns that adjustment off), twice that for trimming (its rule),
#: and glibc's default padding.
_AFTER = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 64 << 20), (_M_TOP_PAD, 128 << 10))

_lock = threading.Lock()
_depth = 0
#: numpy's huge-page switch and its advice before the outermost use (restored when it ends);
#: None: untouched
_numpy_advice: tuple[Callable[[bool], bool], bool] | None = None


def _libc() -> ctypes.CDLL | None:
    """glibc, where it is the C library and ``SIBSIM_KEEP_HEAP`` is not ``0``; else None."""
    if os.environ.get("SIBSIM_KEEP_HEAP", "1").strip() == "0":
        return None
    return _glibc()


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library with ``mallopt`` and ``malloc_trim`` (loaded once), or None."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
        return libc
    except (OSError, AttributeError):
        return None


def _hugepage_switch() -> Callable[[bool], bool] | None:
    """numpy's ``_set_madvise_hugepage`` (sets the advice, returns the one before), unless the
    user chose with ``NUMPY_MADVISE_HUGEPAGE`` or this numpy lacks it; else None."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return None
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return importlib.import_module(name)._set_madvise_hugepage
        except (ImportError, AttributeError):
            continue
    return None


@contextmanager
def kept_heap() -> Iterator[None]:
    """Freed memory stays in the heap for reuse inside the block, and numpy gives no huge-page
    advice there; nested and concurrent uses share one setting, undone when the last one ends."""
    global _depth, _numpy_advice
    libc = _libc()
    if libc is None:
        yield
        return
    with _lock:
        if _depth == 0:
            libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_MMAP)
            libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_TRIM)
            libc.mallopt(_M_TOP_PAD, _KEEP_PAD)
            switch = _hugepage_switch()
            _numpy_advice = None if switch is None else (switch, bool(switch(False)))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for param, value in _AFTER:
                    libc.mallopt(param, value)
                if _numpy_advice is not None:
                    switch, before = _numpy_advice
                    switch(before)
                    _numpy_advice = None
                libc.malloc_trim(0)
