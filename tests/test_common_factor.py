"""A factor shared between deals (``Correlation.common`` with ``common_seed``).

Every input loading ``l`` on the common factor keeps its own distribution, and two inputs
loading ``l1`` and ``l2`` - in one deal or in two deals run with different seeds - have the
normal-scale correlation ``l1 l2``, so the Spearman correlation ``(6 / pi) asin(l1 l2 / 2)``
(Kruskal 1958). Tolerances are Monte Carlo standard errors at fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sibsim
from sibsim.spec.correlation import Correlation, correlated_values
from sibsim.spec.distributions import Beta, LogNormal

N = 4000


def _effects(deal, seed, n=N, first=0):
    ds = sibsim.simulate(deal, draws=n, seed=seed, progress=False, first_draw=first)
    names = list(ds["parameter"].values)
    return ds["parameter_value"].values[:, names.index("effect.value")]


@pytest.mark.parametrize(("l1", "l2"), [(0.8, 0.8), (0.6, 0.9), (0.7, -0.7)])
def test_two_deals_sharing_the_factor_have_the_rank_correlation_of_their_loadings(l1, l2):
    base = sibsim.load_scenario("peterborough")
    a = base.replace(correlation=Correlation(common={"effect.value": l1}, common_seed=11))
    b = base.replace(correlation=Correlation(common={"effect.value": l2}, common_seed=11))
    x, y = _effects(a, seed=1), _effects(b, seed=2)  # different seeds: only the factor ties
    rho = stats.spearmanr(x, y)[0]
    target = 6.0 / math.pi * math.asin(l1 * l2 / 2.0)
    se = (1.0 - target**2) / math.sqrt(N)  # about the standard error of Spearman's rho
    assert abs(rho - target) < 4.5 * se
    # another factor seed: independent
    c = base.replace(correlation=Correlation(common={"effect.value": l2}, common_seed=12))
    assert abs(stats.spearmanr(x, _effects(c, seed=2))[0]) < 4.5 / math.sqrt(N)


def test_each_input_keeps_its_own_distribution():
    dists = {"a": LogNormal.from_mean_sd(0.8, 0.1), "b": Beta.from_mean_sd(0.3, 0.05)}
    corr = Correlation(common={"a": 0.9, "b": -0.5}, common_seed=3)
    vals = correlated_values(corr, dists, seed=5, draws=np.arange(N))
    for name, d in dists.items():
        assert stats.kstest(vals[name], lambda x, d=d: _cdf(d, x)).pvalue > 1e-3


def _cdf(d, x):
    if isinstance(d, LogNormal):
        return stats.lognorm.cdf(x, d.sdlog, scale=math.exp(d.meanlog))
    return stats.beta.cdf(x, d.a, d.b)


def test_values_depend_on_the_draw_not_on_the_block():
    dists = {"a": LogNormal.from_mean_sd(0.8, 0.1)}
    corr = Correlation(("a", "b"), ((1, 0.4), (0.4, 1)), common={"a": 0.7}, common_seed=9)
    whole = correlated_values(corr, dists, 2, np.arange(100))["a"]
    parts = [correlated_values(corr, dists, 2, np.arange(lo, lo + 25))["a"]
             for lo in range(0, 100, 25)]
    np.testing.assert_array_equal(whole, np.concatenate(parts))
    picked = correlated_values(corr, dists, 2, np.array([3, 50, 99]))["a"]
    np.testing.assert_array_equal(picked, whole[[3, 50, 99]])


def test_a_run_in_blocks_equals_one_run():
    deal = sibsim.load_scenario("peterborough").replace(
        correlation=Correlation(common={"effect.value": 0.8}, common_seed=4))
    whole = _effects(deal, 3, n=60)
    parts = np.concatenate([_effects(deal, 3, n=20, first=k) for k in (0, 20, 40)])
    np.testing.assert_array_equal(whole, parts)


def test_a_loading_of_zero_changes_no_rank_but_mixes_nothing_in():
    """Loading 0: the input's normal is its own keyed normal, as in a matrix correlation."""
    dists = {"a": LogNormal.from_mean_sd(0.8, 0.1), "b": LogNormal.from_mean_sd(1.0, 0.2)}
    mat = Correlation(("a", "b"), ((1, 0.3), (0.3, 1)))
    zero = Correlation(("a", "b"), ((1, 0.3), (0.3, 1)), common={"a": 0.0}, common_seed=1)
    np.testing.assert_array_equal(correlated_values(mat, dists, 7, np.arange(50))["a"],
                                  correlated_values(zero, dists, 7, np.arange(50))["a"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"common": {"effect.value": 0.5}}, "Correlation.common_seed: got None; allowed: the seed"),
    ({"common_seed": 3}, "Correlation.common: got {}; allowed: loadings on the shared factor"),
    ({"common": {"effect.value": 1.5}, "common_seed": 3},
     "Correlation.common[effect.value]: got 1.5"),
    ({"common": {"effect.value": 0.5}, "common_seed": -1}, "Correlation.common_seed: got -1"),
    ({"inputs": ("a",), "matrix": ((1.0,),)},
     "Correlation.inputs: got ('a',); allowed: at least 2 value(s), or a common factor"),
    ({}, "Correlation.inputs: got (); allowed: at least 2 value(s)"),
    ({"common": [0.5], "common_seed": 3}, "Correlation.common: got [0.5]; allowed: a table"),
])
def test_refusals_name_the_field(kwargs, message):
    with pytest.raises((ValueError, TypeError)) as err:
        Correlation(**kwargs)
    assert message in str(err.value)


def test_a_deal_refuses_a_common_loading_on_an_unknown_input():
    with pytest.raises(ValueError) as err:
        sibsim.load_scenario("peterborough").replace(
            correlation=Correlation(common={"effect.nothing": 0.5}, common_seed=1))
    assert "Deal.correlation.common[effect.nothing]: got 'effect.nothing'" in str(err.value)


def test_toml_takes_a_common_factor_alone(tmp_path):
    from sibsim.scenario_file import ScenarioFileError, builtin_scenarios

    text = builtin_scenarios()["peterborough"].read_text(encoding="utf-8")
    path = tmp_path / "p.toml"
    path.write_text(text + '\n[correlation]\ncommon = {"effect.value" = 0.6}\ncommon_seed = 8\n',
                    encoding="utf-8")
    deal = sibsim.load_scenario(path)
    assert deal.correlation.common == {"effect.value": 0.6} and deal.correlation.common_seed == 8
    path.write_text(text + '\n[correlation]\ncommon = {"effect.value" = 0.6}\n',
                    encoding="utf-8")
    with pytest.raises(ScenarioFileError) as err:
        sibsim.load_scenario(path)
    assert "common_seed" in str(err.value)
