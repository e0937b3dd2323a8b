"""The typed Deal and what a new user meets: unfunded costs, break-even wording and range,
total-loss labelling, the results file's root group, the command line."""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.cli import main
from sibsim.money.deal import BreakevenSearch, Deal, Investors
from sibsim.report import UnfundedCostsWarning, analyse, describe, open_results
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, load_scenario

UNDERFUNDED = """
name = "underfunded"
horizon = 4
[cohort]
entry = [200, 200]
[comparison]
ratio = 1
[outcome]
kind = "counts"
rate = 1.0
[effect]
value = {dist = "lognormal", mean = 0.8, sd = 0.05}
[[evaluation]]
metric = "events"
design = "rct"
[contract]
[[contract.terms]]
metric = "events"
rule = {kind = "price_per_unit", price = 1000, threshold = 0.05}
[service_costs]
fixed_per_period = 100000
[capital]
[[capital.tranches]]
name = "investors"
commitment = 150000
"""


def write(tmp_path, text, name="deal.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def underfunded(tmp_path_factory):
    return load_scenario(write(tmp_path_factory.mktemp("deal"), UNDERFUNDED))


def test_unfunded_costs_are_in_the_money_dataset_and_warned(underfunded):
    with pytest.warns(UnfundedCostsWarning, match="exceed the capital committed"):
        res = analyse(underfunded, draws=40, seed=2, progress=False, with_breakeven=False)
    unf = res.money["unfunded_costs"]
    assert unf.attrs["units"] == "EUR"
    # 4 periods x 100k of costs against 150k committed: 250k is never funded, in every draw
    np.testing.assert_allclose(unf.sum("period").values, 250_000.0)
    drawn = res.money["drawdown"].sum(("tranche", "period")).values
    np.testing.assert_allclose(drawn + unf.sum("period").values, 400_000.0)
    assert "Unfunded costs: in 100.0% of draws" in describe(res, underfunded)


def test_fully_funded_deals_raise_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnfundedCostsWarning)
        res = analyse(load_scenario("peterborough"), draws=200, seed=1, progress=False,
                      with_breakeven=False)
    assert float(res.money["unfunded_costs"].max()) == 0.0
    assert "Unfunded" not in describe(res, load_scenario("peterborough"))


