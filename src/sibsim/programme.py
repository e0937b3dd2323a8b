"""Programme-scale sweeps: many deals over one template deal, with the fund's totals.

A *programme* is a set of deals that share a template, one per municipality for instance: a
national outcomes fund or a ministry backing the same kind of contract in 300 places, each with
its own cohort, baseline and terms. It is read from a table (CSV) with one row per deal: a
``deal`` column with each deal's name, and one column per value that differs from the template,
headed by its *path* in the deal (see :mod:`sibsim.spec.paths`)::

    deal,start_year,scenario.cohort.entry[0],scenario.cohort.entry[1],contract.caps.total
    Akaa,2027,31,29,750000
    Alajärvi,2028,18,17,440000

Every row's values are set on the template with :meth:`sibsim.Deal.with_values`, so each one is
validated as in a scenario file. When a row gives the entry waves
(``scenario.cohort.entry...``) and not ``scenario.cohort.size``, the size follows the waves (it
must equal their sum).

:func:`run_programme` runs every deal (on a dask cluster with ``client=``, see
:mod:`sibsim.distributed`) and returns one :class:`xarray.Dataset` with a ``deal`` dimension
(each deal's summary: expected outcome payments, probability of any payment, commissioner's net
savings, investors' probability of loss, ...) and the fund's totals: the outcome payments of all
deals together in each calendar year, per draw, with their mean and percentiles, and how many
deals pay out.

Random streams
    The deal named ``name`` runs with its own seed, :func:`deal_seed` ``(seed, name)`` (numpy's
    :class:`~numpy.random.SeedSequence` with a spawn key from the name): the results depend on
    ``seed`` and the deal's own row alone, not on the workers nor on the other rows, and its
    results are those of ``sibsim.analyse(programme.deal(name), draws=draws,
    seed=deal_seed(seed, name))``.
    The deals' draws are independent of each other (a draw of the fund is draw ``d`` of
    every deal).

Examples
--------
>>> import sibsim
>>> from sibsim.programme import Programme, run_programme
>>> template = sibsim.load_scenario("koto-sib")
>>> prog = Programme(template, names=("north", "south"),
...                  columns=("start_year",), values=((2020,), (2021,)))
>>> res = run_programme(prog, draws=50, seed=1, progress=False)
>>> res["deal"].values.tolist(), int(res["year"].values[0])
(['north', 'south'], 2020)
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
import io
import math
import os
import tomllib
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sibsim.money.deal import Deal, first_mismatch
from sibsim.spec import _validate as v
from sibsim.spec.paths import expand_path, parse_path

__all__ = ["DEAL_COLUMN", "QUANTILES", "Programme", "ProgrammeError", "deal_seed",
           "describe_programme", "fund_budget", "load_programme", "programme_table",
           "programme_warnings", "run_programme", "table_paths", "write_programme",
           "write_programme_table"]

#: The header of the column naming each deal.
DEAL_COLUMN = "deal"
#: Quantiles of the fund's totals over draws.
QUANTILES = (0.05, 0.5, 0.9, 0.95)
#: Deals given to a cluster at a time, per worker thread.
WINDOW_PER_THREAD = 2


class ProgrammeError(ValueError):
    """A programme table that cannot be used (one line naming the row or the column)."""


# --------------------------------------------------------------------------------- the table
def table_paths(template: Deal) -> tuple[str, ...]:
    """The paths of the template's numbers: the columns a programme table usually has.

    Any path that names a field of the deal is accepted as a column (also a field that is
    empty in the template); these are the ones that hold a number (or a sequence of numbers,
    each item its own path).

    >>> import sibsim
    >>> paths = table_paths(sibsim.load_scenario("koto-sib"))
    >>> "start_year" in paths and "capital.tranches[0].commitment" in paths
    True
    """
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, bool) or node is None:
            return
        if isinstance(node, (int, float, np.integer, np.floating)):
            if path and math.isfinite(float(node)):
                found.append(path)
            return
        if isinstance(node, (tuple, list)):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")
            return
        if isinstance(node, Mapping):
            for key, item in node.items():
                if isinstance(key, str) and key.isidentifier():
                    walk(item, f"{path}.{key}" if path else key)
            return
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            for f in dataclasses.fields(node):
                if f.init:
                    walk(getattr(node, f.name), f"{path}.{f.name}" if path else f.name)

    walk(template, "")
    return tuple(found)


def deal_seed(seed: int, name: str) -> int:
    """The seed of the deal named ``name`` in a programme run with ``seed``: a 63-bit integer
    from :class:`numpy.random.SeedSequence` ``(seed, spawn_key=(key,))``, ``key`` the first 8
    bytes of the name's SHA-256. Keyed on the name, not the row: adding, removing or sorting
    rows of the table leaves every other deal's draws as they were.

    >>> deal_seed(1, "Espoo") == deal_seed(1, "Espoo") != deal_seed(1, "Vantaa")
    True
    """
    seed = v.positive_int("seed", seed, minimum=0)
    if not isinstance(name, str) or not name:
        raise v.fail("deal_seed.name", name, "a deal's name (non-empty text)")
    key = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    state = np.random.SeedSequence(seed, spawn_key=(key,)).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def _closest(column: str, close: list[str]) -> list[str]:
    """Of difflib's close matches (best first), those nearly as close as the best (a typo of
    ``start_year`` suggests ``start_year``, not also ``start_period``)."""
    score = [difflib.SequenceMatcher(None, column, c).ratio() for c in close]
    return [c for c, r in zip(close, score, strict=True) if r >= score[0] - 0.1] if close else []


def _check_column(template: Deal, column: str, allowed: tuple[str, ...]) -> None:
    """Refuse a column that is not a path of the template, naming the paths allowed."""
    try:
        expand_path(template, column)
    except (ValueError, TypeError) as err:
        close = difflib.get_close_matches(column, allowed, n=3, cutoff=0.6)
        close = _closest(column, close)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        shown = ", ".join(repr(p) for p in allowed[:12])
        more = f", ... ({len(allowed)} in all: sibsim.programme.table_paths(template))" \
            if len(allowed) > 12 else ""
        raise ProgrammeError(
            f"column {column!r}: not a path of the template deal{hint}; allowed: "
            f"{DEAL_COLUMN!r} and a path of the template, e.g. {shown}{more} [{err}]"
        ) from None


def _cohort_size(template: Deal, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with ``scenario.cohort.size`` = the sum of the entry waves, when the row sets
    the waves and not the size."""
    if not any(p.startswith("scenario.cohort.entry") for p in row) or any(
            p.startswith("scenario.cohort.size") for p in row):
        return row
    entry = list(template.scenario.cohort.entry)
    for path, value in row.items():
        steps = parse_path(path)
        if steps[:3] != ("scenario", "cohort", "entry"):
            continue
        if len(steps) == 3:
            entry = list(value) if isinstance(value, (tuple, list)) else [value]
        elif len(steps) == 4 and isinstance(steps[3], int) and steps[3] < len(entry):
            entry[steps[3]] = value
        else:
            return row  # let with_values say what is wrong
    try:
        size = sum(int(x) for x in entry)
    except (TypeError, ValueError):
        return row
    return {**row, "scenario.cohort.size": size}


