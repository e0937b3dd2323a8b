"""One sub-project's end while the others continue (``[[termination]] kind = "end_stratum"``,
money/stratum_end.py): its people are no longer served and its later results pay nothing."""

from __future__ import annotations

import copy
import math
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.analysis.replay import replay, without_policy
from sibsim.money.evaluation import evaluate
from sibsim.money.sib import counterfactual, effect_free, money_arrays, money_flows
from sibsim.money.stratum_end import end_results, stratum_ends
from sibsim.money.termination import TERMINATION_RULES, CancelLaterCohorts, EffectBelow, EndStratum
from sibsim.scenario_file import builtin_scenarios, parse_scenario
from sibsim.spec.distributions import Beta

PRICE, COST = 10.0, 7.0


def _tiny_text(rule: str = "", b_entry: str = "[100, 100]", strata_b: bool = True,
               cap: str = "") -> str:
    """Two sub-projects of their own entry: 'a' (100 people in period 0) and 'b' (100 in
    periods 0 and 1), each measured on its own (one result per entry wave, known a period
    after its window), priced 10 per event avoided, paid by its own payer; 7 per person served
    for 4 periods."""
    b = f"""
[[cohort.strata]]
name = "b"
entry = {b_entry}
""" if strata_b else ""
    b_money = """
[[evaluation]]
metric = "m_b"
stratum = "b"
design = {kind = "historical", historical_rate = 2.0}
window = 1
report_lag = 1
pooled = false
precision = 0
[[contract.terms]]
metric = "m_b"
rule = {kind = "price_per_unit", price = 10}
[[payers]]
name = "payer b"
shares = {m_b = 1.0}
""" if strata_b else ""
    return f"""
name = "tiny-strata"
description = "two sub-projects"
horizon = 6
[cohort]
[[cohort.strata]]
name = "a"
entry = [100]
{b}
[outcome]
kind = "counts"
name = "event"
rate = 2.0
[effect]
measure = "rr"
value = 0.8
[[evaluation]]
metric = "m_a"
stratum = "a"
design = {{kind = "historical", historical_rate = 2.0}}
window = 1
report_lag = 1
pooled = false
precision = 0
[contract]
{cap}
[[contract.terms]]
metric = "m_a"
rule = {{kind = "price_per_unit", price = 10}}
{b_money}
[service_costs]
per_participant = 7
service_periods = 4
[capital]
[[capital.tranches]]
name = "investors"
commitment = 1_000_000
[[payers]]
name = "payer a"
shares = {{m_a = 1.0}}
{rule}
"""


def _tiny(rule: str = "", **kw):
    return parse_scenario(tomllib.loads(_tiny_text(rule, **kw)))


def _rule(stratum="b", from_period=2, probability="1"):
    return (f'[[termination]]\nkind = "end_stratum"\nstratum = "{stratum}"\n'
            f"from_period = {from_period}\nprobability = {probability}\n")


@pytest.fixture(scope="module")
def lapset():
    return sibsim.load_scenario("lapset-sib-1")


@pytest.fixture(scope="module")
def lapset_run(lapset):
    ds = sibsim.simulate(lapset.scenario, draws=16, seed=4, progress=False)
    return ds, counterfactual(lapset, 16, 4)


# ----------------------------------------------------------------------------- the rule
def test_rule_is_registered_and_validated():
    assert TERMINATION_RULES["end_stratum"] is EndStratum
    assert EndStratum("v", from_period=2).probability == 1.0
    with pytest.raises(ValueError, match=r"EndStratum\.probability: got 1\.5"):
        EndStratum("v", from_period=2, probability=1.5)
    with pytest.raises(ValueError, match=r"EndStratum\.from_period: got 0"):
        EndStratum("v", from_period=0)
    assert isinstance(EndStratum("v", 2, probability=Beta(2, 8)).probability, Beta)
    assert EndStratum("v", 2, probability=0.0).inert
    assert not EndStratum("v", 2).policy_risk and EndStratum("v", 2, 0.5).policy_risk


