"""The fund's yearly budget of a programme as a council's table (sibsim.programme.fund_budget,
``sibsim programme --budget``)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.analysis.budget import ALL_DEALS, budget_table, write_budget_table, yearly_budget
from sibsim.cli import main
from sibsim.programme import Programme, deal_seed, fund_budget, run_programme

DRAWS, SEED = 60, 4
NAMES = ("north", "south")
START = (2020, 2022)


@pytest.fixture(scope="module")
def programme() -> Programme:
    return Programme(sibsim.load_scenario("koto-sib"), names=NAMES,
                     columns=("start_year", "contract.caps.total"),
                     values=((START[0], 1.5e6), (START[1], 2.5e6)), name="two")


@pytest.fixture(scope="module")
def result(programme) -> xr.Dataset:
    return run_programme(programme, draws=DRAWS, seed=SEED, confidence=0.8, progress=False)


@pytest.fixture(scope="module")
def budget(result) -> xr.Dataset:
    return fund_budget(result)


def test_the_budget_is_the_results_fund_totals(result, budget):
    one = budget.sel(payer=ALL_DEALS)
    assert budget["payer"].values.tolist() == [ALL_DEALS]
    np.testing.assert_array_equal(budget["year"], result["year"])
    assert budget.attrs["confidence"] == 0.8 and budget.attrs["currency"] == "EUR"
    np.testing.assert_allclose(one["gross_payments_mean"], result["fund_payments_mean"])
    np.testing.assert_allclose(one["appropriation"], result["fund_appropriation"])
    pq, nq = result["fund_payments_quantile"], result["fund_net_savings_quantile"]
    for name, level in (("median", 0.5), ("p90", 0.9), ("p95", 0.95)):
        np.testing.assert_allclose(one[f"gross_payments_{name}"], pq.sel(quantile=level))
    np.testing.assert_allclose(one["net_savings_mean"], result["fund_net_savings_mean"])
    for name, level in (("p05", 0.05), ("median", 0.5), ("p95", 0.95)):
        np.testing.assert_allclose(one[f"net_savings_{name}"], nq.sel(quantile=level))
    net = result["fund_net_savings"].transpose("draw", "year").values
    np.testing.assert_allclose(one["p_net_loss"], (net < 0).mean(0))
    assert 0 < float(one["p_net_loss"].max())
    cash = result["fund_cashable_savings"].transpose("draw", "year").values
    np.testing.assert_allclose(one["cashable_savings_mean"], result["fund_cashable_savings_mean"])
    np.testing.assert_allclose(one["cashable_savings_mean"], cash.mean(0))
    for name, level in (("p05", 0.05), ("median", 0.5), ("p95", 0.95)):
        np.testing.assert_allclose(one[f"cashable_savings_{name}"],
                                   np.quantile(cash, level, axis=0))
    assert float(one["cashable_savings_mean"].max()) > 0


def test_results_without_the_funds_cashable_savings_still_make_a_budget(result):
    """A programme's results written before the fund kept cashable savings: the budget leaves
    those columns out instead of showing zeros."""
    old = result.drop_vars(["fund_cashable_savings", "fund_cashable_savings_mean"])
    b = fund_budget(old)
    assert "cashable_savings_mean" not in b and "net_savings_mean" in b
    head, _ = budget_table(b, "fi")
    assert not any("Kassavaikutteiset" in h for h in head)


def test_the_fund_mean_is_the_sum_of_each_deals_own_budget(programme, budget):
    """Independent path: each deal's single analysis and its yearly budget ('all payers'),
    added by calendar year, give the fund's mean payments and net savings."""
    gross = xr.zeros_like(budget["gross_payments_mean"].sel(payer=ALL_DEALS))
    net = xr.zeros_like(gross)
    cash = xr.zeros_like(gross)
    for name, deal in zip(programme.names, programme.deals, strict=True):
        res = sibsim.analyse(deal, draws=DRAWS, seed=deal_seed(SEED, name), progress=False,
                             with_breakeven=False)
        own = yearly_budget(res.money, deal).sel(payer="all payers")
        gross += own["gross_payments_mean"].reindex(year=gross["year"], fill_value=0.0)
        net += own["net_savings_mean"].reindex(year=gross["year"], fill_value=0.0)
        cash += own["cashable_savings_mean"].reindex(year=gross["year"], fill_value=0.0)
    np.testing.assert_allclose(budget["gross_payments_mean"].sel(payer=ALL_DEALS), gross,
                               rtol=1e-9)
    np.testing.assert_allclose(budget["net_savings_mean"].sel(payer=ALL_DEALS), net, rtol=1e-9,
                               atol=1e-6)
    np.testing.assert_allclose(budget["cashable_savings_mean"].sel(payer=ALL_DEALS), cash,
                               rtol=1e-9, atol=1e-6)
    assert float(cash.sum()) > 0
    assert int(budget["year"][0]) == START[0] and float(gross.sum()) > 0


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def test_finnish_csv_uses_semicolons_and_decimal_commas_and_reads_back(budget, tmp_path):
    path = write_budget_table(budget, tmp_path / "rahasto.csv", lang="fi")
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    head, body = rows[0], rows[1:]
    assert head[:2] == ["Vuosi", "Maksaja"] and "Määräraha 80 %:n varmuudella (EUR)" in head
    cash_col = head.index("Kassavaikutteiset säästöt, keskiarvo (EUR)")
    assert len(body) == budget.sizes["year"] and all(len(r) == len(head) for r in body)
    assert {r[1] for r in body} == {"kaikki sopimukset yhteensä"}
    one = budget.sel(payer=ALL_DEALS)
    years = [int(r[0]) for r in body]
    assert years == budget["year"].values.tolist()
    col = head.index("Määräraha 80 %:n varmuudella (EUR)")
    np.testing.assert_allclose([_number(r[col]) for r in body], one["appropriation"], atol=0.5)
    loss = [r[-1] for r in body]
    assert all("," in x and "." not in x for x in loss)
    np.testing.assert_allclose([_number(x) for x in loss], 100 * one["p_net_loss"], atol=0.05)
    np.testing.assert_allclose([_number(r[cash_col]) for r in body],
                               one["cashable_savings_mean"], atol=0.5)


