"""Tests of sibsim.money.evaluation: measured effects worked out by hand on small synthetic
outcome datasets (the schema of ``sibsim.simulate``), and on simulated ones."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import sibsim
from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Gamma, Normal, Scenario
from sibsim.engine.parameters import sample_parameter
from sibsim.money.evaluation import (
    EVALUATION_DESIGNS,
    RCT,
    BeforeAfter,
    Evaluation,
    EvaluationDesign,
    Historical,
    Matched,
    check_evaluations,
    contract_round,
    evaluate,
)
from sibsim.spec.toml import KeyProblem, Section

# --------------------------------------------------------------------------------------
# a synthetic outcome dataset
# --------------------------------------------------------------------------------------


def outcome_ds(events, sizes, entry, *, occupancy=None, states=None, seed=0):
    """An outcome dataset with the schema of ``sibsim.simulate``.

    ``events`` maps arm -> array (D, W, P) (or (D, W, K, P) with strata); ``sizes`` maps
    arm -> per-wave sizes (W,) (or (W, K)); ``occupancy`` maps arm -> (D, W, P, S).
    """
    arms = list(events)
    ev = np.stack([np.asarray(events[a], float) for a in arms], axis=1)
    if ev.ndim == 4:
        ev = ev[:, :, :, None, :]
    D, _A, W, K, P = ev.shape
    size = np.stack([np.asarray(sizes[a], float) for a in arms])
    if size.ndim == 2:
        size = size[:, :, None]
    engaged = np.zeros_like(ev)
    engaged[:, 0] = size[0][None, :, :, None]
    data = {
        "events": (("draw", "arm", "wave", "stratum", "period"), ev),
        "engaged": (("draw", "arm", "wave", "stratum", "period"), engaged),
        "size": (("arm", "wave", "stratum"), size),
        "entry_period": (("wave",), np.asarray(entry, dtype=np.int64)),
        "parameter_value": (("draw", "parameter"), np.ones((D, 1))),
    }
    coords = {"draw": np.arange(D), "arm": arms, "wave": np.arange(W),
              "stratum": [f"s{k}" for k in range(K)], "period": np.arange(P),
              "parameter": ["baseline.rate"]}
    if occupancy is not None:
        occ = np.stack([np.asarray(occupancy[a], float) for a in arms], axis=1)
        data["occupancy"] = (("draw", "arm", "wave", "stratum", "period", "state"),
                             occ[:, :, :, None, :, :])
        coords["state"] = list(states)
    return xr.Dataset(data, coords=coords,
                      attrs={"seed": seed, "period": "year", "periods_per_year": 1})


# Two waves entering in periods 0 and 2, a 2-period window, 6 periods. Values outside each
# wave's window (before entry or after the window) are large, so any masking error shows.
TREATED_D0 = [[3, 2, 90, 90, 90, 90], [50, 50, 4, 4, 70, 70]]
COMPARISON_D0 = [[8, 6, 90, 90, 90, 90], [50, 50, 10, 10, 70, 70]]
SIZES = {"treatment": [10, 20], "comparison": [20, 40]}
ENTRY = [0, 2]


def rounded(effect):
    """A measured effect as the evaluation reports it: rounded to the default precision,
    0.001 (0.1 percentage point), half away from zero."""
    return contract_round(np.asarray(effect, float), 0.001)


def two_wave_ds(seed=0):
    """Draw 0: treated rates 0.5 and 0.4, comparison 0.7 and 0.5 (pooled 13/30 vs 17/30).
    Draw 1: treated events doubled (rates 1.0 and 0.8)."""
    t = np.array([TREATED_D0, np.array(TREATED_D0) * 2], float)
    c = np.array([COMPARISON_D0, COMPARISON_D0], float)
    return outcome_ds({"treatment": t, "comparison": c}, SIZES, ENTRY, seed=seed)


def test_rct_hand_computed_effects_units_and_triggers():
    ev = Evaluation("reconviction", design="rct", window=2, report_lag=1)
    table = evaluate(two_wave_ds(), (ev,), seed=0)
    # triggers: wave 0, wave 1, pooled (a cumulative top-up over the per-wave triggers)
    assert table.metric == ("reconviction",) * 3
    # result known in entry + window - 1 + report_lag: 0+2-1+1 = 2, 2+2-1+1 = 4; pooled: last
    assert table.period == (2, 4, 4)
    assert table.cumulative == (False, False, True)
    assert table.participants == (10, 20, 30)
    expected_effect = [[1 - 0.5 / 0.7, 1 - 0.4 / 0.5, 1 - 13 / 17],
                       [1 - 1.0 / 0.7, 1 - 0.8 / 0.5, 1 - 26 / 17]]
    # units = (comparison rate - treated rate) x treated participants
    expected_units = [[(0.7 - 0.5) * 10, (0.5 - 0.4) * 20, (17 - 13) / 30 * 30],
                      [(0.7 - 1.0) * 10, (0.5 - 0.8) * 20, (17 - 26) / 30 * 30]]
    np.testing.assert_allclose(table.measured_effect, rounded(expected_effect), rtol=1e-12)
    np.testing.assert_allclose(table.units, expected_units, rtol=1e-12, atol=1e-12)
    assert table.gate.all()
    np.testing.assert_array_equal(table.avoided_cost, 0.0)


def test_strata_are_summed():
    """Splitting each group into two strata changes nothing."""
    base = two_wave_ds()
    ev = Evaluation("m", window=2, report_lag=1)
    t = np.stack([base["events"].sel(arm="treatment", stratum="s0").values * f
                  for f in (0.25, 0.75)], axis=2)
    c = np.stack([base["events"].sel(arm="comparison", stratum="s0").values * f
                  for f in (0.5, 0.5)], axis=2)
    sizes = {a: np.stack([np.asarray(SIZES[a], float) * f for f in (0.5, 0.5)], axis=1)
             for a in SIZES}
    split = outcome_ds({"treatment": t, "comparison": c}, sizes, ENTRY)
    a, b = evaluate(base, (ev,), 0), evaluate(split, (ev,), 0)
    np.testing.assert_allclose(b.measured_effect, a.measured_effect, rtol=1e-12)
    np.testing.assert_allclose(b.units, a.units, rtol=1e-12)


def test_value_per_unit_gives_avoided_cost():
    ev = Evaluation("m", window=2, report_lag=1, value_per_unit=2_500.0)
    table = evaluate(two_wave_ds(), (ev,), 0)
    np.testing.assert_allclose(table.avoided_cost, table.units * 2_500.0, rtol=1e-12)


def test_matched_fixed_bias_scales_the_counterfactual():
    ev = Evaluation("m", design="matched", window=2, report_lag=1, bias=0.25)
    table = evaluate(two_wave_ds(), (ev,), 0)
    c0, c1, cp = 0.7 * 1.25, 0.5 * 1.25, 17 / 30 * 1.25
    np.testing.assert_allclose(table.measured_effect[0],
                               rounded([1 - 0.5 / c0, 1 - 0.4 / c1, 1 - (13 / 30) / cp]),
                               rtol=1e-12)
    np.testing.assert_allclose(table.units[0],
                               [(c0 - 0.5) * 10, (c1 - 0.4) * 20, (cp - 13 / 30) * 30],
                               rtol=1e-12)


def test_matched_bias_below_minus_one_floors_the_counterfactual_at_zero():
    ev = Evaluation("m", design="matched", window=2, report_lag=1, bias=-1.5)
    table = evaluate(two_wave_ds(), (ev,), 0)
    # counterfactual rate max(0, 1 - 1.5) * rate = 0: no relative effect, units = -treated
    np.testing.assert_array_equal(table.measured_effect, 0.0)
    np.testing.assert_allclose(table.units[0], [-5.0, -8.0, -13.0])


def test_matched_uncertain_bias_is_sampled_per_draw_by_name():
    D = 50
    t = np.broadcast_to(np.array(TREATED_D0, float), (D, 2, 6))
    c = np.broadcast_to(np.array(COMPARISON_D0, float), (D, 2, 6))
    ds = outcome_ds({"treatment": t, "comparison": c}, SIZES, ENTRY, seed=7)
    bias = Normal(0.0, 0.1)
    ev = Evaluation("reconviction", design="matched", window=2, report_lag=1, bias=bias,
                    precision=None)  # unrounded, to recover the bias
    table = evaluate(ds, (ev,), seed=7)
    # counterfactual of wave 0 = 0.7 * (1 + bias): recover the bias of each draw
    implied = 0.5 / (1 - table.measured_effect[:, 0]) / 0.7 - 1
    want = sample_parameter(bias, "evaluation.reconviction.bias", 7, 0, D)
    np.testing.assert_allclose(implied, want, rtol=1e-9, atol=1e-12)
    assert np.std(implied) > 0.05  # really uncertain
    again = evaluate(ds, (ev,), seed=7)
    np.testing.assert_array_equal(again.measured_effect, table.measured_effect)
    other = evaluate(ds, (ev,), seed=8)
    assert not np.allclose(other.measured_effect, table.measured_effect)


def test_before_after_uses_the_comparison_arm_as_before_period():
    sizes = {"treatment": [10, 20], "comparison": [10, 20]}
    before = np.array([[[7, 7, 0, 0, 0, 0], [0, 0, 5, 5, 0, 0]]], float)
    after = np.array([TREATED_D0], float)
    ds = outcome_ds({"treatment": after, "comparison": before}, sizes, ENTRY)
    ev = Evaluation("m", design="before_after", window=2, report_lag=0, bias=-0.2)
    table = evaluate(ds, (ev,), 0)
    # before rates 1.4 and 0.5, times (1 - 0.2); after rates 0.5 and 0.4
    b0, b1, bp = 1.4 * 0.8, 0.5 * 0.8, 24 / 30 * 0.8
    np.testing.assert_allclose(table.measured_effect[0],
                               rounded([1 - 0.5 / b0, 1 - 0.4 / b1, 1 - (13 / 30) / bp]),
                               rtol=1e-12)
    assert table.period == (1, 3, 3)


def test_historical_rate_without_comparison_arm():
    t = np.array([TREATED_D0], float)
    ds = outcome_ds({"treatment": t}, {"treatment": [10, 20]}, ENTRY)
    ev = Evaluation("m", design="historical", window=2, report_lag=1, historical_rate=0.8)
    table = evaluate(ds, (ev,), 0)
    np.testing.assert_allclose(table.measured_effect[0],
                               rounded([1 - 0.5 / 0.8, 1 - 0.4 / 0.8, 1 - (13 / 30) / 0.8]),
                               rtol=1e-12)
    np.testing.assert_allclose(table.units[0], [3.0, 8.0, 11.0], rtol=1e-12)
    assert table.period == (2, 4, 4)


def test_historical_ignores_a_comparison_arm_and_samples_its_rate():
    D = 40
    t = np.broadcast_to(np.array(TREATED_D0, float), (D, 2, 6))
    c = np.zeros_like(t)  # an empty comparison arm must not matter
    ds = outcome_ds({"treatment": t, "comparison": c}, SIZES, ENTRY, seed=3)
    rate = Gamma.from_mean_sd(0.8, 0.1)
    ev = Evaluation("m", design="historical", window=2, report_lag=1, historical_rate=rate)
    table = evaluate(ds, (ev,), seed=3)
    want = sample_parameter(rate, "evaluation.m.historical_rate", 3, 0, D)
    np.testing.assert_allclose(table.units[:, 0], (want - 0.5) * 10, rtol=1e-9)
    np.testing.assert_allclose(table.units[:, 2], (want - 13 / 30) * 30, rtol=1e-9)


def test_designs_needing_a_comparison_fail_without_one():
    ds = outcome_ds({"treatment": np.array([TREATED_D0], float)}, {"treatment": [10, 20]},
                    ENTRY)
    for design in ("rct", "matched", "before_after"):
        with pytest.raises(ValueError, match=r"Evaluation\[m\]\.design"):
            evaluate(ds, (Evaluation("m", design=design),), 0)


def test_per_wave_only_and_pooled_only():
    ds = two_wave_ds()
    only_waves = evaluate(ds, (Evaluation("m", window=2, pooled=False),), 0)
    assert only_waves.n_triggers == 2 and only_waves.cumulative == (False, False)
    only_pooled = evaluate(ds, (Evaluation("m", window=2, per_wave=False, report_lag=3),), 0)
    assert only_pooled.n_triggers == 1
    # a pooled trigger alone is not a top-up
    assert only_pooled.cumulative == (False,)
    assert only_pooled.period == (2 + 2 - 1 + 3,)
    assert only_pooled.participants == (30,)


def test_wave_without_treated_participants_has_no_trigger():
    sizes = {"treatment": [10, 0], "comparison": [20, 40]}
    t = np.array([TREATED_D0], float)
    t[:, 1] = 0.0
    ds = outcome_ds({"treatment": t, "comparison": np.array([COMPARISON_D0], float)}, sizes,
                    ENTRY)
    table = evaluate(ds, (Evaluation("m", window=2),), 0)
    assert table.participants == (10, 10)
    assert table.cumulative == (False, True)


def test_several_evaluations_are_concatenated():
    ds = two_wave_ds()
    table = evaluate(ds, (Evaluation("a", window=2, pooled=False),
                          Evaluation("b", window=1, per_wave=False)), 0)
    assert table.metric == ("a", "a", "b")
    assert table.period == (1, 3, 2)


# --------------------------------------------------------------------------------------
# significance gate
# --------------------------------------------------------------------------------------


def gate_ds(n_t, n_c, t_units, c_units):
    """One wave, one period, one draw per (t_units, c_units) pair."""
    t = np.array(t_units, float).reshape(-1, 1, 1)
    c = np.array(c_units, float).reshape(-1, 1, 1)
    return outcome_ds({"treatment": t, "comparison": c},
                      {"treatment": [n_t], "comparison": [n_c]}, [0])


def test_gate_tiny_samples_fail_and_huge_effects_pass():
    ev = Evaluation("m", window=1, pooled=False, alpha=0.05)
    tiny = evaluate(gate_ds(3, 3, [2], [3]), (ev,), 0)
    assert tiny.measured_effect[0, 0] == rounded(1 / 3) == 0.333  # a large measured effect...
    assert not tiny.gate[0, 0]  # ...that is not significant on 3 people
    huge = evaluate(gate_ds(10_000, 10_000, [5_000], [10_000]), (ev,), 0)
    assert huge.gate[0, 0]


def test_gate_one_sided_z_test_at_alpha():
    # n = 100 per arm, 100 comparison events (rate 1): z = (100 - x) / sqrt(100 + x)
    ds = gate_ds(100, 100, [80, 75, 110], [100, 100, 100])
    # z = 1.49 (fails at 5%), 1.89 (passes at 5%, fails at 1%), negative
    at5 = evaluate(ds, (Evaluation("m", pooled=False, alpha=0.05),), 0)
    at1 = evaluate(ds, (Evaluation("m", pooled=False, alpha=0.01),), 0)
    none = evaluate(ds, (Evaluation("m", pooled=False),), 0)
    assert at5.gate[:, 0].tolist() == [False, True, False]
    assert at1.gate[:, 0].tolist() == [False, False, False]
    assert none.gate.all()
    # the gate never changes the measured effect
    np.testing.assert_array_equal(at5.measured_effect, none.measured_effect)
    z = (100 - np.array([80, 75])) / np.sqrt(100 + np.array([80, 75]))
    assert z[0] < stats.norm.isf(0.05) < z[1] < stats.norm.isf(0.01)


def test_gate_variance_of_a_biased_comparison_scales_with_bias_squared():
    # bias 0.5: counterfactual 1.5, variance 100 / 100**2 * 1.5**2; treated 120 events:
    # z = 0.3 / sqrt(0.012 + 0.0225) = 1.615 < 1.645 (fails); a variance scaled by 1.5 or
    # not scaled at all would give z = 1.83 or 2.02 (passes)
    ds = gate_ds(100, 100, [120, 105], [100, 100])
    ev = Evaluation("m", design="matched", pooled=False, alpha=0.05, bias=0.5)
    table = evaluate(ds, (ev,), 0)
    assert table.gate[:, 0].tolist() == [False, True]


def test_gate_historical_has_no_comparison_variance():
    # rate 0.4 on 100 people vs historical 0.5: z = 0.1 / sqrt(40 / 100**2) = 1.58 (fails);
    # 0.37: z = 0.13 / sqrt(0.0037) = 2.14 (passes)
    t = np.array([40, 37], float).reshape(-1, 1, 1)
    ds = outcome_ds({"treatment": t}, {"treatment": [100]}, [0])
    ev = Evaluation("m", design="historical", historical_rate=0.5, pooled=False, alpha=0.05)
    assert evaluate(ds, (ev,), 0).gate[:, 0].tolist() == [False, True]


# --------------------------------------------------------------------------------------
# direction and occupancy
# --------------------------------------------------------------------------------------


def test_direction_increase():
    # employment: treated 30 of 50 (0.6), comparison 50 of 100 (0.5)
    ds = gate_ds(50, 100, [30, 20], [50, 50])
    table = evaluate(ds, (Evaluation("employment", direction="increase", pooled=False),), 0)
    np.testing.assert_allclose(table.measured_effect[:, 0], [0.6 / 0.5 - 1, 0.4 / 0.5 - 1])
    np.testing.assert_allclose(table.units[:, 0], [(0.6 - 0.5) * 50, (0.4 - 0.5) * 50])
    gated = evaluate(ds, (Evaluation("employment", direction="increase", pooled=False,
                                     alpha=0.45),), 0)
    assert gated.gate[:, 0].tolist() == [True, False]


STATES = ("well", "sick", "dead")


def occupancy_ds():
    """One wave of 10 treated and 10 comparison people, 3 periods."""
    occ_t = np.zeros((1, 1, 3, 3))
    occ_c = np.zeros((1, 1, 3, 3))
    occ_t[0, 0, :, 1] = [2, 3, 9]  # sick person-periods; period 2 is outside a 2-period window
    occ_c[0, 0, :, 1] = [4, 6, 0]
    occ_t[0, 0, :, 0] = [8, 7, 1]
    occ_c[0, 0, :, 0] = [6, 4, 10]
    events = np.full((1, 1, 3), 100.0)  # events must be ignored
    return outcome_ds({"treatment": events, "comparison": events},
                      {"treatment": [10], "comparison": [10]}, [0],
                      occupancy={"treatment": occ_t, "comparison": occ_c}, states=STATES)


def test_occupancy_outcome_with_a_state():
    ev = Evaluation("days_sick", outcome="occupancy", state="sick", window=2, pooled=False)
    table = evaluate(occupancy_ds(), (ev,), 0)
    # treated 5 person-periods per 10 people = 0.5, comparison 10 / 10 = 1.0
    np.testing.assert_allclose(table.measured_effect, [[0.5]])
    np.testing.assert_allclose(table.units, [[5.0]])
    up = Evaluation("days_well", outcome="occupancy", state="well", window=2, pooled=False,
                    direction="increase")
    table = evaluate(occupancy_ds(), (up,), 0)
    np.testing.assert_allclose(table.measured_effect, [[1.5 / 1.0 - 1]])
    np.testing.assert_allclose(table.units, [[5.0]])


def test_occupancy_unknown_state_names_the_field():
    ev = Evaluation("m", outcome="occupancy", state="in_care", pooled=False)
    with pytest.raises(ValueError, match=r"Evaluation\.state"):
        evaluate(occupancy_ds(), (ev,), 0)
    ev = Evaluation("m", outcome="occupancy", state="sick", pooled=False)
    with pytest.raises(ValueError, match=r"Evaluation\.state"):
        evaluate(two_wave_ds(), (ev,), 0)  # a counts dataset has no states


# --------------------------------------------------------------------------------------
# simulated outcomes
# --------------------------------------------------------------------------------------


def count_scenario(rate=1.2, rr=0.8, engagement=1.0, entry=(200, 300), ratio=1):
    return Scenario(cohort=Cohort(entry=entry), outcome=CountOutcome(rate), horizon=4,
                    effect=Effect("rr", rr, engagement=engagement),
                    comparison=ComparisonGroup(ratio=ratio))


@pytest.mark.parametrize("engagement", [1.0, 0.5])
def test_expected_engine_rct_measures_the_true_effect(engagement):
    sc = count_scenario(engagement=engagement)
    ds = sibsim.simulate(sc, draws=3, seed=0, engine="expected", progress=False)
    table = evaluate(ds, (Evaluation("m", window=2, report_lag=1),), 0)
    true = engagement * (1 - 0.8)  # only engaged participants get the effect
    np.testing.assert_allclose(table.measured_effect, true, rtol=1e-9)
    want = np.broadcast_to(1.2 * 2 * true * np.array([200.0, 300.0, 500.0]), (3, 3))
    np.testing.assert_allclose(table.units, want, rtol=1e-9)
    assert table.period == (2, 3, 3)


def test_stochastic_rct_units_are_unbiased():
    """E[(comparison rate - treated rate) x n] = rate x (1 - rr) x n: check within 4 SE."""
    sc = count_scenario(entry=(100,), ratio=2)
    D = 400
    ds = sibsim.simulate(sc, draws=D, seed=11, engine="aggregate", progress=False)
    u = evaluate(ds, (Evaluation("m", window=1, pooled=False),), 11).units[:, 0]
    se = u.std(ddof=1) / np.sqrt(D)
    assert abs(u.mean() - 1.2 * 0.2 * 100) < 4 * se
    assert se < 1.0  # the test has power: the effect is 24 units


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"design": "bogus"}, "Evaluation.design"),
        ({"window": 0}, "Evaluation.window"),
        ({"window": 1.5}, "Evaluation.window"),
        ({"outcome": "money"}, "Evaluation.outcome"),
        ({"outcome": "occupancy"}, "Evaluation.state"),
        ({"direction": "down"}, "Evaluation.direction"),
        ({"per_wave": "yes"}, "Evaluation.per_wave"),
        ({"pooled": 1}, "Evaluation.pooled"),
        ({"per_wave": False, "pooled": False}, "Evaluation.per_wave/pooled"),
        ({"design": "historical"}, "Evaluation.historical_rate"),
        ({"historical_rate": 0.5}, "Evaluation.historical_rate"),
        ({"design": "historical", "historical_rate": -0.1}, "Evaluation.historical_rate"),
        ({"design": "historical", "historical_rate": Normal(1.0, 0.1)},
         "Evaluation.historical_rate"),
        ({"alpha": 0.0}, "Evaluation.alpha"),
        ({"alpha": 0.6}, "Evaluation.alpha"),
        ({"report_lag": -1}, "Evaluation.report_lag"),
        ({"value_per_unit": -5.0}, "Evaluation.value_per_unit"),
        ({"bias": "big"}, "Evaluation.bias"),
        ({"bias": float("nan")}, "Evaluation.bias"),
    ],
)
def test_validation_errors_name_the_field(kwargs, field):
    with pytest.raises((ValueError, TypeError), match=field.replace(".", r"\.")):
        Evaluation("m", **kwargs)


def test_metric_name_is_validated():
    with pytest.raises(TypeError, match=r"Evaluation\.metric"):
        Evaluation("")


def test_parameters_lists_only_the_uncertain_inputs_of_the_design():
    assert Evaluation("m").parameters() == {}
    assert set(Evaluation("m", design="matched").parameters()) == {"evaluation.m.bias"}
    assert set(Evaluation("m", design="historical", historical_rate=0.3).parameters()) == {
        "evaluation.m.historical_rate"}


# --------------------------------------------------------------------------------------
# designs: registry, new and old spellings
# --------------------------------------------------------------------------------------


def test_registry_lists_the_designs_by_kind():
    # "blend" (issue 6: Massachusetts' backstop estimate) added after the first four;
    # "predicted" (issue 6: Työllisyys-SIB's drifting prediction) registered after historical
    assert EVALUATION_DESIGNS.names() == ("rct", "matched", "historical", "predicted",
                                          "before_after", "blend")
    assert EVALUATION_DESIGNS["matched"] is Matched
    assert EVALUATION_DESIGNS["before_after"] is BeforeAfter
    # a blend's need of a comparison arm depends on its designs (tests/test_contract_targets.py)
    assert [c.needs_comparison for c in EVALUATION_DESIGNS.classes()[:5]] == [True, True, False,
                                                                              False, True]
    with pytest.raises(ValueError, match=r"evaluation design kind: got 'quasi'; allowed: one "
                                         r"of 'rct', 'matched', 'historical', 'predicted', "
                                         r"'before_after'"):
        EVALUATION_DESIGNS["quasi"]


def test_public_names_are_importable_from_sibsim_money():
    import sibsim.money as money

    for name in ("EVALUATION_DESIGNS", "RCT", "Matched", "Historical", "BeforeAfter",
                 "Evaluation", "EvaluationDesign", "check_evaluations", "evaluate"):
        assert name in money.__all__ and hasattr(money, name)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({}, {}),
        ({"design": "rct"}, {"design": RCT()}),
        ({"design": "matched"}, {"design": Matched()}),
        ({"design": "matched", "bias": 0.25}, {"design": Matched(bias=0.25)}),
        ({"design": "matched", "bias": Normal(0.0, 0.1)},
         {"design": Matched(bias=Normal(0.0, 0.1))}),
        ({"design": "before_after", "bias": -0.2}, {"design": BeforeAfter(bias=-0.2)}),
        ({"design": "historical", "historical_rate": 0.8},
         {"design": Historical(historical_rate=0.8)}),
    ],
)
def test_old_flat_spelling_builds_the_same_design(old, new):
    a, b = Evaluation("m", window=2, **old), Evaluation("m", window=2, **new)
    assert a == b
    assert isinstance(a.design, EvaluationDesign)
    assert a.bias is None and a.historical_rate is None
    assert a.parameters() == b.parameters()


def test_new_spelling_gives_the_same_results():
    ds = two_wave_ds()
    for old, new in [(Evaluation("m", design="matched", window=2, bias=0.25),
                      Evaluation("m", design=Matched(bias=0.25), window=2)),
                     (Evaluation("m", design="rct", window=2, alpha=0.05),
                      Evaluation("m", design=RCT(), window=2, alpha=0.05))]:
        a, b = evaluate(ds, (old,), 3), evaluate(ds, (new,), 3)
        np.testing.assert_array_equal(a.measured_effect, b.measured_effect)
        np.testing.assert_array_equal(a.units, b.units)
        np.testing.assert_array_equal(a.gate, b.gate)


def test_designs_validate_their_own_fields():
    assert Matched().bias == sibsim.Fixed(0.0)
    with pytest.raises(TypeError, match="bias"):
        RCT(bias=0.1)  # an RCT has no bias
    with pytest.raises(TypeError, match="historical_rate"):
        Historical()  # required
    with pytest.raises(ValueError, match=r"Historical\.historical_rate"):
        Historical(historical_rate=-0.1)
    with pytest.raises(ValueError, match=r"Historical\.historical_rate"):
        Historical(historical_rate=Normal(1.0, 0.1))  # can be negative
    with pytest.raises(TypeError, match=r"Matched\.bias"):
        Matched(bias="big")
    with pytest.raises(ValueError, match=r"BeforeAfter\.bias"):
        BeforeAfter(bias=float("inf"))
    assert set(Historical(historical_rate=0.3).parameters("x")) == {"evaluation.x.historical_rate"}
    assert set(BeforeAfter().parameters("x")) == {"evaluation.x.bias"}
    assert RCT().parameters("x") == {}


def test_flat_keys_are_refused_where_the_design_has_no_such_field():
    with pytest.raises(ValueError, match=r"Evaluation\.bias: got 0\.1; allowed: no bias for "
                                         r"design 'rct' \(designs with a bias: 'matched', "
                                         r"'before_after'\)"):
        Evaluation("m", bias=0.1)
    with pytest.raises(ValueError, match=r"Evaluation\.bias.*design 'historical'"):
        Evaluation("m", design="historical", historical_rate=0.5, bias=0.1)
    with pytest.raises(ValueError, match=r"Evaluation\.historical_rate.*design 'matched'"):
        Evaluation("m", design=Matched(), historical_rate=0.5)


def test_flat_keys_with_a_design_object_point_to_the_design():
    with pytest.raises(ValueError, match=r"Evaluation\.bias.*design=Matched\(bias=\.\.\.\)"):
        Evaluation("m", design=Matched(bias=0.1), bias=0.2)


def test_design_must_be_a_design_or_a_kind():
    with pytest.raises(TypeError, match=r"Evaluation\.design: got int"):
        Evaluation("m", design=3)
    with pytest.raises(ValueError, match=r"Evaluation\.design: got 'quasi'; allowed: a design "
                                         r"object or one of 'rct', 'matched'"):
        Evaluation("m", design="quasi")


def test_alpha_is_a_fraction_and_a_percent_slip_is_explained():
    with pytest.raises(ValueError, match=r"Evaluation\.alpha: got 5; .*write 0\.05 for 5%"):
        Evaluation("m", alpha=5)
    assert Evaluation("m", alpha=0.5).alpha == 0.5


def test_a_new_design_needs_no_change_to_evaluate():
    """evaluate() calls design methods: an unregistered design subclass works as is."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Halved(EvaluationDesign):
        kind = "halved"

        def counterfactual(self, metric, params, comparison, waves):
            rate, var = RCT().counterfactual(metric, params, comparison, waves)
            return rate * 0.5, var * 0.25

    ds = two_wave_ds()
    table = evaluate(ds, (Evaluation("m", design=Halved(), window=2),), 0)
    np.testing.assert_allclose(table.units[0], [(0.35 - 0.5) * 10, (0.25 - 0.4) * 20,
                                                (17 / 60 - 13 / 30) * 30], rtol=1e-12)


