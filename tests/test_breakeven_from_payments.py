"""The break-even search's money from the contract's payments on, in one kernel
(:func:`sibsim.money.kernels.from_payments.breakeven_from_payments`), against the money chain.

Where a deal allows it (one payment metric, payers without presence years, waves or
appropriations, one tranche without a guarantee, recycling or claim-tied share, no stop-loss),
the search makes the payers' split, the waterfall, the net savings and its totals draw by
draw (:class:`sibsim.analysis.breakeven._Chain`) instead of reading them from
:func:`sibsim.money.sib.money_arrays`. Both must give the same numbers, bit for bit: on
Peterborough and variants of its money terms, and on random arrays (a hypothesis property of
the kernel against the kernels it stands for).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import sibsim
from sibsim.analysis.breakeven import _draws_last, _Pipeline
from sibsim.money import termination
from sibsim.money.kernels import waterfall as wk
from sibsim.money.kernels.chain import apply_payer_caps, breakeven_tail, split_capped
from sibsim.money.kernels.from_payments import (
    BLOCK,
    NOT_FINITE,
    NOT_TRACED,
    OK,
    OUT_OF_RANGE,
    PayerTerms,
    SavingsArrays,
    SearchTotals,
    breakeven_from_payments,
    front_off,
    trace_off,
)
from sibsim.money.sib import money_arrays
from sibsim.scenario_file import builtin_scenarios

pytestmark = pytest.mark.usefixtures("warm_kernels")

PETERBOROUGH = builtin_scenarios()["peterborough"].read_text(encoding="utf-8")
CAPITAL = '[capital]\nexcess_to = "commissioner"'
LOTTERY = 'cap_total = 6_255_751              # its commitment, "primarily outcomes payments" [P5]'
TRANCHE = 'target_return = 0.13 '
#: the cancellation of later cohorts, the file's last table
CANCEL = PETERBOROUGH[PETERBOROUGH.index('\n[[termination]]\n') + 1:]
NO_CANCEL = (CANCEL, '')
#: the second payer's table
LOTTERY_PAYER = PETERBOROUGH[PETERBOROUGH.index('[[payers]]\nname = "Big Lottery Fund"'):
                             PETERBOROUGH.index('[investors]')]
STOP_LOSS = (CANCEL, '[[termination]]\nkind = "stop_loss"\nshare_of_commitment = 0.5\n')


def _variant(tmp_path: Path, *edits: tuple[str, str]) -> sibsim.Deal:
    text = PETERBOROUGH
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "variant.toml"
    path.write_text(text, encoding="utf-8")
    return sibsim.load_scenario(str(path))


def _ways(deal, draws=60, seed=3, effects=(1.0, 0.85, 0.6)):
    """The pipeline's outputs at a few effects: the whole chain in one kernel (the front on),
    from the contract's payments on, with the tail alone (the waterfall's arrays read) and
    from the money arrays; and the plans of the kernel with and without its front."""
    ds = sibsim.simulate(deal, draws=draws, seed=seed, progress=False)
    pipe = _Pipeline(deal, ds)
    tail, front = pipe._tail, pipe._front
    chain = None if tail is None else tail.chain
    fronts = [front]
    if front is not None:  # also with the treated events read, not made in the kernel
        assert front.traces
        reads = copy.copy(front)
        reads.terms = front.terms._replace(trace=trace_off())
        assert not reads.traces
        fronts.append(reads)
    out = []
    for x in effects:
        effect = np.full(pipe.D, x)
        got = []
        for f, plan, with_chain in ((*((f, tail, True) for f in fronts), (None, tail, True),
                                     (None, tail, False), (None, None, False))):
            pipe._front, pipe._tail = f, plan
            if plan is not None:
                plan.chain = chain if with_chain else None
            got.append(pipe(effect))
        out.append(got)
    if tail is not None:
        tail.chain = chain
    return chain, front, out


def _assert_ways_agree(out):
    """Every way of :func:`_ways` gives the money arrays' numbers, bit for bit."""
    for *ways, general in out:
        for way in ways:
            assert way.keys() == general.keys()
            for key in general:
                np.testing.assert_array_equal(way[key], general[key], err_msg=key)


def _assert_same(out):
    _assert_ways_agree(out)
    moved = False
    for *_, general in out:
        moved |= not np.array_equal(out[0][-1]["investors"], general["investors"])
    assert moved  # the investors' NPV follows the effect (else the test would prove little)


