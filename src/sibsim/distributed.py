"""Large runs on a dask.distributed cluster, with the results of one process to the last bit.

``sibsim.analyse(deal, draws=..., seed=..., client=client)`` maps the blocks of draws of a run
over the workers of a :class:`distributed.Client`. Every block is processed by the same
function as a single-process run (:func:`sibsim.report.run_block`: outcomes, counterfactual,
money, metrics, break-even of draws ``[first, first + n)``), and the blocks come back and are
put together **in draw order** by the same collector (per-draw variables written in place, means
over draws summed in a fixed partition of the draws, :class:`~sibsim.analysis.blocks.DrawSum`).
The random streams are keyed on (seed, draw), so the results are bitwise identical to
``sibsim.analyse(deal, draws=..., seed=...)`` for any number of workers and any block size.

dask is optional (``pip install sibsim[dask]``): this module imports it only when a cluster is
asked for, and ``import sibsim`` never imports it.

A worker that dies in the middle of a run (killed, out of memory) loses only its blocks: the
scheduler gives them to another worker (``distributed.scheduler.allowed-failures`` deaths a
block at most) and a block that raised is tried again ``retries`` times; as each block depends on
its draws alone, the result is unchanged.

Each block sets numba's threads so that, on every machine, dask's worker threads times numba's
threads equals the machine's cores (a :class:`distributed.LocalCluster` with ``N`` single-thread
worker processes on a 2-core machine runs ``2 // N`` numba threads, at least 1, a block).

Examples
--------
>>> from distributed import Client, LocalCluster              # doctest: +SKIP
>>> import sibsim                                             # doctest: +SKIP
>>> deal = sibsim.load_scenario("peterborough")               # doctest: +SKIP
>>> with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
...     res = sibsim.analyse(deal, draws=100_000, seed=1, client=client)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from sibsim.analysis.breakeven import BreakevenBlocks
    from sibsim.money.deal import Deal
    from sibsim.report import SIBResults

__all__ = ["INSTALL_HINT", "DaskMissingError", "analyse_on_cluster", "blocks_into_store",
           "cluster_client",
           "dask_available", "default_block_draws", "in_order", "numba_threads_by_host"]

#: How to install the optional engine, named by every refusal.
INSTALL_HINT = "pip install sibsim[dask]"
#: Blocks of a run given to the cluster at a time, per worker thread (bounds the results that
#: wait, on the workers, for the client to take them in draw order).
WINDOW_PER_THREAD = 2
#: Blocks per worker thread that the default block size aims at (for balance).
BLOCKS_PER_THREAD = 4
#: Smallest default block (numba kernels and dask tasks have a fixed cost per call).
MIN_BLOCK = 1024
#: Estimated bytes a worker gives a block by default: the block's working memory plus the
#: finished blocks that wait on the worker for the client (:data:`WINDOW_PER_THREAD`). It keeps
#: a worker of the Peterborough deal well under 1 GB whatever the draws (measured with
#: ``benchmarks/bench_scale.py``).
WORKER_BLOCK_BYTES = 128 * 2**20


class DaskMissingError(ImportError):
    """dask.distributed is not installed (it is the optional extra ``sibsim[dask]``)."""


def dask_available() -> bool:
    """True if ``dask.distributed`` can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("distributed") is not None


def _require() -> Any:
    if not dask_available():
        raise DaskMissingError("dask.distributed is not installed; it runs sibsim on several "
                               f"processes or machines: {INSTALL_HINT}")
    import distributed

    return distributed


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _host(address: str) -> str:
    return address.split("://")[-1].rsplit(":", 1)[0]