def test_xlsx_reads_back(budget, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = write_budget_table(budget, tmp_path / "fond.xlsx", lang="sv")
    ws = openpyxl.load_workbook(path).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("År", "Betalare") and rows[1][1] == "alla avtal sammanlagt"
    col = rows[0].index("Resultatbaserade betalningar, medelvärde (EUR)")
    np.testing.assert_allclose([r[col] for r in rows[1:]],
                               budget["gross_payments_mean"].sel(payer=ALL_DEALS), atol=0.5)
    assert [r[0] for r in rows[1:]] == budget["year"].values.tolist()


def test_only_a_programmes_results_are_accepted(result):
    with pytest.raises(ValueError, match=r"fund_budget\.res"):
        fund_budget(result.drop_attrs())


# ----------------------------------------------------------------------------- command line
@pytest.fixture
def table(tmp_path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("deal,start_year\na,2020\nb,2021\n", encoding="utf-8")
    return path


def test_cli_writes_the_fund_budget(table, tmp_path, capsys):
    out, fund = tmp_path / "p.nc", tmp_path / "rahasto.csv"
    rc = main(["programme", "koto-sib", str(table), "--draws", "30", "--seed", "2", "--out",
               str(out), "--budget", str(fund), "--lang", "fi", "--no-progress"])
    assert rc == 0 and f"The fund's yearly budget written to {fund}" in capsys.readouterr().out
    with xr.open_dataset(out) as got:
        want = fund_budget(got.load())
    rows = list(csv.reader(fund.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0][0] == "Vuosi" and len(rows) == 1 + want.sizes["year"]
    np.testing.assert_allclose([_number(r[2]) for r in rows[1:]],
                               want["gross_payments_mean"].sel(payer=ALL_DEALS), atol=0.5)


@pytest.mark.parametrize("extra, match", [
    (["--budget", "fund.txt"], "--budget: got 'fund.txt'"),
    (["--budget", "t.csv"], "refusing to overwrite the input"),
    (["--budget", "same.csv", "--csv", "same.csv"], "is also the --csv file"),
])
def test_cli_refuses_a_bad_budget_path_before_the_run(table, tmp_path, capsys, monkeypatch,
                                                      extra, match):
    monkeypatch.chdir(tmp_path)
    rc = main(["programme", "koto-sib", str(table), "--draws", "20", "--no-progress",
               "--out", "p.nc", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("sibsim: error:") and match in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
    assert (tmp_path / "t.csv").read_text() == "deal,start_year\na,2020\nb,2021\n"


def test_cli_refuses_an_unknown_language(table, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["programme", "koto-sib", str(table), "--out", str(tmp_path / "p.nc"),
              "--budget", str(tmp_path / "f.csv"), "--lang", "de"])
    assert exit_.value.code == 2 and "--lang" in capsys.readouterr().err
    assert not (tmp_path / "p.nc").exists() and not (tmp_path / "f.csv").exists()
