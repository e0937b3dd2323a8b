"""``Effect.balance`` by target: a row's value ``{target = where}`` sends each target's own
change to its own states (a name, fixed shares or a list in proportion to the row), e.g.
chicago-cpc's kindergarten entry ``{preschool = {special = ["general", "ready"],
ready_special = "ready"}}``.

Checked against a two-period chain computed by hand (matrices written out here, numpy matrix
products), the aggregate and individual engines within 4.5 Monte Carlo standard errors, the
general by-target formula against the whole-row one where every target goes to the same
place, hypothesis properties of the changed rows (stochastic for any effect, each target's
change where it was sent), the old forms unchanged (stored values, lowering and arrays), the
refusals (the field, the value, what is allowed; the TOML key), and chicago-cpc's kindergarten
entry against each draw's own untreated row.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib

import numpy as np
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import sibsim
from sibsim import Cohort, Effect, MarkovOutcome, Scenario
from sibsim.engine.outcome_models import _balance_indices
from sibsim.engine.tables import (
    _share_by_target,
    _share_change,
    apply_to_probability,
    apply_to_transitions,
)
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, load_scenario
from sibsim.spec.effect import is_by_target

STATES = ("start", "ready", "ready_special", "general", "special")
# period 0 (kindergarten entry): from "start" 50% ready, 10% ready in special education, 20%
# general, 20% special; then the one-year states end: "ready" -> general 90%, special 10%;
# "ready_special" -> general 10%, special 90%; general -> special 5% a year; special absorbing
T = (((0.0, 0.5, 0.1, 0.2, 0.2), (0.0, 0.0, 0.0, 0.9, 0.1), (0.0, 0.0, 0.0, 0.1, 0.9),
      (0.0, 0.0, 0.0, 0.95, 0.05), (0.0, 0.0, 0.0, 0.0, 1.0)),
     ((1.0, 0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.9, 0.1), (0.0, 0.0, 0.0, 0.1, 0.9),
      (0.0, 0.0, 0.0, 0.95, 0.05), (0.0, 0.0, 0.0, 0.0, 1.0)))
TARGETS = (("start", "special"), ("start", "ready_special"), ("general", "special"))
N = 1000
BY_TARGET = {"start": {"special": ["general", "ready"], "ready_special": "ready"}}


def _scenario(balance, value=0.5, measure="rr"):
    return Scenario(
        name="t", horizon=3, cohort=Cohort(size=N),
        outcome=MarkovOutcome(states=STATES, transitions=T, initial="start",
                              events=(("start", "special"), ("start", "ready_special"),
                                      ("ready", "special"), ("general", "special"))),
        effect=Effect(measure=measure, value=value, targets=TARGETS, balance=balance,
                      decay=0.0))


def _per_period(ds):
    """The treated arm's person-periods by state, (draw, state, period)."""
    da = ds["occupancy"].sel(arm="treatment")
    return da.sum([d for d in da.dims if d not in ("draw", "state", "period")]).transpose(
        "draw", "state", "period")


def _by_hand(special_ready_share, ready_special_ready_share=1.0):
    """Treated occupancy shares (state, period) of the chain above with a relative risk 0.5
    on every target: from "start" special 0.2 -> 0.1, its 0.1 kept out going
    ``special_ready_share`` to "ready" and the rest to "general"; ready_special 0.1 -> 0.05,
    its 0.05 going ``ready_special_ready_share`` to "ready", the rest to "general"; from
    "general" special 0.05 -> 0.025 on the diagonal."""
    ks, kr = 0.1, 0.05
    p0 = np.array([
        [0.0, 0.5 + special_ready_share * ks + ready_special_ready_share * kr, 0.05,
         0.2 + (1 - special_ready_share) * ks + (1 - ready_special_ready_share) * kr, 0.1],
        [0.0, 0.0, 0.0, 0.9, 0.1],
        [0.0, 0.0, 0.0, 0.1, 0.9],
        [0.0, 0.0, 0.0, 0.975, 0.025],
        [0.0, 0.0, 0.0, 0.0, 1.0]])
    p1 = p0.copy()
    p1[0] = [1.0, 0.0, 0.0, 0.0, 0.0]
    x0 = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    x1 = x0 @ p0
    x2 = x1 @ p1
    return np.stack([x0, x1, x2], axis=-1)


