"""The deal's lifecycle: termination rules, settlement at stop or maturity, recycling, drawdowns
that follow needs, and the claim-tied savings share computed in the waterfall."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.money import (
    CapitalStructure,
    Caps,
    Contract,
    EvaluationTable,
    Fees,
    FirstLossGuarantee,
    MetricTerms,
    PricePerUnit,
    ProRataGuarantee,
    Tranche,
    waterfall,
)
from sibsim.money.kernels.waterfall import ClaimShareArrays, LifecycleArrays
from sibsim.money.pricing import PRICING_RULES, ClaimShare
from sibsim.money.sib import counterfactual, money_flows
from sibsim.money.termination import (
    TERMINATION_RULES,
    EffectBelow,
    StopLoss,
    check_claim_share,
)
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec.toml import Section

# ----------------------------------------------------------------------------- rules


def _table(effects, periods=(1, 2), gate=None):
    eff = np.asarray(effects, dtype=float)
    k = eff.shape[1]
    return EvaluationTable(("m",) * k, periods, (False,) * k, (100,) * k,
                           measured_effect=eff, units=np.zeros_like(eff), gate=gate)


def test_effect_below_stops_the_period_after_the_first_result():
    table = _table([[0.05, 0.2], [0.2, 0.01], [0.2, 0.2]])
    assert EffectBelow("m", 0.1).stop_period(table, 5).tolist() == [2, 5, 5]
    assert EffectBelow("m", 0.1, results="any").stop_period(table, 5).tolist() == [2, 3, 5]
    assert EffectBelow("m", 0.1, notice=2).stop_period(table, 5).tolist() == [4, 5, 5]
    assert EffectBelow("m", 0.1, notice=9).stop_period(table, 5).tolist() == [5, 5, 5]


def test_effect_below_can_also_stop_on_a_failed_gate():
    gate = np.array([[False, True], [True, True]])
    table = _table([[0.2, 0.2], [0.2, 0.2]], gate=gate)
    assert EffectBelow("m", 0.1).stop_period(table, 4).tolist() == [4, 4]
    assert EffectBelow("m", 0.1, or_not_significant=True).stop_period(table, 4).tolist() == [2, 4]


def test_effect_below_ignores_other_metrics():
    table = EvaluationTable(("other", "m"), (0, 2), (False, False), (1, 1),
                            measured_effect=[[0.0, 0.5]], units=[[0.0, 0.0]])
    assert EffectBelow("m", 0.1).stop_period(table, 6).tolist() == [6]


def test_rule_fields_are_validated():
    with pytest.raises(ValueError, match=r"EffectBelow\.threshold.*0\.085"):
        EffectBelow("m", 8.5)
    with pytest.raises(ValueError, match=r"EffectBelow\.results"):
        EffectBelow("m", 0.1, results="last")
    with pytest.raises(ValueError, match="exactly one of amount or share_of_commitment"):
        StopLoss()
    with pytest.raises(ValueError, match="exactly one"):
        StopLoss(amount=1.0, share_of_commitment=0.5)
    assert StopLoss(share_of_commitment=0.25).limit(400.0) == 100.0
    assert TERMINATION_RULES["stop_loss"] is StopLoss


def test_claim_share_is_registered_and_validated():
    assert PRICING_RULES["claim_share"] is ClaimShare
    with pytest.raises(ValueError, match=r"ClaimShare\.share_after"):
        ClaimShare(share_until_repaid=0.4, share_after=0.95)
    with pytest.raises(ValueError, match=r"a fraction: write 0\.95"):
        ClaimShare(share_until_repaid=95, share_after=0.4)
    with pytest.raises(ValueError, match="repaid_multiple"):
        ClaimShare(0.95, 0.4, repaid_multiple=0.9)


def test_claim_share_with_contract_caps_is_refused():
    terms = (MetricTerms("m", ClaimShare(0.95, 0.4)),)
    check_claim_share(Contract(terms))
    with pytest.raises(ValueError, match=r"Contract\.caps\.total"):
        check_claim_share(Contract(terms, caps=Caps(total=1e6)))
    two = (*terms, MetricTerms("n", ClaimShare(0.9, 0.4)))
    with pytest.raises(ValueError, match="at most one metric"):
        check_claim_share(Contract(two))
    mixed = (MetricTerms("m", ClaimShare(0.95, 0.4), pooled_rule=PricePerUnit(1.0)),)
    with pytest.raises(ValueError, match="pooled_rule"):
        check_claim_share(Contract(mixed))


def test_claim_share_lowering_routes_avoided_cost_to_payment_periods():
    rule = ClaimShare(0.95, 0.4, threshold=0.1)
    arrays = rule.lower(measured_effect=[[0.2, 0.05, 0.2]], avoided_cost=[[100.0, 50.0, 300.0]],
                        gate=[[True, True, True]], cumulative=(False, False, True),
                        pay_period=(1, 2, 3), n_periods=4)
    # cohort 1 shares 100, cohort 2 is below the threshold, the pooled top-up shares 300 - 100
    assert arrays.avoided.tolist() == [[0.0, 100.0, 0.0, 200.0]]


# ----------------------------------------------------------------------------- the kernel


def _life(n_draws, n_periods, stop=None, settle_at=None, stop_loss=np.inf, claim=None):
    life = LifecycleArrays.none(n_draws, n_periods)
    return LifecycleArrays(
        life.stop if stop is None else np.asarray(stop, np.int64),
        life.settle_at if settle_at is None else np.asarray(settle_at, np.int64),
        float(stop_loss), ClaimShareArrays.none() if claim is None else claim)


def _need(cs, costs, flows_drawdown, stop):
    """Service costs plus fees due in each period before the stop (what drawdowns fund)."""
    fees = cs.fees.lower(costs.shape[1]) if cs.fees else None
    drawn_before = np.cumsum(flows_drawdown, axis=1) - flows_drawdown
    need = costs.copy()
    if fees is not None:
        need = need + fees.fixed[None, :] + fees.mgmt_rate * drawn_before
    t = np.arange(costs.shape[1])
    return np.where(t[None, :] < stop[:, None], need, 0.0)


def test_default_lifecycle_is_the_plain_waterfall_bitwise():
    rng = np.random.default_rng(0)
    cs = CapitalStructure((Tranche("s", 300.0, 1, 0.05, 1.5), Tranche("j", 200.0, 2, 0.1)),
                          guarantee=FirstLossGuarantee("F", 0.5, covers="first_loss"),
                          fees=Fees(5.0, 0.01), excess_to="investors")
    costs, pay = rng.uniform(0, 150, (50, 6)), rng.uniform(0, 300, (50, 6))
    a = waterfall(cs, costs, pay)
    b = waterfall(cs, costs, pay, _life(50, 6))
    assert a.flows.tobytes() == b.flows.tobytes()
    assert a.guarantee_paid.tobytes() == b.guarantee_paid.tobytes()
    assert a.stop_period.tolist() == [6] * 50 and a.settlement_period.tolist() == [5] * 50


def test_stop_ends_costs_fees_drawdowns_and_settles_the_guarantee():
    cs = CapitalStructure((Tranche("senior", 1000.0),), fees=Fees(10.0),
                          guarantee=FirstLossGuarantee("F", 0.5))
    costs = np.full((2, 5), 100.0)
    pay = np.zeros((2, 5))
    pay[:, 4] = 50.0  # a payment already due, paid after the stop
    settle_at = np.array([0, 1, 4, 4, 4, 4])  # a stop from 2 settles once period 4's money is in
    cf = waterfall(cs, costs, pay, _life(2, 5, stop=[2, 5], settle_at=settle_at))
    assert cf.drawdown_total[0].tolist() == [110.0, 110.0, 0.0, 0.0, 0.0]
    assert cf.party("provider")[0].tolist() == [100.0, 100.0, 0.0, 0.0, 0.0]
    assert cf.party("intermediary")[0].tolist() == [10.0, 10.0, 0.0, 0.0, 0.0]
    # drawn 220, received 50: loss 170 <= 0.5 x 220, paid in the settlement period 4
    assert cf.guarantee_paid[0].tolist() == [110.0]
    assert cf.party("guarantor")[0].tolist() == [0.0, 0.0, 0.0, 0.0, -110.0]
    assert cf.settlement_period.tolist() == [4, 4] and cf.stop_period.tolist() == [2, 5]
    np.testing.assert_allclose(cf.flows.sum(axis=1), 0.0, atol=1e-9)
    # the distribution excludes the guarantee, whatever its period
    assert cf.distribution[0, 0].tolist() == [0.0, 0.0, 0.0, 0.0, 50.0]


def test_stop_loss_stops_the_deal_when_investors_losses_reach_it():
    cs = CapitalStructure((Tranche("senior", 1000.0),), guarantee=ProRataGuarantee("F", 0.5))
    costs = np.full((1, 6), 100.0)
    pay = np.zeros((1, 6))
    pay[0, 1] = 50.0
    settle_at = np.minimum(np.arange(7), 5)
    cf = waterfall(cs, costs, pay, _life(1, 6, settle_at=settle_at, stop_loss=240.0))
    # losses: 100, 150, 250 >= 240 at the end of period 2: stop from 3
    assert cf.stop_period.tolist() == [3]
    assert cf.drawdown_total[0].tolist() == [100.0, 100.0, 100.0, 0.0, 0.0, 0.0]
    assert cf.settlement_period.tolist() == [3]
    assert cf.party("guarantor")[0].tolist() == [0.0, 0.0, 0.0, -125.0, 0.0, 0.0]


def test_drawdowns_follow_needs_and_unfunded_costs_are_reported():
    cs = CapitalStructure((Tranche("senior", 250.0),))
    costs = np.array([[0.0, 100.0, 0.0, 100.0, 100.0, 0.0]])
    cf = waterfall(cs, costs, np.zeros_like(costs))
    assert cf.drawdown_total[0].tolist() == [0.0, 100.0, 0.0, 100.0, 50.0, 0.0]
    assert cf.unfunded[0].tolist() == [0.0, 0.0, 0.0, 0.0, 50.0, 0.0]


def test_recycling_funds_later_costs_before_new_drawdowns():
    plain = CapitalStructure((Tranche("senior", 1000.0),))
    recycle = CapitalStructure((Tranche("senior", 1000.0),), recycle=True)
    costs = np.array([[100.0, 100.0, 100.0, 0.0]])
    pay = np.array([[0.0, 150.0, 0.0, 200.0]])
    a, b = waterfall(plain, costs, pay), waterfall(recycle, costs, pay)
    assert a.drawdown_total[0].tolist() == [100.0, 100.0, 100.0, 0.0]
    # period 1: 150 received, 100 held for period 2's cost, 50 distributed
    assert b.drawdown_total[0].tolist() == [100.0, 100.0, 0.0, 0.0]
    assert b.reserve[0].tolist() == [0.0, 100.0, 0.0, 0.0]
    assert b.party("senior")[0].tolist() == [-100.0, -50.0, 0.0, 150.0]
    assert b.party("intermediary")[0].tolist() == [0.0, 100.0, -100.0, 0.0]
    assert b.party("provider")[0].tolist() == [100.0, 100.0, 100.0, 0.0]
    np.testing.assert_allclose(b.flows.sum(axis=1), 0.0, atol=1e-12)


def test_claim_share_pays_the_first_tier_up_to_the_claim():
    cs = CapitalStructure((Tranche("senior", 100.0),))
    avoided = np.array([[0.0, 200.0, 100.0]])
    claim = ClaimShareArrays(avoided, 0.95, 0.40, 0.0, np.inf, True)
    cf = waterfall(cs, [[100.0, 0.0, 0.0]], np.zeros((1, 3)), _life(1, 3, claim=claim))
    # owed 100: 100 at 95% (using 100/0.95 of avoided cost), 40% of the rest; then 40%
    first = 100.0 + 0.4 * (200.0 - 100.0 / 0.95)
    np.testing.assert_allclose(cf.claim_share_paid[0], [0.0, first, 40.0])
    # excess_to="commissioner": what the claims cannot take goes back to the commissioner
    np.testing.assert_allclose(cf.party("commissioner")[0], [0.0, -100.0, 0.0])
    # a claim growing at 10% per period owes 110 in period 1
    cs10 = CapitalStructure((Tranche("senior", 100.0, target_return=0.10),))
    cf10 = waterfall(cs10, [[100.0, 0.0, 0.0]], np.zeros((1, 3)), _life(1, 3, claim=claim))
    np.testing.assert_allclose(cf10.claim_share_paid[0, 1], 110.0 + 0.4 * (200.0 - 110.0 / 0.95))
    # a flat multiple owes 1.05 x 100 whatever the target return
    flat = claim._replace(multiple=1.05)
    cf_flat = waterfall(cs10, [[100.0, 0.0, 0.0]], np.zeros((1, 3)), _life(1, 3, claim=flat))
    np.testing.assert_allclose(cf_flat.claim_share_paid[0, 1], 105.0 + 0.4 * (200.0 - 105 / .95))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_periods=st.integers(1, 7),
       recycle=st.booleans(), excess=st.sampled_from(["commissioner", "provider", "investors"]),
       stop_loss=st.one_of(st.just(np.inf), st.floats(10.0, 800.0)),
       share_until=st.floats(0.1, 1.0), after_frac=st.floats(0.0, 1.0),
       multiple=st.sampled_from([0.0, 1.05, 1.5]), claim_on=st.booleans())
def test_lifecycle_properties(seed, n_periods, recycle, excess, stop_loss, share_until,
                              after_frac, multiple, claim_on):
    """Money conserved; nothing after a stop; guarantee once, at settlement; claim tier bound."""
    rng = np.random.default_rng(seed)
    n_draws = 40
    cs = CapitalStructure(
        (Tranche("senior", 400.0, 1, 0.05, 1.8), Tranche("junior", 200.0, 2, 0.1)),
        guarantee=FirstLossGuarantee("F", 0.5, covers="first_loss"),
        fees=Fees(float(rng.uniform(0, 20)), 0.01), excess_to=excess, recycle=recycle)
    costs = rng.uniform(0, 200, (n_draws, n_periods)) * (rng.random((n_draws, n_periods)) < .8)
    pay = rng.uniform(0, 400, (n_draws, n_periods)) * (rng.random((n_draws, n_periods)) < .4)
    avoided = rng.uniform(0, 500, (n_draws, n_periods)) * (rng.random((n_draws, n_periods)) < .5)
    claim = (ClaimShareArrays(avoided, share_until, share_until * after_frac, multiple,
                              np.inf, True) if claim_on else ClaimShareArrays.none())
    stop = rng.integers(0, n_periods + 1, n_draws)
    maturity = int(rng.integers(0, n_periods))
    stop = np.minimum(stop, maturity + 1)
    settle_at = np.minimum(np.maximum(np.arange(n_periods + 1),
                                      rng.integers(0, n_periods, n_periods + 1)), maturity)
    life = LifecycleArrays(stop, settle_at.astype(np.int64), stop_loss, claim)
    cf = waterfall(cs, costs, pay, life)
    t = np.arange(n_periods)
    final_stop = cf.stop_period
    assert np.all(final_stop <= stop)
    after = t[None, :] >= final_stop[:, None]
    # money conserved in every draw and period
    np.testing.assert_allclose(cf.flows.sum(axis=1), 0.0, atol=1e-7)
    # no cost, fee or drawdown after a stop
    assert np.all(cf.drawdown_total[after] == 0.0)
    assert np.all(cf.party("provider")[after] >= -1e-9)  # only a possible performance bonus
    assert np.all(cf.unfunded[after] == 0.0)
    # drawdowns never exceed the need, and capital never exceeds the commitment
    need = _need(cs, costs, cf.drawdown_total, final_stop)
    assert np.all(cf.drawdown_total <= need + 1e-9)
    assert np.all(cf.drawdown_total.sum(1) <= cs.total_commitment + 1e-9)
    # the guarantee is paid once, in the settlement period
    g = cf.party("guarantor")
    settled = cf.settlement_period
    assert np.all(settled == settle_at[final_stop])
    elsewhere = t[None, :] != settled[:, None]
    assert np.all(g[elsewhere] == 0.0)
    np.testing.assert_allclose(-g[np.arange(n_draws), settled], cf.guarantee_paid.sum(1))
    # the recycled reserve is never negative and is released at settlement
    assert np.all(cf.reserve >= -1e-9)
    assert np.all(cf.reserve[np.arange(n_draws), settled] == 0.0)
    if not recycle:
        assert np.all(cf.reserve == 0.0)
    # the claim-tied share never pays above share_until x the avoided cost
    if claim_on:
        assert np.all(cf.claim_share_paid <= share_until * avoided * (1 + 1e-12) + 1e-9)
        assert np.all(cf.claim_share_paid >= 0.0)
    else:
        assert np.all(cf.claim_share_paid == 0.0)


# ----------------------------------------------------------------------------- the deal


DRAWS = 300


@pytest.fixture(scope="module")
def able():
    deal = sibsim.load_scenario("nyc-able")
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=11, progress=False)
    return deal, ds, counterfactual(deal, DRAWS, 11)


def test_nyc_able_stops_after_a_weak_first_cohort(able):
    deal, ds, cf = able
    assert deal.termination == (EffectBelow("jail_days", 0.085, notice=1),)
    money = money_flows(deal, ds, cf)
    P = ds.sizes["period"]
    stop = money["stop_period"].values
    stopped = stop < P
    assert 0 < stopped.mean() < 1  # a weak first cohort is likely, not certain
    assert set(stop[stopped]) == {3}  # result known in period 1, notice 1
    t = np.arange(P)
    after = t[None, :] >= stop[:, None]
    assert np.all(money["service_costs"].values[after] == 0)
    assert np.all(money["drawdown"].sum("tranche").values[after] == 0)
    # the pooled result (known in period 3) pays nothing once stopped
    assert np.all(money["outcome_payments"].values[stopped] == 0)
    np.testing.assert_allclose(money["flow"].sum("party"), 0.0, atol=1e-6)
    # guarantee settled at the stop: 75% of the USD 7.2M drawn over three years
    guarantor = money["flow"].sel(party="guarantor").values
    assert np.all(guarantor[stopped, 3] == -0.75 * 7.2e6)
    assert np.all(money["settlement_period"].values[~stopped] == P - 1)


def test_a_rule_that_never_fires_leaves_the_money_unchanged(able):
    deal, ds, cf = able
    plain = money_flows(deal.replace(termination=()), ds, cf)
    never = money_flows(deal.replace(termination=(EffectBelow("jail_days", -1.0),)), ds, cf)
    for name in ("flow", "outcome_payments", "service_costs", "net_savings"):
        assert plain[name].values.tobytes() == never[name].values.tobytes()


def test_later_cohorts_are_not_started_after_a_stop(able):
    deal, ds, cf = able
    always = deal.replace(termination=(EffectBelow("jail_days", 1.0),))  # every draw stops
    money = money_flows(always, ds, cf)
    plain = money_flows(deal.replace(termination=()), ds, cf)
    assert np.all(money["stop_period"].values == 2)  # first result in period 1
    # the cohort entering in period 2 is not served and saves nothing
    assert np.all(money["participants_served"].values[:, 2:] == 0)
    entry = ds["entry_period"].values
    assert entry.tolist() == [0, 1, 2]
    avoided = (counterfactual(deal, DRAWS, 11)["events"] - ds["events"]).sel(arm="treatment")
    two_cohorts = avoided.isel(wave=slice(0, 2)).sum(("wave", "stratum")).values
    np.testing.assert_allclose(money["avoided_events"].values, two_cohorts)
    assert not np.allclose(plain["avoided_events"].values, two_cohorts)


def test_maturity_settles_the_guarantee_and_ends_the_service(able):
    deal, ds, cf = able
    money = money_flows(deal.replace(termination=(), maturity=2), ds, cf)
    assert np.all(money["settlement_period"].values == 2)
    assert np.all(money["service_costs"].values[:, 3:] == 0)
    g = money["flow"].sel(party="guarantor").values
    assert np.all(g[:, [0, 1, 3, 4, 5]] == 0)
    with pytest.raises(ValueError, match=r"Deal\.maturity"):
        deal.replace(maturity=6)


def test_stop_loss_in_a_deal_stops_service_and_later_payments(able):
    deal, ds, cf = able
    rule = StopLoss(share_of_commitment=0.25)  # 2.4M: reached after the first year
    money = money_flows(deal.replace(termination=(rule,)), ds, cf)
    assert np.all(money["stop_period"].values == 1)
    assert np.all(money["service_costs"].values[:, 1:] == 0)
    assert np.all(money["outcome_payments"].values == 0)  # every result comes later
    np.testing.assert_allclose(money["flow"].sum("party"), 0.0, atol=1e-6)


def test_termination_rules_must_read_an_evaluated_metric(able):
    deal = able[0]
    with pytest.raises(ValueError, match=r"Deal.termination\[0\].metric"):
        deal.replace(termination=(EffectBelow("employment", 0.1),))


def test_utah_uses_the_claim_tied_share():
    deal = sibsim.load_scenario("utah-preschool")
    rule = deal.contract.terms[0].rule
    assert isinstance(rule, ClaimShare) and rule.share_until_repaid == 0.95
    res = sibsim.analyse(deal, draws=200, seed=3, progress=False, with_breakeven=False)
    money = res.money
    np.testing.assert_allclose(money["flow"].sum("party"), 0.0, atol=1e-6)
    pay = money["outcome_payments"].values
    assert pay.sum() > 0
    # each cohort's avoided cost is paid at most at 95%
    value = 2_600.0
    table = sibsim.money.evaluate(sibsim.simulate(deal.scenario, draws=200, seed=3,
                                                  progress=False), deal.evaluations, 3)
    avoided = np.maximum(table.units, 0) * value
    assert np.all(pay.sum(1) <= 0.95 * avoided.sum(1) + 1e-6)


# ----------------------------------------------------------------------------- TOML


BASE = """
name = "t"
horizon = 4
[cohort]
entry = [100, 100]
[comparison]
ratio = 1
[outcome]
kind = "counts"
rate = 1.0
[effect]
measure = "rr"
value = 0.8
[[evaluation]]
metric = "m"
design = "rct"
[contract]
[[contract.terms]]
metric = "m"
rule = {kind = "price_per_unit", price = 10}
[capital]
recycle = true
[[capital.tranches]]
name = "senior"
commitment = 1000
"""


def test_termination_and_maturity_are_read_from_toml():
    doc = "maturity = 3\n" + BASE + """
