"""Outcomes measured in money: an evaluated metric whose units are worth an amount each.

Some contracts pay on money, not on counts: Koto-SIB on the taxes paid and benefits saved
(euros) of the SIB group against a randomised control group, Työllisyys-SIB on participants'
wage income (euros) above a prediction. The outcome model simulates counts (quarters in work,
months without work); :class:`MoneyValue` states what each unit of the evaluated outcome is
worth in the deal's currency, so the evaluation measures, compares and pays on money.

TOML, on an ``[[evaluation]]`` table::

    money = {per_unit = 2_000}                                   # EUR 2,000 per month in work
    money = {per_unit = {dist = "lognormal", mean = 2_000, sd = 200}, growth = 0.02, cv = 0.6}

With ``money`` the evaluation's outcome units of period ``p`` (draw ``d``) become
``per_unit[d] x (1 + growth) ** (p // periods_per_year)`` currency each, in both arms; a
historical (predicted) rate, given in outcome units, is valued the same way over the periods it
covers. The trigger's ``units`` are then currency (euros of wages above the prediction), its
measured effect the relative money gain, its avoided cost that money, and the pricing rules pay
per unit of currency: ``price_per_unit`` with ``price = 0.5`` pays half of the gain,
``savings_share`` with ``tiers = [[0.5]]`` the same.

Dispersion (``cv``): if the money per unit differs between person-periods (some jobs pay more),
a sum of ``n`` units has standard deviation ``cv x per_unit x sqrt(n)`` around ``per_unit x n``.
With ``cv > 0`` each arm, wave and period gets that noise (a normal draw keyed on the seed, the
metric and the draw, floored so that no group's money is negative), and the significance gate's
variance grows by ``1 + cv**2``. With ``cv = 0`` (default) every unit is worth the same: the
money contrast is then exactly as noisy, relatively, as the count's.

Examples
--------
>>> m = MoneyValue(per_unit=2_000.0, growth=0.02)
>>> m.scale({}, "wages", n_draws=1, n_periods=3, periods_per_year=1).tolist()
[[2000.0, 2040.0, 2080.8]]
>>> MoneyValue(per_unit=-5.0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: MoneyValue.per_unit: got -5.0; allowed: ...
>>> MoneyValue(per_unit=2_000.0, growth=2.0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: MoneyValue.growth: got 2.0; allowed: ... write 0.02 for 2%
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sibsim.engine.parameters import PARAM_BLOCK, parameter_rng
from sibsim.money.uncertain import UncertainAmount
from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution
from sibsim.spec.toml import KeyProblem, Section, parse_distribution
from sibsim.spec.variant import Spec, param

__all__ = ["MoneyValue", "check_money_prices", "read_money"]


def _read_per_unit(sec: Section, key: str) -> Any:
    """TOML ``per_unit``: a number or a ``{dist = ...}`` table."""
    sec.used.add(key)
    return parse_distribution(sec.path(key), sec.data[key])


@dataclass(frozen=True)
class MoneyValue(Spec):
    """What one unit of an evaluated outcome is worth in the deal's currency.

    Parameters
    ----------
    per_unit : float or Distribution
        Currency per outcome unit (a month in work: the wages earned; a quarter in work: the
        taxes paid and benefits saved), > 0, in the prices of the deal's first year. A
        distribution (values >= 0) is sampled once per draw, as parameter
        ``evaluation.<metric>.money.per_unit``.
    growth : float
        Growth of ``per_unit`` a year (a fraction, 0.02 = 2%; in [-0.5, 0.5]): the value in
        period ``p`` is ``per_unit x (1 + growth) ** (p // periods_per_year)`` (deal years from
        period 0).
    cv : float
        Coefficient of variation of the money of one unit across person-periods (>= 0, at most
        5): the spread of earnings between people and jobs. 0 (default): every unit is worth
        the same.

    Examples
    --------
    >>> from sibsim.spec import LogNormal
    >>> sorted(MoneyValue(per_unit=LogNormal.from_mean_sd(2_000.0, 100.0)).parameters("wages"))
    ['evaluation.wages.money.per_unit']
    """

    per_unit: float | Distribution = param(
        UncertainAmount(v.interval(0.0, math.inf, low_open=True), low=0.0,
                        what="currency per outcome unit (> 0)"),
        uncertain=True, reader=_read_per_unit,
        doc="currency per outcome unit (> 0), a number or a distribution; prices of year 1")
    growth: float = param(v.fraction(-0.5, 0.5), default=0.0,
                          doc="growth of per_unit a year (fraction, 0.02 = 2%)")
    cv: float = param(v.interval(0.0, 5.0), default=0.0,
                      doc="coefficient of variation of one unit's money across person-periods")

    def name(self, metric: str) -> str:
        """Parameter name of ``per_unit`` when it is uncertain."""
        return f"evaluation.{metric}.money.per_unit"

    def parameters(self, metric: str) -> dict[str, Distribution]:
        """``{evaluation.<metric>.money.per_unit: distribution}`` when uncertain, else ``{}``."""
        if isinstance(self.per_unit, Distribution):
            return {self.name(metric): self.per_unit}
        return {}

    def scale(self, params: Mapping[str, np.ndarray], metric: str, n_draws: int,
              n_periods: int, periods_per_year: int) -> np.ndarray:
        """Currency per outcome unit in each draw and period, shape ``(draws, periods)``."""
        if isinstance(self.per_unit, Distribution):
            base = np.asarray(params[self.name(metric)], dtype=float).reshape(-1, 1)
        else:
            base = np.full((n_draws, 1), float(self.per_unit))
        if self.growth == 0.0:
            return np.broadcast_to(base, (base.shape[0], n_periods)).copy()
        years = np.arange(n_periods) // int(periods_per_year)
        return base * (1.0 + self.growth) ** years[None, :]

    def noise(self, metric: str, seed: int, draws: np.ndarray,
              shape: tuple[int, ...]) -> np.ndarray | None:
        """Standard normal draws for the dispersion, shape ``(len(draws), *shape)``, keyed on
        ``(seed, metric, draw block)`` like the parameters (a block of draws gets the values
        the whole run gives them); None when ``cv`` is 0."""
        if self.cv == 0.0:
            return None
        draws = np.asarray(draws, dtype=np.int64)
        n = int(np.prod(shape))
        if draws.size == 0:
            return np.zeros((0, *shape))
        lo, hi = int(draws.min()), int(draws.max()) + 1
        first, last = lo // PARAM_BLOCK, (hi - 1) // PARAM_BLOCK
        name = f"evaluation.{metric}.money.dispersion"
        full = np.concatenate([parameter_rng(seed, name, b).standard_normal((PARAM_BLOCK, n))
                               for b in range(first, last + 1)], axis=0)
        return full[draws - first * PARAM_BLOCK].reshape(len(draws), *shape)

    def value(self, units: np.ndarray, scale: np.ndarray, z: np.ndarray | None) -> np.ndarray:
        """Money of outcome ``units`` (..., P) at ``scale`` (broadcast to it), with the
        dispersion noise ``z`` (same shape as ``units``) when ``cv > 0``."""
        if z is None:
            return units * scale
        spread = self.cv * np.sqrt(np.maximum(units, 0.0)) * z
        return np.maximum(units + spread, 0.0) * scale


def read_money(sec: Section, key: str) -> MoneyValue:
    """TOML ``money = {per_unit = ..., growth = ..., cv = ...}`` of an evaluation."""
    sec.used.add(key)
    raw = sec.data[key]
    if not isinstance(raw, Mapping) or "dist" in raw:
        raise KeyProblem(sec.path(key), "expected a table {per_unit = <currency per outcome "
                         "unit>, growth = <fraction a year>, cv = <dispersion>}")
    return MoneyValue.from_toml(Section(sec.path(key), raw))


def check_money_prices(evaluations: Sequence[Any], terms: Sequence[Any]) -> None:
    """Refuse a ``price_per_unit`` above 1 on a money metric: its price is then per unit of
    currency, a share of the money measured (0.5 = half of the gain), and a price such as
    ``50`` (meant as 50%) or ``1_500`` (meant per outcome unit) would pay many times the gain.

    Examples
    --------
    >>> from sibsim.money.contract import MetricTerms
    >>> from sibsim.money.evaluation import Evaluation
    >>> from sibsim.money.pricing import PricePerUnit
    >>> ev = Evaluation("wages", money=MoneyValue(per_unit=2_000.0))
    >>> check_money_prices([ev], [MetricTerms("wages", PricePerUnit(price=0.3))])
    >>> check_money_prices([ev], [MetricTerms("wages", PricePerUnit(price=30.0))])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Deal.contract.terms[wages].rule.price: got 30.0; allowed: ... write 0.3 for 30%
    """
    from sibsim.money.pricing import PricePerUnit

    money = {e.metric for e in evaluations if getattr(e, "money", None) is not None}
    for t in terms:
        if t.metric not in money:
            continue
        for key in ("rule", "pooled_rule"):
            rule = getattr(t, key, None)
            if isinstance(rule, PricePerUnit) and rule.price > 1.0:
                hint = (f"; write {rule.price / 100:g} for {rule.price:g}%"
                        if rule.price <= 100.0 else "")
                raise v.fail(f"Deal.contract.terms[{t.metric}].{key}.price", rule.price,
                             "a price per unit of currency in [0, 1] on a money metric "
                             "(evaluation money = {...}): a share of the money measured, "
                             "0.5 = half of the gain" + hint)
