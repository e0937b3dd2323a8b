"""Early termination, settlement and the deal's lifecycle in the waterfall.

A deal can stop before its horizon: the evaluator's interim result shows too small an effect
(NYC ABLE ended after the year-1 result showed no significant reduction), or the investors'
losses reach a stop-loss. Each **termination rule** is a :class:`TerminationRule` registered in
:data:`TERMINATION_RULES` by its TOML ``kind`` (``[[termination]]`` tables of a scenario file):

* :class:`EffectBelow` (``"effect_below"``): stop when an interim measured effect of a metric is
  below a threshold; computed from the evaluation results, per draw, before the waterfall;
* :class:`StopLoss` (``"stop_loss"``): stop when the investors' loss (capital drawn minus cash
  received) reaches an amount or a share of the commitment; it depends on the waterfall's
  state, so it is lowered to a kernel parameter and checked inside the waterfall;
* :class:`CancelLaterCohorts` (``"cancel_later_cohorts"``): a cancellation decided outside
  the contract (a policy change): from a period on, later entry waves never start, with a
  probability that it happens at all; the cohorts that started are still evaluated and paid
  (:mod:`sibsim.money.cancellation`);
* :class:`EndStratum` (``"end_stratum"``): one sub-project (a stratum of the cohort, e.g. one
  municipality) ends from a period on, with a probability that it happens at all, while the
  other strata continue: its people are no longer served (no service costs, so nothing drawn
  for them) and its own later results pay nothing (:mod:`sibsim.money.stratum_end`).

What a stop from period ``s`` means (per draw; ``s = P`` when the deal runs its course):

* **service**: nobody is served from ``s`` on; entry waves (cohorts) entering in ``s`` or later
  are never started; a cohort in service has its service cut at ``s``;
* **money out**: no service costs, fees or drawdowns from ``s`` on;
* **outcome payments**: results known before ``s`` are paid as the contract says (with its lag,
  even after ``s``: they are already due); results known in ``s`` or later pay nothing (the
  contract has ended). A deal that runs its course (``s = P``) has no stop: a result known
  after the horizon is paid as the contract's ``overflow`` says (in the last period, or left
  out);
* **savings**: the commissioner's savings count only the cohorts started before ``s`` (the
  others were not served, so they avoid nothing). A cohort whose service was cut keeps its
  simulated outcomes: the outcome model does not know the service was cut short;
* **settlement**: the deal settles, and the guarantee is paid, in ``s``, or in the period of the
  last payment already due if later, and never after the deal's ``maturity`` (the last period
  by default). A deal that runs its course settles at its maturity. The service runs at most
  to the maturity.

A stop-loss stop is only known inside the waterfall; :func:`lifecycle` then recomputes the
payments and costs with the stop and runs the waterfall again (the periods before the stop do
not change, so the second run confirms the stop).

Examples
--------
>>> rule = EffectBelow(metric="jail_days", threshold=0.085)
>>> rule.kind, rule.results, rule.notice
('effect_below', 'first', 0)
>>> StopLoss(share_of_commitment=0.5).limit(total_commitment=9.6e6)
4800000.0
>>> TERMINATION_RULES.names()
('effect_below', 'stop_loss', 'cancel_later_cohorts', 'end_stratum')
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sibsim.money.cashflows import CashFlows, waterfall
from sibsim.money.evaluation import evaluate
from sibsim.money.kernels.waterfall import ClaimShareArrays, LifecycleArrays
from sibsim.money.payer_waves import wave_payments
from sibsim.money.payers import PayerSplit, split_by_payer
from sibsim.money.results import Achievements, EvaluationTable, PaymentResult
from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution, Fixed, Uniform, require_support
from sibsim.spec.toml import KeyProblem, Section
from sibsim.spec.variant import Registry, Spec, param

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sibsim.money.cancellation import Cancellation
    from sibsim.money.contract import Contract
    from sibsim.money.deal import Deal
    from sibsim.money.payers import Payer

__all__ = [
    "TERMINATION_RULES",
    "CancelLaterCohorts",
    "EffectBelow",
    "EndStratum",
    "Lifecycle",
    "StopLoss",
    "TerminationRule",
    "check_claim_share",
    "contract_stop",
    "lifecycle",
    "read_termination",
    "started_cohorts",
    "stop_loss_limit",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

#: Termination rules by TOML ``kind`` (``[[termination]]`` tables).
TERMINATION_RULES = Registry("termination rule")


class TerminationRule(Spec):
    """Base of the termination rules: when the deal stops, per draw.

    A rule decided by evaluation results overrides :meth:`stop_period`; a rule decided by the
    waterfall's state overrides :meth:`limit` (the kernel checks it). Register a subclass with
    ``@TERMINATION_RULES.register``.
    """

    kind: ClassVar[str] = ""

    def metrics(self) -> tuple[str, ...]:
        """Metrics whose interim results the rule reads (they must be evaluated)."""
        return ()

    def stop_period(self, interim: EvaluationTable, n_periods: int) -> IntArray:
        """First period without service, per draw (``n_periods``: no stop); int array (D,).

        ``interim`` holds every interim result of the metrics in :meth:`metrics`: each
        cohort's and the pooled one, whether or not the contract pays on them.
        """
        return np.full(interim.n_draws, n_periods, dtype=np.int64)

    def limit(self, total_commitment: float) -> float:
        """Investors' loss (currency) at which the waterfall stops the deal; inf: none."""
        return math.inf

    #: The rule stands for a decision outside the contract (a policy change): the cohorts
    #: that started are still paid on their results (:class:`CancelLaterCohorts`).
    outside_contract: ClassVar[bool] = False

    def cancel_period(self, seed: int, draws: Any, n_periods: int) -> IntArray:
        """First period in which no entry wave starts, per draw (``n_periods``: none is
        cancelled); int array (D,). Only a rule decided outside the contract overrides it."""
        return np.full(len(np.asarray(draws)), n_periods, dtype=np.int64)

    #: The rule ends one stratum of the cohort, not the deal (:class:`EndStratum`).
    ends_stratum: ClassVar[bool] = False

    @property
    def policy_risk(self) -> bool:
        """True for a rule that states a risk rather than a contract term (a replay, which
        fixes what happened, drops it): a cancellation decided outside the contract, or a
        stratum's end with a probability below 1."""
        return self.outside_contract

    def check_deal(self, deal: Deal, index: int) -> None:
        """Refuse a deal the rule cannot apply to (``index``: its place in ``termination``)."""


