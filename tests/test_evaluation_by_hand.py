"""sibsim.money.evaluation worked out by hand, piece by piece: every design's counterfactual
rate and variance on every path (one bias or one per wave, a historical rate valued in money,
per wave and pooled over trigger spans, blends), every kind of trigger (per wave, per period,
pooled, to date, with and without a comparison arm, with an empty wave), the person-periods
and money values a trigger measures, and the helpers the replay uses afterwards
(``targets_met``, ``unit_values``).

Small arrays whose every number can be followed with a pencil; the expected values are written
as the arithmetic that gives them.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sibsim.money.evaluation import (
    RCT,
    BeforeAfter,
    Blend,
    ComparisonArm,
    Evaluation,
    Historical,
    Matched,
    Measured,
    _mean_value,
    _wave_values,
    contract_round,
    evaluate,
    evaluation_fixed,
    evaluation_triggers,
    person_periods,
    targets_met,
    unit_values,
)
from sibsim.money.money_metric import MoneyValue
from test_evaluation import two_wave_ds

# ------------------------------------------------------------------------ designs
# a comparison arm of two draws and two waves: units per wave, 20 and 40 people
ARM = ComparisonArm(units=np.array([[6.0, 10.0], [12.0, 20.0]]), size=np.array([20, 40]))
BOTH = Measured(waves=[0, 1], treated=np.array([10, 20]), spans=np.array([1, 1]))
SECOND = Measured(waves=[1], treated=np.array([20]), spans=np.array([1]))


def close(got, want):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-13,
                               atol=0.0)


def test_an_rct_counterfactual_is_the_comparison_rate_with_its_poisson_variance():
    rate, var = RCT().counterfactual("m", {}, ARM, BOTH)
    close(rate, [16 / 60, 32 / 60])
    close(var, [16 / 60**2, 32 / 60**2])
    rate, var = RCT().counterfactual("m", {}, ARM, SECOND)
    close(rate, [10 / 40, 20 / 40])
    close(var, [10 / 40**2, 20 / 40**2])


@pytest.mark.parametrize("design", [Matched, BeforeAfter])
def test_one_bias_scales_the_comparison_rate_never_below_zero(design):
    params = {"evaluation.m.bias": np.array([0.1, -2.0])}
    rate, var = design(bias=0.0).counterfactual("m", params, ARM, BOTH)
    close(rate, [16 / 60 * 1.1, 0.0])  # draw 1: max(0, 1 - 2) = 0
    close(var, [16 / 60**2 * 1.1**2, 0.0])


@pytest.mark.parametrize("design", [Matched, BeforeAfter])
def test_a_bias_per_wave_scales_each_waves_comparison_units_before_pooling(design):
    params = {"evaluation.m.bias[0]": np.array([0.1, 0.0]),
              "evaluation.m.bias[1]": np.array([-0.5, 0.2])}
    d = design(bias=(0.0, 0.0))
    rate, var = d.counterfactual("m", params, ARM, BOTH)
    close(rate, [(6 * 1.1 + 10 * 0.5) / 60, (12 * 1.0 + 20 * 1.2) / 60])
    close(var, [(6 * 1.1**2 + 10 * 0.5**2) / 60**2, (12 + 20 * 1.2**2) / 60**2])
    rate, var = d.counterfactual("m", params, ARM, SECOND)  # wave 1 alone: its own bias
    close(rate, [10 * 0.5 / 40, 20 * 1.2 / 40])
    close(var, [10 * 0.5**2 / 40**2, 20 * 1.2**2 / 40**2])


RATE = {"evaluation.m.historical_rate": np.array([0.5, 0.8])}
RATES = {"evaluation.m.historical_rate[0]": np.array([0.5, 0.8]),
         "evaluation.m.historical_rate[1]": np.array([0.3, 0.2])}
#: money: currency per outcome unit of each wave measured (draws, waves)
VALUE = np.array([[2.0, 4.0], [1.0, 3.0]])


def historical(per_wave: bool) -> Historical:
    return Historical(historical_rate=(0.0, 0.0) if per_wave else 0.0)


@pytest.mark.parametrize("case", [
    # (per-wave rates?, waves, treated, spans, money value or None, expected rate)
    ("one rate, one span", False, [0, 1], [10, 20], [1, 1], None, [0.5, 0.8]),
    ("one rate over 2 and 3 spans", False, [0, 1], [10, 20], [2, 3], None,
     [0.5 * (10 * 2 + 20 * 3) / 30, 0.8 * (10 * 2 + 20 * 3) / 30]),
    ("one rate valued by wave", False, [0, 1], [10, 20], [1, 1], VALUE,
     [0.5 * (10 * 2 + 20 * 4) / 30, 0.8 * (10 * 1 + 20 * 3) / 30]),
    ("one rate valued by wave, over 2 and 3 spans", False, [0, 1], [10, 20], [2, 3], VALUE,
     [0.5 * (10 * 2 * 2 + 20 * 3 * 4) / 30, 0.8 * (10 * 2 * 1 + 20 * 3 * 3) / 30]),
    ("a rate per wave, the second wave alone", True, [1], [20], [1], None, [0.3, 0.2]),
    ("a rate per wave, the second wave alone, valued", True, [1], [20], [1], VALUE[:, 1:],
     [0.3 * 4, 0.2 * 3]),
    ("a rate per wave, the second wave over 2 spans", True, [1], [20], [2], None,
     [0.3 * 2, 0.2 * 2]),
    ("rates per wave, pooled", True, [0, 1], [10, 20], [1, 1], None,
     [(0.5 * 10 + 0.3 * 20) / 30, (0.8 * 10 + 0.2 * 20) / 30]),
    ("rates per wave, pooled over 2 and 3 spans, valued", True, [0, 1], [10, 20], [2, 3], VALUE,
     [(0.5 * 2 * 10 * 2 + 0.3 * 4 * 20 * 3) / 30, (0.8 * 1 * 10 * 2 + 0.2 * 3 * 20 * 3) / 30]),
], ids=lambda c: c if isinstance(c, str) else "")
def test_a_historical_counterfactual_on_every_path(case):
    _, per_wave, waves, treated, spans, value, want = case
    measured = Measured(waves=waves, treated=np.array(treated), spans=np.array(spans),
                        value=value)
    rate, var = historical(per_wave).counterfactual("m", RATES if per_wave else RATE, None,
                                                    measured)
    close(rate, want)
    assert var.tolist() == [0.0, 0.0]  # a fixed rate has no sampling variance


def test_a_blends_rate_and_standard_deviation_are_the_weighted_sums():
    blend = Blend(designs=(RCT(), Historical(historical_rate=0.0)), weights=(0.8, 0.2))
    params = {"evaluation.m.designs[1].historical_rate": np.array([0.5, 0.8])}
    rate, var = blend.counterfactual("m", params, ARM, BOTH)
    close(rate, [0.8 * 16 / 60 + 0.2 * 0.5, 0.8 * 32 / 60 + 0.2 * 0.8])
    close(var, [(0.8 * np.sqrt(16) / 60) ** 2, (0.8 * np.sqrt(32) / 60) ** 2])
    two = Blend(designs=(RCT(), Matched(bias=0.0)), weights=(0.25, 0.75))
    rate, var = two.counterfactual("m", {"evaluation.m.designs[1].bias": np.array([0.2, 0.2])},
                                   ARM, SECOND)
    close(rate, [0.25 * 10 / 40 + 0.75 * 1.2 * 10 / 40, 0.25 * 20 / 40 + 0.75 * 1.2 * 20 / 40])
    sd = [0.25 * np.sqrt(10) / 40 + 0.75 * 1.2 * np.sqrt(10) / 40,
          0.25 * np.sqrt(20) / 40 + 0.75 * 1.2 * np.sqrt(20) / 40]
    close(var, np.square(sd))


# ------------------------------------------------------------------------ triggers
# one draw, two waves entering in periods 0 and 2, five periods, a window of 2, a lag of 1
ENTRY = np.array([0, 2])
U_T = np.array([[[1.0, 2, 3, 4, 5], [6, 7, 8, 9, 10]]])
U_C = np.array([[[11.0, 12, 13, 14, 15], [16, 17, 18, 19, 20]]])
U = np.stack([U_T, U_C], axis=1)  # (draw, arm, wave, period)
ARMS = ["treatment", "comparison"]


def sizes(treated=(10, 20), compared=(20, 40)):
    return xr.DataArray([list(treated), list(compared)], dims=("arm", "wave"),
                        coords={"arm": ARMS})


def summary(triggers):
    """Each trigger as plain numbers: waves, known, top-up, treated units, comparison units
    and size, spans, period, upto."""
    return [(t.waves, t.known, t.cumulative, t.treated_units.tolist(),
             None if t.comparison is None else t.comparison.units.tolist(),
             None if t.comparison is None else t.comparison.size.tolist(),
             t.spans.tolist(), t.period, t.upto) for t in triggers]


def test_one_trigger_per_wave_and_one_pooled():
    ev = Evaluation("m", window=2, report_lag=1)
    # windows: wave 0 periods 0-1, wave 1 periods 2-3
    whole_t, whole_c = [[1 + 2, 8 + 9]], [[11 + 12, 18 + 19]]
    assert summary(evaluation_triggers(ev, U, ARMS, sizes(), ENTRY)) == [
        ([0], 1 + 1, False, whole_t, whole_c, [20, 40], [1, 1], None, None),
        ([1], 3 + 1, False, whole_t, whole_c, [20, 40], [1, 1], None, None),
        ([0, 1], 3 + 1, True, whole_t, whole_c, [20, 40], [1, 1], None, None)]
    pooled_only = Evaluation("m", window=2, report_lag=1, per_wave=False)
    assert summary(evaluation_triggers(pooled_only, U, ARMS, sizes(), ENTRY)) == [
        ([0, 1], 4, False, whole_t, whole_c, [20, 40], [1, 1], None, None)]


def test_a_wave_without_treated_people_has_no_trigger_of_its_own():
    ev = Evaluation("m", window=2, report_lag=0)
    got = summary(evaluation_triggers(ev, U, ARMS, sizes(treated=(10, 0)), ENTRY))
    assert [(t[0], t[1], t[2]) for t in got] == [([0], 1, False), ([0, 1], 3, True)]


def test_one_trigger_per_wave_and_period_and_a_pooled_one_over_every_span():
    ev = Evaluation("m", window=2, report_lag=1, per_period=True)
    whole_t, whole_c = [[3, 17]], [[23, 37]]
    assert summary(evaluation_triggers(ev, U, ARMS, sizes(), ENTRY)) == [
        ([0], 1, False, [[1, 6]], [[11, 16]], [20, 40], [1, 1], 0, None),
        ([0], 2, False, [[2, 7]], [[12, 17]], [20, 40], [1, 1], 1, None),
        ([1], 3, False, [[3, 8]], [[13, 18]], [20, 40], [1, 1], 2, None),
        ([1], 4, False, [[4, 9]], [[14, 19]], [20, 40], [1, 1], 3, None),
        ([0, 1], 4, True, whole_t, whole_c, [20, 40], [2, 2], None, None)]


def test_results_to_date_measure_every_wave_up_to_each_period():
    ev = Evaluation("m", window=2, report_lag=1, per_period=True, to_date=True, pooled=False)
    # units to date: wave 0 counts periods 0-1 (1, 2), wave 1 periods 2-3 (8, 9)
    assert summary(evaluation_triggers(ev, U, ARMS, sizes(), ENTRY)) == [
        ([0], 1, True, [[1, 0]], [[11, 0]], [20, 40], [1, 0], None, 0),
        ([0], 2, True, [[3, 0]], [[23, 0]], [20, 40], [2, 0], None, 1),
        ([0, 1], 3, True, [[3, 8]], [[23, 18]], [20, 40], [2, 1], None, 2),
        ([0, 1], 4, True, [[3, 17]], [[23, 37]], [20, 40], [2, 2], None, 3)]


def test_results_to_date_stop_at_the_last_window_of_a_wave_with_people():
    ev = Evaluation("m", window=2, per_period=True, to_date=True, pooled=False,
                    design=Historical(historical_rate=0.5))
    got = summary(evaluation_triggers(ev, U, ARMS, sizes(treated=(10, 0)), ENTRY))
    # no comparison arm for a historical design; wave 1 (nobody treated) is never measured
    assert got == [([0], 0, True, [[1, 0]], None, None, [1, 0], None, 0),
                   ([0], 1, True, [[3, 0]], None, None, [2, 0], None, 1)]


def test_results_to_date_by_hand_through_evaluate():
    """two_wave_ds: wave 0 (10 treated, 20 compared) measured in periods 0-1, wave 1 (20, 40)
    in periods 2-3; draw 0's treated events 3, 2 and 4, 4, comparison 8, 6 and 10, 10."""
    ev = Evaluation("m", window=2, report_lag=1, per_period=True, to_date=True, pooled=False,
                    precision=None)
    table = evaluate(two_wave_ds(), (ev,), 0)
    assert table.period == (1, 2, 3, 4)
    assert table.cumulative == (True,) * 4
    assert table.participants == (10, 10, 30, 30)
    assert table.waves == ((0,), (0,), (0, 1), (0, 1))
    t = np.array([3, 3 + 2, 5 + 4, 5 + 8]) / np.array([10, 10, 30, 30])
    c = np.array([8, 8 + 6, 14 + 10, 14 + 20]) / np.array([20, 20, 60, 60])
    close(table.measured_effect[0], 1 - t / c)
    close(table.units[0], (c - t) * np.array([10, 10, 30, 30]))