def test_bernoulli_draws_depend_on_the_seed_draw_and_stratum_alone():
    rule = EndStratum("v", from_period=2, probability=0.3)
    whole = rule.happens(seed=11, draws=np.arange(5000))
    assert np.array_equal(whole[1200:1300], rule.happens(seed=11, draws=np.arange(1200, 1300)))
    assert abs(whole.mean() - 0.3) < 4 * math.sqrt(0.3 * 0.7 / 5000)
    assert not np.array_equal(whole, rule.happens(seed=12, draws=np.arange(5000)))
    other = EndStratum("w", from_period=2, probability=0.3).happens(11, np.arange(5000))
    assert not np.array_equal(whole, other)  # each stratum its own stream
    share = EndStratum("v", 2, Beta.from_mean_sd(0.2, 0.1)).happens(3, np.arange(8000)).mean()
    assert abs(share - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 8000)


@pytest.mark.parametrize(("rules", "message"), [
    ((EndStratum("espoo", 4),),
     r"^Deal\.termination\[0\]\.stratum: got 'espoo'; allowed: a stratum of the cohort: "
     r"'hameenlinna', 'lohja', 'helsinki', 'vantaa', 'kemionsaari'$"),
    ((EndStratum("vantaa", 1),),
     r"^Deal\.termination\[0\]\.from_period: got 1; allowed: a period after the stratum's last "
     r"entry wave with people \(period 1\) and before the horizon \(12\)"),
    ((EndStratum("vantaa", 12),), r"termination\[0\]\.from_period: got 12"),
    ((EndStratum("vantaa", 4), EndStratum("vantaa", 5)),
     r"termination\[0\]\.stratum: got 'vantaa'; allowed: a stratum no other end_stratum"),
    ((EndStratum("vantaa", 4), EffectBelow("placement_years_vantaa", 0.1)),
     r"termination\[0\]\.stratum: got 'vantaa'; allowed: a stratum whose results no "
     r"effect_below rule reads"),
    (tuple(EndStratum(s, 5) for s in ("hameenlinna", "lohja", "helsinki", "vantaa",
                                      "kemionsaari")),
     r"allowed: a stratum while others continue"),
])
def test_nonsense_ends_are_refused(lapset, rules, message):
    with pytest.raises(ValueError, match=message):
        lapset.replace(termination=rules)


def test_combinations_it_cannot_honour_are_refused(lapset):
    with pytest.raises(ValueError, match=r"termination\[0\]\.from_period: got 6; allowed: a "
                                         r"period at or before the deal's maturity \(5\)"):
        lapset.replace(termination=(EndStratum("vantaa", 6),), maturity=5)
    pooled = lapset.replace(evaluations=(*lapset.evaluations[:3], sibsim.money.Evaluation(
        "placement_years_vantaa", stratum=("vantaa", "kemionsaari"),
        design=lapset.evaluations[3].design, outcome="occupancy", state="care", window=10,
        value_per_unit=130_000), lapset.evaluations[4]), termination=())
    with pytest.raises(ValueError, match=r"Evaluation\[placement_years_vantaa\]\.stratum: got "
                                         r"\('vantaa', 'kemionsaari'\); allowed: 'vantaa' alone"):
        pooled.replace(termination=(EndStratum("vantaa", 4),))
    # beside a cancellation of later cohorts (either rule's check refuses it)
    deal = _tiny()
    with pytest.raises(ValueError, match=r"termination\[\d\]\.kind"):
        deal.replace(termination=(EndStratum("b", 2), CancelLaterCohorts(from_period=1)))