@TERMINATION_RULES.register
@dataclass(frozen=True)
class EffectBelow(TerminationRule):
    """Stop when an interim measured effect is below a threshold (NYC ABLE).

    TOML: ``[[termination]]`` with ``kind = "effect_below"``, ``metric = "jail_days"``,
    ``threshold = 0.085``.

    Parameters
    ----------
    metric : str
        The evaluated metric whose interim results are read.
    threshold : float
        The deal stops when the measured effect (fraction, 0.085 = 8.5%) is below it.
    results : {"first", "any"}, default "first"
        ``"first"``: only the metric's first interim result (the first cohort's, read even
        when the contract pays only on the pooled result); ``"any"``: every interim result
        (each cohort's and the pooled one); the first one below the threshold stops the deal.
    or_not_significant : bool, default False
        Also stop when the result fails the evaluation's significance gate (``alpha``).
    notice : int, default 0
        Periods between the result and the stop: a result known in period ``q`` stops the deal
        from ``q + 1 + notice`` (the service of period ``q`` is delivered).

    Examples
    --------
    >>> import numpy as np
    >>> table = EvaluationTable(("m", "m"), (1, 2), (False, False), (100, 100),
    ...                         measured_effect=[[0.05, 0.2], [0.2, 0.01], [0.2, 0.2]],
    ...                         units=np.zeros((3, 2)))
    >>> EffectBelow("m", 0.1).stop_period(table, n_periods=5).tolist()
    [2, 5, 5]
    >>> EffectBelow("m", 0.1, results="any").stop_period(table, n_periods=5).tolist()
    [2, 3, 5]
    """

    kind = "effect_below"

    metric: str = param(v.label, doc="evaluated metric")
    threshold: float = param(v.fraction(), doc="measured effect (fraction) below which to stop")
    results: str = param(v.one_of("first", "any"), default="first",
                         doc="the first interim result only, or any of them")
    or_not_significant: bool = param(v.flag, default=False,
                                     doc="also stop on a failed significance gate")
    notice: int = param(v.integer(0), default=0, doc="periods from the result to the stop, less 1")

    def metrics(self) -> tuple[str, ...]:
        return (self.metric,)

    def stop_period(self, interim: EvaluationTable, n_periods: int) -> IntArray:
        """First period without service, per draw (``n_periods``: no stop)."""
        stop = np.full(interim.n_draws, n_periods, dtype=np.int64)
        mine = [k for k in range(interim.n_triggers) if interim.metric[k] == self.metric]
        mine.sort(key=lambda k: interim.period[k])
        if self.results == "first":
            mine = mine[:1]
        for k in mine:
            below = interim.measured_effect[:, k] < self.threshold
            if self.or_not_significant:
                below |= ~interim.gate[:, k]
            at = min(interim.period[k] + 1 + self.notice, n_periods)
            stop = np.where(below, np.minimum(stop, at), stop)
        return stop


