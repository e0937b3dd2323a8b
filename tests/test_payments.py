"""Tests of the outcome payments (sibsim.money.pricing, .contract, .results): worked examples by
hand, property tests, the pricing-rule registry and the TOML readers."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sibsim.money import (
    PRICING_RULES,
    Caps,
    Contract,
    EvaluationTable,
    LinearFloorCap,
    MetricTerms,
    PricePerUnit,
    PricingRule,
    SavingsShare,
    StepSchedule,
)
from sibsim.spec.toml import KeyProblem, Section

# NYC ABLE steps on the reduction in re-incarceration (real-sibs.md); the amounts between the
# break-even (USD 9.6M at 10%) and the top payment (USD 11.712M at 20%) are illustrative.
ABLE_THRESHOLDS = (0.085, 0.10, 0.11, 0.12, 0.125, 0.13, 0.16, 0.20)
ABLE_PAYMENTS = (4.8e6, 9.6e6, 10.08e6, 10.56e6, 10.8e6, 11.04e6, 11.52e6, 11.712e6)


def table(triggers, effect, units=None, avoided=None, gate=None):
    """EvaluationTable from (metric, period, cumulative, participants) rows and (D, K) arrays."""
    metric, period, cumulative, participants = zip(*triggers, strict=True)
    effect = np.asarray(effect, dtype=float)
    return EvaluationTable(
        metric=metric,
        period=period,
        cumulative=cumulative,
        participants=participants,
        measured_effect=effect,
        units=np.zeros_like(effect) if units is None else units,
        avoided_cost=avoided,
        gate=gate,
    )


# --------------------------------------------------------------------------------------
# worked examples
# --------------------------------------------------------------------------------------


def peterborough(caps: Caps | None = None) -> Contract:
    """GBP 1,000 per reconviction event avoided: 10% per cohort, or 7.5% pooled; lag 1."""
    terms = MetricTerms(
        "reconviction",
        PricePerUnit(1000.0, threshold=0.10),
        pooled_rule=PricePerUnit(1000.0, threshold=0.075),
    )
    return Contract((terms,), caps=caps or Caps(), lag=1, currency="GBP")


PETERBOROUGH_TRIGGERS = [
    ("reconviction", 1, False, 1000),  # cohort 1, known in period 1
    ("reconviction", 2, False, 800),  # cohort 2, known in period 2
    ("reconviction", 2, True, 1800),  # pooled top-up over both cohorts, period 2
]
# draw 0: cohort 1 passes (12%, 186 events avoided), cohort 2 fails (8%), pooled passes (9%)
# draw 1: cohort 1 fails (9%), cohort 2 fails (6%), pooled passes (7.6%, 250 events)
# draw 2: everything fails (pooled 7%)
PB_EFFECT = [[0.12, 0.08, 0.09], [0.09, 0.06, 0.076], [0.08, 0.06, 0.07]]
PB_UNITS = [[186.0, 110.0, 296.0], [140.0, 110.0, 250.0], [124.0, 96.0, 220.0]]


def test_peterborough_cohort_and_pooled_top_up():
    res = peterborough().outcome_payments(
        table(PETERBOROUGH_TRIGGERS, PB_EFFECT, PB_UNITS), n_periods=4
    )
    # draw 0: 186,000 for cohort 1 in period 2; pooled 296,000 - 186,000 = 110,000 in period 3
    np.testing.assert_allclose(res.total[0], [0, 0, 186_000, 110_000])
    np.testing.assert_allclose(res.total[1], [0, 0, 0, 250_000])
    np.testing.assert_allclose(res.total[2], [0, 0, 0, 0])
    np.testing.assert_allclose(res.by_trigger[0], [186_000, 0, 110_000])
    assert res.by_metric.shape == (3, 1, 4)
    assert res.metrics == ("reconviction",)
    assert res.currency == "GBP"


def test_peterborough_total_cap():
    res = peterborough(Caps(total=200_000.0)).outcome_payments(
        table(PETERBOROUGH_TRIGGERS, PB_EFFECT, PB_UNITS), n_periods=4
    )
    np.testing.assert_allclose(res.total[0], [0, 0, 186_000, 14_000])
    np.testing.assert_allclose(res.total[1], [0, 0, 0, 200_000])


def test_pooled_top_up_never_claws_back():
    # cohort paid 186,000; pooled due only 150 x 1,000: top-up floored at 0
    res = peterborough().outcome_payments(
        table(PETERBOROUGH_TRIGGERS[::2], [[0.12, 0.08]], [[186.0, 150.0]]), n_periods=4
    )
    np.testing.assert_allclose(res.total[0], [0, 0, 186_000, 0])


def test_nyc_able_step_schedule():
    rule = StepSchedule(ABLE_THRESHOLDS, ABLE_PAYMENTS)
    effect = [0.0, 0.0849, 0.085, 0.0999, 0.10, 0.105, 0.125, 0.159, 0.20, 0.35, -0.2]
    expected = [0, 0, 4.8e6, 4.8e6, 9.6e6, 9.6e6, 10.8e6, 11.04e6, 11.712e6, 11.712e6, 0]
    np.testing.assert_allclose(rule.due(effect), expected)


def test_nyc_able_in_a_contract_with_gate_and_lag():
    contract = Contract(
        (MetricTerms("jail_days", StepSchedule(ABLE_THRESHOLDS, ABLE_PAYMENTS)),),
        lag=1,
        currency="USD",
    )
    t = table(
        [("jail_days", 2, False, 1470)],
        [[0.12], [0.12], [0.05]],
        gate=np.array([[True], [False], [True]]),
    )
    res = contract.outcome_payments(t, n_periods=4)
    np.testing.assert_allclose(res.total[:, 3], [10.56e6, 0.0, 0.0])
    assert res.total[:, :3].sum() == 0.0


def test_utah_savings_share_crosses_the_tier_mid_payment():
    # 95% of avoided cost until cumulative payments reach 100, then 40%
    rule = SavingsShare(((0.95, 100.0), (0.40, None)))
    contract = Contract((MetricTerms("special_ed", rule),), currency="USD")
    t = table(
        [("special_ed", 0, False, 500), ("special_ed", 1, False, 500)],
        [[0.0, 0.0]],
        avoided=[[60.0, 60.0]],
    )
    res = contract.outcome_payments(t, n_periods=2)
    # period 0: 0.95 x 60 = 57. period 1: 43 more reaches 100, using 43 / 0.95 of avoided
    # cost; the remaining 60 - 43 / 0.95 is shared at 40%.
    second = 43.0 + 0.40 * (60.0 - 43.0 / 0.95)
    np.testing.assert_allclose(res.total[0], [57.0, second])
    assert second == pytest.approx(48.894736842)


def test_savings_share_cumulative_trigger_equals_incremental():
    rule = SavingsShare(((0.95, 100.0), (0.40, None)))
    once = rule.due(0.0, avoided_cost=120.0)
    first = rule.due(0.0, avoided_cost=60.0)
    second = rule.due(0.0, avoided_cost=60.0, paid_to_date=first)
    np.testing.assert_allclose(first + second, once)
    np.testing.assert_allclose(once, 100.0 + 0.40 * (120.0 - 100.0 / 0.95))


def test_savings_share_bounded_last_tier_and_threshold():
    rule = SavingsShare(((0.5, 10.0),), threshold=0.05)
    np.testing.assert_allclose(
        rule.due([0.1, 0.1, 0.0], avoided_cost=[8.0, 100.0, 100.0]), [4.0, 10.0, 0.0]
    )
    np.testing.assert_allclose(rule.due(0.1, avoided_cost=100.0, paid_to_date=12.0), 0.0)


def test_linear_floor_cap():
    rule = LinearFloorCap(0.20, 0.60, floor_payment=100.0, cap_payment=500.0)
    np.testing.assert_allclose(rule.due([0.1, 0.2, 0.4, 0.6, 0.9]), [0, 100, 300, 500, 500])


def test_price_per_unit_floors_negative_units_and_unconditional_threshold():
    rule = PricePerUnit(2_900.0, threshold=None)  # Chicago: USD 2,900 per ready child
    np.testing.assert_allclose(rule.due([-0.5, 0.3], units=[-3.0, 10.0]), [0.0, 29_000.0])


def test_per_person_cap_and_metric_cap():
    contract = Contract(
        (
            MetricTerms("a", PricePerUnit(100.0), per_person_cap=50.0, cap=1_000.0),
            MetricTerms("b", PricePerUnit(10.0)),
        ),
        caps=Caps(per_person=80.0),
    )
    t = table(
        [("a", 0, False, 10), ("a", 1, False, 20), ("b", 1, False, 5)],
        [[0.1, 0.1, 0.1]],
        units=[[8.0, 100.0, 100.0]],
    )
    res = contract.outcome_payments(t, n_periods=2)
    # a: 800 -> per person 50 x 10 = 500; then 10,000 -> 1,000 (50 x 20) -> metric cap 500 left
    # b: 1,000 -> per person 80 x 5 = 400
    np.testing.assert_allclose(res.by_trigger[0], [500.0, 500.0, 400.0])
    np.testing.assert_allclose(res.by_metric[0], [[500.0, 500.0], [0.0, 400.0]])
    np.testing.assert_allclose(res.total[0], [500.0, 900.0])


def test_per_period_cap_forfeits_and_pooled_top_up_recovers():
    contract = Contract((MetricTerms("m", PricePerUnit(1.0)),), caps=Caps(per_period=(50.0, 80.0)))
    t = table([("m", 0, False, 1), ("m", 1, True, 1)], [[0.1, 0.1]], units=[[70.0, 100.0]])
    res = contract.outcome_payments(t, n_periods=2)
    # period 0: 70 due, 50 paid (20 forfeited); period 1: pooled 100 - 50 committed = 50
    np.testing.assert_allclose(res.total[0], [50.0, 50.0])


def test_lag_overflow_last_and_drop():
    terms = (MetricTerms("m", PricePerUnit(1.0)),)
    t = table([("m", 1, False, 1), ("m", 2, False, 1)], [[0.1, 0.1]], units=[[5.0, 7.0]])
    last = Contract(terms, lag=2).outcome_payments(t, n_periods=3)
    drop = Contract(terms, lag=2, overflow="drop").outcome_payments(t, n_periods=3)
    np.testing.assert_allclose(last.total[0], [0.0, 0.0, 12.0])
    np.testing.assert_allclose(last.beyond_horizon[0], [12.0])
    np.testing.assert_allclose(drop.total[0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(drop.beyond_horizon[0], [12.0])
    np.testing.assert_allclose(drop.by_trigger[0], [5.0, 7.0])


def test_dropped_amounts_count_towards_total_cap():
    terms = (MetricTerms("m", PricePerUnit(1.0)),)
    t = table([("m", 0, False, 1), ("m", 3, False, 1)], [[0.1, 0.1]], units=[[5.0, 7.0]])
    res = Contract(terms, caps=Caps(total=10.0), overflow="drop").outcome_payments(t, 3)
    np.testing.assert_allclose(res.by_trigger[0], [5.0, 5.0])
    np.testing.assert_allclose(res.total[0], [5.0, 0.0, 0.0])


def test_to_dataset_labels_and_units():
    res = peterborough().outcome_payments(
        table(PETERBOROUGH_TRIGGERS, PB_EFFECT, PB_UNITS), n_periods=4
    )
    ds = res.to_dataset()
    assert ds["outcome_payment"].dims == ("draw", "period")
    assert ds["outcome_payment_by_metric"].dims == ("draw", "metric", "period")
    assert ds["outcome_payment"].attrs["units"] == "GBP"
    assert all("description" in ds[v].attrs for v in ds.data_vars)


def test_results_are_read_only():
    res = peterborough().outcome_payments(
        table(PETERBOROUGH_TRIGGERS, PB_EFFECT, PB_UNITS), n_periods=4
    )
    with pytest.raises(ValueError):
        res.total[0, 0] = 1.0


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "exc", "fragments"),
    [
        (lambda: PricePerUnit(-1.0), ValueError, ["PricePerUnit.price", "-1.0", "[0, inf]"]),
        (lambda: PricePerUnit(True), TypeError, ["PricePerUnit.price", "True"]),
        (lambda: PricePerUnit("5"), TypeError, ["PricePerUnit.price"]),
        (
            lambda: StepSchedule((0.1, 0.1), (1.0, 2.0)),
            ValueError,
            ["StepSchedule.thresholds", "strictly increasing"],
        ),
        (
            lambda: StepSchedule((0.1, 0.2), (2.0, 1.0)),
            ValueError,
            ["StepSchedule.payments", "non-decreasing"],
        ),
        (lambda: StepSchedule((0.1, 0.2), (1.0,)), ValueError, ["StepSchedule.payments"]),
        (lambda: StepSchedule((), ()), ValueError, ["StepSchedule.thresholds"]),
        (lambda: LinearFloorCap(0.3, 0.2, 0.0, 1.0), ValueError, ["LinearFloorCap.cap_effect"]),
        (lambda: LinearFloorCap(0.1, 0.2, 2.0, 1.0), ValueError, ["LinearFloorCap.cap_payment"]),
        (lambda: SavingsShare(((1.5, None),)), ValueError, ["SavingsShare.tiers[0].share", "1.5"]),
        (
            lambda: SavingsShare(((0.9, 10.0), (0.4, 5.0))),
            ValueError,
            ["SavingsShare.tiers[1].up_to"],
        ),
        (lambda: SavingsShare(()), ValueError, ["SavingsShare.tiers", "at least 1"]),
        (lambda: Caps(total=-1.0), ValueError, ["Caps.total", "-1.0"]),
        (lambda: Caps(per_period=(1.0, float("nan"))), ValueError, ["Caps.per_period[1]"]),
        (
            lambda: MetricTerms("m", rule=3.0),
            TypeError,
            ["MetricTerms.rule", "float", "PricingRule"],
        ),
        (lambda: MetricTerms("", PricePerUnit(1.0)), TypeError, ["MetricTerms.metric"]),
        (lambda: Contract(()), ValueError, ["Contract.terms", "at least 1"]),
        (
            lambda: Contract((MetricTerms("m", PricePerUnit(1.0)),) * 2),
            ValueError,
            ["Contract.terms", "unique"],
        ),
        (
            lambda: Contract((MetricTerms("m", PricePerUnit(1.0)),), lag=-1),
            ValueError,
            ["Contract.lag", "-1"],
        ),
        (
            lambda: Contract((MetricTerms("m", PricePerUnit(1.0)),), overflow="carry"),
            ValueError,
            ["Contract.overflow", "carry", "one of 'last', 'drop'"],
        ),
    ],
)
def test_invalid_specifications_name_field_value_and_allowed(build, exc, fragments):
    with pytest.raises(exc) as info:
        build()
    for fragment in fragments:
        assert fragment in str(info.value)


def test_invalid_evaluation_tables():
    good = {
        "metric": ("m",),
        "period": (0,),
        "cumulative": (False,),
        "participants": (1,),
        "measured_effect": [[0.1]],
        "units": [[1.0]],
    }
    with pytest.raises(ValueError, match=r"EvaluationTable\.units.*\(1, 2\)"):
        EvaluationTable(**{**good, "units": [[1.0, 2.0]]})
    with pytest.raises(ValueError, match=r"EvaluationTable\.measured_effect.*non-finite"):
        EvaluationTable(**{**good, "measured_effect": [[np.nan]]})
    with pytest.raises(TypeError, match=r"EvaluationTable\.gate"):
        EvaluationTable(**{**good, "gate": [[1]]})
    with pytest.raises(ValueError, match=r"EvaluationTable\.period\[0\]"):
        EvaluationTable(**{**good, "period": (-1,)})
    with pytest.raises(ValueError, match=r"EvaluationTable\.participants"):
        EvaluationTable(**{**good, "participants": (1, 2)})
    with pytest.raises(TypeError, match=r"EvaluationTable\.cumulative\[0\]"):
        EvaluationTable(**{**good, "cumulative": (0,)})
    contract = Contract((MetricTerms("other", PricePerUnit(1.0)),))
    with pytest.raises(ValueError, match=r"table\.metric.*'m'"):
        contract.outcome_payments(EvaluationTable(**good), n_periods=2)
    with pytest.raises(ValueError, match=r"n_periods"):
        Contract((MetricTerms("m", PricePerUnit(1.0)),)).outcome_payments(
            EvaluationTable(**good), n_periods=0
        )


def test_specs_are_immutable():
    rule = PricePerUnit(1.0)
    with pytest.raises(AttributeError):
        rule.price = 2.0  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------

effects = st.floats(-0.5, 1.0, allow_nan=False)
amounts = st.floats(0.0, 1e4, allow_nan=False)


@st.composite
def step_schedules(draw):
    n = draw(st.integers(1, 5))
    thresholds = sorted(draw(st.lists(effects, min_size=n, max_size=n, unique=True)))
    payments = sorted(draw(st.lists(amounts, min_size=n, max_size=n)))
    return StepSchedule(tuple(thresholds), tuple(payments))


@st.composite
def linear_rules(draw):
    lo, hi = sorted(draw(st.lists(effects, min_size=2, max_size=2, unique=True)))
    p_lo, p_hi = sorted(draw(st.lists(amounts, min_size=2, max_size=2)))
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


rules = st.one_of(
    st.builds(PricePerUnit, amounts, st.one_of(st.none(), effects)),
    step_schedules(),
    linear_rules(),
    savings_shares(),
)


@settings(max_examples=150, deadline=None)
@given(rules, effects, effects, st.floats(-50, 500), amounts, amounts)
def test_rules_are_non_negative_and_monotone_in_effect(rule, e1, e2, units, avoided, paid):
    lo, hi = min(e1, e2), max(e1, e2)
    a = rule.due(lo, units=units, avoided_cost=avoided, paid_to_date=paid)
    b = rule.due(hi, units=units, avoided_cost=avoided, paid_to_date=paid)
    assert a >= 0.0
    assert b >= a


@settings(max_examples=100, deadline=None)
@given(rules, effects, st.floats(-50, 500), st.floats(-50, 500), amounts, amounts)
def test_rules_are_monotone_in_units_and_avoided_cost(rule, effect, u1, u2, a1, a2):
    assert rule.due(effect, max(u1, u2), max(a1, a2)) >= rule.due(effect, min(u1, u2), min(a1, a2))


@settings(max_examples=100, deadline=None)
@given(savings_shares(), amounts, amounts, amounts)
def test_savings_share_splitting_a_payment_changes_nothing(rule, paid, a1, a2):
    once = rule.due(1.0, avoided_cost=a1 + a2, paid_to_date=paid)
    first = rule.due(1.0, avoided_cost=a1, paid_to_date=paid)
    second = rule.due(1.0, avoided_cost=a2, paid_to_date=paid + first)
    np.testing.assert_allclose(first + second, once, rtol=1e-9, atol=1e-7)


optional_cap = st.one_of(st.none(), st.floats(0.0, 5e4, exclude_min=True))  # 0: refused


@st.composite
def contracts_and_tables(draw):
    n_metrics = draw(st.integers(1, 3))
    names = [f"m{i}" for i in range(n_metrics)]
    terms = tuple(
        MetricTerms(
            name,
            draw(rules),
            pooled_rule=draw(st.one_of(st.none(), rules)),
            cap=draw(optional_cap),
            per_person_cap=draw(st.one_of(st.none(), st.floats(0.0, 200.0, exclude_min=True))),
        )
        for name in names
    )
    n_periods = draw(st.integers(1, 5))
    per_period = draw(
        st.one_of(
            st.none(),
            st.floats(0.0, 3e4),
            st.lists(st.floats(0.0, 3e4), min_size=n_periods, max_size=n_periods).map(tuple),
        )
    )
    caps = Caps(
        per_period=per_period,
        per_person=draw(st.one_of(st.none(), st.floats(0, 300, exclude_min=True))),
        total=draw(optional_cap),
    )
    contract = Contract(
        terms,
        caps=caps,
        lag=draw(st.integers(0, 2)),
        overflow=draw(st.sampled_from(["last", "drop"])),
    )
    k = draw(st.integers(0, 6))
    d = draw(st.integers(1, 4))
    triggers = [
        (
            draw(st.sampled_from(names)),
            draw(st.integers(0, n_periods + 1)),
            draw(st.booleans()),
            draw(st.integers(0, 200)),
        )
        for _ in range(k)
    ]
    arrays = st.lists(
        st.lists(st.floats(-0.3, 0.6), min_size=k, max_size=k), min_size=d, max_size=d
    )
    effect = np.array(draw(arrays)).reshape(d, k)
    units = np.array(draw(arrays)).reshape(d, k) * 1000.0
    avoided = np.abs(np.array(draw(arrays)).reshape(d, k)) * 5e4
    gate = np.array(
        draw(st.lists(st.booleans(), min_size=d * k, max_size=d * k)), dtype=bool
    ).reshape(d, k)
    t = EvaluationTable(
        metric=tuple(x[0] for x in triggers),
        period=tuple(x[1] for x in triggers),
        cumulative=tuple(x[2] for x in triggers),
        participants=tuple(x[3] for x in triggers),
        measured_effect=effect,
        units=units,
        avoided_cost=avoided,
        gate=gate,
    )
    lift = np.abs(np.array(draw(arrays)).reshape(d, k))
    return contract, t, n_periods, lift


TOL = 1e-6


@settings(max_examples=150, deadline=None)
@given(contracts_and_tables())
def test_caps_are_never_exceeded(case):
    contract, t, n_periods, _ = case
    res = contract.outcome_payments(t, n_periods)
    caps = contract.caps
    assert res.total.shape == (t.n_draws, n_periods)
    assert np.all(res.by_metric >= 0.0)
    np.testing.assert_allclose(res.by_metric.sum(axis=1), res.total)
    committed = res.by_trigger.sum(axis=1)
    in_horizon = res.total.sum(axis=1)
    if contract.overflow == "drop":
        np.testing.assert_allclose(in_horizon + res.beyond_horizon.sum(axis=1), committed, atol=TOL)
    else:
        np.testing.assert_allclose(in_horizon, committed, atol=TOL)
    if caps.total is not None:
        assert np.all(committed <= caps.total + TOL)
    assert np.all(res.total <= caps.per_period_array(n_periods) + TOL)
    for m, terms in enumerate(contract.terms):
        in_metric = [k for k in range(t.n_triggers) if t.metric[k] == terms.metric]
        if terms.cap is not None:
            assert np.all(res.by_trigger[:, in_metric].sum(axis=1) <= terms.cap + TOL)
        per_person = min(
            x for x in (caps.per_person, terms.per_person_cap, np.inf) if x is not None
        )
        for k in in_metric:
            if per_person < np.inf:
                assert np.all(res.by_trigger[:, k] <= per_person * t.participants[k] + TOL)
            assert np.all(res.by_trigger[~t.gate[:, k], k] == 0.0)
        assert res.by_metric[:, m].sum() == pytest.approx(
            res.by_trigger[:, in_metric].sum()
            - (res.beyond_horizon[:, m].sum() if contract.overflow == "drop" else 0.0),
            abs=1e-5,
        )


@settings(max_examples=150, deadline=None)
@given(contracts_and_tables())
def test_payments_never_decrease_as_the_measured_effect_grows(case):
    contract, t, n_periods, lift = case
    better = EvaluationTable(
        metric=t.metric,
        period=t.period,
        cumulative=t.cumulative,
        participants=t.participants,
        measured_effect=t.measured_effect + lift,
        units=t.units,
        avoided_cost=t.avoided_cost,
        gate=t.gate,
    )
    base = contract.outcome_payments(t, n_periods)
    up = contract.outcome_payments(better, n_periods)
    assert np.all(up.total.sum(axis=1) >= base.total.sum(axis=1) - TOL)
    assert np.all(up.by_trigger.sum(axis=1) >= base.by_trigger.sum(axis=1) - TOL)


# --------------------------------------------------------------------------------------
# the pricing-rule registry and the TOML readers
# --------------------------------------------------------------------------------------


def test_registry_names_the_four_rules_by_kind():
    assert PRICING_RULES.names()[:4] == ("price_per_unit", "steps", "linear", "savings_share")
    assert "claim_share" in PRICING_RULES  # computed in the waterfall (test_lifecycle.py)
    assert PRICING_RULES["steps"] is StepSchedule
    assert "savings_share" in PRICING_RULES and "bonus" not in PRICING_RULES
    assert all(issubclass(cls, PricingRule) for cls in PRICING_RULES.classes())
    assert [cls.kind for cls in PRICING_RULES.classes()] == list(PRICING_RULES.names())


def test_unknown_rule_kind_lists_the_allowed_kinds():
    allowed = ", ".join(repr(k) for k in PRICING_RULES.names())
    assert allowed.startswith("'price_per_unit', 'steps', 'linear', 'savings_share'")
    with pytest.raises(ValueError) as info:
        PRICING_RULES["step"]
    assert str(info.value) == f"pricing rule kind: got 'step'; allowed: one of {allowed}"
    with pytest.raises(KeyProblem) as info:
        PRICING_RULES.lookup("rule.kind", "step")
    assert info.value.key == "rule.kind"
    assert info.value.problem == f"got 'step'; allowed: {allowed}"


def test_the_base_rule_has_no_amount():
    with pytest.raises(NotImplementedError, match=r"PricingRule\.due"):
        PricingRule().due(0.1)


def read_rule(text: str) -> PricingRule:
    """A rule from the TOML line ``rule = {...}``, as in [[contract.terms]]."""
    return PRICING_RULES.read(Section("t", tomllib.loads(text)), "rule")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('rule = {kind = "price_per_unit", price = 12_500, threshold = 0.10}',
         PricePerUnit(12_500.0, threshold=0.10)),
        ('rule = {kind = "price_per_unit", price = 2_900}', PricePerUnit(2_900.0)),
        ('rule = {kind = "steps", thresholds = [0.085, 0.10], payments = [4_800_000, 9_600_000]}',
         StepSchedule((0.085, 0.10), (4.8e6, 9.6e6))),
        ('rule = {kind = "linear", floor_effect = 0.2, cap_effect = 0.6, floor_payment = 100, '
         "cap_payment = 500}", LinearFloorCap(0.2, 0.6, 100.0, 500.0)),
        ('rule = {kind = "savings_share", tiers = [[0.95, 7_350_000], [0.40]]}',
         SavingsShare(((0.95, 7.35e6), (0.40, None)))),
        ('rule = {kind = "savings_share", tiers = [[0.5, 10], [0.4, inf]], threshold = 0.05}',
         SavingsShare(((0.5, 10.0), (0.4, None)), threshold=0.05)),
    ],
    ids=["price", "price-default-threshold", "steps", "linear", "savings-open", "savings-inf"],
)
def test_rules_read_from_toml_equal_the_rules_built_in_python(text, expected):
    rule = read_rule(text)
    assert rule == expected
    assert type(rule) is type(expected)


def test_savings_share_stores_an_open_tier_as_inf():
    assert SavingsShare(((0.95, 100), (0.4, None))).tiers == ((0.95, 100.0), (0.4, float("inf")))


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('rule = {kind = "bonus", price = 1}', "t.rule.kind", ["'bonus'", "'price_per_unit'"]),
        ('rule = {price = 1}', "t.rule.kind", ["required"]),
        ('rule = {kind = "price_per_unit"}', "t.rule.price", ["required"]),
        ('rule = {kind = "price_per_unit", price = 1, treshold = 0.1}', "t.rule.treshold",
         ["unknown key", "threshold"]),
        ('rule = {kind = "steps", thresholds = [0.1, 0.1], payments = [1, 2]}', "t.rule",
         ["StepSchedule.thresholds", "strictly increasing"]),
        ('rule = {kind = "savings_share", tiers = 0.95}', "t.rule.tiers", ["[share, up_to]"]),
        ('rule = {kind = "savings_share", tiers = [[0.95, 10, 3]]}', "t.rule",
         ["SavingsShare.tiers[0]", "(share, up_to)"]),
        ('rule = 3', "t.rule", ["pricing rule table"]),
    ],
    ids=["unknown-kind", "no-kind", "missing-key", "misspelt-key", "bad-steps", "tiers-not-list",
         "tier-triple", "not-a-table"],
)
def test_bad_rule_tables_name_the_key(text, key, words):
    with pytest.raises(KeyProblem) as info:
        read_rule(text)
    assert info.value.key == key
    for word in words:
        assert word in info.value.problem, (word, info.value.problem)


@pytest.mark.parametrize(
    ("build", "field", "hint"),
    [
        (lambda: PricePerUnit(1000.0, threshold=10), "PricePerUnit.threshold", "write 0.1 for 10%"),
        (lambda: StepSchedule((8.5, 10.0), (1.0, 2.0)), "StepSchedule.thresholds[0]",
         "write 0.085 for 8.5%"),
        (lambda: LinearFloorCap(0.2, 60, 1.0, 2.0), "LinearFloorCap.cap_effect",
         "write 0.6 for 60%"),
        (lambda: SavingsShare(((95, 100.0),)), "SavingsShare.tiers[0].share",
         "write 0.95 for 95%"),
        (lambda: SavingsShare(((0.95, None),), threshold=5), "SavingsShare.threshold",
         "write 0.05 for 5%"),
    ],
)
def test_percentages_given_for_fractions_are_refused_with_the_fraction(build, field, hint):
    with pytest.raises(ValueError) as info:
        build()
    assert str(info.value).startswith(f"{field}: got ")
    assert hint in str(info.value)


def test_percentage_slip_in_a_toml_rule_names_the_key_and_the_fraction():
    with pytest.raises(KeyProblem) as info:
        read_rule('rule = {kind = "price_per_unit", price = 12_500, threshold = 10}')
    assert info.value.key == "t.rule"
    assert "PricePerUnit.threshold: got 10" in info.value.problem
    assert "write 0.1 for 10%" in info.value.problem


CONTRACT_TOML = """
[contract]
lag = 1
overflow = "drop"

