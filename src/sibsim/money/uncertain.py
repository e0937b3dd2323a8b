"""Uncertain money assumptions: savings rates, service costs and other costs as distributions.

A money *assumption* (what an avoided outcome is worth to a payer, what the service costs, the
payer's own costs) may be a number or a :class:`~sibsim.spec.distributions.Distribution`. A
distribution is sampled once per draw, on the random stream keyed by ``(seed, its parameter
name, draw block)`` that the scenario's own parameters use, so a run's results depend on the
seed alone (not on ``block_draws``). The sampled values are stored in the money dataset as
``money_parameter_value (draw, money_parameter)``.

Contract terms (prices, thresholds, caps, shares) and the capital structure are *decisions*,
not assumptions: they stay numbers (a distribution there is refused with a message saying so).

Parameter names (the ``money_parameter`` coordinate), with ``<...>`` a process, state or payer:

* ``municipality.saving_per_event`` (or ``municipality.saving_per_event[<process>]``),
  ``municipality.wider_value_per_event[...]``,
  ``municipality.saving_per_person_period[<state>]``,
  ``municipality.wider_value_per_person_period[<state>]``,
  ``municipality.other_costs_per_period``;
* the same fields of a payer as ``payers[<payer>].<field>``;
* ``service_costs.per_participant``, ``service_costs.fixed_per_period`` (one number for every
  period), ``service_costs.per_state[<state>]``.

Examples
--------
>>> import sibsim
>>> from sibsim.spec.distributions import Normal
>>> deal = sibsim.load_scenario("peterborough")
>>> m = deal.municipality
>>> uncertain = deal.replace(municipality=type(m)(saving_per_event=Normal(2_500.0, 300.0),
...                                               discount_rate=m.discount_rate))
>>> list(money_parameters(uncertain))
['municipality.saving_per_event']
>>> resolved, values = resolve_money(uncertain, seed=1, draws=range(3))
>>> values["municipality.saving_per_event"].shape
(3,)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution, Fixed, require_support
from sibsim.spec.toml import KeyProblem, Section, parse_distribution

__all__ = ["PerDraw", "UncertainAmount", "money_parameters", "per_draw", "read_amount",
           "resolve_money", "sample_money"]

#: Money fields that may be uncertain, by the class that holds them.
SAVINGS_FIELDS = ("saving_per_event", "wider_value_per_event", "saving_per_person_period",
                  "wider_value_per_person_period", "other_costs_per_period")
COST_FIELDS = ("per_participant", "fixed_per_period", "per_state")


class PerDraw(np.ndarray):
    """Values of one money assumption per draw, shape ``(draws, 1)`` (it broadcasts against
    ``(draws, periods)`` arrays). Only a resolved deal holds these (see :func:`resolve_money`)."""


def per_draw(values: Any) -> PerDraw:
    """``values`` (one per draw) as a :class:`PerDraw` column.

    >>> per_draw([1.0, 2.0]).shape
    (2, 1)
    """
    return np.asarray(values, dtype=np.float64).reshape(-1, 1).view(PerDraw)


def is_uncertain(value: object) -> bool:
    """True for a distribution that is not a fixed number."""
    return isinstance(value, Distribution) and not isinstance(value, Fixed)


class UncertainAmount(v.Constraint):
    """A number checked by ``check`` (kept as a float, so results with numbers are unchanged),
    or a one-dimensional distribution whose values lie in ``[low, inf)``; a TOML table
    ``{dist = ...}`` becomes the distribution."""

    def __init__(self, check: Callable[[str, object], Any], low: float = 0.0,
                 what: str = "an amount >= 0") -> None:
        self.check, self.low, self.what = check, low, what
        self.description = f"{what}: a number or a distribution with values >= {low:g}"

    def __call__(self, field: str, value: object) -> Any:
        if isinstance(value, PerDraw):
            return value
        if isinstance(value, Mapping) and "dist" in value:
            try:
                value = parse_distribution(field, value)
            except KeyProblem as err:
                raise ValueError(f"{field}: {err}") from None
        if isinstance(value, Fixed):
            value = value.value
        if isinstance(value, Distribution):
            if value.size != 1:
                raise v.fail(field, value.describe(), f"{self.what}: a one-dimensional "
                             "distribution")
            return require_support(field, value, self.low, math.inf, self.what)
        return self.check(field, value)


def read_amount(sec: Section, key: str) -> Any:
    """TOML reader of an uncertain amount: a number, a ``{dist = ...}`` table, or a table of
    them by process or state (``{care = 130000}``, ``{care = {dist = ...}}``)."""
    sec.used.add(key)
    raw = sec.data[key]
    if isinstance(raw, Mapping) and "dist" not in raw:
        return {k: parse_distribution(f"{sec.path(key)}.{k}", x) for k, x in raw.items()}
    return parse_distribution(sec.path(key), raw)


def _fields(obj: Any) -> tuple[str, ...]:
    from sibsim.money.capital import ServiceCosts

    return COST_FIELDS if isinstance(obj, ServiceCosts) else SAVINGS_FIELDS


def _holders(deal: Any) -> list[tuple[str, str, Any]]:
    """(attribute of the deal, parameter-name prefix, object) holding money assumptions."""
    out = [("service_costs", "service_costs", deal.service_costs)]
    if deal.payers:
        out += [("payers", f"payers[{p.name}]", p) for p in deal.payers]
    else:
        out.append(("municipality", "municipality", deal.municipality))
    return out


def _walk(obj: Any, prefix: str) -> Iterable[tuple[str, str, str | None, Any]]:
    """(parameter name, field, key or None, value) of every money assumption of ``obj``."""
    for f in _fields(obj):
        val = getattr(obj, f)
        if isinstance(val, Mapping):
            for k, x in val.items():
                yield f"{prefix}.{f}[{k}]", f, k, x
        else:
            yield f"{prefix}.{f}", f, None, val


def money_parameters(deal: Any) -> dict[str, Distribution]:
    """The deal's uncertain money assumptions, by parameter name (empty if all are numbers)."""
    out: dict[str, Distribution] = {}
    for _, prefix, obj in _holders(deal):
        for name, _, _, val in _walk(obj, prefix):
            if is_uncertain(val):
                out[name] = val
    return out


