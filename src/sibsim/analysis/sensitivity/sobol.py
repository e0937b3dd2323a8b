"""Sobol indices of the money chain through :func:`scipy.stats.sobol_indices`.

The uncertain *money* assumptions of a deal (savings rates, service costs, other costs) and
the evaluations' uncertain inputs (a matched comparison's bias, a historical rate, a money
metric's value: :mod:`sibsim.money.evaluation_inputs`) are sampled by scipy's Saltelli design
(``n`` base points, ``n (k + 2)`` evaluations for ``k`` inputs); at each point every input is
set to the point's value in every draw of one fixed set of outcome draws (common random
numbers), the evaluations and the money chain are run again (the outcome draws are not), and
the output is the summary over those draws (e.g. the investors' mean IRR). The first-order and
total indices are then those of that summary as a function of the inputs (Saltelli et al. 2010
estimators, as implemented by scipy). Scenario parameters are not varied here (each point
would need a new simulation): use the given-data indices for them.

Reference: Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. and Tarantola, S.
(2010), "Variance based sensitivity analysis of model output. Design and estimator for the
total sensitivity index", Computer Physics Communications 181(2): 259-270; scipy's
``scipy.stats.sobol_indices`` (SciPy 1.11+).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from sibsim._lazy import stats
from sibsim.analysis.sensitivity._common import Chain, check_output
from sibsim.money.deal import Deal
from sibsim.money.evaluation_inputs import evaluation_inputs
from sibsim.money.uncertain import money_parameters
from sibsim.spec import _validate as v
from sibsim.spec.correlation import quantile

__all__ = ["run", "sobol", "sobol_indices"]


class _Marginal:
    """A distribution as scipy's ``sobol_indices`` wants it (a ``ppf`` method)."""

    def __init__(self, dist: Any) -> None:
        self.dist = dist

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return quantile(self.dist, np.asarray(u, dtype=float))


def sobol_indices(func: Callable[[np.ndarray], np.ndarray], dists: Sequence[Any], *, n: int,
                  seed: int = 0, bootstrap: int = 0) -> dict[str, np.ndarray]:
    """First-order and total Sobol indices of ``func`` (k, m) -> (m,) over inputs with
    marginals ``dists`` (scipy frozen distributions or sibsim distributions), through
    :func:`scipy.stats.sobol_indices`. ``n`` is a power of two.

    Returns ``{"first_order": (k,), "total_order": (k,)}`` and, with ``bootstrap``, the
    95% bootstrap interval ``"first_order_low"``, ``"first_order_high"``.

    >>> from scipy import stats
    >>> f = lambda x: x[0] + 2 * x[1]   # S = (1/5, 4/5) for independent standard normals
    >>> out = sobol_indices(f, [stats.norm(), stats.norm()], n=1024, seed=1)
    >>> out["first_order"].round(1).tolist()
    [0.2, 0.8]
    """
    n = v.integer(8)("n", n)
    if n & (n - 1):
        raise v.fail("sobol.n", n, "a power of two (scipy's Sobol' sequence)")
    margs = [d if hasattr(d, "ppf") else _Marginal(d) for d in dists]
    k = len(margs)
    if k == 1:
        # scipy's estimator fails on one input (it assigns into a scalar index, SciPy 1.17):
        # a second input the function ignores is added, and its indices (0) dropped
        margs = [*margs, stats.uniform()]
        one = func
        func = lambda x: one(x[:1])  # noqa: E731
    try:  # SciPy >= 1.15 names the generator ``rng``; 1.11-1.14 ``random_state``
        res = stats.sobol_indices(func=func, n=n, dists=margs, rng=np.random.default_rng(seed))
    except TypeError as e:
        if "rng" not in str(e):
            raise
        res = stats.sobol_indices(func=func, n=n, dists=margs,
                                  random_state=np.random.default_rng(seed))
    out = {"first_order": np.asarray(res.first_order, dtype=float)[:k],
           "total_order": np.asarray(res.total_order, dtype=float)[:k]}
    if bootstrap:
        ci = res.bootstrap(n_resamples=bootstrap).first_order.confidence_interval
        out["first_order_low"] = np.asarray(ci.low, dtype=float)[:k]
        out["first_order_high"] = np.asarray(ci.high, dtype=float)[:k]
    return out


def sobol(deal: Deal, output: str = "investor_mean_irr", *, draws: int = 200, seed: int = 0,
          n: int = 32, inputs: Sequence[str] | None = None, engine: str = "auto") -> xr.Dataset:
    """Sobol indices of ``output`` for the deal's uncertain money assumptions.

    Parameters
    ----------
    deal : Deal
        A priced deal with at least one uncertain money assumption or evaluation input.
    output : str
        A summary output (see :func:`sibsim.analysis.sensitivity.tornado.tornado`).
    draws : int
        Outcome draws over which the output is summarised at each point.
    n : int
        Base sample size (a power of two); the money chain runs ``n (k + 2)`` times
        (``4 n`` for one input: scipy needs two, and a second that changes nothing is added).
    inputs : sequence of str, optional
        Money assumptions and evaluation inputs (default: all of them).

    Returns
    -------
    xarray.Dataset
        ``first_order (input)`` and ``total_order (input)``.
    """
    check_output(output)
    known = {**money_parameters(deal), **evaluation_inputs(deal.evaluations)}
    names = list(known) if inputs is None else list(inputs)
    for name in names:
        if name not in known:
            raise v.fail("sobol.inputs", name, "uncertain money assumptions and evaluation "
                         "inputs of the deal: " + (", ".join(known) or "none") + " (scenario "
                         "parameters: use method='given_data')")
    if not names:
        raise v.fail("sobol.inputs", names, "at least one uncertain money assumption or "
                     "evaluation input")
    chain = Chain(deal, v.positive_int("draws", draws), int(seed), engine)

    def func(x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape[1])
        for j in range(x.shape[1]):
            out[j] = chain.output({nm: np.full(draws, x[i, j]) for i, nm in enumerate(names)},
                                  output)
        return out

    res = sobol_indices(func, [known[nm] for nm in names], n=n, seed=int(seed))
    return xr.Dataset(
        {"first_order": (("input",), res["first_order"], {
            "units": "fraction", "description": "First-order Sobol index (scipy)"}),
         "total_order": (("input",), res["total_order"], {
             "units": "fraction", "description": "Total-order Sobol index (scipy)"})},
        coords={"input": names},
        attrs={"output": output, "method": "sobol (scipy.stats.sobol_indices)", "n": n,
               "draws": draws, "seed": int(seed),
               # scipy's design: n (k + 2) runs, k at least 2 (sobol_indices adds an ignored
               # second input to one)
               "evaluations": n * (max(len(names), 2) + 2)})


def run(deal: Deal, **kwargs: Any) -> xr.Dataset:
    """Entry point for :func:`sibsim.sensitivity` (``method="sobol"``)."""
    return sobol(deal, **kwargs)
