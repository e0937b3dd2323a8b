"""Edges of value of information (sibsim.analysis.voi) that the mutation samples found untested:
every refusal's full message (the field, the value and what is allowed, not only the field);
the dimensions of every output variable; the regression weighting each distinct parameter value
by its number of draws; a deal whose measured effect does not move with the true effect; and
the figure's legend and title sizes."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.analysis import power, voi
from sibsim.analysis.voi import evpi, evppi, evsi, pilot_information, plot_voi


def _case():
    """Eight draws of a parameter with four values; signing pays -3..4 (mean 0.25)."""
    phi = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0])
    sign = np.array([-3.0, -1.0, -1.0, 0.0, 1.0, 0.0, 2.0, 4.0])
    return np.stack([np.zeros(8), sign], axis=1), phi


def _message(call) -> str:
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


# ------------------------------------------------------------------------------ messages
def test_every_refusal_of_the_array_functions_says_what_is_allowed():
    nb, phi = _case()
    bad_nb = nb.copy()
    bad_nb[0, 1] = math.inf
    bad_phi = phi.copy()
    bad_phi[2] = math.nan
    cases = [
        (lambda: evpi(np.zeros((5, 1))),
         "voi.nb: got (5, 1); allowed: net benefits of shape (draws >= 2, strategies >= 2)"),
        (lambda: evpi(bad_nb),
         "voi.nb: got 'non-finite values'; allowed: finite net benefits in every draw"),
        (lambda: evppi(nb, phi[:7]),
         "voi.phi: got (7,); allowed: one value per draw, shape (8,)"),
        (lambda: evppi(nb, bad_phi),
         "voi.phi: got 'non-finite values'; allowed: a finite value in every draw"),
        (lambda: evsi(nb, phi, [-1.0], 1.0), "evsi.n: got [-1.0]; allowed: study sizes >= 0"),
        (lambda: evsi(nb, phi, [math.nan], 1.0), "evsi.n: got [nan]; allowed: study sizes >= 0"),
        (lambda: evsi(nb, phi, [[1.0, 2.0]], 1.0),
         "evsi.n: got [[1.0, 2.0]]; allowed: study sizes >= 0"),
        (lambda: evsi(nb, phi, [5.0, 5.0], 1.0),
         "evsi.n: got [5.0, 5.0]; allowed: unique study sizes (repeated: 5.0)"),
        (lambda: evsi(nb, phi, [1.0], 0.0),
         "evsi.n0: got 0.0; allowed: an effective prior sample size > 0"),
        (lambda: evsi(nb, phi, [1.0], math.inf),
         "evsi.n0: got inf; allowed: an effective prior sample size > 0"),
    ]
    for call, message in cases:
        assert _message(call) == message


@pytest.fixture(scope="module")
def koto():
    return sibsim.load_scenario("koto-sib")


def test_every_refusal_about_a_deal_says_what_is_allowed(koto):
    names = ", ".join(sibsim.simulate(koto.scenario, draws=2, seed=0, progress=False)
                      ["parameter"].values.tolist())
    cases = [
        (lambda: pilot_information(koto, comparison_ratio=0.0),
         "pilot_information.comparison_ratio: got 0.0; allowed: a ratio > 0"),
        (lambda: pilot_information(koto.with_scenario(effect=None)),
         "pilot_information.deal: got 'no effect'; allowed: a scenario with an effect"),
        (lambda: voi.value_of_information(koto, draws=4, seed=1, parameters=("nope",)),
         "value_of_information.parameters: got 'nope'; allowed: 'all parameters' or sampled "
         f"parameters of the scenario: {names}"),
    ]
    for call, message in cases:
        assert _message(call) == message


@pytest.mark.parametrize(("variable", "value"), [
    ("expected_effect", 0.1),      # the measured effect does not move with the true effect
    ("effect_sd", 0.0),            # a measured effect without noise
    ("effect_sd", math.nan),       # or with no standard deviation at all
    ("expected_effect", math.inf),
])
def test_a_measured_effect_that_carries_no_information_is_refused(koto, monkeypatch, variable,
                                                                  value):
    """An evaluation whose measured effect is the same whatever the true effect, or has no
    finite positive noise, gives no information per participant: no pilot can be valued."""
    real = power.evaluation_power

    def changed(deal, *args, **kwargs):
        pw = real(deal, *args, **kwargs)
        return pw.assign({variable: pw[variable] * 0.0 + value})

    monkeypatch.setattr(power, "evaluation_power", changed)
    assert _message(lambda: pilot_information(koto)) == (
        "pilot_information.deal: got 'a measured effect that does not move with the true "
        "effect'; allowed: an evaluation whose measured effect depends on the effect")


# ------------------------------------------------------------------------------ dimensions
def test_every_output_variable_has_its_dimensions():
    nb, phi = _case()
    e = evpi(nb)
    assert {k: e[k].dims for k in e.data_vars} == {
        "evpi": (), "evpi_se": (), "expected_net_benefit": ("strategy",)}
    p = evppi(nb, phi)
    assert {k: p[k].dims for k in p.data_vars} == {"evppi": (), "evppi_se": ()}
    s = evsi(nb, phi, [0.0, 10.0, 100.0], 5.0)
    assert {k: s[k].dims for k in s.data_vars} == {"evsi": ("pilot_size",),
                                                   "evsi_se": ("pilot_size",)}
    assert s["pilot_size"].values.tolist() == [0.0, 10.0, 100.0]
    # the standard errors are those of each pilot size, in its order
    for k, n in enumerate([0.0, 10.0, 100.0]):
        one = evsi(nb, phi, [n], 5.0)
        assert float(s["evsi_se"][k]) == float(one["evsi_se"][0])
        assert float(s["evsi"][k]) == float(one["evsi"][0])


def test_every_output_variable_has_its_description():
    nb, phi = _case()
    e, p, s = evpi(nb), evppi(nb, phi), evsi(nb, phi, [1.0], 5.0)
    assert {k: x[k].attrs["description"] for x in (e, p, s) for k in x.data_vars} == {
        "evpi": "Expected value of perfect information: E[max_s NB] - max_s E[NB] (dampack "
                "calc_evpi)",
        "evpi_se": "Monte Carlo standard error of evpi",
        "expected_net_benefit": "Mean net benefit of each strategy over the draws",
        "evppi": "Expected value of partial perfect information on the parameter (dampack "
                 "calc_evppi, spline regression)",
        "evppi_se": "Monte Carlo standard error of evppi (regression error left out)",
        "evsi": "Expected value of sample information of a study of pilot_size people "
                "(dampack calc_evsi, Gaussian approximation)",
        "evsi_se": "Monte Carlo standard error of evsi (regression error left out)"}


def test_value_of_information_defaults(koto):
    """Seed 0, the NPV of net cashable savings, pilots of 50 to 1,000 participants, the true
    effect and all parameters together."""
    r = voi.value_of_information(koto, draws=8)
    assert r.attrs["seed"] == 0 and r.attrs["value"] == "savings"
    assert r["pilot_size"].values.tolist() == [50.0, 100.0, 200.0, 500.0, 1000.0]
    assert r["parameter"].values.tolist() == ["effect.value", voi.ALL]
    nb, _ = voi.commissioner_net_benefit(koto, draws=8, seed=0)
    assert float(r["evpi"]) == float(evpi(nb)["evpi"])
    assert r["evpi"].attrs["units"] == "EUR"
    default, _ = voi.commissioner_net_benefit(koto, draws=8)
    np.testing.assert_array_equal(default.values, nb.values)


def test_value_of_information_of_the_public_value():
    """Peterborough values the wider public gain of each avoided reconviction: with
    value="public" the decision, and so every output, is about savings plus that value."""
    pb = sibsim.load_scenario("peterborough")
    pub = voi.value_of_information(pb, draws=8, value="public", pilot_sizes=(10,))
    nb_pub, _ = voi.commissioner_net_benefit(pb, draws=8, seed=0, value="public")
    nb, _ = voi.commissioner_net_benefit(pb, draws=8, seed=0)
    assert not np.allclose(nb_pub.values, nb.values)  # the two values differ here
    np.testing.assert_allclose(pub["expected_net_benefit"].values, nb_pub.mean("draw").values,
                               rtol=1e-12)
    assert float(pub["evpi"]) == float(evpi(nb_pub)["evpi"])
    assert pub.attrs["value"] == "public"


def test_value_of_information_dimensions(koto):
    r = voi.value_of_information(koto, draws=10, seed=3, pilot_sizes=(20, 200))
    assert {k: r[k].dims for k in r.data_vars} == {
        "evpi": (), "evpi_se": (), "expected_net_benefit": ("strategy",),
        "evppi": ("parameter",), "evppi_se": ("parameter",),
        "evsi": ("pilot_size",), "evsi_se": ("pilot_size",)}
    assert r["strategy"].values.tolist() == list(voi.STRATEGIES)


# ------------------------------------------------------------------------------ regression
def test_the_regression_weights_each_value_by_its_draws():
    """A parameter whose 20 distinct values have 2 to 40 draws each: the spline through the
    values' mean losses is weighted by those counts, so, as a least-squares fit with an
    intercept and a slope on the draws themselves, its residuals over the draws have mean 0
    and no correlation with the parameter (the penalty leaves straight lines free)."""
    rng = np.random.default_rng(1)
    x = np.repeat(np.arange(20.0), np.arange(1, 21) * 2)
    y = np.sin(x / 3.0) + rng.normal(0.0, 1.0, x.size)
    perm = rng.permutation(x.size)
    x, y = x[perm], y[perm]
    fit = voi._smooth(x, y)
    resid = fit - y
    assert abs(resid.mean()) < 1e-9
    assert abs((resid * (x - x.mean())).mean()) < 1e-9
    # and it smooths: not the values' means themselves
    means = np.array([y[x == u].mean() for u in np.unique(x)])
    assert np.abs(np.unique(fit) - means).max() > 0.05


def test_above_the_bin_count_the_spline_is_fitted_to_equal_count_bins(monkeypatch):
    """1,000 draws of 1,000 distinct values: the spline is fitted to SPLINE_BINS bins of 10
    consecutive draws each (at their mean value, weighted by their 10 draws)."""
    seen = []
    real = voi.make_smoothing_spline

    def spy(x, y, w=None, **kwargs):
        seen.append((np.asarray(x), np.asarray(y), np.asarray(w)))
        return real(x, y, w=w, **kwargs)

    monkeypatch.setattr(voi, "make_smoothing_spline", spy)
    rng = np.random.default_rng(3)
    x = rng.permutation(np.linspace(-1.0, 2.0, 1000))
    y = x ** 2 + rng.normal(0.0, 0.3, 1000)
    voi._smooth(x, y)
    (bx, by, w), = seen
    order = np.argsort(x)
    bins_x = x[order].reshape(voi.SPLINE_BINS, -1).mean(1)
    bins_y = y[order].reshape(voi.SPLINE_BINS, -1).mean(1)
    assert w.tolist() == [10.0] * voi.SPLINE_BINS
    # on the standard scale of the bins' means
    np.testing.assert_allclose(bx, (bins_x - bins_x.mean()) / bins_x.std(), atol=1e-12)
    np.testing.assert_allclose(by, (bins_y - bins_y.mean()) / bins_y.std(), atol=1e-12)


def test_up_to_the_bin_count_each_distinct_value_is_its_own_group():
    """SPLINE_BINS distinct values with unequal counts are fitted value by value (weighted by
    their draws: the residuals' moments vanish as above); one more value and the draws are
    averaged in equal-count bins first (the moments then only nearly vanish)."""
    rng = np.random.default_rng(2)
    for k, exact in ((voi.SPLINE_BINS, True), (voi.SPLINE_BINS + 1, False)):
        x = np.repeat(np.linspace(0.0, 5.0, k), 1 + np.arange(k) % 7)
        y = np.sin(2.0 * x) + rng.normal(0.0, 1.0, x.size)
        resid = voi._smooth(x, y) - y
        moments = abs(resid.mean()) + abs((resid * (x - x.mean())).mean())
        assert (moments < 1e-9) == exact, (k, moments)


# ------------------------------------------------------------------------------ figure
def test_plot_voi_legend_and_title_are_small():
    r = xr.Dataset({"evpi": 10.0, "evpi_se": 1.0, "evsi": ("pilot_size", [1.0, 4.0]),
                    "evsi_se": ("pilot_size", [0.5, 0.5])},
                   coords={"pilot_size": [10.0, 100.0]}, attrs={"currency": "EUR"})
    fig, ax = plt.subplots()
    with matplotlib.rc_context({"font.size": 14.0}):  # whatever the style's base size
        plot_voi(r, ax=ax)
    assert {t.get_fontsize() for t in ax.get_legend().get_texts()} == {8.0}
    band = ax.collections[0]  # two standard errors, shaded without an outline
    assert band.get_alpha() == 0.15 and list(band.get_linewidths()) == [0.0]
    assert {ln.get_linewidth() for ln in ax.get_lines()[1:]} == {1.0}
    grid = ax.xaxis.get_gridlines() + ax.yaxis.get_gridlines()
    assert grid and all(g.get_visible() and g.get_alpha() == 0.3 for g in grid)
    assert ax.title.get_fontsize() == 10.0
    assert ax.get_ylim()[0] == 0.0
    plt.close(fig)


def test_net_benefits_without_units_have_none():
    nb, _ = _case()
    da = xr.DataArray(nb, dims=("draw", "strategy"),
                      coords={"strategy": list(voi.STRATEGIES)})
    r = evpi(da)
    assert r["evpi"].attrs["units"] == "" and r["expected_net_benefit"].attrs["units"] == ""
    assert r["strategy"].values.tolist() == list(voi.STRATEGIES)
    assert r.attrs["best_strategy"] == "sign"


def test_value_of_information_refuses_draws_that_cannot_fit_before_simulating(koto, monkeypatch):
    from sibsim import resources
    from sibsim.dataset import build

    real = build.simulate

    def small(scenario, draws=1000, *args, **kwargs):
        assert draws <= resources.PILOT_DRAWS, f"simulated {draws} draws before refusing"
        return real(scenario, draws, *args, **kwargs)

    monkeypatch.setattr(build, "simulate", small)
    monkeypatch.setattr(resources, "available_memory", lambda: 10**6)
    with pytest.raises(resources.RunTooLargeError):
        voi.value_of_information(koto, draws=resources.CHECK_DRAWS_FROM, pilot_sizes=(10,))
