"""Memory and time a run needs, estimated before it starts; refusing a run that cannot fit.

:func:`estimate_run` estimates the peak memory of :func:`sibsim.analyse` (and, for the
individual engine, its time) from the deal: it runs the money chain on a few draws of the
expected-value engine (:data:`PILOT_DRAWS`, well under a second once the kernels are compiled)
to learn how many bytes one draw of each result takes, and scales. :func:`check_fits` compares
the estimate with the memory available (:func:`available_memory`: ``MemAvailable`` of
``/proc/meminfo`` and any cgroup limit) and raises :class:`RunTooLargeError` - with the estimate
and the option that helps: smaller blocks of draws, fewer draws, or not keeping the per-draw
outcomes - instead of failing with an allocation error minutes into the run.

What the estimate counts (bytes per draw, times the draws):

* results kept for every draw: the money dataset, the investor and commissioner metrics, the
  break-even effects, the sampled parameters and, when kept, the per-draw outcome arrays
  (``8 x arms x waves x strata x periods x (3 + states)`` bytes per draw);
* working memory of one block: :data:`WORK_FACTOR` times the outcome and money bytes of a draw,
  times the draws of a block (measured on the Peterborough deal: the break-even search holds a
  copy of the block's outcomes and a money dataset per grid point while it runs).

Examples
--------
>>> import sibsim
>>> est = estimate_run(sibsim.load_scenario("peterborough"), draws=1_000_000, block_draws=32768)
>>> 1.5e9 < est.peak_bytes < 3e9, est.keep_outcomes
(True, False)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from sibsim.spec import _validate as v

__all__ = ["BLOCK_BYTES", "KEEP_OUTCOMES_BYTES", "RunEstimate", "RunTooLargeError",
           "available_memory", "check_fits", "estimate_outcomes", "estimate_run"]

#: Working memory aimed at for one block of draws when ``block_draws`` is not given (bytes).
BLOCK_BYTES = 256 * 2**20
#: Per-draw outcome arrays are kept in the results while they take at most this (bytes); a
#: fixed figure, so that what a run returns does not depend on the machine.
KEEP_OUTCOMES_BYTES = 512 * 2**20
#: Working memory of a block per byte of a draw's outcomes and money, with and without the
#: break-even search (measured: Peterborough, 20,000-40,000 draws, peak RSS of a child process;
#: with the break-even grid evaluated on 2 threads, each holding its own working arrays, the
#: block's working memory grew by 39%: 187 -> 258 MB over the interpreter for 20,000 draws).
WORK_FACTOR = {True: 4.2, False: 1.5}
#: Blocks are multiples of this many draws (the parameter sampler's block), except the last.
BLOCK_ROUND = 4096
#: Draws of the pilot run that measures the bytes of one draw.
PILOT_DRAWS = 8
#: Person-periods per second of the individual engine by outcome kind (2 threads, measured on
#: the 2-vCPU development machines under load; see docs/performance.md); kinds not listed use
#: the slowest figure.
INDIVIDUAL_THROUGHPUT = {"binary": 60e6, "markov": 15e6, "counts": 2e6}
#: Share of the available memory a run may plan to use (the rest: the interpreter, numba,
#: other programs' growth).
SAFETY = 0.85


class RunTooLargeError(ValueError):
    """A run would need more memory than is available; the message gives the estimate and what
    to change (``block_draws`` / ``--block-draws``, fewer draws, not keeping per-draw
    outcomes)."""


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


@dataclass(frozen=True)
class RunEstimate:
    """What a run needs: bytes kept for every draw, working bytes of one block, and time.

    ``kept_per_draw``: bytes of results kept per draw; ``work_per_draw``: working bytes per
    draw of a block; ``seconds``: estimated time of the outcome simulation with the individual
    engine (``None`` for the other engines, whose time does not grow with the cohort).
    """

    draws: int
    block_draws: int
    keep_outcomes: bool
    outcome_per_draw: int
    kept_per_draw: int
    work_per_draw: int
    seconds: float | None = None

    @property
    def kept_bytes(self) -> int:
        return self.kept_per_draw * self.draws

    @property
    def block_bytes(self) -> int:
        return self.work_per_draw * self.block_draws

    @property
    def peak_bytes(self) -> int:
        """Estimated peak memory of the run beyond what the process already uses (bytes)."""
        return self.kept_bytes + self.block_bytes

    def describe(self) -> str:
        """One line: the estimate in words."""
        outcomes = "with" if self.keep_outcomes else "without"
        blocks = (f" for blocks of {self.block_draws:,} draws"
                  if self.block_draws < self.draws else "")
        text = (f"about {_gb(self.peak_bytes)} of memory for {self.draws:,} draws "
                f"({_gb(self.kept_bytes)} of results, {outcomes} per-draw outcomes, and "
                f"{_gb(self.block_bytes)} of working memory{blocks})")
        if self.seconds is not None:
            text += f"; the individual engine takes about {_duration(self.seconds)}"
        return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup memory limit (v2 or v1), or None if no limit."""
    root = Path("/sys/fs/cgroup")
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    rooms = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        if controllers == "":  # cgroup v2
            for base in (root / rel.lstrip("/"), root):
                limit = _read_int(base / "memory.max")
                used = _read_int(base / "memory.current")
                if limit is not None and used is not None:
                    rooms.append(limit - used)
                    break
        elif "memory" in controllers.split(","):  # cgroup v1
            for base in (root / "memory" / rel.lstrip("/"), root / "memory"):
                limit = _read_int(base / "memory.limit_in_bytes")
                used = _read_int(base / "memory.usage_in_bytes")
                if limit is not None and used is not None and limit < 2**60:
                    rooms.append(limit - used)
                    break
    return max(min(rooms), 0) if rooms else None


