"""Value of information (sibsim.analysis.voi) against closed forms (normal loss function) and
its orderings: EVPI >= EVPPI >= EVSI >= 0, EVSI increasing in the pilot's size."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.analysis.voi import (
    ALL,
    evpi,
    evppi,
    evsi,
    normal_voi,
    pilot_information,
    value_of_information,
)

Z = 4.0  # tolerance in Monte Carlo standard errors


def linear_case(D: int, seed: int, a: float = 0.2, b: float = 1.5, mu: float = 0.0,
                sigma: float = 1.0, noise: float = 1.0):
    """NB(sign) = a + b theta + eps, theta ~ N(mu, sigma^2), eps ~ N(0, noise^2); NB(not) = 0."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(mu, sigma, D)
    nb = np.stack([np.zeros(D), a + b * theta + rng.normal(0.0, noise, D)], axis=1)
    return nb, theta, a + b * mu, abs(b) * sigma, noise


def test_normal_voi_closed_form_by_hand():
    # E[max(0, X)], X ~ N(0, 1): 1 / sqrt(2 pi); a sure thing has no value of information
    assert normal_voi(0.0, 1.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert normal_voi(5.0, 0.0) == 0.0
    # against numerical integration
    x = np.linspace(-12, 12, 200_001)
    dens = np.exp(-0.5 * ((x - 0.7) / 1.3) ** 2) / (1.3 * math.sqrt(2 * math.pi))
    assert normal_voi(0.7, 1.3) == pytest.approx(
        np.trapezoid(np.maximum(x, 0) * dens, x) - 0.7, abs=1e-6)


def test_evpi_matches_the_normal_loss_function():
    nb, _, m, s, noise = linear_case(20_000, 1)
    r = evpi(nb)
    exact = normal_voi(m, math.hypot(s, noise))
    assert abs(float(r["evpi"]) - exact) <= Z * float(r["evpi_se"])
    assert r.attrs["best_strategy"] == "strategy 1"  # a = 0.2 > 0: sign on expectations


def test_evpi_is_dampacks_smallest_mean_loss():
    # dampack calc_evpi: min over strategies of the mean loss max_s NB - NB(d)
    nb, *_ = linear_case(500, 2, a=-0.3)
    loss = nb.max(1, keepdims=True) - nb
    assert float(evpi(nb)["evpi"]) == pytest.approx(loss.mean(0).min())


@pytest.mark.parametrize("a", [0.2, -0.5])
def test_evppi_of_a_linear_normal_parameter_matches_the_closed_form(a):
    nb, theta, m, s, _ = linear_case(4000, 3, a=a)
    r = evppi(nb, theta)
    exact = normal_voi(m, s)
    # the regression adds an error the MC standard error leaves out: allow 2% of EVPI too
    tol = Z * float(r["evppi_se"]) + 0.02 * float(evpi(nb)["evpi"])
    assert abs(float(r["evppi"]) - exact) <= tol, (float(r["evppi"]), exact)


def test_evsi_matches_the_normal_normal_conjugate_closed_form():
    # theta ~ N(0, 1); a study of n people with sd sigma1 per person: the preposterior mean is
    # N(mu, sigma^2 n / (n + n0)), n0 = sigma1^2 / sigma^2, and the NB is linear in it
    nb, theta, m, s, _ = linear_case(4000, 4)
    n0 = 200.0
    sizes = [0.0, 20.0, 200.0, 2000.0]
    r = evsi(nb, theta, sizes, n0)
    for k, n in enumerate(sizes):
        exact = normal_voi(m, s * math.sqrt(n / (n + n0)))
        tol = Z * float(r["evsi_se"][k]) + 0.02 * normal_voi(m, s)
        assert abs(float(r["evsi"][k]) - exact) <= tol, (n, float(r["evsi"][k]), exact)
    assert float(r["evsi"][0]) == pytest.approx(0.0, abs=1e-9)


def test_orderings_evpi_evppi_evsi():
    nb, theta, *_ = linear_case(3000, 5)
    total = float(evpi(nb)["evpi"])
    part = evppi(nb, theta)
    sample = evsi(nb, theta, [10, 100, 1000, 10_000], n0=100.0)["evsi"].values
    assert total >= float(part["evppi"]) >= 0
    assert np.all(np.diff(sample) > 0) and sample[0] >= 0
    assert sample[-1] <= float(part["evppi"]) + 1e-12


def test_evppi_of_two_parameters_together_matches_the_closed_form():
    # NB = a + b1 theta1 + b2 theta2 + eps: knowing both is knowing a normal with sd
    # sqrt(b1^2 + b2^2); the additive model is exact here
    rng = np.random.default_rng(8)
    D = 4000
    th = rng.normal(size=(D, 2))
    nb = np.stack([np.zeros(D), 0.3 + th @ [1.0, 0.7] + rng.normal(0, 1.0, D)], axis=1)
    r = evppi(nb, th)
    exact = normal_voi(0.3, math.hypot(1.0, 0.7))
    assert abs(float(r["evppi"]) - exact) <= Z * float(r["evppi_se"]) + 0.02 * exact
    assert float(r["evppi"]) > float(evppi(nb, th[:, 0])["evppi"])


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), a=st.floats(-2, 2), b=st.floats(-3, 3),
       n0=st.floats(1, 1e4))
