"""Contract features of issue 6 that were not expressible before: an absolute target
(``Evaluation.target_per_person_period``, Tyhy-SIB) and netting to date (``Evaluation.to_date``,
Essex). Worked by hand on the small synthetic outcome datasets of tests/test_evaluation.py."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sibsim import Normal
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.evaluation import (
    RCT,
    Blend,
    Evaluation,
    Historical,
    Matched,
    evaluate,
    evaluation_fixed,
    person_periods,
    targets_met,
)
from sibsim.spec.toml import KeyProblem, Section
from test_evaluation import ENTRY, TREATED_D0, outcome_ds, two_wave_ds


def pay(table, price=100.0, threshold=None, n_periods=8, **caps):
    """Outcome payments per draw and period of one metric ``m`` at ``price`` per unit."""
    terms = MetricTerms("m", PricePerUnit(price, threshold=threshold), **caps)
    return Contract(terms=(terms,)).outcome_payments(table, n_periods=n_periods)


# --------------------------------------------------------------------------------------
# an absolute target (target_per_person_period)
# --------------------------------------------------------------------------------------


def test_target_is_units_per_person_period_worked_example():
    """two_wave_ds, draw 0: wave 0 avoids (0.7 - 0.5) x 10 = 2 events over 10 people x 2
    periods = 0.1 per person-period; wave 1 avoids (0.5 - 0.4) x 20 = 2 over 40 = 0.05;
    pooled 4 over 60 = 0.0667. Draw 1 does worse than the comparison group."""
    base = Evaluation("m", window=2)
    at = evaluate(two_wave_ds(), (dataclasses.replace(base, target_per_person_period=0.1),), 0)
    assert at.gate[0].tolist() == [True, False, False]  # exactly at the target: paid
    above = evaluate(two_wave_ds(),
                     (dataclasses.replace(base, target_per_person_period=0.101),), 0)
    assert above.gate[0].tolist() == [False, False, False]
    low = evaluate(two_wave_ds(), (dataclasses.replace(base, target_per_person_period=0.05),), 0)
    assert low.gate[0].tolist() == [True, True, True]
    assert not low.gate[1].any()
    # the measured effect and units are those without a target
    plain = evaluate(two_wave_ds(), (base,), 0)
    np.testing.assert_array_equal(at.measured_effect, plain.measured_effect)
    np.testing.assert_array_equal(at.units, plain.units)
    assert plain.gate.all()


def test_target_is_compared_after_the_contract_rounding():
    """0.0995 events per person-period rounds to 0.100 at the default precision (0.001) and
    meets a 0.1 target; without rounding it does not."""
    t = np.array([[[1.01, 0.0, 0, 0]]])      # 1.01 events of 10 people in period 0
    c = np.array([[[2.0, 0.0, 0, 0]]])       # comparison rate 0.2 in period 0 (10 people)
    ds = outcome_ds({"treatment": t, "comparison": c}, {"treatment": [10], "comparison": [10]},
                    [0])
    ev = Evaluation("m", window=1, pooled=False, target_per_person_period=0.1)
    assert evaluate(ds, (ev,), 0).gate.tolist() == [[False]]   # 0.099 per person-period
    t[0, 0, 0] = 1.005                                          # 0.0995 -> 0.100
    ds = outcome_ds({"treatment": t, "comparison": c}, {"treatment": [10], "comparison": [10]},
                    [0])
    assert evaluate(ds, (ev,), 0).gate.tolist() == [[True]]
    raw = dataclasses.replace(ev, precision=None)
    assert evaluate(ds, (raw,), 0).gate.tolist() == [[False]]


def test_the_counterfactual_rate_does_not_move_an_absolute_target():
    """The same 0.2 events fewer per person-period against a comparison rate of 0.7 or 1.4:
    the relative effect halves (a 25% threshold pays one), the absolute target pays both."""
    def ds_for(c_rate):
        t = np.array([[[(c_rate - 0.2) * 10, 0.0]]])
        c = np.array([[[c_rate * 10, 0.0]]])
        return outcome_ds({"treatment": t, "comparison": c},
                          {"treatment": [10], "comparison": [10]}, [0])

    ev = Evaluation("m", window=1, pooled=False, target_per_person_period=0.2)
    tables = [evaluate(ds_for(c), (ev,), 0) for c in (0.7, 1.4)]
    assert [t.gate.item() for t in tables] == [True, True]
    assert [round(t.measured_effect.item(), 3) for t in tables] == [0.286, 0.143]
    relative = [pay(t, threshold=0.25, n_periods=2).total.sum() for t in tables]
    absolute = [pay(t, n_periods=2).total.sum() for t in tables]
    assert relative[0] > 0 and relative[1] == 0
    np.testing.assert_allclose(absolute, [200.0, 200.0])


def test_a_missed_target_pays_nothing_a_met_one_pays_per_unit():
    ev = Evaluation("m", window=2, report_lag=1, pooled=False, target_per_person_period=0.1)
    paid = pay(evaluate(two_wave_ds(), (ev,), 0)).total
    # wave 0 (0.1 per person-period) known in period 2, paid 2 x 100; wave 1 (0.05) nothing
    np.testing.assert_allclose(paid[0], [0, 0, 200.0, 0, 0, 0, 0, 0], atol=1e-9)
    np.testing.assert_array_equal(paid[1], 0.0)


def test_person_periods_of_per_period_and_pooled_triggers():
    """per_period: one period of each wave; pooled: every wave's whole window."""
    ev = Evaluation("m", window=2, per_period=True, target_per_person_period=0.0)
    fixed = evaluation_fixed(two_wave_ds(), (ev,), 0)
    assert [t.person_periods for t in fixed.parts[0].triggers] == [10, 10, 20, 20, 60]
    mask = fixed.parts[0].mask
    assert person_periods(mask, np.array([10, 20]), [1], upto=2) == 20.0
    # a target of 0 pays on any improvement; draw 1 worsens every period
    table = evaluate(two_wave_ds(), (ev,), 0)
    assert table.gate[0].all() and not table.gate[1].any()


