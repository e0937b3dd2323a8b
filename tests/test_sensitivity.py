"""Sensitivity analysis: tornado, given-data indices, Sobol indices, scenario discovery."""

from __future__ import annotations

from dataclasses import replace

import matplotlib
import numpy as np
import pytest
from scipy import stats

import sibsim
from sibsim.analysis.sensitivity import methods, sensitivity
from sibsim.analysis.sensitivity._common import output_values, per_draw_outputs
from sibsim.analysis.sensitivity.discovery import grow, statement, where_parties_lose
from sibsim.analysis.sensitivity.given_data import first_order, given_data
from sibsim.analysis.sensitivity.sobol import sobol, sobol_indices
from sibsim.cli import main
from sibsim.spec.distributions import Fixed, Gamma

matplotlib.use("Agg")
# a few draws of Peterborough with dearer service exceed the capital committed (said, not an
# error); these tests are about the sensitivity methods
pytestmark = pytest.mark.filterwarnings("ignore::sibsim.report.UnfundedCostsWarning")

MOJ = "payers[Ministry of Justice]"
SAVING = Gamma.from_mean_sd(4_000.0, 800.0)
COST = Gamma.from_mean_sd(800.0, 100.0)


def deal_with(saving=SAVING, cost=COST, deal=None):
    deal = deal or sibsim.load_scenario("peterborough")
    moj, fund = deal.payers
    return deal.replace(payers=(replace(moj, saving_per_event=saving), fund),
                        service_costs=replace(deal.service_costs, per_participant=cost))


# ----------------------------------------------------------------------------- Ishigami
A, B = 7.0, 0.1


def ishigami(x):
    return np.sin(x[0]) + A * np.sin(x[1]) ** 2 + B * x[2] ** 4 * np.sin(x[0])


def ishigami_indices():
    """Closed-form first-order and total indices (Ishigami and Homma 1990; Sobol' and
    Levitan 1999)."""
    v1 = 0.5 * (1 + B * np.pi ** 4 / 5) ** 2
    v2 = A ** 2 / 8
    v13 = B ** 2 * np.pi ** 8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / var, np.array([v1 + v13, v2, v13]) / var


def test_given_data_recovers_ishigami():
    rng = np.random.default_rng(7)
    X = rng.uniform(-np.pi, np.pi, (10_000, 3))
    S, se = first_order(X, ishigami(X.T), bootstrap=60, seed=1)
    exact, _ = ishigami_indices()
    # the binned estimator has a small smoothing bias (within-bin variation of E[Y|X]) on top
    # of its Monte Carlo error: 4 standard errors + 0.02
    assert np.all(np.abs(S - exact) < 4 * se + 0.02), (S, exact, se)
    assert np.all(se > 0) and np.all(se < 0.03)


def test_given_data_gives_zero_to_an_irrelevant_input():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3_000, 2))
    y = X[:, 0] + rng.normal(size=3_000)  # S_0 = 1/2, S_1 = 0
    S, se = first_order(X, y, bootstrap=100, seed=2)
    assert abs(S[1]) < 3 * se[1] and se[1] < 0.02
    assert abs(S[0] - 0.5) < 4 * se[0] + 0.02


def test_scipy_sobol_wrapper_recovers_ishigami():
    first, total = ishigami_indices()
    u = stats.uniform(-np.pi, 2 * np.pi)
    out = sobol_indices(ishigami, [u, u, u], n=4096, seed=1)
    np.testing.assert_allclose(out["first_order"], first, atol=0.05)
    np.testing.assert_allclose(out["total_order"], total, atol=0.05)
    with pytest.raises(ValueError, match="power of two"):
        sobol_indices(ishigami, [u, u, u], n=100)


# ----------------------------------------------------------------------------- tornado
@pytest.fixture(scope="module")
def tornado_npv():
    return sibsim.tornado(deal_with(), output="commissioner_npv_mean", draws=60, seed=4,
                          inputs=[f"{MOJ}.saving_per_event", "service_costs.per_participant",
                                  "effect.value"])


