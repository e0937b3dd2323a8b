"""Uncertain money assumptions (savings rates, service costs, other costs as distributions)
and correlated inputs through a Gaussian copula."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import sibsim
from sibsim.analysis.replay import without_policy
from sibsim.money.sib import counterfactual, money_flows
from sibsim.money.uncertain import money_parameters, sample_money
from sibsim.scenario_file import ScenarioFileError, load_scenario
from sibsim.spec.correlation import Correlation, quantile
from sibsim.spec.distributions import Fixed, Gamma, Normal, Uniform

MOJ = "payers[Ministry of Justice]"
SAVING = Gamma.from_mean_sd(4_000.0, 800.0)
PER_PARTICIPANT = Gamma.from_mean_sd(800.0, 100.0)
OTHER = Uniform(1_000.0, 5_000.0)


def uncertain_deal(deal=None):
    """Peterborough with an uncertain saving per avoided event, cost per participant and
    payer's own costs."""
    # the contract as designed: without the scenario's risk of cancelling the third cohort
    deal = deal or without_policy(sibsim.load_scenario("peterborough"))
    moj, fund = deal.payers
    return deal.replace(
        payers=(replace(moj, saving_per_event=SAVING, other_costs_per_period=OTHER), fund),
        service_costs=replace(deal.service_costs, per_participant=PER_PARTICIPANT))


@pytest.fixture(scope="module")
def run():
    deal = uncertain_deal()
    ds = sibsim.simulate(deal, draws=400, seed=3, progress=False)
    cf = counterfactual(deal, 400, 3)
    return deal, ds, money_flows(deal, ds, cf)


def test_money_parameters_are_named_and_sampled_per_draw(run):
    deal, _, money = run
    names = ["service_costs.per_participant", f"{MOJ}.saving_per_event",
             f"{MOJ}.other_costs_per_period"]
    assert sorted(money_parameters(deal)) == sorted(names)
    assert sorted(money["money_parameter"].values.tolist()) == sorted(names)
    vals = money["money_parameter_value"]
    assert vals.dims == ("draw", "money_parameter")
    # each marginal is its distribution (KS test at a fixed seed)
    for name, dist in money_parameters(deal).items():
        x = vals.sel(money_parameter=name).values
        assert stats.kstest(x, lambda q, d=dist: _cdf(d, q)).pvalue > 0.001


def _cdf(d, q):
    if isinstance(d, Gamma):
        return stats.gamma.cdf(q, d.shape, scale=d.scale)
    return stats.uniform.cdf(q, d.low, d.high - d.low)


def test_sampled_values_enter_the_arithmetic(run):
    """Savings, service costs and own costs per draw, checked against their definitions."""
    deal, ds, money = run
    vals = money["money_parameter_value"]
    saving = vals.sel(money_parameter=f"{MOJ}.saving_per_event").values
    cash = money["cashable_savings_by_payer"].sel(payer="Ministry of Justice").values
    np.testing.assert_allclose(cash, money["avoided_events"].values * saving[:, None],
                               rtol=1e-12, atol=1e-9)
    cost = vals.sel(money_parameter="service_costs.per_participant").values
    served = money["participants_served"].values
    fixed = np.asarray(deal.service_costs.fixed_per_period)
    np.testing.assert_allclose(money["service_costs"].values,
                               fixed[None, :] + cost[:, None] * served, rtol=1e-12)
    other = vals.sel(money_parameter=f"{MOJ}.other_costs_per_period").values
    assert money["other_costs_by_payer"].dims == ("draw", "payer", "period")
    np.testing.assert_array_equal(
        money["other_costs_by_payer"].sel(payer="Ministry of Justice").values,
        np.repeat(other[:, None], ds.sizes["period"], 1))
    net = (money["cashable_savings"] + money["flow"].sel(party="commissioner")
           - money["commissioner_other_costs"])
    np.testing.assert_allclose(money["net_savings"].values,
                               net.transpose("draw", "period").values, rtol=1e-12, atol=1e-6)


