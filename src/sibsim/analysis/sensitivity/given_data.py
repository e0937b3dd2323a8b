"""First-order variance-based sensitivity indices from the draws already made (given data).

The first-order (main-effect) index of input ``X_i`` for output ``Y`` is

    S_i = Var(E[Y | X_i]) / Var(Y),

the share of the output's variance that knowing ``X_i`` alone would remove. From ``N`` draws
``(x_i, y)`` already made, it is estimated without new runs by partitioning the draws into
``M`` bins of equal count by the quantiles of ``X_i`` and taking the between-bin share of the
sum of squares (the correlation ratio of the one-way analysis of variance),

    eta^2 = sum_m n_m (ybar_m - ybar)^2 / sum_n (y_n - ybar)^2,

corrected for the bias it has when ``X_i`` is irrelevant (then ``E[eta^2] = (M - 1)/(N - 1)``)
as the adjusted ratio ``S_i = 1 - (1 - eta^2) (N - 1) / (N - M)`` (expectation ~0 for an input
independent of the output). ``M`` is ``round(sqrt(N))`` clipped to [2, 50] (Plischke 2010).
The standard error is from a bootstrap over draws.

References: Plischke, E. (2010), "An effective algorithm for computing global sensitivity
indices (EASI)", Reliability Engineering & System Safety 95(4): 354-360; Strong, M., Oakley,
J. E. and Brennan, A. (2014), "Estimating multiparameter partial expected value of perfect
information from a probabilistic sensitivity analysis sample: a nonparametric regression
approach", Medical Decision Making 34(3): 311-326 (the same conditional-expectation idea);
Plischke, E., Borgonovo, E. and Smith, C. L. (2013), "Global sensitivity measures from given
data", European Journal of Operational Research 226(3): 536-550.

Examples
--------
Ishigami function, whose first-order indices are known in closed form (0.314, 0.442, 0):

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(-np.pi, np.pi, (20_000, 3))
>>> y = np.sin(X[:, 0]) + 7 * np.sin(X[:, 1])**2 + 0.1 * X[:, 2]**4 * np.sin(X[:, 0])
>>> S, se = first_order(X, y, bootstrap=0)
>>> S[:2].round(2).tolist(), bool(abs(S[2]) < 0.01)
([0.31, 0.44], True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from sibsim.analysis.sensitivity._common import PER_DRAW, per_draw_outputs, results_inputs
from sibsim.spec import _validate as v

__all__ = ["first_order", "given_data", "run"]


def _bins(x: np.ndarray, m: int) -> np.ndarray:
    """Bin index (0..m-1) of each value: equal-count bins by rank (ties broken by order)."""
    ranks = np.empty(x.size, dtype=np.int64)
    ranks[np.argsort(x, kind="stable")] = np.arange(x.size)
    return (ranks * m) // x.size


def _eta(bins: np.ndarray, y: np.ndarray, m: int) -> float:
    n = np.bincount(bins, minlength=m).astype(float)
    s = np.bincount(bins, weights=y, minlength=m)
    total = ((y - y.mean()) ** 2).sum()
    if total <= 0:
        return np.nan
    keep = n > 0
    between = (s[keep] ** 2 / n[keep]).sum() - y.sum() ** 2 / y.size
    return float(between / total)


def _adjusted(eta: float, n: int, m: int) -> float:
    return 1.0 - (1.0 - eta) * (n - 1) / (n - m)


def first_order(X: np.ndarray, y: np.ndarray, *, bins: int | None = None,
                bootstrap: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """First-order indices of the columns of ``X`` (N, k) for ``y`` (N,), and their
    bootstrap standard errors (NaN with ``bootstrap=0``). Draws where ``y`` is NaN are left
    out."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y)
    X, y = X[ok], y[ok]
    N, k = X.shape
    if N < 20:
        raise v.fail("given_data.draws", N, "at least 20 draws with a finite output")
    m = int(np.clip(round(np.sqrt(N)), 2, 50)) if bins is None else v.integer(2)("bins", bins)
    idx = [_bins(X[:, i], m) for i in range(k)]
    S = np.array([_adjusted(_eta(b, y, m), N, m) for b in idx])
    se = np.full(k, np.nan)
    if bootstrap:
        rng = np.random.default_rng(seed)
        boot = np.empty((bootstrap, k))
        for r in range(bootstrap):
            pick = rng.integers(0, N, N)
            yb = y[pick]
            for i in range(k):  # bins kept from the full sample (the estimator's partition)
                boot[r, i] = _adjusted(_eta(idx[i][pick], yb, m), N, m)
        se = boot.std(axis=0, ddof=1)
    return S, se


def given_data(results: Any, outputs: Sequence[str] | None = None, *,
               bins: int | None = None, bootstrap: int = 200, seed: int = 0) -> xr.Dataset:
    """First-order indices of every uncertain input of a run, from its draws (no new runs).

    Parameters
    ----------
    results : SIBResults
        From :func:`sibsim.analyse` of a deal with uncertain inputs.
    outputs : sequence of str, optional
        Per-draw outputs: ``investor_irr``, ``investor_loss``, ``commissioner_npv``,
        ``commissioner_net_loss`` (default: all).

    Returns
    -------
    xarray.Dataset
        ``first_order (output, input)`` and ``standard_error (output, input)``.
    """
    names, X = results_inputs(results)
    if not names:
        raise v.fail("given_data.results", "no uncertain inputs",
                     "a run with uncertain inputs (distributions)")
    ys = per_draw_outputs(results.money)
    outs = list(PER_DRAW) if outputs is None else list(outputs)
    for o in outs:
        if o not in ys:
            raise v.fail("given_data.outputs", o, "one of " + ", ".join(ys))
    S = np.full((len(outs), len(names)), np.nan)
    se = np.full_like(S, np.nan)
    for j, o in enumerate(outs):
        y = ys[o]
        if np.nanstd(y) > 0:
            S[j], se[j] = first_order(X, y, bins=bins, bootstrap=bootstrap, seed=seed)
    return xr.Dataset(
        {"first_order": (("output", "input"), S, {
            "units": "fraction", "description": "First-order index Var(E[Y|X_i]) / Var(Y), "
            "given-data estimate (equal-count bins, bias-adjusted); NaN where the output "
            "does not vary"}),
         "standard_error": (("output", "input"), se, {
             "units": "fraction", "description": "Bootstrap standard error"})},
        coords={"output": outs, "input": names},
        attrs={"method": "given data (binned correlation ratio)",
               "draws": int(results.money.sizes["draw"])})


def run(deal: Any = None, *, results: Any = None, draws: int = 2000, seed: int = 0,
        **kwargs: Any) -> xr.Dataset:
    """Entry point for :func:`sibsim.sensitivity` (``method="given_data"``): from ``results``,
    or from a run of ``deal``."""
    if results is None:
        from sibsim.report import analyse

        results = analyse(deal, draws=draws, seed=seed, progress=False, with_breakeven=False)
    return given_data(results, **kwargs)