def test_tornado_ends_are_the_percentiles_and_sorted_by_swing(tornado_npv):
    t = tornado_npv
    assert t["value"].dims == ("input", "end") and list(t["end"].values) == ["low", "high"]
    lo, hi = t["input_value"].sel(input=f"{MOJ}.saving_per_event").values
    np.testing.assert_allclose([lo, hi], stats.gamma.ppf([0.1, 0.9], SAVING.shape,
                                                         scale=SAVING.scale))
    assert np.all(np.diff(t["swing"].values) <= 0)
    # a higher saving per avoided event cannot lower the commissioner's NPV
    low, high = t["value"].sel(input=f"{MOJ}.saving_per_event").values
    assert high > low


@pytest.mark.parametrize("name", [f"{MOJ}.saving_per_event", "effect.value"])
def test_tornado_end_equals_a_run_with_the_input_fixed(tornado_npv, name):
    """A money input re-uses the outcome draws and an outcome input re-runs them; either
    must equal a full run of the deal whose input is that number (the other inputs keep their
    draws: their streams are keyed by name)."""
    x = float(tornado_npv["input_value"].sel(input=name, end="high"))
    deal = deal_with()
    if name == "effect.value":
        deal = deal.with_scenario(effect=replace(deal.scenario.effect, value=Fixed(x)))
    else:
        deal = deal_with(saving=x)
    res = sibsim.analyse(deal, draws=60, seed=4, progress=False, with_breakeven=False)
    expected = output_values(res.money)["commissioner_npv_mean"]
    assert float(tornado_npv["value"].sel(input=name, end="high")) == pytest.approx(
        expected, rel=1e-12)


def test_tornado_user_ranges_and_errors():
    t = sensitivity(deal_with(), method="tornado", output="investor_loss_probability",
                    draws=40, seed=1, inputs=["service_costs.per_participant"],
                    ranges={"service_costs.per_participant": (500.0, 1500.0)})
    assert t["input_value"].values.tolist() == [[500.0, 1500.0]]
    low, high = t["value"].values[0]
    assert 0 <= low <= high <= 1  # dearer service: investors lose at least as often
    with pytest.raises(ValueError, match="uncertain inputs"):
        sibsim.tornado(deal_with(), draws=10, inputs=["contract.price"])
    with pytest.raises(ValueError, match="output"):
        sibsim.tornado(deal_with(), output="profit", draws=10)
    with pytest.raises(ValueError, match="method"):
        sensitivity(deal_with(), method="morris")
    assert methods() == ("discovery", "given_data", "sobol", "tornado")


def test_plot_tornado(tornado_npv):
    ax = sibsim.plot_tornado(tornado_npv)
    assert len(ax.get_yticklabels()) == 3
    assert "One-way" in ax.get_title()


@pytest.mark.parametrize("n_inputs", [1, 3])
def test_tornado_figure_texts_do_not_overlap_or_leave_the_figure(tornado_npv, n_inputs):
    # with one input the legend, placed at a share of the axes' height, sat on the x label;
    # with long input names the one-line title ran out of the figure
    import matplotlib.pyplot as plt

    ax = sibsim.plot_tornado(tornado_npv.isel(input=slice(0, n_inputs)))
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    label = ax.xaxis.label.get_window_extent(renderer)
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    assert not legend.overlaps(label)
    assert not any(legend.overlaps(t) for t in ticks)
    whole = fig.bbox
    for text in (ax.title, ax.xaxis.label):
        box = text.get_window_extent(renderer)
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1 and box.y1 <= whole.y1
    assert legend.y0 >= whole.y0
    plt.close(fig)


# ----------------------------------------------------------------------------- on a run
@pytest.fixture(scope="module")
def results():
    return sibsim.analyse(deal_with(), draws=600, seed=2, progress=False,
                          with_breakeven=False)


