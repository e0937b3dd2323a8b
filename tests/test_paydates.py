"""The contract's own payment dates (Contract.payment_periods) and the capital kinds of
[[capital.tranches]] (grants, deferred fees): worked examples computed by hand, properties,
TOML and the command line's refusals."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.cli import main
from sibsim.money import Caps, Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import (
    CapitalStructure,
    DeferredFees,
    FirstLossGuarantee,
    Grant,
    Tranche,
    investor_tranches,
)
from sibsim.money.cashflows import waterfall
from sibsim.money.payment_ledger import payment_period
from sibsim.money.results import EvaluationTable
from sibsim.scenario_file import builtin_scenarios
from sibsim.spec.toml import Section


def per_period_table(units, cumulative=False):
    """One trigger of metric "m" per period 0..K-1 with these units (effect 0.5)."""
    k = len(units)
    return EvaluationTable(("m",) * k, tuple(range(k)), (cumulative,) * k, (10,) * k,
                           measured_effect=[[0.5] * k], units=[list(map(float, units))])


def contract(**kw):
    return Contract((MetricTerms("m", PricePerUnit(10.0)),), **kw)


# ---------------------------------------------------------------- payment dates: by hand
def test_amounts_due_between_two_dates_are_paid_on_the_next_one():
    # due 10, 20, ..., 60 in periods 0..5; dates 2 and 5: 10+20+30 = 60 in 2, 40+50+60 in 5
    pay = contract(payment_periods=(2, 5)).outcome_payments(
        per_period_table([1, 2, 3, 4, 5, 6]), n_periods=7)
    assert pay.total.tolist() == [[0.0, 0.0, 60.0, 0.0, 0.0, 150.0, 0.0]]
    # each trigger's own amount is unchanged: only the period moves
    assert pay.by_trigger.tolist() == [[10.0, 20.0, 30.0, 40.0, 50.0, 60.0]]


def test_the_lag_applies_before_the_dates():
    # lag 1: due in 1..6; dates 2 and 5: 10+20 in 2, 30+40+50 in 5, 60 (due in 6) after
    # the last date: overflow "last" pays it in the horizon's last period (6)
    pay = contract(lag=1, payment_periods=(2, 5)).outcome_payments(
        per_period_table([1, 2, 3, 4, 5, 6]), n_periods=7)
    assert pay.total.tolist() == [[0.0, 0.0, 30.0, 0.0, 0.0, 120.0, 60.0]]
    assert pay.beyond_horizon.tolist() == [[60.0]]


def test_after_the_last_date_drop_leaves_the_amount_out_and_reports_it():
    pay = contract(payment_periods=(2,), overflow="drop").outcome_payments(
        per_period_table([1, 2, 3, 4]), n_periods=5)
    assert pay.total.tolist() == [[0.0, 0.0, 60.0, 0.0, 0.0]]
    assert pay.beyond_horizon.tolist() == [[40.0]]  # the 4th, due in 3


def test_caps_apply_to_the_amounts_and_the_per_period_cap_to_the_payment_date():
    table = per_period_table([1, 2, 3, 4, 5, 6])
    capped = contract(payment_periods=(2, 5), caps=Caps(total=100.0)).outcome_payments(
        table, n_periods=7)
    assert capped.total.tolist() == [[0.0, 0.0, 60.0, 0.0, 0.0, 40.0, 0.0]]
    # a per-period cap of 100 on the date of 150: 50 forfeited
    dated = contract(payment_periods=(2, 5), caps=Caps(per_period=100.0)).outcome_payments(
        table, n_periods=7)
    assert dated.total.tolist() == [[0.0, 0.0, 60.0, 0.0, 0.0, 100.0, 0.0]]


def test_to_date_netting_is_kept_under_dates():
    # cumulative results known in 1 (3 units to date) and 3 (5 units to date): without dates
    # 30 in 1 and a top-up of 20 in 3; with one date in 4, both in 4: 50 = the amount to date
    table = EvaluationTable(("m", "m"), (1, 3), (True, True), (10, 10),
                            measured_effect=[[0.5, 0.5]], units=[[3.0, 5.0]])
    plain = contract().outcome_payments(table, n_periods=5)
    dated = contract(payment_periods=(4,)).outcome_payments(table, n_periods=5)
    assert plain.total.tolist() == [[0.0, 30.0, 0.0, 20.0, 0.0]]
    assert dated.total.tolist() == [[0.0, 0.0, 0.0, 0.0, 50.0]]


def test_payment_period_function_and_method_agree():
    c = contract(lag=1, payment_periods=(3, 7), overflow="drop")
    for p in range(12):
        assert c.payment_period(p, 10) == payment_period(p, 1, "drop", 10, (3, 7))
    assert payment_period(3, 0, "last", 10, None) == (3, False)
    assert payment_period(9, 1, "last", 10, None) == (9, True)


# ---------------------------------------------------------------- payment dates: property
@settings(max_examples=60, deadline=None)
@given(units=st.lists(st.integers(0, 50), min_size=1, max_size=12),
       dates=st.sets(st.integers(0, 11), min_size=1, max_size=6),
       lag=st.integers(0, 2))
def test_dates_only_delay_payments(units, dates, lag):
    """With payment dates, the amounts paid are the amounts due, only later: the same total,
    never paid before due, and paid only on a date or in the last period."""
    n = 12
    table = per_period_table(units)
    dates = tuple(sorted(dates))
    plain = contract(lag=lag).outcome_payments(table, n_periods=n).total[0]
    dated = contract(lag=lag, payment_periods=dates).outcome_payments(table, n_periods=n).total[0]
    assert dated.sum() == pytest.approx(plain.sum(), abs=1e-9)
    assert np.all(np.cumsum(dated) <= np.cumsum(plain) + 1e-9)
    allowed = set(dates) | {n - 1}
    assert all(p in allowed for p in np.flatnonzero(dated))


# ---------------------------------------------------------------- payment dates: refusals
def test_dates_must_increase():
    with pytest.raises(ValueError, match=r"Contract.payment_periods: got \[3, 3\]"):
        contract(payment_periods=(3, 3))
    with pytest.raises((ValueError, TypeError), match=r"Contract\.payment_periods"):
        contract(payment_periods=(-1, 3))


def test_a_date_after_the_horizon_is_refused_by_the_deal():
    deal = sibsim.load_scenario("denver-housing")
    c = deal.contract
    import dataclasses
    with pytest.raises(ValueError, match=r"Deal.contract.payment_periods: .*\[0, 20\]"):
        deal.replace(contract=dataclasses.replace(c, payment_periods=(5, 21)))


def _denver_text() -> str:
    return builtin_scenarios()["denver-housing"].read_text(encoding="utf-8")


def _refused_in_one_line(tmp_path, capsys, text: str, old: str, new: str, words,
                         count: int = -1) -> None:
    """``sibsim run`` of ``text`` with ``old`` replaced by ``new`` exits 2 with one error line
    holding every word of ``words``."""
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    code = main(["run", str(path), "--draws", "3", "--out", str(tmp_path / "o.nc"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sibsim: error: ") and err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize(("old", "new", "words"), [
    ("payment_periods = [5, 9, 13, 17, 20]", "payment_periods = [9, 5]",
     ["Contract.payment_periods", "strictly increasing"]),
    ("payment_periods = [5, 9, 13, 17, 20]", "payment_periods = [5, 30]",
     ["payment_periods", "horizon"]),
    ("payment_periods = [5, 9, 13, 17, 20]", 'payment_periods = "yearly"',
     ["payment_periods"]),
])
def test_cli_refuses_bad_dates_with_one_line(tmp_path, capsys, old, new, words):
    _refused_in_one_line(tmp_path, capsys, _denver_text(), old, new, words)


def test_denver_contract_reads_its_dates():
    doc = tomllib.loads(_denver_text())
    c = Contract.from_toml(Section("contract", doc["contract"]), currency="USD")
    assert c.payment_periods == (5, 9, 13, 17, 20)
    assert doc["contract"]["payment_periods"] == list(c.payment_periods)


def test_denver_pays_on_its_dates_and_the_waterfall_sees_them():
    """A small Denver run: payments only on the five dates, split among payers without loss,
    and the investors receive them in the same periods (excess to investors)."""
    res = sibsim.analyse(sibsim.load_scenario("denver-housing"), draws=20, seed=3,
                         with_breakeven=False, progress=False)
    m = res.money
    paid = m["outcome_payments"].values
    dates = [5, 9, 13, 17, 20]
    off = np.setdiff1d(np.arange(paid.shape[1]), dates)
    assert np.all(paid[:, off] == 0.0) and np.all(paid[:, dates].sum(1) > 0)
    np.testing.assert_allclose(m["payments_by_payer"].sum("payer").values, paid, atol=1e-6)
    received = m["investor_received"].sum("tranche").values
    assert np.all(received[:, off] == 0.0)
    np.testing.assert_allclose(m["flow"].sum("party").values, 0.0, atol=1e-6)


# ---------------------------------------------------------------- capital kinds: by hand
def test_a_grant_funds_costs_and_is_never_repaid():
    # 100 senior + 100 grant, costs 100 + 100 drawn half and half; a payment of 250: the
    # senior's claim of 100 is met, the 150 left returns to the commissioner; the grant
    # drew 100 and received nothing
    cs = CapitalStructure((Tranche("senior", 100.0), Grant("grants", 100.0)))
    cf = waterfall(cs, service_costs=[[100.0, 100.0, 0.0]], outcome_payments=[[0.0, 0.0, 250.0]])
    f = dict(zip(cf.parties, cf.flows[0].tolist(), strict=True))
    assert f["senior"] == [-50.0, -50.0, 100.0]
    assert f["grants"] == [-50.0, -50.0, 0.0]
    assert f["commissioner"] == [0.0, 0.0, -100.0]
    assert f["provider"] == [100.0, 100.0, 0.0]


def test_excess_to_investors_skips_grants():
    cs = CapitalStructure((Tranche("senior", 100.0), Grant("grants", 100.0)),
                          excess_to="investors")
    cf = waterfall(cs, service_costs=[[100.0, 100.0, 0.0]], outcome_payments=[[0.0, 0.0, 250.0]])
    f = dict(zip(cf.parties, cf.flows[0].tolist(), strict=True))
    assert f["senior"] == [-50.0, -50.0, 250.0]
    assert f["grants"] == [-50.0, -50.0, 0.0]


def test_deferred_fees_are_repaid_at_their_rank_out_of_outcome_payments():
    # 100 senior (rank 1), 50 deferred fees (rank 2), 50 grant: costs 200 drawn 50/25/25 a
    # period; a payment of 140: senior 100, then 40 of the fees' 50; the grant nothing
    cs = CapitalStructure((Tranche("senior", 100.0), DeferredFees("fees", 50.0, seniority=2),
                           Grant("g", 50.0)))
    cf = waterfall(cs, service_costs=[[100.0, 100.0, 0.0]], outcome_payments=[[0.0, 0.0, 140.0]])
    f = dict(zip(cf.parties, cf.flows[0].tolist(), strict=True))
    assert f["senior"] == [-50.0, -50.0, 100.0]
    assert f["fees"] == [-25.0, -25.0, 40.0]
    assert f["g"] == [-25.0, -25.0, 0.0]
    assert f["commissioner"] == [0.0, 0.0, -140.0]


def test_a_stop_loss_and_a_guarantee_concern_investors_only():
    with pytest.raises(ValueError, match=r"guarantee\.covers"):
        CapitalStructure((Tranche("senior", 100.0), Grant("grants", 50.0)),
                         guarantee=FirstLossGuarantee("F", 0.5, covers=("grants",)))
    # "first_loss" covers every investors' tranche: the grant's 50 drawn is no loss covered
    cs = CapitalStructure((Tranche("senior", 100.0), Grant("grants", 100.0)),
                          guarantee=FirstLossGuarantee("F", 1.0, covers="first_loss"))
    cf = waterfall(cs, service_costs=[[100.0, 100.0]], outcome_payments=[[0.0, 0.0]])
    assert cf.guarantee_paid[0].tolist() == [100.0, 0.0]


def test_capital_kinds_refusals():
    with pytest.raises(ValueError, match=r"CapitalStructure\.tranches"):
        CapitalStructure((Grant("grants", 100.0),))
    with pytest.raises(ValueError, match=r"Grant\.name"):
        Grant("commissioner", 1.0)
    with pytest.raises(ValueError, match=r"DeferredFees\.commitment"):
        DeferredFees("fees", 0.0)


# ---------------------------------------------------------------- capital kinds: property
@settings(max_examples=60, deadline=None)
@given(commit=st.lists(st.floats(1.0, 1e4), min_size=3, max_size=3),
       kinds=st.lists(st.sampled_from(["grant", "deferred_fees", "loan"]), min_size=2,
                      max_size=2),
       costs=st.lists(st.floats(0.0, 1e4), min_size=4, max_size=4),
       pay=st.lists(st.floats(0.0, 2e4), min_size=4, max_size=4),
       excess=st.sampled_from(["commissioner", "provider", "investors"]))
def test_money_is_conserved_and_grants_get_nothing(commit, kinds, costs, pay, excess):
    """What the commissioner pays = what every other party receives; service costs = what the
    provider is paid for them (in cash or deferred) + what stays unfunded; grants receive
    nothing; deferred fees receive at most what was deferred."""
    make = {"grant": Grant, "deferred_fees": DeferredFees}
    tranches = [Tranche("senior", commit[0], target_return=0.01)]
    tranches += [make.get(k, Tranche)(f"t{i}", c) for i, (k, c)
                 in enumerate(zip(kinds, commit[1:], strict=True))]
    cs = CapitalStructure(tuple(tranches), excess_to=excess)
    cf = waterfall(cs, service_costs=[costs], outcome_payments=[pay])
    flows = cf.flows[0]
    np.testing.assert_allclose(flows.sum(0), 0.0, atol=1e-6)
    assert -flows[0].sum() == pytest.approx(flows[1:].sum(), abs=1e-6)
    funded = cf.drawdown_total[0].sum() - flows[-1].sum()  # drawn - the vehicle's (no fees here)
    assert funded + cf.unfunded[0].sum() == pytest.approx(sum(costs), abs=1e-6)
    for i, t in enumerate(tranches):
        got = flows[1 + i] + cf.drawdown[0, i]  # received: net flow + drawn
        if t.capital_kind == "grant":
            np.testing.assert_allclose(got, 0.0, atol=1e-6)
        if t.capital_kind == "deferred_fees":
            assert got.sum() <= cf.drawdown[0, i].sum() + 1e-6


# ---------------------------------------------------------------- capital kinds: TOML, CLI, deal
ROCA_KINDS = """
[[capital.tranches]]
name = "senior"
commitment = 9_000_000
[[capital.tranches]]
kind = "grant"
name = "grants"
commitment = 6_000_000
[[capital.tranches]]
kind = "deferred_fees"
name = "deferred_fees"
commitment = 3_760_000
seniority = 3
"""


def test_capital_kinds_read_from_toml():
    doc = tomllib.loads(ROCA_KINDS)
    cs = CapitalStructure.from_toml(Section("capital", {"tranches": doc["capital"]["tranches"]}))
    assert cs.tranches == (Tranche("senior", 9e6), Grant("grants", 6e6),
                           DeferredFees("deferred_fees", 3.76e6, seniority=3))
    assert cs.tranche_kinds == ("loan", "grant", "deferred_fees")


def _roca_text() -> str:
    return builtin_scenarios()["massachusetts-roca"].read_text(encoding="utf-8")


@pytest.mark.parametrize(("old", "new", "words"), [
    ('kind = "grant"', 'kind = "gift"', ["kind", "'gift'", "'grant'"]),
    ('commitment = 6_000_000', 'commitment = 6_000_000\ntarget_return = 0.05',
     ["target_return"]),
    ('commitment = 3_760_000', 'commitment = -1', ["commitment"]),
])
def test_cli_refuses_bad_capital_kinds_with_one_line(tmp_path, capsys, old, new, words):
    _refused_in_one_line(tmp_path, capsys, _roca_text(), old, new, words, count=1)


def test_roca_investors_are_the_loans_and_money_is_conserved():
    res = sibsim.analyse(sibsim.load_scenario("massachusetts-roca"), draws=20, seed=2,
                         with_breakeven=False, progress=False)
    m = res.money
    assert investor_tranches(m.coords) == ["senior", "junior"]
    assert list(res.investors["investor"].values) == ["senior", "junior", "all"]
    drawn = m["drawdown"].sum("period")
    # all investors = the two loans, not the grants or the deferred fees
    np.testing.assert_allclose(res.investors["invested"].sel(investor="all").values,
                               drawn.sel(tranche=["senior", "junior"]).sum("tranche").values)
    # the grants receive nothing; the deferred fees at most what was deferred
    assert float(m["investor_received"].sel(tranche="grants").sum()) == 0.0
    fees = m["investor_received"].sel(tranche="deferred_fees").sum("period")
    assert np.all(fees.values <= drawn.sel(tranche="deferred_fees").values + 1e-6)
    # the commissioner's payments = what the other parties receive, period by period
    flow = m["flow"]
    np.testing.assert_allclose(-flow.sel(party="commissioner").values,
                               flow.drop_sel(party="commissioner").sum("party").values,
                               atol=1e-6)
    # service costs = provider's funded costs (cash and deferred) + unfunded
    np.testing.assert_allclose(flow.sel(party="provider").sum("period").values
                               + m["unfunded_costs"].sum("period").values,
                               m["service_costs"].sum("period").values, rtol=1e-9)