def numba_threads_by_host(client: Any) -> dict[str, int]:
    """numba threads a block gets on each host: the host's cores over its dask worker threads
    (at least 1), so that workers x threads = cores."""
    cores = client.run(_cores)
    busy: dict[str, int] = {}
    host_cores: dict[str, int] = {}
    for addr, nthreads in client.nthreads().items():
        h = _host(addr)
        busy[h] = busy.get(h, 0) + int(nthreads)
        host_cores[h] = int(cores.get(addr, 1))
    return {h: max(1, host_cores[h] // busy[h]) for h in busy}


def default_block_draws(draws: int, worker_threads: int, memory_block: int,
                        per_draw: tuple[int, int] | None = None) -> int:
    """Draws a block on a cluster: about :data:`BLOCKS_PER_THREAD` blocks per worker thread,
    at least :data:`MIN_BLOCK`, at most the block that fits the memory (``memory_block``) and,
    given ``per_draw`` = (working bytes, kept bytes) a draw (a
    :class:`~sibsim.resources.RunEstimate`'s ``work_per_draw`` and ``kept_per_draw``), at most
    the block whose work and waiting results fit :data:`WORKER_BLOCK_BYTES`.

    >>> default_block_draws(10_000_000, 2, 57_344, per_draw=(4_470, 3_371))
    11970
    """
    aim = math.ceil(draws / max(1, BLOCKS_PER_THREAD * worker_threads))
    if per_draw is not None:
        work, kept = per_draw
        worker = WORKER_BLOCK_BYTES // max(1, work + WINDOW_PER_THREAD * kept)
        memory_block = min(memory_block, max(MIN_BLOCK, worker))
    return max(1, min(memory_block, draws, max(MIN_BLOCK, aim)))


#: How a local cluster of :func:`cluster_client` tells its workers their numba threads: the
#: most a block may use (:func:`worker_threads`). Not ``NUMBA_NUM_THREADS``: numba reads its
#: variables again at every compilation and refuses a thread count other than the one its
#: threads started with, and dask's nanny sets a worker's environment only after the worker
#: process has imported the user's script, and numba with it. A script that imported sibsim at
#: its top then failed every block on a cold numba cache ("Cannot set NUMBA_NUM_THREADS to a
#: different value once the threads have been launched").
WORKER_THREADS_ENV = "SIBSIM_WORKER_NUMBA_THREADS"


def worker_threads(threads: dict[str, int] | int | None) -> int | None:
    """numba threads for a task on this dask worker: ``threads`` (one number, or one per host
    as :func:`numba_threads_by_host` gives them), at most the local cluster's
    :data:`WORKER_THREADS_ENV`; None leaves numba's setting as it is. The caller passes the
    result to ``numba.set_num_threads`` (numba's thread count is per thread, so it is set in
    the task's own thread)."""
    if isinstance(threads, dict):
        from distributed import get_worker

        threads = threads.get(_host(get_worker().address), 1)
    cap = os.environ.get(WORKER_THREADS_ENV, "")
    if cap.isdigit() and int(cap) >= 1:
        threads = int(cap) if threads is None else min(int(threads), int(cap))
    return threads


def _block_task(deal: Deal, first: int, n: int, seed: int, engine: str,
                search: BreakevenBlocks | None, threads: dict[str, int] | int | None,
                outcome_sums: bool = False) -> dict:
    """One block on a worker: :func:`sibsim.report.run_block` with this host's numba threads."""
    from sibsim.report import run_block

    return run_block(deal, first, n, seed, engine, search, threads=worker_threads(threads),
                     outcome_sums=outcome_sums)


def in_order(client: Any, tasks: Iterator[tuple[str, Any, tuple]], retries: int = 2
             ) -> Iterator[Any]:
    """The results of ``tasks`` ((key, function, arguments), in order) computed on ``client``'s
    cluster and yielded in the same order; at most a window of tasks
    (:data:`WINDOW_PER_THREAD` per worker thread, plus one) is submitted ahead of the one the
    client waits for, which bounds the finished results waiting on the workers."""
    nthreads = sum(client.nthreads().values()) or 1
    pending: deque = deque()

    def submit_next() -> None:
        task = next(tasks, None)
        if task is not None:
            key, fn, args = task
            pending.append(client.submit(fn, *args, key=key, retries=retries, pure=False))

    for _ in range(WINDOW_PER_THREAD * nthreads + 1):
        submit_next()
    try:
        while pending:
            future = pending.popleft()
            result = future.result()
            future.release()
            submit_next()
            yield result
    finally:
        for future in pending:
            future.cancel()


def _blocks(client: Any, deal: Deal, draws: int, seed: int, engine: str, block: int,
            search: BreakevenBlocks | None, threads: dict[str, int] | int | None,
            retries: int, starts: list[int] | None = None, outcome_sums: bool = False
            ) -> Iterator[dict]:
    """The blocks of a run, computed on the cluster, yielded in draw order (:func:`in_order`);
    ``outcome_sums``: see :func:`sibsim.report.run_block`."""
    run_id = uuid.uuid4().hex[:12]
    starts = range(0, draws, block) if starts is None else starts
    tasks = ((f"sibsim-block-{run_id}-{first}", _block_task,
              (deal, first, min(block, draws - first), seed, engine, search, threads,
               outcome_sums))
             for first in starts)
    return in_order(client, tasks, retries)


def _compute_and_write(path: str, token: str, *block_args: Any) -> dict:
    """One block computed (:func:`_block_task`) and written into the store by its worker
    (:func:`sibsim.store.write_on_worker`)."""
    from sibsim.store import write_on_worker

    return write_on_worker(path, token, _block_task(*block_args))


def _compute_and_initialise(path: str, token: str, draws: int, block_draws: int,
                            *block_args: Any) -> dict:
    """The first block computed (:func:`_block_task`), the store's groups initialised from it
    and the block written, by its worker (:func:`sibsim.store.initialise_on_worker`)."""
    from sibsim.store import initialise_on_worker

    return initialise_on_worker(path, token, draws, block_draws, _block_task(*block_args))


def blocks_into_store(client: Any, path: str, token: str, initialise: Any, deal: Deal,
                      draws: int, seed: int, engine: str, block: int,
                      search: BreakevenBlocks | None, threads: dict[str, int] | int | None,
                      retries: int, starts: list[int]) -> Iterator[dict]:
    """The blocks ``starts`` of a run computed on the cluster and written into the zarr store
    at ``path`` by the workers themselves, yielded in draw order as ``{"first", "n",
    "written": True}`` (or as the block itself when a worker does not see the store, e.g. on
    another machine: the client writes it).

    ``initialise``: None when the store's groups exist (a resumed run). Else the worker that
    computes the first block (draws from 0) initialises the groups from it and writes it
    (:func:`sibsim.store.initialise_on_worker`), or, where that worker does not see the
    store, the client calls ``initialise`` with the block, which is then yielded as it is (the
    client writes it); the blocks computed meanwhile by the other workers are written where
    they are. A window of blocks (:data:`WINDOW_PER_THREAD` per worker thread, plus
    one; twice that until the store is initialised) is computed and written at a time: a new
    block starts as soon as any block is written, whatever the order (only what a worker
    could not write waits here for its turn).
    """
    import distributed

    from sibsim.store import write_on_worker

    run_id = uuid.uuid4().hex[:12]
    nthreads = sum(client.nthreads().values()) or 1
    window = WINDOW_PER_THREAD * nthreads + 1
    todo = iter(starts)
    firsts: dict[str, int] = {}  # task key -> its block's first draw
    running = distributed.as_completed()
    finished: dict[int, dict] = {}  # results not yet yielded, by first draw
    order = deque(starts)

    def submit(fn: Any, first: int, *args: Any, step: str = "block") -> Any:
        fut = client.submit(fn, *args, key=f"sibsim-{step}-{run_id}-{first}", retries=retries,
                            pure=False)
        firsts[fut.key] = first
        return fut

    def block_args(first: int) -> tuple:
        return (deal, first, min(block, draws - first), seed, engine, search, threads)

    def fill() -> None:  # keep a window of blocks computing and being written
        while running.count() < window:
            first = next(todo, None)
            if first is None:
                return
            running.add(submit(_compute_and_write, first, path, token, *block_args(first)))

    held = []
    try:
        if initialise is not None:
            # the first block comes here and the store is initialised from it; meanwhile the
            # workers compute a window twice as wide, whose blocks wait where they are
            first = next(todo)
            head = submit(_compute_and_initialise, first, path, token, draws, block,
                          *block_args(first))
            for _ in range(2 * window - 1):
                nxt = next(todo, None)
                if nxt is None:
                    break
                held.append(submit(_block_task, nxt, *block_args(nxt)))
            result = head.result()
            head.release()
            firsts.pop(head.key)
            if not result.get("written"):  # its worker does not see the store
                initialise(result)
            finished[first] = result  # written by its worker, or else by this process
            for fut in held:  # written by the workers that hold them
                running.add(submit(write_on_worker, firsts.pop(fut.key), path, token, fut,
                                   step="write"))
            held.clear()
        fill()
        while order:
            while order and order[0] in finished:
                yield finished.pop(order.popleft())
            if not order:
                break
            fut = next(running)
            finished[firsts.pop(fut.key)] = fut.result()
            fut.release()
            fill()
    finally:
        for fut in [*held, *running.futures]:
            fut.cancel()


def analyse_on_cluster(client: Any, deal: Deal, draws: int, seed: int, engine: str,
                       bar: Any, keep_outcomes: bool,
                       search: BreakevenBlocks | None, block_draws: int | None,
                       memory_block: int, numba_threads: int | None = None,
                       retries: int = 2, per_draw: tuple[int, int] | None = None
                       ) -> SIBResults:
    """What :func:`sibsim.analyse` does with ``client=``: the blocks on the cluster, put
    together in draw order by the collector of a single-process run. ``bar``: the run's
    progress bar (:class:`sibsim.engine.progress.Progress`, counted in draws)."""
    _require()
    from sibsim.report import _BlockCollector

    nthreads = sum(client.nthreads().values())
    if nthreads == 0:
        raise RuntimeError("the dask cluster has no workers")
    block = block_draws or default_block_draws(draws, nthreads, memory_block, per_draw)
    threads = numba_threads if numba_threads is not None else numba_threads_by_host(client)
    collect = _BlockCollector(draws, keep_outcomes, search)
    for result in _blocks(client, deal, draws, seed, engine, block, search, threads, retries,
                          outcome_sums=not keep_outcomes):
        collect.add(result)
        bar.update(result["n"])
    return collect.result()


#: dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in every worker it starts, to hand freed
#: memory back to the system at once. Setting it also turns off glibc's sliding mmap threshold,
#: so every numpy temporary above 128 KiB is a fresh mmap that the kernel zeroes page by page:
#: measured on the 2-core machine, a Peterborough block took ~1.6 times as long on such a worker
#: as in one process. A local cluster of sibsim leaves the variable unset (glibc's default); a
#: block's memory is bounded anyway (:data:`WORKER_BLOCK_BYTES`). For workers started by hand,
#: set ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null`` in dask's config.
WORKER_PRE_SPAWN_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@contextlib.contextmanager
def cluster_client(workers: int | None = None, scheduler: str | None = None, *,
                   numba_threads: int | None = None) -> Iterator[Any]:
    """A client of a new :class:`distributed.LocalCluster` of ``workers`` single-thread worker
    processes, or of the running cluster at ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``); closed (and the local cluster stopped) on exit.

    A local cluster's blocks use at most ``numba_threads`` numba threads each (default: the
    worker's share of the cores, at least 1; :data:`WORKER_THREADS_ENV`), zarr compresses on
    as many threads in each worker (``ZARR_THREADING__MAX_WORKERS``), and its workers start
    with glibc's default memory allocator settings (:data:`WORKER_PRE_SPAWN_ENVIRON`).

    Raises :class:`DaskMissingError` (naming ``pip install sibsim[dask]``) when dask is not
    installed.
    """
    distributed = _require()
    if (workers is None) == (scheduler is None):
        raise ValueError("cluster_client: give workers or scheduler (one of them)")
    if scheduler is not None:
        with distributed.Client(scheduler) as client:
            yield client
        return
    import logging

    import dask

    cores = _cores()
    # no block on a worker uses more numba threads than the worker's share of the cores
    # (WORKER_THREADS_ENV; not NUMBA_NUM_THREADS, which numba refuses to see change)
    threads = numba_threads if numba_threads is not None else max(1, cores // workers)
    # and zarr compresses a streamed block's chunks on as many threads (its pool's default is
    # the machine's cores plus 4 in every worker)
    env = {WORKER_THREADS_ENV: str(threads), "ZARR_THREADING__MAX_WORKERS": str(threads)}
    with dask.config.set(WORKER_PRE_SPAWN_ENVIRON):  # read by each nanny as it is made
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR, env=env)
    with cluster, distributed.Client(cluster) as client:
        yield client


# ----------------------------------------------------------------------------- command line
class ClusterOptionError(ValueError):
    """``--workers`` / ``--scheduler`` cannot be honoured (one line, for the command line)."""


def add_cluster_options(parser: Any) -> None:
    """``--workers N`` and ``--scheduler ADDRESS`` of ``sibsim run``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, default=None, metavar="N",
                       help="run the draws on a local dask cluster of N worker processes "
                            f"(results identical to one process; needs {INSTALL_HINT})")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run the draws on the running dask cluster at ADDRESS, e.g. "
                            f"tcp://10.0.0.5:8786 (needs {INSTALL_HINT})")


@contextlib.contextmanager
def cluster(args: Any, deal: Deal) -> Iterator[Any]:
    """The client the command line's ``--workers`` / ``--scheduler`` ask for, or None.

    Raises :class:`ClusterOptionError` when dask is missing, ``--workers`` is not a positive
    integer, the scenario has no money terms (an outcome-only run is one process) or the
    scheduler cannot be reached."""
    workers, scheduler = getattr(args, "workers", None), getattr(args, "scheduler", None)
    if workers is None and scheduler is None:
        yield None
        return
    option = "--workers" if workers is not None else "--scheduler"
    if workers is not None and workers < 1:
        raise ClusterOptionError(f"--workers: got {workers}; allowed: an integer >= 1")
    if not dask_available():
        raise ClusterOptionError(f"{option}: dask.distributed is not installed; install it "
                                 f"with: {INSTALL_HINT}")
    if not deal.has_money:
        raise ClusterOptionError(f"{option}: the scenario has no money terms; an outcome-only "
                                 "run is single-process (leave the option out)")
    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(cluster_client(workers=workers, scheduler=scheduler))
        except OSError as err:  # includes a timeout reaching the scheduler
            raise ClusterOptionError(f"{option}: cannot reach the dask cluster: {err}"
                                     ) from None
        yield client
