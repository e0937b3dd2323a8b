"""Scenario templates (``sibsim new``): every template loads, runs, says what each number means
and where it comes from, and the command refuses what it should."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

import sibsim
from sibsim.analysis.power import detection_lines, evaluation_power
from sibsim.cli import main
from sibsim.templates import (
    TemplateError,
    describe_templates,
    template_names,
    template_text,
    write_template,
)

pytestmark = pytest.mark.usefixtures("warm_kernels")

NAMES = ("child-welfare", "employment", "youth-justice", "elderly-care", "wellbeing-at-work")
KEY = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=\s*(.*)$")


def test_the_five_templates_are_shipped():
    assert set(template_names()) == set(NAMES)
    listing = describe_templates().splitlines()
    assert len(listing) == len(NAMES)
    for line, name in zip(listing, sorted(NAMES), strict=True):
        assert line.startswith(name) and len(line.split(None, 1)[1]) > 30


def _numeric_keys(text: str) -> list[tuple[int, str, str]]:
    """(line number, key, value text) of every key whose value holds a number, with the value's
    continuation lines (multi-line arrays) joined."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = KEY.match(line)
        if m is None or line.lstrip().startswith("#"):
            continue
        value = m.group(2).split("#")[0]
        j = i + 1
        while value.count("[") > value.count("]") and j < len(lines):
            value += lines[j].split("#")[0]
            j += 1
        if re.search(r"\d", re.sub(r'"[^"]*"', "", value)):
            out.append((i, m.group(1), value))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_number_has_a_comment_with_its_source(name):
    text = template_text(name)
    lines = text.splitlines()
    keys = _numeric_keys(text)
    assert len(keys) >= 15  # a whole deal: cohort, outcome, effect, evaluation, money
    for i, key, _ in keys:
        block = []
        j = i - 1
        while j >= 0 and lines[j].lstrip().startswith("#"):
            block.insert(0, lines[j].lstrip("# ").strip())
            j -= 1
        comment = " ".join(block)
        assert len(comment) > 20, f"{name}: {key} (line {i + 1}) has no comment above it"
        assert re.search(r"\b(source|assumption)\b", comment, re.I), (
            f"{name}: {key} (line {i + 1}): the comment gives no source and is not marked "
            "an assumption")


@pytest.mark.parametrize("name", NAMES)
def test_template_is_a_complete_finnish_deal(name):
    data = tomllib.loads(template_text(name))
    deal = sibsim.load_scenario(write_template(name, Path(_tmp()) / f"{name}.toml"))
    assert deal.has_money and deal.currency == "EUR"
    assert data["start_year"] == deal.start_year >= 2026
    assert deal.calendar_years()[0] == deal.start_year
    assert deal.name == name  # the file's stem


def test_the_summary_names_each_templates_outcome_in_plural_english():
    from sibsim.report import plural

    got = {name: plural(sibsim.load_scenario(write_template(
        name, Path(_tmp()) / f"{name}.toml")).scenario.outcome.name) for name in NAMES}
    assert got == {"child-welfare": "placements", "employment": "job or study starts",
                   "youth-justice": "reoffences",
                   "elderly-care": "moves into round-the-clock care",  # not "...cares"
                   "wellbeing-at-work": "sick-leave days"}


def _tmp() -> str:
    import tempfile

    return tempfile.mkdtemp()


def test_the_sitra_figures_are_the_defaults():
    """The Sitra (2017) figures of the issue are the templates' values, cited."""
    cw = tomllib.loads(template_text("child-welfare"))
    assert cw["evaluation"][0]["value_per_unit"] == 130_000
    assert cw["municipality"]["saving_per_person_period"] == {"care": 130_000}
    em = tomllib.loads(template_text("employment"))
    assert em["evaluation"][0]["value_per_unit"] == 20_000
    assert sum(em["municipality"][k]["outside"] for k in (
        "saving_per_person_period", "wider_value_per_person_period")) == 20_000
    ec = tomllib.loads(template_text("elderly-care"))
    assert ec["municipality"]["saving_per_person_period"] == {"care": 40_000}
    for name in ("child-welfare", "employment", "elderly-care"):
        assert template_text(name).count("[Sitra 2017]") >= 2