def test_a_target_per_person_period_to_date_and_targets_met_agree():
    """Person-periods to date: 10 x 1, 10 x 2, 10 x 2 + 20 x 1, 10 x 2 + 20 x 2; units
    avoided 1, 2, 3, 4: 0.1, 0.1, 0.075 and 0.0667 per person-period against 0.08."""
    ev = Evaluation("m", window=2, per_period=True, to_date=True, pooled=False,
                    target_per_person_period=0.08)
    ds = two_wave_ds()
    table = evaluate(ds, (ev,), 0)
    close(table.units[0], [1, 2, 3, 4])
    assert table.gate[0].tolist() == [True, True, False, False]
    fixed = evaluation_fixed(ds, (ev,), 0)
    assert [t.person_periods for t in fixed.parts[0].triggers] == [10.0, 20.0, 40.0, 60.0]
    np.testing.assert_array_equal(targets_met(fixed, table.units), table.gate)
    # doubled units reach the target everywhere
    assert targets_met(fixed, 2 * np.array([[1.0, 2, 3, 4]])).tolist() == [[True] * 4]


def test_targets_met_per_enrolled_person_period():
    """With estimand 'treated' the person-periods are the enrolled ones: the trigger's share
    of enrolled people times its person-periods (a share of 0 leaves them as they are); an
    intention-to-treat evaluation ignores the shares; without a target every trigger meets
    it."""
    ds = two_wave_ds()
    treated = Evaluation("m", window=2, per_period=True, to_date=True, pooled=False,
                         target_per_person_period=0.08, estimand="treated")
    itt = Evaluation("n", window=2, per_period=True, to_date=True, pooled=False,
                     target_per_person_period=0.08)
    free = Evaluation("f", window=2, pooled=False)
    fixed = evaluation_fixed(ds, (treated, itt, free), 0)
    units = np.array([[0.5, 1.0, 3.0, 4.0] * 2 + [-1.0, -1.0]])
    shares = np.array([[0.5, 0.0, 1.0, 2.0] * 2 + [0.5, 0.5]])
    # per person-period: 0.5 / (10 x 0.5), 1 / 20, 3 / 40, 4 / (60 x 2); then 0.05, 0.05, ...
    want = [True, False, False, False, False, False, False, False, True, True]
    assert targets_met(fixed, units, shares).tolist() == [want]
    assert targets_met(fixed, units).tolist() == [[False] * 8 + [True, True]]


