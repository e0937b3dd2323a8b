"""The yearly budget's statistics and table (sibsim.analysis.budget) by value: every statistic
against numpy's quantiles over draws, the net-loss tolerance at its boundary and one step
either side, the confidence level's range, the year sums, headers in every language, the
number forms of the table and the CSV cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from sibsim.analysis import budget as bm
from sibsim.analysis.budget import (
    ALL_DEALS,
    ALL_PAYERS,
    budget_table,
    cashable_statistics,
    check_confidence,
    gross_statistics,
    net_statistics,
)


def test_constants():
    assert ALL_PAYERS == "all payers" and ALL_DEALS == "all deals" and bm._ZERO_TOL == 1e-9


@pytest.mark.parametrize("x", [1.0, 0.5, 5e-324, 0.999])
def test_confidence_accepted(x):
    assert check_confidence("confidence", x) == x


@pytest.mark.parametrize("x", [0.0, -0.1, 1.0 + 2.3e-16, 90, math.nan])
def test_confidence_refused(x):
    with pytest.raises(ValueError, match=r"^budget\.conf: got "):
        check_confidence("budget.conf", x)


def test_by_year_sums_the_periods_of_each_year():
    x = np.arange(12.0).reshape(2, 6)  # two draws, six periods
    years = np.array([2025, 2025, 2026, 2026, 2026, 2028])
    out = bm._by_year(x, years, np.array([2025, 2026, 2027, 2028]))
    np.testing.assert_array_equal(out, [[1.0, 9.0, 0.0, 5.0], [13.0, 27.0, 0.0, 11.0]])


def test_yearly_adds_the_all_payers_row_in_slices_of_draws(monkeypatch):
    rng = np.random.default_rng(1)
    x = xr.DataArray(rng.uniform(size=(7, 2, 4)), dims=("draw", "payer", "period"))
    years = np.array([1, 1, 2, 2])
    labels = np.array([1, 2])
    whole = bm._yearly(x, years, labels)
    monkeypatch.setattr(bm, "_READ_DRAWS", 3)
    np.testing.assert_array_equal(bm._yearly(x, years, labels), whole)
    assert whole.shape == (7, 3, 2)
    np.testing.assert_allclose(whole[:, :2], bm._by_year(x.values, years, labels))
    np.testing.assert_allclose(whole[:, 2], whole[:, :2].sum(1))


def test_gross_statistics_by_value():
    rng = np.random.default_rng(2)
    g = rng.gamma(2.0, 1000.0, (50, 3))
    out = gross_statistics(g, "EUR", 0.8)
    np.testing.assert_allclose(out["gross_payments_mean"][0], g.mean(0))
    np.testing.assert_allclose(out["gross_payments_median"][0], np.quantile(g, 0.5, axis=0))
    np.testing.assert_allclose(out["gross_payments_p90"][0], np.quantile(g, 0.9, axis=0))
    np.testing.assert_allclose(out["gross_payments_p95"][0], np.quantile(g, 0.95, axis=0))
    np.testing.assert_allclose(out["appropriation"][0], np.quantile(g, 0.8, axis=0))
    assert all(u == "EUR" for _, u, _ in out.values())
    assert out["appropriation"][2] == (
        "Appropriation needed at 80% confidence: the 0.8 quantile of the year's gross outcome "
        "payments (covers them in 80% of draws).")
    assert out["gross_payments_p90"][2] == ("Gross outcome payments in the year: 90th "
                                            "percentile over draws (exceeded in 10% of draws).")
    assert out["gross_payments_median"][2] == (
        "Gross outcome payments in the year: median over draws.")


def test_cashable_and_net_statistics_by_value():
    rng = np.random.default_rng(3)
    c = rng.normal(100.0, 30.0, (40, 2))
    out = cashable_statistics(c, "GBP")
    for name, q in (("cashable_savings_p05", 0.05), ("cashable_savings_median", 0.5),
                    ("cashable_savings_p95", 0.95)):
        np.testing.assert_allclose(out[name][0], np.quantile(c, q, axis=0))
    np.testing.assert_allclose(out["cashable_savings_mean"][0], c.mean(0))
    assert all(u == "GBP" for _, u, _ in out.values())
    assert out["cashable_savings_p05"][2] == ("Cashable savings in the year: 5th percentile "
                                              "over draws.")
    n = net_statistics(c - 100.0, "GBP", 1.0)
    for name, q in (("net_savings_p05", 0.05), ("net_savings_median", 0.5),
                    ("net_savings_p95", 0.95)):
        np.testing.assert_allclose(n[name][0], np.quantile(c - 100.0, q, axis=0))
    np.testing.assert_allclose(n["net_savings_mean"][0], (c - 100.0).mean(0))
    np.testing.assert_allclose(n["p_net_loss"][0], (c - 100.0 < -1e-9).mean(0))
    assert n["p_net_loss"][1] == "probability" and n["net_savings_mean"][1] == "GBP"


def test_net_loss_tolerance_at_its_boundary():
    scale = 1e6
    tol = 1e-9 * scale
    net = np.array([[-tol], [np.nextafter(-tol, 0.0)], [np.nextafter(-tol, -1.0)], [0.0],
                    [-1.0]])
    p = net_statistics(net, "EUR", scale)["p_net_loss"][0]
    # exactly at -tol and just above it: not a loss; just below and -1: losses
    assert p.tolist() == [pytest.approx(2 / 5)]
    assert (net_statistics(net[:2], "EUR", scale)["p_net_loss"][0] == 0).all()
    assert (net_statistics(net[2:3], "EUR", scale)["p_net_loss"][0] == 1).all()


def test_percent_forms():
    assert bm._percent(0.9, "en") == "90%"
    assert bm._percent(0.975, "fi") == "97,5 %" and bm._percent(0.975, "sv") == "97,5 %"
    assert bm._percent(1.0, "en") == "100%"


def test_csv_cells():
    assert bm._csv_cell(2.34, "en") == "2.3" and bm._csv_cell(2.36, "fi") == "2,4"
    assert bm._csv_cell(12.5, "fi") == "12,5" and bm._csv_cell(12.5, "sv") == "12,5"
    assert bm._csv_cell(12.5, "en") == "12.5"
    assert bm._csv_cell(7, "fi") == "7" and bm._csv_cell("x", "en") == "x"


def test_money_column_headers_in_every_language():
    name, heads, kind = bm._money_column("net_savings", "p05")
    assert name == "net_savings_p05" and kind == "money"
    assert heads == {"en": "Net savings, 5th percentile ({cur})",
                     "fi": "Nettosäästöt, 5. persentiili ({cur})",
                     "sv": "Nettobesparingar, 5:e percentilen ({cur})"}


def budget(payers=("commissioner", ALL_PAYERS), confidence=0.9, cash=True):
    years = [2026, 2027]
    P = len(payers)
    data = {}
    for k, col in enumerate(c[0] for c in bm._COLUMNS):
        if not cash and col.startswith("cashable"):
            continue
        value = np.full((P, 2), 1_000.4 * (k + 1))
        if col == "p_net_loss":
            value = np.full((P, 2), 0.12345)
        data[col] = (("payer", "year"), value)
    return xr.Dataset(data, coords={"payer": list(payers), "year": years},
                      attrs={"currency": "EUR", "confidence": confidence})


def test_budget_table_rows_headers_and_rounding():
    head, rows = budget_table(budget())
    assert head[:2] == ["Year", "Payer"]
    assert head[2] == "Gross outcome payments, mean (EUR)"
    assert head[6] == "Appropriation at 90% confidence (EUR)"
    assert head[-1] == "Probability of paying more than saving (%)"
    assert len(head) == 2 + len(bm._COLUMNS)
    # one payer and its total: the total repeats it and is left out
    assert [r[:2] for r in rows] == [[2026, "commissioner"], [2027, "commissioner"]]
    assert rows[0][2] == 1000 and type(rows[0][2]) is int
    assert rows[0][-1] == 12.3
    head_fi, rows_fi = budget_table(budget(confidence=0.975), "fi")
    assert head_fi[:2] == ["Vuosi", "Maksaja"] and rows_fi[0][1] == "tilaaja"
    assert head_fi[6] == "Määräraha 97,5 %:n varmuudella (EUR)"
    head_sv, rows_sv = budget_table(budget(), "sv")
    assert head_sv[:2] == ["År", "Betalare"] and rows_sv[0][1] == "beställaren"
    assert head_sv[6] == "Anslag med 90 % säkerhet (EUR)"
    with pytest.raises(ValueError, match=r"write_budget_table\.lang"):
        budget_table(budget(), "de")


def test_budget_table_of_several_payers_keeps_the_total_in_each_language():
    b = budget(payers=("city", "state", ALL_PAYERS))
    _, rows = budget_table(b)
    assert [r[1] for r in rows] == ["city", "city", "state", "state", ALL_PAYERS, ALL_PAYERS]
    _, rows_fi = budget_table(b, "fi")
    assert rows_fi[-1][1] == "maksajat yhteensä"
    _, rows_sv = budget_table(budget(payers=("a", ALL_DEALS)), "sv")
    # two rows, the second not "all payers": both kept
    assert [r[1] for r in rows_sv] == ["a", "a", "alla avtal sammanlagt", "alla avtal sammanlagt"]


def test_budget_table_leaves_out_the_columns_a_budget_lacks():
    head, rows = budget_table(budget(cash=False))
    assert not any(h.startswith("Cashable") for h in head)
    assert len(head) == 2 + len(bm._COLUMNS) - 4 and len(rows[0]) == len(head)
