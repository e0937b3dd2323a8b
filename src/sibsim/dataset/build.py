"""Label the engine's arrays as the outcome dataset, and the public :func:`simulate`."""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Mapping
from dataclasses import replace
from importlib import metadata

import numba
import numpy as np
import xarray as xr

from sibsim.dataset.schema import DIMS, SCHEMA_VERSION, VARIABLES, dims_of
from sibsim.engine.run import EngineOutput, run_engine
from sibsim.spec import _validate as v
from sibsim.spec.scenario import Scenario


@functools.cache
def _version(pkg: str) -> str:
    """The installed version of ``pkg`` (read once per process: the package metadata is parsed
    from disk, a few ms per call)."""
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def resolve_seed(seed: int | np.random.Generator) -> int:
    """Accept an int (>= 0) or a ``numpy.random.Generator`` and return an integer seed.

    A Generator is consumed once (one 63-bit integer), so passing the same Generator twice gives
    two different, reproducible runs.
    """
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    seed = v.positive_int("seed", seed, minimum=0)
    if seed >= 2**63:
        raise v.fail("seed", seed, "an integer in [0, 2**63) or a numpy.random.Generator")
    return seed


def _flatten_parameters(params: dict[str, np.ndarray], states: tuple[str, ...]):
    names, cols = [], []
    for name, val in params.items():
        if val.ndim == 1:
            names.append(name)
            cols.append(val)
        else:
            for i in range(val.shape[1]):
                label = states[i] if i < len(states) else str(i)
                names.append(f"{name}->{label}")
                cols.append(val[:, i])
    return names, cols


def _add_processes(out: EngineOutput, present: np.ndarray, coords: dict, dvars: dict) -> None:
    """Variables of several outcome processes, with a ``process`` dimension (last, or before
    ``state``). ``state`` lists every process's states in order of appearance; occupancy of a
    state that is not a process's own is NaN."""
    procs = out.processes
    coords["process"] = [p.name for p in procs]
    coords["process_kind"] = ("process", [p.structure.kind for p in procs])
    dvars["events"] = np.stack([p.events for p in procs], axis=-1)
    if procs[0].engaged_events is not None:
        dvars["engaged_events"] = np.stack([p.engaged_events for p in procs], axis=-1)
    states: list[str] = []
    for p in procs:
        states += [s for s in p.structure.states if s not in states]
    at_risk = []
    for p in procs:
        if p.occupancy is None:
            at_risk.append(np.broadcast_to(present[None], p.events.shape))
        else:
            risky = p.structure.event_flag.any(axis=1)
            at_risk.append((p.occupancy * risky).sum(axis=-1))
    dvars["at_risk"] = np.stack(at_risk, axis=-1)
    if states:
        coords["state"] = states
        occ = np.full((*procs[0].events.shape, len(procs), len(states)), np.nan)
        eocc = occ.copy()
        absorbing = np.zeros((len(procs), len(states)), bool)
        for i, p in enumerate(procs):
            if p.occupancy is not None:
                idx = [states.index(s) for s in p.structure.states]
                occ[..., i, idx] = p.occupancy
                eocc[..., i, idx] = p.engaged_occupancy
                absorbing[i, idx] = p.structure.absorbing
        dvars["occupancy"] = occ
        dvars["engaged_occupancy"] = eocc
        coords["absorbing"] = (("process", "state"), absorbing)


def at_risk(occupancy: np.ndarray, risky: np.ndarray) -> np.ndarray:
    """People at risk of an event: ``(occupancy * risky).sum(axis=-1)``, the occupancy of the
    states with an event (``risky``, bool over the last axis) added up, bit for bit as numpy
    adds them.

    Parameters
    ----------
    occupancy : array (..., S)
        People in each state (float64, >= 0).
    risky : bool array (S,)
        States from which an event can happen.

    Returns
    -------
    array (...)
        People in those states. With fewer than 8 states one pass of a compiled loop (numpy
        adds fewer than 8 terms one after the other, as it does; no temporary the size of
        ``occupancy``); else the numpy expression.

    Examples
    --------
    >>> at_risk(np.array([[2.0, 3.0, 5.0]]), np.array([True, False, True])).tolist()
    [7.0]
    """
    occupancy = np.asarray(occupancy)
    risky = np.asarray(risky, dtype=bool)
    S = occupancy.shape[-1]
    if (S >= 8 or occupancy.dtype != np.float64 or not occupancy.flags.c_contiguous
            or risky.shape != (S,)):
        return (occupancy * risky).sum(axis=-1)  # type: ignore[no-any-return]
    out = np.empty(occupancy.shape[:-1])
    _at_risk_rows(occupancy.reshape(-1, S), risky.astype(np.float64), out.reshape(-1))
    return out


