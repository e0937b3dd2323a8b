"""``Effect.balance`` shared among several states: fixed shares ``{state: share}`` or a list of
states sharing a row's change in proportion to the row's own untreated probabilities.

Checked against a two-period chain computed by hand (numpy matrix products of matrices written
out here), the aggregate engine within Monte Carlo standard errors, a one-state share against
the plain state name to the last bit, hypothesis properties of the changed rows (stochastic for
any effect), the refusals (the field, the value, what is allowed), the scenario file reader,
and chicago-cpc's kindergarten entry against each draw's own untreated row.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import sibsim
from sibsim import Cohort, Effect, MarkovOutcome, Scenario
from sibsim.engine.tables import apply_to_probability, apply_to_transitions
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, load_scenario

STATES = ("start", "ready", "general", "special")
# period 0: from "start" 50% ready, 30% general, 20% special; then "ready" (a one-year state)
# goes to general (90%) or special (10%); general -> special 5% a year; special absorbing
T = (((0.0, 0.5, 0.3, 0.2), (0.0, 0.0, 0.9, 0.1), (0.0, 0.0, 0.95, 0.05), (0.0, 0.0, 0.0, 1.0)),
     ((1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.9, 0.1), (0.0, 0.0, 0.95, 0.05), (0.0, 0.0, 0.0, 1.0)))
TARGETS = (("start", "special"), ("ready", "special"), ("general", "special"))
N = 1000


def _scenario(start_to, value=0.5, measure="rr"):
    balance = {"ready": "general"} if start_to is None else {"start": start_to,
                                                             "ready": "general"}
    return Scenario(
        name="t", horizon=3, cohort=Cohort(size=N),
        outcome=MarkovOutcome(states=STATES, transitions=T, initial="start",
                              events=(("start", "special"), ("ready", "special"),
                                      ("general", "special"))),
        effect=Effect(measure=measure, value=value, targets=TARGETS, balance=balance,
                      decay=0.0))


def _per_period(ds):
    """The treated arm's person-periods by state, (draw, state, period)."""
    da = ds["occupancy"].sel(arm="treatment")
    return da.sum([d for d in da.dims if d not in ("draw", "state", "period")]).transpose(
        "draw", "state", "period")


def _by_hand(ready_share):
    """Treated occupancy shares (state, period) of the chain above with a relative risk 0.5
    on every entry into special education: from "start" the 0.1 kept out goes ``ready_share``
    to "ready", the rest to "general"; from "ready" all of it to "general"."""
    kept = 0.2 - 0.5 * 0.2
    p0 = np.array([[0.0, 0.5 + ready_share * kept, 0.3 + (1 - ready_share) * kept, 0.1],
                   [0.0, 0.0, 0.95, 0.05],           # ready: 0.1 -> 0.05, the rest general
                   [0.0, 0.0, 0.975, 0.025],         # general: 0.05 -> 0.025 on the diagonal
                   [0.0, 0.0, 0.0, 1.0]])
    p1 = p0.copy()
    p1[0] = [1.0, 0.0, 0.0, 0.0]
    x0 = np.array([1.0, 0.0, 0.0, 0.0])
    x1 = x0 @ p0
    x2 = x1 @ p1
    return np.stack([x0, x1, x2], axis=-1)


@pytest.mark.parametrize(("start_to", "ready_share", "special_2"), [
    ({"general": 0.6, "ready": 0.4}, 0.4, 0.1 + 0.54 * 0.05 + 0.36 * 0.025),   # 0.136
    (["general", "ready"], 0.5 / 0.8, 0.1 + 0.5625 * 0.05 + 0.3375 * 0.025),   # 0.1365625
    ("general", 0.0, 0.1 + 0.5 * 0.05 + 0.4 * 0.025),                          # 0.135
])
def test_expected_engine_two_periods_by_hand(start_to, ready_share, special_2):
    want = _by_hand(ready_share)
    assert math.isclose(want[3, 2], special_2, rel_tol=1e-12)  # the matrices, as written above
    ds = sibsim.simulate(_scenario(start_to), draws=1, seed=1, engine="expected",
                         progress=False)
    got = _per_period(ds).sel(state=list(STATES)).values[0] / N
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("start_to", "ready_share"), [({"general": 0.6, "ready": 0.4}, 0.4),
                                                       (["general", "ready"], 0.625)])
