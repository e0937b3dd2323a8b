"""The newer subcommands (design, compare, report, evaluation-design, voi, sensitivity, new,
programme) under the failure classes of issue 7, searched class by class.

Every bad input must give exit status 2 and ONE ``sibsim: error:`` line naming the option, key
or column, before any simulation; an interrupted command exits 130 and leaves no partial or
temporary file; spreadsheet exports never hold a formula made from a user-supplied name.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.cli import main
from sibsim.spreadsheet import FORMULA_STARTS, is_formula_text, safe_cell

DESIGN = """[design]
[design.grid]
"contract.caps.total" = [6e6, 1e7]
"""


def cli(args: list[str]) -> tuple[int, str, str]:
    """Run the command line in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(args)
        except SystemExit as exc:  # argparse's own exits (usage errors, --help)
            rc = int(exc.code or 0)
    return rc, out.getvalue(), err.getvalue()


def assert_one_line_error(rc: int, err: str, *words: str) -> None:
    err = err.replace("value-of-information", "voi")
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("sibsim: error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


# ---------------------------------------------------------------- spreadsheet cells (OWASP)

numberish = st.one_of(st.integers(-10**12, 10**12).map(str),
                      st.floats(allow_nan=False, allow_infinity=False).map(repr),
                      st.floats(-1e9, 1e9).map(lambda x: f"{x:.1f}".replace(".", ",")))


@given(text=st.one_of(st.text(max_size=30),
                      st.tuples(st.sampled_from(FORMULA_STARTS), st.text(max_size=20))
                      .map("".join)))
@example(text="=cmd|' /C calc'!A0")
@example(text="+SUM(1)")
@example(text="@SUM(1)")
@example(text="-1+cmd")
def test_safe_cell_leaves_no_formula_and_loses_nothing(text):
    out = safe_cell(text)
    assert isinstance(out, str)
    assert not is_formula_text(out)  # a spreadsheet shows it as text
    assert out == text or out == "'" + text  # and nothing else changes


@given(x=numberish)
@example(x="-205110")
@example(x="-1,5")
def test_safe_cell_keeps_numbers_numeric(x):
    assert safe_cell(x) == x
    assert safe_cell(float(x.replace(",", "."))) == float(x.replace(",", "."))


@pytest.fixture(scope="module")
def koto_budget():
    from sibsim.analysis.budget import yearly_budget

    deal = sibsim.load_scenario("koto-sib")
    res = sibsim.analyse(deal, draws=20, seed=1, progress=False, with_breakeven=False)
    return yearly_budget(res.money, deal)


_printable = st.characters(blacklist_categories=("Cs", "Cc"))
# names as a deal's validation allows them (no control characters: see the test below)
names = st.one_of(st.tuples(st.sampled_from(FORMULA_STARTS[:4] + FORMULA_STARTS[6:]),
                            st.text(_printable, max_size=12)).map("".join),
                  st.text(_printable, min_size=1, max_size=12)).filter(str.strip)


@given(text=st.text(min_size=1, max_size=10), bad=st.characters(whitelist_categories=("Cc",)))
@example(text="payer", bad="\x1f")
def test_names_with_control_characters_are_refused(text, bad):
    """A control character in a payer's name broke the Excel export with a traceback."""
    from sibsim.spec import _validate as v

    with pytest.raises(ValueError, match="without control characters"):
        v.name("Payer.name", text + bad)

_reached = {"budget": 0, "formula": 0}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payer=names, lang=st.sampled_from(["en", "fi", "sv"]))
@example(payer="=cmd|' /C calc'!A0", lang="fi")
def test_budget_tables_hold_no_formula_from_a_payer_name(koto_budget, tmp_path, payer, lang):
    """A payer's name becomes text in the CSV and the xlsx, never a formula; the numbers,
    negative ones included, stay numbers."""
    from openpyxl import load_workbook

    from sibsim.analysis.budget import write_budget_table

    budget = koto_budget.isel(payer=[0]).assign_coords(payer=[payer])
    _reached["budget"] += 1
    _reached["formula"] += is_formula_text(payer)
    path = write_budget_table(budget, tmp_path / "b.csv", lang=lang)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="," if lang == "en" else ";"))
    for row in rows:
        assert not any(is_formula_text(c) for c in row), row
    assert {r[1] for r in rows[1:]} == {safe_cell(payer)}
    negative = [c for r in rows[1:] for c in r[2:] if c.startswith("-")]
    assert all(float(c.replace(",", ".")) < 0 for c in negative)
    ws = load_workbook(write_budget_table(budget, tmp_path / "b.xlsx", lang=lang)).active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert {ws.cell(row=r, column=2).value for r in range(2, ws.max_row + 1)} == {payer}
    assert any(isinstance(c.value, (int, float)) and c.value < 0 for c in cells)


