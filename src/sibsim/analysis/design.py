"""Contract design: search a deal's free terms, and compare options, on shared outcome draws.

:func:`design` varies some of a contract's terms over a grid (prices, thresholds, caps, shares,
step payments: any number named by a path, see :mod:`sibsim.spec.paths`), evaluates every
variant on the **same** simulated outcomes (common random numbers), checks the constraints a
commissioner sets, and finds the Pareto frontier of the feasible variants: the commissioner's
expected net savings NPV against the investors' expected return, both maximised.
:func:`compare` puts two or more options side by side with paired differences and their Monte
Carlo standard errors.

Definitions (per variant, ``D`` draws; see ``docs/design.md``)
-------------------------------------------------------------
* **Investors** are all tranches together: their net cash flow per period is the sum of the
  tranches' flows (``-`` drawdowns, ``+`` distributions and guarantee).
* **IRR of the expected cash flows** (``investor_irr_of_expected_flows``): the IRR of the
  investors' mean flow per period over the draws, annualised. It is the rate ``r`` at which
  the investors' *expected NPV* is zero, so an investor who requires ``r`` and is neutral to
  risk signs exactly when this IRR >= ``r`` (with one sign change of the mean flows).
  NaN where the mean flows have no IRR.
* **Mean of per-draw IRRs** (``investor_mean_irr``): each draw's IRR, annualised, averaged
  over the draws. A total loss (money out, nothing back) counts as -100% (``-1``). Draws
  without an IRR (nothing drawn and nothing paid, money back without any out, or no root:
  :class:`~sibsim.money.irr.IRRStatus` codes 3-6) are left out of the mean; their share is
  ``investor_irr_undefined_share``. Standard error: sd / sqrt(draws used).
* **Investors' P(loss)** (``investor_loss_probability``): the share of draws in which cash
  received < capital drawn (money multiple < 1), as in
  :func:`sibsim.analysis.metrics.investor_loss`.
* **Commissioner's expected net savings NPV** (``commissioner_npv``): the mean over draws of
  the NPV of net cashable savings (all payers together) at the social discount rate, as
  ``npv_net_savings`` of :func:`sibsim.analysis.metrics.municipality_metrics`.
* **Commissioner's P(pays more than it saves)** (``commissioner_loss_probability``): the share
  of draws with net savings NPV < 0.
* **Yearly gross budget at the confidence level** (``yearly_budget``): for each calendar year
  (:meth:`Deal.calendar_years`), the sum of the outcome payments (gross, all payers, or the
  payer named by ``budget_payer``) over the periods of that year; its ``confidence``-quantile
  over draws; the largest over the years.

Standard errors are those of a mean over independent draws (sd / sqrt(D); for a probability
``sqrt(p (1 - p) / D)``); the IRR of the expected flows and the quantile have none here.

Examples
--------
>>> import sibsim
>>> deal = sibsim.load_scenario("lapset-sib-1")
>>> res = sibsim.design(deal, {"contract.terms[0].rule.tiers[0][0]": [0.2, 0.3, 0.4]},
...                     {"investor_loss_probability_max": 0.7}, draws=200, seed=1)
>>> res.data.sizes["variant"]
3
>>> bool(res.data["feasible"].any())
True
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from sibsim.analysis.heap import kept_heap
from sibsim.analysis.metrics import (
    IRR_ROUNDING,
    discount_factors,
    investor_loss,
    present_value,
)
from sibsim.analysis.threads import in_order, work_threads
from sibsim.dataset.build import simulate
from sibsim.money.capital import investor_tranches
from sibsim.money.deal import Deal
from sibsim.money.evaluation import evaluate
from sibsim.money.irr import IRRStatus, annualise_rate, irr
from sibsim.money.payers import valued_states
from sibsim.money.sib import counterfactual, effect_free, money_arrays
from sibsim.money.termination import interim_results
from sibsim.resources import check_draws_fit
from sibsim.spec import _validate as v
from sibsim.spec.paths import expand_path, get_value, parse_path
from sibsim.spec.toml import KeyProblem, Section
from sibsim.spec.variant import Spec, param

__all__ = ["Constraints", "DesignResult", "Range", "compare", "describe_comparison",
           "describe_design", "design", "evaluate_variants", "expected_irr", "pareto_front",
           "read_design", "variant_grid"]

#: Most variants one design evaluates (a grid beyond this is refused: split the search).
MAX_VARIANTS = 100_000
#: Variants summarised at a time (bounds the memory of the per-draw arrays: chunk x draws).
CHUNK_VARIANTS = 64


# --------------------------------------------------------------------------- specification
@dataclass(frozen=True)
class Range(Spec):
    """``n`` evenly spaced values from ``low`` to ``high`` (both included).

    TOML: ``{low = 500, high = 1500, n = 5}`` in ``[design.grid]``; Python: ``Range(500,
    1500, 5)``, a ``{"low": ..., "high": ..., "n": ...}`` dict or a tuple ``(low, high, n)``
    (a *list* is a list of values).

    >>> Range(500, 1500, 3).values()
    (500.0, 1000.0, 1500.0)
    """

    low: float = param(v.interval(), doc="first value")
    high: float = param(v.interval(), doc="last value")
    n: int = param(v.integer(2, 10_000), doc="number of values")

    def validate(self) -> None:
        if self.low == self.high:
            raise v.fail("Range.high", self.high, "a value different from low")

    def values(self) -> tuple[float, ...]:
        return tuple(float(x) for x in np.linspace(self.low, self.high, self.n))


@dataclass(frozen=True)
class Constraints(Spec):
    """What a contract variant must satisfy to be feasible (None: no such constraint).

    TOML: the ``[design.constraints]`` table. Rates and probabilities are fractions
    (``0.05`` = 5%); writing ``5`` for 5% is refused with a hint.

    Parameters
    ----------
    investor_expected_irr_min : float or None
        Investors' expected IRR per year must be at least this (fraction). An IRR within
        rounding of it (:data:`~sibsim.analysis.metrics.IRR_ROUNDING`, 1e-9 a year) meets it:
        investors paid exactly a claim that grows at this rate.
    investor_irr_measure : {"expected_flows", "mean_of_draws"}
        Which expected IRR the constraint reads: the IRR of the expected cash flows (default:
        the rate at which the investors' expected NPV is zero) or the mean of per-draw IRRs
        with a total loss at -100%. Both are always reported.
    investor_loss_probability_max : float or None
        Investors' probability of losing money (cash back < cash in) at most this.
    commissioner_loss_probability_max : float or None
        Probability that the commissioner pays more than it saves (net savings NPV < 0) at
        most this.
    yearly_budget_max : float or None
        The yearly gross outcome payments at the design's confidence level (in the deal's
        currency), in the worst calendar year, at most this.
    budget_payer : str or None
        Payer whose outcome payments the yearly budget counts (None: all payers together).

    Examples
    --------
    >>> Constraints(investor_expected_irr_min=0.05).investor_expected_irr_min
    0.05
    >>> Constraints(investor_expected_irr_min=5)
    Traceback (most recent call last):
    ...
    ValueError: Constraints.investor_expected_irr_min: got 5; allowed: a finite number in \
