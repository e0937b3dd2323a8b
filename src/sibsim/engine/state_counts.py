"""The engine side of a count by state (``kind = "counts_by_state"``): its tables and kernels.

A count by state (:class:`sibsim.spec.state_counts.StateCountOutcome`) is simulated after the
process it follows, from that process's occupancy in the same chunk of draws
(:func:`sibsim.engine.run.run_engine` runs every process that follows nothing first): the
count of a cell is Poisson with mean ``sum_s n0_s rate0_s + n1_s rate1_s`` (see
:mod:`sibsim.engine.kernels.state_counts`). Its tables are the rates ``rate (D, 2, K, C, S)``:
per draw, engagement level (0: not engaged, 1: engaged, the count's own effect applied),
stratum, table column (profile and effect strength) and state of the followed process.

Examples
--------
>>> import numpy as np, sibsim
>>> from sibsim.spec.scenario import Process
>>> work = sibsim.MarkovOutcome(states=("seeking", "employed"), name="work",
...                             transitions=[[0.8, 0.2], [0.1, 0.9]])
>>> months = sibsim.StateCountOutcome(follows="work", name="benefit_months",
...                                   rate_by_state={"seeking": 3.0, "employed": 0.0})
>>> sc = sibsim.Scenario(cohort=sibsim.Cohort(size=100), outcome=work, horizon=2,
...                      other_processes=(Process(months),))
>>> ds = sibsim.simulate(sc, draws=1, seed=1, engine="expected", progress=False)
>>> ds["events"].sel(process="benefit_months", arm="treatment").values.ravel().tolist()
[300.0, 240.0]
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from sibsim.engine.kernels.arrays import (
    Groups,
    Occupancy,
    Streams,
    Tallies,
    state_count_purpose,
)
from sibsim.engine.kernels.state_counts import state_counts_mean, state_counts_sample
from sibsim.engine.outcome_models import OUTCOME_MODELS, EffectFreeTables, OutcomeModel
from sibsim.engine.ranges import check_expected_counts
from sibsim.engine.tables import (
    Structure,
    Tables,
    apply_to_rate,
    check_rates,
    columns,
    effect_by_column,
    profile_values,
)
from sibsim.spec import _validate as v

__all__ = ["StateCountModel"]


@OUTCOME_MODELS.register
class StateCountModel(OutcomeModel):
    """Counts by state: rates ``rate (D, 2, K, C, S)``, drawn per cell from the followed
    process's occupancy (:meth:`follow`); no states of its own."""

    kind: ClassVar[str] = "counts_by_state"

    def layout(self):
        return (), np.zeros((0, 0), bool), np.zeros(0, bool), 0, True

    def effect_free_tables(self, params, D):
        scenario, o = self.scenario, self.outcome
        common = self._common(params, D)
        mult = profile_values(o.profile)
        tidx, bidx, strength = columns(scenario, mult.size)
        K = max(len(scenario.cohort.strata), 1)
        base = np.stack([np.asarray(params[f"baseline.rate.{s}"], dtype=float)
                         for s, _ in o.rate_by_state], axis=-1)  # (D, S)
        if np.any(base < 0):  # a sampled rate is >= 0; an override might not be
            d, s = (int(i) for i in np.argwhere(base < 0)[0])
            raise v.fail(f"baseline.rate.{o.rate_by_state[s][0]}", float(base[d, s]),
                         "an event rate per person-period >= 0")
        r0 = base[:, None, None, :] * mult[bidx][None, None, :, None]  # (D, 1, C, S)
        r0 = np.ascontiguousarray(np.broadcast_to(r0, (D, K, *r0.shape[2:])))
        return EffectFreeTables(common, tidx, strength, r0)

    def tables_at_effect(self, free, params, D):
        scenario, r0, common = self.scenario, free.untreated, free.common
        eff = effect_by_column(scenario, params, free.strength)  # (D, K', C)
        r1 = r0 if eff is None else apply_to_rate(r0, scenario.effect.measure, eff[..., None])
        rate = np.ascontiguousarray(np.stack([r0, r1], axis=1))  # (D, 2, K, C, S)
        check_rates(rate)
        # at most everyone present is in the state with the highest rate
        check_expected_counts(rate.max(axis=-1), common["nb_shape"],
                              np.array(scenario.group_sizes()))
        return Tables(prob=None, trans=None, rate=rate, tidx=free.tidx, **common)

    def follow(self, engine: str, st: Structure, tb: Tables, seed: int, draw0: int,
               driver: Occupancy, out: Tallies) -> None:
        """Fill ``out`` from the followed process's ``driver`` occupancy (float64 arrays
        ``(D, A, W, K, P, S)``): expected counts (``engine == "expected"``, float64 outputs) or
        drawn ones (int64 outputs)."""
        groups = Groups(st.sizes, st.entry, tb.tidx)
        driver = Occupancy(np.ascontiguousarray(driver.occupancy, dtype=np.float64),
                           np.ascontiguousarray(driver.engaged_occupancy, dtype=np.float64))
        if engine == "expected":
            state_counts_mean(tb.rate, groups, driver, out)
            return
        streams = Streams(np.uint64(seed), np.int64(draw0),
                          np.int64(state_count_purpose(st.process)))
        state_counts_sample(tb.rate, groups, streams, driver, out)
