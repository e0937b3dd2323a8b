"""Counts by state (``kind = "counts_by_state"``): a count whose rate follows another process's
state.

The expected engine is checked against a hand-computed trace; the stochastic engines against it
within 4 Monte Carlo standard errors (fixed seeds); blocks and chunks of draws bit for bit
against a whole run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from cli_refusal import assert_file_refused
from sibsim import (
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Effect,
    Frailty,
    MarkovOutcome,
    Scenario,
    StateCountOutcome,
)
from sibsim.scenario_file import parse_scenario
from sibsim.spec.outcomes import MAX_RATE
from sibsim.spec.scenario import Process

pytestmark = pytest.mark.usefixtures("warm_kernels")

WORK = MarkovOutcome(("seeking", "employed"), [[0.8, 0.2], [0.1, 0.9]], name="work",
                     events=[("seeking", "employed")])
#: the service raises the job-finding probability 0.2 -> 0.3 among the engaged
WORK_EFFECT = Effect("rr", 1.5, targets=[("seeking", "employed")])
BENEFIT_EFFECT = Effect("rr", 0.8)
BENEFIT = StateCountOutcome(follows="work", name="benefit_months",
                            rate_by_state={"employed": 0.5, "seeking": 3.0})


def scenario(n: int = 100, count_effect: Effect | None = BENEFIT_EFFECT, horizon: int = 3,
             work_effect: Effect | None = WORK_EFFECT, **kw) -> Scenario:
    args = dict(cohort=Cohort(size=n), comparison=ComparisonGroup(ratio=1), horizon=horizon,
                outcome=WORK, effect=work_effect,
                other_processes=(Process(BENEFIT, count_effect),))
    args.update(kw)
    return Scenario(**args)


def benefit(ds, arm: str) -> np.ndarray:
    """Benefit months per draw and period, all waves and strata."""
    return ds["events"].sel(process="benefit_months", arm=arm).sum(("wave", "stratum")).values


# Hand-computed trace of scenario() (100 people, everyone engaged):
#   treatment occupancy (seeking, employed): (100, 0), (70, 30), (70*0.7 + 30*0.1 = 52, 48)
#   comparison / no service:                 (100, 0), (80, 20), (80*0.8 + 20*0.1 = 66, 34)
#   benefit months = sum over states of people x rate (3 seeking, 0.5 employed), x 0.8 engaged
TREATED = [0.8 * 300.0, 0.8 * (70 * 3 + 30 * 0.5), 0.8 * (52 * 3 + 48 * 0.5)]  # 240, 180, 144
COMPARISON = [300.0, 80 * 3 + 20 * 0.5, 66 * 3 + 34 * 0.5]  # 300, 250, 215


# ------------------------------------------------------------------ the expected engine
def test_expected_engine_is_the_hand_computed_trace():
    ds = sibsim.simulate(scenario(), draws=2, seed=1, engine="expected", progress=False)
    np.testing.assert_allclose(benefit(ds, "treatment"), [TREATED] * 2, rtol=1e-12)
    np.testing.assert_allclose(benefit(ds, "comparison"), [COMPARISON] * 2, rtol=1e-12)


def test_effect_on_the_followed_process_moves_the_count():
    """No effect of its own: fewer job seekers alone give fewer benefit months."""
    ds = sibsim.simulate(scenario(count_effect=None), draws=1, seed=1, engine="expected",
                         progress=False)
    np.testing.assert_allclose(benefit(ds, "treatment")[0],
                               [300.0, 70 * 3 + 30 * 0.5, 52 * 3 + 48 * 0.5], rtol=1e-12)
    np.testing.assert_allclose(benefit(ds, "comparison")[0], COMPARISON, rtol=1e-12)


def test_engagement_splits_the_rates():
    """Half engaged: the engaged half follows the treated trace, the other half the baseline."""
    sc = scenario(work_effect=Effect("rr", 1.5, targets=[("seeking", "employed")],
                                     engagement=0.5))
    ds = sibsim.simulate(sc, draws=1, seed=1, engine="expected", progress=False)
    want = 0.5 * np.array(TREATED) + 0.5 * np.array(COMPARISON)
    np.testing.assert_allclose(benefit(ds, "treatment")[0], want, rtol=1e-12)
    evj = sibsim.simulate(sc, draws=1, seed=1, engine="expected", progress=False,
                          engaged_events=True)["engaged_events"]
    np.testing.assert_allclose(
        evj.sel(process="benefit_months", arm="treatment").sum(("wave", "stratum"))[0],
        0.5 * np.array(TREATED), rtol=1e-12)


@settings(max_examples=10)  # each example integrates a frailty (~0.3 s)
@given(rates=st.lists(st.floats(0.0, 50.0), min_size=3, max_size=3),
       ratio=st.floats(0.2, 2.0), p=st.floats(0.05, 0.6))
def test_expected_counts_are_occupancy_times_rates(rates, ratio, p):
    """Property: the expected count is sum_s (not-engaged occupancy x rate + engaged occupancy
    x rate x effect), read from the same run's own occupancy (frailty and drop-out included)."""
    states = ("a", "b", "c")
    drv = MarkovOutcome(states, [[1 - p, p, 0.0], [0.1, 0.8, 0.1], [0.0, 0.3, 0.7]], name="d")
    cnt = StateCountOutcome(follows="d", name="n", profile=(1.0, 0.5),
                            rate_by_state=dict(zip(states, rates, strict=True)))
    sc = Scenario(cohort=Cohort(entry=(50, 30)), comparison=ComparisonGroup(ratio=1), horizon=4,
                  outcome=drv, effect=Effect("hr", 1.4, targets=[("a", "b")], engagement=0.7,
                                             dropout=0.1),
                  frailty=Frailty(0.5), other_processes=(Process(cnt, Effect("rr", ratio)),))
    ds = sibsim.simulate(sc, draws=1, seed=0, engine="expected", progress=False)
    occ = ds["occupancy"].sel(process="d").values
    eocc = ds["engaged_occupancy"].sel(process="d").values
    profile = np.where(np.arange(4)[None, :] - np.arange(2)[:, None] >= 1, 0.5, 1.0)  # (W, P)
    r = np.asarray(rates) * profile[None, None, :, None, :, None]
    want = ((occ - eocc) * r + eocc * r * ratio).sum(-1)
    np.testing.assert_allclose(ds["events"].sel(process="n").values, want, rtol=1e-12,
                               atol=1e-9)


