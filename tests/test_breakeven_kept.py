"""What the break-even search keeps between effects (issue 8, section 8): the same numbers,
bit for bit, as computing everything afresh at each effect.

* the cancellation's evaluation of the cohorts that ran measures its pooled triggers only
  (:func:`sibsim.money.cancellation._pooled_only`): that column equals the full evaluation's;
* the lifecycle keeps the masks of a stop that does not depend on the outcomes (a
  cancellation, the maturity) in ``EffectFree.stops``; a stop read from interim results is
  never kept.
"""

from __future__ import annotations

import numpy as np
import pytest

import sibsim
from sibsim.analysis.breakeven import _Pipeline
from sibsim.money.cancellation import _pooled_only, _trimmed
from sibsim.money.evaluation import evaluate, evaluation_fixed
from sibsim.money.sib import counterfactual, effect_free, money_arrays

pytestmark = pytest.mark.usefixtures("warm_kernels")


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal arrays to the last bit (the sign of a zero and NaNs in the same places too)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a.view(np.int64 if a.itemsize == 8 else np.int32),
                                   b.view(np.int64 if b.itemsize == 8 else np.int32)))
    return bool(np.array_equal(a, b))


def test_pooled_only_measures_the_pooled_trigger_as_the_full_evaluation():
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=150, seed=4, progress=False)
    ran = ds.isel(wave=slice(0, 2))  # the cohorts that ran when the third is cancelled
    evs = tuple(_trimmed(e, 2) for e in deal.evaluations)
    fixed = evaluation_fixed(ran, evs, 4)
    full = evaluate(ran, evs, 4, fixed)
    pooled = evaluate(ran, evs, 4, _pooled_only(fixed))
    assert full.n_triggers == 3 and pooled.n_triggers == 1  # two cohorts and their pool
    assert pooled.cumulative == full.cumulative[-1:] and pooled.waves == full.waves[-1:]
    assert pooled.period == full.period[-1:]
    assert pooled.participants == full.participants[-1:]
    for name in ("measured_effect", "units", "avoided_cost", "gate"):
        assert _same_bits(getattr(pooled, name)[:, 0], getattr(full, name)[:, -1]), name
    # the pooled result varies over draws: a comparison of constants would prove little
    assert np.ptp(pooled.units[:, 0]) > 0


def _money_at(name: str, effects: tuple[float, ...]):
    """The money arrays of ``name`` at each effect, with one ``EffectFree`` kept between the
    calls, and afresh (no ``fixed``); and that ``EffectFree``."""
    deal = sibsim.load_scenario(name)
    ds = sibsim.simulate(deal, draws=120, seed=2, progress=False)
    cf = counterfactual(deal, 120, 2)
    pipe = _Pipeline(deal, ds, cf)
    fixed = effect_free(deal, ds, cf)
    out = []
    for x in effects:
        at = pipe._at_effect(np.full(pipe.D, x)).copy(deep=True)
        kept, _ = money_arrays(deal, at, cf=cf, fixed=fixed)
        fresh, _ = money_arrays(deal, at, cf=cf)
        out.append((kept, fresh))
    return out, fixed


def test_lifecycle_keeps_a_cancellations_masks_with_the_same_numbers():
    runs, fixed = _money_at("peterborough", (1.0, 0.8, 0.6))
    assert any(k[0] == "lifecycle_masks" for k in fixed.stops if isinstance(k, tuple))
    for kept, fresh in runs:
        assert set(kept) == set(fresh)
        for name in fresh:
            assert _same_bits(kept[name], fresh[name]), name
    # the second and third effects reuse the first one's stop (kept, not computed again)
    stops = [kept["stop_period"] for kept, _ in runs]
    assert stops[1] is stops[0] and stops[2] is stops[0]
    # the cancellation happened in some draws and not in others: the masks mask something
    assert 0 < (stops[0] < 8).sum() < stops[0].size
    # the money moves with the effect
    assert not np.array_equal(runs[0][0]["outcome_payments"], runs[2][0]["outcome_payments"])


def test_lifecycle_keeps_nothing_when_the_stop_reads_interim_results():
    runs, fixed = _money_at("nyc-able", (1.0, 0.7))
    assert not any(k[0] == "lifecycle_masks" for k in fixed.stops if isinstance(k, tuple))
    for kept, fresh in runs:
        for name in fresh:
            assert _same_bits(kept[name], fresh[name]), name
    # the stop follows the interim result, so it moves with the effect in some draws
    assert not np.array_equal(runs[0][0]["stop_period"], runs[1][0]["stop_period"])


def test_cohorts_that_ran_read_the_full_evaluations_window_sums():
    """The evaluation of the cohorts that ran takes the first waves' window sums the full
    evaluation recorded: the same table as summing the units again; and it does read them
    (sums changed on purpose change its result)."""
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=150, seed=6, progress=False)
    evs = deal.evaluations
    sums: dict = {}
    evaluate(ds, evs, 6, evaluation_fixed(ds, evs, 6), window_sums=sums)
    assert set(sums) == {0} and sums[0][1].shape == (150, 3)
    ran = ds.isel(wave=slice(0, 2))
    trimmed = tuple(_trimmed(e, 2) for e in evs)
    parts = _pooled_only(evaluation_fixed(ran, trimmed, 6))
    again = evaluate(ran, trimmed, 6, parts)
    reused = evaluate(ran, trimmed, 6, parts, given_sums=sums)
    for name in ("measured_effect", "units", "avoided_cost", "gate"):
        assert _same_bits(getattr(reused, name), getattr(again, name)), name
    mask, s = sums[0]
    moved = evaluate(ran, trimmed, 6, parts, given_sums={0: (mask, s + 1.0)})
    assert not np.array_equal(moved.units, again.units)
    # a window mask that is not the given one's first rows is not read
    other = mask.copy()
    other[0] = ~other[0]
    kept = evaluate(ran, trimmed, 6, parts, given_sums={0: (other, s + 1.0)})
    assert _same_bits(kept.units, again.units)
