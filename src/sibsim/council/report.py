"""The council report: one self-contained HTML document in Finnish, Swedish or English.

:func:`council_report` returns the document (CSS inline, figures as base64 PNG, no network);
:func:`write_council_report` writes it atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import base64
import io
import os
from html import escape
from pathlib import Path

import numpy as np

from sibsim.council.assumptions import assumption_rows
from sibsim.council.facts import Facts, council_facts
from sibsim.council.formats import LANGUAGES, Formatter
from sibsim.council.texts import (
    OUTCOME_OBJECT,
    OUTCOME_WORDS,
    PERIOD_WORDS,
    STATE_WORDS,
    TEXTS,
    currency_words,
)
from sibsim.money.deal import Deal
from sibsim.money.evaluation_inputs import COMPARISON_FIELDS, evaluation_inputs, input_field

__all__ = ["SECTIONS", "council_report", "write_council_report"]

#: The ids of the report's sections, in order.
SECTIONS = ("summary", "assumptions", "method")

_CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;
color:#1a1a1a;max-width:1040px;margin:0 auto;padding:24px;overflow-wrap:break-word}
h1{font-size:26px;margin:0 0 4px}h2{font-size:22px;margin:28px 0 8px;
border-bottom:2px solid #1f4e79;padding-bottom:2px}h3{font-size:18px;margin:20px 0 4px;
color:#1f4e79}
p{margin:6px 0 10px}.meta{color:#555;font-size:14px}.lead{font-size:17px}
table{border-collapse:collapse;width:100%;margin:8px 0 6px;font-size:15px;table-layout:auto}
th,td{border-bottom:1px solid #ccc;padding:4px 6px;vertical-align:top}
th{background:#eef3f8;text-align:left;font-size:14px;line-height:1.25}th.n{text-align:right}
td.n{text-align:right;white-space:nowrap}
tr.total td{font-weight:bold;border-top:2px solid #1f4e79}
.note{font-size:13px;color:#555}.key{font-size:19px;font-weight:bold}
figure{margin:12px 0}figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:13px;color:#555}
.cols{display:flex;gap:24px;flex-wrap:wrap}.cols>div{flex:1 1 420px;min-width:0}
td.src{font-size:13px;color:#333}
@media print{section#summary{page-break-after:always}body{padding:0}}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(results, deal: Deal, lang: str, facts: Facts) -> dict[str, str]:
    """The three figures as base64 PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from sibsim.council.figures import (
        plot_budget_fan,
        plot_investor_outcome,
        plot_net_loss_chance,
    )

    out = {}
    fig = Figure(figsize=(10, 4.6))
    plot_budget_fan(results, fig.add_subplot(), deal, lang, facts.confidence, facts.yearly)
    out["budget"] = _png(fig)
    fig = Figure(figsize=(10, 1.9))
    plot_net_loss_chance(results, fig.add_subplot(), lang)
    out["chance"] = _png(fig)
    fig = Figure(figsize=(10, 4.2))
    plot_investor_outcome(results, fig.add_subplot(), lang)
    out["investors"] = _png(fig)
    return out


def _outcome_name(deal: Deal, facts: Facts | None = None) -> str:
    """The outcome process the break-even speaks of: the one whose effect was searched
    (``facts.breakeven.outcome``), else the first."""
    be = None if facts is None else facts.breakeven
    if be is not None and be.outcome:
        return be.outcome
    s = deal.scenario
    return s.process_names[0] if getattr(s, "process_names", None) else s.outcome.name


def _unit_words(facts: Facts, deal: Deal, lang: str) -> str:
    """The unit of the break-even count: "reconvictions", "years in care", ..."""
    be = facts.breakeven
    if be.kind == "state_years":
        states = f" {PERIOD_WORDS['or'][lang]} ".join(dict.fromkeys(  # each wording once
            STATE_WORDS.get(s, {}).get(lang, f"“{s}”") for s in be.states))
        years = PERIOD_WORDS["years"][lang]
        return f"{years} {states}"
    name = _outcome_name(deal, facts)
    words = OUTCOME_WORDS.get(name)
    return words[lang] if words else PERIOD_WORDS["events_of"][lang].format(name=name)


