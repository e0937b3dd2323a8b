"""Correlated uncertain inputs: a rank-correlation matrix applied through a Gaussian copula.

A :class:`Correlation` names uncertain inputs of a deal (the scenario's parameters, such as
``effect.value`` or ``baseline.probability``, and its uncertain money assumptions, such as
``municipality.saving_per_event``; see :mod:`sibsim.money.uncertain`) and gives their target
Spearman rank correlations. Each input keeps its own distribution (its marginal); only the
joint ranks change.

Method (Gaussian copula): for each input ``i`` a standard normal ``z_i`` is drawn per draw on
the stream keyed by ``(seed, "correlation:" + name, draw block)``, so values depend on the
seed alone and not on how the run is split into blocks. The normals are mixed with a factor
``A`` of the normal-scale correlation ``R_ij = 2 sin(pi rho_ij / 6)`` (the Pearson correlation
of a bivariate normal whose Spearman correlation is ``rho_ij``; Kruskal 1958), ``A A' = R``,
and each mixed normal is mapped to its input by ``x_i = F_i^{-1}(Phi(z_i))``. The Spearman
correlation of the inputs is then ``rho`` (for continuous marginals) and each marginal is
exactly ``F_i``. Inputs left out of the matrix are sampled independently as before.

Reference: Iman, R. L. and Conover, W. J. (1982), "A distribution-free approach to inducing
rank correlation among input variables", Communications in Statistics B 11(3): 311-334 (the
rank-correlation target); Nelsen, R. B. (2006), An Introduction to Copulas, 2nd ed., ch. 5.

Examples
--------
>>> c = Correlation(("effect.value", "municipality.saving_per_event"), ((1, -0.5), (-0.5, 1)))
>>> c.normal_matrix().round(3).tolist()
[[1.0, -0.518], [-0.518, 1.0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sibsim._lazy import stats
from sibsim.spec import _validate as v
from sibsim.spec import distributions as dist
from sibsim.spec.toml import KeyProblem, Section
from sibsim.spec.variant import Spec, param

__all__ = ["Correlation", "correlated_values", "quantile"]

#: Tolerance of the symmetry, unit-diagonal and positive semi-definiteness checks.
TOLERANCE = 1e-9


def _names(field: str, value: object) -> tuple[str, ...]:
    names = v.vector(v.label, min_len=2)(field, value)
    v.unique(field, list(names), "input names")
    return names  # type: ignore[return-value]


def _matrix(field: str, value: object) -> tuple[tuple[float, ...], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(f"{field}: got {value!r}; allowed: a square matrix (a list of rows)")
    return tuple(v.real_vector(f"{field}[{i}]", row, low=-1.0, high=1.0)
                 for i, row in enumerate(value))


@dataclass(frozen=True)
class Correlation(Spec):
    """Target Spearman rank correlations among named uncertain inputs (``[correlation]``).

    Parameters
    ----------
    inputs : sequence of str
        Names of uncertain inputs: scenario parameters (``effect.value``, ...) and money
        assumptions (``municipality.saving_per_event``, ``service_costs.per_participant``,
        ...). Each must be a one-dimensional distribution, not a fixed number.
    matrix : sequence of sequence of float
        Rank correlations, one row per input: symmetric, 1 on the diagonal, entries in
        [-1, 1], positive semi-definite (and so must be its normal-scale version).

    Examples
    --------
    >>> Correlation(("a", "b"), ((1.0, 0.3), (0.3, 1.0))).matrix[0][1]
    0.3
    >>> try:
    ...     Correlation(("a", "b"), ((1.0, 0.3), (0.2, 1.0)))
    ... except ValueError as err:
    ...     print(str(err).split(";")[0])
    Correlation.matrix[0][1]: got 0.3
    """

    inputs: tuple[str, ...] = param(_names, doc="names of uncertain inputs")
    matrix: tuple[tuple[float, ...], ...] = param(_matrix, doc="Spearman rank correlations")

    def validate(self) -> None:
        n = len(self.inputs)
        m = np.array(self.matrix, dtype=float) if all(len(r) == n for r in self.matrix) \
            else None
        if m is None or m.shape != (n, n):
            raise v.fail("Correlation.matrix", [len(r) for r in self.matrix],
                         f"{n} rows of {n} values (one per input)")
        for i in range(n):
            if abs(m[i, i] - 1.0) > TOLERANCE:
                raise v.fail(f"Correlation.matrix[{i}][{i}]", m[i, i], "1 on the diagonal")
            for j in range(i + 1, n):
                if abs(m[i, j] - m[j, i]) > TOLERANCE:
                    raise v.fail(f"Correlation.matrix[{i}][{j}]", m[i, j],
                                 f"a symmetric matrix (matrix[{j}][{i}] is {m[j, i]:g})")
        low = float(np.linalg.eigvalsh(m).min())
        if low < -TOLERANCE:
            raise v.fail("Correlation.matrix", m.tolist(), "a positive semi-definite matrix "
                         f"(its smallest eigenvalue is {low:.3g})")
        low = float(np.linalg.eigvalsh(self.normal_matrix()).min())
        if low < -TOLERANCE:
            raise v.fail("Correlation.matrix", m.tolist(), "a matrix whose normal-scale "
                         f"version 2 sin(pi r / 6) is positive semi-definite (smallest "
                         f"eigenvalue {low:.3g}); weaken the strongest correlations")

    def normal_matrix(self) -> np.ndarray:
        """The normal-scale (Pearson) correlation ``2 sin(pi rho / 6)`` of the copula."""
        return 2.0 * np.sin(np.pi * np.array(self.matrix, dtype=float) / 6.0)

    def factor(self) -> np.ndarray:
        """``A`` with ``A @ A.T`` equal to :meth:`normal_matrix` (symmetric square root, so a
        semi-definite matrix is accepted)."""
        w, vec = np.linalg.eigh(self.normal_matrix())
        return vec * np.sqrt(np.clip(w, 0.0, None))

    @classmethod
    def from_toml(cls, sec: Section, **context: object) -> Correlation:
        for key in ("inputs", "matrix"):
            if key not in sec.data:
                raise KeyProblem(sec.path(key), "this key is required")
        return super().from_toml(sec, **context)


def quantile(d: dist.Distribution, u: np.ndarray) -> np.ndarray:
    """The inverse distribution function of ``d`` at probabilities ``u`` (its marginal).

    >>> quantile(dist.Uniform(2.0, 4.0), np.array([0.25])).tolist()
    [2.5]
    """
    if isinstance(d, dist.Normal):
        return stats.norm.ppf(u, d.mu, d.sd)
    if isinstance(d, dist.LogNormal):
        return stats.lognorm.ppf(u, d.sdlog, scale=math.exp(d.meanlog))
    if isinstance(d, dist.Beta):
        return stats.beta.ppf(u, d.a, d.b)
    if isinstance(d, dist.Gamma):
        return stats.gamma.ppf(u, d.shape, scale=d.scale)
    if isinstance(d, dist.Uniform):
        return d.low + u * (d.high - d.low)
    if isinstance(d, dist.Triangular):
        width = d.high - d.low
        return stats.triang.ppf(u, (d.mode - d.low) / width, loc=d.low, scale=width)
    raise v.fail("Correlation.inputs", d.describe(), "one-dimensional distributions with a "
                 "quantile function (normal, lognormal, beta, gamma, uniform, triangular)")


def correlated_values(corr: Correlation, dists: Mapping[str, dist.Distribution], seed: int,
                      draws: np.ndarray) -> dict[str, np.ndarray]:
    """Values of the inputs ``dists`` (a subset of ``corr.inputs``) for the draws with global
    indices ``draws``, with the ranks of the copula (see the module notes)."""
    from sibsim.engine.parameters import sample_parameter

    draws = np.asarray(draws, dtype=np.int64)
    if not dists or draws.size == 0:
        return {n: np.zeros(0) for n in dists} if draws.size == 0 else {}
    lo, hi = int(draws.min()), int(draws.max()) + 1
    z = np.stack([sample_parameter(dist.Normal(0.0, 1.0), f"correlation:{name}", seed, lo, hi)
                  for name in corr.inputs], axis=1)
    if not (hi - lo == draws.size and np.all(np.diff(draws) == 1)):
        z = z[draws - lo]
    mixed = z @ corr.factor().T
    u = stats.norm.cdf(mixed)
    idx = {n: i for i, n in enumerate(corr.inputs)}
    return {name: np.asarray(quantile(d, u[:, idx[name]]), dtype=float)
            for name, d in dists.items()}


def outcome_overrides(corr: Correlation | None, scenario: object, seed: int, first_draw: int,
                      draws: int) -> dict[str, np.ndarray]:
    """Per-draw values of the scenario parameters named in ``corr``, for
    ``simulate(..., overrides=...)`` (empty when no correlation or none of them is here)."""
    if corr is None:
        return {}
    params = scenario.parameters()  # type: ignore[attr-defined]
    here = {n: params[n] for n in corr.inputs if n in params}
    return correlated_values(corr, here, seed, first_draw + np.arange(draws))