def test_aggregate_engine_agrees_within_four_standard_errors(start_to, ready_share):
    draws = 300
    want = _by_hand(ready_share)
    occ = _per_period(sibsim.simulate(_scenario(start_to), draws=draws, seed=3,
                                      engine="aggregate", progress=False)) / N
    for state, period in (("ready", 1), ("special", 2)):
        p = float(want[STATES.index(state), period])
        se = math.sqrt(p * (1 - p) / (N * draws))
        got = float(occ.sel(state=state, period=period).mean())
        assert abs(got - p) < 4 * se, (state, period, got, p, se)


def test_one_state_in_any_form_is_the_plain_name_to_the_last_bit():
    base = sibsim.simulate(_scenario("general"), draws=20, seed=2, progress=False)
    for form in ({"general": 1.0}, ["general"]):
        same = sibsim.simulate(_scenario(form), draws=20, seed=2, progress=False)
        for var in base.data_vars:
            np.testing.assert_array_equal(base[var].values, same[var].values)


def test_shares_that_add_up_within_the_tolerance_are_normalised():
    row = np.array([[0.0, 0.5, 0.3, 0.2], *np.eye(4)[1:].tolist()])[None, None, None]
    eff = np.full((1, 1, 1), 0.5)
    off = apply_to_transitions(row, "rr", eff, [(0, 3)],
                               balance={0: ((1, 2), (0.4 + 5e-10, 0.6))})[0, 0, 0, 0]
    assert abs(off.sum() - 1.0) < 1e-15
    np.testing.assert_allclose(off, [0.0, 0.54, 0.36, 0.1], rtol=0, atol=1e-10)


def test_proportional_shares_follow_each_draws_row():
    rows = np.array([[0.0, 0.5, 0.3, 0.2], [0.0, 0.1, 0.7, 0.2], [0.0, 0.0, 0.8, 0.2]])
    t0 = np.tile(np.eye(4), (3, 1, 1, 1, 1))  # (D, K, C, S, S)
    t0[:, 0, 0, 0] = rows
    out = apply_to_transitions(t0, "rr", np.full((3, 1, 1), 0.5), [(0, 3)],
                               balance={0: ((1, 2), None)})[:, 0, 0, 0]
    kept = 0.1
    want = rows.copy()
    want[:, 3] = 0.1
    want[:, 1] += kept * rows[:, 1] / (rows[:, 1] + rows[:, 2])
    want[:, 2] += kept * rows[:, 2] / (rows[:, 1] + rows[:, 2])
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-15)


def test_proportional_shares_of_states_nobody_reaches_are_equal():
    t0 = np.eye(4)[None, None, None].copy()
    t0[0, 0, 0, 0] = [0.6, 0.0, 0.0, 0.4]
    down = apply_to_transitions(t0, "rr", np.full((1, 1, 1), 0.5), [(0, 3)],
                                balance={0: ((1, 2), None)})[0, 0, 0, 0]
    np.testing.assert_allclose(down, [0.6, 0.1, 0.1, 0.2], rtol=0, atol=1e-15)
    up = apply_to_transitions(t0, "rr", np.full((1, 1, 1), 2.0), [(0, 3)],
                              balance={0: ((1, 2), None)})[0, 0, 0, 0]
    np.testing.assert_allclose(up, t0[0, 0, 0, 0], rtol=0, atol=1e-15)  # no room: no change


def test_a_rise_stops_when_the_first_shared_state_runs_out():
    """Fixed shares 0.5/0.5 of states holding 0.1 and 0.3: the targets can rise by 0.2 at
    most (the first state reaches 0 when the total has fallen by 0.1 / 0.5)."""
    t0 = np.eye(4)[None, None, None].copy()
    t0[0, 0, 0, 0] = [0.2, 0.1, 0.3, 0.4]
    out = apply_to_transitions(t0, "absolute", np.full((1, 1, 1), 0.5), [(0, 3)],
                               balance={0: ((1, 2), (0.5, 0.5))})[0, 0, 0, 0]
    np.testing.assert_allclose(out, [0.2, 0.0, 0.2, 0.6], rtol=0, atol=1e-15)


_MEASURE_VALUES = st.one_of(
    st.tuples(st.sampled_from(["rr", "hr", "or"]), st.floats(0.0, 5.0)),
    st.tuples(st.just("absolute"), st.floats(-1.0, 1.0)))


@settings(max_examples=150, deadline=None)
@given(weights=st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6).filter(
           lambda w: sum(w) > 1e-3),
       order=st.permutations(range(1, 6)), n_targets=st.integers(1, 3),
       n_balance=st.integers(2, 4), proportional=st.booleans(),
       raw_shares=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(
           lambda s: sum(s) > 1e-3),
       mv=_MEASURE_VALUES)
