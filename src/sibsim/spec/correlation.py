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

A factor shared with other deals (``common``, ``common_seed``): an input may also load on one
standard normal ``c`` per draw drawn on the stream keyed by ``(common_seed, "correlation:common",
draw block)``, a seed of its own, so that every deal naming the same ``common_seed`` sees the
same ``c`` in draw ``d``, whatever its own seed. The input's normal becomes ``l c + sqrt(1 -
l^2) z_i`` (``l`` its loading, ``z_i`` its normal above): its marginal is unchanged, and two
inputs loading ``l1`` and ``l2`` on the same factor, in one deal or in two, have the
normal-scale correlation ``l1 l2`` (a rank correlation of ``(6 / pi) asin(l1 l2 / 2)``). A
portfolio of deals (:mod:`sibsim.portfolio`) uses it for effects with a common cause.

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
    names = v.vector(v.label, min_len=0)(field, value)
    v.unique(field, list(names), "input names")
    return names  # type: ignore[return-value]


class _Loadings(v.Constraint):
    """A table ``{input = loading in [-1, 1]}``."""

    description = "a table {input = loading in [-1, 1]}"

    def __call__(self, field: str, value: object) -> dict[str, float]:
        if not isinstance(value, Mapping):
            raise TypeError(f"{field}: got {value!r}; allowed: {self.description}")
        return {v.name(f"{field} key", k): v.real(f"{field}[{k}]", x, low=-1.0, high=1.0)
                for k, x in value.items()}


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
        [-1, 1], positive semi-definite (and so must be its normal-scale version). At least
        two inputs, unless the correlation is a ``common`` factor only.
    common : mapping of str to float
        Loadings in [-1, 1] of uncertain inputs on a factor shared with other deals (the
        module's notes): the normal-scale correlation of the input with the factor.
    common_seed : int, optional
        The shared factor's seed: deals naming the same one share its draws. Required with
        ``common``.

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

    inputs: tuple[str, ...] = param(_names, default=(), doc="names of uncertain inputs")
    matrix: tuple[tuple[float, ...], ...] = param(_matrix, default=(),
                                                  doc="Spearman rank correlations")
    common: dict[str, float] = param(_Loadings(), default_factory=dict,
                                     doc="loadings on a factor shared with other deals")
    common_seed: int | None = param(v.optional(v.integer(0)), default=None,
                                    doc="the shared factor's seed")

    def __hash__(self) -> int:  # ``common`` is a dict: hashed by its items
        return hash((self.inputs, self.matrix, tuple(sorted(self.common.items())),
                     self.common_seed))

    @property
    def names(self) -> tuple[str, ...]:
        """Every input the correlation ties: the matrix's, then those only on the common
        factor."""
        return self.inputs + tuple(n for n in self.common if n not in self.inputs)

    def validate(self) -> None:
        if self.common and self.common_seed is None:
            raise v.fail("Correlation.common_seed", None, "the seed of the shared factor (an "
                         "integer >= 0), with common")
        if self.common_seed is not None and not self.common:
            raise v.fail("Correlation.common", {}, "loadings on the shared factor, with "
                         "common_seed")
        if len(self.inputs) == 1 or (not self.inputs and not self.common):
            raise v.fail("Correlation.inputs", self.inputs, "at least 2 value(s), or a "
                         "common factor")
        n = len(self.inputs)
        if n == 0:  # a common factor only
            if self.matrix:
                raise v.fail("Correlation.matrix", [len(r) for r in self.matrix],
                             "no rows (no inputs)")
            return
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
        keys = ("inputs", "matrix") if "inputs" in sec.data or "common" not in sec.data \
            else ()
        for key in keys:
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
    whole = hi - lo == draws.size and bool(np.all(np.diff(draws) == 1))

    def normal(name: str, stream_seed: int) -> np.ndarray:
        z = sample_parameter(dist.Normal(0.0, 1.0), name, stream_seed, lo, hi)
        return z if whole else z[draws - lo]

    mixed = {}
    if corr.inputs:
        z = np.stack([normal(f"correlation:{name}", seed) for name in corr.inputs], axis=1)
        both = z @ corr.factor().T
        mixed = {n: both[:, i] for i, n in enumerate(corr.inputs)}
    if corr.common:
        c = normal("correlation:common", int(corr.common_seed))  # type: ignore[arg-type]
        for name, load in corr.common.items():
            own = mixed[name] if name in mixed else normal(f"correlation:{name}", seed)
            mixed[name] = load * c + math.sqrt(1.0 - load * load) * own
    return {name: np.asarray(quantile(d, stats.norm.cdf(mixed[name])), dtype=float)
            for name, d in dists.items()}


def outcome_overrides(corr: Correlation | None, scenario: object, seed: int, first_draw: int,
                      draws: int) -> dict[str, np.ndarray]:
    """Per-draw values of the scenario parameters named in ``corr``, for
    ``simulate(..., overrides=...)`` (empty when no correlation or none of them is here)."""
    if corr is None:
        return {}
    params = scenario.parameters()  # type: ignore[attr-defined]
    here = {n: params[n] for n in corr.names if n in params}
    return correlated_values(corr, here, seed, first_draw + np.arange(draws))