@TERMINATION_RULES.register
@dataclass(frozen=True)
class StopLoss(TerminationRule):
    """Stop when the investors' loss reaches a stop-loss (checked inside the waterfall).

    The loss is capital drawn minus cash received (all tranches, guarantee not counted),
    checked at the end of every period in service; once it reaches the limit the deal stops
    from the next period. TOML: ``[[termination]]`` with ``kind = "stop_loss"`` and
    ``share_of_commitment = 0.5`` (or ``amount = 3_000_000``).

    Parameters
    ----------
    amount : float or None
        The loss (currency, > 0) that stops the deal.
    share_of_commitment : float or None
        The same as a fraction in (0, 1] of the total commitment. Give exactly one.

    Examples
    --------
    >>> StopLoss(amount=3e6).limit(total_commitment=9.6e6)
    3000000.0
    """

    kind = "stop_loss"

    amount: float | None = param(v.optional(v.interval(0.0, math.inf, low_open=True)),
                                 default=None, doc="currency")
    share_of_commitment: float | None = param(
        v.optional(v.fraction(0.0, 1.0, low_open=True)), default=None,
        doc="fraction of the total commitment")

    def validate(self) -> None:
        if (self.amount is None) == (self.share_of_commitment is None):
            raise v.fail("StopLoss.amount", (self.amount, self.share_of_commitment),
                         "exactly one of amount or share_of_commitment")

    def limit(self, total_commitment: float) -> float:
        if self.amount is not None:
            return self.amount
        return float(self.share_of_commitment) * total_commitment  # type: ignore[arg-type]


class _Probability(v.Constraint):
    """A probability: a number in [0, 1] (kept as a float) or a one-dimensional distribution
    whose values lie in [0, 1] (e.g. a beta)."""

    description = "a probability: a number in [0, 1] or a distribution with values in [0, 1]"

    def __call__(self, field: str, value: object) -> float | Distribution:
        if isinstance(value, Fixed):
            value = value.value
        if isinstance(value, Distribution):
            if value.size != 1:
                raise v.fail(field, value.describe(), self.description)
            return require_support(field, value, 0.0, 1.0, "a probability")
        return v.fraction(0.0, 1.0)(field, value)  # type: ignore[no-any-return]


class _Chance:
    """What a rule that happens in a draw with a ``probability`` (a number or a distribution)
    shares: :class:`CancelLaterCohorts` and :class:`EndStratum`. Each draw decides with a
    Bernoulli draw on the keyed random streams named after :meth:`_stream` (results depend on
    the seed alone; a block of a longer run gets the values the whole run gives its draws)."""

    kind: ClassVar[str]
    from_period: int
    probability: float | Distribution

    def _stream(self) -> str:
        """Name of the rule's random streams (``<name>.draw``, ``<name>.probability``)."""
        return f"termination.{self.kind}"

    @property
    def inert(self) -> bool:
        """True when the rule never applies (``probability`` exactly 0)."""
        return isinstance(self.probability, float) and self.probability == 0.0

    def happens(self, seed: int, draws: Any) -> NDArray[np.bool_]:
        """Whether the rule applies in each of the draws with global indices ``draws``."""
        from sibsim.money.evaluation import _sample_for_draws

        draws = np.asarray(draws, dtype=np.int64)
        name = self._stream()
        p: Any = self.probability
        if isinstance(p, Distribution):
            p = _sample_for_draws(p, f"{name}.probability", seed, draws)
        u = _sample_for_draws(Uniform(0.0, 1.0), f"{name}.draw", seed, draws)
        return np.asarray(u < p)

    def describe_probability(self) -> str:
        """The probability in words: ``"0.2"`` or the distribution's description."""
        p = self.probability
        return p.describe() if isinstance(p, Distribution) else f"{p:g}"

    def refuse_unsplit_terms(self, deal: Deal, field: str, rate_cards_why: str) -> None:
        """Refuse what such a rule cannot split between the part that runs and the part that
        ends: ``from_period`` after the deal's maturity, rate cards (``rate_cards_why``: why
        their achievements cannot be told apart) and a claim-tied share (paid in the waterfall
        on the planned results)."""
        if deal.maturity is not None and self.from_period > deal.maturity:
            raise v.fail(f"{field}.from_period", self.from_period,
                         f"a period at or before the deal's maturity ({deal.maturity})")
        contract = deal.contract
        assert contract is not None
        if contract.rate_cards:
            raise v.fail(f"{field}.kind", self.kind,
                         f"a deal without rate cards ({rate_cards_why})")
        if any(getattr(term.rule, "in_waterfall", False) for term in contract.terms):
            raise v.fail(f"{field}.kind", self.kind,
                         "a deal without a claim-tied share (claim_share is paid in the "
                         "waterfall on the planned results)")

    def _first_period(self, seed: int, draws: Any, n_periods: int) -> IntArray:
        """``from_period`` where the rule applies, else ``n_periods``; int array (D,)."""
        happens = self.happens(seed, draws)
        return np.where(happens, min(self.from_period, n_periods), n_periods).astype(np.int64)


