"""Sensitivity methods (sibsim.analysis.sensitivity) by value against their definitions worked
by hand: the binned correlation ratio and its bias adjustment (Plischke 2010), Sobol indices of
a linear function (closed form), the Gini split of a classification tree and the discovery
sentences, the per-draw outputs and the tornado's ends; every output variable, unit, attribute
and message, and every range check at its boundary."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import sibsim
from sibsim.analysis.metrics import investor_metrics, municipality_metrics
from sibsim.analysis.sensitivity import _common, discovery, given_data, sobol, tornado
from sibsim.analysis.sensitivity._common import OUTPUTS, PER_DRAW, Chain, check_output
from sibsim.analysis.sensitivity.discovery import Node, describe_region, grow, leaves, statement
from sibsim.spec.distributions import Gamma

pytestmark = pytest.mark.filterwarnings("ignore::sibsim.report.UnfundedCostsWarning")

MOJ = "payers[Ministry of Justice]"
SAVING = Gamma.from_mean_sd(4_000.0, 800.0)
COST = Gamma.from_mean_sd(800.0, 100.0)


def deal_with(saving=SAVING, cost=COST):
    deal = sibsim.load_scenario("peterborough")
    moj, fund = deal.payers
    return deal.replace(payers=(replace(moj, saving_per_event=saving), fund),
                        service_costs=replace(deal.service_costs, per_participant=cost))


@pytest.fixture(scope="module")
def results():
    return sibsim.analyse(deal_with(), draws=40, seed=2, progress=False, with_breakeven=False)


@pytest.fixture(scope="module")
def chain():
    return Chain(deal_with(), 12, 3)


# ------------------------------------------------------------------------ given data: parts
def test_bins_are_equal_count_by_rank_with_ties_in_order():
    x = np.array([3.0, 1.0, 2.0, 1.0])
    # stable ranks 3, 0, 2, 1 -> bins rank * 2 // 4
    assert given_data._bins(x, 2).tolist() == [1, 0, 1, 0]
    assert given_data._bins(np.arange(6.0)[::-1], 3).tolist() == [2, 2, 1, 1, 0, 0]
    assert given_data._bins(np.arange(5.0), 5).tolist() == [0, 1, 2, 3, 4]


def test_eta_is_the_between_bin_share_of_the_sum_of_squares():
    bins = np.array([0, 0, 1, 1])
    y = np.array([1.0, 3.0, 5.0, 7.0])
    # bin means 2, 6, mean 4: between 2 * 4 + 2 * 4 = 16, total 9 + 1 + 1 + 9 = 20
    assert given_data._eta(bins, y, 2) == pytest.approx(0.8, rel=1e-15)
    # an empty bin (minlength m) is left out; all in one bin: no between part
    assert given_data._eta(bins, y, 3) == pytest.approx(0.8, rel=1e-15)
    assert given_data._eta(np.zeros(4, dtype=int), y, 2) == pytest.approx(0.0, abs=1e-15)
    # y's level does not matter
    assert given_data._eta(bins, y + 1e3, 2) == pytest.approx(0.8, rel=1e-9)
    assert np.isnan(given_data._eta(bins, np.full(4, 2.0), 2))


def test_adjusted_ratio_by_hand():
    # 1 - (1 - eta) (n - 1) / (n - m)
    assert given_data._adjusted(0.8, 4, 2) == pytest.approx(1 - 0.2 * 3 / 2, rel=1e-15)
    assert given_data._adjusted(1.0, 10, 3) == 1.0
    assert given_data._adjusted(0.0, 10, 3) == pytest.approx(1 - 9 / 7, rel=1e-15)


def by_hand_first_order(X, y, m):
    out = []
    for i in range(X.shape[1]):
        order = np.argsort(X[:, i], kind="stable")
        ranks = np.empty(len(y), dtype=int)
        ranks[order] = np.arange(len(y))
        b = ranks * m // len(y)
        means = np.array([y[b == k].mean() for k in range(m)])
        counts = np.array([(b == k).sum() for k in range(m)])
        eta = (counts * (means - y.mean()) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        out.append(1 - (1 - eta) * (len(y) - 1) / (len(y) - m))
    return np.array(out)


def test_first_order_by_hand_and_its_default_bins():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 2))
    y = X[:, 0] ** 2 + 0.3 * rng.normal(size=20)
    S, se = given_data.first_order(X, y, bootstrap=0)
    # 20 draws: round(sqrt(20)) = 4 bins
    np.testing.assert_allclose(S, by_hand_first_order(X, y, 4), rtol=1e-12)
    assert np.isnan(se).all() and se.shape == (2,)
    S3, _ = given_data.first_order(X, y, bins=3, bootstrap=0)
    np.testing.assert_allclose(S3, by_hand_first_order(X, y, 3), rtol=1e-12)
    S2, _ = given_data.first_order(X, y, bins=2, bootstrap=0)
    np.testing.assert_allclose(S2, by_hand_first_order(X, y, 2), rtol=1e-12)


@pytest.mark.parametrize(("n", "m"), [(30, 5), (42, 6), (2_500, 50), (3_000, 50)])
def test_default_bins_are_the_rounded_root_clipped_to_50(n, m):
    rng = np.random.default_rng(n)
    X = rng.uniform(size=(n, 1))
    y = np.sin(6 * X[:, 0]) + rng.normal(size=n)
    S, _ = given_data.first_order(X, y, bootstrap=0)
    assert S[0] == pytest.approx(by_hand_first_order(X, y, m)[0], rel=1e-12)


def test_first_order_leaves_out_draws_without_an_output_and_needs_20():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(21, 1))
    y = X[:, 0] + rng.normal(size=21)
    y_nan = y.copy()
    y_nan[5] = np.nan
    S, _ = given_data.first_order(X, y_nan, bootstrap=0)
    keep = np.arange(21) != 5
    assert S[0] == pytest.approx(by_hand_first_order(X[keep], y[keep], 4)[0], rel=1e-12)
    y_nan[6] = np.inf
    with pytest.raises(ValueError, match=r"given_data\.draws: got 19; allowed: at least 20 "
                                         r"draws with a finite output"):
        given_data.first_order(X, y_nan)
    with pytest.raises(ValueError, match=r"bins"):
        given_data.first_order(X, y, bins=1)


def test_bootstrap_standard_error_by_hand():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(25, 2))
    y = X[:, 0] + 0.5 * rng.normal(size=25)
    _S, se = given_data.first_order(X, y, bootstrap=7, seed=11)
    m = 5
    bins = [given_data._bins(X[:, i], m) for i in range(2)]
    r = np.random.default_rng(11)
    boot = np.empty((7, 2))
    for k in range(7):
        pick = r.integers(0, 25, 25)
        for i in range(2):  # the full sample's bins, resampled with the draws
            boot[k, i] = given_data._adjusted(given_data._eta(bins[i][pick], y[pick], m), 25, m)
    np.testing.assert_allclose(se, boot.std(axis=0, ddof=1), rtol=1e-12)
    assert not np.allclose(se, given_data.first_order(X, y, bootstrap=7, seed=12)[1])


def test_first_order_defaults_bootstrap_200_seed_0():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20, 1))
    y = X[:, 0] + rng.normal(size=20)
    S, se = given_data.first_order(X, y)
    S0, se0 = given_data.first_order(X, y, bootstrap=200, seed=0)
    np.testing.assert_array_equal(S, S0)
    np.testing.assert_array_equal(se, se0)


def test_given_data_of_a_run_every_output(results):
    s = given_data.given_data(results, bootstrap=0)
    names, X = _common.results_inputs(results)
    ys = _common.per_draw_outputs(results.money)
    assert s["output"].values.tolist() == list(PER_DRAW) == [
        "investor_irr", "investor_loss", "commissioner_npv", "commissioner_net_loss"]
    assert s["input"].values.tolist() == names
    for o in PER_DRAW:
        y = ys[o]
        if np.nanstd(y) > 0:
            S, _ = given_data.first_order(X, y, bootstrap=0)
            np.testing.assert_allclose(s["first_order"].sel(output=o).values, S, rtol=1e-12)
        else:
            assert np.isnan(s["first_order"].sel(output=o).values).all()
    assert np.isnan(s["standard_error"].values).all()
    assert s["first_order"].dims == ("output", "input")
    assert s["first_order"].attrs["units"] == "fraction"
    assert s["first_order"].attrs["description"].startswith("First-order index Var(E[Y|X_i])")
    assert s["standard_error"].attrs == {"units": "fraction",
                                         "description": "Bootstrap standard error"}
    assert s.attrs == {"method": "given data (binned correlation ratio)", "draws": 40}
    one = given_data.given_data(results, outputs=["commissioner_npv"], bins=3, bootstrap=4,
                                seed=5)
    S, se = given_data.first_order(X, ys["commissioner_npv"], bins=3, bootstrap=4, seed=5)
    np.testing.assert_allclose(one["first_order"].values[0], S, rtol=1e-12)
    np.testing.assert_allclose(one["standard_error"].values[0], se, rtol=1e-12)


def test_given_data_bootstrap_seed_defaults_to_0(results):
    """The documented default seed (0) is the one used: the bootstrap standard errors of a
    call without a seed are those of seed=0, and another seed gives others."""
    kw = {"outputs": ["commissioner_npv"], "bins": 3, "bootstrap": 8}
    default = given_data.given_data(results, **kw)
    xr.testing.assert_identical(default, given_data.given_data(results, seed=0, **kw))
    other = given_data.given_data(results, seed=1, **kw)
    assert not np.array_equal(default["standard_error"].values, other["standard_error"].values)


def test_given_data_leaves_nan_where_an_output_does_not_vary(results, monkeypatch):
    ys = _common.per_draw_outputs(results.money)
    ys["investor_loss"] = np.zeros_like(ys["investor_loss"])
    monkeypatch.setattr(given_data, "per_draw_outputs", lambda money: ys)
    s = given_data.given_data(results, outputs=["investor_loss", "commissioner_npv"],
                              bootstrap=0)
    assert np.isnan(s["first_order"].sel(output="investor_loss").values).all()
    assert np.isfinite(s["first_order"].sel(output="commissioner_npv").values).all()


def test_given_data_refuses_unknown_outputs_and_runs_without_inputs(results, monkeypatch):
    with pytest.raises(ValueError, match=r"given_data\.outputs: got 'irr'; allowed: one of "
                                         r"investor_irr, investor_loss, commissioner_npv, "
                                         r"commissioner_net_loss$"):
        given_data.given_data(results, outputs=["irr"])
    monkeypatch.setattr(given_data, "results_inputs", lambda r: ([], np.zeros((40, 0))))
    with pytest.raises(ValueError, match=r"given_data\.results: got 'no uncertain inputs'; "
                                         r"allowed: a run with uncertain inputs"):
        given_data.given_data(results)


def test_given_data_run_uses_the_results_or_analyses_the_deal(results):
    a = given_data.run(results=results, bootstrap=0)
    b = given_data.given_data(results, bootstrap=0)
    assert a.identical(b)
    c = given_data.run(deal_with(), draws=40, seed=2, bootstrap=0)
    np.testing.assert_allclose(c["first_order"].values, b["first_order"].values, rtol=1e-12,
                               equal_nan=True)


# ------------------------------------------------------------------------------- Sobol
def test_sobol_indices_of_a_linear_function_closed_form():
    # f = x0 + 2 x1 + 0 x2, standard normals: S = T = (1/5, 4/5, 0)
    f = lambda x: x[0] + 2 * x[1] + 0 * x[2]  # noqa: E731
    out = sobol.sobol_indices(f, [stats.norm()] * 3, n=2048, seed=3)
    assert set(out) == {"first_order", "total_order"}
    np.testing.assert_allclose(out["first_order"], [0.2, 0.8, 0.0], atol=0.04)
    np.testing.assert_allclose(out["total_order"], [0.2, 0.8, 0.0], atol=0.04)
    again = sobol.sobol_indices(f, [stats.norm()] * 3, n=2048, seed=3)
    np.testing.assert_array_equal(again["first_order"], out["first_order"])
    other = sobol.sobol_indices(f, [stats.norm()] * 3, n=2048, seed=4)
    assert not np.array_equal(other["first_order"], out["first_order"])


def test_sobol_indices_reads_sibsim_distributions_by_their_quantiles():
    g = Gamma.from_mean_sd(10.0, 2.0)
    m = sobol._Marginal(g)
    u = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(m.ppf(u), stats.gamma.ppf(u, g.shape, scale=g.scale), rtol=1e-9)
    f = lambda x: x[0] + 0 * x[1]  # noqa: E731
    out = sobol.sobol_indices(f, [g, stats.norm()], n=64, seed=1, bootstrap=20)
    assert abs(out["first_order"][0] - 1.0) < 0.05 and abs(out["first_order"][1]) < 1e-12
    assert set(out) == {"first_order", "total_order", "first_order_low", "first_order_high"}
    assert out["first_order_low"].shape == (2,) and out["first_order_high"].shape == (2,)
    assert out["first_order_low"][0] <= out["first_order_high"][0]


def test_sobol_indices_on_a_scipy_that_takes_random_state(monkeypatch):
    """SciPy 1.11-1.14 name the generator random_state: the same indices."""
    real = stats.sobol_indices
    f = lambda x: x[0] + 2 * x[1]  # noqa: E731
    want = sobol.sobol_indices(f, [stats.norm()] * 2, n=64, seed=5)

    def old(*, func, n, dists, random_state=None, **kw):
        if kw:
            name = next(iter(kw))
            raise TypeError(f"sobol_indices() got an unexpected keyword argument {name!r}")
        return real(func=func, n=n, dists=dists, rng=random_state)

    monkeypatch.setattr(sobol.stats, "sobol_indices", old)
    got = sobol.sobol_indices(f, [stats.norm()] * 2, n=64, seed=5)
    np.testing.assert_array_equal(got["first_order"], want["first_order"])
    np.testing.assert_array_equal(got["total_order"], want["total_order"])

    def broken(**kw):
        raise TypeError("something else")

    monkeypatch.setattr(sobol.stats, "sobol_indices", broken)
    with pytest.raises(TypeError, match="something else"):
        sobol.sobol_indices(f, [stats.norm()] * 2, n=64, seed=5)


def test_sobol_indices_of_one_input_are_one():
    # all the variance is the one input's: S = T = 1 (scipy alone fails on one input)
    out = sobol.sobol_indices(lambda x: 3.0 * x[0], [stats.norm()], n=1024, seed=2,
                              bootstrap=10)
    assert set(out) == {"first_order", "total_order", "first_order_low", "first_order_high"}
    assert all(a.shape == (1,) for a in out.values())
    np.testing.assert_allclose(out["first_order"], [1.0], atol=0.05)
    np.testing.assert_allclose(out["total_order"], [1.0], atol=0.05)


@pytest.mark.parametrize("n", [4, 7, 12, 100])
def test_sobol_n_must_be_a_power_of_two_of_8_or_more(n):
    with pytest.raises(ValueError, match=r"\bn\b"):
        sobol.sobol_indices(lambda x: x[0], [stats.norm()], n=n)


def test_sobol_smallest_n_is_accepted():
    out = sobol.sobol_indices(lambda x: x[0] + 0 * x[1], [stats.norm(), stats.norm()], n=8)
    assert out["first_order"].shape == (2,)


def test_sobol_of_the_money_chain_every_output():
    deal = deal_with()
    names = list(sibsim.money.uncertain.money_parameters(deal))
    # the money assumptions alone (the default adds the evaluation's bias, whose effect on the
    # NPV is not linear)
    s = sobol.sobol(deal, output="commissioner_npv_mean", draws=6, seed=1, n=8, inputs=names)
    assert s["input"].values.tolist() == names and len(names) == 2
    assert s.attrs == {"output": "commissioner_npv_mean",
                       "method": "sobol (scipy.stats.sobol_indices)", "n": 8, "draws": 6,
                       "seed": 1, "evaluations": 8 * 4}
    assert s["first_order"].dims == ("input",) and s["total_order"].dims == ("input",)
    assert s["first_order"].attrs == {"units": "fraction",
                                      "description": "First-order Sobol index (scipy)"}
    assert s["total_order"].attrs == {"units": "fraction",
                                      "description": "Total-order Sobol index (scipy)"}
    # the NPV is linear in each money input: its indices are the closed form
    # b_i^2 Var(x_i) / sum_j b_j^2 Var(x_j), with b_i read off the chain by a difference
    ch = Chain(deal, 6, 1)
    base = {nm: np.full(6, float(d.mean)) for nm, d in
            sibsim.money.uncertain.money_parameters(deal).items()}
    var = []
    for nm, d in sibsim.money.uncertain.money_parameters(deal).items():
        up = {**base, nm: base[nm] + 1.0}
        b = ch.output(up, "commissioner_npv_mean") - ch.output(base, "commissioner_npv_mean")
        var.append(b ** 2 * d.shape * d.scale ** 2)  # Var of a gamma: shape scale^2
    exact = np.array(var) / sum(var)
    np.testing.assert_allclose(s["first_order"].values, exact, atol=0.35)
    one = sobol.sobol(deal, output="commissioner_npv_mean", draws=6, seed=1, n=8,
                      inputs=[names[1]])
    # one input (scipy's estimator fails on one: sobol_indices adds an ignored second)
    assert one["input"].values.tolist() == [names[1]] and one.attrs["evaluations"] == 32
    assert one["first_order"].shape == (1,) and one["total_order"].shape == (1,)
    assert np.isfinite(one["first_order"].values).all()
    assert sobol.run(deal, output="commissioner_npv_mean", draws=6, seed=1, n=8,
                     inputs=names).identical(s)


def test_sobol_refuses_inputs_that_are_not_money_assumptions():
    deal = deal_with()
    with pytest.raises(ValueError, match=r"sobol\.inputs: got 'effect\.value'; allowed: "
                                         r"uncertain money assumptions and evaluation inputs "
                                         r"of the deal: .*saving_per_event.*\(scenario "
                                         r"parameters: use method='given_data'\)"):
        sobol.sobol(deal, inputs=["effect.value"], draws=4)
    with pytest.raises(ValueError, match=r"sobol\.inputs: got \[\]; allowed: at least one"):
        sobol.sobol(deal, inputs=[], draws=4)
    fixed = deal_with(saving=4_000.0, cost=800.0)  # the evaluation's bias stays uncertain
    with pytest.raises(ValueError, match=r"inputs of the deal: evaluation\.reconviction\.bias "):
        sobol.sobol(fixed, inputs=["x"], draws=4)
    e = fixed.evaluations[0]
    none = fixed.replace(evaluations=(replace(e, design=replace(e.design, bias=0.0)),))
    with pytest.raises(ValueError, match=r"inputs of the deal: none"):
        sobol.sobol(none, inputs=["x"], draws=4)
    with pytest.raises(ValueError, match=r"output: got 'irr'"):
        sobol.sobol(deal, output="irr", draws=4)
    with pytest.raises(ValueError, match=r"draws: got 0"):
        sobol.sobol(deal, output="commissioner_npv_mean", draws=0)


# --------------------------------------------------------------------------- discovery
def test_gini_by_hand():
    np.testing.assert_allclose(discovery._gini(np.array([0.0, 0.5, 0.25, 1.0])),
                               [0.0, 0.5, 0.375, 0.0])


def test_best_split_by_hand():
    x = np.arange(20.0)
    y = (x >= 14).astype(float)
    i, t, gain = discovery._best_split(x[:, None], y, 1)
    # the 5%-95% quantiles of 0..19 step 0.95; the first at or above 13 separates exactly
    q = np.quantile(x, discovery.QUANTILES)
    t_exact = q[(q >= 13) & (q < 14)].min()
    assert i == 0 and t == pytest.approx(t_exact)
    parent = 2 * 0.3 * 0.7 * 20
    assert gain == pytest.approx(parent, rel=1e-12)
    # the two columns split alike: the first wins a tie (a gain above by more than 1e-12)
    i2, _, _ = discovery._best_split(np.stack([x, x], axis=1), y, 1)
    assert i2 == 0
    # a better split in the second column wins
    noisy = np.where(np.arange(20) % 2 == 0, x, 19 - x)
    i3, t3, _ = discovery._best_split(np.stack([noisy, x], axis=1), y, 1)
    assert i3 == 1 and t3 == pytest.approx(t_exact)


def test_best_split_respects_the_smallest_leaf():
    x = np.arange(20.0)
    y = (x >= 19).astype(float)  # one loss: the perfect split leaves 1 draw on the right
    assert discovery._best_split(x[:, None], y, 1)[1] >= 18
    # at least 2 draws a side: the split at 18 is not allowed any more
    assert discovery._best_split(x[:, None], y, 2)[1] < 18
    # no split leaves 11 draws on each side of 20
    assert discovery._best_split(x[:, None], y, 11) is None
    ok = discovery._best_split(x[:, None], (x >= 10).astype(float), 10)
    assert ok is not None and 9 <= ok[1] < 10


def test_quantiles_and_parties():
    np.testing.assert_allclose(discovery.QUANTILES, np.arange(1, 20) * 0.05)
    assert discovery.PARTIES == {"investor_loss": "Investors lose",
                                 "commissioner_net_loss":
                                     "The commissioner pays more than it saves"}


def test_fmt_switches_to_thousands_at_1e4():
    assert discovery._fmt(9_999.4) == "1e+04" and discovery._fmt(0.123456) == "0.123"
    assert discovery._fmt(10_000.0) == "10,000" and discovery._fmt(-12_345.6) == "-12,346"
    assert discovery._fmt(-9_999.0) == "-1e+04"


def test_grow_a_tree_by_hand():
    x = np.arange(40.0)
    z = np.tile([0.0, 1.0], 20)
    y = ((x >= 20) & (z == 1)).astype(float)
    tree = grow(np.stack([x, z], axis=1), y, ["x", "z"], depth=2, min_share=0.05)
    assert tree.rate == 0.25 and tree.share == 1.0 and tree.n == 40 and tree.conditions == ()
    assert tree.feature in ("x", "z") and len(tree.children) == 2
    lv = leaves(tree)
    # x <= 19.5 is pure (no loss) and is not split again; x > 19.5 splits on z
    assert tree.feature == "x" and tree.threshold == pytest.approx(19.5)
    assert tree.children[0].children == [] and tree.children[1].feature == "z"
    assert len(lv) == 3 and sum(lf.n for lf in lv) == 40
    assert sum(lf.share for lf in lv) == pytest.approx(1.0)
    top = max(lv, key=lambda lf: lf.rate)
    assert top.rate == 1.0 and top.n == 10 and top.share == 0.25
    assert {c[0] for c in top.conditions} == {"x", "z"}
    for lf in lv:  # pure leaves are not split further, and every leaf is at most 2 deep
        assert not lf.children and len(lf.conditions) <= 2
    one = grow(np.stack([x, z], axis=1), y, ["x", "z"], depth=1)
    assert all(not c.children for c in one.children) and len(leaves(one)) == 2
    flat = grow(np.stack([x, z], axis=1), y, ["x", "z"], depth=0)
    assert flat.children == [] and flat.feature is None and np.isnan(flat.threshold)


def test_grow_does_not_split_a_pure_node_or_without_gain():
    x = np.arange(20.0)[:, None]
    assert grow(x, np.ones(20), ["x"]).children == []
    # a loss pattern no threshold of x separates (every other draw): no gain, no split
    y = np.tile([0.0, 1.0], 10)
    t = grow(np.zeros((20, 1)), y, ["x"])
    assert t.children == [] and t.rate == 0.5


def test_grow_splits_at_a_threshold_that_is_a_value_with_the_value_on_the_left():
    x = np.repeat([0.0, 1.0], 10)
    tree = grow(x[:, None], x, ["x"], depth=1)
    assert tree.threshold == 0.0
    assert [c.n for c in tree.children] == [10, 10] and [c.rate for c in tree.children] == [0, 1]
    assert tree.children[0].conditions == (("x", "<=", 0.0),)
    assert tree.children[1].conditions == (("x", ">", 0.0),)


def test_grow_min_share_sets_the_smallest_leaf():
    x = np.arange(20.0)
    y = (x >= 19).astype(float)  # 1 draw in 20; the 95% quantile 18.05 separates it
    small = grow(x[:, None], y, ["x"], depth=1, min_share=0.05)  # ceil(1.0) = 1 draw
    assert min(c.n for c in small.children) == 1 and small.children[1].rate == 1.0
    big = grow(x[:, None], y, ["x"], depth=1, min_share=0.06)  # ceil(1.2) = 2 draws
    assert min(c.n for c in big.children) >= 2
    # min_share 0: at least one draw a leaf
    tiny = grow(x[:, None], y, ["x"], depth=1, min_share=0.0)
    assert min(c.n for c in tiny.children) >= 1


@pytest.mark.parametrize(("X", "names"), [(np.zeros((5, 2)), ["a"]), (np.zeros((4, 1)), ["a"]),
                                          (np.zeros((0, 1)), ["a"])])
def test_grow_refuses_inputs_of_the_wrong_shape(X, names):
    y = np.zeros(5) if X.shape[0] != 0 else np.zeros(0)
    with pytest.raises(ValueError, match=r"grow\.X: got \(\d+, \d\); allowed: shape"):
        grow(X, y, names)


def test_describe_region_every_form():
    assert describe_region([("x", "<=", 2.0), ("x", "<=", 1.5), ("y", ">", 3.0)]) == \
        "x <= 1.5 and y > 3"
    assert describe_region([("x", ">", 1.0), ("x", ">", 2.5)]) == "x > 2.5"
    assert describe_region([("x", ">", 1.0), ("x", "<=", 4.0)]) == "1 < x <= 4"
    assert describe_region([("x", "<=", 4.0), ("x", ">", 1.0), ("x", "<=", 3.0)]) == \
        "1 < x <= 3"
    assert describe_region([("b", "<=", 20_000.0), ("a", ">", 0.25)]) == \
        "b <= 20,000 and a > 0.25"
    assert describe_region([]) == ""


def leaf(rate, share, conditions):
    return Node(rate, share, int(share * 100), conditions)


def test_statement_every_sentence():
    assert statement(Node(0.0, 1.0, 10), "Investors lose") == "Investors lose in none of the draws."
    assert statement(Node(1.0, 1.0, 10), "X") == "X in every draw."
    assert statement(Node(0.3, 1.0, 10), "X") == (
        "X in 30% of draws; no input region stands out (no split of the inputs separates the "
        "losses).")
    tree = Node(0.3, 1.0, 100, feature="a", threshold=1.0, children=[
        leaf(0.1, 0.6, (("a", "<=", 1.0),)), leaf(0.6, 0.4, (("a", ">", 1.0),))])
    assert statement(tree, "X") == (
        "X in 60% of draws where a > 1 (40% of draws), against 30% overall.")
    # a leaf below min_share is not told, however risky
    tree.children.append(leaf(0.9, 0.04, (("b", ">", 2.0),)))
    assert statement(tree, "X").startswith("X in 60% of draws where a > 1")
    assert statement(tree, "X", min_share=0.04).startswith("X in 90% of draws where b > 2 (4%")
    # equal rates: the larger leaf is told
    tied = Node(0.3, 1.0, 100, children=[leaf(0.5, 0.2, (("a", "<=", 1.0),)),
                                         leaf(0.5, 0.3, (("a", ">", 1.0),))])
    assert "where a > 1 (30% of draws)" in statement(tied, "X")


def test_statement_adds_where_losses_are_least_often_when_they_are_the_rule():
    tree = Node(0.5, 1.0, 100, children=[leaf(0.8, 0.5, (("a", "<=", 1.0),)),
                                         leaf(0.2, 0.3, (("a", ">", 1.0),)),
                                         leaf(0.2, 0.2, (("b", ">", 5.0),))])
    assert statement(tree, "X") == (
        "X in 80% of draws where a <= 1 (50% of draws), against 50% overall. Least often (20%) "
        "where a > 1 (30% of draws).")
    below = Node(0.49, 1.0, 100, children=tree.children)
    assert "Least often" not in statement(below, "X")


def test_where_parties_lose_and_run(results):
    out = discovery.where_parties_lose(results, depth=1, min_share=0.1)
    names, X = _common.results_inputs(results)
    ys = _common.per_draw_outputs(results.money)
    assert list(out) == ["investor_loss", "commissioner_net_loss"]
    for key, who in discovery.PARTIES.items():
        tree = grow(X, ys[key], names, depth=1, min_share=0.1)
        assert out[key]["statement"] == statement(tree, who, 0.1)
        assert out[key]["tree"].rate == tree.rate and len(leaves(out[key]["tree"])) <= 2
    again = discovery.run(results=results, depth=1, min_share=0.1)
    assert again["investor_loss"]["statement"] == out["investor_loss"]["statement"]
    fresh = discovery.run(deal_with(), draws=40, seed=2, depth=1, min_share=0.1)
    assert fresh["commissioner_net_loss"]["statement"] == \
        out["commissioner_net_loss"]["statement"]


def test_where_parties_lose_refuses_a_run_without_uncertain_inputs(results, monkeypatch):
    monkeypatch.setattr(discovery, "results_inputs", lambda r: ([], np.zeros((40, 0))))
    with pytest.raises(ValueError, match=r"where_parties_lose\.results: got 'no uncertain "
                                         r"inputs'; allowed: a run with uncertain inputs"):
        discovery.where_parties_lose(results)


# ------------------------------------------------------------------------------ common
def test_outputs_table():
    assert {k: v[0] for k, v in OUTPUTS.items()} == {
        "investor_mean_irr": "investor_irr", "investor_loss_probability": "investor_loss",
        "commissioner_npv_mean": "commissioner_npv",
        "commissioner_net_loss_probability": "commissioner_net_loss"}
    assert [v[2] for v in OUTPUTS.values()] == ["per year", "probability", "currency",
                                                 "probability"]
    assert PER_DRAW == {v[0]: k for k, v in OUTPUTS.items()}


def test_check_output_names_the_allowed_outputs():
    assert check_output("investor_mean_irr") == "investor_mean_irr"
    with pytest.raises(ValueError, match=r"^output: got 'npv'; allowed: one of "
                                         r"'investor_mean_irr', 'investor_loss_probability', "
                                         r"'commissioner_npv_mean', "
                                         r"'commissioner_net_loss_probability'$"):
        check_output("npv")
    with pytest.raises(ValueError, match=r"allowed: one of 'a'$"):
        check_output("b", {"a": 1})


def test_per_draw_and_summary_outputs_are_the_metrics(results):
    out = _common.per_draw_outputs(results.money)
    inv = investor_metrics(results.money).sel(investor="all")
    mun = municipality_metrics(results.money)
    np.testing.assert_array_equal(out["investor_irr"], inv["irr_annual"].values)
    np.testing.assert_array_equal(out["investor_loss"], inv["loss"].values)
    np.testing.assert_array_equal(out["commissioner_npv"], mun["npv_net_savings"].values)
    np.testing.assert_array_equal(out["commissioner_net_loss"], mun["net_loss"].values)
    for k in out:
        assert out[k].dtype == np.float64
    vals = _common.output_values(results.money)
    assert vals == {
        "investor_mean_irr": pytest.approx(float(np.nanmean(out["investor_irr"]))),
        "investor_loss_probability": pytest.approx(float(out["investor_loss"].mean())),
        "commissioner_npv_mean": pytest.approx(float(out["commissioner_npv"].mean())),
        "commissioner_net_loss_probability": pytest.approx(
            float(out["commissioner_net_loss"].mean()))}


def test_outputs_by_hand_on_two_draws():
    # draw 0: 100 drawn, 121 back two years later (10% a year); draw 1: 100 drawn, 50 back
    flows = np.array([[-100.0, 0.0, 121.0], [-100.0, 50.0, 0.0]])
    drawn = np.array([[100.0, 0.0, 0.0], [100.0, 0.0, 0.0]])
    got = np.array([[0.0, 0.0, 121.0], [0.0, 50.0, 0.0]])
    net = np.array([[10.0, -5.0, 0.0], [-10.0, 5.0, 0.0]])
    out = _common._outputs(flows, drawn, got, net, ppy=1, social_rate=0.1)
    np.testing.assert_allclose(out["investor_irr"], [0.1, -0.5], rtol=1e-9)
    assert out["investor_loss"].tolist() == [0.0, 1.0]
    np.testing.assert_allclose(out["commissioner_npv"],
                               [10 - 5 / 1.1, -10 + 5 / 1.1], rtol=1e-12)
    assert out["commissioner_net_loss"].tolist() == [0.0, 1.0]
    # two periods a year: the IRR a period compounds to a year
    half = _common._outputs(flows, drawn, got, net, ppy=2, social_rate=0.1)
    np.testing.assert_allclose(half["investor_irr"], [1.1 ** 2 - 1, 0.5 ** 2 - 1], rtol=1e-9)
    # a total loss stays -100%
    lost = _common._outputs(np.array([[-100.0, 0.0]]), np.array([[100.0, 0.0]]),
                            np.zeros((1, 2)), np.zeros((1, 2)), ppy=2, social_rate=0.0)
    assert lost["investor_irr"].tolist() == [-1.0]
    # net savings of exactly 0 are no loss
    assert lost["commissioner_net_loss"].tolist() == [0.0]
    for only in PER_DRAW:
        assert list(_common._outputs(flows, drawn, got, net, 1, 0.1, only=only)) == [only]


def test_summary_of_irr_leaves_out_draws_without_one():
    d = {"investor_irr": np.array([0.1, np.nan, 0.3]), "investor_loss": np.array([0.0, 1.0]),
         "commissioner_npv": np.array([1.0, 2.0]), "commissioner_net_loss": np.array([1.0, 1.0])}
    assert _common._summary(d, "investor_mean_irr") == pytest.approx(0.2)
    assert _common._summary(d, "investor_loss_probability") == 0.5
    assert _common._summary(d, "commissioner_npv_mean") == 1.5
    assert np.isnan(_common._summary({"investor_irr": np.array([np.nan, np.nan])},
                                     "investor_mean_irr"))


def test_results_inputs_are_the_varied_parameters_then_the_money_ones(results):
    names, X = _common.results_inputs(results)
    out, money = results.outcomes, results.money
    params = [str(p) for k, p in enumerate(out["parameter"].values)
              if np.ptp(out["parameter_value"].values[:, k]) > 0]
    assert names == params + [str(p) for p in money["money_parameter"].values] + [
        str(p) for p in money["evaluation_parameter"].values]  # then the evaluations' inputs
    assert X.shape == (40, len(names))
    np.testing.assert_array_equal(X[:, :len(params)], out["parameter_value"].sel(
        parameter=params).transpose("draw", "parameter").values)
    n_money = money.sizes["money_parameter"]
    np.testing.assert_array_equal(X[:, len(params):len(params) + n_money],
                                  money["money_parameter_value"].values)
    np.testing.assert_array_equal(X[:, len(params) + n_money:],
                                  money["evaluation_parameter_value"].values)
    # fixed parameters are left out
    assert len(params) < out.sizes["parameter"] or len(params) == out.sizes["parameter"]
    fixed = sibsim.analyse(deal_with(saving=4_000.0, cost=800.0), draws=6, seed=1,
                           progress=False, with_breakeven=False)
    names2, X2 = _common.results_inputs(fixed)
    assert all(not n.startswith(("payers", "service_costs")) for n in names2)
    assert X2.shape == (6, len(names2))


def test_results_inputs_of_a_run_without_any():
    class R:
        outcomes = sibsim.analyse(deal_with(saving=4_000.0, cost=800.0), draws=4, seed=1,
                                  progress=False, with_breakeven=False).outcomes.drop_vars(
                                      "parameter_value")
        money = outcomes.assign(x=("draw", np.zeros(4)))

    names, X = _common.results_inputs(R())
    assert names == [] and X.shape == (4, 0)


def test_chain_output_equals_the_full_money_chain(chain):
    deal = chain.deal
    cost = np.linspace(600.0, 1000.0, 12)
    for name in OUTPUTS:
        full = _common.output_values(chain.evaluate({"service_costs.per_participant": cost}))
        assert chain.output({"service_costs.per_participant": cost}, name) == pytest.approx(
            full[name], rel=1e-12, nan_ok=True), name
    # an outcome input re-runs the outcomes; the money chain then runs in full
    eff = np.full(12, float(deal.scenario.effect.value.mean))
    for name in ("commissioner_npv_mean", "investor_mean_irr"):
        full = _common.output_values(chain.evaluate({"effect.value": eff}))
        assert chain.output({"effect.value": eff}, name) == pytest.approx(full[name],
                                                                          rel=1e-12), name
    # nothing set: the run's own money
    assert _common.output_values(chain.evaluate({})) == pytest.approx(
        _common.output_values(chain.money))


def test_chain_refuses_what_is_not_an_input(chain):
    with pytest.raises(ValueError, match=r"^input: got 'contract\.price'; allowed: an "
                                         r"uncertain input of the deal: .*effect\.value"):
        chain.output({"contract.price": np.ones(12)}, "commissioner_npv_mean")
    with pytest.raises(ValueError, match=r"^money input: got 'x'; allowed: an uncertain money "
                                         r"assumption of the deal: "):
        _common.with_money_values(chain.deal, {"x": np.ones(12)})
    with pytest.raises(ValueError, match=r"^deal: got 'Scenario'; allowed: a Deal with money "
                                         r"terms$"):
        Chain(chain.deal.scenario, 4, 1)


def test_with_money_values_sets_only_the_named_assumptions(chain):
    deal = chain.deal
    new = _common.with_money_values(deal, {f"{MOJ}.saving_per_event": np.full(12, 5_000.0)})
    moj = new.payers[0]
    assert np.all(np.asarray(moj.saving_per_event) == 5_000.0)
    assert np.asarray(moj.saving_per_event).shape == (12, 1)
    assert new.payers[1] is deal.payers[1] and new.service_costs is deal.service_costs
    assert deal.payers[0].saving_per_event == SAVING  # the original is unchanged
    cost = _common.with_money_values(deal, {"service_costs.per_participant": np.full(12, 1.0)})
    assert cost.payers == deal.payers
    assert np.all(np.asarray(cost.service_costs.per_participant) == 1.0)


# ------------------------------------------------------------------------------ tornado
def test_tornado_every_output_value_by_its_definition(chain):
    deal = chain.deal
    names = [f"{MOJ}.saving_per_event", "service_costs.per_participant"]
    t = tornado.tornado(deal, output="commissioner_npv_mean", draws=12, seed=3, inputs=names,
                        ranges={names[1]: (900.0, 700.0)})
    known = deal.uncertain_inputs()
    ends = {names[0]: tuple(float(stats.gamma.ppf(q, SAVING.shape, scale=SAVING.scale))
                            for q in (0.1, 0.9)), names[1]: (900.0, 700.0)}
    assert known[names[0]] == SAVING
    value = {n: [chain.output({n: np.full(12, x)}, "commissioner_npv_mean") for x in ends[n]]
             for n in names}
    swing = {n: abs(value[n][1] - value[n][0]) for n in names}
    order = sorted(names, key=lambda n: -swing[n])
    assert t["input"].values.tolist() == order
    for n in names:
        np.testing.assert_allclose(t["input_value"].sel(input=n).values, ends[n], rtol=1e-9)
        np.testing.assert_allclose(t["value"].sel(input=n).values, value[n], rtol=1e-12)
        assert float(t["swing"].sel(input=n)) == pytest.approx(swing[n], rel=1e-12)
    assert t["source"].values.tolist() == ["money", "money"]
    assert t["value"].attrs == {"units": "GBP",
                                "description": "Commissioner's mean NPV of net savings"}
    assert t["swing"].attrs == {"units": "GBP", "description": "|high - low|"}
    assert t["input_value"].attrs == {"description": "Value of the input at each end"}
    assert t["end"].values.tolist() == ["low", "high"]
    assert t.attrs == {"output": "commissioner_npv_mean",
                       "output_description": "Commissioner's mean NPV of net savings",
                       "base": pytest.approx(_common.output_values(chain.money)[
                           "commissioner_npv_mean"], rel=1e-12),
                       "draws": 12, "seed": 3, "ends": "user range",
                       "method": "tornado (one-way)"}


def test_tornado_default_ends_units_and_sources(chain):
    t = tornado.tornado(chain.deal, output="investor_loss_probability", draws=12, seed=3,
                        inputs=["effect.value", f"{MOJ}.saving_per_event"])
    assert t.attrs["ends"] == "10th and 90th percentiles"
    assert tornado.DEFAULT_LEVELS == (0.10, 0.90)
    assert t["value"].attrs["units"] == "probability"
    src = dict(zip(t["input"].values.tolist(), t["source"].values.tolist(), strict=True))
    assert src == {"effect.value": "outcome", f"{MOJ}.saving_per_event": "money"}
    # the saving per event does not move the investors' money: no swing, sorted last
    assert t["input"].values.tolist()[-1] == f"{MOJ}.saving_per_event"
    assert float(t["swing"].sel(input=f"{MOJ}.saving_per_event")) == 0.0
    d = chain.deal.uncertain_inputs()["effect.value"]
    lo, hi = t["input_value"].sel(input="effect.value").values
    assert lo < float(d.mean) < hi


def test_tornado_defaults_and_whole_number_ranges(chain, monkeypatch):
    """The documented defaults (1,000 draws, seed 0, the auto engine) reach the run, and ends
    given as whole numbers are the same ends as floats (the input values are floats)."""
    seen = {}

    class Stop(Exception):
        pass

    def fake_chain(deal, draws, seed, engine):
        seen.update(draws=draws, seed=seed, engine=engine)
        raise Stop

    monkeypatch.setattr(tornado, "Chain", fake_chain)
    with pytest.raises(Stop):
        tornado.tornado(chain.deal, inputs=["service_costs.per_participant"])
    assert seen == {"draws": 1000, "seed": 0, "engine": "auto"}
    monkeypatch.undo()
    cost = "service_costs.per_participant"
    ints = tornado.tornado(chain.deal, output="commissioner_npv_mean", draws=12, seed=3,
                           inputs=[cost], ranges={cost: (700, 900)})
    floats = tornado.tornado(chain.deal, output="commissioner_npv_mean", draws=12, seed=3,
                             inputs=[cost], ranges={cost: (700.0, 900.0)})
    assert ints["input_value"].dtype == np.float64
    xr.testing.assert_identical(ints, floats)


def test_tornado_sorts_a_missing_swing_last(chain, monkeypatch):
    # each end's output by its input and end (the ends run on threads, in any order): the
    # low end lies below the input's mean, the high end above it
    table = {f"{MOJ}.saving_per_event": (np.nan, 1.0), "service_costs.per_participant": (0.0, 0.5)}
    means = {k: float(chain.deal.uncertain_inputs()[k].mean) for k in table}

    def output(self, values, output):
        ((name, x),) = values.items()
        return table[name][int(float(x[0]) > means[name])]

    monkeypatch.setattr(Chain, "output", output)
    monkeypatch.setattr(tornado, "Chain", lambda *a: chain)
    t = tornado.tornado(chain.deal, output="investor_mean_irr", draws=12, seed=3,
                        inputs=[f"{MOJ}.saving_per_event", "service_costs.per_participant"])
    assert t["input"].values.tolist() == ["service_costs.per_participant",
                                          f"{MOJ}.saving_per_event"]
    assert np.isnan(float(t["swing"][1])) and float(t["swing"][0]) == 0.5
    assert t["value"].attrs["units"] == "per year"


def test_tornado_refuses_bad_inputs_and_ranges():
    deal = deal_with()
    cost = "service_costs.per_participant"
    with pytest.raises(ValueError, match=r"tornado\.inputs: got 'contract\.price'; allowed: "
                                         r"uncertain inputs of the deal: .*effect\.value"):
        tornado.tornado(deal, draws=4, inputs=["contract.price"])
    with pytest.raises(ValueError, match=r"tornado\.inputs: got \[\]; allowed: at least one "
                                         r"uncertain input"):
        tornado.tornado(deal, draws=4, inputs=[])
    with pytest.raises(ValueError, match=r"tornado\.ranges: got 'effect\.value'; allowed: "
                                         r"inputs that are varied: service_costs"):
        tornado.tornado(deal, draws=4, inputs=[cost], ranges={"effect.value": (0.1, 0.2)})
    with pytest.raises(ValueError, match=r"tornado\.ranges\[service_costs\.per_participant\]: "
                                         r"got .*; allowed: \(low, high\)"):
        tornado.tornado(deal, draws=4, inputs=[cost], ranges={cost: (1.0, 2.0, 3.0)})
    with pytest.raises((TypeError, ValueError),
                       match=r"tornado\.ranges\[service_costs\.per_participant\]"):
        tornado.tornado(deal, draws=4, inputs=[cost], ranges={cost: ("a", 2.0)})
    with pytest.raises(ValueError, match=r"draws: got 0"):
        tornado.tornado(deal, draws=0, inputs=[cost])
    with pytest.raises(ValueError, match=r"output: got 'x'"):
        tornado.tornado(deal, output="x", draws=4)


def test_tornado_run_is_tornado(chain):
    a = tornado.run(chain.deal, output="commissioner_npv_mean", draws=12, seed=3,
                    inputs=["service_costs.per_participant"])
    b = tornado.tornado(chain.deal, output="commissioner_npv_mean", draws=12, seed=3,
                        inputs=["service_costs.per_participant"])
    assert a.identical(b)


@pytest.mark.parametrize("module", [given_data, discovery])
def test_run_analyses_the_deal_with_the_documented_defaults(module, monkeypatch, results):
    """Without results, run() analyses the deal: 2,000 draws, seed 0, no progress bar, no
    break-even search (the sensitivity methods read the draws only)."""
    import sibsim.report

    seen = {}

    def fake(deal, **kw):
        seen.update(kw, deal=deal)
        return results

    monkeypatch.setattr(sibsim.report, "analyse", fake)
    deal = deal_with()
    module.run(deal)
    assert seen == {"deal": deal, "draws": 2000, "seed": 0, "progress": False,
                    "with_breakeven": False}
    module.run(deal, draws=7, seed=3)
    assert seen["draws"] == 7 and seen["seed"] == 3


def test_sobol_names_every_money_assumption_when_refusing():
    deal = deal_with()
    known = ", ".join([*sibsim.money.uncertain.money_parameters(deal),
                       "evaluation.reconviction.bias"])
    assert known.count(", ") == 2
    with pytest.raises(ValueError) as err:
        sobol.sobol(deal, inputs=["effect.value"], draws=4)
    assert str(err.value) == (f"sobol.inputs: got 'effect.value'; allowed: uncertain money "
                              f"assumptions and evaluation inputs of the deal: {known} "
                              "(scenario parameters: use method='given_data')")


def test_tornado_input_values_dims_engine_and_a_deal_without_uncertain_inputs(chain,
                                                                             monkeypatch):
    t = tornado.tornado(chain.deal, output="commissioner_npv_mean", draws=12, seed=3,
                        inputs=["service_costs.per_participant"])
    assert t["input_value"].dims == ("input", "end") and t["swing"].dims == ("input",)
    from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Scenario
    from sibsim.money import Contract, MetricTerms, PricePerUnit
    from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
    from sibsim.money.deal import Deal
    from sibsim.money.evaluation import Evaluation

    fixed = Deal(scenario=Scenario(outcome=CountOutcome(0.5), horizon=1,
                                   effect=Effect("rr", 0.8), comparison=ComparisonGroup(ratio=1.0),
                                   cohort=Cohort(size=100)),
                 evaluations=(Evaluation("m"),),
                 contract=Contract((MetricTerms("m", PricePerUnit(1.0, threshold=0.1)),)),
                 service_costs=ServiceCosts(per_participant=1.0),
                 capital=CapitalStructure((Tranche("fund", 1e6),)))
    assert fixed.uncertain_inputs() == {}
    with pytest.raises(ValueError, match=r"^tornado\.inputs: got 'x'; allowed: uncertain inputs "
                                         r"of the deal: none \(give some inputs "
                                         r"distributions\)$"):
        tornado.tornado(fixed, draws=4, inputs=["x"])
    seen = []
    monkeypatch.setattr(tornado, "Chain", lambda *a: seen.append(a) or chain)
    tornado.tornado(chain.deal, output="commissioner_npv_mean", draws=12, seed=3,
                    inputs=["service_costs.per_participant"], engine="aggregate")
    assert seen[0][1:] == (12, 3, "aggregate")
