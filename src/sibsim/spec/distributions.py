"""Parameter distributions for probabilistic sensitivity analysis.

Each uncertain input of a scenario is a :class:`Distribution`, sampled once per Monte Carlo
*draw* (the outer loop of a probabilistic sensitivity analysis). Distributions are immutable and
validated at construction; natural alternative parameterisations (mean and standard deviation) are
available as ``from_mean_sd`` class methods.

Every distribution knows its ``support`` so that a scenario can refuse, at construction, a
distribution that could put a probability outside [0, 1] or a rate below zero.

Examples
--------
>>> import numpy as np
>>> rr = LogNormal.from_mean_sd(0.9, 0.05)
>>> round(rr.mean, 6)
0.9
>>> rr.sample(np.random.default_rng(0), 3).shape
(3,)
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sibsim.spec import _validate as v

__all__ = [
    "Beta",
    "Dirichlet",
    "Distribution",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Normal",
    "Triangular",
    "Uniform",
    "as_distribution",
    "require_support",
    "within",
]


class Distribution(ABC):
    """Base class: a distribution of one (or, for :class:`Dirichlet`, several) parameters."""

    kind: ClassVar[str] = "distribution"
    #: ``sample(rng, m)`` is the first ``m`` rows of ``sample(rng, n)`` for any ``m <= n`` on
    #: generators in the same state (each value drawn in turn from the stream, as numpy's
    #: element-wise samplers do): the parameter sampler then draws only the part of a block of
    #: draws that a run reaches (:func:`sibsim.engine.parameters.sample_parameter`). False: it
    #: always draws whole blocks. Tested for every distribution that says True
    #: (tests/test_sampling_prefix.py).
    prefix_stable: ClassVar[bool] = False

    @property
    def size(self) -> int:
        """Number of components in one sample (1 except for :class:`Dirichlet`)."""
        return 1

    @property
    @abstractmethod
    def mean(self) -> float:
        """Mean of the distribution."""

    @property
    @abstractmethod
    def support(self) -> tuple[float, float]:
        """Smallest interval ``(low, high)`` that holds every possible value."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (shape ``(n,)``, or ``(n, size)`` for a Dirichlet)."""

    def describe(self) -> str:
        names = [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in names)
        return f"{self.kind}({fields})"


@dataclass(frozen=True)
class Fixed(Distribution):
    """A known value (no uncertainty)."""

    value: float
    kind: ClassVar[str] = "fixed"
    prefix_stable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", v.real("Fixed.value", self.value))

    @property
    def mean(self) -> float:
        return self.value

    @property
    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal distribution with ``mean`` and standard deviation ``sd`` (sd >= 0)."""

    mu: float
    sd: float
    kind: ClassVar[str] = "normal"
    prefix_stable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "mu", v.real("Normal.mean", self.mu, low=-1e300, high=1e300))
        object.__setattr__(self, "sd", v.real("Normal.sd", self.sd, low=0.0, high=1e300))

    @property
    def mean(self) -> float:
        return self.mu

    @property
    def support(self) -> tuple[float, float]:
        if self.sd == 0:
            return (self.mu, self.mu)
        return (-math.inf, math.inf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(self.mu, self.sd, n)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Log-normal: ``log(X) ~ Normal(meanlog, sdlog)``.

    Use :meth:`from_mean_sd` to give the mean and sd of ``X`` itself (e.g. a relative risk).
    """

    meanlog: float
    sdlog: float
    kind: ClassVar[str] = "lognormal"
    prefix_stable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "meanlog", v.real("LogNormal.meanlog", self.meanlog,
                                                   low=-300.0, high=300.0))
        object.__setattr__(self, "sdlog", v.real("LogNormal.sdlog", self.sdlog, low=0.0,
                                                 high=10.0))

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float) -> LogNormal:
        m = v.real("LogNormal.mean", mean, low=1e-300, high=1e300)
        s = v.real("LogNormal.sd", sd, low=0.0, high=1e300)
        cv = s / m
        sdlog2 = math.log1p(cv * cv) if cv < 1e150 else 2 * math.log(cv)
        return cls(math.log(m) - sdlog2 / 2, math.sqrt(sdlog2))

    @property
    def mean(self) -> float:
        return math.exp(self.meanlog + self.sdlog**2 / 2)

    @property
    def support(self) -> tuple[float, float]:
        if self.sdlog == 0:
            return (math.exp(self.meanlog),) * 2
        return (0.0, math.inf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(self.meanlog, self.sdlog, n)


@dataclass(frozen=True)
class Beta(Distribution):
    """Beta(a, b) on [0, 1], for probabilities; see :meth:`from_mean_sd`."""

    a: float
    b: float
    kind: ClassVar[str] = "beta"
    prefix_stable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", v.real("Beta.a", self.a, low=1e-3, high=1e10))
        object.__setattr__(self, "b", v.real("Beta.b", self.b, low=1e-3, high=1e10))

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float) -> Beta:
        # a Beta distribution is of a fraction: a mean of 90 means 90% (the message says so)
        m = v.fraction(0.0, 1.0, low_open=True, high_open=True)("Beta.mean", mean)
        s = v.fraction(1e-100, 1.0)("Beta.sd", sd)
        if s**2 >= m * (1 - m):
            raise v.fail("Beta.sd", sd, f"sd < sqrt(mean*(1-mean)) = {math.sqrt(m * (1 - m)):.6g}")
        k = m * (1 - m) / s**2 - 1
        return cls(m * k, (1 - m) * k)

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.beta(self.a, self.b, n)


