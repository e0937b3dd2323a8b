"""Cells of the spreadsheets sibsim writes (CSV and Excel), safe from formula injection.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula: a deal, payer or metric name such as
``=cmd|' /C calc'!A0`` in a programme table would run when the budget table is opened. As the
OWASP advice on CSV injection says, such text is written with a leading apostrophe (``'``),
which spreadsheets show as text. Numbers stay numbers: ``-205110`` or the decimal-comma
``-1,5`` of a Finnish table is written as it is, and numeric cells are never touched.

>>> safe_cell("=cmd|' /C calc'!A0")
"'=cmd|' /C calc'!A0"
>>> safe_cell("-205110"), safe_cell("-1,5"), safe_cell(-3.5), safe_cell("north")
('-205110', '-1,5', -3.5, 'north')
"""

from __future__ import annotations

__all__ = ["FORMULA_STARTS", "is_formula_text", "safe_cell", "safe_row"]

#: First characters that make a spreadsheet read a text cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _is_number(text: str) -> bool:
    try:
        float(text.strip().replace(",", ".").replace("\u2212", "-"))
    except ValueError:
        return False
    return True


def is_formula_text(value: object) -> bool:
    """Whether ``value`` is text that a spreadsheet would read as a formula (not a number)."""
    return (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _is_number(value))


def safe_cell(value: object) -> object:
    """``value`` ready for a CSV or Excel cell: formula-like text gets a leading apostrophe;
    numbers, and text that reads as a number, are returned unchanged."""
    return "'" + value if is_formula_text(value) else value  # type: ignore[operator]


def safe_row(row: object) -> list[object]:
    """:func:`safe_cell` of every cell of ``row``."""
    return [safe_cell(x) for x in row]  # type: ignore[attr-defined]
