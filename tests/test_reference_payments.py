"""Contract.outcome_payments against a plain-Python reference model, and the pricing rules at
every boundary of every comparison they make.

The reference model below re-implements, one draw and one trigger at a time with Python floats,
the cap order documented in :mod:`sibsim.money.payment_ledger` (rule, gate, per-person cap,
cumulative top-up, metric cap, total cap, lag and overflow, per-period cap) and each pricing
rule's documented formula. It shares no code with the library: a change to the order in which
caps combine, or to a rule's comparison, makes the two disagree on generated contracts.
Rate cards are left out here (their amounts are checked in ``test_rate_cards.py``).

Every comparison in a pricing rule also gets a worked example exactly at its boundary and one
float step (``math.nextafter``) either side.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sibsim.money.contract import Caps, Contract, MetricTerms
from sibsim.money.pricing import LinearFloorCap, PricePerUnit, SavingsShare, StepSchedule
from sibsim.money.results import EvaluationTable

INF = math.inf


def up(x: float) -> float:
    """The next float above ``x``."""
    return math.nextafter(x, INF)


def down(x: float) -> float:
    """The next float below ``x``."""
    return math.nextafter(x, -INF)


# ------------------------------------------------------------------ the reference model
def ref_due(rule, effect: float, units: float, avoided: float, paid: float) -> float:
    """The amount a rule asks for, from its docstring's formula, with Python floats."""
    if isinstance(rule, PricePerUnit):
        amount = rule.price * max(units, 0.0)
        if rule.ceiling is not None and effect > rule.ceiling:
            amount = amount * rule.ceiling / effect
        if rule.threshold is not None and not effect >= rule.threshold:
            return 0.0
        return amount
    if isinstance(rule, StepSchedule):
        pay = 0.0
        for threshold, payment in zip(rule.thresholds, rule.payments, strict=True):
            if effect >= threshold:
                pay = payment
        return pay
    if isinstance(rule, LinearFloorCap):
        if not effect >= rule.floor_effect:
            return 0.0
        if effect >= rule.cap_effect:
            return rule.cap_payment
        frac = (effect - rule.floor_effect) / (rule.cap_effect - rule.floor_effect)
        return rule.floor_payment + (rule.cap_payment - rule.floor_payment) * frac
    if isinstance(rule, SavingsShare):
        if rule.threshold is not None and not effect >= rule.threshold:
            return 0.0
        remaining, cumulative, amount = max(avoided, 0.0), max(paid, 0.0), 0.0
        for share, up_to in rule.tiers:
            room = max(up_to - cumulative, 0.0)
            if share * remaining <= room:
                pay, used = share * remaining, remaining
            else:
                pay, used = room, room / share
            amount += pay
            cumulative += pay
            remaining -= used
        return amount
    raise AssertionError(f"no reference for {type(rule).__name__}")


def reference_payments(contract: Contract, table: EvaluationTable, n_periods: int):
    """(total (D, P), by_metric (D, M, P), by_trigger (D, K), beyond (D, M)) as nested lists."""
    m_index = {t.metric: i for i, t in enumerate(contract.terms)}
    n_m, n_k = len(contract.terms), table.n_triggers
    caps = contract.caps
    if caps.per_period is None:
        per_period = [INF] * n_periods
    elif isinstance(caps.per_period, tuple):
        per_period = list(caps.per_period)
    else:
        per_period = [caps.per_period] * n_periods
    total_cap = INF if caps.total is None else caps.total
    order = sorted(range(n_k), key=lambda k: (table.period[k], k))
    out_total, out_metric, out_trigger, out_beyond = [], [], [], []
    for d in range(table.n_draws):
        by_metric = [[0.0] * n_periods for _ in range(n_m)]
        by_trigger = [0.0] * n_k
        beyond = [0.0] * n_m
        committed = [0.0] * n_m
        committed_total = 0.0
        paid_in = [0.0] * n_periods
        for k in order:
            m = m_index[table.metric[k]]
            terms = contract.terms[m]
            cumulative = bool(table.cumulative[k])
            rule = terms.pooled_rule if cumulative and terms.pooled_rule is not None else terms.rule
            effect = float(table.measured_effect[d, k])
            due = ref_due(rule, effect, float(table.units[d, k]),
                          float(table.avoided_cost[d, k]), 0.0 if cumulative else committed[m])
            if not table.gate[d, k] or not math.isfinite(due):
                due = 0.0
            due = max(due, 0.0)
            pp = min(INF if caps.per_person is None else caps.per_person,
                     INF if terms.per_person_cap is None else terms.per_person_cap)
            if pp < INF:
                due = min(due, pp * table.participants[k])
            if cumulative:
                due = max(due - committed[m], 0.0)
            if terms.cap is not None:
                due = min(due, max(terms.cap - committed[m], 0.0))
            due = min(due, max(total_cap - committed_total, 0.0))
            q = table.period[k] + contract.lag
            late = q >= n_periods
            if late:
                q = n_periods - 1 if contract.overflow == "last" else None
            if q is not None:
                due = min(due, max(per_period[q] - paid_in[q], 0.0))
                paid_in[q] += due
                by_metric[m][q] += due
            if late:
                beyond[m] += due
            by_trigger[k] = due
            committed[m] += due
            committed_total += due
        out_total.append([sum(by_metric[m][p] for m in range(n_m)) for p in range(n_periods)])
        out_metric.append(by_metric)
        out_trigger.append(by_trigger)
        out_beyond.append(beyond)
    return out_total, out_metric, out_trigger, out_beyond


