"""Scale: dask.distributed workers, dask's overhead, and a worker's memory on a streamed run.

Usage::

    python benchmarks/bench_scale.py [--draws 40000] [--store-draws 200000] [--full]

Writes ``benchmarks/results/scale.json``:

* ``workers_2_vs_1_throughput_ratio``: draws per second of a ``LocalCluster`` of 2 worker
  processes over one of 1 worker process (1 dask thread and 1 numba thread each), on a run
  streamed to a zarr store (:func:`sibsim.store.analyse_to_zarr`, ``--streamed-draws``, the
  path for runs beyond one machine's memory: each worker writes the blocks it computes);
* ``dask_overhead_vs_single_process``: time of the 2-worker cluster over a single-process run
  with 2 numba threads (the same cores), streamed the same way; ``dask_overhead_1_core``: 1
  worker over a single-process run with 1 numba thread. ``streamed`` holds these runs' times;
  ``in_memory`` holds the same three comparisons for ``sibsim.analyse(..., client=)``
  (``--draws``), where every block's results go to the client, which puts them together;
* ``peak_rss_mb_per_worker_1e7_draws``: the largest peak resident memory (VmHWM, reset when
  the workers start) of a worker of a ``LocalCluster`` of 2 single-thread workers streaming 10
  million draws to zarr with the default block size (``--full``, or ``--stream-only 10000000``
  alone: about 20-45 minutes on the shared 2-core machine); ``stream`` records that run (draws,
  seconds, each worker's peak, the client's peak, the store's size). Without it,
  ``peak_rss_mb_per_worker_measured`` gives the peak at ``--store-draws`` draws (a worker holds
  its block and the finished blocks waiting for the client, so it does not grow with the
  draws);
* ``programme_300_deals_1e4_draws_s``: seconds to run the example programme of 300
  municipalities (``examples/programme``: the child-welfare template, 6-567 children a deal)
  with 10,000 draws a deal (:func:`sibsim.programme.run_programme`, no break-even search), in
  one process; ``programme_seconds`` also gives it on a ``LocalCluster`` of 2 worker processes
  (1 numba thread each). ``--programme-deals N`` times the first N deals only and extrapolates
  to 300 in proportion to their participants (stated in ``programme_notes``).
  ``--programme-only`` measures this alone; ``--no-programme`` leaves it out. Keys not
  measured in a run keep their values of the previous run;
* diagnostics of the overhead: ``block_result_bytes_per_draw`` (what a worker sends the client
  for each draw of a block: the money, metrics and outcome datasets) and
  ``dask_transfer_mb_per_s`` (16 arrays of 17 MB, a block's worth each, sent from a worker of
  the 1-worker cluster to the client, in order, as a run's blocks are);
* ``--breakeven``: the same comparisons with the break-even search (``analyse``'s default and
  the main job's), under keys ending in ``_with_breakeven`` (``--draws`` defaults to 10,000
  there); the keys above are left as they are.

The whole chain runs (outcomes, counterfactual, money, metrics) for the Peterborough deal,
without the break-even search (its grid multiplies the money chain ~40 times and would dominate
every figure equally). Each time is the best of ``--repeats`` runs after a warm-up run (numba
kernels loaded from the cache on every worker). The machines are shared: the JSON records the
load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _peak_rss_mb() -> float:
    """This process's peak resident memory since the last :func:`_reset_peak_rss` (VmHWM)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # KiB
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> bool:
    """Start this process's peak resident memory afresh (Linux: ``5`` into clear_refs), so a
    worker's peak is the streamed run's, not that of the timing runs before it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:  # pragma: no cover - not Linux, or not allowed
        return False


def _best(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def stream(draws: int) -> dict:
    """Stream ``draws`` Peterborough draws to zarr on a ``LocalCluster`` of 2 single-thread
    workers with the default block size; each worker's peak memory from the start of the run."""
    import shutil

    import sibsim
    from sibsim.distributed import cluster_client
    from sibsim.store import analyse_to_zarr, store_status

    deal = sibsim.load_scenario("peterborough")
    tmp = Path(tempfile.mkdtemp(prefix="sibsim-scale-"))
    try:
        with cluster_client(workers=2, numba_threads=1) as client:
            client.run(_reset_peak_rss)
            t = time.perf_counter()
            analyse_to_zarr(deal, tmp / "s.zarr", draws=draws, seed=1, with_breakeven=False,
                            client=client, progress=False)
            seconds = time.perf_counter() - t
            peaks = sorted(round(x, 1) for x in client.run(_peak_rss_mb).values())
        block = int(store_status(tmp / "s.zarr")["sibsim_block_draws"])
        size = sum(f.stat().st_size for f in (tmp / "s.zarr").rglob("*") if f.is_file())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"draws": draws, "block_draws": block, "seconds": round(seconds, 1),
            "peak_rss_mb_per_worker": peaks, "client_peak_rss_mb": round(_peak_rss_mb(), 1),
            "store_gb": round(size / 1e9, 2),
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--draws", type=int, default=None,
                   help="draws of each run (default 40,000; 10,000 with --breakeven)")
    p.add_argument("--block-draws", type=int, default=5_000)
    p.add_argument("--store-draws", type=int, default=200_000)
    p.add_argument("--streamed-draws", type=int, default=100_000,
                   help="draws of each streamed run of the scaling comparison")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--full", action="store_true", help="also stream 10 million draws")
    p.add_argument("--programme-deals", type=int, default=300,
                   help="deals of the example programme timed (extrapolated to 300)")
    p.add_argument("--programme-only", action="store_true",
                   help="time the programme alone; keep the rest of scale.json")
    p.add_argument("--no-programme", action="store_true", help="leave the programme out")
    p.add_argument("--breakeven", action="store_true",
                   help="compare with the break-even search (keys *_with_breakeven)")
    p.add_argument("--stream-only", type=int, default=None, metavar="DRAWS",
                   help="only stream DRAWS draws to zarr on 2 workers (10000000: the 1e7 key)")
    args = p.parse_args(argv)
    path = HERE / "results" / "scale.json"
    if args.stream_only is not None or args.full:
        n = args.stream_only if args.stream_only is not None else 10_000_000
        out = json.loads(path.read_text()) if path.exists() else {}
        run = stream(n)
        out["stream"] = run | {"command": "python benchmarks/bench_scale.py "
                                          + " ".join(argv if argv is not None else sys.argv[1:])}
        if n == 10_000_000:
            out["peak_rss_mb_per_worker_1e7_draws"] = max(run["peak_rss_mb_per_worker"])
        path.write_text(json.dumps(out, indent=2) + "\n")
        json.dump(out, sys.stdout, indent=2)
        print()
        if args.stream_only is not None:
            return 0
    if args.programme_only:
        out = json.loads(path.read_text()) if path.exists() else {}
        out.update(programme(args.programme_deals))
        out["notes"] = out.get("notes", "").replace(
            "programme sweeps (issue 9 section 4) are not implemented: null. ", "")
        path.write_text(json.dumps(out, indent=2) + "\n")
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0


    import numba

    import sibsim
    from sibsim.distributed import cluster_client
    from sibsim.store import analyse_to_zarr

    deal = sibsim.load_scenario("peterborough")
    D, B = args.draws or 40_000, args.block_draws
    load_before = os.getloadavg()
    if args.breakeven:
        return breakeven_scaling(deal, path, args.draws or 10_000, B, args.repeats)

    def single(threads: int) -> float:
        numba.set_num_threads(threads)
        return _best(lambda: sibsim.analyse(deal, draws=D, seed=1, progress=False,
                                            with_breakeven=False, block_draws=B), args.repeats)

    t_single_1 = single(1)
    t_single_2 = single(min(2, numba.config.NUMBA_NUM_THREADS))
    out: dict = json.loads(path.read_text()) if path.exists() else {}
    times = {}
    for workers in (1, 2):
        with cluster_client(workers=workers, numba_threads=1) as client:
            times[workers] = _best(lambda c=client: sibsim.analyse(
                deal, draws=D, seed=1, progress=False, with_breakeven=False, block_draws=B,
                client=c), args.repeats)
            if workers == 1:
                out.update(transfer_diagnostics(client, deal, B))
            if workers == 2:
                reset = all(client.run(_reset_peak_rss).values())
                with tempfile.TemporaryDirectory() as tmp:
                    n = args.store_draws
                    t = time.perf_counter()
                    analyse_to_zarr(deal, Path(tmp) / "scale.zarr", draws=n, seed=1,
                                    block_draws=B, with_breakeven=False, client=client,
                                    progress=False)
                    store_s = time.perf_counter() - t
                peak = max(client.run(_peak_rss_mb).values())
                out["peak_rss_mb_per_worker_measured"] = round(peak, 1)
                out["peak_rss_reset_before_store"] = reset
                out["store_draws"] = n
                out["store_seconds"] = round(store_s, 2)
    in_memory = _comparison(t_single_1, t_single_2, times, D, B,
                            "sibsim.analyse(..., client=): every block's results sent to the "
                            "client and put together in its memory")
    streamed = streamed_scaling(deal, args.streamed_draws, B, args.repeats)
    out.pop("seconds", None)  # the keys of earlier runs, now under in_memory / streamed
    out.pop("draws", None)
    out.update({
        # the keys: the streamed run (the path for runs beyond one machine's memory)
        "workers_2_vs_1_throughput_ratio": streamed["workers_2_vs_1_throughput_ratio"],
        "dask_overhead_vs_single_process": streamed["dask_overhead_vs_single_process"],
        "dask_overhead_1_core": streamed["dask_overhead_1_core"],
        "target_keys_measured_on": "streamed (analyse_to_zarr); in_memory gives the same "
                                   "comparison for sibsim.analyse(client=)",
        "streamed": streamed, "in_memory": in_memory,
        "block_draws": B, "with_breakeven": False, "deal": "peterborough",
        "cores": len(os.sched_getaffinity(0)),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "notes": "peak_rss_mb_per_worker_1e7_draws: see 'stream' (--full or --stream-only "
                 "10000000).",
    })
    if not args.no_programme:
        out.update(programme(args.programme_deals))
    path.write_text(json.dumps(out, indent=2) + "\n")
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