# --------------------------------------------------------------------------------------
# TOML
# --------------------------------------------------------------------------------------


def from_toml(table):
    return Evaluation.from_toml(Section("evaluation[0]", table))


def test_from_toml_new_spelling():
    ev = from_toml({"metric": "reconviction", "window": 1, "report_lag": 1,
                    "design": {"kind": "matched",
                               "bias": {"dist": "normal", "mean": 0.0, "sd": 0.02}}})
    assert ev == Evaluation("reconviction", design=Matched(bias=Normal(0.0, 0.02)), window=1,
                            report_lag=1)
    ev = from_toml({"metric": "m", "design": {"kind": "historical", "historical_rate": 2.8}})
    assert ev.design == Historical(historical_rate=2.8)
    assert from_toml({"metric": "m", "design": {"kind": "before_after"}}).design == \
        BeforeAfter()


def test_from_toml_old_spelling_and_defaults():
    assert from_toml({"metric": "m"}) == Evaluation("m")
    assert from_toml({"metric": "m", "design": "rct"}).design == RCT()
    ev = from_toml({"metric": "m", "design": "matched",
                    "bias": {"dist": "normal", "mean": 0.0, "sd": 0.02}, "alpha": 0.1,
                    "per_wave": False, "value_per_unit": 2_600})
    assert ev == Evaluation("m", design=Matched(bias=Normal(0.0, 0.02)), alpha=0.1,
                            per_wave=False, value_per_unit=2_600.0)
    ev = from_toml({"metric": "m", "design": "historical",
                    "historical_rate": {"dist": "gamma", "mean": 2.8, "sd": 0.1}})
    assert ev.design == Historical(historical_rate=Gamma.from_mean_sd(2.8, 0.1))


