"""A cancellation of later cohorts (money/cancellation.py) at its boundaries: the first and last
entry waves a cancellation may start from, exactly there and one period either side; the
per-wave values of every evaluation design cut to the cohorts that ran (against a deal written
with those cohorts only, as a reference); the settlement period by hand, with a payment lag,
a dropped payment and a maturity."""

from __future__ import annotations

import math
import re
import tomllib

import numpy as np
import pytest

import sibsim
from sibsim.money.sib import money_flows
from sibsim.money.termination import CancelLaterCohorts, EndStratum
from sibsim.scenario_file import parse_scenario
from sibsim.spec.distributions import Beta, Uniform

DRAWS = 4


def tiny(entry=(100, 100, 100), design="", cancel=None, probability=1.0, contract="",
         deal_keys="", horizon=5):
    """Waves of people, a price of 10 per event avoided on each cohort and the pooled result;
    ``design``: the evaluation's ``design = {...}`` line."""
    text = f"""
name = "tiny"
description = "cohorts"
horizon = {horizon}
{deal_keys}
[cohort]
entry = {list(entry)}
[comparison]
ratio = 2
[outcome]
kind = "counts"
name = "event"
rate = 2.0
[effect]
measure = "rr"
value = 0.8
[[evaluation]]
metric = "m"
window = 1
report_lag = 1
precision = 0
{design}
[contract]
{contract}
[[contract.terms]]
metric = "m"
rule = {{kind = "price_per_unit", price = 10}}
[service_costs]
per_participant = 1
[capital]
[[capital.tranches]]
name = "investors"
commitment = 1_000_000
"""
    if cancel is not None:
        text += f"""
[[termination]]
kind = "cancel_later_cohorts"
from_period = {cancel}
probability = {probability}
"""
    return parse_scenario(tomllib.loads(text))


# --------------------------------------------------------------------------- from_period
def test_a_cancellation_from_the_first_wave_with_people_is_refused():
    """Waves 0 empty, 1 and 2 with people: cancelling from period 1 would cancel every cohort
    (refused, the message in full); from period 2 cohort 2 runs (allowed)."""
    message = ("Deal.termination[0].from_period: got 1; allowed: a period after the first "
               "entry wave with people (period 1) and at or before the last (period 2): some "
               "cohorts run, later ones are cancelled")
    with pytest.raises(ValueError, match=re.escape("<scenario>: key '(deal)': " + message) + "$"):
        tiny(entry=(0, 100, 100), cancel=1)
    assert tiny(entry=(0, 100, 100), cancel=2).termination[0].from_period == 2


@pytest.mark.parametrize(("entry", "allowed", "refused"), [
    ((100, 100, 100), [1, 2], [3, 4]),
    ((0, 0, 100, 100), [3], [1, 2, 4]),
    ((100, 100, 0), [1], [2, 3]),       # the last wave with people is wave 1
    ((100, 0, 100), [1, 2], [3]),
])
def test_allowed_periods_are_after_the_first_and_at_or_before_the_last_wave_with_people(
        entry, allowed, refused):
    people = [w for w, n in enumerate(entry) if n > 0]
    for c in allowed:
        assert tiny(entry=entry, cancel=c).termination[0].from_period == c
    for c in refused:
        with pytest.raises(ValueError, match=re.escape(
                f"Deal.termination[0].from_period: got {c}; allowed: a period after the first "
                f"entry wave with people (period {people[0]}) and at or before the last "
                f"(period {people[-1]})")):
            tiny(entry=entry, cancel=c)


# --------------------------------------------------------------------------- per-wave designs
PER_WAVE = {
    "historical": 'design = {kind = "historical", historical_rate = RATES}',
    "matched": 'design = {kind = "matched", bias = BIAS}',
    "blend": ('design = {kind = "blend", weights = [0.5, 0.5], designs = [{kind = "rct"}, '
              '{kind = "historical", historical_rate = RATES}]}'),
    "blend of per-wave biases": (
        'design = {kind = "blend", weights = [0.25, 0.75], designs = [{kind = "matched", '
        'bias = BIAS}, {kind = "historical", historical_rate = 2.5}]}'),
}


def _design(kind: str, n: int) -> str:
    rates, bias = [1.5, 3.0, 9.0][:n], [0.1, -0.2, 0.5][:n]
    return PER_WAVE[kind].replace("RATES", str(rates)).replace("BIAS", str(bias))


@pytest.mark.parametrize("kind", list(PER_WAVE))
def test_a_certain_cancellation_measures_as_the_deal_of_the_cohorts_that_ran(kind):
    """A design with a value per entry wave, cancelled from period 2 with certainty: the
    cohorts that ran and their pooled result are measured and paid exactly as in a deal written
    with those two cohorts only (their two per-wave values), written by hand as a reference."""
    three = tiny(design=_design(kind, 3), cancel=2)
    two = tiny(entry=(100, 100), design=_design(kind, 2))
    m3 = money_flows(three, sibsim.simulate(three.scenario, draws=DRAWS, seed=3,
                                            progress=False))
    m2 = money_flows(two, sibsim.simulate(two.scenario, draws=DRAWS, seed=3, progress=False))
    kept = [0, 1, 4]  # cohort 1, cohort 2, (cohort 3 and the planned pool), the pool of two
    for name in ("measured_effect", "trigger_units", "gate_passed"):
        np.testing.assert_array_equal(m3[name].values[:, kept], m2[name].values, err_msg=name)
    np.testing.assert_array_equal(m3["outcome_payments"].values, m2["outcome_payments"].values)
    # the third wave's own value matters to the planned results: not what was measured
    assert (m3["trigger_units"].values[:, [2, 3]] == 0).all()


