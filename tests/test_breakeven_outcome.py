"""Break-even on the effect of any outcome process (``[breakeven] outcome``, ``outcome=``).

Denver's supportive-housing SIB has two processes: housing (Markov, a hazard ratio on finding
housing) and jail days (counts, a relative rate). Searching the jail-day effect must override
``jail_days.effect.value`` only, keep the housing process's outcomes as simulated, find where
the investors' NPV changes sign (checked here by an independent evaluation through
``simulate`` and ``money_flows``), and say in every report which effect it searched.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.analysis.breakeven import (
    BreakevenBlocks,
    _Pipeline,
    breakeven,
    default_effect_range,
    searched_effect,
)
from sibsim.cli import main
from sibsim.money.capital import investor_tranches
from sibsim.money.deal import BreakevenSearch
from sibsim.money.irr import npv
from sibsim.money.municipality import per_period_rate
from sibsim.money.sib import money_flows

pytestmark = pytest.mark.usefixtures("warm_kernels")

JAIL = "jail_days"
#: Draws of the independent check (a few hundred, as the issue asks) and its grid.
DRAWS, SEED, GRID = 300, 11, 41


@pytest.fixture(scope="module")
def denver():
    return sibsim.load_scenario("denver-housing")


@pytest.fixture(scope="module")
def small(denver):
    return sibsim.simulate(denver, draws=8, seed=3, progress=False)


# ------------------------------------------------------------------ refusals
ALLOWED = "one of 'housing', 'jail_days' (the outcome processes with an effect)"


def test_unknown_name_is_refused_in_python(denver, small):
    with pytest.raises(ValueError, match=r"^Deal\.breakeven\.outcome: got 'jail'; allowed: "
                       + ALLOWED.replace("(", r"\(").replace(")", r"\)")):
        denver.replace(breakeven=BreakevenSearch(outcome="jail"))
    for call in (lambda: breakeven(denver, small, grid=3, outcome="jail"),
                 lambda: BreakevenBlocks(denver, grid=3, outcome="jail"),
                 lambda: default_effect_range(denver, "jail")):
        with pytest.raises(ValueError, match=r"^breakeven\.outcome: got 'jail'; allowed: one "
                                             r"of 'housing', 'jail_days'"):
            call()


def test_a_process_without_effect_is_refused(denver):
    sc = denver.scenario
    no_jail = sc.other_processes[0]
    deal = denver.with_scenario(other_processes=(dataclasses.replace(no_jail, effect=None),))
    with pytest.raises(ValueError, match=r"got 'jail_days'; allowed: one of 'housing' \(the "
                                         r"outcome processes with an effect\)"):
        deal.replace(breakeven=BreakevenSearch(outcome=JAIL))
    with pytest.raises(TypeError, match=r"BreakevenSearch\.outcome: got .*; allowed: a non-empty"):
        BreakevenSearch(outcome="")


def _denver_toml(extra: str) -> str:
    from sibsim.scenario_file import builtin_scenarios

    text = builtin_scenarios()["denver-housing"].read_text(encoding="utf-8")
    assert text.rstrip().endswith("effect_range = [1.0, 30.0]")
    return text.rstrip() + "\n" + extra + "\n"


def test_unknown_name_is_refused_in_a_scenario_file(tmp_path, capsys):
    from cli_refusal import assert_file_refused

    assert_file_refused(tmp_path, capsys, _denver_toml('outcome = "jail"'),
                        ["Deal.breakeven.outcome", "'jail'", "'housing', 'jail_days'"])


def test_unknown_name_is_refused_on_the_command_line(tmp_path, capsys):
    out = tmp_path / "o.nc"
    code = main(["run", "denver-housing", "--draws", "3", "--out", str(out), "--no-progress",
                 "--breakeven-outcome", "jail"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == ("sibsim: error: --breakeven-outcome: got 'jail'; allowed: " + ALLOWED
                   + "\n")
    assert not out.exists()


def test_the_scenario_file_names_the_process(tmp_path):
    path = tmp_path / "jail.toml"
    path.write_text(_denver_toml('outcome = "jail_days"'), encoding="utf-8")
    deal = sibsim.load_scenario(path)
    assert deal.breakeven == BreakevenSearch(effect_range=(1.0, 30.0), outcome=JAIL)
    assert searched_effect(deal).parameter == "jail_days.effect.value"


# ------------------------------------------------------------------ default = first process
def _same(a, b):
    assert a.attrs == b.attrs
    for var in a.data_vars:
        np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=var)


def test_naming_the_first_process_changes_nothing(denver, small):
    plain = breakeven(denver, small, grid=5)
    assert plain.attrs["outcome"] == "housing"
    assert plain.attrs["effect_parameter"] == "effect.value"
    _same(plain, breakeven(denver, small, grid=5, outcome="housing"))
    named = denver.replace(breakeven=BreakevenSearch(effect_range=(1.0, 30.0), outcome="housing"))
    _same(breakeven(denver.replace(breakeven=BreakevenSearch(effect_range=(1.0, 30.0))), small,
                    grid=5),
          breakeven(named, small, grid=5))


def test_naming_a_single_process_keeps_the_fast_path_and_its_numbers():
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=10, seed=2, progress=False)
    name = deal.scenario.outcome.name
    plain = breakeven(deal, ds, grid=7)
    _same(plain, breakeven(deal.replace(breakeven=BreakevenSearch(outcome=name)), ds, grid=7))
    assert plain.attrs["outcome"] == name
    assert _Pipeline(deal, ds, searched=searched_effect(deal, name)).fast


def test_the_deals_setting_is_the_default_and_an_argument_wins(denver, small):
    jail_deal = denver.replace(breakeven=BreakevenSearch(outcome=JAIL))
    by_deal = breakeven(jail_deal, small, grid=5)
    assert by_deal.attrs["outcome"] == JAIL
    _same(by_deal, breakeven(denver, small, grid=5, outcome=JAIL))
    _same(breakeven(jail_deal, small, grid=5, outcome="housing"), breakeven(denver, small, grid=5))


# ------------------------------------------------------------------ the jail-day search
def test_default_range_follows_the_searched_effect(denver):
    assert searched_effect(denver, JAIL).effect.measure == "rr"
    # the jail-day prior (mean 0.70) lowers the rate: from no effect to a halving
    assert default_effect_range(denver, JAIL) == (1.0, 0.5)
    # the housing prior (a hazard ratio of 15) raises it: a doubling
    assert default_effect_range(denver) == (1.0, 2.0)
    search = BreakevenBlocks(denver, grid=5, outcome=JAIL)
    assert search.measure == "rr" and search.effect_range == (1.0, 0.5)


def _treated_with_noise(deal, ds, parameter, effect):
    """The outcome dataset with the treated arm at a per-draw ``effect`` of ``parameter``,
    computed here from the public API: the expected engine at that effect times each cell's
    noise ratio (simulated / expected at the sampled parameters), every process's cells."""
    D = ds.sizes["draw"]
    at_sampled = sibsim.simulate(deal, draws=D, seed=SEED, engine="expected", progress=False)
    at_x = sibsim.simulate(deal, draws=D, seed=SEED, engine="expected", progress=False,
                           overrides={parameter: effect})
    out = ds.copy(deep=True)
    for k in ("events", "occupancy"):
        sim = ds[k].sel(arm="treatment").values
        e0 = at_sampled[k].sel(arm="treatment").values
        ex = at_x[k].sel(arm="treatment").values
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(e0 > 0, sim / np.where(e0 > 0, e0, 1.0), 1.0)
        i = list(ds["arm"].values).index("treatment")
        out[k].values[:, i] = ex * ratio
    return out