@pytest.mark.parametrize(
    ("table", "key", "problem"),
    [
        ({}, r"evaluation\[0\]\.metric", "required"),
        ({"metric": "m", "design": "quasi"}, r"evaluation\[0\]\.design",
         "'quasi'; allowed: 'rct', 'matched', 'historical', 'predicted', 'before_after'"),
        ({"metric": "m", "design": {"kind": "quasi"}}, r"evaluation\[0\]\.design\.kind",
         "'quasi'"),
        ({"metric": "m", "design": {"bias": 0.1}}, r"evaluation\[0\]\.design\.kind",
         "required"),
        ({"metric": "m", "design": 3}, r"evaluation\[0\]\.design", "evaluation design table"),
        ({"metric": "m", "design": {"kind": "rct", "bias": 0.1}},
         r"evaluation\[0\]\.design\.bias", "unknown key"),
        ({"metric": "m", "design": {"kind": "historical"}},
         r"evaluation\[0\]\.design\.historical_rate", "required"),
        ({"metric": "m", "design": {"kind": "matched", "bias": {"dist": "normal"}}},
         r"evaluation\[0\]\.design\.bias", "normal distribution takes"),
        ({"metric": "m", "design": {"kind": "historical", "historical_rate": -1.0}},
         r"evaluation\[0\]\.design", r"Historical\.historical_rate"),
        ({"metric": "m", "design": {"kind": "matched"}, "bias": 0.1}, r"evaluation\[0\]",
         r"Evaluation\.bias.*design=Matched"),
        ({"metric": "m", "design": "rct", "bias": 0.1}, r"evaluation\[0\]",
         r"Evaluation\.bias.*no bias for design 'rct'"),
        ({"metric": "m", "design": "historical"}, r"evaluation\[0\]",
         r"Evaluation\.historical_rate"),
        ({"metric": "m", "alpha": 5}, r"evaluation\[0\]", "write 0.05 for 5%"),
        ({"metric": "m", "windw": 2}, r"evaluation\[0\]\.windw", "unknown key"),
    ],
)
def test_from_toml_problems_name_the_key(table, key, problem):
    with pytest.raises(KeyProblem) as info:
        from_toml(table)
    assert re.fullmatch(key, info.value.key), info.value.key
    assert re.search(problem, info.value.problem), info.value.problem


