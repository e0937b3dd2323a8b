"""A cancellation decided outside the contract (``[[termination]] kind = "cancel_later_cohorts"``,
money/cancellation.py): later cohorts never start, the cohorts that ran are still paid."""

from __future__ import annotations

import copy
import math
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.analysis.replay import first_cohorts, load_replays, replay, run_replay, without_policy
from sibsim.money.cancellation import apply_cancellation
from sibsim.money.evaluation import evaluate
from sibsim.money.sib import counterfactual, money_flows
from sibsim.money.termination import TERMINATION_RULES, CancelLaterCohorts
from sibsim.scenario_file import builtin_scenarios, parse_scenario
from sibsim.spec.distributions import Beta

DRAWS = 40


@pytest.fixture(scope="module")
def peterborough():
    return sibsim.load_scenario("peterborough")


@pytest.fixture(scope="module")
def run3(peterborough):
    ds = sibsim.simulate(peterborough.scenario, draws=DRAWS, seed=5, progress=False)
    return ds, counterfactual(peterborough, DRAWS, 5)


def _with(deal, **kw):
    return deal.replace(termination=(CancelLaterCohorts(**kw),))


# ----------------------------------------------------------------------------- the rule
def test_rule_is_registered_and_validated():
    assert TERMINATION_RULES["cancel_later_cohorts"] is CancelLaterCohorts
    assert CancelLaterCohorts(from_period=2).probability == 1.0
    with pytest.raises(ValueError, match=r"CancelLaterCohorts\.probability: got 1\.5"):
        CancelLaterCohorts(from_period=2, probability=1.5)
    with pytest.raises(ValueError, match=r"CancelLaterCohorts\.from_period"):
        CancelLaterCohorts(from_period=0)
    with pytest.raises(ValueError, match=r"CancelLaterCohorts\.probability.*\[0, 1\]"):
        CancelLaterCohorts(from_period=2, probability=sibsim.Normal(0.5, 0.1))
    assert isinstance(CancelLaterCohorts(from_period=2, probability=Beta(2, 8)).probability, Beta)


def test_bernoulli_draws_depend_on_the_seed_and_draw_alone():
    rule = CancelLaterCohorts(from_period=2, probability=0.3)
    whole = rule.happens(seed=11, draws=np.arange(5000))
    block = rule.happens(seed=11, draws=np.arange(1200, 1300))
    assert np.array_equal(whole[1200:1300], block)
    # the share cancelled is a Bernoulli(0.3) mean: within 4 standard errors
    se = math.sqrt(0.3 * 0.7 / 5000)
    assert abs(whole.mean() - 0.3) < 4 * se
    assert not np.array_equal(whole, rule.happens(seed=12, draws=np.arange(5000)))
    assert CancelLaterCohorts(from_period=2, probability=1.0).happens(1, np.arange(50)).all()
    assert not CancelLaterCohorts(from_period=2, probability=0.0).happens(1, np.arange(50)).any()


def test_an_uncertain_probability_averages_to_its_mean():
    rule = CancelLaterCohorts(from_period=2, probability=Beta.from_mean_sd(0.2, 0.1))
    share = rule.happens(seed=3, draws=np.arange(8000)).mean()
    assert abs(share - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 8000)


@pytest.mark.parametrize(("change", "message"), [
    ({"from_period": 0}, r"CancelLaterCohorts\.from_period: got 0"),
    ({"from_period": 3}, r"termination\[0\]\.from_period: got 3; allowed: a period after the "
                         r"first entry wave with people \(period 0\) and at or before the last"),
])
def test_nonsense_cancellations_are_refused(peterborough, change, message):
    with pytest.raises(ValueError, match=message):
        _with(peterborough, **change)


def test_combinations_it_cannot_honour_are_refused(peterborough):
    from sibsim.money.termination import EffectBelow

    rules = (CancelLaterCohorts(from_period=2), EffectBelow("reconviction", 0.05))
    with pytest.raises(ValueError, match=r"termination\[0\]\.kind.*only \[\[termination\]\]"):
        peterborough.replace(termination=rules)
    with pytest.raises(ValueError, match=r"termination\[0\]\.from_period.*maturity \(1\)"):
        peterborough.replace(termination=(CancelLaterCohorts(from_period=2),), maturity=1)
    essex = sibsim.load_scenario("essex-mst")
    with pytest.raises(ValueError, match=r"Evaluation\[care_days\]\.to_date"):
        essex.replace(termination=(CancelLaterCohorts(from_period=5),))


