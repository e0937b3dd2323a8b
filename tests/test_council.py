"""The council report: texts, locale formats, HTML content, CLI and a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest

import sibsim
from sibsim.cli import main
from sibsim.council import SECTIONS, council_report, write_council_report
from sibsim.council.assumptions import assumption_rows, file_sources
from sibsim.council.facts import breakeven_units, council_facts
from sibsim.council.formats import LANGUAGES, Formatter
from sibsim.council.texts import TEXTS
from sibsim.scenario_file import builtin_scenarios

LANGS = ("fi", "sv", "en")


@pytest.fixture(scope="module")
def lapset(tmp_path_factory):
    deal = sibsim.load_scenario("lapset-sib-1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sibsim.analyse(deal, draws=60, seed=3, progress=False)
    path = tmp_path_factory.mktemp("council") / "lapset.nc"
    res.to_netcdf(path)
    facts = council_facts(res, deal, 0.9)
    html = {lang: council_report(res, deal, lang, source=builtin_scenarios()["lapset-sib-1"],
                                 facts=facts) for lang in LANGS}
    return deal, res, path, facts, html


# ---------------------------------------------------------------------- texts and formats
def test_every_key_in_every_language():
    keys = set(TEXTS["en"])
    for lang in LANGS:
        assert set(TEXTS[lang]) == keys, lang
        for k, text in TEXTS[lang].items():
            assert text.strip(), (lang, k)
            # the same placeholders in every language
            assert set(re.findall(r"{(\w+)}", text)) == set(
                re.findall(r"{(\w+)}", TEXTS["en"][k])), (lang, k)


def test_money_and_percent_per_locale():
    assert Formatter("fi").money(11_000_000, "EUR") == "11,0\u00a0milj.\u00a0€"
    assert Formatter("sv").money(11_040_000, "EUR") == "11,0\u00a0mn\u00a0€"
    assert Formatter("en").money(11_000_000, "EUR") == "EUR 11.0M"
    assert Formatter("en").money(-250_000, "GBP") == "−GBP 250,000"
    assert Formatter("fi").money(250_000, "EUR") == "250\u00a0000\u00a0€"
    assert Formatter("fi").pct(0.125) == "12,5\u00a0%"
    assert Formatter("en").pct(0.125) == "12.5%"
    assert Formatter("sv").axis(2.5) == "2,5" and Formatter("en").axis(2.5) == "2.5"
    # one minus sign for money, numbers and shares; no "minus zero"
    assert Formatter("fi").pct(-0.153) == "\u221215,3\u00a0%"
    assert Formatter("en").num(-2.5, 1) == "\u22122.5"
    assert Formatter("fi").pct(-0.0001) == "0,0\u00a0%"
    with pytest.raises(ValueError, match="lang"):
        Formatter("de")
    assert set(LANGUAGES) == set(LANGS)


def test_sources_from_comments():
    text = ("# Sources: [L1] EuroHealthNet e-guide; [L7] Iltalehti, article;\n\n"
            "[cohort]\nentry = [1, 2]   # counts [L7]\n[effect]\n# prior (assumption)\n"
            "value = 0.8\n")
    refs, comments = file_sources(text)
    assert refs["L7"].startswith("Iltalehti")
    assert comments[("cohort", "entry")] == "counts [L7]"
    assert comments[("effect", "value")] == "prior (assumption)"


# ---------------------------------------------------------------------- facts
@pytest.mark.parametrize("lang", LANGS)
def test_the_assumptions_name_every_payer_and_metric(lapset, lang):
    """Lapset-SIB I has nine payers and five metrics: every payer's savings and every metric's
    price appear, equal values in one row that names who shares them."""
    deal = lapset[0]
    rows = assumption_rows(deal, lang)
    t = TEXTS[lang]
    saving_rows = [r for r in rows if r[0].startswith(t["a_saving_state"].split("{")[0])]
    named = " ".join(r[0] for r in saving_rows)
    everyone = t["all_payers"] in named
    for payer in deal.payers:
        if payer.saving_per_person_period:
            assert everyone or payer.name in named, payer.name
    # the amounts shown are the payers' own, per year
    ppy = deal.scenario.periods_per_year
    f = Formatter(lang)
    amounts = {f.money(float(x) * ppy, deal.currency) for p in deal.payers
               for x in (p.saving_per_person_period or {}).values()}
    assert {r[1] for r in saving_rows} == amounts
    price_rows = [r for r in rows if r[0].startswith(t["a_price"].split("{")[0])]
    priced = [e for e in deal.evaluations if (e.value_per_unit or 0) > 0]
    assert {r[1] for r in price_rows} == {f.money(float(e.value_per_unit), deal.currency)
                                          for e in priced}
    labels = " ".join(r[0] for r in price_rows)
    assert t["all_metrics"] in labels or all(e.metric in labels for e in priced)


def test_the_investor_figure_legend_shows_the_loss_in_red(lapset):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    from sibsim.council.figures import RED, plot_investor_outcome

    fig, ax = plt.subplots()
    plot_investor_outcome(lapset[1], ax, "fi")
    handles = ax.get_legend().legend_handles
    texts = [x.get_text() for x in ax.get_legend().get_texts()]
    loss = [h for h, x in zip(handles, texts, strict=True) if x.startswith("Tappio")]
    assert len(loss) == 1 and loss[0].get_facecolor() == to_rgba(RED)
    plt.close(fig)


def test_breakeven_units_match_effect(lapset):
    deal, res, _, facts, _ = lapset
    be = facts.breakeven
    assert be.kind == "state_years" and be.states == ("care",)
    med = float(np.nanmedian(res.breakeven["breakeven_effect"].sel(party="commissioner")))
    assert be.effect == pytest.approx(med)
    # a stronger effect avoids more care-years; no effect avoids none
    stronger = res.breakeven.copy()
    stronger["breakeven_effect"] = stronger["breakeven_effect"] * 0 + 0.6
    none = res.breakeven.copy()
    none["breakeven_effect"] = none["breakeven_effect"] * 0 + 1.0
    u_strong = breakeven_units(stronger, deal, 3, draws=20).units
    u_none = breakeven_units(none, deal, 3, draws=20).units
    assert u_strong > breakeven_units(res.breakeven, deal, 3, draws=20).units > 0
    assert abs(u_none) < 1e-6 * u_strong


def test_yearly_table_is_the_budget(lapset):
    deal, res, _, facts, _ = lapset
    tot = res.budget.sel(payer="all payers")
    np.testing.assert_allclose(facts.yearly["appropriation"], tot["appropriation"])
    assert list(facts.yearly["year"].values) == sorted(set(deal.calendar_years()))
    gross = res.money["outcome_payments"].sum("period")
    assert facts.pay_mean == pytest.approx(float(gross.mean()))
    assert facts.p_net_loss == pytest.approx(float(res.municipality["net_loss"].mean()))


# ---------------------------------------------------------------------- HTML
@pytest.mark.parametrize("lang", LANGS)
def test_html_sections_and_locale(lapset, lang):
    deal, _, _, _, html = lapset
    doc = html[lang]
    assert f'<html lang="{lang}">' in doc
    ids = [doc.index(f'id="{s}"') for s in SECTIONS]
    assert ids == sorted(ids)
    for year in deal.calendar_years():
        assert f">{year}<" in doc
    assert doc.count("data:image/png;base64,") == 3
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", doc)
    assert "<script" not in doc and "<link" not in doc
    t = TEXTS[lang]
    for key in ("summary", "assumptions", "method", "pays_h", "investors_h", "breakeven_h"):
        assert t[key].replace("'", "&#x27;") in doc
    if lang == "fi":
        assert re.search(r"\d,\d\u00a0milj\.\u00a0€", doc)
    elif lang == "sv":
        assert re.search(r"\d,\d\u00a0mn\u00a0€", doc)
    else:
        assert re.search(r"EUR \d+\.\dM", doc) and "milj." not in doc


def test_breakeven_in_outcome_terms(lapset):
    _, _, _, facts, html = lapset
    n = f"{int(np.ceil(facts.breakeven.units))}"
    assert f"vähintään {n} vuotta sijoitettuna vähemmän" in html["fi"]
    assert f"at least {n} fewer years in care" in html["en"]
    assert f"minst {n} år i vård utom hemmet färre" in html["sv"]


def test_report_refuses_bad_input(lapset):
    deal, res, _, _, _ = lapset
    with pytest.raises(ValueError, match="lang"):
        council_report(res, deal, "de")
    with pytest.raises(ValueError, match="confidence"):
        council_report(res, deal, "fi", confidence=90)


def test_write_is_atomic(lapset, tmp_path, monkeypatch):
    deal, res, _, _, _ = lapset
    out = tmp_path / "r.html"
    out.write_text("old")
    import sibsim.council.report as rep

    def boom(*a, **k):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(rep, "_figures", boom)
    with pytest.raises(RuntimeError):
        write_council_report(res, deal, out, "fi")
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.html"]


# ---------------------------------------------------------------------- CLI
def test_cli_from_results_with_exports(lapset, tmp_path, capsys):
    _, _, nc, _, _ = lapset
    out, csv, xlsx = tmp_path / "r.html", tmp_path / "t.csv", tmp_path / "t.xlsx"
    pytest.importorskip("openpyxl")
    rc = main(["report", "lapset-sib-1", "--lang", "fi", "--from-results", str(nc),
               "--out", str(out), "--csv", str(csv), "--xlsx", str(xlsx)])
    assert rc == 0, capsys.readouterr().err
    assert 'id="summary"' in out.read_text(encoding="utf-8")
    summary = csv.read_text(encoding="utf-8-sig").splitlines()
    assert summary[0] == "Tunnusluku;Arvo" and re.search(r";\d+,\d$", summary[5])
    yearly = (tmp_path / "t-yearly.csv").read_text(encoding="utf-8-sig").splitlines()
    assert yearly[1].startswith("2019;") and xlsx.stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["report", "no-such-deal"], "not a built-in scenario"),
    (["report", "peterborough", "--out", "x.txt"], "--out"),
    (["report", "peterborough", "--confidence", "90"], "--confidence"),
    (["report", "peterborough", "--from-results", "missing.nc", "--out", "r.html"],
     "--from-results"),
])
def test_cli_bad_input_exits_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_cli_from_results_of_another_deal(lapset, tmp_path, capsys):
    _, _, nc, _, _ = lapset
    out = tmp_path / "r.html"
    assert main(["report", "peterborough", "--from-results", str(nc), "--out", str(out)]) == 2
    assert "not a run of" in capsys.readouterr().err and not out.exists()


# ---------------------------------------------------------------------- browser
_CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images].map(i => i.complete && i.naturalWidth > 0);
  const over = [];
  for (const el of document.querySelectorAll('h1,h2,h3,p,td,th,figcaption,li')) {
    if (el.scrollWidth > el.clientWidth + 1) over.push(el.tagName + ':' +
        el.textContent.slice(0, 40));
  }
  const body = document.documentElement.scrollWidth > window.innerWidth + 1;
  const pre = document.createElement('pre'); pre.id = 'checks';
  pre.textContent = JSON.stringify({imgs, over, body});
  document.body.appendChild(pre);
});
</script>"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.parametrize("lang", LANGS)
def test_renders_in_chromium(lapset, lang, tmp_path):
    import json

    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium binary (apt-get install chromium) to render the report")
    page = tmp_path / f"r-{lang}.html"
    page.write_text(lapset[4][lang].replace("</body>", _CHECK + "</body>"), encoding="utf-8")
    cmd = [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
           "--window-size=1200,900", "--virtual-time-budget=5000",
           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    m = re.search(r'<pre id="checks">(.*?)</pre>', dom, re.S)
    assert m, dom[-2000:]
    checks = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert len(checks["imgs"]) == 3 and all(checks["imgs"])
    assert checks["over"] == [] and not checks["body"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_investors_sentence_names_the_deals_currency(lapset, lang):
    """Lapset-SIB I is in euros; a deal in pounds must not speak of euros invested."""
    from sibsim.council.texts import CURRENCY_WORDS, currency_words

    deal, *_, html = lapset
    per_unit, unit = currency_words(lang, deal.currency)
    assert deal.currency == "EUR" and per_unit in html[lang] and f" {unit}" in html[lang]
    gbp = currency_words(lang, "GBP")
    assert gbp != currency_words(lang, "EUR") and "euro" not in " ".join(gbp)
    assert currency_words(lang, "SEK") == CURRENCY_WORDS[lang]["*"]


def test_the_main_job_writes_the_council_report_beside_the_results(tmp_path, capsys):
    """``sibsim run ... --report FILE.html`` (the README's first command) writes the council
    report in ``--lang`` with the same draws as the results file; a wrong suffix is refused
    before the run, and nothing is written."""
    from sibsim.cli import main

    out, html = tmp_path / "r.nc", tmp_path / "council.html"
    assert main(["run", "peterborough", "--draws", "60", "--seed", "2", "--out", str(out),
                 "--report", str(html), "--lang", "sv", "--no-progress"]) == 0
    assert f"Council report written to {html}" in capsys.readouterr().out
    doc = html.read_text(encoding="utf-8")
    assert '<html lang="sv">' in doc and doc.count("data:image/png;base64,") == 3
    assert "2010" in doc  # calendar years from the scenario's start_year
    bad = tmp_path / "council.pdf"
    assert main(["run", "peterborough", "--draws", "5", "--out", str(tmp_path / "s.nc"),
                 "--report", str(bad), "--no-progress"]) == 2
    assert "--report" in capsys.readouterr().err
    assert not bad.exists() and not (tmp_path / "s.nc").exists()


@pytest.mark.parametrize("p", [0.03, 0.23, 0.5, 0.97])
def test_chance_bar_labels_are_never_cut(p):
    """A label that does not fit in its segment goes below the bar, inside the axes."""
    from types import SimpleNamespace

    import numpy as np
    import xarray as xr
    from matplotlib.figure import Figure

    from sibsim.council.figures import plot_net_loss_chance

    fig = Figure(figsize=(7, 2.4))
    ax = fig.add_subplot()
    loss = (np.arange(100) < round(p * 100)).astype(float)
    plot_net_loss_chance(SimpleNamespace(municipality=xr.Dataset({"net_loss": ("draw", loss)})),
                         ax, "fi")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    box = ax.get_window_extent(renderer)
    segments = {0: (0.0, p), 1: (p, 1.0)}
    for i, label in enumerate(ax.texts):
        ext = label.get_window_extent(renderer)
        assert box.x0 - 1 <= ext.x0 and ext.x1 <= box.x1 + 1, (p, label.get_text())
        lo, hi = ax.transData.transform([(segments[i][0], 0), (segments[i][1], 0)])[:, 0]
        inside = label.get_position()[1] == 0
        assert not inside or (lo <= ext.x0 and ext.x1 <= hi), (p, label.get_text())


def test_a_breakeven_without_any_effect_is_said_so(tmp_path):
    """The child-welfare template pays a share of the savings: its commissioner breaks even
    with no effect at all (median), which reads as such, not as "at least 0 %"."""
    import html as html_lib

    import sibsim
    from sibsim.council import council_facts, council_report
    from sibsim.council.texts import TEXTS
    from sibsim.templates import write_template

    deal = sibsim.load_scenario(write_template("child-welfare", tmp_path / "cw.toml"))
    res = sibsim.analyse(deal, draws=300, seed=1, progress=False)
    # most draws break even at no effect; over every draw the median is a weak effect
    # (a tenth need more than the range), so the commissioner's column is set to the no-effect
    # end in every draw: the case this test is about
    x = res.breakeven["breakeven_effect"]
    assert float((x.sel(party="commissioner") == 1.0).mean()) > 0.4
    res.breakeven["breakeven_effect"] = x.where(x["party"] != "commissioner", 1.0)
    be = council_facts(res, deal).breakeven
    assert abs(be.effect - 1.0) < 0.005  # the case this test is about
    for lang in LANGS:
        doc = html_lib.unescape(council_report(res, deal, lang=lang))
        assert TEXTS[lang]["breakeven_no_effect"] in doc
        assert "0 %" + " verrattuna" not in doc and "at least 0%" not in doc


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
@pytest.mark.parametrize("top", [0.45e6, 3.7e6, 0.012e6, 85e6])
def test_budget_fan_tick_labels_all_differ(lang, top):
    """Every tick label of the budget figure's money axis is its own number, whatever the
    size of the payments (ticks 0.05 million apart once printed 0,4 0,4 0,3 0,3 ...)."""
    import types

    import matplotlib.pyplot as plt
    import xarray as xr

    from sibsim.council.figures import plot_budget_fan

    years = np.arange(2027, 2033)
    shape = np.array([0.0, 0.0, 0.1, 1.0, 0.9, 0.0])
    yearly = xr.Dataset({k: ("year", top * q * shape) for k, q in [
        ("gross_p05", 0.1), ("gross_p25", 0.3), ("gross_median", 0.5), ("gross_p75", 0.7),
        ("gross_p95", 1.0), ("appropriation", 0.95)]}, coords={"year": years})
    results = types.SimpleNamespace(money=xr.Dataset(attrs={"currency": "EUR"}))
    fig, ax = plt.subplots()
    try:
        plot_budget_fan(results, ax, None, lang=lang, yearly=yearly)
        fig.canvas.draw()
        lo, hi = ax.get_ylim()
        labels = [t.get_text() for t, v in zip(ax.get_yticklabels(), ax.get_yticks(),
                                                strict=True) if lo <= v <= hi]
    finally:
        plt.close(fig)
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


@pytest.mark.parametrize("lang", LANGS)
def test_a_markov_baseline_is_the_chance_of_the_move_the_effect_acts_on(lang):
    """A Markov outcome's baseline row gives the chance, without the service, of the move the
    effect acts on (from the initial state where it can), not of leaving the first state: a
    hand-made chain where everyone leaves the first state (the row that used to be shown,
    always 100%) and the targeted move from it has probability 0.15."""
    import types

    from sibsim.council.assumptions import _baseline_move

    chain = sibsim.MarkovOutcome(states=("start", "home", "care"),
                                 transitions=((0.0, 0.85, 0.15), (0.0, 0.9, 0.1),
                                              (0.0, 0.2, 0.8)), name="placement")
    scenario = sibsim.Scenario(
        cohort=sibsim.Cohort(size=100), outcome=chain, horizon=3,
        effect=sibsim.Effect("hr", 0.8, targets=(("home", "care"), ("start", "care"))),
        comparison=sibsim.ComparisonGroup(ratio=1))
    assert _baseline_move(types.SimpleNamespace(scenario=scenario)) == ("start", "care", 0.15)
    later = sibsim.Scenario(  # no target from the initial state: the first target
        cohort=sibsim.Cohort(size=100), outcome=chain, horizon=3,
        effect=sibsim.Effect("hr", 0.8, targets=(("home", "care"),)))
    assert _baseline_move(types.SimpleNamespace(scenario=later)) == ("home", "care", 0.1)
    # a built-in chain: the row names the move and gives its mean chance a year
    t, f = TEXTS[lang], Formatter(lang)
    deal = sibsim.load_scenario("lapset-sib-1")
    a, b, p = _baseline_move(deal)
    rows = dict((r[0], r[1]) for r in assumption_rows(deal, lang))
    assert t["a_baseline"] not in rows
    assert rows[t["a_baseline_move"].format(a=a, b=b)] == t["per_year"].format(x=f.pct(p))


@pytest.mark.parametrize(("flag", "want"), [([], None), (["--no-progress"], False)])
def test_cli_report_no_progress(flag, want, tmp_path, monkeypatch, capsys):
    """``--no-progress`` as in sibsim run, design and compare: the run gets progress=False
    (without it, None: shown in a terminal only)."""
    from sibsim import report

    seen = {}
    real = report.analyse

    def spy(*args, **kwargs):
        seen["progress"] = kwargs.get("progress", "not given")
        return real(*args, **kwargs)

    monkeypatch.setattr(report, "analyse", spy)
    out = tmp_path / "r.html"
    assert main(["report", "lapset-sib-1", "--draws", "40", "--out", str(out), *flag]) == 0
    assert seen["progress"] is want and out.is_file()


@pytest.mark.parametrize("lang", LANGS)
def test_the_assumptions_give_what_the_evaluation_compares_with(lang, tmp_path):
    """An uncertain comparison level or comparison-group bias is an assumption the council
    reads: its mean and 5th-95th percentiles (here from scipy's quantiles of the same
    distributions), with the scenario file's comment as its source."""
    from scipy import stats

    t, f = TEXTS[lang], Formatter(lang)
    path = tmp_path / "cw.toml"
    assert main(["new", "--template", "child-welfare", str(path)]) == 0
    deal = sibsim.load_scenario(path)
    rows = {r[0]: (r[1], r[2]) for r in assumption_rows(deal, lang, source=path)}
    shape, scale = (0.58 / 0.06) ** 2, 0.06 ** 2 / 0.58  # gamma with mean 0.58, sd 0.06
    lo, hi = stats.gamma.ppf([0.05, 0.95], shape, scale=scale)
    value, source = rows[t["a_historical"].format(metric="care_years")]
    assert value == f"{f.num(0.58, 2)} ({f.num(lo, 2)} … {f.num(hi, 2)})"
    assert source == t["assumption_word"]  # the template says so in its comment on the design
    bias = {r[0]: r[1] for r in assumption_rows(sibsim.load_scenario("peterborough"), lang)}
    lo, hi = stats.norm.ppf([0.05, 0.95], 0.0, 0.02)
    assert bias[t["a_bias"].format(metric="reconviction")] == (
        f"{f.pct(0.0)} ({f.pct(lo)} … {f.pct(hi)})")


@pytest.mark.parametrize("lang", LANGS)
def test_a_bias_per_entry_wave_names_its_cohort(lang):
    from dataclasses import replace

    from sibsim.spec.distributions import Normal

    t, f = TEXTS[lang], Formatter(lang)
    deal = sibsim.load_scenario("peterborough")
    e = deal.evaluations[0]
    biases = (Normal(0.0, 0.02), Normal(0.0, 0.04), Normal(0.0, 0.02))
    deal = deal.replace(evaluations=(replace(e, design=replace(e.design, bias=biases)),))
    rows = [r for r in assumption_rows(deal, lang) if r[0].startswith(t["a_bias"][:8])]
    first = t["a_wave"].format(metric="reconviction", n=1)
    third = t["a_wave"].format(metric="reconviction", n=3)
    second = t["a_wave"].format(metric="reconviction", n=2)
    assert [r[0] for r in rows] == [t["a_bias"].format(metric=f"{first}, {third}"),
                                    t["a_bias"].format(metric=second)]
    assert rows[1][1].startswith(f.pct(0.0)) and rows[0][1] != rows[1][1]


@pytest.mark.parametrize("lang", LANGS)
def test_the_method_says_the_comparison_is_drawn_only_where_it_is(lapset, lang):
    """Lapset-SIB I's historical comparison levels are uncertain: the method notes say they are
    drawn in each run; Utah's preschool deal has no uncertain comparison: no such line."""
    from html import escape

    from sibsim.money.evaluation_inputs import evaluation_inputs

    said = escape(TEXTS[lang]["method_comparison"], quote=True)
    assert said in lapset[4][lang]
    utah = sibsim.load_scenario("utah-preschool")
    assert not evaluation_inputs(utah.evaluations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = sibsim.analyse(utah, draws=30, seed=1, progress=False)
    text = council_report(other, utah, lang=lang)
    assert 'id="method"' in text and said not in text
