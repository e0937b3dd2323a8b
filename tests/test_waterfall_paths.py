"""The waterfall's specialised kernel against the general one, and the design grid's shortcuts
against the expressions they replace (issue 8, §8: speed without a different answer).

The one-tranche kernel (:attr:`KernelPath.ONE_TRANCHE`, state in scalars) must give every
output of the general kernel bit for bit (NaN places and signs of zero included) wherever
:func:`kernel_path` chooses it: generated capital structures, stops, stop-losses, return caps
and every excess rule, through hypothesis; and on the built-in deals it applies to.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.analysis.design import _rows, _sum_of
from sibsim.money.kernels import waterfall as wf
from sibsim.money.sib import money_flows


def _same(a: wf.WaterfallOutputs, b: wf.WaterfallOutputs) -> None:
    for name, x, y in zip(a._fields, a, b, strict=True):
        assert x.shape == y.shape, name
        assert np.array_equal(x, y, equal_nan=True), name
        assert np.array_equal(np.signbit(x), np.signbit(y)), name


def _one_tranche(rng: np.random.Generator, commit: float, growth: float, cap: float,
                 repaid: float, excess_to: int, n_periods: int) -> wf.CapitalArrays:
    tr = wf.TrancheArrays(share=np.ones(1), total_commit=commit, growth=np.full(1, growth),
                          cap=np.full(1, cap), order=np.zeros(1, np.int64),
                          group_start=np.array([0, 1], np.int64), repaid=np.full(1, repaid),
                          excess_share=np.ones(1))
    fees = wf.FeeArrays(rng.random(n_periods) * 3.0, float(rng.random() * 0.02))
    return wf.CapitalArrays(tr, fees, wf.GuaranteeArrays.none(1), excess_to)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), draws=st.integers(1, 40), periods=st.integers(1, 10),
       commit=st.sampled_from([0.0, 50.0, 150.0, 1e9]),
       growth=st.sampled_from([1.0, 1.05, 1.3]),
       cap=st.sampled_from([np.inf, 0.5, 1.3, 2.0]),
       repaid=st.sampled_from([0.0, 1.0]),
       excess_to=st.sampled_from([int(x) for x in wf.ExcessTo]),
       stop_loss=st.sampled_from([np.inf, 0.0, 40.0]),
       zeros=st.floats(0.0, 1.0))
def test_one_tranche_kernel_is_the_general_kernel_bit_for_bit(
        seed: int, draws: int, periods: int, commit: float, growth: float, cap: float,
        repaid: float, excess_to: int, stop_loss: float, zeros: float) -> None:
    rng = np.random.default_rng(seed)
    costs = rng.exponential(30.0, (draws, periods)) * (rng.random((draws, periods)) > zeros)
    pay = rng.exponential(40.0, (draws, periods)) * (rng.random((draws, periods)) > zeros)
    x = wf.WaterfallInputs(costs, pay)
    capital = _one_tranche(rng, commit, growth, cap, repaid, excess_to, periods)
    settle = np.minimum(np.arange(periods + 1) + rng.integers(0, 2, periods + 1), periods - 1)
    life = wf.LifecycleArrays(rng.integers(0, periods + 1, draws), settle.astype(np.int64),
                              stop_loss, wf.ClaimShareArrays.none())
    assert wf.kernel_path(capital, life) == wf.KernelPath.ONE_TRANCHE
    _same(wf.run(x, capital, life), wf.run(x, capital, life, path=wf.KernelPath.GENERAL))
    _same(wf.run(x, capital), wf.run(x, capital, path=wf.KernelPath.GENERAL))


def test_one_tranche_kernel_in_parallel_blocks_gives_the_same_numbers() -> None:
    """Enough draws for the parallel compilation (blocks of draws): the same outputs."""
    rng = np.random.default_rng(3)
    D, P = 3 * wf._SERIAL_BELOW // 2 + 17, 6
    x = wf.WaterfallInputs(rng.exponential(30.0, (D, P)), rng.exponential(40.0, (D, P)))
    capital = _one_tranche(rng, 120.0, 1.08, 1.5, 1.0, int(wf.ExcessTo.INVESTORS), P)
    life = wf.LifecycleArrays(rng.integers(1, P + 1, D), np.full(P + 1, P - 1, np.int64),
                              60.0, wf.ClaimShareArrays.none())
    _same(wf.run(x, capital, life), wf.run(x, capital, life, path=wf.KernelPath.GENERAL))
    serial = wf.run(wf.WaterfallInputs(x.costs[:100], x.pay[:100]), capital,
                    life._replace(stop=life.stop[:100]))
    assert np.array_equal(serial.flows, wf.run(x, capital, life).flows[:100])


def test_kernel_path_keeps_the_general_kernel_for_what_scalars_do_not_hold() -> None:
    rng = np.random.default_rng(0)
    one = _one_tranche(rng, 100.0, 1.0, np.inf, 1.0, 0, 4)
    assert wf.kernel_path(one) == wf.KernelPath.ONE_TRANCHE
    guaranteed = one._replace(guarantee=wf.GuaranteeArrays(
        int(wf.GuaranteeMode.PRO_RATA), np.ones(1, np.bool_), 0.5, np.inf))
    assert wf.kernel_path(guaranteed) == wf.KernelPath.GENERAL
    assert wf.kernel_path(one._replace(recycle=True)) == wf.KernelPath.GENERAL
    claim = wf.ClaimShareArrays(np.zeros((2, 4)), 0.5, 0.1, 0.0, np.inf, True)
    life = wf.LifecycleArrays(np.full(2, 4, np.int64), np.full(5, 3, np.int64), np.inf, claim)
    assert wf.kernel_path(one, life) == wf.KernelPath.GENERAL
    two = wf.TrancheArrays(np.array([0.6, 0.4]), 100.0, np.ones(2), np.full(2, np.inf),
                           np.arange(2), np.array([0, 1, 2]))
    assert wf.kernel_path(one._replace(tranches=two,
                                       guarantee=wf.GuaranteeArrays.none(2))) == (
        wf.KernelPath.GENERAL)
    with pytest.raises(ValueError, match=r"waterfall\.path"):
        wf.run(wf.WaterfallInputs(np.zeros((1, 4)), np.zeros((1, 4))), guaranteed,
               path=wf.KernelPath.ONE_TRANCHE)


@pytest.mark.parametrize("name", ["peterborough", "koto-sib", "essex-mst"])
def test_built_in_deals_money_is_the_same_on_either_kernel(name: str, monkeypatch) -> None:
    """The whole money chain of a built-in deal with the general kernel forced: the same
    arrays as with the kernel chosen (where one tranche applies, the specialised one)."""
    deal = sibsim.load_scenario(name)
    ds = sibsim.simulate(deal, draws=60, seed=5, progress=False)
    chosen = money_flows(deal, ds)
    general = wf.run

    def forced(inputs, capital, life=None, path=None):
        return general(inputs, capital, life, path=wf.KernelPath.GENERAL)

    monkeypatch.setattr(wf, "run", forced)
    forced_money = money_flows(deal, ds)
    for var in chosen.data_vars:
        assert np.array_equal(chosen[var].values, forced_money[var].values, equal_nan=True), var


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), periods=st.integers(1, 12),
       negzero=st.booleans())
def test_design_row_sums_are_numpys(seed: int, n: int, periods: int, negzero: bool) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(7, n, periods))
    if negzero:
        x[rng.random(x.shape) < 0.3] = -0.0
    for pick in ([0], [n - 1], list(range(n)), list(range(n))[::-1]):
        got, want = _sum_of(x, pick), x[:, pick].sum(axis=1)
        assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))
        assert np.array_equal(_rows(x, pick).sum(axis=(1, 2)), x[:, pick].sum(axis=(1, 2)))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_states=st.integers(1, 10), rows=st.integers(1, 50),
       negzero=st.booleans())
def test_at_risk_is_numpys_masked_sum_bit_for_bit(seed: int, n_states: int, rows: int,
                                                  negzero: bool) -> None:
    """The compiled people-at-risk sum of the outcome dataset is the numpy expression it
    replaced, bit for bit (zeros of either sign, every number of states)."""
    from sibsim.dataset.build import at_risk

    rng = np.random.default_rng(seed)
    occ = rng.exponential(5.0, (rows, 3, n_states)) * (rng.random((rows, 3, n_states)) < 0.6)
    if negzero:
        occ[rng.random(occ.shape) < 0.2] = -0.0
    risky = rng.random(n_states) < 0.5
    got, want = at_risk(occ, risky), (occ * risky).sum(axis=-1)
    assert got.shape == want.shape
    assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))


def _deal_with_uncertain_savings() -> sibsim.Deal:
    """Koto-SIB with its payers' savings, own costs and the service cost uncertain (the
    benchmark's 20-input deal, ``benchmarks/bench_sensitivity.py``)."""
    from dataclasses import replace

    deal = sibsim.load_scenario("koto-sib")
    gamma = sibsim.Gamma.from_mean_sd
    payers = tuple(replace(p, saving_per_event=gamma(1_000.0, 200.0),
                           wider_value_per_person_period={"training": gamma(300.0, 60.0)},
                           other_costs_per_period=sibsim.Uniform(0.0, 2_000.0))
                   for p in deal.payers)
    return deal.replace(payers=payers, service_costs=replace(
        deal.service_costs, per_participant=sibsim.Triangular(400.0, 500.0, 700.0)))