@TERMINATION_RULES.register
@dataclass(frozen=True)
class CancelLaterCohorts(_Chance, TerminationRule):
    """A cancellation decided outside the contract: later entry waves never start (Peterborough).

    From ``from_period`` on, no entry wave (cohort) starts: a government policy, not a contract
    rule, ends the programme (Peterborough's third cohort was cancelled when Transforming
    Rehabilitation took over short-sentence supervision). Unlike :class:`EffectBelow`, the
    contract does not end: the cohorts that had started are still evaluated and paid on their
    results when they are known. ``probability`` is the chance that the cancellation happens at
    all, an assumption; each draw decides it with a Bernoulli draw on the keyed random streams
    (so results depend on the seed alone). In a draw where it happens
    (:mod:`sibsim.money.cancellation`):

    * **service and money out**: as for any stop from ``from_period`` (no service, service
      costs, fees or drawdowns from then on; later waves are never served);
    * **the cohorts that started**: their own results (``per_wave``) are measured and paid as
      the contract says, even when known after ``from_period``;
    * **pooled results**: the pooled result measures the waves that ran only, known when the
      last of their windows has ended (plus ``report_lag``), and is priced by the pooled rule:
      an extra trigger per pooled evaluation (``trigger_pooled`` = 1, after the planned pooled
      trigger); the planned pooled result over every wave is not measured (0, gate 0);
    * **savings**: only the cohorts that started avoid anything;
    * **settlement**: when the last payment due on the cohorts that ran is made (never after
      the deal's ``maturity``).

    TOML: ``[[termination]]`` with ``kind = "cancel_later_cohorts"``, ``from_period = 2``,
    ``probability = 0.3`` (or ``{dist = "beta", mean = 0.3, sd = 0.1}``).

    Parameters
    ----------
    from_period : int
        The first period (0-based) in which no entry wave starts; waves entering earlier run.
        It must lie after the first wave's entry and at or before the last wave's (some
        cohorts run, some are cancelled), and at or before the deal's ``maturity``.
    probability : float or Distribution, default 1
        The probability that the cancellation happens (a fraction; a distribution is sampled
        per draw as ``termination.cancel_later_cohorts.probability``).

    Examples
    --------
    >>> rule = CancelLaterCohorts(from_period=2, probability=0.5)
    >>> rule.cancel_period(seed=1, draws=np.arange(6), n_periods=8).tolist()
    [8, 2, 2, 2, 2, 2]
    >>> CancelLaterCohorts(from_period=2, probability=0.0).inert
    True
    """

    kind = "cancel_later_cohorts"
    outside_contract = True

    from_period: int = param(v.integer(1), doc="first period (0-based) in which no wave starts")
    probability: float | Distribution = param(
        _Probability(), default=1.0, uncertain=True,
        doc="probability that the cancellation happens (a fraction, or a distribution)")

    def cancel_period(self, seed: int, draws: Any, n_periods: int) -> IntArray:
        return self._first_period(seed, draws, n_periods)

    def check_deal(self, deal: Deal, index: int) -> None:
        from sibsim.money.cancellation import check_cancellation

        check_cancellation(self, deal, index)


