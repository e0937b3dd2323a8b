"""Counter-keyed random streams for the numba kernels.

Every block of individuals (at most :data:`BLOCK` people) gets its own xoroshiro128+ stream whose
state is derived, through splitmix64, from the key ``(seed, draw, arm, wave, stratum, block)``.
A result therefore depends on the seed alone: not on the number of threads, the order in which
blocks run or how the draws are split into chunks.

All functions are pure: they take the two state words and return the new state with the value,
so the state lives in registers inside the hot loops (no Python objects, no allocation).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

#: Individuals per random-number block. Part of the reproducibility contract: changing it changes
#: results for a given seed.
BLOCK = 4096

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO53 = 1.0 / 9007199254740992.0


@njit(inline="always", cache=True)
def splitmix64(x):
    """One splitmix64 step: a bijective 64-bit mix (Steele, Lea & Flood 2014)."""
    z = x + _GOLDEN
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(cache=True)
def stream_key(seed, a, b, c, d, e):
    """Hash a key of six non-negative integers to a 64-bit stream key."""
    h = splitmix64(uint64(seed))
    h = splitmix64(h ^ uint64(a))
    h = splitmix64(h ^ uint64(b))
    h = splitmix64(h ^ uint64(c))
    h = splitmix64(h ^ uint64(d))
    return splitmix64(h ^ uint64(e))


@njit(cache=True)
def stream_state(seed, a, b, c, d, e):
    """Initial xoroshiro128+ state ``(s0, s1)`` for a keyed stream (never all zero)."""
    k = stream_key(seed, a, b, c, d, e)
    s0 = splitmix64(k)
    s1 = splitmix64(s0)
    if s0 == uint64(0) and s1 == uint64(0):  # pragma: no cover - probability 2**-128
        s1 = _GOLDEN
    return s0, s1


@njit(inline="always", cache=True)
def group_of(task, A, W, K):
    """``(draw, arm, wave, stratum)`` of a flat task index (draw-major order)."""
    d = task // (A * W * K)
    rest = task % (A * W * K)
    return d, rest // (W * K), (rest // K) % W, rest % K


@njit(inline="always", cache=True)
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(inline="always", cache=True)
def next_u64(s0, s1):
    """xoroshiro128+ (Blackman & Vigna 2018, parameters 24/16/37)."""
    result = s0 + s1
    s1 ^= s0
    s0 = _rotl(s0, 24) ^ s1 ^ (s1 << uint64(16))
    s1 = _rotl(s1, 37)
    return s0, s1, result


@njit(inline="always", cache=True)
def uniform(s0, s1):
    """A double in [0, 1) with 53 random bits."""
    s0, s1, r = next_u64(s0, s1)
    return s0, s1, float(r >> uint64(11)) * _TWO53


@njit(cache=True)
def normal(s0, s1):
    """A standard normal variate (Box-Muller, one value per call)."""
    s0, s1, u1 = uniform(s0, s1)
    s0, s1, u2 = uniform(s0, s1)
    return s0, s1, np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def gamma(s0, s1, shape):
    """A Gamma(shape, scale=1) variate (Marsaglia & Tsang 2000; boosted for shape < 1).

    The proposal ``d (1 + c x)**3`` is kept as ``d + d y`` with ``y = (1 + c x)**3 - 1``
    computed directly, and the acceptance test as ``d (log1p(y) - y)``, so that neither loses
    the fluctuation (of relative size ``1 / sqrt(shape)``) to cancellation: exact in mean and
    variance from ``shape = 0.001`` to ``1e18`` (see docs/engine.md, "Numerical range").
    """
    boost = 1.0
    a = shape
    if a < 1.0:
        s0, s1, u = uniform(s0, s1)
        boost = (1.0 - u) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    for _ in range(1000):
        s0, s1, x = normal(s0, s1)
        cx = c * x
        if cx <= -1.0:
            continue
        y = cx * (3.0 + cx * (3.0 + cx))  # (1 + cx)**3 - 1
        s0, s1, u = uniform(s0, s1)
        if np.log(1.0 - u) < 0.5 * x * x + d * (math.log1p(y) - y):
            return s0, s1, (d + d * y) * boost
    return s0, s1, d * boost  # pragma: no cover - acceptance probability > 0.95 per try


@njit(cache=True)
def poisson_inverse(u, lam):
    """Poisson(lam) by inversion of a given uniform ``u`` (monotone in ``lam`` for fixed ``u``).

    Exact for ``lam <= 500``; above that a rounded normal approximation is used (far beyond any
    per-person, per-period rate met in practice). The search is bounded, so it never hangs.
    """
    if lam <= 0.0:
        return 0
    if lam > 500.0:
        z = _norm_ppf(u)
        x = np.floor(lam + np.sqrt(lam) * z + 0.5)
        return np.int64(x) if x > 0 else 0
    p = np.exp(-lam)
    f = p
    x = 0
    limit = int(lam + 40.0 * np.sqrt(lam) + 40.0)
    while u > f and x < limit:
        x += 1
        p *= lam / x
        f += p
    return x


#: Largest Poisson mean the PTRS sampler takes: above it (outside the validated range, see
#: :data:`sibsim.engine.ranges.MAX_EXPECTED_COUNT`) a rounded normal variate with the same mean
#: and variance, clipped to ``[0, 4e18]``, keeps every count finite and >= 0.
POISSON_PTRS_MAX = 1e15


@njit(cache=True)
def poisson(s0, s1, lam):
    """A Poisson(lam) variate: inversion below 10, else PTRS transformed rejection
    (Hoermann 1993, as in numpy). Exact in mean and variance up to ``lam = 1e13`` (the
    validated range); never negative."""
    if lam < 10.0:
        s0, s1, u = uniform(s0, s1)
        return s0, s1, poisson_inverse(u, lam)
    if not lam <= POISSON_PTRS_MAX:  # also NaN: a guard, refused before any run
        s0, s1, z = normal(s0, s1)
        x = math.floor(lam + math.sqrt(lam) * z + 0.5) if lam < 4e18 else 4e18
        return s0, s1, np.int64(min(max(x, 0.0), 4e18))
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    for _ in range(100_000):
        s0, s1, u = uniform(s0, s1)
        s0, s1, vv = uniform(s0, s1)
        u -= 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43) if us > 0.0 else -1.0
        if us >= 0.07 and vv <= vr:
            return s0, s1, np.int64(k)
        if k < 0 or (us < 0.013 and vv > us):
            continue
        if (math.log(vv) + math.log(invalpha) - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1.0)):
            return s0, s1, np.int64(k)
    return s0, s1, np.int64(math.floor(lam))  # pragma: no cover - acceptance rate > 0.9


@njit(cache=True)
def binomial(s0, s1, n, p):
    """A Binomial(n, p) variate: inversion when ``n min(p, 1-p) < 30``, else BTRS transformed
    rejection (Hoermann 1993). Exact; the cost does not grow with ``n``."""
    if n <= 0 or p <= 0.0:
        return s0, s1, np.int64(0)
    if p >= 1.0:
        return s0, s1, np.int64(n)
    flip = p > 0.5
    pp = 1.0 - p if flip else p
    q = 1.0 - pp
    if n * pp < 30.0:
        s = pp / q
        a = (n + 1) * s
        r = q**n
        s0, s1, u = uniform(s0, s1)
        x = 0
        while u > r and x < n:
            u -= r
            x += 1
            r *= a / x - s
        k = np.int64(x)
    else:
        spq = math.sqrt(n * pp * q)
        b = 1.15 + 2.53 * spq
        a = -0.0873 + 0.0248 * b + 0.01 * pp
        c = n * pp + 0.5
        alpha = (2.83 + 5.1 / b) * spq
        lpq = math.log(pp / q)
        m = math.floor((n + 1) * pp)
        h = math.lgamma(m + 1.0) + math.lgamma(n - m + 1.0)
        vr = 0.92 - 4.2 / b
        k = np.int64(math.floor(n * pp))
        for _ in range(100_000):
            s0, s1, u = uniform(s0, s1)
            s0, s1, vv = uniform(s0, s1)
            u -= 0.5
            us = 0.5 - abs(u)
            if us <= 0.0:
                continue
            kk = math.floor((2.0 * a / us + b) * u + c)
            if kk < 0 or kk > n:
                continue
            if us >= 0.07 and vv <= vr:
                k = np.int64(kk)
                break
            lv = math.log(vv * alpha / (a / (us * us) + b))
            if lv <= h - math.lgamma(kk + 1.0) - math.lgamma(n - kk + 1.0) + (kk - m) * lpq:
                k = np.int64(kk)
                break
    return s0, s1, (np.int64(n) - k) if flip else k


@njit(cache=True)
def _norm_ppf(u):
    """Standard normal quantile by bisection on erfc (used only for huge Poisson means)."""
    lo, hi = -40.0, 40.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(-mid / math.sqrt(2.0)) < u:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