def sample_money(deal: Any, seed: int, draws: Any,
                 kept: dict[Any, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Values of every uncertain money assumption for the draws with global indices ``draws``
    (a block of a longer run gets the values the whole run gives those draws). With a
    ``deal.correlation``, the correlated inputs come from its Gaussian copula.

    ``kept``: values sampled by earlier calls with the same ``seed`` and ``draws``, by
    parameter name and distribution (read and filled; the values are made read-only), so that
    the variants of a deal on one set of draws sample each assumption once."""
    from sibsim.money.evaluation import _sample_for_draws

    draws = np.asarray(draws, dtype=np.int64)
    params = money_parameters(deal)
    out = {}
    for name, dist in params.items():
        if kept is None:
            out[name] = _sample_for_draws(dist, name, seed, draws)
            continue
        key = (name, dist)
        if key not in kept:
            value = _sample_for_draws(dist, name, seed, draws)
            value.flags.writeable = False
            kept.setdefault(key, value)  # one value kept, were two threads to sample it
        out[name] = kept[key]
    corr = getattr(deal, "correlation", None)
    if corr is not None:
        from sibsim.spec.correlation import correlated_values

        out.update(correlated_values(corr, {n: d for n, d in params.items()
                                            if n in corr.names}, seed, draws))
    return out


def _resolved(obj: Any, prefix: str, values: Mapping[str, np.ndarray]) -> Any:
    """A copy of ``obj`` with each uncertain field replaced by its :class:`PerDraw` values."""
    changes: dict[str, Any] = {}
    for name, f, key, _ in _walk(obj, prefix):
        if name not in values:
            continue
        if key is None:
            changes[f] = per_draw(values[name])
        else:
            changes.setdefault(f, dict(getattr(obj, f)))[key] = per_draw(values[name])
    if not changes:
        return obj
    new = copy.copy(obj)
    for f, val in changes.items():
        object.__setattr__(new, f, val)
    return new


def resolve_money(deal: Any, seed: int, draws: Any, kept: dict[Any, np.ndarray] | None = None
                  ) -> tuple[Any, dict[str, np.ndarray]]:
    """The deal with its uncertain money assumptions replaced by their values per draw, and
    those values by parameter name (shape ``(draws,)`` each); ``kept``: as in
    :func:`sample_money`.

    A deal whose money assumptions are all numbers is returned as it is, with ``{}``.
    """
    values = sample_money(deal, seed, draws, kept)
    if not values:
        return deal, {}
    new = copy.copy(deal)
    for attr, prefix, obj in _holders(deal):
        if attr == "payers":
            continue
        object.__setattr__(new, attr, _resolved(obj, prefix, values))
    if deal.payers:
        object.__setattr__(new, "payers", tuple(_resolved(p, f"payers[{p.name}]", values)
                                                for p in deal.payers))
    return new, values


def amount_value(amount: Any) -> float | np.ndarray:
    """A savings rate as used in the arithmetic: a float, or per-draw values (D, 1)."""
    if isinstance(amount, np.ndarray):
        return np.asarray(amount, dtype=np.float64)  # a plain array, not the PerDraw marker
    return float(amount)