def _investor_npv(deal, ds):
    money = money_flows(deal, ds)
    flows = money["flow"].sel(party=investor_tranches(money.coords)).sum("party").values
    rate = per_period_rate(deal.investors.discount_rate, int(ds.attrs["periods_per_year"]))
    return npv(rate, flows)


@pytest.fixture(scope="module")
def jail_search(denver):
    ds = sibsim.simulate(denver, draws=DRAWS, seed=SEED, progress=False)
    return ds, breakeven(denver, ds, grid=GRID, outcome=JAIL)


def test_jail_day_break_even_is_where_the_investors_npv_changes_sign(denver, jail_search):
    ds, be = jail_search
    assert be.attrs["outcome"] == JAIL and be.attrs["measure"] == "rr"
    assert be.attrs["effect_parameter"] == "jail_days.effect.value"
    xs = be["effect"].values
    x = be["breakeven_effect"].sel(party="investors").values
    # crossings inside the range (not at the no-effect end, where nothing is paid for jail)
    inside = np.flatnonzero(np.isfinite(x) & (x < xs[0]) & (x > xs[-1]))
    assert inside.size >= DRAWS // 2, inside.size
    pick = inside[np.linspace(0, inside.size - 1, 6).astype(int)]
    # the grid interval of each picked draw (ratios: spaced on the log scale, falling)
    j = np.searchsorted(-np.log(xs), -np.log(x[pick]), side="right") - 1
    lo_x, hi_x = np.full(DRAWS, xs[0]), np.full(DRAWS, xs[0])
    lo_x[pick], hi_x[pick] = xs[j], xs[j + 1]
    mid = np.full(DRAWS, xs[0])
    mid[pick] = x[pick]
    par = "jail_days.effect.value"
    at = {name: _investor_npv(denver, _treated_with_noise(denver, ds, par, e))
          for name, e in (("lo", lo_x), ("hi", hi_x), ("x", mid))}
    f0, f1, fx = at["lo"][pick], at["hi"][pick], at["x"][pick]
    # the NPV changes sign across the grid interval in which the crossing was reported ...
    assert (f0 < 0).all() and (f1 >= 0).all(), (f0, f1)
    # ... and is near 0 at the reported effect: within the linear interpolation's error,
    # a fraction of the NPV's change across the interval (41 points from 1 to 0.5)
    assert (np.abs(fx) <= 0.25 * (f1 - f0)).all(), (fx, f1 - f0)
    # the interpolated point is where the straight line between the two ends crosses 0
    w = (np.log(x[pick]) - np.log(lo_x[pick])) / (np.log(hi_x[pick]) - np.log(lo_x[pick]))
    np.testing.assert_allclose(w, -f0 / (f1 - f0), rtol=1e-6, atol=1e-9)


