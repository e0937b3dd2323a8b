"""Run an engine over all draws, chunk by chunk, and return plain arrays.

This module picks the engine and, once per run, the outcome kind's model
(:func:`~sibsim.engine.outcome_models.model_of`); it samples parameters for each chunk of draws
and has the model build the kernels' tables and call its kernels. It returns an
:class:`EngineOutput` of numpy arrays; the outcome dataset layer (:mod:`sibsim.dataset`) labels
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from sibsim.engine.kernels.arrays import Occupancy
from sibsim.engine.outcome_models import OutcomeModel, model_of, tallies
from sibsim.engine.overrides import check_overrides
from sibsim.engine.parameters import sample_parameters
from sibsim.engine.progress import share
from sibsim.engine.tables import Structure, Tables
from sibsim.spec import _validate as v
from sibsim.spec.scenario import Scenario

ENGINES = ("auto", "individual", "aggregate", "expected")

#: Target size of one chunk's tables and outputs, in bytes.
#: Person-periods per kernel call of the individual engine (see :func:`interrupt_chunk`).
_SLICE_PERSON_PERIODS = 1e8
_CHUNK_BYTES = 32 * 2**20


@dataclass
class ProcessOutput:
    """Raw results of one outcome process (float64 arrays, ``[d, a, w, k, t(, s)]``)."""

    name: str
    structure: Structure
    events: np.ndarray
    occupancy: np.ndarray | None
    #: engaged people by state at the start of each period (kinds with states)
    engaged_occupancy: np.ndarray | None = None
    #: events of the people engaged in the period (only when asked for: ``engaged_events``)
    engaged_events: np.ndarray | None = None


@dataclass
class EngineOutput:
    """Raw engine results for all draws (float64 arrays, ``[d, a, w, k, t(, s)]``).

    ``structure``, ``events`` and ``occupancy`` are the first process's; ``processes`` holds
    every process (one entry for a single-process scenario). ``engaged`` is the person's (the
    first process's draws in the aggregate engine, where processes are independent).
    """

    engine: str
    reason: str
    structure: Structure
    events: np.ndarray
    engaged: np.ndarray
    occupancy: np.ndarray | None
    parameters: dict[str, np.ndarray]
    seed: int
    draws: int
    processes: tuple[ProcessOutput, ...] = ()
    first_draw: int = 0  #: global index of the first draw (a block of a longer run)
    #: the first process's events of the engaged (only when asked for: ``engaged_events``)
    engaged_events: np.ndarray | None = None


def choose_engine(scenario: Scenario, requested: str = "auto") -> tuple[str, str]:
    """Pick an engine and say why."""
    v.choice("engine", requested, ENGINES)
    if requested != "auto":
        if requested == "aggregate" and scenario.frailty is not None:
            raise v.fail("engine", requested, "'individual' or 'expected' when the scenario has "
                         "frailty (individuals are not exchangeable)")
        return requested, "requested by the user"
    if scenario.frailty is not None and scenario.frailty.shared and scenario.other_processes:
        return "individual", ("auto: a frailty shared by the outcome processes links each "
                              "person's processes, so each person is simulated")
    if scenario.frailty is not None:
        return "individual", ("auto: frailty makes individuals non-exchangeable, so each person "
                              "is simulated")
    return "aggregate", ("auto: individuals are exchangeable, so state counts are drawn with "
                         "binomial/multinomial steps (exact; cost independent of cohort size)")


def default_chunk(scenario: Scenario, st: Structure | None = None,
                  engine: str | None = None) -> int:
    """Draws per chunk, so that one chunk's tables and temporary outputs stay near 32 MiB.

    ``engine="expected"``: the trace kernels write into the run's own output arrays (no
    per-chunk outputs), so only the tables count (and the frailty quadrature's matrices, about
    five more copies of the transition tables); other engines, or None: the tables and the
    stochastic kernels' per-chunk outputs. The chunk changes no result, only memory and speed
    (fewer chunks: fewer parameter blocks sampled twice, fewer kernel calls).

    >>> import sibsim
    >>> s = sibsim.Scenario(cohort=sibsim.Cohort(size=100), outcome=sibsim.BinaryOutcome(0.3),
    ...                     horizon=20)
    >>> default_chunk(s) < default_chunk(s, engine="expected") == 65536
    True
    """
    expected = engine == "expected"
    frail = scenario.frailty is not None
    per_draw = 0
    for i in range(len(scenario.processes)):
        sub = scenario.process_scenario(i)
        model = model_of(sub)
        pst = model.structure()
        S = max(len(pst.states), 1)
        A, W, K = pst.sizes.shape
        C = model.n_columns()
        S2 = S + len(pst.states)  # occupancy and engaged occupancy
        tables = 8 * 2 * K * C * S * S * (8 if expected and frail else 3)
        per_draw += tables if expected else tables + 8 * A * W * K * scenario.horizon * (S2 + 2)
    return int(max(1, min(65536, _CHUNK_BYTES // per_draw)))


def interrupt_chunk(scenario: Scenario, engine: str) -> int:
    """Draws per chunk that keep one call of a kernel short (about 0.1-0.2 s on one core), so
    that Ctrl-C and SIGTERM, which Python handles only between kernel calls, stop a run within
    about a second. Only the individual engine's work grows with the cohort: it simulates
    every person in every period (the other engines' work per draw is tiny)."""
    if engine != "individual":
        return 65536
    people = 0.0
    for i in range(len(scenario.processes)):
        people += float(model_of(scenario.process_scenario(i)).structure().sizes.sum())
    per_draw = max(1.0, people * scenario.horizon)
    return int(max(1, min(65536, _SLICE_PERSON_PERIODS // per_draw)))


def _process_models(scenario: Scenario, engine: str) -> list[tuple[OutcomeModel, Structure]]:
    """The model and structure of each outcome process (chosen once per run).

    With several processes every process is simulated as a treated arm when any process has an
    effect (a process without an effect has equal engaged and not-engaged tables), so that each
    process sees the same engagement; the individual engine draws engagement, drop-out and a
    shared frailty from one person stream.
    """
    multi = bool(scenario.other_processes)
    service = scenario.service_effect is not None
    shared = scenario.frailty is not None and scenario.frailty.shared
    out = []
    for i in range(len(scenario.processes)):
        model = model_of(scenario.process_scenario(i))
        st = model.structure()
        if multi:
            st = replace(st, has_effect=service, process=i,
                         person_stream=engine == "individual", shared_frailty=shared)
        out.append((model, st))
    return out


def run_engine(scenario: Scenario, draws: int, seed: int, engine: str = "auto",
               chunk_draws: int | None = None, progress: bool | None = None,
               overrides: Mapping[str, np.ndarray] | None = None,
               first_draw: int = 0, engaged_events: bool = False) -> EngineOutput:
    """Simulate draws ``first_draw, ..., first_draw + draws - 1`` of ``scenario``; see
    :func:`sibsim.simulate`. ``engaged_events``: also tally the events of the engaged
    participants (one more array per process; the other outputs are unchanged, bit for bit)."""
    draws = v.positive_int("draws", draws)
    first_draw = v.positive_int("first_draw", first_draw, minimum=0)
    engine, reason = choose_engine(scenario, engine)
    models = _process_models(scenario, engine)  # each kind's tables and kernels, chosen once
    chunk = (min(default_chunk(scenario, engine=engine), interrupt_chunk(scenario, engine))
             if chunk_draws is None else v.positive_int("chunk_draws", chunk_draws))
    params = scenario.parameters()
    overrides = check_overrides(scenario, overrides, draws)
    A, W, K = models[0][1].sizes.shape
    P = scenario.horizon
    engaged = np.zeros((draws, A, W, K, P))
    events, occupancy, eoccupancy, derive, evj_all = [], [], [], [], []
    for model, st in models:
        S = len(st.states)
        events.append(np.zeros((draws, A, W, K, P)))
        evj_all.append(np.zeros((draws, A, W, K, P)) if engaged_events else None)
        # some kinds' individual kernels count events only; their occupancy is derived afterwards
        derive.append(engine == "individual" and model.occupancy_from_events)
        occupancy.append(np.zeros((draws, A, W, K, P, S)) if S and not derive[-1] else None)
        eoccupancy.append(np.zeros((draws, A, W, K, P, S)) if S else None)
    sampled: dict[str, list[np.ndarray]] = {name: [] for name in params}
    # the stochastic engines' integer tallies of one chunk, allocated once and zeroed per chunk
    counts = [None if engine == "expected" else
              _ChunkCounts(min(chunk, draws), (A, W, K, P), len(st.states),
                           occupancy[i] is not None, engaged_events)
              for i, (_, st) in enumerate(models)]
    frailty_var = scenario.frailty.variance if scenario.frailty is not None else 0.0
    # counts by state run after the process they follow, from its occupancy in the same chunk
    follows = _followed(scenario)
    order = ([i for i, j in enumerate(follows) if j is None]
             + [i for i, j in enumerate(follows) if j is not None])
    bar = share(draws, progress)  # the run's bar when one is open (sibsim.analyse)
    for start in range(0, draws, chunk):
        stop = min(draws, start + chunk)
        D = stop - start
        pc = sample_parameters(params, seed, first_draw + start, first_draw + stop)
        pc.update({k: np.asarray(x, dtype=float)[start:stop] for k, x in (overrides or {}).items()})
        for name, val in pc.items():
            sampled[name].append(val)
        sl = slice(start, stop)
        driven: dict[int, Occupancy] = {}  # this chunk's occupancy of the followed processes
        for i in order:
            model, st = models[i]
            tb = model.tables(scenario.process_parameters(i, pc), D)
            if engine == "expected":  # written in place, into this chunk's rows of the outputs
                if follows[i] is not None:
                    model.follow(engine, st, tb, seed, first_draw + start, driven[follows[i]],
                                 tallies(events[i][sl],
                                         engaged[sl] if i == 0 else np.zeros((D, A, W, K, P)),
                                         None if evj_all[i] is None else evj_all[i][sl]))
                    continue
                model.expected(st, tb, frailty_var, out=(
                    None if occupancy[i] is None else occupancy[i][sl], events[i][sl],
                    engaged[sl] if i == 0 else np.zeros((D, A, W, K, P)),
                    None if eoccupancy[i] is None else eoccupancy[i][sl]),
                    **({} if evj_all[i] is None else {"engaged_events": evj_all[i][sl]}))
                if i in follows:
                    driven[i] = Occupancy(occupancy[i][sl], eoccupancy[i][sl])
                continue
            else:
                ev, en, occ, eocc, evj = counts[i].zeroed(D)
                if follows[i] is not None:
                    model.follow(engine, st, tb, seed, first_draw + start, driven[follows[i]],
                                 tallies(ev, en, evj))
                else:
                    _run_stochastic(model, engine, st, tb, seed, first_draw + start,
                                    frailty_var, ev, en, occ, eocc, evj)
                if i in follows:
                    driven[i] = Occupancy(model.derived_occupancy(st, ev) if occ is None
                                          else occ, eocc)
            events[i][sl] = ev
            if evj is not None:
                evj_all[i][sl] = evj
            if i == 0:
                engaged[sl] = en
            if occ is not None and occupancy[i] is not None:
                occupancy[i][sl] = occ
            if eocc is not None:
                eoccupancy[i][sl] = eocc
        bar.update(D)
    bar.close()
    for i, (model, st) in enumerate(models):
        if derive[i]:
            occupancy[i] = model.derived_occupancy(st, events[i])
    out_params = {name: np.concatenate(vals, axis=0) for name, vals in sampled.items()}
    procs = tuple(ProcessOutput(name=p.name, structure=st, events=events[i],
                                occupancy=occupancy[i], engaged_occupancy=eoccupancy[i],
                                engaged_events=evj_all[i])
                  for i, (p, (_, st)) in enumerate(zip(scenario.processes, models, strict=True)))
    return EngineOutput(engine=engine, reason=reason, structure=models[0][1], events=events[0],
                        engaged=engaged, occupancy=occupancy[0], parameters=out_params,
                        seed=seed, draws=draws, processes=procs,
                        first_draw=first_draw, engaged_events=evj_all[0])


class _ChunkCounts:
    """One process's integer tallies of a chunk of draws for the stochastic kernels (events,
    engaged, occupancy, engaged occupancy, engaged events; shapes (D, A, W, K, P) and
    (D, A, W, K, P, S)), allocated once for the largest chunk and zeroed for each chunk: a
    chunk's fresh arrays would each be a new mapping of memory whose pages the kernel faults
    in, zero-filled, chunk after chunk."""

    def __init__(self, draws: int, cells: tuple[int, ...], states: int, occupancy: bool,
                 engaged_events: bool) -> None:
        self.ev = np.zeros((draws, *cells), np.int64)
        self.en = np.zeros((draws, *cells), np.int64)
        self.occ = np.zeros((draws, *cells, states), np.int64) if occupancy else None
        self.eocc = np.zeros((draws, *cells, states), np.int64) if states else None
        self.evj = np.zeros((draws, *cells), np.int64) if engaged_events else None

    def zeroed(self, draws: int) -> tuple[np.ndarray | None, ...]:
        """The first ``draws`` rows of each array (C-contiguous views), set to 0."""
        out = tuple(None if x is None else x[:draws]
                    for x in (self.ev, self.en, self.occ, self.eocc, self.evj))
        for x in out:
            if x is not None:
                x.fill(0)
        return out


def _followed(scenario: Scenario) -> list[int | None]:
    """For each process, the index of the process whose state it follows (None: none)."""
    names = scenario.process_names
    return [None if p.outcome.followed() is None else names.index(p.outcome.followed())
            for p in scenario.processes]


def _run_stochastic(model: OutcomeModel, engine: str, st: Structure, tb: Tables, seed: int,
                    draw0: int, frailty_var: float, ev: np.ndarray, en: np.ndarray,
                    occ: np.ndarray | None, eocc: np.ndarray | None,
                    evj: np.ndarray | None = None) -> None:
    seed = np.uint64(seed)
    draw0 = np.int64(draw0)
    if engine == "individual":
        model.individual(st, tb, seed, draw0, frailty_var, ev, en, occ, eocc, evj)
    else:
        model.aggregate(st, tb, seed, draw0, ev, en, occ, eocc, evj)