@TERMINATION_RULES.register
@dataclass(frozen=True)
class EndStratum(_Chance, TerminationRule):
    """One sub-project ends while the others continue (Lapset-SIB I: Vantaa after 3 years).

    A deal whose cohort has strata with their own evaluations and payers (one municipality
    each) can lose one of them: from ``from_period`` on, the stratum ``stratum`` is no longer
    served, while the deal and its other strata run on. ``probability`` is the chance that the
    end happens at all (1 for a known fact of the deal, else an assumption); each draw decides
    it with a Bernoulli draw on the keyed random streams (results depend on the seed alone).
    In a draw where it happens (:mod:`sibsim.money.stratum_end`):

    * **service**: the stratum's people are not served from ``from_period`` on (other strata
      as planned); the service costs per participant (and per state) of those people are not
      incurred, so nothing is drawn down for them; the deal's ``fixed_per_period`` costs are
      shared by every stratum and stay;
    * **outcome payments**: the results of the evaluations measuring the stratum alone
      (``stratum = "..."``) that are known before ``from_period`` are paid as the contract
      says (with its lag, even later); those known in ``from_period`` or later pay nothing
      (gate 0; the measured effect is still reported as the evaluator would have found it).
      The payers' shares follow the metrics, so a payer tied to the stratum's metric stops
      paying;
    * **savings**: the stratum's simulated outcomes stand (the outcome model does not know the
      service ended, as for a cohort whose service a stop cut); its payers keep the savings
      the simulated outcomes give;
    * **the deal** does not stop: no settlement, stop_period or maturity changes.

    TOML: ``[[termination]]`` with ``kind = "end_stratum"``, ``stratum = "vantaa"``,
    ``from_period = 4``, ``probability = 1`` (or ``{dist = "beta", mean = 0.3, sd = 0.1}``).

    Parameters
    ----------
    stratum : str
        The stratum (a name of ``[[cohort.strata]]``) that ends.
    from_period : int
        The first period (0-based) in which the stratum is not served. It must lie after the
        stratum's last entry wave with people (everyone in it started the service: people
        never served would keep the service's effect in their simulated outcomes) and before
        the horizon (and at or before the deal's ``maturity``).
    probability : float or Distribution, default 1
        The probability that the stratum ends (a fraction; a distribution is sampled per draw
        as ``termination.end_stratum.<stratum>.probability``).

    Examples
    --------
    >>> rule = EndStratum(stratum="vantaa", from_period=4, probability=0.5)
    >>> rule.end_period(seed=1, draws=np.arange(6), n_periods=12).tolist()
    [12, 4, 4, 12, 12, 12]
    >>> EndStratum(stratum="vantaa", from_period=4, probability=0.0).inert
    True
    """

    kind = "end_stratum"
    ends_stratum = True

    stratum: str = param(v.label, doc="the stratum (sub-project) that ends")
    from_period: int = param(v.integer(1), doc="first period (0-based) without its service")
    probability: float | Distribution = param(
        _Probability(), default=1.0, uncertain=True,
        doc="probability that the stratum ends (a fraction, or a distribution)")

    @property
    def policy_risk(self) -> bool:
        """A stratum's end is a risk (dropped by a replay) unless it is certain."""
        return not (isinstance(self.probability, float) and self.probability == 1.0)

    def _stream(self) -> str:
        return f"termination.{self.kind}.{self.stratum}"  # each stratum its own stream

    def end_period(self, seed: int, draws: Any, n_periods: int) -> IntArray:
        """First period in which the stratum is not served, per draw (``n_periods``: it
        does not end); int array (D,)."""
        return self._first_period(seed, draws, n_periods)

    def check_deal(self, deal: Deal, index: int) -> None:
        from sibsim.money.stratum_end import check_stratum_end

        check_stratum_end(self, deal, index)


def read_termination(top: Section) -> tuple[TerminationRule, ...]:
    """Read the ``[[termination]]`` tables of a scenario file (none: an empty tuple)."""
    if "termination" not in top.data:
        return ()
    raw = top.get("termination")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise KeyProblem("termination", "expected one or more [[termination]] tables")
    return tuple(TERMINATION_RULES.from_toml(Section(f"termination[{i}]", item))
                 for i, item in enumerate(raw))


# --------------------------------------------------------------------------------------
# claim-tied savings share: the contract's part
# --------------------------------------------------------------------------------------


def paid_in_waterfall(rule: Any) -> bool:
    """True for a pricing rule the waterfall pays (a claim-tied share), not the ledger."""
    return bool(getattr(rule, "in_waterfall", False))


