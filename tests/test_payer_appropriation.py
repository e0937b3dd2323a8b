"""A payer's appropriations: outcome payments wait for the funds a payer has received.

Independent reference: first in, first out with unused funds carried over pays, by each
period, ``min(cumulative due, cumulative funds)`` in all (what is due is paid as soon as, and
as far as, the funds received so far allow), so the kernel's payments are the differences of
that closed form.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import sibsim
from sibsim.money.kernels.appropriation import defer_to_funds
from sibsim.money.payers import Payer, payer_funds
from sibsim.money.sib import money_flows
from sibsim.report import describe

SCENARIOS = Path(sibsim.__file__).parent / "scenarios"


def _defer(paid, funds, budgeted=(0,)):
    paid = np.asarray(paid, dtype=float)
    total = paid.sum(1)
    out, out_total = np.empty_like(paid), np.empty_like(total)
    defer_to_funds(paid, np.asarray(budgeted, dtype=np.int64),
                   np.asarray(funds, dtype=float), total, out, out_total)
    return out, out_total, total


def test_hand_example():
    # due 5, 0, 10, 0; 3 a period: paid 3, 2 (the rest of the first 5), 4 (3 + 1 carried), 3
    out, out_total, _ = _defer([[[5.0, 0.0, 10.0, 0.0]]], [[3.0, 3.0, 3.0, 3.0]])
    assert out[0, 0].tolist() == [3.0, 2.0, 4.0, 3.0]
    assert out_total[0].tolist() == [3.0, 2.0, 4.0, 3.0]
    # unused funds carry over: 10 in period 0 pays later dues at once
    out, _, _ = _defer([[[0.0, 4.0, 4.0, 4.0]]], [[10.0, 0.0, 0.0, 0.0]])
    assert out[0, 0].tolist() == [0.0, 4.0, 4.0, 2.0]


due_arrays = arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 9)),
                    elements=st.floats(0.0, 1e7, allow_nan=False, allow_infinity=False))


@settings(max_examples=150, deadline=None)
@given(paid=due_arrays, data=st.data())
def test_closed_form_and_conservation(paid, data):
    _D, Y, P = paid.shape
    budgeted = sorted(data.draw(st.sets(st.integers(0, Y - 1), min_size=1)))
    funds = data.draw(arrays(np.float64, (len(budgeted), P),
                             elements=st.floats(0.0, 1e7, allow_nan=False)))
    out, out_total, _total = _defer(paid, funds, budgeted)
    for b, y in enumerate(budgeted):
        due_cum = np.cumsum(paid[:, y], axis=-1)
        expect = np.minimum(due_cum, np.cumsum(funds[b])[None, :])
        got = np.cumsum(out[:, y], axis=-1)
        scale = max(1.0, float(due_cum.max(initial=0.0)), float(funds[b].sum()))
        np.testing.assert_allclose(got, expect, rtol=0, atol=1e-9 * scale)
        assert (out[:, y] >= 0).all()  # a payment is never negative
        # never more than the funds received so far, never more than is due so far
        assert (got <= np.cumsum(funds[b])[None, :] + 1e-9 * scale).all()
        assert (got <= due_cum + 1e-9 * scale).all()
    others = [y for y in range(Y) if y not in budgeted]
    assert np.array_equal(out[:, others], paid[:, others])  # other payers untouched
    # what enters the waterfall is what the payers pay
    np.testing.assert_allclose(out_total, out.sum(1), rtol=0,
                               atol=1e-9 * max(1.0, float(paid.sum(1).max(initial=0.0))))


@settings(max_examples=80, deadline=None)
@given(paid=due_arrays)
def test_ample_funds_change_nothing_bit_for_bit(paid):
    _D, _Y, P = paid.shape
    funds = np.zeros((1, P))
    funds[0, 0] = paid[:, 0].sum(-1).max() + 1.0  # all of it available from the start
    out, out_total, total = _defer(paid, funds)
    assert np.array_equal(out, paid)
    assert np.array_equal(out_total, total)


@settings(max_examples=80, deadline=None)
@given(paid=due_arrays, data=st.data())
def test_more_funds_never_pay_later(paid, data):
    P = paid.shape[2]
    f = data.draw(arrays(np.float64, (1, P), elements=st.floats(0.0, 1e6, allow_nan=False)))
    extra = data.draw(arrays(np.float64, (1, P), elements=st.floats(0.0, 1e6, allow_nan=False)))
    low, _, _ = _defer(paid, f)
    high, _, _ = _defer(paid, f + extra)
    tol = 1e-9 * max(1.0, float(paid.sum()), float((f + extra).sum()))
    assert (np.cumsum(high[:, 0], -1) >= np.cumsum(low[:, 0], -1) - tol).all()


def test_payer_funds_by_calendar_year():
    # a quarterly deal whose first quarter is the second of 2013: 3 quarters in 2013
    years = np.array([2013] * 3 + [2014] * 4 + [2015] * 2)
    payers = [Payer("state", 0.5, appropriations=[1.0, 2.0, 3.0]), Payer("city", 0.5),
              Payer("fund", 0.0, appropriations=7.0)]
    f = payer_funds(payers, years)
    assert f[0].tolist() == [1, 0, 0, 2, 0, 0, 0, 3, 0]
    assert np.isinf(f[1]).all()
    assert f[2].tolist() == [7, 0, 0, 7, 0, 0, 0, 7, 0]
    assert payer_funds(payers[1:2], years) is None
    with pytest.raises(ValueError, match=r"Deal.payers\[0\].appropriations.*one amount per "
                                         r"calendar year of the deal \(3: 2013-2015\)"):
        payer_funds([Payer("state", 1.0, appropriations=[1.0, 2.0])], years)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "lots", [1.0, -2.0]])
def test_refused_values(bad):
    with pytest.raises((ValueError, TypeError), match="appropriations"):
        Payer("state", 1.0, appropriations=bad)


def _peterborough(tmp_path, line):
    text = (SCENARIOS / "peterborough.toml").read_text(encoding="utf-8")
    anchor = 'name = "Ministry of Justice"\n'
    assert anchor in text
    path = tmp_path / "p.toml"
    path.write_text(text.replace(anchor, anchor + line + "\n"), encoding="utf-8")
    return path


def test_toml_and_deal(tmp_path):
    deal = sibsim.load_scenario(_peterborough(tmp_path, "appropriations = 500_000"))
    assert deal.payers[0].appropriations == 500_000.0
    base = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(base, draws=200, seed=3, progress=False)
    a, b = money_flows(base, ds), money_flows(deal, ds)
    years = base.calendar_years()
    funds = np.where(np.r_[True, years[1:] != years[:-1]], 500_000.0, 0.0)
    due = a["payments_by_payer"].isel(payer=0).values  # the same contract, no budget
    paid = b["payments_by_payer"].isel(payer=0).values
    np.testing.assert_allclose(np.cumsum(paid, -1),
                               np.minimum(np.cumsum(due, -1), np.cumsum(funds)), rtol=1e-12,
                               atol=1e-6)
    assert (np.cumsum(due, -1) > np.cumsum(funds) + 1.0).any()  # the budget binds somewhere
    # the other payer pays as before; what enters the waterfall is what the payers pay
    np.testing.assert_array_equal(b["payments_by_payer"].isel(payer=1).values,
                                  a["payments_by_payer"].isel(payer=1).values)
    np.testing.assert_allclose(b["outcome_payments"].values,
                               b["payments_by_payer"].sum("payer").values, atol=1e-6)
    # money is conserved: every period's flows sum to 0 over the parties
    np.testing.assert_allclose(b["flow"].sum("party").values, 0.0, atol=1e-6)
    # what is still owed at the horizon's end is reported
    np.testing.assert_allclose(b["unpaid_by_payer"].isel(payer=0).sum("period").values,
                               due.sum(-1) - paid.sum(-1), atol=1e-6)


def test_funds_never_short_give_the_same_run(tmp_path):
    deal = sibsim.load_scenario(_peterborough(tmp_path, "appropriations = 1e12"))
    base = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(base, draws=100, seed=4, progress=False)
    a, b = money_flows(base, ds), money_flows(deal, ds)
    for k in a.data_vars:
        np.testing.assert_array_equal(a[k].values, b[k].values, err_msg=k)


def test_toml_list_length_is_checked(tmp_path):
    with pytest.raises(ValueError, match=r"payers\[0\].appropriations.*8: 2010-2017"):
        sibsim.load_scenario(_peterborough(tmp_path, "appropriations = [1e6, 1e6]"))


def test_refused_with_a_claim_tied_share():
    deal = sibsim.load_scenario("utah-preschool")
    payers = deal.effective_payers
    with pytest.raises(ValueError, match="appropriations"):
        deal.replace(payers=(dataclasses.replace(payers[0], appropriations=1e6),
                             *payers[1:]))


def test_summary_says_what_is_still_owed(tmp_path):
    deal = sibsim.load_scenario(_peterborough(tmp_path, "appropriations = 300_000"))
    res = sibsim.analyse(deal, draws=200, seed=1, progress=False)
    text = describe(res, deal)
    line = next(s for s in text.splitlines() if "unpaid by the horizon's end" in s)
    assert line.strip().startswith("Ministry of Justice leaves")
    owed = res.money["unpaid_by_payer"].sel(payer="Ministry of Justice").sum("period").values
    assert owed.mean() > 0  # the line reports a real shortfall (the figures: test_report_figures)


def test_a_municipality_budget_from_a_template(tmp_path):
    """The council officer's way: `sibsim new --template child-welfare`, then the commented
    `appropriations` line of [municipality] turned on. The one payer (the commissioner) then
    pays from it: by each year at most the budgets received so far, the rest later."""
    from sibsim.templates import template_text

    text = template_text("child-welfare")
    assert "# appropriations = 300_000" in text
    path = tmp_path / "cw.toml"
    path.write_text(text.replace("# appropriations = 300_000", "appropriations = 40_000"),
                    encoding="utf-8")
    deal = sibsim.load_scenario(path)
    assert deal.municipality.appropriations == 40_000.0
    assert deal.effective_payers[0].appropriations == 40_000.0
    ds = sibsim.simulate(deal, draws=100, seed=2, progress=False)
    paid = money_flows(deal, ds)["outcome_payments"].values
    years = deal.calendar_years()
    funds = np.where(np.r_[True, years[1:] != years[:-1]], 40_000.0, 0.0)
    assert (np.cumsum(paid, -1) <= np.cumsum(funds) + 1e-6).all()
    free = sibsim.load_scenario(tmp_path / "cw.toml")  # the same file, no budget: pays more
    free_paid = money_flows(free.replace(municipality=dataclasses.replace(
        free.municipality, appropriations=None)), ds)["outcome_payments"].values
    assert (np.cumsum(free_paid, -1) > np.cumsum(funds) + 1.0).any()  # the budget binds
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("# appropriations = 300_000", "appropriations = [1, 2]"),
                   encoding="utf-8")
    with pytest.raises(ValueError, match=r"Deal.municipality.appropriations.*one amount per "
                                         r"calendar year"):
        sibsim.load_scenario(bad)
