"""What the sensitivity methods share: the outputs, the inputs of a run, and the money chain
re-evaluated with some inputs set.

Outputs (per draw, then summarised over draws):

=====================================  ==========================================================
``investor_mean_irr``                  mean over draws of all investors' IRR a year, a total loss
                                       counted as -100% (draws with no IRR, e.g. no money out,
                                       are left out of the mean)
``investor_loss_probability``          share of draws where investors get back less than they
                                       put in
``commissioner_npv_mean``              mean NPV of the commissioner's net savings (all payers,
                                       social discount rate), currency
``commissioner_net_loss_probability``  share of draws where the commissioner pays more than it
                                       saves (undiscounted net savings < 0)
=====================================  ==========================================================
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from sibsim.analysis.metrics import (
    _investor_flows,
    discount_factors,
    investor_loss,
    present_value,
)
from sibsim.money.capital import investor_tranches
from sibsim.money.deal import Deal
from sibsim.money.evaluation import evaluate
from sibsim.money.evaluation_inputs import evaluation_inputs, with_evaluation_values
from sibsim.money.irr import irr
from sibsim.money.payers import valued_states
from sibsim.money.sib import EffectFree, counterfactual, effect_free, money_arrays, money_flows
from sibsim.money.termination import interim_results
from sibsim.money.uncertain import _holders, _walk, money_parameters, per_draw
from sibsim.resources import check_draws_fit
from sibsim.spec import _validate as v

__all__ = ["OUTPUTS", "PER_DRAW", "Chain", "output_values", "per_draw_outputs",
           "results_inputs"]

#: Summary outputs -> (per-draw output, description, units).
OUTPUTS = {
    "investor_mean_irr": ("investor_irr", "Investors' mean IRR a year (total loss = -100%)",
                          "per year"),
    "investor_loss_probability": ("investor_loss", "Probability that investors lose money",
                                  "probability"),
    "commissioner_npv_mean": ("commissioner_npv", "Commissioner's mean NPV of net savings",
                              "currency"),
    "commissioner_net_loss_probability": ("commissioner_net_loss",
                                          "Probability that the commissioner pays more than "
                                          "it saves", "probability"),
}
#: Per-draw outputs (what the given-data indices and scenario discovery read).
PER_DRAW = {v[0]: k for k, v in OUTPUTS.items()}


def check_output(name: str, allowed: Mapping[str, Any] = OUTPUTS) -> str:
    if name not in allowed:
        raise v.fail("output", name, "one of " + ", ".join(repr(k) for k in allowed))
    return name


def per_draw_outputs(money: xr.Dataset) -> dict[str, np.ndarray]:
    """The per-draw outputs of a money dataset: investor_irr (a year; -1 a total loss; NaN
    where no IRR exists), investor_loss (0/1), commissioner_npv (currency),
    commissioner_net_loss (0/1).

    The same numbers as ``investor_metrics(money).sel(investor="all")`` (``irr_annual``,
    ``loss``) and ``municipality_metrics(money)`` (``npv_net_savings``, ``net_loss``), computed
    without the other metrics (the tornado and Sobol evaluate them many times).
    """
    flows, drawn, got = _investor_flows(money)["all"]
    return _outputs(flows, drawn, got, money["net_savings"].values,
                    int(money.attrs["periods_per_year"]),
                    float(money.attrs["social_discount_rate_per_year"]))


def _outputs(flows: np.ndarray, drawn: np.ndarray, got: np.ndarray, net: np.ndarray, ppy: int,
             social_rate: float, only: str | None = None) -> dict[str, np.ndarray]:
    """:func:`per_draw_outputs` from all investors' flows, drawdowns and receipts and the
    commissioner's net savings, each (D, P); ``only``: compute just this per-draw output (the
    IRR, the one that costs, only when asked)."""
    out = {}
    if only in (None, "investor_irr"):
        r = irr(flows)
        out["investor_irr"] = np.where(r > -1, (1.0 + r) ** ppy - 1.0, r).astype(float)
    if only in (None, "investor_loss"):
        out["investor_loss"] = investor_loss(drawn.sum(-1), got.sum(-1)).astype(float)
    if only in (None, "commissioner_npv"):
        disc = discount_factors(social_rate, ppy, net.shape[-1])
        out["commissioner_npv"] = present_value(net, disc).astype(float)
    if only in (None, "commissioner_net_loss"):
        out["commissioner_net_loss"] = (net.sum(-1) < 0).astype(float)
    return out


def _summary(d: Mapping[str, np.ndarray], output: str) -> float:
    """One summary output of :data:`OUTPUTS` from the per-draw outputs."""
    x = d[OUTPUTS[output][0]]
    if output == "investor_mean_irr":
        return float(np.nanmean(x)) if np.isfinite(x).any() else np.nan
    return float(x.mean())


def output_values(money: xr.Dataset) -> dict[str, float]:
    """Each summary output of :data:`OUTPUTS` from a money dataset."""
    d = per_draw_outputs(money)
    return {name: _summary(d, name) for name in OUTPUTS}


def results_inputs(results: Any) -> tuple[list[str], np.ndarray]:
    """Names and per-draw values (D, k) of the uncertain inputs of a run (``SIBResults``):
    the scenario's parameters that vary over draws, the money assumptions, then the
    evaluations' inputs."""
    names, cols = [], []
    out = results.outcomes
    if "parameter_value" in out:
        for i, n in enumerate(out["parameter"].values):
            col = out["parameter_value"].values[:, i]
            if np.ptp(col) > 0:
                names.append(str(n))
                cols.append(col)
    money = results.money
    if "money_parameter_value" in money:
        for i, n in enumerate(money["money_parameter"].values):
            names.append(str(n))
            cols.append(money["money_parameter_value"].values[:, i])
    if "evaluation_parameter_value" in money:  # the evaluations' inputs
        for i, n in enumerate(money["evaluation_parameter"].values):
            names.append(str(n))
            cols.append(money["evaluation_parameter_value"].values[:, i])
    X = np.stack(cols, axis=1) if cols else np.zeros((money.sizes["draw"], 0))
    return names, X