# ------------------------------------------------------------------ generated contracts
# Valid by construction: every drawn contract and table is accepted, so every example reaches
# Contract.outcome_payments (the test asserts that below).
effects = st.floats(-0.5, 1.0, allow_nan=False)
amounts = st.floats(0.0, 1e4, allow_nan=False)
prices = st.floats(1.0, 1e4)  # a price of 0 pays nothing


@st.composite
def price_per_unit(draw):
    threshold = draw(st.one_of(st.none(), st.floats(-0.5, 0.5)))
    ceiling = None
    if draw(st.booleans()):
        lo = 0.0 if threshold is None else max(threshold, 0.0)
        ceiling = draw(st.floats(lo, 1.0, exclude_min=True))
    return PricePerUnit(draw(prices), threshold=threshold, ceiling=ceiling)


@st.composite
def step_schedules(draw):
    n = draw(st.integers(1, 4))
    thresholds = sorted(draw(st.lists(effects, min_size=n, max_size=n, unique=True)))
    payments = sorted(draw(st.lists(prices, min_size=n, max_size=n)))
    return StepSchedule(tuple(thresholds), tuple(payments))


@st.composite
def linear_rules(draw):
    lo, hi = sorted(draw(st.lists(effects, min_size=2, max_size=2, unique=True)))
    p_lo, p_hi = sorted(draw(st.lists(prices, min_size=2, max_size=2)))
    return LinearFloorCap(lo, hi, p_lo, p_hi)


@st.composite
def savings_shares(draw):
    n = draw(st.integers(1, 3))
    shares = draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    bounds = sorted(draw(st.lists(st.floats(1.0, 1e4), min_size=n, max_size=n, unique=True)))
    if draw(st.booleans()):
        bounds[-1] = None
    threshold = draw(st.one_of(st.none(), effects))
    return SavingsShare(tuple(zip(shares, bounds, strict=True)), threshold=threshold)


RULES = st.one_of(price_per_unit(), step_schedules(), linear_rules(), savings_shares())
# caps are mostly positive (a cap of 0 pays nothing); some are exactly 0
# a cap of 0 is refused (tests/test_caps_positive.py); a tiny one pays next to nothing
OPTIONAL_CAP = st.one_of(st.none(), st.floats(1.0, 5e4)) | st.sampled_from([None, 1e-9])
GATE = st.sampled_from([True, True, True, False])  # gates mostly pass, so most triggers pay