def test_cli_warns_on_one_line_and_still_writes(tmp_path, capsys):
    path = write(tmp_path, UNDERFUNDED)
    out = tmp_path / "r.nc"
    assert main(["run", str(path), "--draws", "30", "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("sibsim: warning: Unfunded costs") and "Traceback" not in err
    assert out.exists()


def test_total_loss_only_when_nothing_comes_back(underfunded):
    """Outcome payments arrive in the periods capital is drawn: net flows are all negative
    (IRR status TOTAL_LOSS), yet money came back, so it is not called a total loss."""
    with pytest.warns(UnfundedCostsWarning):
        res = analyse(underfunded, draws=60, seed=3, progress=False, with_breakeven=False)
    inv = res.investors.sel(investor="all")
    back = inv["received"].values > 0
    assert back.any() and (inv["irr_status"].values[back] == 2).any()
    text = describe(res, underfunded)
    assert "not a total loss" in text
    nothing = (inv["received"].values <= 0).mean()
    assert ("Total loss (nothing comes back)" in text) == bool(nothing > 0)


def test_breakeven_wording_for_an_outcome_where_more_is_better():
    sc = sibsim.Scenario(cohort=sibsim.Cohort(entry=(300, 300)),
                         outcome=sibsim.BinaryOutcome(0.3, name="job start"), horizon=4,
                         effect=sibsim.Effect("rr", sibsim.LogNormal.from_mean_sd(1.3, 0.05)),
                         comparison=sibsim.ComparisonGroup(ratio=1))
    base = load_scenario("peterborough")
    deal = Deal(scenario=sc,
                evaluations=(sibsim.money.evaluation.Evaluation("jobs", direction="increase",
                                                                   report_lag=1),),
                contract=sibsim.money.Contract((sibsim.money.MetricTerms(
                    "jobs", sibsim.money.PricePerUnit(20_000.0, threshold=0.05)),)),
                capital=base.capital.__class__(base.capital.tranches[:1], currency="EUR"),
                service_costs=sibsim.money.capital.ServiceCosts(
                    fixed_per_period=(100_000.0, 100_000.0, 0.0, 0.0)))
    res = analyse(deal, draws=60, seed=1, progress=False)
    text = describe(res, deal)
    be = text[text.index("Break-even"):]
    assert "increase" in be and "reduction" not in be
    assert "true effect on job starts is at least a" in be


def test_breakeven_text_of_an_effect_that_raises_a_hazard_speaks_of_an_increase():
    """Lapset-SIB II's service raises the hazard of returning to work or study (prior mean
    1.4) and its first evaluation counts school absences down: the break-even is searched
    towards stronger increases, and named in a plural the summary can print."""
    deal = load_scenario("lapset-sib-2")
    res = analyse(deal, draws=40, seed=2, progress=False)
    assert res.breakeven.attrs["effect_range"][1] > 1.0
    be = describe(res, deal)
    be = be[be.index("Break-even"):]
    assert "reduction" not in be and "increase" in be


def test_outcome_names_in_the_summary_are_plural_english():
    from sibsim.report import plural

    got = {name: plural(load_scenario(name).scenario.outcome.name)
           for name in builtin_scenarios()}
    assert got["lapset-sib-2"] == "activities" and got["essex-mst"] == "entries to care"
    assert got["tyollisyys-sib"] == "months without work" and got["denver-housing"] == "housing"
    assert got["peterborough"] == "reconviction events"
    assert not any(p.split(" ")[0].endswith(("ys", "ss")) for p in got.values()), got


def test_breakeven_out_of_range_names_the_option_and_the_range_is_settable(tmp_path):
    deal = load_scenario("peterborough")
    narrow = deal.replace(breakeven=BreakevenSearch(effect_range=(1.0, 0.97), grid=5))
    res = analyse(narrow, draws=60, seed=1, progress=False)
    assert res.breakeven.attrs["effect_range"] == [1.0, 0.97]
    assert res.breakeven.sizes["effect"] == 5
    text = describe(res, narrow)
    assert "even at a 3.0% reduction (the strongest effect searched)" in text
    assert "--breakeven-range" in text and "[breakeven] effect_range" in text
    # the scenario file's [breakeven] table
    path = write(tmp_path, UNDERFUNDED + "\n[breakeven]\neffect_range = [1.0, 0.3]\ngrid = 7\n")
    assert load_scenario(path).breakeven == BreakevenSearch((1.0, 0.3), 7)
    bad = write(tmp_path, UNDERFUNDED + "\n[breakeven]\neffect_range = [1.0, 1.0]\n", "b.toml")
    with pytest.raises(ScenarioFileError, match=r"breakeven.*two different effects"):
        load_scenario(bad)
    # and the command line
    out = tmp_path / "r.nc"
    code = main(["run", str(path), "--draws", "20", "--out", str(out), "--no-progress",
                 "--breakeven-range", "1.0", "0.6"])
    assert code == 0
    assert open_results(out).breakeven.attrs["effect_range"].tolist() == [1.0, 0.6]


def test_results_root_group_holds_the_headline(tmp_path):
    res = analyse(load_scenario("peterborough"), draws=80, seed=4, progress=False)
    path = res.to_netcdf(tmp_path / "r.nc")
    with xr.open_dataset(path) as root:
        assert root.data_vars  # not silently empty
        assert float(root["p_investor_loss"]) == pytest.approx(
            float(res.investors["loss"].sel(investor="all").mean()))
        assert float(root["p_commissioner_net_loss"]) == pytest.approx(
            float(res.municipality["net_loss"].mean()))
        assert "open_results" in root.attrs["read_with"]
    with pytest.raises(ValueError, match="open_results"):
        sibsim.open_dataset(path)
    back = open_results(path)
    xr.testing.assert_identical(back.money, res.money)


def test_investor_terms_refuse_percentages():
    with pytest.raises(ValueError, match=r"Investors\.discount_rate: got 8;.*write 0\.08"):
        Investors(discount_rate=8)


def test_start_year_gives_calendar_years_and_is_checked():
    deal = sibsim.load_scenario("koto-sib")  # quarters from 2017
    years = deal.calendar_years()
    assert years.shape == (deal.scenario.horizon,)
    assert years[0] == deal.start_year == 2017
    assert (np.diff(years) >= 0).all() and (years[4] - years[0]) == 1
    assert deal.replace(start_year=None).calendar_years()[0] == 1
    with pytest.raises(ValueError, match=r"start_year: got 20; allowed"):
        deal.replace(start_year=20)
