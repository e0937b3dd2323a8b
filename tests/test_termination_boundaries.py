"""Termination rules (money/termination.py) at their boundaries, by hand: an interim effect
exactly at the threshold and one float step below, the first result by period and any result,
a notice running past the horizon; the settlement period for a stop from each period, at the
maturity; which cohorts started before a stop; the probability's forms (a number, a fixed
value, a distribution, one with several values) and its words; the stop-loss limit."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import sibsim
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.results import EvaluationTable
from sibsim.money.sib import money_flows
from sibsim.money.termination import (
    CancelLaterCohorts,
    EffectBelow,
    EndStratum,
    Lifecycle,
    StopLoss,
    TerminationRule,
    _maturity,
    _settle_at,
    paid_in_waterfall,
)
from sibsim.spec.distributions import Beta, Dirichlet, Fixed, Normal, Uniform

DOWN = -math.inf


def _interim(effects, periods=(1, 2), metric="m", gate=None):
    effects = np.atleast_2d(np.asarray(effects, dtype=float))
    k = effects.shape[1]
    return EvaluationTable((metric,) * k, tuple(periods), (False,) * k, (10,) * k,
                           measured_effect=effects, units=np.zeros_like(effects),
                           gate=np.ones_like(effects, bool) if gate is None else gate)


# --------------------------------------------------------------------------- effect below
def test_an_effect_exactly_at_the_threshold_does_not_stop_and_one_step_below_does():
    below = math.nextafter(0.1, DOWN)
    table = _interim([[0.1, 0.5], [below, 0.5], [0.1, below]])
    assert EffectBelow("m", 0.1).stop_period(table, 6).tolist() == [6, 2, 6]
    assert EffectBelow("m", 0.1, results="any").stop_period(table, 6).tolist() == [6, 2, 3]


def test_the_first_result_is_the_first_known_not_the_first_listed():
    """Results listed in the order (known in 3, known in 1): 'first' reads the one of period 1."""
    table = _interim([[0.0, 0.5], [0.5, 0.0]], periods=(3, 1))
    assert EffectBelow("m", 0.1).stop_period(table, 6).tolist() == [6, 2]
    # the earliest of several stops wins under 'any'
    both = _interim([[0.0, 0.0]], periods=(3, 1))
    assert EffectBelow("m", 0.1, results="any").stop_period(both, 6).tolist() == [2]


def test_a_notice_delays_the_stop_and_never_past_the_horizon():
    table = _interim([[0.0, 0.5]], periods=(1, 2))
    assert EffectBelow("m", 0.1, notice=2).stop_period(table, 6).tolist() == [4]
    assert EffectBelow("m", 0.1, notice=3).stop_period(table, 5).tolist() == [5]
    assert EffectBelow("m", 0.1, notice=2).stop_period(table, 4).tolist() == [4]


def test_other_metrics_are_not_read_and_a_failed_gate_stops_only_when_asked():
    table = _interim([[0.0, 0.5]], metric="other")
    assert EffectBelow("m", 0.1).stop_period(table, 6).tolist() == [6]
    gate = np.array([[False, True], [True, True]])
    passing = _interim([[0.5, 0.5], [0.5, 0.5]], gate=gate)
    assert EffectBelow("m", 0.1).stop_period(passing, 6).tolist() == [6, 6]
    assert EffectBelow("m", 0.1, or_not_significant=True).stop_period(passing, 6).tolist() \
        == [2, 6]
    assert EffectBelow("m", 0.1).metrics() == ("m",)


def test_a_plain_rule_never_stops_nor_cancels():
    rule = TerminationRule()
    assert rule.stop_period(_interim([[0.0, 0.0]]), 6).tolist() == [6]
    assert rule.cancel_period(1, [4, 5, 6], 7).tolist() == [7, 7, 7]
    assert rule.limit(1e6) == math.inf and rule.metrics() == () and not rule.policy_risk


# --------------------------------------------------------------------------- settlement
def test_settlement_for_a_stop_from_each_period_by_hand():
    """Results known in periods 1 and 3, paid a period later (lag 1), horizon 6. A stop from
    period s settles with the last payment on results known before s, never before s, and at
    the latest at the maturity (4)."""
    c = Contract((MetricTerms("m", PricePerUnit(1.0)),), lag=1)
    table = _interim([[0.2, 0.2]], periods=(1, 3))
    # s:        0  1  2  3  4  5  6 (no stop)
    want = [0, 1, 2, 3, 4, 5, 5]
    assert _settle_at(c, table, 6, maturity=5).tolist() == want
    assert _settle_at(c, table, 6, maturity=4).tolist() == [0, 1, 2, 3, 4, 4, 4]
    late = Contract((MetricTerms("m", PricePerUnit(1.0)),), lag=3)  # paid in 4 and 6 (drop: 5)
    assert _settle_at(late, table, 6, maturity=5).tolist() == [0, 1, 4, 4, 5, 5, 5]
    dropped = Contract((MetricTerms("m", PricePerUnit(1.0)),), lag=3, overflow="drop")
    assert _settle_at(dropped, table, 6, maturity=5).tolist() == [0, 1, 4, 4, 4, 5, 5]


def test_the_maturity_is_the_last_period_unless_given():
    class _Deal:
        maturity = None

    assert _maturity(_Deal(), 8) == 7
    _Deal.maturity = 3
    assert _maturity(_Deal(), 8) == 3
    _Deal.maturity = 9
    assert _maturity(_Deal(), 8) == 7


def test_a_cohort_started_before_the_stop_and_not_at_it():
    life = Lifecycle(stop=np.array([2, 0, 5]), payments=None, achieved=None, served=None,
                     costs=None, back=lambda: (None, None))
    got = life.started(np.array([0, 2, 4]))
    assert got.astype(int).tolist() == [[1, 0, 0], [0, 0, 0], [1, 1, 1]]


# --------------------------------------------------------------------------- probability
def test_the_probabilitys_forms_and_words():
    assert CancelLaterCohorts(2, 0.25).describe_probability() == "0.25"
    assert CancelLaterCohorts(2, 1).describe_probability() == "1"
    fixed = CancelLaterCohorts(2, Fixed(0.4))
    assert fixed.probability == 0.4 and isinstance(fixed.probability, float)
    beta = Beta(2.0, 8.0)
    assert EndStratum("b", 2, beta).describe_probability() == beta.describe()
    assert CancelLaterCohorts(2, 0.0).inert and not CancelLaterCohorts(2, 1e-300).inert
    assert not CancelLaterCohorts(2, beta).inert  # a distribution is never inert


@pytest.mark.parametrize(("value", "words"), [
    (Dirichlet((1.0, 1.0)), "a probability: a number in [0, 1] or a distribution with values "
                            "in [0, 1]"),
    (Normal(0.5, 0.1), "CancelLaterCohorts.probability"),
    (Uniform(0.5, 1.5), "CancelLaterCohorts.probability"),
    (math.nextafter(1.0, math.inf), "CancelLaterCohorts.probability: got 1.0000000000000002"),
    (math.nextafter(0.0, DOWN), "CancelLaterCohorts.probability: got -5e-324"),
])
def test_probabilities_outside_zero_to_one_are_refused(value, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        CancelLaterCohorts(2, value)


def test_a_probability_of_one_happens_in_every_draw_and_zero_in_none():
    draws = np.arange(2000)
    assert CancelLaterCohorts(2, 1.0).happens(5, draws).all()
    assert not CancelLaterCohorts(2, 0.0).happens(5, draws).any()
    assert not CancelLaterCohorts(2, 1e-300).happens(5, draws).any()


def test_the_first_period_is_capped_at_the_horizon():
    rule = EndStratum("b", from_period=9, probability=1.0)
    assert rule.end_period(1, np.arange(3), 6).tolist() == [6, 6, 6]
    assert EndStratum("b", 4, 1.0).end_period(1, np.arange(2), 6).tolist() == [4, 4]
    assert CancelLaterCohorts(3, 1.0).cancel_period(1, np.arange(2), 6).tolist() == [3, 3]


# --------------------------------------------------------------------------- stop-loss, waterfall
def test_the_stop_loss_limit_by_amount_and_by_share():
    assert StopLoss(amount=2.5e6).limit(9e6) == 2.5e6
    assert StopLoss(share_of_commitment=0.25).limit(8e6) == 2e6
    assert StopLoss(share_of_commitment=1.0).limit(8e6) == 8e6
    with pytest.raises(ValueError, match=re.escape("StopLoss.share_of_commitment: got 0.0")):
        StopLoss(share_of_commitment=0.0)
    with pytest.raises(ValueError, match=re.escape("StopLoss.amount: got 0.0")):
        StopLoss(amount=0.0)


def test_only_a_claim_tied_share_is_paid_in_the_waterfall():
    from sibsim.money.pricing import ClaimShare

    assert paid_in_waterfall(ClaimShare(0.9, 0.4))
    assert not paid_in_waterfall(PricePerUnit(1.0))
    assert not paid_in_waterfall(None)


# --------------------------------------------------------------------------- bug: negative chance
@pytest.mark.parametrize("rule", [CancelLaterCohorts, lambda p_from, p: EndStratum("b", p_from,
                                                                                    p)])
@pytest.mark.parametrize("value", [-0.2, -1.0, math.nextafter(0.0, DOWN)])
def test_a_negative_probability_is_refused(rule, value):
    """Bug (found by mutation testing): a probability was read as a fraction in [-1, 1], so
    ``probability = -0.2`` ran as a rule that never happens, its summary saying 'probability
    -0.2'. It is refused, naming the key."""
    with pytest.raises(ValueError, match=re.escape(f"probability: got {value!r}; allowed: a "
                                                   "finite number in [0, 1]")):
        rule(2, value)


