"""The one-pass kernels of the money chain and the count tables give the numpy expressions they
replace, bit for bit (signed zeros included), on random inputs with zeros, -0.0, caps that bind
and caps that are infinite (issue 8, section 8: a faster break-even search changes no number)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import sibsim
import sibsim.money.evaluation as evaluation
from sibsim.analysis.breakeven import _npv
from sibsim.analysis.metrics import present_value
from sibsim.engine.kernels.rates import rates_at_effect
from sibsim.engine.tables import apply_to_rate
from sibsim.money._arrays import sum_axis1
from sibsim.money.kernels.chain import (
    LedgerArrays,
    apply_payer_caps,
    book_due,
    breakeven_totals,
    discounted_sums,
    masked_period_sums,
    pick_measured,
    split_capped,
    strata_window_sums,
    sum_strata,
)
from sibsim.money.payment_ledger import PaymentLedger


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values, NaNs and signs of zero."""
    a, b = np.asarray(a), np.asarray(b)
    return (a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            and (a.dtype.kind != "f" or np.array_equal(np.signbit(a), np.signbit(b))))


def _values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Amounts over several magnitudes, with exact zeros and negative zeros."""
    x = rng.lognormal(3.0, 2.0, shape) * rng.choice([1.0, -1.0], shape)
    x[rng.random(shape) < 0.15] = 0.0
    x[rng.random(shape) < 0.05] = -0.0
    return x


@pytest.mark.parametrize("seed", range(5))
def test_npv_and_discounted_sums_are_the_numpy_loops(seed: int) -> None:
    rng = np.random.default_rng(seed)
    flows = _values(rng, (300, int(rng.integers(1, 14))))
    rate = float(rng.uniform(-0.05, 0.2))
    y = 1.0 / (1.0 + rate)
    want = np.zeros(flows.shape[0])
    for t in range(flows.shape[1] - 1, -1, -1):
        want = want * y + flows[:, t]
    assert same(_npv(rate, flows), want)
    disc = (1.0 + rate) ** -np.arange(flows.shape[1])
    loop = flows[:, 0] * disc[0]
    for t in range(1, flows.shape[1]):
        loop = loop + flows[:, t] * disc[t]
    out = np.empty(flows.shape[0])
    discounted_sums(flows, disc, out)
    assert same(out, loop) and same(present_value(flows, disc), loop)


def test_npv_refuses_flows_that_are_not_finite() -> None:
    with pytest.raises(ValueError, match="not finite"):
        _npv(0.05, np.array([[1.0, np.nan]]))


@pytest.mark.parametrize("seed", range(5))
def test_strata_window_sums_is_sum_strata_then_masked_period_sums(seed: int) -> None:
    rng = np.random.default_rng(seed)
    D, W, S, P = 200, int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 20))
    x = _values(rng, (D, W, S, P))
    strata = rng.permutation(S)[: int(rng.integers(1, S + 1))].astype(np.int64)
    mask = (rng.random((W, P)) < 0.7).astype(np.float64)
    units = np.empty((D, W, P))
    sum_strata(x, strata, units)
    want = np.empty((D, W))
    masked_period_sums(units, mask, want)
    assert same(want, (units * mask[None]).sum(-1))  # the kernel it reuses is numpy's sum
    got = np.empty((D, W))
    strata_window_sums(x, strata, mask, got)
    assert same(got, want)


@pytest.mark.parametrize("seed", range(4))
def test_strata_window_sums_of_one_stratum_reads_its_row(seed: int) -> None:
    """The one-stratum path (no strata sum in between) gives the two kernels' numbers, on the
    treated arm's strided view of an outcome array, with -0.0, infinities and NaN in it, and
    over windows of fewer and more than 8 periods (numpy's two pairwise paths)."""
    rng = np.random.default_rng(seed)
    D, W, S, P = 300, int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 30))
    arms = _values(rng, (D, 2, W, S, P))
    arms[rng.random(arms.shape) < 0.01] = np.inf
    arms[rng.random(arms.shape) < 0.01] = np.nan
    x = arms[:, 0]  # not contiguous, as the evaluation reads it
    mask = (rng.random((W, P)) < 0.7).astype(np.float64)
    mask[rng.random((W, P)) < 0.2] = -1.5  # any weights, not only 0 and 1
    for s in range(S):
        strata = np.array([s], dtype=np.int64)
        units = np.empty((D, W, P))
        sum_strata(x, strata, units)
        want = np.empty((D, W))
        masked_period_sums(units, mask, want)
        with np.errstate(invalid="ignore"):
            assert same(want, (units * mask[None]).sum(-1))
        got = np.empty((D, W))
        strata_window_sums(x, strata, mask, got)
        assert same(got, want)


