"""Modules imported on first use.

``scipy.stats`` takes about a second to import on the development machines, and ``import
sibsim`` needs none of it: only some evaluations, power and value-of-information analyses,
correlated inputs and range checks call it, inside functions. Each module that uses it takes
``stats`` from here instead of ``from scipy import stats``; the first attribute read imports
scipy.stats, and every later read is scipy's own.

>>> from sibsim._lazy import stats
>>> round(float(stats.norm.isf(0.05)), 4)
1.6449
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["stats"]


class _OnFirstUse(ModuleType):
    """A stand-in for a module, which imports it when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_module"] = None

    def __getattr__(self, attr: str) -> Any:
        module = self.__dict__["_module"]
        if module is None:
            module = importlib.import_module(self.__name__)
            self.__dict__["_module"] = module
        return getattr(module, attr)


#: ``scipy.stats``, imported when first used.
stats: Any = _OnFirstUse("scipy.stats")