# ------------------------------------------------------------------ stochastic engines
@pytest.mark.parametrize("engine", ["aggregate", "individual"])
def test_stochastic_engines_agree_with_the_trace(engine):
    draws = 300
    ds = sibsim.simulate(scenario(n=200), draws=draws, seed=11, engine=engine, progress=False)
    for arm, want in (("treatment", TREATED), ("comparison", COMPARISON)):
        got = benefit(ds, arm)  # (draws, periods)
        se = got.std(axis=0, ddof=1) / np.sqrt(draws)
        assert np.all(np.abs(got.mean(axis=0) - 2 * np.array(want)) < 4 * se + 1e-9), (
            engine, arm, got.mean(axis=0), 2 * np.array(want), se)
    # the count is drawn from the followed process's own people in each draw: with nobody in
    # work in the first period, its count is Poisson(people x rate) there
    first = benefit(ds, "comparison")[:, 0]
    assert abs(first.var(ddof=1) / first.mean() - 1.0) < 4 * np.sqrt(2.0 / (draws - 1))


def test_with_a_shared_frailty_the_individual_engine_agrees_with_the_trace():
    """A frailty reaches the count through the states it follows: the individual engine's mean
    is the expected engine's (which integrates the frailty), within 4 standard errors."""
    sc = scenario(n=150, frailty=Frailty(1.0, shared=True))
    exp = benefit(sibsim.simulate(sc, draws=1, seed=1, engine="expected", progress=False),
                  "treatment")[0]
    draws = 200
    got = benefit(sibsim.simulate(sc, draws=draws, seed=4, progress=False), "treatment")
    se = got.std(axis=0, ddof=1) / np.sqrt(draws)
    assert np.all(np.abs(got.mean(axis=0) - exp) < 4 * se), (got.mean(axis=0), exp, se)
    # the frailty slows the move into work: more benefit months than without it (trace)
    assert np.all(exp[1:] > np.array(TREATED[1:]) * 1.5)