def test_the_housing_search_differs_from_the_jail_search(denver, small):
    housing = breakeven(denver, small, grid=5)
    jail = breakeven(denver, small, grid=5, outcome=JAIL)
    assert not np.array_equal(housing["mean_investor_npv"].values,
                              jail["mean_investor_npv"].values)
    # a stronger jail-day effect pays the investors more (jail days avoided are paid for)
    assert np.diff(jail["mean_investor_npv"].values).min() >= 0
    assert np.ptp(jail["mean_investor_npv"].values) > 0


# ------------------------------------------------------------------ the other process is held
@pytest.fixture(scope="module")
def pipes(denver, small):
    return {name: _Pipeline(denver, small, searched=searched_effect(denver, name))
            for name in ("housing", JAIL)}


def _process_slice(pipe, k, name):
    """The treated arm of variable ``k`` of one process in the pipeline's working dataset."""
    work = pipe._local.work
    i = list(work["process"].values).index(name)
    arr = work.variables[k].values[:, :1]
    return np.array(arr[..., i, :] if k == "occupancy" else arr[..., i])


@settings(max_examples=6)
@given(a=st.floats(0.3, 1.0), b=st.floats(0.3, 1.0), searched=st.sampled_from([JAIL, "housing"]))
def test_the_other_process_is_untouched_across_effects(pipes, small, a, b, searched):
    pipe = pipes[searched]
    other = "housing" if searched == JAIL else JAIL
    D = pipe.D
    if searched == "housing":  # a hazard ratio of finding housing: 1 to 30
        a, b = 1.0 / a ** 3, 1.0 / b ** 3
    seen = {}
    for x in (a, b):
        pipe._at_effect(np.full(D, x))
        seen[x] = {k: (_process_slice(pipe, k, other), _process_slice(pipe, k, searched))
                   for k in ("events", "occupancy")}
    for k in ("events", "occupancy"):
        held_a, held_b = seen[a][k][0], seen[b][k][0]
        np.testing.assert_array_equal(held_a, held_b)  # identical at every effect
        sim = small[k].sel(arm="treatment", process=other).values
        np.testing.assert_allclose(held_a[:, 0], sim, rtol=1e-12, atol=1e-9, equal_nan=True)
    if abs(np.log(a) - np.log(b)) > 0.05:  # the searched process itself moves
        assert not np.array_equal(seen[a]["events"][1], seen[b]["events"][1])