def streamed_scaling(deal, draws: int, block: int, repeats: int) -> dict:
    """The same comparison for a run streamed to a zarr store (:func:`analyse_to_zarr`): one
    process writing every block, against 1 and 2 single-thread workers that each write the
    blocks they compute (the client only lists them)."""
    import shutil

    from sibsim.store import analyse_to_zarr

    tmp = Path(tempfile.mkdtemp(prefix="sibsim-scale-"))

    def run(client=None) -> float:
        return _best(lambda: analyse_to_zarr(deal, tmp / "s.zarr", draws=draws, seed=1,
                                             block_draws=block, with_breakeven=False,
                                             client=client, progress=False), repeats)

    try:
        t_single_1, t_single_2, times = _four_timings(run)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _comparison(t_single_1, t_single_2, times, draws, block,
                       "sibsim.store.analyse_to_zarr: every block written into a zarr store, by "
                       "the one process or by the worker that computed it")


def _four_timings(run, warm=None) -> tuple[float, float, dict[int, float]]:
    """Seconds of ``run(client)`` in one process on 1 and on 2 numba threads (``client`` None),
    then on local clusters of 1 and 2 single-thread workers (``warm(client)`` first, if
    given)."""
    import numba

    from sibsim.distributed import cluster_client

    numba.set_num_threads(1)
    t_single_1 = run()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    t_single_2 = run()
    times = {}
    for workers in (1, 2):
        with cluster_client(workers=workers, numba_threads=1) as client:
            if warm is not None:
                warm(client)
            times[workers] = run(client)
    return t_single_1, t_single_2, times


