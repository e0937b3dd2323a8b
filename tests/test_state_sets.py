"""A rate card or an evaluation counting a *set* of states (``state = ["special",
"literate_special"]``), for a Markov chain on a joint state space (school stage x special
education, chicago-cpc).

Independent checks: a two-period chain whose occupancies are written out by hand (the
probability of "literate and in special education", with and without a hazard ratio on the
entries into special education), the expected engine's occupancy of a union of states against
those closed forms, the aggregate engine against them within Monte Carlo standard errors, and
the sum over a set against the sum of its members' counts.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.analysis.replay import _per_person_period
from sibsim.money.evaluation import Evaluation, evaluate, evaluation_fixed, outcome_units
from sibsim.money.ratecard import RateCard
from sibsim.money.sib import money_flows
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec import _validate as v

# ------------------------------------------------------------------ a two-period joint chain
# period 0 kindergarten ("k"); at its end 20% go to special education; at the end of period 1
# a child in general education reads at grade level with 35%, one in special education with 12%
# (special education moving as every year first: 5% enter it, 10% leave it).
P_SP0 = 0.20
ENTER, LEAVE = 0.05, 0.10
LIT_GEN, LIT_SP = 0.35, 0.12
HR = 0.5

JOINT = f"""
name = "joint"
description = "school stage x special education, two transitions"
horizon = 3
period = "year"

[cohort]
entry = [1000]

[comparison]
ratio = 1

[outcome]
kind = "markov"
name = "school path"
states = ["k", "general", "special", "literate", "literate_special"]
initial = "k"
events = [["general", "special"], ["general", "literate_special"]]
transitions = [
  [[0, {1 - P_SP0}, {P_SP0}, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 1, 0, 0, 0],
   [0, 0, 1, 0, 0]],
  [[0, 1, 0, 0, 0],
   [0, {(1 - ENTER) * (1 - LIT_GEN)}, {ENTER * (1 - LIT_SP)}, {(1 - ENTER) * LIT_GEN},
    {ENTER * LIT_SP}],
   [0, {LEAVE * (1 - LIT_GEN)}, {(1 - LEAVE) * (1 - LIT_SP)}, {LEAVE * LIT_GEN},
    {(1 - LEAVE) * LIT_SP}],
   [0, 1, 0, 0, 0], [0, 0, 1, 0, 0]],
]

[effect]
measure = "hr"
value = {HR}
targets = [["general", "special"], ["general", "literate_special"]]

[[evaluation]]
metric = "special_education"
outcome = "occupancy"
state = ["special", "literate_special"]
window_start = 1
window = 2
pooled = true
per_wave = false

[contract]
[[contract.terms]]
metric = "special_education"
rule = {{kind = "price_per_unit", price = 100}}
[[contract.rate_cards]]
name = "reading"
measure = "occupancy"
state = ["literate", "literate_special"]
price = 10

[[capital.tranches]]
name = "investors"
commitment = 1_000_000

[service_costs]
per_participant = 100

