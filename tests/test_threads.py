"""Evaluations on several threads (the break-even grid's effects) give the numbers of one
thread, bit for bit, and fall back to one thread where numba's threading layer is not
thread-safe."""

from __future__ import annotations

import time
from dataclasses import replace

import numba
import pytest
import xarray as xr

import sibsim
from sibsim.analysis import breakeven as be
from sibsim.analysis import design as design_module
from sibsim.analysis import threads
from sibsim.money.sib import counterfactual


@pytest.mark.parametrize("name", ["peterborough", "denver-housing", "tyollisyys-sib",
                                  "lapset-sib-1"])
def test_threads_give_the_one_thread_numbers(name: str, monkeypatch) -> None:
    # cancellation by chance (Peterborough), two processes on the general path (Denver),
    # uncertain money (Työllisyys), a stratum's end (Lapset I)
    deal = sibsim.load_scenario(name)
    ds = sibsim.simulate(deal, 24, 3, progress=False)
    cf = counterfactual(deal, 24, 3)
    out = {}
    for n in (1, 3):
        monkeypatch.setattr(threads, "work_threads", lambda items, n=n: n)
        out[n] = be.breakeven(deal, ds, cf=cf, grid=7)
    xr.testing.assert_identical(out[1], out[3])


def test_design_variants_on_threads_give_the_one_thread_numbers(monkeypatch) -> None:
    # a grid over payment terms and the discount rate (variants sharing a lifecycle), with
    # a chance cancellation (Peterborough)
    deal = sibsim.load_scenario("peterborough")
    grid = {"contract.terms[0].rule.price": [8_000, 12_500, 16_000],
            "municipality.discount_rate": [0.02, 0.035]}
    out = {}
    for n in (1, 2):
        monkeypatch.setattr(design_module, "work_threads", lambda items, n=n: n)
        calls: list[int] = []

        def counted(*a, calls=calls, **k):
            calls.append(k["threads"])
            return threads.in_order(*a, **k)
        monkeypatch.setattr(design_module, "in_order", counted)
        out[n] = sibsim.design(deal, grid, draws=30, seed=4, progress=False).data
        assert set(calls) == {n}
    xr.testing.assert_identical(out[1], out[2])


def test_tornado_ends_on_threads_give_the_one_thread_numbers(monkeypatch) -> None:
    # money inputs (savings alone keep the lifecycle; costs do not) and an outcome input (a
    # new simulation)
    deal = sibsim.load_scenario("peterborough")
    moj, fund = deal.payers
    deal = deal.replace(
        payers=(replace(moj, saving_per_event=sibsim.Gamma.from_mean_sd(4_000.0, 800.0)), fund),
        service_costs=replace(deal.service_costs,
                              per_participant=sibsim.Gamma.from_mean_sd(800.0, 100.0)))
    inputs = list(deal.uncertain_inputs())
    assert len(inputs) == 5
    out = {}
    for n in (1, 2):
        monkeypatch.setattr(threads, "work_threads", lambda items, n=n: n)
        out[n] = sibsim.analysis.sensitivity.tornado.tornado(
            deal, "commissioner_npv_mean", draws=20, seed=5, inputs=inputs)
    xr.testing.assert_identical(out[1], out[2])


def test_one_thread_under_workqueue(monkeypatch) -> None:
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    monkeypatch.setattr(numba, "threading_layer", lambda: "workqueue")
    assert threads.work_threads(41) == 1
    monkeypatch.setattr(numba, "threading_layer", lambda: "omp")
    assert threads.work_threads(41) == 2
    assert threads.work_threads(1) == 1  # never more threads than effects

    def unknown() -> str:
        raise ValueError("Threading layer is not initialized.")
    monkeypatch.setattr(numba, "threading_layer", unknown)
    assert threads.work_threads(41) == 1
    assert threads.in_order(lambda _: numba.get_num_threads(), range(3), threads=2) == [2] * 3


def test_results_in_order_and_explicit_threads() -> None:
    sibsim.simulate(sibsim.load_scenario("peterborough"), 4, 1, progress=False)  # numba's layer
    assert threads.in_order(lambda x: -x, range(7), threads=3) == [0, -1, -2, -3, -4, -5, -6]
    assert threads.in_order(str, [], threads=2) == []
    # each item's numba kernels run on one numba thread, the caller's setting untouched
    before = numba.get_num_threads()
    seen = threads.in_order(lambda _: numba.get_num_threads(), range(4), threads=2)
    assert seen == [1, 1, 1, 1] and numba.get_num_threads() == before


def test_an_error_in_one_effect_reaches_the_caller(monkeypatch) -> None:
    # an effect that fails on a worker thread raises in the caller, and the rest are dropped
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, 8, 1, progress=False)
    calls = []

    def failing(self, effect):
        calls.append(float(effect[0]))
        time.sleep(0.05)  # the caller sees the first failure before the others all start
        raise ValueError("boom")
    monkeypatch.setattr(threads, "work_threads", lambda items: 2)
    monkeypatch.setattr(be._Pipeline, "__call__", failing)
    with pytest.raises(ValueError, match="boom"):
        be.breakeven(deal, ds, grid=41)
    assert 1 <= len(calls) < 41  # the effects not started were dropped
