"""Outcomes measured in money (money/money_metric.py) at their boundaries: each limit of
``MoneyValue`` and of a money metric's price, exactly at it and one float step beyond; the value
per period at each year boundary by hand; the dispersion's keying on blocks of draws; the floor
of a group's money at 0; the TOML reader's refusals in full."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from sibsim.engine.parameters import PARAM_BLOCK, parameter_rng
from sibsim.money.contract import MetricTerms
from sibsim.money.evaluation import Evaluation
from sibsim.money.money_metric import MoneyValue, check_money_prices, read_money
from sibsim.money.pricing import PricePerUnit, StepSchedule
from sibsim.spec import LogNormal
from sibsim.spec.toml import KeyProblem, Section

UP, DOWN = math.inf, -math.inf


def _full(message: str) -> str:
    return "^" + re.escape(message) + "$"


PRICE_WORDS = ("allowed: a price per unit of currency in [0, 1] on a money metric (evaluation "
               "money = {...}): a share of the money measured, 0.5 = half of the gain")


def _wages(price: float, pooled: float | None = None) -> MetricTerms:
    return MetricTerms("wages", PricePerUnit(price=price),
                       pooled_rule=None if pooled is None else PricePerUnit(price=pooled))


EV = Evaluation("wages", money=MoneyValue(per_unit=2_000.0))


# --------------------------------------------------------------------------- the price limit
def test_a_price_of_exactly_one_is_allowed_and_one_step_above_is_refused():
    check_money_prices([EV], [_wages(1.0)])
    check_money_prices([EV], [_wages(0.0)])
    above = math.nextafter(1.0, UP)
    with pytest.raises(ValueError, match=_full(
            f"Deal.contract.terms[wages].rule.price: got {above!r}; {PRICE_WORDS}; "
            f"write 0.01 for 1%")):
        check_money_prices([EV], [_wages(above)])


def test_the_percent_hint_is_given_up_to_100_and_not_above():
    with pytest.raises(ValueError, match=_full(
            f"Deal.contract.terms[wages].rule.price: got 100.0; {PRICE_WORDS}; "
            "write 1 for 100%")):
        check_money_prices([EV], [_wages(100.0)])
    above = math.nextafter(100.0, UP)
    with pytest.raises(ValueError, match=_full(
            f"Deal.contract.terms[wages].rule.price: got {above!r}; {PRICE_WORDS}")):
        check_money_prices([EV], [_wages(above)])


def test_the_pooled_rule_is_checked_too_and_named():
    check_money_prices([EV], [_wages(0.5, pooled=1.0)])
    with pytest.raises(ValueError, match=_full(
            f"Deal.contract.terms[wages].pooled_rule.price: got 2.0; {PRICE_WORDS}; "
            "write 0.02 for 2%")):
        check_money_prices([EV], [_wages(0.5, pooled=2.0)])


def test_only_money_metrics_and_prices_per_unit_are_checked():
    plain = Evaluation("wages")
    check_money_prices([plain], [_wages(30.0)])  # a count metric: 30 per event is fine
    other = Evaluation("other", money=MoneyValue(per_unit=1.0))
    check_money_prices([EV, other], [MetricTerms("jobs", PricePerUnit(price=30.0))])
    steps = MetricTerms("wages", StepSchedule(thresholds=(0.1,), payments=(5_000.0,)))
    check_money_prices([EV], [steps])  # a step pays an amount, not a price per unit
    # the second term of the list is read as well as the first
    with pytest.raises(ValueError, match=r"terms\[other\]\.rule\.price: got 3\.0"):
        check_money_prices([EV, other], [_wages(0.5), MetricTerms("other", PricePerUnit(3.0))])


# --------------------------------------------------------------------------- MoneyValue limits
@pytest.mark.parametrize("kw", [
    {"growth": -0.5}, {"growth": 0.5}, {"cv": 0.0}, {"cv": 5.0},
    {"per_unit": 5e-324}, {"per_unit": 1e300},
])
def test_values_at_their_limits_are_allowed(kw):
    base = {"per_unit": 1.0, **kw}
    m = MoneyValue(**base)
    for k, val in base.items():
        assert getattr(m, k) == val


@pytest.mark.parametrize(("kw", "message"), [
    ({"growth": math.nextafter(0.5, UP)},
     f"MoneyValue.growth: got {math.nextafter(0.5, UP)!r}; allowed: a finite number in "
     "[-0.5, 0.5]"),
    ({"growth": math.nextafter(-0.5, DOWN)},
     f"MoneyValue.growth: got {math.nextafter(-0.5, DOWN)!r}; allowed: a finite number in "
     "[-0.5, 0.5]"),
    ({"cv": math.nextafter(5.0, UP)},
     f"MoneyValue.cv: got {math.nextafter(5.0, UP)!r}; allowed: a finite number in [0, 5]"),
    ({"cv": math.nextafter(0.0, DOWN)}, "MoneyValue.cv: got -5e-324"),
    ({"per_unit": math.inf}, "MoneyValue.per_unit: got inf"),
])
def test_values_one_step_beyond_their_limits_are_refused(kw, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        MoneyValue(**{"per_unit": 1.0, **kw})


def test_defaults_are_no_growth_and_no_dispersion():
    m = MoneyValue(per_unit=3.0)
    assert m.growth == 0.0 and m.cv == 0.0
    assert m.parameters("wages") == {}
    assert m.noise("wages", 1, np.arange(4), (2,)) is None


# --------------------------------------------------------------------------- value by period
def test_value_steps_up_at_each_year_boundary_by_hand():
    """Quarterly periods, 50% growth a year: periods 0-3 are worth 8, 4-7 12, period 8 18."""
    m = MoneyValue(per_unit=8.0, growth=0.5)
    got = m.scale({}, "m", n_draws=2, n_periods=9, periods_per_year=4)
    want = [8.0] * 4 + [12.0] * 4 + [18.0]
    assert got.shape == (2, 9)
    assert got.tolist() == [want, want]
    shrink = MoneyValue(per_unit=8.0, growth=-0.5).scale({}, "m", 1, 3, 1)
    assert shrink.tolist() == [[8.0, 4.0, 2.0]]


def test_no_growth_gives_a_writable_array_of_every_draw_and_period():
    got = MoneyValue(per_unit=7.0).scale({}, "m", n_draws=3, n_periods=2, periods_per_year=1)
    assert got.shape == (3, 2) and (got == 7.0).all()
    got[0, 0] = 1.0  # a copy, not a read-only broadcast view
    assert got[1, 0] == 7.0


def test_an_uncertain_value_takes_each_draws_parameter():
    m = MoneyValue(per_unit=LogNormal.from_mean_sd(100.0, 10.0), growth=0.1)
    assert list(m.parameters("wages")) == ["evaluation.wages.money.per_unit"]
    assert m.name("wages") == "evaluation.wages.money.per_unit"
    params = {"evaluation.wages.money.per_unit": np.array([100.0, 200.0])}
    got = m.scale(params, "wages", n_draws=2, n_periods=2, periods_per_year=1)
    np.testing.assert_allclose(got, [[100.0, 110.0], [200.0, 220.0]], rtol=1e-15)
    flat = MoneyValue(per_unit=LogNormal.from_mean_sd(100.0, 10.0))
    assert flat.scale(params, "wages", 2, 3, 1).tolist() == [[100.0] * 3, [200.0] * 3]


# --------------------------------------------------------------------------- dispersion
def _reference_noise(seed, metric, draws, shape):
    n = int(np.prod(shape))
    out = []
    for d in draws:
        block, row = divmod(int(d), PARAM_BLOCK)
        z = parameter_rng(seed, f"evaluation.{metric}.money.dispersion",
                          block).standard_normal((PARAM_BLOCK, n))
        out.append(z[row].reshape(shape))
    return np.array(out)


@pytest.mark.parametrize("draws", [
    [0, 1, 2],
    [5],                                            # one draw
    [PARAM_BLOCK - 1, PARAM_BLOCK],                 # across a block boundary
    [PARAM_BLOCK, PARAM_BLOCK + 5],                 # the second block only
    [3, 2 * PARAM_BLOCK + 1],                        # three blocks
])
def test_dispersion_noise_is_keyed_on_the_seed_metric_and_draw(draws):
    m = MoneyValue(per_unit=1.0, cv=0.5)
    got = m.noise("wages", 11, np.array(draws), (2, 3))
    np.testing.assert_array_equal(got, _reference_noise(11, "wages", draws, (2, 3)))
    assert got.shape == (len(draws), 2, 3)


def test_dispersion_of_draws_given_as_floats_is_that_of_the_integers():
    """A draw coordinate read back as floats indexes the same rows as the integers."""
    m = MoneyValue(per_unit=1.0, cv=0.5)
    np.testing.assert_array_equal(m.noise("wages", 3, np.array([2.0, 7.0]), (2,)),
                                  m.noise("wages", 3, np.array([2, 7]), (2,)))


def test_dispersion_of_no_draws_is_empty():
    z = MoneyValue(per_unit=1.0, cv=0.5).noise("wages", 1, np.array([], dtype=np.int64), (2, 3))
    assert z.shape == (0, 2, 3)


def test_value_with_dispersion_by_hand_and_floored_at_zero():
    """cv 0.5, 4 units at 10 each, z = 1: 4 + 0.5 x 2 x 1 = 5 units, 50; z = -10: floored at 0;
    negative units (a count below 0 cannot occur, but the square root must not be NaN) add no
    spread and are floored at 0."""
    m = MoneyValue(per_unit=10.0, cv=0.5)
    units = np.array([4.0, 4.0, -1.0, 9.0])
    z = np.array([1.0, -10.0, 1.0, 0.0])
    got = m.value(units, np.full(4, 10.0), z)
    assert got.tolist() == [50.0, 0.0, 0.0, 90.0]
    assert m.value(units, 10.0, None).tolist() == [40.0, 40.0, -10.0, 90.0]


# --------------------------------------------------------------------------- the TOML reader
def test_read_money_reads_each_key_and_marks_it_used():
    sec = Section("evaluation[0]", {"money": {"per_unit": 2_000, "growth": 0.02, "cv": 0.4}})
    m = read_money(sec, "money")
    assert m == MoneyValue(per_unit=2_000.0, growth=0.02, cv=0.4)
    assert "money" in sec.used
    dist = read_money(Section("e", {"money": {"per_unit": {"dist": "lognormal", "mean": 10,
                                                           "sd": 2}}}), "money")
    assert math.isclose(dist.per_unit.mean, 10.0) and dist.growth == 0.0


@pytest.mark.parametrize("raw", [2_000, {"dist": "lognormal", "mean": 10, "sd": 2}, [1, 2]])
def test_read_money_refuses_anything_but_a_table_of_its_keys(raw):
    with pytest.raises(KeyProblem) as err:
        read_money(Section("evaluation[0]", {"money": raw}), "money")
    assert err.value.key == "evaluation[0].money"
    assert err.value.problem == ("expected a table {per_unit = <currency per outcome unit>, "
                                 "growth = <fraction a year>, cv = <dispersion>, effect = "
                                 "<ratio on the engaged treated participants' money per unit>}")