[[termination]]
kind = "effect_below"
metric = "m"
threshold = 0.1
results = "any"
[[termination]]
kind = "stop_loss"
amount = 500
"""
    deal = parse_scenario(tomllib.loads(doc))
    assert deal.maturity == 3 and deal.capital.recycle
    assert deal.termination == (EffectBelow("m", 0.1, results="any"), StopLoss(amount=500.0))


@pytest.mark.parametrize(("extra", "message"), [
    ('[[termination]]\nkind = "stop"\n', "termination\\[0\\].kind"),
    ('[[termination]]\nkind = "stop_loss"\namount = 5\nshare = 0.1\n', "share"),
    ('[[termination]]\nkind = "effect_below"\nmetric = "m"\nthreshold = 10\n', "0.1"),
    ('maturity = 4\n', "Deal.maturity"),
])
def test_bad_termination_tables_are_refused(extra, message):
    # top-level keys must precede the tables: put maturity first
    doc = (extra + BASE) if extra.startswith("maturity") else BASE + extra
    with pytest.raises((ScenarioFileError, ValueError, TypeError), match=message):
        parse_scenario(tomllib.loads(doc))


def test_claim_share_rule_reads_from_toml():
    sec = Section("rule", {"kind": "claim_share", "share_until_repaid": 0.95,
                           "share_after": 0.4, "repaid_multiple": 1.05})
    assert PRICING_RULES.from_toml(sec) == ClaimShare(0.95, 0.4, repaid_multiple=1.05)


def test_the_extending_page_termination_example_runs(monkeypatch):
    import re
    from pathlib import Path

    monkeypatch.setattr(TERMINATION_RULES, "_classes", dict(TERMINATION_RULES._classes))
    text = (Path(__file__).resolve().parents[1] / "docs" / "extending.md").read_text()
    section = text.split("## Adding a termination rule", 1)[1].split("\n## ", 1)[0]
    ns: dict = {}
    for block in re.findall(r"```python\n(.*?)```", section, re.S):
        exec(compile(block, "extending.md", "exec"), ns)
    rule = TERMINATION_RULES["harm_detected"](metric="m")
    table = _table([[-0.1, 0.3], [0.1, -0.2]])
    assert rule.stop_period(table, 5).tolist() == [2, 3]


def test_recycling_in_a_deal_conserves_money_and_draws_less(able):
    import dataclasses

    from sibsim.money import ServiceCosts

    deal, ds, cf = able
    # service for all six years: the pooled result paid in period 3 can fund years 4 and 5
    longer = deal.replace(termination=(), service_costs=ServiceCosts(fixed_per_period=2.0e6))
    recycled = longer.replace(capital=dataclasses.replace(longer.capital, recycle=True))
    plain, money = money_flows(longer, ds, cf), money_flows(recycled, ds, cf)
    np.testing.assert_allclose(money["flow"].sum("party"), 0.0, atol=1e-6)
    drawn = money["drawdown"].sum(("tranche", "period")).values
    drawn_plain = plain["drawdown"].sum(("tranche", "period")).values
    assert np.all(drawn <= drawn_plain + 1e-6)
    paid = plain["outcome_payments"].values[:, 3] > 0
    assert paid.any() and np.all(drawn[paid] < drawn_plain[paid])
    # the commissioner pays the same; unfunded costs fall; nothing is dropped
    np.testing.assert_array_equal(money["outcome_payments"], plain["outcome_payments"])
    unfunded = money["unfunded_costs"].sum("period").values
    assert np.all(unfunded <= plain["unfunded_costs"].sum("period").values + 1e-6)
    assert np.all(unfunded[paid] < plain["unfunded_costs"].sum("period").values[paid])
    provider = money["flow"].sel(party="provider").sum("period").values  # costs funded
    np.testing.assert_allclose(provider + unfunded, 6 * 2.0e6, rtol=1e-12)
    np.testing.assert_allclose(money["flow"].sel(party="intermediary").sum("period"), 0.0,
                               atol=1e-6)  # no fees: the vehicle only holds the reserve
    # the reserve is empty once the deal has settled
    assert np.all(money["recycled_reserve"].values[:, -1] == 0.0)


def test_payers_share_what_is_paid_before_the_stop(able):
    from sibsim.money import Municipality
    from sibsim.money.payers import Payer

    deal, ds, cf = able
    payers = (Payer("city", shares=0.6, saving_per_event=250.0), Payer("fund", shares=0.4))
    shared = deal.replace(payers=payers, municipality=Municipality(discount_rate=0.03))
    money = money_flows(shared, ds, cf)
    stopped = money["stop_period"].values < ds.sizes["period"]
    pay = money["outcome_payments"].values
    assert stopped.any() and np.all(pay[stopped] == 0) and pay[~stopped].sum() > 0
    by_payer = money["payments_by_payer"].values
    np.testing.assert_allclose(by_payer.sum(1), pay)
    np.testing.assert_allclose(by_payer[:, 0], 0.6 * pay)
    np.testing.assert_allclose(money["flow"].sum("party"), 0.0, atol=1e-6)
    single = money_flows(deal, ds, cf)  # the same deal with one commissioner pays the same
    np.testing.assert_allclose(single["outcome_payments"], pay)


def test_claim_share_with_capped_payers_is_refused():
    from sibsim.money.payers import Payer

    terms = (MetricTerms("m", ClaimShare(0.95, 0.4)),)
    with pytest.raises(ValueError, match=r"Payer\[city\]"):
        check_claim_share(Contract(terms), (Payer("city", shares=1.0, cap_total=1e6),))


@pytest.mark.parametrize("name", ["utah-preschool", "nyc-able"])
def test_parallel_waterfall_equals_the_serial_one(name):
    """Above 4,096 draws the waterfall runs its parallel compilation (with the claim-tied share
    and the termination arrays): the first draws of a large run equal a small (serial) run, bit
    for bit. A kernel that only compiles serially would fail here, not in a user's first run."""
    deal = sibsim.load_scenario(name)
    big = sibsim.analyse(deal, draws=5_000, seed=4, progress=False, with_breakeven=False)
    small = sibsim.analyse(deal, draws=60, seed=4, progress=False, with_breakeven=False)
    for var in ("flow", "drawdown", "investor_received", "outcome_payments", "unfunded_costs"):
        np.testing.assert_array_equal(big.money[var].values[:60], small.money[var].values)
