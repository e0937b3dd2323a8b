"""The ``[design]`` table of a scenario file: what ``sibsim design`` searches.

A scenario file may hold a ``[design]`` table next to its deal; ``sibsim run`` ignores it and
``sibsim design FILE`` reads it. A built-in scenario (or any deal) can be searched with a
*design file*: a TOML file holding only a ``[design]`` table, given with ``--design``::

    [design]
    confidence = 0.9                      # the yearly budget's quantile (0.9: 90th percentile)
    [design.grid]                         # the terms to vary: every combination is a variant
    "contract.terms[0].rule.price" = [10_000, 12_500, 15_000]
    "contract.caps.total" = {low = 6e6, high = 1.3e7, n = 3}
    [design.constraints]                  # fractions: 0.05 is 5%
    investor_expected_irr_min = 0.05
    investor_loss_probability_max = 0.3
    commissioner_loss_probability_max = 0.5
    yearly_budget_max = 2e6

See ``docs/design.md`` for every key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sibsim.analysis.design import read_design
from sibsim.money.deal import Deal
from sibsim.scenario_file import (
    MAX_SCENARIO_BYTES,
    ScenarioFileError,
    builtin_scenarios,
    load_scenario,
    read_text_file,
)
from sibsim.spec.toml import KeyProblem

__all__ = ["load_design"]


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text_file(path, what, MAX_SCENARIO_BYTES))
    except tomllib.TOMLDecodeError as err:
        raise ScenarioFileError(f"{path}: not valid TOML: {err}") from None
    except (OSError, ValueError) as err:
        raise ScenarioFileError(f"{path}: {err}") from None


def load_design(source: str | Path, design_file: str | Path | None = None
                ) -> tuple[Deal, dict[str, Any]]:
    """The deal of ``source`` and the keyword arguments of :func:`sibsim.design` for it.

    Parameters
    ----------
    source : str or Path
        A scenario file or a built-in scenario name (as :func:`sibsim.load_scenario`).
    design_file : str or Path, optional
        A TOML file with only a ``[design]`` table; default: the ``[design]`` table of
        ``source``.

    Returns
    -------
    (Deal, dict)
        The deal, and ``grid``, ``constraints`` and any of ``confidence`` and
        ``frontier_return``.

    Raises
    ------
    ScenarioFileError
        Naming the file and the key, e.g. a path that names nothing in the deal or a
        percentage written where a fraction is expected.

    Examples
    --------
    >>> import sibsim
    >>> load_design("peterborough")
    Traceback (most recent call last):
    ...
    sibsim.scenario_file.ScenarioFileError: peterborough: no [design] table; add one to the \
scenario file or give a design file (--design FILE); see docs/design.md
    """
    deal = load_scenario(source)
    if design_file is not None:
        path = Path(design_file)
        if not path.exists():
            raise ScenarioFileError(f"{design_file}: no such design file")
        data = _read_toml(path, "design file")
        extra = sorted(set(data) - {"design"})
        if extra:
            raise ScenarioFileError(f"{path}: key '{extra[0]}': a design file holds only a "
                                    "[design] table (the deal is the scenario given)")
    else:
        path = Path(source)
        if not path.exists():
            path = builtin_scenarios()[str(source)]
        data = _read_toml(path, "scenario file")
    if "design" not in data:
        where = source if design_file is None else design_file
        raise ScenarioFileError(f"{where}: no [design] table; add one to the scenario file or "
                                "give a design file (--design FILE); see docs/design.md")
    if not deal.has_money:
        raise ScenarioFileError(f"{source}: an outcome-only scenario (no contract): there are "
                                "no contract terms to design")
    try:
        return deal, read_design(data["design"], deal)
    except KeyProblem as err:
        raise ScenarioFileError(f"{path}: key '{err.key}': {err.problem}") from None
