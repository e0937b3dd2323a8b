"""One-way sensitivity (tornado): each uncertain input at a low and a high value in turn.

For each uncertain input (a scenario parameter, a money assumption or an evaluation's input,
such as a matched comparison's bias) the input is set to its 10th and then its 90th
percentile (the quantiles of its own distribution), or to a range the user gives, in every
draw, while every other input keeps its draws; the output is computed again at each end. The
swing ``|high - low|`` orders the inputs. Money inputs re-use the outcome draws (only the money
chain runs again); an evaluation's input measures the same outcome draws again with the input
a number (:func:`sibsim.money.evaluation_inputs.with_evaluation_values`); a scenario parameter
re-runs the outcomes with ``overrides`` on the same seed.

Reference: Briggs, A., Claxton, K. and Sculpher, M. (2006), Decision Modelling for Health
Economic Evaluation, ch. 4 (one-way sensitivity analysis and tornado diagrams); Eschenbach,
T. G. (1992), "Spiderplots versus tornado diagrams for sensitivity analysis", Interfaces 22(6).

Examples
--------
>>> import sibsim
>>> from sibsim.analysis.sensitivity.tornado import tornado
>>> t = tornado(sibsim.load_scenario("peterborough"), output="commissioner_npv_mean",
...             draws=50, seed=1)
>>> t["value"].dims
('input', 'end')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from sibsim.analysis.heap import kept_heap
from sibsim.analysis.sensitivity._common import OUTPUTS, Chain, check_output, output_values
from sibsim.analysis.threads import in_order
from sibsim.money.deal import Deal
from sibsim.money.evaluation_inputs import evaluation_inputs
from sibsim.spec import _validate as v
from sibsim.spec.correlation import quantile
from sibsim.spec.distributions import Fixed

__all__ = ["run", "tornado"]

#: The percentiles of the two ends by default.
DEFAULT_LEVELS = (0.10, 0.90)


def tornado(deal: Deal, output: str = "investor_mean_irr", *, draws: int = 1000,
            seed: int = 0, inputs: Sequence[str] | None = None,
            ranges: Mapping[str, tuple[float, float]] | None = None,
            engine: str = "auto") -> xr.Dataset:
    """One-way sensitivity of ``output`` to each uncertain input.

    Parameters
    ----------
    deal : Deal
        A priced deal with uncertain inputs (distributions).
    output : str
        ``"investor_mean_irr"``, ``"investor_loss_probability"``, ``"commissioner_npv_mean"``
        or ``"commissioner_net_loss_probability"`` (see
        :mod:`sibsim.analysis.sensitivity._common`).
    draws, seed : int
        Monte Carlo draws and seed of the run (every end uses the same draws).
    inputs : sequence of str, optional
        Inputs to vary (default: every uncertain input: ``deal.uncertain_inputs()``, the
        scenario's parameters and the money assumptions, then the evaluations' inputs,
        :func:`sibsim.money.evaluation_inputs.evaluation_inputs`, e.g. a matched comparison's
        ``evaluation.<metric>.bias``).
    ranges : mapping name -> (low, high), optional
        Values of the two ends for some inputs, instead of the 10th and 90th percentiles.

    Returns
    -------
    xarray.Dataset
        ``value (input, end)``: the output with the input at each end (``end`` = "low",
        "high"); ``input_value (input, end)``: the input's value there; ``swing (input)``;
        inputs sorted by swing, largest first. ``attrs``: ``output``, ``base`` (the output with
        every input uncertain), ``draws``, ``seed``, and ``not_varied`` (by default, where there
        are any: the uncertain parameters of several numbers each, such as a Dirichlet row of
        transition probabilities, which have no one-way ends; the given-data indices take
        each of their numbers).
    """
    check_output(output)
    v.positive_int("draws", draws)
    # the scenario's parameters and the money assumptions, then the evaluations' inputs
    known = {**deal.uncertain_inputs(), **evaluation_inputs(deal.evaluations)}
    names = list(known) if inputs is None else list(inputs)
    for n in names:
        if n not in known:
            raise v.fail("tornado.inputs", n, "uncertain inputs of the deal: "
                         + (", ".join(known) or "none (give some inputs distributions)"))
    if not names:
        raise v.fail("tornado.inputs", names, "at least one uncertain input (give some "
                     "inputs distributions)")
    ranges = dict(ranges or {})
    for n, pair in ranges.items():
        if n not in names:
            raise v.fail("tornado.ranges", n, "inputs that are varied: " + ", ".join(names))
        ranges[n] = tuple(v.real_vector(f"tornado.ranges[{n}]", pair))
        if len(ranges[n]) != 2:
            raise v.fail(f"tornado.ranges[{n}]", pair, "(low, high)")
    at = np.array([ranges.get(n) or tuple(float(quantile(known[n], np.array([q]))[0])
                                          for q in DEFAULT_LEVELS) for n in names], dtype=float)
    ends = [(n, x) for n, pair in zip(names, at, strict=True) for x in pair]
    # the memory the run and each end free stays in the heap for the next end to re-use: on a
    # virtual machine the kernel's zeroing of fresh pages costs as much as the work
    with kept_heap():
        chain = Chain(deal, draws, int(seed), engine)
        base = output_values(chain.money)[output]

        def at_end(end: tuple[str, float]) -> float:
            return chain.output({end[0]: np.full(draws, end[1])}, output)

        # the same numbers on any number of threads. An outcome input's end runs the outcomes
        # again, allocating as much memory as the run: those ends run one at a time, each on
        # all of numba's threads (two at once touch twice the fresh memory, and zeroing it
        # cost more than the second thread gained); the money inputs' ends, which re-use the
        # outcome draws, run side by side on as many threads as numba may use
        # (an evaluation's input measures the same outcome draws again: as a money input)
        same_draws = chain.money_names | chain.evaluation_names
        rerun = [i for i, (n, _) in enumerate(ends) if n not in same_draws]
        money = [i for i, (n, _) in enumerate(ends) if n in same_draws]
        vals = np.empty(len(ends))
        for i in rerun:
            vals[i] = at_end(ends[i])
        vals[money] = in_order(at_end, [ends[i] for i in money])
    vals = vals.reshape(len(names), 2)
    swing = np.abs(vals[:, 1] - vals[:, 0])
    order = np.argsort(-np.nan_to_num(swing, nan=-1.0), kind="stable")
    desc, units = OUTPUTS[output][1], OUTPUTS[output][2]
    if units == "currency":
        units = deal.currency
    ds = xr.Dataset(
        {"value": (("input", "end"), vals[order], {"units": units, "description": desc}),
         "input_value": (("input", "end"), at[order],
                         {"description": "Value of the input at each end"}),
         "swing": (("input",), swing[order], {"units": units,
                                              "description": "|high - low|"})},
        coords={"input": [names[k] for k in order], "end": ["low", "high"],
                "source": ("input", [_source(chain, names[k]) for k in order])})
    # uncertain parameters of several numbers (a Dirichlet row of transition probabilities)
    # have no one-way end: said, not left out without a word
    multi = [n for n, d in deal.scenario.parameters().items()
             if not isinstance(d, Fixed) and d.size > 1] if inputs is None else []
    ds.attrs.update({"not_varied": "; ".join(multi)} if multi else {})
    ds.attrs.update({"output": output, "output_description": desc, "base": base,
                     "draws": draws, "seed": int(seed),
                     "ends": "user range" if ranges else "10th and 90th percentiles",
                     "method": "tornado (one-way)"})
    return ds


def _source(chain: Chain, name: str) -> str:
    """Where an input belongs: ``"money"`` (a money assumption), ``"evaluation"`` (an
    evaluation design's input) or ``"outcome"`` (a parameter of the outcome scenario)."""
    if name in chain.money_names:
        return "money"
    return "evaluation" if name in chain.evaluation_names else "outcome"


def run(deal: Deal, **kwargs: Any) -> xr.Dataset:
    """The method's entry point for :func:`sibsim.sensitivity` (``method="tornado"``)."""
    return tornado(deal, **kwargs)