@pytest.mark.parametrize("edits", [
    (),  # as published: two payers, one capped; a cancellation stops some draws' service
    # the excess to the investors up to a return cap, a management fee
    ((CAPITAL, '[capital]\nexcess_to = "investors"'),
     (TRANCHE, 'target_return = 0.13\nreturn_cap = 1.3  #'),
     ('intermediary_per_period = [', 'management_rate_on_drawn = 0.01\n'
                                     'intermediary_per_period = [')),
    # the excess to the provider; a per-period cap on a payer that binds, no cancellation
    ((CAPITAL, '[capital]\nexcess_to = "provider"'),
     (LOTTERY, 'cap_total = 2_000_000\ncap_per_period = 400_000'), NO_CANCEL),
    # payers without caps
    ((LOTTERY, ''),),
    # one payer paying everything, capped
    (('shares = 0.5                       # half', 'shares = 1.0\ncap_total = 3_000_000  #'),
     (LOTTERY_PAYER, '')),
])
def test_the_kernel_gives_the_money_chains_numbers(tmp_path, edits):
    deal = _variant(tmp_path, *edits) if edits else sibsim.load_scenario("peterborough")
    chain, front, out = _ways(deal)
    assert chain is not None and front is not None
    _assert_same(out)


def test_a_capped_payers_split_reaches_the_totals(tmp_path):
    # a small cap binds in most draws: the payers' total, not the contract's, enters the
    # waterfall (the kernel must split; the commissioner's scale reads the total paid)
    deal = _variant(tmp_path, (LOTTERY, 'cap_total = 500_000'))
    chain, front, out = _ways(deal, effects=(0.5,))
    assert front is not None and chain.payers.capped.tolist() == [1]
    _assert_same(out + _ways(deal, effects=(0.6,))[2])


@pytest.mark.parametrize("edits", [
    # a significance gate and contract rounding of the measured effect
    (('pooled = true\nreport_lag = 1', 'pooled = true\nreport_lag = 1\nalpha = 0.2\n'
                                       'precision = 0.01'),),
    # the pooled result alone, every cohort cancelled in the draws where it happens
    (('window = 1\nper_wave = true', 'window = 1\nper_wave = false'),
     ('probability = 0.2', 'probability = 1.0')),
    # a payment lag, results after the horizon dropped, caps per period, per person and on
    # the metric; no cancellation
    (('lag = 0', 'lag = 2\noverflow = "drop"'),
     ('total = 13_000_000 ', 'total = 13_000_000\nper_period = 1_500_000\n'
                             'per_person = 9_000  #'),
     ('pooled_rule = {kind = "price_per_unit", price = 12_500, threshold = 0.075}',
      'pooled_rule = {kind = "price_per_unit", price = 12_500, threshold = 0.075}\n'
      'cap = 4_000_000'), NO_CANCEL),
    # payment dates
    (('lag = 0', 'lag = 0\npayment_periods = [3, 5, 7]'),),
    # a maturity: the results known from it on are not paid
    (('horizon = 8\n', 'maturity = 2\nhorizon = 8\n'),),
])
def test_the_whole_chain_in_one_kernel_gives_the_money_chains_numbers(tmp_path, edits):
    deal = _variant(tmp_path, *edits)
    _, front, out = _ways(deal, effects=(1.0, 0.8, 0.55))
    assert front is not None
    _assert_same(out)


@pytest.mark.parametrize("edits", [
    # each period's result on its own (a trigger per period), a result to date
    (('window = 1\nper_wave = true', 'window = 1\nper_wave = true\nper_period = true'),),
    (('window = 1\nper_wave = true', 'window = 1\nper_wave = true\nper_period = true\n'
                                      'to_date = true'), NO_CANCEL),
])
def test_evaluations_the_front_does_not_model_take_the_money_chain(tmp_path, edits):
    deal = _variant(tmp_path, *edits)
    chain, front, out = _ways(deal, draws=30, effects=(0.7,))
    assert chain is not None and front is None
    _assert_ways_agree(out)


@pytest.mark.parametrize("edits", [
    (STOP_LOSS,),
    ((CAPITAL, CAPITAL + '\n[[capital.tranches]]\nname = "second"\ncommitment = 1_000_000\n'
                         'target_return = 0.05'),),
])
def test_deals_the_kernel_does_not_model_take_the_money_chain(tmp_path, edits):
    deal = _variant(tmp_path, *edits)
    chain, front, out = _ways(deal, draws=30, effects=(0.7,))
    assert chain is None and front is None
    _assert_ways_agree(out)


