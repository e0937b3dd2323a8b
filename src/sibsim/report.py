"""Run a scenario end to end and describe the results in plain language.

The command line and the README's main job call :func:`run_and_report`. For a deal with
money terms (:class:`~sibsim.Deal`) it runs the whole chain: outcomes -> money ->
investor and commissioner metrics -> break-even, writes everything to one netCDF file (one group
per step) and, on request, the summary figure.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from sibsim import resources
from sibsim.analysis.blocks import DrawAssembler, DrawSum, DrawSumPart
from sibsim.analysis.breakeven import BreakevenBlocks, breakeven_quantiles, searched_effect
from sibsim.analysis.budget import (
    ALL_PAYERS,
    LANGUAGES,
    check_confidence,
    write_budget_table,
    yearly_budget,
)
from sibsim.analysis.metrics import investor_metrics, municipality_metrics
from sibsim.analysis.power import (
    detection_lines,
    evaluation_power,
    power_warnings,
    warn_small_samples,
)
from sibsim.analysis.summary import summarise
from sibsim.dataset import simulate, to_netcdf
from sibsim.dataset.build import resolve_seed
from sibsim.dataset.io import ENGINE as NETCDF_ENGINE
from sibsim.engine.progress import Progress, interactive
from sibsim.engine.progress import progress as run_progress
from sibsim.money.cancellation import cancellation_text
from sibsim.money.deal import Deal
from sibsim.money.payers import DEFAULT_PAYER
from sibsim.money.sib import counterfactual, money_flows
from sibsim.money.stratum_end import stratum_end_text
from sibsim.resources import (
    KEEP_OUTCOMES_BYTES,
    RunEstimate,
    check_fits,
    estimate_outcomes,
    estimate_run,
)
from sibsim.spec import _validate as v

GROUPS = ("outcomes", "money", "investors", "municipality", "breakeven", "budget")
#: The groups assembled draw by draw (the budget is computed from the assembled money).
_DRAW_GROUPS = GROUPS[:5]


@dataclass
class SIBResults:
    """Everything one analysis produced, as labelled datasets."""

    outcomes: xr.Dataset
    money: xr.Dataset
    investors: xr.Dataset
    municipality: xr.Dataset
    breakeven: xr.Dataset | None
    #: Each payer's yearly budget (:func:`sibsim.analysis.budget.yearly_budget`); None in
    #: files written before it existed.
    budget: xr.Dataset | None = None

    def headline(self) -> xr.Dataset:
        """The headline figures as scalars (the root group of a results file).

        ``xarray.open_dataset(results.nc)`` shows this summary; :func:`open_results` reads
        every group.
        """
        inv = self.investors.sel(investor="all")
        mun, m = self.municipality, self.money
        cur = m.attrs["currency"]
        data = {
            "p_investor_loss": (float(inv["loss"].mean()), "probability",
                                "Share of draws in which investors get back less than they "
                                "put in."),
            "median_investor_irr_annual": (float(np.nanmedian(inv["irr_annual"].values))
                                           if np.isfinite(inv["irr_annual"].values).any()
                                           else np.nan, "per year",
                                           "Median annualised IRR of all investors together."),
            "mean_investor_moic": (float(inv["moic"].mean()), "1",
                                   "Mean money multiple of all investors together."),
            "mean_outcome_payments": (float(m["outcome_payments"].sum("period").mean()), cur,
                                      "Mean total outcome payments by the commissioner."),
            "mean_cashable_savings": (float(m["cashable_savings"].sum("period").mean()), cur,
                                      "Mean total cashable savings of the commissioner."),
            "p_commissioner_net_loss": (float(mun["net_loss"].mean()), "probability",
                                        "Share of draws in which the commissioner pays more "
                                        "than it saves (cashable)."),
            "mean_npv_net_savings": (float(mun["npv_net_savings"].mean()), cur,
                                     "Mean NPV of the commissioner's net cashable savings."),
            "mean_unfunded_costs": (float(m["unfunded_costs"].sum("period").mean()), cur,
                                    "Mean service costs and fees the capital does not fund."),
        }
        if self.breakeven is not None:
            for party in self.breakeven["party"].values:
                x = self.breakeven["breakeven_effect"].sel(party=party).values
                data[f"median_breakeven_effect_{party}"] = (
                    float(breakeven_quantiles(x, self.breakeven.attrs["measure"], (0.5,))[0]),
                    self.breakeven.attrs["measure"],
                    f"Median break-even true effect ({party}) over every draw, a draw without "
                    "break-even in the searched range counted as needing more than its "
                    "strongest effect; NaN when the median is beyond the range.")
        ds = xr.Dataset({k: xr.Variable((), val, attrs={"units": u, "description": d})
                         for k, (val, u, d) in data.items()})
        ds.attrs.update({
            "sibsim_content": "results summary",
            "draws": int(m.sizes["draw"]),
            "seed": int(m.attrs["seed"]),
            "currency": cur,
            "groups": ",".join(g for g in GROUPS if getattr(self, g) is not None),
            "read_with": "sibsim.open_results(path) reads every group; xarray.open_dataset("
                         "path, group='money') reads one",
        })
        return ds

    def to_datatree(self) -> xr.DataTree:
        parts = {"/": self.headline()}
        parts.update({f"/{g}": getattr(self, g) for g in GROUPS if getattr(self, g) is not None})
        return xr.DataTree.from_dict(parts)

    def to_netcdf(self, path: str | os.PathLike) -> Path:
        """Write one netCDF-4 file with a group per dataset (atomically)."""
        return to_netcdf(self.to_datatree(), path)


def open_results(path: str | os.PathLike) -> SIBResults:
    """Read a file written by :meth:`SIBResults.to_netcdf`."""
    tree = xr.open_datatree(path, engine=NETCDF_ENGINE)
    parts = {g: (tree[g].to_dataset().load() if g in tree.children else None) for g in GROUPS}
    tree.close()
    return SIBResults(**parts)


def analyse(deal: Deal, *, draws: int, seed: int | np.random.Generator,
            engine: str = "auto", progress: bool | None = None,
            with_breakeven: bool = True, block_draws: int | None = None,
            keep_outcomes: bool | None = None, check_memory: bool = True,
            confidence: float = 0.9, client=None) -> SIBResults:
    """Simulate a SIB and compute every party's money, metrics and break-even.

    Parameters
    ----------
    deal : Deal
        The deal (outcome scenario and money terms), e.g. from :func:`sibsim.load_scenario`.
    draws : int
        Monte Carlo draws.
    seed : int or numpy.random.Generator
        The results depend on the seed alone.
    engine : {"auto", "individual", "aggregate", "expected"}
        Outcome engine (see :func:`sibsim.simulate`).
    with_breakeven : bool
        Also search the break-even effect (needs an effect in the scenario).
    block_draws : int, optional
        Draws processed at a time through the whole chain (outcomes, counterfactual, money,
        metrics, break-even); memory is the results plus one block. Default: as many draws as
        fit in :data:`sibsim.resources.BLOCK_BYTES` (256 MiB) of working memory. The results do
        not depend on it, to the last bit.
    keep_outcomes : bool, optional
        Keep the per-draw outcome arrays (``events``, ``engaged``, ``at_risk``, ``occupancy``)
        in ``results.outcomes``. Default: keep them while they take at most
        :data:`sibsim.resources.KEEP_OUTCOMES_BYTES` (512 MiB; 1,152 bytes a draw for
        Peterborough, so up to ~460,000 draws); otherwise the outcomes group holds their means
        over draws (``mean_events``, ...), the sampled parameters of every draw and the cohort.
    check_memory : bool
        Estimate the memory before the run (:func:`sibsim.resources.estimate_run`) and refuse
        with :class:`~sibsim.resources.RunTooLargeError`, giving the estimate and the option
        that helps, when it exceeds the memory available.
    confidence : float
        Confidence of the yearly budget's appropriation (``results.budget``, see
        :func:`sibsim.analysis.budget.yearly_budget`), a fraction in (0, 1]; default 0.9.
    client : distributed.Client, optional
        Run the blocks of draws on this dask cluster (``pip install sibsim[dask]``; see
        :mod:`sibsim.distributed`); the results are bitwise identical to a run without it.
        ``block_draws`` default: about four blocks per worker thread.

    Notes
    -----
    The counterfactual (expected outcomes without the service) is computed once per block and
    shared by the money chain and the break-even search.

    Examples
    --------
    >>> import sibsim
    >>> res = sibsim.analyse(sibsim.load_scenario("peterborough"), draws=200, seed=1,
    ...                      progress=False, with_breakeven=False)
    >>> sorted(res.investors.data_vars)[:2]
    ['invested', 'irr']
    >>> blocks = sibsim.analyse(sibsim.load_scenario("peterborough"), draws=200, seed=1,
    ...                         progress=False, with_breakeven=False, block_draws=64)
    >>> blocks.money.identical(res.money)
    True
    """
    if not isinstance(deal, Deal) or not deal.has_money:
        raise v.fail("analyse.deal", type(deal).__name__,
                     "a Deal with money terms (evaluations, a contract and a capital "
                     "structure); use sibsim.simulate for an outcome-only scenario")
    draws = v.positive_int("draws", draws)
    confidence = check_confidence("confidence", confidence)
    seed = resolve_seed(seed)
    do_be = with_breakeven and searched_effect(deal).effect is not None
    if keep_outcomes is not None:
        keep_outcomes = v.flag("keep_outcomes", keep_outcomes)
    available = resources.available_memory() if check_memory else None
    est = estimate_run(deal, draws, engine=engine, with_breakeven=do_be,
                       block_draws=block_draws, keep_outcomes=keep_outcomes, available=available)
    if check_memory:
        check_fits(est, available)
    if est.seconds is not None and est.seconds > 60 and (
            interactive() if progress is None else progress):
        print(f"sibsim: note: this run needs {est.describe()}", file=sys.stderr)
    search = (BreakevenBlocks(deal, effect_range=deal.breakeven.effect_range,
                              grid=deal.breakeven.grid) if do_be else None)
    with run_progress(draws, progress) as bar:  # one bar for the whole run
        if client is not None:
            from sibsim.distributed import analyse_on_cluster

            res = analyse_on_cluster(client, deal, draws, seed, engine, bar, est.keep_outcomes,
                                     search, block_draws, est.block_draws,
                                     per_draw=(est.work_per_draw, est.kept_per_draw))
        elif est.block_draws >= draws:  # one block: the datasets as they come
            be_share = _BREAKEVEN_SHARE if search is not None else 0.0
            bar.stage("simulation", weight=0.9 * (1.0 - be_share))
            ds = simulate(deal, draws=draws, seed=seed, engine=engine,
                          progress=progress)
            bar.stage("money", weight=0.1 * (1.0 - be_share))
            cf = counterfactual(deal, draws, seed)
            money = money_flows(deal, ds, cf=cf)
            if search is not None:
                bar.stage("break-even", weight=_BREAKEVEN_SHARE)
            be = search.finish(search.add(ds, cf=cf)) if search is not None else None
            del cf
            outcomes = ds if est.keep_outcomes else _outcome_means(ds, draws, _OutcomeSums.of(ds))
            res = SIBResults(outcomes=outcomes, money=money, investors=investor_metrics(money),
                             municipality=municipality_metrics(money), breakeven=be)
        else:
            res = _analyse_blocks(deal, draws, seed, engine, bar, est, search)
    res.budget = yearly_budget(res.money, deal, confidence)
    warn_money(res.money, deal, stacklevel=2)
    warn_small_samples(deal)
    return res


def warn_money(money: xr.Dataset, deal: Deal, stacklevel: int = 2) -> None:
    """The money's warnings, as :func:`analyse` gives them: unfunded costs
    (:class:`UnfundedCostsWarning`) and results that fall due after the horizon
    (:class:`BeyondHorizonWarning`); ``stacklevel`` as :func:`warnings.warn`'s, from the
    caller of this function."""
    for kind, text in money_notices(money, deal):
        warnings.warn(kind(text), stacklevel=stacklevel + 1)


def money_notices(money: xr.Dataset, deal: Deal) -> list[tuple[type[UserWarning], str]]:
    """What the money says of itself, as (warning class, sentence): unfunded costs
    (:func:`unfunded_text`) and results due after the horizon (:func:`beyond_horizon_text`);
    :func:`warn_money` warns them, :func:`describe` prints them."""
    notes = [(UnfundedCostsWarning, unfunded_text(money)),
             (BeyondHorizonWarning, beyond_horizon_text(money, deal))]
    return [(kind, text) for kind, text in notes if text is not None]


#: Share of the progress bar given to the break-even search (it takes most of a run's time).
_BREAKEVEN_SHARE = 0.75


def _analyse_blocks(deal: Deal, draws: int, seed: int, engine: str, bar: Progress,
                    est: RunEstimate, search: BreakevenBlocks | None) -> SIBResults:
    """:func:`analyse` over blocks of ``est.block_draws`` draws, assembled in place; each
    block is a stage of ``bar`` (the run's bar, counted in draws)."""
    collect = _BlockCollector(draws, est.keep_outcomes, search)
    for first in range(0, draws, est.block_draws):
        n = min(est.block_draws, draws - first)
        bar.stage(f"block {first // est.block_draws + 1} of {-(-draws // est.block_draws)}",
                  weight=n / draws)
        collect.add(run_block(deal, first, n, seed, engine, search,
                              outcome_sums=not est.keep_outcomes))
    return collect.result()


def run_block(deal: Deal, first: int, n: int, seed: int, engine: str,
              search: BreakevenBlocks | None, threads: int | None = None,
              outcome_sums: bool = False) -> dict:
    """Every per-draw result of the draws ``[first, first + n)`` of a run (a block).

    The one function that processes a block, in one process (:func:`analyse`) or on a dask
    worker (:mod:`sibsim.distributed`); :class:`_BlockCollector` puts the blocks together.
    ``search``'s state is not changed (its curves come back in ``"curves"``). ``threads``:
    numba threads for this block (default: as configured). ``outcome_sums``: the per-draw
    outcome arrays come back summed over draws here (``"outcome_sums"``, for a run that keeps
    their means only), so that less travels from a dask worker; the means are the same.
    """
    if threads is not None:
        import numba

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    ds = simulate(deal, draws=n, seed=seed, engine=engine, progress=False, first_draw=first)
    cf = counterfactual(deal, n, seed, first_draw=first)
    out: dict = {"first": first, "n": n}
    if search is not None:
        out["breakeven"], out["curves"] = search.search(ds, cf=cf)
    money = money_flows(deal, ds, cf=cf)
    del cf
    out.update(money=money, investors=investor_metrics(money),
               municipality=municipality_metrics(money), outcomes=ds)
    if outcome_sums:
        out["outcome_sums"] = _outcome_parts(ds, first)
        out["outcomes"] = ds.drop_vars(list(out["outcome_sums"]))
    return out


def _outcome_parts(ds: xr.Dataset, first: int) -> dict[str, tuple[xr.Variable, DrawSumPart]]:
    """Each summed outcome array of a block whose first draw is ``first`` (of the run): its
    template (one draw: dims and attributes) and its :class:`DrawSumPart`."""
    return {k: (ds[k].variable.isel(draw=slice(0, 1)),
                DrawSumPart.of(ds[k].transpose("draw", ...).values, first))
            for k in _OutcomeSums.summed(ds)}


class _BlockCollector:
    """The blocks of :func:`run_block`, added in draw order, assembled into :class:`SIBResults`
    (per-draw variables in place, means over draws with :class:`DrawSum`)."""

    def __init__(self, draws: int, keep_outcomes: bool, search: BreakevenBlocks | None) -> None:
        self.draws, self.keep_outcomes, self.search = draws, keep_outcomes, search
        self.asm = {g: DrawAssembler(draws) for g in _DRAW_GROUPS}
        self.sums: _OutcomeSums | None = None
        self.next_draw = 0

    def add(self, block: dict) -> None:
        if block["first"] != self.next_draw:
            raise ValueError(f"blocks out of order: draw {block['first']} given, "
                             f"{self.next_draw} expected")
        self.next_draw += block["n"]
        for g in ("money", "investors", "municipality"):
            self.asm[g].add(block[g])
        if self.search is not None:
            self.search.add_curves(block["curves"])
            self.asm["breakeven"].add(block["breakeven"])
        ds = block["outcomes"]
        if self.keep_outcomes:
            self.asm["outcomes"].add(ds)
            return
        parts = block.get("outcome_sums")  # summed where the block was computed, or here
        if parts is None:
            parts = _outcome_parts(ds, block["first"])
            ds = ds.drop_vars(list(parts))
        if self.sums is None:
            self.sums = _OutcomeSums({k: t for k, (t, _) in parts.items()})
        self.sums.add_parts({k: part for k, (_, part) in parts.items()})
        self.asm["outcomes"].add(ds)

    def result(self) -> SIBResults:
        outcomes = self.asm["outcomes"].result()
        outcomes.attrs["draws"] = self.draws
        if self.sums is not None:
            outcomes = _outcome_means(outcomes, self.draws, self.sums)
        search = self.search
        return SIBResults(outcomes=outcomes, money=self.asm["money"].result(),
                          investors=self.asm["investors"].result(),
                          municipality=self.asm["municipality"].result(),
                          breakeven=(search.finish(self.asm["breakeven"].result())
                                     if search is not None else None))


class _OutcomeSums:
    """Sums over draws of the per-draw outcome arrays, for results without them."""

    def __init__(self, templates: dict[str, xr.Variable]) -> None:
        """Sums of the arrays shaped as ``templates`` (their draws, any number, are not read:
        :meth:`of` a dataset, or the one-draw templates of :func:`_outcome_parts`)."""
        self.names = list(templates)
        self.sums = {k: DrawSum() for k in self.names}
        self.template = dict(templates)

    @classmethod
    def of(cls, ds: xr.Dataset) -> _OutcomeSums:
        """Sums of the per-draw outcome arrays of ``ds`` (none added yet)."""
        return cls({k: ds[k].variable for k in cls.summed(ds)})

    @staticmethod
    def summed(ds: xr.Dataset) -> list[str]:
        """The per-draw outcome arrays of ``ds`` that are summed (all but the parameters)."""
        return [k for k, var in ds.data_vars.items()
                if "draw" in var.dims and k != "parameter_value"]

    def add_parts(self, parts: dict[str, DrawSumPart]) -> None:
        """Add a block's outcome arrays summed where it was computed (run_block)."""
        for k in self.names:
            self.sums[k].add_part(parts[k])

    def add(self, ds: xr.Dataset) -> xr.Dataset:
        """Add a block's outcome arrays; return the block without them."""
        for k in self.names:
            self.sums[k].add(ds[k].transpose("draw", ...).values)
        return ds.drop_vars(self.names)


def _outcome_means(ds: xr.Dataset, draws: int, sums: _OutcomeSums) -> xr.Dataset:
    """The outcomes group without per-draw outcome arrays: their means over draws."""
    if sums.sums[sums.names[0]].count == 0:  # one block: sum it now
        ds = sums.add(ds)
    out = ds.copy()
    for k in sums.names:
        var = sums.template[k].transpose("draw", ...)
        out[f"mean_{k}"] = xr.Variable(
            var.dims[1:], sums.sums[k].mean(),
            attrs={"units": var.attrs.get("units", ""),
                   "description": "Mean over draws of: " + var.attrs.get("description", k)})
    per_draw = sum(sums.template[k].nbytes / sums.template[k].sizes["draw"] for k in sums.names)
    out.attrs["per_draw_outcomes"] = (
        f"not kept: {', '.join(sums.names)} of {draws:,} draws take {_bytes(per_draw * draws)} "
        f"(kept up to {_bytes(KEEP_OUTCOMES_BYTES)}); mean_<name> holds their means over "
        "draws; analyse(..., keep_outcomes=True) keeps them")
    return out


def _bytes(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


# ------------------------------------------------------------------------- plain language
def plural(name: str) -> str:
    """The plural of an outcome's name (an English noun phrase), for the summary's sentences.

    >>> [plural(n) for n in ("jail day", "activity", "entry to care", "month without work",
    ...                      "housing", "reconviction event", "move into round-the-clock care",
    ...                      "move from home to care")]
    ['jail days', 'activities', 'entries to care', 'months without work', 'housing', \
'reconviction events', 'moves into round-the-clock care', 'moves from home to care']
    """
    head, sep, rest = name, "", ""
    # the noun is the word before the first preposition ("move from home to care")
    joints = [(name.find(j), j) for j in (" to ", " into ", " of ", " without ", " in ", " for ",
                                          " per ", " from ", " at ", " on ", " with ", " after ")
              if j in name]
    if joints:
        sep = min(joints)[1]
        head, rest = name.split(sep, 1)
    words = head.rsplit(" ", 1)
    last = words[-1]
    if not last or not last[-1].isalpha() or last.endswith("ing"):
        return name  # "housing", a name that ends in a number or sign: kept as it is
    if last[-1] == "y" and len(last) > 1 and last[-2] not in "aeiou":
        last = last[:-1] + "ies"
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    else:
        last += "s"
    return " ".join([*words[:-1], last]) + sep + rest


def _money(x: float, cur: str) -> str:
    a = abs(x)
    s = "-" if x < 0 else ""
    if a >= 1e6:
        return f"{s}{cur} {a / 1e6:,.2f}M"
    if a >= 1e3:
        return f"{s}{cur} {a / 1e3:,.0f}k"
    return f"{s}{cur} {a:,.0f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _q(x: np.ndarray, qs=(0.05, 0.5, 0.95)) -> np.ndarray:
    x = x[np.isfinite(x)]
    return np.quantile(x, qs) if x.size else np.full(len(qs), np.nan)


def _effect_words(effect: float, measure: str) -> str:
    """A true effect in plain words: "a 12.0% reduction", "a 5.0% increase", "+0.030".

    >>> _effect_words(0.88, "rr"), _effect_words(1.05, "rr"), _effect_words(0.03, "absolute")
    ('a 12.0% reduction', 'a 5.0% increase', 'a change of +0.030')
    >>> _effect_words(1.0, "rr")
    'no effect'
    """
    if not np.isfinite(effect):
        return "n/a"
    if abs(effect - (0.0 if measure == "absolute" else 1.0)) < 5e-4:
        return "no effect"
    if measure == "absolute":
        return f"a change of {effect:+.3f}"
    if effect <= 1.0:
        return f"a {100 * (1 - effect):.1f}% reduction"
    return f"a {100 * (effect - 1):.1f}% increase"


WIDEN_HINT = ("widen the searched range: effect_range=(no effect, strongest) in Python, "
              "--breakeven-range NO_EFFECT STRONGEST on the command line, or "
              "[breakeven] effect_range = [no effect, strongest] in the scenario file")


class UnfundedCostsWarning(UserWarning):
    """Service costs exceed the capital committed in some draws: part of the service is not
    funded by the deal (see the ``unfunded_costs`` variable of the money dataset)."""


class BeyondHorizonWarning(UserWarning):
    """Some evaluation results fall due after the horizon (known at or after its end, or pushed
    there by the contract's payment lag or last payment date): their payments are counted in
    the horizon's last period or left out, as the contract's ``overflow`` says, and what the
    service saves after the horizon is not counted (:func:`beyond_horizon_text`)."""


def beyond_horizon_text(money: xr.Dataset, deal: Deal) -> str | None:
    """A plain sentence on the evaluation results whose payments fall due after the horizon,
    or None when every one falls due inside it.

    >>> import sibsim
    >>> from sibsim.money.sib import money_flows
    >>> deal = sibsim.load_scenario("peterborough")
    >>> money = money_flows(deal, sibsim.simulate(deal, 5, 1, progress=False))
    >>> beyond_horizon_text(money, deal) is None
    True
    """
    if "trigger_period" not in money.coords:
        return None
    n_periods = money.sizes["period"]
    contract = deal.contract
    periods = money["trigger_period"].values
    late = contract.due_after_horizon(periods, n_periods)
    if not late:
        return None
    metrics = money["trigger_metric"].values
    names = ", ".join(repr(str(x)) for x in dict.fromkeys(metrics[late].tolist()))
    end = (f"with {deal.calendar_years()[-1]}" if deal.start_year is not None
           else f"with period {n_periods - 1}")
    one = len(late) == 1
    how = ("paid in the horizon's last period (contract overflow = \"last\")"
           if contract.overflow == "last" else "left out (contract overflow = \"drop\")")
    return (f"Results after the horizon: {len(late)} of the {len(periods)} evaluation results "
            f"(evaluation {names}) {'falls' if one else 'fall'} due after the horizon, which "
            f"ends {end}. {'It is' if one else 'They are'} {how}, and what the service "
            "saves after the horizon is not counted: lengthen the horizon to see "
            f"{'it' if one else 'them'} when {'it happens' if one else 'they happen'}.")


def unfunded_text(money: xr.Dataset) -> str | None:
    """A plain sentence on unfunded costs, or None when every cost is funded."""
    unf = money["unfunded_costs"].sum("period").values
    if not np.any(unf > 1e-9 * max(float(money["service_costs"].sum("period").max()), 1.0)):
        return None
    cur = money.attrs["currency"]
    return (f"Unfunded costs: in {_pct(float(np.mean(unf > 0)))} of draws the service costs and "
            f"fees exceed the capital committed (mean {_money(float(unf.mean()), cur)}, "
            f"at most {_money(float(unf.max()), cur)}); the deal does not fund them: raise the "
            "commitments or cut the costs.")


def _period_text(be: np.ndarray) -> str:
    """Break-even periods in words: never behind, when behind then ahead, never ahead."""
    never_behind = float(np.mean(be == 0))
    never = float(np.mean(np.isnan(be)))
    later = be[np.isfinite(be) & (be > 0)]
    parts = []
    if never_behind > 0:
        parts.append(f"never behind in {_pct(never_behind)} of draws")
    if later.size:
        parts.append(f"back to >= 0 by period {np.median(later):.0f} (median) in "
                     f"{_pct(later.size / be.size)}")
    parts.append(f"still behind at the horizon in {_pct(never)}")
    return ", ".join(parts)


def _payer_lines(m: xr.Dataset, mun: xr.Dataset) -> list[str]:
    """One line per payer (what it pays, saves, and how often it pays more than it saves),
    none when a single body pays everything; then a line for each payer (the single one too)
    that leaves payments unpaid by the horizon's end (its caps, or its appropriations)."""
    cur = m.attrs["currency"]
    lines: list[str] = []
    several = "payer" in mun.dims and mun.sizes["payer"] >= 2
    total = float(m["outcome_payments"].sum("period").mean())
    if several:
        lines += ["", "Payers"]
    for y in mun["payer"].values if several else ():
        one = mun.sel(payer=y)
        pay = float(one["payments_by_payer"].mean())
        share = f" ({_pct(pay / total)} of all outcome payments)" if total > 0 else ""
        lines.append(
            f"  {y}: pays mean {_money(pay, cur)}{share}, saves mean "
            f"{_money(float(one['cashable_savings_by_payer'].mean()), cur)} (cashable); pays "
            f"more than it saves in {_pct(float(one['net_loss_by_payer'].mean()))} of draws; "
            f"NPV of net savings: mean "
            f"{_money(float(one['npv_net_savings_by_payer'].mean()), cur)}.")
    unpaid = m["unpaid_by_payer"].sum("period")
    for y in unpaid["payer"].values:
        u = unpaid.sel(payer=y).values
        if np.any(u > 0):
            who = "The commissioner" if y == DEFAULT_PAYER and not several else y
            lines.append(f"  {who} leaves {_money(float(u.mean()), cur)} unpaid by the "
                         f"horizon's end on average (in {_pct(float(np.mean(u > 0)))} of draws; "
                         "its caps, or payments still waiting for its appropriations): no one "
                         "else pays it, so the investors have that much less to share.")
    return lines


def budget_lines(budget: xr.Dataset) -> list[str]:
    """The commissioner's yearly budget as a short table (all payers together): year, mean
    and 90th-percentile gross outcome payments, the appropriation at the budget's confidence
    and mean net savings."""
    cur = budget.attrs["currency"]
    conf = float(budget.attrs["confidence"])
    tot = budget.sel(payer=ALL_PAYERS)
    several = budget.sizes["payer"] > 2
    head = ("Year", "Payments: mean", "90th pct", f"Appropriation ({100 * conf:g}%)",
            "Net savings: mean")
    rows = [(str(int(y)), *(_money(float(tot[k].sel(year=y)), cur) for k in (
                "gross_payments_mean", "gross_payments_p90", "appropriation",
                "net_savings_mean")))
            for y in budget["year"].values]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  " + "  ".join(f"{{:>{w}}}" for w in widths)
    years = ("by calendar year" if budget.attrs.get("years", "calendar") == "calendar"
             else "by year of the deal (1 = its first year; start_year in the scenario gives "
                  "calendar years)")
    return ["", "Yearly budget" + (" (all payers together)" if several else "") + f", {years}",
            fmt.format(*head), *(fmt.format(*r) for r in rows),
            f"  Payments: gross outcome payments. The appropriation covers the year's payments "
            f"in {100 * conf:g}% of draws. Net savings: cashable savings - outcome payments - "
            "own costs. Each payer and more statistics: results.budget (sibsim run --budget "
            "FILE writes it as CSV or Excel)."]


def describe(res: SIBResults, deal: Deal) -> str:
    """The plain-language summary of an analysis."""
    scenario = deal.scenario
    m, inv, mun = res.money, res.investors, res.municipality
    cur = m.attrs["currency"]
    ppy = m.attrs["period"]
    D = m.sizes["draw"]
    allinv = inv.sel(investor="all")
    lines = [
        f"{scenario.name}: {scenario.description}" if scenario.description else scenario.name,
        f"{D:,} draws, seed {res.outcomes.attrs['seed']}, engine {res.outcomes.attrs['engine']}, "
        f"one period = one {ppy}, amounts in {cur}.",
        "",
        "Investors",
    ]
    cancelled = cancellation_text(m, deal)  # money/cancellation.py
    if cancelled is not None:
        lines[2:2] = [cancelled]
    ended = stratum_end_text(m, deal)  # money/stratum_end.py
    if ended is not None:
        lines[2:2] = ended.splitlines()
    loss = float(allinv["loss"].mean())
    moic = _q(allinv["moic"].values)
    irr = _q(allinv["irr_annual"].values)
    lines += [
        f"  Investors lose money in {_pct(loss)} of draws "
        f"(capital drawn: median {_money(np.median(allinv['invested'].values), cur)}).",
        f"  Money multiple: median {moic[1]:.2f} (90% of draws between {moic[0]:.2f} and "
        f"{moic[2]:.2f}).",
        f"  IRR: median {_pct(irr[1])} a year (90% between {_pct(irr[0])} and {_pct(irr[2])}); "
        f"mean NPV at {_pct(m.attrs['investor_discount_rate_per_year'])} a year: "
        f"{_money(float(allinv['npv'].mean()), cur)}.",
    ]
    got_nothing = (allinv["received"].values <= 0) & (allinv["invested"].values > 0)
    net_minus_100 = (allinv["irr_status"].values == 2) & ~got_nothing
    if got_nothing.any():
        lines.append(f"  Total loss (nothing comes back) in {_pct(float(got_nothing.mean()))} "
                     "of draws.")
    if net_minus_100.any():
        lines.append(f"  In {_pct(float(net_minus_100.mean()))} of draws some money comes back, "
                     "but only in periods when more capital is drawn: every net cash flow is "
                     "negative, so the IRR of the net flows is -100% although it is not a "
                     "total loss.")
    s_inv = summarise(inv[["npv"]]).sel(investor="all")
    lines.append(f"  Expected shortfall (mean NPV of the worst 5% of draws): "
                 f"{_money(float(s_inv['npv'].sel(statistic='cvar05')), cur)}.")
    pb = allinv["payback_period"].values
    if np.isfinite(pb).any():
        lines.append("  They get their money back within the horizon in "
                     f"{_pct(np.isfinite(pb).mean())} of draws; median payback period "
                     f"{np.nanmedian(pb):.0f}.")
    pay = m["outcome_payments"].sum("period").values
    cash = m["cashable_savings"].sum("period").values
    q_pay, q_cash = _q(pay), _q(cash)
    npv_net = mun["npv_net_savings"].values
    shortfall = float(summarise(mun[["npv_net_savings"]])["npv_net_savings"].sel(
        statistic="cvar05"))
    public = float(mun["npv_net_public_value"].mean())
    lines += ["  " + text for _, text in money_notices(m, deal)]
    lines += [
        "",
        "Commissioner" + (" (all payers together)" if mun.sizes.get("payer", 1) > 1 else ""),
        f"  Outcome payments: mean {_money(pay.mean(), cur)} (90% between "
        f"{_money(q_pay[0], cur)} and {_money(q_pay[2], cur)}).",
        f"  Cashable savings: mean {_money(cash.mean(), cur)} (90% between "
        f"{_money(q_cash[0], cur)} and {_money(q_cash[2], cur)}).",
        f"  The commissioner pays more than it saves (cashable) in "
        f"{_pct(float(mun['net_loss'].mean()))} of draws; NPV of net savings at "
        f"{_pct(m.attrs['social_discount_rate_per_year'])}: mean {_money(npv_net.mean(), cur)}"
        f", expected shortfall {_money(shortfall, cur)}.",
        f"  Including wider public value, the NPV is {_money(public, cur)} on average.",
        "  Peak annual budget (the largest year): outcome payments (gross) median "
        f"{_money(float(np.median(mun['peak_annual_gross_payments'].values)), cur)}; "
        "net of cashable savings median "
        f"{_money(float(np.median(mun['peak_annual_net_budget_need'].values)), cur)}.",
    ]
    lines += _payer_lines(m, mun)
    lines += budget_lines(res.budget if res.budget is not None
                          else yearly_budget(res.money, deal))
    pw = evaluation_power(deal)
    small = power_warnings(deal, pw) + detection_lines(deal, pw)
    if small:
        lines += ["", "Evaluation power"] + [f"  {text}" for text in small]
    if res.breakeven is not None:
        be = res.breakeven
        meas = be.attrs["measure"]
        # the searched process's effect (older results without the attribute: the first's)
        searched = be.attrs.get("outcome", scenario.outcome.name)
        lines += ["", "Break-even"]
        if scenario.other_processes:  # which process's effect, and that the others keep theirs
            what = f"true effect on {searched!r}"
            lines.append(f"  Searched: the {what} ({meas}); the other outcome processes keep "
                         "each draw's sampled effect.")
        else:
            what = f"true effect on {plural(searched)}"
        for party, text, var in (
            ("investors", "Investors break even (NPV at their discount rate = 0)",
             "breakeven_effect"),
            ("investors_target_irr", "Investors reach their target IRR of "
             f"{_pct(m.attrs['target_irr_per_year'])} a year", "breakeven_effect"),
            ("commissioner", "The commissioner's net cashable savings stay positive",
             "breakeven_effect"),
        ):
            x = be[var].sel(party=party).values
            share_none = float(np.isnan(x).mean())
            strongest = _effect_words(be.attrs["effect_range"][1], meas)
            # over every draw: one without break-even in the range needs more than the
            # strongest effect searched (not a draw left out of the median)
            lo, med, hi = breakeven_quantiles(x, meas)
            if share_none >= 0.5 or not np.isfinite(med):
                lines.append(f"  {text}: no break-even in {_pct(share_none)} of draws, even at "
                             f"{strongest} (the strongest effect searched); to look further, "
                             f"{WIDEN_HINT}.")
                continue
            med_words = _effect_words(med, meas)
            when = (f"even with {med_words}" if med_words == "no effect"
                    else f"when the {what} is at least {med_words}")
            top = (_effect_words(hi, meas) if np.isfinite(hi)
                   else f"more than {strongest}")
            lines.append(f"  {text} {when} (median over draws; 90% between "
                         f"{_effect_words(lo, meas)} and {top})"
                         + (f"; no break-even up to {strongest} (the strongest effect "
                            f"searched) in {_pct(share_none)} of draws." if share_none > 0
                            else "."))
        inv_be = allinv["payback_period"].values
        com_be = mun["breakeven_period"].values
        lines.append(f"  Break-even period (cumulative cash >= 0 from then on): investors "
                     f"{_period_text(inv_be)}; commissioner {_period_text(com_be)}.")
    return "\n".join(lines)


def summarise_outcomes(ds: xr.Dataset) -> str:
    """A few plain lines about simulated events per arm."""
    lines = [f"Scenario '{ds.attrs['scenario']}': {ds.sizes['draw']:,} draws, engine "
             f"{ds.attrs['engine']}, seed {ds.attrs['seed']}, period = {ds.attrs['period']}."]
    ev = ds["events"].sum(("wave", "stratum", "period"))
    size = ds["size"].sum(("wave", "stratum"))
    per100 = 100 * ev / size
    for arm in ds["arm"].values:
        x = per100.sel(arm=arm).values
        lo, hi = np.quantile(x, [0.05, 0.95])
        lines.append(f"  {arm:>10}: {x.mean():8.1f} events per 100 people over the horizon "
                     f"(90% of draws in {lo:.1f} to {hi:.1f})")
    if "comparison" in ds["arm"].values:
        rel = 1 - per100.sel(arm="treatment") / per100.sel(arm="comparison")
        r = rel.values[np.isfinite(rel.values)]
        if r.size:
            lo, hi = np.quantile(r, [0.05, 0.95])
            lines.append("  observed reduction, treatment vs comparison: "
                         f"mean {100 * r.mean():.1f}% "
                         f"(90% of draws in {100 * lo:.1f}% to {100 * hi:.1f}%)")
    return "\n".join(lines)


def run_and_report(deal: Deal, *, draws: int, seed: int, engine: str = "auto",
                   out: Path | None = None, figure: Path | None = None,
                   progress: bool | None = None, block_draws: int | None = None,
                   budget: Path | None = None, lang: str = "en",
                   confidence: float = 0.9, council: Path | None = None,
                   source: Path | None = None, client=None) -> str:
    """Simulate, write ``out`` (netCDF), optionally the figure, and return a summary.

    ``budget``: also write the yearly budget table there (``.csv`` or ``.xlsx``, headers and
    number format in ``lang``, see :func:`sibsim.analysis.budget.write_budget_table`), with
    the appropriation at ``confidence``. ``council``: also write the council report there
    (one self-contained HTML file in ``lang``, see :func:`sibsim.council.council_report`;
    ``source`` is the scenario file whose comments give the assumptions' sources).

    The memory the run needs is estimated first; a run that cannot fit is refused with
    :class:`~sibsim.resources.RunTooLargeError` (see :func:`analyse`). ``client``: run the
    blocks on this dask cluster (:mod:`sibsim.distributed`), same results."""
    scenario = deal.scenario
    if not deal.has_money:
        check_fits(estimate_outcomes(scenario, draws, engine), blocks_option=False)
        ds = simulate(scenario, draws=draws, seed=seed, engine=engine, progress=progress)
        lines = [summarise_outcomes(ds)]
        if out is not None:
            to_netcdf(ds, out)
            lines.append(f"Results written to {out}")
        if figure is not None:
            lines.append("No figure written: the scenario has no money tables ([[evaluation]], "
                         "[contract], [capital]), and the figure shows money.")
        if budget is not None:
            lines.append("No budget table written: the scenario has no money tables "
                         "([[evaluation]], [contract], [capital]), and the budget is money.")
        if council is not None:
            lines.append("No council report written: the scenario has no money tables "
                         "([[evaluation]], [contract], [capital]), and the report is about "
                         "money.")
        return "\n".join(lines)
    if budget is not None or council is not None:
        v.choice("lang", lang, LANGUAGES)
    res = analyse(deal, draws=draws, seed=seed, engine=engine, progress=progress,
                  block_draws=block_draws, confidence=confidence, client=client)
    lines = [describe(res, deal), ""]
    if out is not None:
        res.to_netcdf(out)
        lines.append(f"Results written to {out} (groups: "
                     + ", ".join(g for g in GROUPS if getattr(res, g) is not None) + ")")
    if figure is not None:
        from sibsim.plots import save_figure, sib_summary_figure

        fig = sib_summary_figure(res.money, res.investors, res.municipality, be=res.breakeven,
                                 curve=res.breakeven, title=scenario.name)
        save_figure(fig, figure)
        import matplotlib.pyplot as plt

        plt.close(fig)
        lines.append(f"Figure written to {figure}")
    if budget is not None:
        write_budget_table(res.budget, budget, lang=lang)
        lines.append(f"Yearly budget table written to {budget}")
    if council is not None:
        from sibsim.council import write_council_report

        write_council_report(res, deal, council, lang=lang, confidence=confidence,
                             source=source)
        lines.append(f"Council report written to {council}")
    return "\n".join(lines)