@pytest.mark.parametrize("engine", ["aggregate", "individual", "expected"])
def test_a_block_of_draws_is_the_slice_of_a_whole_run(engine):
    sc = scenario(n=50)
    whole = sibsim.simulate(sc, draws=9, seed=5, engine=engine, progress=False)
    block = sibsim.simulate(sc, draws=4, seed=5, engine=engine, progress=False, first_draw=3)
    np.testing.assert_array_equal(block["events"].values, whole["events"].values[3:7])
    chunked = sibsim.simulate(sc, draws=9, seed=5, engine=engine, progress=False,
                              chunk_draws=2)
    np.testing.assert_array_equal(chunked["events"].values, whole["events"].values)
    other = sibsim.simulate(sc, draws=9, seed=6, engine=engine, progress=False)
    if engine != "expected":
        assert not np.array_equal(other["events"].values, whole["events"].values)


def test_the_count_follows_a_binary_process_in_every_engine():
    """A binary process's states (no_event, event) drive the count, in the individual engine
    too, where the binary occupancy is derived from its events."""
    arrested = BinaryOutcome(0.3, name="arrest")
    days = StateCountOutcome(follows="arrest", name="jail_days",
                             rate_by_state={"no_event": 0.0, "event": 10.0})
    sc = Scenario(cohort=Cohort(size=200), horizon=3, outcome=arrested,
                  other_processes=(Process(days),))
    exp = sibsim.simulate(sc, draws=1, seed=1, engine="expected", progress=False)
    # in period t, the people arrested in t - 1 (60 people) serve 10 days each
    np.testing.assert_allclose(exp["events"].sel(process="jail_days").sum(
        ("arm", "wave", "stratum")).values[0], [0.0, 600.0, 600.0])
    for engine in ("aggregate", "individual"):
        ds = sibsim.simulate(sc, draws=40, seed=2, engine=engine, progress=False)
        occ = ds["occupancy"].sel(process="arrest", state="event")
        days_ = ds["events"].sel(process="jail_days")
        assert float(days_.isel(period=0).sum()) == 0.0
        got, per = float(days_.sum()), float(occ.sum()) * 10.0
        assert abs(got - per) < 4 * np.sqrt(per), (engine, got, per)


# ------------------------------------------------------------------ specification
def test_rates_are_put_in_the_followed_process_state_order():
    sc = scenario()
    assert sc.other_processes[0].outcome.rate_by_state[0][0] == "seeking"
    assert list(sc.parameters())[-3:] == ["benefit_months.baseline.rate.seeking",
                                          "benefit_months.baseline.rate.employed",
                                          "benefit_months.effect.value"]
    # its own scenario (as the engine simulates it) keeps them, without the followed process
    assert sc.process_scenario(1).outcome == sc.other_processes[0].outcome


@pytest.mark.parametrize(("change", "words"), [
    ({"follows": "wrok"}, ["StateCountOutcome.follows", "'wrok'", "'work'"]),
    ({"follows": "benefit_months"}, ["StateCountOutcome.follows"]),
    ({"rate_by_state": {"seeking": 3.0}}, ["StateCountOutcome.rate_by_state",
                                           "missing: employed"]),
    ({"rate_by_state": {"seeking": 3.0, "employed": 0.0, "retired": 1.0}},
     ["StateCountOutcome.rate_by_state", "'retired'", "seeking, employed"]),
])
def test_what_it_follows_is_checked(change, words):
    args = dict(follows="work", name="benefit_months",
                rate_by_state={"seeking": 3.0, "employed": 0.0})
    args.update(change)
    with pytest.raises(ValueError) as err:
        scenario(other_processes=(Process(StateCountOutcome(**args)),))
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_it_cannot_follow_a_count_or_another_count_by_state_or_nothing():
    plain = CountOutcome(1.0, name="visits")
    other = StateCountOutcome(follows="work", name="other", rate_by_state={"seeking": 1.0,
                                                                           "employed": 0.0})
    with pytest.raises(ValueError, match=r"StateCountOutcome\.follows: got 'visits'"):
        scenario(other_processes=(Process(plain), Process(StateCountOutcome(
            follows="visits", name="n", rate_by_state={"a": 1.0}))))
    with pytest.raises(ValueError, match=r"StateCountOutcome\.follows: got 'other'"):
        scenario(other_processes=(Process(other), Process(StateCountOutcome(
            follows="other", name="n", rate_by_state={"a": 1.0}))))
    with pytest.raises(ValueError, match="none in this scenario"):
        Scenario(cohort=Cohort(size=10), horizon=2, outcome=BENEFIT)