[-1, 1], a fraction: write 0.05 for 5%
    """

    investor_expected_irr_min: float | None = param(
        v.optional(v.fraction(-1.0, 1.0)), default=None, doc="fraction per year")
    investor_irr_measure: str = param(v.one_of("expected_flows", "mean_of_draws"),
                                      default="expected_flows",
                                      doc="which expected IRR the minimum applies to")
    investor_loss_probability_max: float | None = param(
        v.optional(v.fraction(0.0, 1.0)), default=None, doc="probability")
    commissioner_loss_probability_max: float | None = param(
        v.optional(v.fraction(0.0, 1.0)), default=None, doc="probability")
    yearly_budget_max: float | None = param(v.optional(v.interval(0.0, math.inf)),
                                            default=None, doc="currency per calendar year")
    budget_payer: str | None = param(v.optional(v.label), default=None,
                                     doc="payer counted by the yearly budget (None: all)")

    def active(self) -> dict[str, float]:
        """The constraints that are set: ``{metric: bound}`` (see :data:`_CONSTRAINT_METRIC`)."""
        return {name: getattr(self, name) for name in _CONSTRAINT_METRIC
                if getattr(self, name) is not None}

    def metric(self, name: str) -> str:
        """The result variable a constraint reads."""
        if name == "investor_expected_irr_min":
            return ("investor_irr_of_expected_flows" if self.investor_irr_measure
                    == "expected_flows" else "investor_mean_irr")
        return _CONSTRAINT_METRIC[name]


#: Constraint -> the variable it bounds (the IRR one depends on investor_irr_measure).
_CONSTRAINT_METRIC = {
    "investor_expected_irr_min": "investor_irr_of_expected_flows",
    "investor_loss_probability_max": "investor_loss_probability",
    "commissioner_loss_probability_max": "commissioner_loss_probability",
    "yearly_budget_max": "yearly_budget",
}

#: Constraint -> how close to its bound a metric may be and still meet it (rounding; in the
#: metric's units): an IRR within rounding of its minimum is that IRR (IRR_ROUNDING).
_CONSTRAINT_ROUNDING = {"investor_expected_irr_min": IRR_ROUNDING}

#: The two investor-return measures the frontier may use.
RETURN_MEASURES = {"expected_flows": "investor_irr_of_expected_flows",
                   "mean_of_draws": "investor_mean_irr"}


def _as_constraints(constraints: Constraints | Mapping[str, Any] | None) -> Constraints:
    if constraints is None:
        return Constraints()
    if isinstance(constraints, Constraints):
        return constraints
    if isinstance(constraints, Mapping):
        allowed = {f.name for f in dataclasses.fields(Constraints)}
        bad = sorted(set(constraints) - allowed)
        if bad:
            raise v.fail("design.constraints", bad[0], "one of " + ", ".join(
                repr(n) for n in sorted(allowed)))
        return Constraints(**constraints)
    raise v.fail("design.constraints", type(constraints).__name__,
                 "a Constraints, a mapping of constraint names to bounds, or None")


# --------------------------------------------------------------------------- the grid
def _grid_values(path: str, current: Any, spec: Any) -> tuple[Any, ...]:
    """The values of one grid axis: a list, a Range (or its dict/tuple form)."""
    where = f"grid[{path!r}]"
    if isinstance(spec, Mapping):
        try:
            spec = Range(**spec)
        except TypeError as err:
            raise v.fail(where, dict(spec), "a list of values or {low, high, n}") from err
    elif isinstance(spec, tuple) and len(spec) == 3:
        spec = Range(*spec)
    if isinstance(spec, Range):
        values: tuple[Any, ...] = spec.values()
        if isinstance(current, int) and not isinstance(current, bool):
            if not all(float(x).is_integer() for x in values):
                raise v.fail(where, spec, f"whole numbers: {path} is an integer (choose low, "
                             "high and n so that the steps are whole)")
            values = tuple(int(x) for x in values)
    elif isinstance(spec, (Sequence, np.ndarray)) and not isinstance(spec, (str, bytes)):
        values = tuple(x.item() if isinstance(x, np.generic) else x for x in spec)
    else:
        raise v.fail(where, spec, "a list of values or {low, high, n}")
    if not values:
        raise v.fail(where, spec, "at least one value")
    for x in values:
        if x is not None and (isinstance(x, bool) or not isinstance(x, (int, float))):
            raise v.fail(where, x, "numbers (or None for 'no cap' where the field allows it)")
    if len(set(values)) != len(values):
        raise v.fail(where, list(values), "values that differ from each other")
    return values


def _current(deal: Deal, path: str) -> Any:
    """The deal's value at ``path`` (the first, where ``[*]`` names several); refused unless
    each is a number or None."""
    values = [get_value(deal, one) for one in expand_path(deal, path)]
    for current in values:
        if not (current is None or (isinstance(current, (int, float))
                                    and not isinstance(current, bool))):
            raise v.fail(f"grid[{path!r}]", current, "a path to one number (a price, a "
                         "threshold, a cap, a share...); this path names "
                         f"{type(current).__name__}")
    return values[0]


def _base_value(deal: Deal, path: str) -> float:
    """The deal's value at ``path`` as a float (NaN: None, or different values under [*])."""
    values = [get_value(deal, one) for one in expand_path(deal, path)]
    if values[0] is None or any(x != values[0] for x in values):
        return math.nan
    return float(values[0])


def variant_grid(deal: Deal, grid: Mapping[str, Any]
                 ) -> tuple[tuple[str, ...], list[tuple[Any, ...]], list[Deal]]:
    """Every combination of the grid's values, as deals.

    Parameters
    ----------
    deal : Deal
        The deal whose terms are varied.
    grid : mapping of path to values
        For each path (:mod:`sibsim.spec.paths`), a list of values, or a :class:`Range`
        (``{"low", "high", "n"}`` or a tuple ``(low, high, n)``).

    Returns
    -------
    (paths, combinations, deals)
        The paths in grid order, the values of each variant (the last path varying fastest)
        and the variant deals, each validated.

    >>> import sibsim
    >>> deal = sibsim.load_scenario("peterborough")
    >>> paths, combos, deals = variant_grid(deal, {"contract.caps.total": [8e6, 1e7],
    ...                                            "contract.terms[0].rule.price": (1e4, 1.5e4, 3)})
    >>> len(deals), combos[1], deals[1].contract.terms[0].rule.price
    (6, (8000000.0, 12500.0), 12500.0)
    """
    if not isinstance(deal, Deal) or not deal.has_money:
        raise v.fail("design.deal", type(deal).__name__,
                     "a Deal with money terms (evaluations, a contract and a capital structure)")
    if not isinstance(grid, Mapping) or not grid:
        raise v.fail("design.grid", grid, "a non-empty mapping {path: values}")
    for path in grid:
        first = parse_path(path)[0]
        if first in ("scenario", "start_year"):
            raise v.fail(f"grid[{path!r}]", first, "a money term (contract, capital, payers, "
                         "municipality, investors, service costs, evaluations...): the outcome "
                         "scenario and the calendar are shared by every variant")
    axes = [_grid_values(path, _current(deal, path), grid[path]) for path in grid]
    n = math.prod(len(a) for a in axes)
    if n > MAX_VARIANTS:
        raise v.fail("design.grid", f"{n:,} variants", f"at most {MAX_VARIANTS:,} variants")
    paths = tuple(grid)
    combos = list(itertools.product(*axes))
    deals = []
    for combo in combos:
        try:
            deals.append(deal.with_values(dict(zip(paths, combo, strict=True))))
        except (ValueError, TypeError) as err:
            shown = ", ".join(f"{p} = {x!r}" for p, x in zip(paths, combo, strict=True))
            raise type(err)(f"the variant with {shown} is not a valid deal: {err}") from None
    return paths, combos, deals


