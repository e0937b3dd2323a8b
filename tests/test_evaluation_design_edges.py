"""Evaluation-design options (sibsim.analysis.evaluation_design) by value: every output variable
of payment_curves against the money chain run by hand on the same draws, its units,
descriptions and coordinates; the option labels of every combination; the thresholds a rule
states and how they move; the interpolated effect for a probability at and beside the grid
points; the text table and the figure; every refusal with its message."""

from __future__ import annotations

import math
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Scenario
from sibsim.analysis import evaluation_design as ed
from sibsim.analysis.evaluation_design import (
    DESIGN_NAMES,
    MATCHED_BIAS,
    design_for,
    effect_for_probability,
    format_payment_curves,
    payment_curves,
    plot_payment_curves,
    rule_threshold,
    with_threshold,
)
from sibsim.analysis.metrics import discount_factors, present_value
from sibsim.money import Contract, LinearFloorCap, MetricTerms, PricePerUnit, StepSchedule
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal
from sibsim.money.evaluation import RCT, BeforeAfter, Evaluation, Historical, Matched
from sibsim.money.sib import counterfactual, money_flows


def small_deal(n: int = 300, rate: float = 0.6, rr: float = 0.9, ratio: float = 1.0,
               threshold: float = 0.05, alpha: float | None = None, **ev) -> Deal:
    sc = Scenario(outcome=CountOutcome(rate), horizon=1, effect=Effect("rr", rr),
                  comparison=ComparisonGroup(ratio=ratio), cohort=Cohort(size=n))
    return Deal(scenario=sc,
                evaluations=(Evaluation("m", alpha=alpha, precision=None, **ev),),
                contract=Contract((MetricTerms("m", PricePerUnit(100.0, threshold=threshold)),)),
                service_costs=ServiceCosts(per_participant=10.0),
                capital=CapitalStructure((Tranche("fund", 1e6),)))


def test_constants():
    assert MATCHED_BIAS.mean == 0.0 and MATCHED_BIAS.sd == 0.03
    assert DESIGN_NAMES == {"rct": "RCT", "matched": "matched", "historical": "historical",
                            "predicted": "predicted", "before_after": "before/after"}


# ------------------------------------------------------------------------ rules and designs
def test_rule_threshold_of_each_kind_of_rule():
    assert rule_threshold(PricePerUnit(1.0, threshold=0.07)) == 0.07
    assert rule_threshold(PricePerUnit(1.0, threshold=None)) == 0.0
    assert rule_threshold(StepSchedule(thresholds=(0.02, 0.1), payments=(1.0, 2.0))) == 0.02
    lin = LinearFloorCap(floor_effect=0.03, cap_effect=0.2, floor_payment=1.0, cap_payment=2.0)
    assert rule_threshold(lin) == 0.03

    class NoCut:
        pass

    with pytest.raises(ValueError, match=r"^payment_curves\.thresholds: got 'NoCut'; allowed: "
                                         r"a pricing rule with a threshold, thresholds or "
                                         r"floor_effect$"):
        rule_threshold(NoCut())


def test_shift_moves_every_cut_and_rounds_to_12_digits():
    lin = LinearFloorCap(floor_effect=0.03, cap_effect=0.2, floor_payment=1.0, cap_payment=2.0)
    moved = ed._shift(lin, 0.1)
    assert moved.floor_effect == 0.13 and moved.cap_effect == 0.3
    p = ed._shift(PricePerUnit(1.0, threshold=None), 0.1 + 1e-14)
    assert p.threshold == 0.1  # rounded to 12 digits; None counts as 0
    c = ed._shift(PricePerUnit(1.0, threshold=0.1, ceiling=0.3), -0.05)
    assert c.threshold == 0.05 and c.ceiling == 0.25
    n = ed._shift(PricePerUnit(1.0, threshold=0.1, ceiling=None), 0.05)
    assert n.ceiling is None and n.threshold == 0.15
    s = ed._shift(StepSchedule(thresholds=(0.05, 0.1), payments=(1.0, 2.0)), 0.01)
    assert s.thresholds == (0.06, 0.11)


