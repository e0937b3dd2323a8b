"""The deal: one typed object holding a SIB's outcome scenario and its money terms.

A :class:`Deal` is what a scenario file describes and what :func:`sibsim.analyse` runs: the
outcome scenario (who is served, what happens to them, what the service changes) together with
the evaluation, the outcomes contract, the service costs, the capital structure, the
commissioner's savings and the investors' terms. A deal without money terms (no evaluation,
contract or capital) is an outcome-only scenario: it can be simulated but not priced.

Examples
--------
>>> import sibsim
>>> deal = sibsim.load_scenario("peterborough")
>>> deal.name, deal.has_money, deal.currency
('peterborough', True, 'GBP')
>>> deal.investors.target_irr
0.05
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sibsim.money.capital import CapitalStructure, ServiceCosts
from sibsim.money.contract import Contract
from sibsim.money.estimand import check_estimand
from sibsim.money.evaluation import Evaluation, check_evaluations
from sibsim.money.evaluation_inputs import evaluation_inputs
from sibsim.money.money_metric import check_money_prices
from sibsim.money.municipality import Municipality
from sibsim.money.payer_money_effect import check_money_effect_savings
from sibsim.money.payer_scope import check_payer_scope, presence
from sibsim.money.payer_waves import check_payer_waves
from sibsim.money.payers import Payer, check_payers, effective_payers, payer_funds
from sibsim.money.termination import TerminationRule, check_claim_share
from sibsim.money.uncertain import money_parameters
from sibsim.spec import _validate as v
from sibsim.spec.correlation import Correlation
from sibsim.spec.scenario import Scenario
from sibsim.spec.variant import Spec, param

__all__ = ["BreakevenSearch", "Deal", "Investors", "breakeven_process", "first_mismatch"]


@dataclass(frozen=True)
class Investors(Spec):
    """The investors' own yardsticks (their capital is in :class:`CapitalStructure`).

    Parameters
    ----------
    discount_rate : float
        Required return per year, for the investors' NPV (0.08 = 8% a year).
    target_irr : float
        IRR per year the investors target, for the break-even effect at that IRR.

    Examples
    --------
    >>> Investors(discount_rate=0.08, target_irr=0.05).target_irr
    0.05
    """

    discount_rate: float = param(v.fraction(-0.5, 1.0), default=0.0,
                                 doc="required return per year (fraction)")
    target_irr: float = param(v.fraction(-0.99, 1.0), default=0.05,
                              doc="targeted IRR per year (fraction)")


def _effect_range(field: str, value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    pair = v.vector(v.interval())(field, value)
    if len(pair) != 2 or pair[0] == pair[1]:  # type: ignore[arg-type]
        raise v.fail(field, value, "two different effects: (no effect, strongest effect)")
    return pair  # type: ignore[return-value]


@dataclass(frozen=True)
class BreakevenSearch(Spec):
    """Where the break-even search looks (``[breakeven]`` in a scenario file).

    Parameters
    ----------
    effect_range : (float, float) or None
        (no effect, strongest effect) searched, in the effect's measure (e.g. relative risk
        ``(1.0, 0.5)``: from no effect to halving the outcome). None: halving or doubling the
        outcome, as the evaluation's direction says.
    grid : int
        Grid points between the two ends (at least 3).
    outcome : str or None
        Name of the outcome process whose effect is searched (``[[outcome]] name``, e.g.
        ``"jail_days"``), the others keeping their sampled effects; it must have an effect.
        None: the first process. ``effect_range`` is on this process's effect. Checked
        against the scenario by :class:`Deal` (:func:`breakeven_process`).

    Examples
    --------
    >>> BreakevenSearch(effect_range=(1.0, 0.3)).effect_range
    (1.0, 0.3)
    >>> BreakevenSearch(outcome="jail_days").outcome
    'jail_days'
    """

    effect_range: tuple[float, float] | None = param(_effect_range, default=None)
    grid: int = param(v.integer(3, 1001), default=41, doc="grid points")
    outcome: str | None = param(v.optional(v.label), default=None,
                                doc="outcome process whose effect is searched (None: the first)")


def breakeven_process(scenario: Scenario, outcome: str | None,
                      field: str = "Deal.breakeven.outcome") -> int:
    """Index (in :attr:`Scenario.processes`) of the outcome process whose effect the break-even
    search varies: the process named ``outcome``, or the first one (None).

    A name that is not a process of the scenario with an effect is refused, naming ``field``,
    the value and the names allowed.

    >>> import sibsim
    >>> sc = sibsim.load_scenario("denver-housing").scenario
    >>> breakeven_process(sc, None), breakeven_process(sc, "jail_days")
    (0, 1)
    >>> breakeven_process(sc, "jail")
    Traceback (most recent call last):
    ...
    ValueError: Deal.breakeven.outcome: got 'jail'; allowed: one of 'housing', 'jail_days' \
