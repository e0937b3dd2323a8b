"""Evaluation design: the probability of payment against the true effect, for each design,
comparison size, threshold and significance gate, and how each choice moves every party's risk.

:func:`payment_curves` builds one *option* per combination of the choices given (each a deal
variant: ``deal.replace(evaluations=...)``, ``deal.with_scenario(comparison=...)``, the
contract's thresholds shifted) and, for each true effect of a grid, simulates the deal with the
effect set to that value in every draw (``overrides={"effect.value": ...}``) and runs the real
money chain (evaluation, payments, waterfall, savings). Every option and every effect uses the
same seed, so the same random streams: differences between options are paired (common random
numbers). Each point averages over the deal's other uncertain inputs (baseline, engagement, a
matched design's bias...).

Beside the simulated share of draws in which a trigger pays, the result holds the
normal approximation of :func:`sibsim.analysis.power.evaluation_power` at the same true effect
(every other input at its prior mean): with other inputs fixed the two agree within Monte
Carlo error (``tests/test_evaluation_design.py``).

Examples
--------
>>> import sibsim
>>> deal = sibsim.load_scenario("peterborough")
>>> pc = payment_curves(deal, effects=[1.0, 0.8], designs=["rct", "matched"], draws=50, seed=1)
>>> pc["p_payment"].dims, pc["option"].values.tolist()
(('option', 'effect'), ['RCT', 'matched'])
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from sibsim.analysis.metrics import discount_factors, investor_loss, present_value
from sibsim.analysis.power import evaluation_power
from sibsim.dataset.build import simulate
from sibsim.money.deal import Deal
from sibsim.money.evaluation import (
    EVALUATION_DESIGNS,
    RCT,
    BeforeAfter,
    EvaluationDesign,
    Historical,
    Matched,
    evaluate,
    evaluation_triggers,
    in_strata,
    outcome_units,
)
from sibsim.money.pricing import PricingRule
from sibsim.money.sib import counterfactual, money_flows
from sibsim.resources import check_draws_fit
from sibsim.spec import _validate as v
from sibsim.spec.cohort import ComparisonGroup
from sibsim.spec.distributions import Dirichlet, Normal

__all__ = ["DESIGN_NAMES", "MATCHED_BIAS", "DesignOption", "default_effects", "design_for",
           "effect_for_probability", "format_payment_curves", "historical_rate_at_prior_mean",
           "payment_curves", "plot_payment_curves",
           "rule_threshold", "with_threshold"]

#: The bias of a matched comparison group asked for by name (``designs=["matched"]``) when
#: the deal's own design is not matched: unbiased on average, with a 3% standard deviation.
MATCHED_BIAS = Normal(0.0, 0.03)


#: How option labels name the designs.
DESIGN_NAMES = {"rct": "RCT", "matched": "matched", "historical": "historical",
                "predicted": "predicted", "before_after": "before/after"}


class DesignOption(NamedTuple):
    """One evaluation-design option: its label, the choices that make it and its deal."""

    label: str
    design: str
    comparison: str
    threshold: float
    alpha: float
    deal: Deal


# ------------------------------------------------------------------ building the options
def _prior_means(sc: Any) -> dict[str, np.ndarray]:
    out = {}
    for name, dist in sc.parameters().items():
        if isinstance(dist, Dirichlet):
            out[name] = np.asarray(dist.mean_row, dtype=float)[None, :]
        else:
            out[name] = np.array([float(dist.mean)])
    return out


def historical_rate_at_prior_mean(deal: Deal) -> tuple[float, ...]:
    """The comparison rate expected in each entry wave at the prior mean of every input: what
    a historical baseline predicts when it is right on average (outcome units per participant
    over a wave's window; with ``per_period``, the mean over the window's periods).

    Used for ``designs=["historical"]`` when the deal's own design is not historical: the
    counterfactual is then fixed, and the draw-to-draw uncertainty of the true baseline is what
    such a design gets wrong.

    >>> import sibsim
    >>> rates = historical_rate_at_prior_mean(sibsim.load_scenario("peterborough"))
    >>> len(rates), all(r > 0 for r in rates)
    (3, True)
    """
    ev = dataclasses.replace(deal.evaluations[0], design=RCT(), pooled=False, per_wave=True,
                             to_date=False)
    sc = deal.scenario
    if sc.comparison is None:
        sc = dataclasses.replace(sc, comparison=ComparisonGroup(ratio=1.0))
    ds = simulate(sc, draws=1, seed=0, engine="expected", overrides=_prior_means(sc),
                  progress=False)
    size = in_strata(ds["size"], ev)
    sums: dict[int, list[float]] = {}
    for trig in evaluation_triggers(ev, outcome_units(ds, ev).values, list(ds["arm"].values), size,
                          ds["entry_period"].values):
        w = trig.waves[0]
        comp = trig.comparison
        if comp is not None and comp.size[w] > 0:
            sums.setdefault(w, []).append(float(comp.units[0, w]) / float(comp.size[w]))
    W = ds.sizes["wave"]
    known = [float(np.mean(sums[w])) for w in sorted(sums)]
    fill = float(np.mean(known)) if known else 0.0
    return tuple(float(np.mean(sums[w])) if w in sums else fill for w in range(W))


def design_for(deal: Deal, design: str | EvaluationDesign) -> EvaluationDesign:
    """The evaluation design of an option: a design object as given; a kind name gives the
    deal's own design when it is of that kind, else ``RCT()``, ``Matched(bias=MATCHED_BIAS)``,
    ``Historical(historical_rate=historical_rate_at_prior_mean(deal))`` or
    ``BeforeAfter()`` (no trend). A kind without defaults for its fields (``"predicted"``,
    ``"blend"``) other than the deal's own is refused: give a design object.
    """
    if isinstance(design, EvaluationDesign):
        return design
    if not isinstance(design, str) or design not in EVALUATION_DESIGNS:
        raise v.fail("payment_curves.designs", design,
                     "a design object or one of "
                     + ", ".join(repr(k) for k in EVALUATION_DESIGNS.names()))
    own = deal.evaluations[0].design
    if own.kind == design:
        return own
    if design == "rct":
        return RCT()
    if design == "matched":
        return Matched(bias=MATCHED_BIAS)
    if design == "historical":
        rates = historical_rate_at_prior_mean(deal)
        return Historical(historical_rate=rates if len(set(rates)) > 1 else rates[0])
    if design == "before_after":
        return BeforeAfter()
    cls = EVALUATION_DESIGNS[design]
    required = [f.name for f in cls.toml_fields() if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    if required:  # no default to build it from (a prediction's drift, a blend's designs)
        raise v.fail("payment_curves.designs", design,
                     f"a {cls.__name__}(...) design object (the kind {design!r} has no "
                     f"defaults for {', '.join(required)}; this deal's design is "
                     f"{own.kind!r}), or one of 'rct', 'matched', 'historical', "
                     "'before_after'")
    return cls()  # a registered design with defaults


def rule_threshold(rule: PricingRule) -> float:
    """The measured effect (fraction) from which a pricing rule starts paying, as its fields
    state it: ``threshold`` (None: 0), the first of ``thresholds``, or ``floor_effect``."""
    for name in ("threshold", "floor_effect"):
        if hasattr(rule, name):
            value = getattr(rule, name)
            return 0.0 if value is None else float(value)
    if hasattr(rule, "thresholds"):
        return float(rule.thresholds[0])
    raise v.fail("payment_curves.thresholds", type(rule).__name__,
                 "a pricing rule with a threshold, thresholds or floor_effect")


def _shift(rule: PricingRule, delta: float) -> PricingRule:
    changes: dict[str, Any] = {}
    for name in ("threshold", "ceiling", "floor_effect", "cap_effect"):
        if hasattr(rule, name) and (getattr(rule, name) is not None or name == "threshold"):
            value = getattr(rule, name)
            changes[name] = round((0.0 if value is None else value) + delta, 12)
    if hasattr(rule, "thresholds"):
        changes["thresholds"] = tuple(round(t + delta, 12) for t in rule.thresholds)
    return dataclasses.replace(rule, **changes)


def with_threshold(deal: Deal, threshold: float) -> Deal:
    """The deal with the first evaluation's metric paid from ``threshold`` (a fraction): its
    rule's threshold (:func:`rule_threshold`) is set to ``threshold`` and every other threshold
    of the metric's terms (a pooled rule's, a step schedule's further steps, a ceiling) moves
    by the same amount, keeping its distance.

    >>> import sibsim
    >>> deal = with_threshold(sibsim.load_scenario("peterborough"), 0.05)
    >>> t = deal.contract.terms[0]
    >>> round(t.rule.threshold, 3), round(t.pooled_rule.threshold, 3)
    (0.05, 0.025)
    """
    metric = deal.evaluations[0].metric
    terms = []
    for t in deal.contract.terms:
        if t.metric == metric:
            delta = float(threshold) - rule_threshold(t.rule)
            try:
                t = dataclasses.replace(t, rule=_shift(t.rule, delta), pooled_rule=None
                                        if t.pooled_rule is None else _shift(t.pooled_rule,
                                                                             delta))
            except (ValueError, TypeError) as err:
                raise v.fail("payment_curves.thresholds", threshold,
                             f"a threshold the contract's rules accept ({err})") from None
        terms.append(t)
    return deal.replace(contract=dataclasses.replace(deal.contract, terms=tuple(terms)))


def _comparison(value: Any) -> ComparisonGroup:
    if isinstance(value, ComparisonGroup):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return ComparisonGroup(ratio=float(value))
    raise v.fail("payment_curves.comparison_sizes", value,
                 "ComparisonGroup objects or ratios > 0 (comparison people per participant)")


def _comparison_label(cg: ComparisonGroup | None) -> str:
    if cg is None:
        return "none"
    return f"{cg.size:,} people" if cg.size is not None else f"{cg.ratio:g}:1"


def _options(deal: Deal, designs, comparison_sizes, thresholds, alphas) -> list[DesignOption]:
    ev0 = deal.evaluations[0]
    given = {"design": designs is not None, "comparison": comparison_sizes is not None,
             "threshold": thresholds is not None, "alpha": alphas is not None}
    design_list = ([design_for(deal, d) for d in designs] if designs is not None
                   else [ev0.design])
    comp_list = ([_comparison(c) for c in comparison_sizes] if comparison_sizes is not None
                 else [deal.scenario.comparison])
    th_list = ([float(t) for t in thresholds] if thresholds is not None
               else [rule_threshold(_terms(deal).rule)])
    alpha_list = list(alphas) if alphas is not None else [ev0.alpha]
    for lst, key in ((design_list, "designs"), (comp_list, "comparison_sizes"),
                     (th_list, "thresholds"), (alpha_list, "alphas")):
        if not lst:
            raise v.fail(f"payment_curves.{key}", [], "at least one value, or None")
        # a value given twice would be one option shown twice (or quietly dropped)
        v.unique(f"payment_curves.{key}", [repr(x) for x in lst], "values")
    out: list[DesignOption] = []
    seen: set[tuple] = set()
    for design, comp, th, alpha in itertools.product(design_list, comp_list, th_list,
                                                     alpha_list):
        if not design.needs_comparison:
            comp = deal.scenario.comparison
            comp_label = "none"
        elif isinstance(design, BeforeAfter):
            comp = ComparisonGroup(ratio=1.0)
            comp_label = "same people before"
        else:
            if comp is None:
                comp = ComparisonGroup(ratio=1.0)
            comp_label = _comparison_label(comp)
        key = (repr(design), comp_label, th, alpha)
        if key in seen:
            continue
        seen.add(key)
        evs = tuple(dataclasses.replace(e, design=design, alpha=alpha) if i == 0 else e
                    for i, e in enumerate(deal.evaluations))
        try:
            d = deal.replace(evaluations=evs)
            if comp is not deal.scenario.comparison:
                d = d.with_scenario(comparison=comp)
            if thresholds is not None:
                d = with_threshold(d, th)
        except (ValueError, TypeError) as err:
            raise v.fail("payment_curves.options", f"{design.kind}, {comp_label}, {th:g}, "
                         f"{alpha}", f"a valid deal variant ({err})") from None
        parts = []
        if given["design"]:
            parts.append(DESIGN_NAMES.get(design.kind, design.kind))
        if given["comparison"] and design.needs_comparison \
                and not isinstance(design, BeforeAfter):
            parts.append(f"comparison {comp_label}")
        if given["threshold"]:
            parts.append(f"threshold {100 * th:g}%")
        if given["alpha"]:
            parts.append("no gate" if alpha is None else f"alpha {alpha:g}")
        label = ", ".join(parts) or "as contracted"
        out.append(DesignOption(label, design.kind, comp_label, th,
                                math.nan if alpha is None else float(alpha), d))
    return out


def _terms(deal: Deal) -> Any:
    metric = deal.evaluations[0].metric
    return next(t for t in deal.contract.terms if t.metric == metric)


def default_effects(deal: Deal, points: int = 11) -> np.ndarray:
    """True effects of the default grid: ``points`` effects from no effect to where the
    deal's triggers all but surely pay.

    The search range is the deal's break-even search (``[breakeven] effect_range`` when it
    searches the first process's effect, else a halving or doubling of the outcome); on a fine
    grid of it, the normal approximation of
    :func:`~sibsim.analysis.power.evaluation_power` finds the weakest effect at which every
    trigger pays with probability 0.99; the grid ends a quarter of the way further on (or at
    the end of the range).

    >>> import sibsim
    >>> xs = default_effects(sibsim.load_scenario("peterborough"))
    >>> float(xs[0]), bool(0.5 < xs[-1] < 1.0), len(xs)
    (1.0, True, 11)
    """
    from sibsim.analysis.breakeven import default_effect_range, searched_effect

    # the grid is on the first process's effect: the deal's range only when it is on that one
    # (``[breakeven] outcome`` may name another process)
    own = searched_effect(deal).index == 0
    lo, hi = ((deal.breakeven.effect_range if own else None)
              or default_effect_range(deal, deal.scenario.process_names[0]))
    eff = deal.scenario.effect
    fine = np.linspace(lo, hi, 41)
    end = hi
    for x in fine[1:]:
        pw = evaluation_power(deal.with_scenario(effect=dataclasses.replace(eff,
                                                                            value=float(x))))
        if np.all(pw["power"].values >= 0.99):
            end = lo + 1.25 * (x - lo)
            end = max(end, hi) if hi < lo else min(end, hi)
            break
    return np.linspace(lo, end, points)


# ------------------------------------------------------------------ the curves
def _per_draw(option: DesignOption, ds: xr.Dataset, cf: xr.Dataset, seed: int) -> dict:
    """Per-draw results of one option on one outcome dataset."""
    deal = option.deal
    money = money_flows(deal, ds, cf=cf)
    paid = money["outcome_payments"].values.sum(-1)
    invested = money["drawdown"].values.sum((1, 2))
    received = money["investor_received"].values.sum((1, 2))
    net = money["net_savings"].values
    disc = discount_factors(float(money.attrs["social_discount_rate_per_year"]),
                            int(money.attrs["periods_per_year"]), net.shape[-1])
    table = evaluate(ds, deal.evaluations, seed=seed)
    terms = {t.metric: t for t in deal.contract.terms}
    ev0 = deal.evaluations[0]
    ks = [k for k, m in enumerate(table.metric) if m == ev0.metric]
    avoided = table.avoided_cost if table.avoided_cost is not None else np.zeros_like(
        table.units)
    gate = table.gate if table.gate is not None else np.ones(table.units.shape, bool)
    trig = np.stack([(terms[ev0.metric].rule_for(table.cumulative[k]).due(
        table.measured_effect[:, k], table.units[:, k], avoided[:, k]) > 0) & gate[:, k]
        for k in ks], axis=1)
    return {"payment": (paid > 0).astype(float), "amount": paid,
            "investor_loss": investor_loss(invested, received).astype(float),
            "commissioner_net_loss": (net.sum(-1) < 0).astype(float),
            "net_savings": present_value(net, disc), "trigger": trig.astype(float)}


def _mean_se(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    return x.mean(0), (x.std(0, ddof=1) / math.sqrt(n) if n > 1 else np.full(x.shape[1:],
                                                                              np.nan))


def payment_curves(deal: Deal, effects: Sequence[float] | None = None,
                   designs: Sequence[str | EvaluationDesign] | None = None,
                   comparison_sizes: Sequence[float | ComparisonGroup] | None = None,
                   thresholds: Sequence[float] | None = None,
                   alphas: Sequence[float | None] | None = None, *, draws: int = 1000,
                   seed: int = 0, with_prior: bool = True) -> xr.Dataset:
    """P(payment), expected payment and every party's risk against the true effect, for each
    evaluation-design option.

    Options are every combination of the choices given (``None``: the deal's own), built as
    deal variants on the deal's first evaluation and its metric's terms.

    Parameters
    ----------
    deal : Deal
        A priced deal with an effect.
    effects : sequence of float, optional
        True effects, in the scenario's measure (e.g. relative risk); default
        :func:`default_effects` (11 points from no effect to where every trigger all but
        surely pays).
    designs : sequence of str or EvaluationDesign, optional
        Designs compared (kind names, see :func:`design_for`, or design objects).
    comparison_sizes : sequence of float or ComparisonGroup, optional
        Comparison groups (a number is a ratio of comparison people per participant). A design
        without a concurrent group (historical) ignores them; a before/after design uses the
        same people (ratio 1).
    thresholds : sequence of float, optional
        Measured effect (fraction) from which the metric pays (:func:`with_threshold`).
    alphas : sequence of float or None, optional
        One-sided significance levels of the gate (``None``: no gate).
    draws, seed : int
        Monte Carlo draws and seed, the same for every option and effect.
    with_prior : bool
        Also run each option with the effect drawn from its prior (the ``prior_*`` variables).

    Returns
    -------
    xarray.Dataset
        Over ``option`` (labels; coordinates ``option_design``, ``option_comparison``,
        ``option_threshold``, ``option_alpha`` (NaN: no gate)) and ``effect``:
        ``p_payment`` (share of draws with any outcome payment), ``expected_payment``
        (mean undiscounted outcome payments, currency), ``p_investor_loss``,
        ``p_commissioner_net_loss`` (pays more than it saves, undiscounted),
        ``expected_net_savings`` (mean NPV of the commissioner's net savings, currency), each
        with ``*_se`` (Monte Carlo standard error); over ``trigger`` too: ``p_trigger_pays``
        (share of draws in which the first evaluation's trigger pays on its result) and
        ``power_normal`` (:func:`~sibsim.analysis.power.evaluation_power` at that true effect,
        every other input at its prior mean). With ``with_prior``: ``prior_p_payment``,
        ``prior_expected_payment``, ``prior_p_investor_loss``,
        ``prior_p_commissioner_net_loss``, ``prior_expected_net_savings`` over ``option``.
    """
    if not isinstance(deal, Deal) or not deal.has_money:
        raise v.fail("payment_curves.deal", type(deal).__name__,
                     "a Deal with evaluations, a contract and a capital structure")
    eff = deal.scenario.effect
    if eff is None:
        raise v.fail("payment_curves.deal", "no effect", "a scenario with an effect")
    draws = v.positive_int("draws", draws, minimum=2)
    xs = (default_effects(deal) if effects is None
          else np.asarray([float(e) for e in effects], dtype=float))
    if xs.ndim != 1 or xs.size == 0 or not np.all(np.isfinite(xs)):
        raise v.fail("payment_curves.effects", effects, "one or more finite true effects")
    if eff.measure != "absolute" and np.any(xs <= 0):
        raise v.fail("payment_curves.effects", effects, f"positive values ({eff.measure})")
    v.unique("payment_curves.effects", [float(x) for x in xs], "true effects")
    options = _options(deal, designs, comparison_sizes, thresholds, alphas)
    cur = deal.currency
    names = ("payment", "amount", "investor_loss", "commissioner_net_loss", "net_savings")
    n_opt, n_eff = len(options), xs.size
    mean = {k: np.zeros((n_opt, n_eff)) for k in names}
    se = {k: np.zeros((n_opt, n_eff)) for k in names}
    prior = {k: np.zeros(n_opt) for k in names}
    trig_mean: list[list[np.ndarray]] = []
    trig_se: list[list[np.ndarray]] = []
    power: list[list[np.ndarray]] = []
    sims: dict[str, xr.Dataset] = {}
    # every (scenario, effect) simulation is kept: about one analysis per effect
    check_draws_fit(deal, draws, copies=n_eff)

    def sim(sc: Any, e: float | None) -> xr.Dataset:
        key = f"{sc!r}|{e!r}"
        if key not in sims:
            over = None if e is None else {"effect.value": np.full(draws, e)}
            sims[key] = simulate(sc, draws, seed, overrides=over, progress=False)
        return sims[key]

    for o, opt in enumerate(options):
        cf = counterfactual(opt.deal, draws, seed)
        tm, ts, pw = [], [], []
        for j, e in enumerate(xs):
            r = _per_draw(opt, sim(opt.deal.scenario, float(e)), cf, seed)
            for k in names:
                mean[k][o, j], se[k][o, j] = _mean_se(r[k])
            m_, s_ = _mean_se(r["trigger"])
            tm.append(m_)
            ts.append(s_)
            fixed = opt.deal.with_scenario(effect=dataclasses.replace(eff, value=float(e)))
            p = evaluation_power(fixed)
            pw.append(p["power"].values[p["trigger_metric"].values
                                        == opt.deal.evaluations[0].metric])
        trig_mean.append(tm)
        trig_se.append(ts)
        power.append(pw)
        if with_prior:
            r = _per_draw(opt, sim(opt.deal.scenario, None), cf, seed)
            for k in names:
                prior[k][o] = r[k].mean()
    K = {len(t[0]) for t in trig_mean}
    if len(K) != 1:  # the options share the evaluation's structure: never expected
        raise ValueError("payment_curves: options with different triggers")
    spec = {"payment": ("p_payment", "probability",
                        "Share of draws with any outcome payment at this true effect"),
            "amount": ("expected_payment", cur,
                       "Mean outcome payments (undiscounted) at this true effect"),
            "investor_loss": ("p_investor_loss", "probability",
                              "Share of draws in which investors get back less than they put "
                              "in"),
            "commissioner_net_loss": ("p_commissioner_net_loss", "probability",
                                      "Share of draws in which the commissioner pays more "
                                      "than it saves (undiscounted)"),
            "net_savings": ("expected_net_savings", cur,
                            "Mean NPV of the commissioner's net savings (social discount "
                            "rate)")}
    data: dict[str, xr.Variable] = {}
    for k, (name, unit, desc) in spec.items():
        data[name] = xr.Variable(("option", "effect"), mean[k],
                                 attrs={"units": unit, "description": desc})
        data[f"{name}_se"] = xr.Variable(("option", "effect"), se[k], attrs={
            "units": unit, "description": f"Monte Carlo standard error of {name}"})
        if with_prior:
            data[f"prior_{name}"] = xr.Variable("option", prior[k], attrs={
                "units": unit, "description": desc.replace("at this true effect",
                                                           "with the effect drawn from its "
                                                           "prior") + " (effect from its prior)"})
    data["p_trigger_pays"] = xr.Variable(("option", "effect", "trigger"), np.array(trig_mean),
                                         attrs={"units": "probability", "description":
                                                "Share of draws in which the trigger's rule "
                                                "pays on its measured result (gate passed)"})
    data["p_trigger_pays_se"] = xr.Variable(("option", "effect", "trigger"), np.array(trig_se),
                                            attrs={"units": "probability", "description":
                                                   "Monte Carlo standard error of "
                                                   "p_trigger_pays"})
    data["power_normal"] = xr.Variable(("option", "effect", "trigger"), np.array(power), attrs={
        "units": "probability", "description": "Normal approximation of the trigger's power "
                                               "at this true effect, other inputs at their "
                                               "prior means (analysis.power)"})
    coords = {"option": [o.label for o in options], "effect": xs,
              "option_design": ("option", [o.design for o in options]),
              "option_comparison": ("option", [o.comparison for o in options]),
              "option_threshold": ("option", np.array([o.threshold for o in options])),
              "option_alpha": ("option", np.array([o.alpha for o in options]))}
    out = xr.Dataset(data, coords=coords)
    out["effect"].attrs.update(units=eff.measure, description="True effect, in the scenario's "
                                                             "measure")
    out.attrs.update(
        scenario=deal.name, currency=cur, draws=draws, seed=seed, measure=eff.measure,
        metric=deal.evaluations[0].metric,
        description="Probability of payment and every party's risk against the true effect, "
                    "for each evaluation-design option (common random numbers: the same seed "
                    "for every option and effect)")
    return out


def plot_payment_curves(result: xr.Dataset, ax: Any = None, variable: str = "p_payment") -> Any:
    """One line per option: ``variable`` (default P(payment)) against the true effect, with a
    band of two Monte Carlo standard errors. Returns the axes.

    >>> import sibsim
    >>> pc = payment_curves(sibsim.load_scenario("peterborough"), effects=[1.0, 0.8],
    ...                     draws=20, seed=1, with_prior=False)
    >>> plot_payment_curves(pc).get_ylabel()
    'P(outcome payment)'
    """
    import matplotlib.pyplot as plt

    if variable not in result or result[variable].dims != ("option", "effect"):
        raise v.fail("plot_payment_curves.variable", variable,
                     "a variable over (option, effect) of payment_curves")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    x = result["effect"].values
    se_name = f"{variable}_se"
    for label in result["option"].values:
        y = result[variable].sel(option=label).values
        (line,) = ax.plot(x, y, marker="o", ms=3, label=str(label))
        if se_name in result:
            s = result[se_name].sel(option=label).values
            ax.fill_between(x, y - 2 * s, y + 2 * s, color=line.get_color(), alpha=0.15, lw=0)
    measure = result.attrs.get("measure", "")
    names = {"rr": "relative risk", "rate_ratio": "rate ratio", "absolute": "absolute change"}
    ax.set_xlabel(f"True effect ({names.get(measure, measure)})")
    ylabels = {"p_payment": "P(outcome payment)", "p_investor_loss": "P(investor loss)",
               "p_commissioner_net_loss": "P(commissioner pays more than it saves)"}
    cur = result.attrs.get("currency", "")
    ax.set_ylabel(ylabels.get(variable, f"{variable} ({result[variable].attrs.get('units', cur)})"))
    if result[variable].attrs.get("units") == "probability":
        ax.set_ylim(-0.02, 1.02)
    if x[0] > x[-1]:  # a ratio effect: stronger effects (smaller ratios) to the right
        ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="Evaluation option", title_fontsize=8)
    ax.set_title(f"{result.attrs.get('scenario', '')}: {ylabels.get(variable, variable)} "
                 "against the true effect", fontsize=10)
    return ax


def effect_for_probability(result: xr.Dataset, p: float = 0.8) -> xr.DataArray:
    """The weakest true effect of the grid at which each option pays with probability ``p``
    (linear interpolation between grid points; NaN: not reached on the grid).

    >>> import sibsim
    >>> pc = payment_curves(sibsim.load_scenario("peterborough"), effects=[1.0, 0.9, 0.8],
    ...                     draws=30, seed=1, with_prior=False)
    >>> effect_for_probability(pc, 0.5).dims
    ('option',)
    """
    x = result["effect"].values
    out = []
    for label in result["option"].values:
        y = result["p_payment"].sel(option=label).values
        hit = np.flatnonzero(y >= p)
        if hit.size == 0:
            out.append(math.nan)
            continue
        j = int(hit[0])
        if j == 0:
            out.append(float(x[0]))
            continue
        w = (p - y[j - 1]) / (y[j] - y[j - 1])
        out.append(float(x[j - 1] + w * (x[j] - x[j - 1])))
    return xr.DataArray(np.array(out), dims="option", coords={"option": result["option"]},
                        attrs={"units": result.attrs.get("measure", ""),
                               "description": f"Weakest true effect paid with probability "
                                              f"{p:g} (NaN: not on the grid)"})


def format_payment_curves(result: xr.Dataset) -> str:
    """A plain-text table of the options: the chance of a payment with no effect (a false
    positive), the effect needed for an 80% chance of payment, and, with the effect drawn from
    its prior, each party's risk.

    >>> import sibsim
    >>> pc = payment_curves(sibsim.load_scenario("peterborough"), effects=[1.0, 0.9, 0.8],
    ...                     draws=30, seed=1)
    >>> "P(pay | no effect)" in format_payment_curves(pc)
    True
    """
    cur = result.attrs.get("currency", "")
    e80 = effect_for_probability(result, 0.8).values
    head = ["option", "P(pay | no effect)", "effect for 80%"]
    prior = "prior_p_payment" in result
    if prior:
        head += ["P(pay)", "P(investor loss)", "P(commissioner loss)",
                 f"net savings ({cur}, mean NPV)"]
    rows = []
    for i, label in enumerate(result["option"].values):
        row = [str(label), f"{100 * float(result['p_payment'][i, 0]):.1f}%",
               "not reached" if math.isnan(e80[i]) else f"{e80[i]:.3g}"]
        if prior:
            row += [f"{100 * float(result['prior_p_payment'][i]):.1f}%",
                    f"{100 * float(result['prior_p_investor_loss'][i]):.1f}%",
                    f"{100 * float(result['prior_p_commissioner_net_loss'][i]):.1f}%",
                    f"{float(result['prior_expected_net_savings'][i]):,.0f}"]
        rows.append(row)
    widths = [max(len(r[k]) for r in [head, *rows]) for k in range(len(head))]
    lines = [f"Evaluation design options for {result.attrs.get('scenario', '')} "
             f"({result.attrs.get('draws')} draws, seed {result.attrs.get('seed')}; no effect "
             f"= {float(result['effect'][0]):g}, measure {result.attrs.get('measure', '')})"]
    for r in [head, *rows]:
        lines.append("  ".join(c.ljust(w) if k == 0 else c.rjust(w)
                               for k, (c, w) in enumerate(zip(r, widths, strict=True))))
    if prior:
        lines.append("P(pay), P(investor loss), P(commissioner loss) and net savings: with the "
                     "effect drawn from its prior.")
    return "\n".join(lines)