def _effect_object(facts: Facts, deal: Deal, lang: str) -> str:
    """The searched outcome as the object of "reduce ...": "days in jail", "vankilapäiviä"."""
    name = _outcome_name(deal, facts)
    return OUTCOME_OBJECT.get(name, {}).get(lang) or PERIOD_WORDS["object_of"][lang].format(
        name=name)


def _effect_phrase(facts: Facts, deal: Deal, lang: str, f: Formatter) -> str:
    t, be = TEXTS[lang], facts.breakeven
    obj = _effect_object(facts, deal, lang)
    e = be.effect
    if be.measure == "absolute":
        return t["effect_absolute"].format(what=obj, x=f.num(e, 3))
    if e <= 1:
        return t["effect_reduce"].format(what=obj, pct=f.pct(1 - e, 0))
    return t["effect_increase"].format(what=obj, pct=f.pct(e - 1, 0))


def _reading(p: float, t: dict[str, str]) -> str:
    if p < 0.1:
        return t["reading_low"]
    if p > 0.5:
        return t["reading_high"]
    return t["reading_mid"].format(k=round(10 * p))


def _table(head: list[str], rows: list[list[str]], numeric: set[int],
           total: list[str] | None = None, cls: dict[int, str] | None = None) -> str:
    def cell(tag: str, i: int, x: str) -> str:
        c = " ".join(filter(None, ["n" if i in numeric else "", (cls or {}).get(i, "")]))
        return f'<{tag}{f" class={chr(34)}{c}{chr(34)}" if c else ""}>{escape(x)}</{tag}>'

    h = "".join(cell("th", i, x) for i, x in enumerate(head))
    body = "".join("<tr>" + "".join(cell("td", i, x) for i, x in enumerate(r)) + "</tr>"
                   for r in rows)
    if total is not None:
        body += '<tr class="total">' + "".join(cell("td", i, x) for i, x in
                                               enumerate(total)) + "</tr>"
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def council_report(results, deal: Deal, lang: str = "fi", confidence: float = 0.9, *,
                   source: str | os.PathLike | None = None, facts: Facts | None = None) -> str:
    """The council report of an analysis as one self-contained HTML document.

    Parameters
    ----------
    results : SIBResults
        From :func:`sibsim.analyse` or :func:`sibsim.open_results` (nothing is rerun except
        the small expected-value run that gives the break-even in outcome units).
    deal : Deal
        The deal analysed.
    lang : {"fi", "sv", "en"}
        The report's language; numbers, money and dates follow it (babel).
    confidence : float
        Confidence of the yearly appropriation (its quantile of gross outcome payments).
    source : path, optional
        The scenario file: its comments give the sources in the assumptions table.

    Examples
    --------
    >>> import sibsim
    >>> from sibsim.council import council_report
    >>> deal = sibsim.load_scenario("peterborough")
    >>> res = sibsim.analyse(deal, draws=100, seed=1, progress=False)
    >>> html = council_report(res, deal, lang="fi")
    >>> "milj.\\xa0£" in html and 'id="summary"' in html
    True
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang: got {lang!r}; allowed: " + ", ".join(LANGUAGES))
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: got {confidence!r}; allowed: a number in (0, 1)")
    t, f = TEXTS[lang], Formatter(lang)
    facts = facts or council_facts(results, deal, confidence)
    cur = facts.currency
    money = lambda x: f.money(x, cur)  # noqa: E731
    conf = f.pct(confidence, 0)
    y = facts.yearly
    years = [int(v) for v in y["year"].values]
    figs = _figures(results, deal, lang, facts)
    name = deal.scenario.name
    e = escape
    parts = [f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
             f'<meta name="viewport" content="width=device-width, initial-scale=1">'
             f"<title>{e(t['title'])}: {e(name)}</title><style>{_CSS}</style></head><body>"]
    parts.append(f"<h1>{e(t['title'])}</h1><p class=\"key\">{e(name)}</p>"
                 f"<p class=\"meta\">{e(deal.scenario.description or '')}</p>"
                 + '<p class="meta">' + e(t["generated"].format(
                     date=f.date(), draws=f.num(facts.draws), seed=facts.seed, currency=cur))
                 + "</p>")
    # ---------------------------------------------------------------- summary
    s = [f'<section id="summary"><h2>{e(t["summary"])}</h2>',
         f'<p class="lead">{e(t["summary_lead"])}</p>',
         f"<h3>{e(t['pays_h'])}</h3>",
         "<p>" + e(t["pays_text"].format(years=f.years(years[0], years[-1]),
                                        mean=money(facts.pay_mean), p90=money(facts.pay_p90),
                                        conf=conf, peak=money(facts.pay_max_year_appropriation)))
         + "</p>"]
    rows = [[str(yr), money(float(y["gross_mean"][i])), money(float(y["gross_median"][i])),
             money(float(y["gross_p90"][i])), money(float(y["appropriation"][i])),
             money(float(y["cashable_mean"][i])), money(float(y["net_mean"][i]))]
            for i, yr in enumerate(years)]
    total = [t["total"], money(float(y["gross_mean"].sum())), "", "", "",
             money(float(y["cashable_mean"].sum())), money(float(y["net_mean"].sum()))]
    s.append(_table([t["col_year"], t["col_mean"], t["col_median"], t["col_p90"],
                     t["col_approp"].format(conf=conf), t["col_cash"], t["col_net"]],
                    rows, set(range(1, 7)), total))
    s.append(f'<p class="note">{e(t["table_note"].format(p90=money(facts.pay_p90)))}</p>')
    m = results.money
    if "trigger_period" in m.coords and deal.contract.due_after_horizon(
            m["trigger_period"].values, m.sizes["period"]):  # results known after the horizon
        key = "late_last" if deal.contract.overflow == "last" else "late_drop"
        s.append(f'<p class="note">{e(t[key].format(end=years[-1]))}</p>')
    s.append(f'<figure><img alt="{e(t["fig_budget_alt"])}" '
             f'src="data:image/png;base64,{figs["budget"]}"></figure>')
    s.append(f"<h3>{e(t['saves_h'])}</h3><p>" + e(t["saves_text"].format(
        cash=money(facts.cash_mean), net=money(facts.net_mean), npv=money(facts.npv_net_mean),
        rate=f.pct(float(results.money.attrs["social_discount_rate_per_year"])))) + "</p>")
    s.append(f"<h3>{e(t['chance_h'])}</h3><p>" + e(t["chance_text"].format(
        p=f.pct(facts.p_net_loss, 0), reading=_reading(facts.p_net_loss, t))) + "</p>")
    s.append(f'<figure><img alt="{e(t["fig_chance_alt"])}" '
             f'src="data:image/png;base64,{figs["chance"]}"></figure>')
    if facts.payers:
        s.append(f"<h3>{e(t['payers_h'])}</h3>")
        s.append(_table([t["col_payer"], t["col_pays"], t["col_saves"], t["col_p_net_loss"]],
                        [[p["name"], money(p["pays"]), money(p["saves"]),
                          f.pct(p["p_net_loss"], 0)] for p in facts.payers], {1, 2, 3}))
    be = facts.breakeven
    if be is not None:
        s.append(f"<h3>{e(t['breakeven_h'])}</h3>")
        if deal.scenario.other_processes:  # which of the service's effects is examined
            s.append("<p>" + e(t["breakeven_outcome"].format(
                what=_effect_object(facts, deal, lang))) + "</p>")
        no_effect = (0.0 if be.measure == "absolute" else 1.0)
        if np.isfinite(be.effect) and abs(be.effect - no_effect) < 0.005:
            s.append("<p>" + e(t["breakeven_no_effect"]) + "</p>")  # "at least 0 %" reads badly
            if be.share_none > 0.005:
                s.append("<p>" + e(t["breakeven_partial"].format(share=f.pct(be.share_none, 0)))
                         + "</p>")
        elif np.isfinite(be.effect):
            n = max(0.0, be.units)
            s.append("<p>" + e(t["breakeven_text"].format(
                effect=_effect_phrase(facts, deal, lang, f), n=f.num(np.ceil(n)),
                unit=_unit_words(facts, deal, lang))) + "</p>")
            if be.share_none > 0.005:
                s.append("<p>" + e(t["breakeven_partial"].format(share=f.pct(be.share_none, 0)))
                         + "</p>")
        else:
            s.append("<p>" + e(t["breakeven_none"].format(share=f.pct(be.share_none, 0)))
                     + "</p>")
        if np.isfinite(facts.be_effect_mean):  # the prior of the effect searched
            lo, hi = facts.be_effect_q
            s.append('<p class="note">' + e(t["effect_prior"].format(
                mean=f.num(facts.be_effect_mean, 2), lo=f.num(lo, 2), hi=f.num(hi, 2)))
                + "</p>")
    per_unit, unit = currency_words(lang, deal.currency)
    s.append(f"<h3>{e(t['investors_h'])}</h3><p>" + e(t["investors_text"].format(
        per_unit=per_unit, unit=unit, invested=money(facts.inv_invested_median),
        back=f.ratio(facts.inv_money_back),
        irr=f.pct(facts.inv_irr_median), irr_lo=f.pct(facts.inv_irr_p05),
        irr_hi=f.pct(facts.inv_irr_p95), target=t["per_year"].format(
            x=f.pct(facts.inv_target)), p_loss=f.pct(facts.inv_p_loss, 0))) + "</p>")
    s.append(f'<figure><img alt="{e(t["fig_investors_alt"])}" '
             f'src="data:image/png;base64,{figs["investors"]}"></figure>')
    s.append("</section>")
    parts += s
    # ---------------------------------------------------------------- assumptions
    rows = assumption_rows(deal, lang, source, (facts.effect_mean, *facts.effect_q)
                           if np.isfinite(facts.effect_mean) else None)
    parts.append(f'<section id="assumptions"><h2>{e(t["assumptions"])}</h2>'
                 f'<p>{e(t["assumptions_lead"])}</p>'
                 + _table([t["col_item"], t["col_value"], t["col_source"]],
                          [list(r) for r in rows], set(), cls={2: "src"}) + "</section>")
    # ---------------------------------------------------------------- method
    start = int(deal.calendar_years()[0])
    # an uncertain comparison (a historical level, a comparison group's bias) is drawn too
    comparison = any(input_field(n) in COMPARISON_FIELDS
                     for n in evaluation_inputs(deal.evaluations))
    parts.append(f'<section id="method"><h2>{e(t["method"])}</h2>'
                 f"<p>{e(t['method_mc'].format(draws=f.num(facts.draws), seed=facts.seed))}"
                 + (f" {e(t['method_comparison'])}" if comparison else "") + "</p>"
                 f"<p>{e(t['method_uncertain'])}</p><p>{e(t['method_limits'])}</p>"
                 f"<p>{e(t['method_breakeven'])}</p>"
                 f"<p>{e(t['method_years'].format(start=start))}</p>"
                 f"<h3>{e(t['glossary_h'])}</h3><p>{e(t['glossary'])}</p></section>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_council_report(results, deal: Deal, path: str | os.PathLike, lang: str = "fi",
                         confidence: float = 0.9, *, source: str | os.PathLike | None = None
                         ) -> Path:
    """Write :func:`council_report` to ``path`` atomically (no half-written file)."""
    from sibsim.dataset.io import atomic_output

    html = council_report(results, deal, lang=lang, confidence=confidence, source=source)
    with atomic_output(path) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    return Path(path)