# special in period 2: 0.1 + ready x 0.1 + ready_special 0.05 x 0.9 + general x 0.025
CASES = [
    # special's 0.1 shared 0.5 : 0.2 between ready and general; ready_special's 0.05 to ready:
    # ready 0.5 + 0.1 x 5/7 + 0.05 = 0.62142857..., general 0.2 + 0.1 x 2/7 = 0.22857142...
    (BY_TARGET, 5 / 7, 1.0,
     0.1 + (0.55 + 0.5 / 7) * 0.1 + 0.045 + (0.2 + 0.2 / 7) * 0.025),
    ({"start": {"special": {"general": 0.6, "ready": 0.4}, "ready_special": "ready"}}, 0.4, 1.0,
     0.1 + 0.59 * 0.1 + 0.045 + 0.26 * 0.025),
    ({"start": {"special": "general", "ready_special": ["ready", "general"]}}, 0.0, 5 / 7,
     0.1 + (0.5 + 0.25 / 7) * 0.1 + 0.045 + (0.3 + 0.1 / 7) * 0.025),
]


@pytest.mark.parametrize(("balance", "s_share", "rs_share", "special_2"), CASES)
def test_expected_engine_two_periods_by_hand(balance, s_share, rs_share, special_2):
    want = _by_hand(s_share, rs_share)
    assert math.isclose(want[4, 2], special_2, rel_tol=1e-12)  # the matrices, as written above
    ds = sibsim.simulate(_scenario(balance), draws=1, seed=1, engine="expected",
                         progress=False)
    got = _per_period(ds).sel(state=list(STATES)).values[0] / N
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("engine", ["aggregate", "individual"])
def test_simulating_engines_agree_within_four_and_a_half_standard_errors(engine):
    draws = 200
    want = _by_hand(5 / 7)
    occ = _per_period(sibsim.simulate(_scenario(BY_TARGET), draws=draws, seed=5,
                                      engine=engine, progress=False)) / N
    for state, period in (("ready", 1), ("ready_special", 1), ("general", 1), ("special", 1),
                          ("special", 2), ("general", 2)):
        p = float(want[STATES.index(state), period])
        se = math.sqrt(p * (1 - p) / (N * draws))
        got = float(occ.sel(state=state, period=period).mean())
        assert abs(got - p) < 4.5 * se, (engine, state, period, got, p, se)


def test_the_by_target_formula_is_the_whole_row_one_when_every_target_goes_alike():
    """``_share_by_target`` with the same place for every target against ``_share_change``
    (the whole row's change together), for rising and falling targets, shares and lists."""
    rng = np.random.default_rng(4)
    rows = rng.dirichlet(np.full(6, 0.7), size=50)
    t0 = np.tile(np.eye(6), (50, 1, 1, 1, 1))
    t0[:, 0, 0, 0] = rows
    cols = [4, 5]
    old = t0[..., 0, cols]  # (D, 1, 1, 2)
    for value in (0.3, 3.0):
        new = apply_to_probability(old, "rr", np.full(old.shape, value))
        for place in (((1, 2), None), ((1, 2, 3), (0.2, 0.5, 0.3)), ((2,), (1.0,))):
            whole, by = t0.copy(), t0.copy()
            want = _share_change(t0, whole, 0, old, new, *place)
            got = _share_by_target(t0, by, 0, old, new, [place, place])
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
            np.testing.assert_allclose(by, whole, rtol=0, atol=1e-15)


_MEASURE_VALUES = st.one_of(
    st.tuples(st.sampled_from(["rr", "hr", "or"]), st.floats(0.0, 5.0)),
    st.tuples(st.just("absolute"), st.floats(-1.0, 1.0)))
_PLACE = st.tuples(st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True),
                   st.booleans(),
                   st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(
                       lambda s: sum(s) > 1e-3))