def test_person_periods_of_each_kind_of_trigger():
    mask = np.array([[True, True, False, False], [False, True, True, True]])
    n = np.array([10, 20])
    assert person_periods(mask, n, [0, 1]) == 10 * 2 + 20 * 3
    assert person_periods(mask, n, [1]) == 20 * 3
    assert person_periods(mask, n, [0, 1], upto=1) == 10 * 2 + 20 * 1
    assert person_periods(mask, n, [0, 1], upto=0) == 10
    assert person_periods(mask, n, [0, 1], period=2) == 30  # one period: the people
    assert isinstance(person_periods(mask, n, [1], upto=2), float)


# ------------------------------------------------------------------------ money per unit
SCALE = np.array([[1.0, 2.0, 4.0, 8.0], [1.0, 1.0, 1.0, 1.0]])
MASK = np.array([[True, True, False, False], [False, False, True, True]])


def test_money_per_unit_of_each_wave_measured():
    close(_wave_values(SCALE, MASK, [0, 1], None, None), [[1.5, 6.0], [1.0, 1.0]])
    close(_wave_values(SCALE, MASK, [1], None, None), [[6.0], [1.0]])
    close(_wave_values(SCALE, MASK, [0, 1], 2, None), [[4.0, 4.0], [1.0, 1.0]])  # one period
    close(_wave_values(SCALE, MASK, [0, 1], None, 2), [[1.5, 4.0], [1.0, 1.0]])  # to period 2
    # up to period 1 wave 1 has measured nothing yet: the first period's value, no NaN
    close(_wave_values(SCALE, MASK, [0, 1], None, 1), [[1.5, 1.0], [1.0, 1.0]])