def test_budget_fuzz_reached_the_writer_with_formula_names():
    if _reached["budget"] == 0:
        pytest.skip("run with the budget fuzz test")
    assert _reached["formula"] >= 3


def test_programme_table_escapes_formula_deal_names(tmp_path):
    table = tmp_path / "fund.csv"
    table.write_text('deal,contract.caps.total\n"=cmd|\' /C calc\'!A0",1000000\n@SUM(1),2000000\n'
                     'plain,1500000\n', encoding="utf-8")
    rc, _, err = cli(["programme", "koto-sib", str(table), "--draws", "4", "--no-progress",
                      "--out", str(tmp_path / "p.nc"), "--csv", str(tmp_path / "deals.csv"),
                      "--budget", str(tmp_path / "fund.xlsx")])
    assert rc == 0, err
    with open(tmp_path / "deals.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[0] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'@SUM(1)", "plain"]
    assert not any(is_formula_text(c) for r in rows for c in r)


# ---------------------------------------------------------------- usage errors: one line

COMMANDS = {
    "design": ["design", "peterborough"],
    "compare": ["compare", "peterborough", "peterborough"],
    "report": ["report", "peterborough"],
    "evaluation-design": ["evaluation-design", "peterborough"],
    "voi": ["voi", "peterborough"],
    "sensitivity": ["sensitivity", "peterborough"],
    "programme": ["programme", "koto-sib", "t.csv"],
    "new": ["new", "x.toml"],
}
BAD_OPTIONS = {  # (option, bad value, command names that have it)
    ("--draws", "ten"): ("design", "compare", "report", "evaluation-design", "voi",
                         "sensitivity", "programme"),
    ("--seed", "1.5"): ("design", "compare", "report", "evaluation-design", "voi",
                        "sensitivity", "programme"),
    ("--lang", "de"): ("report", "programme"),
    ("--confidence", "ninety"): ("report", "programme"),
    ("--method", "magic"): ("sensitivity",),
    ("--value", "gold"): ("voi",),
    ("--pilot-sizes", "many"): ("voi",),
    ("--thresholds", "10%"): ("evaluation-design",),
    ("--engine", "fast"): ("programme",),
    ("--bogus", "1"): tuple(COMMANDS),
}
USAGE_CASES = [(cmd, opt, val) for (opt, val), cmds in BAD_OPTIONS.items() for cmd in cmds]


@pytest.mark.parametrize(("command", "option", "value"), USAGE_CASES)
def test_usage_errors_are_one_line_naming_the_option(command, option, value):
    rc, out, err = cli([*COMMANDS[command], option, value])
    assert_one_line_error(rc, err, option, command)
    assert out == ""


# ---------------------------------------------------------------- outputs checked before work

@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.nc").mkdir()
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "folder.html").mkdir()
    for name in ("fifo.nc", "fifo.csv", "fifo.png"):
        os.mkfifo(tmp_path / name)
    (tmp_path / "design.csv").write_text(DESIGN)  # a design file with an odd suffix
    (tmp_path / "t.csv").write_text("deal,start_year\na,2020\n")
    return tmp_path


OUTPUT_CASES = [
    # (command line, the option named in the error)
    (["design", "peterborough", "--design", "design.csv", "--out", "folder.nc"], "--out"),
    (["design", "peterborough", "--design", "design.csv", "--csv", "fifo.csv"], "--csv"),
    (["design", "peterborough", "--design", "design.csv", "--csv", "design.csv"], "--csv"),
    (["design", "peterborough", "--design", "design.csv", "--figure", "folder.png"],
     "--figure"),
    (["design", "peterborough", "--design", "design.csv", "--csv", "a.txt"], "--csv"),
    (["compare", "peterborough", "peterborough", "--out", "fifo.nc"], "--out"),
    (["compare", "peterborough", "peterborough", "--out", "x.csv"], "--out"),
    (["evaluation-design", "peterborough", "--out", "folder.nc"], "--out"),
    (["evaluation-design", "peterborough", "--figure", "fifo.png"], "--figure"),
    (["voi", "peterborough", "--figure", "folder.png"], "--figure"),
    (["sensitivity", "peterborough", "--figure", "fifo.png"], "--figure"),
    (["report", "peterborough", "--out", "folder.html"], "--out"),
    (["report", "peterborough", "--out", "r.html", "--csv", "fifo.csv"], "--csv"),
    (["report", "peterborough", "--out", "r.pdf"], "--out"),
    (["programme", "koto-sib", "t.csv", "--out", "folder.nc"], "--out"),
    (["programme", "koto-sib", "t.csv", "--csv", "t.csv"], "--csv"),
    (["programme", "koto-sib", "t.csv", "--csv", "a.csv", "--budget", "a.csv"], "--budget"),
    (["programme", "koto-sib", "t.csv", "--budget", "fifo.csv"], "--budget"),
]