@st.composite
def contracts_and_tables(draw):
    names = [f"m{i}" for i in range(draw(st.integers(1, 3)))]
    terms = tuple(
        MetricTerms(name, draw(RULES), pooled_rule=draw(st.one_of(st.none(), RULES)),
                    cap=draw(OPTIONAL_CAP),
                    per_person_cap=draw(st.one_of(st.none(), st.floats(0.5, 200.0))))
        for name in names)
    n_periods = draw(st.integers(1, 5))
    per_period = draw(st.one_of(
        st.none(), st.floats(1.0, 3e4),
        st.lists(st.floats(1.0, 3e4), min_size=n_periods, max_size=n_periods).map(tuple)))
    caps = Caps(per_period=per_period,
                per_person=draw(st.one_of(st.none(), st.floats(0.5, 300))),
                total=draw(OPTIONAL_CAP))
    contract = Contract(terms, caps=caps, lag=draw(st.integers(0, 2)),
                        overflow=draw(st.sampled_from(["last", "drop"])))
    k, d = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    triggers = [(draw(st.sampled_from(names)), draw(st.integers(0, n_periods + 1)),
                 draw(st.booleans()), draw(st.integers(1, 200))) for _ in range(k)]
    grid = st.lists(st.floats(-0.3, 0.7), min_size=d * k, max_size=d * k)
    effect_grid = st.lists(st.floats(0.05, 0.7) | st.floats(-0.3, 0.7), min_size=d * k,
                           max_size=d * k)
    positive_grid = st.lists(st.floats(0.01, 0.7) | st.floats(-0.1, 0.0), min_size=d * k,
                             max_size=d * k)
    table = EvaluationTable(
        metric=tuple(x[0] for x in triggers), period=tuple(x[1] for x in triggers),
        cumulative=tuple(x[2] for x in triggers), participants=tuple(x[3] for x in triggers),
        measured_effect=np.array(draw(effect_grid)).reshape(d, k),
        units=np.array(draw(positive_grid)).reshape(d, k) * 1000.0,
        avoided_cost=np.abs(np.array(draw(grid)).reshape(d, k)) * 5e4,
        gate=np.array(draw(st.lists(GATE, min_size=d * k, max_size=d * k)),
                      dtype=bool).reshape(d, k))
    return contract, table, n_periods


def _table(metric, period, cumulative, participants, effect, units, avoided=None, gate=None):
    return EvaluationTable(metric=tuple(metric), period=tuple(period),
                           cumulative=tuple(cumulative), participants=tuple(participants),
                           measured_effect=np.atleast_2d(effect), units=np.atleast_2d(units),
                           avoided_cost=None if avoided is None else np.atleast_2d(avoided),
                           gate=None if gate is None else np.atleast_2d(gate))


# Pinned cases: each is a cap order that a plausible one-line bug would change.
_PP = PricePerUnit(100.0, threshold=0.1)
PINNED = [
    # per-person cap before the cumulative top-up: the pooled trigger tops up to 50 x 10, not 0
    (Contract((MetricTerms("a", _PP, per_person_cap=50.0),)),
     _table("aa", (0, 1), (False, True), (10, 10), [[0.2, 0.2]], [[3.0, 8.0]]), 2),
    # metric cap before the total cap, and the total cap across metrics
    (Contract((MetricTerms("a", _PP, cap=250.0), MetricTerms("b", _PP)), caps=Caps(total=400.0)),
     _table("aab", (0, 0, 0), (False,) * 3, (1, 1, 1), [[0.2] * 3], [[2.0, 2.0, 3.0]]), 1),
    # lag pushes the second trigger past the horizon: "last" pays it in the last period ...
    (Contract((MetricTerms("a", _PP),), lag=1, caps=Caps(per_period=150.0)),
     _table("aa", (0, 1), (False, False), (1, 1), [[0.2, 0.2]], [[1.0, 2.0]]), 2),
    # ... and "drop" books it beyond the horizon with no per-period cap
    (Contract((MetricTerms("a", _PP),), lag=1, caps=Caps(per_period=150.0), overflow="drop"),
     _table("aa", (0, 1), (False, False), (1, 1), [[0.2, 0.2]], [[1.0, 2.0]]), 2),
    # an amount cut by the per-period cap is forfeited, and a later pooled trigger tops it up
    (Contract((MetricTerms("a", _PP),), caps=Caps(per_period=(100.0, 1000.0))),
     _table("aa", (0, 1), (False, True), (1, 1), [[0.2, 0.2]], [[3.0, 3.0]]), 2),
    # a failed gate pays nothing, even on a pooled trigger; triggers of a period in table order
    (Contract((MetricTerms("a", _PP),), caps=Caps(per_period=250.0)),
     _table("aaa", (1, 0, 1), (False, False, False), (1, 1, 1), [[0.2, 0.2, 0.2]],
            [[2.0, 1.0, 2.0]], gate=[[True, False, True]]), 2),
    # a savings share's tiers count what the metric has committed so far
    (Contract((MetricTerms("s", SavingsShare(((0.5, 100.0), (0.25, None)))),)),
     _table("ss", (0, 1), (False, False), (1, 1), [[0.2, 0.2]], [[0.0, 0.0]],
            avoided=[[150.0, 100.0]]), 2),
]

