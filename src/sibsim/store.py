"""Results streamed to a zarr store block by block: bounded memory, resumable, never mistaken
for complete when interrupted.

:func:`analyse_to_zarr` runs a deal block by block (in this process, or on a dask cluster with
``client=``) and writes each block's per-draw results into the store with region writes
(``xarray.Dataset.to_zarr(region=...)``, a block being a chunk of every variable), so the
memory is one block (plus the blocks in flight on the cluster) however many draws there are. On
a cluster each worker writes the blocks it computes, when it shares the store's file system.
The store has one zarr group per step (``outcomes``, ``money``, ``investors``,
``municipality``, ``breakeven``), the draws of every block written being listed in the root
attribute ``sibsim_blocks_done``; the root attribute ``sibsim_complete`` is written last, after
every block. :func:`open_store` refuses a store without it (:class:`IncompleteStoreError`), and
``resume=True`` computes the missing blocks only.

Every block is the one function of a single-process run (:func:`sibsim.report.run_block`),
so the store holds the same numbers, to the last bit, as ``sibsim.analyse``. The break-even
curves (means over draws) are summed from the stored per-draw values with
:class:`~sibsim.analysis.blocks.DrawSum` (the same partition of the draws, so the same bits),
and the headline summaries (means, quantiles, P(loss)) of :meth:`SIBResults.headline` read the
per-draw variables they need from the store and match those of the in-memory run exactly.

Needs zarr (``pip install sibsim[dask]``). The yearly budget is not stored: :func:`open_store`
computes it from the stored money (it loads every draw's payments by payer and period).

Examples
--------
>>> import sibsim                                                     # doctest: +SKIP
>>> from sibsim.store import analyse_to_zarr, open_store              # doctest: +SKIP
>>> deal = sibsim.load_scenario("peterborough")                       # doctest: +SKIP
>>> analyse_to_zarr(deal, "pb.zarr", draws=1_000_000, seed=1)         # doctest: +SKIP
>>> open_store("pb.zarr").headline()["p_investor_loss"].item()        # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sibsim.analysis.breakeven import _CURVES, BreakevenBlocks, searched_effect
from sibsim.money.deal import Deal
from sibsim.report import SIBResults, run_block

__all__ = ["IncompleteStoreError", "StoreMismatchError", "analyse_to_zarr", "open_store",
           "store_status"]

#: The per-draw groups written block by block.
STORE_GROUPS = ("outcomes", "money", "investors", "municipality", "breakeven")
#: Per-draw curve values kept in the breakeven group (summed into the curves at opening).
CURVE_PREFIX = "curve_values_"
DONE, COMPLETE = "sibsim_blocks_done", "sibsim_complete"


class IncompleteStoreError(ValueError):
    """The store was interrupted before every block was written (finish it with resume)."""


class StoreMismatchError(ValueError):
    """Resuming a store written for another deal, seed, draw count or block size."""


def _zarr() -> Any:
    try:
        import zarr
    except ImportError:
        raise ImportError("results streamed to zarr need zarr: pip install sibsim[dask]"
                          ) from None
    return zarr


def _fingerprint(deal: Deal) -> str:
    return hashlib.sha256(repr(deal).encode()).hexdigest()


def _identity(deal: Deal, draws: int, seed: int, engine: str, block: int,
              with_breakeven: bool, confidence: float) -> dict:
    return {"sibsim_deal": deal.name, "sibsim_deal_sha256": _fingerprint(deal),
            "sibsim_draws": int(draws), "sibsim_seed": int(seed), "sibsim_engine": engine,
            "sibsim_block_draws": int(block), "sibsim_breakeven": bool(with_breakeven),
            "sibsim_confidence": float(confidence)}


def _root_attrs(path: Path) -> dict:
    return dict(_zarr().open_group(str(path), mode="r").attrs)


def store_status(path: str | os.PathLike) -> dict:
    """What a store holds: its identity, the first draws of the blocks done, complete or not.

    >>> store_status("pb.zarr")["complete"]   # doctest: +SKIP
    True
    """
    attrs = _root_attrs(Path(path))
    return {"complete": bool(attrs.get(COMPLETE, False)), "blocks_done": list(attrs.get(DONE, [])),
            **{k: v for k, v in attrs.items() if k.startswith("sibsim_")}}


def _block_groups(block: dict) -> dict[str, xr.Dataset]:
    out = {g: block[g] for g in STORE_GROUPS if g in block}
    if "curves" in block:
        be = out["breakeven"]
        n = be.sizes["draw"]
        out["breakeven"] = be.assign({
            CURVE_PREFIX + name: xr.Variable(("draw", "effect_grid"),
                                             np.asarray(block["curves"][name]).reshape(n, -1))
            for name in _CURVES})
    return out


def _clean(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    for var in out.variables.values():
        var.encoding = {}
    return out


def _initialise(path: Path, first_block: dict, draws: int, block: int, identity: dict) -> None:
    """A new store (replacing any at ``path``): the run's identity, then every group's metadata
    from the first block (:func:`_initialise_groups`)."""
    _initialise_root(path, identity)
    _initialise_groups(path, first_block, draws, block)


def _initialise_root(path: Path, identity: dict) -> None:
    """A new, empty store (replacing any at ``path``) holding the run's identity, no block
    done."""
    _zarr().open_group(str(path), mode="w").attrs.update({**identity, DONE: [], COMPLETE: False})


def _initialise_groups(path: Path, first_block: dict, draws: int, block: int) -> None:
    """Write every group's metadata, sized for all draws (chunks of one block), and the
    variables without a draw dimension, into the store :func:`_initialise_root` made."""
    import dask.array as da

    for g, ds in _block_groups(first_block).items():
        ds = _clean(ds)
        template, chunks = {}, {}
        for name, var in ds.data_vars.items():
            if "draw" in var.dims:
                shape = tuple(draws if d == "draw" else s for d, s in zip(var.dims, var.shape,
                                                                          strict=True))
                chunks[name] = tuple(block if d == "draw" else s
                                     for d, s in zip(var.dims, var.shape, strict=True))
                # one dask chunk (named: dask need not tokenize the never computed template),
                # the store's chunks of one block each given as its encoding: a graph of one
                # task per variable, whatever the number of blocks
                template[name] = xr.Variable(var.dims, da.zeros(
                    shape, dtype=var.dtype, chunks=shape, name=f"sibsim-template-{g}-{name}"),
                    attrs=var.attrs)
            else:
                template[name] = var
        coords = {k: v for k, v in ds.coords.items() if k != "draw"}
        coords["draw"] = xr.Variable("draw", np.arange(draws, dtype=ds["draw"].dtype),
                                     attrs=ds["draw"].attrs)
        full = xr.Dataset(template, coords=coords, attrs=ds.attrs)
        if "draws" in full.attrs:
            full.attrs["draws"] = draws
        with warnings.catch_warnings():
            # labels (payer, tranche, ...) are fixed-length strings, not yet in zarr v3's spec
            warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 spec")
            # metadata of every variable; the values of the numpy-backed ones (the draw
            # coordinate, the variables without draws) are written now, the per-draw ones
            # (dask templates, never computed) block by block
            full.to_zarr(str(path), group=g, mode="a", compute=False, consolidated=False,
                         encoding={name: {"chunks": c} for name, c in chunks.items()})


#: The zarr arrays of the store this process last wrote into, opened once for all its blocks:
#: (store path, run key) -> {(group, variable): zarr array}.
_OPENED: dict[tuple[str, str], dict[tuple[str, str], Any]] = {}
_OPENED_LOCK = threading.Lock()


def _opened_arrays(path: Path, run: str, groups: dict[str, xr.Dataset]) -> dict:
    """The store's per-draw zarr arrays, opened once per run (``run``: a key new for every run,
    so a store replaced at the same path is opened afresh)."""
    key = (str(path), run)
    with _OPENED_LOCK:
        arrays = _OPENED.get(key)
        if arrays is None:
            _OPENED.clear()  # one store at a time: the previous run's arrays are let go
            root = _zarr().open_group(str(path), mode="r+")
            arrays = {}
            for g, ds in groups.items():
                grp = root[g]
                for name, var in ds.data_vars.items():
                    if "draw" in var.dims:
                        arrays[(g, name)] = grp[name]
            _OPENED[key] = arrays
    return arrays


def _write_region(path: Path, block: dict, run: str) -> None:
    """Write a block's per-draw variables into their region of the store (its own chunks, so
    blocks written by different processes at once never share a chunk).

    Each variable whose values the store holds as they are (draws first, the same dtype) is
    written straight into its zarr array, the arrays being opened once for the run (``run``:
    its key); the others go through xarray's region write (its encoding)."""
    lo, n = int(block["first"]), int(block["n"])
    groups = _block_groups(block)
    arrays = _opened_arrays(path, run, groups)
    for g, ds in groups.items():
        rest = []
        for name, var in ds.data_vars.items():
            if "draw" not in var.dims:
                continue
            arr = arrays.get((g, name))
            if arr is not None and var.dims[0] == "draw" and arr.dtype == var.dtype:
                arr[lo:lo + n] = var.values
            else:
                rest.append(name)
        if not rest:
            continue
        per_draw = _clean(ds)[rest]
        per_draw = per_draw.drop_vars([c for c in per_draw.coords if c != "draw"])
        per_draw.attrs = {}
        per_draw.drop_vars("draw").to_zarr(str(path), group=g, region={"draw": slice(lo, lo + n)},
                                           consolidated=False)