(the outcome processes with an effect)
    """
    if outcome is None:
        return 0
    with_effect = [p.name for p in scenario.processes if p.effect is not None]
    if outcome not in with_effect:
        raise v.fail(field, outcome, ("one of " + ", ".join(repr(n) for n in with_effect)
                                      + " (the outcome processes with an effect)")
                     if with_effect else "None (no outcome process has an effect)")
    return scenario.process_names.index(outcome)


@dataclass(frozen=True)
class Deal(Spec):
    """A Social Impact Bond: its outcome scenario and its money terms.

    Parameters
    ----------
    scenario : Scenario
        The outcome scenario (cohort, outcome process, effect, comparison group, horizon).
    evaluations : sequence of Evaluation
        How each paid outcome metric is measured; one per metric (no duplicates).
    contract : Contract, optional
        Outcome-payment terms, caps and lag.
    service_costs : ServiceCosts
        Cost of delivering the service.
    capital : CapitalStructure, optional
        Tranches, guarantee, fees and the excess rule.
    municipality : Municipality
        The commissioner's savings, discount rate and own costs. With ``payers``, only its
        ``discount_rate`` (the one social discount rate of the deal) may be set.
    payers : sequence of Payer
        The bodies sharing the outcome payments, each with its own shares, savings, costs and
        caps (:mod:`sibsim.money.payers`). Empty (the default): one payer, ``"commissioner"``,
        paying everything with the municipality's savings and costs.
    investors : Investors
        The investors' discount rate and target IRR.
    service_periods : int
        Periods for which each engaged participant is served (and costs money), from entry.
    breakeven : BreakevenSearch
        Where the break-even search looks.
    currency : str
        Currency of every amount.
    termination : sequence of TerminationRule
        Early-termination rules (``[[termination]]``), see :mod:`sibsim.money.termination`;
        the deal stops at the first rule that fires.
    maturity : int or None
        Period (0-based, < horizon) in which the deal settles if it runs its course: the
        guarantee is paid then, and no service is funded after it. None: the last period.
    start_year : int or None
        Calendar year in which period 0 begins (periods are counted from 1 January of that
        year, or from ``start_period``): budgets and reports are given by calendar year. None:
        years are numbered from the deal's start (year 1, 2, ...).
    start_period : int
        Period of the calendar year ``start_year`` in which period 0 begins, 0-based, in the
        scenario's periods: 0 = January (the default); quarters: 1 = April-June; months: 3 =
        April. Must be below the periods per year, and other than 0 only with ``start_year``.
    correlation : Correlation or None
        Target rank correlations among uncertain inputs (scenario parameters and money
        assumptions), applied through a Gaussian copula (:mod:`sibsim.spec.correlation`).

    Notes
    -----
    Evaluations, contract and capital come together: give all three (a priced deal) or none
    (an outcome-only scenario).

    Examples
    --------
    >>> import sibsim
    >>> deal = sibsim.load_scenario("nyc-able")
    >>> [e.metric for e in deal.evaluations]
    ['jail_days']
    >>> outcome_only = Deal(scenario=deal.scenario)
    >>> outcome_only.has_money
    False
    """

    scenario: Scenario = param(v.instance_of(Scenario))
    evaluations: tuple[Evaluation, ...] = param(v.vector(v.instance_of(Evaluation), min_len=0),
                                                default=())
    contract: Contract | None = param(v.optional(v.instance_of(Contract)), default=None)
    service_costs: ServiceCosts = param(v.instance_of(ServiceCosts),
                                        default_factory=ServiceCosts)
    capital: CapitalStructure | None = param(v.optional(v.instance_of(CapitalStructure)),
                                             default=None)
    municipality: Municipality = param(v.instance_of(Municipality),
                                       default_factory=Municipality)
    payers: tuple[Payer, ...] = param(v.vector(v.instance_of(Payer), min_len=0), default=())
    investors: Investors = param(v.instance_of(Investors), default_factory=Investors)
    service_periods: int = param(v.integer(1), default=1, doc="periods")
    breakeven: BreakevenSearch = param(v.instance_of(BreakevenSearch),
                                       default_factory=BreakevenSearch)
    currency: str = param(v.label, default="EUR")
    termination: tuple[TerminationRule, ...] = param(
        v.vector(v.instance_of(TerminationRule), min_len=0), default=(),
        doc="early-termination rules")
    maturity: int | None = param(v.optional(v.integer(0)), default=None,
                                 doc="settlement period (0-based); None: the last period")
    start_year: int | None = param(v.optional(v.integer(1900, 2200)), default=None,
                                   doc="calendar year in which period 0 begins")
    start_period: int = param(v.integer(0), default=0,
                              doc="period of start_year in which period 0 begins (0-based; "
                                  "0 = January, quarters 1 = April, months 3 = April)")
    correlation: Correlation | None = param(v.optional(v.instance_of(Correlation)),
                                            default=None,
                                            doc="rank correlations of uncertain inputs")

    def validate(self) -> None:
        self._check_correlation()
        breakeven_process(self.scenario, self.breakeven.outcome)
        self._check_start_period()
        parts = {"evaluations": bool(self.evaluations), "contract": self.contract is not None,
                 "capital": self.capital is not None}
        if any(parts.values()) and not all(parts.values()):
            missing = [k for k, given in parts.items() if not given]
            raise v.fail(f"Deal.{missing[0]}", None,
                         "evaluations, a contract and a capital structure together (a priced "
                         "deal) or none of them (an outcome-only scenario)")
        if self.payers and not self.has_money:
            raise v.fail("Deal.payers", [p.name for p in self.payers],
                         "payers only in a priced deal (with a contract)")
        if not self.has_money:
            if self.termination or self.maturity is not None:
                raise v.fail("Deal.termination", self.termination,
                             "termination rules and a maturity only with a priced deal")
            return
        self._check_period_lists()
        self._check_lifecycle()
        self._set("evaluations", check_evaluations(self.evaluations, "Deal.evaluations"))
        cohort = self.scenario.cohort
        sizes = self.scenario.group_sizes()
        for e in self.evaluations:
            e.check_scenario(cohort.stratum_names, cohort.n_waves)
            e.check_groups(sizes, cohort.stratum_names, own_entry=cohort.strata_own_entry)
            check_estimand(e, self.scenario)
        measured = {e.metric for e in self.evaluations}
        check_money_prices(self.evaluations, self.contract.terms)
        unmeasured = sorted(set(self.contract.metrics) - measured)
        if unmeasured:
            raise v.fail("Deal.contract.terms", unmeasured,
                         f"metrics that an evaluation measures ({', '.join(sorted(measured))})")
        if self.payers:
            check_payers(self.payers, self.contract.payment_labels, self.municipality)
            check_payer_scope(self.payers, self.contract.payment_labels, cohort.stratum_names,
                              self.calendar_years(), self.start_year)
            check_payer_waves(self.payers, self.contract.payment_labels, cohort.n_waves,
                              self.evaluations, tuple(c.name for c in self.contract.rate_cards),
                              self.payer_presence(), self.calendar_years())
            check_money_effect_savings(self.payers, self.evaluations, self.payer_presence())
        payer_funds(self.effective_payers, self.calendar_years(),  # appropriations: one per
                    "Deal.payers" if self.payers else "Deal.municipality")  # calendar year
        for part in ("contract", "capital"):
            cur = getattr(getattr(self, part), "currency", self.currency)
            if cur != self.currency:
                raise v.fail(f"Deal.{part}.currency", cur,
                             f"the deal's currency {self.currency!r}")
        self._check_processes()
        self._check_rate_cards()

    def _check_start_period(self) -> None:
        """``start_period`` is a period of one year, and other than 0 only with ``start_year``."""
        sp = self.start_period
        if sp == 0:
            return
        if self.start_year is None:
            raise v.fail("Deal.start_period", sp, "0 without start_year (give start_year, the "
                         "calendar year in which period 0 begins, to start part-way through it)")
        ppy = self.scenario.periods_per_year
        if sp >= ppy:
            raise v.fail("Deal.start_period", sp,
                         f"0 to {ppy - 1} (one of the {ppy} {self.scenario.period}s of a year)"
                         if ppy > 1 else "0 (a yearly scenario: period 0 is the start year)")

    def _check_rate_cards(self) -> None:
        """Rate cards name a process of the scenario (required with several) and its states."""
        sc = self.scenario
        names = sc.process_names
        for card in self.contract.rate_cards:
            if (card.process is None and len(names) > 1) or (card.process is not None
                                                              and card.process not in names):
                raise v.fail(f"RateCard[{card.name}].process", card.process,
                             "one of " + ", ".join(repr(n) for n in names)
                             + (" (the scenario has several outcome processes)"
                                if len(names) > 1 else ""))
            own = sc.processes[names.index(card.process)] if card.process else sc.processes[0]
            card.check_outcome(sc.cohort.stratum_names,
                               tuple(getattr(own.outcome, "states", ())))

    def _check_processes(self) -> None:
        """Evaluations and savings name the outcome processes they measure or value."""
        sc = self.scenario
        names = sc.process_names
        several = len(names) > 1
        allowed = "one of " + ", ".join(repr(n) for n in names)
        for e in self.evaluations:
            if (e.process is None and several) or (e.process is not None
                                                   and e.process not in names):
                raise v.fail(f"Evaluation[{e.metric}].process", e.process, allowed
                             + (" (the scenario has several outcome processes)" if several
                                else ""))
            if e.outcome == "occupancy" and several:
                own = sc.processes[names.index(e.process)].outcome
                for state in e.states:
                    if state not in getattr(own, "states", ()):
                        raise v.fail(f"Evaluation[{e.metric}].state", state,
                                     f"a state of process {e.process!r}")
        for i, payer in enumerate(self.effective_payers):
            owner = f"Deal.payers[{i}]" if self.payers else "Municipality"
            for f in ("saving_per_event", "wider_value_per_event"):
                amount = getattr(payer, f)
                if isinstance(amount, dict):
                    bad = sorted(set(amount) - set(names))
                    if bad:
                        raise v.fail(f"{owner}.{f}", bad, f"process names ({allowed})")
                elif several and amount != 0.0:
                    raise v.fail(f"{owner}.{f}", amount, "an amount per process, "
                                 "{process = amount}, when the scenario has several outcome "
                                 "processes")
            if several:
                for state in sorted(payer.states_valued()):
                    owners = [p.name for p in sc.processes
                              if state in getattr(p.outcome, "states", ())]
                    if len(owners) != 1:
                        raise v.fail(f"{owner}.saving_per_person_period", state,
                                     "a state of exactly one outcome process (found in "
                                     f"{owners or 'none'})")

    def uncertain_inputs(self) -> dict[str, Any]:
        """Every uncertain one-dimensional input by name: the scenario's parameters that are
        not fixed numbers, then the uncertain money assumptions
        (:func:`sibsim.money.uncertain.money_parameters`)."""
        from sibsim.spec.distributions import Fixed

        out = {n: d for n, d in self.scenario.parameters().items()
               if not isinstance(d, Fixed) and d.size == 1}
        out.update(money_parameters(self))
        return out

    def _check_correlation(self) -> None:
        if self.correlation is None:
            return
        known = self.uncertain_inputs()
        fields = [f"inputs[{i}]" for i in range(len(self.correlation.inputs))] + [
            f"common[{n}]" for n in self.correlation.common]
        for field, name in zip(fields, [*self.correlation.inputs, *self.correlation.common],
                               strict=True):
            if name not in known:
                if name in evaluation_inputs(self.evaluations):  # sampled on their own
                    raise v.fail(f"Deal.correlation.{field}", name, "the scenario's parameters "
                                 "and the money assumptions (an evaluation's input is sampled "
                                 "on its own: it cannot be correlated): " + ", ".join(known))
                raise v.fail(f"Deal.correlation.{field}", name,
                             "names of uncertain inputs of the deal (distributions, not fixed "
                             "numbers): " + (", ".join(known) or "none"))

    def _check_lifecycle(self) -> None:
        """Maturity within the horizon; rules read evaluated metrics; claim-tied share."""
        if self.maturity is not None and self.maturity >= self.scenario.horizon:
            raise v.fail("Deal.maturity", self.maturity,
                         f"a period in [0, {self.scenario.horizon - 1}] (the horizon is "
                         f"{self.scenario.horizon} periods)")
        dates = self.contract.payment_periods if self.contract is not None else None
        if dates is not None and dates[-1] >= self.scenario.horizon:
            raise v.fail("Deal.contract.payment_periods", list(dates),
                         f"periods in [0, {self.scenario.horizon - 1}] (the horizon is "
                         f"{self.scenario.horizon} periods)")
        measured = {e.metric for e in self.evaluations}
        for i, rule in enumerate(self.termination):
            for m in rule.metrics():
                if m not in measured:
                    raise v.fail(f"Deal.termination[{i}].metric", m,
                                 f"a metric that an evaluation measures "
                                 f"({', '.join(sorted(measured))})")
        check_claim_share(self.contract, self.effective_payers)
        for i, rule in enumerate(self.termination):
            rule.check_deal(self, i)

    def _check_period_lists(self) -> None:
        """Per-period sequences have one value per period of the horizon (checked at load, so
        that a file whose horizon and lists disagree is refused before the run)."""
        P = self.scenario.horizon
        lists = {"service_costs.fixed_per_period": self.service_costs.fixed_per_period,
                 "capital.fees.intermediary_per_period":
                     getattr(self.capital.fees, "intermediary_per_period", None),
                 "contract.caps.per_period": getattr(self.contract.caps, "per_period", None)}
        for i, p in enumerate(self.payers):
            lists[f"payers[{i}].cap_per_period"] = p.cap_per_period
        for name, value in lists.items():
            if isinstance(value, tuple) and len(value) != P:
                raise v.fail(f"Deal.{name}", f"{len(value)} values", f"a number, or {P} values "
                             f"(one per period of the horizon of {P} periods)")

    # ------------------------------------------------------------------ convenience
    @property
    def has_money(self) -> bool:
        """True for a priced deal (evaluations, contract and capital given)."""
        return self.contract is not None

    @property
    def needs_engaged_events(self) -> bool:
        """True when a rate card counts the engaged participants' events (``count="engaged"``,
        ``measure="events"``) or a money evaluation of events has an effect on the engaged
        participants' money per event (``money.effect``): the outcome dataset then carries
        ``engaged_events`` (:func:`sibsim.simulate` asks the engines for them; other deals'
        datasets do not grow).

        >>> import sibsim
        >>> sibsim.load_scenario("peterborough").needs_engaged_events
        False
        """
        if any(e.outcome == "events" and e.money is not None and e.money.effect is not None
               for e in self.evaluations):
            return True
        return self.contract is not None and any(
            c.count == "engaged" and c.measure == "events" for c in self.contract.rate_cards)

    @property
    def effective_payers(self) -> tuple[Payer, ...]:
        """The bodies paying outcomes: ``payers``, or, when none is given, one payer
        ``"commissioner"`` paying all of every metric with the municipality's savings."""
        return effective_payers(self.payers, self.municipality)

    def payer_funds(self) -> np.ndarray | None:
        """The funds each payer receives in each period from its ``appropriations``, (Y, P)
        (inf: a payer without any; :func:`sibsim.money.payers.payer_funds`); None: none has."""
        return payer_funds(self.effective_payers, self.calendar_years())

    def payer_presence(self) -> np.ndarray | None:
        """Whether each payer takes part in each period, (Y, P), from the payers' ``first_year``
        and ``last_year`` (:mod:`sibsim.money.payer_scope`); None: every payer throughout."""
        return presence(self.effective_payers, self.calendar_years())

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def description(self) -> str:
        return self.scenario.description

    @property
    def effect(self) -> Any:
        return self.scenario.effect

    def calendar_years(self) -> np.ndarray:
        """Calendar year of each period, shape (horizon,): ``start_year + (start_period + p) //
        periods_per_year`` for period ``p`` (whole years since 1 January of ``start_year``;
        with no ``start_year``, 1 for the deal's first year).

        A quarterly deal whose period 0 is April-June 2013 (``start_year = 2013``,
        ``start_period = 1``) has three quarters in 2013, then four a year:

        >>> import sibsim
        >>> sibsim.load_scenario("peterborough").replace(start_year=2010).calendar_years()[:3]
        array([2010, 2011, 2012])
        >>> sibsim.load_scenario("essex-mst").calendar_years()[:6]
        array([2013, 2013, 2013, 2014, 2014, 2014])
        """
        ppy = self.scenario.periods_per_year
        first = 1 if self.start_year is None else self.start_year
        return first + (self.start_period + np.arange(self.scenario.horizon)) // ppy

    def replace(self, **changes: Any) -> Deal:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def with_values(self, values: dict[str, Any]) -> Deal:
        """A copy with the values at some paths changed, every object on the way validated
        again (see :func:`sibsim.spec.paths.with_values`).

        >>> import sibsim
        >>> deal = sibsim.load_scenario("peterborough")
        >>> deal.with_values({"contract.caps.total": 8e6}).contract.caps.total
        8000000.0
        """
        from sibsim.spec.paths import with_values

        return with_values(self, values)

    def with_scenario(self, **changes: Any) -> Deal:
        """A copy whose outcome scenario has some fields changed."""
        return replace(self, scenario=replace(self.scenario, **changes))


def first_mismatch(deals: Sequence[Deal]) -> tuple[int, str] | None:
    """The first deal whose cash cannot be added to the first deal's on one calendar, and what
    differs: ``(index, "currency" | "period" | "start_year")`` (a start year given for some
    deals and not others), or None when all fit (a programme's totals, a portfolio's fund).

    >>> import sibsim
    >>> first_mismatch([sibsim.load_scenario("lapset-sib-1"), sibsim.load_scenario("koto-sib")])
    (1, 'period')
    """
    first = deals[0]
    for i, d in enumerate(deals):
        if d.currency != first.currency:
            return i, "currency"
        if d.scenario.periods_per_year != first.scenario.periods_per_year:
            return i, "period"
        if (d.start_year is None) != (first.start_year is None):
            return i, "start_year"
    return None