def _comparison(t_single_1: float, t_single_2: float, times: dict, draws: int, block: int,
                what: str) -> dict:
    """The three ratios of one comparison (2 workers / 1, cluster / one process) and its
    times."""
    return {
        "workers_2_vs_1_throughput_ratio": round(times[1] / times[2], 3),
        "dask_overhead_vs_single_process": round(times[2] / t_single_2, 3),
        "dask_overhead_1_core": round(times[1] / t_single_1, 3),
        "seconds": {"single_process_1_thread": round(t_single_1, 3),
                    "single_process_2_threads": round(t_single_2, 3),
                    "cluster_1_worker": round(times[1], 3),
                    "cluster_2_workers": round(times[2], 3)},
        "draws": draws, "block_draws": block, "what": what,
    }


def _array(n: int, i: int):
    import numpy as np

    return np.full(n, float(i))


def transfer_diagnostics(client, deal, block: int) -> dict:
    """Bytes a block sends the client per draw, and dask's transfer rate on this machine."""
    import pickle

    from sibsim.distributed import in_order
    from sibsim.report import run_block

    res = run_block(deal, 0, block, 1, "auto", None, threads=1)
    bufs: list = []
    head = pickle.dumps(res, protocol=5, buffer_callback=bufs.append)
    per_draw = (len(head) + sum(memoryview(b).nbytes for b in bufs)) / block
    n = 17_000_000 // 8
    list(in_order(client, ((f"warm-{i}", _array, (n, i)) for i in range(2))))
    best = float("inf")
    for r in range(2):
        t = time.perf_counter()
        list(in_order(client, ((f"xfer-{r}-{i}", _array, (n, i)) for i in range(16))))
        best = min(best, time.perf_counter() - t)
    return {"block_result_bytes_per_draw": round(per_draw),
            "dask_transfer_mb_per_s": round(16 * n * 8 / 1e6 / best, 1)}