def test_money_per_unit_of_a_trigger_is_weighted_by_person_periods():
    n = np.array([10.0, 30.0])
    close(_mean_value(SCALE, MASK, n, [0, 1], None, None),
          [(10 * (1 + 2) + 30 * (4 + 8)) / 80, 1.0])
    close(_mean_value(SCALE, MASK, n, [0, 1], None, 2), [(10 * 3 + 30 * 4) / 50, 1.0])
    close(_mean_value(SCALE, MASK, n, [1], 3, None), [8.0, 1.0])
    # nobody measured (up to period 1, wave 1 only): the first period's value
    close(_mean_value(SCALE, MASK, n, [1], None, 1), [1.0, 1.0])


MONEY = MoneyValue(per_unit=2.0, growth=0.5)  # 2, 3, 4.5, 6.75 per unit in years 0-3


def test_unit_values_of_money_and_unit_triggers():
    ds = two_wave_ds()
    evs = (Evaluation("money", window=2, money=MONEY), Evaluation("count", window=2))
    got = unit_values(evaluation_fixed(ds, evs, 0))
    wave0, wave1 = (2 + 3) / 2, (4.5 + 6.75) / 2
    pooled = (10 * (2 + 3) + 20 * (4.5 + 6.75)) / (10 * 2 + 20 * 2)
    close(got, [[wave0, wave1, pooled, 1, 1, 1]] * 2)