def test_a_horizon_beyond_one_pairwise_block_takes_the_tail(tmp_path):
    # the kernel sums over periods in numpy's pairwise order up to 128 terms: a longer horizon
    # is left to the tail's pass, which gives the money chain's numbers there
    zeros = ", ".join(["0"] * 127)
    deal = _variant(tmp_path, ("horizon = 8\n", "horizon = 130\n"),
                    ("fixed_per_period = [600_000, 600_000, 600_000, 0, 0, 0, 0, 0]",
                     f"fixed_per_period = [600_000, 600_000, 600_000, {zeros}]"),
                    ("intermediary_per_period = [100_000, 100_000, 100_000, 100_000, 0, 0, 0, 0]",
                     f"intermediary_per_period = [100_000, 100_000, 100_000, 100_000, "
                     f"{zeros[3:]}]"))
    chain, front, out = _ways(deal, draws=20, effects=(0.7,))
    assert chain is not None and front is None
    _assert_ways_agree(out)


def _count_waterfalls(monkeypatch) -> list[int]:
    """A list that grows by one at each run of the lifecycle's waterfall."""
    calls: list[int] = []
    real = termination.waterfall

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(termination, "waterfall", counted)
    return calls


def test_the_lifecycle_runs_the_waterfall_when_read(monkeypatch):
    calls = _count_waterfalls(monkeypatch)
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=20, seed=1, progress=False)
    data, _ = money_arrays(deal, ds)
    life = data.lifecycle
    assert calls == [] and life is not None
    flow = data["flow"]
    assert calls == [1]
    assert data["drawdown"].shape == (20, 1, ds.sizes["period"]) and calls == [1]
    assert life.flows.flows is flow and life.split.total is data["outcome_payments"]
    assert calls == [1]  # made once


def test_a_stop_loss_runs_the_waterfall_at_once(tmp_path, monkeypatch):
    # the waterfall may move the stop: the lifecycle runs it until the stop holds
    calls = _count_waterfalls(monkeypatch)
    deal = _variant(tmp_path, STOP_LOSS)
    ds = sibsim.simulate(deal, draws=20, seed=1, progress=False)
    money_arrays(deal, ds)
    assert len(calls) >= 1


# ----------------------------------------------------------------------------- the kernel
def _reference(by_metric, pay_total, payers, costs, stop, tr, fees, excess_to, savings, disc,
               rates):
    """The kernels it stands for: the payers' split (split_by_payer's branches), the
    one-tranche waterfall, then breakeven_tail."""
    D, P = pay_total.shape
    C = payers.capped.shape[0]
    if C == 0:
        total = pay_total
    else:
        Y = payers.shares.shape[0]
        due, paid, total = np.empty((D, Y, P)), np.empty((D, Y, P)), np.empty((D, P))
        if payers.from_total:  # one payer paying everything: its due is the total
            due[...] = pay_total[:, None, :]
            apply_payer_caps(due, payers.capped, payers.per_period, payers.cap_total,
                             pay_total, paid, total)
        else:
            split_capped(np.ascontiguousarray(payers.shares[:, None]), by_metric,
                         payers.capped, payers.per_period, payers.cap_total, pay_total, due,
                         paid, total)
    if not (costs.min() >= 0 and costs.max() < np.inf and total.min() >= 0
            and total.max() < np.inf):
        return None
    capital = wk.CapitalArrays(tr, fees, wk.GuaranteeArrays.none(1), excess_to)
    life = wk.LifecycleArrays(stop, np.full(P + 1, P - 1, dtype=np.int64), np.inf,
                              wk.ClaimShareArrays.none())
    w = wk.run(wk.WaterfallInputs(np.ascontiguousarray(costs), np.ascontiguousarray(total)),
               capital, life, wk.KernelPath.ONE_TRANCHE)
    drawdown = w.drawdown[:, None, :] * tr.share[None, :, None]
    out = (np.empty((len(rates), D)), np.empty(D), np.empty(D), np.empty(D), np.empty(D),
           np.empty(D))
    finite = breakeven_tail(savings.events, savings.started, savings.mask, savings.cf_sum,
                            savings.rate, 0, savings.other, w.flows, np.array([1]),
                            np.ascontiguousarray(drawdown), 0, disc, total, rates,
                            np.empty((D, P)), *out)
    return finite, out


_money = st.floats(0.0, 1e6, allow_nan=False, width=64) | st.just(0.0)


