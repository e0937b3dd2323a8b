"""Sensitivity analysis of a deal: one module per method, found by name (SALib style).

=============  ==========================================================================
method         what it gives
=============  ==========================================================================
``tornado``    one-way: each uncertain input at its 10th and 90th percentile
``given_data`` first-order variance-based indices from the draws already made
``sobol``      Sobol indices of the money assumptions via ``scipy.stats.sobol_indices``
``discovery``  where each party loses: a depth-2 tree on the draws, told in words
=============  ==========================================================================

Each module has a ``run(deal, **options)`` entry point; :func:`sensitivity` calls it.

Examples
--------
>>> methods()
('discovery', 'given_data', 'sobol', 'tornado')
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from sibsim.spec import _validate as v

__all__ = ["methods", "sensitivity"]


def methods() -> tuple[str, ...]:
    """The sensitivity methods available (modules of this package with a ``run``)."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                        if not m.name.startswith("_")))


def sensitivity(deal: Any = None, method: str = "tornado", **options: Any) -> Any:
    """Run one sensitivity method on a deal (see :func:`methods` and each module's ``run``).

    >>> import sibsim
    >>> t = sibsim.sensitivity(sibsim.load_scenario("peterborough"), method="tornado",
    ...                        output="investor_loss_probability", draws=40, seed=1,
    ...                        inputs=["effect.value"])
    >>> t["input"].values.tolist()
    ['effect.value']
    """
    if method not in methods():
        raise v.fail("sensitivity.method", method,
                     "one of " + ", ".join(repr(m) for m in methods()))
    module = importlib.import_module(f"{__name__}.{method}")
    return module.run(deal, **options)
