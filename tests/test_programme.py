"""Programme-scale sweeps (sibsim.programme, sibsim programme): each deal's results are those
of a single-deal analysis with its derived seed, the fund's totals are the sums over the deals
draw by draw, the table is validated, and a cluster gives the same numbers."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.cli import main
from sibsim.programme import (
    Programme,
    ProgrammeError,
    deal_seed,
    load_programme,
    programme_table,
    run_programme,
    table_paths,
)
from sibsim.templates import write_template

DRAWS, SEED = 120, 5
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "programme"
COLUMNS = ("start_year", "scenario.cohort.entry[0]", "scenario.cohort.entry[1]",
           "capital.tranches[0].commitment", "contract.caps.total")
ROWS = (("north", 2027, 12, 10, 110_000, 275_000),
        ("south", 2029, 5, 6, 55_000, 137_500),
        ("east", 2028, 30, 25, 275_000, 687_500))


@pytest.fixture(scope="module")
def template_path(tmp_path_factory) -> Path:
    return write_template("child-welfare", tmp_path_factory.mktemp("tpl") / "cw.toml")


@pytest.fixture(scope="module")
def template(template_path) -> sibsim.Deal:
    return sibsim.load_scenario(template_path)


@pytest.fixture(scope="module")
def programme(template) -> Programme:
    return Programme(template, names=tuple(r[0] for r in ROWS), columns=COLUMNS,
                     values=tuple(r[1:] for r in ROWS), name="three")


@pytest.fixture(scope="module")
def result(programme) -> xr.Dataset:
    return run_programme(programme, draws=DRAWS, seed=SEED, progress=False)


@pytest.fixture(scope="module")
def singles(programme) -> list[sibsim.SIBResults]:
    return [sibsim.analyse(d, draws=DRAWS, seed=deal_seed(SEED, n), progress=False,
                           with_breakeven=False)
            for n, d in zip(programme.names, programme.deals, strict=True)]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------- the deals
def test_each_row_sets_its_values_and_the_cohort_follows_the_waves(programme, template):
    north = programme.deal("north")
    assert north.start_year == 2027 and north.scenario.cohort.entry == (12, 10)
    assert north.scenario.cohort.size == 22  # not given: the sum of the waves
    assert north.capital.tranches[0].commitment == 110_000
    assert programme.deal("south").calendar_years()[0] == 2029
    assert template.scenario.cohort.entry == (40, 40)  # the template is unchanged
    with pytest.raises(ValueError, match=r"Programme\.deal: got 'west'"):
        programme.deal("west")


def test_deal_seeds_are_deterministic_distinct_and_in_range():
    names = [f"kunta {i}" for i in range(50)]
    seeds = [deal_seed(7, n) for n in names]
    assert seeds == [deal_seed(7, n) for n in names]
    assert len(set(seeds)) == 50 and all(0 <= s < 2**63 for s in seeds)
    assert deal_seed(8, "a") != deal_seed(7, "a")
    assert deal_seed(7, "Äänekoski") != deal_seed(7, "Aanekoski")
    with pytest.raises(ValueError, match="seed"):
        deal_seed(-1, "a")
    with pytest.raises(ValueError, match="name"):
        deal_seed(1, "")


def test_a_deal_keeps_its_draws_when_other_rows_change(programme, result):
    """Seeds are keyed on the deal's name: dropping and reordering the other rows leaves a
    deal's results as they were."""
    keep = [i for i, n in enumerate(programme.names) if n != "north"][::-1]
    smaller = Programme(programme.template, names=tuple(programme.names[i] for i in keep),
                        columns=programme.columns,
                        values=tuple(programme.values[i] for i in keep), name="two")
    again = run_programme(smaller, draws=DRAWS, seed=SEED, progress=False)
    for name in smaller.names:
        np.testing.assert_array_equal(again["outcome_payments"].sel(deal=name).values,
                                      result["outcome_payments"].sel(deal=name).values)