def test_targets_met_checks_replaced_units():
    ev = Evaluation("m", window=2, target_per_person_period=0.1)
    fixed = evaluation_fixed(two_wave_ds(), (ev,), 0)
    units = np.array([[2.0, 4.0, 5.9], [1.9, 3.9, 6.0]])   # person-periods 20, 40, 60
    assert targets_met(fixed, units).tolist() == [[True, True, False], [False, False, True]]
    plain = evaluation_fixed(two_wave_ds(), (Evaluation("m", window=2),), 0)
    assert targets_met(plain, -units).all()


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), "2.1", True])
def test_target_is_validated(value):
    with pytest.raises((ValueError, TypeError),
                       match=r"Evaluation\.target_per_person_period: got .*; allowed: "):
        Evaluation("m", target_per_person_period=value)


def test_target_and_to_date_from_toml():
    ev = Evaluation.from_toml(Section("evaluation[0]", {
        "metric": "m", "per_period": True, "to_date": True, "target_per_person_period": 2.1}))
    assert (ev.target_per_person_period, ev.to_date) == (2.1, True)
    with pytest.raises(KeyProblem) as info:
        Evaluation.from_toml(Section("evaluation[0]", {"metric": "m",
                                                       "target_per_person_period": -2}))
    assert re.search(r"target_per_person_period", str(info.value))
    with pytest.raises(KeyProblem) as info:
        Evaluation.from_toml(Section("evaluation[0]", {"metric": "m", "to_date": True}))
    assert "per_period" in str(info.value)


# --------------------------------------------------------------------------------------
# netting to date (to_date)
# --------------------------------------------------------------------------------------


