"""The assumptions table: the deal's key figures and, where the scenario file says, sources.

The built-in scenario files cite their sources in comments: a header that lists them
(``[L7] Iltalehti, Lapset SIB article``) and a citation or the word "assumption" beside each
number (``value_per_unit = 130_000    # a year in care [L7]``). :func:`file_sources` reads those
comments; :func:`assumption_rows` gives one row per key figure with its source.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from sibsim.council.formats import Formatter
from sibsim.council.texts import TEXTS
from sibsim.money.deal import Deal
from sibsim.money.evaluation_inputs import COMPARISON_FIELDS, evaluation_inputs, input_field
from sibsim.spec.correlation import quantile

__all__ = ["assumption_rows", "file_sources"]

_CITE = re.compile(r"\[([A-Za-z]{1,3}\d{1,3})\]")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*([^#]*?)\s*(?:#\s*(.*))?$")


def file_sources(text: str) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """(citation key -> reference, (section, key) -> comment) from a scenario file's text.

    A key's comment is its inline comment, else the comment lines just above it.
    """
    lines = text.splitlines()
    header: list[str] = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line.lstrip("#").strip())
    joined = " ".join(header)
    refs: dict[str, str] = {}
    for m in re.finditer(r"\[([A-Za-z]{1,3}\d{1,3})\]\s+([^\[]+?)(?=[;.]?\s*(?:\[[A-Za-z]{1,3}"
                         r"\d{1,3}\]|\(ref\)|$))", joined):
        ref = m.group(2).strip(" ;,")
        if m.group(1) not in refs and len(ref) > 3:
            refs[m.group(1)] = ref if len(ref) <= 90 else ref[:87].rstrip() + "…"
    comments: dict[tuple[str, str], str] = {}
    section, above = "", []
    for line in lines:
        h = _HEADER.match(line)
        if h and "=" not in line.split("#")[0]:
            section, above = h.group(1), []
            continue
        if line.strip().startswith("#"):
            above.append(line.strip().lstrip("#").strip())
            continue
        k = _KEY.match(line)
        if k:
            note = k.group(3) or " ".join(above)
            comments.setdefault((section, k.group(1)), note)
        above = []
    return refs, comments


def _source(comment: str | None, refs: dict[str, str], t: dict[str, str]) -> str:
    if not comment:
        return t["no_source"]
    parts = []
    if "assumption" in comment.lower():
        parts.append(t["assumption_word"])
    for c in dict.fromkeys(_CITE.findall(comment)):
        parts.append(f"[{c}] {refs[c]}" if c in refs else f"[{c}]")
    if "(ref)" in comment and not parts:
        parts.append("(ref)")
    return "; ".join(parts) if parts else t["no_source"]


def _per_period(x: str, deal: Deal, lang: str) -> str:
    key = {"year": "per_year", "quarter": "per_quarter", "month": "per_month"}.get(
        deal.scenario.period)
    return TEXTS[lang][key].format(x=x) if key else x


def _first_row(x) -> tuple[float, ...] | None:
    """The mean of the first transition row (rows nest per stratum; a row is a Dirichlet or
    numbers)."""
    if hasattr(x, "mean_row"):
        return tuple(x.mean_row)  if not callable(x.mean_row) else tuple(x.mean_row())
    if isinstance(x, (tuple, list)) and x:
        if all(isinstance(e, (int, float)) for e in x):
            return tuple(float(e) for e in x)
        return _first_row(x[0])
    return None


def _baseline(deal: Deal, f: Formatter) -> tuple[str, str, str] | None:
    o = deal.scenario.outcome
    if hasattr(o, "rate"):
        return _per_period(f.num(float(o.rate.mean), 2), deal, f.lang), "outcome", "rate"
    if hasattr(o, "p"):
        return _per_period(f.pct(float(o.p.mean)), deal, f.lang), "outcome", "p"
    rows = getattr(o, "transitions", None)
    if rows:
        mean = _first_row(rows)
        if mean is None:
            return None
        leave = 1.0 - float(mean[0])
        text = f.pct(leave)
        return _per_period(text, deal, f.lang), "outcome", "transitions"
    return None


def _first_matrix(x):
    """The first transition matrix (a tuple of rows) of a Markov outcome's ``transitions``
    (matrices nest per clock period and stratum; a row is a Dirichlet or numbers)."""
    def is_row(r) -> bool:
        return hasattr(r, "mean_row") or (isinstance(r, (tuple, list)) and bool(r) and all(
            isinstance(e, (int, float)) for e in r))
    while isinstance(x, (tuple, list)) and x and not is_row(x[0]):
        x = x[0]
    return x if isinstance(x, (tuple, list)) and x and is_row(x[0]) else None


def _baseline_move(deal: Deal) -> tuple[str, str, float] | None:
    """For a Markov outcome with an effect on some transitions: the transition the council
    reads the baseline of (the effect's first target from the initial state, else its first
    target) and its mean probability a period without the service, in the first matrix (the
    first period's, the first stratum's); None otherwise. The chance of leaving the first state
    says little when everyone leaves it (Chicago CPC: preschool, 100%)."""
    o, effect = deal.scenario.outcome, deal.scenario.effect
    targets = tuple(getattr(effect, "targets", None) or ())
    states = tuple(getattr(o, "states", ()) or ())
    matrix = _first_matrix(getattr(o, "transitions", None))
    if not targets or not states or matrix is None or len(matrix) != len(states):
        return None
    start = getattr(o, "initial", None) or states[0]
    a, b = next((t for t in targets if t[0] == start), targets[0])
    mean = _first_row((matrix[states.index(a)],))
    if mean is None:
        return None
    return a, b, float(mean[states.index(b)])


def _who(names: list[str], of: int, everyone: str) -> str:
    """``names`` joined, or ``everyone`` when they are all ``of`` of them (more than one)."""
    return everyone if of > 1 and len(names) == of else ", ".join(names)


def assumption_rows(deal: Deal, lang: str, source: str | Path | None = None,
                    effect: tuple[float, float, float] | None = None
                    ) -> list[tuple[str, str, str]]:
    """(assumption, value, source) rows for the report, in ``lang``.

    ``source``: the scenario file (its comments give the sources); ``effect``: (mean, 5th,
    95th percentile) of the effect prior as drawn in the run.
    """
    t, f = TEXTS[lang], Formatter(lang)
    refs: dict[str, str] = {}
    comments: dict[tuple[str, str], str] = {}
    if source is not None:
        try:
            refs, comments = file_sources(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            pass
    cur = deal.currency
    rows: list[tuple[str, str, str]] = []

    def add(label: str, value: str, section: str | None, key: str | None) -> None:
        note = comments.get((section, key)) if section is not None else None
        rows.append((label, value, _source(note, refs, t)))

    years = deal.calendar_years()
    s = deal.scenario
    add(t["a_scenario"], s.description or deal.name, None, None)
    add(t["a_years"], f.years(int(years[0]), int(years[-1])), "", "start_year")
    add(t["a_cohort"], f.num(float(np.sum(s.cohort.entry))), "cohort", "entry")
    move = _baseline_move(deal)
    base = _baseline(deal, f)
    if move is not None:  # a Markov outcome: the chance of the move the effect acts on
        add(t["a_baseline_move"].format(a=move[0], b=move[1]),
            _per_period(f.pct(move[2]), deal, f.lang), "outcome", "transitions")
    elif base is not None:
        add(t["a_baseline"], base[0], base[1], base[2])
    if effect is not None and s.effect is not None:
        m, lo, hi = effect
        add(t["a_effect"], f"{f.num(m, 2)} ({f.num(lo, 2)} … {f.num(hi, 2)}; "
            f"{s.effect.measure})", "effect", "value")
    # one row per distinct price, naming the metrics that share it
    prices: dict[float, list[str]] = {}
    for e in deal.evaluations:
        val = float(getattr(e, "value_per_unit", 0.0) or 0.0)
        if val > 0:
            prices.setdefault(val, []).append(e.metric)
    for val, metrics in prices.items():
        who = _who(metrics, len(deal.evaluations), t["all_metrics"])
        add(t["a_price"].format(metric=who), f.money(val, cur), "evaluation", "value_per_unit")
    # what each evaluation compares with, where that is uncertain: a historical level or a
    # comparison group's bias, one row per distinct value naming the metrics that share it
    levels: dict[tuple[str, str], list[str]] = {}
    for name, dist in evaluation_inputs(deal.evaluations).items():
        field = input_field(name)
        if field not in COMPARISON_FIELDS:
            continue
        m = float(dist.mean)
        lo, hi = (float(x) for x in quantile(dist, np.array([0.05, 0.95])))
        show = (lambda x: f.pct(x)) if field == "bias" else (lambda x: f.num(x, 2))
        metrics = levels.setdefault((field, f"{show(m)} ({show(lo)} … {show(hi)})"), [])
        metric = name.split(".", 2)[1]
        if name.endswith("]"):  # one entry wave's value
            wave = int(name[name.rindex("[") + 1:-1])
            metric = t["a_wave"].format(metric=metric, n=wave + 1)
        if metric not in metrics:
            metrics.append(metric)
    names = {e.metric for e in deal.evaluations}
    for (field, value), metrics in levels.items():
        key = "a_bias" if field == "bias" else "a_historical"
        # "every metric" only where the rows name whole metrics, not single cohorts
        who = (_who(metrics, len(deal.evaluations), t["all_metrics"])
               if set(metrics) <= names else ", ".join(metrics))
        add(t[key].format(metric=who), value, "evaluation", "design")
    caps = deal.contract.caps
    if caps.total is not None:
        add(t["a_cap"], f.money(caps.total, cur), "contract.caps", "total")
    for tr in deal.capital.tranches:
        add(t["a_capital"].format(name=tr.name), f.money(tr.commitment, cur),
            "capital.tranches", "commitment")
        if tr.investor:  # grants and deferred fees have no target return
            add(t["a_target"].format(name=tr.name),
                t["per_year"].format(x=f.pct(tr.target_return)), "capital.tranches",
                "target_return")
    payers = deal.payers or ()
    sources = [(p.name, p, "payers") for p in payers] or [
        ("", deal.municipality, "municipality")]
    # every payer's savings, one row per distinct (kind, state, amount) naming the payers that
    # share it: a deal of many payers gets a short table, and no payer is left out
    ppy = deal.scenario.periods_per_year
    savings: dict[tuple[str, str, float], list[str]] = {}
    section = sources[0][2]
    for name, p, _ in sources:
        who = name or "–"
        if p.saving_per_event:
            vals = p.saving_per_event
            vals = vals if isinstance(vals, dict) else {"": vals}
            for _, x in vals.items():
                savings.setdefault(("event", "", float(x)), []).append(who)
        for state, x in (p.saving_per_person_period or {}).items():
            savings.setdefault(("state", state, float(x) * ppy), []).append(who)
    for (kind, state, x), names in savings.items():
        who = _who(names, len(sources), t["all_payers"]) if len(sources) > 1 else names[0]
        if kind == "event":
            add(t["a_saving_event"].format(payer=who), f.money(x, cur), section,
                "saving_per_event")
        else:
            add(t["a_saving_state"].format(state=state, payer=who), f.money(x, cur), section,
                "saving_per_person_period")
    # each payer's fraction of a money evaluation's extra money (higher wages: more taxes)
    fractions: dict[tuple[str, float], list[str]] = {}
    for p in payers:
        for metric, x in p.saving_of_money_effect.items():
            fractions.setdefault((metric, float(x)), []).append(p.name)
    for (metric, x), names in fractions.items():
        add(t["a_saving_money_effect"].format(metric=metric, payer=", ".join(names)),
            f.pct(x), "payers", "saving_of_money_effect")
    if deal.service_costs is not None and deal.service_costs.per_participant:
        add(t["a_service_cost"], f.money(deal.service_costs.per_participant, cur),
            "service_costs", "per_participant")
    add(t["a_social_rate"], t["per_year"].format(x=f.pct(deal.municipality.discount_rate)),
        "municipality", "discount_rate")
    add(t["a_investor_rate"], t["per_year"].format(x=f.pct(deal.investors.discount_rate)),
        "investors", "discount_rate")
    return rows
