"""Rate cards: a price per participant achievement (individual achievement payments).

A rate card pays for what the treated participants themselves achieve: a completed training, a
job start, sustained employment, a person-period in a state. There is no counterfactual and no
threshold: every achievement counted in the outcome dataset's treatment arm is priced. A price
per output (a fee per completed training) is one case of this.

A :class:`RateCard` belongs to a :class:`~sibsim.money.contract.Contract` (TOML
``[[contract.rate_cards]]``); its payments join the contract's outcome payments, under the
contract's lag, total cap and per-period cap (see :mod:`sibsim.money.payment_ledger` for the
order).

What is counted (``measure``), in the treatment arm, all entry waves together, by stratum and
by the period in which it happens:

* ``"events"``: the outcome's events. For a non-recurrent binary outcome each person has the
  event at most once ("training completed"). For a Markov outcome the events are the
  transitions listed in ``[outcome] events``: list exactly the milestone's transitions (an entry
  into a state is counted by listing the transitions into it). "Sustained employment for N
  periods" is a chain of tunnel states ``employed_1 -> employed_2 -> ... -> sustained`` with the
  transition into the absorbing ``sustained`` as the one event (docs/money.md, "Rate cards").
* ``"occupancy"``: person-periods in ``state`` (a price per person-month in employment), or in
  any of a set of states, ``state = ["literate", "literate_special"]`` (a Markov chain on a
  joint state space: a child reading at grade level whether in special education or not).

Units: prices in the contract currency per achievement (per event, or per person-period); caps
in currency (per participant, or over the rate card); periods on the simulation's grid.

Examples
--------
EUR 1,500 per completed training (EUR 2,000 for the under-25s), EUR 1,200 from period 8 on, at
most EUR 3,000 per participant:

>>> card = RateCard("training_completed", price=((0, 1_500.0), (8, 1_200.0)),
...                 price_by_stratum={"under_25": 2_000.0}, per_person_cap=3_000.0)
>>> card.price_table(("under_25", "adult"), n_periods=10)[:, [0, 7, 8]].tolist()
[[2000.0, 2000.0, 2000.0], [1500.0, 1500.0, 1200.0]]
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sibsim.money._arrays import in_states
from sibsim.spec import _validate as v
from sibsim.spec.toml import KeyProblem, Section
from sibsim.spec.variant import Spec, param

__all__ = ["MEASURES", "RateCard"]

FloatArray = NDArray[np.float64]

#: What a rate card counts: the outcome's events, or person-periods in a state.
MEASURES = ("events", "occupancy")

#: A price schedule: ``((from_period, price), ...)``, from period 0, periods strictly increasing.
Schedule = tuple[tuple[int, float], ...]

_AMOUNT = v.interval(0.0, math.inf)
_PERIOD = v.integer(0)


class _Schedule(v.Constraint):
    """A price (currency per achievement), or a schedule of ``(from_period, price)`` pairs."""

    description = ("a price >= 0, or (from_period, price) pairs starting at period 0 with "
                   "strictly increasing periods")

    def __call__(self, field: str, value: object) -> Schedule:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return ((0, _AMOUNT(field, value)),)
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) \
                or not value:
            raise TypeError(str(v.fail(field, value, self.description)))
        out = []
        for i, pair in enumerate(value):
            if (isinstance(pair, (str, bytes)) or not isinstance(pair, (Sequence, np.ndarray))
                    or len(pair) != 2):
                raise TypeError(str(v.fail(f"{field}[{i}]", pair, "a (from_period, price) pair")))
            out.append((_PERIOD(f"{field}[{i}].from_period", pair[0]),
                        _AMOUNT(f"{field}[{i}].price", pair[1])))
        if out[0][0] != 0:
            raise v.fail(f"{field}[0].from_period", out[0][0],
                         "0 (the schedule gives the price of every period from the first)")
        for i, (a, b) in enumerate(itertools.pairwise(out), start=1):
            if b[0] <= a[0]:
                raise v.fail(f"{field}[{i}].from_period", b[0],
                             f"> the previous from_period={a[0]} (strictly increasing)")
        return tuple(out)


_SCHEDULE = _Schedule()


class _ByStratum(v.Constraint):
    """Prices (or schedules) by stratum name, stored as ``((stratum, schedule), ...)``."""

    description = "a mapping of stratum name -> price or (from_period, price) schedule"

    def __call__(self, field: str, value: object) -> tuple[tuple[str, Schedule], ...]:
        if isinstance(value, Mapping):
            items = list(value.items())
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and all(
                isinstance(p, (Sequence,)) and not isinstance(p, (str, bytes)) and len(p) == 2
                for p in value):
            items = [tuple(p) for p in value]
        else:
            raise TypeError(str(v.fail(field, value, self.description)))
        out = tuple((v.name(f"{field} stratum", k), _SCHEDULE(f"{field}[{k}]", x))
                    for k, x in items)
        v.unique(field, [k for k, _ in out], "strata")
        return out


def _read_by_stratum(sec: Section, key: str) -> Any:
    """TOML ``price_by_stratum``: a table ``{stratum = price or [[period, price], ...]}``."""
    raw = sec.get(key)
    if not isinstance(raw, Mapping):
        raise KeyProblem(sec.path(key), "expected a table {stratum = price, ...}")
    return {k: _toml_schedule(x) for k, x in raw.items()}


def _toml_schedule(raw: Any) -> Any:
    if isinstance(raw, list):
        return tuple(tuple(p) if isinstance(p, list) else p for p in raw)
    return raw


def _read_price(sec: Section, key: str) -> Any:
    """TOML ``price``: a number, or a list of ``[from_period, price]`` pairs."""
    return _toml_schedule(sec.get(key))


@dataclass(frozen=True)
class RateCard(Spec):
    """A price per achievement of the treated participants (TOML ``[[contract.rate_cards]]``).

    Parameters
    ----------
    name : str
        Label of the rate card's payments (a ``metric`` of the money dataset's
        ``payments_by_metric``); unique among the contract's metrics and rate cards.
    price : float or sequence of (int, float)
        Currency per achievement, >= 0; or a schedule ``((from_period, price), ...)``: the price
        of achievements in periods ``from_period`` on, starting at period 0, periods strictly
        increasing (prices can change on a schedule; a price 0 from some period ends the card).
    measure : {"events", "occupancy"}
        Count the outcome's events (a binary first event, the listed Markov transitions), or
        person-periods in ``state``.
    state : str or sequence of str, optional
        The state whose person-periods are counted (``measure="occupancy"`` only), or a list of
        distinct states whose person-periods are counted together (stored as a tuple; each
        person-period is in one state, so the count is the sum of the states' counts).
    price_by_stratum : mapping of str -> price or schedule, optional
        Prices of given strata (or age bands); strata not listed pay ``price``. Every name must
        be a stratum of the scenario.
    per_person_cap : float, optional
        Most paid per participant over the deal (currency per person), enforced in aggregate for
        each stratum: the stratum's payments stop at ``per_person_cap x`` its treated
        participants (individuals are not tracked). Combined with ``Caps.per_person`` by taking
        the smaller.
    cap : float, optional
        Most paid under the rate card over the deal (currency).
    process : str, optional
        The outcome process counted (its outcome's ``name``); required when the scenario has
        several outcome processes (``[[outcome]]``), else optional (it must then name the only
        one).
    count : {"all", "engaged"}
        Whose achievements are counted: every person of the treated cohort (``"all"``, default:
        the non-engaged included, as an intention-to-treat cohort's rate card that pays for
        everyone drawn), or the engaged participants only (``"engaged"``: those who took up the
        service and have not dropped out: the outcome dataset's ``engaged_events`` with
        ``measure="events"``, its ``engaged_occupancy`` with ``measure="occupancy"``). A deal
        with such an events card has the engines tally the engaged participants' events
        (:attr:`~sibsim.money.deal.Deal.needs_engaged_events`); an event counts as engaged when
        the person is engaged in the period it happens (after that period's drop-outs).
    stratum : str or sequence of str, optional
        Count only the achievements of these strata of the cohort (a name or a list, stored as
        a tuple of names; as ``[[evaluation]] stratum``); None: every stratum. Strata that
        combine two kinds of group (site x age band: ``tampere_15``, ``tampere_16``, ...) let a
        site's rate card count its own young people, at prices by age band
        (``price_by_stratum``), so that each site's payer pays on its own results
        (Lapset-SIB II). Every name must be a stratum of the scenario.

    Examples
    --------
    Koto-like: EUR 1,500 per completed integration training.

    >>> card = RateCard("training_completed", price=1_500.0)
    >>> card.price, card.measure
    (((0, 1500.0),), 'events')
    >>> counts = np.array([[[10.0, 4.0, 0.0]]])         # (draw, stratum, period)
    >>> card.amounts(counts, ("all",), participants=np.array([20.0])).tolist()
    [[15000.0, 6000.0, 0.0]]

    Counting one stratum only (the other's achievements are not this card's):

    >>> card = RateCard("degree", price=1_000.0, stratum="tampere")
    >>> counts = card.restrict(np.array([[[2.0], [5.0]]]), ("tampere", "jyvaskyla"))
    >>> card.amounts(counts, ("tampere", "jyvaskyla"), np.array([10.0, 10.0])).tolist()
    [[2000.0]]

    With at most EUR 2,000 per participant (20 people: EUR 40,000), 30 completions pay
    EUR 40,000, not 45,000:

    >>> capped = RateCard("training_completed", price=1_500.0, per_person_cap=2_000.0)
    >>> capped.amounts(np.array([[[20.0, 10.0]]]), ("all",), np.array([20.0])).tolist()
    [[30000.0, 10000.0]]
    """

    name: str = param(v.label, doc="label of the rate card's payments")
    price: Schedule = param(_SCHEDULE, reader=_read_price,
                            doc="currency per achievement, or [[from_period, price], ...]")
    measure: str = param(v.one_of(*MEASURES), default="events",
                         doc="count 'events', or person-periods in `state` ('occupancy')")
    state: str | tuple[str, ...] | None = param(
        v.optional(v.state_set), default=None,
        doc="state (or list of states, counted together) with measure='occupancy'")
    price_by_stratum: tuple[tuple[str, Schedule], ...] = param(
        _ByStratum(), default=(), reader=_read_by_stratum,
        doc="{stratum = price or schedule}; other strata pay `price`")
    per_person_cap: float | None = param(v.optional(v.cap()), default=None,
                                         doc="currency per participant over the deal")
    cap: float | None = param(v.optional(v.cap()), default=None,
                              doc="currency under the rate card over the deal")
    process: str | None = param(v.optional(v.label), default=None,
                                doc="the outcome process counted (several processes: required)")
    count: str = param(v.one_of("all", "engaged"), default="all",
                       doc="count everyone in the treated cohort ('all') or the engaged "
                           "participants only ('engaged': their events or person-periods)")
    stratum: str | tuple[str, ...] | None = param(
        v.optional(v.scalar_or_vector(v.label)), default=None,
        doc="count only these strata (a name or a list); None: all")

    def validate(self) -> None:
        """``state`` given exactly for ``measure="occupancy"``; ``stratum`` stored as a tuple
        of distinct names."""
        if isinstance(self.stratum, str):
            self._set("stratum", (self.stratum,))
        if self.stratum is not None:
            v.unique(f"RateCard[{self.name}].stratum", self.stratum, "strata")
        if self.measure == "occupancy":
            if self.state is None:
                v.name("RateCard.state", self.state)
        elif self.state is not None:
            raise v.fail("RateCard.state", self.state,
                         "None unless measure='occupancy' (events are the outcome's events)")

    # ------------------------------------------------------------------ checks
    def check_outcome(self, strata: Sequence[str], states: Sequence[str]) -> None:
        """Refuse stratum or state names that the scenario does not have."""
        for stratum, _ in self.price_by_stratum:
            v.choice(f"RateCard[{self.name}].price_by_stratum", stratum, tuple(strata))
        for stratum in self.stratum or ():
            if stratum not in strata:
                raise v.fail(f"RateCard[{self.name}].stratum", stratum, "strata of the "
                             "scenario: " + ", ".join(repr(str(s)) for s in strata))
        if self.measure == "occupancy":
            if not states:
                raise v.fail(f"RateCard[{self.name}].measure", self.measure,
                             "'events' for an outcome without states (counts)")
            for state in self.states:
                v.choice(f"RateCard[{self.name}].state", state, tuple(states))

    @property
    def states(self) -> tuple[str, ...]:
        """The states counted (``()`` with ``measure="events"``).

        >>> RateCard("ready", price=1.0, measure="occupancy", state=["ready", "ready_sp"]).states
        ('ready', 'ready_sp')
        """
        return v.states_of(self.state)

    # ------------------------------------------------------------------ arrays
    def counts(self, ds: xr.Dataset) -> FloatArray:
        """Achievements of the treated participants, shape ``(draw, stratum, period)``.

        Events, or person-periods in ``state``, of the outcome dataset's treatment arm, summed
        over entry waves, in the period they happen (occupancy: the period occupied); with
        ``count="engaged"``, the engaged participants' events or person-periods in ``state``.
        """
        if "process" in ds.dims:
            names = [str(x) for x in ds["process"].values]
            if self.process not in names:
                raise v.fail(f"RateCard[{self.name}].process", self.process,
                             "one of " + ", ".join(repr(n) for n in names)
                             + " (the scenario has several outcome processes)")
            ds = ds.sel(process=self.process)
            states = []                          # this process's states: occupancy not NaN
            if "state" in ds.dims:
                own = ~np.isnan(ds["occupancy"].transpose(..., "state")[(0,) * 5].values)
                states = [str(s) for s, mine in zip(ds["state"].values, own, strict=True) if mine]
        else:
            states = list(ds["state"].values) if "state" in ds.dims else []
        self.check_outcome(list(ds["stratum"].values), states)
        if self.measure == "events" and self.count == "engaged":  # the engaged's events
            if "engaged_events" not in ds:
                raise v.fail(f"RateCard[{self.name}].count", self.count,
                             "'all' for an outcome dataset without engaged_events (simulate "
                             "the deal itself, or pass engaged_events=True to sibsim.simulate)")
            data = ds["engaged_events"]
        elif self.measure == "events":
            data = ds["events"]
        elif self.count == "engaged":  # engaged person-periods in the state
            if "engaged_occupancy" not in ds:
                raise v.fail(f"RateCard[{self.name}].count", self.count,
                             "'all' for an outcome dataset without engaged_occupancy")
            data = in_states(ds["engaged_occupancy"], self.state)
        else:
            data = in_states(ds["occupancy"], self.state)
        treated = data.sel(arm="treatment").sum("wave", skipna=False)
        return self.restrict(np.asarray(treated.transpose("draw", "stratum", "period").values,
                                        dtype=np.float64), [str(s) for s in ds["stratum"].values])

    def restrict(self, counts: FloatArray, strata: Sequence[str]) -> FloatArray:
        """``counts`` (D, S, P) with the strata this card does not count (``stratum``) set to 0.

        >>> card = RateCard("degree", price=1.0, stratum=["a"])
        >>> card.restrict(np.ones((1, 2, 1)), ("a", "b")).tolist()
        [[[1.0], [0.0]]]
        """
        if self.stratum is None:
            return counts
        keep = np.isin(np.asarray(strata, dtype=object), self.stratum)
        return np.where(keep[None, :, None], counts, 0.0)

    def price_table(self, strata: Sequence[str], n_periods: int) -> FloatArray:
        """Price per achievement of each stratum in each period, shape ``(S, P)`` (currency)."""
        own = dict(self.price_by_stratum)
        table = np.empty((len(strata), n_periods))
        for s, stratum in enumerate(strata):
            for from_period, price in own.get(stratum, self.price):
                table[s, from_period:] = price
        return table

    def amounts(self, counts: FloatArray, strata: Sequence[str], participants: FloatArray,
                per_person: float | None = None) -> FloatArray:
        """Amount due in each period of achievement, shape ``(D, P)`` (currency, >= 0).

        Parameters
        ----------
        counts : array (D, S, P)
            Achievements per draw, stratum and period (>= 0).
        strata : sequence of str, length S
            Stratum names (for ``price_by_stratum``).
        participants : array (S,)
            Treated participants of each stratum (people), for the per-person cap.
        per_person : float, optional
            The contract's per-person cap; the smaller of it and ``per_person_cap`` applies.

        Each stratum's cumulative amount stops at its per-person cap x participants; the
        rate card's own ``cap`` is applied with the contract's caps, when the payments are
        committed.
        """
        counts = np.asarray(counts, dtype=np.float64)
        due = counts * self.price_table(strata, counts.shape[-1])[None]  # (D, S, P)
        cap = min(math.inf if self.per_person_cap is None else self.per_person_cap,
                  math.inf if per_person is None else per_person)
        if cap < math.inf:
            limit = cap * np.asarray(participants, dtype=np.float64)[None, :, None]
            cumulative = np.minimum(np.cumsum(due, axis=-1), limit)
            due = np.diff(cumulative, axis=-1, prepend=0.0)
        return np.maximum(due.sum(axis=1), 0.0)
