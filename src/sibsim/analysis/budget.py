"""The yearly budget: what each payer pays and saves in each calendar year.

:func:`yearly_budget` turns the money dataset of an analysis (per draw and period) into the
table a budget officer needs: for each payer and each calendar year of the deal
(:meth:`sibsim.Deal.calendar_years`), the gross outcome payments (mean, median, 90th and 95th
percentile over the draws), the appropriation to reserve at a chosen confidence, the cashable
savings, the net savings and the probability that the year ends with a net loss.

Definitions (per payer ``y`` and calendar year ``Y``; each draw's amounts are first summed over
the periods of the year):

* **gross outcome payments**: the outcome payments the payer makes in the year
  (``payments_by_payer``), before any savings;
* **appropriation at confidence c**: the ``c`` quantile over draws of the gross outcome
  payments: a budget line that covers the year's payments in a share ``c`` of the draws;
* **cashable savings**: savings that leave the payer's budget (``cashable_savings_by_payer``);
* **net savings**: cashable savings - outcome payments + any excess returned - the payer's own
  costs (``net_savings_by_payer``); negative when the payer pays more than it saves;
* **P(net loss)**: the share of draws in which the year's net savings are negative.

The row ``payer="all payers"`` is the deal as a whole: each draw's amounts summed over the
payers, then the same statistics (so its means are the sums of the payers' means, its
quantiles are not the sums of theirs).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import xarray as xr

from sibsim.money.deal import Deal
from sibsim.spec import _validate as v

__all__ = ["ALL_DEALS", "ALL_PAYERS", "LANGUAGES", "TABLE_FORMATS", "budget_table",
           "cashable_statistics", "check_confidence", "gross_statistics", "net_statistics",
           "write_budget_table", "yearly_budget"]

#: The ``payer`` label of the deal total (all payers together).
ALL_PAYERS = "all payers"
#: The ``payer`` label of a programme's fund (all payers of all its deals together), see
#: :func:`sibsim.programme.fund_budget`.
ALL_DEALS = "all deals"

#: Relative tolerance below which a net amount counts as zero (rounding in sums of payments).
_ZERO_TOL = 1e-9


def check_confidence(field: str, value: object) -> float:
    """A confidence level: a fraction in (0, 1] (``90`` is refused with a hint to write 0.9).

    >>> check_confidence("confidence", 0.9)
    0.9
    """
    return v.fraction(0.0, 1.0, low_open=True)(field, value)


def _by_year(x: np.ndarray, years: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Sum the last axis (periods) of ``x`` into calendar years: (..., P) -> (..., Y)."""
    return np.stack([x[..., years == y].sum(-1) for y in labels], axis=-1)


#: Draws read at a time when a measure is summed into years (bounds the memory of a budget
#: computed from a large streamed store: one measure's (draw, payer, year) at a time).
_READ_DRAWS = 65536


def _payer_measures(money: xr.Dataset) -> tuple[list[str], dict[str, xr.DataArray]]:
    """(payer names, {measure: (draw, payer, period) array, lazy if ``money`` is}) of a money
    dataset."""
    if "payments_by_payer" in money:
        names = [str(p) for p in money["payer"].values]
        get = {"gross": "payments_by_payer", "cash": "cashable_savings_by_payer",
               "net": "net_savings_by_payer"}
        return names, {k: money[n].transpose("draw", "payer", "period") for k, n in get.items()}
    # a file written before payers existed: one payer, the commissioner
    get = {"gross": "outcome_payments", "cash": "cashable_savings", "net": "net_savings"}
    return ["commissioner"], {k: money[n].transpose("draw", "period").expand_dims(
        "payer", axis=1) for k, n in get.items()}


