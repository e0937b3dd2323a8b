"""Independent evaluations on several threads: the break-even grid's effects, a design's variants.

Each evaluation (the money chain at one true effect, or for one contract variant) is computed
alone, from inputs no other evaluation changes, so its numbers are the same on any number of
threads. numpy releases the GIL in its array operations and sibsim's money kernels are compiled
``nogil``, so evaluations on ``n`` threads use ``n`` cores. Each thread runs its numba kernels on
one numba thread (the other cores run the other evaluations).

numba's ``workqueue`` threading layer is not safe for parallel kernels started from several
threads at once, so under it (and before any parallel kernel has run, when the layer is not yet
known) everything runs on the calling thread.

>>> in_order(lambda x: x * x, [1, 2, 3], threads=2)
[1, 4, 9]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import numba

from sibsim.analysis.heap import kept_heap
from sibsim.engine.progress import steps

__all__ = ["beside", "in_order", "layer_is_thread_safe", "numba_threads", "work_threads"]

T = TypeVar("T")
R = TypeVar("R")


@contextmanager
def numba_threads(n: int | None) -> Iterator[None]:
    """numba kernels called inside run on at most ``n`` threads (None: as many as set); the
    setting is the calling thread's own."""
    old = numba.get_num_threads()
    if n is None or n >= old:
        yield
        return
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def layer_is_thread_safe() -> bool:
    """Whether numba's threading layer may start parallel kernels from several threads at
    once (``omp``, ``tbb``); False under ``workqueue`` and before the layer is known (no
    parallel kernel has run in this process yet)."""
    try:
        return numba.threading_layer() in ("omp", "tbb")
    except ValueError:
        return False


def work_threads(items: int) -> int:
    """Threads for ``items`` independent evaluations: as many as numba may use on the calling
    thread, at most one per item, and 1 unless :func:`layer_is_thread_safe`."""
    n = min(numba.get_num_threads(), items)
    return n if n > 1 and layer_is_thread_safe() else 1


@contextmanager
def beside(make: Callable[[], R]) -> Iterator[Callable[[], R]]:
    """``make()`` on another thread while the ``with`` block runs, where two threads may work
    (:func:`work_threads`; its kernels on one numba thread), else on the calling thread when
    first asked for. The block gets a function that returns the result (or raises its error);
    the block's end waits for it.

    >>> with beside(lambda: sum(range(10))) as result:
    ...     other = 2 + 2
    ...     result() + other
    49
    """
    if work_threads(2) < 2:
        yield make
        return
    pool = ThreadPoolExecutor(1, thread_name_prefix="sibsim-beside")
    try:
        future = pool.submit(_alone, lambda _: make(), None)
        yield future.result
    finally:
        pool.shutdown(wait=True)


def _alone(fn: Callable[[T], R], item: T) -> R:
    with numba_threads(1):  # this thread's kernels on one numba thread
        return fn(item)


def in_order(fn: Callable[[T], R], items: Iterable[T], threads: int | None = None,
             progress: bool = False) -> list[R]:
    """``[fn(item) for item in items]``, on ``threads`` threads (default :func:`work_threads`;
    a number given is also reduced to 1 unless :func:`layer_is_thread_safe`).

    The results come back in the order of ``items``. With ``progress``, the run's progress bar
    (:func:`sibsim.engine.progress.steps`) counts the items as their results come back. An
    error (or Ctrl-C) in one item reaches the caller; the items not started are dropped and the
    caller returns once the running ones end. Memory freed by one evaluation is kept for the
    next (:func:`sibsim.analysis.heap.kept_heap`).
    """
    items = list(items)
    if threads is None:
        n = work_threads(len(items))
    else:
        n = max(1, min(threads, len(items))) if layer_is_thread_safe() else 1
    ticks: Sequence[T] | Iterator[T] = steps(items) if progress else items
    with kept_heap():  # the evaluations reuse the memory the ones before them freed
        if n == 1:
            return [fn(item) for item in ticks]
        pool = ThreadPoolExecutor(n, thread_name_prefix="sibsim-work")
        try:
            futures = [pool.submit(_alone, fn, item) for item in items]
            return [future.result() for future, _ in zip(futures, ticks, strict=True)]
        finally:  # Ctrl-C or an error: the items not started are dropped
            pool.shutdown(wait=True, cancel_futures=True)