@settings(max_examples=200, deadline=None)
@given(weights=st.lists(st.floats(0.0, 1.0), min_size=7, max_size=7).filter(
           lambda w: sum(w) > 1e-3),
       order=st.permutations(range(1, 7)), n_targets=st.integers(1, 3),
       places=st.lists(_PLACE, min_size=3, max_size=3), mv=_MEASURE_VALUES,
       diagonal=st.lists(st.booleans(), min_size=3, max_size=3))
@example(weights=[0.0, 0.5, 0.0, 0.0, 0.0, 0.5, 0.0], order=[1, 2, 3, 4, 5, 6], n_targets=2,
         places=[([0], True, [1.0] * 4), ([1], True, [1.0] * 4), ([0], True, [1.0] * 4)],
         mv=("rr", 2.0), diagonal=[False] * 3)
def test_rows_stay_stochastic_and_each_targets_change_goes_where_it_is_sent(
        weights, order, n_targets, places, mv, diagonal):
    measure, value = mv
    row = np.asarray(weights) / sum(weights)
    t0 = np.eye(7)[None, None, None].copy()
    t0[0, 0, 0, 0] = row
    cols = list(order[:n_targets])
    free = list(order[n_targets:])  # states that may balance (the row's own, 0, also alone)
    plan, ws = {}, []
    for i, c in enumerate(cols):
        pick, proportional, raw = places[i]
        to = (0,) if diagonal[i] else tuple(dict.fromkeys(free[j % len(free)] for j in pick))
        shares = None if proportional else tuple(raw[:len(to)])
        if shares is not None and sum(shares) <= 1e-3:
            shares = (1.0,) * len(to)
        plan[c] = (to, shares)
        w = np.zeros(7)
        held = row[list(to)]
        if shares is not None:
            w[list(to)] = np.asarray(shares) / sum(shares)
        elif held.sum() > 0:
            w[list(to)] = held / held.sum()
        else:  # nobody reaches those states: equal shares
            w[list(to)] = 1 / len(to)
        ws.append(w)
    out = apply_to_transitions(t0, measure, np.full((1, 1, 1), value),
                               [(0, c) for c in cols], balance={0: plan})[0, 0, 0]
    new = out[0]
    assert np.all(new >= 0) and abs(new.sum() - 1.0) < 1e-12
    np.testing.assert_array_equal(out[1:], t0[0, 0, 0, 1:])  # other rows untouched
    involved = set(cols) | {j for to, _ in plan.values() for j in to}
    rest = [i for i in range(7) if i not in involved]
    np.testing.assert_array_equal(new[rest], row[rest])
    target = apply_to_probability(row[cols], measure, np.full(len(cols), value))
    assert np.all(new[cols] <= target + 1e-15)  # scaled down only, never up
    gain = new - row
    sent = sum(w * (row[c] - new[c]) for w, c in zip(ws, cols, strict=True))
    balancing = sorted(involved - set(cols))
    scaled = np.any(new[cols] < target - 1e-12)  # (the whole-row code may round 1 ulp off)
    alike = len({(tuple(to), sh) for to, sh in plan.values()}) == 1
    event(f"{'alike' if alike else 'by target'}, {'scaled' if scaled else 'not scaled'}")
    # every target's change where it was sent (when scaled: checked below)
    np.testing.assert_allclose(gain[balancing], sent[balancing], rtol=0, atol=1e-12)
    if scaled:  # a state ran out
        rising = target > row[cols]
        assert np.any(rising)
        if not alike:  # by target: falling
            np.testing.assert_array_equal(new[cols][~rising], target[~rising])  # as wanted
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = new[cols][rising] / target[rising]  # one factor for the rising ones
        assert np.ptp(factor) < 1e-9 and np.all(factor < 1 + 1e-12)
        assert np.any(new[balancing] < 1e-12)