_reached = {"examples": 0, "paid": 0}


def _compare(contract, table, n_periods):
    res = contract.outcome_payments(table, n_periods)
    total, by_metric, by_trigger, beyond = reference_payments(contract, table, n_periods)
    np.testing.assert_allclose(res.by_trigger, by_trigger, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(res.by_metric, by_metric, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(res.total, total, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(res.beyond_horizon, beyond, rtol=1e-9, atol=1e-6)
    return res


@pytest.mark.parametrize("case", range(len(PINNED)))
def test_pinned_cap_orders_match_the_reference(case):
    contract, table, n_periods = PINNED[case]
    res = _compare(contract, table, n_periods)
    assert res.by_trigger.sum() > 0  # each pinned case pays something


def test_pinned_cap_orders_worked_by_hand():
    """The pinned cases' amounts, worked out by hand (the reference could share a mistake)."""
    expect = [
        [[300.0, 200.0]],        # 3 x 100 = 300 <= 500; pooled 8 x 100 capped at 500, less 300
        [[200.0, 50.0, 150.0]],  # metric a capped at 250; the total of 400 leaves 150 for b
        [[100.0, 50.0]],         # 150 a period: the late trigger (200) gets the 50 left
        [[100.0, 200.0]],        # dropped: beyond the horizon, no per-period cap
        [[100.0, 200.0]],        # 300 cut to 100 (forfeited); pooled pays 300 - 100 committed
        [[200.0, 0.0, 50.0]],    # gate fails; 250 in period 1: table order, the last gets 50
        [[75.0, 37.5]],          # 0.5 x 150; then 25 at 0.5 (50 avoided) + 0.25 x 50
    ]
    for (contract, table, n_periods), want in zip(PINNED, expect, strict=True):
        res = contract.outcome_payments(table, n_periods)
        np.testing.assert_allclose(res.by_trigger, want, err_msg=repr(contract))
    drop = PINNED[3][0].outcome_payments(PINNED[3][1], 2)
    assert drop.total.tolist() == [[0.0, 100.0]] and drop.beyond_horizon.tolist() == [[200.0]]
    last = PINNED[2][0].outcome_payments(PINNED[2][1], 2)
    assert last.total.tolist() == [[0.0, 150.0]] and last.beyond_horizon.tolist() == [[50.0]]


@settings(max_examples=300, deadline=None)
@given(contracts_and_tables())
def _check_against_the_reference(case):
    contract, table, n_periods = case
    res = _compare(contract, table, n_periods)
    _reached["examples"] += 1
    _reached["paid"] += bool(res.by_trigger.sum() > 0)


def test_outcome_payments_match_the_reference_model():
    """Generated contracts are valid by construction: every example reaches outcome_payments,
    and most pay something (a fuzzer where everything pays 0 would test little)."""
    _reached.update(examples=0, paid=0)
    _check_against_the_reference()
    assert _reached["examples"] >= 300
    assert _reached["paid"] / _reached["examples"] > 0.6, _reached


# ------------------------------------------------------------------ pricing-rule boundaries
def due(rule, effect, units=0.0, avoided=0.0, paid=0.0) -> float:
    return float(rule.due(np.array([effect]), np.array([units]), np.array([avoided]),
                          np.array([paid]))[0])


@pytest.mark.parametrize("threshold", [0.1, 0.0, -0.2, 0.5])
def test_price_per_unit_threshold_boundary(threshold):
    rule = PricePerUnit(10.0, threshold=threshold)
    assert due(rule, threshold, units=3.0) == 30.0
    assert due(rule, up(threshold), units=3.0) == 30.0
    assert due(rule, down(threshold), units=3.0) == 0.0
    assert due(PricePerUnit(10.0, threshold=None), -1.0, units=3.0) == 30.0


def test_price_per_unit_units_boundary_at_zero():
    rule = PricePerUnit(10.0, threshold=None)
    assert due(rule, 0.5, units=0.0) == 0.0
    assert due(rule, 0.5, units=down(0.0)) == 0.0
    assert due(rule, 0.5, units=up(0.0)) == 10.0 * up(0.0)
    assert due(rule, 0.5, units=1.0) == 10.0


def test_price_per_unit_ceiling_boundary():
    rule = PricePerUnit(10.0, threshold=0.2, ceiling=0.5)
    assert due(rule, 0.5, units=50.0) == 500.0  # at the ceiling every unit is paid
    assert due(rule, down(0.5), units=50.0) == 500.0
    above = due(rule, up(0.5), units=50.0)
    assert above == pytest.approx(500.0 * 0.5 / up(0.5), rel=1e-15) and above < 500.0
    assert due(rule, 0.8, units=80.0) == pytest.approx(500.0)  # 80 x 0.5 / 0.8 = 50 units


def test_price_per_unit_ceiling_must_exceed_threshold():
    with pytest.raises(ValueError, match=r"PricePerUnit\.ceiling"):
        PricePerUnit(10.0, threshold=0.3, ceiling=0.3)
    with pytest.raises(ValueError, match=r"PricePerUnit\.ceiling"):
        PricePerUnit(10.0, threshold=0.3, ceiling=down(0.3))
    assert PricePerUnit(10.0, threshold=0.3, ceiling=up(0.3)).ceiling == up(0.3)
    with pytest.raises(ValueError, match=r"PricePerUnit\.ceiling"):
        PricePerUnit(10.0, threshold=None, ceiling=0.0)  # a ceiling is > 0
    assert PricePerUnit(10.0, threshold=None, ceiling=up(0.0)).ceiling == up(0.0)
    assert PricePerUnit(10.0, threshold=None, ceiling=1.0).ceiling == 1.0
    with pytest.raises(ValueError, match=r"PricePerUnit\.ceiling"):
        PricePerUnit(10.0, threshold=None, ceiling=up(1.0))


def test_price_per_unit_price_boundary():
    assert PricePerUnit(0.0).price == 0.0
    with pytest.raises(ValueError, match=r"PricePerUnit\.price"):
        PricePerUnit(down(0.0))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_step_schedule_boundaries(k):
    thresholds, payments = (0.05, 0.10, 0.20), (1.0, 2.0, 4.0)
    rule = StepSchedule(thresholds, payments)
    below = 0.0 if k == 0 else payments[k - 1]
    assert due(rule, thresholds[k]) == payments[k]
    assert due(rule, up(thresholds[k])) == payments[k]
    assert due(rule, down(thresholds[k])) == below
    assert due(rule, float("nan")) == 0.0


def test_step_schedule_validation_boundaries():
    StepSchedule((0.1, up(0.1)), (1.0, 1.0))  # equal payments are allowed
    with pytest.raises(ValueError, match=r"StepSchedule\.thresholds"):
        StepSchedule((0.1, 0.1), (1.0, 2.0))
    with pytest.raises(ValueError, match=r"StepSchedule\.thresholds"):
        StepSchedule((0.1, down(0.1)), (1.0, 2.0))
    with pytest.raises(ValueError, match=r"StepSchedule\.payments"):
        StepSchedule((0.1, 0.2), (2.0, down(2.0)))
    with pytest.raises(ValueError, match=r"StepSchedule\.payments"):
        StepSchedule((0.1, 0.2), (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match=r"StepSchedule\.payments"):
        StepSchedule((0.1, 0.2, 0.3), (1.0, 2.0))


def test_linear_floor_cap_boundaries():
    rule = LinearFloorCap(0.25, 0.75, floor_payment=100.0, cap_payment=900.0)
    assert due(rule, 0.25) == 100.0
    assert due(rule, up(0.25)) == pytest.approx(100.0, abs=1e-9) and due(rule, up(0.25)) >= 100.0
    assert due(rule, down(0.25)) == 0.0
    assert due(rule, 0.75) == 900.0
    assert due(rule, up(0.75)) == 900.0
    assert 900.0 - 1e-9 < due(rule, down(0.75)) < 900.0
    assert due(rule, 0.5) == 500.0
    assert due(rule, float("nan")) == 0.0
    flat = LinearFloorCap(0.25, 0.75, floor_payment=0.0, cap_payment=0.0)
    assert due(flat, 0.9) == 0.0


def test_linear_floor_cap_validation_boundaries():
    LinearFloorCap(0.2, up(0.2), 1.0, 1.0)  # equal payments allowed; any cap above the floor
    with pytest.raises(ValueError, match=r"LinearFloorCap\.cap_effect"):
        LinearFloorCap(0.2, 0.2, 1.0, 2.0)
    with pytest.raises(ValueError, match=r"LinearFloorCap\.cap_effect"):
        LinearFloorCap(0.2, down(0.2), 1.0, 2.0)
    with pytest.raises(ValueError, match=r"LinearFloorCap\.cap_payment"):
        LinearFloorCap(0.2, 0.4, 2.0, down(2.0))


def test_savings_share_tier_boundary_on_paid_to_date():
    rule = SavingsShare(((0.5, 100.0), (0.25, None)))
    # exactly at the boundary: everything at the next tier's share
    assert due(rule, 0.0, avoided=40.0, paid=100.0) == 10.0
    assert due(rule, 0.0, avoided=40.0, paid=up(100.0)) == 10.0
    # one step below: the room left in the first tier is one ulp, paid at the first share
    below = due(rule, 0.0, avoided=40.0, paid=down(100.0))
    assert below == pytest.approx(10.0, abs=1e-12) and below >= 10.0
    # an avoided cost that exactly fills the first tier pays its room and nothing more
    assert due(rule, 0.0, avoided=200.0, paid=0.0) == 100.0
    assert due(rule, 0.0, avoided=up(200.0), paid=0.0) == pytest.approx(100.0)
    assert due(rule, 0.0, avoided=up(200.0), paid=0.0) >= 100.0
    bounded = SavingsShare(((0.5, 100.0),))
    assert due(bounded, 0.0, avoided=1e6, paid=0.0) == 100.0  # nothing beyond a bounded tier
    assert due(bounded, 0.0, avoided=1e6, paid=100.0) == 0.0
    assert due(bounded, 0.0, avoided=down(0.0), paid=0.0) == 0.0


@pytest.mark.parametrize("threshold", [0.1, 0.0, -0.3])
def test_savings_share_threshold_boundary(threshold):
    rule = SavingsShare(((0.5, None),), threshold=threshold)
    assert due(rule, threshold, avoided=10.0) == 5.0
    assert due(rule, up(threshold), avoided=10.0) == 5.0
    assert due(rule, down(threshold), avoided=10.0) == 0.0


def test_savings_share_validation_boundaries():
    SavingsShare(((1.0, 10.0), (0.5, up(10.0))))  # a share of 1 and any larger up_to
    with pytest.raises(ValueError, match=r"tiers\[1\]\.up_to"):
        SavingsShare(((1.0, 10.0), (0.5, 10.0)))
    with pytest.raises(ValueError, match=r"tiers\[1\]\.up_to"):
        SavingsShare(((1.0, 10.0), (0.5, down(10.0))))
    with pytest.raises((ValueError, TypeError), match="share"):
        SavingsShare(((0.0, 10.0),))
    assert SavingsShare(((up(0.0), 10.0),)).tiers[0][0] == up(0.0)
    with pytest.raises((ValueError, TypeError), match="share"):
        SavingsShare(((up(1.0), 10.0),))
    with pytest.raises((ValueError, TypeError), match="up_to"):
        SavingsShare(((0.5, 0.0),))
    assert SavingsShare(((0.5, up(0.0)),)).tiers[0][1] == up(0.0)
    assert SavingsShare(((0.5, INF),)).tiers[0][1] == INF


@given(st.floats(-0.5, 1.0), st.floats(0.0, 1e4))
@example(0.1, 10.0).via("the threshold itself")
@example(down(0.1), 10.0).via("one step below the threshold")
@example(0.65, 10.0).via("the ceiling itself")
@example(up(0.65), 10.0).via("one step above the ceiling")
@settings(max_examples=100)
def test_price_per_unit_matches_the_reference(effect, units):
    rule = PricePerUnit(7.0, threshold=0.1, ceiling=0.65)
    assert due(rule, effect, units=units) == pytest.approx(
        ref_due(rule, effect, units, 0.0, 0.0), rel=1e-12, abs=1e-9)


def test_payment_period_boundary_of_the_lag():
    """A trigger lands in the horizon when period + lag < P, else after it."""
    contract = Contract((MetricTerms("a", PricePerUnit(1.0, threshold=None)),), lag=2,
                        overflow="drop")
    n_periods = 4
    inside = _table("a", (1,), (False,), (1,), [[0.0]], [[5.0]])  # 1 + 2 = 3 = P - 1
    outside = _table("a", (2,), (False,), (1,), [[0.0]], [[5.0]])  # 2 + 2 = P
    res = contract.outcome_payments(inside, n_periods)
    assert res.total.tolist() == [[0.0, 0.0, 0.0, 5.0]] and res.beyond_horizon.tolist() == [[0.0]]
    res = contract.outcome_payments(outside, n_periods)
    assert res.total.tolist() == [[0.0] * 4] and res.beyond_horizon.tolist() == [[5.0]]


def test_caps_exactly_met_and_one_step_over():
    """A cap equal to the amount due pays it all; one float step less cuts it."""
    rule = PricePerUnit(1.0, threshold=None)
    table = _table("a", (0,), (False,), (4,), [[0.0]], [[100.0]])
    for caps, terms in [(Caps(total=100.0), {}), (Caps(per_period=100.0), {}),
                        (Caps(per_person=25.0), {}), (Caps(), {"cap": 100.0}),
                        (Caps(), {"per_person_cap": 25.0})]:
        contract = Contract((MetricTerms("a", rule, **terms),), caps=caps)
        assert contract.outcome_payments(table, 1).total.tolist() == [[100.0]]
    for caps, terms in [(Caps(total=down(100.0)), {}), (Caps(per_period=down(100.0)), {}),
                        (Caps(), {"cap": down(100.0)})]:
        contract = Contract((MetricTerms("a", rule, **terms),), caps=caps)
        assert contract.outcome_payments(table, 1).total.tolist() == [[down(100.0)]]
    # the smaller of the two per-person caps applies, whichever is given where
    for a, b in [(25.0, 30.0), (30.0, 25.0)]:
        contract = Contract((MetricTerms("a", rule, per_person_cap=b),), caps=Caps(per_person=a))
        assert contract.outcome_payments(table, 1).total.tolist() == [[100.0]]


# ------------------------------------------------------------------ messages and broadcasting
@pytest.mark.parametrize(("make", "message"), [
    (lambda: StepSchedule((0.1, 0.1), (1.0, 2.0)),
     "StepSchedule.thresholds: got (0.1, 0.1); allowed: strictly increasing values"),
    (lambda: StepSchedule((0.1, 0.2), (2.0, 1.0)),
     "StepSchedule.payments: got (2.0, 1.0); allowed: non-decreasing values"),
    (lambda: StepSchedule((0.1, 0.2), (1.0,)),
     "StepSchedule.payments: got (1.0,); allowed: one per threshold (2 values)"),
    (lambda: LinearFloorCap(0.2, 0.2, 1.0, 2.0),
     "LinearFloorCap.cap_effect: got 0.2; allowed: > floor_effect=0.2"),
    (lambda: LinearFloorCap(0.2, 0.4, 2.0, 1.0),
     "LinearFloorCap.cap_payment: got 1.0; allowed: >= floor_payment=2.0"),
    (lambda: PricePerUnit(1.0, threshold=0.3, ceiling=0.3),
     "PricePerUnit.ceiling: got 0.3; allowed: > threshold=0.3"),
    (lambda: SavingsShare(((1.0, 10.0), (0.5, 10.0))),
     "SavingsShare.tiers[1].up_to: got 10.0; allowed: > the previous tier's up_to=10.0"),
])
def test_pricing_rule_messages_name_the_field_the_value_and_the_rule(make, message):
    """The whole message: "Owner.field: got X; allowed: Y" (a message that lost the value or
    named another field would still raise)."""
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message


def test_savings_share_tiers_that_are_not_a_list_name_the_key():
    from sibsim.money.pricing import PRICING_RULES
    from sibsim.spec.toml import KeyProblem, Section

    with pytest.raises(KeyProblem) as info:
        PRICING_RULES.read(Section("t", {"rule": {"kind": "savings_share", "tiers": 5}}), "rule")
    assert info.value.key == "t.rule.tiers"
    assert info.value.problem == ("expected a list of [share, up_to] pairs (the last may be "
                                  "[share], an open tier)")
    rule = PRICING_RULES.read(
        Section("t", {"rule": {"kind": "savings_share", "tiers": [[0.5, 10], [0.4]]}}), "rule")
    assert rule.tiers == ((0.5, 10.0), (0.4, INF))


@pytest.mark.parametrize("rule", [
    PricePerUnit(2.0, threshold=0.1, ceiling=0.5), StepSchedule((0.1,), (5.0,)),
    LinearFloorCap(0.1, 0.3, 1.0, 3.0), SavingsShare(((0.5, None),), threshold=0.1)])
def test_every_rule_broadcasts_all_its_arguments(rule):
    """``due`` accepts any broadcastable shapes (its docstring): a scalar effect with arrays of
    units, avoided cost or paid to date gives one amount per element."""
    for kw in ({"units": np.ones(3)}, {"avoided_cost": np.ones(4)},
               {"paid_to_date": np.zeros(5)}):
        out = rule.due(0.2, **kw)
        assert out.shape == next(iter(kw.values())).shape
    assert rule.due(np.full((2, 3), 0.2), units=np.ones(3)).shape == (2, 3)
    assert rule.due([0.2, 0.0], units=10.0, avoided_cost=10.0).tolist()[1] == 0.0


def test_savings_share_messages_name_the_tier_and_the_previous_bound():
    """Killed surviving mutants: the message names the tier before (not another one) and the
    value given, and a tier that is not a pair is refused as such, in Python and in TOML."""
    from sibsim.money.pricing import PRICING_RULES
    from sibsim.spec.toml import KeyProblem, Section

    with pytest.raises(ValueError) as info:
        SavingsShare(((1.0, 10.0), (0.5, 20.0), (0.2, 15.0)))
    assert str(info.value) == ("SavingsShare.tiers[2].up_to: got 15.0; allowed: > the previous "
                               "tier's up_to=20.0")
    pair = "a (share, up_to) pair: share in (0, 1], up_to > 0 or None"
    with pytest.raises(TypeError) as info:
        SavingsShare(tiers=(5,))
    assert str(info.value) == f"SavingsShare.tiers[0]: got 5; allowed: {pair}"
    with pytest.raises(KeyProblem) as info:
        PRICING_RULES.read(Section("t", {"rule": {"kind": "savings_share", "tiers": [5]}}),
                           "rule")
    assert str(info.value.problem).endswith(f"got 5; allowed: {pair}")


def test_defaults_of_due_pay_nothing_and_integers_are_read_as_floats():
    """``due(effect)`` alone: no units and no avoided cost pay nothing; integer inputs give
    the same amounts as floats (a savings share of integer avoided costs is not truncated)."""
    assert PricePerUnit(10.0, threshold=None).due(0.5).tolist() == 0.0
    assert SavingsShare(((0.5, None),)).due(0.5).tolist() == 0.0
    share = SavingsShare(((0.5, None),))
    assert share.due([1, 1], avoided_cost=[3, 5]).tolist() == [1.5, 2.5]
    assert share.due([1, 1], avoided_cost=[3, 5], paid_to_date=[0, 1]).dtype == np.float64
    assert PricePerUnit(1.5, threshold=0).due([1, 0], units=[3, 3]).tolist() == [4.5, 4.5]


# ------------------------------------------------------------------ rate cards in the ledger
def _cards_case(caps=None):
    """One metric and two rate cards, one stratum of 4 participants, 2 periods, 1 draw."""
    from sibsim.money.ratecard import RateCard
    from sibsim.money.results import Achievements

    contract = Contract((MetricTerms("m", PricePerUnit(1.0, threshold=None)),),
                        caps=caps or Caps(),
                        rate_cards=(RateCard("first", price=10.0), RateCard("second", price=1.0)))
    table = _table("m", (0,), (False,), (4,), [[0.0]], [[7.0]])
    counts = np.array([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (D=1, R=2, S=1, P=2)
    return contract, table, Achievements(("first", "second"), ("s",), [4.0], counts)


def test_each_rate_card_is_booked_under_its_own_label():
    contract, table, ach = _cards_case()
    res = contract.outcome_payments(table, 2, ach)
    assert res.metrics == ("m", "first", "second")
    assert res.by_metric.tolist() == [[[7.0, 0.0], [10.0, 20.0], [3.0, 4.0]]]
    assert res.total.tolist() == [[20.0, 24.0]]
    assert res.overflow == contract.overflow == "last"
    dropped = dataclasses.replace(contract, overflow="drop")
    assert dropped.outcome_payments(table, 2, ach).overflow == "drop"


def test_the_contract_per_person_cap_applies_to_rate_cards():
    """Caps.per_person caps each stratum's rate-card payments at per_person x participants."""
    contract, table, ach = _cards_case(Caps(per_person=5.0))  # 5 x 4 participants = 20
    res = contract.outcome_payments(table, 2, ach)
    assert res.by_metric[0, 1].tolist() == [10.0, 10.0]  # 10 + 20 stopped at 20
    assert res.by_metric[0, 2].tolist() == [3.0, 4.0]
    assert res.by_metric[0, 0].tolist() == [7.0, 0.0]  # the trigger: 7 <= 5 x 4