def check_claim_share(contract: Contract, payers: Sequence[Payer] = ()) -> None:
    """Refuse a claim-tied share (``ClaimShare``) where the waterfall cannot honour the terms.

    At most one metric may use it, for its cohort and pooled triggers alike, and no
    contract-wide, per-person or payer cap may apply (the waterfall applies only the metric's
    cap; the payers share the amount by their shares of the metric, uncapped).
    """
    waterfall_terms = [t for t in contract.terms
                       if paid_in_waterfall(t.rule) or paid_in_waterfall(t.pooled_rule)]
    if not waterfall_terms:
        return
    if len(waterfall_terms) > 1:
        raise v.fail("Contract.terms", [t.metric for t in waterfall_terms],
                     "at most one metric with a claim-tied share (kind 'claim_share')")
    t = waterfall_terms[0]
    if t.pooled_rule is not None and paid_in_waterfall(t.rule) != paid_in_waterfall(t.pooled_rule):
        raise v.fail(f"Contract.terms[{t.metric}].pooled_rule", t.pooled_rule,
                     "a claim-tied share like 'rule', or none")
    caps = contract.caps
    for name, value in (("caps.per_period", caps.per_period), ("caps.total", caps.total),
                        ("caps.per_person", caps.per_person),
                        (f"terms[{t.metric}].per_person_cap", t.per_person_cap)):
        if value is not None:
            raise v.fail(f"Contract.{name}", value, "None with a claim-tied share (the "
                         "waterfall computes it and applies only the metric's cap)")
    for p in payers:
        if p.cap_total is not None or p.cap_per_period is not None:
            raise v.fail(f"Payer[{p.name}].cap_total/cap_per_period",
                         (p.cap_total, p.cap_per_period),
                         "None with a claim-tied share (the waterfall computes it)")
        if p.appropriations is not None:  # the waterfall's claim would not see the wait
            raise v.fail(f"Payer[{p.name}].appropriations", p.appropriations,
                         "None with a claim-tied share (the waterfall computes it)")


def _claim_arrays(contract: Contract, table: EvaluationTable, n_periods: int) -> ClaimShareArrays:
    for t in contract.terms:
        if paid_in_waterfall(t.rule):
            ks = sorted((k for k in range(table.n_triggers) if table.metric[k] == t.metric),
                        key=lambda k: table.period[k])
            return t.rule.lower(  # type: ignore[attr-defined, no-any-return]
                table.measured_effect[:, ks], table.avoided_cost[:, ks], table.gate[:, ks],
                [table.cumulative[k] for k in ks],
                [contract.payment_period(table.period[k], n_periods)[0] for k in ks],
                n_periods, t.cap)
    return ClaimShareArrays.none()


def _with_claim_share(pay: PaymentResult, contract: Contract, claim: FloatArray) -> PaymentResult:
    """The ledger's payments plus the claim-tied share paid in the waterfall."""
    m = next(i for i, t in enumerate(contract.terms) if paid_in_waterfall(t.rule))
    by_metric = pay.by_metric.copy()
    by_metric[:, m, :] += claim
    return dataclasses.replace(pay, total=pay.total + claim, by_metric=by_metric)


# --------------------------------------------------------------------------------------
# the lifecycle of one run
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Lifecycle:
    """A run's money once termination, settlement and the claim-tied share are applied.

    Attributes
    ----------
    stop : int array (D,)
        First period without service, drawdowns or fees (P: the deal ran its course).
    payments : PaymentResult
        Outcome payments, nothing on results known from the stop on; a claim-tied share is
        included in ``total`` and ``by_metric``.
    achieved : Achievements or None
        What the rate cards counted, none from the stop on.
    served : array (D, P)
        Participants served (people), none from the stop on.
    costs : array (D, P)
        Service costs incurred (currency), none from the stop on.
    back : callable
        Returns :attr:`split` and :attr:`flows` (the same objects at every call). Where the
        waterfall cannot move the stop (no stop-loss, no claim-tied share) they are made at
        the first call: a caller that reads the payments and costs alone (the break-even
        search's :mod:`~sibsim.money.kernels.from_payments`) does not pay for them.
    """

    stop: IntArray
    payments: PaymentResult
    achieved: Achievements | None
    served: FloatArray
    costs: FloatArray
    back: Callable[[], tuple[PayerSplit, CashFlows]]

    @property
    def split(self) -> PayerSplit:
        """The payments split among the deal's payers (after their caps); ``split.total`` is
        what entered the waterfall (plus any claim-tied share)."""
        return self.back()[0]

    @property
    def flows(self) -> CashFlows:
        """The waterfall's result (settlement period, reserve, stop)."""
        return self.back()[1]

    def started(self, entry_period: Any) -> NDArray[np.bool_]:
        """Which entry waves started before the stop, bool (D, W) (others were not served)."""
        return started_cohorts(entry_period, self.stop)


def started_cohorts(entry_period: Any, stop: Any) -> NDArray[np.bool_]:
    """Which entry waves (entering in ``entry_period`` (W,)) started before each draw's stop
    period ``stop`` (D,), bool (D, W).

    >>> started_cohorts([0, 1, 2], np.array([8, 2])).tolist()
    [[True, True, True], [True, True, False]]
    """
    return np.asarray(entry_period)[None, :] < np.asarray(stop)[:, None]