def _mark_done(path: Path, first: int) -> None:
    """List a written block in the root attribute (only the client writes root attributes)."""
    root = _zarr().open_group(str(path), mode="r+")
    root.attrs[DONE] = [*root.attrs.get(DONE, []), int(first)]


#: A file in the store naming the run that may write into it now: a worker writes a block
#: itself only when it sees this file with the run's token (it shares the client's file
#: system); otherwise it sends the block to the client, which writes it.
WRITER_TOKEN = "sibsim-writer-token"


def _set_writer_token(path: Path, token: str | None) -> None:
    target = path / WRITER_TOKEN
    if token is None:
        target.unlink(missing_ok=True)
    else:
        target.write_text(token)


def _sees_store(path: str, token: str) -> bool:
    """This process sees the store of the run ``token`` (its writer token file): it shares
    the client's file system."""
    try:
        return (Path(path) / WRITER_TOKEN).read_text() == token
    except OSError:
        return False


def initialise_on_worker(path: str, token: str, draws: int, block_draws: int,
                         block: dict) -> dict:
    """On a dask worker, with the run's first block: initialise the store's groups from it
    (:func:`_initialise_groups`; the client made the store and wrote the token) and write it,
    if this worker sees the store of this run (``token``), returning ``{"first", "n",
    "written": True}``; else return the block, from which the client initialises the store.
    The worker that computed the first block does this, so the other workers go on computing
    meanwhile and no block crosses to the client."""
    if not _sees_store(path, token):
        return block
    _initialise_groups(Path(path), block, draws, block_draws)
    return write_on_worker(path, token, block)