def test_with_threshold_leaves_other_metrics_and_refuses_what_the_rule_refuses():
    d = small_deal()
    two = d.replace(evaluations=(*d.evaluations, Evaluation("other", precision=None)),
                    contract=Contract((MetricTerms("m", PricePerUnit(1.0, threshold=0.05)),
                                       MetricTerms("other", PricePerUnit(1.0, threshold=0.2)))))
    moved = with_threshold(two, 0.1)
    assert moved.contract.terms[0].rule.threshold == 0.1
    assert moved.contract.terms[1] is two.contract.terms[1]
    assert moved.contract.terms[0].pooled_rule is None
    with pytest.raises(ValueError, match=r"^payment_curves\.thresholds: got 5\.0; allowed: a "
                                         r"threshold the contract's rules accept \(.*\)$"):
        with_threshold(d, 5.0)


def test_design_for_each_kind_name():
    deal = small_deal()  # its own design: RCT
    assert design_for(deal, "rct") is deal.evaluations[0].design
    m = design_for(deal, "matched")
    assert isinstance(m, Matched) and m.bias == MATCHED_BIAS
    assert isinstance(design_for(deal, "before_after"), BeforeAfter)
    h = design_for(deal, "historical")
    assert isinstance(h, Historical)
    # one wave: one rate, the comparison rate at the prior mean (0.6 a person)
    rate = getattr(h.historical_rate, "value", h.historical_rate)
    assert float(rate) == pytest.approx(0.6, rel=1e-9)
    own_m = deal.replace(evaluations=(replace(deal.evaluations[0], design=Matched(bias=0.1)),))
    assert isinstance(design_for(own_m, "rct"), RCT)
    with pytest.raises(ValueError, match=r"^payment_curves\.designs: got 'quasi'; allowed: a "
                                         r"design object or one of 'rct', "):
        design_for(deal, "quasi")
    with pytest.raises(ValueError, match=r"payment_curves\.designs: got 3"):
        design_for(deal, 3)


def test_historical_rate_of_several_waves_and_without_a_comparison_group():
    sc = Scenario(outcome=CountOutcome(0.6), horizon=3, effect=Effect("rr", 0.9),
                  comparison=None, cohort=Cohort(entry=(200, 100)))
    deal = Deal(scenario=sc, evaluations=(Evaluation("m", design=Historical(
        historical_rate=0.6), precision=None, window=2),),
        contract=Contract((MetricTerms("m", PricePerUnit(100.0, threshold=0.05)),)),
        service_costs=ServiceCosts(per_participant=10.0),
        capital=CapitalStructure((Tranche("fund", 1e6),)))
    rates = ed.historical_rate_at_prior_mean(deal)
    # the comparison rate at the prior mean over each wave's window of 2 periods: 2 x 0.6
    assert rates == pytest.approx((1.2, 1.2), rel=1e-9) and type(rates) is tuple


def test_comparison_values_and_labels():
    g = ComparisonGroup(size=5000)
    assert ed._comparison(g) is g
    assert ed._comparison(2).ratio == 2.0 and ed._comparison(0.5).ratio == 0.5
    for bad in (0, -1, True, "2", None):
        with pytest.raises(ValueError, match=r"^payment_curves\.comparison_sizes: got .*; "
                                             r"allowed: ComparisonGroup objects or ratios > 0"):
            ed._comparison(bad)
    assert ed._comparison_label(None) == "none"
    assert ed._comparison_label(ComparisonGroup(size=12345)) == "12,345 people"
    assert ed._comparison_label(ComparisonGroup(ratio=1.5)) == "1.5:1"


def test_prior_means_of_each_kind_of_distribution():
    deal = sibsim.load_scenario("lapset-sib-1")
    means = ed._prior_means(deal.scenario)
    for name, dist in deal.scenario.parameters().items():
        if hasattr(dist, "mean_row"):
            np.testing.assert_allclose(means[name], np.asarray(dist.mean_row)[None, :])
        else:
            assert means[name].tolist() == [pytest.approx(float(dist.mean))]