@pytest.mark.parametrize("seed", range(6))
def test_breakeven_totals_are_the_numpy_sums(seed: int) -> None:
    """The break-even search's one pass over an effect's money arrays gives what its numpy
    steps gave: the investors' NPVs (of their flows summed over their parties, at each rate),
    capital invested and received, the commissioner's discounted and total net savings, over
    horizons of fewer and more than 8 periods."""
    rng = np.random.default_rng(seed)
    D, n_tr, P = 250, int(rng.integers(1, 4)), int(rng.integers(1, 40))
    flow = _values(rng, (D, n_tr + 4, P))
    drawdown = _values(rng, (D, n_tr, P))
    net = _values(rng, (D, P))
    disc = (1.0 + float(rng.uniform(0.0, 0.1))) ** -np.arange(P)
    row = int(rng.integers(0, n_tr))
    pick = [1 + row] + ([] if seed % 2 else [n_tr + 1])  # a deferred fee's party, some runs
    paid = np.abs(_values(rng, (D, P)))
    rates = np.array([float(rng.uniform(0.0, 0.2)), -0.05, 0.0, np.nan])
    out = (np.empty((len(rates), D)), np.empty(D), np.empty(D), np.empty(D), np.empty(D),
           np.empty(D))
    assert breakeven_totals(flow, np.array(pick, dtype=np.int64), drawdown, row, net, disc,
                            paid, rates, *out)
    investors = sum_axis1(flow, pick)
    for i, rate in enumerate(rates):
        if np.isnan(rate):
            assert np.isnan(out[0][i]).all()
        else:
            assert same(out[0][i], _npv(float(rate), investors))
    # the search's two rates: the same numbers
    two = (np.empty((2, D)), *(np.empty(D) for _ in range(5)))
    assert breakeven_totals(flow, np.array(pick, dtype=np.int64), drawdown, row, net, disc,
                            paid, rates[:2], *two)
    for i in range(2):
        assert same(two[0][i], _npv(float(rates[i]), investors))
    received = (flow[:, 1:1 + n_tr] + drawdown)[:, [row]].sum((1, 2))
    want = (drawdown[:, [row]].sum((1, 2)), received, present_value(net, disc), net.sum(-1))
    for got, expected in zip(out[1:5], want, strict=True):
        assert same(got, expected)
    # the size of the commissioner's money: a scale for rounding (summed in order, not
    # numpy's pairwise order)
    np.testing.assert_allclose(out[5], np.abs(net).sum(-1) + np.abs(paid).sum(-1),
                               rtol=1e-12)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_breakeven_totals_say_when_the_investors_flows_are_not_finite(bad: float) -> None:
    rng = np.random.default_rng(1)
    D, P = 20, 6
    flow, drawdown = _values(rng, (D, 5, P)), _values(rng, (D, 1, P))
    net, paid = _values(rng, (D, P)), np.abs(_values(rng, (D, P)))
    args = (np.array([1]), drawdown, 0, net, np.ones(P), paid, np.array([0.05]))
    out = (np.empty((1, D)), np.empty(D), np.empty(D), np.empty(D), np.empty(D), np.empty(D))
    assert breakeven_totals(flow, *args, *out)
    flow[7, 0, 3] = bad  # the commissioner's flow: not the investors'
    assert breakeven_totals(flow, *args, *out)
    flow[7, 1, 3] = bad
    assert not breakeven_totals(flow, *args, *out)
    with pytest.raises(ValueError, match="investors' cash flows are not finite"):
        _npv(0.05, sum_axis1(flow, [1]))