# --------------------------------------------------------------------------- evaluation
def _same_outcomes(deal: Deal, other: Deal) -> bool:
    """Two deals with the same outcome scenario (names and descriptions aside)."""
    a, b = deal.scenario, other.scenario
    if a is b:  # a variant of the contract's terms keeps its deal's scenario object
        return True
    return dataclasses.replace(b, name=a.name, description=a.description) == a


class _Measurements:
    """Evaluation tables of the shared draws, computed once per distinct set of evaluations
    (the contract's terms do not change what is measured)."""

    def __init__(self, ds: xr.Dataset) -> None:
        self.ds, self.seed = ds, int(ds.attrs["seed"])
        self._tables: list[tuple[Any, Any]] = []
        self._interims: list[tuple[Any, Any]] = []

    def _cached(self, cache: list[tuple[Any, Any]], key: Any, make: Any) -> Any:
        for k, value in cache:
            if k == key:
                return value
        value = make()
        cache.append((key, value))
        return value

    def table(self, deal: Deal) -> Any:
        return self._cached(self._tables, deal.evaluations,
                            lambda: evaluate(self.ds, deal.evaluations, self.seed))

    def interim(self, deal: Deal) -> Any:
        return self._cached(self._interims, (deal.evaluations, deal.termination),
                            lambda: interim_results(deal, self.ds, self.seed))


class _MoneyArrays(NamedTuple):
    """A variant's money as arrays (:func:`~sibsim.money.sib.money_arrays`), without the
    labelled dataset that :func:`money_flows` would build from them."""

    data: dict[str, np.ndarray]
    coords: dict[str, Any]
    periods_per_year: int
    social_discount_rate: float


def _variant_draws(variant: Deal, money: _MoneyArrays, year_index: np.ndarray,
                   n_years: int, budget_payer: str | None) -> dict[str, np.ndarray]:
    """What the summaries need from one variant's money (the arrays of
    :func:`~sibsim.money.sib.money_arrays`), per draw; the investors' IRRs are computed
    afterwards for a whole chunk of variants at once from ``flow`` (:func:`_add_irr`).

    This and :func:`money_arrays` are the inner step that a fused (variant, draw) evaluator
    replaces: it must return the same arrays for a stack of variants.
    """
    tranches = investor_tranches(money.coords)  # not grants or deferred fees
    parties = list(money.coords["party"])
    pick = [parties.index(t) for t in tranches]
    flow = _sum_of(money.data["flow"], pick)  # (D, P) all investors
    rows = [list(money.coords["tranche"]).index(t) for t in tranches]
    drawn = _rows(money.data["drawdown"], rows).sum(axis=(1, 2))
    received = _rows(money.data["investor_received"], rows).sum(axis=(1, 2))
    ppy = money.periods_per_year
    disc = discount_factors(money.social_discount_rate, ppy, flow.shape[-1])
    if budget_payer is None:
        paid = money.data["outcome_payments"]
    else:
        paid = money.data["payments_by_payer"][:, list(money.coords["payer"]).index(
            budget_payer)]
    yearly = np.zeros((n_years, paid.shape[0]))  # (Y, D): each year's draws contiguous
    for t in range(paid.shape[1]):
        yearly[year_index[t]] += paid[:, t]
    return {
        "npv": present_value(money.data["net_savings"], disc),
        "flow": flow,
        "loss": investor_loss(drawn, received),
        "mean_flow": flow.mean(axis=0),
        "payments": money.data["outcome_payments"].sum(axis=1),
        "yearly": yearly,
        "ppy": np.array(ppy),
    }


def _sum_of(x: np.ndarray, pick: list[int]) -> np.ndarray:
    """``x[:, pick].sum(axis=1)`` for ``x`` (D, N, P), without copying ``x[:, pick]`` when one
    row is picked (a sum of one term is ``0.0 + x``, as numpy's reduction gives)."""
    if len(pick) == 1:
        return np.add(0.0, x[:, pick[0]])
    return x[:, pick].sum(axis=1)  # type: ignore[no-any-return]


def _rows(x: np.ndarray, rows: list[int]) -> np.ndarray:
    """``x[:, rows]``, without a copy for one row (a view). Several rows are copied as numpy's
    fancy indexing does: its copy's memory order sets the order of a later sum's terms (``x``
    itself would add them in another order, not bit for bit the same)."""
    if len(rows) == 1:
        return x[:, rows[0]:rows[0] + 1]
    return x[:, rows]


def _add_irr(rows: list[dict[str, np.ndarray]]) -> None:
    """Replace the investors' flows ``flow`` (D, P) of some variants' per-draw arrays by their
    annualised IRR ``irr_annual`` (D,) (NaN where the draw has no IRR): one IRR call for them
    all, each row's IRR its own (the same numbers as one call per variant)."""
    todo = [r for r in rows if "flow" in r]
    if not todo:
        return
    flows = np.concatenate([r.pop("flow") for r in todo])
    rates = annualise_rate(irr(flows), int(todo[0]["ppy"]))
    for i, r in enumerate(todo):
        D = r["npv"].shape[0]
        r["irr_annual"] = rates[i * D:(i + 1) * D]


#: Investors' flows gathered before one IRR call over several variants (bytes).
_IRR_BATCH_BYTES = 32 * 2**20