# ------------------------------------------------------------------------------ options
def test_options_labels_of_every_combination():
    deal = small_deal()
    opts = ed._options(deal, None, None, None, None)
    assert len(opts) == 1 and opts[0].label == "as contracted"
    assert opts[0].design == "rct" and opts[0].comparison == "1:1"
    assert opts[0].threshold == 0.05 and math.isnan(opts[0].alpha)
    opts = ed._options(deal, None, None, [0.0, 0.1], [None, 0.05])
    assert [o.label for o in opts] == [
        "threshold 0%, no gate", "threshold 0%, alpha 0.05", "threshold 10%, no gate",
        "threshold 10%, alpha 0.05"]
    assert [o.alpha for o in opts][1] == 0.05
    assert opts[3].deal.evaluations[0].alpha == 0.05
    assert opts[2].deal.contract.terms[0].rule.threshold == 0.1
    opts = ed._options(deal, ["rct", "historical", "before_after"], [2], None, None)
    assert [o.label for o in opts] == ["RCT, comparison 2:1", "historical", "before/after"]
    assert [o.comparison for o in opts] == ["2:1", "none", "same people before"]
    assert opts[0].deal.scenario.comparison.ratio == 2.0
    assert opts[2].deal.scenario.comparison.ratio == 1.0
    # designs alone: no comparison in the label; the deal's own threshold
    opts = ed._options(deal, ["matched"], None, None, None)
    assert [o.label for o in opts] == ["matched"] and opts[0].threshold == 0.05


def test_each_option_deal_evaluates_with_its_own_design_and_alpha():
    """An option's deal is the deal evaluated as the option says: its evaluation takes the
    option's design (design_for's object) and alpha, and keeps its other fields."""
    deal = small_deal()
    names = ["historical", "before_after", "matched"]
    opts = ed._options(deal, names, None, None, [None, 0.05])
    assert [(o.design, None if math.isnan(o.alpha) else o.alpha) for o in opts] == [
        (n, a) for n in names for a in (None, 0.05)]
    for o in opts:
        (ev,) = o.deal.evaluations
        assert ev.design == design_for(deal, o.design), o.label
        assert ev.design.kind == o.design and ev.alpha == (
            None if math.isnan(o.alpha) else o.alpha), o.label
        assert ev == replace(deal.evaluations[0], design=ev.design, alpha=ev.alpha), o.label
    assert isinstance(opts[0].deal.evaluations[0].design, Historical)
    assert isinstance(opts[2].deal.evaluations[0].design, BeforeAfter)
    assert opts[4].deal.evaluations[0].design == Matched(bias=MATCHED_BIAS)


def test_options_refuse_empty_and_repeated_lists():
    deal = small_deal()
    for key, args in (("designs", ([], None, None, None)),
                      ("comparison_sizes", (None, [], None, None)),
                      ("thresholds", (None, None, [], None)),
                      ("alphas", (None, None, None, []))):
        with pytest.raises(ValueError, match=rf"^payment_curves\.{key}: got \[\]; allowed: at "
                                             r"least one value, or None$"):
            ed._options(deal, *args)
    with pytest.raises(ValueError, match=r"payment_curves\.thresholds"):
        ed._options(deal, None, None, [0.1, 0.1], None)
    with pytest.raises(ValueError, match=r"payment_curves\.alphas"):
        ed._options(deal, None, None, None, [0.05, 0.05])


def test_options_that_make_an_invalid_deal_are_refused():
    deal = small_deal()
    with pytest.raises(ValueError, match=r"Evaluation\.alpha: got 1\.5"):
        ed._options(deal, None, None, None, [1.5])