def test_fixed_distribution_is_the_number():
    deal = sibsim.load_scenario("peterborough")
    moj, fund = deal.payers
    same = deal.replace(payers=(replace(moj, saving_per_event=Fixed(moj.saving_per_event)),
                                fund))
    assert same == deal and not money_parameters(same)
    a = sibsim.analyse(deal, draws=50, seed=1, progress=False, with_breakeven=False)
    b = sibsim.analyse(same, draws=50, seed=1, progress=False, with_breakeven=False)
    assert a.money.identical(b.money) and "money_parameter_value" not in a.money


def test_results_do_not_depend_on_blocks():
    deal = uncertain_deal()
    corr = Correlation(("effect.value", f"{MOJ}.saving_per_event"), ((1, -0.5), (-0.5, 1)))
    deal = deal.replace(correlation=corr)
    one = sibsim.analyse(deal, draws=120, seed=5, progress=False)
    blocks = sibsim.analyse(deal, draws=120, seed=5, progress=False, block_draws=50)
    for group in ("money", "investors", "municipality", "breakeven"):
        assert getattr(one, group).identical(getattr(blocks, group)), group


def test_a_distribution_must_respect_the_amount_range():
    deal = sibsim.load_scenario("peterborough")
    with pytest.raises(ValueError, match=r"per_participant.*values lie in"):
        replace(deal.service_costs, per_participant=Normal(800.0, 50.0))


def _koto(tmp_path: Path, old: str, new: str) -> Path:
    text = (Path(sibsim.__file__).parent / "scenarios" / "koto-sib.toml").read_text()
    assert old in text
    path = tmp_path / "koto.toml"
    path.write_text(text.replace(old, new))
    return path


def test_toml_distributions_for_money_assumptions(tmp_path):
    path = _koto(tmp_path, "saving_per_person_period = {training = 2_481, jobseeking = 2_481}",
                 'saving_per_person_period = {training = {dist = "gamma", mean = 2481, '
                 'sd = 400}, jobseeking = 2_481}\nother_costs_per_period = {dist = "uniform", '
                 'low = 0, high = 1000}')
    deal = load_scenario(path)
    assert money_parameters(deal) == {
        "payers[Kela].saving_per_person_period[training]": Gamma.from_mean_sd(2481, 400),
        "payers[Kela].other_costs_per_period": Uniform(0.0, 1000.0)}
    path = _koto(tmp_path, "per_participant = 500",
                 'per_participant = {dist = "triangular", low = 400, mode = 500, high = 700}')
    assert list(money_parameters(load_scenario(path))) == ["service_costs.per_participant"]


@pytest.mark.parametrize("old,new,key", [
    ("price = 1_500 ", 'price = {dist = "uniform", low = 1000, high = 2000} ',
     "contract.rate_cards[0].price"),
    ("target_irr = 0.05 ", 'target_irr = {dist = "uniform", low = 0.01, high = 0.1} ',
     "investors.target_irr"),
    ("commitment = 14_300_000 ", 'commitment = {dist = "uniform", low = 1e7, high = 2e7} ',
     "capital.tranches[0].commitment"),
])
def test_decisions_refuse_distributions_and_say_why(tmp_path, old, new, key):
    with pytest.raises(ScenarioFileError, match="decision of the deal") as err:
        load_scenario(_koto(tmp_path, old, new))
    assert key in str(err.value)


# ----------------------------------------------------------------------------- correlation
@pytest.mark.parametrize("matrix,words", [
    (((1, 0.3), (0.2, 1)), "symmetric"),
    (((1, 0.3), (0.3, 0.9)), "1 on the diagonal"),
    (((1, 0.9, -0.9), (0.9, 1, 0.9), (-0.9, 0.9, 1)), "positive semi-definite"),
    (((1, 0.3, 0.1), (0.3, 1, 0.1)), "rows"),
    (((1, 1.5), (1.5, 1)), r"\[-1, 1\]"),
])
def test_correlation_matrix_is_checked(matrix, words):
    names = ("a", "b", "c")[:len(matrix[0])]
    with pytest.raises(ValueError, match=words):
        Correlation(names, matrix)