def _yearly(x: xr.DataArray, years: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(draw, payer + 1, year): a measure summed into calendar years for each payer, and over
    the payers (last), read :data:`_READ_DRAWS` draws at a time (each draw's sums do not
    depend on which draws are read with it)."""
    D, n_payers = x.shape[0], x.shape[1]
    out = np.empty((D, n_payers + 1, labels.size))
    for lo in range(0, D, _READ_DRAWS):
        hi = min(D, lo + _READ_DRAWS)
        y = _by_year(np.asarray(x[lo:hi].values), years, labels)     # (draws, payer, year)
        out[lo:hi, :n_payers] = y
        out[lo:hi, n_payers] = y.sum(1)
    return out


def _quantiles(x: np.ndarray, *levels: float) -> list[np.ndarray]:
    """``np.quantile(x, level, axis=0)`` for each level, the same numbers to the last bit, in
    one selection over a copy with the draws last and contiguous (selecting along a strided
    first axis, once per level, took a quarter of a 40,000-draw analysis).

    >>> lo, hi = _quantiles(np.arange(11.0)[:, None], 0.1, 0.9)
    >>> float(lo[0]), float(hi[0])
    (1.0, 9.0)
    """
    x = np.asarray(x)
    draws_last = np.ascontiguousarray(np.moveaxis(x, 0, -1))
    if np.shares_memory(draws_last, x):  # already so laid out: not ours to reorder
        draws_last = draws_last.copy()
    # our copy: np.quantile may reorder it in place (the same selection, without its own copy)
    return list(np.quantile(draws_last, list(levels), axis=-1, overwrite_input=True))


def gross_statistics(gross: np.ndarray, cur: str, confidence: float
                     ) -> dict[str, tuple[np.ndarray, str, str]]:
    """{variable: (values, units, description)} of a yearly budget's gross outcome payments:
    ``gross`` is (draw, ..., year), each draw's payments in each year; the statistics are over
    the draws (axis 0). Shared by :func:`yearly_budget` and
    :func:`sibsim.programme.fund_budget`.

    >>> g = gross_statistics(np.arange(11.0)[:, None], "EUR", 0.9)
    >>> float(g["appropriation"][0][0]), float(g["gross_payments_mean"][0][0])
    (9.0, 5.0)
    """
    pct = f"{100 * confidence:g}%"
    median, p90, p95, appropriation = _quantiles(gross, 0.5, 0.9, 0.95, confidence)
    return {
        "gross_payments_mean": (gross.mean(0), cur, "Gross outcome payments in the year: mean "
                                "over draws (before any savings)."),
        "gross_payments_median": (median, cur,
                                  "Gross outcome payments in the year: median over draws."),
        "gross_payments_p90": (p90, cur, "Gross outcome payments in the year: 90th "
                               "percentile over draws (exceeded in 10% of draws)."),
        "gross_payments_p95": (p95, cur, "Gross outcome payments in the year: 95th "
                               "percentile over draws (exceeded in 5% of draws)."),
        "appropriation": (appropriation, cur,
                          f"Appropriation needed at {pct} confidence: the {confidence:g} "
                          "quantile of the year's gross outcome payments (covers them in "
                          f"{pct} of draws)."),
    }


def cashable_statistics(cash: np.ndarray, cur: str) -> dict[str, tuple[np.ndarray, str, str]]:
    """{variable: (values, units, description)} of the cashable savings (draw, ..., year)."""
    p05, median, p95 = _quantiles(cash, 0.05, 0.5, 0.95)
    return {
        "cashable_savings_mean": (cash.mean(0), cur, "Cashable savings in the year (leave the "
                                  "payer's budget): mean over draws."),
        "cashable_savings_p05": (p05, cur,
                                 "Cashable savings in the year: 5th percentile over draws."),
        "cashable_savings_median": (median, cur,
                                    "Cashable savings in the year: median over draws."),
        "cashable_savings_p95": (p95, cur,
                                 "Cashable savings in the year: 95th percentile over draws."),
    }


def net_statistics(net: np.ndarray, cur: str, scale: float
                   ) -> dict[str, tuple[np.ndarray, str, str]]:
    """{variable: (values, units, description)} of the net savings (draw, ..., year) and the
    probability of a net loss (net savings below ``-1e-9 * scale``: ``scale`` is the largest
    amount in the sums, so that rounding is not counted as a loss)."""
    p05, median, p95 = _quantiles(net, 0.05, 0.5, 0.95)
    return {
        "net_savings_mean": (net.mean(0), cur, "Net savings in the year (cashable savings - "
                             "outcome payments + any excess returned - own costs): mean over "
                             "draws; negative: pays more than it saves."),
        "net_savings_p05": (p05, cur,
                            "Net savings in the year: 5th percentile over draws."),
        "net_savings_median": (median, cur, "Net savings in the year: median over draws."),
        "net_savings_p95": (p95, cur,
                            "Net savings in the year: 95th percentile over draws."),
        "p_net_loss": ((net < -_ZERO_TOL * scale).mean(0), "probability",
                       "Probability that the year's net savings are negative (the payer pays "
                       "more than it saves in the year)."),
    }


def yearly_budget(money: xr.Dataset, deal: Deal, confidence: float = 0.9) -> xr.Dataset:
    """Each payer's outcome payments, appropriation and savings in each calendar year.

    Parameters
    ----------
    money : xarray.Dataset
        The money dataset of an analysis (``results.money``, from
        :func:`sibsim.money.sib.money_flows`).
    deal : Deal
        The deal that produced it; its :meth:`~sibsim.Deal.calendar_years` give the year of each
        period (with no ``start_year``, years 1, 2, ... of the deal).
    confidence : float
        The share of draws in which the appropriation covers the year's outcome payments, a
        fraction in (0, 1] (default 0.9: the 90th percentile).

    Returns
    -------
    xarray.Dataset
        Dimensions ``payer`` (each payer, then ``"all payers"``, the deal total) and ``year``
        (calendar years); coordinate ``periods_in_year`` (periods of the horizon in each year;
        a partial first or last year has fewer). Variables, in the deal's currency unless
        stated: ``gross_payments_mean``, ``gross_payments_median``, ``gross_payments_p90``,
        ``gross_payments_p95``, ``appropriation`` (the ``confidence`` quantile of gross
        payments), ``cashable_savings_mean``, ``cashable_savings_p05``,
        ``cashable_savings_median``, ``cashable_savings_p95``, ``net_savings_mean``,
        ``net_savings_p05``, ``net_savings_median``, ``net_savings_p95`` and ``p_net_loss``
        (probability). ``budget.to_dataframe()`` is the table, one row per payer and year.

    Examples
    --------
    >>> import sibsim
    >>> deal = sibsim.load_scenario("peterborough")
    >>> res = sibsim.analyse(deal, draws=200, seed=1, progress=False, with_breakeven=False)
    >>> b = yearly_budget(res.money, deal, confidence=0.9)
    >>> b["year"].values[:3].tolist(), b["payer"].values.tolist()[-1]
    ([2010, 2011, 2012], 'all payers')
    >>> bool((b["appropriation"] == b["gross_payments_p90"]).all())
    True
    """
    if not isinstance(deal, Deal):
        raise TypeError(f"yearly_budget.deal: got {type(deal).__name__}; allowed: Deal")
    confidence = check_confidence("yearly_budget.confidence", confidence)
    years = np.asarray(deal.calendar_years())
    P = int(money.sizes["period"])
    if years.size != P:
        raise v.fail("yearly_budget.money", f"{P} periods",
                     f"the deal's horizon of {years.size} periods (the money dataset of this "
                     "deal)")
    names, measures = _payer_measures(money)
    if ALL_PAYERS in names:
        raise v.fail("yearly_budget.money.payer", ALL_PAYERS,
                     f"payer names other than {ALL_PAYERS!r} (it labels the deal total)")
    labels = np.unique(years)
    cur = money.attrs.get("currency", deal.currency)

    # one measure in memory at a time (a store of millions of draws is read in pieces)
    gross = _yearly(measures["gross"], years, labels)
    data = gross_statistics(gross, cur, confidence)
    scale = float(np.abs(gross).max(initial=0.0))
    del gross
    cash = _yearly(measures["cash"], years, labels)
    scale = max(scale, float(np.abs(cash).max(initial=0.0)), 1.0)
    data |= cashable_statistics(cash, cur)
    del cash
    data |= net_statistics(_yearly(measures["net"], years, labels), cur, scale)
    out = xr.Dataset(
        {k: xr.Variable(("payer", "year"), val, attrs={"units": u, "description": d})
         for k, (val, u, d) in data.items()},
        coords={"payer": np.array([*names, ALL_PAYERS], dtype=object).astype(str),
                "year": labels.astype(np.int64),
                "periods_in_year": ("year", np.array([(years == y).sum() for y in labels]),
                                    {"units": "periods",
                                     "description": "Periods of the horizon in the year."})})
    out["payer"].attrs["description"] = (f"Body paying outcomes; {ALL_PAYERS!r}: the deal "
                                         "total (all payers together).")
    out["year"].attrs.update(
        units="calendar year",
        description=("Calendar year (Deal.calendar_years: the deal's start_year + whole years "
                     "since 1 January of it, period 0 being its start_period)"
                     if deal.start_year is not None
                     else "Year of the deal (1 = its first year; the deal states no "
                          "start_year)"))
    out.attrs.update({
        "sibsim_content": "yearly budget",
        "years": "calendar" if deal.start_year is not None else "of the deal",
        "currency": cur,
        "confidence": confidence,
        "draws": int(money.sizes["draw"]),
        "period": money.attrs.get("period", ""),
        "description": "Each payer's gross outcome payments, appropriation at the given "
                       "confidence, cashable and net savings in each calendar year, over the "
                       "Monte Carlo draws (undiscounted).",
    })
    if "seed" in money.attrs:
        out.attrs["seed"] = money.attrs["seed"]
    return out


# ------------------------------------------------------------------------------ table export
#: Languages of the exported table's headers and number format.
LANGUAGES = ("en", "fi", "sv")
#: File formats of :func:`write_budget_table`, by suffix.
TABLE_FORMATS = (".csv", ".xlsx")

# (variable, header pattern per language, kind); {cur} is the currency, {conf} the confidence
# in the language's percent form. "money" columns are rounded to whole currency units, "share"
# columns are percentages with one decimal. Money columns are "<measure>, <statistic> ({cur})".
_MEASURES = {
    "gross_payments": {"en": "Gross outcome payments", "fi": "Tulosperusteiset maksut",
                       "sv": "Resultatbaserade betalningar"},
    "cashable_savings": {"en": "Cashable savings", "fi": "Kassavaikutteiset säästöt",
                         "sv": "Kassapåverkande besparingar"},
    "net_savings": {"en": "Net savings", "fi": "Nettosäästöt", "sv": "Nettobesparingar"},
}
_STATISTICS = {
    "mean": {"en": "mean", "fi": "keskiarvo", "sv": "medelvärde"},
    "median": {"en": "median", "fi": "mediaani", "sv": "median"},
    "p05": {"en": "5th percentile", "fi": "5. persentiili", "sv": "5:e percentilen"},
    "p90": {"en": "90th percentile", "fi": "90. persentiili", "sv": "90:e percentilen"},
    "p95": {"en": "95th percentile", "fi": "95. persentiili", "sv": "95:e percentilen"},
}


def _money_column(measure: str, stat: str) -> tuple[str, dict[str, str], str]:
    names, stats = _MEASURES[measure], _STATISTICS[stat]
    return (f"{measure}_{stat}", {lang: f"{names[lang]}, {stats[lang]} ({{cur}})"
                                  for lang in names}, "money")


_COLUMNS = (
    *(_money_column("gross_payments", s) for s in ("mean", "median", "p90", "p95")),
    ("appropriation", {"en": "Appropriation at {conf} confidence ({cur})",
                       "fi": "Määräraha {conf}:n varmuudella ({cur})",
                       "sv": "Anslag med {conf} säkerhet ({cur})"}, "money"),
    *(_money_column(m, s) for m in ("cashable_savings", "net_savings")
      for s in ("mean", "p05", "median", "p95")),
    ("p_net_loss", {"en": "Probability of paying more than saving (%)",
                    "fi": "Todennäköisyys, että maksut ylittävät säästöt (%)",
                    "sv": "Sannolikhet att betalningarna överstiger besparingarna (%)"}, "share"),
)
_FIRST = {"en": ("Year", "Payer"), "fi": ("Vuosi", "Maksaja"), "sv": ("År", "Betalare")}
_PAYER_NAMES = {"en": {},
                "fi": {"commissioner": "tilaaja", ALL_PAYERS: "maksajat yhteensä",
                       ALL_DEALS: "kaikki sopimukset yhteensä"},
                "sv": {"commissioner": "beställaren", ALL_PAYERS: "betalarna sammanlagt",
                       ALL_DEALS: "alla avtal sammanlagt"}}


def _columns(budget: xr.Dataset) -> tuple[tuple[str, dict[str, str], str], ...]:
    """The table's columns that the budget holds (a programme's results from before the fund
    kept cashable savings have none)."""
    return tuple(c for c in _COLUMNS if c[0] in budget)


def _percent(x: float, lang: str) -> str:
    """A percentage in the language's form: "90%" (en), "90 %" (fi, sv), "97,5 %"."""
    text = f"{100 * x:.10g}"
    return f"{text}%" if lang == "en" else f"{text.replace('.', ',')} %"


