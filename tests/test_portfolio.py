"""Portfolios (sibsim.portfolio): an investors' fund's part of several deals, pooled.

The fund's figures are checked against the deals' own runs (``sibsim.analyse`` with each
holding's seed), to the last bit; the pooled metrics against their definitions (the fund's NPV
is the sum of its holdings' NPVs at one rate; the IRR and money multiple do not change when a
holding's share scales every flow); and every refusal names its key, from Python, TOML and the
command line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.money.irr import npv
from sibsim.portfolio import (
    ALL,
    Holding,
    Portfolio,
    PortfolioError,
    describe_portfolio,
    load_portfolio,
    run_portfolio,
)
from sibsim.programme import deal_seed

DRAWS = 30


@pytest.fixture(scope="module")
def lapset():
    return sibsim.load_scenario("lapset-sib-1"), sibsim.load_scenario("lapset-sib-2")


@pytest.fixture(scope="module")
def fund_run(lapset):
    fund = Portfolio("lf", (Holding(lapset[0]), Holding(lapset[1], share=0.5)))
    return fund, run_portfolio(fund, draws=DRAWS, seed=3, progress=False)


def test_each_holding_is_its_deal_run_alone_placed_on_the_funds_calendar(lapset, fund_run):
    fund, res = fund_run
    assert fund.offsets() == (0, 2)  # 2019 and 2021, yearly
    assert res["year"].values.tolist() == list(range(2019, 2033))
    for h, off in zip(fund.holdings, fund.offsets(), strict=True):
        alone = sibsim.analyse(h.deal, draws=DRAWS, seed=deal_seed(3, h.name), progress=False,
                               with_breakeven=False).money
        flow = alone["flow"].sel(party="fund").values * h.share
        got = res["flow"].sel(investor=h.name).values
        H = h.deal.scenario.horizon
        np.testing.assert_array_equal(got[:, off:off + H], flow)
        assert not got[:, :off].any() and not got[:, off + H:].any()
        np.testing.assert_array_equal(
            res["drawdown"].sel(investor=h.name).values[:, off:off + H],
            alone["drawdown"].sel(tranche="fund").values * h.share)
    names = [h.name for h in fund.holdings]
    for var in ("flow", "drawdown", "investor_received"):
        np.testing.assert_array_equal(res[var].sel(investor=ALL).values,
                                      res[var].sel(investor=names).values.sum(1))


def test_a_whole_holdings_metrics_are_its_deals_investor_metrics(lapset, fund_run):
    fund, res = fund_run
    h = fund.holdings[0]  # share 1: the deal's own investors' figures
    inv = sibsim.analyse(h.deal, draws=DRAWS, seed=deal_seed(3, h.name), progress=False,
                         with_breakeven=False).investors.sel(investor="all")
    for var in ("irr", "irr_annual", "moic", "npv", "invested", "received", "loss"):
        np.testing.assert_array_equal(res[var].sel(investor=h.name).values, inv[var].values)


def test_the_funds_npv_is_the_sum_of_its_holdings_and_zero_at_its_irr(fund_run):
    fund, res = fund_run
    names = [h.name for h in fund.holdings]
    total = res["npv"].sel(investor=names).values.sum(1)
    np.testing.assert_allclose(res["npv"].sel(investor=ALL).values, total, rtol=1e-12,
                               atol=1e-6)
    r = res["irr"].sel(investor=ALL).values
    f = res["flow"].sel(investor=ALL).values
    ok = np.isfinite(r)
    assert ok.sum() > DRAWS // 2
    scale = np.abs(f[ok]).sum(1)
    at_irr = np.array([npv(x, row) for x, row in zip(r[ok], f[ok], strict=True)])
    assert np.all(np.abs(at_irr) <= 1e-6 * scale)


@settings(max_examples=8, deadline=None)
@given(st.floats(0.05, 1.0))
def test_a_share_scales_the_cash_and_leaves_the_irr_and_multiple(share):
    deal = sibsim.load_scenario("lapset-sib-2")
    whole = run_portfolio(Portfolio("a", (Holding(deal),)), draws=8, seed=1, progress=False)
    part = run_portfolio(Portfolio("a", (Holding(deal, share=share),)), draws=8, seed=1,
                         progress=False)
    np.testing.assert_allclose(part["flow"].values, share * whole["flow"].values, rtol=1e-12)
    np.testing.assert_allclose(part["irr"].values, whole["irr"].values, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(part["moic"].values, whole["moic"].values, rtol=1e-12)
    np.testing.assert_array_equal(part["loss"].values, whole["loss"].values)


def test_results_depend_on_the_seed_and_the_holdings_own_name_only(lapset):
    one = run_portfolio(Portfolio("a", (Holding(lapset[1]),)), draws=10, seed=5,
                        progress=False)
    two = run_portfolio(Portfolio("b", (Holding(lapset[0]), Holding(lapset[1]))), draws=10,
                        seed=5, progress=False)
    np.testing.assert_array_equal(one["flow"].sel(investor="lapset-sib-2").values[:, :],
                                  two["flow"].sel(investor="lapset-sib-2").values[:, 2:])


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: Holding(d[1], tranches=("senior",)),
     "Holding.tranches: got ('senior',); allowed: investor tranches of deal 'lapset-sib-2'"),
    (lambda d: Holding(d[1], share=0.0), "Holding.share: got 0.0"),
    (lambda d: Holding(d[1], share=1.5), "Holding.share: got 1.5"),
    (lambda d: Holding(d[1], name="all"), "Holding.name: got 'all'; allowed: a name other"),
    (lambda d: Holding(sibsim.Deal(scenario=d[1].scenario)),
     "Holding.deal: got 'lapset-sib-2'; allowed: a deal with money terms"),
    (lambda d: Portfolio("p", (Holding(d[1]), Holding(d[1]))),
     "Portfolio.holdings: got ['lapset-sib-2', 'lapset-sib-2']; allowed: unique holding names"),
    (lambda d: Portfolio("p", (Holding(d[0]), Holding(sibsim.load_scenario("utah-preschool")))),
     "Portfolio.holdings[utah-preschool].deal.currency: got 'USD'; allowed: the currency of "
     "the other holdings ('EUR')"),
    (lambda d: Portfolio("p", (Holding(d[0]), Holding(sibsim.load_scenario("koto-sib")))),
     "Portfolio.holdings[koto-sib].deal.period: got 'quarter'; allowed: the period of the "
     "other holdings ('year')"),
    (lambda d: Portfolio("p", (Holding(d[0]), Holding(d[1].replace(start_year=None)))),
     "Portfolio.holdings[lapset-sib-2].deal.start_year: got None"),
    (lambda d: Portfolio("p", (Holding(d[0]), Holding(d[1].replace(
        investors=type(d[1].investors)(discount_rate=d[1].investors.discount_rate,
                                       target_irr=0.07))))),
     "Portfolio.target_irr: got None; allowed: a rate per year: the holdings' investors have "
     "different ones"),
    (lambda d: Portfolio("p", ()), "Portfolio.holdings"),
    (lambda d: Portfolio("../p", (Holding(d[1]),)), "Portfolio.name: got '../p'"),
])
def test_refusals_name_the_field_the_value_and_what_is_allowed(lapset, make, message):
    with pytest.raises((ValueError, TypeError)) as err:
        make(lapset)
    assert message in str(err.value)


def test_an_explicit_target_settles_holdings_with_different_ones(lapset):
    other = lapset[1].replace(investors=type(lapset[1].investors)(
        discount_rate=lapset[1].investors.discount_rate, target_irr=0.07))
    fund = Portfolio("p", (Holding(lapset[0]), Holding(other)), target_irr=0.06)
    assert fund.target_irr == 0.06


def _write(tmp_path, text, name="fund.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_builtin_file_and_a_file_of_ones_own_read_the_same(tmp_path):
    builtin = load_portfolio("lapset-fund")
    assert [h.name for h in builtin.holdings] == ["lapset-sib-1", "lapset-sib-2"]
    assert builtin.target_irr == 0.05 and builtin.discount_rate == 0.05
    (tmp_path / "mine.toml").write_bytes(
        sibsim.scenario_file.builtin_scenarios()["lapset-sib-2"].read_bytes())
    fund = load_portfolio(_write(tmp_path, """
        name = "own"
        [[holdings]]
        deal = "lapset-sib-1"
        [[holdings]]
        deal = "mine.toml"      # next to the portfolio file
        name = "youth"
        share = 0.25
    """))
    assert [h.name for h in fund.holdings] == ["lapset-sib-1", "youth"]
    assert fund.holdings[1].tranches == ("fund",) and fund.holdings[1].share == 0.25
    assert fund.holdings[1].deal == sibsim.load_scenario("lapset-sib-2")


@pytest.mark.parametrize(("body", "message"), [
    ("name = 'x'\n", "key 'holdings': this key is required"),
    ("holdings = []\n", "key 'holdings': allowed: one or more [[holdings]] tables"),
    ("[[holdings]]\ndeal = 'nowhere'\n", "key 'holdings[0].deal': got 'nowhere': no such file"),
    ("[[holdings]]\ndeal = 'lapset-sib-2'\nshare = 2\n",
     "key 'holdings[0]': Holding.share: got 2"),
    ("[[holdings]]\ndeal = 'lapset-sib-2'\ntranche = ['fund']\n",
     "key 'holdings[0].tranche': unknown key"),
    ("colour = 'red'\n[[holdings]]\ndeal = 'lapset-sib-2'\n", "key 'colour': unknown key"),
    ("[[holdings]]\ndeal = 3\n", "key 'holdings[0].deal': got 3"),
    ("[[holdings]]\ndeal = 'lapset-sib-2'\n[[holdings]]\ndeal = 'lapset-sib-2'\n",
     "unique holding names"),
    ("target_irr = 5\n[[holdings]]\ndeal = 'lapset-sib-2'\n", "Portfolio.target_irr: got 5"),
    ("[[holdings\n", "not valid TOML"),
])
def test_a_bad_file_is_one_message_naming_the_key(tmp_path, body, message):
    with pytest.raises(PortfolioError) as err:
        load_portfolio(_write(tmp_path, body))
    text = str(err.value)
    assert message in text and "\n" not in text and str(tmp_path) in text


def test_command_line_runs_the_builtin_fund_and_writes_what_it_prints(tmp_path):
    out = tmp_path / "lf.nc"
    run = subprocess.run([sys.executable, "-m", "sibsim", "portfolio", "lapset-fund", "--draws",
                          "40", "--seed", "2", "--out", str(out)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    res = xr.load_dataset(out)
    assert run.stdout.splitlines()[0] == describe_portfolio(res).splitlines()[0]
    loss = float(res["loss"].sel(investor=ALL).mean())
    assert f"lose money in {100 * loss:.1f}% of draws" in run.stdout
    again = run_portfolio(load_portfolio("lapset-fund"), draws=40, seed=2, progress=False)
    assert res.identical(again)


@pytest.mark.parametrize(("args", "message"), [
    (["nowhere.toml"], "nowhere.toml: no such file, and not a built-in portfolio"),
    (["lapset-fund", "--draws", "0"], "--draws: got 0; allowed: an integer >= 1"),
    (["lapset-fund", "--out", "x.csv"], "--out"),
])
def test_command_line_refusals_are_one_line(tmp_path, args, message):
    run = subprocess.run([sys.executable, "-m", "sibsim", "portfolio", *args],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_summary_compares_the_fund_with_each_holding(fund_run):
    _, res = fund_run
    text = describe_portfolio(res)
    assert "lapset-sib-1" in text and "the fund (all)" in text
    assert "drawn independently" in text
    loss = [float(res["loss"].sel(investor=n).mean()) for n in ("lapset-sib-1", "lapset-sib-2")]
    assert f"in {100 * min(loss):.1f}% to {100 * max(loss):.1f}%" in text


def test_netcdf_round_trip(tmp_path, fund_run):
    from sibsim.portfolio import write_portfolio

    _, res = fund_run
    path = write_portfolio(res, tmp_path / "p.nc")
    assert xr.load_dataset(path).identical(res)


def _toml(x: object) -> str:
    """A TOML value (the fuzzer's types only)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return "nan" if x != x else ("inf" if x == np.inf else "-inf" if x == -np.inf
                                     else repr(x))
    if isinstance(x, str):
        return json.dumps(x)  # a TOML basic string: the same escapes
    if isinstance(x, list):
        return "[" + ", ".join(_toml(y) for y in x) + "]"
    return str(x)


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                    st.text(max_size=12), st.lists(st.text(max_size=6), max_size=3),
                    st.sampled_from(["lapset-sib-2", "fund", "all", "../x", "mine.toml"]))


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(["name", "description", "target_irr", "discount_rate",
                            "holdings[0].deal", "holdings[0].tranches", "holdings[0].share",
                            "holdings[0].name", "holdings[0].colour", "colour"]),
       value=_VALUES)