@pytest.mark.parametrize(("args", "option"), OUTPUT_CASES)
def test_bad_output_paths_are_refused_before_any_work(files, monkeypatch, args, option):
    import sibsim.dataset.build as build

    def no_run(*a, **k):
        raise AssertionError("simulated before checking the outputs")

    monkeypatch.setattr(build, "simulate", no_run)
    before = {p.name: (p.stat().st_mtime_ns, p.is_file() and p.read_bytes())
              for p in files.iterdir() if p.is_file()}
    rc, _, err = cli([*args, "--draws", "4"])
    assert_one_line_error(rc, err, option)
    after = {p.name: (p.stat().st_mtime_ns, p.is_file() and p.read_bytes())
             for p in files.iterdir() if p.is_file()}
    assert after == before  # nothing written, nothing overwritten


# ---------------------------------------------------------------- runs too large for memory

@pytest.mark.parametrize("args", [
    ["design", "peterborough", "--design", "design.csv"],
    ["compare", "peterborough", "peterborough"],
    ["evaluation-design", "peterborough"],
    ["voi", "peterborough"],
    ["sensitivity", "peterborough"],
    ["report", "peterborough"],
    ["programme", "koto-sib", "t.csv"],
])
def test_draws_that_cannot_fit_are_refused_before_any_work(files, args):
    extra = ["--out", "r.html"] if args[0] == "report" else []
    rc, _, err = cli([*args, *extra, "--draws", str(10**12)])
    assert_one_line_error(rc, err, "memory")
    assert "--draws" in err or "fewer draws" in err
    assert not [p for p in files.iterdir() if p.suffix in (".nc", ".html", ".png")
                and p.is_file()]


# ---------------------------------------------------------------- duplicate and unit slips

_dup_reached = {"n": 0}


@settings(max_examples=30, deadline=None)
@given(option=st.sampled_from(["thresholds", "comparison_sizes", "effects", "alphas"]),
       values=st.lists(st.floats(0.01, 0.5), min_size=1, max_size=3), data=st.data())
def test_payment_curves_refuse_a_value_given_twice(option, values, data):
    """Before any simulation: a repeated value of any list would show one option twice."""
    from sibsim.analysis import evaluation_design as ed

    deal = _peterborough()
    i = data.draw(st.integers(0, len(values) - 1))
    given_values = [*values, values[i]]
    kwargs = {option: given_values}
    with pytest.raises(ValueError, match="repeated"):
        ed.payment_curves(deal, draws=2, seed=0, **kwargs)
    _dup_reached["n"] += 1


_PB = {}


def _peterborough():
    if "deal" not in _PB:
        _PB["deal"] = sibsim.load_scenario("peterborough")
    return _PB["deal"]


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.one_of(st.integers(-5, 10**10), st.floats(allow_nan=True,
                                                                     allow_infinity=True)),
                      min_size=1, max_size=4))
@example(sizes=[100, 100])
@example(sizes=[0.5])
@example(sizes=[0])
def test_pilot_sizes_are_checked_before_the_draws(sizes):
    from sibsim.analysis import voi

    ok = all(isinstance(x, int) or (np.isfinite(x) and x == int(x)) for x in sizes) and \
        all(1 <= x <= 1e9 for x in sizes) and len(set(map(float, sizes))) == len(sizes)
    if ok:
        assert voi._pilot_sizes(sizes) == [float(x) for x in sizes]
    else:
        with pytest.raises(ValueError, match=r"value_of_information\.pilot_sizes"):
            voi._pilot_sizes(sizes)


def test_voi_refuses_a_half_participant_without_running(monkeypatch):
    from sibsim.analysis import voi

    monkeypatch.setattr(voi, "commissioner_net_benefit",
                        lambda *a, **k: pytest.fail("ran before checking the pilot sizes"))
    rc, _, err = cli(["voi", "peterborough", "--draws", "20", "--pilot-sizes", "0.5"])
    assert_one_line_error(rc, err, "pilot_sizes", "0.5")