def budget_table(budget: xr.Dataset, lang: str = "en"
                 ) -> tuple[list[str], list[list[object]]]:
    """The yearly budget as (column headers, rows), one row per payer and year.

    Money is rounded to whole currency units, probabilities are percentages with one decimal.
    The ``"all payers"`` rows are left out when a single body pays (they would repeat its
    rows). Columns whose variable the budget lacks are left out (a programme's
    :func:`~sibsim.programme.fund_budget` has no cashable savings). Headers and the labels
    ``"commissioner"``, ``"all payers"`` and ``"all deals"`` are in ``lang`` (``"en"``,
    ``"fi"`` or ``"sv"``); the payers' own names are kept as given.

    >>> import sibsim
    >>> deal = sibsim.load_scenario("peterborough")
    >>> res = sibsim.analyse(deal, draws=100, seed=1, progress=False, with_breakeven=False)
    >>> head, rows = budget_table(yearly_budget(res.money, deal), "fi")
    >>> head[:2], head[6], rows[0][:2]
    (['Vuosi', 'Maksaja'], 'Määräraha 90 %:n varmuudella (GBP)', [2010, 'Ministry of Justice'])
    """
    lang = v.choice("write_budget_table.lang", lang, LANGUAGES)
    cur = budget.attrs.get("currency", "")
    conf = _percent(float(budget.attrs.get("confidence", 0.9)), lang)
    columns = _columns(budget)
    head = [*_FIRST[lang]] + [h[lang].format(cur=cur, conf=conf) for _, h, _ in columns]
    payers = [str(p) for p in budget["payer"].values]
    if len(payers) == 2 and payers[-1] == ALL_PAYERS:
        payers = payers[:1]
    rows: list[list[object]] = []
    for p in payers:
        one = budget.sel(payer=p)
        for i, year in enumerate(budget["year"].values):
            row: list[object] = [int(year), _PAYER_NAMES[lang].get(p, p)]
            for name, _, kind in columns:
                x = float(one[name].values[i])
                row.append(round(x) if kind == "money" else round(100 * x, 1))
            rows.append(row)
    return head, rows