def test_builtin_scenarios_use_design_tables():
    from sibsim.scenario_file import builtin_scenarios, load_scenario

    want = {"peterborough": Matched(bias=Normal(0.0, 0.02)),
            "nyc-able": Matched(bias=Normal(0.0, 0.03)),
            "utah-preschool": Historical(historical_rate=1.0)}
    for name, design in want.items():
        assert "design = {kind" in builtin_scenarios()[name].read_text(encoding="utf-8")
        (ev,) = load_scenario(name).evaluations
        assert ev.design == design


# --------------------------------------------------------------------------------------
# one evaluation per metric
# --------------------------------------------------------------------------------------


def test_check_evaluations_refuses_two_evaluations_of_one_metric():
    a, b = Evaluation("a"), Evaluation("b", design=Matched())
    assert check_evaluations([a, b]) == (a, b)
    assert check_evaluations(a) == (a,)
    with pytest.raises(ValueError, match=r"evaluations: got \['a', 'b', 'a'\]; allowed: unique "
                                         r"metrics.*\(repeated: a\)"):
        check_evaluations([a, b, Evaluation("a", window=2)])
    for bad in ([], [a, "b"], 3):
        with pytest.raises(ValueError, match="one or more Evaluation"):
            check_evaluations(bad)


def test_deal_refuses_duplicate_evaluations():
    deal = sibsim.load_scenario("peterborough")
    (ev,) = deal.evaluations
    with pytest.raises(ValueError, match=r"Deal\.evaluations.*repeated: reconviction"):
        deal.replace(evaluations=(ev, ev))


def test_scenario_file_refuses_duplicate_evaluations():
    import tomllib

    from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario

    text = builtin_scenarios()["peterborough"].read_text(encoding="utf-8")
    data = tomllib.loads(text)
    data["evaluation"] = data["evaluation"] * 2
    with pytest.raises(ScenarioFileError, match=r"key 'evaluation': .*repeated: reconviction"):
        parse_scenario(data, "twice.toml")


# --------------------------------------------------------------------------------------
# evaluation on a subgroup (stratum)
# --------------------------------------------------------------------------------------


def two_strata_ds():
    """Two waves (entry 0 and 2), two strata s0 and s1, 6 periods, one draw.

    s0: treated rates over a 2-period window 0.5 and 0.4, comparison 0.7 and 0.5 (as
    ``two_wave_ds``); s1: treated 0.1 and 1.0, comparison 0.2 and 1.25 (sizes 5 and 8 treated,
    10 and 16 comparison)."""
    t0, c0 = np.array(TREATED_D0, float), np.array(COMPARISON_D0, float)
    t1 = np.array([[0.25, 0.25, 70, 70, 70, 70], [30, 30, 4, 4, 30, 30]])
    c1 = np.array([[1, 1, 70, 70, 70, 70], [30, 30, 10, 10, 30, 30]], float)
    t = np.stack([t0, t1], axis=1)[None]  # (D, W, K, P)
    c = np.stack([c0, c1], axis=1)[None]
    sizes = {"treatment": [[10, 5], [20, 8]], "comparison": [[20, 10], [40, 16]]}
    return outcome_ds({"treatment": t, "comparison": c}, sizes, ENTRY)