@dataclasses.dataclass(frozen=True)
class Programme:
    """A set of deals over one template: the template and the table of values by path.

    Parameters
    ----------
    template : Deal
        The shared deal (with money terms), e.g. from :func:`sibsim.load_scenario`.
    names : sequence of str
        Each deal's name (the table's ``deal`` column): non-empty, unique.
    columns : sequence of str
        Paths in the template (:mod:`sibsim.spec.paths`), e.g. ``"scenario.cohort.entry[0]"``,
        ``"contract.caps.total"``, ``"start_year"``.
    values : sequence of sequences
        One row per deal, one value per column (numbers, sequences of numbers, or text).
    name : str
        The programme's name (results' attributes; default ``"programme"``).

    Every deal is built at construction (:attr:`deals`), each value validated by the deal's
    own checks; a message names the row and the deal.

    Examples
    --------
    >>> import sibsim
    >>> prog = Programme(sibsim.load_scenario("koto-sib"), names=("a", "b"),
    ...                  columns=("contract.caps.total",), values=((1e6,), (2e6,)))
    >>> [d.contract.caps.total for d in prog.deals]
    [1000000.0, 2000000.0]
    """

    template: Deal
    names: tuple[str, ...]
    columns: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    name: str = "programme"
    deals: tuple[Deal, ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.template, Deal) or not self.template.has_money:
            raise ProgrammeError(
                f"Programme.template: got {type(self.template).__name__}; allowed: a Deal with "
                "money terms (evaluations, a contract and a capital structure)")
        names = tuple(self.names) if not isinstance(self.names, str) else (self.names,)
        columns = tuple(self.columns) if not isinstance(self.columns, str) else (self.columns,)
        values = tuple(tuple(r) for r in self.values)
        if not names:
            raise ProgrammeError("the programme table has no deals; allowed: one row per deal "
                                 f"(at least one), named in the {DEAL_COLUMN!r} column")
        for i, n in enumerate(names):
            if not isinstance(n, str) or not n.strip() or v.has_control_characters(n):
                raise ProgrammeError(f"row {i + 1}: {DEAL_COLUMN}: got {n!r}; allowed: a "
                                     "non-empty name without control characters")
        seen: dict[str, int] = {}
        for i, n in enumerate(names):
            if n in seen:
                raise ProgrammeError(f"row {i + 1}: {DEAL_COLUMN}: got {n!r}, also the name of "
                                     f"row {seen[n] + 1}; allowed: a name per deal (unique)")
            seen[n] = i
        if len(values) != len(names):
            raise ProgrammeError(f"Programme.values: got {len(values)} rows; allowed: one per "
                                 f"deal ({len(names)})")
        if len(set(columns)) != len(columns):
            dup = next(c for c in columns if columns.count(c) > 1)
            raise ProgrammeError(f"column {dup!r}: given twice; allowed: each path once")
        allowed = table_paths(self.template)
        for c in columns:
            if c == DEAL_COLUMN:
                raise ProgrammeError(f"column {DEAL_COLUMN!r}: it names the deals, not a value")
            _check_column(self.template, c, allowed)
        deals = []
        for i, (n, row) in enumerate(zip(names, values, strict=True)):
            if len(row) != len(columns):
                raise ProgrammeError(f"row {i + 1} (deal {n!r}): got {len(row)} values; "
                                     f"allowed: one per column ({len(columns)})")
            changes = _cohort_size(self.template, dict(zip(columns, row, strict=True)))
            try:
                deals.append(self.template.with_values(changes))
            except (ValueError, TypeError) as err:
                raise ProgrammeError(f"row {i + 1} (deal {n!r}): {err}") from None
        _check_compatible(deals, names)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "deals", tuple(deals))

    def __len__(self) -> int:
        return len(self.names)

    def deal(self, name: str) -> Deal:
        """The deal of the row named ``name``."""
        if name not in self.names:
            raise v.fail("Programme.deal", name, "one of " + ", ".join(map(repr, self.names)))
        return self.deals[self.names.index(name)]