@numba.njit(cache=True, nogil=True)
def _at_risk_rows(occ: np.ndarray, risky: np.ndarray, out: np.ndarray) -> None:
    """``out[r] = sum_j occ[r, j] * risky[j]``, the terms added in order to 0.0."""
    for r in range(occ.shape[0]):
        s = 0.0
        for j in range(occ.shape[1]):
            s += occ[r, j] * risky[j]
        out[r] = s


def outcome_dataset(scenario: Scenario, out: EngineOutput) -> xr.Dataset:
    """Build the labelled outcome dataset (see :mod:`sibsim.dataset.schema`)."""
    st = out.structure
    _A, W, _K = st.sizes.shape
    P = scenario.horizon
    present_wp = (np.arange(P)[None, :] >= st.entry[:, None]).astype(float)
    present = st.sizes[:, :, :, None].astype(float) * present_wp[None, :, None, :]
    coords = {
        "draw": out.first_draw + np.arange(out.draws),
        "arm": list(scenario.arms),
        "wave": np.arange(W),
        "stratum": list(scenario.cohort.stratum_names),
        "period": np.arange(P),
    }
    dvars = {
        "events": out.events,
        "engaged": out.engaged,
        "present": present,
        "size": st.sizes.astype(float),
        "entry_period": st.entry.astype(np.int64),
    }
    several = len(out.processes) > 1
    if not several and out.engaged_events is not None:
        dvars["engaged_events"] = out.engaged_events
    if not several:
        if out.occupancy is not None:
            coords["state"] = list(st.states)
            coords["absorbing"] = ("state", np.asarray(st.absorbing, dtype=bool))
            dvars["occupancy"] = out.occupancy
            if out.processes and out.processes[0].engaged_occupancy is not None:
                dvars["engaged_occupancy"] = out.processes[0].engaged_occupancy
            dvars["at_risk"] = at_risk(out.occupancy, st.event_flag.any(axis=1))
        else:
            dvars["at_risk"] = np.broadcast_to(present[None], out.events.shape).copy()
    else:
        _add_processes(out, present, coords, dvars)
    names, cols = _flatten_parameters(out.parameters, st.states)
    coords["parameter"] = names
    dvars["parameter_value"] = (np.stack(cols, axis=1) if cols
                                else np.zeros((out.draws, 0)))
    variables = {}
    for name, data in dvars.items():
        _, units, desc = VARIABLES[name]
        dims = dims_of(name, several)
        variables[name] = xr.Variable(dims, data, attrs={"units": units, "description": desc})
    ds = xr.Dataset(variables, coords=coords)
    for dim, desc in DIMS.items():
        if dim in ds.coords:
            ds[dim].attrs["description"] = desc
    ds["period"].attrs["units"] = scenario.period
    ds.attrs.update({
        "title": f"sibsim outcome simulation: {scenario.name}",
        "scenario": scenario.name,
        "description": scenario.description,
        "outcome_kind": ",".join(p.structure.kind for p in out.processes) or st.kind,
        "seed": int(out.seed),
        # 1: the strata give their own entry waves (enter at different times), see Cohort
        "strata_own_entry": int(scenario.cohort.strata_own_entry),
        "draws": int(out.draws),
        "engine": out.engine,
        "engine_reason": out.reason,
        "period": scenario.period,
        "periods_per_year": int(scenario.periods_per_year),
        "timing": ("participants of a wave are present from the start of its entry period; "
                   "occupancy is counted at the start of each period; events are counted in the "
                   "period in which they happen"),
        "schema_version": SCHEMA_VERSION,
        "sibsim_version": _version("sibsim"),
        "numpy_version": np.__version__,
        "numba_version": _version("numba"),
        "xarray_version": xr.__version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    })
    return ds


def with_correlated_inputs(corr, scenario: Scenario, seed: int, first_draw: int, draws: int,
                           overrides: Mapping[str, np.ndarray] | None = None
                           ) -> Mapping[str, np.ndarray] | None:
    """``overrides`` plus the per-draw values of the scenario parameters that a deal's
    rank correlation ``corr`` (:class:`~sibsim.spec.correlation.Correlation` or None) ties
    together; values given in ``overrides`` win. Every path that samples a deal's outcome
    parameters (:func:`simulate`, the break-even search) goes through here."""
    if corr is None:
        return overrides
    from sibsim.spec.correlation import outcome_overrides

    return {**outcome_overrides(corr, scenario, seed, first_draw, draws), **(overrides or {})}


