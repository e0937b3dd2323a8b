"""Value of information for the commissioner's decision to sign a SIB: EVPI, EVPPI and EVSI.

The commissioner chooses between two strategies, *sign* the deal and *do not sign*. The net
benefit of a strategy in one Monte Carlo draw ``theta`` is ``NB(s, theta)``: for *sign*, the
commissioner's NPV of net cashable savings at the social discount rate (``npv_net_savings`` of
:func:`sibsim.analysis.metrics.municipality_metrics`), or, with ``value="public"``, that NPV
plus the wider public value (``npv_net_public_value``, a net monetary benefit); for *do not
sign*, 0 (nothing paid, nothing saved). Amounts are in the deal's currency.

The definitions are those of **dampack** (Alarid-Escudero, Knowlton, Enns and the DARTH group,
https://github.com/DARTH-git/dampack): ``calc_evpi`` (R/evpi.R), ``calc_evppi`` (R/evppi.R) and
``calc_evsi`` (R/evsi.R). With the opportunity loss of each strategy in each draw,
``L(s, theta) = NB(s, theta) - NB(s*, theta)``, ``s*`` the strategy with the largest expected
net benefit:

* **EVPI** = ``E[max_s NB(s, theta)] - max_s E[NB(s, theta)]`` = ``E[max_s L(s, theta)]``
  (dampack computes it as the smallest mean loss of the strategies, the same number);
* **EVPPI** of a parameter ``phi`` (e.g. the true effect) = ``E_phi[max_s E[L(s, theta) | phi]]``,
  with ``E[L | phi]`` estimated by regressing the losses on ``phi`` (dampack: a GAM of mgcv,
  Strong, Oakley and Brennan 2014);
* **EVSI** of a study of ``n`` people = ``E_X[max_s E[L(s, theta) | X]]`` with ``X`` the
  study's data, estimated by the Gaussian approximation of Jalal and Alarid-Escudero (2018) that
  dampack's ``calc_evsi`` implements: the fitted regression of the losses on ``phi`` is evaluated
  with its basis shrunk towards the mean by ``sqrt(n / (n + n0))``, ``n0`` the prior's
  *effective sample size* (the number of study participants that would carry as much
  information as the prior: ``n0 = sigma1^2 / Var(phi)``, ``sigma1`` the standard deviation of
  one participant's contribution to the study's estimate of ``phi``).

The regression here is a cubic smoothing spline whose penalty is chosen by generalised
cross-validation (:func:`scipy.interpolate.make_smoothing_spline`): the one-parameter case of
dampack's default penalised GAM (mgcv's thin-plate spline with GCV), with no R dependency;
above :data:`SPLINE_BINS` distinct values the losses are first averaged over that many bins of
equal counts, which keeps the fit fast and changes it little (the spline is smooth at that
scale anyway).
Because the fitted values are a linear combination of basis functions plus an intercept,
shrinking every basis column towards its mean (dampack's ``predict_ga``) is the same as
shrinking the fitted values towards their mean: ``E[L | X] ~ mean(Lhat) + sqrt(n / (n + n0))
(Lhat(phi) - mean(Lhat))``.

References: Jalal H, Alarid-Escudero F. A Gaussian approximation approach for value of
information analysis. Med Decis Making 2018;38(2):174-188. Strong M, Oakley JE, Brennan A.
Estimating multiparameter partial expected value of perfect information from a probabilistic
sensitivity analysis sample: a nonparametric regression approach. Med Decis Making
2014;34(3):311-326.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> theta = rng.normal(0.0, 1.0, 4000)
>>> nb = np.stack([np.zeros(4000), 0.1 + theta + rng.normal(0, 1, 4000)], axis=1)
>>> r = evpi(nb)
>>> 0.3 < float(r["evpi"]) < 0.7   # closed form 0.51 (normal loss function)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy.interpolate import make_smoothing_spline

from sibsim._lazy import stats
from sibsim.resources import check_draws_fit
from sibsim.spec import _validate as v

__all__ = ["ALL", "STRATEGIES", "commissioner_net_benefit", "evpi", "evppi", "evsi", "format_voi",
           "normal_voi", "pilot_information", "plot_voi", "value_of_information"]

#: The name of the EVPPI of every sampled parameter together (additive model).
ALL = "all parameters"

#: The commissioner's strategies: do not sign (net benefit 0), sign the deal.
STRATEGIES = ("do_not_sign", "sign")


def _as_nb(nb: object) -> tuple[np.ndarray, tuple[str, ...], str]:
    """(draws, strategies) array, the strategy names and the currency of ``nb``."""
    if isinstance(nb, xr.DataArray):
        arr = nb.transpose("draw", "strategy").values.astype(float)
        names = tuple(str(s) for s in nb["strategy"].values)
        cur = str(nb.attrs.get("units", ""))
    else:
        arr = np.asarray(nb, dtype=float)
        names = tuple(f"strategy {k}" for k in range(arr.shape[-1])) if arr.ndim == 2 else ()
        cur = ""
    if arr.ndim != 2 or arr.shape[1] < 2 or arr.shape[0] < 2:
        raise v.fail("voi.nb", getattr(arr, "shape", None),
                     "net benefits of shape (draws >= 2, strategies >= 2)")
    if not np.isfinite(arr).all():
        raise v.fail("voi.nb", "non-finite values", "finite net benefits in every draw")
    return arr, names, cur


def _losses(nb: np.ndarray) -> tuple[np.ndarray, int]:
    """Opportunity losses ``NB(s) - NB(s*)`` (draws, strategies) and ``s*`` (dampack's
    ``nmb_loss_voi``: positive where a strategy beats the one chosen on expectations)."""
    best = int(np.argmax(nb.mean(0)))
    return nb - nb[:, best:best + 1], best


def _scalar(value: float, units: str, description: str) -> xr.Variable:
    return xr.Variable((), float(value), attrs={"units": units, "description": description})


def evpi(nb: object) -> xr.Dataset:
    """Expected value of perfect information (dampack ``calc_evpi``, R/evpi.R).

    ``EVPI = E[max_s NB(s)] - max_s E[NB(s)]``, the mean over draws of the largest opportunity
    loss, with its Monte Carlo standard error (the standard deviation of the per-draw maximum
    loss over ``sqrt(draws)``, the chosen strategy held fixed).

    Parameters
    ----------
    nb : array (draws, strategies) or DataArray (draw, strategy)
        Net benefit of each strategy in each draw (currency; the DataArray's ``units``).

    Returns
    -------
    xarray.Dataset
        ``evpi``, ``evpi_se`` (currency), ``expected_net_benefit(strategy)`` and the attribute
        ``best_strategy`` (chosen on expectations).

    Examples
    --------
    >>> float(evpi([[0.0, 1.0], [0.0, -1.0]])["evpi"])   # sign pays 1 or loses 1: EVPI 0.5
    0.5
    """
    arr, names, cur = _as_nb(nb)
    loss, best = _losses(arr)
    m = loss.max(1)
    D = arr.shape[0]
    out = xr.Dataset({
        "evpi": _scalar(m.mean(), cur, "Expected value of perfect information: E[max_s NB] - "
                                       "max_s E[NB] (dampack calc_evpi)"),
        "evpi_se": _scalar(m.std(ddof=1) / math.sqrt(D), cur,
                           "Monte Carlo standard error of evpi"),
        "expected_net_benefit": xr.Variable("strategy", arr.mean(0), attrs={
            "units": cur, "description": "Mean net benefit of each strategy over the draws"}),
    }, coords={"strategy": list(names)})
    out.attrs.update(best_strategy=names[best], draws=D)
    return out


#: Above this many distinct parameter values, the losses are averaged in as many bins of equal
#: counts before the spline is fitted (the fit then costs the same whatever the draws).
SPLINE_BINS = 100


def _smooth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fitted values of a cubic smoothing spline of ``y`` on ``x`` (GCV penalty), at ``x``.

    The spline is fitted to the means of ``y`` over the distinct values of ``x`` (weighted by
    their counts), or, with more than :data:`SPLINE_BINS` of them, over that many bins of
    consecutive values of equal counts (at the bins' mean ``x``); a parameter with fewer than
    5 distinct values is fitted by its group means.
    """
    order = np.argsort(x, kind="stable")
    xo, yo = x[order], y[order]
    ux, first, counts = np.unique(xo, return_index=True, return_counts=True)
    if ux.size < 5:
        fit = np.repeat(np.add.reduceat(yo, first) / counts, counts)
    else:
        if ux.size > SPLINE_BINS:  # equal-count bins of consecutive draws
            edges = np.linspace(0, xo.size, SPLINE_BINS + 1).round().astype(int)[:-1]
            counts = np.diff(np.append(edges, xo.size))
            bx, by = np.add.reduceat(xo, edges) / counts, np.add.reduceat(yo, edges) / counts
        else:
            bx, by = ux, np.add.reduceat(yo, first) / counts
        # on a standard scale (the GCV search is ill-conditioned on amounts in millions)
        cx, sx = bx.mean(), bx.std()
        loc, scale = by.mean(), by.std()
        if not (scale > 0 and sx > 0):
            fit = np.full(xo.size, loc)
        else:
            w = counts.astype(float)
            try:
                spline = make_smoothing_spline((bx - cx) / sx, (by - loc) / scale, w=w)
                fit = loc + scale * spline((xo - cx) / sx)
            except (ValueError, np.linalg.LinAlgError):
                # near-tied abscissae: piecewise-linear through the bin means
                fit = np.interp(xo, bx, by)
    out = np.empty_like(fit)
    out[order] = fit
    return out


def _phi(phi: object, D: int, name: str) -> np.ndarray:
    arr = np.asarray(phi.values if isinstance(phi, xr.DataArray) else phi, dtype=float)
    if arr.ndim == 2 and arr.shape[0] == D and arr.shape[1] >= 1 and name == "phi":
        pass  # several parameters: an additive model
    elif arr.shape != (D,):
        raise v.fail(f"voi.{name}", arr.shape, f"one value per draw, shape ({D},)")
    if not np.isfinite(arr).all():
        raise v.fail(f"voi.{name}", "non-finite values", "a finite value in every draw")
    return arr


#: Most backfitting sweeps of the additive model of several parameters (it stops earlier
#: once a sweep moves no fitted value by more than 0.1% of the losses' standard deviation).
BACKFIT_SWEEPS = 10


def _additive(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fitted values of an additive model ``y ~ c + sum_j f_j(x_j)`` (one smoothing spline per
    parameter, by backfitting); one parameter: :func:`_smooth`."""
    if x.ndim == 1:
        return _smooth(x, y)
    c = y.mean()
    f = np.zeros_like(x)
    tol = 1e-3 * (y.std() or 1.0)
    for _ in range(BACKFIT_SWEEPS):
        change = 0.0
        for j in range(x.shape[1]):
            r = y - c - f.sum(1) + f[:, j]
            fj = _smooth(x[:, j], r)
            fj -= fj.mean()
            change = max(change, float(np.abs(fj - f[:, j]).max()))
            f[:, j] = fj
        if change < tol:  # converged: a further sweep moves no fitted value by 0.1% of sd
            break
    return c + f.sum(1)


def _fitted_losses(arr: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, int]:
    loss, best = _losses(arr)
    fitted = np.zeros_like(loss)
    for s in range(arr.shape[1]):
        if s != best:  # the chosen strategy's loss is 0 in every draw
            f = _additive(phi, loss[:, s])
            # keep the mean loss exactly, as a regression with an intercept does (binning
            # moves it slightly): the mean fitted loss of a strategy not chosen is then <= 0
            fitted[:, s] = f + (loss[:, s].mean() - f.mean())
    return fitted, best


def evppi(nb: object, phi: object) -> xr.Dataset:
    """Expected value of partial perfect information on one parameter (dampack ``calc_evppi``,
    R/evppi.R, regression method of Strong, Oakley and Brennan 2014).

    Each strategy's opportunity loss is regressed on the parameter's draws ``phi`` (a cubic
    smoothing spline with a GCV penalty, for dampack's GAM); ``EVPPI = mean over draws of
    max_s fitted loss``.

    Parameters
    ----------
    nb : array (draws, strategies) or DataArray (draw, strategy)
        Net benefit of each strategy in each draw (currency).
    phi : array (draws,) or (draws, k)
        The parameter's value in each draw (e.g. the true effect); with ``k`` columns, the
        EVPPI of the ``k`` parameters together, by an additive model (one spline per
        parameter, fitted by backfitting: no interactions, where dampack's GAM would add a
        tensor-product term).

    Returns
    -------
    xarray.Dataset
        ``evppi`` (currency) and ``evppi_se``: the Monte Carlo standard error of the mean of
        the per-draw maximum fitted loss (it leaves out the error of the regression itself).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> phi = rng.normal(size=2000)
    >>> nb = np.stack([np.zeros(2000), phi + rng.normal(size=2000)], axis=1)
    >>> round(float(evppi(nb, phi)["evppi"]), 1)   # closed form 1/sqrt(2 pi) = 0.40
    0.4
    """
    arr, _, cur = _as_nb(nb)
    x = _phi(phi, arr.shape[0], "phi")
    fitted, _ = _fitted_losses(arr, x)
    m = fitted.max(1)
    return xr.Dataset({
        "evppi": _scalar(m.mean(), cur, "Expected value of partial perfect information on the "
                                        "parameter (dampack calc_evppi, spline regression)"),
        "evppi_se": _scalar(m.std(ddof=1) / math.sqrt(m.size), cur,
                            "Monte Carlo standard error of evppi (regression error left out)"),
    })


def _pilot_sizes(sizes: object) -> list[float]:
    """Pilot sizes checked: one or more distinct whole numbers of participants, each >= 1 (a
    pilot of 0.5 people would be printed as "0 participants")."""
    values = list(np.atleast_1d(np.asarray(sizes, dtype=object)))
    if not values:
        raise v.fail("value_of_information.pilot_sizes", values, "one or more pilot sizes")
    out = []
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(x)) or float(x) < 1 or float(x) != int(float(x)) \
                or float(x) > 1e9:
            raise v.fail("value_of_information.pilot_sizes", x,
                         "whole numbers of participants in [1, 1e9]")
        out.append(float(x))
    v.unique("value_of_information.pilot_sizes", out, "pilot sizes")
    return out


def evsi(nb: object, phi: object, n: float | Sequence[float], n0: float) -> xr.Dataset:
    """Expected value of sample information of a study of ``n`` people informing ``phi``
    (dampack ``calc_evsi``, R/evsi.R: the Gaussian approximation of Jalal and Alarid-Escudero
    2018).

    The losses' regression on ``phi`` (as in :func:`evppi`) is shrunk towards its mean by
    ``sqrt(n / (n + n0))``; ``EVSI = mean over draws of max_s shrunk fitted loss``. It grows
    with ``n`` from 0 towards the EVPPI of ``phi``.

    Parameters
    ----------
    nb : array (draws, strategies) or DataArray (draw, strategy)
        Net benefit of each strategy in each draw (currency).
    phi : array (draws,)
        The parameter the study informs, one value per draw.
    n : float or sequence of float
        Study size(s) (people, >= 0).
    n0 : float
        Effective prior sample size (people, > 0): ``sigma1^2 / Var(phi)`` with ``sigma1`` the
        standard deviation of one participant's contribution to the estimate of ``phi``
        (:func:`pilot_information` computes it for a deal).

    Returns
    -------
    xarray.Dataset
        ``evsi(pilot_size)`` and ``evsi_se(pilot_size)`` (currency).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> phi = rng.normal(size=2000)
    >>> nb = np.stack([np.zeros(2000), phi], axis=1)
    >>> r = evsi(nb, phi, n=[0, 100], n0=100)
    >>> [round(float(x), 1) for x in r["evsi"]]   # 0, then 0.399 * sqrt(1/2) = 0.28
    [0.0, 0.3]
    """
    arr, _, cur = _as_nb(nb)
    x = _phi(phi, arr.shape[0], "phi")
    sizes = np.atleast_1d(np.asarray(n, dtype=float))
    if sizes.ndim != 1 or not np.all(np.isfinite(sizes)) or np.any(sizes < 0):
        raise v.fail("evsi.n", n, "study sizes >= 0")
    v.unique("evsi.n", [float(x) for x in sizes], "study sizes")
    if not (math.isfinite(n0) and n0 > 0):
        raise v.fail("evsi.n0", n0, "an effective prior sample size > 0")
    fitted, _ = _fitted_losses(arr, x)
    centre = fitted.mean(0)
    val, se = [], []
    for size in sizes:
        vrf = math.sqrt(size / (size + n0))
        m = (centre + vrf * (fitted - centre)).max(1)
        val.append(m.mean())
        se.append(m.std(ddof=1) / math.sqrt(m.size))
    attrs = {"units": cur}
    return xr.Dataset({
        "evsi": xr.Variable("pilot_size", np.array(val), attrs={
            **attrs, "description": "Expected value of sample information of a study of "
                                    "pilot_size people (dampack calc_evsi, Gaussian "
                                    "approximation)"}),
        "evsi_se": xr.Variable("pilot_size", np.array(se), attrs={
            **attrs, "description": "Monte Carlo standard error of evsi (regression error left "
                                    "out)"}),
    }, coords={"pilot_size": sizes}, attrs={"n0": float(n0)})


def normal_voi(mean: float, sd: float) -> float:
    """``E[max(0, X)] - max(0, E[X])`` for ``X ~ N(mean, sd^2)``: the closed form of the value
    of information of a sign / do-not-sign choice whose net benefit of signing is normal
    (the normal unit loss function: ``mean Phi(mean / sd) + sd phi(mean / sd) - max(0, mean)``).

    >>> round(normal_voi(0.0, 1.0), 4)   # 1 / sqrt(2 pi)
    0.3989
    """
    if sd <= 0:
        return 0.0
    z = mean / sd
    return float(mean * stats.norm.cdf(z) + sd * stats.norm.pdf(z) - max(0.0, mean))


# ------------------------------------------------------------------ the deal
def commissioner_net_benefit(deal, draws: int = 2000, seed: int = 0, *,
                             value: str = "savings") -> tuple[xr.DataArray, xr.Dataset]:
    """Net benefit of signing and not signing in each draw, and the sampled parameters.

    Parameters
    ----------
    deal : Deal
        A priced deal.
    draws, seed : int
        Monte Carlo draws and seed (the results depend on the seed alone).
    value : {"savings", "public"}
        ``"savings"``: the NPV of the commissioner's net cashable savings; ``"public"``: that
        NPV plus the wider public value (a net monetary benefit).

    Returns
    -------
    (DataArray (draw, strategy), Dataset)
        The net benefits (strategies :data:`STRATEGIES`, in the deal's currency) and the
        scenario's parameters in each draw (``parameter_value(draw, parameter)``, e.g.
        ``effect.value``, the true effect).
    """
    from sibsim.analysis.metrics import municipality_metrics
    from sibsim.dataset.build import simulate
    from sibsim.money.deal import Deal
    from sibsim.money.sib import counterfactual, money_flows

    if not isinstance(deal, Deal) or not deal.has_money:
        raise v.fail("commissioner_net_benefit.deal", type(deal).__name__,
                     "a Deal with evaluations, a contract and a capital structure")
    key = {"savings": "npv_net_savings", "public": "npv_net_public_value"}
    if value not in key:
        raise v.fail("commissioner_net_benefit.value", value, "'savings' or 'public'")
    draws = v.positive_int("draws", draws, minimum=2)
    check_draws_fit(deal, draws)
    ds = simulate(deal.scenario, draws, seed, progress=False,
                  engaged_events=deal.needs_engaged_events)
    money = money_flows(deal, ds, counterfactual(deal, draws, seed))
    sign = municipality_metrics(money)[key[value]].values
    cur = deal.currency
    nb = xr.DataArray(np.stack([np.zeros(draws), sign], axis=1), dims=("draw", "strategy"),
                      coords={"draw": ds["draw"].values, "strategy": list(STRATEGIES)},
                      attrs={"units": cur, "description": (
                          "Commissioner's net benefit of each strategy: 0 for not signing; "
                          + ("NPV of net cashable savings" if value == "savings"
                             else "NPV of net savings plus wider public value")
                          + " for signing")})
    return nb, ds[["parameter_value"]]


def pilot_information(deal, comparison_ratio: float | None = None) -> dict[str, float]:
    """The information a pilot carries about the true effect, per participant.

    A pilot measures the deal's pooled evaluation on ``n`` treated people and a comparison
    group of ``comparison_ratio`` people per participant (default: the deal's comparison
    group's ratio, else 1). At the prior mean of every input, :func:`evaluation_power` gives
    the measured effect's standard deviation ``sd_m`` for the deal's ``N`` treated people, and
    the slope ``dm / dtheta`` of the measured effect in the true effect (a central difference,
    engagement and dilution included). One participant's contribution to the estimate of the
    true effect has standard deviation ``sigma1 = sd_m sqrt(N') / |dm / dtheta|`` where ``N'``
    rescales to the pilot's comparison ratio (Poisson variances:
    ``var_m ~ (v_t + v_c / ratio) / n``).

    Returns
    -------
    dict
        ``sigma1`` (effect measure per sqrt(person)), ``slope`` (measured effect per unit of
        the true effect), ``comparison_ratio``.
    """
    from dataclasses import replace

    from sibsim.analysis.power import evaluation_power
    from sibsim.spec.cohort import ComparisonGroup

    sc = deal.scenario
    eff = sc.effect
    if eff is None:
        raise v.fail("pilot_information.deal", "no effect", "a scenario with an effect")
    ratio = comparison_ratio
    if ratio is None:
        ratio = sc.comparison.ratio if (sc.comparison is not None
                                        and sc.comparison.ratio is not None) else 1.0
    if not ratio > 0:
        raise v.fail("pilot_information.comparison_ratio", ratio, "a ratio > 0")
    ev = deal.evaluations[0]
    one = deal.replace(evaluations=(replace(ev, per_wave=False, pooled=True, per_period=False),
                                    *deal.evaluations[1:]))
    if ev.design.needs_comparison:
        one = one.with_scenario(comparison=ComparisonGroup(ratio=float(ratio)))
    mu = float(eff.value.mean)
    h = max(abs(mu), 1.0) * 1e-3

    def at(theta: float) -> xr.Dataset:
        d = one.with_scenario(effect=replace(eff, value=theta))
        pw = evaluation_power(d)
        return pw.isel(trigger=int(np.flatnonzero(pw["trigger_metric"].values
                                                  == ev.metric)[-1]))

    mid, lo, hi = at(mu), at(mu - h), at(mu + h)
    slope = (float(hi["expected_effect"]) - float(lo["expected_effect"])) / (2 * h)
    n = float(mid["trigger_participants"])
    sd_m = float(mid["effect_sd"])
    if not (math.isfinite(slope) and abs(slope) > 0 and math.isfinite(sd_m) and sd_m > 0):
        raise v.fail("pilot_information.deal", "a measured effect that does not move with the "
                     "true effect", "an evaluation whose measured effect depends on the effect")
    return {"sigma1": sd_m * math.sqrt(n) / abs(slope), "slope": slope,
            "comparison_ratio": float(ratio)}


def value_of_information(deal, draws: int = 2000, seed: int = 0, *,
                         pilot_sizes: Sequence[float] = (50, 100, 200, 500, 1000),
                         parameters: Sequence[str] | None = None, value: str = "savings",
                         comparison_ratio: float | None = None) -> xr.Dataset:
    """EVPI of the decision to sign, EVPPI of the true effect (and other parameters) and EVSI
    of a pilot, for a deal (see the module docstring for the definitions, after dampack).

    Parameters
    ----------
    deal : Deal
        A priced deal with an uncertain effect.
    draws, seed : int
        Monte Carlo draws and seed.
    pilot_sizes : sequence of float
        Treated participants of the pilot (each with ``comparison_ratio`` comparison people).
    parameters : sequence of str, optional
        Sampled parameters whose EVPPI is computed (names of the outcome dataset's
        ``parameter`` coordinate), or :data:`ALL` (``"all parameters"``: every sampled
        parameter together, additive model); default ``("effect.value", ALL)``. EVPI minus
        the EVPPI of all parameters is the value of knowing the cohort's own chance (which
        people reoffend, ...) in advance, which no study can give.
    value : {"savings", "public"}
        The commissioner's net benefit of signing (see :func:`commissioner_net_benefit`).
    comparison_ratio : float, optional
        The pilot's comparison people per participant (see :func:`pilot_information`).

    Returns
    -------
    xarray.Dataset
        ``evpi``, ``evpi_se``, ``expected_net_benefit(strategy)``, ``evppi(parameter)``,
        ``evppi_se(parameter)``, ``evsi(pilot_size)``, ``evsi_se(pilot_size)``, in the deal's
        currency; attributes ``n0`` (the prior's effective sample size, people), ``sigma1``,
        ``best_strategy``, ``value``, ``reference``.

    Examples
    --------
    >>> import sibsim
    >>> r = value_of_information(sibsim.load_scenario("peterborough"), draws=200, seed=1,
    ...                          pilot_sizes=(100, 1000))
    >>> bool(r["evpi"] >= r["evppi"].sel(parameter="effect.value") - 3 * r["evpi_se"])
    True
    """
    pilot_sizes = _pilot_sizes(pilot_sizes)  # before the draws: a typo costs no run
    nb, params = commissioner_net_benefit(deal, draws, seed, value=value)
    names = list(params["parameter"].values)
    wanted = list(parameters) if parameters is not None else ["effect.value", ALL]
    for p in wanted:
        if p not in names and p != ALL:
            raise v.fail("value_of_information.parameters", p,
                         f"{ALL!r} or sampled parameters of the scenario: " + ", ".join(names))
    out = evpi(nb)
    values = params["parameter_value"].transpose("draw", "parameter").values
    varied = values[:, np.ptp(values, axis=0) > 0]

    def phi_of(p: str) -> np.ndarray:
        return varied if p == ALL else params["parameter_value"].sel(parameter=p).values

    ev_pp = [evppi(nb, phi_of(p)) for p in wanted]
    cur = deal.currency
    out["evppi"] = xr.Variable("parameter", [float(r["evppi"]) for r in ev_pp], attrs={
        "units": cur, "description": "Expected value of partial perfect information on each "
                                     "parameter (dampack calc_evppi, spline regression)"})
    out["evppi_se"] = xr.Variable("parameter", [float(r["evppi_se"]) for r in ev_pp],
                                  attrs={"units": cur,
                                         "description": "Monte Carlo standard error of evppi"})
    out = out.assign_coords(parameter=wanted)
    info = pilot_information(deal, comparison_ratio)
    theta = params["parameter_value"].sel(parameter="effect.value").values
    var = float(np.var(theta, ddof=1))
    if not var > 0:
        raise v.fail("value_of_information.deal", "a fixed effect",
                     "an uncertain effect (a distribution), for EVSI")
    n0 = info["sigma1"] ** 2 / var
    out = out.merge(evsi(nb, theta, pilot_sizes, n0))
    out.attrs.update(n0=n0, sigma1=info["sigma1"], pilot_comparison_ratio=info[
        "comparison_ratio"], value=value, currency=cur, draws=int(nb.sizes["draw"]), seed=seed,
        reference="dampack (DARTH-git/dampack): calc_evpi, calc_evppi, calc_evsi")
    return out


def format_voi(result: xr.Dataset) -> str:
    """The value-of-information results as plain text (amounts in the deal's currency).

    >>> r = xr.Dataset({"evpi": 1.0, "evpi_se": 0.1, "expected_net_benefit": (
    ...     "strategy", [0.0, 2.0])}, coords={"strategy": list(STRATEGIES)},
    ...     attrs={"best_strategy": "sign", "currency": "EUR"})
    >>> print(format_voi(r).splitlines()[1])
    Decision on expectations: sign (expected net benefit of signing 2 EUR)
    """
    cur = result.attrs.get("currency", "")
    se = float(result["evpi_se"])
    lines = [f"Value of information of the decision to sign ({result.attrs.get('value', '')} "
             f"value; {result.attrs.get('draws', '?')} draws, seed "
             f"{result.attrs.get('seed', '?')}; after dampack's calc_evpi/calc_evppi/calc_evsi)",
             f"Decision on expectations: {result.attrs['best_strategy'].replace('_', ' ')} "
             f"(expected net benefit of signing "
             f"{float(result['expected_net_benefit'].sel(strategy='sign')):,.0f} {cur})",
             f"EVPI (perfect information on everything, the cohort's own chance included): "
             f"{float(result['evpi']):,.0f} {cur} (MC s.e. {se:,.0f})"]
    if "evppi" in result:
        for p in result["parameter"].values:
            lines.append(f"EVPPI of {p}: {float(result['evppi'].sel(parameter=p)):,.0f} {cur} "
                         f"(MC s.e. {float(result['evppi_se'].sel(parameter=p)):,.0f})")
    if "evsi" in result:
        lines.append(f"EVSI of a pilot (n0 = {result.attrs.get('n0', math.nan):,.0f} people "
                     f"of prior information; comparison "
                     f"{result.attrs.get('pilot_comparison_ratio', math.nan):g}:1):")
        for n in result["pilot_size"].values:
            value = float(result["evsi"].sel(pilot_size=n))
            lines.append(f"  {n:>8,.0f} participants: {value:,.0f} {cur}")
    lines.append("A study is worth running before signing only if it costs less than its EVSI "
                 "(and the delay costs nothing).")
    return "\n".join(lines)


def plot_voi(result: xr.Dataset, ax=None):
    """EVSI against the pilot's size, with EVPPI of the true effect and EVPI as horizontal
    lines (two Monte Carlo standard errors shaded). Returns the axes.

    >>> import sibsim
    >>> r = value_of_information(sibsim.load_scenario("peterborough"), draws=100, seed=1,
    ...                          pilot_sizes=(100, 1000))
    >>> plot_voi(r).get_xlabel()
    'Pilot participants'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    cur = result.attrs.get("currency", "")
    n = result["pilot_size"].values
    y, s = result["evsi"].values, result["evsi_se"].values
    (line,) = ax.plot(n, y, marker="o", label="EVSI of a pilot")
    ax.fill_between(n, y - 2 * s, y + 2 * s, color=line.get_color(), alpha=0.15, lw=0)
    levels = [("EVPI (everything, the cohort's chance included)", float(result["evpi"]), "k")]
    named = {ALL: ("EVPPI (all parameters)", "tab:purple"),
             "effect.value": ("EVPPI (true effect)", "tab:red")}
    for p, (label, colour) in named.items():
        if "evppi" in result and p in result["parameter"].values:
            levels.append((label, float(result["evppi"].sel(parameter=p)), colour))
    for label, value, colour in levels:
        ax.axhline(value, color=colour, ls="--", lw=1, label=label)
    ax.set_xscale("log")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:,.0f}"))
    ax.set_xlabel("Pilot participants")
    ax.set_ylabel(f"Expected value ({cur})")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Value of information of the decision to sign", fontsize=10)
    return ax
