"""Payment curves of evaluation-design options (sibsim.analysis.evaluation_design): agreement
with the normal approximation of analysis.power, monotonicity in the threshold (exact, paired
draws) and in the true effect (within Monte Carlo error), the options built, the figure."""

from __future__ import annotations

import math
from dataclasses import replace

import matplotlib
import numpy as np
import pytest

import sibsim
from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Scenario
from sibsim.analysis.evaluation_design import (
    design_for,
    payment_curves,
    plot_payment_curves,
    rule_threshold,
    with_threshold,
)
from sibsim.analysis.power import evaluation_power
from sibsim.money import Contract, MetricTerms, PricePerUnit, StepSchedule
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal
from sibsim.money.evaluation import RCT, Evaluation, Historical, Matched

matplotlib.use("Agg")

Z = 4.5  # standard errors allowed in statistical checks


def small_deal(n: int = 300, rate: float = 0.6, rr: float = 0.9, ratio: float = 1.0,
               threshold: float = 0.05, alpha: float | None = None, **ev) -> Deal:
    """One wave of ``n`` people, a Poisson count, every input fixed: one trigger per wave
    and the pooled one, paid per unit avoided from ``threshold``."""
    sc = Scenario(outcome=CountOutcome(rate), horizon=1, effect=Effect("rr", rr),
                  comparison=ComparisonGroup(ratio=ratio), cohort=Cohort(size=n))
    return Deal(scenario=sc,
                evaluations=(Evaluation("m", alpha=alpha, precision=None, **ev),),
                contract=Contract((MetricTerms("m", PricePerUnit(100.0, threshold=threshold)),)),
                service_costs=ServiceCosts(per_participant=10.0),
                capital=CapitalStructure((Tranche("fund", 1e6),)))


@pytest.mark.parametrize("alpha", [None, 0.05])
def test_simulated_trigger_payment_agrees_with_the_normal_approximation(alpha):
    # every other input fixed: the power of analysis.power at each true effect is the
    # probability the simulation estimates
    deal = small_deal(alpha=alpha)
    pc = payment_curves(deal, effects=[1.0, 0.92, 0.85], draws=1500, seed=11,
                        with_prior=False)
    p = pc["p_trigger_pays"].values
    q = pc["power_normal"].values
    se = np.sqrt(np.maximum(q * (1 - q), 1e-4) / 1500)
    assert np.all(np.abs(p - q) <= Z * se), (p, q)
    assert 0.1 < q[0, 1, 0] < 0.9  # an informative point
    # one wave: any payment is the trigger's payment
    np.testing.assert_allclose(pc["p_payment"].values[:, :], p[:, :, 0])


def test_payment_is_monotone_in_the_threshold_draw_by_draw():
    deal = small_deal()
    pc = payment_curves(deal, effects=[1.0, 0.9], thresholds=[0.0, 0.05, 0.1, 0.2],
                        draws=300, seed=3, with_prior=False)
    assert list(pc["option_threshold"].values) == [0.0, 0.05, 0.1, 0.2]
    # the same draws measured, a higher bar: never more paid (exactly, not only on average)
    assert np.all(np.diff(pc["p_payment"].values, axis=0) <= 0)
    assert np.all(np.diff(pc["expected_payment"].values, axis=0) <= 1e-9)
    assert pc["p_payment"].values[0, 1] > pc["p_payment"].values[-1, 1]


def test_payment_rises_with_the_true_effect_and_investor_risk_falls():
    deal = sibsim.load_scenario("peterborough")
    pc = payment_curves(deal, effects=[1.0, 0.95, 0.9, 0.85, 0.8], draws=120, seed=5,
                        with_prior=False)
    for name, sign in (("p_payment", 1), ("expected_payment", 1), ("p_investor_loss", -1)):
        y, s = pc[name].values[0], pc[f"{name}_se"].values[0]
        # common random numbers make neighbouring points positively correlated: the unpaired
        # standard error of a difference is conservative
        assert np.all(sign * np.diff(y) >= -Z * np.hypot(s[1:], s[:-1])), (name, y)
        assert sign * (y[-1] - y[0]) > 0
    assert pc["p_payment"].values[0, -1] > 0.9 > pc["p_payment"].values[0, 0]