@example(weights=[0.5, 0.5, 0.0, 0.0, 0.0, 0.0], order=[1, 2, 3, 4, 5], n_targets=1,
         n_balance=2, proportional=True, raw_shares=[1.0] * 4, mv=("rr", 2.0))
def test_rows_stay_stochastic_for_any_effect(weights, order, n_targets, n_balance,
                                             proportional, raw_shares, mv):
    measure, value = mv
    n_balance = min(n_balance, 5 - n_targets)
    row = np.asarray(weights) / sum(weights)
    t0 = np.eye(6)[None, None, None].copy()
    t0[0, 0, 0, 0] = row
    cols = list(order[:n_targets])
    to = tuple(order[n_targets:n_targets + n_balance])
    shares = None if proportional else tuple(raw_shares[:len(to)])
    if shares is not None and sum(shares) <= 1e-3:
        shares = (1.0,) * len(to)
    out = apply_to_transitions(t0, measure, np.full((1, 1, 1), value),
                               [(0, c) for c in cols], balance={0: (to, shares)})[0, 0, 0]
    new = out[0]
    assert np.all(new >= 0) and abs(new.sum() - 1.0) < 1e-12
    np.testing.assert_array_equal(out[1:], t0[0, 0, 0, 1:])  # other rows untouched
    rest = [i for i in range(6) if i not in cols and i not in to]
    np.testing.assert_array_equal(new[rest], row[rest])  # the diagonal and the others too
    target = apply_to_probability(row[cols], measure, np.full(len(cols), value))
    assert np.all(new[cols] <= target + 1e-15)  # scaled down only, never up
    held = row[list(to)]
    if not proportional:
        w = np.asarray(shares) / sum(shares)
    elif held.sum() > 0:
        w = held / held.sum()
    else:  # nobody reaches those states: equal shares
        w = np.full(len(to), 1 / len(to))
    gain = new[list(to)] - held
    if np.all(new[cols] == target):  # not scaled: the change shared as stated
        np.testing.assert_allclose(gain, w * gain.sum(), rtol=0, atol=1e-12)
    else:  # scaled: the targets would rise, and a state with a share has run out
        assert gain.sum() <= 1e-15
        assert np.any(new[list(to)][w > 0] < 1e-12)


@pytest.mark.parametrize(("start_to", "message"), [
    ({"general": 0.5, "nowhere": 0.5}, "Effect.balance[start]: got 'nowhere'; allowed: one of "
                                       "'start', 'ready', 'general', 'special'"),
    (["general", "nowhere"], "Effect.balance[start]: got 'nowhere'; allowed: one of 'start'"),
    ({"general": 0.6, "ready": 0.5}, "Effect.balance[start]: got {'general': 0.6, 'ready': 0.5}"
                                     "; allowed: shares that sum to 1 (within 1e-09); these "
                                     "sum to 1.1"),
    ({"general": 0.6, "ready": 0.3}, "allowed: shares that sum to 1 (within 1e-09); these sum "
                                     "to 0.9"),
    ({"ready": -0.2, "general": 1.2}, "Effect.balance[start][ready]: got -0.2; allowed: a "
                                      "finite number in [0, 1]"),
    ({"general": float("nan"), "ready": 1.0}, "Effect.balance[start][general]: got nan"),
    ({"general": 0.5, "start": 0.5}, "Effect.balance[start]: got 'start'; allowed: states "
                                     "other than the row's own ('start')"),
    (["start", "ready"], "Effect.balance[start]: got 'start'; allowed: states other than"),
    ({"special": 0.5, "ready": 0.5}, "Effect.balance[start]: got 'special'; allowed: a state "
                                     "that is not a target of row 'start'"),
    (["general", "general"], "Effect.balance[start]: got ['general', 'general']; allowed: "
                             "unique states (repeated: general)"),
    ([], "Effect.balance[start]: got []; allowed: a state name, a table {state = share}"),
    ({}, "Effect.balance[start]: got {}; allowed: a state name, a table {state = share}"),
    (0.5, "Effect.balance[start]: got 0.5; allowed: a state name, a table"),
])
def test_refusals_name_the_field_the_value_and_what_is_allowed(start_to, message):
    with pytest.raises((ValueError, TypeError)) as err:
        _scenario(start_to)
    assert message in str(err.value)


def test_shares_within_the_tolerance_are_accepted():
    e = _scenario({"general": 0.6 + 9e-10, "ready": 0.4}).effect
    assert e.balance_shares()[0] == ("start", ("general", "ready"), (0.6 + 9e-10, 0.4))