def test_evsi_grows_with_the_pilot_from_zero_to_at_most_the_evppi(seed, a, b, n0):
    # the fitted losses keep the mean loss (<= 0 for the strategy not chosen), so shrinking
    # them less can only raise the mean of their positive part
    nb, theta, *_ = linear_case(400, seed, a=a, b=b)
    sizes = [0.0, 1.0, 10.0, 100.0, 1e3, 1e5]
    s = evsi(nb, theta, sizes, n0)["evsi"].values
    assert s[0] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.diff(s) >= -1e-9)
    assert s[-1] <= float(evppi(nb, theta)["evppi"]) + 1e-9


def test_a_parameter_that_does_not_matter_has_no_partial_value():
    nb, _, *_ = linear_case(3000, 6)
    unrelated = np.random.default_rng(7).normal(size=3000)
    r = evppi(nb, unrelated)
    assert float(r["evppi"]) <= 0.05 * float(evpi(nb)["evpi"])


def test_bad_inputs_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match=r"voi\.nb"):
        evpi(np.zeros((5, 1)))
    with pytest.raises(ValueError, match=r"voi\.phi"):
        evppi(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"evsi\.n0"):
        evsi(np.zeros((5, 2)), np.arange(5.0), [10], n0=0.0)


# ------------------------------------------------------------------ a real deal
def test_value_of_information_of_peterborough():
    deal = sibsim.load_scenario("peterborough")
    r = value_of_information(deal, draws=300, seed=3, pilot_sizes=(50, 500, 5000))
    assert r["evpi"].attrs["units"] == "GBP" and "dampack" in r.attrs["reference"]
    se = float(r["evpi_se"])
    e_pp = float(r["evppi"].sel(parameter="effect.value"))
    e_all = float(r["evppi"].sel(parameter=ALL))
    assert float(r["evpi"]) + Z * se >= e_all >= 0 and float(r["evpi"]) + Z * se >= e_pp >= 0
    s = r["evsi"].values
    assert np.all(np.diff(s) > 0) and s[-1] <= e_pp + 1e-9
    # EVPI by hand from the net benefits: E[max(0, NB)] - max(0, E[NB])
    info = pilot_information(deal)
    assert info["sigma1"] > 0 and info["comparison_ratio"] == 10.0
    assert r.attrs["n0"] > 0


def test_value_of_information_refuses_an_unknown_parameter():
    with pytest.raises(ValueError, match=r"value_of_information\.parameters"):
        value_of_information(sibsim.load_scenario("peterborough"), draws=20, seed=1,
                             parameters=("nope",))


def test_cli_value_of_information(tmp_path, capsys):
    from sibsim.cli import main

    fig = tmp_path / "voi.png"
    rc = main(["voi", "peterborough", "--draws", "40", "--seed", "1", "--pilot-sizes", "100",
               "1000", "--figure", str(fig)])
    out = capsys.readouterr().out
    assert rc == 0 and fig.stat().st_size > 0
    assert "EVPI" in out and "EVSI of a pilot" in out and "1,000 participants" in out
    assert main(["value-of-information", "peterborough", "--draws", "1"]) == 2
    assert "--draws: got 1" in capsys.readouterr().err