def stop_loss_limit(deal: Deal) -> float:
    """The investors' loss (currency) at which the waterfall stops ``deal``: the smallest of
    its termination rules' limits; inf: none (the waterfall then cannot move the stop)."""
    assert deal.capital is not None
    return min((rule.limit(deal.capital.total_commitment) for rule in deal.termination),
               default=math.inf)


def contract_stop(deal: Deal, n_periods: int) -> int:
    """The first period after the contract's maturity, at most ``n_periods``: every draw's stop
    before termination rules and cancellations (:func:`lifecycle`)."""
    return min(n_periods, _maturity(deal, n_periods) + 1)


def _maturity(deal: Deal, n_periods: int) -> int:
    return n_periods - 1 if deal.maturity is None else min(deal.maturity, n_periods - 1)


def _settle_at(contract: Contract, table: EvaluationTable, n_periods: int,
               maturity: int) -> IntArray:
    """Settlement period for a stop from each period ``s`` in 0..P (P: no stop)."""
    out = np.empty(n_periods + 1, dtype=np.int64)
    for s in range(n_periods + 1):
        last = s
        for k in range(table.n_triggers):
            q = contract.payment_period(table.period[k], n_periods)[0]
            if table.period[k] < s and q is not None:
                last = max(last, q)
        out[s] = min(last, maturity)
    return out


def interim_results(deal: Deal, ds: xr.Dataset, seed: int) -> EvaluationTable | None:
    """Every interim result of the metrics the termination rules read (None: no such rule).

    The deal's evaluations of those metrics are measured per cohort as well as pooled as
    configured: an evaluator reports each cohort's result even when the contract pays only
    on the pooled one.
    """
    needed = {m for rule in deal.termination for m in rule.metrics()}
    if not needed:
        return None
    evs = tuple(dataclasses.replace(ev, per_wave=True) for ev in deal.evaluations
                if ev.metric in needed)
    return evaluate(ds, evs, seed)