def test_fuzzed_files_load_or_are_refused_with_a_portfolio_error(tmp_path_factory, key, value):
    """Any value at any key: a Portfolio, or a PortfolioError naming the file (never another
    exception, never a traceback for the command line to show)."""
    data = {"name": "f", "holdings": [{"deal": "lapset-sib-2"}]}
    if key.startswith("holdings[0]."):
        target, k = data["holdings"][0], key.split(".", 1)[1]
    else:
        target, k = data, key
    if value is None:
        target.pop(k, None)
    else:
        target[k] = value
    path = tmp_path_factory.mktemp("fuzz") / "f.toml"
    lines = [f"{k} = {_toml(x)}" for k, x in data.items() if k != "holdings"]
    for h in data["holdings"]:
        lines += ["[[holdings]]", *(f"{k} = {_toml(x)}" for k, x in h.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        fund = load_portfolio(path)
    except PortfolioError as err:
        assert str(path) in str(err) and "\n" not in str(err)
    else:
        assert isinstance(fund, Portfolio) and 0 < fund.holdings[0].share <= 1


def test_effect_correlation_ties_the_deals_effects_with_its_rank_correlation(lapset):
    from scipy import stats

    n, rho = 3000, 0.6
    fund = Portfolio("c", (Holding(lapset[0]), Holding(lapset[1])), effect_correlation=rho)
    eff = []
    for h in fund.holdings:
        ds = sibsim.simulate(fund.deal_in(h, 4), draws=n, seed=deal_seed(4, h.name),
                             progress=False)
        names = list(ds["parameter"].values)
        eff.append(ds["parameter_value"].values[:, names.index("effect.value")])
        alone = sibsim.simulate(h.deal, draws=n, seed=deal_seed(4, h.name), progress=False)
        mean, sd = alone["parameter_value"].values[:, names.index("effect.value")].mean(), \
            alone["parameter_value"].values[:, names.index("effect.value")].std()
        assert abs(eff[-1].mean() - mean) < 4.5 * sd * np.sqrt(2.0 / n)  # the same marginal
    got = stats.spearmanr(eff[0], eff[1])[0]
    assert abs(got - rho) < 4.5 * (1 - rho**2) / np.sqrt(n)
    independent = Portfolio("i", fund.holdings)
    assert independent.deal_in(fund.holdings[0], 4) is fund.holdings[0].deal


def test_effect_correlation_runs_and_is_read_from_the_file(tmp_path, lapset):
    fund = load_portfolio(_write(tmp_path, """
        effect_correlation = 0.5
        [[holdings]]
        deal = "lapset-sib-1"
        [[holdings]]
        deal = "lapset-sib-2"
    """))
    assert fund.effect_correlation == 0.5
    res = run_portfolio(fund, draws=10, seed=1, progress=False)
    assert res.attrs["effect_correlation"] == 0.5
    assert "rank correlation of 0.5" in describe_portfolio(res)
    h = Holding(lapset[1])
    again = sibsim.analyse(fund.deal_in(fund.holdings[1], 1), draws=10,
                           seed=deal_seed(1, h.name), progress=False, with_breakeven=False)
    np.testing.assert_array_equal(res["flow"].sel(investor="lapset-sib-2").values[:, 2:],
                                  again.money["flow"].sel(party="fund").values)


def test_a_deal_with_a_common_factor_of_its_own_is_refused_with_effect_correlation(lapset):
    from sibsim.spec.correlation import Correlation

    own = lapset[1].replace(correlation=Correlation(common={"effect.value": 0.5},
                                                    common_seed=1))
    with pytest.raises(ValueError) as err:
        Portfolio("p", (Holding(lapset[0]), Holding(own)), effect_correlation=0.3)
    assert "Portfolio.holdings[lapset-sib-2].deal.correlation.common" in str(err.value)
    assert Portfolio("p", (Holding(lapset[0]), Holding(own))).effect_correlation == 0.0


def test_an_irr_at_the_target_but_for_rounding_is_not_below_it():
    # Lapset-SIB II's claim grows at the fund's 5% target: fully repaid draws come out as 5%
    # give or take 1e-12, and the sign of that rounding decided "P(IRR < 5%)"
    res = run_portfolio(load_portfolio("lapset-fund"), draws=300, seed=1, progress=False)
    r = res["irr_annual"].sel(investor="lapset-sib-2").values
    target = float(res.attrs["target_irr_per_year"])
    at = np.abs(r - target) <= 1e-9
    assert (at & (r < target)).sum() >= 3  # the case this guards
    row = next(line for line in describe_portfolio(res).splitlines()
               if line.strip().startswith("lapset-sib-2"))
    shown = float(row.split()[-1].rstrip("%"))
    assert shown == pytest.approx(100 * np.mean(r < target - 1e-9), abs=0.05)
    assert shown < 100 * np.mean(r < target) - 0.5