def test_given_data_on_a_run(results):
    s = given_data(results, bootstrap=30)
    assert s["first_order"].dims == ("output", "input")
    assert f"{MOJ}.saving_per_event" in s["input"].values
    # the saving per event does not touch the investors' money; it drives the NPV
    npv = s["first_order"].sel(output="commissioner_npv")
    irr = s["first_order"].sel(output="investor_irr")
    se = s["standard_error"].sel(output="investor_irr", input=f"{MOJ}.saving_per_event")
    assert abs(float(irr.sel(input=f"{MOJ}.saving_per_event"))) < 3 * float(se) + 0.01
    se_npv = s["standard_error"].sel(output="commissioner_npv", input=f"{MOJ}.saving_per_event")
    assert float(npv.sel(input=f"{MOJ}.saving_per_event")) > 3 * float(se_npv)


def test_per_draw_outputs_are_the_metrics(results):
    """The lean per-draw outputs equal the full metrics' definitions."""
    out = per_draw_outputs(results.money)
    inv = results.investors.sel(investor="all")
    mun = results.municipality
    np.testing.assert_array_equal(out["investor_irr"], inv["irr_annual"].values)
    np.testing.assert_array_equal(out["investor_loss"], inv["loss"].values)
    np.testing.assert_array_equal(out["commissioner_npv"], mun["npv_net_savings"].values)
    np.testing.assert_array_equal(out["commissioner_net_loss"], mun["net_loss"].values)


def test_where_parties_lose_on_a_run(results):
    out = where_parties_lose(results)
    assert set(out) == {"investor_loss", "commissioner_net_loss"}
    assert out["investor_loss"]["statement"].startswith("Investors lose")


def test_sobol_of_the_money_chain():
    deal = deal_with()
    money = [f"{MOJ}.saving_per_event", "service_costs.per_participant"]
    # by default the evaluation's bias too (tests/test_evaluation_inputs.py); the money here
    names = list(sobol(deal, draws=10, seed=1, n=8)["input"].values)
    assert sorted(names[:2]) == sorted(money) and names[2:] == ["evaluation.reconviction.bias"]
    s = sobol(deal, output="commissioner_npv_mean", draws=30, seed=1, n=16, inputs=money)
    assert s["first_order"].dims == ("input",) and s.attrs["evaluations"] == 16 * 4
    # the saving per event enters the commissioner's NPV linearly and dominates it
    assert float(s["first_order"].sel(input=f"{MOJ}.saving_per_event")) > 0.5
    with pytest.raises(ValueError, match="given_data"):
        sobol(deal, inputs=["effect.value"], draws=10)


# ----------------------------------------------------------------------------- discovery
def test_discovery_finds_a_known_region():
    rng = np.random.default_rng(5)
    n = 5_000
    X = rng.uniform(0, 1, (n, 3))
    region = (X[:, 1] > 0.6) & (X[:, 2] < 0.5)  # 20% of draws
    loss = np.where(region, rng.uniform(size=n) < 0.9, rng.uniform(size=n) < 0.05)
    tree = grow(X, loss, ["a", "b", "c"])
    text = statement(tree, "Investors lose")
    assert "b > 0.6" in text and "c <= 0.5" in text, text
    rate = float(text.split(" in ")[1].split("%")[0]) / 100
    assert abs(rate - 0.9) < 4 * np.sqrt(0.09 / (0.2 * n))
    assert statement(grow(X, np.zeros(n), ["a", "b", "c"]), "Investors lose") == \
        "Investors lose in none of the draws."


# ----------------------------------------------------------------------------- CLI
def test_cli_sensitivity_tornado_writes_a_figure(tmp_path, capsys):
    fig = tmp_path / "t.png"
    code = main(["sensitivity", "peterborough", "--method", "tornado", "--output",
                 "investor_mean_irr", "--draws", "30", "--seed", "1", "--figure", str(fig)])
    out = capsys.readouterr().out
    assert code == 0 and fig.stat().st_size > 1000
    assert "effect.value" in out and "low end" in out
    assert "(GBP)" not in out  # a rate: no currency


