"""Numbers, money, percentages and dates in the report's language (through babel).

Finnish and Swedish use a decimal comma and a (non-breaking) space before the unit; large sums
are given in millions with one decimal: ``11,0 milj. €`` (fi), ``11,0 mn €`` (sv, the
abbreviation babel's Swedish locale and the Swedish finance style use), ``EUR 11.0M`` (en).
Swedish uses Finland's Swedish locale (``sv_FI``): the readers are Finnish municipalities.

>>> Formatter("fi").money(11_000_000, "EUR")
'11,0\\xa0milj.\\xa0€'
>>> Formatter("sv").money(11_000_000, "EUR")
'11,0\\xa0mn\\xa0€'
>>> Formatter("en").money(11_000_000, "EUR")
'EUR 11.0M'
>>> Formatter("fi").pct(0.123), Formatter("en").pct(0.123)
('12,3\\xa0%', '12.3%')
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, get_currency_symbol

__all__ = ["LANGUAGES", "LOCALES", "Formatter"]

#: The report's languages and the babel locale of each.
LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_GB"}
LANGUAGES = tuple(LOCALES)
NBSP = "\u00a0"


class Formatter:
    """Formats numbers for one language. ``lang`` is ``"fi"``, ``"sv"`` or ``"en"``."""

    def __init__(self, lang: str) -> None:
        if lang not in LOCALES:
            raise ValueError(f"lang: got {lang!r}; allowed: " + ", ".join(LANGUAGES))
        self.lang = lang
        self.locale = Locale.parse(LOCALES[lang])
        # the million abbreviation from babel's compact patterns: "milj." (fi), "mn" (sv)
        pattern = self.locale.compact_decimal_formats["short"]["other"]["1000000"].pattern
        self.million = pattern.replace("0", "").replace("'", "").strip(" " + NBSP)
        self.decimal_sign = self.locale.number_symbols["latn"]["decimal"]

    # ------------------------------------------------------------------ plain numbers
    def num(self, x: float, digits: int = 0) -> str:
        """A number with grouping and ``digits`` decimals: ``12 345,6`` (fi), ``12,345.6``."""
        if not np.isfinite(x):
            return "–"
        fmt = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        s = format_decimal(round(float(x), digits) + 0.0, format=fmt, locale=self.locale)
        # the minus sign (U+2212) of the money amounts, not babel's hyphen-minus
        return "\u2212" + s[1:] if s.startswith("-") else s

    def axis(self, x: float, digits: int = 1) -> str:
        """An axis tick label (no grouping of small numbers, the language's decimal sign)."""
        s = f"{x:,.{digits}f}".replace(",", "\u2009")
        return s.replace(".", self.decimal_sign) if self.lang != "en" else s.replace(
            "\u2009", ",")

    def pct(self, p: float, digits: int = 1) -> str:
        """A share (0..1) as a percentage: ``12,3 %`` (fi, sv), ``12.3%`` (en)."""
        if not np.isfinite(p):
            return "–"
        s = self.num(100 * p, digits)
        return f"{s}%" if self.lang == "en" else f"{s}{NBSP}%"

    def symbol(self, currency: str) -> str:
        return get_currency_symbol(currency, locale=self.locale)

    # ------------------------------------------------------------------ money
    def money(self, x: float, currency: str, digits: int = 1) -> str:
        """A sum of money, in millions from 1 million on, else in whole units.

        ``11,0 milj. €`` / ``11,0 mn €`` / ``EUR 11.0M``; ``250 000 €`` / ``EUR 250,000``.
        """
        if not np.isfinite(x):
            return "–"
        x = float(x)
        sign = "−" if x < 0 and round(abs(x)) > 0 else ""
        a = abs(x)
        if a >= 999_950:
            n = self.num(a / 1e6, digits)
            if self.lang == "en":
                return f"{sign}{currency} {n}M"
            return f"{sign}{n}{NBSP}{self.million}{NBSP}{self.symbol(currency)}"
        n = self.num(a, 0)
        if self.lang == "en":
            return f"{sign}{currency} {n}"
        return f"{sign}{n}{NBSP}{self.symbol(currency)}"

    def money_axis_unit(self, currency: str) -> str:
        """The unit of a money axis in millions: ``milj. €``, ``mn €``, ``EUR M``."""
        if self.lang == "en":
            return f"{currency} M"
        return f"{self.million} {self.symbol(currency)}"

    def ratio(self, x: float, digits: int = 2) -> str:
        """A plain ratio such as money back per euro: ``1,05`` / ``1.05``."""
        return self.num(x, digits)

    def date(self, d: _dt.date | None = None) -> str:
        """A date in the language's long form: ``28. marraskuuta 2026``, ``28 November 2026``."""
        return format_date(d or _dt.date.today(), format="long", locale=self.locale)

    def years(self, first: int, last: int) -> str:
        """A span of calendar years with an en dash: ``2019–2030``."""
        return str(first) if first == last else f"{first}–{last}"