def test_stratum_measures_only_its_people():
    ds = two_strata_ds()
    ev = Evaluation("m", window=2, report_lag=1, precision=None, stratum="s1")
    assert ev.stratum == ("s1",)
    table = evaluate(ds, (ev,), 0)
    assert table.participants == (5, 8, 13)
    np.testing.assert_allclose(table.measured_effect[0],
                               [1 - 0.1 / 0.2, 1 - 1.0 / 1.25, 1 - (8.5 / 13) / (22 / 26)],
                               rtol=1e-12)
    np.testing.assert_allclose(table.units[0], [0.5, 2.0, (22 / 26 - 8.5 / 13) * 13],
                               rtol=1e-12)
    # s0 alone gives the one-stratum dataset's results
    s0 = evaluate(ds, (Evaluation("m", window=2, report_lag=1, stratum=["s0"]),), 0)
    base = evaluate(two_wave_ds(), (Evaluation("m", window=2, report_lag=1),), 0)
    np.testing.assert_array_equal(s0.measured_effect[0], base.measured_effect[0])
    np.testing.assert_allclose(s0.units[0], base.units[0], rtol=1e-12)
    # both strata listed = no stratum given
    both = evaluate(ds, (Evaluation("m", window=2, stratum=("s1", "s0")),), 0)
    whole = evaluate(ds, (Evaluation("m", window=2),), 0)
    np.testing.assert_allclose(both.units, whole.units, rtol=1e-12)
    assert both.participants == whole.participants == (15, 28, 43)


def test_stratum_expected_engine_measures_the_subgroups_true_effect():
    sc = Scenario(cohort=Cohort(entry=(200, 300), strata=(sibsim.Stratum("young", 0.4, 2.0),
                                                          sibsim.Stratum("adult", 0.6, 0.5))),
                  outcome=CountOutcome(1.0), horizon=3, effect=Effect("rr", 0.8),
                  comparison=ComparisonGroup(ratio=1))
    ds = sibsim.simulate(sc, draws=2, seed=0, engine="expected", progress=False)
    for name, rate, share in (("young", 2.0, 0.4), ("adult", 0.5, 0.6)):
        table = evaluate(ds, (Evaluation("m", window=2, stratum=name, precision=None),), 0)
        n = np.array([200, 300, 500]) * share
        assert table.participants == tuple(int(x) for x in n)
        np.testing.assert_allclose(table.measured_effect, 0.2, rtol=1e-9)
        np.testing.assert_allclose(table.units, np.broadcast_to(rate * 2 * 0.2 * n, (2, 3)),
                                   rtol=1e-9)


def test_unknown_stratum_names_the_allowed_strata():
    ds = two_strata_ds()
    for bad in ("s2", ["s0", "s9"]):
        with pytest.raises(ValueError, match=r"Evaluation\[m\]\.stratum: got 's[29]'; "
                                             r"allowed: strata of the scenario: 's0', 's1'"):
            evaluate(ds, (Evaluation("m", window=2, stratum=bad),), 0)
    with pytest.raises(ValueError, match=r"Evaluation\.stratum: .*repeated: s0"):
        Evaluation("m", stratum=["s0", "s0"])
    with pytest.raises(TypeError, match=r"Evaluation\.stratum"):
        Evaluation("m", stratum="")


def test_stratum_without_treated_people_is_an_error():
    ds = two_strata_ds()
    ds["size"].loc[{"arm": "treatment", "stratum": "s1"}] = 0.0
    with pytest.raises(ValueError, match=r"Evaluation\[m\]\.stratum: got \('s1',\); allowed: "
                                         r"strata with treated participants"):
        evaluate(ds, (Evaluation("m", window=2, stratum="s1"),), 0)


def test_deal_checks_strata_and_per_wave_lengths_against_the_scenario():
    deal = sibsim.load_scenario("peterborough")  # three waves, no strata (one named "all")
    with pytest.raises(ValueError, match=r"Evaluation\[reconviction\]\.stratum: got 'young'; "
                                         r"allowed: strata of the scenario: 'all'"):
        deal.replace(evaluations=(Evaluation("reconviction", stratum="young"),))
    with pytest.raises(ValueError, match=r"Evaluation\[reconviction\]\.design\.bias: .*one "
                                         r"value per entry wave of the scenario \(3"):
        deal.replace(evaluations=(Evaluation("reconviction", design=Matched(bias=[0.0, 0.1])),))
    ok = deal.replace(evaluations=(Evaluation("reconviction", stratum="all",
                                              design=Matched(bias=[0.0, 0.1, 0.2])),))
    assert ok.evaluations[0].design.bias[2] == sibsim.Fixed(0.2)


# --------------------------------------------------------------------------------------
# windows: offset from entry, or fixed on the calendar
# --------------------------------------------------------------------------------------


def test_window_start_offsets_the_window_from_entry():
    # wave 0 measured in period 1 only, wave 1 in period 3: rates 2/10 vs 6/20, 4/20 vs 10/40
    ev = Evaluation("m", window=1, window_start=1, report_lag=2, precision=None)
    table = evaluate(two_wave_ds(), (ev,), 0)
    assert table.period == (1 + 2, 3 + 2, 3 + 2)
    np.testing.assert_allclose(table.measured_effect[0],
                               [1 - 0.2 / 0.3, 1 - 0.2 / 0.25, 1 - (6 / 30) / (16 / 60)],
                               rtol=1e-12)
    np.testing.assert_allclose(table.units[0], [1.0, 1.0, (16 / 60 - 6 / 30) * 30], rtol=1e-12)
    # window_start = 0 is the default window
    a = evaluate(two_wave_ds(), (Evaluation("m", window=2, window_start=0),), 0)
    b = evaluate(two_wave_ds(), (Evaluation("m", window=2),), 0)
    np.testing.assert_array_equal(a.units, b.units)


def test_window_start_past_the_horizon_is_an_error():
    with pytest.raises(ValueError, match=r"Evaluation\[m\]\.window: got 2; allowed: a follow-up "
                                         r"window 3 period\(s\) after entry that ends within the "
                                         r"horizon of 6 periods .*wave 1 enters in period 2"):
        evaluate(two_wave_ds(), (Evaluation("m", window=2, window_start=3),), 0)


def calendar_ds():
    """Waves entering in periods 0 and 2 (10 and 20 treated, 20 and 40 comparison), 5 periods.
    Wave 1 has events before its entry, which no window may count."""
    t = np.array([[[1, 2, 3, 4, 5], [50, 50, 6, 7, 8]]], float)
    c = np.array([[[4, 4, 8, 8, 8], [50, 50, 20, 20, 20]]], float)
    return outcome_ds({"treatment": t, "comparison": c}, SIZES, ENTRY)


def test_calendar_window_measures_every_wave_over_the_same_periods():
    ev = Evaluation("m", clock="calendar", calendar_window=[1, 3], report_lag=1, precision=None)
    assert ev.calendar_window == (1, 3)
    table = evaluate(calendar_ds(), (ev,), 0)
    # wave 0: periods 1-3, treated 2+3+4 = 9 of 10, comparison 20 of 20; wave 1: periods 2-3
    # (from its entry), treated 13 of 20, comparison 40 of 40; all known in 3 + 1
    assert table.period == (4, 4, 4)
    np.testing.assert_allclose(table.measured_effect[0],
                               [1 - 0.9 / 1.0, 1 - 0.65 / 1.0, 1 - (22 / 30) / (60 / 60)],
                               rtol=1e-12)
    np.testing.assert_allclose(table.units[0], [1.0, 7.0, 8.0], rtol=1e-12)
    # window = the calendar window's length is accepted
    same = Evaluation("m", clock="calendar", calendar_window=(1, 3), window=3, precision=None)
    np.testing.assert_array_equal(evaluate(calendar_ds(), (same,), 0).units, table.units)