def write_on_worker(path: str, token: str, block: dict) -> dict:
    """On a dask worker: write ``block`` into the store at ``path`` if this worker sees the
    store of this run (``token``), and return ``{"first", "n", "written": True}``; else
    return the block itself for the client to write."""
    if not _sees_store(path, token):
        return block
    _write_region(Path(path), block, token)
    return {"first": int(block["first"]), "n": int(block["n"]), "written": True}


def analyse_to_zarr(deal: Deal, path: str | os.PathLike, *, draws: int, seed: int,
                    engine: str = "auto", block_draws: int | None = None,
                    with_breakeven: bool = True, client: Any = None, resume: bool = False,
                    progress: bool | None = None, confidence: float = 0.9) -> Path:
    """Run ``deal`` block by block into the zarr store ``path`` (see the module notes).

    ``resume=True``: finish the store an interrupted run left (same deal, draws, seed, engine
    and block size, else :class:`StoreMismatchError`), computing the missing blocks only; a
    complete store is left as it is. Without it an existing store is replaced.
    ``client``: compute the blocks on this dask cluster (:mod:`sibsim.distributed`). This
    process initialises the store from the first block; every other block is written by the
    worker that computed it, when the worker sees the store (it shares this file system: a
    local cluster always does), else sent here and written by this process. Only this process
    lists the blocks done and marks the store complete. ``confidence``: of the yearly budget that
    :func:`open_store` computes (see :func:`sibsim.analyse`).
    """
    from sibsim.engine.progress import Progress
    from sibsim.resources import estimate_run
    from sibsim.spec import _validate as v

    path = Path(path)
    draws = v.positive_int("draws", draws)
    do_be = with_breakeven and searched_effect(deal).effect is not None
    if block_draws is None:
        est = estimate_run(deal, draws, engine=engine, with_breakeven=do_be,
                           keep_outcomes=True)
        block_draws = est.block_draws
        if client is not None:
            from sibsim.distributed import default_block_draws

            block_draws = default_block_draws(draws, sum(client.nthreads().values()),
                                              block_draws,
                                              (est.work_per_draw, est.kept_per_draw))
    block = v.positive_int("block_draws", min(block_draws, draws))
    identity = _identity(deal, draws, seed, engine, block, do_be, confidence)
    search = (BreakevenBlocks(deal, effect_range=deal.breakeven.effect_range,
                              grid=deal.breakeven.grid) if do_be else None)
    starts = list(range(0, draws, block))
    done: set[int] = set()
    if resume and path.exists():
        status = store_status(path)
        theirs = {k: status.get(k) for k in identity}
        if theirs != identity:
            diff = ", ".join(f"{k.removeprefix('sibsim_')}: store {theirs[k]!r}, "
                             f"asked {identity[k]!r}" for k in identity if theirs[k] != identity[k])
            raise StoreMismatchError(f"{path}: cannot resume a store of another run ({diff})")
        if status["complete"]:
            return path
        done = set(status["blocks_done"])
    todo = [s for s in starts if s not in done]
    bar = Progress(draws, progress)
    bar.update(draws - sum(min(block, draws - s) for s in todo))
    run = uuid.uuid4().hex  # this run's key: its writers' token, its opened arrays
    if client is not None:
        from sibsim.distributed import blocks_into_store, numba_threads_by_host

        # the workers write their blocks into the store themselves (their token: the run's
        # key), the worker of the first block having initialised it (or this process, from
        # that block, where the worker does not see the store); this process lists the blocks

        def initialise(first_block: dict) -> None:  # the workers may write once it is done
            _initialise_groups(path, first_block, draws, block)

        if 0 in todo:  # a new store (else: resuming an initialised one)
            _initialise_root(path, identity)
        _set_writer_token(path, run)
        blocks = blocks_into_store(client, str(path), run, initialise if 0 in todo else None,
                                   deal, draws, seed, engine, block, search,
                                   numba_threads_by_host(client), retries=2, starts=todo)
    else:
        blocks = (run_block(deal, s, min(block, draws - s), seed, engine, search) for s in todo)
    for result in blocks:
        if not result.get("written"):
            # a new store (on a cluster, initialise() made it before the first block came)
            if result["first"] == 0 and client is None:
                _initialise(path, result, draws, block, identity)
            _write_region(path, result, run)
        _mark_done(path, result["first"])
        done.add(result["first"])
        bar.update(result["n"])
    bar.close()
    if client is not None:
        _set_writer_token(path, None)
    if set(starts) - done:  # pragma: no cover - every block was computed above
        raise IncompleteStoreError(f"{path}: blocks missing after the run")
    root = _zarr().open_group(str(path), mode="r+")
    root.attrs[COMPLETE] = True  # last: a store without it is never taken for complete
    return path


