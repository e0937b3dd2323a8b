"""A payer's savings from a money evaluation's effect on the money per unit
(``Payer.saving_of_money_effect``, Koto-SIB's extra taxes from higher wages): refusals in Python
and TOML, a tiny deterministic deal by hand, no effect (1) bit for bit, strata and stopped
cohorts, hypothesis properties (monotone in the effect; the payers' parts add up to the extra
money) and Koto-SIB's savings against their closed form within Monte Carlo standard errors."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from cli_refusal import assert_file_refused
from sibsim.money import MoneyValue
from sibsim.money.evaluation import Evaluation
from sibsim.money.payer_money_effect import check_money_effect_savings, money_effect_savings
from sibsim.money.payers import Payer
from sibsim.money.sib import counterfactual, money_flows
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario
from test_evaluation import outcome_ds

pytestmark = pytest.mark.usefixtures("warm_kernels")

#: Three years; 100 treated people (and 100 in the comparison group) all in work throughout
#: (an absorbing state), half of them engaged; no effect on the outcome, EUR 200 per year in
#: work growing 10% a year, worth 1.1 times that for the engaged treated participants.
TINY = {
    "horizon": 3, "period": "year", "cohort": {"size": 100}, "comparison": {"ratio": 1},
    "outcome": {"kind": "markov", "states": ["out", "work"], "initial": "work",
                "transitions": [[1.0, 0.0], [0.0, 1.0]]},
    "effect": {"measure": "hr", "value": 1.0, "targets": [["out", "work"]], "engagement": 0.5},
    "evaluation": [{"metric": "tax", "design": {"kind": "rct"}, "outcome": "occupancy",
                    "state": "work", "direction": "increase", "window": 3, "precision": 0,
                    "money": {"per_unit": 200, "growth": 0.1, "effect": 1.1}}],
    "contract": {"terms": [{"metric": "tax", "rule": {"kind": "price_per_unit",
                                                      "price": 0.5}}]},
    "capital": {"tranches": [{"name": "fund", "commitment": 10_000}]},
    "municipality": {"discount_rate": 0.0},
    "payers": [{"name": "state", "shares": 1.0, "saving_of_money_effect": {"tax": 0.2}},
               {"name": "city", "shares": 0.0, "saving_of_money_effect": {"tax": 0.8}}],
}


def tiny(**money) -> dict:
    doc = copy.deepcopy(TINY)
    doc["evaluation"][0]["money"].update(money)
    return doc


def _koto_text() -> str:
    return builtin_scenarios()["koto-sib"].read_text(encoding="utf-8")


def _without_term(deal):
    return deal.replace(payers=tuple(dataclasses.replace(p, saving_of_money_effect={})
                                     for p in deal.payers))


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(("value", "error", "words"), [
    ({"tax": 1.5}, ValueError, "Payer.saving_of_money_effect[tax]: got 1.5; allowed: "),
    ({"tax": -0.2}, ValueError, "Payer.saving_of_money_effect[tax]: got -0.2; allowed: "),
    ({"tax": float("nan")}, ValueError, "Payer.saving_of_money_effect[tax]: got nan"),
    ({"tax": "most"}, TypeError, "Payer.saving_of_money_effect[tax]: got 'most'"),
    (0.8, TypeError, "Payer.saving_of_money_effect: got 0.8; allowed: a table {metric = "
                     "fraction in [0, 1]}"),
    ({"": 0.8}, TypeError, "Payer.saving_of_money_effect key: got ''"),
    ({"tax": {"dist": "beta", "mean": 0.8, "sd": 0.05}}, ValueError,
     "Payer.saving_of_money_effect[tax]: got {'dist': 'beta', 'mean': 0.8, 'sd': 0.05}; "
     "allowed: a fraction in [0, 1], a number (a split between the payers, not a "
     "distribution)"),
])
def test_a_bad_fraction_is_refused_with_the_field_the_value_and_what_is_allowed(
        value, error, words):
    with pytest.raises(error) as err:
        Payer("city", 0.0, saving_of_money_effect=value)
    assert words in str(err.value), str(err.value)


def test_a_fraction_is_kept_and_the_default_is_none():
    assert Payer("city", 0.0, saving_of_money_effect={"tax": 1}).saving_of_money_effect == {
        "tax": 1.0}
    assert Payer("city", 0.0).saving_of_money_effect == {}


EV = Evaluation("tax", outcome="occupancy", state="work", direction="increase",
                money=MoneyValue(per_unit=100.0, effect=1.1))
COUNT = Evaluation("jobs", outcome="occupancy", state="work", direction="increase")


@pytest.mark.parametrize(("payers", "evs", "words"), [
    ((Payer("a", 1.0, saving_of_money_effect={"wages": 0.5}),), (EV, COUNT),
     "Deal.payers[0].saving_of_money_effect: got 'wages'; allowed: metrics of the deal's "
     "evaluations: 'tax', 'jobs'"),
    ((Payer("a", 1.0), Payer("b", 0.0, saving_of_money_effect={"tax": 0.5})), (COUNT,),
     "Deal.payers[1].saving_of_money_effect: got 'tax'; allowed: metrics of the deal's "
     "evaluations: 'jobs'"),
    ((Payer("a", 1.0, saving_of_money_effect={"tax": 0.7}),
      Payer("b", 0.0, saving_of_money_effect={"tax": 0.4})), (EV,),
     "Deal.payers.saving_of_money_effect[tax]: got 1.1; allowed: fractions of metric 'tax''s "
     "extra money summing to at most 1 over the payers present in a period (a 0.7, b 0.4)"),
])
def test_the_deal_refuses_fractions_that_do_not_fit(payers, evs, words):
    with pytest.raises(ValueError) as err:
        check_money_effect_savings(payers, evs, None)
    assert str(err.value).startswith(words), str(err.value)


def test_fractions_sum_over_the_payers_present_in_each_period():
    """A municipality until 2022 and a county from 2023 may each take 0.8: never both in one
    period; while both are present they may not."""
    payers = (Payer("city", 1.0, saving_of_money_effect={"tax": 0.8}),
              Payer("county", 0.0, saving_of_money_effect={"tax": 0.8}))
    apart = np.array([[True, True, False], [False, False, True]])
    check_money_effect_savings(payers, (EV,), apart)
    check_money_effect_savings(payers[:1], (EV,), None)
    with pytest.raises(ValueError, match=r"saving_of_money_effect\[tax\]: got 1.6"):
        check_money_effect_savings(payers, (EV,), apart | np.array([[0, 0, 1], [0, 0, 0]],
                                                                     bool))


@pytest.mark.parametrize(("path", "value", "words"), [
    (("payers", 0, "saving_of_money_effect"), {"tax": 2.0},
     ["key 'payers[0]'", "Payer.saving_of_money_effect[tax]: got 2.0"]),
    (("payers", 1, "saving_of_money_effect"), {"wages": 0.8},
     ["Deal.payers[1].saving_of_money_effect: got 'wages'", "evaluations: 'tax'"]),
    (("payers", 1, "saving_of_money_effect"), {"tax": 0.9},
     ["Deal.payers.saving_of_money_effect[tax]: got 1.1", "state 0.2, city 0.9"]),
])
def test_toml_refuses_a_bad_term_naming_the_key(path, value, words):
    doc = copy.deepcopy(TINY)
    doc[path[0]][path[1]][path[2]] = value
    with pytest.raises(ScenarioFileError) as err:
        parse_scenario(doc, "tiny.toml")
    msg = str(err.value)
    assert msg.startswith("tiny.toml") and "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_the_koto_file_refuses_a_bad_fraction_with_exit_2(tmp_path, capsys):
    text = _koto_text()
    line = "saving_of_money_effect = {public_finance = 0.8}"
    assert text.count(line) == 1
    assert_file_refused(tmp_path, capsys, text.replace(line, line.replace("0.8", "80")),
                        ["payers[2]", "Payer.saving_of_money_effect[public_finance]: got 80"])


def test_toml_reads_the_term_as_the_python_payer():
    deal = parse_scenario(TINY)
    assert deal.payers == (Payer("state", 1.0, saving_of_money_effect={"tax": 0.2}),
                           Payer("city", 0.0, saving_of_money_effect={"tax": 0.8}))
    koto = sibsim.load_scenario("koto-sib")
    assert [p.saving_of_money_effect for p in koto.payers] == [
        {"public_finance": 0.2}, {}, {"public_finance": 0.8}]


# --------------------------------------------------------------------------- by hand
def test_a_tiny_deal_by_hand():
    """50 engaged treated people in work each year (expected engine: 100 x 0.5); the money per
    year in work EUR 200, 220, 242 (+10% a year), 1.1 times that for the engaged: extra money
    0.1 x 50 x (200, 220, 242) = 1,000, 1,100, 1,210 a year, of which the state saves 20%
    (200, 220, 242) and the city 80% (800, 880, 968). With no effect on the outcome the
    measured gain over the 3-year window is that extra money, 3,310; the commissioner's
    savings and net savings carry it."""
    deal = parse_scenario(TINY)
    ds = sibsim.simulate(deal, draws=2, seed=1, engine="expected", progress=False)
    money = money_flows(deal, ds)
    by_payer = money["cashable_savings_by_payer"].transpose("draw", "payer", "period").values
    np.testing.assert_allclose(by_payer, [[[200.0, 220.0, 242.0], [800.0, 880.0, 968.0]]] * 2,
                               rtol=1e-12)
    np.testing.assert_allclose(money["cashable_savings"].values, [[1_000.0, 1_100.0,
                                                                    1_210.0]] * 2, rtol=1e-12)
    np.testing.assert_allclose(money["trigger_units"].values, 3_310.0, rtol=1e-12)
    plain = money_flows(_without_term(deal), ds)
    np.testing.assert_allclose((money["net_savings"] - plain["net_savings"]).values,
                               [[1_000.0, 1_100.0, 1_210.0]] * 2, rtol=1e-12)
    np.testing.assert_allclose(
        (money["net_savings_by_payer"] - plain["net_savings_by_payer"]).values, by_payer,
        rtol=1e-12)
    for var in ("outcome_payments", "payments_by_payer", "flow"):  # savings only
        np.testing.assert_array_equal(money[var].values, plain[var].values, err_msg=var)


def test_a_payer_counts_the_extra_money_in_its_own_years_only():
    """A city until 2020 and a county from 2021 each take 0.8 (never both in one year): the
    city saves 800 in 2020, the county 880 and 968 in 2021 and 2022; the state 20% throughout."""
    doc = tiny()
    doc["start_year"] = 2020
    doc["payers"] = [
        {"name": "state", "shares": 0.0, "saving_of_money_effect": {"tax": 0.2}},
        {"name": "city", "shares": 1.0, "last_year": 2020,
         "saving_of_money_effect": {"tax": 0.8}},
        {"name": "county", "shares": 1.0, "first_year": 2021,
         "saving_of_money_effect": {"tax": 0.8}}]
    deal = parse_scenario(doc)
    ds = sibsim.simulate(deal, draws=1, seed=1, engine="expected", progress=False)
    got = money_flows(deal, ds)["cashable_savings_by_payer"].transpose(
        "draw", "payer", "period").values[0]
    np.testing.assert_allclose(got, [[200.0, 220.0, 242.0], [800.0, 0.0, 0.0],
                                     [0.0, 880.0, 968.0]], rtol=1e-12, atol=0)


@pytest.mark.parametrize("effect", [None, 1.0, "no money"])
def test_no_effect_saves_nothing_bit_for_bit(effect):
    """Without ``money.effect``, with an effect of 1, or with the metric in outcome units (no
    ``money``), the term adds nothing: every money array equals the deal's without the term,
    to the last bit."""
    doc = tiny()
    if effect is None:
        del doc["evaluation"][0]["money"]["effect"]
    elif effect == "no money":
        del doc["evaluation"][0]["money"]
        doc["contract"]["terms"][0]["rule"]["price"] = 50.0
    else:
        doc["evaluation"][0]["money"]["effect"] = effect
    deal = parse_scenario(doc)
    ds = sibsim.simulate(deal, draws=3, seed=2, progress=False)
    a, b = money_flows(deal, ds), money_flows(_without_term(deal), ds)
    for var in a.data_vars:
        np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=var)


def test_an_effect_below_one_loses_taxes():
    deal = parse_scenario(tiny(effect=0.9))
    ds = sibsim.simulate(deal, draws=1, seed=1, engine="expected", progress=False)
    np.testing.assert_allclose(
        money_flows(deal, ds)["cashable_savings"].values, [[-1_000.0, -1_100.0, -1_210.0]],
        rtol=1e-12)


# ------------------------------------------------------------ strata, stopped cohorts
def _ds(engaged):
    """Two entry waves (periods 0 and 1), two strata, three periods; ``engaged`` (D, W, K, P)
    treated engaged person-periods in "work" (100 person-periods in work in every cell)."""
    D, W, K, P = engaged.shape
    zeros = np.zeros((D, W, K, P))
    ds = outcome_ds({"treatment": zeros, "comparison": zeros},
                    {"treatment": np.full((W, K), 10.0), "comparison": np.full((W, K), 10.0)},
                    [0, 1])
    dims = ("draw", "arm", "wave", "stratum", "period", "state")
    occ = np.zeros((D, 2, W, K, P, 2))
    occ[..., 1] = 100.0
    eocc = np.zeros((D, 2, W, K, P, 2))
    eocc[:, 0, ..., 1] = engaged
    ds = ds.assign_coords(state=["out", "work"])
    ds["occupancy"], ds["engaged_occupancy"] = (dims, occ), (dims, eocc)
    ds.attrs.update(seed=0, periods_per_year=1)
    return ds


def test_savings_strata_and_cohorts_started():
    """A payer with ``savings_strata`` counts the extra money of its stratum's engaged only; a
    cohort that did not start (a termination) counts for no one; the evaluation's strata bound
    what the effect acts on."""
    engaged = np.arange(1.0, 13.0).reshape(1, 2, 2, 3)  # (D, W, K, P)
    ds = _ds(engaged)
    ev = dataclasses.replace(EV, money=MoneyValue(per_unit=100.0, effect=1.5))
    payers = (Payer("all", 1.0, saving_of_money_effect={"tax": 0.5}),
              Payer("s1 only", 0.0, saving_of_money_effect={"tax": 0.5},
                    savings_strata="s1"))
    out = money_effect_savings(payers, (ev,), ds, 0, None)
    per = 0.5 * 100.0 * engaged  # extra money (effect - 1) x per_unit x engaged
    np.testing.assert_allclose(out[:, 0], 0.5 * per.sum((1, 2)), rtol=1e-12)
    np.testing.assert_allclose(out[:, 1], 0.5 * per[:, :, 1].sum(1), rtol=1e-12)
    started = np.array([[True, False]])
    out = money_effect_savings(payers, (ev,), ds, 0, started)
    np.testing.assert_allclose(out[:, 0], 0.5 * per[:, 0].sum(1), rtol=1e-12)
    only_s0 = dataclasses.replace(ev, stratum=("s0",))
    out = money_effect_savings(payers, (only_s0,), ds, 0, None)
    np.testing.assert_allclose(out[:, 0], 0.5 * per[:, :, 0].sum(1), rtol=1e-12)
    np.testing.assert_allclose(out[:, 1], 0.0, atol=0)
    assert money_effect_savings((Payer("a", 1.0),), (ev,), ds, 0, None) is None


def test_kept_savings_follow_the_money_effect_of_each_variant():
    """On fixed outcome draws (a design grid: ``effect_free(..., same_outcomes=True)``) the
    savings kept between calls are keyed on the evaluations too: variants that differ in
    ``money.effect`` only get their own savings, the ones computed afresh."""
    from sibsim.money.sib import effect_free, money_arrays

    deal = parse_scenario(TINY)
    ds = sibsim.simulate(deal, draws=4, seed=3, progress=False)
    cf = counterfactual(deal, 4, 3)
    fixed = effect_free(deal, ds, cf, same_outcomes=True)
    for effect in (1.1, 1.3, 1.1):
        variant = parse_scenario(tiny(effect=effect))
        kept, _ = money_arrays(variant, ds, cf, fixed=fixed)
        fresh, _ = money_arrays(variant, ds, cf)
        for var in ("cashable_savings", "cashable_savings_by_payer", "net_savings"):
            np.testing.assert_array_equal(np.asarray(kept[var]), np.asarray(fresh[var]),
                                          err_msg=f"{var} at {effect}")


# --------------------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(engaged=st.lists(st.floats(0.0, 1e4), min_size=12, max_size=12),
       per_unit=st.floats(1.0, 1e4), m1=st.floats(0.2, 5.0), m2=st.floats(0.2, 5.0),
       parts=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4))
def test_monotone_in_the_effect_and_the_parts_add_up(engaged, per_unit, m1, m2, parts):
    """Each payer's saving rises with the effect (weakly; strictly where it has a fraction
    and someone engaged works), and with fractions summing to 1 the payers' savings add up to
    the extra money ``(effect - 1) x per_unit x engaged``, period by period."""
    e = np.array(engaged).reshape(1, 2, 2, 3)
    ds = _ds(e)
    total = sum(parts)
    fr = [p / total for p in parts] if total > 0 else [1.0] + [0.0] * (len(parts) - 1)
    payers = tuple(Payer(f"p{i}", 1.0 if i == 0 else 0.0,
                         saving_of_money_effect={"tax": f}) for i, f in enumerate(fr))

    def run(m):
        ev = dataclasses.replace(EV, money=MoneyValue(per_unit=per_unit, effect=m))
        return money_effect_savings(payers, (ev,), ds, 0, None)

    lo, hi = sorted((m1, m2))
    a, b = run(lo), run(hi)
    assert (b >= a - 1e-9 * (1.0 + np.abs(a))).all()
    whole = (hi - 1.0) * per_unit * e.sum((1, 2))  # (D, P)
    np.testing.assert_allclose(b.sum(axis=1), whole, rtol=1e-9, atol=1e-6)


# --------------------------------------------------------------------------- statistics
def test_koto_savings_rise_by_the_extra_taxes_within_monte_carlo_error():
    """Koto-SIB's payers' savings rise, over the deal without the term, by the extra taxes of
    the higher wages: in expectation E[effect - 1] x E[per_unit] x E[engaged quarters in work]
    = 0.008 x 4,944 x (the expected engine's mean engaged treated quarters in work), as the
    effect, the value per quarter and the outcomes are drawn independently; 80% to the
    municipalities, 20% to the state, none to Kela, and the outcome payments unchanged.
    Within 4 Monte Carlo standard errors (fixed seed)."""
    deal = sibsim.load_scenario("koto-sib")
    draws, seed = 400, 11
    ds = sibsim.simulate(deal, draws=draws, seed=seed, progress=False)
    cf = counterfactual(deal, draws, seed)
    new, old = money_flows(deal, ds, cf), money_flows(_without_term(deal), ds, cf)
    rise = (new["cashable_savings_by_payer"] - old["cashable_savings_by_payer"]).sum("period")
    total = rise.sum("payer").values
    exp = sibsim.simulate(deal, draws=draws, seed=seed + 1, engine="expected", progress=False)
    engaged = exp["engaged_occupancy"].sel(arm="treatment", state="employed").sum(
        ("wave", "stratum", "period")).values
    expected = 0.008 * 4_944 * engaged.mean()
    se = np.hypot(total.std(ddof=1), 0.008 * 4_944 * engaged.std(ddof=1)) / np.sqrt(draws)
    assert abs(total.mean() - expected) < 4 * se, (total.mean(), expected, se)
    assert se < 0.1 * expected  # the test can tell a wrong factor of 1.1 apart
    np.testing.assert_allclose(rise.sel(payer="municipalities").values, 0.8 * total,
                               rtol=1e-9)
    np.testing.assert_allclose(rise.sel(payer="state (TEM)").values, 0.2 * total, rtol=1e-9)
    np.testing.assert_array_equal(rise.sel(payer="Kela").values, 0.0)
    np.testing.assert_array_equal(new["outcome_payments"].values, old["outcome_payments"].values)
    # about EUR 235 per person drawn over the 24 quarters (EUR 40 on each of ~6 engaged
    # quarters in work a person)
    assert 150 < total.mean() / sum(deal.scenario.cohort.entry) < 350


def test_the_modules_examples():
    import doctest

    import sibsim.money.payer_money_effect as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 4


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_council_assumptions_show_each_payers_fraction(lang):
    """Koto-SIB's council report lists the municipalities' 80% and the state's 20% of the
    extra money of the higher wages among its assumptions."""
    from sibsim.council.assumptions import assumption_rows
    from sibsim.council.formats import Formatter
    from sibsim.council.texts import TEXTS

    deal = sibsim.load_scenario("koto-sib")
    head = TEXTS[lang]["a_saving_money_effect"].split("{")[0]
    rows = {r[0]: r[1] for r in assumption_rows(deal, lang) if r[0].startswith(head)}
    f = Formatter(lang)
    assert sorted(rows.values()) == sorted([f.pct(0.8), f.pct(0.2)])
    assert any("municipalities" in k and "public_finance" in k for k in rows)