def _nanmean(x: np.ndarray, axis: int) -> np.ndarray:
    n = np.sum(np.isfinite(x), axis=axis)
    s = np.nansum(x, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def _nanstd(x: np.ndarray, axis: int) -> np.ndarray:
    n = np.sum(np.isfinite(x), axis=axis)
    m = _nanmean(x, axis)
    dev = np.where(np.isfinite(x), x - np.expand_dims(m, axis), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1, np.sqrt((dev**2).sum(axis=axis) / np.maximum(n - 1, 1)), np.nan)


def _irr_summaries(irr_annual: np.ndarray, mean_flow: np.ndarray, ppy: int
                   ) -> dict[str, np.ndarray]:
    """The two expected IRRs from per-draw annual IRRs (V, D) and mean flows (V, P)."""
    D = irr_annual.shape[1]
    n_irr = np.isfinite(irr_annual).sum(1)
    flows_rate, flows_status = irr(mean_flow, return_info=True)
    ok = np.isin(flows_status, (IRRStatus.OK, IRRStatus.MULTIPLE_SIGN_CHANGES,
                                IRRStatus.TOTAL_LOSS))
    with np.errstate(invalid="ignore"):
        return {
            "investor_irr_of_expected_flows": np.where(ok, annualise_rate(flows_rate, ppy),
                                                       np.nan),
            "investor_mean_irr": _nanmean(irr_annual, 1),
            "investor_mean_irr_se": np.where(n_irr > 1, _nanstd(irr_annual, 1)
                                             / np.sqrt(np.maximum(n_irr, 1)), np.nan),
            "investor_irr_undefined_share": 1.0 - n_irr / D,
        }


def expected_irr(flows: np.ndarray, periods_per_year: int = 1) -> dict[str, float]:
    """The two "expected IRRs" of cash flows over draws, as :func:`design` defines them.

    Parameters
    ----------
    flows : array (draws, periods)
        Net cash flows of the investors per draw and period (``-`` paid in, ``+`` received).
    periods_per_year : int
        Periods per year, to annualise the per-period IRRs.

    Returns
    -------
    dict
        ``investor_irr_of_expected_flows`` (the annualised IRR of the mean flow per period),
        ``investor_mean_irr`` (the mean of the per-draw annualised IRRs, a total loss -1,
        draws without an IRR left out), its standard error ``investor_mean_irr_se`` and
        ``investor_irr_undefined_share`` (the share of draws left out).

    Examples
    --------
    >>> out = expected_irr(np.array([[-100.0, 120.0], [-100.0, 0.0], [0.0, 0.0]]))
    >>> round(out["investor_irr_of_expected_flows"], 6)   # mean flows [-66.7, 40]
    -0.4
    >>> round(out["investor_mean_irr"], 6), round(out["investor_irr_undefined_share"], 4)
    (-0.4, 0.3333)
    """
    flows = np.asarray(flows, dtype=float)
    if flows.ndim != 2 or flows.shape[0] < 1 or flows.shape[1] < 2:
        raise v.fail("expected_irr.flows", flows.shape, "an array (draws, periods), with at "
                     "least two periods")
    ppy = v.positive_int("expected_irr.periods_per_year", periods_per_year)
    per_draw = annualise_rate(irr(flows), ppy)
    out = _irr_summaries(per_draw[None], flows.mean(0)[None], ppy)
    return {k: float(x[0]) for k, x in out.items()}


def _summarise(d: dict[str, np.ndarray], confidence: float) -> dict[str, np.ndarray]:
    """Per-variant summaries from stacked per-draw arrays (variant first)."""
    each = [_summarise_one({k: x[i] for k, x in d.items() if k not in _IRR_INPUTS}, confidence)
            for i in range(d["npv"].shape[0])]
    return _with_irr_summaries({k: np.stack([e[k] for e in each]) for k in each[0]}, d)


#: Per-draw arrays that only the IRR summaries read (:func:`_with_irr_summaries`).
_IRR_INPUTS = ("irr_annual", "mean_flow", "ppy")


def _summarise_one(r: dict[str, np.ndarray], confidence: float) -> dict[str, np.ndarray]:
    """One variant's summaries other than the IRRs, from its per-draw arrays (each variant
    alone, so that they can be computed on the thread that evaluated it)."""
    D = r["npv"].shape[0]
    p_inv = r["loss"].mean()
    p_com = (r["npv"] < 0).mean()
    yearly_q = np.quantile(r["yearly"], confidence, axis=1)  # (Y, D) -> (Y,)
    with np.errstate(invalid="ignore"):
        return {
            "commissioner_npv": r["npv"].mean(),
            "commissioner_npv_se": r["npv"].std(ddof=1) / math.sqrt(D) if D > 1 else np.nan,
            "commissioner_loss_probability": p_com,
            "commissioner_loss_probability_se": np.sqrt(p_com * (1 - p_com) / D),
            "investor_loss_probability": p_inv,
            "investor_loss_probability_se": np.sqrt(p_inv * (1 - p_inv) / D),
            "total_outcome_payments": r["payments"].mean(),
            "total_outcome_payments_se": r["payments"].std(ddof=1) / math.sqrt(D) if D > 1
            else np.nan,
            "yearly_budget_by_year": yearly_q,
            "yearly_budget": yearly_q.max(),
        }


def _with_irr_summaries(out: dict[str, np.ndarray], d: dict[str, np.ndarray]
                        ) -> dict[str, np.ndarray]:
    """``out`` (stacked :func:`_summarise_one` results) with the IRR summaries of the stacked
    per-draw arrays ``d``, in the order of :data:`_SUMMARY_META`."""
    out = {**out, **_irr_summaries(d["irr_annual"], d["mean_flow"], int(d["ppy"][0]))}
    return {k: out[k] for k in _SUMMARY_META}


_SUMMARY_META = {
    "commissioner_npv": ("{cur}", "Commissioner's expected net savings NPV: mean over draws of "
                         "the NPV of net cashable savings (all payers) at the social discount "
                         "rate."),
    "commissioner_npv_se": ("{cur}", "Monte Carlo standard error of commissioner_npv."),
    "commissioner_loss_probability": ("1", "Probability that the commissioner pays more than it "
                                      "saves: share of draws with net savings NPV < 0."),
    "commissioner_loss_probability_se": ("1", "Monte Carlo standard error: sqrt(p (1-p) / D)."),
    "investor_irr_of_expected_flows": ("per year", "IRR of the investors' expected cash flows "
                                       "(mean flow per period over draws), annualised: the "
                                       "rate at which their expected NPV is 0. NaN where the "
                                       "mean flows have no IRR."),
    "investor_mean_irr": ("per year", "Mean over draws of the investors' annualised IRR, a "
                          "total loss counted as -1 (-100%); draws without an IRR left out "
                          "(see investor_irr_undefined_share)."),
    "investor_mean_irr_se": ("per year", "Monte Carlo standard error of investor_mean_irr: "
                             "sd / sqrt(draws with an IRR)."),
    "investor_irr_undefined_share": ("1", "Share of draws without an IRR (nothing invested, "
                                     "or no root), left out of investor_mean_irr."),
    "investor_loss_probability": ("1", "Probability that investors (all tranches) get back "
                                  "less than they put in."),
    "investor_loss_probability_se": ("1", "Monte Carlo standard error: sqrt(p (1-p) / D)."),
    "total_outcome_payments": ("{cur}", "Expected outcome payments over the deal "
                               "(undiscounted, all payers)."),
    "total_outcome_payments_se": ("{cur}", "Monte Carlo standard error of "
                                  "total_outcome_payments."),
    "yearly_budget_by_year": ("{cur}", "Gross outcome payments in each calendar year at the "
                              "confidence level (quantile over draws)."),
    "yearly_budget": ("{cur}", "Largest over calendar years of yearly_budget_by_year: the "
                      "yearly gross budget needed at the confidence level."),
}

#: Per-draw variables kept with ``keep_draws`` (name, source, units, description).
_DRAW_VARS = {
    "commissioner_npv_draws": ("npv", "{cur}", "Net savings NPV of each draw."),
    "investor_irr_draws": ("irr_annual", "per year", "Investors' annualised IRR of each draw "
                           "(total loss -1; NaN: none)."),
    "investor_loss_draws": ("loss", "1", "1 if investors lose money in the draw."),
    "total_outcome_payments_draws": ("payments", "{cur}", "Outcome payments of each draw."),
}


def evaluate_variants(deal: Deal, ds: xr.Dataset, cf: xr.Dataset, variants: Sequence[Deal], *,
                      confidence: float = 0.9, budget_payer: str | None = None,
                      keep_draws: bool = False, progress: Any = None) -> xr.Dataset:
    """Every variant's money and metrics on one set of outcome draws (common random numbers).

    Parameters
    ----------
    deal : Deal
        The deal the variants come from (its calendar years label the yearly budget).
    ds, cf : xarray.Dataset
        Outcome dataset (:func:`sibsim.simulate`) and its counterfactual
        (:func:`sibsim.money.sib.counterfactual`), shared by every variant.
    variants : sequence of Deal
        Deals with the same outcome scenario as ``deal`` (e.g. from :func:`variant_grid`).
    confidence : float
        Quantile of the yearly gross budget (0.9: the 90th percentile).
    budget_payer : str, optional
        Count only this payer's outcome payments in the yearly budget.
    keep_draws : bool
        Also return the per-draw values (``*_draws``, dims ``variant, draw``) for paired
        comparisons.
    progress : callable(int), optional
        Called with the number of variants done after each chunk.

    Returns
    -------
    xarray.Dataset
        Dims ``variant`` and ``year`` (and ``draw`` with ``keep_draws``): every summary of the
        module's definitions, with units and descriptions.

    Notes
    -----
    The outcome draws and the counterfactual are computed once by the caller; each
    variant's evaluation tables are reused when its evaluations are the deal's. The loop over
    variants (:func:`~sibsim.money.sib.money_arrays` then the per-draw extraction) is the one
    place that a fused (variant, draw) evaluator replaces.
    """
    confidence = v.fraction(0.0, 1.0, low_open=True, high_open=True)("confidence", confidence)
    if not variants:
        raise v.fail("evaluate_variants.variants", variants, "at least one deal")
    payers = [p.name for p in deal.effective_payers]
    if budget_payer is not None and budget_payer not in payers:
        raise v.fail("Constraints.budget_payer", budget_payer,
                     "one of " + ", ".join(repr(p) for p in payers))
    for i, var in enumerate(variants):
        if not isinstance(var, Deal) or not var.has_money:
            raise v.fail(f"variants[{i}]", type(var).__name__, "a priced Deal")
        if not _same_outcomes(deal, var):
            raise v.fail(f"variants[{i}]", var.name, "a deal with the same outcome scenario")
    years_of_period = deal.calendar_years()
    years = np.unique(years_of_period)
    year_index = np.searchsorted(years, years_of_period)
    meas = _Measurements(ds)
    ppy = int(ds.attrs["periods_per_year"])
    fixed: dict[Any, Any] = {}  # the parts of the money that no contract term changes
    chunks: list[dict[str, np.ndarray]] = []
    kept: dict[str, list[np.ndarray]] = {k: [] for k in _DRAW_VARS}
    def prepared(var: Deal) -> tuple[Deal, Any, Any, Any]:
        """A variant with what it shares with others (made here, on the calling thread)."""
        key = (var.service_periods, var.service_costs.basis,
               tuple(sorted(var.service_costs.per_state or ())),
               tuple(sorted(valued_states(var.effective_payers, explicit=bool(var.payers)))))
        if key not in fixed:
            fixed[key] = effect_free(var, ds, cf, same_outcomes=True)
        return var, meas.table(var), meas.interim(var), fixed[key]

    def per_draw(job: tuple[Deal, Any, Any, Any]) -> dict[str, np.ndarray]:
        var, table, interim, free = job
        data, coords = money_arrays(var, ds, cf, table=table, interim=interim, fixed=free)
        money = _MoneyArrays(data, coords, ppy, float(var.municipality.discount_rate))
        row = _variant_draws(var, money, year_index, len(years), budget_payer)
        row["summary"] = _summarise_one(row, confidence)  # on this thread
        return row

    threads = work_threads(CHUNK_VARIANTS)
    # variants per IRR call: their investors' flows (D, P) fill at most _IRR_BATCH_BYTES
    flow_bytes = 8 * ds.sizes["draw"] * ds.sizes.get("period", 1)
    batch = max(threads, _IRR_BATCH_BYTES // max(flow_bytes, 1))
    # memory freed by one batch is reused by the next (not only within a batch's in_order)
    with kept_heap():
        for start in range(0, len(variants), CHUNK_VARIANTS):
            rows: list[dict[str, np.ndarray]] = []
            chunk = variants[start:start + CHUNK_VARIANTS]
            # a batch of variants at a time on threads (each alone: the same numbers on any
            # number), then one IRR call for the batch
            for lo in range(0, len(chunk), batch):
                part = in_order(per_draw, [prepared(var) for var in chunk[lo:lo + batch]],
                                threads=threads)
                _add_irr(part)
                rows.extend(part)
            each = [r.pop("summary") for r in rows]
            need = (*_IRR_INPUTS, *(src for src, _, _ in _DRAW_VARS.values())) if keep_draws \
                else _IRR_INPUTS
            stacked = {k: np.stack([r[k] for r in rows]) for k in need}
            chunks.append(_with_irr_summaries({k: np.stack([e[k] for e in each]) for k in each[0]},
                                              stacked))
            if keep_draws:
                for name, (src, _, _) in _DRAW_VARS.items():
                    kept[name].append(stacked[src])
            if progress is not None:
                progress(min(start + CHUNK_VARIANTS, len(variants)))
    cur = deal.currency
    out = {}
    for name, (units, desc) in _SUMMARY_META.items():
        arr = np.concatenate([c[name] for c in chunks])
        dims = ("variant", "year") if arr.ndim == 2 else ("variant",)
        out[name] = xr.Variable(dims, arr, attrs={"units": units.format(cur=cur),
                                                  "description": desc})
    coords: dict[str, Any] = {"variant": np.arange(len(variants)), "year": years}
    if keep_draws:
        for name, (_, units, desc) in _DRAW_VARS.items():
            out[name] = xr.Variable(("variant", "draw"), np.concatenate(kept[name]),
                                    attrs={"units": units.format(cur=cur), "description": desc})
        coords["draw"] = ds["draw"].values
    res = xr.Dataset(out, coords=coords)
    res["year"].attrs["description"] = ("calendar year (Deal.calendar_years; numbered from 1 "
                                        "when the deal has no start_year)")
    res.attrs.update({"currency": cur, "draws": int(ds.sizes["draw"]),
                      "seed": int(ds.attrs["seed"]), "confidence": confidence,
                      "budget_payer": budget_payer or "all payers"})
    return res


# --------------------------------------------------------------------------- Pareto frontier
def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points not dominated when maximising both ``x`` and ``y`` (NaN points never are).

    A point dominates another when it is at least as good in both and better in one; equal
    points do not dominate each other (both stay on the frontier).

    >>> pareto_front(np.array([1.0, 2.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5, 3.0])).tolist()
    [True, True, False, False]
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.zeros(x.shape, dtype=bool)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if ok.size == 0:
        return out
    order = ok[np.lexsort((-y[ok], -x[ok]))]  # by x descending, then y descending
    best = -np.inf  # best y among points with a strictly larger x
    i = 0
    while i < order.size:
        j = i
        while j < order.size and x[order[j]] == x[order[i]]:
            j += 1
        group = order[i:j]
        top = y[group].max()
        for k in group:
            out[k] = y[k] == top and y[k] > best
        best = max(best, top)
        i = j
    return out


# --------------------------------------------------------------------------- design
@dataclass(frozen=True)
class DesignResult:
    """The result of :func:`design`.

    Attributes
    ----------
    data : xarray.Dataset
        Over ``variant``: the parameter values (``value``, dims ``variant, parameter``), every
        metric (see the module's definitions), ``feasible_<constraint>`` per constraint,
        ``feasible`` and ``on_frontier``.
    deal : Deal
        The deal whose terms were varied.
    variants : tuple of Deal
        The variant deals, in ``variant`` order.
    constraints : Constraints
    """

    data: xr.Dataset
    deal: Deal
    variants: tuple[Deal, ...]
    constraints: Constraints

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(str(p) for p in self.data["parameter"].values)

    def table(self) -> Any:
        """One row per variant (a pandas DataFrame): parameters, metrics, feasibility."""
        import pandas as pd

        d = self.data
        cols: dict[str, Any] = {p: d["value"].sel(parameter=p).values for p in self.paths}
        for name, var in d.data_vars.items():
            if var.dims == ("variant",):
                cols[str(name)] = var.values
        for year in d["year"].values:
            cols[f"yearly_budget_{year}"] = d["yearly_budget_by_year"].sel(year=year).values
        return pd.DataFrame(cols, index=pd.Index(d["variant"].values, name="variant"))

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write :meth:`table` as CSV (comma-separated, decimal point), atomically."""
        from sibsim.dataset.io import atomic_output
        from sibsim.spreadsheet import safe_cell

        table = self.table()
        table.columns = [safe_cell(str(c)) for c in table.columns]  # text, never a formula
        with atomic_output(path) as tmp:
            table.to_csv(tmp)
        return Path(path)

    def to_netcdf(self, path: str | os.PathLike) -> Path:
        """Write :attr:`data` as netCDF, atomically."""
        from sibsim.dataset.io import to_netcdf

        return to_netcdf(self.data, path)

    def plot(self, ax: Any = None) -> Any:
        """:func:`sibsim.plots.design.plot_design` of this result."""
        from sibsim.plots.design import plot_design

        return plot_design(self, ax=ax)

    def describe(self, max_rows: int = 10) -> str:
        """The feasible variants and the frontier in plain language."""
        return describe_design(self, max_rows=max_rows)


def design(deal: Deal, grid: Mapping[str, Any],
           constraints: Constraints | Mapping[str, Any] | None = None, *,
           draws: int = 1000, seed: int = 0, confidence: float = 0.9,
           frontier_return: str = "expected_flows", engine: str = "auto",
           progress: bool | None = None) -> DesignResult:
    """Search a deal's contract terms over a grid, on shared outcome draws.

    Parameters
    ----------
    deal : Deal
        A priced deal (e.g. ``sibsim.load_scenario("peterborough")``).
    grid : mapping of path to values
        For each free parameter, named by its path (``"contract.terms[0].rule.price"``,
        ``"contract.caps.total"``, ``"payers[0].shares"``...; see :mod:`sibsim.spec.paths`),
        a list of values or a :class:`Range` (``{"low": ..., "high": ..., "n": ...}`` or a
        tuple ``(low, high, n)``). Every combination is a variant.
    constraints : Constraints or mapping, optional
        E.g. ``{"investor_expected_irr_min": 0.05, "commissioner_loss_probability_max":
        0.3}``; see :class:`Constraints`.
    draws, seed : int
        Monte Carlo draws and seed; the outcomes are simulated once and shared by every
        variant, so differences between variants are paired.
    confidence : float
        Quantile of the yearly gross budget (0.9: the 90th percentile).
    frontier_return : {"expected_flows", "mean_of_draws"}
        The investors' expected return on the frontier's vertical axis: the IRR of the
        expected cash flows (default) or the mean of per-draw IRRs (total loss -100%).
    engine, progress
        As for :func:`sibsim.simulate`.

    Returns
    -------
    DesignResult

    Examples
    --------
    >>> import sibsim
    >>> deal = sibsim.load_scenario("lapset-sib-1")
    >>> res = sibsim.design(deal, {"contract.caps.total": [5e6, 1e7]}, draws=100, seed=2)
    >>> res.data["value"].sel(parameter="contract.caps.total").values.tolist()
    [5000000.0, 10000000.0]
    """
    cons = _as_constraints(constraints)
    frontier_return = v.choice("frontier_return", frontier_return, tuple(RETURN_MEASURES))
    confidence = v.fraction(0.0, 1.0, low_open=True, high_open=True)("confidence", confidence)
    draws = v.positive_int("draws", draws, minimum=2)  # standard errors need two draws
    paths, combos, variants = variant_grid(deal, grid)
    payers = [p.name for p in deal.effective_payers]
    if cons.budget_payer is not None and cons.budget_payer not in payers:
        raise v.fail("Constraints.budget_payer", cons.budget_payer,
                     "one of " + ", ".join(repr(p) for p in payers))
    check_draws_fit(deal, draws)
    ds = simulate(deal.scenario, draws=draws, seed=seed, engine=engine, progress=progress,
                  engaged_events=any(d.needs_engaged_events for d in (deal, *variants)))
    cf = counterfactual(deal, draws, int(ds.attrs["seed"]))
    data = evaluate_variants(deal, ds, cf, variants, confidence=confidence,
                             budget_payer=cons.budget_payer)
    values = np.array([[np.nan if x is None else float(x) for x in c] for c in combos])
    data = data.assign_coords(parameter=list(paths))
    data["value"] = xr.Variable(("variant", "parameter"), values, attrs={
        "description": "value of each free parameter (NaN: None, e.g. no cap)"})
    data["base_value"] = xr.Variable(("parameter",), np.array(
        [_base_value(deal, p) for p in paths]),
        attrs={"description": "the parameter's value in the deal as given (NaN: none, or "
                              "different values under [*])"})
    feasible = np.ones(len(variants), dtype=bool)
    for name, bound in cons.active().items():
        metric = data[cons.metric(name)].values
        tol = _CONSTRAINT_ROUNDING.get(name, 0.0)  # within rounding of its bound meets it
        with np.errstate(invalid="ignore"):
            ok = metric >= bound - tol if name.endswith("_min") else metric <= bound + tol
        ok &= np.isfinite(metric)
        data[f"feasible_{name}"] = xr.Variable(("variant",), ok, attrs={
            "description": f"{cons.metric(name)} {'>=' if name.endswith('_min') else '<='} "
                           f"{bound:g}"})
        feasible &= ok
    data["feasible"] = xr.Variable(("variant",), feasible, attrs={
        "description": "every constraint satisfied (point estimates)"})
    ret = data[RETURN_MEASURES[frontier_return]].values
    x = np.where(feasible, data["commissioner_npv"].values, np.nan)
    data["on_frontier"] = xr.Variable(("variant",), pareto_front(x, ret), attrs={
        "description": "on the Pareto frontier of the feasible variants (commissioner_npv "
                       f"and {RETURN_MEASURES[frontier_return]} both maximised)"})
    data.attrs.update({"deal": deal.name, "frontier_return": RETURN_MEASURES[frontier_return],
                       "constraints": "; ".join(f"{k} = {b:g}" for k, b in
                                                cons.active().items()) or "none",
                       "investor_irr_measure": cons.investor_irr_measure})
    return DesignResult(data=data, deal=deal, variants=tuple(variants), constraints=cons)


# --------------------------------------------------------------------------- plain language
def _money(x: float, cur: str) -> str:
    if not np.isfinite(x):
        return "n/a"
    a = abs(x)
    text = (f"{a / 1e6:,.2f}M" if a >= 1e6 else f"{a / 1e3:,.0f}k" if a >= 1e4
            else f"{a:,.0f}")
    return f"{'-' if x < 0 else ''}{cur} {text}"


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{100 * x:.1f}%"


def _variant_line(d: xr.Dataset, i: int, cur: str) -> str:
    params = ", ".join(f"{p} = {_num(d['value'].values[i, j])}"
                       for j, p in enumerate(d["parameter"].values))
    return (f"  #{i}: {params}\n"
            f"      commissioner: expected net savings NPV {_money(d['commissioner_npv'][i], cur)}"
            f" (+/- {_money(d['commissioner_npv_se'][i], cur)}), pays more than it saves in "
            f"{_pct(d['commissioner_loss_probability'][i])} of draws\n"
            f"      investors: IRR of expected flows "
            f"{_pct(d['investor_irr_of_expected_flows'][i])}, mean IRR "
            f"{_pct(d['investor_mean_irr'][i])}, lose money in "
            f"{_pct(d['investor_loss_probability'][i])} of draws\n"
            f"      yearly gross budget at {100 * d.attrs['confidence']:.0f}%: "
            f"{_money(d['yearly_budget'][i], cur)} in the worst year")


def _num(x: float) -> str:
    if not np.isfinite(x):
        return "none"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:g}"


def describe_design(res: DesignResult, max_rows: int = 10) -> str:
    """The feasible variants and the frontier in plain language."""
    d, cur = res.data, res.deal.currency
    n, feas = d.sizes["variant"], d["feasible"].values
    lines = [f"Contract design for {res.deal.name}: {n} variant(s) of "
             f"{', '.join(map(str, d['parameter'].values))}, each on the same "
             f"{d.attrs['draws']:,} outcome draws (seed {d.attrs['seed']}).",
             "Constraints (on each variant's Monte Carlo estimate):" if
             res.constraints.active() else "Constraints: none."]
    for name, bound in res.constraints.active().items():
        ok = int(d[f"feasible_{name}"].sum())
        metric = d[res.constraints.metric(name)].values
        best = np.nanmax(metric) if name.endswith("_min") else np.nanmin(metric)
        show = ((lambda x: _money(x, cur)) if name == "yearly_budget_max" else _pct)
        lines.append(f"  {name} = {show(bound)}: met by {ok} of {n} (best variant: "
                     f"{show(best) if np.isfinite(best) else 'n/a'})")
    lines.append(f"{int(feas.sum())} of {n} variant(s) meet every constraint.")
    if not feas.any():
        lines.append("No variant meets every constraint: widen the grid or relax a constraint.")
        return "\n".join(lines)
    front = np.flatnonzero(d["on_frontier"].values)
    front = front[np.argsort(-d["commissioner_npv"].values[front])]
    what = ("IRR of the expected cash flows" if d.attrs["frontier_return"]
            == "investor_irr_of_expected_flows" else "mean of per-draw IRRs")
    lines.append(f"The best trade-offs (Pareto frontier, {front.size} variant(s), from the "
                 "commissioner's best to the investors' best): no other feasible variant is "
                 "better for one party without being worse for the other (commissioner: "
                 f"expected net savings NPV; investors: {what}).")
    lines += [_variant_line(d, int(i), cur) for i in front[:max_rows]]
    if front.size > max_rows:
        lines.append(f"  ... and {front.size - max_rows} more (see the CSV or netCDF file)")
    others = np.flatnonzero(feas & ~d["on_frontier"].values)
    if others.size:
        lines.append(f"Other feasible variants ({others.size}), each bettered for one party "
                     "by a frontier variant that is no worse for the other: "
                     + ", ".join(f"#{i}" for i in others[:30])
                     + (" ..." if others.size > 30 else ""))
    lines.append("Differences between variants are paired (the same draws): they are much "
                 "more precise than the +/- of each value.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- compare
#: The quantities :func:`compare` puts side by side (variable, per-draw source or None).
COMPARED = {
    "commissioner_npv": "commissioner_npv_draws",
    "commissioner_loss_probability": "commissioner_npv_draws",
    "investor_irr_of_expected_flows": None,
    "investor_mean_irr": "investor_irr_draws",
    "investor_loss_probability": "investor_loss_draws",
    "total_outcome_payments": "total_outcome_payments_draws",
}


def _per_draw(data: xr.Dataset, name: str) -> np.ndarray | None:
    src = COMPARED[name]
    if src is None:
        return None
    x = data[src].values.astype(float)
    if name == "commissioner_loss_probability":
        x = (x < 0).astype(float)
    return x


def compare(deals: Sequence[Deal], names: Sequence[str] | None = None, *, draws: int = 1000,
            seed: int = 0, engine: str = "auto", progress: bool | None = None) -> xr.Dataset:
    """Two or more options side by side on the same outcome draws, with paired differences.

    Parameters
    ----------
    deals : sequence of Deal
        The options; all must have the same outcome scenario (cohort, outcome, effect,
        comparison group, horizon). Their contracts, capital, payers and evaluations may
        differ. The first is the reference of the differences.
    names : sequence of str, optional
        Labels of the options (default: the deals' names, numbered if repeated).
    draws, seed, engine, progress
        As for :func:`design`.

    Returns
    -------
    xarray.Dataset
        Dim ``option``: for each quantity in :data:`COMPARED`, its value, ``<name>_se``,
        the paired difference from the first option ``<name>_diff`` with its standard error
        ``<name>_diff_se`` (sd of the per-draw differences / sqrt(draws)) and, for reference,
        ``<name>_diff_se_unpaired`` (as if the options had independent draws).

    Examples
    --------
    >>> import sibsim
    >>> a = sibsim.load_scenario("lapset-sib-1")
    >>> b = a.with_values({"contract.caps.total": 5e6})
    >>> c = sibsim.compare([a, b], ["as is", "cap 5M"], draws=100, seed=1)
    >>> float(c["total_outcome_payments_diff"].sel(option="cap 5M")) <= 0
    True
    """
    if isinstance(deals, Deal) or not isinstance(deals, Sequence) or len(deals) < 2:
        raise v.fail("compare.deals", deals, "two or more deals")
    for i, d in enumerate(deals):
        if not isinstance(d, Deal) or not d.has_money:
            raise v.fail(f"compare.deals[{i}]", type(d).__name__, "a priced Deal")
    base = deals[0]
    for i, d in enumerate(deals[1:], 1):
        if not _same_outcomes(base, d):
            raise v.fail(f"compare.deals[{i}]", d.name, f"a deal with the same outcome scenario "
                         f"as {base.name!r} (cohort, outcome, effect, comparison group and "
                         "horizon): options are compared on the same outcome draws")
    if names is None:
        names = [d.name for d in deals]
        if len(set(names)) < len(names):
            names = [f"{i + 1}: {n}" for i, n in enumerate(names)]
    names = [v.name(f"compare.names[{i}]", n) for i, n in enumerate(names)]
    if len(names) != len(deals):
        raise v.fail("compare.names", names, f"{len(deals)} names, one per deal")
    v.unique("compare.names", names, "option names")
    draws = v.positive_int("draws", draws, minimum=2)  # paired standard errors need two
    check_draws_fit(base, draws, copies=len(deals))
    ds = simulate(base.scenario, draws=draws, seed=seed, engine=engine, progress=progress,
                  engaged_events=any(d.needs_engaged_events for d in deals))
    cf = counterfactual(base, draws, int(ds.attrs["seed"]))
    data = evaluate_variants(base, ds, cf, list(deals), keep_draws=True)
    D = draws
    out: dict[str, xr.Variable] = {}
    for name in COMPARED:
        var = data[name]
        value = var.values
        out[name] = xr.Variable(("option",), value, attrs=dict(var.attrs))
        se = data[f"{name}_se"].values if f"{name}_se" in data else np.full(len(deals), np.nan)
        out[f"{name}_se"] = xr.Variable(("option",), se, attrs={
            "units": var.attrs["units"], "description": f"Monte Carlo standard error of {name}"})
        x = _per_draw(data, name)
        diff = value - value[0]
        paired = np.full(len(deals), np.nan)
        unpaired = np.full(len(deals), np.nan)
        if x is not None:
            for k in range(len(deals)):
                both = np.isfinite(x[k]) & np.isfinite(x[0])
                n_both = int(both.sum())
                if k == 0:
                    paired[k] = unpaired[k] = 0.0
                    continue
                if n_both > 1:
                    dk = x[k][both] - x[0][both]
                    paired[k] = dk.std(ddof=1) / math.sqrt(n_both)
                    if name == "investor_mean_irr":  # the mean over draws where both are defined
                        diff[k] = dk.mean()
                unpaired[k] = math.sqrt(se[k] ** 2 + se[0] ** 2)
        out[f"{name}_diff"] = xr.Variable(("option",), diff, attrs={
            "units": var.attrs["units"], "description": f"{name} minus that of the first option "
                                                         "(paired: same draws)"})
        out[f"{name}_diff_se"] = xr.Variable(("option",), paired, attrs={
            "units": var.attrs["units"],
            "description": "standard error of the paired difference: sd of the per-draw "
                           "differences / sqrt(draws) (NaN: no per-draw values)"})
        out[f"{name}_diff_se_unpaired"] = xr.Variable(("option",), unpaired, attrs={
            "units": var.attrs["units"],
            "description": "standard error the difference would have with independent draws "
                           "(sqrt(se_a^2 + se_b^2)), for reference"})
    res = xr.Dataset(out, coords={"option": list(names)})
    res.attrs.update({"currency": base.currency, "draws": D, "seed": int(ds.attrs["seed"]),
                      "reference": names[0]})
    return res


_COMPARE_LABELS = {
    "commissioner_npv": ("Commissioner: expected net savings NPV", "money"),
    "commissioner_loss_probability": ("Commissioner: P(pays more than it saves)", "pct"),
    "investor_irr_of_expected_flows": ("Investors: IRR of expected cash flows", "pct"),
    "investor_mean_irr": ("Investors: mean of per-draw IRRs", "pct"),
    "investor_loss_probability": ("Investors: P(loss)", "pct"),
    "total_outcome_payments": ("Total outcome payments (expected)", "money"),
}


def describe_comparison(res: xr.Dataset) -> str:
    """A side-by-side table of :func:`compare`'s result, with paired differences.

    Differences of probabilities and rates are in percentage points (pp)."""
    cur = res.attrs["currency"]
    opts = [str(o) for o in res["option"].values]

    def fmt(x: float, kind: str, diff: bool = False) -> str:
        if not np.isfinite(x):
            return "n/a"
        if kind == "money":
            text = _money(x, cur)
        else:
            text = f"{100 * x:.1f} pp" if diff else _pct(x)
        return ("+" + text) if diff and x >= 0 else text

    header = ["", opts[0]]
    for o in opts[1:]:
        header += [o, f"{o} - {opts[0]}"]
    rows = [header]
    for name, (label, kind) in _COMPARE_LABELS.items():
        row = [label, fmt(float(res[name][0]), kind)]
        for k in range(1, len(opts)):
            diff = fmt(float(res[f"{name}_diff"][k]), kind, diff=True)
            se = float(res[f"{name}_diff_se"][k])
            if np.isfinite(se):
                diff += f" +/- {fmt(se, kind, diff=True).lstrip('+')}"
            row += [fmt(float(res[name][k]), kind), diff]
        rows.append(row)
    widths = [max(len(r[j]) for r in rows) for j in range(len(header))]
    lines = [f"Options compared on the same {res.attrs['draws']:,} outcome draws (seed "
             f"{res.attrs['seed']}); differences from {opts[0]!r} are paired draw by draw, "
             "+/- one Monte Carlo standard error (pp: percentage points)."]
    for r in rows:
        lines.append(f"{r[0]:<{widths[0]}}" + "".join(f"  {c:>{w}}" for c, w in
                                                     zip(r[1:], widths[1:], strict=True)))
    lines.append("The IRR of the expected cash flows has no standard error here (it is not a "
                 "mean over draws).")
    return "\n".join(lines)


# --------------------------------------------------------------------------- TOML
def read_design(data: Mapping[str, Any], deal: Deal, key: str = "design"
                ) -> dict[str, Any]:
    """Read a ``[design]`` table into the keyword arguments of :func:`design`.

    ``data`` is the table's contents; problems raise :class:`~sibsim.spec.toml.KeyProblem`
    at the key. Keys: ``confidence``, ``frontier_return``, ``[design.grid]`` (path = list of
    values or ``{low, high, n}``) and ``[design.constraints]`` (:class:`Constraints`).
    """
    sec = Section(key, data)
    kwargs: dict[str, Any] = {}
    if "confidence" in sec.data:
        kwargs["confidence"] = sec.get("confidence")
    if "frontier_return" in sec.data:
        kwargs["frontier_return"] = sec.get("frontier_return")
        if kwargs["frontier_return"] not in RETURN_MEASURES:
            raise KeyProblem(sec.path("frontier_return"), f"got {kwargs['frontier_return']!r}; "
                             "allowed: " + ", ".join(repr(k) for k in RETURN_MEASURES))
    try:
        v.fraction(0.0, 1.0, low_open=True, high_open=True)(
            sec.path("confidence"), kwargs.get("confidence", 0.9))
    except (TypeError, ValueError) as err:
        raise KeyProblem(sec.path("confidence"), str(err)) from None
    gsec = sec.sub("grid")
    if gsec is None:
        raise KeyProblem(sec.path("grid"), "this table is required: the terms to vary, e.g. "
                         '"contract.terms[0].rule.price" = [500, 1000, 1500]')
    grid: dict[str, Any] = {}
    for path, spec in gsec.data.items():
        gsec.used.add(path)
        where = f'{gsec.key}."{path}"'
        if isinstance(spec, Mapping):
            rsec = Section(where, spec)
            spec = Range.from_toml(rsec)
        try:
            _grid_values(path, _current(deal, path), spec)
        except (TypeError, ValueError) as err:
            raise KeyProblem(where, str(err)) from None
        grid[path] = spec
    if not grid:
        raise KeyProblem(gsec.key, "at least one path to vary")
    csec = sec.sub("constraints")
    kwargs["constraints"] = (Constraints.from_toml(csec) if csec is not None
                             else Constraints())
    sec.finish()
    kwargs["grid"] = grid
    return kwargs
