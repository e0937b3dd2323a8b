"""An effect of the service on the money per unit (``MoneyValue.effect``, Koto-SIB's higher
wages): refusals in Python and TOML, a worked example by hand, no effect (1) bit for bit, the
keyed random stream of an uncertain effect, a statistical test of the measured money effect
against its closed form (Monte Carlo standard errors, fixed seed), payments monotone in the
effect, the break-even path and events."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from cli_refusal import assert_file_refused
from sibsim.engine.parameters import sample_parameter
from sibsim.money import MoneyValue, PricePerUnit
from sibsim.money.evaluation import Evaluation, evaluate, evaluation_fixed
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario
from sibsim.spec import LogNormal, Normal
from test_evaluation import outcome_ds

pytestmark = pytest.mark.usefixtures("warm_kernels")


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(("effect", "words"), [
    (18.0, "write 1.18 for 18% more"),                   # 18 meant as +18%
    (0.18, "write 1.18 for 18% more"),                   # 0.18 meant as +18%
    (250.0, "a value of 250 is not plausible"),
    (0.0, "MoneyValue.effect: got 0.0"),
    (-1.05, "MoneyValue.effect: got -1.05"),
    (math.nan, "MoneyValue.effect: got nan"),
    (math.inf, "MoneyValue.effect: got inf"),
    (LogNormal.from_mean_sd(18.0, 1.0), "a mean of 18 is not plausible; write 1.18"),
    (Normal(1.05, 0.02), "values lie in [0, inf]"),      # a normal can be negative
])
def test_implausible_effects_are_refused_with_the_field_the_value_and_what_is_allowed(
        effect, words):
    with pytest.raises(ValueError) as err:
        MoneyValue(per_unit=2_000.0, effect=effect)
    msg = str(err.value)
    assert msg.startswith("MoneyValue.effect: got ") and "; allowed: " in msg, msg
    assert words in msg, msg


def test_an_effect_of_the_wrong_type_is_refused():
    with pytest.raises(TypeError, match=r"MoneyValue.effect: got 'high'"):
        MoneyValue(per_unit=2_000.0, effect="high")


@pytest.mark.parametrize("effect", [0.2, 1.0, 1.18, 5.0, LogNormal.from_mean_sd(1.05, 0.03)])
def test_plausible_effects_are_kept(effect):
    m = MoneyValue(per_unit=2_000.0, effect=effect)
    assert m.effect == effect
    assert MoneyValue(per_unit=2_000.0).effect is None  # default: no effect


KOTO_MONEY = ('effect = {dist = "lognormal", mean = 1.008, sd = 0.01}}')


def _koto_text() -> str:
    return builtin_scenarios()["koto-sib"].read_text(encoding="utf-8")




@pytest.mark.parametrize(("new", "words"), [
    ("effect = 18}", ["MoneyValue.effect: got 18", "write 1.18 for 18% more"]),
    ('effect = {dist = "lognormal", mean = 18, sd = 1}}',
     ["MoneyValue.effect", "a mean of 18"]),
    ('effect = {dist = "normal", mean = 1.05, sd = 0.02}}',
     ["MoneyValue.effect", "values lie in [0, inf]"]),
    ('effect = "high"}', ["MoneyValue.effect: got 'high'"]),
    ("effect = 0}", ["MoneyValue.effect: got 0"]),
    ('effekt = 1.05}', ["money.effekt", "unknown key"]),
])
def test_toml_refuses_a_bad_effect_with_exit_2(tmp_path, capsys, new, words):
    text = _koto_text()
    assert KOTO_MONEY in text
    assert_file_refused(tmp_path, capsys, text.replace(KOTO_MONEY, new, 1),
                 ["key 'evaluation[0].money", *words])


def test_toml_reads_the_effect_as_a_named_parameter():
    deal = sibsim.load_scenario("koto-sib")
    ev = deal.evaluations[0]
    assert isinstance(ev.money.effect, LogNormal)
    assert math.isclose(ev.money.effect.mean, 1.008)
    assert "evaluation.public_finance.money.effect" in ev.parameters()
    doc = tomllib.loads(_koto_text())
    doc["evaluation"][0]["money"]["effect"] = 1.05
    ev = parse_scenario(doc).evaluations[0]
    assert ev.money.effect == 1.05
    assert "evaluation.public_finance.money.effect" not in ev.parameters()  # a number


EFFECTS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 200),
                    st.text(max_size=3), st.booleans(),
                    st.fixed_dictionaries({"dist": st.sampled_from(
                        ["lognormal", "normal", "gamma", "uniform", "beta", "x"]),
                        "mean": st.floats(-2.0, 30.0), "sd": st.floats(-0.1, 3.0)}),
                    st.lists(st.floats(0.5, 2.0), max_size=2))


@settings(max_examples=150, deadline=None)
@given(effect=EFFECTS)
def test_fuzz_the_effect_of_an_evaluation_table(effect):
    """Any value of ``money.effect`` in a file either gives a plausible ratio (a number or a
    distribution with values >= 0 and a mean in [0.2, 5]) or is refused with a
    ScenarioFileError naming the key, never another exception."""
    doc = tomllib.loads(_koto_text())
    doc["evaluation"][0]["money"]["effect"] = effect
    try:
        deal = parse_scenario(doc, "fuzz.toml")
    except ScenarioFileError as err:
        assert str(err).startswith("fuzz.toml") and "effect" in str(err), str(err)
        return
    got = deal.evaluations[0].money.effect
    mean = float(got.mean) if isinstance(got, sibsim.spec.Distribution) else float(got)
    assert 0.2 <= mean <= 5.0
    if isinstance(got, sibsim.spec.Distribution):
        assert got.support[0] >= 0.0


# --------------------------------------------------------------------------- by hand
def _occupancy_ds(t_work, c_work, engaged_work, sizes=(10, 20), draws=1):
    """One wave, three periods, two states (out, work): the treated arm's person-periods in
    work ``t_work`` (P,) or (D, P), the comparison arm's ``c_work``, and the engaged treated
    participants' ``engaged_work``."""
    def arr(x):
        x = np.asarray(x, float)
        return np.broadcast_to(x if x.ndim == 2 else x[None], (draws, 3))

    t, c, e = arr(t_work), arr(c_work), arr(engaged_work)
    occ = {"treatment": np.stack([100.0 - t, t], -1)[:, None],   # (D, W, P, S)
           "comparison": np.stack([100.0 - c, c], -1)[:, None]}
    ds = outcome_ds({"treatment": np.zeros((draws, 1, 3)), "comparison": np.zeros((draws, 1, 3))},
                    {"treatment": [sizes[0]], "comparison": [sizes[1]]}, [0],
                    occupancy=occ, states=["out", "work"])
    eocc = np.zeros((draws, 2, 1, 1, 3, 2))
    eocc[:, 0, 0, 0, :, 1] = e
    eocc[:, 0, 0, 0, :, 0] = 5.0  # engaged people out of work: not valued
    ds["engaged_occupancy"] = (("draw", "arm", "wave", "stratum", "period", "state"), eocc)
    return ds