def lifecycle(deal: Deal, table: EvaluationTable, served: FloatArray,
              interim: EvaluationTable | None,
              achieved: Achievements | None = None,
              served_by_state: Mapping[str, FloatArray] | None = None,
              full_costs: FloatArray | None = None,
              cancel: Cancellation | None = None,
              kept: dict[Any, Any] | None = None) -> Lifecycle:
    """Payments, costs and the waterfall of a deal, with its termination rules applied.

    Parameters
    ----------
    deal : Deal
        A priced deal.
    table : EvaluationTable
        The contract's evaluation results (D, K).
    served : array (D, P)
        Participants served if the deal ran its course (people).
    interim : EvaluationTable or None
        Interim results (:func:`interim_results`); None when no rule reads them.
    achieved : Achievements or None
        What the contract's rate cards count (``contract.achievements``), if any.
    served_by_state : mapping state -> array (D, P), optional
        Of those served, the ones in each state that ``service_costs.per_state`` prices.
    full_costs : array (D, P), optional
        ``deal.service_costs.cost(served, served_by_state)``, if already computed (the
        costs had the deal run its course; a stop masks them).
    cancel : Cancellation, optional
        A cancellation decided outside the contract (:mod:`sibsim.money.cancellation`, with
        ``table`` from :func:`~sibsim.money.cancellation.apply_cancellation`): it stops the
        service but not the payments on results known later.
    kept : dict, optional
        A memo kept between calls on the same draws (the break-even search's
        :class:`~sibsim.money.sib.EffectFree`): when no rule reads interim results, the first
        stop, and with it the masks of the periods served and of the results known, does not
        depend on the outcomes; they are kept there for the same cancellation, people served,
        service costs and trigger periods (the very objects), and not computed again.

    Returns
    -------
    Lifecycle
        Without termination rules, claim-tied share or maturity, exactly the plain
        ``contract.outcome_payments`` -> ``split_by_payer`` -> ``service_costs.cost`` ->
        ``waterfall`` chain.
    """
    contract, capital = deal.contract, deal.capital
    assert contract is not None and capital is not None
    n_draws, n_periods = served.shape
    maturity = _maturity(deal, n_periods)
    stop = np.full(n_draws, contract_stop(deal, n_periods), dtype=np.int64)
    for rule in deal.termination:
        if interim is not None and rule.metrics():
            stop = np.minimum(stop, rule.stop_period(interim, n_periods))
    loss_limit = stop_loss_limit(deal)
    settle_at = _settle_at(contract, table, n_periods, maturity)
    paid_until = stop  # results known from here on pay nothing (the contract has ended)
    if cancel is not None:  # a cancellation ends the service, not the contract
        stop = np.minimum(stop, cancel.stop)
        settle_at = cancel.settle_at(settle_at, contract, table, n_periods, maturity)
    t = np.arange(n_periods)
    if full_costs is None:  # the service costs had the deal run its course (elementwise in
        full_costs = deal.service_costs.cost(served, served_by_state or None)  # the served)
    payers, presence, funds = deal.effective_payers, deal.payer_presence(), deal.payer_funds()
    # the first stop depends on the outcomes only through interim results
    outcome_free = kept is not None and not (
        interim is not None and any(rule.metrics() for rule in deal.termination))
    tied = (None if cancel is None else cancel.stop, served, full_costs)
    key = ("lifecycle_masks", n_draws, n_periods, maturity, tuple(table.period))
    for run in range(n_periods + 1):  # converges in at most two runs (see the module notes)
        hit = kept.get(key) if outcome_free and run == 0 else None  # type: ignore[union-attr]
        if hit is not None and all(a is b for a, b in zip(hit[0], tied, strict=True)):
            stop, runs_its_course, active, known, known_all, served_now, costs = hit[1]
        else:
            # a stop at the horizon changes nothing: skip the masks (the same numbers, bit
            # for bit)
            runs_its_course = bool(stop.min() >= n_periods)
            active = t[None, :] < stop[:, None]
            # a draw that runs its course has no stop: its results known after the horizon
            # are paid as the contract's overflow says (in the last period, or left out)
            until = stop if cancel is None else paid_until
            known = np.asarray(table.period)[None, :] < np.where(
                until >= n_periods, np.iinfo(np.int64).max, until)[:, None]
            known_all = bool(known.all())
            if runs_its_course:
                served_now, costs = served, full_costs
            else:  # the costs are elementwise in the people served: masking them masks them
                served_now = np.where(active, served, 0.0)
                costs = np.where(active, full_costs, 0.0)
            if outcome_free and run == 0:
                # the masks made here, read-only; not the stop, which the waterfall kernel
                # reads as it is (a read-only array would compile it again)
                made = (active, known) if runs_its_course else (active, known, served_now,
                                                                costs)
                for a in made:
                    a.flags.writeable = False
                kept[key] = (tied, (stop, runs_its_course, active, known, known_all,  # type: ignore[index]
                                    served_now, costs))
        gated = table if known_all else dataclasses.replace(table, gate=table.gate & known)
        achieved_now = achieved
        if achieved is not None and not runs_its_course:  # nothing counts from the stop on
            achieved_now = dataclasses.replace(
                achieved, counts=np.where(active[:, None, None, :], achieved.counts, 0.0))
        pay = contract.outcome_payments(gated, n_periods, achieved_now)
        life = LifecycleArrays(stop, settle_at, loss_limit,
                               _claim_arrays(contract, gated, n_periods))
        back = _back(deal, (payers, presence, funds), pay, gated, costs, life)
        if not (loss_limit < math.inf or life.claim.active):
            # the waterfall cannot move the stop (no stop-loss, no claim-tied share): this run
            # is the last, and its split and waterfall are made when first read
            return Lifecycle(stop=stop, payments=pay, achieved=achieved_now, served=served_now,
                             costs=costs, back=back)
        split, flows = back()
        if np.array_equal(flows.stop_period, stop):
            break
        stop = np.asarray(flows.stop_period, dtype=np.int64).copy()
    if life.claim.active:  # the payers share it by their shares of the metric, uncapped
        pay = _with_claim_share(pay, contract, np.asarray(flows.claim_share_paid))
        split = split_by_payer(payers, pay, presence, wave_payments(
            deal, gated, pay, n_periods, np.asarray(flows.claim_share_paid)), funds)
    made = (split, flows)
    return Lifecycle(stop=stop, payments=pay, achieved=achieved_now, served=served_now,
                     costs=costs, back=lambda: made)


def _back(deal: Deal, payers: tuple[Any, Any, Any], pay: PaymentResult,
          gated: EvaluationTable, costs: FloatArray, life: LifecycleArrays
          ) -> Callable[[], tuple[PayerSplit, CashFlows]]:
    """The payers' split of ``pay`` and the waterfall of a lifecycle's last run, made at the
    first call (the same objects at every call): :attr:`Lifecycle.back`. ``payers``: the
    deal's effective payers, their presence and their funds."""

    @functools.cache
    def back() -> tuple[PayerSplit, CashFlows]:
        effective, presence, funds = payers
        n_periods = costs.shape[1]
        split = split_by_payer(effective, pay, presence,
                               wave_payments(deal, gated, pay, n_periods),  # payer_waves.py
                               funds)
        assert deal.capital is not None
        return split, waterfall(deal.capital, costs, split.total, life)
    return back
