"""Every figure of the plain-language report equals the value in the results file.

The report (:func:`sibsim.report.describe`) is written from an analysis; the results file is
what :meth:`SIBResults.to_netcdf` writes. Each line of the report with a number is matched by a
pattern below that says which value of the file each number shows; the numbers are read back
from the text and compared with values computed here from the file, to the precision printed.
A line with a number that no pattern knows fails the test, so a new figure needs a check.
"""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest

import sibsim
from sibsim.report import analyse, describe, open_results
from sibsim.scenario_file import parse_scenario

MONEY = r"(-?)([A-Z]{3}) ([\d,]+(?:\.\d+)?)([Mk]?)"
PCT = r"(-?[\d.]+)%"


def money(sign: str, cur: str, digits: str, unit: str) -> tuple[float, float]:
    """A printed amount and its rounding (half the last printed unit)."""
    scale = {"M": 1e6, "k": 1e3, "": 1.0}[unit]
    value = float(digits.replace(",", "")) * scale * (-1 if sign else 1)
    step = scale * (0.01 if unit == "M" else 1.0)
    return value, step / 2


def pct(text: str) -> tuple[float, float]:
    return float(text) / 100, 0.0005 + 1e-12


def near(printed: tuple[float, float], value: float, what: str) -> None:
    shown, half = printed
    assert abs(shown - value) <= half * 1.0001 + 1e-9, f"{what}: printed {shown}, file {value}"


