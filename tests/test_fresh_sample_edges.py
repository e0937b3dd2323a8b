"""Edges that a fresh mutation sample (benchmarks/results/mutation-fresh-sample.json, seed 7)
found unguarded in money/termination.py, money/results.py, money/payer_scope.py,
money/uncertain.py and money/irr.py: a settlement boundary, the exact words of refusals, a
cancellation's period per draw, what Achievements and PaymentResult hand back, a scoped payer's
savings over two processes, and IRR/NPV of flows in a dtype the kernels do not compile for.

Each test kills one surviving mutant, confirmed by planting it by hand.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

import sibsim
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.contract import Caps
from sibsim.money.irr import irr, npv
from sibsim.money.pricing import ClaimShare
from sibsim.money.results import Achievements, EvaluationTable
from sibsim.money.sib import money_flows
from sibsim.money.termination import CancelLaterCohorts, check_claim_share
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec.distributions import Beta, Dirichlet, Normal
from test_multi_process import MONEY_TOML, MULTI_TOML
from test_termination_edges import _stopping


def full(message: str) -> str:
    """A pattern matching exactly ``message``."""
    return "^" + re.escape(message) + "$"


# ------------------------------------------------------------------ termination.py
def test_a_result_known_in_the_stop_period_does_not_delay_the_settlement():
    """Stop in period 1 (after the result known in 0), lag 2: the result known in 0 is paid in
    2, so the deal settles in 2; the result known in 1 (the stop period itself) is not due and
    would have pushed the settlement to 3 (_settle_at's ``<``)."""
    deal = _stopping(2, "last")
    ds = sibsim.simulate(deal, draws=2, seed=1, progress=False)
    money = money_flows(deal, ds)
    assert money["stop_period"].values.tolist() == [1, 1]
    assert money["settlement_period"].values.tolist() == [2, 2]
    pay = money["outcome_payments"].values
    assert (pay[:, 2] > 0).all() and pay.sum() == pay[:, 2].sum()


def test_claim_share_refusals_name_the_field():
    terms = (MetricTerms("m", ClaimShare(0.95, 0.4)),)
    with pytest.raises(ValueError, match=full(
            "Contract.caps.per_person: got 100.0; allowed: None with a claim-tied share (the "
            "waterfall computes it and applies only the metric's cap)")):
        check_claim_share(Contract(terms, caps=Caps(per_person=100.0)))
    with pytest.raises(ValueError, match=full(
            "Contract.terms: got ['m', 'n']; allowed: at most one metric with a claim-tied "
            "share (kind 'claim_share')")):
        check_claim_share(Contract((*terms, MetricTerms("n", ClaimShare(0.9, 0.4)))))


@pytest.mark.parametrize(("from_period", "n_periods"), [(2, 8), (5, 3)])
def test_a_cancellation_stops_from_its_period_in_the_draws_where_it_happens(from_period,
                                                                              n_periods):
    rule = CancelLaterCohorts(from_period=from_period, probability=0.5)
    draws = np.arange(40)
    happens = rule.happens(seed=3, draws=draws)
    assert 0 < happens.sum() < 40
    got = rule.cancel_period(seed=3, draws=draws, n_periods=n_periods)
    assert got.dtype == np.int64
    want = [min(from_period, n_periods) if h else n_periods for h in happens]
    assert got.tolist() == want


def test_a_cancellation_probability_as_a_distribution():
    beta = Beta(3.0, 7.0)
    assert CancelLaterCohorts(from_period=2, probability=beta).probability == beta
    with pytest.raises(ValueError, match=full(
            "CancelLaterCohorts.probability: got 'normal(mu=0.3, sd=0.1)'; allowed: a "
            "probability: a distribution whose values lie in [0, 1] (this one ranges over "
            "[-inf, inf])")):
        CancelLaterCohorts(from_period=2, probability=Normal(0.3, 0.1))
    with pytest.raises(ValueError, match=full(
            "CancelLaterCohorts.probability: got 'dirichlet(alpha=(1.0, 2.0))'; allowed: a "
            "probability: a number in [0, 1] or a distribution with values in [0, 1]")):
        CancelLaterCohorts(from_period=2, probability=Dirichlet((1.0, 2.0)))


# ------------------------------------------------------------------ results.py
def test_achievements_keep_their_names_as_tuples_and_people_as_floats():
    a = Achievements(["training"], ["all"], [20], [[[[10.0, 4.0]]]])
    assert a.cards == ("training",) and a.strata == ("all",)
    assert a.participants.dtype == np.float64 and a.participants.tolist() == [20.0]


def test_an_evaluation_table_refuses_a_string_for_a_sequence():
    with pytest.raises(TypeError, match=full(
            "EvaluationTable.metric: got 'm'; allowed: a sequence, one entry per trigger")):
        EvaluationTable("m", (1,), (False,), (100,), measured_effect=[[0.1]], units=[[1.0]])


def test_payments_by_metric_are_described():
    table = EvaluationTable(("m",), (1,), (False,), (100,), measured_effect=[[0.1]],
                            units=[[3.0]])
    ds = Contract((MetricTerms("m", PricePerUnit(2.0)),)).outcome_payments(table, 3).to_dataset()
    var = ds["outcome_payment_by_metric"]
    assert var.attrs["description"] == "outcome payments per metric and period"
    assert var.values.sum() == pytest.approx(6.0)


# ------------------------------------------------------------------ payer_scope.py
SCOPED_PAYERS = """
[[payers]]
name = "scoped"
shares = 1.0
saving_per_event = {jail_days = 150}
saving_per_person_period = {homeless = 2000}
savings_strata = ["all"]
[[payers]]
name = "whole"
shares = 0.0
saving_per_event = {jail_days = 150}
saving_per_person_period = {homeless = 2000}
"""


def test_a_payer_scoped_to_every_stratum_saves_as_much_as_an_unscoped_one():
    """Two outcome processes (a Markov housing process and jail-day counts), one stratum
    ("all"): a payer whose savings count in "all" only saves exactly what the same payer
    without a scope saves, per person-period of its state and per event of its process."""
    deal = parse_scenario(tomllib.loads(
        MULTI_TOML + MONEY_TOML.split("[municipality]")[0] + SCOPED_PAYERS), "multi.toml")
    ds = sibsim.simulate(deal.scenario, draws=3, seed=2, progress=False)
    assert ds.sizes["process"] == 2 and ds["stratum"].values.tolist() == ["all"]
    cash = money_flows(deal, ds)["cashable_savings_by_payer"]
    scoped, whole = cash.sel(payer="scoped").values, cash.sel(payer="whole").values
    assert np.abs(whole).sum() > 0
    np.testing.assert_allclose(scoped, whole, rtol=1e-12)



def test_a_missing_outcome_shows_in_a_scoped_payers_savings():
    """A NaN among the treated arm's housing events (a damaged outcome dataset; no
    evaluation reads them) makes that period's savings NaN for the scoped payer as for the
    unscoped one: never a quietly smaller sum (_by_stratum's ``skipna=False``)."""
    deal = parse_scenario(tomllib.loads(
        MULTI_TOML + MONEY_TOML.split("[municipality]")[0] + SCOPED_PAYERS), "multi.toml")
    ds = sibsim.simulate(deal.scenario, draws=3, seed=2, progress=False).copy(deep=True)
    ds["events"].loc[{"draw": 0, "arm": "treatment", "period": 1, "process": "housing"}] = [
        [np.nan], [0.0]]  # (wave, stratum): the first wave's events
    cash = money_flows(deal, ds)["cashable_savings_by_payer"].sel(draw=0)
    for payer in ("scoped", "whole"):
        got = cash.sel(payer=payer).values
        assert np.isnan(got[1]) and np.isfinite(np.delete(got, 1)).all()

# ------------------------------------------------------------------ uncertain.py
def test_a_payers_bad_distribution_names_its_key(tmp_path):
    src = Path(sibsim.__file__).parent.joinpath("scenarios", "koto-sib.toml").read_text()
    kela = 'name = "Kela"\nshares = 0.0'
    assert src.count(kela) == 1
    path = tmp_path / "bad.toml"
    path.write_text(src.replace(kela, kela + '\nsaving_per_event = {dist = "normal", mean = 1.0}'))
    with pytest.raises(ScenarioFileError, match=full(
            f"{path}: key 'payers[1].saving_per_event': a normal distribution takes "
            "{mean, sd}; got ['mean']")):
        sibsim.load_scenario(path)


# ------------------------------------------------------------------ irr.py
@pytest.mark.parametrize("dtype", [np.float16, np.int32])
def test_irr_and_npv_take_any_real_dtype_as_float64(dtype):
    """float16 flows (a floating dtype the kernels do not compile for) and int32 flows give
    the IRR and NPV of the same numbers as float64."""
    flows = np.array([[-200.0, 60.0, 70.0, 80.0, 50.0], [-100.0, 30.0, 20.0, 10.0, 5.0]])
    small = flows.astype(dtype)
    assert np.array_equal(small.astype(np.float64), flows)
    np.testing.assert_array_equal(irr(small), irr(flows))
    np.testing.assert_array_equal(npv(0.05, small),
                                  npv(0.05, flows))
    assert irr(small[0]) == irr(flows[0])