def test_the_followed_process_may_come_after_it():
    sc = Scenario(cohort=Cohort(size=100), comparison=ComparisonGroup(ratio=1), horizon=3,
                  outcome=BENEFIT, effect=Effect("rr", 0.8),
                  other_processes=(Process(WORK, WORK_EFFECT),))
    ds = sibsim.simulate(sc, draws=1, seed=1, engine="expected", progress=False)
    np.testing.assert_allclose(benefit(ds, "treatment")[0], TREATED, rtol=1e-12)
    # the first process gives the run's engaged people: the followed process's
    np.testing.assert_allclose(ds["engaged"].sel(arm="treatment").sum(("wave", "stratum"))[0],
                               [100.0] * 3)
    with pytest.raises(ValueError, match=r"Stratum\[x\]\.baseline"):
        Scenario(cohort=Cohort(size=100, strata=(sibsim.Stratum("x", 1.0, baseline=1.0),)),
                 horizon=3, outcome=BENEFIT, other_processes=(Process(WORK),))


@pytest.mark.parametrize(("rates", "words"), [
    ({"seeking": -1.0, "employed": 0.0}, ["StateCountOutcome.rate_by_state[seeking]"]),
    ({"seeking": 2 * MAX_RATE, "employed": 0.0}, ["StateCountOutcome.rate_by_state[seeking]"]),
    ({}, ["at least one state"]),
    ([("seeking", 1.0), ("seeking", 2.0)], ["each state given once", "seeking"]),
    ("seeking", ["StateCountOutcome.rate_by_state"]),
])
def test_rates_are_checked(rates, words):
    with pytest.raises((ValueError, TypeError)) as err:
        StateCountOutcome(follows="work", rate_by_state=rates)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_a_negative_rate_given_as_an_override_is_refused():
    over = {"benefit_months.baseline.rate.seeking": np.array([3.0, -1.0])}
    with pytest.raises(ValueError, match=r"baseline\.rate\.seeking: got -1\.0; allowed: an "
                                         r"event rate per person-period >= 0"):
        sibsim.simulate(scenario(), draws=2, seed=1, engine="expected", progress=False,
                        overrides=over)


def test_only_a_rate_ratio_is_an_effect_of_its_own():
    with pytest.raises(ValueError, match=r"Effect\.measure: got 'absolute'"):
        Process(BENEFIT, Effect("absolute", -1.0))
    with pytest.raises(ValueError, match=r"Effect\.measure: got 'or'"):
        Process(BENEFIT, Effect("or", 0.8))
    assert Process(BENEFIT, Effect("hr", 0.8)).effect.measure == "hr"


# ------------------------------------------------------------------ scenario files and the CLI
FILE = """\
name = "benefits"
horizon = 3
[cohort]
size = 100
[comparison]
ratio = 1

[[outcome]]
kind = "markov"
name = "work"
states = ["seeking", "employed"]
transitions = [[0.8, 0.2], [0.1, 0.9]]
events = [["seeking", "employed"]]
[outcome.effect]
measure = "rr"
value = 1.5
targets = [["seeking", "employed"]]

[[outcome]]
kind = "counts_by_state"
name = "benefit_months"
follows = "work"
rate_by_state = {seeking = 3.0, employed = 0.5}
[outcome.effect]
measure = "rr"
value = 0.8
"""

MONEY = """
[[evaluation]]
metric = "benefit_months"
process = "benefit_months"
design = {kind = "rct"}
window = 3
money = {per_unit = 200}    # a money metric: EUR 200 of public money per benefit month

[contract]
[[contract.terms]]
metric = "benefit_months"
rule = {kind = "price_per_unit", price = 0.5}   # half the gain: EUR 100 per month avoided

[[contract.rate_cards]]
name = "months_served"
process = "benefit_months"
price = 1                   # EUR 1 per benefit month of the treated participants

[service_costs]
per_participant = 1_000

[capital]
[[capital.tranches]]
name = "fund"
commitment = 200_000
target_return = 0.05

[municipality]
saving_per_event = {benefit_months = 400}
"""