def simulate(scenario: Scenario, draws: int = 1000, seed: int | np.random.Generator = 0, *,
             engine: str = "auto", chunk_draws: int | None = None, progress: bool | None = None,
             overrides: Mapping[str, np.ndarray] | None = None,
             first_draw: int = 0, engaged_events: bool | None = None) -> xr.Dataset:
    """Simulate a scenario's treated cohort and comparison group.

    Parameters
    ----------
    scenario : Scenario or Deal
        What to simulate (a deal's outcome scenario; the money terms are not used here).
    draws : int
        Monte Carlo draws; each samples every uncertain parameter once, then the outcomes.
    seed : int or numpy.random.Generator
        The result depends on the seed alone: not on the thread count or ``chunk_draws``.
    engine : {"auto", "individual", "aggregate", "expected"}
        ``"auto"`` uses the aggregate engine unless the scenario has frailty; the choice and its
        reason are stored in ``attrs["engine"]`` and ``attrs["engine_reason"]``. ``"expected"``
        gives the deterministic mean trace for each draw's parameters.
    chunk_draws : int, optional
        Draws processed at a time (bounds memory); does not change results.
    progress : bool, optional
        Show draws done, rate and time left; ``None`` shows it only in a terminal or notebook.
    overrides : mapping, optional
        Parameter values per draw (name -> array of length ``draws``) used instead of sampling,
        e.g. ``{"effect.value": ...}``.
    first_draw : int
        Global index of the first draw: ``simulate(s, n, seed, first_draw=k)`` is identical to
        draws ``k, ..., k + n - 1`` of a longer run with the same seed (its ``draw``
        coordinate holds those indices), so a long run can be processed block by block.
    engaged_events : bool, optional
        Also tally the events of the engaged participants (variable ``engaged_events``), as a
        rate card counting the engaged participants' events needs. ``None``: what a deal's
        rate cards need (``Deal.needs_engaged_events``), False for a scenario. The other
        variables are the same, bit for bit, either way.

    Returns
    -------
    xarray.Dataset
        See :mod:`sibsim.dataset.schema` and docs/engine.md.

    Examples
    --------
    >>> import sibsim
    >>> s = sibsim.Scenario(cohort=sibsim.Cohort(size=1000),
    ...                     outcome=sibsim.BinaryOutcome(0.3), horizon=3,
    ...                     effect=sibsim.Effect("rr", 0.8),
    ...                     comparison=sibsim.ComparisonGroup(ratio=1))
    >>> ds = sibsim.simulate(s, draws=10, seed=1)
    >>> ds["events"].dims
    ('draw', 'arm', 'wave', 'stratum', 'period')
    """
    # a Deal (money layer) carries its outcome scenario as ``.scenario``
    held = getattr(scenario, "scenario", None)
    corr = getattr(scenario, "correlation", None)  # a deal's rank correlations of inputs
    if engaged_events is None:
        engaged_events = bool(getattr(scenario, "needs_engaged_events", False))
    if not isinstance(scenario, Scenario) and isinstance(held, Scenario):
        scenario = held
    else:
        corr = None
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: got {type(scenario).__name__}; allowed: a sibsim.Scenario "
                        "or a sibsim.Deal")
    seed_int = resolve_seed(seed)
    overrides = with_correlated_inputs(corr, scenario, seed_int, first_draw, draws, overrides)
    out = run_engine(scenario, draws, seed_int, engine=engine, chunk_draws=chunk_draws,
                     progress=progress, overrides=overrides, first_draw=first_draw,
                     engaged_events=bool(engaged_events))
    return outcome_dataset(scenario, out)


def effect_parameters(scenario: Scenario) -> frozenset[str]:
    """Names of the parameters of ``scenario``'s effects (``"effect.value"``,
    ``"<process>.effect.value"``, engagement, drop-out, ...): those that reach only the
    treatment arm, so that the comparison arm and the counterfactual do not depend on them.

    >>> import sibsim
    >>> sorted(effect_parameters(sibsim.load_scenario("peterborough").scenario))
    ['effect.dropout', 'effect.engagement', 'effect.value']
    """
    base = scenario.with_effect(None).parameters()
    return frozenset(k for k in scenario.parameters() if k not in base)