def test_each_deal_is_its_single_deal_analysis_with_the_derived_seed(result, singles,
                                                                     programme):
    assert result["deal"].values.tolist() == ["north", "south", "east"]
    for i, res in enumerate(singles):
        one = result.isel(deal=i)
        assert int(one["seed"]) == deal_seed(SEED, programme.names[i])
        head = res.headline()
        for k in head.data_vars:  # the same numbers, to the last bit
            np.testing.assert_array_equal(one[k].values, head[k].values, err_msg=k)
        pay = res.money["outcome_payments"].sum("period").values
        np.testing.assert_allclose(one["outcome_payments"].values, pay, rtol=1e-12, atol=1e-6)
        assert float(one["p_payment"]) == pytest.approx(float(np.mean(pay > 0)))
        assert int(one["participants"]) == programme.deals[i].scenario.cohort.size
        assert int(one["start_year"]) == programme.deals[i].start_year


def test_fund_totals_are_the_sums_over_deals_in_every_draw_and_year(result, singles,
                                                                    programme):
    years = result["year"].values
    assert years[0] == 2027 and years[-1] == 2029 + 10  # the union of the deals' years
    expected = np.zeros((DRAWS, years.size))
    net = np.zeros((DRAWS, years.size))
    for deal, res in zip(programme.deals, singles, strict=True):
        cal = deal.calendar_years()
        for j, y in enumerate(years):
            cols = cal == y
            expected[:, j] += res.money["payments_by_payer"].sum("payer").values[:, cols].sum(-1)
            net[:, j] += res.money["net_savings_by_payer"].sum("payer").values[:, cols].sum(-1)
    np.testing.assert_allclose(result["fund_payments"].values, expected, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(result["fund_net_savings"].values, net, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(result["fund_payments"].sum("year"),
                               result["outcome_payments"].sum("deal"), rtol=1e-12)
    np.testing.assert_allclose(result["fund_total_payments"],
                               result["fund_payments"].sum("year"), rtol=1e-12)
    # the summaries are those of the per-draw totals
    np.testing.assert_allclose(result["fund_payments_mean"], expected.mean(0), rtol=1e-12)
    q = result["fund_payments_quantile"]
    np.testing.assert_allclose(q.sel(quantile=0.95), np.quantile(expected, 0.95, axis=0),
                               rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(result["fund_appropriation"], q.sel(quantile=0.9))
    assert (q.diff("quantile") >= 0).all()


def test_how_many_deals_pay_out(result):
    paying = (result["outcome_payments"] > 0).sum("deal")
    np.testing.assert_array_equal(result["deals_paying"], paying)
    p = result["p_deals_paying"]
    assert p["paying"].values.tolist() == [0, 1, 2, 3]
    assert float(p.sum()) == pytest.approx(1.0)
    # E[number paying] = the sum of the deals' probabilities of paying
    assert float((p * p["paying"]).sum()) == pytest.approx(float(result["p_payment"].sum()))


def test_the_same_seed_gives_the_same_programme_and_another_seed_another(programme, result):
    again = run_programme(programme, draws=DRAWS, seed=SEED, progress=False)
    xr.testing.assert_identical(again, result)
    other = run_programme(programme, draws=DRAWS, seed=SEED + 1, progress=False)
    assert not np.array_equal(other["outcome_payments"], result["outcome_payments"])


def test_blocks_of_draws_change_nothing(programme, result, monkeypatch):
    import sibsim.programme as sp

    monkeypatch.setattr(sp, "_block_draws", lambda deals, draws, engine: 50)
    xr.testing.assert_identical(run_programme(programme, draws=DRAWS, seed=SEED,
                                              progress=False), result)


def test_results_round_trip_through_netcdf_and_the_table(result, tmp_path):
    from sibsim.programme import write_programme, write_programme_table

    path = write_programme(result, tmp_path / "p.nc")
    with xr.open_dataset(path) as back:
        xr.testing.assert_allclose(back["fund_payments"], result["fund_payments"])
        assert back.attrs["seed"] == SEED and back.attrs["deals"] == 3
    rows = programme_table(result)
    assert [r["deal"] for r in rows] == ["north", "south", "east"]
    out = write_programme_table(result, tmp_path / "p.csv")
    with open(out, encoding="utf-8") as fh:
        read = list(csv.DictReader(fh))
    assert [r["deal"] for r in read] == ["north", "south", "east"]
    assert float(read[2]["p_payment"]) == pytest.approx(float(result["p_payment"][2]), abs=1e-6)


# ------------------------------------------------------------------------------- the table
def test_a_csv_table_gives_the_same_deals(template, programme, tmp_path):
    head = ",".join(("deal", *COLUMNS))
    body = "\n".join(",".join(map(str, r)) for r in ROWS)
    prog = load_programme(template, _write(tmp_path / "fund.csv", f"{head}\n{body}\n"))
    assert prog.names == programme.names and prog.name == "fund"
    assert prog.deals == programme.deals


def test_semicolons_decimal_commas_lists_and_a_byte_order_mark(template, tmp_path):
    text = ("\ufeffdeal;scenario.cohort.entry;municipality.discount_rate\n"
            "Hämeenlinna;[20, 21];0,025\n")
    prog = load_programme(template, _write(tmp_path / "fi.csv", text))
    deal = prog.deal("Hämeenlinna")
    assert deal.scenario.cohort.entry == (20, 21) and deal.scenario.cohort.size == 41
    assert deal.municipality.discount_rate == 0.025


@pytest.mark.parametrize("text, match", [
    ("", "the table is empty"),
    ("deal,start_year\n", "no deals"),
    ("name,start_year\na,2027\n", "no 'deal' column"),
    ("deal,start_yaer\na,2027\n", r"column 'start_yaer': not a path of the template deal "
                                  r"\(did you mean 'start_year'\?\); allowed: 'deal' and a path"),
    ("deal,contract.caps.totl\na,1\n", "allowed: 'deal' and a path of the template, e.g."),
    ("deal,start_year\na,2027\na,2028\n", "row 2: deal: got 'a', also the name of row 1"),
    ("deal,start_year\na,\n", "line 2 \\(deal 'a'\\), column 'start_year': empty"),
    ("deal,start_year\n,2027\n", "row 1: deal: got ''"),
    ("deal,start_year\na,2027,5\n", "line 2: got 3 cells"),
    ("deal,start_year,start_year\na,2027,2027\n", "column 'start_year': given twice"),
    ("deal,capital.tranches[0].commitment\na,2000\nb,-5\n",
     r"row 2 \(deal 'b'\): .*commitment: got -5"),
    ("deal,scenario.cohort.entry[0],scenario.cohort.size\na,10,11\n",
     r"row 1 \(deal 'a'\): Cohort.size: got 11"),
])
def test_table_errors_name_the_row_or_the_column(template, tmp_path, text, match):
    with pytest.raises(ProgrammeError, match=match):
        load_programme(template, _write(tmp_path / "bad.csv", text))


def test_deals_must_all_have_calendar_years_or_none(template):
    with pytest.raises(ProgrammeError, match="a start year for every deal or for none"):
        Programme(template, names=("a", "b"), columns=("start_year",),
                  values=((2027,), (None,)))


def test_table_paths_are_accepted_columns(template):
    paths = table_paths(template)
    assert {"start_year", "scenario.cohort.entry[0]", "contract.caps.total",
            "capital.tranches[0].commitment"} <= set(paths)
    for p in paths[:40]:
        Programme(template, names=("a",), columns=(p,),
                  values=((sibsim.spec.paths.get_value(template, p),),))


def test_the_shipped_example_is_what_its_script_makes():
    spec = importlib.util.spec_from_file_location("make_programme",
                                                  EXAMPLE / "make_programme.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    template = sibsim.load_scenario(EXAMPLE / "child-welfare.toml")
    rows = mod.rows(template)
    with open(EXAMPLE / "municipalities.csv", encoding="utf-8") as fh:
        shipped = list(csv.DictReader(fh))
    assert len(shipped) == 300 == len(rows)
    assert shipped == [{k: str(v) for k, v in r.items()} for r in rows]
    prog = load_programme(template, EXAMPLE / "municipalities.csv")
    assert len(prog) == 300 and len({d.start_year for d in prog.deals}) == 3


# ----------------------------------------------------------------------------- command line
def test_cli_runs_a_programme(template_path, tmp_path, capsys):
    table = _write(tmp_path / "t.csv", "deal,start_year,scenario.cohort.entry[0]\n"
                                       "a,2027,10\nb,2028,20\n")
    out, summary = tmp_path / "p.nc", tmp_path / "deals.csv"
    rc = main(["programme", str(template_path), str(table), "--draws", "60", "--seed", "2",
               "--out", str(out), "--csv", str(summary), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0 and out.exists() and summary.exists()
    assert "2 deals" in text and "The fund's yearly budget" in text and "2027" in text
    prog = load_programme(template_path, table)
    with xr.open_dataset(out) as got:
        want = run_programme(prog, draws=60, seed=2, progress=False)
        np.testing.assert_array_equal(got["fund_payments"], want["fund_payments"])


@pytest.mark.parametrize("extra, table_text, match", [
    (["--out", "x.txt"], "deal,start_year\na,2027\n", "--out: got"),
    (["--csv", "x.nc"], "deal,start_year\na,2027\n", "--csv: got"),
    (["--draws", "0"], "deal,start_year\na,2027\n", "--draws: got 0"),
    (["--confidence", "90"], "deal,start_year\na,2027\n", "--confidence"),
    ([], "deal,start_yaer\na,2027\n", "column 'start_yaer'"),
    ([], "deal,start_year\na,2027\na,2028\n", "also the name of row 1"),
    (["--workers", "0"], "deal,start_year\na,2027\n", "--workers: got 0"),
])
def test_cli_refuses_bad_input_in_one_line(template_path, tmp_path, capsys, monkeypatch,
                                           extra, table_text, match):
    monkeypatch.chdir(tmp_path)
    table = _write(tmp_path / "t.csv", table_text)
    rc = main(["programme", str(template_path), str(table), "--draws", "20", "--no-progress",
               "--out", "p.nc", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("sibsim: error:")
    assert match in err[0]
    assert not (tmp_path / "p.nc").exists()


def test_cli_prints_each_deals_warnings_in_one_line(template_path, tmp_path, capsys):
    table = _write(tmp_path / "t.csv", "deal,capital.tranches[0].commitment\n"
                                       "poor,50000\nrich,400000\n")
    rc = main(["programme", str(template_path), str(table), "--draws", "30", "--no-progress",
               "--out", str(tmp_path / "p.nc")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 0 and len(err) == 1
    assert err[0].startswith("sibsim: warning: 1 deal (poor): Unfunded costs")
    with xr.open_dataset(tmp_path / "p.nc") as got:
        assert got["warnings"].values.tolist()[1] == ""


def test_cli_refuses_to_overwrite_its_table(template_path, tmp_path, capsys):
    table = _write(tmp_path / "t.csv", "deal,start_year\na,2027\n")
    rc = main(["programme", str(template_path), str(table), "--csv", str(table),
               "--out", str(tmp_path / "p.nc")])
    assert rc == 2 and "refusing to overwrite the input" in capsys.readouterr().err
    assert table.read_text() == "deal,start_year\na,2027\n"


# The same programme on a LocalCluster of 2 worker processes: tests/test_distributed.py
# (test_two_worker_processes_give_the_same_programme, on that module's cluster).


def test_module_doctests():
    import doctest

    import sibsim.programme as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0