# ----------------------------------------------------------------------------- its meaning
def test_probability_zero_is_the_deal_without_the_rule_bit_for_bit(peterborough, run3):
    ds, cf = run3
    plain = money_flows(without_policy(peterborough), ds, cf)
    zero = money_flows(_with(peterborough, from_period=2, probability=0.0), ds, cf)
    assert plain.identical(zero)


def test_probability_one_agrees_with_the_two_cohorts_that_ran(peterborough, run3):
    """With certainty the deal pays what a deal of the first two cohorts pays: the same
    measured results, payments and savings; only its service ends with the cancellation."""
    ds3, cf3 = run3
    sure = money_flows(_with(peterborough, from_period=2, probability=1.0), ds3, cf3)
    two = first_cohorts(without_policy(peterborough), 2)
    ds2 = sibsim.simulate(two.scenario, draws=DRAWS, seed=5, progress=False)
    ran = money_flows(two, ds2, counterfactual(two, DRAWS, 5))
    # triggers: cohort 1, cohort 2, (cohort 3, planned pooled: not measured), pooled of the two
    kept = [0, 1, 4]
    assert sure["trigger_period"].values[kept].tolist() == ran["trigger_period"].values.tolist()
    for name in ("measured_effect", "trigger_units", "gate_passed"):
        assert np.array_equal(sure[name].values[:, kept], ran[name].values), name
    assert not sure["gate_passed"].values[:, [2, 3]].any()
    for name in ("outcome_payments", "payments_by_metric", "payments_by_payer"):
        assert np.array_equal(sure[name].values, ran[name].values), name
    for name in ("cashable_savings", "wider_value", "avoided_events"):
        np.testing.assert_allclose(sure[name].values, ran[name].values, rtol=1e-12, atol=1e-6)
    # where they differ by design: the service (its costs and fees) ends with the cancellation
    assert (sure["stop_period"].values == 2).all()
    assert (sure["service_costs"].values[:, 2:] == 0).all()
    assert (ran["service_costs"].values[:, 2] > 0).all()


def test_worked_example_by_hand():
    """Three waves of 100 people, a price of 10 per event avoided on each cohort's result and
    on the pooled one (a top-up), cancellation from period 2 with certainty: by hand, the
    cohorts that ran are paid 10 x their units, the pooled trigger of the two tops up to
    10 x (their pooled units) and nothing is paid on the third wave or the planned pool."""
    deal = _tiny_deal(CancelLaterCohorts(from_period=2))
    ds = sibsim.simulate(deal.scenario, draws=3, seed=2, progress=False)
    full = evaluate(ds, deal.evaluations, 2)
    table, cancel = apply_cancellation(deal, ds, full, 2)
    assert cancel is not None and cancel.stop.tolist() == [2, 2, 2]
    assert table.period == (1, 2, 3, 3, 2) and table.participants == (100, 100, 100, 300, 200)
    assert table.waves == ((0,), (1,), (2,), (0, 1, 2), (0, 1))
    assert cancel.due.tolist() == [True, True, False, False, True]
    # the pooled result of the waves that ran: their units added, their effect over 200 people
    u = full.units
    assert np.allclose(table.units[:, 4], u[:, 0] + u[:, 1])
    money = money_flows(deal, ds)
    paid = money["payments_by_metric"].sel(metric="m").values
    first, second = 10 * np.maximum(u[:, 0], 0), 10 * np.maximum(u[:, 1], 0)
    pooled = np.maximum(10 * (u[:, 0] + u[:, 1]) - first - second, 0)
    np.testing.assert_allclose(paid[:, 1], first)
    np.testing.assert_allclose(paid[:, 2], second + pooled)
    assert (paid[:, 3:] == 0).all()
    assert money["settlement_period"].values.tolist() == [2, 2, 2]


def _tiny_deal(rule):
    text = f"""
name = "tiny"
description = "three cohorts"
horizon = 5
[cohort]
entry = [100, 100, 100]
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
[contract]
[[contract.terms]]
metric = "m"
rule = {{kind = "price_per_unit", price = 10}}
[service_costs]
per_participant = 1
[capital]
[[capital.tranches]]
name = "investors"
commitment = 1_000_000
[[termination]]
kind = "cancel_later_cohorts"
from_period = {rule.from_period}
probability = {rule.probability}
"""
    return parse_scenario(tomllib.loads(text))


