"""The estimand of an evaluation (money/estimand.py) at its boundaries, on small datasets written
by hand: who counts as enrolled (each wave at its entry period, the last period of the horizon
and one after it, the evaluation's strata, a process with states and one without), the
enrolled share of a trigger (weighted by spans), Bloom's adjustment at a share of 0, the
smallest positive share and 1, and the check of a scenario without an effect in full."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

import sibsim
import sibsim.money
from sibsim.money.estimand import (
    ESTIMANDS,
    check_estimand,
    enrolled,
    enrolled_share,
    on_the_treated,
    trigger_shares,
)

D, W, S, P = 2, 3, 2, 4


def _dataset(entry=(0, 3, 4), processes: bool = False) -> xr.Dataset:
    """Engaged treated people ``100 d + 10 w + s + p`` (draw d, wave w, stratum s, period p);
    with ``processes``: a process 'care' with states (engaged occupancy ``1000 + that`` in
    state 'in', 2000 + that in 'out'; NaN in 'elsewhere', another process's state) and a count
    process 'arrests' (no states: NaN)."""
    d, w, s, p = np.meshgrid(np.arange(D), np.arange(W), np.arange(S), np.arange(P),
                             indexing="ij")
    eng = (100 * d + 10 * w + s + p).astype(float)
    engaged = np.stack([eng, np.zeros_like(eng)], axis=1)  # (D, arm, W, S, P)
    data = {
        "engaged": (("draw", "arm", "wave", "stratum", "period"), engaged),
        "size": (("arm", "wave", "stratum"), np.array([[[10.0, 30.0]] * W, [[20.0, 60.0]] * W])),
        "entry_period": (("wave",), np.array(entry)),
    }
    coords = {"draw": np.arange(D), "arm": ["treatment", "comparison"], "wave": np.arange(W),
              "stratum": ["a", "b"], "period": np.arange(P)}
    if processes:
        # the state dim is the union of every process's states: NaN where not the process's
        care = np.stack([1000 + engaged, 2000 + engaged, np.full_like(engaged, np.nan)],
                        axis=-1)  # (..., state)
        occ = np.stack([care, np.full_like(care, np.nan)], axis=-1)  # (..., state, process)
        data["engaged_occupancy"] = (("draw", "arm", "wave", "stratum", "period", "state",
                                      "process"), occ)
        coords.update(state=["in", "out", "elsewhere"], process=["care", "arrests"])
    return xr.Dataset(data, coords=coords)


def _ev(stratum=None, process="care", estimand="treated"):
    return SimpleNamespace(stratum=stratum, process=process, estimand=estimand, metric="m")


# --------------------------------------------------------------------------- who is enrolled
def test_each_wave_counts_at_its_entry_period_and_none_after_the_horizon():
    """Waves enter in periods 0, 3 and 4 of a 4-period horizon (3 waves): wave 0 counts at
    period 0, wave 1 at period 3 (the last), wave 2 (entering after the horizon) has none.
    Both strata: (100 d + 10 w + p) x 2 + 1."""
    got = enrolled(_dataset(), _ev())
    want = [[2 * (100 * d + 0 + 0) + 1, 2 * (100 * d + 10 + 3) + 1, 0.0] for d in range(D)]
    assert got.tolist() == want


def test_a_wave_entering_before_the_first_period_is_not_read_from_the_end():
    got = enrolled(_dataset(entry=(-1, 0, 1)), _ev())
    assert got[:, 0].tolist() == [0.0, 0.0]
    assert got[:, 1].tolist() == [2 * (100 * d + 10) + 1 for d in range(D)]


def test_the_evaluations_strata_alone_count():
    got = enrolled(_dataset(), _ev(stratum=("b",)))
    assert got.tolist() == [[100 * d + 1, 100 * d + 10 + 1 + 3, 0.0] for d in range(D)]


def test_a_process_with_states_counts_its_engaged_people_in_every_state():
    """The process 'care' has states: its engaged occupancy over both states, (1000 + x) +
    (2000 + x) per stratum; the count process 'arrests' (no states) falls back on engaged."""
    ds = _dataset(processes=True)
    x = enrolled(_dataset(), _ev())  # engaged, both strata
    np.testing.assert_array_equal(enrolled(ds, _ev(process="arrests")), x)
    care = enrolled(ds, _ev(process="care"))
    reached = np.array([[1.0, 1.0, 0.0]] * D)
    np.testing.assert_array_equal(care, reached * (2 * x + 2 * (1000 + 2000)))


# --------------------------------------------------------------------------- enrolled share
def test_the_share_of_one_wave_and_of_waves_weighted_by_spans_by_hand():
    took = np.array([[6.0, 9.0, 1.0]])
    n_t = np.array([10.0, 10.0, 20.0])
    assert enrolled_share(took, n_t, [2]).tolist() == [0.05]
    assert enrolled_share(took, n_t, [0, 2]).tolist() == [7 / 30]
    # spans 2, 1, 4 (periods covered): (12 + 9 + 4) / (20 + 10 + 80)
    np.testing.assert_allclose(enrolled_share(took, n_t, [0, 1, 2], np.array([2, 1, 4])),
                               [25 / 110], rtol=1e-15)
    # the span of a wave the trigger does not cover does not matter
    np.testing.assert_allclose(enrolled_share(took, n_t, [0, 1], np.array([1, 1, 7])), [0.75])


# --------------------------------------------------------------------------- Bloom's adjustment
def test_bloom_at_a_share_of_zero_the_smallest_positive_share_and_one():
    tiny = math.ulp(0.0)
    rel, units, gate = on_the_treated(np.array([0.0, 1e-300, 0.3, 0.3]),
                                      np.array([4.0, 4.0, 4.0, 4.0]),
                                      np.array([True, True, True, False]),
                                      np.array([0.0, tiny, 1.0, 0.5]))
    assert rel[0] == 0.0 and units[0] == 0.0 and not gate[0]
    assert rel[1] == 1e-300 / tiny and units[1] == 4.0 and gate[1]
    assert rel[2] == 0.3 and units[2] == 4.0 and gate[2]  # share 1: the ITT's, to the bit
    assert rel[3] == 0.6 and not gate[3]  # the ITT gate is kept, not opened


# --------------------------------------------------------------------------- trigger shares
def test_trigger_shares_are_one_for_itt_and_the_enrolled_share_for_treated():
    ds = _dataset()
    trig = [SimpleNamespace(waves=(0,), spans=None), SimpleNamespace(waves=(0, 1), spans=None),
            SimpleNamespace(waves=(0, 1), spans=np.array([3, 1, 1]))]
    fixed = SimpleNamespace(parts=[
        SimpleNamespace(ev=_ev(estimand="intention_to_treat"), triggers=trig[:1]),
        SimpleNamespace(ev=_ev(stratum=("a",)), triggers=trig)])
    got = trigger_shares(ds, fixed)
    took = enrolled(ds, _ev(stratum=("a",)))  # stratum a: 10 assigned a wave
    assert got.shape == (D, 4)
    assert got[:, 0].tolist() == [1.0, 1.0]
    np.testing.assert_allclose(got[:, 1], took[:, 0] / 10.0, rtol=1e-15)
    np.testing.assert_allclose(got[:, 2], (took[:, 0] + took[:, 1]) / 20.0, rtol=1e-15)
    # a pooled result over 3 periods of wave 0 and 1 of wave 1: weighted by the spans
    np.testing.assert_allclose(got[:, 3], (3 * took[:, 0] + took[:, 1]) / 40.0, rtol=1e-15)
    assert trigger_shares(ds, SimpleNamespace(parts=[])).shape == (D, 0)


# --------------------------------------------------------------------------- the check
def _scenario(effect):
    return sibsim.Scenario(cohort=sibsim.Cohort(size=10), outcome=sibsim.BinaryOutcome(0.3),
                           horizon=2, comparison=sibsim.ComparisonGroup(ratio=1),
                           effect=effect)


def test_the_check_refuses_treated_without_an_effect_in_full_and_nothing_else():
    assert ESTIMANDS == ("intention_to_treat", "treated")
    itt = sibsim.money.Evaluation("m")
    tot = sibsim.money.Evaluation("m", estimand="treated")
    check_estimand(itt, _scenario(None))
    check_estimand(tot, _scenario(sibsim.Effect("rr", 0.8, engagement=0.5)))
    with pytest.raises(ValueError, match="^" + re.escape(
            "Evaluation[m].estimand: got 'treated'; allowed: 'intention_to_treat' when the "
            "scenario has no effect (the effect on the treated divides by the share who "
            "engage, the effect's engagement; give the outcome an [effect])") + "$"):
        check_estimand(tot, _scenario(None))