def test_tornado_reuses_the_lifecycle_only_where_it_is_the_same(monkeypatch) -> None:
    """Money inputs one after the other through the chain's kept parts (the lifecycle kept
    between inputs that change savings only): each output equals the plain money dataset's,
    computed afresh, to the last bit; an input that changes the service costs is not served
    the kept lifecycle."""
    from sibsim.analysis.sensitivity._common import Chain, output_values

    deal = _deal_with_uncertain_savings()
    draws = 80
    chain = Chain(deal, draws, 3)
    names = sorted(chain.money_names)
    assert "service_costs.per_participant" in names and len(names) >= 4
    order = names + names[::-1]  # savings inputs, then the cost input between them
    from sibsim.money import sib

    calls = []
    real = sib.lifecycle

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sib, "lifecycle", counted)
    for output in ("commissioner_npv_mean", "investor_mean_irr"):
        for n in order:
            for x in (0.5, 1.7):
                base = deal.uncertain_inputs()[n]
                value = float(np.mean(base.sample(np.random.default_rng(0), 200))) * x
                values = {n: np.full(draws, value)}
                got = chain.output(values, output)
                want = output_values(chain.evaluate(values))[output]
                assert got == want or (np.isnan(got) and np.isnan(want)), (output, n, x)
    # chain.evaluate computes afresh (no kept parts): one lifecycle per output there; the
    # kept path computes it again only after an input that changes the service costs
    n_outputs = 2 * len(order) * 2
    assert n_outputs + 1 <= len(calls) < 2 * n_outputs
