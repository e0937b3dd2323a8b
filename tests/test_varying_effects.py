"""Effects that vary by entry wave (``Effect.by_wave``) and by Markov target
(``Effect.target_scale``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import sibsim
from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, MarkovOutcome, Scenario
from sibsim.engine.outcome_models import model_of
from sibsim.engine.parameters import sample_parameters
from sibsim.scenario_file import parse_scenario

pytestmark = pytest.mark.usefixtures("warm_kernels")


def counts(effect: Effect) -> Scenario:
    return Scenario(cohort=Cohort(entry=(100, 100, 100)), comparison=ComparisonGroup(ratio=1),
                    horizon=3, outcome=CountOutcome(2.0), effect=effect)


def test_wave_strength():
    assert Effect("rr", 0.8).wave_strength(2).tolist() == [1.0, 1.0]
    assert Effect("rr", 0.8, by_wave=(0.5, 2.0)).wave_strength(3).tolist() == [0.5, 2.0, 2.0]


def test_by_wave_weakens_the_first_wave_exactly():
    ds = sibsim.simulate(counts(Effect("rr", 0.8, by_wave=(0.5, 1.0))), draws=1, seed=1,
                         engine="expected", progress=False)
    ev = ds["events"].sel(arm="treatment", stratum="all").values[0]  # (W, P)
    assert ev[0, 0] == pytest.approx(100 * 2.0 * 0.8**0.5)
    assert ev[1, 1] == pytest.approx(100 * 2.0 * 0.8)
    assert ev[2, 2] == pytest.approx(100 * 2.0 * 0.8)


def test_absolute_effect_by_wave_scales_the_change():
    ds = sibsim.simulate(counts(Effect("absolute", -1.0, by_wave=(0.25,))), draws=1, seed=1,
                         engine="expected", progress=False)
    ev = ds["events"].sel(arm="treatment", stratum="all").values[0]
    assert ev[0, 0] == pytest.approx(100 * (2.0 - 0.25)) and ev[2, 2] == pytest.approx(175.0)


@pytest.mark.parametrize("engine", ["aggregate", "individual", "expected"])
def test_unit_multipliers_change_nothing(engine, strip_created):
    base = counts(Effect("rr", 0.8, engagement=0.7))
    ones = counts(Effect("rr", 0.8, engagement=0.7, by_wave=(1.0, 1.0)))
    a = sibsim.simulate(base, draws=4, seed=3, engine=engine, progress=False)
    b = sibsim.simulate(ones, draws=4, seed=3, engine=engine, progress=False)
    assert strip_created(a).identical(strip_created(b))


def test_by_wave_in_the_aggregate_engine_matches_the_mean():
    sc = counts(Effect("rr", 0.5, by_wave=(0.0, 1.0)))
    D = 400
    ds = sibsim.simulate(sc, draws=D, seed=2, progress=False)
    x = ds["events"].sel(arm="treatment", stratum="all").sum("period").values  # (D, W)
    se = x.std(0, ddof=1) / np.sqrt(D)
    mu = np.array([100 * 2.0 * 3, 100 * 2.0 * 0.5 * 2, 100 * 2.0 * 0.5 * 1])
    assert (np.abs(x.mean(0) - mu) < 4 * se).all()


def test_by_wave_longer_than_the_waves_is_refused():
    with pytest.raises(ValueError, match=r"Effect\.by_wave"):
        counts(Effect("rr", 0.8, by_wave=(1.0, 1.0, 1.0, 1.0)))
    with pytest.raises(ValueError, match=r"Effect\.by_wave"):
        Effect("rr", 0.8, by_wave=(-1.0,))


MARKOV = MarkovOutcome(("a", "b", "c"), [[0.7, 0.2, 0.1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                       events=[("a", "b")])


def _treated_row(effect: Effect) -> np.ndarray:
    sc = Scenario(cohort=Cohort(size=10), horizon=1, outcome=MARKOV, effect=effect)
    model = model_of(sc)
    tb = model.tables(sample_parameters(sc.parameters(), 0, 0, 1), 1)
    return tb.trans[0, 1, 0, tb.tidx[0, 0], 0]


def test_target_scale_gives_each_transition_its_effect():
    row = _treated_row(Effect("rr", 0.5, targets=[("a", "b"), ("a", "c")],
                              target_scale=(1.0, 0.5)))
    np.testing.assert_allclose(row, [1 - 0.1 - 0.1 * 0.5**0.5, 0.1, 0.1 * 0.5**0.5])
    same = _treated_row(Effect("rr", 0.5, targets=[("a", "b"), ("a", "c")]))
    ones = _treated_row(Effect("rr", 0.5, targets=[("a", "b"), ("a", "c")],
                               target_scale=(1.0, 1.0)))
    np.testing.assert_array_equal(same, ones)
    zero = _treated_row(Effect("absolute", 0.1, targets=[("a", "b"), ("a", "c")],
                               target_scale=(0.0, 2.0)))
    np.testing.assert_allclose(zero, [0.5, 0.2, 0.3])


def test_target_scale_needs_one_value_per_target():
    with pytest.raises(ValueError, match=r"Effect\.target_scale"):
        Effect("rr", 0.5, targets=[("a", "b")], target_scale=(1.0, 0.5))
    with pytest.raises(ValueError, match=r"Effect\.target_scale"):
        Effect("rr", 0.5, target_scale=(1.0,))


def test_toml_keys():
    import tomllib
    deal = parse_scenario(tomllib.loads("""
        horizon = 2
        [cohort]
        entry = [10, 10]
        [outcome]
        kind = "markov"
        states = ["a", "b", "c"]
        transitions = [[0.7, 0.2, 0.1], [0, 1, 0], [0, 0, 1]]
        [effect]
        value = 0.5
        targets = [["a", "b"], ["a", "c"]]
        target_scale = [1.0, 0.5]
        by_wave = [0.5, 1.0]
    """), "v.toml")
    e = deal.scenario.effect
    assert e.by_wave == (0.5, 1.0) and e.target_scale == (1.0, 0.5)
    assert dataclasses.replace(e, by_wave=()).by_wave == ()