[contract.caps]
total = 13_000_000
per_period = [5_000_000, 6_000_000, 7_000_000]
per_person = 2_000

[[contract.terms]]
metric = "reconviction"
rule = {kind = "price_per_unit", price = 1_000, threshold = 0.10}
pooled_rule = {kind = "price_per_unit", price = 1_000, threshold = 0.075}
cap = 8_000_000

[[contract.terms]]
metric = "special_ed"
rule = {kind = "savings_share", tiers = [[0.95, 100], [0.40]]}
per_person_cap = 500
"""


def read_contract(text: str, **context) -> Contract:
    return Contract.from_toml(Section("contract", tomllib.loads(text)["contract"]), **context)


def test_contract_from_toml_equals_the_contract_built_in_python():
    expected = Contract(
        (
            MetricTerms("reconviction", PricePerUnit(1_000.0, threshold=0.10),
                        pooled_rule=PricePerUnit(1_000.0, threshold=0.075), cap=8e6),
            MetricTerms("special_ed", SavingsShare(((0.95, 100.0), (0.40, None))),
                        per_person_cap=500.0),
        ),
        caps=Caps(per_period=(5e6, 6e6, 7e6), per_person=2_000.0, total=13e6),
        lag=1,
        currency="GBP",
        overflow="drop",
    )
    contract = read_contract(CONTRACT_TOML, currency="GBP")
    assert contract == expected
    assert contract.caps.per_period == (5e6, 6e6, 7e6)
    assert read_contract(CONTRACT_TOML).currency == "EUR"  # the declared default


def test_contract_defaults_from_toml_are_the_declared_defaults():
    text = ('[contract]\n[[contract.terms]]\nmetric = "m"\n'
            'rule = {kind = "price_per_unit", price = 1}')
    contract = read_contract(text, currency="USD")
    assert contract == Contract((MetricTerms("m", PricePerUnit(1.0)),), currency="USD")
    assert contract.caps == Caps() and contract.lag == 0 and contract.overflow == "last"


def terms_text(*lines: str) -> str:
    rule = 'rule = {kind = "price_per_unit", price = 1}'
    return "[contract]\n" + "\n".join(lines or (f'[[contract.terms]]\nmetric = "m"\n{rule}',))


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("[contract]\nlag = 1", "contract.terms", ["required"]),
        ("[contract]\nterms = []", "contract.terms", ["[[contract.terms]]"]),
        (terms_text('[[contract.terms]]\nmetric = "m"'), "contract.terms[0].rule", ["required"]),
        (terms_text('[[contract.terms]]\nmetric = "m"\nrule = {kind = "step", price = 1}'),
         "contract.terms[0].rule.kind", ["'step'", "'steps'"]),
        (terms_text('[[contract.terms]]\nmetric = "m"\nrule = {kind = "price_per_unit", '
                    'price = 1}\ncap = -5'), "contract.terms[0]", ["MetricTerms.cap", "-5"]),
        (terms_text('[[contract.terms]]\nmetric = "m"\nrule = {kind = "price_per_unit", '
                    'price = 1}\n[[contract.terms]]\nmetric = "m"\nrule = {kind = "steps", '
                    'thresholds = [0.1], payments = [1]}'),
         "contract", ["Contract.terms", "unique metric names (repeated: m)"]),
        ("lag = 1.0\n" + terms_text(), "contract", ["Contract.lag"]),
        ('overflow = "carry"\n' + terms_text(), "contract", ["'carry'", "'last', 'drop'"]),
        ('currency = "GBP"\n' + terms_text(), "contract.currency", ["unknown key"]),
        (terms_text() + '\n[contract.caps]\ntotl = 5', "contract.caps.totl", ["unknown key"]),
        (terms_text() + '\n[contract.caps]\nper_period = [1, -2]', "contract.caps",
         ["Caps.per_period[1]", "-2"]),
        ("caps = 5\n" + terms_text(), "contract.caps", ["expected a table"]),
    ],
    ids=["no-terms", "empty-terms", "no-rule", "unknown-kind", "negative-cap", "duplicate-metric",
         "float-lag", "bad-overflow", "currency-in-contract", "misspelt-cap", "negative-period-cap",
         "caps-not-table"],
)
def test_bad_contract_tables_name_the_key(text, key, words):
    if not text.startswith("[contract]"):  # keys of [contract] itself go before its terms
        text = "[contract]\n" + text.replace("[contract]\n", "", 1)
    with pytest.raises(KeyProblem) as info:
        read_contract(text, currency="EUR")
    assert info.value.key == key, info.value.key
    for word in words:
        assert word in info.value.problem, (word, info.value.problem)


def test_the_builtin_scenarios_read_their_contracts_through_the_registry():
    from sibsim.scenario_file import load_scenario

    utah = load_scenario("utah-preschool").contract
    # Utah's tiers are tied to the investors' claim (computed in the waterfall)
    from sibsim.money.pricing import ClaimShare
    assert utah.terms[0].rule == ClaimShare(share_until_repaid=0.95, share_after=0.40)
    able = load_scenario("nyc-able").contract
    assert isinstance(able.terms[0].rule, StepSchedule)
    pb = load_scenario("peterborough").contract
    assert pb.terms[0].rule_for(cumulative=True) == PricePerUnit(12_500.0, threshold=0.075)
    assert pb.currency == "GBP"


# --------------------------------------------------------------------------------------
# docs/extending.md: a new pricing rule is one class and one registry line
# --------------------------------------------------------------------------------------

EXTENDING = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


def test_the_extending_page_example_runs(monkeypatch):
    # the page registers a new kind: run it against a copy of the registry
    monkeypatch.setattr(PRICING_RULES, "_classes", dict(PRICING_RULES._classes))
    text = EXTENDING.read_text(encoding="utf-8")
    section = text.split("## Adding a pricing rule", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks
    ns: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"extending.md[{i}]", "exec"), ns)
    assert "capped_price_per_unit" in PRICING_RULES
    rule = PRICING_RULES["capped_price_per_unit"]
    assert issubclass(rule, PricingRule) and ns["contract"].terms[0].rule.cap == 250_000.0


def test_linear_floor_cap_with_a_tiny_range_is_a_step_without_warnings():
    """cap_effect - floor_effect of a few subnormals overflows the quotient; the rule is then a
    step from floor_payment to cap_payment, with no RuntimeWarning (a test fails on warnings)."""
    import warnings

    from sibsim.money.pricing import LinearFloorCap

    tiny = 5e-324 * 4
    rule = LinearFloorCap(floor_effect=0.0, cap_effect=tiny, floor_payment=1.0, cap_payment=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = rule.due(np.array([-0.5, 0.0, tiny / 2, tiny, 0.5]))
    np.testing.assert_array_equal(got, [0.0, 1.0, 1.5, 2.0, 2.0])