def _csv_cell(x: object, lang: str) -> str:
    if isinstance(x, float) and lang != "en":
        return f"{x:.1f}".replace(".", ",")
    if isinstance(x, float):
        return f"{x:.1f}"
    return str(x)


def write_budget_table(budget: xr.Dataset, path: str | os.PathLike, lang: str = "en") -> Path:
    """Write the yearly budget as a CSV or Excel file (chosen by the suffix); return the path.

    One row per payer and calendar year (see :func:`budget_table`), with column headers in
    ``lang``: ``"en"`` (comma separator, decimal point), ``"fi"`` or ``"sv"`` (semicolon
    separator, decimal comma, as Finnish and Swedish spreadsheets expect). CSV files are UTF-8
    with a byte-order mark, so that Excel shows ä and ö. ``.xlsx`` files (openpyxl) hold numbers
    as numbers, with a thousands format. The file is written to a temporary file beside
    ``path`` and renamed: no half-written file is ever left.

    Parameters
    ----------
    budget : xarray.Dataset
        From :func:`yearly_budget` (``results.budget``).
    path : str or os.PathLike
        A file name ending in ``.csv`` or ``.xlsx``.
    lang : {"en", "fi", "sv"}

    Examples
    --------
    >>> import sibsim, tempfile, pathlib
    >>> deal = sibsim.load_scenario("peterborough")
    >>> res = sibsim.analyse(deal, draws=100, seed=1, progress=False, with_breakeven=False)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "talousarvio.csv"
    >>> _ = write_budget_table(yearly_budget(res.money, deal), out, lang="fi")
    >>> out.read_text(encoding="utf-8-sig").splitlines()[0][:50]
    'Vuosi;Maksaja;Tulosperusteiset maksut, keskiarvo ('
    """
    from sibsim.dataset.io import atomic_output
    from sibsim.spreadsheet import safe_row

    path = Path(path)
    suffix = v.choice("write_budget_table.path suffix", path.suffix.lower(), TABLE_FORMATS)
    head, rows = budget_table(budget, lang)
    with atomic_output(path) as tmp:
        if suffix == ".csv":
            with open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
                w = csv.writer(fh, delimiter="," if lang == "en" else ";")
                w.writerow(safe_row(head))  # no formula from a payer's name
                w.writerows([safe_row(_csv_cell(x, lang) for x in row) for row in rows])
        else:
            _write_xlsx(tmp, head, rows, budget)
    return path


def _write_xlsx(tmp: str, head: list[str], rows: list[list[object]], budget: xr.Dataset
                ) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Budget"
    ws.append(head)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        ws.append(row)
    for line in ws.iter_rows():
        for cell in line:  # a payer's name is text, never a formula (openpyxl reads "=..." so)
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for col, (_, _, kind) in enumerate(_columns(budget), start=3):
        for r in range(2, len(rows) + 2):
            ws.cell(row=r, column=col).number_format = "#,##0" if kind == "money" else "0.0"
    ws.column_dimensions["A"].width = 8
    ws.column_dimensions["B"].width = max([12, *(len(str(r[1])) + 2 for r in rows)])
    for col in range(3, len(head) + 1):
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = 18
    ws.freeze_panes = "C2"
    # Built in memory, then written in one plain write: openpyxl's own zip file, on a disk that
    # fills up part-way, leaves an unclosed archive whose clean-up at exit prints a traceback
    # ("Exception ignored in ZipFile.__del__") after the one-line error. A budget table is a
    # few kilobytes.
    buffer = io.BytesIO()
    wb.save(buffer)
    with open(tmp, "wb") as fh:
        fh.write(buffer.getbuffer())
