"""Runs processed in blocks of draws give the results of one pass, to the last bit; the memory
a run needs is estimated first, and a run that cannot fit is refused before it starts."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from results_equal import assert_same_dataset
from sibsim import resources
from sibsim.analysis.blocks import SUM_CHUNK, DrawAssembler, DrawSum, DrawSumPart
from sibsim.analysis.breakeven import breakeven
from sibsim.cli import main
from sibsim.money.deal import BreakevenSearch, Deal
from sibsim.money.evaluation import evaluate
from sibsim.money.kernels import waterfall as wf
from sibsim.money.sib import counterfactual, counterfactual_of, money_flows
from sibsim.report import GROUPS, analyse, open_results, run_and_report
from sibsim.resources import RunTooLargeError, check_fits, estimate_run

pytestmark = pytest.mark.usefixtures("warm_kernels")

ENGINES = ("individual", "aggregate", "expected")
SPLITS = ([0, 3, 10], [0, 1, 2, 9, 10], [0, 7, 10])  # block boundaries of 10 draws


def _no_attrs(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {}
    return out


_same_run = assert_same_dataset


# ----------------------------------------------------------------------- the draw offset
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["binary", "absorbing", "counts", "markov", "uncertain"])
def test_a_block_of_draws_is_that_slice_of_the_whole_run(all_scenarios, kind, engine):
    sc = all_scenarios[kind]
    whole = sibsim.simulate(sc, draws=10, seed=5, engine=engine, progress=False)
    for bounds in SPLITS:
        for lo, hi in itertools.pairwise(bounds):
            block = sibsim.simulate(sc, draws=hi - lo, seed=5, engine=engine, progress=False,
                                    first_draw=lo)
            assert block["draw"].values.tolist() == list(range(lo, hi))
            # every variable and coordinate bitwise equal (attrs hold the block's draw count)
            xr.testing.assert_identical(_no_attrs(block), _no_attrs(whole.isel(draw=slice(lo, hi))))


def test_frailty_blocks_with_the_individual_engine(all_scenarios):
    from sibsim import Frailty

    sc = dataclasses.replace(all_scenarios["counts"], frailty=Frailty(0.5))
    whole = sibsim.simulate(sc, draws=6, seed=2, engine="individual", progress=False)
    block = sibsim.simulate(sc, draws=4, seed=2, engine="individual", progress=False,
                            first_draw=2)
    xr.testing.assert_identical(_no_attrs(block), _no_attrs(whole.isel(draw=slice(2, 6))))


def test_overrides_apply_to_the_block_and_the_rest_is_sampled_for_its_draws(all_scenarios):
    sc = all_scenarios["uncertain"]
    values = np.linspace(0.6, 0.9, 10)
    whole = sibsim.simulate(sc, draws=10, seed=3, engine="expected", progress=False,
                            overrides={"effect.value": values})
    block = sibsim.simulate(sc, draws=4, seed=3, engine="expected", progress=False,
                            overrides={"effect.value": values[6:]}, first_draw=6)
    xr.testing.assert_identical(_no_attrs(block), _no_attrs(whole.isel(draw=slice(6, 10))))


def test_first_draw_is_checked(all_scenarios):
    with pytest.raises(ValueError, match="first_draw"):
        sibsim.simulate(all_scenarios["binary"], draws=2, first_draw=-1, progress=False)


def test_evaluation_samples_its_parameters_for_the_datasets_draws():
    deal = sibsim.load_scenario("peterborough")  # matched design with an uncertain bias
    ds = sibsim.simulate(deal, draws=30, seed=4, progress=False)
    whole = evaluate(ds, deal.evaluations, 4)
    block = evaluate(ds.isel(draw=slice(12, 30)), deal.evaluations, 4)
    picked = evaluate(ds.isel(draw=[3, 17, 5]), deal.evaluations, 4)
    np.testing.assert_array_equal(block.measured_effect, whole.measured_effect[12:])
    np.testing.assert_array_equal(picked.measured_effect, whole.measured_effect[[3, 17, 5]])
    np.testing.assert_array_equal(picked.units, whole.units[[3, 17, 5]])


def test_money_of_a_block_is_that_slice_of_the_whole_money():
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=20, seed=6, progress=False)
    whole = money_flows(deal, ds)
    part = ds.isel(draw=slice(5, 20))
    block = money_flows(deal, part, cf=counterfactual(deal, 15, 6, first_draw=5))
    xr.testing.assert_identical(block, whole.isel(draw=slice(5, 20)))
    # the counterfactual of a selection of draws is those draws' counterfactual
    cf = counterfactual_of(deal, ds.isel(draw=[2, 9]))
    xr.testing.assert_identical(_no_attrs(cf), _no_attrs(counterfactual(deal, 20, 6).isel(
        draw=[2, 9])))


def test_a_counterfactual_of_other_draws_is_refused():
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=10, seed=6, progress=False, first_draw=10)
    with pytest.raises(ValueError, match="same draws"):
        money_flows(deal, ds, cf=counterfactual(deal, 10, 6))
    with pytest.raises(ValueError, match="contiguous"):
        breakeven(deal, ds.isel(draw=[0, 2, 3]))


# ------------------------------------------------------------------ assembling the blocks
@pytest.mark.parametrize("sizes", [[512], [1, 511, 375], [625, 262, 125], [1024]])
def test_drawsum_does_not_depend_on_the_blocks(sizes):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(sum(sizes), 3)) * 10.0 ** rng.integers(-5, 9, size=(sum(sizes), 1))
    whole, parts = DrawSum(), DrawSum()
    whole.add(x)
    lo = 0
    for n in sizes:
        parts.add(x[lo:lo + n])
        lo += n
    assert np.array_equal(whole.mean(), parts.mean())
    np.testing.assert_allclose(parts.mean(), x.mean(axis=0), rtol=1e-12)
    assert parts.count == x.shape[0] and SUM_CHUNK == 512  # the sizes cut chunks at the edges


def test_drawassembler_refuses_gaps_and_overlaps():
    ds = xr.Dataset({"x": ("draw", np.arange(6.0))}, coords={"draw": np.arange(6)})
    asm = DrawAssembler(6)
    asm.add(ds.isel(draw=slice(0, 4)))
    with pytest.raises(ValueError, match="of 6 draws"):
        asm.result()
    with pytest.raises(ValueError, match="contiguous"):
        asm.add(ds.isel(draw=[4, 5, 3]))


def test_parallel_waterfall_with_a_claim_share_rule_matches_the_serial_kernel():
    """More draws than the serial threshold run the parallel kernel (it did not compile with
    the lifecycle's nested tuple)."""
    n, periods = wf._SERIAL_BELOW + 700, 4
    rng = np.random.default_rng(1)
    x = wf.WaterfallInputs(costs=np.ascontiguousarray(rng.uniform(0, 50, (n, periods))),
                           pay=np.ascontiguousarray(rng.uniform(0, 80, (n, periods))))
    tr = wf.TrancheArrays(share=np.ones(1), total_commit=150.0, growth=np.full(1, 1.05),
                          cap=np.full(1, np.inf), order=np.zeros(1, np.int64),
                          group_start=np.array([0, 1], np.int64))
    capital = wf.CapitalArrays(tr, wf.FeeArrays(np.zeros(periods), 0.0),
                               wf.GuaranteeArrays.none(1), int(wf.ExcessTo.COMMISSIONER))
    claim = wf.ClaimShareArrays(np.ascontiguousarray(rng.uniform(0, 30, (n, periods))),
                                0.9, 0.3, 0.0, np.inf, True)
    life = wf.LifecycleArrays(np.full(n, periods, np.int64),
                              np.full(periods + 1, periods - 1, np.int64), np.inf, claim)
    whole = wf.run(x, capital, life)
    lo, hi = 1000, 1500  # a piece below the threshold runs the serial kernel
    piece = wf.run(wf.WaterfallInputs(np.ascontiguousarray(x.costs[lo:hi]),
                                      np.ascontiguousarray(x.pay[lo:hi])), capital,
                   life._replace(stop=life.stop[lo:hi], claim=claim._replace(
                       avoided=np.ascontiguousarray(claim.avoided[lo:hi]))))
    for name in wf.WaterfallOutputs._fields:
        np.testing.assert_array_equal(getattr(piece, name), getattr(whole, name)[lo:hi],
                                      err_msg=name)
    assert whole.claim_paid.sum() > 0


# --------------------------------------------------------------------- streaming analyse
def _small_grid(deal: Deal) -> Deal:
    return deal.replace(breakeven=BreakevenSearch(effect_range=deal.breakeven.effect_range,
                                                  grid=9))


@pytest.mark.parametrize("name", ["peterborough", "utah-preschool"])
def test_analyse_in_blocks_is_identical_to_one_pass(name):
    deal = _small_grid(sibsim.load_scenario(name))
    draws = 600
    one = analyse(deal, draws=draws, seed=7, progress=False, block_draws=draws)
    assert one.breakeven is not None
    for block in (200, 256, 599):
        res = analyse(deal, draws=draws, seed=7, progress=False, block_draws=block)
        for g in GROUPS:
            _same_run(getattr(res, g), getattr(one, g))
    # and blocks at a global offset: break-even curves are means over these draws
    assert one.outcomes["draw"].values.tolist() == list(range(draws))


def test_results_without_per_draw_outcomes(tmp_path):
    deal = _small_grid(sibsim.load_scenario("peterborough"))
    full = analyse(deal, draws=300, seed=8, progress=False, block_draws=300)
    lean = [analyse(deal, draws=300, seed=8, progress=False, block_draws=b,
                    keep_outcomes=False) for b in (300, 128)]
    _same_run(lean[0].outcomes, lean[1].outcomes)
    out = lean[1].outcomes
    assert "events" not in out and "per_draw_outcomes" in out.attrs
    np.testing.assert_allclose(out["mean_events"].values,
                               full.outcomes["events"].mean("draw").values, rtol=1e-12)
    assert out["mean_events"].dims == ("arm", "wave", "stratum", "period")
    xr.testing.assert_identical(out["parameter_value"], full.outcomes["parameter_value"])
    for g in ("money", "investors", "municipality", "breakeven"):
        _same_run(getattr(lean[1], g), getattr(full, g))
    path = lean[1].to_netcdf(tmp_path / "lean.nc")
    back = open_results(path)
    np.testing.assert_array_equal(back.outcomes["mean_events"].values, out["mean_events"].values)
    xr.testing.assert_identical(back.money, lean[1].money)


def test_keep_outcomes_by_default_only_while_they_are_small():
    deal = sibsim.load_scenario("peterborough")
    assert estimate_run(deal, 1000).keep_outcomes
    big = estimate_run(deal, 1_000_000)
    assert not big.keep_outcomes
    assert big.outcome_per_draw * 1_000_000 > resources.KEEP_OUTCOMES_BYTES


# ------------------------------------------------------------------- memory before the run
def test_estimate_matches_the_results_actually_kept():
    deal = sibsim.load_scenario("peterborough")
    res = analyse(deal, draws=400, seed=1, progress=False, block_draws=400, keep_outcomes=True)
    kept = sum(var.nbytes for g in GROUPS for var in getattr(res, g).variables.values()
               if "draw" in var.dims) / 400
    est = estimate_run(deal, 400, keep_outcomes=True)
    assert est.kept_per_draw == pytest.approx(kept, rel=0.05)
    assert est.block_draws == 400 and est.peak_bytes == est.kept_bytes + est.block_bytes


def test_automatic_blocks_fit_the_block_budget_and_the_memory_available():
    deal = sibsim.load_scenario("peterborough")
    est = estimate_run(deal, 1_000_000)
    assert est.block_bytes <= resources.BLOCK_BYTES
    assert est.block_draws % resources.BLOCK_ROUND == 0
    short = estimate_run(deal, 1_000_000, available=est.kept_bytes + 60 * 2**20)
    assert short.block_draws < est.block_draws
    assert estimate_run(deal, 100).block_draws == 100


def test_individual_engine_time_is_estimated(all_scenarios):
    deal = sibsim.load_scenario("peterborough")
    ind = estimate_run(deal, 1000, engine="individual")
    assert estimate_run(deal, 1000).seconds is None
    assert estimate_run(deal, 2000, engine="individual").seconds == pytest.approx(
        2 * ind.seconds)
    # 33,000 people x 8 periods x 1,000 draws at the counts kind's throughput
    assert ind.seconds == pytest.approx(33_000 * 8 * 1000 / resources.INDIVIDUAL_THROUGHPUT[
        "counts"])
    assert "individual engine takes about" in ind.describe()


def test_a_run_that_cannot_fit_is_refused_before_it_starts(monkeypatch):
    deal = sibsim.load_scenario("peterborough")
    calls = []
    monkeypatch.setattr("sibsim.report.simulate", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(resources, "available_memory", lambda: 3 * 10**9)
    with pytest.raises(RunTooLargeError, match="--block-draws") as err:
        analyse(deal, draws=1_000_000, seed=1, block_draws=1_000_000, keep_outcomes=False)
    msg = str(err.value)
    assert "\n" not in msg and "GB of memory for 1,000,000 draws" in msg
    monkeypatch.setattr(resources, "available_memory", lambda: 500 * 10**6)
    with pytest.raises(RunTooLargeError, match="fewer draws"):
        analyse(deal, draws=1_000_000, seed=1)
    assert calls == []  # refused before any simulation
    # the estimate is skipped on request, and a small run fits
    monkeypatch.undo()
    analyse(deal, draws=50, seed=1, progress=False, with_breakeven=False)


def test_refusal_names_the_outcomes_option_when_it_helps():
    deal = sibsim.load_scenario("peterborough")
    est = estimate_run(deal, 400_000, keep_outcomes=True)
    room = (est.kept_bytes - est.outcome_per_draw * 400_000 + est.block_bytes) / resources.SAFETY
    with pytest.raises(RunTooLargeError, match="keep_outcomes=False"):
        check_fits(est, available=int(room * 1.05))
    check_fits(estimate_run(deal, 400_000, keep_outcomes=False), available=int(room * 1.05))


def test_outcome_only_runs_are_checked_too(monkeypatch, tmp_path, all_scenarios):
    monkeypatch.setattr(resources, "available_memory", lambda: 10**7)
    with pytest.raises(RunTooLargeError, match="fewer draws"):
        run_and_report(Deal(scenario=all_scenarios["binary"]), draws=100_000, seed=1,
                       out=tmp_path / "x.nc", progress=False)
    assert not (tmp_path / "x.nc").exists()


def test_available_memory_reads_this_machine():
    avail = resources.available_memory()
    assert avail is None or avail > 0


def test_cli_refuses_with_one_error_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(resources, "available_memory", lambda: 3 * 10**9)
    out = tmp_path / "big.nc"
    rc = main(["run", "peterborough", "--draws", "1000000", "--block-draws", "1000000",
               "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("sibsim: error:")
    assert "--block-draws" in err[0] and not out.exists()
    assert main(["run", "peterborough", "--draws", "10", "--block-draws", "0",
                 "--out", str(out)]) == 2


def test_cli_block_draws_gives_the_same_file(tmp_path):
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    assert main(["run", "peterborough", "--draws", "120", "--seed", "2", "--out", str(a),
                 "--no-progress"]) == 0
    assert main(["run", "peterborough", "--draws", "120", "--seed", "2", "--block-draws", "50",
                 "--out", str(b), "--no-progress"]) == 0
    ra, rb = open_results(a), open_results(b)
    for g in GROUPS:
        _same_run(getattr(ra, g), getattr(rb, g))


# ------------------------------------------------ every step of the chain on a block alone
def test_counterfactual_and_breakeven_of_a_block_are_that_slice_of_the_whole():
    deal = _small_grid(sibsim.load_scenario("peterborough"))
    ds = sibsim.simulate(deal, draws=24, seed=9, progress=False)
    whole_cf = counterfactual(deal, 24, 9)
    block_cf = counterfactual(deal, 10, 9, first_draw=14)
    assert block_cf["draw"].values.tolist() == list(range(14, 24))
    xr.testing.assert_identical(_no_attrs(block_cf), _no_attrs(whole_cf.isel(draw=slice(14, 24))))
    be = dict(effect_range=deal.breakeven.effect_range, grid=9)
    whole = breakeven(deal, ds, **be)
    block = breakeven(deal, ds.isel(draw=slice(14, 24)), cf=block_cf, **be)
    per_draw = [k for k in whole.data_vars if "draw" in whole[k].dims]
    assert per_draw and all("draw" in block[k].dims for k in per_draw)
    xr.testing.assert_identical(block[per_draw], whole[per_draw].isel(draw=slice(14, 24)))


def test_a_block_run_alone_is_that_slice_of_the_whole_analysis():
    """report.run_block (what each dask worker runs) on draws [7, 19) gives, for every
    per-draw result, the slice of a one-pass analysis."""
    from sibsim.analysis.breakeven import BreakevenBlocks
    from sibsim.report import run_block

    deal = _small_grid(sibsim.load_scenario("peterborough"))
    one = analyse(deal, draws=30, seed=3, progress=False, block_draws=30)
    search = BreakevenBlocks(deal, effect_range=deal.breakeven.effect_range, grid=9)
    block = run_block(deal, 7, 12, 3, "auto", search, threads=1)
    assert search._sums["p_investor_loss"].count == 0  # the search object is left untouched
    for g in ("money", "investors", "municipality"):
        xr.testing.assert_identical(block[g], getattr(one, g).isel(draw=slice(7, 19)))
    per_draw = ["breakeven_effect", "breakeven_effect_first", "breakeven_effect_stays"]
    xr.testing.assert_identical(block["breakeven"][per_draw],
                                _no_attrs(one.breakeven[per_draw].isel(draw=slice(7, 19))))
    xr.testing.assert_identical(_no_attrs(block["outcomes"]),
                                _no_attrs(one.outcomes.isel(draw=slice(7, 19))))


def test_outcome_means_summed_in_blocks_equal_one_pass(monkeypatch):
    """Blocks that sum their outcome arrays where they are computed (run_block's
    outcome_sums, as dask workers do) give the same means, bit for bit, as one pass, for block
    sizes that cut the summing chunks anywhere (chunks of 16 draws here, so that blocks hold
    whole chunks, parts of two, and less than one)."""
    from sibsim.analysis import blocks

    monkeypatch.setattr(blocks, "SUM_CHUNK", 16)
    deal = _small_grid(sibsim.load_scenario("peterborough"))
    runs = [analyse(deal, draws=150, seed=5, progress=False, block_draws=b, keep_outcomes=False,
                    with_breakeven=False) for b in (150, 40, 7)]
    for other in runs[1:]:
        _same_run(other.outcomes, runs[0].outcomes)
    kept = analyse(deal, draws=150, seed=5, progress=False, block_draws=150,
                   with_breakeven=False)
    np.testing.assert_allclose(runs[1].outcomes["mean_at_risk"].values,
                               kept.outcomes["at_risk"].mean("draw").values, rtol=1e-12)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 7), st.integers(1, 60), st.lists(st.integers(1, 59), max_size=5),
       st.integers(0, 2**32 - 1))
def test_draw_sum_parts_equal_adding_the_values(chunk, n, cuts, seed):
    """DrawSumPart.of (made where a block is computed) then DrawSum.add_part gives the sums
    of DrawSum.add of the values, bit for bit, for any chunk size and block boundaries (values
    of mixed magnitudes, so that the order of the additions shows)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) * 10.0 ** rng.uniform(-8, 8, size=(n, 1))
    edges = [0, *sorted({c for c in cuts if c < n}), n]
    whole, parts = DrawSum(chunk=chunk), DrawSum(chunk=chunk)
    whole.add(x)
    for lo, hi in itertools.pairwise(edges):
        parts.add_part(DrawSumPart.of(x[lo:hi], lo, chunk=chunk))
    assert parts.count == whole.count == n
    np.testing.assert_array_equal(parts.sum(), whole.sum())


def test_results_too_large_for_memory_name_the_zarr_store(monkeypatch, capsys):
    """When the results themselves cannot be held (no block size helps), streaming them to a
    zarr store keeps every draw: the refusal names it beside fewer draws; tools that keep every
    draw in memory (blocks_option=False) cannot stream and do not name it."""
    from sibsim.cli import main

    deal = sibsim.load_scenario("peterborough")
    est = estimate_run(deal, 1_000_000)
    with pytest.raises(RunTooLargeError) as err:
        check_fits(est, available=500 * 10**6)
    msg = str(err.value)
    assert "; use fewer draws (about " in msg and msg.endswith(
        " fit), or stream the results to disk block by block: --out NAME.zarr (Python: "
        "sibsim.store.analyse_to_zarr)"), msg
    with pytest.raises(RunTooLargeError) as err:
        check_fits(est, available=500 * 10**6, blocks_option=False)
    assert "zarr" not in str(err.value)
    monkeypatch.setattr(resources, "available_memory", lambda: 500 * 10**6)
    assert main(["run", "peterborough", "--draws", "1000000", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out NAME.zarr" in err, err


def test_pooled_arrays_share_one_aligned_buffer_without_overlapping():
    """The assembler's per-draw arrays: numeric ones are aligned, non-overlapping views of one
    buffer (faulted in by huge pages where the system allows); others are arrays of their own."""
    from sibsim.analysis.blocks import _ALIGN, _pooled

    specs = {"a": ((5, 3), np.dtype(np.float64)), "b": ((5,), np.dtype(np.bool_)),
             "c": ((5, 2, 2), np.dtype(np.int32)), "s": ((5,), np.dtype(object)),
             "d": ((5,), np.dtype(np.complex128))}
    out = _pooled(specs)
    numeric = [k for k in specs if k != "s"]
    roots = set()
    for k in numeric:
        x = out[k]
        assert x.shape == specs[k][0] and x.dtype == specs[k][1] and x.flags.c_contiguous
        assert x.ctypes.data % _ALIGN == 0
        root = x
        while root.base is not None:
            root = root.base
        roots.add(id(root))
    assert len(roots) == 1
    for k in numeric:  # writing one leaves the others as they were
        for other in numeric:
            out[other][...] = 0
        out[k][...] = 1
        assert all(not out[o].any() for o in numeric if o != k) and out[k].all()
    assert out["s"].dtype == object and out["s"].base is None