def test_calendar_window_errors():
    with pytest.raises(ValueError, match=r"Evaluation\[m\]\.calendar_window: got \(1, 5\); "
                                         r"allowed: calendar periods within the horizon of 5"):
        evaluate(calendar_ds(), (Evaluation("m", clock="calendar", calendar_window=(1, 5)),), 0)
    with pytest.raises(ValueError, match=r"Evaluation\[m\]\.calendar_window: got \(0, 1\); "
                                         r"allowed: .*wave 1 enters in period 2"):
        evaluate(calendar_ds(), (Evaluation("m", clock="calendar", calendar_window=(0, 1)),), 0)
    # an empty wave entering after the window is no problem
    ds = calendar_ds()
    ds["size"].loc[{"wave": 1}] = 0.0
    table = evaluate(ds, (Evaluation("m", clock="calendar", calendar_window=(0, 1)),), 0)
    assert table.participants == (10, 10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"calendar_window": (1, 2)}, r"Evaluation\.calendar_window: got \(1, 2\); allowed: "
                                      r"None with clock = 'entry'"),
        ({"clock": "calendar"}, r"Evaluation\.calendar_window: got None; allowed: \[first, "
                                r"last\] calendar periods \(required with clock = 'calendar'\)"),
        ({"clock": "calendar", "calendar_window": (3, 2)}, r"first <= last"),
        ({"clock": "calendar", "calendar_window": (1, 2, 3)}, r"two periods"),
        ({"clock": "calendar", "calendar_window": (1,)}, r"at least 2 value"),
        ({"clock": "calendar", "calendar_window": (-1, 2)}, r"calendar_window\[0\]"),
        ({"clock": "calendar", "calendar_window": (1, 2), "window_start": 1},
         r"Evaluation\.window_start: got 1; allowed: 0 with clock = 'calendar'"),
        ({"clock": "calendar", "calendar_window": (1, 3), "window": 2},
         r"Evaluation\.window: got 2; allowed: 1 \(left out\) or 3"),
        ({"clock": "fiscal"}, r"Evaluation\.clock"),
        ({"window_start": -1}, r"Evaluation\.window_start"),
    ],
)
def test_window_options_are_validated(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Evaluation("m", **kwargs)


# --------------------------------------------------------------------------------------
# one trigger per wave and period (per_period)
# --------------------------------------------------------------------------------------


def test_per_period_gives_one_trigger_per_wave_and_period():
    ev = Evaluation("m", window=2, report_lag=1, per_period=True, precision=None)
    table = evaluate(two_wave_ds(), (ev,), 0)
    # wave 0 in periods 0 and 1, wave 1 in periods 2 and 3, then the pooled top-up
    assert table.period == (1, 2, 3, 4, 4)
    assert table.cumulative == (False, False, False, False, True)
    assert table.participants == (10, 10, 20, 20, 30)
    # treated 3/10, 2/10, 4/20, 4/20; comparison 8/20, 6/20, 10/40, 10/40
    np.testing.assert_allclose(table.measured_effect[0, :4],
                               [1 - 0.3 / 0.4, 1 - 0.2 / 0.3, 1 - 0.2 / 0.25, 1 - 0.2 / 0.25],
                               rtol=1e-12)
    np.testing.assert_allclose(table.units[0, :4], [1.0, 1.0, 1.0, 1.0], rtol=1e-12)
    # the per-period units of a wave add up to its per-wave units; the pooled trigger is the
    # usual pooled trigger
    whole = evaluate(two_wave_ds(), (dataclasses.replace(ev, per_period=False),), 0)
    np.testing.assert_allclose(table.units[:, [0, 2]] + table.units[:, [1, 3]],
                               whole.units[:, :2], rtol=1e-12)
    np.testing.assert_array_equal(table.units[:, 4], whole.units[:, 2])
    np.testing.assert_array_equal(table.measured_effect[:, 4], whole.measured_effect[:, 2])


def test_per_period_without_pooled_and_with_a_calendar_window():
    ev = Evaluation("m", clock="calendar", calendar_window=(1, 3), per_period=True,
                    pooled=False, precision=None)
    table = evaluate(calendar_ds(), (ev,), 0)
    # wave 0 in periods 1, 2, 3; wave 1 in periods 2, 3 (from its entry)
    assert table.period == (1, 2, 3, 2, 3)
    # treated 0.2, 0.3, 0.4 and 0.3, 0.35; comparison 0.2, 0.4, 0.4 and 0.5, 0.5
    np.testing.assert_allclose(table.units[0], [(0.2 - 0.2) * 10, (0.4 - 0.3) * 10,
                                                (0.4 - 0.4) * 10, (0.5 - 0.3) * 20,
                                                (0.5 - 0.35) * 20], rtol=1e-12, atol=1e-12)


def test_per_period_historical_rate_is_per_period_and_pooled_sums_the_periods():
    t = np.array([TREATED_D0], float)
    ds = outcome_ds({"treatment": t}, {"treatment": [10, 20]}, ENTRY)
    ev = Evaluation("m", design=Historical(historical_rate=0.4), window=2, per_period=True,
                    precision=None)
    table = evaluate(ds, (ev,), 0)
    # per period: 0.4 vs 0.3, 0.2 (wave 0) and 0.2, 0.2 (wave 1)
    np.testing.assert_allclose(table.units[0, :4], [1.0, 2.0, 4.0, 4.0], rtol=1e-12)
    # pooled: counterfactual 0.4 per period x 2 periods, against 13/30 over the window
    np.testing.assert_allclose(table.measured_effect[0, 4], 1 - (13 / 30) / 0.8, rtol=1e-12)
    np.testing.assert_allclose(table.units[0, 4], table.units[0, :4].sum(), rtol=1e-12)


def test_per_period_needs_per_wave():
    with pytest.raises(ValueError, match=r"Evaluation\.per_period: got True; allowed: "
                                         r"per_period only with per_wave = true"):
        Evaluation("m", per_wave=False, per_period=True)


def test_per_period_results_are_paid_as_they_come_in():
    """An expected-engine deal: each cohort-year is paid in the year after its result."""
    from sibsim.money import Contract, MetricTerms, PricePerUnit

    sc = count_scenario(rate=1.0, rr=0.8, entry=(100, 100))
    ds = sibsim.simulate(sc, draws=1, seed=0, engine="expected", progress=False)
    ev = Evaluation("m", window=2, report_lag=1, per_period=True, pooled=False)
    table = evaluate(ds, (ev,), 0)
    assert table.period == (1, 2, 2, 3)
    contract = Contract(terms=(MetricTerms("m", PricePerUnit(100.0, threshold=0.1)),))
    paid = contract.outcome_payments(table, n_periods=4).total[0]
    # 20 events avoided per cohort-year, 2000 each
    np.testing.assert_allclose(paid, [0.0, 2000.0, 4000.0, 2000.0], rtol=1e-9)


# --------------------------------------------------------------------------------------
# a counterfactual for each cohort (per-wave historical_rate and bias)
# --------------------------------------------------------------------------------------


def test_historical_rate_per_wave():
    t = np.array([TREATED_D0], float)
    ds = outcome_ds({"treatment": t}, {"treatment": [10, 20]}, ENTRY)
    ev = Evaluation("m", design=Historical(historical_rate=[0.8, 0.5]), window=2,
                    precision=None)
    table = evaluate(ds, (ev,), 0)
    # pooled counterfactual: participant-weighted (10 x 0.8 + 20 x 0.5) / 30 = 0.6
    np.testing.assert_allclose(table.measured_effect[0],
                               [1 - 0.5 / 0.8, 1 - 0.4 / 0.5, 1 - (13 / 30) / 0.6], rtol=1e-12)
    np.testing.assert_allclose(table.units[0], [3.0, 2.0, 5.0], rtol=1e-12)
    # the same rate for every wave is the scalar rate (bitwise for the waves)
    same = evaluate(ds, (dataclasses.replace(ev, design=Historical([0.8, 0.8])),), 0)
    scalar = evaluate(ds, (dataclasses.replace(ev, design=Historical(0.8)),), 0)
    np.testing.assert_array_equal(same.units[:, :2], scalar.units[:, :2])
    np.testing.assert_allclose(same.units, scalar.units, rtol=1e-12)


def test_per_wave_distributions_are_sampled_by_name():
    D = 40
    t = np.broadcast_to(np.array(TREATED_D0, float), (D, 2, 6))
    ds = outcome_ds({"treatment": t}, {"treatment": [10, 20]}, ENTRY, seed=3)
    rates = (Gamma.from_mean_sd(0.8, 0.1), 0.5)
    ev = Evaluation("m", design=Historical(historical_rate=rates), window=2)
    assert set(ev.parameters()) == {"evaluation.m.historical_rate[0]",
                                    "evaluation.m.historical_rate[1]"}
    table = evaluate(ds, (ev,), seed=3)
    want = sample_parameter(rates[0], "evaluation.m.historical_rate[0]", 3, 0, D)
    np.testing.assert_allclose(table.units[:, 0], (want - 0.5) * 10, rtol=1e-9)
    np.testing.assert_allclose(table.units[:, 1], (0.5 - 0.4) * 20, rtol=1e-9)
    np.testing.assert_allclose(table.units[:, 2], (want * 10 + 0.5 * 20) / 30 * 30 - 13,
                               rtol=1e-9)
    # a scalar keeps its name (existing results unchanged)
    assert set(Evaluation("m", design=Historical(Gamma.from_mean_sd(0.8, 0.1))).parameters()) \
        == {"evaluation.m.historical_rate"}


def test_bias_per_wave():
    ev = Evaluation("m", design=Matched(bias=[0.25, 0.0]), window=2, precision=None,
                    alpha=0.05)
    table = evaluate(two_wave_ds(), (ev,), 0)
    # wave 0: 0.7 x 1.25; wave 1: 0.5; pooled: (14 x 1.25 + 20) / 60 comparison events/person
    cp = (14 * 1.25 + 20) / 60
    np.testing.assert_allclose(table.measured_effect[0],
                               [1 - 0.5 / 0.875, 1 - 0.4 / 0.5, 1 - (13 / 30) / cp],
                               rtol=1e-12)
    np.testing.assert_allclose(table.units[0], [3.75, 2.0, (cp - 13 / 30) * 30], rtol=1e-12)
    # the same bias for every wave is the scalar bias
    same = evaluate(two_wave_ds(), (dataclasses.replace(ev, design=Matched([0.25, 0.25])),), 0)
    scalar = evaluate(two_wave_ds(), (dataclasses.replace(ev, design=Matched(0.25)),), 0)
    np.testing.assert_allclose(same.units, scalar.units, rtol=1e-12)
    np.testing.assert_array_equal(same.gate, scalar.gate)
    assert set(BeforeAfter(bias=[0.0, -0.1]).parameters("x")) == {"evaluation.x.bias[0]",
                                                                  "evaluation.x.bias[1]"}


def test_gate_variance_with_a_bias_per_wave_scales_each_wave():
    # one period, two waves entering together in period 0 (so one pooled trigger)
    t = np.array([[[60.0], [60.0]]])
    c = np.array([[[50.0], [50.0]]])
    ds = outcome_ds({"treatment": t, "comparison": c},
                    {"treatment": [100, 100], "comparison": [50, 50]}, [0, 0])
    ev = Evaluation("m", design=Matched(bias=[0.5, 0.0]), per_wave=False, alpha=0.05)
    # counterfactual (50 x 1.5 + 50) / 100 = 1.25, treated 0.6: z = 0.65 / se with
    # se**2 = 120 / 200**2 + (50 x 2.25 + 50) / 100**2
    se = np.sqrt(120 / 200**2 + (50 * 2.25 + 50) / 100**2)
    z = (1.25 - 0.6) / se
    table = evaluate(ds, (ev,), 0)
    assert table.gate[0, 0] == (z > stats.norm.isf(0.05))
    assert table.measured_effect[0, 0] == rounded(1 - 0.6 / 1.25)
    strict = evaluate(ds, (dataclasses.replace(ev, alpha=float(stats.norm.sf(z)) * 0.999),), 0)
    loose = evaluate(ds, (dataclasses.replace(ev, alpha=float(stats.norm.sf(z)) * 1.001),), 0)
    assert not strict.gate[0, 0] and loose.gate[0, 0]


def test_per_wave_values_of_the_wrong_length_are_errors():
    ds = two_wave_ds()
    with pytest.raises(ValueError, match=r"Evaluation\[m\]\.design\.historical_rate: got .*; "
                                         r"allowed: one value per entry wave of the scenario "
                                         r"\(2, empty waves included\)"):
        t = np.array([TREATED_D0], float)
        evaluate(outcome_ds({"treatment": t}, {"treatment": [10, 20]}, ENTRY),
                 (Evaluation("m", design=Historical([0.5, 0.5, 0.5])),), 0)
    with pytest.raises(ValueError, match=r"Evaluation\[m\]\.design\.bias"):
        evaluate(ds, (Evaluation("m", design=Matched(bias=[0.1])),), 0)
    with pytest.raises(ValueError, match=r"Historical\.historical_rate\[1\]"):
        Historical(historical_rate=[0.5, -0.1])
    with pytest.raises(ValueError, match=r"Matched\.bias: got \[\]; allowed: at least one"):
        Matched(bias=[])
    with pytest.raises(ValueError, match=r"Evaluation\.historical_rate\[0\]"):
        Evaluation("m", design="historical", historical_rate=[Normal(1.0, 0.5)])


# --------------------------------------------------------------------------------------
# contract rounding of the measured effect (precision)
# --------------------------------------------------------------------------------------


def test_contract_round_half_away_from_zero_at_the_float_boundary():
    half = 0.1005  # the float nearest 0.1005: 1000 x it is exactly 100.5
    below, above = np.nextafter(half, 0.0), np.nextafter(half, 1.0)
    assert half * 1000 == 100.5
    got = contract_round(np.array([half, below, above, -half, -below, -above]), 0.001)
    assert got.tolist() == [0.101, 0.1, 0.101, -0.101, -0.1, -0.101]
    # float error around a multiple lands on it, and on the same float as the literal
    near = np.array([np.nextafter(0.1, 0.0), 0.1, np.nextafter(0.1, 1.0), 1 - 0.27 / 0.3])
    assert contract_round(near, 0.001).tolist() == [0.1, 0.1, 0.1, 0.1]
    assert contract_round(np.array([-0.0004, 0.0004999]), 0.001).tolist() == [0.0, 0.0]
    assert np.signbit(contract_round(np.array([-0.0004]), 0.001)).tolist() == [False]
    # a precision whose inverse is not whole: multiples of it
    assert contract_round(np.array([0.0046, 0.0044]), 0.003).tolist() == [0.006, 0.003]
    np.testing.assert_array_equal(contract_round(near, None), near)
    assert np.isnan(contract_round(np.array([np.nan]), 0.001)[0])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-2.0, 2.0), min_size=2, max_size=20),
       st.sampled_from([0.001, 0.0025, 0.003, 0.01]))