@settings(max_examples=8, deadline=None)
@given(p=st.sampled_from([0.0, 0.25, 0.5, 1.0]), seed=st.integers(0, 50))
def test_cancelled_draws_pay_only_on_the_cohorts_that_ran(p, seed):
    """Property: in each draw either the planned triggers or the cohorts that ran (and their
    pooled result) are measured, never both; money is conserved; cancelled draws serve nobody
    and pay nothing from the third wave on."""
    deal = _tiny_deal(CancelLaterCohorts(from_period=2, probability=p))
    ds = sibsim.simulate(deal.scenario, draws=6, seed=seed, progress=False)
    money = money_flows(deal, ds)
    gate = money["gate_passed"].values.astype(bool)
    stopped = money["stop_period"].values == 2
    if p == 0.0:
        assert money.sizes["trigger"] == 4 and not stopped.any()
        return
    assert not (gate[:, 4] & ~stopped).any()
    assert not gate[stopped][:, [2, 3]].any()
    assert (money["participants_served"].values[stopped][:, 2:] == 0).all()
    np.testing.assert_allclose(money["flow"].sum("party").values, 0.0, atol=1e-6)
    if p == 1.0:
        assert stopped.all()


# ----------------------------------------------------------------------------- TOML and CLI
def test_toml_round_trip():
    from test_roundtrip import roundtrip_problems

    doc = tomllib.loads(builtin_scenarios()["peterborough"].read_text(encoding="utf-8"))
    assert roundtrip_problems(doc) == []
    doc = copy.deepcopy(doc)
    doc["termination"] = [{"kind": "cancel_later_cohorts", "from_period": 1,
                           "probability": {"dist": "beta", "mean": 0.35, "sd": 0.1}}]
    assert roundtrip_problems(doc) == []
    deal = parse_scenario(doc)
    assert deal.termination[0].from_period == 1
    assert math.isclose(deal.termination[0].probability.mean, 0.35)


def test_peterborough_states_the_cancellation_as_a_risk(peterborough):
    (rule,) = peterborough.termination
    assert rule.kind == "cancel_later_cohorts" and rule.from_period == 2
    text = builtin_scenarios()["peterborough"].read_text(encoding="utf-8")
    assert "NOT YET EXPRESSIBLE" not in text
    assert "probability = 0.2" in text and "ASSUMPTION" in text


def test_replays_run_what_happened(peterborough):
    rep = replay(peterborough, {"reconviction": 0.09}, draws=5, seed=1)
    plain = replay(without_policy(peterborough), {"reconviction": 0.09}, draws=5, seed=1)
    assert "cancel_later_cohorts" in rep.attrs["not_applied"]
    assert "not_applied" not in plain.attrs
    del rep.attrs["not_applied"]
    assert rep.identical(plain)  # every planned cohort: the risk is not a realised result
    cases = [c for c in load_replays() if c.scenario == "peterborough"]
    rep = run_replay(cases[1], draws=5, seed=1)
    assert rep.sizes["trigger"] == 3  # the two cohorts that ran and their pooled result


def test_cli_bad_cancellation_exits_2_with_one_line(tmp_path, capsys):
    from sibsim.cli import main

    text = builtin_scenarios()["peterborough"].read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("probability = 0.2", "probability = 1.2"), encoding="utf-8")
    assert main(["run", str(bad), "--draws", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "probability" in err[0] and "1.2" in err[0], err
    bad.write_text(text.replace("from_period = 2", "from_period = 7"), encoding="utf-8")
    assert main(["run", str(bad), "--draws", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "from_period" in err[0], err


def test_the_summary_says_how_often_later_cohorts_were_cancelled(peterborough):
    from sibsim.report import describe

    res = sibsim.analyse(peterborough, draws=30, seed=2, progress=False, with_breakeven=False)
    share = float((res.money["stop_period"].values == 2).mean())
    text = describe(res, peterborough)
    assert (f"Later cohorts cancelled by a decision outside the contract (from period 2 on) in "
            f"{100 * share:.1f}% of draws (probability 0.2") in text
    plain = without_policy(peterborough)
    assert "cancelled" not in describe(sibsim.analyse(plain, draws=30, seed=2, progress=False,
                                                      with_breakeven=False), plain)


def test_the_effect_free_parts_give_the_same_money(peterborough, run3):
    """The break-even search's path (money_arrays with EffectFree, the cohorts-that-ran
    evaluation cached there) gives the same arrays, bit for bit, on every call."""
    from sibsim.money.sib import effect_free, money_arrays

    ds, cf = run3
    deal = _with(peterborough, from_period=2, probability=0.5)
    want = money_flows(deal, ds, cf)
    fixed = effect_free(deal, ds, cf)
    for _ in range(2):
        data, _coords = money_arrays(deal, ds, cf, fixed=fixed)
        for name in ("outcome_payments", "measured_effect", "gate_passed", "flow",
                     "cashable_savings", "settlement_period"):
            assert np.array_equal(np.asarray(data[name]), want[name].values), name
    assert any(isinstance(k, tuple) and k[0] == "cancel_later_cohorts" for k in fixed.evaluations)