# ------------------------------------------------------------------------------ curves
def test_payment_curves_every_variable_by_the_money_chain():
    deal = small_deal(alpha=0.1)
    xs = [1.0, 0.85]
    pc = payment_curves(deal, effects=xs, draws=30, seed=7)
    cf = counterfactual(deal, 30, 7)
    for j, e in enumerate(xs):
        ds = sibsim.simulate(deal.scenario, 30, 7, progress=False,
                             overrides={"effect.value": np.full(30, e)})
        money = money_flows(deal, ds, cf=cf)
        paid = money["outcome_payments"].values.sum(-1)
        net = money["net_savings"].values
        drawn = money["drawdown"].values.sum((1, 2))
        got = money["investor_received"].values.sum((1, 2))
        disc = discount_factors(float(money.attrs["social_discount_rate_per_year"]),
                                int(money.attrs["periods_per_year"]), net.shape[-1])
        npv = present_value(net, disc)
        by_hand = {"p_payment": (paid > 0).astype(float), "expected_payment": paid,
                   "p_investor_loss": (got < drawn).astype(float),
                   "p_commissioner_net_loss": (net.sum(-1) < 0).astype(float),
                   "expected_net_savings": npv}
        for name, x in by_hand.items():
            assert float(pc[name][0, j]) == pytest.approx(x.mean(), rel=1e-12, abs=1e-12), name
            assert float(pc[f"{name}_se"][0, j]) == pytest.approx(
                x.std(ddof=1) / math.sqrt(30), rel=1e-12, abs=1e-12), name
    assert pc["p_payment"].dims == ("option", "effect")
    assert pc["p_trigger_pays"].dims == ("option", "effect", "trigger")
    assert pc.sizes["trigger"] == 2
    # one wave: any payment is the pooled or the wave's trigger paying
    assert np.all(pc["p_trigger_pays"].values.max(-1) <= pc["p_payment"].values + 1e-12)
    for name in ("p_payment", "p_investor_loss", "p_commissioner_net_loss", "p_trigger_pays",
                 "p_trigger_pays_se", "power_normal"):
        assert pc[name].attrs["units"] == "probability", name
    for name in ("expected_payment", "expected_net_savings", "prior_expected_payment"):
        assert pc[name].attrs["units"] == "EUR", name
    assert pc["p_payment"].attrs["description"] == (
        "Share of draws with any outcome payment at this true effect")
    assert pc["prior_p_payment"].attrs["description"] == (
        "Share of draws with any outcome payment with the effect drawn from its prior (effect "
        "from its prior)")
    assert pc["expected_payment_se"].attrs == {
        "units": "EUR", "description": "Monte Carlo standard error of expected_payment"}
    assert {k: pc[k].attrs["description"] for k in (
        "expected_payment", "p_investor_loss", "p_commissioner_net_loss",
        "expected_net_savings", "power_normal", "p_trigger_pays")} == {
        "expected_payment": "Mean outcome payments (undiscounted) at this true effect",
        "p_investor_loss": "Share of draws in which investors get back less than they put in",
        "p_commissioner_net_loss": "Share of draws in which the commissioner pays more than it "
                                   "saves (undiscounted)",
        "expected_net_savings": "Mean NPV of the commissioner's net savings (social discount "
                                "rate)",
        "power_normal": "Normal approximation of the trigger's power at this true effect, "
                        "other inputs at their prior means (analysis.power)",
        "p_trigger_pays": "Share of draws in which the trigger's rule pays on its measured "
                          "result (gate passed)"}
    assert pc["prior_expected_net_savings"].attrs["description"] == (
        "Mean NPV of the commissioner's net savings (social discount rate) (effect from its "
        "prior)")
    assert pc["p_trigger_pays_se"].attrs["description"] == (
        "Monte Carlo standard error of p_trigger_pays")
    assert pc["effect"].attrs == {"units": "rr",
                                  "description": "True effect, in the scenario's measure"}
    assert pc["effect"].values.tolist() == xs
    assert pc.attrs["currency"] == "EUR" and pc.attrs["draws"] == 30 and pc.attrs["seed"] == 7
    assert pc.attrs["measure"] == "rr" and pc.attrs["metric"] == "m"
    assert pc.attrs["scenario"] == deal.name
    assert pc.attrs["description"].startswith("Probability of payment and every party's risk")
    assert pc["option_alpha"].values.tolist() == [0.1]
    assert pc["option_threshold"].values.tolist() == [0.05]
    assert pc["option_design"].values.tolist() == ["rct"]
    assert pc["option_comparison"].values.tolist() == ["1:1"]
    # the prior run: the scenario as it is (here its effect fixed at 0.9)
    ds = sibsim.simulate(deal.scenario, 30, 7, progress=False)
    paid = money_flows(deal, ds, cf=cf)["outcome_payments"].values.sum(-1)
    assert float(pc["prior_p_payment"][0]) == pytest.approx((paid > 0).mean())
    assert float(pc["prior_expected_payment"][0]) == pytest.approx(paid.mean())


