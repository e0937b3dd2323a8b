"""The engine kernels' grouped inputs and outputs, and their stream purpose codes.

Each kernel takes a few :class:`typing.NamedTuple` s instead of a long list of positional arrays;
the groups are shared across kernels (array conventions in
:mod:`sibsim.engine.kernels.individual`):

* :class:`Groups` -- the cohort layout: people per ``(arm, wave, stratum)``, entry period of each
  wave, table column of each wave and calendar period;
* :class:`Service` -- engagement share and drop-out per draw, whether the service has an
  effect at all, and the newcomers' uptake of it while it runs;
* :class:`Streams` -- the keys of the random streams (seed, first draw, :class:`Purpose`) and
  whether a person's own variables come from a separate person stream;
* :class:`Chain` -- the states of a transition model (counted transitions, absorbing states,
  starting state);
* per-kind tables: :class:`BinaryTables`, :class:`CountTables`, :class:`JumpTables` (the
  individual Markov kernel); the aggregate and expected Markov kernels take the transition
  matrices ``trans (D, 2, K, C, S, S)`` directly;
* outputs, filled by the kernels: :class:`Tallies` (events, engaged people per period and,
  when asked for, the engaged participants' events) and
  :class:`Occupancy` (people by state, and engaged people by state).

numba caveats: every group is passed as its own top-level kernel argument (numba's parallel
lowering refuses a tuple of arrays nested in another tuple argument), and the kernels bind the
fields to local names before their parallel loop.

Examples
--------
>>> import numpy as np
>>> g = Groups(sizes=np.full((2, 1, 1), 100, np.int64), entry=np.zeros(1, np.int64),
...            tidx=np.zeros((1, 3), np.int64))
>>> g.sizes.shape  # (arms, waves, strata)
(2, 1, 1)
>>> int(Purpose.AGGREGATE), outcome_purpose(1)
(2, 257)
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["BinaryTables", "Chain", "CountTables", "Groups", "JumpTables", "Occupancy", "Purpose",
           "Service", "Streams", "Tallies", "aggregate_purpose", "no_engaged_events",
           "outcome_purpose", "state_count_purpose"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class Purpose(IntEnum):
    """What a random stream is for: part of every stream key, so that streams never overlap.

    The outcome streams of process ``i > 0`` add ``i << 8`` (:func:`outcome_purpose`,
    :func:`aggregate_purpose`); the parameter sampler uses its own code (7).
    """

    INDIVIDUAL = 1  #: outcome stream of the individual engine
    AGGREGATE = 2  #: streams of the aggregate engine (engagement, drop-out, outcomes)
    PERSON = 3  #: a person's engagement, drop-out and shared frailty (several processes)
    STATE_COUNTS = 4  #: counts by state (any engine but the expected one): one per cell


def state_count_purpose(process: int) -> int:
    """Purpose code of the streams of a count by state, process ``process`` (its counts are
    drawn per cell from the occupancy of the process it follows; see
    :mod:`sibsim.engine.kernels.state_counts`)."""
    return int(Purpose.STATE_COUNTS) + (int(process) << 8)


def outcome_purpose(process: int) -> int:
    """Purpose code of the individual engine's outcome stream of process ``process`` (0: the
    first, unchanged)."""
    return int(Purpose.INDIVIDUAL) + (int(process) << 8)


def aggregate_purpose(process: int) -> int:
    """Purpose code of the aggregate engine's streams of outcome process ``process`` (0: the
    first, unchanged). Processes are simulated independently given the parameters (their
    engagement draws too)."""
    return int(Purpose.AGGREGATE) + (int(process) << 8)


class Groups(NamedTuple):
    """The cohort layout, shared by every draw."""

    sizes: IntArray  #: (A, W, K) people per arm, wave and stratum (float64 in the trace kernels)
    entry: IntArray  #: (W,) period in which each wave enters
    tidx: IntArray  #: (W, P) table column read by wave ``w`` in calendar period ``t``


class Service(NamedTuple):
    """Engagement with the service, per draw."""

    engage: FloatArray  #: (D,) share of the treated arm engaging at entry
    dropout: FloatArray  #: (D, K) per-period drop-out probability of engaged people, by stratum
    has_effect: bool  #: False: nobody engages (no effect in the scenario)
    #: (D, K) per-period probability that a treated place changes holder and the newcomer takes
    #: up the service (``turnover x newcomer_uptake``); 0: newcomers are never engaged (the
    #: kernels then draw no extra random numbers). ``uptake <= dropout`` (turnover is part of
    #: the drop-out)
    uptake: FloatArray
    #: (W, K) the period from which a newcomer of wave ``w``, stratum ``k`` no longer takes up
    #: the service (the end of the wave's service period)
    uptake_end: IntArray


class Streams(NamedTuple):
    """Keys of the random streams of one chunk of draws."""

    seed: np.uint64  #: the run's seed
    draw0: np.int64  #: global index of the chunk's first draw
    purpose: np.int64  #: the outcome stream's purpose code (:func:`outcome_purpose`, ...)
    #: individual engine: draw engagement, drop-out (and a shared frailty) from the person stream
    #: (:attr:`Purpose.PERSON`), so every outcome process of a person sees the same path
    person: bool = False
    #: with ``person``: the frailty comes from the person stream too (shared by the processes)
    shared_frailty: bool = False


class Chain(NamedTuple):
    """The states of a transition model (binary outcomes as two-state chains, Markov)."""

    event_flag: BoolArray  #: (S, S) transitions counted as events
    absorbing: BoolArray  #: (S,) states nobody leaves
    init: int  #: index of the starting state


class BinaryTables(NamedTuple):
    """A binary outcome for the individual kernel."""

    prob: FloatArray  #: (D, 2, K, C) event probability per person-period
    log_q: FloatArray  #: (D, 2, K, C) ``log(1 - prob)`` (used with frailty)
    recurrent: bool  #: the event can happen again (else the person leaves the risk set)


class CountTables(NamedTuple):
    """A count outcome."""

    #: (D, 2, K, C) mean count per person-period, by engagement level; (D, 3, K, C) with an
    #: organisation-level effect (``Effect.organisation``): level 2 is the rate of the treated
    #: arm's people who are not engaged, read instead of level 0 for them (the comparison arm
    #: and every arm without an effect read level 0)
    rate: FloatArray
    nb_shape: FloatArray  #: (D,) negative-binomial shape; ``inf`` (or <= 0) for Poisson


class JumpTables(NamedTuple):
    """A Markov outcome for the individual kernel (see ``markov_individual``)."""

    cum: FloatArray  #: (D, 2, K, C, S, S) cumulative transition rows
    exit_prob: FloatArray  #: (D, 2, K, C, S) probability of leaving each state
    exit_cum: FloatArray  #: (D, 2, K, C, S, S) cumulative destinations given exit


class Tallies(NamedTuple):
    """Outputs per ``(draw, arm, wave, stratum, period)``, shape (D, A, W, K, P)."""

    events: IntArray  #: events (int64; expected values in float64 in the trace kernels)
    engaged: IntArray  #: engaged people at the start of the period
    #: events of the engaged participants (0 in the comparison arm); a zero-size array
    #: (:func:`no_engaged_events`) when nobody asked for them: the kernels then skip the tally
    engaged_events: IntArray


def no_engaged_events(dtype=np.int64) -> np.ndarray:
    """The placeholder for :attr:`Tallies.engaged_events` when they are not tallied (a
    zero-size 5-d array of the kernel's output type: the kernels test ``shape[0] == 0``)."""
    return np.zeros((0, 0, 0, 0, 0), dtype)


class Occupancy(NamedTuple):
    """Outputs by state, shape (D, A, W, K, P, S), at the start of each period."""

    occupancy: IntArray  #: people in each state
    engaged_occupancy: IntArray  #: engaged people in each state