def test_contract_round_properties(xs, precision):
    """Rounding is monotone (payments stay monotone in the effect), odd, idempotent, and
    moves a value by at most half the precision."""
    x = np.sort(np.asarray(xs))
    r = contract_round(x, precision)
    assert np.all(np.diff(r) >= 0)
    assert np.all(np.abs(r - x) <= precision / 2 * (1 + 1e-9) + 1e-15)
    np.testing.assert_array_equal(contract_round(-x, precision), -r + 0.0)
    np.testing.assert_array_equal(contract_round(r, precision), r)


def test_default_precision_pays_a_true_10_percent_at_a_10_percent_threshold():
    """Baseline 0.3 and rr 0.9 measure 1 - 0.27 / 0.3 = 0.0999...9 in floating point: the
    contract's rounding (0.1 percentage point) makes it the 10.0% a report prints."""
    from sibsim.money import Contract, MetricTerms, PricePerUnit

    sc = count_scenario(rate=0.3, rr=0.9, entry=(1000,))
    ds = sibsim.simulate(sc, draws=2, seed=0, engine="expected", progress=False)
    contract = Contract(terms=(MetricTerms("m", PricePerUnit(100.0, threshold=0.10)),))
    rounded_ = evaluate(ds, (Evaluation("m", pooled=False),), 0)
    raw = evaluate(ds, (Evaluation("m", pooled=False, precision=None),), 0)
    assert 0.1 - 1e-12 < raw.measured_effect[0, 0] < 0.1  # float error below the threshold
    assert rounded_.measured_effect[0, 0] == 0.1
    np.testing.assert_array_equal(rounded_.units, raw.units)  # units are not rounded
    paid = contract.outcome_payments(rounded_, n_periods=4).total.sum(1)
    np.testing.assert_allclose(paid, 100.0 * 1000 * (0.3 - 0.27), rtol=1e-9)
    assert contract.outcome_payments(raw, n_periods=4).total.sum() == 0.0


def test_precision_is_validated():
    assert Evaluation("m").precision == 0.001
    assert Evaluation("m", precision=0).precision is None
    assert Evaluation("m", precision=0.01).precision == 0.01
    with pytest.raises(ValueError, match=r"Evaluation\.precision: got 0\.1; allowed: a fraction "
                                         r"in \(0, 0\.01\].*write 0\.001 for 0\.1 percentage"):
        Evaluation("m", precision=0.1)
    for bad in (-0.001, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"Evaluation\.precision"):
            Evaluation("m", precision=bad)
    with pytest.raises(TypeError, match=r"Evaluation\.precision"):
        Evaluation("m", precision=True)


def test_precision_rounds_the_measured_effect_only():
    ev = Evaluation("m", window=2, report_lag=1, alpha=0.1)
    a = evaluate(two_wave_ds(), (ev,), 0)
    b = evaluate(two_wave_ds(), (dataclasses.replace(ev, precision=None),), 0)
    np.testing.assert_array_equal(a.measured_effect, rounded(b.measured_effect))
    np.testing.assert_array_equal(a.units, b.units)
    np.testing.assert_array_equal(a.gate, b.gate)
    c = evaluate(two_wave_ds(), (dataclasses.replace(ev, precision=0.01),), 0)
    np.testing.assert_array_equal(c.measured_effect,
                                  contract_round(b.measured_effect, 0.01))


# --------------------------------------------------------------------------------------
# TOML for the new keys
# --------------------------------------------------------------------------------------


def test_from_toml_new_keys_round_trip():
    ev = from_toml({"metric": "m", "stratum": ["young", "adult"], "clock": "calendar",
                    "calendar_window": [2, 4], "per_period": True, "precision": 0.01,
                    "design": {"kind": "historical",
                               "historical_rate": [0.5, {"dist": "gamma", "mean": 0.6,
                                                         "sd": 0.1}]}})
    assert ev == Evaluation("m", stratum=("young", "adult"), clock="calendar",
                            calendar_window=(2, 4), per_period=True, precision=0.01,
                            design=Historical(historical_rate=(0.5, Gamma.from_mean_sd(0.6,
                                                                                       0.1))))
    ev = from_toml({"metric": "m", "stratum": "young", "window": 2, "window_start": 1,
                    "precision": 0, "design": {"kind": "matched", "bias": [0.0, 0.05]}})
    assert ev == Evaluation("m", stratum="young", window=2, window_start=1, precision=None,
                            design=Matched(bias=(0.0, 0.05)))
    # the older flat spelling reads per-wave lists too
    ev = from_toml({"metric": "m", "design": "before_after",
                    "bias": [{"dist": "normal", "mean": 0.0, "sd": 0.01}, -0.1]})
    assert ev.design == BeforeAfter(bias=(Normal(0.0, 0.01), -0.1))