def test_payment_curves_trigger_and_power_by_value():
    from sibsim.analysis.power import evaluation_power
    from sibsim.money.evaluation import evaluate

    deal = small_deal()
    pc = payment_curves(deal, effects=[0.8], draws=25, seed=3, with_prior=False)
    assert not any(name.startswith("prior_") for name in pc.data_vars)
    ds = sibsim.simulate(deal.scenario, 25, 3, progress=False,
                         overrides={"effect.value": np.full(25, 0.8)})
    table = evaluate(ds, deal.evaluations, seed=3)
    rule = deal.contract.terms[0]
    pays = np.stack([rule.rule_for(table.cumulative[k]).due(
        table.measured_effect[:, k], table.units[:, k]) > 0 for k in range(2)], axis=1)
    np.testing.assert_allclose(pc["p_trigger_pays"].values[0, 0], pays.mean(0), rtol=1e-12)
    np.testing.assert_allclose(pc["p_trigger_pays_se"].values[0, 0],
                               pays.std(0, ddof=1) / 5.0, rtol=1e-12)
    pw = evaluation_power(deal.with_scenario(effect=replace(deal.scenario.effect, value=0.8)))
    np.testing.assert_allclose(pc["power_normal"].values[0, 0], pw["power"].values,
                               rtol=1e-12)


def test_mean_se_of_one_draw_is_nan():
    m, s = ed._mean_se(np.array([[1.0, 2.0]]))
    assert m.tolist() == [1.0, 2.0] and np.isnan(s).all()
    m, s = ed._mean_se(np.array([[1.0], [3.0]]))
    assert m.tolist() == [2.0] and s.tolist() == [pytest.approx(1.0)]


def test_payment_curves_refusals():
    deal = small_deal()
    with pytest.raises(ValueError, match=r"^payment_curves\.deal: got 'Scenario'; allowed: a "
                                         r"Deal with evaluations, a contract and a capital "
                                         r"structure$"):
        payment_curves(deal.scenario, effects=[0.9], draws=5)
    with pytest.raises(ValueError, match=r"^payment_curves\.deal: got 'no effect'"):
        payment_curves(deal.with_scenario(effect=None), effects=[0.9], draws=5)
    with pytest.raises(ValueError, match=r"draws: got 1"):
        payment_curves(deal, effects=[0.9], draws=1)
    for bad in ([], [math.nan], [math.inf]):
        with pytest.raises(ValueError, match=r"payment_curves\.effects: got .*; allowed: one or "
                                             r"more finite true effects"):
            payment_curves(deal, effects=bad, draws=5)
    with pytest.raises(ValueError, match=r"payment_curves\.effects: got \[0\.9, -0\.1\]; "
                                         r"allowed: positive values \(rr\)"):
        payment_curves(deal, effects=[0.9, -0.1], draws=5)
    with pytest.raises(ValueError, match=r"^payment_curves\.effects: got \[0\.9, 0\.9\]; "
                                         r"allowed: unique true effects \(repeated: 0\.9\)$"):
        payment_curves(deal, effects=[0.9, 0.9], draws=5)
    two = payment_curves(deal, effects=[0.9], draws=2, seed=1, with_prior=False)
    assert two.attrs["draws"] == 2


