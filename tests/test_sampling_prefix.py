"""The parameter sampler draws only the part of a block that a run reaches, for distributions
that say ``prefix_stable``: the values must be those of whole blocks, bit for bit.

The reference is the straightforward sampler (every block drawn whole, concatenated, sliced),
written here; the property behind the shortcut (``sample(rng, m)`` is the first ``m`` values
of ``sample(rng, n)``) is checked directly for every distribution that claims it.
"""

from __future__ import annotations

import inspect

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim.spec.distributions as dist
from sibsim.engine.parameters import PARAM_BLOCK, parameter_rng, sample_parameter

#: one of each distribution, with parameters that a scenario could give
EXAMPLES = {
    "fixed": dist.Fixed(0.3),
    "normal": dist.Normal(0.1, 2.0),
    "lognormal": dist.LogNormal.from_mean_sd(0.8, 0.1),
    "beta": dist.Beta(0.7, 3.0),  # a < 1: numpy's Johnk rejection sampler
    "beta_large": dist.Beta(20.0, 30.0),
    "gamma": dist.Gamma(0.4, 2.0),  # shape < 1: another rejection loop
    "uniform": dist.Uniform(-1.0, 3.0),
    "triangular": dist.Triangular(0.0, 0.2, 1.0),
    "dirichlet": dist.Dirichlet.from_mean((0.85, 0.10, 0.03, 0.02), 200),
    "dirichlet_zero": dist.Dirichlet((5.0, 0.0, 0.5, 2.0)),  # a structural zero
}


def whole_blocks(d: dist.Distribution, name: str, seed: int, start: int, stop: int):
    """The sampler without the shortcut: every block drawn whole, then sliced."""
    first, last = start // PARAM_BLOCK, (stop - 1) // PARAM_BLOCK
    full = np.concatenate([d.sample(parameter_rng(seed, name, b), PARAM_BLOCK)
                           for b in range(first, last + 1)], axis=0)
    return full[start - first * PARAM_BLOCK: stop - first * PARAM_BLOCK]


def test_every_builtin_distribution_is_covered():
    classes = {c for _, c in inspect.getmembers(dist, inspect.isclass)
               if issubclass(c, dist.Distribution) and not inspect.isabstract(c)}
    assert classes == {type(d) for d in EXAMPLES.values()}
    assert all(c.prefix_stable for c in classes)  # else the whole-block path is the only one
    assert dist.Distribution.prefix_stable is False  # a new kind must opt in


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(EXAMPLES)), seed=st.integers(0, 2**63 - 1),
       n=st.integers(1, 600), data=st.data())
def test_first_values_do_not_depend_on_how_many_are_drawn(kind, seed, n, data):
    d = EXAMPLES[kind]
    m = data.draw(st.integers(1, n))
    rng = lambda: np.random.Generator(np.random.PCG64(seed))  # noqa: E731
    assert d.sample(rng(), m).tobytes() == d.sample(rng(), n)[:m].tobytes()


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(EXAMPLES)), seed=st.integers(0, 2**63 - 1),
       start=st.integers(0, 3 * PARAM_BLOCK), length=st.integers(1, 2 * PARAM_BLOCK + 5))
def test_sampler_equals_whole_blocks(kind, seed, start, length):
    d = EXAMPLES[kind]
    got = sample_parameter(d, "baseline.x", seed, start, start + length)
    want = whole_blocks(d, "baseline.x", seed, start, start + length)
    assert got.dtype == np.float64 and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


class _SortedNormal(dist.Normal):
    """Not prefix-stable: sorting makes the first values depend on how many are drawn."""

    prefix_stable = False

    def sample(self, rng, n):
        return np.sort(rng.normal(self.mu, self.sd, n))


def test_a_distribution_that_is_not_prefix_stable_gets_whole_blocks():
    d = _SortedNormal(0.0, 1.0)
    rng = lambda: parameter_rng(3, "x", 0)  # noqa: E731
    assert d.sample(rng(), 10).tobytes() != d.sample(rng(), PARAM_BLOCK)[:10].tobytes()
    for start, stop in ((0, 10), (PARAM_BLOCK - 3, PARAM_BLOCK + 7), (5, 2 * PARAM_BLOCK + 1)):
        got = sample_parameter(d, "x", 3, start, stop)
        assert got.tobytes() == whole_blocks(d, "x", 3, start, stop).tobytes()


def test_dirichlet_rows_are_normalised_gammas():
    """The Dirichlet sampler draws ``gamma(alpha, 1)`` row by row (as ``standard_gamma``) and
    divides each row by its sum; a structural zero stays exactly 0."""
    for d in (EXAMPLES["dirichlet"], EXAMPLES["dirichlet_zero"]):
        alpha = np.asarray(d.alpha)
        pos = alpha > 0
        g = np.random.Generator(np.random.PCG64(5)).gamma(alpha[pos], 1.0, (50, int(pos.sum())))
        want = np.zeros((50, alpha.size))
        want[:, pos] = g / g.sum(axis=1, keepdims=True)
        got = d.sample(np.random.Generator(np.random.PCG64(5)), 50)
        assert got.tobytes() == want.tobytes()
