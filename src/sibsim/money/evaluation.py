"""Evaluation: from simulated outcomes to the *measured* effect the contract pays on.

The evaluator compares the treated cohort's outcome over a follow-up window with a
counterfactual. Four designs are supported:

* ``"rct"``: the simulated comparison arm is a randomised control group;
* ``"matched"``: the comparison arm is a matched comparison group, possibly biased: its rate is
  multiplied by ``1 + bias`` with ``bias`` an uncertain parameter (e.g. ``Normal(0, 0.03)``);
* ``"historical"``: no concurrent group; the counterfactual is a fixed historical rate per
  participant over the window (``historical_rate``, itself uncertain);
* ``"before_after"``: the same people before the service; the scenario's comparison arm
  (``ComparisonGroup(ratio=1)``) plays their "before" period, and ``bias`` can represent a
  secular trend or regression to the mean.

Each entry wave can be measured on its own (``per_wave``) and all waves pooled (``pooled``);
each is one *trigger* of the contract (see :class:`sibsim.money.payments.EvaluationTable`).
An optional significance gate (a one-sided z-test at level ``alpha`` on the difference of rates,
with Poisson variances) must pass before a trigger pays.

Conventions
-----------
* The window of wave ``w`` covers periods ``entry(w), ..., entry(w) + window - 1``; its result is
  known in period ``entry(w) + window - 1 + report_lag`` (the pooled result after the last wave's).
* ``rate`` = outcome units per participant over the window: events (``outcome="events"``) or
  person-periods in ``state`` (``outcome="occupancy"``).
* ``direction="reduce"``: measured effect = ``1 - treated_rate / counterfactual_rate``, units =
  ``(counterfactual_rate - treated_rate) * participants`` (events avoided);
  ``direction="increase"``: measured effect = ``treated_rate / counterfactual_rate - 1``, units =
  ``(treated_rate - counterfactual_rate) * participants``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats

from sibsim.engine.parameters import sample_parameter
from sibsim.money.payments import EvaluationTable
from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution, Fixed, as_distribution, require_support

__all__ = ["DESIGNS", "Evaluation", "evaluate"]

DESIGNS = ("rct", "matched", "historical", "before_after")


@dataclass(frozen=True)
class Evaluation:
    """How the evaluator measures the effect of one outcome metric.

    Parameters
    ----------
    metric : str
        Name of the outcome metric (matches the contract's ``MetricTerms.metric``).
    design : {"rct", "matched", "historical", "before_after"}
    window : int
        Follow-up periods per participant, from entry (Peterborough: 1 year after release).
    outcome : {"events", "occupancy"}
        Measure events, or person-periods in ``state``.
    state : str, optional
        The state whose person-periods are measured (``outcome="occupancy"``).
    direction : {"reduce", "increase"}
        Whether fewer (e.g. reconvictions) or more (e.g. employment) is better.
    per_wave, pooled : bool
        Measure each entry wave, all waves pooled, or both.
    bias : float or Distribution
        Relative bias of the comparison (matched / before-after): the counterfactual rate is the
        comparison rate times ``max(0, 1 + bias)``.
    historical_rate : float or Distribution, optional
        Counterfactual rate per participant over the window (design ``"historical"``).
    alpha : float, optional
        One-sided significance level of the gate; ``None`` means no gate.
    report_lag : int
        Periods between the end of a window and the result being known.
    value_per_unit : float
        Currency value of one outcome unit, used as ``avoided_cost`` for savings-share rules.

    Examples
    --------
    >>> Evaluation("reconviction", design="matched", window=1).design
    'matched'
    """

    metric: str
    design: str = "rct"
    window: int = 1
    outcome: str = "events"
    state: str | None = None
    direction: str = "reduce"
    per_wave: bool = True
    pooled: bool = True
    bias: float | Distribution = 0.0
    historical_rate: float | Distribution | None = None
    alpha: float | None = None
    report_lag: int = 0
    value_per_unit: float = 0.0

    def __post_init__(self) -> None:
        v.name("Evaluation.metric", self.metric)
        v.choice("Evaluation.design", self.design, DESIGNS)
        object.__setattr__(self, "window", v.positive_int("Evaluation.window", self.window))
        v.choice("Evaluation.outcome", self.outcome, ("events", "occupancy"))
        if self.outcome == "occupancy":
            v.name("Evaluation.state", self.state)
        v.choice("Evaluation.direction", self.direction, ("reduce", "increase"))
        for f in ("per_wave", "pooled"):
            if not isinstance(getattr(self, f), bool):
                raise TypeError(f"Evaluation.{f}: got {getattr(self, f)!r}; allowed: True/False")
        if not (self.per_wave or self.pooled):
            raise v.fail("Evaluation.per_wave/pooled", (self.per_wave, self.pooled),
                         "at least one of per_wave or pooled")
        bias = as_distribution("Evaluation.bias", self.bias)
        if self.design in ("rct", "historical") and not (isinstance(bias, Fixed)
                                                         and bias.value == 0.0):
            raise v.fail("Evaluation.bias", bias.describe(),
                         "no bias for an 'rct' or 'historical' design (bias applies to "
                         "'matched' and 'before_after' comparisons)")
        require_support("Evaluation.bias", bias, -np.inf, np.inf, "a relative bias")
        object.__setattr__(self, "bias", bias)
        if self.design == "historical":
            if self.historical_rate is None:
                raise v.fail("Evaluation.historical_rate", None,
                             "a rate per participant over the window for a historical design")
            hr = as_distribution("Evaluation.historical_rate", self.historical_rate)
            require_support("Evaluation.historical_rate", hr, 0.0, np.inf, "a rate (>= 0)")
            object.__setattr__(self, "historical_rate", hr)
        elif self.historical_rate is not None:
            raise v.fail("Evaluation.historical_rate", self.historical_rate,
                         "no historical rate unless design = 'historical'")
        if self.alpha is not None:
            object.__setattr__(self, "alpha", v.real("Evaluation.alpha", self.alpha, low=0.0,
                                                     high=0.5, low_open=True))
        object.__setattr__(self, "report_lag",
                           v.positive_int("Evaluation.report_lag", self.report_lag, minimum=0))
        object.__setattr__(self, "value_per_unit",
                           v.real("Evaluation.value_per_unit", self.value_per_unit, low=0.0))

    @property
    def needs_comparison(self) -> bool:
        return self.design != "historical"

    def parameters(self) -> dict[str, Distribution]:
        """Uncertain inputs of the evaluation, by name."""
        out: dict[str, Distribution] = {}
        if self.design in ("matched", "before_after"):
            out[f"evaluation.{self.metric}.bias"] = self.bias  # type: ignore[assignment]
        if self.design == "historical":
            out[f"evaluation.{self.metric}.historical_rate"] = self.historical_rate  # type: ignore
        return out


def _window_mask(entry: np.ndarray, n_periods: int, window: int) -> np.ndarray:
    """``mask[w, t]``: period ``t`` is in wave ``w``'s follow-up window."""
    t = np.arange(n_periods)[None, :]
    return (t >= entry[:, None]) & (t < entry[:, None] + window)


def _units(ds: xr.Dataset, ev: Evaluation) -> xr.DataArray:
    """Outcome units per draw, arm, wave and period."""
    if ev.outcome == "events":
        return ds["events"].sum("stratum", skipna=False)
    if "state" not in ds.dims or ev.state not in ds["state"].values:
        raise v.fail("Evaluation.state", ev.state, "a state of the scenario's Markov/binary "
                     "outcome")
    return ds["occupancy"].sel(state=ev.state).sum("stratum", skipna=False)


def evaluate(ds: xr.Dataset, evaluations: tuple[Evaluation, ...], seed: int) -> EvaluationTable:
    """Measure every evaluation on a simulated outcome dataset.

    ``seed`` keys the evaluation's own uncertain parameters (bias, historical rate), sampled per
    draw like the scenario's parameters.
    """
    D = ds.sizes["draw"]
    P = ds.sizes["period"]
    entry = ds["entry_period"].values
    size = ds["size"].sum("stratum", skipna=False)  # (arm, wave)
    metric, period, cumulative, participants = [], [], [], []
    effects, units, gates, values = [], [], [], []
    for ev in evaluations:
        if ev.needs_comparison and "comparison" not in ds["arm"].values:
            raise v.fail(f"Evaluation[{ev.metric}].design", ev.design,
                         "'historical' when the scenario has no comparison group")
        late = [w for w, e in enumerate(entry) if e + ev.window > P]
        if late:
            raise v.fail(f"Evaluation[{ev.metric}].window", ev.window,
                         "a follow-up window that ends within the "
                         f"horizon of {P} periods for every entry wave (wave {late[0]} enters "
                         f"in period {entry[late[0]]})")
        params = {name: sample_parameter(dist, name, seed, 0, D)
                  for name, dist in ev.parameters().items()}
        mask = _window_mask(entry, P, ev.window)  # (W, P)
        u = _units(ds, ev).values  # (D, A, W, P)
        arms = list(ds["arm"].values)
        treated = (u[:, arms.index("treatment")] * mask[None]).sum(-1)  # (D, W)
        n_t = size.sel(arm="treatment").values  # (W,)
        if ev.design != "historical":
            control_units = (u[:, arms.index("comparison")] * mask[None]).sum(-1)  # (D, W)
            n_c = size.sel(arm="comparison").values
            scale = np.maximum(1.0 + params.get(f"evaluation.{ev.metric}.bias", np.zeros(D)),
                               0.0)
        groups = []
        if ev.per_wave:
            groups += [([w], False) for w in range(len(entry)) if n_t[w] > 0]
        if ev.pooled:
            groups.append((list(range(len(entry))), True))
        for waves, pooled in groups:
            nt = n_t[waves].sum()
            t_units = treated[:, waves].sum(1)
            t_rate = t_units / nt
            if ev.design == "historical":
                c_rate = params[f"evaluation.{ev.metric}.historical_rate"]
                c_var = np.zeros(D)
            else:
                nc = n_c[waves].sum()
                c_units = control_units[:, waves].sum(1)
                c_rate = c_units / max(nc, 1) * scale
                c_var = c_units / max(nc, 1) ** 2 * scale**2
            diff = (c_rate - t_rate) if ev.direction == "reduce" else (t_rate - c_rate)
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(c_rate > 0, diff / np.where(c_rate > 0, c_rate, 1.0), 0.0)
            gate = np.ones(D, bool)
            if ev.alpha is not None:
                se = np.sqrt(t_units / nt**2 + c_var)
                z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), 0.0)
                gate = z > stats.norm.isf(ev.alpha)
            last = max(entry[w] for w in waves) + ev.window - 1 + ev.report_lag
            metric.append(ev.metric)
            period.append(int(last))
            cumulative.append(bool(pooled and ev.per_wave))
            participants.append(int(nt))
            effects.append(rel)
            units.append(diff * nt)
            gates.append(gate)
            values.append(diff * nt * ev.value_per_unit)
    return EvaluationTable(metric=tuple(metric), period=tuple(period),
                           cumulative=tuple(cumulative), participants=tuple(participants),
                           measured_effect=np.stack(effects, 1), units=np.stack(units, 1),
                           avoided_cost=np.stack(values, 1), gate=np.stack(gates, 1))