def _check_compatible(deals: Sequence[Deal], names: Sequence[str]) -> None:
    """Totals need one currency, one period length, and calendar years for all or none
    (:func:`sibsim.money.deal.first_mismatch`)."""
    found = first_mismatch(deals)
    if found is None:
        return
    i, what = found
    n, d, first = names[i], deals[i], deals[0]
    allowed = {
        "currency": (repr(d.currency), f"the currency of the other deals ({first.currency!r}), "
                     "as the fund's totals add them up"),
        "period": (repr(d.scenario.period), f"the period of the other deals "
                   f"({first.scenario.period!r})"),
        "start_year": (str(d.start_year), "a start year for every deal or for none (the "
                       "fund's budget is by calendar year)")}
    value, text = allowed[what]
    raise ProgrammeError(f"deal {n!r}: {what} {value}; allowed: {text}")


def _cell(text: str, decimal_comma: bool) -> Any:
    """A table cell: a number, a list (``[1, 2]``), or text."""
    s = text.strip()
    if s.startswith("["):
        try:
            return tuple(tomllib.loads(f"v = {s}")["v"])
        except tomllib.TOMLDecodeError:
            return s
    t = s.replace("\u00a0", "").replace(" ", "")
    if decimal_comma and t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")
    for kind in (int, float):
        try:
            x = kind(t)
        except ValueError:
            continue
        return x
    return s


#: Largest programme table read (bytes): far above any real fund's, and the read is bounded.
MAX_TABLE_BYTES = 64 * 2**20


def _read_table_text(path: Path) -> str:
    """The text of a programme table: a regular file (a FIFO or a device would block, a folder
    cannot be read) of at most :data:`MAX_TABLE_BYTES`, UTF-8 with or without the byte-order
    mark that Excel's "CSV UTF-8" writes; else :class:`ProgrammeError`."""
    import stat

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise ProgrammeError(f"{path}: cannot read the table: not a regular file (a "
                                 "programme table must be a CSV file)")
        if st.st_size > MAX_TABLE_BYTES:
            raise ProgrammeError(f"{path}: cannot read the table: {st.st_size:,} bytes; "
                                 f"allowed: at most {MAX_TABLE_BYTES:,} bytes")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_TABLE_BYTES + 1)
    except OSError as err:
        raise ProgrammeError(f"{path}: cannot read the table: {err.strerror or err}") from None
    if len(raw) > MAX_TABLE_BYTES:
        raise ProgrammeError(f"{path}: cannot read the table: more than {MAX_TABLE_BYTES:,} "
                             "bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProgrammeError(f"{path}: not UTF-8 text ({err.reason}); save the table as CSV "
                             "UTF-8") from None


