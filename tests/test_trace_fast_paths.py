"""The expected engine's fast paths give the bits of the straightforward computation.

* The trace kernel writes the first frailty node's values into the zeroed outputs instead of
  adding them, and the others add: checked against a plain-Python trace (every node added to
  zeros, the operations in the kernel's documented order), written here.
* The treated transition table is written into its half of the kernels' array
  (``apply_to_transitions(..., out=...)``): the same as a new array.
* ``check_probabilities`` decides with two reductions: it refuses exactly the tables that the
  element-wise rule refuses.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sibsim
from engine_scenarios import one_process
from sibsim.engine.expected import frailty_nodes, transition_trace
from sibsim.engine.outcome_models import model_of
from sibsim.engine.parameters import sample_parameters
from sibsim.engine.tables import apply_to_transitions, check_probabilities

pytestmark = pytest.mark.usefixtures("warm_kernels")


def reference_trace(st_, tb, frailty_var, at_frailty, engaged_events):
    """The expected trace in plain Python: per frailty node, per draw, arm, wave, stratum, the
    occupancy vectors of the not-engaged (0) and engaged (1) people are moved through the
    period's matrices; every node's values are added to zeroed outputs."""
    A, W, K = st_.sizes.shape
    P = st_.horizon
    D, S = tb.trans.shape[0], tb.trans.shape[-1]
    occ, eocc = np.zeros((D, A, W, K, P, S)), np.zeros((D, A, W, K, P, S))
    ev, en, eev = (np.zeros((D, A, W, K, P)) for _ in range(3))
    zs, ws = frailty_nodes(frailty_var) if frailty_var > 0 else (np.ones(1), np.ones(1))
    for z, weight in zip(zs, ws, strict=True):
        trans = tb.trans if frailty_var <= 0 else at_frailty(tb.trans, z)
        for d in range(D):
            for a in range(A):
                treated = st_.has_effect and a == 0
                for w in range(W):
                    for k in range(K):
                        n = float(st_.sizes[a, w, k]) * float(weight)
                        v = [[0.0] * S, [0.0] * S]
                        if treated:
                            v[1][st_.init] = n * tb.engage[d]
                            v[0][st_.init] = n - v[1][st_.init]
                        else:
                            v[0][st_.init] = n
                        for t in range(st_.entry[w], P):
                            if t > st_.entry[w]:
                                for s in range(S):
                                    moved = v[1][s] * tb.dropout[d, k]
                                    v[1][s] -= moved
                                    v[0][s] += moved
                            c = tb.tidx[w, t]
                            e_sum = ee_sum = eng = 0.0
                            nv = [[0.0] * S, [0.0] * S]
                            for s in range(S):
                                occ[d, a, w, k, t, s] += v[0][s] + v[1][s]
                                eocc[d, a, w, k, t, s] += v[1][s]
                                eng += v[1][s]
                                for j in range(2):
                                    for s2 in range(S):
                                        f = v[j][s] * trans[d, j, k, c, s, s2]
                                        nv[j][s2] += f
                                        if st_.event_flag[s, s2]:
                                            e_sum += f
                                            if j == 1:
                                                ee_sum += f
                            ev[d, a, w, k, t] += e_sum
                            en[d, a, w, k, t] += eng
                            eev[d, a, w, k, t] += ee_sum
                            v = nv
    return occ, ev, en, eocc, (eev if engaged_events else None)


CASES = {
    "markov": one_process("markov", engagement=0.7, dropout=0.1, duration=3),
    "markov_frailty": one_process("markov", frailty=0.5, engagement=0.8, dropout=0.05),
    "absorbing_frailty": one_process("absorbing", frailty=1.5, engagement=0.6, dropout=0.2),
    "binary": one_process("binary", engagement=0.9, dropout=0.3, duration=2),
    "bench_markov": sibsim.Scenario(
        cohort=sibsim.Cohort(size=30),
        outcome=sibsim.MarkovOutcome(
            states=("well", "mild", "severe", "dead"),
            transitions=[sibsim.Dirichlet.from_mean((0.85, 0.10, 0.03, 0.02), 200),
                         sibsim.Dirichlet.from_mean((0.20, 0.65, 0.10, 0.05), 200),
                         sibsim.Dirichlet.from_mean((0.05, 0.15, 0.70, 0.10), 200),
                         (0.0, 0.0, 0.0, 1.0)],
            events=[("well", "mild"), ("mild", "severe")]),
        horizon=6,
        effect=sibsim.Effect("rr", sibsim.LogNormal.from_mean_sd(0.8, 0.1),
                             targets=[("well", "mild"), ("mild", "severe")], duration=2),
        comparison=sibsim.ComparisonGroup(size=30)),
}


@pytest.mark.parametrize("engaged_events", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_trace_equals_plain_python_bit_for_bit(name, engaged_events):
    sc = CASES[name]
    model = model_of(sc)
    st_ = model.structure()
    D = 5
    tb = model.tables(sample_parameters(sc.parameters(), 4, 0, D), D)
    fv = sc.frailty.variance if sc.frailty is not None else 0.0
    at_frailty = lambda trans, z: model.frailty_transitions(st_, trans, z)  # noqa: E731
    eev = np.zeros((D, *st_.sizes.shape, st_.horizon)) if engaged_events else None
    got = (*transition_trace(st_, tb, fv, at_frailty, engaged_events=eev), eev)
    want = reference_trace(st_, tb, fv, at_frailty, engaged_events)
    for g, w, what in zip(got, want, ("occupancy", "events", "engaged", "engaged occupancy",
                                      "engaged events"), strict=True):
        if w is None:
            assert g is None
            continue
        assert g.shape == w.shape and g.tobytes() == w.tobytes(), what


def test_trace_writes_nothing_before_a_waves_entry():
    """The first node writes only from each wave's entry on: the earlier periods keep the
    zeros they were given."""
    sc = CASES["markov"]
    model = model_of(sc)
    st_ = model.structure()
    tb = model.tables(sample_parameters(sc.parameters(), 4, 0, 3), 3)
    occ, ev, en, eocc = transition_trace(st_, tb, 0.0, None)
    assert st_.entry[1] == 1
    for x in (occ, ev, en, eocc):
        assert not x[:, :, 1, :, 0].any()
        assert x[:, 0, 1, :, 1:].any()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), measure=st.sampled_from(["rr", "hr", "or", "absolute"]))
def test_treated_table_written_in_place_equals_a_new_one(seed, measure):
    rng = np.random.default_rng(seed)
    D, K, C, S = 7, 2, 3, 4
    t0 = rng.dirichlet(np.ones(S), (D, K, C, S))
    eff = (rng.uniform(-0.2, 0.2, (D, K, C)) if measure == "absolute"
           else rng.uniform(0.0, 3.0, (D, K, C)))
    targets, scales = [(0, 1), (1, 2), (0, 3)], (1.0, 0.5, 0.0)
    new = apply_to_transitions(t0, measure, eff, targets, scales)
    trans = np.full((D, 2, K, C, S, S), np.nan)
    back = apply_to_transitions(t0, measure, eff, targets, scales, out=trans[:, 1])
    assert np.shares_memory(back, trans)
    assert trans[:, 1].tobytes() == np.ascontiguousarray(new).tobytes()
    assert np.isnan(trans[:, 0]).all()  # the other half untouched


def _refused(prob):
    try:
        check_probabilities(prob, "p")
    except ValueError:
        return True
    return False


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                  elements=st.one_of(st.floats(-0.5, 1.5), st.sampled_from(
                      [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, 1.0 + 1e-12, 1.0 + 3e-12,
                       -1e-300]))))
def test_check_probabilities_refuses_what_the_elementwise_rule_refuses(prob):
    rule = bool((~np.isfinite(prob) | (prob < 0) | (prob > 1 + 1e-12)).any())
    assert _refused(prob) == rule


@pytest.mark.parametrize(("bad", "shown"), [(np.nan, "give nan;"), (1.5, "give 1.5;"),
                                             (-np.inf, "give -inf;")])
def test_a_refused_probability_is_named_as_a_plain_number(bad, shown):
    """The message names the value as a user reads it, not numpy's repr (np.float64(nan))."""
    with pytest.raises(ValueError) as err:
        check_probabilities(np.array([[0.5, bad]]), "p")
    assert shown in str(err.value) and "np." not in str(err.value)


