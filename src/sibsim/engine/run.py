"""Run an engine over all draws, chunk by chunk, and return plain arrays.

This module picks the engine and, once per run, the outcome kind's model
(:func:`~sibsim.engine.outcome_models.model_of`); it samples parameters for each chunk of draws
and has the model build the kernels' tables and call its kernels. It returns an
:class:`EngineOutput` of numpy arrays; the outcome dataset layer (:mod:`sibsim.dataset`) labels
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sibsim.engine.outcome_models import OutcomeModel, model_of
from sibsim.engine.parameters import sample_parameters
from sibsim.engine.progress import Progress
from sibsim.engine.tables import Structure, Tables
from sibsim.spec import _validate as v
from sibsim.spec.scenario import Scenario

ENGINES = ("auto", "individual", "aggregate", "expected")

#: Target size of one chunk's tables and outputs, in bytes.
_CHUNK_BYTES = 32 * 2**20


@dataclass
class EngineOutput:
    """Raw engine results for all draws (float64 arrays, ``[d, a, w, k, t(, s)]``)."""

    engine: str
    reason: str
    structure: Structure
    events: np.ndarray
    engaged: np.ndarray
    occupancy: np.ndarray | None
    parameters: dict[str, np.ndarray]
    seed: int
    draws: int
    first_draw: int = 0  #: global index of the first draw (a block of a longer run)


def choose_engine(scenario: Scenario, requested: str = "auto") -> tuple[str, str]:
    """Pick an engine and say why."""
    v.choice("engine", requested, ENGINES)
    if requested != "auto":
        if requested == "aggregate" and scenario.frailty is not None:
            raise v.fail("engine", requested, "'individual' or 'expected' when the scenario has "
                         "frailty (individuals are not exchangeable)")
        return requested, "requested by the user"
    if scenario.frailty is not None:
        return "individual", ("auto: frailty makes individuals non-exchangeable, so each person "
                              "is simulated")
    return "aggregate", ("auto: individuals are exchangeable, so state counts are drawn with "
                         "binomial/multinomial steps (exact; cost independent of cohort size)")


def default_chunk(scenario: Scenario, st: Structure) -> int:
    """Draws per chunk, so that one chunk's tables and temporary outputs stay near 32 MiB."""
    S = max(len(st.states), 1)
    A, W, K = st.sizes.shape
    C = model_of(scenario).n_columns()
    tables = 8 * 2 * K * C * S * S * 3
    outputs = 8 * A * W * K * scenario.horizon * (S + 2)
    return int(max(1, min(65536, _CHUNK_BYTES // (tables + outputs))))


def run_engine(scenario: Scenario, draws: int, seed: int, engine: str = "auto",
               chunk_draws: int | None = None, progress: bool | None = None,
               overrides: Mapping[str, np.ndarray] | None = None,
               first_draw: int = 0) -> EngineOutput:
    """Simulate draws ``first_draw, ..., first_draw + draws - 1`` of ``scenario``; see
    :func:`sibsim.simulate`."""
    draws = v.positive_int("draws", draws)
    first_draw = v.positive_int("first_draw", first_draw, minimum=0)
    engine, reason = choose_engine(scenario, engine)
    model = model_of(scenario)  # the outcome kind's tables and kernels, chosen once
    st = model.structure()
    chunk = default_chunk(scenario, st) if chunk_draws is None else v.positive_int(
        "chunk_draws", chunk_draws)
    params = scenario.parameters()
    if overrides:
        for name, val in overrides.items():
            if name not in params:
                raise v.fail("overrides", name, "names of the scenario's parameters: "
                             + ", ".join(params))
            arr = np.asarray(val, dtype=float)
            if arr.shape[0] != draws or not np.all(np.isfinite(arr)):
                raise v.fail(f"overrides[{name}]", val, f"{draws} finite values (one per draw)")
    A, W, K = st.sizes.shape
    P = scenario.horizon
    S = len(st.states)
    events = np.zeros((draws, A, W, K, P))
    engaged = np.zeros((draws, A, W, K, P))
    # some kinds' individual kernels count events only; their occupancy is derived afterwards
    derive_occupancy = engine == "individual" and model.occupancy_from_events
    occupancy = np.zeros((draws, A, W, K, P, S)) if S and not derive_occupancy else None
    sampled: dict[str, list[np.ndarray]] = {name: [] for name in params}
    frailty_var = scenario.frailty.variance if scenario.frailty is not None else 0.0
    bar = Progress(draws, progress)
    for start in range(0, draws, chunk):
        stop = min(draws, start + chunk)
        D = stop - start
        pc = sample_parameters(params, seed, first_draw + start, first_draw + stop)
        pc.update({k: np.asarray(x, dtype=float)[start:stop] for k, x in (overrides or {}).items()})
        for name, val in pc.items():
            sampled[name].append(val)
        tb = model.tables(pc, D)
        sl = slice(start, stop)
        if engine == "expected":
            occ, ev, en = model.expected(st, tb, frailty_var)
            events[sl], engaged[sl] = ev, en
            if occ is not None:
                occupancy[sl] = occ
        else:
            ev = np.zeros((D, A, W, K, P), np.int64)
            en = np.zeros((D, A, W, K, P), np.int64)
            occ = np.zeros((D, A, W, K, P, S), np.int64) if occupancy is not None else None
            _run_stochastic(model, engine, st, tb, seed, first_draw + start, frailty_var, ev, en,
                            occ)
            events[sl], engaged[sl] = ev, en
            if occ is not None:
                occupancy[sl] = occ
        bar.update(D)
    bar.close()
    if derive_occupancy:
        occupancy = model.derived_occupancy(st, events)
    out_params = {name: np.concatenate(vals, axis=0) for name, vals in sampled.items()}
    return EngineOutput(engine=engine, reason=reason, structure=st, events=events,
                        engaged=engaged, occupancy=occupancy, parameters=out_params, seed=seed,
                        draws=draws, first_draw=first_draw)


def _run_stochastic(model: OutcomeModel, engine: str, st: Structure, tb: Tables, seed: int,
                    draw0: int, frailty_var: float, ev: np.ndarray, en: np.ndarray,
                    occ: np.ndarray | None) -> None:
    seed = np.uint64(seed)
    draw0 = np.int64(draw0)
    if engine == "individual":
        model.individual(st, tb, seed, draw0, frailty_var, ev, en, occ)
    else:
        model.aggregate(st, tb, seed, draw0, ev, en, occ)