def test_old_forms_are_stored_lowered_and_simulated_as_before():
    """A state name, shares and a list: stored as before (no by-target value), lowered to the
    dict the whole-row code reads (the expression main used, written out here), and a
    by-target table giving the row's one target the same place runs to the same arrays."""
    targets = (("start", "special"), ("general", "special"))
    states = ("start", "ready", "ready_special", "general", "special")
    for form, stored in (("general", "general"),
                         ({"general": 0.6, "ready": 0.4}, (("general", 0.6), ("ready", 0.4))),
                         (["general", "ready"], ("general", "ready"))):
        e = Effect("rr", 0.5, targets=targets, balance={"start": form})
        assert e.balance == (("start", stored),) and not is_by_target(stored)
        old = {states.index(a): (tuple(states.index(b) for b in to), shares)
               for a, to, shares in e.balance_shares()} or None
        assert _balance_indices(e, states) == old
        one = {"start": {"special": form}}
        assert _balance_indices(Effect("rr", 0.5, targets=targets, balance=one), states) == {
            0: {4: old[0]}}
    sc = Scenario(name="t", horizon=3, cohort=Cohort(size=N),
                  outcome=MarkovOutcome(states=STATES, transitions=T, initial="start",
                                        events=(("start", "special"),)),
                  effect=Effect("rr", 0.5, targets=targets, balance={"start": ["general",
                                                                               "ready"]}))
    base = sibsim.simulate(sc, draws=20, seed=2, progress=False)
    same = sibsim.simulate(dataclasses.replace(sc, effect=dataclasses.replace(
        sc.effect, balance={"start": {"special": ["general", "ready"]}})), draws=20, seed=2,
        progress=False)
    for var in base.data_vars:
        np.testing.assert_array_equal(base[var].values, same[var].values)


@pytest.mark.parametrize(("balance", "message"), [
    ({"start": {"special": ["general", "ready"]}},
     "Effect.balance[start]: got {'special': ('general', 'ready')}; allowed: a table naming "
     "every target of row 'start' ('special', 'ready_special'); missing: 'ready_special'"),
    ({"start": {"special": "general", "ready_special": "ready", "general": "ready"}},
     "Effect.balance[start]: got 'general'; allowed: targets of row 'start': 'special', "
     "'ready_special'"),
    ({"start": {"special": ["general", "ready_special"], "ready_special": "ready"}},
     "Effect.balance[start][special]: got 'ready_special'; allowed: a state that is not a "
     "target of row 'start'"),
    ({"start": {"special": "general", "ready_special": "special"}},
     "Effect.balance[start][ready_special]: got 'special'; allowed: a state that is not a "
     "target of row 'start'"),
    ({"start": {"special": ["start", "general"], "ready_special": "ready"}},
     "Effect.balance[start][special]: got 'start'; allowed: states other than the row's own "
     "('start') in shares or a list"),
    ({"start": {"special": {"general": 0.7, "ready": 0.4}, "ready_special": "ready"}},
     "Effect.balance[start][special]: got {'general': 0.7, 'ready': 0.4}; allowed: shares "
     "that sum to 1 (within 1e-09); these sum to 1.1"),
    ({"start": {"special": {"general": -0.5, "ready": 1.5}, "ready_special": "ready"}},
     "Effect.balance[start][special][general]: got -0.5; allowed: a finite number in [0, 1]"),
    ({"start": {"special": "general", "ready_special": "nowhere"}},
     "Effect.balance[start]: got 'nowhere'; allowed: one of 'start', 'ready'"),
    ({"start": {"special": [], "ready_special": "ready"}},
     "Effect.balance[start][special]: got []; allowed: a state name, a table {state = share}"),
    ({"start": {"special": {"ready_special": "ready"}, "ready_special": "ready"}},
     "Effect.balance[start][special][ready_special]: got 'ready' of type str; allowed: a real "
     "number"),
    ({"start": (("special", "general"), ("special", "ready"))},
     "Effect.balance[start]: got ['special', 'special']; allowed: unique targets"),
])
def test_refusals_name_the_field_the_value_and_what_is_allowed(balance, message):
    with pytest.raises((ValueError, TypeError)) as err:
        _scenario(balance)
    assert message in str(err.value)


