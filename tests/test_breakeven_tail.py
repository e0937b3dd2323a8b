"""The break-even search's one-pass net savings (``breakeven_tail``) against the money chain's
numpy steps.

Where the payers' cashable savings are a saving per avoided event alone, the search makes the
commissioner's net savings with its totals in one kernel (:class:`sibsim.analysis.breakeven._Tail`)
instead of reading them from :func:`sibsim.money.sib.money_arrays`. Both must give the same
numbers, bit for bit: on the built-in scenarios and variants of their savings terms, and on
random arrays (a hypothesis property of the kernel against the numpy steps it replaces).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import sibsim
from sibsim.analysis.breakeven import _Pipeline
from sibsim.money._arrays import sum_axis1
from sibsim.money.kernels.chain import breakeven_tail, breakeven_totals
from sibsim.money.sib import money_flows
from sibsim.scenario_file import builtin_scenarios

pytestmark = pytest.mark.usefixtures("warm_kernels")

PETERBOROUGH = builtin_scenarios()["peterborough"].read_text(encoding="utf-8")
MOJ = 'saving_per_event = 4_000           # cashable: police, courts, prison places'


def _variant(tmp_path: Path, text: str, name: str = "variant") -> sibsim.Deal:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return sibsim.load_scenario(str(path))


def _both_ways(deal, draws=40, seed=3):
    """The pipeline's outputs at a few effects with the tail and without it (the money
    arrays' net savings), and whether the tail applied."""
    ds = sibsim.simulate(deal, draws=draws, seed=seed, progress=False)
    pipe = _Pipeline(deal, ds)
    plan = pipe._tail
    out = []
    for x in (1.0, 0.85, 0.6):
        effect = np.full(pipe.D, x)
        pipe._tail = plan
        with_tail = pipe(effect)
        pipe._tail = None
        without = pipe(effect)
        out.append((with_tail, without))
    return plan, out, ds


@pytest.mark.parametrize("name", ["peterborough", "nyc-able", "utah-preschool",
                                  "tyollisyys-sib"])
def test_the_tail_gives_the_money_chains_numbers(name):
    plan, out, _ = _both_ways(sibsim.load_scenario(name))
    assert plan is not None
    moved = False
    for with_tail, without in out:
        assert with_tail.keys() == without.keys()
        for key in without:
            np.testing.assert_array_equal(with_tail[key], without[key], err_msg=key)
        moved |= not np.array_equal(out[0][1]["commissioner"], without["commissioner"])
    assert moved  # the net savings follow the effect (else the test would prove little)


def test_the_tail_with_uncertain_savings_own_costs_and_a_stopped_service(tmp_path):
    # a saving per event drawn per draw, a second payer's saving and own costs; Peterborough's
    # cancellation stops the service in some draws (the cohorts started are masked)
    text = PETERBOROUGH.replace(
        MOJ, 'saving_per_event = {dist = "gamma", mean = 4_000, sd = 600}\n'
             'other_costs_per_period = 25_000').replace(
        'cap_total = 6_255_751', 'cap_total = 6_255_751\nsaving_per_event = 300')
    assert text != PETERBOROUGH
    deal = _variant(tmp_path, text)
    plan, out, ds = _both_ways(deal, draws=60)
    assert plan is not None
    assert np.ptp(plan.rate[0]) > 0 and plan.rate[1].tolist() == [300.0] * 60
    assert plan.other.tolist() == [25_000.0] * ds.sizes["period"]
    for with_tail, without in out:
        for key in without:
            np.testing.assert_array_equal(with_tail[key], without[key], err_msg=key)
    # some draws stopped the service (the cohorts started masked, one counterfactual total
    # kept for that pattern, in the money chain's memo) and some did not
    assert len([key for key in plan.fixed.cf_totals if key[0] == "events"]) == 1
    stops = money_flows(deal, ds)["stop_period"].values
    assert (stops < ds.sizes["period"]).any() and (stops >= ds.sizes["period"]).any()


@pytest.mark.parametrize("edit", [
    # a payer present in some years only
    ('cap_total = 6_255_751', 'cap_total = 6_255_751\n\n[[payers]]\nname = "Council"\n'
                              'shares = 0\nsaving_per_event = 100\nfirst_year = 2012'),
    # own costs drawn per draw
    (MOJ, MOJ + '\nother_costs_per_period = {dist = "gamma", mean = 1_000, sd = 100}'),
    # savings on some strata only
    (MOJ, MOJ + '\nsavings_strata = ["all"]'),
])
def test_the_tail_declines_savings_it_does_not_make(tmp_path, edit):
    text = PETERBOROUGH.replace(*edit)
    assert text != PETERBOROUGH
    deal = _variant(tmp_path, text)
    ds = sibsim.simulate(deal, draws=20, seed=1, progress=False)
    assert _Pipeline(deal, ds)._tail is None