def simulate_treatment_arm(scenario: Scenario, draws: int, seed: int, *, engine: str,
                           overrides: Mapping[str, np.ndarray] | None = None,
                           first_draw: int = 0, engaged_events: bool = False) -> xr.Dataset:
    """The treatment arm of ``simulate(scenario, ...)`` alone (its ``arm`` dimension holds
    ``"treatment"`` only), bit for bit: the scenario without its comparison group draws the
    same keyed streams ``(seed, draw, arm, wave, stratum)`` for it. ``overrides`` (a run's
    inputs by parameter name) may name the comparison group's parameters too; they are left
    out. No progress bar.

    >>> import sibsim
    >>> sc = sibsim.load_scenario("peterborough").scenario
    >>> simulate_treatment_arm(sc, 5, 1, engine="expected")["arm"].values.tolist()
    ['treatment']
    """
    treated = scenario if scenario.comparison is None else replace(scenario, comparison=None)
    names = treated.parameters()
    return simulate(treated, draws, seed, engine=engine, progress=False,
                    overrides={k: x for k, x in (overrides or {}).items() if k in names} or None,
                    first_draw=first_draw, engaged_events=engaged_events)


def simulate_treated_again(scenario: Scenario, ds: xr.Dataset,
                           overrides: Mapping[str, np.ndarray]) -> xr.Dataset:
    """``ds`` (a run of ``scenario``, or of a deal's scenario) as if it had been simulated with
    ``overrides`` of effect parameters only (:func:`effect_parameters`): the same dataset as
    ``simulate(scenario, draws, seed, engine=ds.attrs["engine"], overrides=overrides,
    first_draw=..., engaged_events=...)``, bit for bit, at about half the cost.

    No effect parameter reaches the comparison arm, so only the treatment arm is simulated
    again: the scenario without its comparison group draws the same keyed random streams
    ``(seed, draw, arm, wave, stratum)`` for it (tests/test_treated_again.py checks every
    built-in scenario on every engine). The comparison arm and everything else is ``ds``'s;
    ``ds`` is left as it is.

    Parameters
    ----------
    scenario : Scenario or Deal
        What ``ds`` simulates (a deal's correlated inputs are drawn as :func:`simulate` draws
        them; only the named overrides change).
    ds : xarray.Dataset
        A run of it (any engine, a whole run or a block of draws), with a comparison group.
    overrides : mapping
        Effect parameters (name -> array of one value per draw).

    Examples
    --------
    >>> import numpy as np, sibsim
    >>> deal = sibsim.load_scenario("peterborough")
    >>> ds = sibsim.simulate(deal, 20, 1, progress=False)
    >>> at = {"effect.value": np.full(20, 0.8)}
    >>> again = simulate_treated_again(deal, ds, at)
    >>> full = sibsim.simulate(deal, 20, 1, overrides=at, progress=False)
    >>> bool((again["events"] == full["events"]).all())
    True
    """
    held = getattr(scenario, "scenario", None)
    corr = getattr(scenario, "correlation", None)
    if not isinstance(scenario, Scenario) and isinstance(held, Scenario):
        scenario = held
    else:
        corr = None
    allowed = effect_parameters(scenario)
    for k in overrides:
        if k not in allowed:
            raise v.fail("simulate_treated_again.overrides", k,
                         "parameters of the effect: " + ", ".join(sorted(allowed)))
    if scenario.comparison is None or "arm" not in ds.dims or ds.sizes["arm"] < 2:
        raise v.fail("simulate_treated_again.ds", "a run without a comparison group",
                     "a run of a scenario with a comparison group")
    draws = np.asarray(ds["draw"].values, dtype=np.int64)
    D, first, seed = draws.size, int(draws[0]) if draws.size else 0, int(ds.attrs["seed"])
    # the run's inputs (a deal's correlated ones as simulate draws them), the overrides on top
    over = with_correlated_inputs(corr, scenario, seed, first, D, overrides) or {}
    again = simulate_treatment_arm(scenario, D, seed, engine=str(ds.attrs["engine"]),
                                   overrides=over, first_draw=first,
                                   engaged_events="engaged_events" in ds)
    out = ds.copy(deep=False)  # new Variable objects; the arrays replaced below are new
    for name, var in ds.data_vars.items():
        if name == "parameter_value":
            values = np.array(var.values)
            cols = list(ds["parameter"].values)
            new = again["parameter_value"]
            for j, p in enumerate(new["parameter"].values):
                values[:, cols.index(p)] = new.values[:, j]
        elif "draw" in var.dims and "arm" in var.dims:
            src = var.values
            values = np.empty_like(src)  # each arm written once: the comparison arm as in ds
            axis = var.dims.index("arm")
            before = (slice(None),) * axis
            values[(*before, slice(1, None))] = src[(*before, slice(1, None))]
            values[(*before, slice(0, 1))] = again[name].transpose(*var.dims).values
            del again[name]  # its memory is free for the next variable's array
        else:
            continue
        out[name] = var.copy(deep=False, data=values)
    return out