def open_store(path: str | os.PathLike, *, deal: Deal | None = None) -> SIBResults:
    """The results in a complete store (:class:`IncompleteStoreError` if it was interrupted).

    The per-draw variables are read lazily (only what is used is loaded); the break-even
    curves are summed from the stored per-draw values in the partition of a single-process
    run, so they are bitwise those of :func:`sibsim.analyse`; the yearly budget is computed
    from the stored money. ``deal``: the deal of the run (default: the built-in scenario of
    the name stored; give it for a deal from a file or changed in Python).
    """
    path = Path(path)
    status = store_status(path)
    if not status["complete"]:
        raise IncompleteStoreError(
            f"{path}: the run that wrote this store was interrupted ({len(status['blocks_done'])}"
            " blocks written); finish it with `sibsim run ... --resume` or "
            "analyse_to_zarr(..., resume=True)")
    groups = {g: xr.open_zarr(str(path), group=g, chunks=None, consolidated=False)
              for g in STORE_GROUPS if g != "breakeven" or status.get("sibsim_breakeven")}
    for ds in groups.values():
        for var in ds.variables.values():
            var.encoding = {}
    be = groups.pop("breakeven", None)
    if deal is None:
        import sibsim

        deal = sibsim.load_scenario(status["sibsim_deal"])
    if _fingerprint(deal) != status.get("sibsim_deal_sha256"):
        raise StoreMismatchError(f"{path}: the store was written for another version of deal "
                                 f"{status['sibsim_deal']!r}; pass the deal of the run")
    if be is not None:
        search = BreakevenBlocks(deal, effect_range=deal.breakeven.effect_range,
                                 grid=deal.breakeven.grid)
        block = int(status["sibsim_block_draws"])
        D = be.sizes["draw"]
        for lo in range(0, D, block):
            sl = slice(lo, min(lo + block, D))
            search.add_curves({name: be[CURVE_PREFIX + name].isel(draw=sl).values
                               for name in _CURVES})
        be = search.finish(be.drop_vars([CURVE_PREFIX + n for n in _CURVES]).load())
    res = SIBResults(breakeven=be, **groups)
    from sibsim.analysis.budget import yearly_budget

    res.budget = yearly_budget(res.money, deal, float(status["sibsim_confidence"]))
    return res