@pytest.mark.parametrize("args", [["sensitivity", "peterborough", "--draws", "1"],
                                  ["design", "peterborough", "--draws", "1"],
                                  ["compare", "peterborough", "peterborough", "--draws", "1"],
                                  ["voi", "peterborough", "--draws", "1"]])
def test_one_draw_is_refused_where_statistics_need_two(args):
    assert_one_line_error(*cli(args)[::2], "--draws")


# ---------------------------------------------------------------- programme tables

@pytest.fixture(scope="module")
def koto():
    return sibsim.load_scenario("koto-sib")


_table_reached = {"n": 0, "parsed": 0}


def _csv_bytes(rows: list[list[str]], sep: str, bom: bool) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep).writerows(rows)
    return ("\ufeff" if bom else "").encode() + buf.getvalue().encode()


# tables valid by construction (names with quotes, separators, formula starts; years and
# caps in and out of range), then written as Excel would (comma or semicolon, maybe a BOM)
_valid_tables = st.builds(
    lambda rows, sep, bom: _csv_bytes([["deal", "start_year", "contract.caps.total"], *rows],
                                      sep, bom),
    st.lists(st.tuples(st.text(_printable, min_size=1, max_size=8).filter(str.strip),
                       st.integers(1890, 2210).map(str),
                       st.sampled_from(["1000000", "2e6", "-5", "nan", "inf", "1e300"]))
             .map(list), min_size=1, max_size=3, unique_by=lambda r: r[0]),
    st.sampled_from([",", ";"]), st.booleans())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(
    _valid_tables,
    st.binary(max_size=200),
    st.lists(st.lists(st.sampled_from(["deal", "a", "b", "", '"q""', "=cmd|x", "1e300", "nan",
                                       "-5", "start_year", "contract.caps.total", "2028",
                                       "\ufeffdeal", " "]), min_size=1, max_size=4),
             min_size=1, max_size=4)
    .map(lambda rows: "\r\n".join(",".join(r) for r in rows).encode()),
))
@example(raw=b"\xef\xbb\xbfdeal,start_year\r\na,2028\r\n\r\n")
@example(raw="deal;start_year\n\xe4,2028\n".encode("latin-1"))
# pinned, so that both outcomes are reached whatever hypothesis draws (and whatever its example
# database holds: a fresh clone has none)
@example(raw=b"deal,start_year\r\nx,2027\r\ny,2029\r\n")
@example(raw=b"deal;contract.caps.total\na;2000000\n")
@example(raw=b'deal,start_year\r\n"q ""1""",2030\r\n')
@example(raw=b"")
@example(raw=b"deal,nope\r\na,1\r\n")
def test_any_programme_table_is_a_programme_or_one_message(koto, tmp_path, raw):
    from sibsim.programme import ProgrammeError, load_programme

    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    _table_reached["n"] += 1
    try:
        prog = load_programme(koto, path)
    except ProgrammeError as err:
        assert "\n" not in str(err) and str(path) in str(err)
        return
    _table_reached["parsed"] += 1
    assert len(prog.names) == len(set(prog.names)) and all(prog.names)


def test_table_fuzz_reached_both_outcomes():
    """The table fuzzer is not all rejections: some tables parse into programmes."""
    if _table_reached["n"] == 0:
        pytest.skip("run with the table fuzz test")
    assert _table_reached["parsed"] >= 3 and _table_reached["n"] - _table_reached["parsed"] >= 3


def test_duplicate_fuzz_reached_the_check():
    if _dup_reached["n"] == 0:
        pytest.skip("run with the duplicate fuzz test")
    assert _dup_reached["n"] >= 25


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "huge"])
def test_programme_table_that_is_not_a_small_regular_file_is_refused(tmp_path, monkeypatch,
                                                                    kind):
    """A FIFO used to hang the command; a device or a huge file is not read without bound."""
    import sibsim.programme as programme

    path = tmp_path / "t.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        path = Path("/dev/zero")
    else:
        path.write_text("deal,start_year\n" + "a,2028\n" * 100)
        monkeypatch.setattr(programme, "MAX_TABLE_BYTES", 100)
    rc, _, err = cli(["programme", "koto-sib", str(path), "--draws", "4",
                      "--out", str(tmp_path / "p.nc")])
    assert_one_line_error(rc, err, str(path), "cannot read the table")
    assert not (tmp_path / "p.nc").exists()