@pytest.mark.parametrize("multiplicative", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_rates_at_effect_is_apply_to_rate_stacked(multiplicative: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    D, K, C = 150, int(rng.integers(1, 4)), int(rng.integers(1, 9))
    r0 = rng.gamma(0.5, 0.2, (D, K, C))
    r0[rng.random(r0.shape) < 0.2] = 0.0
    eff = rng.uniform(-0.3, 1.5, (D, 1 if rng.random() < 0.5 else K, C))
    measure = "rr" if multiplicative else "absolute"
    want = np.ascontiguousarray(np.stack([r0, apply_to_rate(r0, measure, eff)], axis=1))
    rate, top = np.empty_like(want), np.empty((D, K))
    assert rates_at_effect(r0, eff, multiplicative, 1e6, rate, top)
    assert same(rate, want) and same(top, want.max(axis=(1, 3)))
    r0[3, 0, 0] = np.inf  # refused as check_rates refuses it
    assert not rates_at_effect(r0, eff, multiplicative, 1e6, rate, top)
    assert not rates_at_effect(np.full_like(r0, 2.0), np.ones_like(eff), multiplicative, 1.0,
                               rate, top)  # above the largest rate allowed


_COMMIT = PaymentLedger.commit


def _numpy_commit(ledger: PaymentLedger, k, m, due, period, beyond, metric_cap) -> None:
    """PaymentLedger.commit's numpy steps (the path without the kernel)."""
    ledger._kernel = False
    _COMMIT(ledger, k, m, due, period, beyond, metric_cap)


@pytest.mark.parametrize("seed", range(6))
def test_book_due_is_the_ledgers_numpy_steps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    D, M, P, K = 250, 2, 6, 5
    per_period = np.where(rng.random(P) < 0.5, np.inf, rng.uniform(50, 400, P))
    total_cap = float(rng.choice([math.inf, rng.uniform(300, 2000)]))
    kernel, numpy_ = (PaymentLedger(D, M, P, K, per_period, total_cap) for _ in range(2))
    assert kernel._kernel
    for step in range(12):
        due = np.abs(_values(rng, (D,)))
        k = None if step % 4 == 3 else step % K
        m = int(rng.integers(M))
        period = None if rng.random() < 0.2 else int(rng.integers(P))
        beyond = period is None or rng.random() < 0.2
        metric_cap = None if rng.random() < 0.5 else float(rng.uniform(100, 1500))
        kernel.commit(k, m, due, period, beyond, metric_cap)
        _numpy_commit(numpy_, k, m, due, period, beyond, metric_cap)
    for name in LedgerArrays._fields:
        assert same(getattr(kernel, name), getattr(numpy_, name)), name


@pytest.mark.parametrize("seed", range(8))
def test_book_trigger_is_trigger_due_then_commit(seed: int, monkeypatch) -> None:
    """A contract's payments with each trigger priced, capped and booked in one pass
    (book_trigger) are those of the numpy steps (_trigger_due, then the ledger's numpy
    commit): thresholds, ceilings, pooled top-ups, per-person, metric, per-period and total
    caps, with effects on both sides of the thresholds and negative units and zeros."""
    from sibsim.money.contract import Caps, Contract, MetricTerms
    from sibsim.money.payment_ledger import compute_payments
    from sibsim.money.pricing import PricePerUnit
    from sibsim.money.results import EvaluationTable

    rng = np.random.default_rng(seed)
    D, P = 300, 6

    def rule() -> PricePerUnit:
        ceiling = None if rng.random() < 0.5 else float(rng.uniform(0.2, 0.6))
        threshold = None if rng.random() < 0.3 else float(rng.uniform(0.0, 0.15))
        return PricePerUnit(price=float(rng.choice([1000.0, 12500.0, 3.0])),
                            threshold=threshold, ceiling=ceiling)

    def maybe(lo: float, hi: float) -> float | None:
        return None if rng.random() < 0.5 else float(rng.uniform(lo, hi))

    terms = tuple(MetricTerms(metric=m, rule=rule(), pooled_rule=rule(),
                              cap=maybe(5e4, 5e5), per_person_cap=maybe(10.0, 200.0))
                  for m in ("a", "b"))
    caps = Caps(per_period=None if rng.random() < 0.5 else tuple(
                    float(x) for x in rng.uniform(1e4, 2e5, P)),
                per_person=maybe(20.0, 300.0), total=maybe(1e5, 1e6))
    contract = Contract(terms=terms, caps=caps, lag=int(rng.integers(0, 2)))
    K = 7
    effect = rng.normal(0.1, 0.3, (D, K))
    effect[rng.random((D, K)) < 0.1] = 0.0
    units = _values(rng, (D, K)) * 10.0
    table = EvaluationTable(
        metric=tuple(str(rng.choice(["a", "b"])) for _ in range(K)),
        period=tuple(int(x) for x in rng.integers(0, P + 1, K)),
        cumulative=tuple(bool(x) for x in rng.random(K) < 0.4),
        participants=tuple(int(x) for x in rng.integers(1, 500, K)),
        measured_effect=effect, units=units, avoided_cost=np.abs(units),
        gate=rng.random((D, K)) < 0.8)
    fast = compute_payments(contract, table, P)
    monkeypatch.setattr(PaymentLedger, "book_trigger", lambda *a: False)
    monkeypatch.setattr(PaymentLedger, "commit", _numpy_commit)
    slow = compute_payments(contract, table, P)
    for name in ("total", "by_metric", "by_trigger", "beyond_horizon"):
        assert same(getattr(fast, name), getattr(slow, name)), name
    assert np.any(fast.total > 0)  # something was paid


def test_price_per_unit_with_per_draw_terms_has_no_kernel_form() -> None:
    from sibsim.money.pricing import PricePerUnit

    rule = PricePerUnit(price=1000.0, threshold=0.1)
    assert rule.kernel_terms() is not None
    per_draw = copy.copy(rule)  # per-draw values set in Python (a sensitivity run's inputs)
    object.__setattr__(per_draw, "price", np.array([1000.0, 900.0]))
    assert per_draw.kernel_terms() is None


@pytest.mark.parametrize("seed", range(8))
def test_split_capped_is_einsum_then_apply_payer_caps(seed: int) -> None:
    """The payers' shares and caps of one metric in one pass give split_by_payer's two steps:
    the einsum (0.0 + share x payment, so -0.0 gives 0.0, on any shape) and apply_payer_caps,
    with total and per-period caps that bind and that are infinite."""
    rng = np.random.default_rng(seed)
    D, Y, M, P = (int(rng.choice([1, 7, 400])), int(rng.integers(1, 4)), 1,
                  int(rng.integers(1, 12)))
    by_metric = np.abs(_values(rng, (D, M, P)))
    by_metric[rng.random(by_metric.shape) < 0.1] = -0.0
    shares = rng.dirichlet(np.ones(Y), M).T.copy()  # (Y, M), each metric's shares sum to 1
    shares[rng.random((Y, M)) < 0.2] = 0.0
    contract_total = sum_axis1(by_metric)
    capped = np.array(sorted(rng.choice(Y, int(rng.integers(1, Y + 1)), replace=False)),
                      dtype=np.int64)
    C = capped.size
    per = np.where(rng.random((C, P)) < 0.5, np.inf, rng.uniform(10.0, 500.0, (C, P)))
    cap_total = np.where(rng.random(C) < 0.3, np.inf, rng.uniform(100.0, 3000.0, C))
    cap_total[0] = min(cap_total[0], 1.0)  # one that binds in many draws
    want_due = np.einsum("ym,dmp->dyp", shares, by_metric)
    want_paid, want_total = np.empty((D, Y, P)), np.empty((D, P))
    apply_payer_caps(want_due, capped, per, cap_total, contract_total, want_paid, want_total)
    due, paid, total = np.empty((D, Y, P)), np.empty((D, Y, P)), np.empty((D, P))
    split_capped(shares, by_metric, capped, per, cap_total, contract_total, due, paid, total)
    assert same(due, want_due) and same(paid, want_paid) and same(total, want_total)
    assert D < 400 or np.any(want_paid < want_due)  # some cap binds


@pytest.mark.parametrize("seed", range(4))
def test_payer_savings_of_plain_rates_are_the_municipality_products(seed: int,
                                                                     monkeypatch) -> None:
    """Payers valuing avoided events at plain rates get, in one pass (the savings kernel,
    money/kernels/savings.py), the products of Municipality.savings; a payer valuing a state
    keeps the general path."""
    import sibsim.money.payers as payers_module
    from sibsim.money.municipality import Municipality
    from sibsim.money.payers import Payer, payer_savings

    rng = np.random.default_rng(seed)
    D, P = 300, int(rng.integers(1, 12))
    avoided = _values(rng, (D, P))
    payers = [Payer(name=f"p{i}", shares=1.0 / 3, saving_per_event=float(rng.uniform(0, 5e3)),
                    wider_value_per_event=float(rng.choice([0.0, rng.uniform(0, 2e4)])),
                    other_costs_per_period=float(rng.uniform(0, 100)))
              for i in range(3)]
    fast = payer_savings(payers, avoided, {}, P)
    assert all(p.savings_terms.event_rates() is not None for p in payers)
    monkeypatch.setattr(payers_module, "_valued_in_one_pass", lambda *a: False)  # numpy
    slow = payer_savings(payers, avoided, {}, P)
    for got, want in zip(fast, slow, strict=True):
        assert same(got, want)
    monkeypatch.undo()
    valued = Municipality(saving_per_event=1.0, saving_per_person_period={"jail": 2.0})
    assert valued.event_rates() is None


def test_book_due_takes_the_arrays_it_updates() -> None:
    ledger = LedgerArrays(np.zeros((2, 1, 2)), np.zeros((2, 1)), np.zeros((2, 1)),
                          np.zeros((2, 1)), np.zeros(2), np.zeros((2, 2)))
    book_due(np.array([5.0, 20.0]), 0, 0, 1, False, 10.0, math.inf, math.inf, ledger)
    assert ledger.by_metric[:, 0, 1].tolist() == [5.0, 10.0]  # the metric cap of 10 binds
    assert ledger.committed_total.tolist() == [5.0, 10.0]


def test_pick_measured_is_where_measured() -> None:
    rng = np.random.default_rng(3)
    D = 120
    one = (_values(rng, (D, 3)), _values(rng, (D, 3)), _values(rng, (D, 3)),
           rng.random((D, 3)) < 0.5)
    two = (_values(rng, (D, 2)), _values(rng, (D, 2)), _values(rng, (D, 2)),
           rng.random((D, 2)) < 0.5)
    happened = rng.random(D) < 0.4
    cols = [(0, 2, 0), (1, 1, 1), (0, 0, 2), (0, 1, 1), (1, 0, 0)]  # (table, column, when)
    out = (np.empty((D, 5)), np.empty((D, 5)), np.empty((D, 5)), np.empty((D, 5), bool))
    pick_measured(one, two, *(np.array(c, dtype=np.int64) for c in zip(*cols, strict=True)),
                  happened, out)
    for i, (t, k, when) in enumerate(cols):
        measured = (~happened, happened, np.ones(D, bool))[when]
        src = (one, two)[t]
        for a, b in zip(out[:3], src[:3], strict=True):
            assert same(a[:, i], np.where(measured, b[:, k], 0.0))
        assert same(out[3][:, i], measured & src[3][:, k])


@pytest.mark.parametrize("name", ["peterborough", "koto-sib", "nyc-able", "utah-preschool"])
def test_measure_trigger_gives_the_numpy_path(name: str, monkeypatch) -> None:
    """evaluate with its fixed parts (the break-even search's path, measure_trigger and the
    windows read straight from the outcomes) and without, kernel or numpy steps: one table."""
    deal = sibsim.load_scenario(name)
    ds = sibsim.simulate(deal, draws=120, seed=4, progress=False)
    fixed = evaluation.evaluation_fixed(ds, deal.evaluations, 4)
    tables = [evaluation.evaluate(ds, deal.evaluations, 4, fixed),
              evaluation.evaluate(ds, deal.evaluations, 4)]
    monkeypatch.setattr(evaluation, "measure_trigger", lambda *args: False)
    tables.append(evaluation.evaluate(ds, deal.evaluations, 4))
    for table in tables[1:]:
        for field in ("measured_effect", "units", "avoided_cost", "gate"):
            assert same(getattr(table, field), getattr(tables[0], field)), field