def load_programme(template: Deal | str | os.PathLike, table: str | os.PathLike,
                   name: str | None = None) -> Programme:
    """A :class:`Programme` from a template deal and a CSV table, one row per deal.

    Parameters
    ----------
    template : Deal, or a scenario file or built-in scenario name
        The shared deal.
    table : path
        A CSV file (UTF-8, Excel's byte-order mark allowed): a header row with ``deal`` and
        paths of the template, then one row per deal. Separated by commas, or by semicolons
        with decimal commas (as Excel writes it in Finnish or Swedish). A cell is a number, a
        list such as ``[0.95, 0.05]``, or text; an empty cell is refused (write the template's
        value if it is meant).
    name : str, optional
        The programme's name (default: the table's file name without suffix).

    Raises
    ------
    ProgrammeError
        An empty table, a missing ``deal`` column, an unknown column (the message names it and
        the paths allowed), a duplicate deal name, an empty cell, or a value the deal refuses
        (the message names the row, the deal and the field).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "fund.csv"
    >>> _ = path.write_text("deal,contract.caps.total\\nnorth,1000000\\nsouth,2000000\\n")
    >>> prog = load_programme("koto-sib", path)
    >>> prog.names, prog.name
    (('north', 'south'), 'fund')
    """
    if not isinstance(template, Deal):
        from sibsim.scenario_file import load_scenario

        template = load_scenario(template)
    path = Path(table)
    text = _read_table_text(path)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ProgrammeError(f"{path}: the table is empty; allowed: a header row ({DEAL_COLUMN!r} "
                             "and paths of the template) and one row per deal")
    header = lines[0]
    sep = ";" if header.count(";") > header.count(",") else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=sep))
    head = [h.strip() for h in rows[0]]
    if DEAL_COLUMN not in head:
        raise ProgrammeError(f"{path}: no {DEAL_COLUMN!r} column; got columns "
                             f"{', '.join(map(repr, head))}; allowed: {DEAL_COLUMN!r} (each "
                             "deal's name) and paths of the template")
    if "" in head:
        raise ProgrammeError(f"{path}: column {head.index('') + 1} has no header; allowed: "
                             f"{DEAL_COLUMN!r} or a path of the template")
    if len(rows) < 2:
        raise ProgrammeError(f"{path}: the table has no deals (a header and no rows); allowed: "
                             "one row per deal")
    at = head.index(DEAL_COLUMN)
    columns = [h for i, h in enumerate(head) if i != at]
    names, values = [], []
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(head):
            raise ProgrammeError(f"{path}: line {r}: got {len(row)} cells; allowed: one per "
                                 f"column ({len(head)})")
        deal = row[at].strip()
        cells = []
        for i, (h, c) in enumerate(zip(head, row, strict=True)):
            if i == at:
                continue
            if not c.strip():
                raise ProgrammeError(f"{path}: line {r} (deal {deal!r}), column {h!r}: empty; "
                                     "allowed: a value (write the template's value if it is "
                                     "meant)")
            cells.append(_cell(c, decimal_comma=sep == ";"))
        names.append(deal)
        values.append(tuple(cells))
    try:
        return Programme(template, names=tuple(names), columns=tuple(columns),
                         values=tuple(values), name=name or path.stem)
    except ProgrammeError as err:
        raise ProgrammeError(f"{path}: {err}") from None


