"""The numerical range over which the engines' samplers are exact, checked before a run.

The stochastic engines draw counts with three samplers (:mod:`sibsim.engine.kernels.rng`):
binomial (inversion / BTRS), Poisson (inversion / PTRS) and gamma (Marsaglia-Tsang). Each is
exact in mean and variance only over a range, measured by ``tests/test_silent.py`` at its edges
(docs/engine.md, "Numerical range"):

* binomial: ``n`` up to :data:`~sibsim.spec._validate.MAX_PEOPLE` (1e12) people, any ``p``;
* Poisson: mean up to :data:`MAX_EXPECTED_COUNT` (1e13) events in one draw (PTRS loses the
  variance to cancellation in its acceptance test above about 1e14);
* gamma: shape from 0.001 to 1e18 (negative-binomial shape times people).

Count outcomes draw, per group of ``n`` people (arm, entry wave, stratum) and period, one Poisson
count of mean ``n x rate`` (Poisson) or ``rate / k x G``, ``G ~ Gamma(n k)`` (negative binomial
with shape ``k``). :func:`check_expected_counts` refuses, before the kernels run, sampled
parameters whose count could leave the Poisson sampler's range: ``n x rate x f(n k)`` above
:data:`MAX_EXPECTED_COUNT`, with the dispersion factor ``f(a) = max(1, q(a) / a)`` and ``q(a)``
the ``1 - 1e-12`` quantile of ``Gamma(a)`` (``f = 1`` for Poisson counts). It also refuses
negative-binomial shapes below :data:`MIN_DISPERSION`, for which the gamma mixture's mean is
carried by events too rare to sample.

Examples
--------
>>> import numpy as np
>>> sizes = np.array([[[1000]]])              # one group of 1,000 people
>>> rate = np.full((1, 2, 1, 1), 2.0)         # 2 events per person-period
>>> check_expected_counts(rate, np.array([np.inf]), sizes)   # 2,000 per period: fine
>>> check_expected_counts(rate * 1e10, np.array([np.inf]), sizes)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: expected events per group and period (Cohort.size x baseline.rate ...
"""

from __future__ import annotations

import functools

import numpy as np

from sibsim._lazy import stats
from sibsim.spec.outcomes import MIN_DISPERSION

__all__ = ["MAX_EXPECTED_COUNT", "MIN_DISPERSION", "check_expected_counts", "dispersion_factor"]

#: Largest expected count of one group (arm, entry wave, stratum) in one period, dispersion
#: included: the range over which the Poisson sampler is exact in mean and variance.
MAX_EXPECTED_COUNT = 1e13

#: Tail probability of the dispersion factor's gamma quantile.
_TAIL = 1e-12


def dispersion_factor(shape_times_people: np.ndarray) -> np.ndarray:
    """How far above its mean one gamma-Poisson mean can go: ``max(1, q(a) / a)`` with ``q(a)``
    the ``1 - 1e-12`` quantile of ``Gamma(a)``; 1 where ``a`` is infinite (Poisson).

    >>> dispersion_factor(np.array([np.inf, 1e12])).round(3).tolist()
    [1.0, 1.0]
    """
    a = np.asarray(shape_times_people, dtype=float)
    out = np.ones_like(a)
    finite = np.isfinite(a) & (a > 0)
    if finite.any():
        q = stats.gamma.isf(_TAIL, a[finite])
        out[finite] = np.maximum(1.0, q / a[finite])
    return out


@functools.lru_cache(maxsize=64)
def _smallest_shape_factor(shape: float) -> float:
    """:func:`dispersion_factor` of one shape, remembered: the break-even search checks the
    same draws' counts at every effect (a gamma quantile costs more than the check)."""
    return float(dispersion_factor(np.array([shape]))[0])


def check_expected_counts(rate: np.ndarray, nb_shape: np.ndarray, sizes: np.ndarray,
                          top_rate: np.ndarray | None = None) -> None:
    """Refuse parameters whose counts would leave the samplers' exact range.

    Parameters
    ----------
    rate : array (D, 2, K, C)
        Events per person-period, per draw, engagement, stratum and table column.
    nb_shape : array (D,)
        Negative-binomial shape per draw (``inf`` for Poisson counts).
    sizes : array (A, W, K)
        People per arm, entry wave and stratum.
    top_rate : array (D, K), optional
        ``rate.max(axis=(1, 3))``, when already known (e.g. from
        :func:`sibsim.engine.kernels.rates.rates_at_effect`).
    """
    nb = np.asarray(nb_shape, dtype=float)
    low = np.isfinite(nb) & (nb < MIN_DISPERSION)
    if low.any():
        raise ValueError(f"baseline.dispersion: sampled {nb[low][0]:g} (chunk draw "
                         f"{int(np.argmax(low))}); allowed: a negative-binomial shape of at least "
                         f"{MIN_DISPERSION:g} (smaller shapes put the mean in events too rare to "
                         "sample; narrow the distribution)")
    people = np.asarray(sizes, dtype=float).max(axis=(0, 1))  # (K,) largest group per stratum
    if top_rate is None:
        top_rate = np.asarray(rate, dtype=float).max(axis=(1, 3))  # (D, K)
    shape = people[None, :] * nb[:, None]  # (D, K)
    # the factor falls as the shape grows: its value at the smallest shape bounds every draw's,
    # so the per-draw gamma quantiles (slow) are needed only when that bound could fail
    finite = shape[np.isfinite(shape) & (shape > 0)]
    bound = _smallest_shape_factor(float(finite.min())) if finite.size else 1.0
    if np.all(people[None, :] * top_rate * bound <= MAX_EXPECTED_COUNT):
        return
    factor = dispersion_factor(shape)
    count = people[None, :] * top_rate * factor
    bad = ~(count <= MAX_EXPECTED_COUNT)
    if bad.any():
        d, k = (int(i) for i in np.argwhere(bad)[0])
        disp = f" x dispersion factor {factor[d, k]:.3g}" if factor[d, k] > 1 else ""
        raise ValueError(
            f"expected events per group and period (Cohort.size x baseline.rate x profile x "
            f"effect{' x dispersion' if disp else ''}): {people[k]:,.0f} people x "
            f"{top_rate[d, k]:.6g} events per person-period{disp} = {count[d, k]:.3g} "
            f"(chunk draw {d}, stratum {k}); allowed: at most {MAX_EXPECTED_COUNT:g}, the range "
            "over which the count samplers are exact (docs/engine.md, 'Numerical range'): "
            "split the cohort into entry waves or strata, or lower the rate")
