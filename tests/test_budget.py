"""Tests of sibsim.analysis.budget: the yearly budget of each payer, against a direct numpy
computation, and its exports (CSV in en/fi/sv, xlsx)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.analysis.budget import ALL_PAYERS, yearly_budget

DRAWS = 80
SEED = 7


@pytest.fixture(scope="module")
def peterborough():
    deal = sibsim.load_scenario("peterborough")
    res = sibsim.analyse(deal, draws=DRAWS, seed=SEED, progress=False, with_breakeven=False)
    return deal, res


@pytest.fixture(scope="module")
def koto():
    deal = sibsim.load_scenario("koto-sib")
    res = sibsim.analyse(deal, draws=DRAWS, seed=SEED, progress=False, with_breakeven=False)
    return deal, res


def synthetic_money(deal: sibsim.Deal, draws: int, payers: list[str], seed: int = 0
                    ) -> xr.Dataset:
    """A money dataset with random payer lines of the deal's horizon (heavy-tailed payments,
    savings of both signs), for checks against numpy."""
    rng = np.random.default_rng(seed)
    P = deal.scenario.horizon
    shape = (draws, len(payers), P)
    pay = np.where(rng.random(shape) < 0.4, 0.0, rng.lognormal(10, 1, shape))
    cash = rng.normal(2e4, 3e4, shape)
    net = cash - pay - 100.0
    dims = ("draw", "payer", "period")
    return xr.Dataset(
        {"payments_by_payer": (dims, pay), "cashable_savings_by_payer": (dims, cash),
         "net_savings_by_payer": (dims, net)},
        coords={"draw": np.arange(draws), "payer": payers, "period": np.arange(P)},
        attrs={"currency": "EUR", "period": deal.scenario.period, "seed": seed})


def direct(money: xr.Dataset, deal: sibsim.Deal, confidence: float) -> dict[str, np.ndarray]:
    """The yearly budget by plain loops over payers and years (numpy only)."""
    years = deal.calendar_years()
    labels = sorted(set(years.tolist()))
    pay = money["payments_by_payer"].values
    cash = money["cashable_savings_by_payer"].values
    net = money["net_savings_by_payer"].values
    out: dict[str, list] = {}
    n_payers = pay.shape[1]
    for j in range(n_payers + 1):
        rows: dict[str, list] = {}
        for y in labels:
            cols = [t for t in range(len(years)) if years[t] == y]
            if j < n_payers:
                g, c, n = (a[:, j, cols].sum(-1) for a in (pay, cash, net))
            else:
                g, c, n = (a[:, :, cols].sum((-1, -2)) for a in (pay, cash, net))
            vals = {
                "gross_payments_mean": g.mean(), "gross_payments_median": np.median(g),
                "gross_payments_p90": np.percentile(g, 90),
                "gross_payments_p95": np.percentile(g, 95),
                "appropriation": np.percentile(g, 100 * confidence),
                "cashable_savings_mean": c.mean(),
                "cashable_savings_p05": np.percentile(c, 5),
                "cashable_savings_median": np.median(c),
                "cashable_savings_p95": np.percentile(c, 95),
                "net_savings_mean": n.mean(), "net_savings_p05": np.percentile(n, 5),
                "net_savings_median": np.median(n), "net_savings_p95": np.percentile(n, 95),
                "p_net_loss": np.mean(n < 0),
            }
            for k, x in vals.items():
                rows.setdefault(k, []).append(x)
        for k, x in rows.items():
            out.setdefault(k, []).append(x)
    return {k: np.array(x) for k, x in out.items()}


@pytest.mark.parametrize("name, confidence", [("peterborough", 0.9), ("koto-sib", 0.8),
                                              ("lapset-sib-1", 0.975)])
def test_matches_direct_numpy(name, confidence):
    deal = sibsim.load_scenario(name)
    money = synthetic_money(deal, 101, ["a", "b", "c"], seed=len(name))
    b = yearly_budget(money, deal, confidence=confidence)
    want = direct(money, deal, confidence)
    assert set(want) == set(b.data_vars)
    for k, x in want.items():
        np.testing.assert_allclose(b[k].transpose("payer", "year").values, x, rtol=1e-12,
                                   atol=1e-6, err_msg=k)
    assert b["payer"].values.tolist() == ["a", "b", "c", ALL_PAYERS]
    assert b["year"].values.tolist() == sorted(set(deal.calendar_years().tolist()))


def test_monthly_deal_sums_twelve_periods():
    deal = sibsim.load_scenario("peterborough")
    monthly = sibsim.Deal(scenario=deal.scenario, start_year=2010).with_scenario(
        period="month", horizon=30)
    assert monthly.scenario.periods_per_year == 12
    money = synthetic_money(monthly, 40, ["x"])
    b = yearly_budget(money, monthly)
    assert b["year"].values.tolist() == [2010, 2011, 2012]
    assert b["periods_in_year"].values.tolist() == [12, 12, 6]  # a partial last year
    pay = money["payments_by_payer"].values[:, 0]
    np.testing.assert_allclose(b["gross_payments_mean"].sel(payer="x").values,
                               [pay[:, :12].sum(1).mean(), pay[:, 12:24].sum(1).mean(),
                                pay[:, 24:].sum(1).mean()])


def test_properties_on_a_real_run(peterborough):
    deal, res = peterborough
    b = yearly_budget(res.money, deal)
    # quantiles ordered
    assert (b["gross_payments_p95"] >= b["gross_payments_p90"]).all()
    assert (b["gross_payments_p90"] >= b["gross_payments_median"]).all()
    assert (b["net_savings_p95"] >= b["net_savings_median"]).all()
    assert (b["net_savings_median"] >= b["net_savings_p05"]).all()
    assert (b["cashable_savings_p95"] >= b["cashable_savings_p05"]).all()
    # the appropriation at 90% is the 90th percentile
    xr.testing.assert_equal(b["appropriation"].drop_attrs(),
                            b["gross_payments_p90"].drop_attrs())
    # means over payers add up to the total, and the total to the money dataset's totals
    for k in ("gross_payments_mean", "cashable_savings_mean", "net_savings_mean"):
        parts = b[k].drop_sel(payer=ALL_PAYERS).sum("payer")
        np.testing.assert_allclose(parts, b[k].sel(payer=ALL_PAYERS), rtol=1e-12, atol=1e-3)
    tot = b.sel(payer=ALL_PAYERS)
    np.testing.assert_allclose(tot["gross_payments_mean"].sum(),
                               res.money["outcome_payments"].sum("period").mean(), rtol=1e-12)
    np.testing.assert_allclose(tot["net_savings_mean"].sum(),
                               res.money["net_savings"].sum("period").mean(), rtol=1e-9)
    assert ((b["p_net_loss"] >= 0) & (b["p_net_loss"] <= 1)).all()
    assert b["gross_payments_mean"].attrs["units"] == "GBP"
    assert b["p_net_loss"].attrs["units"] == "probability"
    assert b.attrs["confidence"] == 0.9


def test_quarterly_deal_sums_four_periods_a_year(koto):
    deal, res = koto
    b = yearly_budget(res.money, deal, confidence=0.95)
    assert deal.scenario.periods_per_year == 4
    assert (b["periods_in_year"] == 4).all()
    assert b.sizes["year"] == deal.scenario.horizon // 4
    pay = res.money["payments_by_payer"].transpose("draw", "payer", "period").values
    first_year = pay[:, :, :4].sum(-1).mean(0)
    np.testing.assert_allclose(b["gross_payments_mean"].isel(year=0).values[:-1], first_year)
    xr.testing.assert_equal(b["appropriation"].drop_attrs(),
                            b["gross_payments_p95"].drop_attrs())


def test_confidence_moves_the_appropriation(peterborough):
    deal, res = peterborough
    lo = yearly_budget(res.money, deal, confidence=0.5)["appropriation"]
    hi = yearly_budget(res.money, deal, confidence=0.99)["appropriation"]
    assert (hi >= lo).all() and (hi > lo).any()
    xr.testing.assert_equal(lo.drop_attrs(), yearly_budget(res.money, deal)[
        "gross_payments_median"].drop_attrs())


@pytest.mark.parametrize("bad, error, text", [
    (90, ValueError, "write 0.9 for 90%"), (0.0, ValueError, "allowed: a finite number in (0"),
    (1.5, ValueError, "yearly_budget.confidence: got 1.5"), ("0.9", TypeError, "a real number"),
    (float("nan"), ValueError, "yearly_budget.confidence")])
def test_confidence_is_validated(peterborough, bad, error, text):
    deal, res = peterborough
    with pytest.raises(error) as info:
        yearly_budget(res.money, deal, confidence=bad)
    assert text in str(info.value)


def test_refuses_a_money_dataset_of_another_horizon(peterborough):
    deal, res = peterborough
    with pytest.raises(ValueError, match=r"yearly_budget\.money: got '7 periods'"):
        yearly_budget(res.money.isel(period=slice(0, 7)), deal)


def test_refuses_a_payer_named_like_the_total():
    deal = sibsim.load_scenario("peterborough")
    with pytest.raises(ValueError, match="labels the deal total"):
        yearly_budget(synthetic_money(deal, 10, ["x", ALL_PAYERS]), deal)


def test_single_payer_deal_without_start_year(peterborough):
    deal, _ = peterborough
    one = deal.replace(payers=(), start_year=None)
    res = sibsim.analyse(one, draws=30, seed=1, progress=False, with_breakeven=False)
    b = yearly_budget(res.money, one)
    assert b["payer"].values.tolist() == ["commissioner", ALL_PAYERS]
    assert b["year"].values.tolist() == list(range(1, 9))
    for k in b.data_vars:
        np.testing.assert_allclose(b[k].sel(payer="commissioner"), b[k].sel(payer=ALL_PAYERS),
                                   err_msg=k)