@pytest.mark.parametrize(("n", "threshold"), [(2000, 0.05), (5_000_000, 0.0)])
def test_default_effects_end_a_quarter_beyond_the_all_but_sure_point(n, threshold):
    # 5 million people paid from no effect: the grid's first step already pays all but surely
    deal = small_deal(n=n, threshold=threshold)
    xs = ed.default_effects(deal, points=5)
    lo, hi = deal.breakeven.effect_range or __import__(
        "sibsim.analysis.breakeven", fromlist=["x"]).default_effect_range(deal)
    assert xs[0] == lo and len(xs) == 5
    np.testing.assert_allclose(np.diff(xs), np.diff(xs)[0])
    fine = np.linspace(lo, hi, 41)
    from sibsim.analysis.power import evaluation_power

    first = next(x for x in fine[1:] if np.all(evaluation_power(deal.with_scenario(
        effect=replace(deal.scenario.effect, value=float(x))))["power"].values >= 0.99))
    assert (first == fine[1]) == (n > 2000)
    end = lo + 1.25 * (first - lo)
    end = max(end, hi) if hi < lo else min(end, hi)
    assert xs[-1] == pytest.approx(end, rel=1e-12)


# ------------------------------------------------------------------------- reading results
def fake(p, effects=(1.0, 0.9, 0.8), labels=("a", "b"), prior=True):
    p = np.asarray(p, float)
    data = {"p_payment": (("option", "effect"), p, {"units": "probability"}),
            "p_payment_se": (("option", "effect"), np.full(p.shape, 0.01))}
    if prior:
        data.update({"prior_p_payment": ("option", [0.5, 0.25]),
                     "prior_p_investor_loss": ("option", [0.125, 0.5]),
                     "prior_p_commissioner_net_loss": ("option", [0.3, 0.0]),
                     "prior_expected_net_savings": ("option", [12345.6, -5000.0])})
    return xr.Dataset(data, coords={"option": list(labels), "effect": list(effects)},
                      attrs={"scenario": "S", "currency": "EUR", "draws": 100, "seed": 3,
                             "measure": "rr"})


def test_effect_for_probability_interpolates_at_and_between_grid_points():
    r = fake([[0.1, 0.6, 0.9], [0.8, 0.9, 1.0]])
    e = effect_for_probability(r, 0.8)
    # option a: between 0.6 (at 0.9) and 0.9 (at 0.8): 0.9 + (0.2 / 0.3) (0.8 - 0.9)
    assert float(e[0]) == pytest.approx(0.9 - 0.2 / 3, rel=1e-12)
    # option b reaches 0.8 exactly at the first point
    assert float(e[1]) == 1.0
    assert e.dims == ("option",) and e["option"].values.tolist() == ["a", "b"]
    assert e.attrs == {"units": "rr", "description": "Weakest true effect paid with "
                                                     "probability 0.8 (NaN: not on the grid)"}
    # exactly at a later grid point: that point
    assert float(effect_for_probability(r, 0.6)[0]) == pytest.approx(0.9, rel=1e-12)
    # never reached: NaN
    assert math.isnan(float(effect_for_probability(r, 0.95)[0]))
    assert float(effect_for_probability(r, 0.95)[1]) == pytest.approx(0.85, rel=1e-12)
    default = effect_for_probability(r)
    assert default.attrs["description"].endswith("probability 0.8 (NaN: not on the grid)")