def test_to_date_triggers_worked_example():
    """Draw 0 of two_wave_ds: period 0 wave 0 alone (0.4 vs 0.3 of 10 people: 1 unit);
    period 1 wave 0's whole window (0.7 vs 0.5: 2); period 2 adds wave 1's first period
    (24/60 vs 9/30 of 30 people: 3); period 3 both whole windows (34/60 vs 13/30: 4)."""
    ev = Evaluation("m", window=2, report_lag=1, per_period=True, to_date=True, pooled=False,
                    precision=None)
    table = evaluate(two_wave_ds(), (ev,), 0)
    assert table.period == (1, 2, 3, 4)
    assert table.cumulative == (True,) * 4
    assert table.participants == (10, 10, 30, 30)
    np.testing.assert_allclose(table.units[0], [1.0, 2.0, 3.0, 4.0], rtol=1e-12)
    np.testing.assert_allclose(table.measured_effect[0],
                               [1 - 0.3 / 0.4, 1 - 0.5 / 0.7, 1 - 0.3 / 0.4, 1 - 13 / 17],
                               rtol=1e-12)
    # the last result to date is the pooled result
    pooled = evaluate(two_wave_ds(), (Evaluation("m", window=2, per_wave=False,
                                                 precision=None),), 0)
    np.testing.assert_allclose(table.units[:, -1], pooled.units[:, 0], rtol=1e-12)
    np.testing.assert_allclose(table.measured_effect[:, -1], pooled.measured_effect[:, 0],
                               rtol=1e-12)
    # each period pays the increase: 100 a period
    np.testing.assert_allclose(pay(table).total[0], [0, 100, 100, 100, 100, 0, 0, 0],
                               atol=1e-9)


def test_a_bad_period_lowers_later_payments_and_nothing_is_clawed_back():
    """One wave of 10 people, comparison 5 events a period; the treated have 3, 6, 4, 1
    events: saved to date 2, 1, 2, 6. Paid: 200, then 0 (no clawback of the 100 lost), then
    0 (back to 2 = paid), then 400. Per period without netting: 200, 0, 100, 400."""
    t = np.array([[[3.0, 6.0, 4.0, 1.0]]])
    c = np.array([[[5.0, 5.0, 5.0, 5.0]]])
    ds = outcome_ds({"treatment": t, "comparison": c}, {"treatment": [10], "comparison": [10]},
                    [0])
    ev = Evaluation("m", window=4, per_period=True, to_date=True, pooled=False, precision=None)
    table = evaluate(ds, (ev,), 0)
    np.testing.assert_allclose(table.units[0], [2.0, 1.0, 2.0, 6.0])
    np.testing.assert_allclose(pay(table, n_periods=4).total[0], [200.0, 0.0, 0.0, 400.0])
    apart = evaluate(ds, (dataclasses.replace(ev, to_date=False),), 0)
    np.testing.assert_allclose(pay(apart, n_periods=4).total[0], [200.0, 0.0, 100.0, 400.0])
    # a threshold applies to the result to date: 20% of 5 a period; to date 2/5, 1/10, 2/15,
    # 6/20 -> 0.4, 0.1, 0.133, 0.3: periods 0 and 3 pay
    np.testing.assert_allclose(pay(table, threshold=0.2, n_periods=4).total[0],
                               [200.0, 0.0, 0.0, 400.0])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=6))
def test_to_date_pays_the_running_maximum_of_units_to_date(treated):
    """Closed form without caps or threshold: the total paid by period t is price x the
    largest amount of units saved to date so far (never below 0)."""
    n = len(treated)
    t = np.array([[treated]], float)
    c = np.full((1, 1, n), 6.0)
    ds = outcome_ds({"treatment": t, "comparison": c}, {"treatment": [10], "comparison": [10]},
                    [0])
    ev = Evaluation("m", window=n, per_period=True, to_date=True, pooled=False, precision=None)
    paid = pay(evaluate(ds, (ev,), 0), n_periods=n).total[0]
    to_date = np.cumsum(6.0 - np.array(treated, float))
    expected = 100.0 * np.maximum.accumulate(np.maximum(to_date, 0.0))
    np.testing.assert_allclose(np.cumsum(paid), expected, atol=1e-9)
    assert (paid >= 0).all()


