"""``Effect.balance``: the state that takes the change of a row's targets instead of its
diagonal (an effect on leaving a one-year state must not hold a child there a second year).

Checked against hand computations of small chains (one step of the matrices; two periods of
the expected engine), the aggregate engine within Monte Carlo standard errors, and the default
(the diagonal) to the last bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim import Cohort, Effect, MarkovOutcome, Scenario
from sibsim.engine.tables import apply_to_transitions

STATES = ("start", "general", "special")
# period 0: from "start" 90% to general, 10% to special; then general -> special 5% a year
T = (((0.0, 0.9, 0.1), (0.0, 0.95, 0.05), (0.0, 0.0, 1.0)),
     ((1.0, 0.0, 0.0), (0.0, 0.95, 0.05), (0.0, 0.0, 1.0)))


def _scenario(balance=(), value=0.5, measure="rr"):
    return Scenario(
        name="t", horizon=3, cohort=Cohort(size=1000),
        outcome=MarkovOutcome(states=STATES, transitions=T, initial="start",
                              events=(("start", "special"), ("general", "special"))),
        effect=Effect(measure=measure, value=value,
                      targets=(("start", "special"), ("general", "special")),
                      balance=balance, decay=0.0))


def _per_period(ds, state):
    """The treated arm's person-periods in ``state``, (draw, period)."""
    da = ds["occupancy"].sel(arm="treatment", state=state)
    return da.sum([d for d in da.dims if d not in ("draw", "period")]).transpose(
        "draw", "period").values


def test_one_row_by_hand():
    t0 = np.array(T[0])[None, None, None]  # (D, K, C, S, S)
    eff = np.full((1, 1, 1), 0.5)
    diag = apply_to_transitions(t0, "rr", eff, [(0, 2)])[0, 0, 0, 0]
    moved = apply_to_transitions(t0, "rr", eff, [(0, 2)], balance={0: 1})[0, 0, 0, 0]
    np.testing.assert_allclose(diag, [0.05, 0.9, 0.05], rtol=0, atol=1e-15)
    np.testing.assert_allclose(moved, [0.0, 0.95, 0.05], rtol=0, atol=1e-15)


def test_a_balance_without_room_scales_the_targets_down():
    t0 = np.array([[0.0, 0.2, 0.8], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])[None, None, None]
    out = apply_to_transitions(t0, "absolute", np.full((1, 1, 1), -0.5), [(0, 2)],
                               balance={0: 1})[0, 0, 0, 0]
    np.testing.assert_allclose(out, [0.0, 0.7, 0.3], atol=1e-15)  # 0.8 - 0.5 to state 1
    up = apply_to_transitions(t0, "absolute", np.full((1, 1, 1), 0.5), [(0, 2)],
                              balance={0: 1})[0, 0, 0, 0]
    np.testing.assert_allclose(up, [0.0, 0.0, 1.0], atol=1e-15)  # no room left in state 1
    assert up.sum() == 1.0


def test_expected_engine_two_periods_by_hand():
    """Everyone starts in "start" (period 0). Treated, first step: start -> special 0.1 x 0.5 =
    0.05, the rest to general (0.95); second step: general -> special 0.05 x 0.5 = 0.025.
    Special occupancy in period 2: 0.05 + 0.95 x 0.025 = 0.07375 (the diagonal balance leaves
    0.05 in "start", which then goes to general: 0.05 + 0.9 x 0.025 = 0.0725)."""
    for balance, special in (({"start": "general"}, 0.07375), ((), 0.0725)):
        ds = sibsim.simulate(_scenario(balance), draws=1, seed=1, engine="expected",
                             progress=False)
        occ = _per_period(ds, "special")[0]
        np.testing.assert_allclose(occ / 1000, [0.0, 0.05, special], rtol=1e-12)


def test_aggregate_engine_agrees_within_standard_errors():
    sc = _scenario({"start": "general"})
    n, draws = 1000, 300
    ds = sibsim.simulate(sc, draws=draws, seed=3, engine="aggregate", progress=False)
    p = _per_period(ds, "special")[:, 2] / n
    se = np.sqrt(0.07375 * (1 - 0.07375) / (n * draws))
    assert abs(p.mean() - 0.07375) < 4.5 * se


def test_a_row_balanced_on_its_own_diagonal_is_the_default_to_the_last_bit():
    base = sibsim.simulate(_scenario(), draws=20, seed=2, progress=False)
    same = sibsim.simulate(_scenario({"general": "general"}), draws=20, seed=2, progress=False)
    for var in base.data_vars:
        np.testing.assert_array_equal(base[var].values, same[var].values)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 3.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_rows_stay_probabilities(value, p_target, p_balance):
    p_balance = min(p_balance, 1.0 - p_target)
    row = [1.0 - p_target - p_balance, p_balance, p_target]
    t0 = np.array([row, [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])[None, None, None]
    out = apply_to_transitions(t0, "rr", np.full((1, 1, 1), value), [(0, 2)],
                               balance={0: 1})[0, 0, 0, 0]
    assert np.all(out >= 0) and abs(out.sum() - 1.0) < 1e-12
    assert out[0] == t0[0, 0, 0, 0, 0]  # the diagonal is left as it was
    assert out[2] <= min(1.0, value * p_target) + 1e-15


@pytest.mark.parametrize(("balance", "message"), [
    ({"special": "general"}, "Effect.balance: got 'special'; allowed: from-states of the "
                             "targets: 'general', 'start'"),
    ({"start": "special"}, "Effect.balance[start]: got 'special'; allowed: a state that is not "
                           "a target of row 'start'"),
    ({"start": "nowhere"}, "Effect.balance[start]: got 'nowhere'; allowed: one of 'start', "
                           "'general', 'special'"),
])
def test_refusals_name_the_field(balance, message):
    with pytest.raises(ValueError) as err:
        _scenario(balance)
    assert message in str(err.value)


def test_chicago_balances_its_one_year_rows_on_general_education():
    deal = sibsim.load_scenario("chicago-cpc")
    preschool = (("special", ("general", "ready")), ("ready_special", "ready"))
    general = (("special", "general"), ("literate_special", "literate"))
    assert dict(deal.scenario.effect.balance) == {"preschool": preschool, "general": general,
                                                  "ready": "general", "literate": "general"}
    ds = sibsim.simulate(deal, draws=30, seed=1, engine="expected", progress=False)
    occ = ds["occupancy"].sum("wave")
    deal_without = deal.with_scenario(effect=dataclasses.replace(  # "ready" on its diagonal
        deal.scenario.effect, balance={"preschool": dict(preschool), "general": dict(general)}))
    kept = sibsim.simulate(deal_without, draws=30, seed=1, engine="expected", progress=False)
    stay = kept["occupancy"].sum("wave").sel(arm="treatment", state="ready").sum("period")
    moved = occ.sel(arm="treatment", state="ready").sum("period")
    assert np.all(stay.values > moved.values)  # on the diagonal, children stayed "ready"
