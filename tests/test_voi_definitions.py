"""Value of information (sibsim.analysis.voi) by value, against dampack's definitions worked by
hand on small arrays: every output variable, unit, attribute and description; every range check
at its boundary and one step beyond; the regression's exact cases (group means below 5 distinct
values, linear data reproduced by the smoothing spline with and without binning); the text and
the figure."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from scipy import stats

import sibsim
from sibsim.analysis import voi
from sibsim.analysis.voi import (
    ALL,
    STRATEGIES,
    commissioner_net_benefit,
    evpi,
    evppi,
    evsi,
    format_voi,
    normal_voi,
    pilot_information,
    plot_voi,
    value_of_information,
)


def test_constants():
    assert ALL == "all parameters"
    assert STRATEGIES == ("do_not_sign", "sign")
    assert voi.SPLINE_BINS == 100 and voi.BACKFIT_SWEEPS == 10


# ---------------------------------------------------------------------------------- EVPI
def test_evpi_by_hand_every_output():
    # strategies: A always 0, B pays 3, -1, 2, -2 (mean 0.5 > 0: B chosen on expectations)
    nb = np.array([[0.0, 3.0], [0.0, -1.0], [0.0, 2.0], [0.0, -2.0]])
    r = evpi(nb)
    # losses of A relative to B: -3, 1, -2, 2 -> max(0, .) = 0, 1, 0, 2 -> mean 0.75
    per_draw = np.array([0.0, 1.0, 0.0, 2.0])
    assert float(r["evpi"]) == pytest.approx(0.75, abs=1e-15)
    assert float(r["evpi_se"]) == pytest.approx(per_draw.std(ddof=1) / 2.0, abs=1e-15)
    assert r["expected_net_benefit"].values.tolist() == [0.0, 0.5]
    assert r["strategy"].values.tolist() == ["strategy 0", "strategy 1"]
    assert r.attrs == {"best_strategy": "strategy 1", "draws": 4}
    assert r["evpi"].attrs["units"] == "" and r["evpi_se"].attrs["units"] == ""
    assert r["evpi"].attrs["description"].startswith("Expected value of perfect information")
    assert "calc_evpi" in r["evpi"].attrs["description"]
    assert r["evpi_se"].attrs["description"] == "Monte Carlo standard error of evpi"
    assert r["expected_net_benefit"].attrs == {
        "units": "", "description": "Mean net benefit of each strategy over the draws"}
    assert r["expected_net_benefit"].dims == ("strategy",) and r["evpi"].dims == ()


def test_evpi_of_three_strategies_is_the_mean_of_the_largest_loss():
    nb = np.array([[1.0, 0.0, 4.0], [5.0, 0.0, 0.0], [1.0, 3.0, 0.0]])
    # means 7/3, 1, 4/3: the first is chosen; E[max] = (4 + 5 + 3) / 3 = 4; EVPI = 4 - 7/3
    r = evpi(nb)
    assert float(r["evpi"]) == pytest.approx(4.0 - 7.0 / 3.0, rel=1e-14)
    assert r.attrs["best_strategy"] == "strategy 0"


def test_evpi_tie_on_expectations_takes_the_first_strategy():
    nb = np.array([[1.0, 0.0], [-1.0, 0.0]])  # both mean 0
    r = evpi(nb)
    assert r.attrs["best_strategy"] == "strategy 0"
    assert float(r["evpi"]) == pytest.approx(0.5)


def test_evpi_of_a_labelled_dataarray_keeps_names_units_and_reads_any_dim_order():
    nb = xr.DataArray([[0.0, 0.0], [3.0, -1.0]], dims=("strategy", "draw"),
                      coords={"strategy": ["keep", "sign"]}, attrs={"units": "EUR"})
    r = evpi(nb)
    # per draw: keep 0, 0; sign 3, -1 -> sign chosen (mean 1); losses of keep -3, 1
    assert float(r["evpi"]) == pytest.approx(0.5)
    assert r["strategy"].values.tolist() == ["keep", "sign"]
    assert r.attrs["best_strategy"] == "sign"
    for name in ("evpi", "evpi_se", "expected_net_benefit"):
        assert r[name].attrs["units"] == "EUR"


def test_evpi_is_zero_when_one_strategy_is_best_in_every_draw():
    nb = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 0.5]])
    r = evpi(nb)
    assert float(r["evpi"]) == 0.0 and float(r["evpi_se"]) == 0.0


@pytest.mark.parametrize("shape", [(1, 2), (2, 1), (4,), (2, 2, 2), (0, 2)])
def test_evpi_refuses_too_few_draws_or_strategies(shape):
    with pytest.raises(ValueError, match=r"voi\.nb: got .*draws >= 2, strategies >= 2"):
        evpi(np.zeros(shape))


def test_evpi_smallest_shape_is_accepted():
    assert float(evpi(np.zeros((2, 2)))["evpi"]) == 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_evpi_refuses_non_finite_net_benefits(bad):
    nb = np.zeros((3, 2))
    nb[1, 1] = bad
    with pytest.raises(ValueError, match=r"voi\.nb: got 'non-finite values'; allowed: finite"):
        evpi(nb)


# ---------------------------------------------------------------------------------- EVPPI
def discrete_case():
    """phi takes 4 values (below 5 distinct: the regression is the group means)."""
    phi = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0])
    sign = np.array([-3.0, -1.0, -1.0, 0.0, 1.0, 0.0, 2.0, 4.0])
    return np.stack([np.zeros(8), sign], axis=1), phi


def test_evppi_of_a_parameter_with_few_values_uses_the_group_means():
    nb, phi = discrete_case()
    # sign's mean 0.25 > 0: chosen. Loss of not signing = -sign; its group means by phi:
    # 2, 0.5, -0.5, -3 -> max(0, .) per draw 2, 2, 0.5, 0.5, 0, 0, 0, 0 -> mean 0.625
    r = evppi(nb, phi)
    per_draw = np.array([2, 2, 0.5, 0.5, 0, 0, 0, 0])
    assert float(r["evppi"]) == pytest.approx(per_draw.mean(), abs=1e-14)
    assert float(r["evppi_se"]) == pytest.approx(per_draw.std(ddof=1) / math.sqrt(8), abs=1e-14)
    assert r["evppi"].attrs["description"].startswith(
        "Expected value of partial perfect information")
    assert "calc_evppi" in r["evppi"].attrs["description"]
    assert r["evppi_se"].attrs["description"] == (
        "Monte Carlo standard error of evppi (regression error left out)")
    # the order of the draws does not matter
    perm = np.array([7, 2, 5, 0, 3, 6, 1, 4])
    assert float(evppi(nb[perm], phi[perm])["evppi"]) == pytest.approx(0.625)


def test_evppi_units_come_from_the_dataarray():
    nb, phi = discrete_case()
    da = xr.DataArray(nb, dims=("draw", "strategy"), coords={"strategy": list(STRATEGIES)},
                      attrs={"units": "GBP"})
    r = evppi(da, xr.DataArray(phi, dims="draw"))
    assert r["evppi"].attrs["units"] == "GBP" and r["evppi_se"].attrs["units"] == "GBP"
    assert float(r["evppi"]) == pytest.approx(0.625)


def test_smooth_group_means_below_five_values_and_spline_from_five():
    x4 = np.repeat(np.arange(4.0), 3)
    y4 = np.arange(12.0) ** 2
    fit = voi._smooth(x4, y4)
    means = np.array([y4[3 * k:3 * k + 3].mean() for k in range(4)])
    np.testing.assert_allclose(fit, np.repeat(means, 3), rtol=0, atol=1e-12)
    # 5 distinct values and more: a cubic smoothing spline, which reproduces a line exactly
    for k in (5, 6, 40, voi.SPLINE_BINS, voi.SPLINE_BINS + 1, 1000):
        x = np.random.default_rng(k).permutation(np.linspace(-2.0, 3.0, k))
        y = 1e6 * (0.3 + 1.7 * x)
        np.testing.assert_allclose(voi._smooth(x, y), y, rtol=1e-6, atol=1e-3)


def test_smooth_of_five_values_is_not_the_group_means():
    # a curve through 5 distinct values: group means would reproduce y exactly, the
    # smoothing spline (GCV) smooths a kink
    x = np.arange(5.0)
    y = np.array([0.0, 0.0, 10.0, 0.0, 0.0])
    assert not np.allclose(voi._smooth(x, y), y)


def test_smooth_binning_above_the_bin_count_averages_equal_count_bins():
    # a step function over 1000 distinct values: the bin means are 0 or 1 away from the step,
    # and the spline through them keeps the overall level (mean 0.5)
    x = np.linspace(0.0, 1.0, 1000)
    y = (x > 0.5).astype(float)
    fit = voi._smooth(x, y)
    assert fit.shape == (1000,)
    assert abs(fit.mean() - 0.5) < 0.02
    assert fit[:100].mean() < 0.1 and fit[-100:].mean() > 0.9


def test_smooth_of_constant_values_is_constant():
    x = np.linspace(0, 1, 50)
    np.testing.assert_array_equal(voi._smooth(x, np.full(50, 7.0)), np.full(50, 7.0))
    # a parameter with no spread (one value): the overall mean
    np.testing.assert_allclose(voi._smooth(np.zeros(6), np.arange(6.0)), np.full(6, 2.5))


def test_additive_model_reproduces_a_sum_of_lines():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 2))
    y = 1.0 + 2.0 * x[:, 0] - 3.0 * x[:, 1]
    np.testing.assert_allclose(voi._additive(x, y), y, atol=2e-2)
    # one column: the smoothing spline itself
    np.testing.assert_array_equal(voi._additive(x[:, 0], y), voi._smooth(x[:, 0], y))


def test_fitted_losses_keep_each_mean_loss_and_the_chosen_strategy_is_zero():
    rng = np.random.default_rng(5)
    phi = rng.normal(size=500)
    nb = np.stack([np.zeros(500), 0.2 + phi + rng.normal(size=500),
                   -0.1 + phi ** 2], axis=1)
    fitted, best = voi._fitted_losses(nb, phi)
    loss = nb - nb[:, [best]]
    assert best == int(np.argmax(nb.mean(0)))
    np.testing.assert_allclose(fitted.mean(0), loss.mean(0), atol=1e-12)
    assert np.all(fitted[:, best] == 0.0)


def test_evppi_of_several_parameters_needs_the_name_phi_and_the_draws():
    nb, phi = discrete_case()
    two = np.stack([phi, phi[::-1]], axis=1)
    assert float(evppi(nb, two)["evppi"]) >= 0
    with pytest.raises(ValueError, match=r"voi\.phi: got \(8, 0\)"):
        evppi(nb, np.zeros((8, 0)))
    with pytest.raises(ValueError, match=r"voi\.phi: got \(7, 2\); allowed: one value per "
                                         r"draw, shape \(8,\)"):
        evppi(nb, np.zeros((7, 2)))
    with pytest.raises(ValueError, match=r"voi\.other: got \(8, 2\)"):
        voi._phi(two, 8, "other")
    assert voi._phi(phi, 8, "other").shape == (8,)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_evppi_refuses_a_non_finite_parameter(bad):
    nb, phi = discrete_case()
    phi = phi.copy()
    phi[3] = bad
    with pytest.raises(ValueError, match=r"voi\.phi: got 'non-finite values'; allowed: a finite"):
        evppi(nb, phi)


# ---------------------------------------------------------------------------------- EVSI
def test_evsi_by_hand_shrinks_the_fitted_losses_by_the_study_weight():
    nb, phi = discrete_case()
    # fitted losses of not signing (group means): 2, 2, .5, .5, -.5, -.5, -3, -3; mean -0.25
    fitted = np.array([2, 2, 0.5, 0.5, -0.5, -0.5, -3, -3])
    c = fitted.mean()
    sizes = [0.0, 1.0, 3.0, 1e12]
    r = evsi(nb, phi, sizes, n0=1.0)
    for k, n in enumerate(sizes):
        w = math.sqrt(n / (n + 1.0))
        per = np.maximum(0.0, c + w * (fitted - c))
        assert float(r["evsi"][k]) == pytest.approx(per.mean(), abs=1e-12), n
        assert float(r["evsi_se"][k]) == pytest.approx(
            per.std(ddof=1) / math.sqrt(8), abs=1e-12), n
    assert r["pilot_size"].values.tolist() == sizes
    assert r["evsi"].dims == ("pilot_size",) and r.attrs == {"n0": 1.0}
    assert float(r["evsi"][-1]) == pytest.approx(float(evppi(nb, phi)["evppi"]), abs=1e-6)
    assert r["evsi"].attrs["description"].startswith("Expected value of sample information")
    assert "calc_evsi" in r["evsi"].attrs["description"]
    assert r["evsi_se"].attrs["description"] == (
        "Monte Carlo standard error of evsi (regression error left out)")
    da = xr.DataArray(nb, dims=("draw", "strategy"), attrs={"units": "EUR"},
                      coords={"strategy": list(STRATEGIES)})
    r2 = evsi(da, phi, 3.0, n0=1.0)
    assert r2["evsi"].attrs["units"] == "EUR" and r2["evsi_se"].attrs["units"] == "EUR"
    assert float(r2["evsi"][0]) == pytest.approx(float(r["evsi"][2]))


@pytest.mark.parametrize(("n", "n0", "match"), [
    ([-1e-9], 1.0, r"evsi\.n: got"), ([math.nan], 1.0, r"evsi\.n: got"),
    ([math.inf], 1.0, r"evsi\.n: got"), ([[1.0, 2.0]], 1.0, r"evsi\.n: got"),
    ([5.0, 5.0], 1.0, r"evsi\.n"), ([1.0], 0.0, r"evsi\.n0: got 0\.0"),
    ([1.0], -1.0, r"evsi\.n0"), ([1.0], math.inf, r"evsi\.n0"), ([1.0], math.nan, r"evsi\.n0"),
])
def test_evsi_refuses_bad_sizes(n, n0, match):
    nb, phi = discrete_case()
    with pytest.raises(ValueError, match=match):
        evsi(nb, phi, n, n0)


def test_evsi_accepts_the_edges_of_its_ranges():
    nb, phi = discrete_case()
    r = evsi(nb, phi, [0.0], n0=5e-324)
    assert float(r["evsi"][0]) == 0.0
    assert r.attrs["n0"] == 5e-324


# ------------------------------------------------------------------------ normal closed form
@pytest.mark.parametrize(("mean", "sd"), [(1.0, 1.0), (-0.5, 2.0), (3.0, 0.5), (0.0, 4.0)])
def test_normal_voi_is_the_normal_unit_loss(mean, sd):
    z = mean / sd
    by_hand = mean * stats.norm.cdf(z) + sd * stats.norm.pdf(z) - max(0.0, mean)
    assert normal_voi(mean, sd) == pytest.approx(by_hand, rel=1e-12)
    # E[max(0, X)] - max(0, E X) by quadrature
    x = np.linspace(mean - 12 * sd, mean + 12 * sd, 400_001)
    dens = stats.norm.pdf(x, mean, sd)
    assert normal_voi(mean, sd) == pytest.approx(
        np.trapezoid(np.maximum(x, 0.0) * dens, x) - max(0.0, mean), abs=1e-7)


def test_normal_voi_of_no_uncertainty_is_zero():
    assert normal_voi(1.0, 0.0) == 0.0 and normal_voi(-1.0, -1.0) == 0.0
    assert normal_voi(0.0, 5e-324) >= 0.0
    assert normal_voi(1.0, 1.0) == pytest.approx(0.0833154705876864, rel=1e-12)


# ------------------------------------------------------------------------------ pilot sizes
@pytest.mark.parametrize("sizes", [[1], [1e9], (1, 2.0, np.int64(3), np.float64(4.0)), 7])
def test_pilot_sizes_accepted(sizes):
    out = voi._pilot_sizes(sizes)
    assert out == [float(x) for x in np.atleast_1d(sizes)]
    assert all(type(x) is float for x in out)


@pytest.mark.parametrize("sizes", [[], [0], [0.999], [1.5], [1e9 + 1], [True], ["10"], [None],
                                   [math.inf], [math.nan], [10, 10], [5, True], [5, "7"]])
def test_pilot_sizes_refused(sizes):
    # each item keeps its own type (a True among numbers is not read as 1)
    with pytest.raises(ValueError, match=r"^value_of_information\.pilot_sizes: got .*; allowed: "
                                         r"(whole numbers of participants in \[1, 1e9\]|one or "
                                         r"more pilot sizes|unique pilot sizes)"):
        voi._pilot_sizes(sizes)


def test_pilot_sizes_messages():
    with pytest.raises(ValueError, match=r"pilot_sizes: got \[\]; allowed: one or more pilot "
                                         r"sizes$"):
        voi._pilot_sizes([])
    with pytest.raises(ValueError, match=r"pilot_sizes: got 0\.5; allowed: whole numbers of "
                                         r"participants in \[1, 1e9\]$"):
        voi._pilot_sizes([0.5])


# ------------------------------------------------------------------------------ a real deal
@pytest.fixture(scope="module")
def koto():
    return sibsim.load_scenario("koto-sib")


def test_commissioner_net_benefit_is_the_npv_of_net_savings(koto):
    nb, params = commissioner_net_benefit(koto, draws=6, seed=3)
    res = sibsim.analyse(koto, draws=6, seed=3)
    assert nb.dims == ("draw", "strategy") and nb["strategy"].values.tolist() == list(STRATEGIES)
    np.testing.assert_array_equal(nb.sel(strategy="do_not_sign").values, np.zeros(6))
    np.testing.assert_allclose(nb.sel(strategy="sign").values,
                               res.municipality["npv_net_savings"].values, rtol=1e-12)
    np.testing.assert_array_equal(nb["draw"].values, res.outcomes["draw"].values)
    assert nb.attrs["units"] == koto.currency == "EUR"
    assert nb.attrs["description"] == ("Commissioner's net benefit of each strategy: 0 for not "
                                       "signing; NPV of net cashable savings for signing")
    assert list(params.data_vars) == ["parameter_value"]
    np.testing.assert_array_equal(params["parameter_value"].values,
                                  res.outcomes["parameter_value"].values)
    pub, _ = commissioner_net_benefit(koto, draws=6, seed=3, value="public")
    np.testing.assert_allclose(pub.sel(strategy="sign").values,
                               res.municipality["npv_net_public_value"].values, rtol=1e-12)
    assert pub.attrs["description"].endswith(
        "NPV of net savings plus wider public value for signing")


def test_commissioner_net_benefit_refuses_bad_arguments(koto):
    with pytest.raises(ValueError, match=r"commissioner_net_benefit\.deal: got 'Scenario'; "
                                         r"allowed: a Deal with evaluations, a contract and a "
                                         r"capital structure$"):
        commissioner_net_benefit(koto.scenario, draws=4)
    with pytest.raises(ValueError, match=r"commissioner_net_benefit\.value: got 'Public'; "
                                         r"allowed: 'savings' or 'public'$"):
        commissioner_net_benefit(koto, draws=4, value="Public")
    with pytest.raises(ValueError, match=r"draws: got 1"):
        commissioner_net_benefit(koto, draws=1)
    nb, _ = commissioner_net_benefit(koto, draws=2, seed=0)
    assert nb.sizes["draw"] == 2


def test_pilot_information_by_its_definition(koto):
    from dataclasses import replace

    from sibsim.analysis.power import evaluation_power

    info = pilot_information(koto)
    eff = koto.scenario.effect
    mu = float(eff.value.mean)
    h = max(abs(mu), 1.0) * 1e-3
    ev = koto.evaluations[0]
    one = koto.replace(evaluations=(replace(ev, per_wave=False, pooled=True, per_period=False),
                                    *koto.evaluations[1:]))

    def at(theta):
        pw = evaluation_power(one.with_scenario(effect=replace(eff, value=theta)))
        k = int(np.flatnonzero(pw["trigger_metric"].values == ev.metric)[-1])
        return pw.isel(trigger=k)

    slope = (float(at(mu + h)["expected_effect"]) - float(at(mu - h)["expected_effect"])) / (2 * h)
    mid = at(mu)
    assert info["slope"] == pytest.approx(slope, rel=1e-12)
    assert info["sigma1"] == pytest.approx(
        float(mid["effect_sd"]) * math.sqrt(float(mid["trigger_participants"])) / abs(slope),
        rel=1e-12)
    assert info["comparison_ratio"] == (koto.scenario.comparison.ratio
                                        if koto.scenario.comparison is not None
                                        and koto.scenario.comparison.ratio is not None else 1.0)
    # a larger comparison group per participant makes each participant more informative
    more = pilot_information(koto, comparison_ratio=4.0)
    assert more["comparison_ratio"] == 4.0 and more["sigma1"] < info["sigma1"]
    assert more["slope"] == pytest.approx(info["slope"], rel=1e-6)


@pytest.mark.parametrize("ratio", [0.0, -1.0, math.nan])
def test_pilot_information_refuses_a_ratio_not_above_zero(koto, ratio):
    with pytest.raises(ValueError, match=r"pilot_information\.comparison_ratio"):
        pilot_information(koto, comparison_ratio=ratio)


def test_pilot_information_refuses_a_scenario_without_an_effect(koto):
    deal = koto.with_scenario(effect=None)
    with pytest.raises(ValueError, match=r"pilot_information\.deal: got 'no effect'"):
        pilot_information(deal)


def test_value_of_information_of_a_small_run(koto):
    r = value_of_information(koto, draws=12, seed=2, pilot_sizes=(10, 1000),
                             parameters=("effect.value", ALL, "effect.engagement"))
    nb, params = commissioner_net_benefit(koto, draws=12, seed=2)
    e = evpi(nb)
    assert float(r["evpi"]) == float(e["evpi"]) and float(r["evpi_se"]) == float(e["evpi_se"])
    assert r.attrs["best_strategy"] == e.attrs["best_strategy"]
    assert r["parameter"].values.tolist() == ["effect.value", ALL, "effect.engagement"]
    theta = params["parameter_value"].sel(parameter="effect.value").values
    assert float(r["evppi"][0]) == pytest.approx(float(evppi(nb, theta)["evppi"]), rel=1e-12)
    assert float(r["evppi_se"][0]) == pytest.approx(float(evppi(nb, theta)["evppi_se"]),
                                                    rel=1e-12)
    values = params["parameter_value"].transpose("draw", "parameter").values
    varied = values[:, np.ptp(values, axis=0) > 0]
    assert varied.shape[1] < values.shape[1] or varied.shape[1] >= 1
    assert float(r["evppi"][1]) == pytest.approx(float(evppi(nb, varied)["evppi"]), rel=1e-9)
    eng = params["parameter_value"].sel(parameter="effect.engagement").values
    assert float(r["evppi"][2]) == pytest.approx(float(evppi(nb, eng)["evppi"]), rel=1e-12)
    for name in ("evppi", "evppi_se", "evsi", "evsi_se"):
        assert r[name].attrs["units"] == "EUR", name
    assert r["evppi_se"].attrs["description"] == "Monte Carlo standard error of evppi"
    assert r["evppi"].attrs["description"].startswith("Expected value of partial perfect")
    info = pilot_information(koto)
    n0 = info["sigma1"] ** 2 / float(np.var(theta, ddof=1))
    assert r.attrs["n0"] == pytest.approx(n0, rel=1e-12)
    assert r.attrs["sigma1"] == pytest.approx(info["sigma1"], rel=1e-12)
    ev_s = evsi(nb, theta, [10.0, 1000.0], n0)
    np.testing.assert_allclose(r["evsi"].values, ev_s["evsi"].values, rtol=1e-12)
    np.testing.assert_allclose(r["evsi_se"].values, ev_s["evsi_se"].values, rtol=1e-12)
    assert r["pilot_size"].values.tolist() == [10.0, 1000.0]
    assert {k: r.attrs[k] for k in ("pilot_comparison_ratio", "value", "currency", "draws",
                                    "seed")} == {
        "pilot_comparison_ratio": info["comparison_ratio"], "value": "savings",
        "currency": "EUR", "draws": 12, "seed": 2}
    assert r.attrs["reference"] == ("dampack (DARTH-git/dampack): calc_evpi, calc_evppi, "
                                    "calc_evsi")


def test_value_of_information_default_parameters_and_value(koto):
    r = value_of_information(koto, draws=8, seed=1, pilot_sizes=(100,), value="public")
    assert r["parameter"].values.tolist() == ["effect.value", ALL]
    assert r.attrs["value"] == "public"
    nb, _ = commissioner_net_benefit(koto, draws=8, seed=1, value="public")
    assert float(r["evpi"]) == float(evpi(nb)["evpi"])


def test_value_of_information_refuses_before_the_run(koto, monkeypatch):
    def no_run(*a, **k):
        raise AssertionError("ran")

    monkeypatch.setattr(voi, "commissioner_net_benefit", no_run)
    with pytest.raises(ValueError, match=r"value_of_information\.pilot_sizes"):
        value_of_information(koto, draws=8, pilot_sizes=(0,))


def test_value_of_information_names_the_sampled_parameters_when_refusing(koto):
    with pytest.raises(ValueError, match=r"value_of_information\.parameters: got 'nope'; "
                                         r"allowed: 'all parameters' or sampled parameters of "
                                         r"the scenario: .*effect\.value"):
        value_of_information(koto, draws=4, seed=1, parameters=("nope",))


def test_value_of_information_refuses_a_fixed_effect(koto):
    from dataclasses import replace

    eff = koto.scenario.effect
    deal = koto.with_scenario(effect=replace(eff, value=float(eff.value.mean)))
    with pytest.raises(ValueError, match=r"value_of_information\.deal: got 'a fixed effect'"):
        value_of_information(deal, draws=6, seed=1, pilot_sizes=(10,),
                             parameters=("effect.engagement",))


# ------------------------------------------------------------------------ text and figure
def small_result():
    return xr.Dataset(
        {"evpi": 1234.4, "evpi_se": 56.7,
         "expected_net_benefit": ("strategy", [0.0, 2500.6]),
         "evppi": ("parameter", [1000.2, 1100.0]), "evppi_se": ("parameter", [10.0, 20.4]),
         "evsi": ("pilot_size", [100.0, 900.0]), "evsi_se": ("pilot_size", [5.0, 50.0])},
        coords={"strategy": list(STRATEGIES), "parameter": ["effect.value", ALL],
                "pilot_size": [50.0, 5000.0]},
        attrs={"best_strategy": "do_not_sign", "currency": "EUR", "value": "savings",
               "draws": 300, "seed": 7, "n0": 1234.5, "pilot_comparison_ratio": 2.5})


def test_format_voi_every_line():
    lines = format_voi(small_result()).splitlines()
    assert lines == [
        "Value of information of the decision to sign (savings value; 300 draws, seed 7; "
        "after dampack's calc_evpi/calc_evppi/calc_evsi)",
        "Decision on expectations: do not sign (expected net benefit of signing 2,501 EUR)",
        "EVPI (perfect information on everything, the cohort's own chance included): "
        "1,234 EUR (MC s.e. 57)",
        "EVPPI of effect.value: 1,000 EUR (MC s.e. 10)",
        "EVPPI of all parameters: 1,100 EUR (MC s.e. 20)",
        "EVSI of a pilot (n0 = 1,234 people of prior information; comparison 2.5:1):",
        "        50 participants: 100 EUR",
        "     5,000 participants: 900 EUR",
        "A study is worth running before signing only if it costs less than its EVSI (and the "
        "delay costs nothing).",
    ]


def test_format_voi_without_partial_or_sample_values():
    r = small_result().drop_vars(["evppi", "evppi_se", "evsi", "evsi_se", "parameter",
                                  "pilot_size"])
    r.attrs = {"best_strategy": "sign"}
    lines = format_voi(r).splitlines()
    assert lines[0] == ("Value of information of the decision to sign ( value; ? draws, seed ?; "
                        "after dampack's calc_evpi/calc_evppi/calc_evsi)")
    assert lines[1] == "Decision on expectations: sign (expected net benefit of signing 2,501 )"
    assert len(lines) == 4 and not any(x.startswith(("EVPPI", "EVSI")) for x in lines)


def test_plot_voi_lines_labels_and_scales():
    r = small_result()
    fig, ax = plt.subplots()
    assert plot_voi(r, ax=ax) is ax
    line = ax.get_lines()[0]
    assert line.get_label() == "EVSI of a pilot" and line.get_marker() == "o"
    np.testing.assert_array_equal(line.get_xdata(), [50.0, 5000.0])
    np.testing.assert_array_equal(line.get_ydata(), [100.0, 900.0])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(90.0) and band[:, 1].max() == pytest.approx(1000.0)
    levels = {ln.get_label(): (ln.get_ydata()[0], ln.get_color(), ln.get_linestyle())
              for ln in ax.get_lines()[1:]}
    assert levels == {
        "EVPI (everything, the cohort's chance included)": (1234.4, "k", "--"),
        "EVPPI (all parameters)": (1100.0, "tab:purple", "--"),
        "EVPPI (true effect)": (1000.2, "tab:red", "--")}
    assert ax.get_xscale() == "log" and ax.get_ylim()[0] == 0
    assert ax.get_xlabel() == "Pilot participants" and ax.get_ylabel() == "Expected value (EUR)"
    assert ax.get_title() == "Value of information of the decision to sign"
    assert next(t.get_text() for t in ax.get_legend().get_texts()) == "EVSI of a pilot"
    assert ax.yaxis.get_major_formatter()(1234567.0, 0) == "1,234,567"
    plt.close(fig)
    # no EVPPI: only EVPI as a level; a new figure when no axes are given
    ax2 = plot_voi(r.drop_vars(["evppi", "evppi_se", "parameter"]))
    assert [ln.get_label() for ln in ax2.get_lines()] == [
        "EVSI of a pilot", "EVPI (everything, the cohort's chance included)"]
    assert tuple(ax2.figure.get_size_inches()) == (7.0, 4.5)
    plt.close(ax2.figure)


def test_additive_model_backfits_until_a_sweep_moves_little(monkeypatch):
    """Correlated parameters need several backfitting sweeps: the fit converges to the sum of
    lines and stops before the tenth sweep (two spline fits a sweep)."""
    rng = np.random.default_rng(4)
    a = rng.normal(size=300)
    x = np.stack([a, 0.5 * a + rng.normal(size=300)], axis=1)
    y = 1.0 + 2.0 * x[:, 0] - 3.0 * x[:, 1]
    calls = []
    smooth = voi._smooth
    monkeypatch.setattr(voi, "_smooth", lambda u, w: calls.append(1) or smooth(u, w))
    fit = voi._additive(x, y)
    assert np.abs(fit - y).max() < 0.01
    assert 4 < len(calls) < 2 * voi.BACKFIT_SWEEPS and len(calls) % 2 == 0
    # constant losses: the constant, at once
    calls.clear()
    np.testing.assert_allclose(voi._additive(x, np.full(300, 3.0)), 3.0)
    assert len(calls) == 2


def test_smooth_falls_back_to_straight_lines_between_bin_means(monkeypatch):
    def fails(*a, **k):
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(voi, "make_smoothing_spline", fails)
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 4.0])
    y = np.array([0.0, 2.0, 0.0, 2.0, 1.0, 3.0])
    # five distinct values: the means 0, 2, 0, 2, 2 joined by straight lines, at x
    np.testing.assert_allclose(voi._smooth(x, y), [0.0, 2.0, 0.0, 2.0, 2.0, 2.0])

    def refuses(*a, **k):
        raise ValueError("x must be increasing")

    monkeypatch.setattr(voi, "make_smoothing_spline", refuses)
    np.testing.assert_allclose(voi._smooth(x, y), [0.0, 2.0, 0.0, 2.0, 2.0, 2.0])