def _work_ev(**money):
    return Evaluation("earnings", outcome="occupancy", state="work", direction="increase",
                      window=3, pooled=False, precision=None,
                      money=MoneyValue(**{"per_unit": 100.0, **money}))


def test_worked_example_by_hand():
    """10 treated people spend 4 + 6 + 8 = 18 periods in work, 12 of them engaged; 20
    comparison people 30. At EUR 100 a period and an effect of 1.25 on the engaged: treated
    (6 x 100 + 12 x 125) / 10 = 210 a person, comparison 3,000 / 20 = 150: a gain of 60 a
    person, 600 in all, and a measured effect of 210 / 150 - 1 = 0.4 (0.2 without the effect:
    180 / 150 - 1)."""
    ds = _occupancy_ds([4.0, 6.0, 8.0], [10.0, 10.0, 10.0], [2.0, 4.0, 6.0])
    table = evaluate(ds, (_work_ev(effect=1.25),), 0)
    np.testing.assert_allclose(table.units[0], [600.0], rtol=1e-12)
    np.testing.assert_allclose(table.measured_effect[0], [0.4], rtol=1e-12)
    np.testing.assert_allclose(table.avoided_cost, table.units, rtol=0)
    plain = evaluate(ds, (_work_ev(),), 0)
    np.testing.assert_allclose(plain.units[0], [300.0], rtol=1e-12)
    np.testing.assert_allclose(plain.measured_effect[0], [0.2], rtol=1e-12)
    # 50% of the gain
    pay = PricePerUnit(price=0.5, threshold=None).due(table.measured_effect[0],
                                                      units=table.units[0])
    np.testing.assert_allclose(pay, [300.0], rtol=1e-12)