def test_to_date_with_a_historical_rate_counts_the_periods_to_date():
    """Historical rate 0.4 per person-period: to date, 0.4 x periods of each wave's window."""
    t = np.array([TREATED_D0], float)
    ds = outcome_ds({"treatment": t}, {"treatment": [10, 20]}, ENTRY)
    ev = Evaluation("m", design=Historical(historical_rate=0.4), window=2, per_period=True,
                    to_date=True, pooled=False, precision=None)
    table = evaluate(ds, (ev,), 0)
    # avoided to date: 4 - 3 = 1; 8 - 5 = 3; (8 + 8) - (5 + 4) = 7; (8 + 16) - (5 + 8) = 11
    np.testing.assert_allclose(table.units[0], [1.0, 3.0, 7.0, 11.0], rtol=1e-12)
    np.testing.assert_allclose(table.measured_effect[0, 3], 1 - 13 / 24, rtol=1e-12)


def test_to_date_with_a_target_uses_the_person_periods_to_date():
    ev = Evaluation("m", window=2, per_period=True, to_date=True, pooled=False,
                    target_per_person_period=0.1)
    fixed = evaluation_fixed(two_wave_ds(), (ev,), 0)
    assert [t.person_periods for t in fixed.parts[0].triggers] == [10, 20, 40, 60]
    # units 1, 2, 3, 4 -> 0.1, 0.1, 0.075, 0.067 per person-period
    assert evaluate(two_wave_ds(), (ev,), 0).gate[0].tolist() == [True, True, False, False]


def test_to_date_needs_per_period():
    with pytest.raises(ValueError, match=r"Evaluation\.to_date: got True; allowed: to_date "
                                         r"only with per_period = true"):
        Evaluation("m", to_date=True)


# --------------------------------------------------------------------------------------
# the built-in scenarios that needed them
# --------------------------------------------------------------------------------------


def test_tyhy_and_essex_state_the_contract_terms():
    from sibsim import load_scenario

    tyhy = load_scenario("tyhy-sib")
    assert {ev.target_per_person_period for ev in tyhy.evaluations} == {2.1}
    assert all(t.rule.threshold == 0.0 for t in tyhy.contract.terms)
    (essex,) = load_scenario("essex-mst").evaluations
    assert essex.to_date and essex.per_period


def test_tyhy_replay_checks_the_absolute_target_on_the_replayed_result():
    """Tyhy's rule has no relative threshold: a replayed 10% reduction of ~14 days (~1.4 days
    per employee a year) misses the 2.1-day target and pays nothing; 25% (~3.5 days) pays on
    the days avoided."""
    from sibsim import load_scenario, replay

    deal = load_scenario("tyhy-sib")
    metrics = [ev.metric for ev in deal.evaluations]
    low = replay(deal, measured=dict.fromkeys(metrics, 0.10), draws=10, seed=2)
    assert float(low["outcome_payments"].max()) == 0.0
    high = replay(deal, measured=dict.fromkeys(metrics, 0.25), draws=10, seed=2)
    assert (high["outcome_payments"].values > 0).all()
    np.testing.assert_allclose(high["payments_by_trigger"].sum("trigger").values,
                               150 * high["trigger_units"].sum("trigger").values, rtol=1e-9)


# --------------------------------------------------------------------------------------
# a blend of designs (Massachusetts' backstop estimate)
# --------------------------------------------------------------------------------------


def test_blend_worked_example_rct_and_historical():
    """Wave 0 of two_wave_ds, draw 0: RCT counterfactual 0.7, historical 0.9 per participant;
    0.8 x 0.7 + 0.2 x 0.9 = 0.74 against a treated 0.5: units (0.74 - 0.5) x 10 = 2.4, effect
    0.24 / 0.74. The same as blending the two designs' units: 0.8 x 2 + 0.2 x 4."""
    blend = Blend(designs=(RCT(), Historical(historical_rate=0.9)), weights=(0.8, 0.2))
    ev = Evaluation("m", design=blend, window=2, pooled=False, precision=None)
    table = evaluate(two_wave_ds(), (ev,), 0)
    np.testing.assert_allclose(table.units[0, 0], 2.4, rtol=1e-12)
    np.testing.assert_allclose(table.measured_effect[0, 0], 0.24 / 0.74, rtol=1e-12)
    apart = [evaluate(two_wave_ds(), (dataclasses.replace(ev, design=d),), 0)
             for d in blend.designs]
    np.testing.assert_allclose(table.units, 0.8 * apart[0].units + 0.2 * apart[1].units,
                               rtol=1e-12)