# ------------------------------------------------------------------ reports name the effect
def test_results_summary_and_council_name_the_jail_day_effect(denver):
    from sibsim.council.facts import breakeven_units, council_facts
    from sibsim.council.formats import Formatter
    from sibsim.council.report import _effect_phrase, _unit_words, council_report
    from sibsim.report import describe

    deal = denver.replace(breakeven=BreakevenSearch(grid=9, outcome=JAIL))
    res = sibsim.analyse(deal, draws=40, seed=2, progress=False)
    assert res.breakeven.attrs["outcome"] == JAIL
    text = describe(res, deal)
    assert "Searched: the true effect on 'jail_days' (rr); the other outcome processes keep" \
        in text
    assert "when the true effect on 'jail_days' is at least a " in text
    assert "% reduction" in text.split("Break-even", 1)[1]  # fewer jail days: a reduction
    facts = council_facts(res, deal)
    be = facts.breakeven
    assert be.outcome == JAIL and be.measure == "rr" and be.kind == "events"
    # the prior beside the break-even is the jail-day effect's (lognormal, mean 0.70)
    assert facts.be_effect_mean == pytest.approx(0.70, abs=3 * 0.08 / np.sqrt(40))
    assert facts.effect_mean > 5  # the assumptions table keeps the housing hazard ratio
    html = council_report(res, deal, lang="en")
    assert ("reduce days in jail by at least" in html) == bool(np.isfinite(be.effect))
    assert ("The calculation changes only how much the service reduces or increases days in "
            "jail; its other effects are kept as assumed.") in html
    fi = council_report(res, deal, lang="fi")
    assert "kuinka paljon palvelu vähentää tai lisää vankilapäiviä" in fi
    # the investors' break-even in outcome terms: jail days avoided, worded as a reduction
    inv = breakeven_units(res.breakeven, deal, 2, party="investors")
    assert inv.outcome == JAIL and inv.kind == "events"
    assert np.isfinite(inv.effect) and 0.5 < inv.effect < 1 and inv.units > 0
    with_inv = dataclasses.replace(facts, breakeven=inv)
    phrase = _effect_phrase(with_inv, deal, "en", Formatter("en"))
    assert phrase == f"reduce days in jail by at least {Formatter('en').pct(1 - inv.effect, 0)}"
    assert _unit_words(with_inv, deal, "en") == "days in jail"


def test_command_line_searches_the_named_process_with_its_own_range(tmp_path):
    import xarray as xr

    out = tmp_path / "o.nc"
    code = main(["run", "denver-housing", "--draws", "4", "--seed", "1", "--out", str(out),
                 "--no-progress", "--breakeven-outcome", JAIL])
    assert code == 0
    be = xr.open_dataset(out, group="breakeven")
    # the file's range (1 to 30) is housing's: the jail-day effect gets its own default
    assert be.attrs["outcome"] == JAIL and list(be.attrs["effect_range"]) == [1.0, 0.5]
    be.close()


def test_the_design_grid_stays_on_the_first_process(denver):
    """``default_effects`` varies the first process's effect: a deal whose break-even
    searches the jail-day effect lends it neither the jail-day range nor its direction."""
    from sibsim.analysis.evaluation_design import default_effects

    first = default_effects(denver.replace(breakeven=BreakevenSearch()), points=5)
    assert first[0] == 1.0 and first[-1] > 1.0  # the housing hazard ratio, upwards
    jail = denver.replace(breakeven=BreakevenSearch(effect_range=(1.0, 0.4), outcome=JAIL))
    np.testing.assert_array_equal(default_effects(jail, points=5), first)
    housing = denver.replace(breakeven=BreakevenSearch(effect_range=(1.0, 30.0),
                                                       outcome="housing"))
    np.testing.assert_array_equal(default_effects(housing, points=5),
                                  default_effects(denver, points=5))