# ----------------------------------------------------------------------------- its meaning
def test_worked_example_by_hand():
    """Sub-project b (waves of 100 in periods 0 and 1) ends from period 2 with certainty: by
    hand, its people count 0 in the people served and the costs from period 2; its first
    wave's result (known in period 1) is paid, its second's (known in period 2) is not; a's
    result and payer are untouched; the deal itself runs its course."""
    plain, ended = _tiny(), _tiny(_rule())
    ds = sibsim.simulate(plain.scenario, draws=3, seed=2, progress=False)
    cf = counterfactual(plain, 3, 2)
    base, got = money_flows(plain, ds, cf), money_flows(ended, ds, cf)
    # the people served: engaged people of each stratum in their 4 service periods, by hand
    eng = ds["engaged"].sel(arm="treatment").values  # (D, W, S, P)
    t = np.arange(6)
    window = (t[None, :] >= np.arange(2)[:, None]) & (t[None, :] < np.arange(2)[:, None] + 4)
    a = (eng[:, :, 0] * window).sum(1)
    b = (eng[:, :, 1] * window).sum(1)
    np.testing.assert_allclose(base["participants_served"].values, a + b)
    want = a + np.where(t >= 2, 0.0, b)
    np.testing.assert_allclose(got["participants_served"].values, want)
    np.testing.assert_allclose(got["service_costs"].values, COST * want)
    assert (got["service_costs"].values[:, 2:4] < base["service_costs"].values[:, 2:4]).all()
    # results: (m_a, wave 0) known in 1; (m_b, wave 0) in 1; (m_b, wave 1) in 2
    assert got["trigger_metric"].values.tolist() == ["m_a", "m_b", "m_b"]
    assert got["trigger_period"].values.tolist() == [1, 1, 2]
    units = evaluate(ds, plain.evaluations, 2).units
    assert got["gate_passed"].values[:, 2].sum() == 0
    np.testing.assert_array_equal(got["measured_effect"].values, base["measured_effect"].values)
    by_payer = got["payments_by_payer"].sum("period")
    np.testing.assert_allclose(by_payer.sel(payer="payer a").values,
                               PRICE * np.maximum(units[:, 0], 0))
    np.testing.assert_allclose(by_payer.sel(payer="payer b").values,
                               PRICE * np.maximum(units[:, 1], 0))
    assert (base["payments_by_payer"].sel(payer="payer b").sum("period").values
            > by_payer.sel(payer="payer b").values).all()
    # the deal runs its course; money is conserved; savings are as simulated
    assert (got["stop_period"].values == 6).all()
    np.testing.assert_allclose(got["flow"].sum("party").values, 0.0, atol=1e-6)
    np.testing.assert_array_equal(got["cashable_savings"].values,
                                  base["cashable_savings"].values)


def test_probability_zero_is_the_deal_without_the_rule_bit_for_bit(lapset, lapset_run):
    ds, cf = lapset_run
    plain = money_flows(lapset.replace(termination=()), ds, cf)
    zero = money_flows(lapset.replace(termination=(EndStratum("vantaa", 4, 0.0),)), ds, cf)
    assert plain.identical(zero)


def test_probability_one_agrees_with_the_deal_without_that_stratum():
    """b's single wave (period 0) ends from period 1: from then on the people served, the
    costs and a's payments are those of the deal without b, bit for bit; before, those of the
    deal with b (b's result, known in period 1, pays nothing)."""
    ended = _tiny(_rule(from_period=1), b_entry="[100]")
    plain = _tiny(b_entry="[100]")
    alone = _tiny(strata_b=False)
    ds = sibsim.simulate(plain.scenario, draws=5, seed=7, progress=False, engine="expected")
    ds_a = sibsim.simulate(alone.scenario, draws=5, seed=7, progress=False, engine="expected")
    got = money_flows(ended, ds)
    with_b, without_b = money_flows(plain, ds), money_flows(alone, ds_a)
    for name in ("participants_served", "service_costs"):
        np.testing.assert_array_equal(got[name].values[:, 1:], without_b[name].values[:, 1:])
        np.testing.assert_array_equal(got[name].values[:, :1], with_b[name].values[:, :1])
    np.testing.assert_array_equal(got["payments_by_metric"].sel(metric="m_a").values,
                                  without_b["payments_by_metric"].sel(metric="m_a").values)
    assert (got["payments_by_metric"].sel(metric="m_b").values == 0).all()
    np.testing.assert_array_equal(got["outcome_payments"].values,
                                  without_b["outcome_payments"].values)
    # capital: drawn for b's people in period 0 only (a cost not incurred is not drawn)
    np.testing.assert_array_equal(got["drawdown"].values[..., 1:],
                                  without_b["drawdown"].values[..., 1:])
    np.testing.assert_array_equal(got["drawdown"].values[..., :1],
                                  with_b["drawdown"].values[..., :1])


