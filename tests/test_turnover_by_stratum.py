"""Turnover by stratum (an employer's own, ``[[cohort.strata]] turnover``): validation, the TOML
key and its parameter name, strata that give the cohort's figure left to the last bit, and each
stratum's dilution against the closed form of tests/test_turnover.py.

The closed form (tests/test_turnover.py): a place is held by a served, still engaged person
``k`` periods after entry with probability ``g s**k``, ``s = (1 - d) (1 - r)``, so a stratum of
``n`` people with rate ``lam`` has ``n lam (1 - g s**k (1 - e))`` expected treated events in
period ``k``; with a stratum's own turnover ``r_j`` each stratum follows it with its own ``s``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Scenario, Stratum
from sibsim.dataset.build import simulate
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec.distributions import Beta, Fixed
from sibsim.spec.scenario import Process

pytestmark = pytest.mark.usefixtures("warm_kernels")

Z = 4.5  # standard errors, as tests/test_turnover.py


def two_employers(r_a=0.3, r_b=None, cohort_r=0.05, n=(600, 400), lam=(5.0, 3.0), e=0.6,
                  g=0.8, d=0.0, horizon=4):
    strata = (Stratum("hospital", entry=(n[0],), baseline=lam[0], turnover=r_a),
              Stratum("office", entry=(n[1],), baseline=lam[1], turnover=r_b))
    return Scenario(cohort=Cohort(strata=strata, turnover=cohort_r),
                    outcome=CountOutcome(rate=1.0), horizon=horizon,
                    effect=Effect("rr", e, engagement=g, dropout=d),
                    comparison=ComparisonGroup(ratio=1))


def closed_form(n, lam, e, g, r, d, periods):
    s = (1 - d) * (1 - r)
    k = np.arange(periods)
    return n * lam * (1 - g * s**k * (1 - e)), n * g * s**k


def test_a_stratum_turnover_is_validated_in_one_message_form():
    with pytest.raises(ValueError, match=r"Stratum\[hospital\]\.turnover: got 12; allowed: a "
                                         r"share of the cohort replaced per period in \[0, 1\]"):
        Stratum("hospital", 0.5, turnover=12)
    assert Stratum("hospital", 0.5).turnover is None
    assert Stratum("hospital", 0.5, turnover=0.1).turnover == Fixed(0.1)


def test_parameters_name_each_stratum_own_turnover():
    sc = two_employers(r_a=Beta.from_mean_sd(0.2, 0.05), r_b=None, cohort_r=0.05)
    params = sc.parameters()
    assert params["cohort.turnover[hospital]"] == Beta.from_mean_sd(0.2, 0.05)
    assert params["cohort.turnover"] == Fixed(0.05)  # the office's (the cohort's figure)
    assert "cohort.turnover[office]" not in params
    both = two_employers(r_a=0.2, r_b=0.1, cohort_r=0.05)
    assert "cohort.turnover" not in both.parameters()  # no stratum takes the cohort's
    assert both.cohort.turnover_by_stratum() == {"hospital": Fixed(0.2), "office": Fixed(0.1)}
    none = two_employers(r_a=0.0, r_b=None, cohort_r=0.0)
    assert not none.cohort.has_turnover and not any("turnover" in k for k in none.parameters())


@pytest.mark.parametrize("engine", ["expected", "aggregate", "individual"])
def test_strata_giving_the_cohort_figure_are_the_cohort_turnover_to_the_last_bit(engine):
    own = two_employers(r_a=0.2, r_b=0.2, cohort_r=0.0)
    shared = two_employers(r_a=None, r_b=None, cohort_r=0.2)
    a = simulate(own, draws=6, seed=3, engine=engine, progress=False)
    b = simulate(shared, draws=6, seed=3, engine=engine, progress=False)
    for k in ("events", "engaged"):
        np.testing.assert_array_equal(a[k].values, b[k].values)


def test_expected_engine_dilutes_each_stratum_by_its_own_turnover():
    n, lam, e, g, d = (600, 400), (5.0, 3.0), 0.6, 0.8, 0.1
    ds = simulate(two_employers(r_a=0.3, r_b=None, cohort_r=0.05, n=n, lam=lam, e=e, g=g, d=d),
                  draws=3, seed=0, engine="expected", progress=False)
    for j, (name, r) in enumerate((("hospital", 0.3), ("office", 0.05))):
        got = ds["events"].sel(arm="treatment", stratum=name).sum("wave").values
        eng = ds["engaged"].sel(arm="treatment", stratum=name).sum("wave").values
        ev, en = closed_form(n[j], lam[j], e, g, r, d, 4)
        np.testing.assert_allclose(got, np.broadcast_to(ev, got.shape), rtol=1e-12)
        np.testing.assert_allclose(eng, np.broadcast_to(en, eng.shape), rtol=1e-12)


@pytest.mark.parametrize("engine", ["aggregate", "individual"])
def test_stochastic_engaged_per_stratum_match_the_closed_form(engine):
    """Engaged people per stratum and period: binomial(n_j, g s_j**k) in each draw."""
    n, D, g = (1500, 1000), 200, 0.8
    ds = simulate(two_employers(r_a=0.4, r_b=None, cohort_r=0.05, n=n, g=g), draws=D, seed=7,
                  engine=engine, progress=False)
    for j, (name, r) in enumerate((("hospital", 0.4), ("office", 0.05))):
        q = g * (1 - r) ** np.arange(4)
        eng = ds["engaged"].sel(arm="treatment", stratum=name).sum("wave").values.mean(0)
        se = np.sqrt(n[j] * q * (1 - q) / D)
        assert np.all(np.abs(eng - n[j] * q) < Z * se), (name, eng, n[j] * q, se)


def test_a_stratum_turnover_reaches_every_process_of_the_person():
    sc = dataclasses.replace(
        two_employers(r_a=0.3, r_b=None, cohort_r=0.0, e=0.5),
        other_processes=(Process(CountOutcome(rate=2.0, name="b"), Effect("rr", 0.7)),))
    names = list(sc.parameters())
    assert names.count("cohort.turnover[hospital]") == 1
    assert not any(n.startswith("b.cohort") for n in names)
    ds = simulate(sc, draws=2, seed=0, engine="expected", progress=False)
    got = ds["events"].sel(arm="treatment", stratum="hospital").sum("wave").values
    ev, _ = closed_form(600, 2.0, 0.7, 0.8, 0.3, 0.0, 4)  # process b: rate 2, rr 0.7
    np.testing.assert_allclose(got[0, :, 1], ev, rtol=1e-12)
    office = ds["events"].sel(arm="treatment", stratum="office").sum("wave").values
    ev, _ = closed_form(400, 2.0, 0.7, 0.8, 0.0, 0.0, 4)  # no turnover there
    np.testing.assert_allclose(office[0, :, 1], ev, rtol=1e-12)


def _data(**stratum):
    return {"horizon": 3, "comparison": {"ratio": 1},
            "cohort": {"strata": [{"name": "a", "entry": [100], **stratum},
                                  {"name": "b", "entry": [50]}]},
            "outcome": {"kind": "counts", "rate": 4.0},
            "effect": {"measure": "rr", "value": 0.8, "engagement": 0.7}}


def test_toml_reads_a_stratum_turnover_and_refuses_a_bad_one():
    sc = parse_scenario(_data(turnover={"dist": "beta", "mean": 0.1, "sd": 0.02})).scenario
    assert sc.cohort.strata[0].turnover == Beta.from_mean_sd(0.1, 0.02)
    assert list(k for k in sc.parameters() if "turnover" in k) == ["cohort.turnover[a]"]
    with pytest.raises(ScenarioFileError, match=r"Stratum\[a\]\.turnover: got 8; allowed: a "
                                                r"share of the cohort replaced per period"):
        parse_scenario(_data(turnover=8), source="t.toml")
    binary = {**_data(turnover=0.1), "outcome": {"kind": "binary", "probability": 0.2}}
    with pytest.raises(ScenarioFileError, match="0 \\(no turnover\\) unless"):
        parse_scenario(binary, source="t.toml")
