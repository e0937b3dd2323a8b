"""Power of each evaluation's triggers at the prior mean of the effect.

A deal whose cohort or comparison group is too small to detect the assumed effect still runs,
but most of its draws pay nothing for reasons that have nothing to do with the service:
:func:`evaluation_power` computes, for every trigger the evaluations produce, the probability
that it pays (its measured effect reaches the pricing rule's threshold and, with ``alpha``, the
significance gate passes) when every uncertain input sits at its prior mean, with a normal
approximation (the formula is in docs/analysis.md, "Evaluation power").
:func:`sibsim.analyse` warns (:class:`SmallSampleWarning`) when a trigger's power is below 50%.

Examples
--------
>>> import sibsim
>>> deal = sibsim.load_scenario("peterborough")
>>> pw = evaluation_power(deal)
>>> pw["power"].dims, bool(((pw["power"] >= 0) & (pw["power"] <= 1)).all())
(('trigger',), True)
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import xarray as xr

from sibsim._lazy import stats
from sibsim.dataset.build import simulate
from sibsim.money.deal import Deal
from sibsim.money.estimand import enrolled, enrolled_share
from sibsim.money.evaluation import (
    Measured,
    _mean_value,
    _window_mask,
    contract_round,
    engaged_units,
    evaluation_triggers,
    in_strata,
    measured_periods,
    outcome_units,
    person_periods,
)
from sibsim.money.pricing import PricingRule
from sibsim.spec import _validate as v
from sibsim.spec.distributions import Dirichlet, Distribution

__all__ = ["SmallSampleWarning", "detection_lines", "detection_power", "evaluation_power",
           "paying_threshold", "power_warnings", "trigger_power", "warn_small_samples"]

#: Power below which :func:`sibsim.analyse` warns.
LOW_POWER = 0.5


class SmallSampleWarning(UserWarning):
    """An evaluation's trigger pays with probability below 50% at the prior mean of the effect
    although the effect expected there reaches the payment threshold: the cohort or comparison
    group is too small for the design to detect the assumed effect."""


def _mean(dist: Distribution) -> np.ndarray:
    """The prior mean of a distribution, as one draw: shape (1,), or (1, size) for a row."""
    if isinstance(dist, Dirichlet):
        return np.asarray(dist.mean_row, dtype=float)[None, :]
    return np.array([float(dist.mean)])


def paying_threshold(rule: PricingRule, precision: float | None) -> float:
    """The smallest measured effect at which ``rule`` pays something, as a continuous cut on
    the unrounded measured effect (a fraction; NaN when the rule pays nothing in [-1, 1]).

    The rule is probed on a grid of measured effects (the contract's rounding grid, or steps of
    1e-4 refined by bisection without rounding), with units and avoided costs in proportion to
    the effect, as an evaluation links them. With rounding to ``precision``, an effect pays when
    it rounds to a paying grid point: the cut is half a step below that point.

    Examples
    --------
    >>> from sibsim.money.pricing import PricePerUnit, StepSchedule
    >>> paying_threshold(PricePerUnit(1000.0, threshold=0.10), None)
    0.1
    >>> paying_threshold(StepSchedule(thresholds=(0.05, 0.1), payments=(1.0, 2.0)), 0.01)
    0.045
    """
    def pays(e: np.ndarray) -> np.ndarray:
        scale = 1e6 * e
        return rule.due(e, units=scale, avoided_cost=scale, paid_to_date=0.0) > 0

    h = precision if precision is not None else 1e-4
    k = np.arange(-math.ceil(1 / h) - 1, math.ceil(1 / h) + 2)
    grid = contract_round(k * h, precision) if precision is not None else k * h
    ok = pays(grid)
    if not ok.any():
        return math.nan
    i = int(np.argmax(ok))
    if precision is not None:
        return round(float(grid[i]) - h / 2, 12)
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[i])
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if pays(np.array([mid]))[0] else (mid, hi)
    return round(hi, 12)


def trigger_power(treated_rate: float, treated_var: float, comparison_rate: float,
                  comparison_var: float, threshold: float, alpha: float | None,
                  direction: str = "reduce") -> float:
    """Probability that a trigger pays, by a normal approximation.

    ``T ~ N(treated_rate, treated_var)`` and ``C ~ N(comparison_rate, comparison_var)`` are the
    measured rates (units per participant); the trigger pays when its measured effect reaches
    ``threshold`` (``1 - T/C >= threshold`` to reduce, ``T/C - 1 >= threshold`` to increase,
    i.e. ``(1 - threshold) C - T >= 0`` or ``T - (1 + threshold) C >= 0``) and, with
    ``alpha``, when ``z = (C - T) / se > z_alpha`` (``T - C`` to increase) with ``se`` the
    expected standard error ``sqrt(treated_var + comparison_var)``. Both conditions are linear
    in ``(C, T)``: the power is a bivariate normal probability.

    Examples
    --------
    >>> round(trigger_power(0.4, 0.4 / 400, 0.5, 0.5 / 400, 0.10, None), 4)   # docs/analysis.md
    0.8675
    """
    if not math.isfinite(threshold):
        return math.nan
    s = 1.0 if direction == "reduce" else -1.0
    t, c, vt, vc = treated_rate, comparison_rate, treated_var, comparison_var
    a_c, a_t = (1.0 - threshold, -1.0) if s > 0 else (-(1.0 + threshold), 1.0)
    m1, v1 = a_c * c + a_t * t, a_c**2 * vc + a_t**2 * vt
    if alpha is None:
        return _above_zero(m1, v1)
    se = math.sqrt(vt + vc)
    m2, v2 = s * (c - t) - stats.norm.isf(alpha) * se, vt + vc
    cov = a_c * s * vc - a_t * s * vt
    p1, p2 = _above_zero(m1, v1), _above_zero(m2, v2)
    if v1 <= 0 or v2 <= 0 or cov / math.sqrt(v1 * v2) > 1 - 1e-9:
        return min(p1, p2)  # one condition, or perfectly correlated ones
    mvn = stats.multivariate_normal(mean=[-m1, -m2], cov=[[v1, cov], [cov, v2]])
    return float(min(max(mvn.cdf([0.0, 0.0]), 0.0), min(p1, p2)))


def _above_zero(mean: float, var: float) -> float:
    """P(X >= 0) for X ~ N(mean, var) (a point mass when var = 0)."""
    if var <= 0:
        return 1.0 if mean >= 0 else 0.0
    return float(stats.norm.sf(-mean / math.sqrt(var)))


def evaluation_power(deal: Deal) -> xr.Dataset:
    """Power of every trigger of the deal's evaluations at the prior mean of every input.

    The expected outcomes (``engine="expected"``, every scenario parameter at its prior mean)
    give each trigger's treated and comparison rates; the design gives the counterfactual rate
    and its variance (its own parameters at their means); the pricing rule gives the threshold
    (:func:`paying_threshold`); :func:`trigger_power` gives the power. Variances are Poisson
    (rate / participants), as in the significance gate.

    A pooled trigger that tops up the waves' payments (``per_wave`` and ``pooled``) has the
    power of its pooled result: the probability that the pooled rule pays on it, before what
    the waves earned is deducted.

    Returns
    -------
    xarray.Dataset
        Over ``trigger`` (in the order of the money dataset's triggers): ``power`` (probability
        that the trigger's rule pays on its result), ``expected_effect`` (measured effect at
        the prior mean, fraction), ``effect_sd`` (its standard deviation, delta method),
        ``threshold`` (the rule's paying cut, fraction), ``comparison_participants``;
        coordinates
        ``trigger_metric``, ``trigger_label``, ``trigger_pooled``, ``trigger_participants``.
    """
    if not isinstance(deal, Deal) or not deal.has_money:
        raise v.fail("evaluation_power.deal", type(deal).__name__,
                     "a Deal with evaluations, a contract and a capital structure")
    sc = deal.scenario
    means = {name: _mean(dist) for name, dist in sc.parameters().items()}
    ds = simulate(sc, draws=1, seed=0, engine="expected", overrides=means, progress=False,
                  engaged_events=deal.needs_engaged_events)
    entry = ds["entry_period"].values
    arms = list(ds["arm"].values)
    terms = {t.metric: t for t in deal.contract.terms}
    rows: dict[str, list] = {k: [] for k in (
        "metric", "label", "pooled", "participants", "comparison", "power", "effect", "sd",
        "threshold")}
    for ev in deal.evaluations:
        params = {name: np.array([float(dist.mean)]) for name, dist in ev.parameters().items()}
        size = in_strata(ds["size"], ev)
        n_t = size.sel(arm="treatment").values
        n_c = size.sel(arm="comparison").values if "comparison" in arms else np.zeros_like(n_t)
        u = outcome_units(ds, ev).values
        # a drifting prediction (Predicted) at its mean: no drift
        params.update(ev.design.period_draws(ev.metric, None, np.zeros(1, np.int64), u.shape[-1],
                                             int(ds.attrs["periods_per_year"])))
        mask = _window_mask(ev, entry, u.shape[-1], n_t)
        if ev.money is not None and ev.money.effect is not None:
            u = _with_money_effect(ev, params, ds, u, arms)
        for trig in evaluation_triggers(ev, u, arms, size, entry):
            waves = trig.waves
            nt = float(n_t[waves].sum())
            t_units = float(trig.treated_units[:, waves].sum(1)[0])
            t_rate, t_var = t_units / nt, t_units / nt**2
            measured = Measured(waves=waves, treated=n_t[waves], spans=trig.spans[waves],
                                periods=measured_periods(mask, waves, trig.period, trig.upto))
            c, vc = ev.design.counterfactual(ev.metric, params, trig.comparison, measured)
            c_rate, c_var = float(np.ravel(c)[0]), float(np.ravel(vc)[0])
            target = ev.target_per_person_period
            if ev.money is not None:  # measured in outcome units here: see _money_units
                spread, value = _money_units(ev, params, ds, n_t, entry, trig)
                t_var, c_var = t_var * spread, c_var * spread
                target = None if target is None else target / value
            rule = terms[ev.metric].rule_for(trig.cumulative)
            th = paying_threshold(rule, ev.precision)
            if target is not None and c_rate > 0:
                # an absolute target as a relative cut on this trigger's counterfactual
                pp = person_periods(mask, n_t, waves, trig.period, trig.upto)
                th = max(th, target * pp / (nt * c_rate))
            if c_rate > 0:
                ratio = t_rate / c_rate
                effect = 1 - ratio if ev.direction == "reduce" else ratio - 1
                sd = math.sqrt(t_var / c_rate**2 + t_rate**2 * c_var / c_rate**4)
            else:
                effect, sd = math.nan, math.nan
            share = 1.0  # estimand "treated": the effect on the enrolled is the ITT's / share,
            if ev.estimand == "treated":  # so it pays when the ITT effect reaches th x share
                share = float(enrolled_share(enrolled(ds, ev), n_t, waves, trig.spans)[0])
                effect, sd = (effect / share, sd / share) if share > 0 else (math.nan, math.nan)
            pooled = bool(trig.cumulative or not ev.per_wave)
            label = "pooled" if pooled else f"wave {waves[0]}"
            if ev.per_period and not pooled:
                label += f", period {int(trig.known) - ev.report_lag}"
            if trig.upto is not None:
                label = f"to date, period {trig.upto}"
            rows["metric"].append(ev.metric)
            rows["label"].append(label)
            rows["pooled"].append(pooled)
            rows["participants"].append(int(nt))
            rows["comparison"].append(int(n_c[waves].sum()) if ev.needs_comparison else 0)
            rows["power"].append(trigger_power(t_rate, t_var, c_rate, c_var, th * share,
                                               ev.alpha, ev.direction) if share > 0 else 0.0)
            rows["effect"].append(effect)
            rows["sd"].append(sd)
            rows["threshold"].append(th)
    k = len(rows["power"])
    coords = {"trigger": np.arange(k), "trigger_metric": ("trigger", rows["metric"]),
              "trigger_label": ("trigger", rows["label"]),
              "trigger_pooled": ("trigger", np.array(rows["pooled"], dtype=np.int8)),
              "trigger_participants": ("trigger", np.array(rows["participants"], np.int64))}
    spec = {
        "power": ("probability", "Probability that the trigger pays at the prior mean of every "
                                 "input (normal approximation)"),
        "expected_effect": ("fraction", "Measured effect expected at the prior mean"),
        "effect_sd": ("fraction", "Standard deviation of the measured effect (delta method, "
                                  "Poisson variances)"),
        "threshold": ("fraction", "Smallest unrounded measured effect the pricing rule pays on"),
        "comparison_participants": ("people", "Comparison-group people the trigger measures "
                                              "(0 without a concurrent comparison group)"),
    }
    data = {"power": rows["power"], "expected_effect": rows["effect"], "effect_sd": rows["sd"],
            "threshold": rows["threshold"], "comparison_participants": rows["comparison"]}
    out = xr.Dataset({name: xr.Variable("trigger", np.asarray(data[name]),
                                        attrs={"units": u, "description": d})
                      for name, (u, d) in spec.items()}, coords=coords)
    out.attrs["description"] = ("Power of each evaluation trigger at the prior mean of the "
                                "effect (docs/analysis.md, 'Evaluation power')")
    return out


def power_warnings(deal: Deal, power: xr.Dataset | None = None) -> list[str]:
    """One plain sentence per evaluation whose groups are too small to detect the assumed
    effect: a trigger pays with probability below 50% although the measured effect expected at
    the prior mean reaches the payment threshold (a threshold above the expected effect is the
    deal's risk, not the sample's: no warning). None: ``[]``.
    """
    pw = evaluation_power(deal) if power is None else power
    alphas = {e.metric: e.alpha for e in deal.evaluations}
    eff = deal.scenario.effect
    prior = ("no effect" if eff is None
             else f"{eff.measure} {float(eff.value.mean):.3g}")  # type: ignore[union-attr]
    out = []
    for metric in dict.fromkeys(pw["trigger_metric"].values.tolist()):
        one = pw.isel(trigger=np.flatnonzero(pw["trigger_metric"].values == metric))
        p = one["power"].values
        small = (p < LOW_POWER) & ~(one["expected_effect"].values < one["threshold"].values)
        low = np.flatnonzero(small)
        if low.size == 0:
            continue
        i = int(low[np.argmin(p[low])])
        n_t, n_c = int(one["trigger_participants"][i]), int(one["comparison_participants"][i])
        groups = f"{n_t:,} treated" + (f" and {n_c:,} comparison people" if n_c else "")
        alpha = alphas[metric]
        gate = f" at significance level {alpha:g}" if alpha is not None else ""
        out.append(f"Small sample: evaluation {metric!r} pays its trigger "
                   f"'{one['trigger_label'].values[i]}' with probability {100 * p[i]:.1f}% at "
                   f"the prior mean effect ({prior}; {low.size} of {p.size} trigger(s) below "
                   f"{100 * LOW_POWER:.0f}%): the groups ({groups}) are too small for the "
                   f"design to detect the assumed effect{gate}; see "
                   "sibsim.analysis.power.evaluation_power(deal).")
    return out


def warn_small_samples(deal: Deal, power: xr.Dataset | None = None) -> list[str]:
    """Issue a :class:`SmallSampleWarning` for each of :func:`power_warnings`; return them."""
    texts = power_warnings(deal, power)
    for text in texts:
        warnings.warn(SmallSampleWarning(text), stacklevel=3)
    return texts


#: One-sided significance level of the detection check in the summary (:func:`detection_lines`).
DETECTION_LEVEL = 0.05


def detection_power(power: xr.Dataset, level: float = DETECTION_LEVEL) -> xr.DataArray:
    """Probability that each trigger's measured effect tells the assumed effect from no effect.

    With the measured effect expected at the prior mean ``E`` (``expected_effect``) and its
    standard error ``s`` (``effect_sd``) from :func:`evaluation_power`, a one-sided test at
    ``level`` (does the measured effect exceed ``z_level x s``?) detects the effect with
    probability ``Phi(E / s - z_level)`` (normal approximation). NaN where no effect in the
    paying direction is assumed (``E <= 0``) or the standard error is unknown.

    Examples
    --------
    >>> import xarray as xr
    >>> pw = xr.Dataset({"expected_effect": ("trigger", [0.2, 0.2, 0.0]),
    ...                  "effect_sd": ("trigger", [0.1, 0.2 / 1.6448536269514722, 0.1])})
    >>> detection_power(pw).values.round(3).tolist()
    [0.639, 0.5, nan]
    """
    e, s = power["expected_effect"], power["effect_sd"]
    z = stats.norm.isf(level)
    ok = (e > 0) & (s > 0) & np.isfinite(e) & np.isfinite(s)
    p = xr.apply_ufunc(stats.norm.cdf, (e / s.where(ok)) - z)
    return p.where(ok).rename("detection_power").assign_attrs(
        units="probability",
        description=f"Probability that a one-sided test at level {level:g} tells the effect "
                    "expected at the prior mean from no effect (normal approximation)")


def detection_lines(deal: Deal, power: xr.Dataset | None = None,
                    level: float = DETECTION_LEVEL) -> list[str]:
    """Plain sentences, one per evaluation whose groups are too small to tell the assumed
    effect from noise: the trigger least likely to detect it does so with probability below
    50% (:func:`detection_power`). Evaluations already named by :func:`power_warnings` are left
    out (one sentence each). None: ``[]``.

    The standard errors are Poisson ones (as in :func:`evaluation_power`): over-dispersed counts
    are noisier than this says, so a sentence here is a lower bound on the problem.
    """
    pw = evaluation_power(deal) if power is None else power
    warned = {t.split("'")[1] for t in power_warnings(deal, pw)}
    det = detection_power(pw, level).values
    out = []
    for metric in dict.fromkeys(pw["trigger_metric"].values.tolist()):
        if metric in warned:
            continue
        idx = np.flatnonzero(pw["trigger_metric"].values == metric)
        d = det[idx]
        if not np.isfinite(d).any() or np.nanmin(d) >= LOW_POWER:
            continue
        i = int(idx[np.nanargmin(d)])
        n_t, n_c = int(pw["trigger_participants"][i]), int(pw["comparison_participants"][i])
        groups = f"{n_t:,} people" + (f" against {n_c:,} in the comparison group" if n_c else "")
        out.append(
            f"Too few people to tell the effect from noise: evaluation {metric!r} "
            f"('{pw['trigger_label'].values[i]}', {groups}) would detect the assumed effect "
            f"(a measured change of {100 * float(pw['expected_effect'][i]):.1f}%, give or take "
            f"{100 * float(pw['effect_sd'][i]):.1f} percentage points) with probability "
            f"{100 * float(det[i]):.0f}% at the {100 * level:g}% significance level. Payments "
            "will follow chance as much as the service's effect; larger groups, pooling the "
            "waves (pooled = true) or a longer window help.")
    return out


def _with_money_effect(ev: Any, params: dict, ds: xr.Dataset, u: np.ndarray,
                       arms: list[str]) -> np.ndarray:
    """Outcome units ``u`` (D, A, W, P) with the treated arm's engaged units counted ``effect``
    times (``money.effect`` at its prior mean): the money measured, in units of the money per
    unit of everyone else (exact when the money per unit does not grow)."""
    m = float(ev.money.ratio(params, ev.metric, u.shape[0])[0])
    out = np.array(u, dtype=float)
    ti = arms.index("treatment")
    engaged = np.clip(engaged_units(ds, ev), 0.0, np.maximum(out[:, ti], 0.0))
    out[:, ti] = out[:, ti] + (m - 1.0) * engaged
    return out


def _money_units(ev: Any, params: dict, ds: xr.Dataset, n_t: np.ndarray, entry: np.ndarray,
                 trig: Any) -> tuple[float, float]:
    """A money evaluation (``Evaluation.money``) in outcome units: the factor of its variance,
    ``1 + cv**2`` (earnings spread between person-periods), and the currency per outcome unit
    over what the trigger measures at the prior mean (to turn a target in currency per
    person-period into outcome units). The measured effect itself is the same in either."""
    P = ds.sizes["period"]
    scale = ev.money.scale(params, ev.metric, 1, P, int(ds.attrs["periods_per_year"]))
    mask = _window_mask(ev, entry, P, n_t)
    value = float(_mean_value(scale, mask, n_t, trig.waves, trig.period, trig.upto)[0])
    return 1.0 + ev.money.cv**2, value