@settings(max_examples=8, deadline=None)
@given(p=st.sampled_from([0.0, 0.3, 0.7, 1.0]), seed=st.integers(0, 50),
       c=st.integers(2, 5), cap=st.sampled_from([None, 900.0]))
def test_money_is_conserved_and_caps_hold(p, seed, c, cap):
    """Property: money is conserved, the contract's total cap holds, draws where the end
    happened pay nothing on b's results known from its end and cost no more than without it
    (the same before the end); draws where it did not are as without the rule."""
    capline = "" if cap is None else f"[contract.caps]\ntotal = {cap}"
    deal = _tiny(_rule(from_period=c, probability=p), cap=capline)
    plain = deal.replace(termination=())
    ds = sibsim.simulate(deal.scenario, draws=6, seed=seed, progress=False)
    cf = counterfactual(deal, 6, seed)
    got, base = money_flows(deal, ds, cf), money_flows(plain, ds, cf)
    np.testing.assert_allclose(got["flow"].sum("party").values, 0.0, atol=1e-6)
    if cap is not None:
        assert (got["outcome_payments"].sum("period").values <= cap + 1e-9).all()
    ended = deal.termination[0].happens(seed, ds["draw"].values)
    late = (got["trigger_metric"].values == "m_b") & (got["trigger_period"].values >= c)
    assert not got["gate_passed"].values[ended][:, late].any()
    costs, full = got["service_costs"].values, base["service_costs"].values
    assert (costs <= full).all()
    np.testing.assert_array_equal(costs[:, :c], full[:, :c])
    for name in ("service_costs", "outcome_payments", "flow", "gate_passed"):
        np.testing.assert_array_equal(got[name].values[~ended], base[name].values[~ended])
    assert (got["stop_period"].values == 6).all()


def test_break_even_fast_path_equals_general_path():
    from test_breakeven_fast import _search

    deal = _tiny(_rule(probability="0.5"))
    ds = sibsim.simulate(deal, draws=10, seed=5, progress=False, first_draw=3)
    fast, general = _search(deal, ds, True), _search(deal, ds, False)
    for var in general.data_vars:
        np.testing.assert_array_equal(fast[var].values, general[var].values, err_msg=var)
    assert np.ptp(general["mean_investor_npv"].values) > 0


def test_the_effect_free_parts_give_the_same_money(lapset, lapset_run):
    """The break-even search's path (money_arrays with EffectFree, the ended strata's people
    served cached there) gives the same arrays, bit for bit, on every call."""
    ds, cf = lapset_run
    for prob in (1.0, Beta(2, 2)):
        deal = lapset.replace(termination=(EndStratum("vantaa", 2, prob),))
        want = money_flows(deal, ds, cf)
        fixed = effect_free(deal, ds, cf)
        for _ in range(2):
            data, _coords = money_arrays(deal, ds, cf, fixed=fixed)
            for name in ("outcome_payments", "participants_served", "service_costs",
                         "gate_passed", "flow", "net_savings"):
                assert np.array_equal(np.asarray(data[name]), want[name].values), name
        assert any(k[0] == "served" for k in fixed.ended)