@st.composite
def _inputs(draw):
    D = draw(st.integers(1, 5))
    P = draw(st.integers(1, 12))
    W = draw(st.integers(1, 3))
    S = draw(st.integers(1, 2))
    Y = draw(st.integers(1, 3))
    by_metric = draw(arrays(np.float64, (D, 1, P), elements=_money))
    # the contract's total is its one metric's payments (compute_payments' sum over metrics)
    pay_total = 0.0 + by_metric[:, 0, :]
    if draw(st.booleans()):  # or a total of its own (the kernel reads both)
        pay_total = draw(arrays(np.float64, (D, P), elements=_money))
    shares = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=Y, max_size=Y)))
    capped = np.array(sorted(draw(st.sets(st.integers(0, Y - 1)))), dtype=np.int64)
    C = capped.shape[0]
    caps = st.floats(0.0, 2e6) | st.just(np.inf)
    per = np.array(draw(st.lists(caps, min_size=C * P, max_size=C * P))).reshape(C, P)
    cap_total = np.array(draw(st.lists(caps, min_size=C, max_size=C)))
    payers = PayerTerms(shares, Y == 1 and draw(st.booleans()), capped,
                        np.ascontiguousarray(per, dtype=np.float64),
                        np.ascontiguousarray(cap_total, dtype=np.float64))
    costs = draw(arrays(np.float64, (D, P), elements=_money))
    if draw(st.integers(0, 9)) == 0:  # out of the waterfall's range
        costs[draw(st.integers(0, D - 1)), draw(st.integers(0, P - 1))] = draw(
            st.sampled_from([-1.0, np.inf, np.nan]))
    stop = np.array(draw(st.lists(st.integers(0, P), min_size=D, max_size=D)), dtype=np.int64)
    growth = draw(st.floats(1.0, 1.2))
    cap = draw(st.sampled_from([np.inf, 1.0, 1.5]))
    repaid = draw(st.sampled_from([1.0, 0.0]))
    tr = wk.TrancheArrays(np.ones(1), draw(st.floats(0.0, 5e6)), np.array([growth]),
                          np.array([cap]), np.zeros(1, np.int64), np.array([0, 1], np.int64),
                          np.array([repaid]), np.ones(1))
    fees = wk.FeeArrays(draw(arrays(np.float64, (P,), elements=_money)),
                        draw(st.sampled_from([0.0, 0.01])))
    excess_to = draw(st.sampled_from([int(e) for e in wk.ExcessTo]))
    events = draw(arrays(np.float64, (D, W, S, P), elements=st.floats(0.0, 50.0)))
    started = draw(arrays(np.bool_, (D, W)))
    savings = SavingsArrays(events, started, draw(st.booleans()),
                            draw(arrays(np.float64, (D, P), elements=st.floats(0.0, 80.0))),
                            draw(arrays(np.float64, (draw(st.integers(1, 3)), D),
                                        elements=st.floats(-1e4, 1e4))),
                            draw(arrays(np.float64, (P,), elements=_money)))
    disc = 1.0 / 1.035 ** np.arange(P)
    rates = np.array(draw(st.lists(st.floats(-0.5, 0.5) | st.just(np.nan), min_size=1,
                                   max_size=3)))
    return (by_metric, pay_total, payers, costs, stop, tr, fees, excess_to, savings, disc,
            rates)


def _kernel_args(by_metric, pay_total, payers, costs, stop, tr, fees, excess_to, savings,
                 disc, rates):
    """The kernel's arguments from :func:`_reference`'s: its arrays of the draws (the costs,
    the cohorts started and the counterfactual's events) with the draws last."""
    savings = savings._replace(started=_draws_last(savings.started),
                               cf_sum=_draws_last(savings.cf_sum))
    return (by_metric, pay_total, payers, _draws_last(costs), stop, tr, fees, excess_to,
            savings, disc, rates)