# ----------------------------------------------------------------------------- command line
def add_store_options(parser: Any) -> None:
    """``--resume`` of ``sibsim run``."""
    parser.add_argument("--resume", action="store_true",
                        help="finish the zarr store (--out NAME.zarr) that an interrupted run "
                             "with the same options left: compute the missing blocks only")


def run_store_command(args: Any, deal: Deal, out: Path, progress: bool | None,
                      fail: Any) -> int:
    """``sibsim run ... --out NAME.zarr [--resume]``: stream, summarise from the store."""
    import sys
    import warnings

    from sibsim import report
    from sibsim.distributed import ClusterOptionError, cluster

    if out.suffix.lower() != ".zarr":
        return fail(f"--resume: --out is {str(out)!r}; allowed: a zarr store (a name ending in "
                    ".zarr) written by an interrupted run")
    if getattr(args, "report", None) is not None:
        return fail("--report: the council report is written from a netCDF run for now; "
                    "leave --report out with a .zarr store")
    if not deal.has_money:
        return fail(f"--out: {out} is a zarr store; streamed results are for scenarios with "
                    "money terms (write an outcome-only run to a .nc file)")
    if out.exists() and not out.is_dir():
        return fail(f"--out: {out} exists and is not a zarr store (a folder); refusing to write "
                    "on it")
    try:
        _zarr()
    except ImportError as err:
        return fail(f"--out: {err}")
    if args.resume and not out.exists():
        return fail(f"--resume: {out} does not exist; run without --resume to start it")
    if (not args.resume and out.exists() and any(out.iterdir())
            and not (out / "zarr.json").exists() and not (out / ".zgroup").exists()):
        return fail(f"--out: {out} is a folder that is not a zarr store; refusing to replace it")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", report.UnfundedCostsWarning)
            warnings.simplefilter("always", report.BeyondHorizonWarning)
            with cluster(args, deal) as client:
                analyse_to_zarr(deal, out, draws=args.draws, seed=args.seed, engine=args.engine,
                                block_draws=args.block_draws, client=client,
                                resume=args.resume, progress=progress,
                                confidence=args.confidence)
            res = open_store(out, deal=deal)
            lines = [report.describe(res, deal), "",
                     f"Results written to {out} (zarr store; groups: "
                     + ", ".join(STORE_GROUPS if res.breakeven is not None
                                 else STORE_GROUPS[:-1]) + ")"]
            if args.figure is not None:
                from sibsim.plots import save_figure, sib_summary_figure

                fig = sib_summary_figure(res.money, res.investors, res.municipality,
                                         be=res.breakeven, curve=res.breakeven,
                                         title=deal.scenario.name)
                save_figure(fig, args.figure)
                import matplotlib.pyplot as plt

                plt.close(fig)
                lines.append(f"Figure written to {args.figure}")
            if args.budget is not None:
                from sibsim.analysis.budget import write_budget_table

                write_budget_table(res.budget, args.budget, lang=args.lang)
                lines.append(f"Yearly budget table written to {args.budget}")
    except ClusterOptionError as err:
        return fail(str(err))
    except (StoreMismatchError, IncompleteStoreError) as err:
        return fail(str(err))
    except (ValueError, TypeError) as err:
        return fail(f"{args.scenario}: {err}")
    except OSError as err:
        return fail(f"cannot write the results: {err}")
    print("\n".join(lines))
    for w in caught:
        print(f"sibsim: warning: {w.message}", file=sys.stderr)
    return 0