# ----------------------------------------------------------------------------- running deals
def _year_sums(x: np.ndarray, years: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(draw, period) -> (draw, year): each calendar year's periods summed."""
    return np.stack([x[:, years == y].sum(-1) for y in labels], axis=-1)


def _run_deal(deal: Deal, draws: int, seed: int, engine: str, block: int,
              threads: dict[str, int] | int | None = None) -> dict:
    """One deal of a programme: its summary scalars and per-draw yearly totals.

    The draws run in blocks of ``block`` through :func:`sibsim.report.run_block`, put
    together by the collector of :func:`sibsim.analyse`: the same numbers as
    ``analyse(deal, draws=draws, seed=seed, with_breakeven=False)``, to the last bit (blocks
    do not change results), without what a programme does not use (the memory estimate of
    each run, the yearly budget of each deal, the per-draw outcome arrays)."""
    from sibsim.analysis.power import warn_small_samples
    from sibsim.report import _BlockCollector, run_block, warn_money

    if threads is not None:  # run_block sets them
        from sibsim.distributed import worker_threads

        threads = worker_threads(threads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        collect = _BlockCollector(draws, keep_outcomes=False, search=None)
        for first in range(0, draws, block):
            collect.add(run_block(deal, first, min(block, draws - first), seed, engine, None,
                                  threads=threads))
        res = collect.result()
        warn_money(res.money, deal, stacklevel=1)
        warn_small_samples(deal)
    m = res.money
    years = np.asarray(deal.calendar_years())
    labels = np.unique(years)
    gross = m["payments_by_payer"].sum("payer").transpose("draw", "period").values
    net = m["net_savings_by_payer"].sum("payer").transpose("draw", "period").values
    cash = m["cashable_savings_by_payer"].sum("payer").transpose("draw", "period").values
    total = gross.sum(-1)
    head = res.headline()
    scalars = {k: (float(head[k]), head[k].attrs["units"], head[k].attrs["description"])
               for k in head.data_vars}
    messages = []
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, UserWarning) and text not in messages:
            messages.append(text)
    return {"scalars": scalars, "labels": labels, "gross": _year_sums(gross, years, labels),
            "net": _year_sums(net, years, labels), "cash": _year_sums(cash, years, labels),
            "total": total,
            "warnings": messages}


def _results_in_order(deals: Sequence[Deal], seeds: Sequence[int], draws: int, engine: str,
                      block: int, client: Any) -> Iterator[dict]:
    """Each deal's :func:`_run_deal`, in the table's order; on ``client``'s cluster, at most a
    window of deals ahead of the one awaited."""
    if client is None:
        for deal, s in zip(deals, seeds, strict=True):
            yield _run_deal(deal, draws, s, engine, block)
        return
    from sibsim.distributed import _require, in_order, numba_threads_by_host

    _require()
    nthreads = sum(client.nthreads().values())
    if nthreads == 0:
        raise RuntimeError("the dask cluster has no workers")
    threads = numba_threads_by_host(client)
    run_id = uuid.uuid4().hex[:12]
    tasks = ((f"sibsim-deal-{run_id}-{i}", _run_deal, (deal, draws, s, engine, block, threads))
             for i, (deal, s) in enumerate(zip(deals, seeds, strict=True)))
    yield from in_order(client, tasks)


def _block_draws(deals: Sequence[Deal], draws: int, engine: str) -> int:
    """Draws a block of every deal: those of :func:`sibsim.analyse` for the deal with the
    longest horizon (a deal's working memory grows with its periods, not its people), checked
    against the memory available."""
    from sibsim import resources

    longest = max(deals, key=lambda d: d.scenario.horizon)
    available = resources.available_memory()
    est = resources.estimate_run(longest, draws, engine=engine, with_breakeven=False,
                                 keep_outcomes=False, available=available)
    resources.check_fits(est, available)
    return est.block_draws


def run_programme(programme: Programme, *, draws: int, seed: int, engine: str = "auto",
                  confidence: float = 0.9, client: Any = None,
                  progress: bool | None = None) -> xr.Dataset:
    """Run every deal of a programme and add up the fund's totals.

    Parameters
    ----------
    programme : Programme
        The deals (:func:`load_programme`).
    draws : int
        Monte Carlo draws of each deal (and of the fund's totals).
    seed : int
        The deal named ``name`` runs with :func:`deal_seed` ``(seed, name)``; the results
        depend on ``seed`` alone (not on the workers, nor on the other rows of the table).
    engine : {"auto", "individual", "aggregate", "expected"}
        Outcome engine of each deal.
    confidence : float
        Confidence of the fund's yearly appropriation, a fraction in (0, 1] (default 0.9).
    client : distributed.Client, optional
        Run the deals on this dask cluster (one task a deal; ``pip install sibsim[dask]``);
        the results are identical to a run without it.
    progress : bool, optional
        A bar over the deals (None: only in a terminal).

    Returns
    -------
    xarray.Dataset
        Dimensions ``deal``, ``draw``, ``year`` (calendar years of all deals together),
        ``quantile`` (:data:`QUANTILES`) and ``paying`` (0 .. number of deals). Per deal:
        the headline figures of :meth:`sibsim.SIBResults.headline` (``mean_outcome_payments``,
        ``p_commissioner_net_loss``, ``mean_npv_net_savings``, ``p_investor_loss``, ...),
        ``p_payment`` (probability of any outcome payment), ``outcome_payments_p95``,
        ``participants``, ``start_year``, ``seed`` and ``warnings`` (text, "" if none);
        ``outcome_payments`` (deal, draw): each deal's total outcome payments per draw.
        The fund: ``fund_payments`` and ``fund_net_savings`` (draw, year), summed over the
        deals; their ``_mean`` (year) and ``_quantile`` (quantile, year);
        ``fund_appropriation`` (year, the ``confidence`` quantile of the year's payments);
        ``fund_total_payments`` (draw); ``deals_paying`` (draw, how many deals make any
        outcome payment) and ``p_deals_paying`` (paying: its distribution). Amounts in the
        deals' currency, undiscounted.

    Examples
    --------
    >>> import sibsim
    >>> prog = Programme(sibsim.load_scenario("koto-sib"), names=("a", "b"),
    ...                  columns=("contract.caps.total",), values=((1e6,), (2e6,)))
    >>> res = run_programme(prog, draws=40, seed=3, progress=False)
    >>> import numpy as np
    >>> bool(np.allclose(res["fund_payments"].sum("year"), res["outcome_payments"].sum("deal")))
    True
    >>> int(res["deals_paying"].max()) <= 2
    True
    """
    from sibsim.analysis.budget import check_confidence
    from sibsim.engine.progress import progress as run_progress

    if not isinstance(programme, Programme):
        raise v.fail("run_programme.programme", type(programme).__name__,
                     "a Programme (sibsim.programme.load_programme)")
    draws = v.positive_int("draws", draws)
    seed = v.positive_int("seed", seed, minimum=0)
    confidence = check_confidence("confidence", confidence)
    v.choice("engine", engine, ("auto", "individual", "aggregate", "expected"))
    deals = programme.deals
    seeds = [deal_seed(seed, name) for name in programme.names]
    block = _block_draws(deals, draws, engine)
    labels = np.unique(np.concatenate([d.calendar_years() for d in deals]))
    where = {int(y): j for j, y in enumerate(labels)}
    fund_gross = np.zeros((draws, labels.size))
    fund_net = np.zeros((draws, labels.size))
    fund_cash = np.zeros((draws, labels.size))
    per_draw = np.zeros((len(deals), draws))
    scalars: dict[str, list] = {}
    meta: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    with run_progress(len(deals), progress, label="deals") as bar:
        for i, r in enumerate(_results_in_order(deals, seeds, draws, engine, block, client)):
            cols = [where[int(y)] for y in r["labels"]]
            fund_gross[:, cols] += r["gross"]  # in the table's order: the same sums anywhere
            fund_net[:, cols] += r["net"]
            fund_cash[:, cols] += r["cash"]
            per_draw[i] = r["total"]
            for k, (val, unit, desc) in r["scalars"].items():
                scalars.setdefault(k, []).append(val)
                meta[k] = (unit, desc)
            notes.append("\n".join(r["warnings"]))
            bar.update(1)
    return _dataset(programme, draws, seed, seeds, confidence, labels, fund_gross, fund_net,
                    fund_cash, per_draw, scalars, meta, notes)


def _year_statistics(name: str, x: np.ndarray, cur: str, what: str,
                     q: np.ndarray | None) -> dict[str, xr.Variable]:
    """``<name>_mean`` (year) of the fund's per-draw yearly totals ``x`` (draw, year), and
    ``<name>_quantile`` (quantile, year) at ``q`` unless it is None."""
    out = {f"{name}_mean": xr.Variable("year", x.mean(0), {
        "units": cur, "description": f"Mean over draws of the year's {what} of all deals "
                                     "together."})}
    if q is not None:
        out[f"{name}_quantile"] = xr.Variable(("quantile", "year"), np.quantile(x, q, axis=0), {
            "units": cur, "description": f"Quantiles over draws of the year's {what} of all "
                                         "deals together."})
    return out


def _dataset(programme: Programme, draws: int, seed: int, seeds: list[int], confidence: float,
             labels: np.ndarray, fund_gross: np.ndarray, fund_net: np.ndarray,
             fund_cash: np.ndarray, per_draw: np.ndarray, scalars: dict[str, list],
             meta: dict[str, tuple[str, str]], notes: list[str]) -> xr.Dataset:
    deals = programme.deals
    n = len(deals)
    cur = deals[0].currency
    paid = per_draw > 0
    paying = paid.sum(0)
    q = np.asarray(QUANTILES)
    pct = f"{100 * confidence:g}%"
    calendar = deals[0].start_year is not None
    data: dict[str, Any] = {}
    for k, vals in scalars.items():
        unit, desc = meta[k]
        data[k] = xr.Variable("deal", np.asarray(vals, dtype=float),
                              {"units": unit, "description": desc})
    data.update({
        "p_payment": xr.Variable("deal", paid.mean(1), {
            "units": "probability",
            "description": "Probability that the deal makes any outcome payment."}),
        "outcome_payments_p95": xr.Variable("deal", np.quantile(per_draw, 0.95, axis=1), {
            "units": cur, "description": "95th percentile over draws of the deal's total "
                                         "outcome payments."}),
        "participants": xr.Variable("deal", np.array([d.scenario.cohort.size for d in deals]),
                                    {"units": "people", "description": "Cohort size."}),
        "start_year": xr.Variable("deal", np.array([int(d.calendar_years()[0]) for d in deals]),
                                  {"units": "calendar year" if calendar else "year of the deal",
                                   "description": "First year of the deal."}),
        "seed": xr.Variable("deal", np.array(seeds, dtype=np.int64), {
            "units": "1", "description": "The deal's own seed, deal_seed(seed, name): "
                                         "sibsim.analyse(deal, draws, seed) gives its results."}),
        "warnings": xr.Variable("deal", np.array(notes, dtype=object).astype(str), {
            "description": "Warnings of the deal's run, one a line ('' if none)."}),
        "outcome_payments": xr.Variable(("deal", "draw"), per_draw, {
            "units": cur, "description": "Total outcome payments of each deal in each draw "
                                         "(all payers, all years)."}),
        "fund_payments": xr.Variable(("draw", "year"), fund_gross, {
            "units": cur, "description": "Outcome payments of all deals together in the year "
                                         "(all payers), per draw."}),
        "fund_net_savings": xr.Variable(("draw", "year"), fund_net, {
            "units": cur, "description": "Net savings of all deals' commissioners together in "
                                         "the year (cashable savings - outcome payments + "
                                         "excess returned - own costs), per draw."}),
        "fund_cashable_savings": xr.Variable(("draw", "year"), fund_cash, {
            "units": cur, "description": "Cashable savings of all deals' payers together in "
                                         "the year (savings that leave their budgets), per "
                                         "draw."}),
        **_year_statistics("fund_cashable_savings", fund_cash, cur, "cashable savings", q=None),
        **_year_statistics("fund_payments", fund_gross, cur, "outcome payments", q=q),
        "fund_appropriation": xr.Variable("year", np.quantile(fund_gross, confidence, axis=0), {
            "units": cur, "description": f"Appropriation at {pct} confidence: the "
                                         f"{confidence:g} quantile of the year's outcome "
                                         "payments of all deals together."}),
        **_year_statistics("fund_net_savings", fund_net, cur, "net savings", q=q),
        "fund_total_payments": xr.Variable("draw", fund_gross.sum(1), {
            "units": cur, "description": "Outcome payments of all deals over all years, per "
                                         "draw."}),
        "deals_paying": xr.Variable("draw", paying.astype(np.int64), {
            "units": "deals", "description": "Number of deals that make any outcome payment, "
                                             "per draw."}),
        "p_deals_paying": xr.Variable("paying", np.bincount(paying, minlength=n + 1) / draws, {
            "units": "probability", "description": "Probability that exactly this many deals "
                                                   "make any outcome payment."}),
    })
    ds = xr.Dataset(data, coords={
        "deal": ("deal", np.array(programme.names, dtype=object).astype(str),
                 {"description": "Deal (a row of the programme table)."}),
        "draw": ("draw", np.arange(draws), {"description": "Monte Carlo draw (draw d of every "
                                                           "deal)."}),
        "year": ("year", labels.astype(np.int64),
                 {"units": "calendar year" if calendar else "year of the deal",
                  "description": "Calendar year" if calendar else
                  "Year of the deal (1 = its first year; the deals state no start_year)"}),
        "quantile": ("quantile", q, {"units": "1", "description": "Quantile over draws."}),
        "paying": ("paying", np.arange(n + 1), {"units": "deals",
                                                "description": "Number of deals paying."}),
    })
    ds.attrs.update({
        "sibsim_content": "programme",
        "programme": programme.name,
        "template": programme.template.name,
        "columns": ",".join(programme.columns),
        "deals": n,
        "draws": draws,
        "seed": seed,
        "seeds": "the deal named n runs with sibsim.programme.deal_seed(seed, n) = "
                 "SeedSequence(seed, spawn_key=(first 8 bytes of sha256(n),)); draw d of the "
                 "fund is draw d of every deal",
        "currency": cur,
        "confidence": confidence,
        "years": "calendar" if calendar else "of the deal",
        "period": programme.template.scenario.period,
    })
    return ds


# ------------------------------------------------------------------------------- the outputs
def programme_table(res: xr.Dataset) -> list[dict[str, Any]]:
    """One row per deal: name, first year, participants and the per-deal summaries."""
    names = ["start_year", "participants", "mean_outcome_payments", "outcome_payments_p95",
             "p_payment", "mean_cashable_savings", "p_commissioner_net_loss",
             "mean_npv_net_savings", "p_investor_loss", "median_investor_irr_annual",
             "mean_investor_moic", "mean_unfunded_costs", "seed", "warnings"]
    names = [k for k in names if k in res]
    rows = []
    for i, d in enumerate(res["deal"].values):
        row: dict[str, Any] = {DEAL_COLUMN: str(d)}
        for k in names:
            x = res[k].values[i]
            row[k] = x.item() if hasattr(x, "item") else x
        rows.append(row)
    return rows


def write_programme_table(res: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write :func:`programme_table` as CSV (comma-separated, decimal point), atomically."""
    from sibsim.dataset.io import atomic_output
    from sibsim.spreadsheet import safe_row

    rows = programme_table(res)
    with atomic_output(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)  # a deal's name or a warning is text, never a spreadsheet formula
        w.writerow(safe_row(rows[0]))
        for r in rows:
            w.writerow(safe_row(f"{x:.6g}" if isinstance(x, float) else x for x in r.values()))
    return Path(path)


def fund_budget(res: xr.Dataset) -> xr.Dataset:
    """The fund's yearly budget, shaped like a deal's (:func:`sibsim.analysis.budget.
    yearly_budget`) with one payer, ``"all deals"``: what
    :func:`sibsim.analysis.budget.write_budget_table` writes as a council's table (CSV in
    English, Finnish or Swedish, or Excel).

    The statistics are over the draws of the fund's totals ``fund_payments`` and
    ``fund_net_savings`` (all payers of all deals together, per calendar year): gross outcome
    payments (mean, median, 90th and 95th percentile), the appropriation at the programme's
    ``confidence`` (equal to ``fund_appropriation``), net savings (mean, 5th percentile,
    median, 95th percentile) and the probability that the year's net savings are negative.
    Cashable savings (mean, 5th percentile, median, 95th percentile) are those of all the
    deals' payers together (``fund_cashable_savings``); a programme's results written before
    they were kept have none, and the table then leaves those columns out.

    Parameters
    ----------
    res : xarray.Dataset
        From :func:`run_programme` (or its netCDF file read back).

    Returns
    -------
    xarray.Dataset
        Dimensions ``payer`` (``"all deals"``) and ``year``; amounts in the deals' currency,
        undiscounted.

    Examples
    --------
    >>> import sibsim
    >>> prog = Programme(sibsim.load_scenario("koto-sib"), names=("a", "b"),
    ...                  columns=("start_year",), values=((2020,), (2021,)))
    >>> res = run_programme(prog, draws=40, seed=3, progress=False)
    >>> b = fund_budget(res)
    >>> b["payer"].values.tolist(), b["year"].values[:2].tolist()
    (['all deals'], [2020, 2021])
    >>> bool((b["appropriation"].sel(payer="all deals") == res["fund_appropriation"]).all())
    True
    """
    from sibsim.analysis.budget import (
        ALL_DEALS,
        cashable_statistics,
        gross_statistics,
        net_statistics,
    )

    if not isinstance(res, xr.Dataset) or res.attrs.get("sibsim_content") != "programme":
        raise v.fail("fund_budget.res", type(res).__name__,
                     "the results of sibsim.programme.run_programme (an xarray.Dataset)")
    cur = str(res.attrs["currency"])
    confidence = float(res.attrs["confidence"])
    gross = res["fund_payments"].transpose("draw", "year").values[:, None, :]
    net = res["fund_net_savings"].transpose("draw", "year").values[:, None, :]
    scale = max(float(np.abs(gross).max(initial=0.0)), 1.0)
    data = gross_statistics(gross, cur, confidence)
    if "fund_cashable_savings" in res:
        cash = res["fund_cashable_savings"].transpose("draw", "year").values[:, None, :]
        data |= cashable_statistics(cash, cur)
    data |= net_statistics(net, cur, scale)
    calendar = res.attrs.get("years") == "calendar"
    out = xr.Dataset(
        {k: xr.Variable(("payer", "year"), val, attrs={"units": u, "description": d})
         for k, (val, u, d) in data.items()},
        coords={"payer": ("payer", np.array([ALL_DEALS]),
                          {"description": f"{ALL_DEALS!r}: all payers of all the programme's "
                                          "deals together."}),
                "year": ("year", res["year"].values.astype(np.int64), dict(res["year"].attrs))})
    out.attrs.update({
        "sibsim_content": "fund budget",
        "programme": res.attrs.get("programme", ""),
        "deals": int(res.sizes["deal"]),
        "years": "calendar" if calendar else "of the deal",
        "currency": cur,
        "confidence": confidence,
        "draws": int(res.sizes["draw"]),
        "period": res.attrs.get("period", ""),
        "seed": res.attrs.get("seed", ""),
        "description": "The fund's gross outcome payments, appropriation at the given "
                       "confidence, cashable and net savings in each year (all deals "
                       "together), over "
                       "the Monte Carlo draws (undiscounted).",
    })
    return out


def describe_programme(res: xr.Dataset) -> str:
    """A plain-language summary: the deals, the fund's yearly budget and how many deals pay."""
    from sibsim.report import _money, _pct

    cur = res.attrs["currency"]
    n = int(res.sizes["deal"])
    D = int(res.sizes["draw"])
    conf = float(res.attrs["confidence"])
    lines = [f"Programme {res.attrs['programme']}: {n} deals over the template "
             f"{res.attrs['template']!r}, {D:,} draws each, seed {res.attrs['seed']}; amounts "
             f"in {cur}.",
             f"  Participants: {int(res['participants'].sum()):,} in all (from "
             f"{int(res['participants'].min()):,} to {int(res['participants'].max()):,} a deal)."]
    tot = res["fund_total_payments"].values
    lo, hi = np.quantile(tot, [0.05, 0.95])
    lines.append(f"  Outcome payments of all deals: mean {_money(tot.mean(), cur)} (90% of draws "
                 f"between {_money(lo, cur)} and {_money(hi, cur)}).")
    k = res["deals_paying"].values
    klo, kmed, khi = np.quantile(k, [0.05, 0.5, 0.95])
    lines.append(f"  Deals that pay out: median {kmed:.0f} of {n} (90% of draws between "
                 f"{klo:.0f} and {khi:.0f}); a deal pays out with probability from "
                 f"{_pct(float(res['p_payment'].min()))} to {_pct(float(res['p_payment'].max()))}.")
    lines.append(f"  Commissioners pay more than they save in "
                 f"{_pct(float(res['p_commissioner_net_loss'].mean()))} of draws on average; "
                 f"investors lose money in {_pct(float(res['p_investor_loss'].mean()))}.")
    years = "calendar year" if res.attrs["years"] == "calendar" else "year of the deals"
    head = ("Year", "Payments: mean", "5th pct", "95th pct", f"Appropriation ({100 * conf:g}%)",
            "Net savings: mean")
    rows = []
    for j, y in enumerate(res["year"].values):
        qy = res["fund_payments_quantile"].isel(year=j)
        rows.append((str(int(y)), _money(float(res["fund_payments_mean"][j]), cur),
                     _money(float(qy.sel(quantile=0.05)), cur),
                     _money(float(qy.sel(quantile=0.95)), cur),
                     _money(float(res["fund_appropriation"][j]), cur),
                     _money(float(res["fund_net_savings_mean"][j]), cur)))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  " + "  ".join(f"{{:>{w}}}" for w in widths)
    lines += ["", f"The fund's yearly budget (all deals together), by {years}",
              fmt.format(*head), *(fmt.format(*r) for r in rows)]
    return "\n".join(lines)


def programme_warnings(res: xr.Dataset, limit: int = 5) -> list[str]:
    """The deals' warnings, one line each (the same text for several deals given once, with
    how many and which deals)."""
    by_text: dict[str, list[str]] = {}
    for d, text in zip(res["deal"].values, res["warnings"].values, strict=True):
        for one in filter(None, str(text).split("\n")):
            by_text.setdefault(one, []).append(str(d))
    out = []
    for text, deals in by_text.items():
        who = ", ".join(deals[:limit]) + (f" and {len(deals) - limit} more" if
                                          len(deals) > limit else "")
        out.append(f"{len(deals)} deal{'s' if len(deals) > 1 else ''} ({who}): {text}")
    return out


def write_programme(res: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write the programme's results as netCDF (atomically); ``xarray.open_dataset`` reads it."""
    from sibsim.dataset.io import to_netcdf

    return to_netcdf(res, path)
