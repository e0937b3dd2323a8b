"""Tests of sibsim.plots: figures built from small synthetic labelled datasets, and one real run.

The synthetic datasets carry exactly the names and dimensions the plots read (the outputs of
``money_flows``, ``investor_metrics``, ``municipality_metrics`` and the break-even analysis), so
these tests do not depend on how those results are computed.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sibsim.plots import (
    COMMISSIONER_COLOR,
    INVESTOR_COLOR,
    plot_breakeven_distribution,
    plot_cumulative_net_cash,
    plot_irr_distribution,
    plot_loss_curve,
    plot_npv_distribution,
    save_figure,
    sib_summary_figure,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------
# synthetic inputs
# --------------------------------------------------------------------------------------------


def make_money(D: int = 200, P: int = 6, tranches: tuple[str, ...] = ("senior", "junior"),
               seed: int = 0, currency: str = "GBP", period: str = "year") -> xr.Dataset:
    """Money dataset: flow(draw, party, period), net_savings(draw, period) and its attrs."""
    rng = np.random.default_rng(seed)
    parties = ["commissioner", *tranches, "guarantor", "provider", "intermediary"]
    flow = np.zeros((D, len(parties), P))
    for k in range(len(tranches)):
        flow[:, 1 + k, :2] = -1e6 * rng.uniform(0.5, 1.5, (D, 2))
        flow[:, 1 + k, 3:] = 0.6e6 * rng.uniform(0.0, 1.5, (D, P - 3))
    flow[:, 0] = -flow[:, 1:1 + len(tranches)].clip(min=0).sum(1)
    net = rng.normal(0.2e6, 0.8e6, (D, P))
    return xr.Dataset(
        {"flow": (("draw", "party", "period"), flow),
         "net_savings": (("draw", "period"), net)},
        coords={"draw": np.arange(D), "party": parties, "period": np.arange(P)},
        attrs={"currency": currency, "period": period, "periods_per_year": 1,
               "tranches": ",".join(tranches)})


def make_mun(money: xr.Dataset) -> xr.Dataset:
    """Commissioner metrics with the names of ``municipality_metrics``."""
    net = money["net_savings"].values
    cum = np.cumsum(net, -1)
    cur = money.attrs["currency"]
    be = np.where(cum[:, -1] >= 0, 2.0, np.nan)
    return xr.Dataset(
        {"npv_net_savings": (("draw",), net.sum(-1), {"units": cur}),
         "bcr": (("draw",), np.full(net.shape[0], 1.1)),
         "cumulative_net_cash": (("draw", "period"), cum, {"units": cur}),
         "peak_annual_net_budget_need": (("draw",), np.maximum(-net.min(-1), 0.0)),
         "breakeven_period": (("draw",), be),
         "net_loss": (("draw",), (cum[:, -1] < 0).astype(np.int8))},
        coords={"draw": money["draw"].values, "period": money["period"].values})


def make_inv(D: int = 200, investors: tuple[str, ...] = ("senior", "junior", "all"),
             p_total: float = 0.3, p_nan: float = 0.05, lo: float = -0.2, hi: float = 0.15,
             seed: int = 1) -> xr.Dataset:
    """Investor metrics: irr_annual with finite values in [lo, hi], total losses and NaNs."""
    rng = np.random.default_rng(seed)
    n_i = len(investors)
    irr = rng.uniform(lo, hi, (D, n_i))
    u = rng.uniform(size=(D, n_i))
    status = np.zeros((D, n_i), dtype=np.int8)
    total = u < p_total
    nan = (u >= p_total) & (u < p_total + p_nan)
    irr[total] = -1.0
    irr[nan] = np.nan
    status[total] = 2
    status[nan] = 5
    loss = (total | (irr < 0)).astype(np.int8)
    npv = np.where(total, -4e6, irr * 1e7)
    payback = np.where(loss.astype(bool), np.nan, 3.0)
    data = {"irr": irr, "irr_annual": irr, "irr_status": status, "loss": loss, "npv": npv,
            "payback_period": payback, "moic": np.where(total, 0.0, 1.0 + irr)}
    return xr.Dataset({k: (("draw", "investor"), v) for k, v in data.items()},
                      coords={"draw": np.arange(D), "investor": list(investors)})


def make_be(D: int = 200, parties: tuple[str, ...] = ("investors", "commissioner"),
            measure: str = "rr", center: float = 0.85, p_nan: float = 0.2,
            seed: int = 2) -> xr.Dataset:
    """Break-even effects per draw and party (NaN: none in range)."""
    rng = np.random.default_rng(seed)
    values = rng.normal(center, 0.04, (D, len(parties)))
    values[rng.uniform(size=values.shape) < p_nan] = np.nan
    return xr.Dataset({"breakeven_effect": (("draw", "party"), values, {"units": measure})},
                      coords={"draw": np.arange(D), "party": list(parties)},
                      attrs={"measure": measure})


def make_curve(n: int = 11, measure: str = "rr") -> xr.Dataset:
    """Loss curves on an effect grid from no effect (1) to halving the risk (0.5)."""
    effect = np.linspace(1.0, 0.5, n)
    reduction = 1.0 - effect
    return xr.Dataset(
        {"p_investor_loss": (("effect",), np.clip(1.0 - reduction / 0.25, 0, 1)),
         "p_commissioner_net_loss": (("effect",), np.clip(0.6 - reduction / 0.4, 0, 1))},
        coords={"effect": effect}, attrs={"measure": measure})


def legend_texts(ax: Axes) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg is not None else []


def tick_labels(ax: Axes) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text().replace("\u2212", "-") for t in ax.get_xticklabels()]


# --------------------------------------------------------------------------------------------
# IRR distribution
# --------------------------------------------------------------------------------------------


def test_irr_distribution_labels_and_loss_probability():
    inv = make_inv()
    ax = plot_irr_distribution(inv)
    assert isinstance(ax, Axes) and isinstance(ax.figure, Figure)
    p = 100 * inv["loss"].sel(investor="all").mean().item()
    assert f"P(investors lose money) = {p:.1f}%" in ax.get_title()
    assert "all investors" in ax.get_title()
    assert ax.get_xlabel().startswith("Annualised IRR")
    assert ax.get_ylabel() == "Share of draws (%)"
    texts = legend_texts(ax)
    assert any(t.startswith("Total loss") for t in texts)
    assert any(t.startswith("No IRR defined") for t in texts)
    assert "IRR = 0" in texts
    # A vertical line at zero.
    assert any(np.allclose(line.get_xdata(), 0.0) for line in ax.get_lines())


def test_irr_distribution_bars_are_shares_of_all_draws():
    inv = make_inv()
    ax = plot_irr_distribution(inv)
    sel = inv.sel(investor="all")
    n = sel.sizes["draw"]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    total_bars = [b for b in bars if b.get_hatch()]
    finite_bars = [b for b in bars if not b.get_hatch()]
    assert len(total_bars) == 1
    assert total_bars[0].get_height() == pytest.approx(100 * (sel.irr_status == 2).sum() / n)
    n_finite = int(np.isfinite(sel.irr_annual).sum() - (sel.irr_status == 2).sum())
    assert sum(b.get_height() for b in finite_bars) == pytest.approx(100 * n_finite / n)
    assert to_hex(finite_bars[0].get_facecolor()) == INVESTOR_COLOR.lower()


def test_irr_total_losses_behind_axis_break_when_irrs_stop_short_of_minus_100():
    ax = plot_irr_distribution(make_inv(lo=-0.2, hi=0.15))
    assert "axis broken" in ax.get_xlabel()
    labels = tick_labels(ax)
    assert labels.count("-100%") == 1
    total_bar = next(p for p in ax.patches if p.get_hatch())
    # The bar sits just left of the histogram, not at -100 on a linear axis.
    assert total_bar.get_x() + total_bar.get_width() / 2 > -40


def test_irr_total_losses_at_minus_100_when_irrs_reach_far_down():
    ax = plot_irr_distribution(make_inv(lo=-0.9, hi=0.15))
    assert "axis broken" not in ax.get_xlabel()
    total_bar = next(p for p in ax.patches if p.get_hatch())
    assert total_bar.get_x() + total_bar.get_width() / 2 == pytest.approx(-100.0)


def test_irr_distribution_of_a_tranche_on_given_axes():
    _, (a1, a2) = plt.subplots(1, 2)
    n_figs = len(plt.get_fignums())
    out = plot_irr_distribution(make_inv(), investor="junior", ax=a2)
    assert out is a2
    assert "tranche 'junior'" in a2.get_title()
    assert not a1.has_data()
    assert len(plt.get_fignums()) == n_figs  # drew on the given axes, made no new figure


@pytest.mark.parametrize(("p_total", "p_nan", "message"), [
    (0.0, 1.0, "No IRR defined in any draw"),  # every IRR NaN
    (1.0, 0.0, None),  # every draw a total loss
])
def test_irr_distribution_degenerate_inputs(p_total, p_nan, message):
    ax = plot_irr_distribution(make_inv(p_total=p_total, p_nan=p_nan))
    texts = [t.get_text() for t in ax.texts]
    if message:
        assert message in texts
    ax.figure.canvas.draw()


def test_irr_distribution_all_identical_irrs():
    inv = make_inv(p_total=0.0, p_nan=0.0)
    inv["irr_annual"][:] = 0.13
    ax = plot_irr_distribution(inv)
    assert sum(p.get_height() for p in ax.patches) == pytest.approx(100.0)


# --------------------------------------------------------------------------------------------
# break-even distribution
# --------------------------------------------------------------------------------------------


def test_breakeven_distribution_in_percent_reduction():
    be = make_be()
    ax = plot_breakeven_distribution(be)
    assert isinstance(ax, Axes)
    assert "reduction in risk (rr)" in ax.get_xlabel()
    assert ax.get_title() == "True effect needed to break even"
    texts = legend_texts(ax)
    def median_over_every_draw(v):
        # a draw without break-even (NaN) needs more than the range: it counts as the
        # strongest, so the median is the middle of the sorted reductions with NaN last
        r = np.sort(np.where(np.isnan(v), np.inf, (1 - v) * 100))
        return (r[(r.size - 1) // 2] + r[r.size // 2]) / 2

    for party in ("investors", "commissioner"):
        v = be["breakeven_effect"].sel(party=party).values
        none = 100 * np.isnan(v).mean()
        med = median_over_every_draw(v)
        assert med > (1 - np.nanmedian(v)) * 100  # the draws left out would understate it
        assert any(t.startswith(party.capitalize()) and f"none in range: {none:.0f}%" in t
                   and f"median {med:.1f}%" in t for t in texts)
    # Median lines in the party colours, at (1 - median rr) * 100.
    colours = {to_hex(line.get_color()): line.get_xdata()[0] for line in ax.get_lines()}
    inv_med = median_over_every_draw(be["breakeven_effect"].sel(party="investors").values)
    assert colours[INVESTOR_COLOR.lower()] == pytest.approx(inv_med)
    assert COMMISSIONER_COLOR.lower() in colours
    assert all(0 < x < 30 for x in colours.values())


def test_breakeven_distribution_party_selection():
    be = make_be(parties=("investors", "investors_target_irr", "commissioner"))
    assert len(legend_texts(plot_breakeven_distribution(be))) == 3  # 2 parties + median key
    assert len(legend_texts(plot_breakeven_distribution(be, parties=None))) == 4
    texts = legend_texts(plot_breakeven_distribution(be, parties=["investors_target_irr"]))
    assert texts[0].startswith("Investors (IRR = target)")


def test_breakeven_distribution_all_nan():
    be = make_be(p_nan=1.0)
    ax = plot_breakeven_distribution(be)
    assert "No break-even effect within the searched range" in [t.get_text() for t in ax.texts]
    texts = legend_texts(ax)
    assert len(texts) == 2 and all("none in range: 100%" in t for t in texts)
    ax.figure.canvas.draw()


def test_breakeven_distribution_other_measures():
    ax = plot_breakeven_distribution(make_be(measure="absolute", center=-0.05))
    assert ax.get_xlabel() == "True effect (absolute)"
    ax = plot_breakeven_distribution(make_be(measure="hr", center=1.2))
    assert "increase in hazard (hr)" in ax.get_xlabel()


# --------------------------------------------------------------------------------------------
# cumulative net cash
# --------------------------------------------------------------------------------------------


def test_cumulative_net_cash_medians_and_bands():
    money = make_money()
    mun, inv = make_mun(money), make_inv()
    ax = plot_cumulative_net_cash(money, mun, inv)
    assert isinstance(ax, Axes)
    assert ax.get_xlabel().startswith("Year")
    assert ax.get_ylabel() == "Cumulative net cash (GBP m)"
    assert "Ahead at the horizon: investors" in ax.get_title()
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    lines = {line.get_label(): line for line in ax.get_lines()}
    inv_line = lines["Investors, all tranches: median"]
    expected = np.median(np.cumsum(money.flow.sel(party=["senior", "junior"]).sum("party"), -1),
                         axis=0) / 1e6
    np.testing.assert_allclose(inv_line.get_ydata(), expected)
    assert to_hex(inv_line.get_color()) == INVESTOR_COLOR.lower()
    com_line = lines["Commissioner: median"]
    np.testing.assert_allclose(com_line.get_ydata(),
                               np.median(mun.cumulative_net_cash, axis=0) / 1e6)
    assert to_hex(com_line.get_color()) == COMMISSIONER_COLOR.lower()
    assert any(np.allclose(line.get_ydata(), 0.0) for line in ax.get_lines())  # zero line


def test_cumulative_net_cash_single_tranche_small_amounts_no_inv():
    money = make_money(tranches=("investors",), period="quarter", currency="EUR")
    money["flow"] = money["flow"] / 1e4
    money["net_savings"] = money["net_savings"] / 1e4
    mun = make_mun(money)
    ax = plot_cumulative_net_cash(money, mun, None)
    assert ax.get_xlabel().startswith("Quarter")
    assert ax.get_ylabel() == "Cumulative net cash (EUR)"
    assert "Investors: median" in legend_texts(ax)
    assert "investors" not in ax.get_title()  # no investor metrics, no investor share


def test_cumulative_net_cash_nan_draws():
    money = make_money()
    mun = make_mun(money)
    mun["cumulative_net_cash"][:] = np.nan
    ax = plot_cumulative_net_cash(money, mun, make_inv())
    ax.figure.canvas.draw()


# --------------------------------------------------------------------------------------------
# loss curve and NPV
# --------------------------------------------------------------------------------------------


def test_loss_curve_in_percent_against_percent_reduction():
    curve = make_curve()
    ax = plot_loss_curve(curve)
    assert isinstance(ax, Axes)
    assert "reduction in risk" in ax.get_xlabel()
    assert ax.get_ylabel() == "Probability of loss"
    lines = {line.get_label(): line for line in ax.get_lines()}
    inv = lines["P(investors lose money)"]
    np.testing.assert_allclose(inv.get_xdata(), (1 - curve.effect.values) * 100)
    np.testing.assert_allclose(inv.get_ydata(), 100 * curve.p_investor_loss.values)
    assert to_hex(inv.get_color()) == INVESTOR_COLOR.lower()
    assert to_hex(lines["P(commissioner net loss)"].get_color()) == COMMISSIONER_COLOR.lower()
    assert ax.get_ylim() == (-3, 103)


def test_loss_curve_from_a_breakeven_dataset_sorted_by_reduction():
    both = xr.merge([make_be(), make_curve().isel(effect=slice(None, None, -1))],
                    combine_attrs="override")
    ax = plot_loss_curve(both)
    x = ax.get_lines()[0].get_xdata()
    assert np.all(np.diff(x) > 0)


def test_loss_curve_without_curves():
    ax = plot_loss_curve(make_curve().drop_vars(["p_investor_loss", "p_commissioner_net_loss"]))
    assert "No loss curve in the dataset" in [t.get_text() for t in ax.texts]


def test_npv_distribution():
    money = make_money()
    ax = plot_npv_distribution(make_inv(), make_mun(money))
    assert ax.get_xlabel() == "NPV (GBP m)"
    texts = legend_texts(ax)
    assert len(texts) == 2 and all("P(NPV < 0)" in t for t in texts)


# --------------------------------------------------------------------------------------------
# summary figure and saving
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("with_be", "with_curve", "titles"), [
    (True, True, ["True effect needed to break even", "Probability of loss against the true "
                                                      "effect"]),
    (False, True, ["Probability of loss against the true effect",
                   "Net present value across draws"]),
    (True, False, ["True effect needed to break even", "Net present value across draws"]),
    (False, False, ["Net present value across draws", ""]),
])
def test_summary_figure_panels(tmp_path, with_be, with_curve, titles):
    money = make_money()
    fig = sib_summary_figure(money, make_inv(), make_mun(money),
                             be=make_be() if with_be else None,
                             curve=make_curve() if with_curve else None)
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == 4
    assert axes[0].get_title().startswith("Annualised IRR")
    assert axes[2].get_title().startswith("Cumulative net cash")
    assert [axes[1].get_title(), axes[3].get_title()] == titles
    assert fig.get_suptitle() == "Social Impact Bond simulation: 200 draws, GBP"
    assert tuple(fig.get_size_inches()) == (12.0, 9.0)
    out = save_figure(fig, tmp_path / "summary.png", dpi=60)
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_summary_figure_takes_the_curve_from_be_and_a_title():
    money = make_money()
    be = xr.merge([make_be(), make_curve()], combine_attrs="override")
    fig = sib_summary_figure(money, make_inv(), make_mun(money), be=be, title="My SIB")
    assert fig.get_axes()[3].get_title() == "Probability of loss against the true effect"
    assert fig.get_suptitle() == "My SIB"


def test_summary_figure_nan_heavy_inputs(tmp_path):
    money = make_money()
    inv = make_inv(p_total=0.0, p_nan=1.0)
    inv["npv"][:] = np.nan
    be = make_be(p_nan=1.0)
    fig = sib_summary_figure(money, inv, make_mun(money), be=be, curve=make_curve())
    out = save_figure(fig, tmp_path / "nan.png", dpi=60)
    assert out.stat().st_size > 5_000


def test_save_figure_makes_parents_and_leaves_no_temporary_file(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    target = tmp_path / "a" / "b" / "fig"
    out = save_figure(fig, target, dpi=50)
    assert out == target.with_suffix(".png")
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in out.parent.iterdir()] == ["fig.png"]
    first = out.stat().st_size
    save_figure(fig, out, dpi=100)  # overwrites in place
    assert out.stat().st_size > first
    assert len(list(out.parent.iterdir())) == 1


# --------------------------------------------------------------------------------------------
# a real run
# --------------------------------------------------------------------------------------------


def test_summary_figure_of_a_real_simulation(tmp_path):
    import sibsim
    from sibsim.analysis.metrics import investor_metrics, municipality_metrics
    from sibsim.money import Caps, Contract, MetricTerms, PricePerUnit
    from sibsim.money.capital import CapitalStructure, Fees, ServiceCosts, Tranche
    from sibsim.money.deal import Deal, Investors
    from sibsim.money.evaluation import Evaluation
    from sibsim.money.municipality import Municipality
    from sibsim.money.sib import money_flows
    from sibsim.scenario_file import load_scenario

    sc = load_scenario("peterborough")
    terms = Deal(
        scenario=sc.scenario,
        evaluations=(Evaluation("reconviction", design="matched", window=1,
                                bias=sibsim.Normal(0, 0.02), report_lag=1),),
        contract=Contract((MetricTerms("reconviction", PricePerUnit(12500, threshold=0.10),
                                       pooled_rule=PricePerUnit(12500, threshold=0.075)),),
                          caps=Caps(total=13e6), currency="GBP"),
        service_costs=ServiceCosts(fixed_per_period=(600e3,) * 3 + (0,) * 5,
                                   per_participant=1000),
        capital=CapitalStructure((Tranche("investors", 5e6, target_return=0.13),),
                                 fees=Fees(intermediary_per_period=(100e3,) * 4 + (0,) * 4),
                                 currency="GBP"),
        municipality=Municipality(saving_per_event=4000, wider_value_per_event=20000,
                                  discount_rate=0.035),
        service_periods=1, investors=Investors(discount_rate=0.08, target_irr=0.05),
        currency="GBP")
    ds = sibsim.simulate(sc, 500, 1)
    money = money_flows(terms, ds)
    inv, mun = investor_metrics(money), municipality_metrics(money)
    fig = sib_summary_figure(money, inv, mun, curve=make_curve())
    assert fig.get_suptitle() == "Social Impact Bond simulation: 500 draws, GBP"
    assert fig.get_axes()[2].get_ylabel() == "Cumulative net cash (GBP m)"
    out = save_figure(fig, tmp_path / "real.png")
    assert out.stat().st_size > 50_000
