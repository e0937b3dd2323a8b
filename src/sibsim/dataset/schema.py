"""The documented schema of the outcome dataset returned by :func:`sibsim.simulate`.

One table, used both to build the dataset and to check it (and rendered in docs/engine.md).
Counts are stored as float64: exact for integers below 2**53, and the expected-value mode gives
fractional people.
"""

from __future__ import annotations

import xarray as xr

SCHEMA_VERSION = "1"

#: name -> (dims, units, description)
VARIABLES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "events": (("draw", "arm", "wave", "stratum", "period"), "events",
               "Events in the period (binary: people with the event; counts: number of events; "
               "Markov: transitions listed as events)."),
    "at_risk": (("draw", "arm", "wave", "stratum", "period"), "people",
                "People at risk of an event at the start of the period."),
    "occupancy": (("draw", "arm", "wave", "stratum", "period", "state"), "person-periods",
                  "People in each state at the start of the period, i.e. person-periods spent in "
                  "the state during the period (binary and Markov outcomes only)."),
    "engaged_occupancy": (("draw", "arm", "wave", "stratum", "period", "state"), "person-periods",
                          "Engaged treated participants in each state at the start of the period, "
                          "i.e. engaged person-periods in the state (binary and Markov outcomes "
                          "only; 0 in the comparison arm). Summed over the states that are not "
                          "absorbing: the people still in service."),
    "engaged_events": (("draw", "arm", "wave", "stratum", "period"), "events",
                       "Events of the treated participants engaged in the service in the period "
                       "(the engaged part of events; 0 in the comparison arm). Only in datasets "
                       "simulated with engaged_events=True, as for a deal whose rate card counts "
                       "the engaged participants' events."),
    "engaged": (("draw", "arm", "wave", "stratum", "period"), "people",
                "Treated participants engaged in the service during the period (0 in the "
                "comparison arm)."),
    "present": (("arm", "wave", "stratum", "period"), "people",
                "People who have entered by the start of the period."),
    "size": (("arm", "wave", "stratum"), "people", "People in each group."),
    "entry_period": (("wave",), "period", "Period in which each entry wave enters."),
    "parameter_value": (("draw", "parameter"), "various",
                        "Sampled value of each uncertain parameter in each draw (units of the "
                        "parameter: probabilities, rates per person-period, ratios)."),
}

#: dims and their meaning
DIMS = {
    "draw": "Monte Carlo draw: one sample of every uncertain parameter and of the outcomes.",
    "arm": "'treatment' (the cohort receiving the service) or 'comparison'.",
    "wave": "Entry wave: participants entering in the same period.",
    "stratum": "Sub-population with its own baseline ('all' if none).",
    "period": "Calendar period, 0 = the first entry period; the length is attrs['period'].",
    "state": "State of the outcome process (binary: no_event/event or at_risk/event); its "
             "coordinate 'absorbing' (by process with several processes) flags the states "
             "nobody leaves (e.g. death).",
    "parameter": "Name of an uncertain parameter.",
    "process": "Outcome process (scenarios with several processes only; named by the outcome's "
               "name).",
}

#: Variables that get a ``process`` dimension when a scenario has several outcome processes
#: (it comes after ``period``; ``occupancy`` has it before ``state``).
PER_PROCESS = ("events", "at_risk", "occupancy", "engaged_occupancy", "engaged_events")

#: Variables present only when asked for (``simulate(..., engaged_events=True)``).
OPTIONAL = ("engaged_events",)


def dims_of(name: str, several_processes: bool) -> tuple[str, ...]:
    """Dims of variable ``name``: those of :data:`VARIABLES`, with ``process`` added for a
    scenario with several outcome processes (single-process datasets are unchanged)."""
    dims = VARIABLES[name][0]
    if not several_processes or name not in PER_PROCESS:
        return dims
    if dims[-1] == "state":
        return (*dims[:-1], "process", "state")
    return (*dims, "process")

def in_schema_order(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with every schema variable's dimensions in the schema's order (:func:`dims_of`):
    ``ds`` itself when they already are, so the money layer can read arrays by position
    whatever order a user's ``transpose`` left them in.

    >>> import sibsim
    >>> s = sibsim.Scenario(cohort=sibsim.Cohort(size=100), outcome=sibsim.BinaryOutcome(0.3),
    ...                     horizon=2)
    >>> ds = sibsim.simulate(s, draws=2, seed=1)
    >>> in_schema_order(ds.transpose("period", ...))["events"].dims
    ('draw', 'arm', 'wave', 'stratum', 'period')
    """
    several = "process" in ds.dims
    variables = ds.variables  # their dims without building a DataArray each (a hot path)
    wrong = [k for k in VARIABLES if k in ds.data_vars
             and variables[k].dims != dims_of(k, several)
             and set(variables[k].dims) == set(dims_of(k, several))]
    if not wrong:
        return ds
    return ds.assign({k: ds[k].transpose(*dims_of(k, several)) for k in wrong})


REQUIRED_ATTRS = ("seed", "engine", "engine_reason", "draws", "period", "periods_per_year",
                  "outcome_kind", "scenario", "schema_version", "sibsim_version")


def check(ds: xr.Dataset) -> None:
    """Raise ``ValueError`` if ``ds`` does not follow the schema."""
    several = "process" in ds.dims
    for name in VARIABLES:
        dims = dims_of(name, several)
        if name in ("occupancy", "engaged_occupancy") and "state" not in ds.dims:
            continue
        if name in OPTIONAL and name not in ds:
            continue
        if name not in ds:
            raise ValueError(f"outcome dataset: variable {name!r} is missing")
        if ds[name].dims != dims:
            raise ValueError(f"outcome dataset: {name} has dims {ds[name].dims}, expected {dims}")
    for key in REQUIRED_ATTRS:
        if key not in ds.attrs:
            raise ValueError(f"outcome dataset: attribute {key!r} is missing")