def test_the_cli_refuses_a_negative_probability_with_exit_2(tmp_path, capsys):
    from sibsim.cli import main
    from sibsim.scenario_file import builtin_scenarios

    text = builtin_scenarios()["peterborough"].read_text(encoding="utf-8")
    assert "probability = 0.2" in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("probability = 0.2", "probability = -0.2"), encoding="utf-8")
    assert main(["run", str(bad), "--draws", "5", "--no-progress",
                 "--out", str(tmp_path / "o.nc")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "termination[0]" in err[0] and "probability" in err[0], err
    assert "-0.2" in err[0] and not (tmp_path / "o.nc").exists()


# --------------------------------------------------------------------------- rate cards, refusals
def test_rate_cards_count_nothing_from_a_stop_on():
    """Chicago CPC with a stop-loss at 30% of the commitment: the deal stops from period 2;
    the rate cards' achievements of period 1 count (as without the stop) and none from 2 on,
    so the rate cards pay nothing from then on."""
    deal = sibsim.load_scenario("chicago-cpc")
    ds = sibsim.simulate(deal.scenario, draws=3, seed=3, progress=False)
    plain = money_flows(deal, ds)
    money = money_flows(deal.replace(termination=(StopLoss(share_of_commitment=0.3),)), ds)
    stop = money["stop_period"].values
    assert stop.tolist() == [2, 2, 2]
    got, base = money["achievements"].values, plain["achievements"].values
    np.testing.assert_array_equal(got[:, :, :2], base[:, :, :2])
    assert base[:, :, 1].sum() > 0 and base[:, :, 2:].sum() > 0
    assert (got[:, :, 2:] == 0).all()
    cards = [c.name for c in deal.contract.rate_cards]
    paid = money["payments_by_metric"].sel(metric=cards).values
    assert (paid[..., 2:] == 0).all() and paid[..., 1].sum() > 0
    np.testing.assert_array_equal(
        paid[..., 1], plain["payments_by_metric"].sel(metric=cards).values[..., 1])


@pytest.mark.parametrize(("name", "message"), [
    ("chicago-cpc", "Deal.termination[0].kind: got 'cancel_later_cohorts'; allowed: a deal "
                    "without rate cards (their achievements are not counted by entry wave, "
                    "so the cohorts that ran cannot be told apart)"),
    ("utah-preschool", "Deal.termination[0].kind: got 'cancel_later_cohorts'; allowed: a deal "
                       "without a claim-tied share (claim_share is paid in the waterfall on "
                       "the planned results)"),
])
def test_what_a_chance_cannot_split_is_refused_in_full(name, message):
    deal = sibsim.load_scenario(name)
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        deal.replace(termination=(CancelLaterCohorts(from_period=1),))
