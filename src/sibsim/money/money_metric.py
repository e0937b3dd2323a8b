"""Outcomes measured in money: an evaluated metric whose units are worth an amount each.

Some contracts pay on money, not on counts: Koto-SIB on the taxes paid and benefits saved
(euros) of the SIB group against a randomised control group, Työllisyys-SIB on participants'
wage income (euros) above a prediction. The outcome model simulates counts (quarters in work,
months without work); :class:`MoneyValue` states what each unit of the evaluated outcome is
worth in the deal's currency, so the evaluation measures, compares and pays on money.

TOML, on an ``[[evaluation]]`` table::

    money = {per_unit = 2_000}                                   # EUR 2,000 per month in work
    money = {per_unit = {dist = "lognormal", mean = 2_000, sd = 200}, growth = 0.02, cv = 0.6}
    money = {per_unit = 4_944, effect = {dist = "lognormal", mean = 1.01, sd = 0.01}}

With ``money`` the evaluation's outcome units of period ``p`` (draw ``d``) become
``per_unit[d] x (1 + growth) ** (p // periods_per_year)`` currency each, in both arms; a
historical (predicted) rate, given in outcome units, is valued the same way over the periods it
covers. The trigger's ``units`` are then currency (euros of wages above the prediction), its
measured effect the relative money gain, its avoided cost that money, and the pricing rules pay
per unit of currency: ``price_per_unit`` with ``price = 0.5`` pays half of the gain,
``savings_share`` with ``tiers = [[0.5]]`` the same.

An effect of the service on the money per unit (``effect``, a ratio: higher wages, so more taxes
per quarter in work): the treated arm's units of its *engaged* participants (those who took up
the service and have not dropped out, the outcome dataset's ``engaged_occupancy`` of the state
measured, or ``engaged_events``) are worth ``effect[d]`` times the money per unit; the treated
arm's other units and the comparison arm's (or a historical rate) keep ``per_unit``. The
measured money effect, the trigger's units, its avoided cost and so the payments follow it. It
is the same in every period and does not decay (a wage gain kept after the service). The
payers' savings per state or event avoided (``saving_per_person_period``) do not: they value
outcomes avoided, not the money per unit; a payer's ``saving_of_money_effect`` counts its
fraction of the extra money (:mod:`sibsim.money.payer_money_effect`). ``None`` (default): the
same money per unit in both arms, every number as without the field.

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
>>> MoneyValue(per_unit=2_000.0, effect=18.0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: MoneyValue.effect: got 18.0; allowed: ... write 1.18 for 18% more
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sibsim.engine.parameters import PARAM_BLOCK, parameter_rng
from sibsim.money.kernels.money_value import money_of_units
from sibsim.money.uncertain import UncertainAmount
from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution
from sibsim.spec.toml import KeyProblem, Section, parse_distribution
from sibsim.spec.variant import Spec, param

__all__ = ["MoneyValue", "check_money_prices", "read_money"]

#: Plausible ratios of the money per unit of the engaged treated participants to everyone
#: else's (``MoneyValue.effect``): a value outside (18 meant as 1.18, 0.18 meant as +18%) is
#: refused, a distribution's mean too.
EFFECT_RANGE = (0.2, 5.0)


def _read_per_unit(sec: Section, key: str) -> Any:
    """TOML ``per_unit`` or ``effect``: a number or a ``{dist = ...}`` table."""
    sec.used.add(key)
    return parse_distribution(sec.path(key), sec.data[key])


class _MoneyRatio(v.Constraint):
    """``MoneyValue.effect``: ``None``, a number in :data:`EFFECT_RANGE` (kept as a float), or
    a one-dimensional distribution with values >= 0 whose mean lies in that range."""

    def __init__(self) -> None:
        lo, hi = EFFECT_RANGE
        self.what = (f"a ratio on the money per unit of the engaged treated participants in "
                     f"[{lo:g}, {hi:g}] (1.18 = 18% more)")
        self.description = self.what + ", a number or a distribution with values >= 0"
        self.amount = UncertainAmount(v.interval(0.0, math.inf, low_open=True), low=0.0,
                                      what=self.what)

    def __call__(self, field: str, value: object) -> Any:
        if value is None:
            return None
        try:
            out = self.amount(field, value)
        except ValueError:
            if isinstance(value, (Distribution, Mapping)):
                raise
            raise v.fail(field, value, self.description) from None
        lo, hi = EFFECT_RANGE
        mean = float(out.mean) if isinstance(out, Distribution) else float(out)
        if lo <= mean <= hi:
            return out
        shown = out.describe() if isinstance(out, Distribution) else value
        what = "mean" if isinstance(out, Distribution) else "value"
        hint = ""
        if hi < mean <= 100.0:  # 18 meant as +18%
            hint = f"; write {1.0 + mean / 100.0:g} for {mean:g}% more"
        elif 0.0 < mean < lo:  # 0.18 meant as +18%
            hint = f"; write {1.0 + mean:g} for {100.0 * mean:g}% more"
        raise v.fail(field, shown, f"{self.what}: a {what} of {mean:g} is not plausible{hint}")


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
    effect : float or Distribution, optional
        The service's effect on the money per unit, a ratio (1.05 = 5% more a unit: higher
        wages, so more taxes per quarter in work) on the units of the treated arm's engaged
        participants (module docstring); a number in [0.2, 5] or a distribution (values >= 0,
        mean in [0.2, 5]) sampled once per draw as parameter
        ``evaluation.<metric>.money.effect``. ``None`` (default): no effect (1).

    Examples
    --------
    >>> from sibsim.spec import LogNormal
    >>> sorted(MoneyValue(per_unit=LogNormal.from_mean_sd(2_000.0, 100.0)).parameters("wages"))
    ['evaluation.wages.money.per_unit']
    >>> m = MoneyValue(per_unit=2_000.0, effect=LogNormal.from_mean_sd(1.05, 0.02))
    >>> sorted(m.parameters("wages"))
    ['evaluation.wages.money.effect']
    >>> MoneyValue(per_unit=2_000.0, effect=1.05).ratio({}, "wages", 2).tolist()
    [1.05, 1.05]
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
    effect: float | Distribution | None = param(
        _MoneyRatio(), default=None, uncertain=True, reader=_read_per_unit,
        doc="the service's effect on the money per unit of the engaged treated participants "
            "(a ratio, 1.05 = 5% more), a number or a distribution; none: 1")

    def name(self, metric: str) -> str:
        """Parameter name of ``per_unit`` when it is uncertain."""
        return f"evaluation.{metric}.money.per_unit"

    def effect_name(self, metric: str) -> str:
        """Parameter name of ``effect`` when it is uncertain."""
        return f"evaluation.{metric}.money.effect"

    def parameters(self, metric: str) -> dict[str, Distribution]:
        """``{evaluation.<metric>.money.per_unit: distribution}`` (and ``...money.effect``)
        for the uncertain ones, else ``{}``."""
        out: dict[str, Distribution] = {}
        if isinstance(self.per_unit, Distribution):
            out[self.name(metric)] = self.per_unit
        if isinstance(self.effect, Distribution):
            out[self.effect_name(metric)] = self.effect
        return out

    def ratio(self, params: Mapping[str, np.ndarray], metric: str,
              n_draws: int) -> np.ndarray | None:
        """The effect on the money per engaged unit in each draw, shape ``(draws,)``; None
        without ``effect``."""
        if self.effect is None:
            return None
        if isinstance(self.effect, Distribution):
            return np.asarray(params[self.effect_name(metric)], dtype=float).reshape(-1)
        return np.full(n_draws, float(self.effect))

    @staticmethod
    def engaged_factor(units: np.ndarray, engaged: np.ndarray,
                       ratio: np.ndarray) -> np.ndarray:
        """Multiplier of a group's money (..., W, P) for ``engaged`` of its ``units`` worth
        ``ratio`` (D,) times the rest: ``1 + (ratio - 1) x engaged / units`` (1 where there are
        no units; ``engaged`` clipped to ``[0, units]``).

        >>> MoneyValue.engaged_factor(np.array([[[10.0, 0.0]]]), np.array([[[5.0, 0.0]]]),
        ...                           np.array([1.2])).tolist()
        [[[1.1, 1.0]]]
        """
        share = np.divide(np.clip(engaged, 0.0, np.maximum(units, 0.0)), units,
                          out=np.zeros(np.shape(units)), where=units > 0)
        r = np.asarray(ratio, dtype=float).reshape((-1,) + (1,) * (np.ndim(units) - 1))
        return 1.0 + (r - 1.0) * share

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

    def value(self, units: np.ndarray, scale: np.ndarray, z: np.ndarray | None,
              factor: np.ndarray | None = None) -> np.ndarray:
        """Money of outcome ``units`` (..., P) at ``scale`` (broadcast to it), with the
        dispersion noise ``z`` (same shape as ``units``) when ``cv > 0``, times ``factor``
        (:meth:`engaged_factor`, same shape) when given."""
        if z is None:
            out = units * scale
        elif (fused := _fused_value(units, scale, z, self.cv)) is not None:
            out = fused  # the same numbers in one pass (money/kernels/money_value.py)
        else:
            spread = self.cv * np.sqrt(np.maximum(units, 0.0)) * z
            out = np.maximum(units + spread, 0.0) * scale
        return out if factor is None else out * factor


def _fused_value(units: np.ndarray, scale: np.ndarray, z: np.ndarray, cv: float
                 ) -> np.ndarray | None:
    """:meth:`MoneyValue.value`'s noisy money by
    :func:`~sibsim.money.kernels.money_value.money_of_units` when the arrays have its layout
    (float64 units and noise of one shape, (D, ..., P); a scale (D, 1, ..., 1, P)); else None
    (the numpy expression then runs)."""
    units, z, scale = np.asarray(units), np.asarray(z), np.asarray(scale)
    if not (units.ndim >= 2 and units.dtype == np.float64 and z.dtype == np.float64
            and scale.dtype == np.float64 and z.shape == units.shape
            and scale.ndim == units.ndim and scale.shape[0] == units.shape[0]
            and scale.shape[-1] == units.shape[-1] and all(n == 1 for n in scale.shape[1:-1])):
        return None
    D, P = units.shape[0], units.shape[-1]
    out = np.empty(units.shape)
    money_of_units(np.ascontiguousarray(units).reshape(D, -1, P),
                   np.ascontiguousarray(scale).reshape(D, P),
                   np.ascontiguousarray(z).reshape(D, -1, P), float(cv), out.reshape(D, -1, P))
    return out


def read_money(sec: Section, key: str) -> MoneyValue:
    """TOML ``money = {per_unit = ..., growth = ..., cv = ...}`` of an evaluation."""
    sec.used.add(key)
    raw = sec.data[key]
    if not isinstance(raw, Mapping) or "dist" in raw:
        raise KeyProblem(sec.path(key), "expected a table {per_unit = <currency per outcome "
                         "unit>, growth = <fraction a year>, cv = <dispersion>, effect = "
                         "<ratio on the engaged treated participants' money per unit>}")
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