def test_format_payment_curves_every_cell():
    r = fake([[0.1, 0.6, 0.9], [0.8, 0.9, 1.0]])
    assert format_payment_curves(r).splitlines() == [
        "Evaluation design options for S (100 draws, seed 3; no effect = 1, measure rr)",
        "option  P(pay | no effect)  effect for 80%  P(pay)  P(investor loss)  "
        "P(commissioner loss)  net savings (EUR, mean NPV)",
        "a                    10.0%           0.833   50.0%             12.5%                 "
        "30.0%                       12,346",
        "b                    80.0%               1   25.0%             50.0%                  "
        "0.0%                       -5,000",
        "P(pay), P(investor loss), P(commissioner loss) and net savings: with the effect drawn "
        "from its prior."]
    plain = fake([[0.1, 0.2, 0.3], [0.8, 0.9, 1.0]], prior=False)
    lines = format_payment_curves(plain).splitlines()
    assert lines[1] == "option  P(pay | no effect)  effect for 80%"
    assert lines[2] == "a                    10.0%     not reached"
    assert len(lines) == 4


def test_plot_payment_curves_lines_band_labels_and_axis():
    r = fake([[0.1, 0.6, 0.9], [0.8, 0.9, 1.0]])
    fig, ax = plt.subplots()
    assert plot_payment_curves(r, ax=ax) is ax
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["a", "b"]
    np.testing.assert_array_equal(lines[0].get_ydata(), [0.1, 0.6, 0.9])
    assert lines[0].get_marker() == "o" and lines[0].get_markersize() == 3
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(0.08) and band.max() == pytest.approx(0.92)
    assert ax.get_xlabel() == "True effect (relative risk)"
    assert ax.get_ylabel() == "P(outcome payment)"
    assert ax.get_ylim() == (-0.02, 1.02)
    assert ax.xaxis_inverted()  # ratios fall to the right
    assert ax.get_title() == "S: P(outcome payment) against the true effect"
    assert ax.get_legend().get_title().get_text() == "Evaluation option"
    plt.close(fig)
    # an amount, rising effects (absolute): no probability limits, no inversion
    r2 = fake([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]], effects=(0.0, 0.1, 0.2))
    r2.attrs["measure"] = "absolute"
    r2["expected_payment"] = r2["p_payment"].assign_attrs(units="EUR")
    ax2 = plot_payment_curves(r2, variable="expected_payment")
    assert ax2.get_xlabel() == "True effect (absolute change)"
    assert ax2.get_ylabel() == "expected_payment (EUR)"
    assert not ax2.xaxis_inverted() and ax2.get_ylim() != (-0.02, 1.02)
    assert len(ax2.collections) == 0  # no expected_payment_se: no band
    assert ax2.get_title() == "S: expected_payment against the true effect"
    assert tuple(ax2.figure.get_size_inches()) == (7.0, 4.5)
    plt.close(ax2.figure)
    r3 = fake([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    r3["p_investor_loss"] = r3["p_payment"]
    r3.attrs["measure"] = "rate_ratio"
    ax3 = plot_payment_curves(r3, variable="p_investor_loss")
    assert ax3.get_ylabel() == "P(investor loss)"
    assert ax3.get_xlabel() == "True effect (rate ratio)"
    plt.close(ax3.figure)
    for bad in ("nope", "prior_p_payment"):
        with pytest.raises(ValueError, match=rf"^plot_payment_curves\.variable: got '{bad}'; "
                                             r"allowed: a variable over \(option, effect\)"):
            plot_payment_curves(r, variable=bad)


def test_format_and_plot_without_a_currency_and_the_legend_title_size():
    r = fake([[0.1, 0.6, 0.9], [0.8, 0.9, 1.0]])
    del r.attrs["currency"]
    assert format_payment_curves(r).splitlines()[1].endswith("net savings (, mean NPV)")
    ax = plot_payment_curves(fake([[0.1, 0.6, 0.9], [0.8, 0.9, 1.0]]))
    title = ax.get_legend().get_title()
    assert title.get_text() == "Evaluation option" and title.get_fontsize() == 8
    assert all(t.get_fontsize() == 8 for t in ax.get_legend().get_texts())
    assert ax.get_title() and ax.title.get_fontsize() == 10
    plt.close(ax.figure)