def test_the_row_own_state_alone_is_the_diagonal():
    """``{special = "start"}``: that target's change stays on the row's diagonal (here 0, so
    the kept-out 0.1 stays in "start" while ready_special's 0.05 goes to "ready")."""
    t0 = np.array(T[0])[None, None, None]
    out = apply_to_transitions(t0, "rr", np.full((1, 1, 1), 0.5), [(0, 4), (0, 2), (3, 4)],
                               balance=_balance_indices(_scenario(
                                   {"start": {"special": "start", "ready_special": "ready"}}
                               ).effect, STATES))[0, 0, 0, 0]
    np.testing.assert_allclose(out, [0.1, 0.55, 0.05, 0.2, 0.1], rtol=0, atol=1e-15)


CHICAGO_LINE = ('balance = {preschool = {special = ["general", "ready"], ready_special = '
                '"ready"}, general = {special = "general", literate_special = "literate"}, '
                'ready = "general", literate = "general"}')


def _chicago_with(balance_line, tmp_path):
    text = builtin_scenarios()["chicago-cpc"].read_text(encoding="utf-8")
    assert CHICAGO_LINE in text
    path = tmp_path / "chicago.toml"
    path.write_text(text.replace(CHICAGO_LINE, balance_line), encoding="utf-8")
    return path


@pytest.mark.parametrize(("line", "message"), [
    ('balance = {preschool = {special = ["general", "ready"]}}',
     "key 'effect.balance': Effect.balance[preschool]: got {'special': ('general', 'ready')}; "
     "allowed: a table naming every target of row 'preschool' ('special', 'ready_special'); "
     "missing: 'ready_special'"),
    ('balance = {preschool = {special = ["general", "ready"], ready_special = "redy"}}',
     "key 'effect.balance': Effect.balance[preschool]: got 'redy'; allowed: one of"),
    ('balance = {preschool = {special = ["general", "ready"], ready = "general"}}',
     "key 'effect.balance': Effect.balance[preschool]: got 'ready'; allowed: targets of row "
     "'preschool': 'special', 'ready_special'"),
    ('balance = {preschool = {special = ["general", "ready"], ready_special = ["preschool"]}}',
     "key 'effect.balance': Effect.balance[preschool][ready_special]: got 'preschool'; "
     "allowed: states other than the row's own"),
])
def test_scenario_file_refusals_name_the_key(line, message, tmp_path):
    with pytest.raises(ScenarioFileError) as err:
        load_scenario(_chicago_with(line, tmp_path))
    assert message in str(err.value)


def test_chicago_reads_by_target_and_round_trips():
    from test_roundtrip import roundtrip_problems

    path = builtin_scenarios()["chicago-cpc"]
    e = load_scenario(path).scenario.effect
    assert ("preschool", "ready_special") in e.targets
    assert dict(e.balance)["preschool"] == (("special", ("general", "ready")),
                                            ("ready_special", "ready"))
    assert roundtrip_problems(tomllib.loads(path.read_text(encoding="utf-8"))) == []


def test_chicago_children_kept_out_at_entry_go_where_each_target_sends_them():
    """Expected engine, each draw, cohort 1 at kindergarten: the children kept out of "special"
    (comparison less treated) go to "ready" and "general" in the proportion of the comparison
    arm's (untreated) "ready" and "general"; those kept out of "ready_special" to "ready"."""
    deal = sibsim.load_scenario("chicago-cpc")
    ds = sibsim.simulate(deal.scenario, draws=20, seed=0, engine="expected", progress=False)
    p = (ds["occupancy"].sel(wave=0, period=1).sum("stratum")
         / ds["size"].sel(wave=0).sum("stratum"))  # (draw, arm, state)
    c, t = p.sel(arm="comparison"), p.sel(arm="treatment")
    kept_s = c.sel(state="special") - t.sel(state="special")
    kept_rs = c.sel(state="ready_special") - t.sel(state="ready_special")
    assert (kept_s > 0).all() and (kept_rs > 0).all()  # a hazard ratio below 1 in every draw
    ready, general = c.sel(state="ready"), c.sel(state="general")
    np.testing.assert_allclose((t - c).sel(state="ready"),
                               kept_s * ready / (ready + general) + kept_rs,
                               rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose((t - c).sel(state="general"),
                               kept_s * general / (ready + general), rtol=1e-9, atol=1e-14)