@pytest.mark.parametrize("name", NAMES)
def test_template_runs_a_small_analysis(name, tmp_path):
    deal = sibsim.load_scenario(write_template(name, tmp_path / "deal.toml"))
    res = sibsim.analyse(deal, draws=100, seed=1, progress=False, with_breakeven=False)
    pay = res.money["outcome_payments"].sum("period")
    # the deal pays in some draws and not in all of them the same: a live contract
    assert float(pay.max()) > 0 and float(pay.std()) > 0
    assert np.isfinite(res.municipality["npv_net_savings"]).all()
    assert float(res.money["unfunded_costs"].sum()) == 0  # the capital covers the costs


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_sibsim_run_500_draws(name, tmp_path, capsys):
    path = tmp_path / f"{name}.toml"
    assert main(["new", "--template", name, str(path)]) == 0
    assert main(["run", str(path), "--draws", "500", "--out", str(tmp_path / "r.nc"),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Investors" in out and "Commissioner" in out and "Break-even" in out


def test_new_writes_and_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "deal.toml"
    assert main(["new", "--template", "child-welfare", str(path)]) == 0
    assert "sibsim run" in capsys.readouterr().out
    path.write_text("# my edits\n", encoding="utf-8")
    assert main(["new", "--template", "employment", str(path)]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err and "Traceback" not in err
    assert path.read_text(encoding="utf-8") == "# my edits\n"  # kept
    assert main(["new", "--template", "employment", str(path), "--force"]) == 0
    assert 'name = "deal"' in path.read_text(encoding="utf-8")
    assert "sibsim run deal.toml --draws 2000" in path.read_text(encoding="utf-8")
    assert tomllib.loads(path.read_text(encoding="utf-8"))["outcome"]["states"][0] == "outside"


def test_unknown_template_exits_2_listing_the_templates(tmp_path, capsys):
    assert main(["new", "--template", "prisons", str(tmp_path / "x.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sibsim: error: --template: got 'prisons'")
    for name in NAMES:
        assert name in err
    assert not (tmp_path / "x.toml").exists()
    with pytest.raises(TemplateError, match="allowed: child-welfare"):
        template_text("prisons")


@pytest.mark.parametrize(("args", "words"), [
    (["new", "x.toml"], "--template: missing"),
    (["new", "--template", "employment"], "FILE: missing"),
    (["new", "--template", "employment", "x.txt"], "ending in .toml"),
])
def test_new_usage_errors(args, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert words in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_new_list(capsys):
    assert main(["new", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == sorted(NAMES)


def test_summary_says_when_the_cohort_is_too_small(tmp_path, capsys):
    """A template edited to a tiny cohort: the printed summary says, in plain words, that the
    evaluation cannot tell the effect from noise; the template as shipped does not."""
    path = tmp_path / "work.toml"
    write_template("wellbeing-at-work", path)
    deal = sibsim.load_scenario(path)
    assert detection_lines(deal) == []
    text = path.read_text(encoding="utf-8")
    assert "entry = [1000]" in text
    path.write_text(text.replace("entry = [1000]", "entry = [3]"), encoding="utf-8")
    tiny = sibsim.load_scenario(path)
    pw = evaluation_power(tiny)
    assert float(pw["expected_effect"][0]) > 0  # the same assumed effect, a noisier measure
    assert main(["run", str(path), "--draws", "50", "--out", str(tmp_path / "w.nc"),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    lines = [x for x in out.splitlines() if "Too few people to tell the effect from noise" in x]
    assert len(lines) == 1 and "'sick_leave_days'" in lines[0] and "3 people" in lines[0]
    assert "Evaluation power" in out