def breakeven_scaling(deal, path: Path, draws: int, block: int, repeats: int) -> int:
    """The workers' scaling and dask's overhead with the break-even search."""

    import sibsim

    load_before = os.getloadavg()

    def run(client=None) -> float:
        return _best(lambda: sibsim.analyse(deal, draws=draws, seed=1, progress=False,
                                            block_draws=block, client=client), repeats)

    t_single_1, t_single_2, times = _four_timings(run, warm=lambda client: sibsim.analyse(
        deal, draws=block * len(client.nthreads()), seed=1, progress=False, block_draws=block,
        client=client))  # warm every worker
    cmp = _comparison(t_single_1, t_single_2, times, draws, block, "")
    out: dict = json.loads(path.read_text()) if path.exists() else {}
    out.update({
        f"{key}_with_breakeven": value for key, value in cmp.items()
        if key.endswith(("_ratio", "_process", "_core"))})
    out["seconds_with_breakeven"] = {
        **cmp["seconds"], "draws": draws, "block_draws": block,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    path.write_text(json.dumps(out, indent=2) + "\n")
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


def programme(deals: int, draws: int = 10_000) -> dict:
    """``programme_300_deals_1e4_draws_s``: the example programme, in one process and on 2
    worker processes (the first ``deals`` deals, extrapolated to all in proportion to their
    participants)."""

    from sibsim.distributed import cluster_client
    from sibsim.programme import Programme, load_programme, run_programme

    root = HERE.parent / "examples" / "programme"
    full = load_programme(root / "child-welfare.toml", root / "municipalities.csv")
    n = min(deals, len(full))
    sub = Programme(full.template, full.names[:n], full.columns, full.values[:n])
    people = sum(d.scenario.cohort.size for d in full.deals)
    scale = people / sum(d.scenario.cohort.size for d in sub.deals)
    warm = Programme(full.template, full.names[:2], full.columns, full.values[:2])
    load_before = os.getloadavg()
    run_programme(warm, draws=200, seed=1, progress=False)  # numba kernels from the cache
    t = time.perf_counter()
    run_programme(sub, draws=draws, seed=1, progress=False)
    one = time.perf_counter() - t
    with cluster_client(workers=2, numba_threads=1) as client:
        run_programme(warm, draws=200, seed=1, progress=False, client=client)
        t = time.perf_counter()
        run_programme(sub, draws=draws, seed=1, progress=False, client=client)
        two = time.perf_counter() - t
    note = (f"the example programme (examples/programme, {len(full)} deals, {people:,} "
            f"children), {draws:,} draws a deal, no break-even search, one run each")
    if n < len(full):
        note += (f"; timed on the first {n} deals and extrapolated in proportion to their "
                 f"participants (x{scale:.2f})")
    else:
        scale = 1.0
    return {"programme_300_deals_1e4_draws_s": round(one * scale, 1),
            "programme_seconds": {"single_process": round(one * scale, 1),
                                  "cluster_2_workers": round(two * scale, 1)},
            "programme_deals_timed": n,
            "programme_load_average": [[round(x, 2) for x in load_before],
                                       [round(x, 2) for x in os.getloadavg()]],
            "programme_notes": note}


if __name__ == "__main__":
    raise SystemExit(main())