def test_an_effect_on_nobody_engaged_changes_no_bit():
    """With no engaged person-periods in work the effect acts on nothing: the same table to the
    last bit, with a dispersion and an uncertain value per unit, whose streams (keyed on their
    own names) an uncertain effect leaves as they were."""
    D = 40
    ds = _occupancy_ds(np.full((D, 3), 30.0), np.full((D, 3), 50.0), np.zeros(3), draws=D)
    per_unit = LogNormal.from_mean_sd(100.0, 20.0)
    a = evaluate(ds, (_work_ev(per_unit=per_unit, cv=0.5),), 3)
    b = evaluate(ds, (_work_ev(per_unit=per_unit, cv=0.5,
                               effect=LogNormal.from_mean_sd(1.2, 0.1)),), 3)
    for f in ("measured_effect", "units", "avoided_cost", "gate"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.units.std() > 0


def test_an_uncertain_effect_is_sampled_on_its_own_keyed_stream():
    """Each draw's gain is (its effect - 1) x the engaged units' money, with the effect the
    values parameter evaluation.earnings.money.effect takes for that seed and draw; a block of
    draws gets the values of the whole run."""
    D = 30
    dist = LogNormal.from_mean_sd(1.2, 0.1)
    ds = _occupancy_ds(np.full((D, 3), 6.0), np.full((D, 3), 12.0), [2.0, 2.0, 2.0], draws=D)
    ev = _work_ev(effect=dist)
    table = evaluate(ds, (ev,), 8)
    m = sample_parameter(dist, "evaluation.earnings.money.effect", 8, 0, D)
    # treated 18 periods (6 engaged), comparison 36 for twice the people: no gain without it
    np.testing.assert_allclose(table.units[:, 0], (m - 1.0) * 6 * 100.0, rtol=1e-9)
    block = evaluate(ds.isel(draw=slice(10, 30)), (ev,), 8)
    np.testing.assert_array_equal(table.units[10:], block.units)
    assert np.ptp(m) > 0


# --------------------------------------------------------------------------- no effect
def test_an_effect_of_one_is_the_deal_without_it_bit_for_bit():
    """Koto-SIB with effect = 1 against no effect: every money array, break-even included
    (which re-traces the engaged participants' occupancy at each effect), to the last bit."""
    deal = sibsim.load_scenario("koto-sib")

    def with_effect(effect):
        evs = tuple(dataclasses.replace(e, money=dataclasses.replace(e.money, effect=effect))
                    for e in deal.evaluations)
        return deal.replace(evaluations=evs)

    ra = sibsim.analyse(with_effect(None), draws=10, seed=2)
    rb = sibsim.analyse(with_effect(1.0), draws=10, seed=2)
    for var in ("outcome_payments", "payments_by_payer", "trigger_units", "flow",
                "net_savings"):
        np.testing.assert_array_equal(ra.money[var].values, rb.money[var].values, err_msg=var)
    for var in ra.breakeven.data_vars:
        np.testing.assert_array_equal(ra.breakeven[var].values, rb.breakeven[var].values,
                                      err_msg=var)
    rc = sibsim.analyse(with_effect(1.3), draws=10, seed=2)  # and an effect moves them
    assert (rc.money["trigger_units"].values > ra.money["trigger_units"].values).all()


def test_fixed_parts_give_the_same_table_with_an_effect():
    """The break-even path (evaluation_fixed, then evaluate with the treated arm read again)
    gives the table evaluate gives, to the last bit."""
    deal = sibsim.load_scenario("koto-sib")
    ds = sibsim.simulate(deal, draws=8, seed=3, progress=False)
    whole = evaluate(ds, deal.evaluations, 3)
    again = evaluate(ds, deal.evaluations, 3, evaluation_fixed(ds, deal.evaluations, 3))
    for f in ("measured_effect", "units", "avoided_cost", "gate"):
        np.testing.assert_array_equal(getattr(whole, f), getattr(again, f), err_msg=f)


# --------------------------------------------------------------------------- statistics
SCENARIO = {
    "horizon": 4, "period": "year", "cohort": {"size": 4_000}, "comparison": {"ratio": 1},
    "outcome": {"kind": "markov", "states": ["out", "work"], "initial": "out",
                "transitions": [[0.7, 0.3], [0.2, 0.8]]},
    "effect": {"measure": "hr", "value": 1.0, "targets": [["out", "work"]],
               "engagement": 0.6},
}


@pytest.mark.parametrize("m", [1.10, LogNormal.from_mean_sd(1.10, 0.05)])
def test_measured_money_effect_matches_the_closed_form(m):
    """No effect on the outcome (a hazard ratio of 1), engagement 0.6, no drop-out: the
    engaged hold 60% of the treated arm's periods in work on average, so the treated money per
    person is E[m] x 0.6 + 0.4 times the comparison's and the measured money effect's mean is
    (E[m] - 1) x 0.6 = 0.06, within 4 Monte Carlo standard errors (fixed seed; the ratio's bias,
    about 1 / (people x periods in work), is a tenth of one)."""
    D = 300
    sc = parse_scenario(SCENARIO).scenario
    ds = sibsim.simulate(sc, draws=D, seed=21, progress=False)
    ev = Evaluation("earnings", outcome="occupancy", state="work", direction="increase",
                    window=4, pooled=False, precision=None,
                    money=MoneyValue(per_unit=1_000.0, effect=m))
    effect = evaluate(ds, (ev,), 21).measured_effect[:, 0]
    mean_m = float(m.mean) if isinstance(m, LogNormal) else m
    expected = (mean_m - 1.0) * 0.6
    se = effect.std(ddof=1) / math.sqrt(D)
    assert abs(effect.mean() - expected) < 4 * se, (effect.mean(), expected, se)
    assert se < 0.1 * expected  # a test that can tell 0.06 from 0 and from 0.1
    # without the money effect the same outcomes measure (about) nothing
    plain = evaluate(ds, (dataclasses.replace(ev, money=MoneyValue(per_unit=1_000.0)),), 21)
    assert abs(plain.measured_effect[:, 0].mean()) < 4 * se


# --------------------------------------------------------------------------- monotone
@settings(max_examples=60, deadline=None)
@given(t=st.lists(st.integers(0, 60), min_size=3, max_size=3),
       c=st.lists(st.integers(0, 60), min_size=3, max_size=3),
       share=st.floats(0.0, 1.0), m1=st.floats(0.2, 5.0), m2=st.floats(0.2, 5.0),
       price=st.floats(0.01, 1.0), threshold=st.sampled_from([None, 0.0, 0.1, 0.3]),
       cv=st.sampled_from([0.0, 0.5]), direction=st.sampled_from(["increase", "reduce"]))
def test_payments_are_monotone_in_the_effect(t, c, share, m1, m2, price, threshold, cv,
                                             direction):
    """A larger effect on the engaged treated participants' money never lowers the payment
    when more is better, and never raises it when less is better (any outcomes, share
    engaged, price, threshold and dispersion)."""
    lo, hi = sorted((m1, m2))
    tw = np.asarray(t, float)
    ds = _occupancy_ds(tw, np.asarray(c, float), np.floor(share * tw))
    rule = PricePerUnit(price=price, threshold=threshold)

    def paid(m):
        ev = dataclasses.replace(_work_ev(effect=m, cv=cv), direction=direction, precision=0.001)
        table = evaluate(ds, (ev,), 5)
        return float(rule.due(table.measured_effect[0], units=table.units[0])[0])

    a, b = paid(lo), paid(hi)
    if direction == "increase":
        assert b >= a - 1e-9 * max(1.0, abs(a))
    else:
        assert b <= a + 1e-9 * max(1.0, abs(a))


# --------------------------------------------------------------------------- events
def test_an_events_evaluation_needs_the_engaged_events():
    """Money per event with an effect: the deal simulates engaged_events, and a dataset
    without them is refused naming the field."""
    deal = sibsim.load_scenario("peterborough")
    assert not deal.needs_engaged_events
    evs = tuple(dataclasses.replace(e, value_per_unit=0.0,
                                    money=MoneyValue(per_unit=12_500.0, effect=1.1))
                for e in deal.evaluations)
    terms = tuple(dataclasses.replace(  # GBP 12,500 an event as the money, paid at 1 per GBP
        t, **{k: dataclasses.replace(getattr(t, k), price=1.0)
              for k in ("rule", "pooled_rule") if getattr(t, k, None) is not None})
        for t in deal.contract.terms)
    money = deal.replace(evaluations=evs,
                         contract=dataclasses.replace(deal.contract, terms=terms))
    assert money.needs_engaged_events
    bare = sibsim.simulate(deal.scenario, draws=4, seed=1, progress=False)
    with pytest.raises(ValueError, match=r"Evaluation\[reconviction\]\.money\.effect: got 1.1; "
                                         r"allowed: an outcome dataset with engaged_events"):
        evaluate(bare, money.evaluations, 1)
    ds = sibsim.simulate(money, draws=4, seed=1, progress=False)
    assert "engaged_events" in ds
    table = evaluate(ds, money.evaluations, 1)
    plain = evaluate(ds, tuple(dataclasses.replace(e, money=MoneyValue(per_unit=12_500.0))
                               for e in money.evaluations), 1)
    # fewer is better: more money per engaged event lowers the money avoided
    assert (table.units < plain.units).all()
    eng = ds["engaged_events"].sel(arm="treatment").sum("stratum")
    assert isinstance(eng, xr.DataArray) and float(eng.sum()) > 0


# --------------------------------------------------------------------------- power
def test_power_counts_the_engaged_units_effect_times():
    """Koto-SIB's power at the prior means: with a money effect m the treated group's money is
    (1 + (m - 1) x s) times what it is without, s the engaged participants' share of its
    quarters in work in each wave's 12-quarter window (summed here from the expected dataset),
    so the expected measured effect is (1 + e0) x (1 + (m - 1) x s) - 1."""
    from sibsim.analysis.power import evaluation_power

    deal = sibsim.load_scenario("koto-sib")

    def with_effect(effect):
        evs = tuple(dataclasses.replace(e, money=MoneyValue(per_unit=4_944.0, effect=effect))
                    for e in deal.evaluations)
        return deal.replace(evaluations=evs)

    e0 = evaluation_power(with_effect(None))["expected_effect"].values
    e1 = evaluation_power(with_effect(1.0))["expected_effect"].values
    e2 = evaluation_power(with_effect(1.2))["expected_effect"].values
    np.testing.assert_array_equal(e0, e1)
    sc = deal.scenario
    means = {name: np.array([d.mean_row if hasattr(d, "mean_row") else float(d.mean)])
             for name, d in sc.parameters().items()}  # a Dirichlet row: its mean row
    ds = sibsim.simulate(sc, draws=1, seed=0, engine="expected", overrides=means, progress=False)
    t = np.arange(ds.sizes["period"])
    people = ds["size"].sel(arm="treatment").sum("stratum").values
    waves = [w for w in range(ds.sizes["wave"]) if people[w] > 0]  # one trigger each
    assert len(waves) == len(e2) == 3
    for k, w in enumerate(waves):
        entry = ds["entry_period"].values[w]
        window = (t >= entry) & (t < entry + 12)
        treated = ds.sel(arm="treatment", wave=w, state="employed").sum("stratum")
        s = (float((treated["engaged_occupancy"].values[0] * window).sum())
             / float((treated["occupancy"].values[0] * window).sum()))
        assert 0.8 < s < 0.9  # 84% engaged, a little more of the quarters in work
        assert math.isclose(e2[k], (1.0 + e0[k]) * (1.0 + 0.2 * s) - 1.0, rel_tol=1e-9)