def _chicago_with(balance_line, tmp_path):
    text = builtin_scenarios()["chicago-cpc"].read_text(encoding="utf-8")
    old = ('balance = {preschool = {special = ["general", "ready"], ready_special = "ready"}, '
           'general = {special = "general", literate_special = "literate"}, '
           'ready = "general", literate = "general"}')
    assert old in text
    path = tmp_path / "chicago.toml"
    path.write_text(text.replace(old, balance_line), encoding="utf-8")
    return path


@pytest.mark.parametrize(("line", "message"), [
    ('balance = {preschool = {general = 0.6, ready = 0.5}}',
     "key 'effect.balance': Effect.balance[preschool]: got {'general': 0.6, 'ready': 0.5}; "
     "allowed: shares that sum to 1"),
    ('balance = {preschool = {general = 0.6, reddy = 0.4}}',
     "key 'effect.balance': Effect.balance[preschool]: got 'reddy'; allowed: one of"),
    ('balance = {preschool = ["preschool", "ready"]}',
     "key 'effect.balance': Effect.balance[preschool]: got 'preschool'; allowed: states other "
     "than the row's own ('preschool') in shares or a list"),
    ('balance = {preschool = {general = "most", ready = 0.4}}',
     "key 'effect.balance': Effect.balance[preschool][general]: got 'most' of type str; "
     "allowed: a real number"),
])
def test_scenario_file_refusals_name_the_key(line, message, tmp_path):
    with pytest.raises(ScenarioFileError) as err:
        load_scenario(_chicago_with(line, tmp_path))
    assert message in str(err.value)


def test_scenario_file_reads_shares_and_they_round_trip(tmp_path):
    """chicago-cpc with fixed shares of the whole preschool row: read as written (the
    round-trip walker of tests/test_roundtrip.py finds every value), and in each draw
    (expected engine) 60% of the children kept out at kindergarten entry (of "special" and
    "ready_special" together) are "ready"."""
    from test_roundtrip import roundtrip_problems

    path = _chicago_with(
        'balance = {preschool = {general = 0.4, ready = 0.6}, ready = "general"}', tmp_path)
    deal = load_scenario(path)
    assert deal.scenario.effect.balance_shares() == (
        ("preschool", ("general", "ready"), (0.4, 0.6)), ("ready", ("general",), (1.0,)))
    assert roundtrip_problems(tomllib.loads(path.read_text(encoding="utf-8"))) == []
    ds = sibsim.simulate(deal.scenario, draws=5, seed=0, engine="expected", progress=False)
    p = (ds["occupancy"].sel(wave=0, period=1).sum("stratum")
         / ds["size"].sel(wave=0).sum("stratum"))
    c, t = p.sel(arm="comparison"), p.sel(arm="treatment")
    kept = (c - t).sel(state="special") + (c - t).sel(state="ready_special")
    np.testing.assert_allclose((t - c).sel(state="ready"), 0.6 * kept, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose((t - c).sel(state="general"), 0.4 * kept, rtol=1e-9,
                               atol=1e-14)


def test_chicago_children_kept_out_at_entry_are_ready_at_the_others_rate(tmp_path):
    """chicago-cpc with the whole preschool row's change shared in proportion (a list),
    expected engine, each draw: the children kept out of special education at kindergarten
    entry (of "special" and "ready_special" together: the comparison arm's shares less the
    treated arm's, both the untreated row's parameters of that draw) go to "ready" and
    "general" in the proportion of the comparison arm's (untreated) "ready" and "general".
    (The file's own by-target balance: tests/test_effect_balance_by_target.py.)"""
    path = _chicago_with('balance = {preschool = ["general", "ready"], ready = "general", '
                         'literate = "general"}', tmp_path)
    deal = load_scenario(path)
    assert dict(deal.scenario.effect.balance)["preschool"] == ("general", "ready")
    ds = sibsim.simulate(deal.scenario, draws=20, seed=0, engine="expected", progress=False)
    occ = ds["occupancy"].sel(wave=0, period=1).sum("stratum")  # (draw, arm, state)
    n = ds["size"].sel(wave=0).sum("stratum")
    p = occ / n
    c, t = p.sel(arm="comparison"), p.sel(arm="treatment")
    kept = (c - t).sel(state="special") + (c - t).sel(state="ready_special")
    assert (kept > 0).all()  # a hazard ratio below 1 in every draw
    ready, general = c.sel(state="ready"), c.sel(state="general")
    np.testing.assert_allclose((t - c).sel(state="ready"), kept * ready / (ready + general),
                               rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose((t - c).sel(state="general"), kept * general / (ready + general),
                               rtol=1e-9, atol=1e-14)