def available_memory() -> int | None:
    """Bytes this process can still allocate: ``MemAvailable`` of ``/proc/meminfo``, or less
    under a cgroup memory limit; ``None`` where neither can be read (then nothing is refused).
    """
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        avail = None
    room = _cgroup_room()
    if room is not None:
        avail = room if avail is None else min(avail, room)
    return avail


def _per_draw_bytes(ds) -> int:
    """Bytes per draw of the variables (and coordinates) of ``ds`` with a draw dimension."""
    n = ds.sizes["draw"]
    return int(sum(var.nbytes for var in ds.variables.values() if "draw" in var.dims) // n)


def _individual_seconds(scenario, draws: int) -> float:
    from sibsim.engine.outcome_models import model_of

    st = model_of(scenario).structure()
    rate = INDIVIDUAL_THROUGHPUT.get(st.kind, min(INDIVIDUAL_THROUGHPUT.values()))
    return float(st.sizes.sum()) * scenario.horizon * draws / rate


def _outcome_bytes(ds) -> tuple[int, int]:
    """(bytes per draw of the per-draw outcome arrays, bytes per draw of the sampled
    parameters and the draw coordinate) of an outcome dataset."""
    n = ds.sizes["draw"]
    params = (ds["parameter_value"].nbytes + ds["draw"].nbytes) // n
    return _per_draw_bytes(ds) - params, params


def _pilot(scenario, engaged_events: bool = False):
    from sibsim.dataset.build import simulate

    return simulate(scenario, PILOT_DRAWS, 0, engine="expected", progress=False,
                    engaged_events=engaged_events)


def estimate_outcomes(scenario, draws: int, engine: str = "auto") -> RunEstimate:
    """Estimate of :func:`sibsim.simulate` for ``draws`` draws (all kept, one block)."""
    from sibsim.engine.run import choose_engine

    scenario = getattr(scenario, "scenario", scenario)
    draws = v.positive_int("draws", draws)
    per, params = _outcome_bytes(_pilot(scenario))
    name, _ = choose_engine(scenario, engine)
    seconds = _individual_seconds(scenario, draws) if name == "individual" else None
    # the engine's arrays and the dataset's derived at_risk: the outcome arrays about once more
    return RunEstimate(draws=draws, block_draws=draws, keep_outcomes=True, outcome_per_draw=per,
                       kept_per_draw=per + params, work_per_draw=per // 2, seconds=seconds)


def estimate_run(deal, draws: int, *, engine: str = "auto", with_breakeven: bool = True,
                 block_draws: int | None = None, keep_outcomes: bool | None = None,
                 available: int | None = None) -> RunEstimate:
    """Estimate the memory (and time, for the individual engine) of :func:`sibsim.analyse`.

    ``block_draws=None`` chooses the block size: as many draws as fit in :data:`BLOCK_BYTES` of
    working memory (less when ``available`` memory is short), a multiple of
    :data:`BLOCK_ROUND`, at most ``draws``. ``keep_outcomes=None`` keeps the per-draw outcome
    arrays when they take at most :data:`KEEP_OUTCOMES_BYTES`.
    """
    from sibsim.analysis.metrics import investor_metrics, municipality_metrics
    from sibsim.engine.run import choose_engine
    from sibsim.money.sib import counterfactual, money_flows

    draws = v.positive_int("draws", draws)
    scenario = deal.scenario
    name, _ = choose_engine(scenario, engine)
    n = PILOT_DRAWS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = _pilot(scenario, deal.needs_engaged_events)
        money = money_flows(deal, ds, cf=counterfactual(deal, n, 0))
        metrics = _per_draw_bytes(investor_metrics(money)) + _per_draw_bytes(
            municipality_metrics(money))
    outcome, params = _outcome_bytes(ds)
    money_b = _per_draw_bytes(money)
    be = 8 * (1 + 3 * 3) if with_breakeven else 0  # draw + 3 variables x 3 parties
    if keep_outcomes is None:
        keep_outcomes = outcome * draws <= KEEP_OUTCOMES_BYTES
    kept = money_b + metrics + be + params + (outcome if keep_outcomes else 0)
    work = math.ceil(WORK_FACTOR[bool(with_breakeven)] * (outcome + money_b))
    if block_draws is None:
        budget = BLOCK_BYTES
        if available is not None:  # leave room for the results
            budget = min(budget, max(int(SAFETY * available) - kept * draws, 0) // 2)
        block = max(budget // work, 1)
        block = max(BLOCK_ROUND, (block // BLOCK_ROUND) * BLOCK_ROUND)
        block_draws = min(draws, block)
    else:
        block_draws = min(v.positive_int("block_draws", block_draws), draws)
    seconds = _individual_seconds(scenario, draws) if name == "individual" else None
    return RunEstimate(draws=draws, block_draws=block_draws, keep_outcomes=bool(keep_outcomes),
                       outcome_per_draw=outcome, kept_per_draw=kept, work_per_draw=work,
                       seconds=seconds)


#: Draws from which :func:`check_draws_fit` checks a run from Python (its estimate simulates a
#: pilot; fewer draws of any deal fit in a few hundred megabytes).
CHECK_DRAWS_FROM = 20_000


def check_draws_fit(deal, draws: int, copies: int = 1, *,
                    from_draws: int = CHECK_DRAWS_FROM) -> None:
    """Raise :class:`RunTooLargeError` before any work when ``draws`` draws of ``deal``, held all
    at once, cannot fit in memory: the estimate of one unblocked analysis without break-even
    (:func:`estimate_run`), its results held ``copies`` times (e.g. once per option compared).

    For the tools that keep every draw (``sibsim.design``, ``compare``, ``payment_curves``,
    ``value_of_information``, the sensitivity methods) and the command line (``from_draws=1``).
    A lower bound of what they need: it refuses runs that would fail with an allocation error
    after minutes of work, and gives the number of draws that fit. Runs of fewer than
    ``from_draws`` draws are not checked.

    >>> import sibsim
    >>> check_draws_fit(sibsim.load_scenario("peterborough"), 1000)  # fits: returns None
    """
    draws = v.positive_int("draws", draws)
    if draws < from_draws or not getattr(deal, "has_money", False):
        return
    est = estimate_run(deal, draws, with_breakeven=False, block_draws=draws, keep_outcomes=True)
    check_fits(replace(est, kept_per_draw=est.kept_per_draw * max(int(copies), 1)),
               blocks_option=False)


def check_fits(est: RunEstimate, available: int | None = None, *,
               blocks_option: bool = True) -> None:
    """Raise :class:`RunTooLargeError` when ``est`` needs more than the available memory.

    ``available``: bytes (default :func:`available_memory`); the run may use
    :data:`SAFETY` of it. The message gives the estimate and the option that helps: blocks of
    fewer draws (``blocks_option``: the run can be processed in blocks), fewer draws, not
    keeping the per-draw outcome arrays, or (``blocks_option``) streaming the results to a zarr
    store on disk.
    """
    if available is None:
        available = available_memory()
    if available is None:
        return
    room = int(SAFETY * available)
    if est.peak_bytes <= room:
        return
    head = f"this run needs {est.describe()}, but about {_gb(available)} is available"
    kept_room = room - est.kept_bytes
    min_block = min(est.block_draws, BLOCK_ROUND)
    if blocks_option and kept_room >= est.work_per_draw * min_block:
        fit = max(kept_room // est.work_per_draw, 1)
        fit = (fit // BLOCK_ROUND) * BLOCK_ROUND if fit >= BLOCK_ROUND else fit
        raise RunTooLargeError(f"{head}; process the draws in smaller blocks: --block-draws "
                               f"{fit} (Python: block_draws={fit}), or leave the block size "
                               "to sibsim")
    per = est.kept_per_draw + est.work_per_draw * (1 if not blocks_option else 0)
    fit_draws = max(int((room - est.work_per_draw * min_block) // max(per, 1)), 0)
    hint = f"use fewer draws (about {fit_draws:,} fit)" if fit_draws > 0 else \
        "use a machine with more memory"
    if est.keep_outcomes and blocks_option:
        without = est.kept_per_draw - est.outcome_per_draw
        if without * est.draws + est.work_per_draw * min_block <= room:
            hint = ("do not keep the per-draw outcome arrays (keep_outcomes=False: the results "
                    "keep their means over draws), or " + hint)
    if blocks_option:  # the results themselves do not fit: a store on disk holds them
        hint += (", or stream the results to disk block by block: --out NAME.zarr (Python: "
                 "sibsim.store.analyse_to_zarr)")
    raise RunTooLargeError(f"{head}; {hint}")