def test_a_historical_rate_to_date_is_valued_up_to_each_period():
    """A money evaluation against a historical rate of 0.3 units per person-period, to date:
    each wave's units are valued at its own periods measured so far (2, then 2 and 3, ...)."""
    ev = Evaluation("m", window=2, per_period=True, to_date=True, pooled=False, precision=None,
                    money=MONEY, design=Historical(historical_rate=0.3))
    table = evaluate(two_wave_ds(), (ev,), 0)
    n = np.array([10, 10, 30, 30])
    # counterfactual money per participant: rate x sum(n x spans x value) / n
    c = 0.3 * np.array([10 * 1 * 2, 10 * 2 * 2.5, 10 * 2 * 2.5 + 20 * 1 * 4.5,
                        10 * 2 * 2.5 + 20 * 2 * 5.625]) / n
    # treated money to date: wave 0's 3 and 2 events at 2 and 3, wave 1's 4 and 4 at 4.5, 6.75
    t = np.array([3 * 2, 3 * 2 + 2 * 3, 12 + 4 * 4.5, 12 + 4 * 4.5 + 4 * 6.75])
    close(table.units[0], c * n - t)
    close(table.avoided_cost[0], c * n - t)  # a money evaluation's avoided cost is its units


# ------------------------------------------------------------------------ the gate of money
@pytest.mark.parametrize("per_unit", [0.01, 100.0])
def test_a_money_evaluation_without_dispersion_gates_as_its_count_evaluation(per_unit):
    """A constant value per unit scales the difference and its standard error alike: the
    z-statistic, and so the gate, is the count evaluation's whatever the currency."""
    ds = two_wave_ds()
    count = Evaluation("m", window=2, alpha=0.2, precision=None)
    money = Evaluation("m", window=2, alpha=0.2, precision=None,
                       money=MoneyValue(per_unit=per_unit))
    a, b = evaluate(ds, (count,), 0), evaluate(ds, (money,), 0)
    assert a.gate.any() and not a.gate.all()  # the test can tell a wrong gate
    np.testing.assert_array_equal(b.gate, a.gate)
    close(b.units, per_unit * a.units)


def test_the_gate_of_a_money_evaluation_with_dispersion_by_its_definition():
    """The gate's variance of a money trigger: (treated rate / participants + counterfactual
    variance) x the trigger's mean money per unit x (1 + cv**2); z = difference / sd must
    exceed the normal quantile of 1 - alpha."""
    from scipy import stats

    ds = two_wave_ds()
    value = MoneyValue(per_unit=3.0, growth=0.5, cv=0.5)
    ev = Evaluation("m", window=2, alpha=0.2, precision=None, money=value)
    table = evaluate(ds, (ev,), 0)
    (part,) = evaluation_fixed(ds, (ev,), 0).parts
    for k, trig in enumerate(part.triggers):
        nt = trig.participants
        diff = table.units[:, k] / nt
        t_rate = trig.c_rate - diff
        var = (t_rate / nt + trig.c_var) * trig.value * (1 + 0.5**2)
        want = diff / np.sqrt(var) > stats.norm.isf(0.2)
        np.testing.assert_array_equal(table.gate[:, k], want, err_msg=str(k))
    assert table.gate.any() and not table.gate.all()