def _check_kernel(args):
    D, R = args[1].shape[0], args[-1].shape[0]
    out = SearchTotals(np.full((R, D), -7.0), *(np.full(D, -7.0) for _ in range(5)))
    status = breakeven_from_payments(front_off(), *_kernel_args(*args), out)
    ref = _reference(*args)
    if ref is None:  # the money chain's waterfall refuses such costs or payments
        assert status == OUT_OF_RANGE
        return status
    finite, expected = ref
    assert status == (OK if finite else NOT_FINITE)
    for got, want in zip(out, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    return status


@settings(max_examples=200, deadline=None)
@given(_inputs())
def test_the_kernel_does_what_the_kernels_it_stands_for_do(args):
    _check_kernel(args)


def _many_draws(D, P=9, seed=5):
    """Random inputs of :func:`_reference` with ``D`` draws (two payers, one capped)."""
    rng = np.random.default_rng(seed)
    by_metric = rng.choice([0.0, 1.0], (D, 1, P)) * rng.uniform(0, 4e5, (D, 1, P))
    payers = PayerTerms(np.array([0.5, 0.5]), False, np.array([1], np.int64),
                        np.full((1, P), 1.5e5), np.array([6e5]))
    tr = wk.TrancheArrays(np.ones(1), 3e6, np.array([1.05]), np.array([1.4]),
                          np.zeros(1, np.int64), np.array([0, 1], np.int64), np.ones(1),
                          np.ones(1))
    savings = SavingsArrays(rng.uniform(0, 40, (D, 3, 2, P)), rng.uniform(size=(D, 3)) < 0.8,
                            True, rng.uniform(0, 120, (D, P)), rng.uniform(-1e3, 2e4, (2, D)),
                            rng.uniform(0, 1e4, P))
    return (by_metric, 0.0 + by_metric[:, 0, :], payers, rng.uniform(0, 4e5, (D, P)),
            rng.integers(0, P + 1, D), tr, wk.FeeArrays(rng.uniform(0, 1e4, P), 0.01),
            int(wk.ExcessTo.INVESTORS), savings, 1.0 / 1.035 ** np.arange(P),
            np.array([0.02, 0.04]))


def test_the_kernel_goes_over_blocks_of_draws():
    # several blocks, the last one partial: every draw as the kernels it stands for
    args = _many_draws(2 * BLOCK + 37)
    assert _check_kernel(args) == OK
    # a cost out of range in the last block's last draw leaves the effect to the money chain
    args[3][-1, 4] = -1.0
    assert _check_kernel(args) == OUT_OF_RANGE


def test_investors_flows_that_are_not_finite_are_reported():
    # a claim that grows without bound: the tranche's flows are not finite
    D, P = 2, 3
    payers = PayerTerms(np.ones(1), True, np.zeros(0, np.int64), np.zeros((0, P)), np.zeros(0))
    tr = wk.TrancheArrays(np.ones(1), 1e6, np.array([np.inf]), np.array([np.inf]),
                          np.zeros(1, np.int64), np.array([0, 1], np.int64), np.ones(1),
                          np.ones(1))
    savings = SavingsArrays(np.zeros((D, 1, 1, P)), np.ones((1, D), bool), False,
                            np.zeros((P, D)), np.zeros((1, D)), np.zeros(P))
    out = SearchTotals(np.empty((1, D)), *(np.empty(D) for _ in range(5)))
    pay = np.full((D, P), 100.0)
    status = breakeven_from_payments(front_off(), pay[:, None, :], pay, payers,
                                     np.full((P, D), 10.0), np.full(D, P, np.int64), tr,
                                     wk.FeeArrays(np.zeros(P), 0.0), 0, savings, np.ones(P),
                                     np.array([0.05]), out)
    assert status == NOT_FINITE


def test_rates_or_counts_the_engine_must_judge_leave_the_kernel():
    # a rate that is not finite, or a count over the largest the engine allows: the kernel
    # leaves the effect to the engine's steps, whose checks name the value
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=20, seed=1, progress=False)
    front = _Pipeline(deal, ds)._front
    assert front is not None and front.traces
    D = front.stop.shape[0]
    for trace in (front.terms.trace._replace(r0=np.where(np.arange(D) == 7, np.inf,
                                                         front.terms.trace.r0)),
                  front.terms.trace._replace(max_count=1.0)):
        bad = copy.copy(front)
        bad.terms = front.terms._replace(trace=trace)
        assert bad(None, 0.8, np.array([0.05])) is None
        terms = bad.terms._replace(trace=trace._replace(
            eff=np.ascontiguousarray(np.full(front.strength.shape, 0.8))))
        out = SearchTotals(np.empty((1, D)), *(np.empty(D) for _ in range(5)))
        chain = front.chain
        assert breakeven_from_payments(
            terms, *front._no_payments, chain.payers, front.costs, front.stop, chain.tranches,
            chain.fees, chain.excess_to, front.savings, front.disc, np.array([0.05]),
            out) == NOT_TRACED