def test_untreated_table_gathered_in_place_equals_the_stacked_one():
    """Markov strata with their own baselines (one matrix for one stratum, two by time since
    entry for the outcome's own, Dirichlet rows): the untreated table gathered stratum by
    stratum into one array equals the stack of each stratum's gathered matrices."""
    from sibsim.engine.tables import columns, matrices

    states = ("well", "sick", "dead")
    low = [sibsim.Dirichlet.from_mean((0.9, 0.08, 0.02), 50), (0.4, 0.5, 0.1), (0.0, 0.0, 1.0)]
    own = [[(0.8, 0.15, 0.05), sibsim.Dirichlet.from_mean((0.3, 0.6, 0.1), 80), (0, 0, 1)],
           [(0.7, 0.2, 0.1), (0.3, 0.6, 0.1), (0.0, 0.0, 1.0)]]
    sc = sibsim.Scenario(
        cohort=sibsim.Cohort(entry=(50, 50), strata=(sibsim.Stratum("low", 0.4, baseline=low),
                                                     sibsim.Stratum("high", 0.6))),
        outcome=sibsim.MarkovOutcome(states, own, events=[("well", "sick")]), horizon=5,
        effect=sibsim.Effect("hr", 0.5, targets=[("well", "sick")], onset=1, duration=2),
        comparison=sibsim.ComparisonGroup(ratio=1))
    model = model_of(sc)
    D = 6
    params = sample_parameters(sc.parameters(), 9, 0, D)
    got = model.effect_free_tables(params, D).untreated
    per = [matrices([low], "baseline[low]", params, states, D),
           matrices(own, "baseline", params, states, D)]
    _, bidx, _ = columns(sc, max(m.shape[1] for m in per))
    want = np.stack([m[:, np.minimum(bidx, m.shape[1] - 1)] for m in per], axis=1)
    assert len(bidx) > 2 and got.shape == want.shape
    assert got.tobytes() == want.tobytes()
