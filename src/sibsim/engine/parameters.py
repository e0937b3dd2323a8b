"""Sampling the uncertain parameters, once per draw, reproducibly.

Draws are grouped in fixed blocks of :data:`PARAM_BLOCK`; each (parameter, block) pair has its own
numpy ``Generator`` keyed on ``(seed, crc32(parameter name), block)``. A draw's parameter values
therefore depend only on the seed, the parameter's name and the draw index: not on how draws are
chunked, and not on which other parameters the scenario has (adding a parameter leaves the others'
samples unchanged, which keeps comparisons between designs on common random numbers).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np

from sibsim.spec.distributions import Distribution, Fixed

PARAM_BLOCK = 4096
_PURPOSE_PARAMETERS = 7


def parameter_rng(seed: int, name: str, block: int) -> np.random.Generator:
    """The generator for one parameter and one block of draws."""
    key = [int(seed) & 0xFFFFFFFFFFFFFFFF, _PURPOSE_PARAMETERS, zlib.crc32(name.encode()), block]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


def sample_parameter(dist: Distribution, name: str, seed: int, start: int, stop: int) -> np.ndarray:
    """Values of one parameter for draws ``start <= d < stop``: shape (n,) or (n, size).

    Each block of :data:`PARAM_BLOCK` draws has its own generator; of the last block only the
    draws up to ``stop`` are drawn when the distribution is ``prefix_stable`` (the same
    values: its first values do not depend on how many are drawn), else the whole block.

    >>> from sibsim.spec.distributions import Beta
    >>> a = sample_parameter(Beta(2.0, 5.0), "p", 1, 4000, 4100)
    >>> b = sample_parameter(Beta(2.0, 5.0), "p", 1, 0, 2 * PARAM_BLOCK)[4000:4100]
    >>> bool(np.array_equal(a, b))
    True
    """
    first, last = start // PARAM_BLOCK, (stop - 1) // PARAM_BLOCK
    tail = stop - last * PARAM_BLOCK if dist.prefix_stable else PARAM_BLOCK
    parts = [dist.sample(parameter_rng(seed, name, b), PARAM_BLOCK if b < last else tail)
             for b in range(first, last + 1)]
    full = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    off = first * PARAM_BLOCK
    out = np.asarray(full[start - off: stop - off], dtype=float)
    if not np.all(np.isfinite(out)):
        bad = int(np.argmax(~np.isfinite(out).reshape(out.shape[0], -1).all(1)))
        raise ValueError(f"{name}: {dist.describe()} sampled a non-finite value in draw "
                         f"{start + bad}; allowed: distributions whose samples are finite "
                         "(narrow the distribution)")
    return out


def sample_parameters(params: Mapping[str, Distribution], seed: int, start: int, stop: int,
                      overrides: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Sample every parameter for draws ``start <= d < stop``.

    ``overrides`` maps a parameter name to values for *all* draws (shape ``(draws,)``); the slice
    ``[start:stop]`` replaces the sampled values (used for break-even root finding).
    """
    out = {}
    for name, dist in params.items():
        if isinstance(dist, Fixed) and not (overrides and name in overrides):
            out[name] = np.full(stop - start, dist.value)
        elif overrides is not None and name in overrides:
            out[name] = np.asarray(overrides[name], dtype=float)[start:stop]
        else:
            out[name] = sample_parameter(dist, name, seed, start, stop)
    return out