[[payers]]
name = "schools"
shares = 1.0
saving_per_person_period = {{special = 100, literate_special = 100}}
"""


def joint_deal(text: str = JOINT):
    return parse_scenario(tomllib.loads(text), "joint.toml")


def closed_form(arm: str) -> dict[str, float]:
    """Each state's share of the cohort in period 2, written out from the matrices: the
    treated arm's entries into special education from general education have the hazard ratio
    (``1 - (1 - p) ** HR``), the change taken from staying in general education."""
    gen1, sp1 = 1 - P_SP0, P_SP0
    lit_sp = ENTER * LIT_SP
    sp = ENTER * (1 - LIT_SP)
    if arm == "treatment":
        lit_sp, sp = 1 - (1 - lit_sp) ** HR, 1 - (1 - sp) ** HR
    lit = (1 - ENTER) * LIT_GEN
    return {"literate": gen1 * lit + sp1 * LEAVE * LIT_GEN,
            "literate_special": gen1 * lit_sp + sp1 * (1 - LEAVE) * LIT_SP,
            "special": gen1 * sp + sp1 * (1 - LEAVE) * (1 - LIT_SP),
            "general": gen1 * (1 - lit - lit_sp - sp) + sp1 * LEAVE * (1 - LIT_GEN)}


def shares(ds, arm: str, period: int = 2) -> dict[str, np.ndarray]:
    occ = ds["occupancy"].sel(arm=arm, period=period).sum(("wave", "stratum"))
    size = float(ds["size"].sel(arm=arm).sum(("wave", "stratum")))
    return {str(s): occ.sel(state=s).values / size for s in ds["state"].values}


def test_the_closed_form_adds_up_and_reads_less_in_special_education():
    for arm in ("treatment", "comparison"):
        p = closed_form(arm)
        assert math.isclose(sum(p.values()), 1.0, abs_tol=1e-12)
    p = closed_form("comparison")
    # 0.8 x 0.05 x 0.12 + 0.2 x 0.9 x 0.12 = 0.0264: literate and in special education
    assert math.isclose(p["literate_special"], 0.0264, abs_tol=1e-12)
    in_sp = p["special"] + p["literate_special"]
    assert math.isclose(p["literate_special"] / in_sp, LIT_SP, abs_tol=1e-12)
    assert math.isclose(p["literate"] / (1 - in_sp), LIT_GEN, abs_tol=1e-12)
    # docs/scenario-format.md's worked example: 299.4 read at grade level without the service,
    # 297.0 with it; 19.8 years in special education avoided
    t = closed_form("treatment")
    assert round(1000 * (p["literate"] + p["literate_special"]), 1) == 299.4
    assert round(1000 * (t["literate"] + t["literate_special"]), 1) == 297.0
    avoided = 1000 * sum(p[s] - t[s] for s in ("special", "literate_special"))
    assert round(avoided, 1) == 19.8


def test_the_expected_engine_gives_the_closed_form_and_the_union_is_the_sum():
    deal = joint_deal()
    ds = sibsim.simulate(deal.scenario, draws=2, seed=0, engine="expected", progress=False)
    for arm in ("treatment", "comparison"):
        got, want = shares(ds, arm), closed_form(arm)
        for state, p in want.items():
            np.testing.assert_allclose(got[state], p, rtol=0, atol=1e-12, err_msg=state)
    # the rate card counts the union: N x (P(literate) + P(literate_special)) in period 2
    card = deal.contract.rate_cards[0]
    counts = card.counts(ds)                                  # (draw, stratum, period)
    p = closed_form("treatment")
    np.testing.assert_allclose(counts[:, 0, 2], 1000 * (p["literate"] + p["literate_special"]),
                               rtol=1e-12)
    singles = sum(RateCard("x", price=1.0, measure="occupancy", state=s).counts(ds)
                  for s in card.states)
    np.testing.assert_array_equal(counts, singles)


def test_the_aggregate_engine_agrees_with_the_closed_form_within_its_standard_error():
    deal = joint_deal()
    D, N = 200, 1000
    ds = sibsim.simulate(deal.scenario, draws=D, seed=7, engine="aggregate", progress=False)
    for arm in ("treatment", "comparison"):
        got, want = shares(ds, arm), closed_form(arm)
        for states in (("literate", "literate_special"), ("special", "literate_special"),
                       ("literate_special",)):
            p = sum(want[s] for s in states)
            mean = float(sum(got[s] for s in states).mean())
            se = math.sqrt(p * (1 - p) / (N * D))  # fixed rows: Binomial(N, p) per draw
            assert abs(mean - p) < 4 * se, (arm, states, mean, p, se)


def test_an_evaluation_of_a_set_measures_the_sum_of_its_members():
    deal = joint_deal()
    ds = sibsim.simulate(deal.scenario, draws=5, seed=3, progress=False)
    ev = deal.evaluations[0]
    assert ev.states == ("special", "literate_special")
    single = [Evaluation("special_education", outcome="occupancy", state=s, window_start=1,
                         window=2, per_wave=False) for s in ev.states]
    np.testing.assert_array_equal(outcome_units(ds, ev).values,
                                  sum(outcome_units(ds, e).values for e in single))
    table = evaluate(ds, (ev,), seed=1)
    again = evaluate(ds, (ev,), seed=1, fixed=evaluation_fixed(ds, (ev,), 1))
    np.testing.assert_array_equal(table.units, again.units)
    parts = [evaluate(ds, (e,), seed=1).units for e in single]
    np.testing.assert_allclose(table.units, parts[0] + parts[1], rtol=1e-12, atol=1e-9)
    # the expected engine's units are the closed form's: the comparison's person-years in
    # special education (either state) minus the treated's, over kindergarten's successor
    # periods 1-2 of the window (period 1 is alike in both arms)
    ex = sibsim.simulate(deal.scenario, draws=2, seed=0, engine="expected", progress=False)
    units = evaluate(ex, (ev,), seed=1).units
    cmp, trt = closed_form("comparison"), closed_form("treatment")
    want = 1000 * sum(cmp[s] - trt[s] for s in ev.states)
    assert want > 0
    np.testing.assert_allclose(units, want, rtol=1e-9)


def test_a_deal_pays_the_rate_card_on_the_union():
    deal = joint_deal()
    ds = sibsim.simulate(deal.scenario, draws=4, seed=2, engine="expected", progress=False)
    money = money_flows(deal, ds)
    p = closed_form("treatment")
    reading = money["achievements"].sel(rate_card="reading").values
    np.testing.assert_allclose(reading[:, 2], 1000 * (p["literate"] + p["literate_special"]),
                               rtol=1e-12)
    paid = money["payments_by_metric"].sel(metric="reading").sum("period").values
    np.testing.assert_allclose(paid, 10 * reading.sum(-1), rtol=1e-12)


STATES = ("k", "general", "special", "literate", "literate_special")
_DATASET: dict[str, object] = {}


def _aggregate_dataset():
    if not _DATASET:
        _DATASET["ds"] = sibsim.simulate(joint_deal().scenario, draws=3, seed=5,
                                         engine="aggregate", progress=False)
    return _DATASET["ds"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(STATES), min_size=1, max_size=5, unique=True),
       st.sampled_from(["all", "engaged"]))
def test_any_set_counts_the_sum_of_its_members(states, count):
    """A rate card and an evaluation of any set of states count exactly what the cards or
    evaluations of its members count together (in any order of the set)."""
    ds = _aggregate_dataset()
    card = RateCard("x", price=1.0, measure="occupancy", state=states, count=count)
    members = [RateCard("x", price=1.0, measure="occupancy", state=s, count=count)
               for s in states]
    np.testing.assert_allclose(card.counts(ds), sum(m.counts(ds) for m in members),
                               rtol=1e-12, atol=0)
    ev = Evaluation("m", outcome="occupancy", state=states, window_start=1, window=2,
                    per_wave=False)
    singles = [Evaluation("m", outcome="occupancy", state=s, window_start=1, window=2,
                          per_wave=False) for s in states]
    np.testing.assert_allclose(outcome_units(ds, ev).values,
                               sum(outcome_units(ds, e).values for e in singles),
                               rtol=1e-12, atol=0)


# ------------------------------------------------------------------ validation and reading
@pytest.mark.parametrize(("state", "error", "message"), [
    ([], ValueError, "RateCard.state: got []; allowed: at least one state name"),
    (["ready", "ready"], ValueError,
     "RateCard.state: got ['ready', 'ready']; allowed: unique states (repeated: ready)"),
    (["ready", 3], TypeError, "RateCard.state[1]: got 3; allowed: a non-empty string"),
    (["ready", ""], TypeError, "RateCard.state[1]: got ''; allowed: a non-empty string"),
    (3, TypeError, "RateCard.state: got 3; allowed: a state name, or a list of distinct "
                   "state names whose person-periods are counted together"),
])
def test_bad_sets_of_states_name_field_value_and_allowed(state, error, message):
    with pytest.raises(error) as info:
        RateCard("ready", price=1.0, measure="occupancy", state=state)
    assert str(info.value) == message
    with pytest.raises(error) as info:
        Evaluation("sen", outcome="occupancy", state=state)
    assert str(info.value) == message.replace("RateCard", "Evaluation")


def test_a_name_stays_a_name_and_a_list_becomes_a_tuple():
    assert RateCard("r", price=1.0, measure="occupancy", state="ready").state == "ready"
    card = RateCard("r", price=1.0, measure="occupancy", state=["ready", "ready_sp"])
    assert card.state == ("ready", "ready_sp") and card.states == ("ready", "ready_sp")
    assert RateCard("r", price=1.0, measure="occupancy", state=["ready"]).states == ("ready",)
    assert RateCard("r", price=1.0).states == ()
    assert Evaluation("m").states == ()
    with pytest.raises(ValueError, match=r"^RateCard.state: got \('a', 'b'\); allowed: None "
                                         r"unless measure='occupancy'"):
        RateCard("r", price=1.0, state=["a", "b"])


@pytest.mark.parametrize(("old", "new", "message"), [
    ('state = ["literate", "literate_special"]', 'state = ["literate", "literate_sp"]',
     "RateCard[reading].state: got 'literate_sp'; allowed: one of 'k', 'general', "
     "'special', 'literate', 'literate_special'"),
    ('state = ["literate", "literate_special"]', 'state = ["literate", "literate"]',
     "RateCard.state: got ['literate', 'literate']; allowed: unique states (repeated: "
     "literate)"),
    ('state = ["special", "literate_special"]', 'state = ["special", 2]',
     "Evaluation.state[1]: got 2; allowed: a non-empty string"),
])
def test_a_bad_set_in_a_file_is_a_scenario_file_error(old, new, message):
    assert JOINT.count(old) == 1
    with pytest.raises(ScenarioFileError) as info:
        joint_deal(JOINT.replace(old, new))
    assert message in str(info.value)


def test_a_state_of_a_set_missing_from_the_outcome_is_refused_when_measured():
    deal = joint_deal()
    ds = sibsim.simulate(deal.scenario, draws=2, seed=0, engine="expected", progress=False)
    ev = Evaluation("special_education", outcome="occupancy", state=["special", "sen"],
                    window_start=1, window=2, per_wave=False)
    with pytest.raises(ValueError, match=r"^Evaluation.state: got 'sen'; allowed: a state of "):
        outcome_units(ds, ev)


def test_a_replay_values_a_set_only_if_its_states_are_valued_alike():
    ev = Evaluation("sen", outcome="occupancy", state=["special", "literate_special"])
    assert _per_person_period({"special": 9_100.0, "literate_special": 9_100.0}, ev) == 9_100.0
    assert _per_person_period({}, ev) == 0.0
    with pytest.raises(ValueError) as info:
        _per_person_period({"special": 9_100.0}, ev)
    assert str(info.value).startswith("Evaluation[sen].state: got ('special', "
                                      "'literate_special'); allowed: states valued alike")


def test_states_of():
    assert v.states_of("a") == ("a",)
    assert v.states_of(("a", "b")) == ("a", "b")
    assert v.states_of(None) == ()


# ------------------------------------------------------------------ chicago-cpc
def test_chicago_children_can_be_ready_or_literate_in_special_education():
    """chicago-cpc's chain (expected engine, each draw's parameters): a child can be ready or
    literate while in special education, reads at grade level less often there, and the three
    payments count the sets of states the contract pays on."""
    deal = sibsim.load_scenario("chicago-cpc")
    sen = ("special", "ready_special", "literate_special")
    assert deal.evaluations[0].states == sen
    assert [c.states for c in deal.contract.rate_cards] == [("ready", "ready_special"),
                                                           ("literate", "literate_special")]
    ds = sibsim.simulate(deal.scenario, draws=20, seed=0, engine="expected", progress=False)
    occ = ds["occupancy"].sel(arm="comparison", wave=0).sum("stratum")  # (draw, state, period)
    k, third = occ.sel(period=1), occ.sel(period=4)   # kindergarten, 3rd grade
    n = float(ds["size"].sel(arm="comparison", wave=0).sum("stratum"))
    ready = (k.sel(state="ready") + k.sel(state="ready_special")) / n
    assert abs(float(ready.mean()) - 0.59) < 0.01        # 59% ready in cohort 1 [C2]
    assert (k.sel(state="ready_special") > 0).all()
    assert (third.sel(state="literate_special") > 0).all()
    in_sp = third.sel(state="special") + third.sel(state="literate_special")
    gen = third.sel(state="general") + third.sel(state="literate")
    lit_sp = third.sel(state="literate_special") / in_sp
    lit_gen = third.sel(state="literate") / gen
    assert (lit_sp < lit_gen).all()
    assert abs(float(lit_sp.mean()) - 0.12) < 0.02 and abs(float(lit_gen.mean()) - 0.35) < 0.02
    # nobody is in two states: every period's states add up to the children
    np.testing.assert_allclose(occ.sum("state").values, n, rtol=1e-9)


def test_the_council_report_words_chicagos_special_education_states_once():
    """The break-even unit names each wording once: the three special-education states of
    chicago-cpc are all "years in special education" (not "... or “ready_special” or ...")."""
    from types import SimpleNamespace

    from sibsim.council.facts import BreakevenUnits
    from sibsim.council.report import _unit_words

    deal = sibsim.load_scenario("chicago-cpc")
    states = deal.payers[0].states_valued()
    assert set(states) == {"special", "ready_special", "literate_special"}
    be = BreakevenUnits(0.7, 10.0, "state_years", tuple(states), 0.0, "hr")
    facts = SimpleNamespace(breakeven=be)
    assert _unit_words(facts, deal, "en") == "years in special education"
    assert _unit_words(facts, deal, "fi") == "vuotta erityisopetuksessa"
    other = SimpleNamespace(breakeven=BreakevenUnits(0.7, 1.0, "state_years",
                                                     ("special", "foo"), 0.0, "hr"))
    assert _unit_words(other, deal, "en") == "years in special education or “foo”"


def test_a_set_of_states_over_whole_windows_is_the_same_with_the_fixed_parts():
    """The evaluation's fast path (its parts fixed across effects: the break-even search, the
    design grid) sums a set of states' window the labelled way: the same numbers to the last
    bit as without the fixed parts (it once passed the (D, W, P) units where the window sums
    (D, W) were expected)."""
    import dataclasses

    deal = sibsim.load_scenario("chicago-cpc")
    evs = tuple(dataclasses.replace(e, per_period=False) if e.metric == "special_education"
                else e for e in deal.evaluations)
    deal = deal.replace(evaluations=evs)
    ds = sibsim.simulate(deal, draws=40, seed=2, progress=False)
    plain = evaluate(ds, deal.evaluations, 2)
    fixed = evaluate(ds, deal.evaluations, 2, evaluation_fixed(ds, deal.evaluations, 2))
    for field in ("measured_effect", "units", "avoided_cost", "gate"):
        np.testing.assert_array_equal(np.asarray(getattr(fixed, field)),
                                      np.asarray(getattr(plain, field)))
