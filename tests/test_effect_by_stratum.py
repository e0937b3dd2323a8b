"""An effect that varies by stratum (``Effect.by_stratum``) and ends for a stratum
(``Effect.ends_by_stratum``).

* the expected engine against traces worked by hand for a 2-stratum cohort (a count outcome,
  whose events per period are people x rate, and a Markov chain traced by matrix products in
  the test), one stratum's effect ending mid-horizon: its events equal the no-effect trace's
  from that period;
* the aggregate and individual engines within 4 Monte Carlo standard errors of the expected
  engine (fixed seeds), in the one-process and the several-process forms;
* a block of draws equals the slice of a whole run, bit for bit;
* break-even's fast path gives the general path's numbers;
* every refusal, in Python and through the command line (exit 2, one line naming the key);
* the TOML keys read into the fields (calendar years into periods).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sibsim
from cli_refusal import assert_file_refused
from sibsim import Cohort, CountOutcome, Effect, MarkovOutcome, Scenario
from sibsim.engine.outcome_models import model_of
from sibsim.engine.tables import columns
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec.cohort import Stratum
from sibsim.spec.distributions import LogNormal

pytestmark = pytest.mark.usefixtures("warm_kernels")

RATE = 2.0  # events per person-period
TWO = (Stratum("a", 0.5), Stratum("b", 0.5))


def counts(effect: Effect | None, entry=(100, 100), horizon: int = 4) -> Scenario:
    """Two strata of 50 people per wave, a count outcome of RATE per person-period."""
    return Scenario(cohort=Cohort(entry=entry, strata=TWO), horizon=horizon,
                    outcome=CountOutcome(RATE), effect=effect)


def treated_events(sc: Scenario, engine: str = "expected", draws: int = 1, seed: int = 1,
                   **kw) -> np.ndarray:
    """Treated-arm events ``(draw, wave, stratum, period)``."""
    ds = sibsim.simulate(sc, draws=draws, seed=seed, engine=engine, progress=False, **kw)
    return ds["events"].sel(arm="treatment").transpose("draw", "wave", "stratum",
                                                       "period").values


# ------------------------------------------------------------------ hand-worked traces
def test_counts_by_hand_one_stratum_weaker_the_other_ending_mid_horizon():
    # relative rate 0.5, engagement 0.6: an engaged person's rate is 2 x 0.5 ** strength
    eff = Effect("rr", 0.5, engagement=0.6, by_stratum={"a": 2.0}, ends_by_stratum={"b": 2})
    ev = treated_events(counts(eff))[0]  # (W, K, P)
    n = 50.0
    a = n * RATE * (0.6 * 0.5**2 + 0.4)  # stratum a: twice the log effect, throughout
    b = n * RATE * (0.6 * 0.5 + 0.4)     # stratum b: the plain effect until period 2
    none = n * RATE                       # ... and none from period 2 on
    want = np.array([[[a, a, a, a], [b, b, none, none]],
                     [[0, a, a, a], [0, b, none, none]]])
    np.testing.assert_allclose(ev, want, rtol=1e-13)
    # from period 2 on, stratum b's events are the no-effect trace's, to the last bit
    plain = treated_events(counts(None))[0]
    np.testing.assert_array_equal(ev[:, 1, 2:], plain[:, 1, 2:])
    assert not np.array_equal(ev[:, 1, :2], plain[:, 1, :2])


def test_multipliers_combine_with_the_wave_and_the_time_since_entry():
    # wave 0 at half strength, stratum a at double: a's wave 0 gets the plain log effect;
    # the service lasts 2 periods and stops at once (decay 1)
    eff = Effect("rr", 0.5, duration=2, by_wave=(0.5, 1.0), by_stratum={"a": 2.0})
    ev = treated_events(counts(eff, horizon=3))[0]
    r = 50 * RATE
    want = np.array([[[r * 0.5, r * 0.5, r], [r * 0.5**0.5, r * 0.5**0.5, r]],
                     [[0, r * 0.25, r * 0.25], [0, r * 0.5, r * 0.5]]])
    np.testing.assert_allclose(ev, want, rtol=1e-13)


def test_an_absolute_effect_scales_the_change_by_stratum():
    eff = Effect("absolute", -1.0, by_stratum={"b": 0.25}, ends_by_stratum={"a": 1})
    ev = treated_events(counts(eff, entry=(100,), horizon=3))[0, 0]  # (K, P)
    np.testing.assert_allclose(ev, [[50 * 1.0, 100, 100], [50 * 1.75] * 3], rtol=1e-13)


T0 = np.array([[0.9, 0.1], [0.3, 0.7]])  # home, care: per period


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(measure=st.sampled_from(["rr", "hr", "absolute"]),
       mult=st.tuples(st.floats(0.0, 3.0), st.floats(0.0, 3.0)),
       ends=st.tuples(st.integers(0, 4), st.integers(0, 4)),
       engagement=st.floats(0.0, 1.0))
def test_property_every_cell_is_the_rate_at_its_strata_strength(measure, mult, ends, engagement):
    """For any multipliers and ends, each expected cell of a count outcome is people x the
    mix of the engaged rate (at strength multiplier x [period before the end]) and the plain
    one."""
    value = -0.5 if measure == "absolute" else 0.6
    eff = Effect(measure, value, engagement=engagement,
                 by_stratum=dict(zip("ab", mult, strict=True)),
                 ends_by_stratum=dict(zip("ab", ends, strict=True)))
    ev = treated_events(counts(eff))[0]  # (W, K, P)
    for w in range(2):
        for k in range(2):
            for t in range(4):
                s = mult[k] * (t < ends[k])
                r1 = max(0.0, RATE + value * s) if measure == "absolute" else RATE * value**s
                want = 0.0 if t < w else 50 * (engagement * r1 + (1 - engagement) * RATE)
                assert ev[w, k, t] == pytest.approx(want, rel=1e-12, abs=1e-12)


def _markov(effect: Effect | None) -> Scenario:
    return Scenario(cohort=Cohort(size=100, strata=TWO), horizon=5,
                    outcome=MarkovOutcome(("home", "care"), T0.tolist(),
                                          events=[("home", "care")]),
                    effect=effect)


def _trace(p_by_period: list[float], n: float) -> tuple[np.ndarray, np.ndarray]:
    """Occupancy at the start of each period and home -> care events, by matrix products."""
    occ = np.array([n, 0.0])
    occs, evs = [], []
    for p in p_by_period:
        t = np.array([[1 - p, p], T0[1]])
        occs.append(occ)
        evs.append(occ[0] * p)
        occ = occ @ t
    return np.array(occs), np.array(evs)


def test_markov_by_hand_the_ended_stratum_moves_by_the_baseline_from_its_end():
    eff = Effect("hr", 0.5, targets=[("home", "care")], by_stratum={"a": 0.5},
                 ends_by_stratum={"b": 3})
    ds = sibsim.simulate(_markov(eff), draws=1, seed=1, engine="expected", progress=False)
    tr = ds.sel(arm="treatment", wave=0).isel(draw=0)
    p_a = 1 - 0.9**(0.5**0.5)  # hazard ratio 0.5 ** 0.5
    p_b = 1 - 0.9**0.5
    occ_a, ev_a = _trace([p_a] * 5, 50)
    occ_b, ev_b = _trace([p_b] * 3 + [0.1] * 2, 50)
    np.testing.assert_allclose(tr["events"].sel(stratum="a").values, ev_a, rtol=1e-12)
    np.testing.assert_allclose(tr["events"].sel(stratum="b").values, ev_b, rtol=1e-12)
    np.testing.assert_allclose(tr["occupancy"].sel(stratum="b").values, occ_b, rtol=1e-12)
    np.testing.assert_allclose(tr["occupancy"].sel(stratum="a").values, occ_a, rtol=1e-12)


# ------------------------------------------------------------------ the stochastic engines
def _within_4_se(sc: Scenario, engine: str, draws: int, seed: int, var: str = "events",
                 process: str | None = None) -> None:
    kw = {} if process is None else {"process": process}
    exp = sibsim.simulate(sc, draws=1, seed=seed, engine="expected", progress=False)
    sim = sibsim.simulate(sc, draws=draws, seed=seed, engine=engine, progress=False)
    mu = exp[var].sel(arm="treatment", **kw).sum("wave").isel(draw=0).values
    x = sim[var].sel(arm="treatment", **kw).sum("wave").values.astype(float)
    se = x.std(0, ddof=1) / np.sqrt(draws)
    assert (se > 0).mean() > 0.5  # most cells vary (the first period's occupancy does not)
    # a cell that does not vary must equal the expected value
    assert (np.abs(x.mean(0) - mu) <= 4 * se + 1e-9 * np.abs(mu)).all(), (engine, x.mean(0),
                                                                           mu, se)


@pytest.mark.parametrize("engine", ["aggregate", "individual"])
def test_stochastic_engines_agree_with_the_expected_engine_counts(engine):
    eff = Effect("rr", 0.5, engagement=0.6, dropout=0.1, by_stratum={"a": 2.0},
                 ends_by_stratum={"b": 2})
    _within_4_se(counts(eff), engine, draws=300, seed=7)


@pytest.mark.parametrize("engine", ["aggregate", "individual"])
def test_stochastic_engines_agree_with_the_expected_engine_markov(engine):
    eff = Effect("hr", 0.4, targets=[("home", "care")], engagement=0.7,
                 by_stratum={"a": 0.5}, ends_by_stratum={"b": 2})
    for var in ("events", "occupancy"):
        _within_4_se(_markov(eff), engine, draws=300, seed=11, var=var)


MULTI = """
horizon = 4
start_year = 2020
[cohort]
size = 200
[[cohort.strata]]
name = "a"
share = 0.5
[[cohort.strata]]
name = "b"
share = 0.5
[[outcome]]
kind = "markov"
name = "work"
states = ["seeking", "employed"]
initial = "seeking"
events = [["seeking", "employed"]]
transitions = [[0.8, 0.2], [0.1, 0.9]]
[outcome.effect]
measure = "hr"
value = 1.5
targets = [["seeking", "employed"]]
engagement = 0.8
by_stratum = {b = 0.5}
[[outcome]]
kind = "counts"
name = "visits"
rate = 3.0
[outcome.effect]
measure = "rr"
value = 0.5
ends_by_stratum = {a = 2022}
"""


def test_several_processes_each_with_its_own_variation():
    deal = parse_scenario(tomllib.loads(MULTI), "multi.toml")
    work, visits = (p.effect for p in deal.scenario.processes)
    assert work.by_stratum == (("b", 0.5),) and work.ends_by_stratum == ()
    assert visits.ends_by_stratum == (("a", 2),) and visits.by_stratum == ()
    ds = sibsim.simulate(deal, draws=1, seed=1, engine="expected", progress=False)
    v = ds["events"].sel(arm="treatment", process="visits", wave=0).isel(draw=0)
    # engagement 0.8 (the service's, shared by the processes): 100 people a stratum
    np.testing.assert_allclose(v.sel(stratum="a").values,
                               [100 * 3 * (0.8 * 0.5 + 0.2)] * 2 + [300.0] * 2, rtol=1e-13)
    np.testing.assert_allclose(v.sel(stratum="b").values,
                               [100 * 3 * (0.8 * 0.5 + 0.2)] * 4, rtol=1e-13)
    w = ds["events"].sel(arm="treatment", process="work", wave=0).isel(draw=0)
    p_a, p_b = 1 - 0.8**1.5, 1 - 0.8**(1.5**0.5)
    assert w.sel(stratum="a").values[0] == pytest.approx(100 * (0.8 * p_a + 0.2 * 0.2))
    assert w.sel(stratum="b").values[0] == pytest.approx(100 * (0.8 * p_b + 0.2 * 0.2))
    for engine in ("aggregate", "individual"):
        for process in ("work", "visits"):
            _within_4_se(deal.scenario, engine, draws=300, seed=5, process=process)


# ------------------------------------------------------------------ blocks of draws
@pytest.mark.parametrize("engine", ["expected", "aggregate", "individual"])
def test_a_block_of_draws_is_that_slice_of_the_whole_run(engine):
    eff = Effect("hr", LogNormal.from_mean_sd(0.6, 0.1), targets=[("home", "care")],
                 engagement=0.8, by_stratum={"a": 1.5}, ends_by_stratum={"b": 2})
    sc = _markov(eff)
    whole = sibsim.simulate(sc, draws=9, seed=4, engine=engine, progress=False)
    block = sibsim.simulate(sc, draws=4, seed=4, engine=engine, progress=False, first_draw=5)
    part = whole.isel(draw=slice(5, 9))
    xr.testing.assert_identical(block.drop_attrs(), part.drop_attrs())  # bit for bit
    for var in block.data_vars:
        np.testing.assert_array_equal(block[var].values, part[var].values, err_msg=var)


# ------------------------------------------------------------------ unchanged results
@pytest.mark.parametrize("engine", ["aggregate", "individual", "expected"])
def test_unit_multipliers_and_an_end_at_the_horizon_change_nothing(engine, strip_created):
    base = counts(Effect("rr", 0.8, engagement=0.7))
    ones = counts(Effect("rr", 0.8, engagement=0.7, by_stratum={"a": 1.0, "b": 1.0},
                         ends_by_stratum={"b": 4}))
    a = sibsim.simulate(base, draws=4, seed=3, engine=engine, progress=False)
    b = sibsim.simulate(ones, draws=4, seed=3, engine=engine, progress=False)
    assert strip_created(a).identical(strip_created(b))


def test_tables_stay_small():
    plain = counts(Effect("rr", 0.8))
    tidx, _, strength = columns(plain, 1)
    assert strength.shape[0] == 1  # the same in every stratum: one row, broadcast
    lap = sibsim.load_scenario("lapset-sib-1").scenario
    tidx, bidx, strength = columns(lap, 1)
    K, W, P = len(lap.cohort.strata), lap.cohort.n_waves, lap.horizon
    assert strength.shape == (K, bidx.size) and bidx.size < W * P
    # Vantaa's column strengths are 0 from 2023 (period 4) on; the others' are not all 0 there
    k = [s.name for s in lap.cohort.strata].index("vantaa")
    assert (strength[k, tidx[:, 4:]] == 0).all() and (strength[:, tidx[:, 4:]] > 0).any()
    assert (strength[k, tidx[1, 1:4]] == 1).all()  # its 3 years of service, entering 2020


# ------------------------------------------------------------------ break-even
def test_breakeven_fast_path_equals_general_path():
    from test_breakeven_fast import _search

    deal = sibsim.load_scenario("lapset-sib-1")
    eff = dataclasses.replace(deal.scenario.effect, by_stratum={"kemionsaari": 0.5})
    deal = deal.with_scenario(effect=eff)
    ds = sibsim.simulate(deal, draws=10, seed=5, progress=False, first_draw=2)
    fast, general = _search(deal, ds, True), _search(deal, ds, False)
    assert set(fast.data_vars) == set(general.data_vars)
    for var in general.data_vars:
        np.testing.assert_allclose(fast[var].values, general[var].values, rtol=1e-12, atol=0,
                                   equal_nan=True, err_msg=var)
    assert np.ptp(general["mean_investor_npv"].values) > 0


def test_lapset_vantaa_effect_ends_in_2023():
    deal = sibsim.load_scenario("lapset-sib-1")
    assert deal.scenario.effect.ends_by_stratum == (("vantaa", 4),)  # 2023, from 2019
    ds = sibsim.simulate(deal, draws=2, seed=1, engine="expected", progress=False)
    longer = deal.with_scenario(effect=dataclasses.replace(deal.scenario.effect,
                                                           ends_by_stratum=()))
    ds2 = sibsim.simulate(longer, draws=2, seed=1, engine="expected", progress=False)
    ev = ds["events"].sel(arm="treatment")
    ev2 = ds2["events"].sel(arm="treatment")
    # the other municipalities are untouched; Vantaa's outcomes differ only from 2023 on
    others = [s for s in ev["stratum"].values if s != "vantaa"]
    np.testing.assert_array_equal(ev.sel(stratum=others).values, ev2.sel(stratum=others).values)
    v, v2 = ev.sel(stratum="vantaa").values, ev2.sel(stratum="vantaa").values
    np.testing.assert_array_equal(v[..., :4], v2[..., :4])  # 2019-2022: the same
    assert v[..., 4:].sum() > v2[..., 4:].sum()  # more placements without the fading tail


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"by_stratum": {"a": -0.1}}, r"Effect\.by_stratum\[a\]: got -0\.1"),
    ({"by_stratum": {"a": 100.5}}, r"Effect\.by_stratum\[a\]: got 100\.5; allowed: a finite"),
    ({"by_stratum": {"": 1.0}}, r"Effect\.by_stratum stratum"),
    ({"by_stratum": [("a", 1.0), ("a", 2.0)]}, r"Effect\.by_stratum: .*repeated: a"),
    ({"ends_by_stratum": {"a": -1}}, r"Effect\.ends_by_stratum\[a\]: got -1"),
    ({"ends_by_stratum": {"a": 1.5}}, r"Effect\.ends_by_stratum\[a\]"),
    ({"by_stratum": 2.0}, r"Effect\.by_stratum: got 2\.0; allowed: a mapping"),
])
def test_effect_refuses_bad_values(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Effect("rr", 0.8, **kwargs)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"by_stratum": {"c": 0.5}}, r"Effect\.by_stratum: got 'c'; allowed: strata of the "
                                 r"cohort: 'a', 'b'"),
    ({"ends_by_stratum": {"c": 1}}, r"Effect\.ends_by_stratum: got 'c'; allowed: strata"),
    ({"ends_by_stratum": {"a": 5}}, r"Effect\.ends_by_stratum\[a\]: got 5; allowed: a period "
                                    r"from the stratum's first entry \(0\) to the horizon "
                                    r"\(4\)"),
])
def test_scenario_refuses_names_and_ends_it_does_not_have(kwargs, match):
    with pytest.raises(ValueError, match=match):
        counts(Effect("rr", 0.8, **kwargs))


def test_use_without_strata_is_refused():
    for field, value in (("by_stratum", {"a": 0.5}), ("ends_by_stratum", {"a": 1})):
        with pytest.raises(ValueError, match=rf"Effect\.{field}: .*allowed: none without "
                                             r"strata"):
            Scenario(cohort=Cohort(size=10), horizon=3, outcome=CountOutcome(1.0),
                     effect=Effect("rr", 0.8, **{field: value}))


def test_an_end_before_the_strata_own_start_is_refused():
    late = (Stratum("a", entry=(10,)), Stratum("b", entry=(10,), start=2))
    cohort = Cohort(strata=late)
    with pytest.raises(ValueError, match=r"Effect\.ends_by_stratum\[b\]: got 1; allowed: a "
                                         r"period from the stratum's first entry \(2\)"):
        Scenario(cohort=cohort, horizon=4, outcome=CountOutcome(1.0),
                 effect=Effect("rr", 0.8, ends_by_stratum={"b": 1}))
    Scenario(cohort=cohort, horizon=4, outcome=CountOutcome(1.0),
             effect=Effect("rr", 0.8, ends_by_stratum={"b": 2}))


def test_several_processes_check_their_own_effects():
    doc = tomllib.loads(MULTI.replace("ends_by_stratum = {a = 2022}",
                                      "ends_by_stratum = {x = 2022}"))
    with pytest.raises(ScenarioFileError, match=r"key 'outcome\[1\]\.effect\.ends_by_stratum'"
                       r": Effect\.ends_by_stratum: got 'x'"):
        parse_scenario(doc, "multi.toml")
    doc = tomllib.loads(MULTI.replace("by_stratum = {b = 0.5}", "by_stratum = {y = 0.5}"))
    with pytest.raises(ScenarioFileError, match=r"key 'outcome\[0\]\.effect\.by_stratum'"):
        parse_scenario(doc, "multi.toml")


FILE = """
horizon = 4
period = "year"
start_year = 2020
[cohort]
entry = [100, 100]
[[cohort.strata]]
name = "a"
share = 0.5
[[cohort.strata]]
name = "b"
share = 0.5
[outcome]
kind = "counts"
rate = 2.0
[effect]
measure = "rr"
value = 0.5
by_stratum = {a = 2.0}
ends_by_stratum = {b = 2022}
"""

BAD = [
    (FILE.replace("by_stratum = {a = 2.0}", "by_stratum = {c = 2.0}"),
     ["'effect.by_stratum'", "Effect.by_stratum: got 'c'"]),
    (FILE.replace("by_stratum = {a = 2.0}", "by_stratum = {a = 101}"),
     ["effect", "Effect.by_stratum[a]: got 101"]),
    (FILE.replace("by_stratum = {a = 2.0}", "by_stratum = {a = -1}"),
     ["effect", "Effect.by_stratum[a]: got -1"]),
    (FILE.replace("by_stratum = {a = 2.0}", "by_stratum = 2.0"),
     ["'effect.by_stratum'", "expected a table"]),
    (FILE.replace("{b = 2022}", "{b = 2019}"),
     ["'effect.ends_by_stratum.b'", "got 2019", "from the file's start_year (2020) to 2024"]),
    (FILE.replace("{b = 2022}", "{b = 2025}"),
     ["'effect.ends_by_stratum.b'", "got 2025"]),
    (FILE.replace("{b = 2022}", '{b = "2022"}'),
     ["'effect.ends_by_stratum.b'", "got '2022'"]),
    (FILE.replace("start_year = 2020\n", ""),
     ["'effect.ends_by_stratum.b'", "needs the file's top-level start_year"]),
    (FILE.replace("{b = 2022}", "{c = 2022}"),
     ["'effect.ends_by_stratum'", "Effect.ends_by_stratum: got 'c'"]),
    (FILE.replace('[[cohort.strata]]\nname = "a"\nshare = 0.5\n[[cohort.strata]]\n'
                  'name = "b"\nshare = 0.5\n', ""),
     ["'effect.by_stratum'", "Effect.by_stratum", "none without strata"]),
]


@pytest.mark.parametrize(("text", "words"), BAD,
                         ids=["unknown-stratum", "over-100", "negative", "not-a-table",
                              "before-start", "after-horizon", "not-a-year", "no-start-year",
                              "unknown-end-stratum", "no-strata"])
def test_bad_files_exit_2_with_one_line_naming_the_key(tmp_path, capsys, text, words):
    assert_file_refused(tmp_path, capsys, text, words)


def test_python_dash_m_sibsim_refuses_an_end_before_the_start(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD[4][0], encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "sibsim", "run", str(path), "--out",
                          str(tmp_path / "o.nc"), "--no-progress"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "'effect.ends_by_stratum.b'" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "o.nc").exists()


# ------------------------------------------------------------------ TOML
def test_toml_round_trip():
    deal = parse_scenario(tomllib.loads(FILE), "f.toml")
    e = deal.scenario.effect
    assert e == Effect("rr", 0.5, by_stratum={"a": 2.0}, ends_by_stratum={"b": 2})
    assert e.by_stratum == (("a", 2.0),) and e.ends_by_stratum == (("b", 2),)
    # the file gives what the Python objects give
    same = counts(Effect("rr", 0.5, by_stratum={"a": 2.0}, ends_by_stratum={"b": 2}))
    np.testing.assert_array_equal(treated_events(deal.scenario), treated_events(same))
    # a replace keeps the fields and validates them again
    assert dataclasses.replace(e, by_stratum=()).by_stratum == ()
    with pytest.raises(ValueError, match=r"Effect\.by_stratum\[a\]"):
        dataclasses.replace(e, by_stratum={"a": -2.0})


@pytest.mark.parametrize(("period", "start_period", "year", "want"), [
    ("year", 0, 2020, 0), ("year", 0, 2024, 4),       # 2024: the horizon's end (no end in it)
    ("quarter", 0, 2021, 4),                           # the year's first quarter
    ("quarter", 2, 2021, 2),                           # from July 2020: Jan-Mar 2021
    ("quarter", 2, 2020, 0),                           # the start year itself: period 0
    ("month", 0, 2020, 0),
])
def test_calendar_years_become_the_years_first_period(period, start_period, year, want):
    horizon = 4
    text = FILE.replace('period = "year"', f'period = "{period}"\nstart_period = '
                        f'{start_period}').replace("{b = 2022}", f"{{b = {year}}}")
    deal = parse_scenario(tomllib.loads(text), "f.toml")
    assert dict(deal.scenario.effect.ends_by_stratum) == {"b": want}
    assert deal.scenario.horizon == horizon


def test_quarterly_year_beginning_after_the_horizon_is_refused():
    # quarterly from 2020, 4 quarters: the horizon ends at the start of 2021
    text = FILE.replace('period = "year"', 'period = "quarter"')
    parse_scenario(tomllib.loads(text.replace("{b = 2022}", "{b = 2021}")), "f.toml")
    with pytest.raises(ScenarioFileError, match=r"ends_by_stratum\.b.*got 2022; allowed: a "
                                                r"calendar year from the file's start_year "
                                                r"\(2020\) to 2021"):
        parse_scenario(tomllib.loads(text), "f.toml")


def test_model_columns_follow_the_strata_of_each_process():
    deal = parse_scenario(tomllib.loads(MULTI), "multi.toml")
    for i in range(2):
        sub = deal.scenario.process_scenario(i)
        assert model_of(sub).n_columns() <= sub.cohort.n_waves * sub.horizon


def test_the_documented_example_gives_the_documented_strengths():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md").read_text(
        encoding="utf-8")
    block = next(b for b in re.findall(r"```toml\n(.*?)```", text, re.S)
                 if "ends_by_stratum = {vantaa = 2023}" in b)
    outcome = ('[outcome]\nkind = "markov"\nstates = ["home", "care"]\n'
               'transitions = [[0.965, 0.035], [0.25, 0.75]]\n')
    sc = parse_scenario(tomllib.loads(block + outcome), "doc.toml").scenario
    tidx, _, strength = columns(sc, 1)
    k = {s.name: i for i, s in enumerate(sc.cohort.strata)}

    def by_period(name: str, wave: int) -> list[float]:
        return strength[k[name], tidx[wave]].round(12).tolist()[:7]

    assert by_period("helsinki", 0) == [1.0, 1.0, 1.0, 0.8, 0.64, 0.512, 0.4096]
    assert by_period("kemionsaari", 1)[1:] == [0.5, 0.5, 0.5, 0.4, 0.32, 0.256]
    assert by_period("vantaa", 1)[1:] == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_a_file_ending_a_stratum_before_its_first_entry_year_is_refused():
    text = FILE.replace("entry = [100, 100]\n", "").replace(
        'name = "a"\nshare = 0.5', 'name = "a"\nentry = [50]').replace(
        'name = "b"\nshare = 0.5', 'name = "b"\nstart_year = 2022\nentry = [50]')
    parse_scenario(tomllib.loads(text), "f.toml")  # b enters in 2022, its effect ends then
    with pytest.raises(ScenarioFileError, match=r"Effect\.ends_by_stratum\[b\]: got 1; "
                                                r"allowed: a period from the stratum's first "
                                                r"entry \(2\).*first entry year on"):
        parse_scenario(tomllib.loads(text.replace("{b = 2022}", "{b = 2021}")), "f.toml")