def test_end_results_only_gate_the_stratums_later_results():
    deal = _tiny(_rule(probability="0.5"))
    ds = sibsim.simulate(deal.scenario, draws=40, seed=1, progress=False)
    table = evaluate(ds, deal.evaluations, 1)
    ends = stratum_ends(deal, ds, 1)
    assert ends is not None
    out = end_results(ends, table)
    ended = ends.end[0] == 2
    assert 0 < ended.sum() < 40
    np.testing.assert_array_equal(out.gate[:, :2], table.gate[:, :2])
    np.testing.assert_array_equal(out.gate[:, 2], table.gate[:, 2] & ~ended)
    assert stratum_ends(deal.replace(termination=(EndStratum("b", 2, 0.0),)), ds, 1) is None


# ----------------------------------------------------------------------------- Lapset-SIB I
def test_lapset_states_vantaas_end(lapset, lapset_run):
    (rule,) = lapset.termination
    assert (rule.kind, rule.stratum, rule.from_period, rule.probability) == (
        "end_stratum", "vantaa", 4, 1.0)
    assert lapset.calendar_years()[4] == 2023
    text = builtin_scenarios()["lapset-sib-1"].read_text(encoding="utf-8")
    assert "ASSUMPTION: the year it ended" in text
    assert "ending one sub-project while the others continue" not in text
    ds, cf = lapset_run
    money = money_flows(lapset, ds, cf)
    paid = money["payments_by_metric"].sel(metric="placement_years_vantaa").values
    assert (paid == 0).all()
    assert money["payments_by_metric"].sel(metric="placement_years_helsinki").values.sum() > 0


def test_replays_keep_a_certain_end_and_drop_a_risk(lapset):
    assert without_policy(lapset).termination == lapset.termination
    deal = _tiny(_rule(probability="0.4"))
    assert without_policy(deal).termination == ()
    rep = replay(deal, {"m_b": 0.3}, draws=4, seed=1)
    assert "end_stratum" in rep.attrs["not_applied"]
    sure = replay(_tiny(_rule()), {"m_b": 0.3}, draws=4, seed=1)
    assert "not_applied" not in sure.attrs
    # the certain end: b's second result (known in period 2) pays nothing in the replay
    assert (sure["payments_by_trigger"].isel(trigger=2).values == 0).all()
    assert (rep["payments_by_trigger"].isel(trigger=2).values > 0).all()


def test_the_summary_says_which_sub_project_ended(lapset):
    from sibsim.report import describe

    res = sibsim.analyse(lapset, draws=20, seed=2, progress=False, with_breakeven=False)
    assert ("Sub-project 'vantaa' ended from period 4 on in 100.0% of draws (probability 1); "
            "the other sub-projects (strata) continue") in describe(res, lapset)


# ----------------------------------------------------------------------------- TOML and CLI
def test_toml_round_trip():
    from test_roundtrip import roundtrip_problems

    doc = tomllib.loads(builtin_scenarios()["lapset-sib-1"].read_text(encoding="utf-8"))
    assert roundtrip_problems(doc) == []
    doc = copy.deepcopy(doc)
    doc["termination"] = [{"kind": "end_stratum", "stratum": "lohja", "from_period": 5,
                           "probability": {"dist": "beta", "mean": 0.35, "sd": 0.1}}]
    assert roundtrip_problems(doc) == []
    deal = parse_scenario(doc)
    assert (deal.termination[0].stratum, deal.termination[0].from_period) == ("lohja", 5)
    assert math.isclose(deal.termination[0].probability.mean, 0.35)


def test_cli_bad_stratum_exits_2_with_one_line(tmp_path, capsys):
    from sibsim.cli import main

    text = builtin_scenarios()["lapset-sib-1"].read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('stratum = "vantaa"\nfrom_period', 'stratum = "vantta"\n'
                                'from_period'), encoding="utf-8")
    assert main(["run", str(bad), "--draws", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stratum" in err[0] and "'vantta'" in err[0], err
    assert "'vantaa'" in err[0]  # the allowed names
    bad.write_text(text.replace("from_period = 4 ", "from_period = 1 "), encoding="utf-8")
    assert main(["run", str(bad), "--draws", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "from_period" in err[0], err