@pytest.mark.parametrize(
    ("table", "key", "problem"),
    [
        ({"metric": "m", "design": {"kind": "historical",
                                    "historical_rate": [0.5, {"dist": "gamma"}]}},
         r"evaluation\[0\]\.design\.historical_rate\[1\]", "gamma distribution takes"),
        ({"metric": "m", "design": {"kind": "matched", "bias": [0.1, "x"]}},
         r"evaluation\[0\]\.design", r"Matched\.bias\[1\]"),
        ({"metric": "m", "clock": "calendar"}, r"evaluation\[0\]",
         r"calendar_window.*required with clock = 'calendar'"),
        ({"metric": "m", "precision": 0.1}, r"evaluation\[0\]", "write 0.001 for 0.1"),
        ({"metric": "m", "per_period": True, "per_wave": False}, r"evaluation\[0\]",
         "per_period only with per_wave"),
        ({"metric": "m", "calender_window": [1, 2]}, r"evaluation\[0\]\.calender_window",
         "unknown key"),
    ],
)
def test_from_toml_new_key_problems_name_the_key(table, key, problem):
    with pytest.raises(KeyProblem) as info:
        from_toml(table)
    assert re.fullmatch(key, info.value.key), info.value.key
    assert re.search(problem, info.value.problem), info.value.problem


def test_scenario_file_with_the_new_keys():
    import tomllib

    from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario

    data = tomllib.loads(builtin_scenarios()["peterborough"].read_text(encoding="utf-8"))
    data["evaluation"][0].update({"stratum": "all", "per_period": True, "precision": 0.005,
                                  "design": {"kind": "matched", "bias": [0.0, 0.01, 0.02]}})
    (ev,) = parse_scenario(data, "options.toml").evaluations
    assert ev.stratum == ("all",) and ev.per_period and ev.precision == 0.005
    assert ev.design == Matched(bias=(0.0, 0.01, 0.02))
    data["evaluation"][0]["stratum"] = "young"
    with pytest.raises(ScenarioFileError, match=r"Evaluation\[reconviction\]\.stratum: got "
                                                r"'young'; allowed: strata of the scenario: "
                                                r"'all'"):
        parse_scenario(data, "options.toml")


# --------------------------------------------------------------------------------------
# the historical design's counterfactual by value (mutation testing found it unguarded)
# --------------------------------------------------------------------------------------

RATES = np.array([[0.2, 0.5], [0.4, 0.1]])  # (draw, wave)


def _historical(rate, waves, treated, spans):
    from sibsim.money.evaluation import Measured

    design = Historical(historical_rate=tuple(rate[0]) if np.ndim(rate) == 2 else 0.3)
    if np.ndim(rate) == 2:
        params = {f"evaluation.m.historical_rate[{w}]": rate[:, w] for w in range(rate.shape[1])}
    else:
        params = {"evaluation.m.historical_rate": rate}
    measured = Measured(waves=waves, treated=np.array(treated), spans=np.array(spans))
    return design.counterfactual("m", params, None, measured)


@pytest.mark.parametrize(
    "rate, waves, treated, spans, expected",
    [(RATES, [1], [30], [1], [0.5, 0.1]),                          # one wave: its own rate
     (RATES, [0, 1], [10, 30], [1, 1], [(0.2 * 10 + 0.5 * 30) / 40, (0.4 * 10 + 0.1 * 30) / 40]),
     (RATES, [1], [30], [3], [0.5 * 3, 0.1 * 3]),                  # pooled over 3 periods
     (RATES, [0, 1], [10, 30], [2, 3], [(0.2 * 20 + 0.5 * 90) / 40, (0.4 * 20 + 0.1 * 90) / 40]),
     (np.array([0.3, 0.6]), [0, 1], [10, 30], [1, 1], [0.3, 0.6]),  # one rate for all waves
     (np.array([0.3, 0.6]), [0, 1], [10, 30], [2, 3], [0.3 * 110 / 40, 0.6 * 110 / 40])],
    ids=["wave-rate", "per-wave-mean", "wave-rate-pooled", "per-wave-pooled", "one-rate",
         "one-rate-pooled"])
def test_historical_counterfactual_weights_the_waves_rates_by_participants_and_spans(
        rate, waves, treated, spans, expected):
    cf, var = _historical(rate, waves, treated, spans)
    np.testing.assert_allclose(cf, expected, rtol=1e-12)
    np.testing.assert_array_equal(var, [0.0, 0.0])


def test_a_design_needing_a_comparison_group_names_the_designs_that_do_not():
    t = np.array([TREATED_D0], float)
    ds = outcome_ds({"treatment": t}, {"treatment": [10, 20]}, ENTRY)
    with pytest.raises(ValueError, match=r"^Evaluation\[m\]\.design: got 'rct'; allowed: a design "
                                         r"without a concurrent comparison group \('historical', "
                                         r"'predicted'\)"
                                         r" when the scenario has no comparison group$"):
        evaluate(ds, (Evaluation("m", design=RCT()),), 0)


def test_calendar_window_messages_and_boundaries():
    with pytest.raises(ValueError, match=r"allowed: calendar periods within the horizon of 5 "
                                         r"periods \(0 to 4\)$"):
        evaluate(calendar_ds(), (Evaluation("m", clock="calendar", calendar_window=(1, 5)),), 0)
    with pytest.raises(ValueError, match=r"allowed: a calendar window that ends at or after the "
                                         r"entry of every wave with people \(wave 1 enters in "
                                         r"period 2\)$"):
        evaluate(calendar_ds(), (Evaluation("m", clock="calendar", calendar_window=(0, 1)),), 0)
    # a window ending in the period the last wave enters, and a wave of one person, count
    ds = calendar_ds()
    ds["size"].loc[{"wave": 1}] = 1.0
    with pytest.raises(ValueError, match=r"wave 1 enters in period 2"):
        evaluate(ds, (Evaluation("m", clock="calendar", calendar_window=(0, 1)),), 0)
    evaluate(calendar_ds(), (Evaluation("m", clock="calendar", calendar_window=(0, 2)),), 0)


def test_check_evaluations_refuses_what_is_not_evaluations():
    from sibsim.money.evaluation import check_evaluations

    for bad, shown in [(3, "3"), ([], r"\[\]"), (["m"], r"\['m'\]")]:
        with pytest.raises(ValueError, match=rf"^deal\.evaluations: got {shown}; allowed: one or "
                                             r"more Evaluation$"):
            check_evaluations(bad, "deal.evaluations")


def test_comparison_rate_pools_the_waves_and_scales_rate_and_variance():
    from sibsim.money.evaluation import ComparisonArm, _comparison_rate

    arm = ComparisonArm(units=np.array([[3.0, 6.0], [9.0, 0.0]]), size=np.array([10, 20]))
    rate, var = _comparison_rate(arm, [0, 1], 2.0)
    np.testing.assert_allclose(rate, [9 / 30 * 2, 9 / 30 * 2], rtol=1e-12)
    np.testing.assert_allclose(var, [9 / 900 * 4, 9 / 900 * 4], rtol=1e-12)
    scale = np.array([[1.0, 0.5], [2.0, 3.0]])  # per draw and wave
    rate, var = _comparison_rate(arm, [0, 1], scale)
    np.testing.assert_allclose(rate, [(3 + 3) / 30, 18 / 30], rtol=1e-12)
    np.testing.assert_allclose(var, [(3 + 6 * 0.25) / 900, 36 / 900], rtol=1e-12)
    one = ComparisonArm(units=np.array([[1.0, 6.0]]), size=np.array([1, 0]))
    np.testing.assert_allclose(_comparison_rate(one, [0], 1.0)[0], [1.0])
    with pytest.raises(ValueError, match=r"^comparison arm: got 0 people in entry waves \[1\]; "
                                         r"allowed: at least one person in each group the "
                                         r"design compares$"):
        _comparison_rate(one, [1], 1.0)


@pytest.mark.parametrize("draws", [[3, 4, 5], [7, 2, 5], [3, 2], [4, 6], [0], []],
                         ids=["block", "any-order", "reversed", "gap", "one", "none"])
def test_evaluation_parameters_of_any_draws_are_the_whole_runs_values(draws):
    from sibsim.money.evaluation import _sample_for_draws

    whole = _sample_for_draws(Normal(0.0, 1.0), "evaluation.m.bias", 11, np.arange(10))
    got = _sample_for_draws(Normal(0.0, 1.0), "evaluation.m.bias", 11, np.array(draws))
    assert got.shape == (len(draws),)
    np.testing.assert_array_equal(got, whole[np.array(draws, dtype=int)])


def test_a_historical_rate_that_can_be_negative_says_what_is_allowed():
    with pytest.raises(ValueError, match=r"^Historical\.historical_rate: got .*; allowed: a rate "
                                         r"\(>= 0\): a distribution whose values lie in"):
        Historical(historical_rate=Normal(1.0, 0.1))


def test_a_single_waves_historical_counterfactual_is_its_rate_exactly():
    # weighting by participants would give 0.1 x 3 / 3 = 0.10000000000000002
    rates = np.array([[0.1, 0.7], [0.1, 0.2]])
    cf, _ = _historical(rates, [0], [3], [1])
    np.testing.assert_array_equal(cf, [0.1, 0.1])