def test_options_are_the_combinations_given_and_share_the_seed():
    deal = sibsim.load_scenario("peterborough")
    pc = payment_curves(deal, effects=[0.9], designs=["rct", "matched", "historical",
                                                      "before_after"],
                        comparison_sizes=[1, ComparisonGroup(size=5000)], draws=40, seed=2)
    # historical has no concurrent group and before/after uses the same people: one each
    assert list(pc["option"].values) == [
        "RCT, comparison 1:1", "RCT, comparison 5,000 people", "matched, comparison 1:1",
        "matched, comparison 5,000 people", "historical", "before/after"]
    assert list(pc["option_comparison"].values)[-2:] == ["none", "same people before"]
    assert pc["p_payment"].attrs["units"] == "probability"
    assert pc["expected_payment"].attrs["units"] == "GBP"
    for name in ("prior_p_payment", "prior_p_investor_loss", "prior_p_commissioner_net_loss",
                 "prior_expected_net_savings"):
        assert pc[name].dims == ("option",)
    # the same seed: an option run alone gives the same numbers
    alone = payment_curves(deal, effects=[0.9], designs=["matched"], comparison_sizes=[1],
                           draws=40, seed=2)
    np.testing.assert_array_equal(alone["p_payment"].values[0], pc["p_payment"].values[2])


def test_design_for_names_and_objects():
    deal = sibsim.load_scenario("peterborough")
    assert design_for(deal, "matched") is deal.evaluations[0].design  # its own design
    hist = design_for(deal, "historical")
    # right on average: at the prior mean it measures the effect an RCT measures there
    assert isinstance(hist, Historical)
    ev = deal.evaluations[0]
    as_rct = evaluation_power(deal.replace(evaluations=(replace(ev, design=RCT()),)))
    as_hist = evaluation_power(deal.replace(evaluations=(replace(ev, design=hist),)))
    np.testing.assert_allclose(as_hist["expected_effect"], as_rct["expected_effect"],
                               rtol=1e-9)
    given = Matched(bias=0.1)
    assert design_for(deal, given) is given
    with pytest.raises(ValueError, match=r"payment_curves\.designs: got 'quasi'"):
        design_for(deal, "quasi")
    with pytest.raises(ValueError, match=r"payment_curves\.comparison_sizes"):
        payment_curves(deal, effects=[0.9], comparison_sizes=[-1], draws=5)
    with pytest.raises(ValueError, match=r"payment_curves\.effects"):
        payment_curves(deal, effects=[0.0], draws=5)


def test_with_threshold_moves_every_threshold_of_the_metric_together():
    deal = sibsim.load_scenario("peterborough")
    moved = with_threshold(deal, 0.12)
    t0, t1 = deal.contract.terms[0], moved.contract.terms[0]
    assert rule_threshold(t1.rule) == pytest.approx(0.12)
    assert (t1.pooled_rule.threshold - t1.rule.threshold) == pytest.approx(
        t0.pooled_rule.threshold - t0.rule.threshold)
    steps = StepSchedule(thresholds=(0.05, 0.1), payments=(1.0, 2.0))
    assert rule_threshold(steps) == 0.05
    d = small_deal().replace(contract=Contract((MetricTerms("m", steps),)))
    assert with_threshold(d, 0.08).contract.terms[0].rule.thresholds == pytest.approx(
        (0.08, 0.13))
    with pytest.raises(ValueError, match=r"payment_curves\.thresholds"):
        with_threshold(d, 5.0)


def test_plot_has_one_labelled_line_per_option():
    pc = payment_curves(small_deal(), effects=[1.0, 0.9], thresholds=[0.0, 0.1], draws=30,
                        seed=1, with_prior=False)
    ax = plot_payment_curves(pc)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["threshold 0%", "threshold 10%"]
    assert ax.get_xlabel() == "True effect (relative risk)"
    assert not math.isnan(ax.get_ylim()[0])
    with pytest.raises(ValueError, match=r"plot_payment_curves\.variable"):
        plot_payment_curves(pc, variable="power_normal")


def test_cli_evaluation_design(tmp_path, capsys):
    from sibsim.cli import main

    fig, nc = tmp_path / "pc.png", tmp_path / "pc.nc"
    rc = main(["evaluation-design", "peterborough", "--draws", "20", "--seed", "1",
               "--designs", "rct", "historical", "--effects", "1.0", "0.85",
               "--alphas", "none", "0.05", "--figure", str(fig), "--out", str(nc)])
    out = capsys.readouterr().out
    assert rc == 0 and fig.stat().st_size > 0
    assert "RCT, no gate" in out and "historical, alpha 0.05" in out
    import xarray as xr

    with xr.open_dataset(nc) as ds:
        assert ds.sizes["option"] == 4 and ds.sizes["effect"] == 2
    assert main(["evaluation-design", "peterborough", "--alphas", "x"]) == 2
    assert "--alphas" in capsys.readouterr().err
    assert main(["evaluation-design", "peterborough", "--designs", "quasi",
                 "--draws", "5"]) == 2
    assert "payment_curves.designs: got 'quasi'" in capsys.readouterr().err