def test_cli_sensitivity_tornado_names_the_currency_of_money(capsys):
    assert main(["sensitivity", "peterborough", "--output", "commissioner_npv_mean",
                 "--draws", "30", "--seed", "1"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Commissioner's mean NPV of net savings (GBP): base ")


def test_cli_sensitivity_refuses_bad_input(tmp_path, capsys):
    assert main(["sensitivity", "peterborough", "--draws", "0"]) == 2
    assert main(["sensitivity", "peterborough", "--figure", str(tmp_path / "t.xyz")]) == 2
    err = capsys.readouterr().err
    assert err.count("sibsim: error:") == 2


@pytest.mark.parametrize("name", ["chicago-cpc", "denver-housing", "koto-sib",
                                  "massachusetts-roca", "nyc-able", "peterborough", "tyhy-sib",
                                  "lapset-sib-2"])
def test_the_counterfactual_of_the_treated_arm_gives_the_money_of_both_arms(name):
    """counterfactual() computes the treatment arm alone; that arm must be the one of the
    expected engine's run of both arms without the service (its correlated inputs drawn as a
    run draws them), and the money the same bit for bit, here and in the sensitivity chain
    with a baseline input set."""
    from sibsim.analysis.sensitivity._common import Chain
    from sibsim.money.sib import counterfactual, money_flows
    from sibsim.spec.correlation import outcome_overrides

    deal = sibsim.load_scenario(name)
    base = deal.scenario.with_effect(None)
    both = sibsim.simulate(base, 30, 2, engine="expected", progress=False,
                           overrides=outcome_overrides(deal.correlation, base, 2, 0, 30) or None)
    cf = counterfactual(deal, 30, 2)
    assert list(cf["arm"].values) == ["treatment"]
    for k in ("events", "occupancy", "engaged"):
        if k in both:
            np.testing.assert_array_equal(cf[k].values, both[k].sel(arm=["treatment"]).values,
                                          err_msg=k)
    chain = Chain(deal, 30, 2)
    a = money_flows(deal, chain.ds, cf)
    b = money_flows(deal, chain.ds, both)
    for k in b.data_vars:
        np.testing.assert_array_equal(a[k].values, b[k].values, err_msg=k)
    # a baseline input set: the chain's counterfactual follows it as the two-arm run would
    scalar = set(chain.ds["parameter"].values)  # a Markov row is a vector: not one of them
    name0 = next((k for k in base.parameters() if k in scalar), None)
    if name0 is None:
        return
    x = np.full(30, float(chain.ds["parameter_value"].sel(parameter=name0).mean()))
    _, _, cf, _ = chain._inputs({name0: x})
    over = {**(outcome_overrides(deal.correlation, base, 2, 0, 30) or {}), name0: x}
    both = sibsim.simulate(base, 30, 2, engine="expected", progress=False, overrides=over)
    np.testing.assert_array_equal(cf["events"].sel(arm="treatment").values,
                                  both["events"].sel(arm="treatment").values)


def test_tornado_says_which_uncertain_parameters_it_cannot_vary(tmp_path, capsys):
    """A Dirichlet row of transition probabilities has no one-way ends: the tornado says so
    (attrs and the command's text) instead of leaving it out without a word."""
    path = tmp_path / "employment.toml"
    assert main(["new", "--template", "employment", str(path)]) == 0
    deal = sibsim.load_scenario(path)
    multi = [n for n, d in deal.scenario.parameters().items()
             if not isinstance(d, Fixed) and d.size > 1]
    assert multi == ["baseline.transition[0].outside"]
    t = sensitivity(deal, method="tornado", draws=40, seed=1)
    assert t.attrs["not_varied"] == multi[0]
    assert "not_varied" not in sensitivity(deal, method="tornado", draws=40, seed=1,
                                           inputs=["effect.value"]).attrs
    capsys.readouterr()
    assert main(["sensitivity", str(path), "--draws", "40", "--seed", "1"]) == 0
    assert f"Not varied (several numbers each, no one-way ends; --method given_data takes " \
           f"each number): {multi[0]}" in capsys.readouterr().out