def q(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return np.quantile(x, [0.05, 0.5, 0.95])


def cvar05(x: np.ndarray) -> float:
    """Mean of the worst 5% of draws, as ``analysis.summary`` defines it."""
    import xarray as xr

    from sibsim.analysis.summary import summarise

    ds = xr.Dataset({"x": ("draw", np.asarray(x, dtype=float))})
    return float(summarise(ds)["x"].sel(statistic="cvar05"))


def effect(words: str, measure: str) -> tuple[float, float]:
    """A true effect in the report's words back to a number (and its rounding)."""
    if words == "no effect":
        return (0.0 if measure == "absolute" else 1.0), 5e-4
    found = re.fullmatch(r"an? ([\d.]+)% (reduction|increase)", words)
    assert found, words
    x = float(found.group(1)) / 100
    return (1 - x if found.group(2) == "reduction" else 1 + x), 0.0005 + 1e-12


def check_report(text: str, res) -> int:
    """Compare every figure of ``text`` with ``res`` (read from the file); return the count."""
    m, inv, mun, be = res.money, res.investors, res.municipality, res.breakeven
    allinv = inv.sel(investor="all")
    cur = m.attrs["currency"]
    checked = 0
    lines = text.splitlines()[1:]  # the first line is the scenario's own name and description
    for line in lines:
        if not re.search(r"\d", line):
            continue
        s = line.strip()
        if s.startswith(tuple(f"{n:,} draws" for n in [m.sizes["draw"]])):
            found = re.match(r"([\d,]+) draws, seed (\d+), engine (\w+), one period = one "
                             r"([\w-]+), amounts in ([A-Z]{3})\.", s)
            assert found, s
            assert int(found.group(1).replace(",", "")) == m.sizes["draw"]
            assert int(found.group(2)) == int(res.outcomes.attrs["seed"])
            assert found.group(3) == res.outcomes.attrs["engine"]
            assert found.group(4) == m.attrs["period"] and found.group(5) == cur
            checked += 3
        elif s.startswith("Investors lose money"):
            found = re.fullmatch(rf"Investors lose money in {PCT} of draws \(capital drawn: "
                                 rf"median {MONEY}\)\.", s)
            assert found, s
            near(pct(found.group(1)), float(allinv["loss"].mean()), "loss share")
            near(money(*found.groups()[1:5]), float(np.median(allinv["invested"])), "invested")
            checked += 2
        elif s.startswith("Money multiple"):
            found = re.fullmatch(r"Money multiple: median ([\d.]+) \(90% of draws between "
                                 r"([\d.]+) and ([\d.]+)\)\.", s)
            assert found, s
            lo, med, hi = q(allinv["moic"].values)
            for shown, value in zip(found.groups(), (med, lo, hi), strict=True):
                near((float(shown), 0.005), value, "moic")
            checked += 3
        elif s.startswith("IRR: median"):
            found = re.fullmatch(rf"IRR: median {PCT} a year \(90% between {PCT} and {PCT}\); "
                                 rf"mean NPV at {PCT} a year: {MONEY}\.", s)
            assert found, s
            lo, med, hi = q(allinv["irr_annual"].values)
            for shown, value in zip(found.groups()[:3], (med, lo, hi), strict=True):
                near(pct(shown), value, "irr")
            near(pct(found.group(4)), m.attrs["investor_discount_rate_per_year"], "rate")
            near(money(*found.groups()[4:8]), float(allinv["npv"].mean()), "npv")
            checked += 5
        elif s.startswith("Total loss"):
            found = re.fullmatch(rf"Total loss \(nothing comes back\) in {PCT} of draws\.", s)
            assert found, s
            share = ((allinv["received"] <= 0) & (allinv["invested"] > 0)).mean()
            near(pct(found.group(1)), float(share), "total loss")
            checked += 1
        elif s.startswith("In ") and "some money comes back" in s:
            found = re.match(rf"In {PCT} of draws some money comes back", s)
            assert found, s
            nothing = (allinv["received"] <= 0) & (allinv["invested"] > 0)
            share = ((allinv["irr_status"] == 2) & ~nothing).mean()
            near(pct(found.group(1)), float(share), "net -100%")
            checked += 1
        elif s.startswith("Expected shortfall"):
            found = re.fullmatch(rf"Expected shortfall \(mean NPV of the worst 5% of draws\): "
                                 rf"{MONEY}\.", s)
            assert found, s
            near(money(*found.groups()), cvar05(allinv["npv"].values), "investor cvar")
            checked += 1
        elif s.startswith("They get their money back"):
            found = re.fullmatch(rf"They get their money back within the horizon in {PCT} of "
                                 r"draws; median payback period (\d+)\.", s)
            assert found, s
            pb = allinv["payback_period"].values
            near(pct(found.group(1)), float(np.isfinite(pb).mean()), "payback share")
            near((float(found.group(2)), 0.5), float(np.nanmedian(pb)), "payback")
            checked += 2
        elif s.startswith(("Outcome payments: mean", "Cashable savings: mean")):
            var = "outcome_payments" if s.startswith("Outcome") else "cashable_savings"
            found = re.fullmatch(rf"[\w ]+: mean {MONEY} \(90% between {MONEY} and {MONEY}\)\.",
                                 s)
            assert found, s
            x = m[var].sum("period").values
            lo, _, hi = q(x)
            g = found.groups()
            near(money(*g[0:4]), float(x.mean()), var)
            near(money(*g[4:8]), lo, var)
            near(money(*g[8:12]), hi, var)
            checked += 3
        elif s.startswith("The commissioner pays more"):
            found = re.fullmatch(rf"The commissioner pays more than it saves \(cashable\) in "
                                 rf"{PCT} of draws; NPV of net savings at {PCT}: mean {MONEY}, "
                                 rf"expected shortfall {MONEY}\.", s)
            assert found, s
            g = found.groups()
            near(pct(g[0]), float(mun["net_loss"].mean()), "net loss")
            near(pct(g[1]), m.attrs["social_discount_rate_per_year"], "social rate")
            near(money(*g[2:6]), float(mun["npv_net_savings"].mean()), "npv net")
            near(money(*g[6:10]), cvar05(mun["npv_net_savings"].values), "commissioner cvar")
            checked += 4
        elif s.startswith("Including wider public value"):
            found = re.fullmatch(rf"Including wider public value, the NPV is {MONEY} on "
                                 r"average\.", s)
            assert found, s
            near(money(*found.groups()), float(mun["npv_net_public_value"].mean()), "public")
            checked += 1
        elif s.startswith("Peak annual budget"):
            found = re.fullmatch(rf"Peak annual budget \(the largest year\): outcome payments "
                                 rf"\(gross\) median {MONEY}; net of cashable savings median "
                                 rf"{MONEY}\.", s)
            assert found, s
            g = found.groups()
            near(money(*g[0:4]), float(np.median(mun["peak_annual_gross_payments"])),
                 "peak gross")
            near(money(*g[4:8]), float(np.median(mun["peak_annual_net_budget_need"])),
                 "peak net")
            checked += 2
        elif s.startswith("Yearly budget"):
            calendar = res.budget.attrs["years"] == "calendar"
            assert ("by calendar year" in s) == calendar, s
            if not calendar:
                assert "(1 = its first year;" in s and res.budget["year"].values[0] == 1, s
                checked += 1
        elif s.startswith("Year ") and "Appropriation" in s:
            found = re.fullmatch(rf"Year +Payments: mean +90th pct +Appropriation \({PCT}\) +"
                                 r"Net savings: mean", s)
            assert found, s
            near(pct(found.group(1)), res.budget.attrs["confidence"], "confidence")
            checked += 1
        elif re.match(r"\d+ +-?[A-Z]{3} ", s):
            checked += check_budget_row(s, res)
        elif s.startswith("Payments: gross outcome payments"):
            found = re.search(rf"covers the year's payments in {PCT} of draws", s)
            assert found, s
            near(pct(found.group(1)), res.budget.attrs["confidence"], "confidence")
            checked += 1
        elif re.match(r"[^:]+: pays mean", s):
            payer, rest = s.split(": pays mean", 1)
            one = mun.sel(payer=payer)
            found = re.fullmatch(rf" {MONEY}(?: \({PCT} of all outcome payments\))?, saves mean "
                                 rf"{MONEY} \(cashable\); pays more than it saves in {PCT} of "
                                 rf"draws; NPV of net savings: mean {MONEY}\.", rest)
            assert found, s
            g = found.groups()
            pay = float(one["payments_by_payer"].mean())
            near(money(*g[0:4]), pay, f"{payer} pays")
            if g[4] is not None:
                total = float(m["outcome_payments"].sum("period").mean())
                near(pct(g[4]), pay / total, f"{payer} share")
                checked += 1
            near(money(*g[5:9]), float(one["cashable_savings_by_payer"].mean()), "saves")
            near(pct(g[9]), float(one["net_loss_by_payer"].mean()), "payer net loss")
            near(money(*g[10:14]), float(one["npv_net_savings_by_payer"].mean()), "payer npv")
            checked += 4
        elif " unpaid by the horizon's end on average" in s:
            payer = s.split(" leaves ")[0].strip()
            payer = "commissioner" if payer == "The commissioner" else payer  # the one payer
            found = re.match(rf".* leaves {MONEY} unpaid by the horizon's end on average "
                             rf"\(in {PCT} of draws;", s)
            assert found, s
            u = m["unpaid_by_payer"].sum("period").sel(payer=payer).values
            near(money(*found.groups()[:4]), float(u.mean()), "unpaid")
            near(pct(found.group(5)), float(np.mean(u > 0)), "unpaid share")
            checked += 2
        elif s.startswith("Break-even period"):
            found = re.fullmatch(r"Break-even period \(cumulative cash >= 0 from then on\): "
                                 r"investors (.*); commissioner (.*)\.", s)
            assert found, s
            for part, x in ((found.group(1), allinv["payback_period"].values),
                            (found.group(2), mun["breakeven_period"].values)):
                checked += check_periods(part, x)
        elif be is not None and (" when the true effect" in s or "no break-even in" in s):
            checked += check_breakeven_line(s, be, m)
        elif s.startswith("Too few people to tell the effect from noise"):
            checked += check_detection_line(s, res)
        elif s.startswith("Later cohorts cancelled"):  # money/cancellation.py
            found = re.fullmatch(rf"Later cohorts cancelled by a decision outside the contract "
                                 rf"\(from period (\d+) on\) in {PCT} of draws \(probability "
                                 r"[^,]+, an assumption\); the cohorts that started are still "
                                 r"paid on their results\.", s)
            assert found, s
            cancelled = m["stop_period"].values == int(found.group(1))
            assert cancelled.any() and (m["stop_period"].values[~cancelled]
                                        == m.sizes["period"]).all()
            near(pct(found.group(2)), float(cancelled.mean()), "cancelled share")
            checked += 2
        else:
            pytest.fail(f"a report line with figures that no check knows: {s!r}")
    return checked


def check_budget_row(s: str, res) -> int:
    """A row of the yearly budget table: the deal total (all payers) of one calendar year.

    The mean gross payments and net savings are recomputed from the money group (the year's
    periods are consecutive); the 90th percentile and appropriation from the budget group."""
    found = re.fullmatch(rf"(\d+) +{MONEY} +{MONEY} +{MONEY} +{MONEY}", s)
    assert found, s
    g = found.groups()
    b = res.budget
    year = int(g[0])
    tot = b.sel(payer="all payers", year=year)
    i = int(np.flatnonzero(b["year"].values == year)[0])
    first = int(b["periods_in_year"].values[:i].sum())
    periods = slice(first, first + int(b["periods_in_year"].values[i]))
    m = res.money.isel(period=periods)
    near(money(*g[1:5]), float(m["outcome_payments"].sum("period").mean()), "year payments")
    near(money(*g[5:9]), float(tot["gross_payments_p90"]), "year p90")
    near(money(*g[9:13]), float(tot["appropriation"]), "appropriation")
    near(money(*g[13:17]), float(m["net_savings"].sum("period").mean()), "year net savings")
    return 4


def check_detection_line(s: str, res) -> int:
    """The detection sentence (analysis/power.py, detection_lines): its probability is
    Phi(E / s - z_0.05) of the effect and standard error it states, and its group is a wave of
    the results with at most that wave's treated people."""
    from scipy import stats

    found = re.fullmatch(
        r"Too few people to tell the effect from noise: evaluation '(\w+)' \('(wave (\d+)|"
        r"pooled)[^']*', ([\d,]+) people(?: against ([\d,]+) in the comparison group)?\) "
        r"would detect the assumed effect \(a measured change of (-?[\d.]+)%, give or take "
        r"([\d.]+) percentage points\) with probability (\d+)% at the 5% significance level\. "
        r"Payments will follow chance as much as the service's effect; larger groups, pooling "
        r"the waves \(pooled = true\) or a longer window help\.", s)
    assert found, s
    e, sd, p = float(found.group(6)), float(found.group(7)), float(found.group(8))
    # E and s are rounded to 0.05 percentage points: the probability within what that allows
    lo = stats.norm.cdf((e - 0.05) / (sd + 0.05) - stats.norm.isf(0.05))
    hi = stats.norm.cdf((e + 0.05) / max(sd - 0.05, 1e-9) - stats.norm.isf(0.05))
    assert 100 * lo - 0.5 <= p <= 100 * hi + 0.5, (s, lo, hi)
    assert p < 50  # the sentence is only written below 50%
    size = res.outcomes["size"].sel(arm="treatment").sum("stratum")
    if found.group(3) is not None:
        assert int(found.group(4).replace(",", "")) <= float(size.isel(wave=int(found.group(3))))
    return 3


def check_periods(text: str, x: np.ndarray) -> int:
    n = 0
    found = re.search(rf"never behind in {PCT} of draws", text)
    if found:
        near(pct(found.group(1)), float(np.mean(x == 0)), "never behind")
        n += 1
    else:
        assert not np.any(x == 0)
    found = re.search(rf"back to >= 0 by period (\d+) \(median\) in {PCT}", text)
    later = x[np.isfinite(x) & (x > 0)]
    if found:
        near((float(found.group(1)), 0.5), float(np.median(later)), "period")
        near(pct(found.group(2)), later.size / x.size, "later share")
        n += 2
    else:
        assert later.size == 0
    found = re.search(rf"still behind at the horizon in {PCT}", text)
    assert found, text
    near(pct(found.group(1)), float(np.mean(np.isnan(x))), "still behind")
    return n + 1


PARTIES = {"Investors break even": "investors", "Investors reach their target IRR":
           "investors_target_irr", "The commissioner's net cashable": "commissioner"}


def over_every_draw(x: np.ndarray, measure: str) -> tuple[float, float, float]:
    """The 5th, 50th and 95th percentiles of break-even effects over every draw, weak to
    strong, a draw without break-even counted as beyond the range (NaN where a percentile
    falls there): written here with numpy on the distance from no effect, apart from
    sibsim's breakeven_quantiles."""
    far = np.abs(x) if measure == "absolute" else np.abs(np.log(x))
    far = np.where(np.isnan(x), np.inf, far)
    with np.errstate(invalid="ignore"):
        q = np.quantile(far, [0.05, 0.5, 0.95])  # inf where a neighbour is beyond
    sign = np.sign(np.nanmedian(np.log(x))) if measure != "absolute" else 1.0
    back = (lambda d: np.exp(sign * d)) if measure != "absolute" else (
        lambda d: np.sign(np.nanmedian(x)) * d)
    return tuple(float(back(d)) if np.isfinite(d) else np.nan for d in q)


def check_breakeven_line(s: str, be, m) -> int:
    party = next(p for start, p in PARTIES.items() if s.startswith(start))
    measure = be.attrs["measure"]
    x = be["breakeven_effect"].sel(party=party).values
    n = 0
    if party == "investors_target_irr":
        found = re.search(rf"target IRR of {PCT} a year", s)
        near(pct(found.group(1)), m.attrs["target_irr_per_year"], "target irr")
        n += 1
    strongest = effect(re.search(r"(?:even at|up to) (no effect|an? [\d.]+% \w+) \(the "
                                 r"strongest", s).group(1), measure) if "strongest" in s else None
    if strongest is not None:
        near(strongest, be.attrs["effect_range"][1], "strongest")
        n += 1
    found = re.search(rf"no break-even (?:in|up to .*? in) {PCT} of draws", s)
    if found:
        near(pct(found.group(1)), float(np.isnan(x).mean()), "no break-even share")
        n += 1
    words = r"(no effect|an? [\d.]+% (?:reduction|increase))"
    found = re.search(rf"(?:is at least|even with) {words} \(median over draws; 90% between "
                      rf"{words} and (more than )?{words}\)", s)
    if found:
        lo, med, hi = over_every_draw(x, measure)
        near(effect(found.group(1), measure), med, f"{party} median")
        near((effect(found.group(2), measure)[0], 0.0005 + 1e-12), lo, f"{party} 5%")
        if found.group(3):  # the 95th percentile needs more than the range
            assert np.isnan(hi)
            near(effect(found.group(4), measure), be.attrs["effect_range"][1], "strongest")
        else:
            near((effect(found.group(4), measure)[0], 0.0005 + 1e-12), hi, f"{party} 95%")
        n += 3
    assert n, s
    return n


@pytest.fixture(scope="module")
def peterborough(tmp_path_factory):
    deal = sibsim.load_scenario("peterborough")
    res = analyse(deal, draws=200, seed=1, progress=False)
    path = res.to_netcdf(tmp_path_factory.mktemp("report") / "peterborough.nc")
    return deal, res, open_results(path)


def payers_example():
    """The complete example of docs/scenario-format.md with its three [[payers]]."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md").read_text()
    full = re.search(r"Save it as `family-care.toml`:\n\n```toml\n(.*?)```", text, re.S)
    block = re.search(r"```toml\n(\[municipality\]\ndiscount_rate = 0\.03 .*?)```", text,
                      re.S)
    base = re.sub(r"\n\[municipality\]\n.*?\n\n", "\n", full.group(1), flags=re.S)
    return parse_scenario(tomllib.loads(base + "\n" + block.group(1)), "family-care.toml")


@pytest.fixture(scope="module")
def with_payers(tmp_path_factory):
    deal = payers_example()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyse(deal, draws=200, seed=2, progress=False, with_breakeven=False)
    path = res.to_netcdf(tmp_path_factory.mktemp("report") / "payers.nc")
    return deal, res, open_results(path)


def test_every_figure_of_the_report_equals_the_results_file(peterborough):
    deal, res, from_file = peterborough
    text = describe(res, deal)
    assert check_report(text, from_file) >= 40
    assert "Break-even" in text


def test_every_payer_figure_equals_the_results_file(with_payers):
    deal, res, from_file = with_payers
    text = describe(res, deal)
    assert "Payers" in text
    assert check_report(text, from_file) >= 30


def test_a_wrong_figure_is_caught(peterborough):
    """The check itself fails on a report whose figure differs from the file."""
    deal, res, from_file = peterborough
    text = describe(res, deal)
    loss = float(from_file.investors.sel(investor="all")["loss"].mean())
    wrong = text.replace(f"lose money in {100 * loss:.1f}%", f"lose money in {100 * loss + 1:.1f}%")
    assert wrong != text
    with pytest.raises(AssertionError, match="loss share"):
        check_report(wrong, from_file)


def test_a_payer_waiting_for_appropriations_is_reported(tmp_path):
    """Peterborough with the Ministry of Justice paying from GBP 300,000 a year: the line on
    what it still owes at the horizon's end holds the results file's figures."""
    import dataclasses

    deal = sibsim.load_scenario("peterborough")
    moj, lottery = deal.payers
    deal = deal.replace(payers=(dataclasses.replace(moj, appropriations=300_000.0), lottery))
    res = analyse(deal, draws=200, seed=1, progress=False, with_breakeven=False)
    from_file = open_results(res.to_netcdf(tmp_path / "budgeted.nc"))
    text = describe(res, deal)
    assert "Ministry of Justice leaves" in text
    assert check_report(text, from_file) >= 30


def test_a_single_commissioner_waiting_for_appropriations_is_reported(tmp_path):
    """Without [[payers]] the commissioner is the one payer: its budget
    ([municipality] appropriations) leaves payments unpaid in some draws, and the summary says
    how much, with the results file's figures."""
    import dataclasses

    deal = sibsim.load_scenario("nyc-able")
    assert not deal.payers
    deal = deal.replace(municipality=dataclasses.replace(deal.municipality,
                                                         appropriations=1_000_000.0))
    res = analyse(deal, draws=200, seed=1, progress=False, with_breakeven=False)
    from_file = open_results(res.to_netcdf(tmp_path / "one.nc"))
    text = describe(res, deal)
    line = [s for s in text.splitlines() if "unpaid by the horizon" in s]
    assert line and line[0].strip().startswith("The commissioner leaves")
    assert check_report("\n".join(["x", *line]), from_file) == 2