def test_the_modules_examples():
    """The worked examples in the docstrings (designs, parameters' names, rounding, group and
    metric checks, person-periods, money per unit) run as written."""
    import doctest

    import sibsim.money.evaluation as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 30


# ------------------------------------------------------------------------ the effect on the treated
def _enrolled_ds():
    """two_wave_ds where 6 of wave 0's 10 and 15 of wave 1's 20 treated people enrol (draw 0)
    and nobody does (draw 1); engagement is counted at each wave's entry period."""
    ds = two_wave_ds()
    engaged = ds["engaged"].values.copy()  # (draw, arm, wave, stratum, period)
    engaged[:, 0] = 0.0
    engaged[0, 0, 0, 0, 0], engaged[0, 0, 1, 0, 2] = 6.0, 15.0
    return ds.assign(engaged=(ds["engaged"].dims, engaged))


def test_the_effect_on_the_treated_is_the_itt_effect_over_the_enrolled_share():
    ds = _enrolled_ds()
    itt = evaluate(ds, (Evaluation("m", window=2, precision=None),), 0)
    tot = evaluate(ds, (Evaluation("m", window=2, estimand="treated"),), 0)
    share = np.array([6 / 10, 15 / 20, (6 + 15) / 30])
    close(tot.measured_effect[0],
          contract_round(np.array([1 - 0.5 / 0.7, 1 - 0.4 / 0.5, 1 - 13 / 17]) / share, 0.001))
    close(tot.units[0], itt.units[0])  # the same units avoided either way
    # nobody enrolled: no effect, no units, no payment
    assert tot.measured_effect[1].tolist() == [0.0] * 3
    assert tot.units[1].tolist() == [0.0] * 3
    assert tot.gate[1].tolist() == [False] * 3 and tot.gate[0].tolist() == [True] * 3


def test_a_target_per_enrolled_person_period():
    """Units avoided in draw 0: 2, 2 and 4 over 10 x 2, 20 x 2 and 30 x 2 person-periods
    (0.1, 0.05, 0.067 each), or per enrolled person-period over 60%, 75% and 70% of them
    (0.167, 0.067, 0.095), against a target of 0.15."""
    ds = _enrolled_ds()
    itt = evaluate(ds, (Evaluation("m", window=2, target_per_person_period=0.15),), 0)
    tot = evaluate(ds, (Evaluation("m", window=2, target_per_person_period=0.15,
                                   estimand="treated"),), 0)
    assert itt.gate[0].tolist() == [False, False, False]
    assert tot.gate[0].tolist() == [True, False, False]


def test_fixed_parts_measure_another_treated_arm_as_a_plain_evaluation_does():
    """evaluation_fixed keeps what does not depend on the treated arm (comparison arm,
    parameters, counterfactual rates, money per unit and its dispersion's draws): measuring a
    dataset whose treated arm differs with those parts gives the plain table, bit for bit,
    for money evaluations with dispersion, results to date and historical rates too."""
    ds = two_wave_ds(seed=3)
    evs = (Evaluation("money", window=2, alpha=0.2, money=MoneyValue(per_unit=3.0, growth=0.5,
                                                                     cv=0.4)),
           Evaluation("to_date", window=2, per_period=True, to_date=True, pooled=False,
                      design=Historical(historical_rate=0.3), money=MONEY),
           Evaluation("count", window=2, design=Matched(bias=0.1), alpha=0.3))
    fixed = evaluation_fixed(ds, evs, 3)
    other = ds.copy(deep=True)
    other["events"].loc[{"arm": "treatment"}] = other["events"].sel(arm="treatment") * 0.5 + 1
    for data in (ds, other):
        plain, kept = evaluate(data, evs, 3), evaluate(data, evs, 3, fixed=fixed)
        for field in ("measured_effect", "units", "avoided_cost", "gate"):
            np.testing.assert_array_equal(getattr(kept, field), getattr(plain, field),
                                          err_msg=field)
        assert (kept.metric, kept.period, kept.waves) == (plain.metric, plain.period,
                                                          plain.waves)
    assert not np.array_equal(evaluate(other, evs, 3).units, evaluate(ds, evs, 3).units)