def with_money_values(deal: Deal, values: Mapping[str, np.ndarray]) -> Deal:
    """The deal with some money assumptions set to given values per draw (the others are
    sampled as in the run; correlated ones keep their copula values). Internal: the copy is
    not validated again (a set input stays named in ``deal.correlation``)."""
    known = money_parameters(deal)
    for name in values:
        if name not in known:
            raise v.fail("money input", name, "an uncertain money assumption of the deal: "
                         + (", ".join(known) or "none"))
    new = copy.copy(deal)
    for attr, prefix, obj in _holders(deal):
        changes: dict[str, Any] = {}
        for name, f, key, _ in _walk(obj, prefix):
            if name in values:
                val = per_draw(values[name])
                if key is None:
                    changes[f] = val
                else:
                    changes.setdefault(f, dict(getattr(obj, f)))[key] = val
        if not changes:
            continue
        changed = copy.copy(obj)
        for f, val in changes.items():
            object.__setattr__(changed, f, val)
        if attr == "payers":
            object.__setattr__(new, "payers", tuple(changed if p is obj else p
                                                    for p in new.payers))
        else:
            object.__setattr__(new, attr, changed)
    return new


@dataclass
class Chain:
    """One run's outcome draws, kept to re-evaluate the money chain with inputs set.

    Money inputs re-use the outcome draws (only the money chain runs again); a scenario
    parameter re-runs the outcomes with ``overrides`` (same seed: the other parameters keep
    their draws).
    """

    deal: Deal
    draws: int
    seed: int
    engine: str = "auto"

    def __post_init__(self) -> None:
        from sibsim.dataset.build import simulate

        if not isinstance(self.deal, Deal) or not self.deal.has_money:
            raise v.fail("deal", type(self.deal).__name__, "a Deal with money terms")
        check_draws_fit(self.deal, self.draws)
        self.ds = simulate(self.deal, self.draws, self.seed, engine=self.engine, progress=False)
        self.cf = self._counterfactual({})
        self.table = evaluate(self.ds, self.deal.evaluations, self.seed)
        self.interim = interim_results(self.deal, self.ds, self.seed)
        self.money = money_flows(self.deal, self.ds, self.cf, table=self.table,
                                 interim=self.interim)
        from sibsim.report import warn_money

        warn_money(self.money, self.deal, stacklevel=3)  # said, as by sibsim.analyse
        self.money_names = set(money_parameters(self.deal))
        self.outcome_names = {n for n in self.deal.uncertain_inputs()
                              if n not in self.money_names}
        #: the evaluations' uncertain inputs (a comparison's bias, a historical rate): set,
        #: they change the measurements, not the outcome draws
        self.evaluation_names = set(evaluation_inputs(self.deal.evaluations))
        self._fixed: dict[Any, EffectFree] = {}
        self._fixed_lock = threading.Lock()  # ends evaluated on several threads share them

    def evaluate(self, values: Mapping[str, np.ndarray]) -> xr.Dataset:
        """The money dataset with the named inputs set to ``values`` (one value per draw)."""
        deal, ds, cf, reuse = self._inputs(values)
        if reuse:
            return money_flows(deal, ds, cf, table=self.table, interim=self.interim)
        return money_flows(deal, ds, cf)

    def output(self, values: Mapping[str, np.ndarray], output: str) -> float:
        """One summary output of :data:`OUTPUTS` with the named inputs set to ``values``: the
        same number as ``output_values(self.evaluate(values))[output]``, from the money arrays
        (no dataset), reusing what the inputs do not change and computing only that output."""
        deal, ds, cf, reuse = self._inputs(values)
        if reuse:  # the outcome draws of the run: its measurements and effect-free parts
            data, coords = money_arrays(deal, ds, cf, table=self.table, interim=self.interim,
                                        fixed=self._effect_free(deal))
        elif ds is self.ds:  # an evaluation's input: the run's outcome draws measured again
            # (what is kept of them is keyed by the evaluations where it depends on them)
            data, coords = money_arrays(deal, ds, cf, fixed=self._effect_free(deal))
        else:
            data, coords = money_arrays(deal, ds, cf)
        parties, tranches = list(coords["party"]), list(coords["tranche"])
        investors = [tranches.index(t) for t in investor_tranches(coords)]  # not grants
        # all investors added tranche by tranche, as _investor_flows does
        flows = np.sum([data["flow"][:, parties.index(tranches[i])] for i in investors], axis=0)
        drawn = np.sum([data["drawdown"][:, i] for i in investors], axis=0)
        got = np.sum([data["investor_received"][:, i] for i in investors], axis=0)
        per = _outputs(flows, drawn, got, data["net_savings"], int(ds.attrs["periods_per_year"]),
                       float(deal.municipality.discount_rate), only=OUTPUTS[output][0])
        return _summary(per, output)

    def _effect_free(self, deal: Deal) -> EffectFree:
        """The money's parts that no money input changes (engagement served, counterfactual
        totals), once per structure of the deal's terms."""
        key = (deal.service_periods, deal.service_costs.basis,
               tuple(sorted(deal.service_costs.per_state or ())),
               tuple(sorted(valued_states(deal.effective_payers, explicit=bool(deal.payers)))))
        with self._fixed_lock:  # one object per key, whichever thread asks first
            if key not in self._fixed:
                self._fixed[key] = effect_free(deal, self.ds, self.cf, same_outcomes=True)
            return self._fixed[key]

    def _inputs(self, values: Mapping[str, np.ndarray]
                ) -> tuple[Deal, xr.Dataset, xr.Dataset, bool]:
        """The deal, outcome draws and counterfactual with the named inputs set, and whether
        the outcome draws are the run's (only money inputs set)."""
        money_vals = {k: x for k, x in values.items() if k in self.money_names}
        eval_vals = {k: x for k, x in values.items() if k in self.evaluation_names}
        outcome_vals = {k: x for k, x in values.items()
                        if k not in self.money_names and k not in self.evaluation_names}
        deal = with_money_values(self.deal, money_vals) if money_vals else self.deal
        if eval_vals:  # the evaluations measure again, with the inputs set
            deal = deal.replace(evaluations=with_evaluation_values(
                deal.evaluations, {k: _one_value(k, x) for k, x in eval_vals.items()}))
        if not outcome_vals:
            return deal, self.ds, self.cf, not eval_vals
        from sibsim.dataset.build import effect_parameters, simulate, simulate_treated_again

        for k in outcome_vals:
            if k not in self.outcome_names:
                raise v.fail("input", k, "an uncertain input of the deal: " + ", ".join(
                    sorted(self.outcome_names | self.money_names | self.evaluation_names)))
        if self.deal.scenario.comparison is not None and set(outcome_vals) <= effect_parameters(
                self.deal.scenario):  # the treatment arm alone depends on them
            ds = simulate_treated_again(self.deal, self.ds, outcome_vals)
        else:
            ds = simulate(self.deal, self.draws, self.seed, engine=self.engine, progress=False,
                          overrides=outcome_vals)
        params = self.deal.scenario.with_effect(None).parameters()
        cf = (self.cf if not any(k in params for k in outcome_vals) else
              self._counterfactual({k: x for k, x in outcome_vals.items() if k in params}))
        return deal, ds, cf, False

    def _counterfactual(self, overrides: Mapping[str, np.ndarray]) -> xr.Dataset:
        """:func:`~sibsim.money.sib.counterfactual` of the run (the treatment arm's), with
        ``overrides`` of baseline parameters."""
        return counterfactual(self.deal, self.draws, self.seed, overrides=overrides or None)


def _one_value(name: str, values: np.ndarray) -> float:
    """The one value an evaluation's input is set to in every draw (a one-way end): an
    evaluation's input is set as a number, not per draw."""
    x = np.unique(np.asarray(values, dtype=float))
    if x.size != 1:
        raise v.fail(f"input {name}", "different values in different draws",
                     "one value for every draw (an evaluation's input is set as a number)")
    return float(x[0])