def test_blend_gate_variance_and_parameters():
    """A blend of RCT and matched with bias b scales one comparison arm by 1 + w x b: it is
    the matched design with bias w x b, units and gate (its variance) included."""
    bl = Blend(designs=(RCT(), Matched(bias=0.1)), weights=(0.5, 0.5))
    ev = Evaluation("m", design=bl, window=2, alpha=0.3, precision=None)
    same = dataclasses.replace(ev, design=Matched(bias=0.05))
    a, b = (evaluate(two_wave_ds(), (e,), 0) for e in (ev, same))
    np.testing.assert_allclose(a.units, b.units, rtol=1e-12)
    np.testing.assert_array_equal(a.gate, b.gate)
    unc = Blend(designs=(RCT(), Matched(bias=Normal(0.0, 0.1))), weights=(0.8, 0.2))
    assert list(Evaluation("days", design=unc).parameters()) == [
        "evaluation.days.designs[1].bias"]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"designs": (RCT(),), "weights": (1.0,)}, r"Blend\.designs: .*allowed: two or more"),
    ({"designs": (RCT(), RCT()), "weights": (0.5,)}, r"Blend\.weights: .*one weight per design"),
    ({"designs": (RCT(), RCT()), "weights": (0.5, 0.6)}, r"Blend\.weights: .*add up to 1"),
    ({"designs": (RCT(), RCT()), "weights": (80, 20)}, r"Blend\.weights\[0\]: got 80"),
    ({"designs": (RCT(), "rct"), "weights": (0.5, 0.5)}, r"Blend\.designs\[1\]: got str"),
])
def test_blend_is_validated(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Blend(**kwargs)


def test_blend_from_toml_and_its_comparison_needs():
    ev = Evaluation.from_toml(Section("evaluation[0]", {"metric": "m", "design": {
        "kind": "blend", "weights": [0.8, 0.2],
        "designs": [{"kind": "rct"}, {"kind": "matched", "bias": {"dist": "normal",
                                                                   "mean": 0.0, "sd": 0.1}}]}}))
    assert ev.design == Blend(designs=(RCT(), Matched(bias=Normal(0.0, 0.1))),
                              weights=(0.8, 0.2))
    assert ev.needs_comparison
    alone = Blend(designs=(Historical(historical_rate=0.5), Historical(historical_rate=0.6)),
                  weights=(0.5, 0.5))
    assert not alone.needs_comparison
    with pytest.raises(KeyProblem) as info:
        Evaluation.from_toml(Section("evaluation[0]", {"metric": "m", "design": {
            "kind": "blend", "weights": [0.5, 0.5], "designs": [{"kind": "rct"}, 3]}}))
    assert info.value.key == "evaluation[0].design.designs[1]"


def test_roca_pays_on_the_backstop_blend():
    import sibsim.money as money
    from sibsim import load_scenario

    assert "Blend" in money.__all__
    deal = load_scenario("massachusetts-roca")
    for ev in deal.evaluations:
        assert isinstance(ev.design, Blend) and ev.design.weights == (0.8, 0.2)
        assert isinstance(ev.design.designs[0], RCT)
    assert "evaluation.incarceration_days.designs[1].bias" in deal.evaluations[0].parameters()


def test_a_period_that_is_not_a_name_is_a_scenario_file_error():
    """Found by tests/test_fuzz_toml.py once the scenarios above changed: [cohort] read the
    top-level period before it was checked, and a list raised a bare TypeError."""
    import tomllib

    from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario

    doc = tomllib.loads(builtin_scenarios()["chicago-cpc"].read_text(encoding="utf-8"))
    doc["period"] = [1, 2]
    with pytest.raises(ScenarioFileError, match=r"Scenario\.period: got \[1, 2\]; allowed: "):
        parse_scenario(doc, "chicago-cpc.toml")
