"""Tests of sibsim.analysis.metrics and sibsim.analysis.summary on hand-made money datasets."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sibsim.analysis.metrics import (
    breakeven_period,
    investor_metrics,
    municipality_metrics,
    present_value,
)
from sibsim.analysis.summary import QUANTILES, cvar, summarise
from sibsim.money.capital import CapitalStructure, Tranche
from sibsim.money.cashflows import waterfall

PARTIES = ["commissioner", "senior", "junior", "guarantor", "provider", "intermediary"]


def money_ds(flows, *, ppy=1, investor_rate=0.0, social_rate=0.0, cash=None, wider=None,
             other=None, tranches="senior,junior", parties=PARTIES, drawdown=None):
    """A money dataset (the parts metrics read) from flows (D, party, P) in PARTIES order.

    ``drawdown`` (D, tranche, P) gives gross drawdowns; by default each tranche's negative net
    flows (right when no period has both a drawdown and a distribution)."""
    flows = np.asarray(flows, float)
    D, _, P = flows.shape
    names = [t for t in tranches.split(",") if t]
    net_t = np.stack([flows[:, list(parties).index(t), :] for t in names], axis=1)
    drawn = np.maximum(-net_t, 0.0) if drawdown is None else np.asarray(drawdown, float)
    received = net_t + drawn
    cash = np.zeros((D, P)) if cash is None else np.asarray(cash, float)
    wider = np.zeros((D, P)) if wider is None else np.asarray(wider, float)
    other = np.zeros(P) if other is None else np.asarray(other, float)
    net = cash + flows[:, 0, :] - other[None, :]
    return xr.Dataset(
        {"flow": (("draw", "party", "period"), flows),
         # the commissioner's outflows (these tests return no excess)
         "outcome_payments": (("draw", "period"), np.maximum(-flows[:, 0, :], 0.0)),
         "cashable_savings": (("draw", "period"), cash),
         "wider_value": (("draw", "period"), wider),
         "commissioner_other_costs": (("period",), other),
         "net_savings": (("draw", "period"), net),
         "drawdown": (("draw", "tranche", "period"), drawn),
         "investor_received": (("draw", "tranche", "period"), received)},
        coords={"draw": np.arange(D), "party": list(parties), "period": np.arange(P),
                "tranche": names},
        attrs={"periods_per_year": ppy, "investor_discount_rate_per_year": investor_rate,
               "social_discount_rate_per_year": social_rate, "tranches": tranches,
               "currency": "EUR"})


def balanced(senior, junior, commissioner=None):
    """Flows (D, party, P) where the commissioner (or the provider) balances the investors."""
    senior, junior = np.atleast_2d(senior), np.atleast_2d(junior)
    D, P = senior.shape
    f = np.zeros((D, len(PARTIES), P))
    f[:, 1], f[:, 2] = senior, junior
    if commissioner is not None:
        f[:, 0] = commissioner
    f[:, 4] = -f.sum(1)  # the provider takes the rest: flows sum to 0
    return f


# --------------------------------------------------------------------------------------
# breakeven_period
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flows", "expected"),
    [
        ([-10.0, 5.0, 6.0], 2.0),  # cumulative -10, -5, 1
        ([-1.0, 2.0, -3.0, 5.0], 3.0),  # -1, 1, -2, 3: dips again, so from period 3
        ([5.0, -1.0, 0.0], 0.0),  # never negative
        ([0.0, 0.0, 0.0], 0.0),
        ([-1.0, 1.0], 1.0),  # reaching exactly 0 counts as broken even
        ([1.0, -2.0], np.nan),  # negative at the horizon
        ([-1.0, 0.0, 0.5], np.nan),
        ([-1.0, 1.0 - 1e-13], 1.0),  # rounding noise is not a loss
    ],
)
def test_breakeven_period_worked_examples(flows, expected):
    out = breakeven_period(np.array([flows]))
    assert out.shape == (1,)
    np.testing.assert_equal(out[0], expected)


def test_breakeven_period_is_vectorised_over_draws():
    f = np.array([[-10.0, 5.0, 6.0], [-1.0, 0.0, 0.5], [3.0, -1.0, -1.0]])
    np.testing.assert_equal(breakeven_period(f), [2.0, np.nan, 0.0])


# --------------------------------------------------------------------------------------
# investor metrics
# --------------------------------------------------------------------------------------


def test_investor_metrics_by_hand_quarterly():
    # draw 0: senior -100 then +121 two quarters later (10% a quarter), junior -50 -> +20
    # draw 1: senior -100 -> +100 (0%), junior -50 -> +80 late
    senior = [[-100.0, 0.0, 121.0, 0.0], [-100.0, 0.0, 0.0, 100.0]]
    junior = [[-50.0, 0.0, 20.0, 0.0], [0.0, -50.0, 0.0, 80.0]]
    money = money_ds(balanced(senior, junior), ppy=4, investor_rate=0.08)
    m = investor_metrics(money)
    assert list(m["investor"].values) == ["senior", "junior", "all"]
    assert m["irr"].dims == ("draw", "investor")
    s, j, a = (m.sel(investor=k) for k in ("senior", "junior", "all"))
    np.testing.assert_allclose(s["moic"], [1.21, 1.0])
    np.testing.assert_allclose(j["moic"], [0.4, 1.6])
    np.testing.assert_allclose(a["moic"], [141 / 150, 180 / 150])
    np.testing.assert_array_equal(s["loss"], [0, 0])
    np.testing.assert_array_equal(j["loss"], [1, 0])
    np.testing.assert_array_equal(a["loss"], [1, 0])
    np.testing.assert_allclose(s["invested"], [100, 100])
    np.testing.assert_allclose(a["received"], [141, 180])
    np.testing.assert_allclose(s["irr"], [0.10, 0.0], atol=1e-12)
    np.testing.assert_allclose(s["irr_annual"], [1.1**4 - 1, 0.0], atol=1e-12)
    np.testing.assert_allclose(j["irr"].values[1], 1.6**0.5 - 1, rtol=1e-10)  # -50 -> 80 in 2q
    # NPV at 8% a year, i.e. r = 1.08 ** 0.25 - 1 a quarter: flow t discounted by 1.08 ** (t/4)
    np.testing.assert_allclose(s["npv"], [-100 + 121 / 1.08**0.5, -100 + 100 / 1.08**0.75],
                               rtol=1e-12)
    np.testing.assert_allclose(a["npv"].values[1],
                               -100 - 50 / 1.08**0.25 + 180 / 1.08**0.75, rtol=1e-12)
    # payback: cumulative cash >= 0 from period 2 (draw 0 senior), period 3 (draw 1)
    np.testing.assert_equal(s["payback_period"].values, [2.0, 3.0])
    np.testing.assert_equal(j["payback_period"].values, [np.nan, 3.0])
    assert set(m["irr_status"].values.ravel().tolist()) <= {0}


def test_total_loss_has_irr_minus_one_and_moic_zero():
    money = money_ds(balanced([[-100.0, 0.0]], [[-10.0, 0.0]]), ppy=12)
    m = investor_metrics(money).sel(investor="all")
    assert m["moic"].item() == 0.0
    assert m["irr"].item() == -1.0
    assert m["irr_annual"].item() == -1.0
    assert m["loss"].item() == 1
    assert np.isnan(m["payback_period"].item())


def test_nothing_invested_has_nan_moic_and_no_loss():
    money = money_ds(balanced([[0.0, 0.0]], [[0.0, 5.0]]))
    m = investor_metrics(money)
    assert np.isnan(m["moic"].sel(investor="senior").item())
    assert np.isnan(m["moic"].sel(investor="junior").item())
    assert m["loss"].sel(investor="junior").item() == 0
    assert np.isnan(m["irr"].sel(investor="junior").item())  # no IRR without an outflow


def test_moic_counts_gross_drawdowns_not_net_period_flows():
    """MOIC is documented as cash received / cash invested (drawdowns). When a period has
    both a drawdown and a distribution (a later cohort's services are funded in the period an
    earlier cohort's outcome payment arrives), netting them within the period understates
    both the capital invested and the cash received, and biases the MOIC."""
    cs = CapitalStructure((Tranche("senior", 1_000.0),), excess_to="investors")
    cf = waterfall(cs, [[100.0, 100.0, 0.0]], [[0.0, 150.0, 100.0]])
    assert cf.drawdown_total.sum() == 200.0  # drawn 100 + 100
    assert cf.distribution.sum() == 250.0  # received 150 + 100
    money = money_ds(cf.flows, tranches="senior", parties=cf.parties, drawdown=cf.drawdown)
    m = investor_metrics(money).sel(investor="senior")
    assert m["loss"].item() == 0
    assert m["invested"].item() == pytest.approx(200.0)
    assert m["received"].item() == pytest.approx(250.0)
    assert m["moic"].item() == pytest.approx(1.25)


def test_irr_annual_compounds_the_per_period_irr():
    # monthly: -100 now, +110 after 12 months -> 10% a year
    senior = np.zeros((1, 13))
    senior[0, 0], senior[0, 12] = -100.0, 110.0
    money = money_ds(balanced(senior, np.zeros((1, 13))), ppy=12,
                     tranches="senior")
    m = investor_metrics(money).sel(investor="senior")
    assert m["irr_annual"].item() == pytest.approx(0.10, rel=1e-10)
    assert m["irr"].item() == pytest.approx(1.1 ** (1 / 12) - 1, rel=1e-10)


#: units and wording of each investor metric (a change of wording updates this table)
INVESTOR_META = {
    "irr": ("per period", "Internal rate of return per period (NaN where none exists; see "
            "irr_status)."),
    "irr_status": ("code", "sibsim.money.irr.IRRStatus code of each IRR."),
    "irr_annual": ("per year", "IRR annualised: (1 + irr) ** periods_per_year - 1 (NaN where "
                   "irr is)."),
    "moic": ("multiple", "Money multiple: gross cash received / gross capital drawn (NaN where "
             "nothing was drawn)."),
    "npv": ("SEK", "NPV at the investors' discount rate."),
    "payback_period": ("period", "First period from which cumulative cash stays >= 0 (NaN "
                       "where it is negative at the horizon)."),
    "invested": ("SEK", "Capital drawn (gross drawdowns)."),
    "received": ("SEK", "Cash received (gross distributions and guarantee)."),
    "loss": ("1", "1 if cash received < cash invested."),
}


def test_investor_metric_units_descriptions_and_dtypes():
    money = money_ds(balanced([[-1.0, 2.0]], [[0.0, 0.0]]))
    money.attrs["currency"] = "SEK"
    m = investor_metrics(money)
    assert {k: (v.attrs["units"], v.attrs["description"])
            for k, v in m.data_vars.items()} == INVESTOR_META
    assert m["loss"].dtype == m["irr_status"].dtype == np.int8


def test_moic_and_loss_below_one_unit_and_at_the_rounding_boundary():
    # senior draws 0.5 and gets 0.75 back (MOIC 1.5, below 1 unit of money drawn); junior
    # draws 1 and gets back exactly 1 * (1 - 1e-12): within rounding, not a loss
    drawn = np.array([[[0.5, 0.0], [1.0, 0.0]]])
    flows = balanced([[-0.5, 0.75]], [[-1.0, 1.0 * (1 - 1e-12)]])
    m = investor_metrics(money_ds(flows, drawdown=drawn))
    assert m["moic"].sel(investor="senior").item() == pytest.approx(1.5, rel=1e-15)
    np.testing.assert_array_equal(m["loss"].sel(investor=["senior", "junior"]), [[0, 0]])
    flows = balanced([[-0.5, 0.75]], [[-1.0, np.nextafter(1.0 * (1 - 1e-12), 0.0)]])
    m = investor_metrics(money_ds(flows, drawdown=drawn))
    assert m["loss"].sel(investor="junior").item() == 1  # one float step short: a loss


def test_breakeven_tolerance_is_relative_to_each_draws_own_flows():
    # draw 0 moves 1e12 and ends 0.01 short: within its rounding (1e-9 of its flows), paid back
    # draw 1 moves 0.02 and ends 0.01 short: negative (the tolerance is per draw, not pooled)
    f = np.array([[-1e12, 0.0, 1e12 - 0.01], [-0.01, 0.01, -0.01]])
    np.testing.assert_equal(breakeven_period(f), [2.0, np.nan])
    # a draw of small flows (|flows| sum < 1): the tolerance is 1e-9, not below
    np.testing.assert_equal(breakeven_period(np.array([[0.5, -0.5 - 1.5e-9]])), [np.nan])
    np.testing.assert_equal(breakeven_period(np.array([[0.5, -0.5 - 0.5e-9]])), [0.0])
    # exactly at -tolerance is not negative
    np.testing.assert_equal(breakeven_period(np.array([[-1e-9]])), [0.0])


# --------------------------------------------------------------------------------------
# municipality metrics
# --------------------------------------------------------------------------------------


def test_municipality_metrics_quarterly_by_hand():
    # 6 quarters (1.5 years); the commissioner pays outcome payments and saves cash
    pay = np.array([[0.0, 0.0, 40.0, 0.0, 30.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    cash = np.array([[5.0, 5.0, 10.0, 10.0, 10.0, 10.0], [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    wider = 2.0 * cash
    other = np.array([3.0, 3.0, 3.0, 3.0, 0.0, 0.0])
    flows = balanced(np.zeros((2, 6)), np.zeros((2, 6)), commissioner=-pay)
    money = money_ds(flows, ppy=4, social_rate=0.04, cash=cash, wider=wider, other=other)
    m = municipality_metrics(money)
    net = cash - pay - other
    disc = 1.04 ** -(np.arange(6) / 4)
    np.testing.assert_allclose(m["npv_net_savings"], net @ disc, rtol=1e-12)
    np.testing.assert_allclose(m["npv_net_public_value"], (net + wider) @ disc, rtol=1e-12)
    np.testing.assert_allclose(m["pv_outcome_payments"], (pay + other) @ disc, rtol=1e-12)
    np.testing.assert_allclose(m["bcr"], (cash @ disc) / ((pay + other) @ disc), rtol=1e-12)
    np.testing.assert_allclose(m["bcr_public"], (3 * cash @ disc) / ((pay + other) @ disc),
                               rtol=1e-12)
    np.testing.assert_allclose(m["cumulative_net_cash"], np.cumsum(net, axis=1))
    # draw 0: net = [2, 2, -33, 7, -20, 10]; year 1 needs 22, year 2 (two quarters) 10
    # draw 1: net = [-3, -2, -2, -2, 1, 1]: year 1 needs 9, year 2 gives 2
    np.testing.assert_allclose(m["peak_annual_net_budget_need"], [22.0, 9.0])
    # gross: draw 0 pays 40 in year 1 and 30 in year 2; draw 1 pays nothing
    np.testing.assert_allclose(m["peak_annual_gross_payments"], [40.0, 0.0])
    # cumulative draw 0: 2, 4, -29, -22, -42, -32 -> NaN; draw 1 ends at -7 -> NaN
    np.testing.assert_equal(m["breakeven_period"].values, [np.nan, np.nan])
    np.testing.assert_array_equal(m["net_loss"], [1, 1])


def test_peak_budget_need_is_zero_when_savings_always_exceed_costs():
    cash = np.array([[10.0, 10.0, 10.0]])
    pay = np.array([[0.0, 5.0, 5.0]])
    flows = balanced(np.zeros((1, 3)), np.zeros((1, 3)), commissioner=-pay)
    m = municipality_metrics(money_ds(flows, ppy=2, cash=cash))
    assert m["peak_annual_net_budget_need"].item() == 0.0
    assert m["peak_annual_gross_payments"].item() == 5.0  # net of savings 0, gross 5
    assert m["breakeven_period"].item() == 0.0
    assert m["net_loss"].item() == 0


def test_excess_returned_reduces_the_commissioners_cost():
    # the commissioner pays 100 in period 1 and gets 30 back (excess): its net flow is -70
    flows = balanced(np.zeros((1, 2)), np.zeros((1, 2)), commissioner=[[0.0, -70.0]])
    m = municipality_metrics(money_ds(flows, cash=[[0.0, 140.0]]))
    assert m["pv_outcome_payments"].item() == pytest.approx(70.0)
    assert m["bcr"].item() == pytest.approx(2.0)


def test_bcr_is_nan_without_costs():
    flows = balanced(np.zeros((1, 2)), np.zeros((1, 2)))
    m = municipality_metrics(money_ds(flows, cash=[[1.0, 1.0]]))
    assert np.isnan(m["bcr"].item())


def test_present_value_multiplies_every_period_including_the_first():
    # a first factor other than 1 and 3-d flows (draw, payer, period) with payers != periods
    flows = np.arange(24.0).reshape(2, 3, 4) - 7.0
    disc = np.array([0.5, 0.25, 2.0, 3.0])
    expected = np.zeros((2, 3))
    for t in range(4):
        expected += flows[..., t] * disc[t]
    np.testing.assert_array_equal(present_value(flows, disc), expected)


def test_municipality_metrics_dims_units_and_currency():
    flows = balanced(np.zeros((2, 3)), np.zeros((2, 3)), commissioner=[[-1.0, 0, -2], [0, 0, 0]])
    money = money_ds(flows, cash=np.ones((2, 3)))
    money.attrs["currency"] = "SEK"  # units follow the money dataset's currency
    m = municipality_metrics(money)
    for k, v in m.data_vars.items():
        assert v.dims == (("draw", "period") if k == "cumulative_net_cash" else ("draw",)), k
        expected = {"bcr": "ratio", "bcr_public": "ratio", "breakeven_period": "period",
                    "net_loss": "1"}.get(k, "SEK")
        assert v.attrs["units"] == expected, k


#: The wording the reports show next to each metric (report.py prefixes "Mean over draws of: ");
#: a change of wording is deliberate and updates this table.
DESCRIPTIONS = {
    "npv_net_savings": "NPV of net cashable savings at the social discount rate.",
    "npv_net_public_value": "NPV of net savings plus wider public value.",
    "pv_outcome_payments": ("Present value of outcome payments and the commissioner's costs "
                            "(net of any excess returned)."),
    "bcr": ("PV of cashable savings / PV of costs (NaN where the PV of costs is 0: nothing "
            "paid)."),
    "bcr_public": ("PV of cashable savings and wider value / PV of costs (NaN where the PV of "
                   "costs is 0: nothing paid)."),
    "cumulative_net_cash": "Cumulative net cash of the commissioner (undiscounted).",
    "peak_annual_gross_payments": ("Gross: the largest total of outcome payments in any year "
                                   "(before any savings; own costs not included)."),
    "peak_annual_net_budget_need": ("Net of savings: the largest net outflow in any year "
                                    "(outcome payments + own costs - cashable savings - any "
                                    "excess returned), 0 if none."),
    "breakeven_period": ("First period from which cumulative net cash stays >= 0 (NaN where it "
                         "is negative at the horizon)."),
    "net_loss": "1 if the commissioner pays more than it saves (undiscounted).",
    "payments_by_payer": "Outcome payments made by each payer over the horizon (undiscounted).",
    "cashable_savings_by_payer": "Each payer's cashable savings over the horizon (undiscounted).",
    "npv_net_savings_by_payer": ("NPV of each payer's net cashable savings at the social "
                                 "discount rate."),
    "net_loss_by_payer": "1 if the payer pays more than it saves (undiscounted).",
    "peak_annual_gross_payments_by_payer": ("Gross: the largest total of the payer's outcome "
                                            "payments in any year (before any savings)."),
    "peak_annual_net_budget_need_by_payer": ("Net of savings: the largest net outflow of the "
                                             "payer in any year (its outcome payments + own "
                                             "costs - cashable savings - its part of any excess "
                                             "returned), 0 if none."),
}


def test_commissioner_net_loss_at_zero_and_one_float_step_either_side():
    tiny = np.nextafter(0.0, 1.0)
    cash = np.array([[1.0, -1.0], [0.0, -tiny], [0.0, tiny], [0.5, 0.0], [-0.5, 0.0]])
    flows = balanced(np.zeros((5, 2)), np.zeros((5, 2)))
    money = money_ds(flows, cash=cash).assign_coords(draw=[10, 11, 12, 13, 14],
                                                      period=[3, 4])
    m = municipality_metrics(money)
    np.testing.assert_array_equal(m["net_loss"], [0, 1, 0, 0, 1])
    # the run's draw and period labels are kept
    np.testing.assert_array_equal(m["draw"], [10, 11, 12, 13, 14])
    np.testing.assert_array_equal(m["period"], [3, 4])


def test_municipality_metric_descriptions():
    m = municipality_metrics(payer_money_ds()[0])
    assert {k: v.attrs["description"] for k, v in m.data_vars.items()} == DESCRIPTIONS


def test_uncertain_other_costs_are_read_per_draw():
    # commissioner_other_costs with a draw dimension, stored (period, draw): D=3 != P=5
    D, P = 3, 5
    rng = np.random.default_rng(7)
    other = rng.uniform(0.0, 4.0, (D, P))
    pay = rng.uniform(0.0, 10.0, (D, P))
    cash = rng.uniform(0.0, 8.0, (D, P))
    flows = balanced(np.zeros((D, P)), np.zeros((D, P)), commissioner=-pay)
    money = money_ds(flows, ppy=2, social_rate=0.05, cash=cash)
    money["commissioner_other_costs"] = (("period", "draw"), other.T)
    m = municipality_metrics(money)
    disc = 1.05 ** -(np.arange(P) / 2)
    cost = ((pay + other) * disc).sum(-1)
    np.testing.assert_allclose(m["pv_outcome_payments"], cost, rtol=1e-12)
    np.testing.assert_allclose(m["bcr"], (cash * disc).sum(-1) / cost, rtol=1e-12)


def test_bcr_boundaries_at_zero_and_below_one():
    # draw 0: nothing paid (PV of costs exactly 0) -> NaN, although savings and wider value
    # exist; draw 1: PV of costs 0.5 (below 1, period 0 undiscounted); draw 2: the commissioner
    # receives more than it pays (PV of costs < 0) -> NaN
    P = 3
    com = np.array([[0.0, 0.0, 0.0], [-0.5, 0.0, 0.0], [1.0, 0.0, 0.0]])
    flows = balanced(np.zeros((3, P)), np.zeros((3, P)), commissioner=com)
    cash = np.array([[2.0, 1.0, 0.0]] * 3)
    wider = np.array([[0.0, 3.0, 1.0]] * 3)
    money = money_ds(flows, ppy=1, social_rate=0.1, cash=cash, wider=wider)
    m = municipality_metrics(money)
    disc = 1.1 ** -np.arange(P)
    np.testing.assert_allclose(m["pv_outcome_payments"], [0.0, 0.5, -1.0], atol=0)
    assert np.isnan(m["bcr"][0]) and np.isnan(m["bcr_public"][0])
    assert np.isnan(m["bcr"][2]) and np.isnan(m["bcr_public"][2])
    assert m["bcr"][1].item() == pytest.approx((cash[1] @ disc) / 0.5, rel=1e-12)
    assert m["bcr_public"][1].item() == pytest.approx(((cash[1] + wider[1]) @ disc) / 0.5,
                                                      rel=1e-12)


def test_metrics_carry_the_runs_settings_and_only_those():
    flows = balanced([[-1.0, 2.0]], [[0.0, 0.0]])
    money = money_ds(flows, ppy=4, investor_rate=0.07, social_rate=0.03)
    money.attrs.update(period="quarter", seed=11, target_irr_per_year=0.09, tranches="senior",
                       something_else="not copied")
    expected = {"currency": "EUR", "period": "quarter", "periods_per_year": 4, "seed": 11,
                "social_discount_rate_per_year": 0.03, "investor_discount_rate_per_year": 0.07,
                "target_irr_per_year": 0.09}
    assert investor_metrics(money).attrs == expected
    assert municipality_metrics(money).attrs == expected
    del money.attrs["seed"], money.attrs["target_irr_per_year"]  # absent keys stay absent
    assert municipality_metrics(money).attrs == {k: v for k, v in expected.items()
                                                 if k not in ("seed", "target_irr_per_year")}


# --------------------------------------------------------------------------------------
# per-payer metrics
# --------------------------------------------------------------------------------------

PAYERS = ["city", "state"]


def payer_money_ds():
    """A money dataset with two payers, 4 draws, 10 quarters (2.5 years: the last partial).

    The by-payer variables are stored (payer, period, draw), not in the order the metrics use.
    Returns (money, paid, cash, net) with the by-payer arrays (draw, payer, period)."""
    D, P = 4, 10
    tiny = np.nextafter(0.0, 1.0)  # the smallest positive float
    paid = np.zeros((D, 2, P))
    cash = np.zeros((D, 2, P))
    # draw 0: the city pays most in the partial last year (periods 8, 9), the state nothing
    paid[0, 0] = [1, 0, 0, 2, 0, 3, 0, 0, 4, 4]
    cash[0, 0] = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    cash[0, 1] = [0.5] * P
    # draw 1: the city's net savings sum to exactly 0; the state pays 0.25 a year more than it
    # saves (peaks below 1)
    paid[1, 0] = [0, 3, 0, 0, 0, 0, 0, 0, 0, 0]
    cash[1, 0] = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    paid[1, 1] = [0.25, 0, 0, 0, 0.25, 0, 0, 0, 0.25, 0]
    # draw 2: the city's net savings one float step below 0, the state's one step above
    cash[2, 0, 3] = -tiny
    cash[2, 1, 6] = tiny
    # draw 3: both save more than they pay every year; the state's payments total 0.5
    paid[3, 0] = [5, 0, 0, 0, 5, 0, 0, 0, 5, 0]
    cash[3, 0] = [3] * P
    paid[3, 1] = [0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0]
    cash[3, 1] = [1] * P
    net = cash - paid
    com = -paid.sum(1)
    flows = balanced(np.zeros((D, P)), np.zeros((D, P)), commissioner=com)
    money = money_ds(flows, ppy=4, social_rate=0.06, cash=cash.sum(1))
    for name, x in (("payments_by_payer", paid), ("cashable_savings_by_payer", cash),
                    ("net_savings_by_payer", net)):
        money[name] = (("payer", "period", "draw"), x.transpose(1, 2, 0))
    money = money.assign_coords(payer=PAYERS)
    return money, paid, cash, net


def test_payer_metrics_by_hand():
    money, paid, cash, net = payer_money_ds()
    m = municipality_metrics(money)
    assert list(m["payer"].values) == PAYERS
    D, _, P = paid.shape
    r = 1.06 ** 0.25 - 1.0  # per-quarter equivalent of 6 % a year
    npv = np.zeros((D, 2))
    for t in range(P):
        npv += net[..., t] / (1.0 + r) ** t
    np.testing.assert_allclose(m["npv_net_savings_by_payer"], npv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m["payments_by_payer"], paid.sum(-1), rtol=1e-15)
    np.testing.assert_allclose(m["cashable_savings_by_payer"], cash.sum(-1), rtol=1e-15)
    # draw 0: the city nets -5; the state +5; draw 1: the city exactly 0, the state -0.75;
    # draw 2: the city one float step below 0, the state one step above; draw 3: both save
    np.testing.assert_array_equal(m["net_loss_by_payer"], [[1, 0], [0, 1], [1, 0], [0, 0]])
    assert m["net_loss_by_payer"].dtype == m["net_loss"].dtype == np.int8  # 0/1 flags
    # yearly sums (quarters 0-3, 4-7, 8-9): draw 0 city pays 3, 3, 8 -> 8 (the partial year)
    np.testing.assert_allclose(m["peak_annual_gross_payments_by_payer"],
                               [[8, 0], [3, 0.25], [0, 0], [5, 0.5]], rtol=1e-15)
    # net need by year: draw 0 city 3-3=0, 3-4=-1, 8-2=6 -> 6; state always saves -> 0;
    # draw 1 city 3, -3, 0 -> 3; state 0.25 each year -> 0.25; draw 2 -> 0 (tiny);
    # draw 3 city 5-12, 5-12, 5-6 -> 0 (savings exceed); state 0.5-4 -> 0
    np.testing.assert_allclose(m["peak_annual_net_budget_need_by_payer"],
                               [[6, 0], [3, 0.25], [np.nextafter(0.0, 1.0), 0], [0, 0]], rtol=1e-15)
    for k in DESCRIPTIONS:
        if k.endswith("_by_payer"):
            assert m[k].dims == ("draw", "payer"), k
            assert m[k].attrs["units"] == ("1" if k == "net_loss_by_payer" else "EUR"), k


def test_payer_metrics_add_up_to_the_whole_public_side():
    # the payers' budget lines together are the commissioner's (no own costs here)
    money = payer_money_ds()[0]
    m = municipality_metrics(money)
    np.testing.assert_allclose(m["npv_net_savings_by_payer"].sum("payer"), m["npv_net_savings"],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(m["net_loss_by_payer"].max("payer") >= m["net_loss"], True)


def test_money_without_payers_gives_no_payer_metrics():
    money = payer_money_ds()[0].drop_vars(
        ["payments_by_payer", "cashable_savings_by_payer", "net_savings_by_payer", "payer"])
    m = municipality_metrics(money)
    assert "payer" not in m.dims and "npv_net_savings_by_payer" not in m


# --------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------


def test_cvar_hand_computed():
    x = np.arange(20.0)[::-1]  # order must not matter
    assert float(cvar(x, 0.10)) == pytest.approx((0 + 1) / 2)  # ceil(0.1 * 20) = 2 worst
    assert float(cvar(x, 0.05)) == 0.0  # the single worst
    assert float(cvar(x, 0.12)) == pytest.approx((0 + 1 + 2) / 3)  # ceil(2.4) = 3
    assert float(cvar(x, 1.0)) == pytest.approx(x.mean())


def test_cvar_ignores_nan_and_is_vectorised():
    x = np.array([[np.nan, 4.0, 1.0, 3.0, 2.0], [np.nan] * 5])
    out = cvar(x, 0.5)  # ceil(0.5 * 4) = 2 worst finite values of row 0
    assert out[0] == pytest.approx(1.5)
    assert np.isnan(out[1])
    np.testing.assert_allclose(cvar(x.T, 0.5, axis=0)[0], 1.5)


def test_cvar_ignores_infinite_values():
    """Docstring: 'the ceil(level * n) smallest finite values'. An -inf (e.g. a degenerate
    NPV or log-return) must not enter the mean of the finite tail."""
    x = np.concatenate([[-np.inf], np.arange(1.0, 101.0)])
    assert float(cvar(x, 0.05)) == pytest.approx(np.mean([1.0, 2.0, 3.0, 4.0, 5.0]))


def metrics_ds():
    rng = np.random.default_rng(3)
    npv = rng.normal(0.0, 100.0, (500, 2))
    npv[::50, 1] = np.nan  # e.g. no IRR in some draws
    loss = (rng.random((500, 2)) < 0.3).astype(np.int8)
    return xr.Dataset(
        {"npv": (("draw", "investor"), npv, {"units": "EUR"}),
         "loss": (("draw", "investor"), loss),
         "label": (("investor",), np.array(["a", "b"]))},
        coords={"draw": np.arange(500), "investor": ["senior", "all"]})


def test_summarise_matches_numpy():
    ds = metrics_ds()
    s = summarise(ds)
    assert list(s["statistic"].values) == ["mean", "q05", "q25", "q50", "q75", "q95",
                                           "cvar05", "p_finite"]
    assert "label" not in s  # no draw dimension
    assert s["npv"].dims == ("statistic", "investor")
    assert s["npv"].attrs["units"] == "EUR"
    x = ds["npv"].values
    np.testing.assert_allclose(s["npv"].sel(statistic="mean"), np.nanmean(x, 0))
    for q in QUANTILES:
        np.testing.assert_allclose(s["npv"].sel(statistic=f"q{round(q * 100):02d}"),
                                   np.nanquantile(x, q, axis=0))
    np.testing.assert_allclose(s["npv"].sel(statistic="p_finite"), [1.0, 0.98])
    for i in range(2):
        col = np.sort(x[np.isfinite(x[:, i]), i])
        k = int(np.ceil(0.05 * col.size))
        assert float(s["npv"].sel(statistic="cvar05").values[i]) == pytest.approx(
            col[:k].mean())
    # a probability is the mean of a 0/1 indicator
    np.testing.assert_allclose(s["loss"].sel(statistic="mean"), ds["loss"].values.mean(0))


def test_summarise_level_names_the_statistic():
    s = summarise(metrics_ds(), level=0.1)
    assert "cvar10" in s["statistic"].values
    x = metrics_ds()["npv"].values[:, 0]
    assert float(s["npv"].sel(statistic="cvar10", investor="senior")) == pytest.approx(
        np.sort(x)[:50].mean())