@dataclass(frozen=True)
class Gamma(Distribution):
    """Gamma with ``shape`` and ``scale`` (mean = shape * scale); see :meth:`from_mean_sd`."""

    shape: float
    scale: float
    kind: ClassVar[str] = "gamma"
    prefix_stable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", v.real("Gamma.shape", self.shape, low=1e-3, high=1e10))
        object.__setattr__(self, "scale", v.real("Gamma.scale", self.scale, low=1e-100,
                                                 high=1e100))

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float) -> Gamma:
        m = v.real("Gamma.mean", mean, low=1e-100, high=1e100)
        s = v.real("Gamma.sd", sd, low=1e-100, high=1e100)
        return cls((m / s) ** 2, (s / m) * s)

    @property
    def mean(self) -> float:
        return self.shape * self.scale

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(self.shape, self.scale, n)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on [low, high]."""

    low: float
    high: float
    kind: ClassVar[str] = "uniform"
    prefix_stable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        lo = v.real("Uniform.low", self.low, low=-1e300, high=1e300)
        hi = v.real("Uniform.high", self.high, low=-1e300, high=1e300)
        if hi < lo:
            raise v.fail("Uniform.high", self.high, f"a number >= low ({lo:g})")
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "high", hi)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


@dataclass(frozen=True)
class Triangular(Distribution):
    """Triangular on [low, high] with peak at ``mode``."""

    low: float
    mode: float
    high: float
    kind: ClassVar[str] = "triangular"
    prefix_stable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        lo = v.real("Triangular.low", self.low, low=-1e300, high=1e300)
        hi = v.real("Triangular.high", self.high, low=-1e300, high=1e300)
        mo = v.real("Triangular.mode", self.mode, low=lo, high=max(lo, hi))
        if hi <= lo:
            raise v.fail("Triangular.high", self.high, f"a number > low ({lo:g})")
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "mode", mo)
        object.__setattr__(self, "high", hi)

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, n)


@dataclass(frozen=True)
class Dirichlet(Distribution):
    """Dirichlet over a row of probabilities (e.g. one row of a transition matrix).

    Use :meth:`from_mean` with a mean row and a concentration (the sum of the alphas, an
    "effective sample size": larger means less uncertainty).
    """

    alpha: tuple[float, ...]
    kind: ClassVar[str] = "dirichlet"
    prefix_stable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        alpha = v.real_vector("Dirichlet.alpha", self.alpha, low=0.0, high=1e10)
        # zero entries are allowed and mean a structural zero (that transition never happens)
        if all(a == 0 for a in alpha) or any(0 < a < 1e-3 for a in alpha):
            raise v.fail("Dirichlet.alpha", self.alpha,
                         "alphas of 0 (a structural zero) or in [0.001, 1e10], not all 0")
        object.__setattr__(self, "alpha", alpha)

    @classmethod
    def from_mean(cls, mean: tuple[float, ...], concentration: float) -> Dirichlet:
        m = v.real_vector("Dirichlet.mean", mean, low=0.0, high=1.0)
        if abs(sum(m) - 1.0) > 1e-9:
            raise v.fail("Dirichlet.mean", mean, "probabilities summing to 1 within 1e-9")
        c = v.real("Dirichlet.concentration", concentration, low=1e-3, high=1e10)
        return cls(tuple(x * c for x in m))

    @property
    def size(self) -> int:
        return len(self.alpha)

    @property
    def mean(self) -> float:
        raise TypeError("Dirichlet has a mean row, see mean_row")

    @property
    def mean_row(self) -> tuple[float, ...]:
        total = sum(self.alpha)
        return tuple(a / total for a in self.alpha)

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        alpha = np.asarray(self.alpha)
        pos = alpha > 0
        # gamma draws normalised; structural zeros stay exactly zero. ``standard_gamma`` draws
        # the same numbers as ``gamma(alpha, 1.0)`` (numpy multiplies those by the scale 1.0)
        if pos.all():
            g = rng.standard_gamma(alpha, (n, alpha.size))
            return g / g.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]
        out = np.zeros((n, alpha.size))
        g = rng.standard_gamma(alpha[pos], (n, int(pos.sum())))
        out[:, pos] = g / g.sum(axis=1, keepdims=True)
        return out


def as_distribution(field: str, value: object) -> Distribution:
    """Accept a plain number (a :class:`Fixed` value) or a :class:`Distribution`."""
    if isinstance(value, Distribution):
        return value
    return Fixed(v.real(field, value))


def require_support(field: str, dist: Distribution, low: float, high: float,
                    what: str) -> Distribution:
    """Refuse a distribution that can take values outside ``[low, high]``."""
    lo, hi = dist.support
    if lo < low or hi > high:
        raise v.fail(field, dist.describe(),
                     f"{what}: a distribution whose values lie in [{low:g}, {high:g}] "
                     f"(this one ranges over [{lo:g}, {hi:g}])")
    return dist


class _Within(v.Constraint):
    def __init__(self, low: float, high: float, what: str, percent_hint: bool) -> None:
        self.low, self.high, self.what, self.percent_hint = low, high, what, percent_hint
        self.description = f"{what}: a number or a distribution with values in [{low:g}, {high:g}]"

    def __call__(self, field: str, value: object) -> Distribution:
        dist = as_distribution(field, value)
        try:
            return require_support(field, dist, self.low, self.high, self.what)
        except ValueError:
            if not self.percent_hint:
                raise
            if not isinstance(value, Distribution):
                x = float(value)  # type: ignore[arg-type]
                if 1.0 < abs(x) <= 100.0 and self.low <= x / 100 <= self.high:
                    raise v.fail(field, value, f"{self.what} in [{self.low:g}, {self.high:g}], "
                                 f"a fraction: write {x / 100:g} for {x:g}%") from None
                raise
            lo, hi = dist.support
            if 1.0 < hi <= 100.0 and self.low <= lo / 100 and hi / 100 <= self.high:
                # a distribution given in percent (uniform 80 to 95 meant as 80% to 95%)
                raise v.fail(field, dist.describe(),
                             f"{self.what}: a distribution whose values lie in [{self.low:g}, "
                             f"{self.high:g}] (this one ranges over [{lo:g}, {hi:g}]), a "
                             f"fraction: divide its values by 100 (write {hi / 100:g} for "
                             f"{hi:g}%)") from None
            raise


def within(low: float, high: float, what: str, *, fraction: bool = False) -> v.Constraint:
    """Declared constraint: a number or :class:`Distribution` whose support lies in [low, high].

    The value is stored as a :class:`Distribution` (a plain number becomes :class:`Fixed`).
    ``what`` names the quantity in messages ("a probability"). With ``fraction=True`` a plain
    number that only makes sense as a percentage (``30`` meant as 30%) is refused with a message
    that suggests the fraction.

    >>> within(0.0, 1.0, "a probability")("p", 0.3)
    Fixed(value=0.3)
    """
    return _Within(low, high, what, fraction)