def test_a_file_reads_as_the_python_scenario():
    deal = parse_scenario(__import__("tomllib").loads(FILE))
    assert deal.scenario.other_processes[0].outcome == scenario().other_processes[0].outcome
    ds = sibsim.simulate(deal, draws=1, seed=1, engine="expected", progress=False)
    np.testing.assert_allclose(benefit(ds, "treatment")[0], TREATED, rtol=1e-12)


BAD = [
    (FILE.replace('follows = "work"', 'follows = "wrok"'),
     ["'outcome[1]'", "StateCountOutcome.follows: got 'wrok'", "'work'"]),
    (FILE.replace("employed = 0.5}", "employed = 0.5, retired = 0.0}"),
     ["'outcome[1]'", "StateCountOutcome.rate_by_state: got 'retired'"]),
    (FILE.replace("{seeking = 3.0, employed = 0.5}", "{seeking = 3.0}"),
     ["'outcome[1]'", "missing: employed"]),
    (FILE.replace("seeking = 3.0,", "seeking = -3.0,"),
     ["'outcome[1]'", "rate_by_state[seeking]"]),
    (FILE.replace('follows = "work"', 'follows = "work"\nrate = 2.0'),
     ["'outcome[1].rate'", "rate_by_state"]),
    (FILE.replace('follows = "work"', 'follows = "work"\ndispersion = 2.0'),
     ["'outcome[1].dispersion'", "Poisson"]),
    (FILE.replace('kind = "counts_by_state"', 'kind = "counts"'),
     ["'outcome[1].follows'", 'kind = "counts_by_state"']),
    (FILE.replace("rate_by_state = {seeking = 3.0, employed = 0.5}", "rate_by_state = 3.0"),
     ["'outcome[1].rate_by_state'", "expected a table"]),
    (FILE.replace('measure = "rr"\nvalue = 0.8', 'measure = "absolute"\nvalue = -1'),
     ["'outcome[1]'", "Effect.measure: got 'absolute'"]),
]


@pytest.mark.parametrize(("text", "words"), BAD,
                         ids=["follows-unknown", "unknown-state", "missing-state",
                              "negative-rate", "plain-rate", "dispersion", "kind-counts",
                              "rates-not-a-table", "absolute-effect"])
def test_bad_files_exit_2_with_one_line_naming_the_key(tmp_path, capsys, text, words):
    assert_file_refused(tmp_path, capsys, text, words)


def test_python_dash_m_sibsim_refuses_an_unknown_state(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD[1][0], encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "sibsim", "run", str(path), "--out",
                          str(tmp_path / "o.nc"), "--no-progress"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 2, res.stderr
    assert "StateCountOutcome.rate_by_state: got 'retired'" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "o.nc").exists()


# ------------------------------------------------------------------ money, end to end
def test_analyse_pays_and_saves_on_the_count(tmp_path):
    path = tmp_path / "benefits.toml"
    path.write_text(FILE + textwrap.dedent(MONEY), encoding="utf-8")
    deal = sibsim.load_scenario(path)
    # the counterfactual (no service anywhere) uses the followed process's no-effect occupancy
    cf = sibsim.money.sib.counterfactual(deal, draws=2, seed=3)
    np.testing.assert_allclose(benefit(cf, "treatment"), [COMPARISON] * 2, rtol=1e-12)
    res = sibsim.analyse(deal, draws=40, seed=3, engine="expected", progress=False)
    money = res.money
    # every draw is the same expected trace: the RCT measures 765 - 564 = 201 benefit months
    # avoided, EUR 200 each; the contract pays half of it (EUR 100 per month avoided), the rate
    # card EUR 1 per month of the treated (564) and the municipality saves EUR 400 a month
    avoided = sum(COMPARISON) - sum(TREATED)  # 765 - 564 = 201 months
    pay = money["outcome_payments"].sum("period").values
    np.testing.assert_allclose(pay, 100 * avoided + sum(TREATED), rtol=1e-9)
    saved = money["cashable_savings"].sum("period").values
    np.testing.assert_allclose(saved, 400 * avoided, rtol=1e-9)
    assert res.breakeven is not None