def test_the_tail_declines_savings_per_person_period():
    # Koto-SIB values the quarters in training or job seeking avoided per person-period
    deal = sibsim.load_scenario("koto-sib")
    ds = sibsim.simulate(deal, draws=10, seed=1, progress=False)
    assert _Pipeline(deal, ds)._tail is None


def _numpy_steps(x, started, mask, cf_sum, rate, c, other, flow, pick, drawdown, row, disc,
                 paid, rates):
    """The money chain's numpy steps: events avoided, each payer's savings, their sum, the
    net savings, then breakeven_totals of them."""
    treated = ((x * started[:, :, None, None]).sum(axis=(1, 2)) if mask
               else x.sum(axis=(1, 2)))
    avoided = cf_sum - treated
    cash_y = np.stack([avoided * rate[y][:, None] for y in range(rate.shape[0])], axis=1)
    net = sum_axis1(cash_y) + flow[:, c] - other[None, :]
    D = net.shape[0]
    out = (np.empty((len(rates), D)), np.empty(D), np.empty(D), np.empty(D), np.empty(D),
           np.empty(D))
    breakeven_totals(flow, pick, drawdown, row, np.ascontiguousarray(net), disc, paid, rates,
                     *out)
    return net, out


@st.composite
def _tail_inputs(draw):
    D = draw(st.integers(1, 6))
    W = draw(st.integers(1, 3))
    S = draw(st.integers(1, 2))
    P = draw(st.integers(1, 12))
    Y = draw(st.integers(1, 3))
    T = draw(st.integers(1, 2))
    money = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
    count = st.floats(0, 1e3, allow_nan=False, allow_subnormal=False)
    x_all = draw(arrays(np.float64, (D, 2, W, S, P), elements=count))
    started = draw(arrays(np.bool_, (D, W)))
    mask = draw(st.booleans())
    cf_sum = draw(arrays(np.float64, (D, P), elements=count))
    rate = draw(arrays(np.float64, (Y, D), elements=money))
    flow = draw(arrays(np.float64, (D, 1 + T + 1, P), elements=money))
    other = draw(arrays(np.float64, (P,), elements=money))
    drawdown = draw(arrays(np.float64, (D, T, P), elements=money))
    paid = draw(arrays(np.float64, (D, P), elements=money))
    disc = draw(arrays(np.float64, (P,), elements=st.floats(0.1, 1.0)))
    rates = draw(arrays(np.float64, (2,), elements=st.floats(-0.5, 0.5)))
    row = draw(st.integers(0, T - 1))
    c = draw(st.sampled_from([0, 1 + T]))
    return (x_all[:, 1], started if mask else np.ones((1, 1), bool), mask, cf_sum, rate, c,
            other, flow, np.array([1 + row], dtype=np.int64), drawdown, row, disc, paid, rates)


@settings(max_examples=150, deadline=None)
@given(_tail_inputs())
def test_breakeven_tail_equals_the_numpy_steps(args):
    x, started, mask = args[:3]
    if mask:  # the numpy steps read each wave's started flag
        ref_started = started
    else:
        ref_started = np.ones(x.shape[:2], bool)
    net, ref = _numpy_steps(x, ref_started, mask, *args[3:])
    D, P = net.shape
    got_net = np.empty((D, P))
    out = (np.empty((2, D)), np.empty(D), np.empty(D), np.empty(D), np.empty(D), np.empty(D))
    assert breakeven_tail(*args, got_net, *out)
    np.testing.assert_array_equal(got_net, net)
    for a, b in zip(out, ref, strict=True):
        np.testing.assert_array_equal(a, b)


def test_investor_flows_that_are_not_finite_are_refused():
    # the one-pass totals say so, and the search refuses them as its numpy path does
    from sibsim.analysis.breakeven import _NPV_PARTIES, _totals

    rng = np.random.default_rng(0)
    D, P = 5, 4
    flow = rng.normal(size=(D, 5, P))
    data = {"flow": flow, "drawdown": rng.normal(size=(D, 1, P))}
    net, paid, disc = rng.normal(size=(D, P)), np.abs(rng.normal(size=(D, P))), np.ones(P)
    rates = np.full(len(_NPV_PARTIES), 0.02)
    assert _totals(data, [1], [0], net, disc, paid, rates) is not None
    flow[2, 1, 3] = np.inf
    with pytest.raises(ValueError, match="investors' cash flows are not finite"):
        _totals(data, [1], [0], net, disc, paid, rates)