# --------------------------------------------------------------------------- settlement
@pytest.mark.parametrize(("contract", "deal_keys", "settle"), [
    ("", "", 2),                                      # results of period 1, 2: paid in 1, 2
    ("lag = 2", "", 4),                               # paid in 3, 4
    ("lag = 2", "maturity = 3", 3),                   # at the latest the maturity
    ('lag = 3\noverflow = "drop"', "", 4),            # 4, and one dropped past the horizon
    ('lag = 3\noverflow = "last"', "", 4),            # 4, and one moved to the last period 4
])
def test_the_settlement_is_the_last_payment_on_the_cohorts_that_ran(contract, deal_keys,
                                                                     settle):
    """Cancelled from period 2 with certainty, waves 0 and 1 ran: their own results are known
    in periods 1 and 2 and their pooled result in 2; each is paid ``lag`` periods later. The
    deal settles with the last of those payments, at the latest at its maturity, and never
    before the cancellation."""
    deal = tiny(cancel=2, contract=contract, deal_keys=deal_keys)
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=1, progress=False)
    money = money_flows(deal, ds)
    assert money["settlement_period"].values.tolist() == [settle] * DRAWS


def test_a_settlement_is_never_before_the_cancellation():
    """Payments with no lag on cohorts that ran from period 3 on: waves 0-2 ran, their last
    result is known in period 3, the pooled one in 3; from period 3 the deal settles in 3."""
    deal = tiny(entry=(100, 100, 100, 100), cancel=3, horizon=6)
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=1, progress=False)
    assert money_flows(deal, ds)["settlement_period"].values.tolist() == [3] * DRAWS


def test_probability_zero_keeps_the_planned_settlement():
    deal = tiny(cancel=2, probability=0.0)
    plain = tiny()
    ds = sibsim.simulate(plain.scenario, draws=DRAWS, seed=1, progress=False)
    assert money_flows(deal, ds).identical(money_flows(plain, ds))
    assert deal.termination[0] == CancelLaterCohorts(from_period=2, probability=0.0)


# --------------------------------------------------------------------------- an uncertain chance
@pytest.mark.parametrize("rule", [
    CancelLaterCohorts(from_period=2, probability=Beta.from_mean_sd(0.3, 0.1)),
    EndStratum("b", from_period=2, probability=Beta.from_mean_sd(0.7, 0.1)),
])
def test_an_uncertain_probability_is_drawn_per_draw_from_its_own_stream(rule):
    """Each draw's probability is sampled from the rule's named stream
    (``termination.<kind>[.<stratum>].probability``) and compared with the draw's uniform
    (``....draw``): a reference computed from the streams by name, and the share within 4
    standard errors of the probability's mean."""
    from sibsim.engine.parameters import sample_parameter

    name = ("termination.cancel_later_cohorts" if rule.kind == "cancel_later_cohorts"
            else "termination.end_stratum.b")
    n = 4000
    p = sample_parameter(rule.probability, f"{name}.probability", 9, 0, n)
    u = sample_parameter(Uniform(0.0, 1.0), f"{name}.draw", 9, 0, n)
    got = rule.happens(9, np.arange(n))
    np.testing.assert_array_equal(got, u < p)
    mean = rule.probability.mean
    assert abs(got.mean() - mean) < 4 * math.sqrt(mean * (1 - mean) / n)
    # a block of draws gets the whole run's values
    np.testing.assert_array_equal(rule.happens(9, np.arange(1500, 1600)), got[1500:1600])


def test_a_result_to_date_is_refused_in_full():
    with pytest.raises(ValueError, match=re.escape(
            "<scenario>: key '(deal)': Evaluation[m].to_date: got True; allowed: false with a "
            "cancel_later_cohorts rule (a result to date nets every wave together)") + "$"):
        tiny(design="per_period = true\nto_date = true\npooled = false", cancel=2)


def test_a_table_without_waves_is_lowered_with_the_pooled_result_of_the_cohorts_that_ran():
    """An evaluation table built without its waves (by hand, as a replay may): the triggers
    given keep no waves and are measured in every draw; the pooled result of the cohorts that
    ran is added with its waves (0, 1), known when the second cohort's result is."""
    import dataclasses

    from sibsim.money.cancellation import apply_cancellation
    from sibsim.money.evaluation import evaluate

    deal = tiny(cancel=2)
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=2, progress=False)
    full = evaluate(ds, deal.evaluations, 2)
    bare = dataclasses.replace(full, waves=None)
    table, cancel = apply_cancellation(deal, ds, bare, 2)
    assert table.waves == ((), (), (), (), (0, 1))
    assert table.period == (1, 2, 3, 3, 2)
    # the last planned trigger (the pool of every wave) is not measured where it happened
    assert cancel.due.tolist() == [True, True, True, False, True]
    assert (table.units[:, 3] == 0).all()
    np.testing.assert_array_equal(table.units[:, :3], full.units[:, :3])
    with_waves, _ = apply_cancellation(deal, ds, full, 2)
    np.testing.assert_array_equal(table.units[:, 4], with_waves.units[:, 4])