def test_correlation_names_uncertain_inputs():
    deal = uncertain_deal()
    with pytest.raises(ValueError, match=r"inputs\[1\].*uncertain inputs"):
        deal.replace(correlation=Correlation(("effect.value", "no.such"), ((1, 0), (0, 1))))
    with pytest.raises(ValueError, match="uncertain inputs"):  # a fixed number is not one
        sibsim.load_scenario("peterborough").replace(correlation=Correlation(
            ("effect.value", f"{MOJ}.saving_per_event"), ((1, 0), (0, 1))))


def _fisher_ok(x, y, target, n):
    """Spearman correlation within 4 standard errors of the target (Fisher z, variance
    1.06 / (n - 3), Fieller et al. 1957)."""
    r = stats.spearmanr(x, y)[0]
    return abs(np.arctanh(r) - np.arctanh(target)) < 4 * np.sqrt(1.06 / (n - 3)), r


def test_copula_reaches_the_target_and_keeps_the_marginals():
    names = ("service_costs.per_participant", f"{MOJ}.saving_per_event",
             f"{MOJ}.other_costs_per_period")
    target = np.array([[1, 0.7, -0.4], [0.7, 1, 0.0], [-0.4, 0.0, 1]])
    deal = uncertain_deal().replace(correlation=Correlation(names, target.tolist()))
    n = 4000
    vals = sample_money(deal, seed=11, draws=np.arange(n))
    for i in range(3):
        for j in range(i + 1, 3):
            ok, r = _fisher_ok(vals[names[i]], vals[names[j]], target[i, j], n)
            assert ok, (names[i], names[j], r)
    for name, dist in money_parameters(deal).items():
        assert stats.kstest(vals[name], lambda q, d=dist: _cdf(d, q)).pvalue > 0.001
    # a block of draws gets the values the whole run gives them
    part = sample_money(deal, seed=11, draws=np.arange(1000, 1500))
    np.testing.assert_array_equal(part[names[0]], vals[names[0]][1000:1500])


def test_copula_reaches_scenario_parameters():
    deal = uncertain_deal().replace(correlation=Correlation(
        ("effect.value", f"{MOJ}.saving_per_event"), ((1, 0.6), (0.6, 1))))
    n = 1500
    ds = sibsim.simulate(deal, draws=n, seed=2, engine="expected", progress=False)
    effect = ds["parameter_value"].sel(parameter="effect.value").values
    saving = sample_money(deal, seed=2, draws=np.arange(n))[f"{MOJ}.saving_per_event"]
    ok, r = _fisher_ok(effect, saving, 0.6, n)
    assert ok, r
    dist = deal.scenario.parameters()["effect.value"]
    assert stats.kstest(effect, stats.lognorm(dist.sdlog, scale=np.exp(dist.meanlog)).cdf
                        ).pvalue > 0.001


def test_quantile_matches_scipy():
    u = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(quantile(Gamma(2.0, 3.0), u), stats.gamma.ppf(u, 2.0, scale=3.0))
    np.testing.assert_allclose(quantile(Uniform(1.0, 3.0), u), [1.2, 2.0, 2.8])


def test_correlation_table_in_toml(tmp_path):
    path = _koto(tmp_path, "per_participant = 500",
                 'per_participant = {dist = "gamma", mean = 500, sd = 50}')
    text = path.read_text() + ('\n[correlation]\ninputs = ["effect.value", '
                               '"service_costs.per_participant"]\nmatrix = [[1, 0.5], '
                               '[0.5, 1]]\n')
    path.write_text(text)
    deal = load_scenario(path)
    assert deal.correlation.inputs == ("effect.value", "service_costs.per_participant")
    path.write_text(text.replace("[0.5, 1]]", "[0.4, 1]]"))
    with pytest.raises(ScenarioFileError, match="symmetric"):
        load_scenario(path)