# ---------------------------------------------------------------- Ctrl-C and warnings

INTERRUPTED = [  # (command line, module, function run after the checks)
    (["design", "peterborough", "--design", "design.csv", "--out", "o.nc"],
     "sibsim.analysis.design", "design"),
    (["compare", "peterborough", "peterborough", "--out", "o.nc"],
     "sibsim.analysis.design", "compare"),
    (["evaluation-design", "peterborough", "--out", "o.nc"],
     "sibsim.analysis.evaluation_design", "payment_curves"),
    (["voi", "peterborough", "--figure", "o.png"], "sibsim.analysis.voi",
     "value_of_information"),
    (["sensitivity", "peterborough", "--figure", "o.png"],
     "sibsim.analysis.sensitivity._command", "run_command"),
    (["report", "peterborough", "--out", "o.html"], "sibsim.report", "analyse"),
    (["programme", "koto-sib", "t.csv", "--out", "o.nc"], "sibsim.programme", "run_programme"),
]


@pytest.mark.parametrize(("args", "module", "name"), INTERRUPTED)
def test_ctrl_c_exits_130_and_writes_nothing(files, monkeypatch, args, module, name):
    import importlib

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module(module), name, interrupted)
    rc, _, err = cli([*args, "--draws", "4"])
    assert rc == 130 and "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        "sibsim: interrupted (Ctrl-C); nothing was written"]
    assert not [p for p in files.iterdir() if p.name.startswith(("o.", ".o."))]


@pytest.mark.parametrize(("args", "old"), [
    (["design", "peterborough", "--design", "design.csv", "--out", "o.nc"], "o.nc"),
    (["compare", "peterborough", "peterborough", "--out", "o.nc"], "o.nc"),
    (["programme", "koto-sib", "t.csv", "--out", "o.nc"], "o.nc"),
])
def test_ctrl_c_during_the_write_keeps_the_previous_file(files, monkeypatch, args, old):
    (files / old).write_bytes(b"previous results")
    real = os.replace

    def interrupted(src, dst, *a, **k):
        if str(dst).endswith(old):
            raise KeyboardInterrupt
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", interrupted)
    rc, _, err = cli([*args, "--draws", "4", "--no-progress"])
    assert rc == 130, err
    assert (files / old).read_bytes() == b"previous results"
    assert not [p for p in files.iterdir() if p.name.endswith(".tmp")]


def test_warnings_reach_the_command_line_as_one_line(files):
    """numpy's overflow notice (an effect of 1e300) comes before the engine's refusal: both are
    single ``sibsim:`` lines, with no source location."""
    rc, _, err = cli(["evaluation-design", "peterborough", "--draws", "2", "--effects",
                      "1e300"])
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("sibsim: ") for ln in lines), err
    assert lines[-1].startswith("sibsim: error: ") and ".py:" not in err


@pytest.mark.parametrize("call", ["design", "compare"])
def test_python_design_and_compare_need_two_draws(call):
    """From Python as from the command line: one draw gives no standard error (a silent NaN)."""
    deal = _peterborough()
    with pytest.raises(ValueError, match=r"draws: got 1; allowed: an integer >= 2"):
        if call == "design":
            sibsim.design(deal, grid={"contract.caps.total": [1e6, 2e6]}, draws=1)
        else:
            sibsim.compare([deal, deal], ["a", "b"], draws=1)


@pytest.mark.parametrize(("args", "output"), [
    (["design", "peterborough", "--design", "design.csv", "--csv", "o.csv"], "o.csv"),
    (["compare", "peterborough", "peterborough", "--out", "o.nc"], "o.nc"),
    (["voi", "peterborough", "--pilot-sizes", "100", "--figure", "o.png"], "o.png"),
    (["report", "peterborough", "--lang", "sv", "--out", "o.html"], "o.html"),
    (["programme", "koto-sib", "t.csv", "--out", "o.nc"], "o.nc"),
])
def test_a_write_error_is_one_line_and_keeps_the_previous_file(files, monkeypatch, args,
                                                               output):
    """Disk full, a read-only folder: every temporary file is made with mkstemp, here failing
    as a full disk would."""
    import tempfile

    (files / output).write_bytes(b"previous")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    rc, _, err = cli([*args, "--draws", "4", *(["--no-progress"] if args[0] in (
        "design", "compare", "programme") else [])])
    assert_one_line_error(rc, err, "cannot write", "No space left on device")
    assert (files / output).read_bytes() == b"previous"
