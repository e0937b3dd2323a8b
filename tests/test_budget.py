"""Tests of sibsim.analysis.budget: the yearly budget of each payer, against a direct numpy
computation, and its exports (CSV in en/fi/sv, xlsx)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.analysis.budget import ALL_PAYERS, write_budget_table, yearly_budget

DRAWS = 80
SEED = 7


@pytest.fixture(scope="module")
def peterborough():
    deal = sibsim.load_scenario("peterborough")
    res = sibsim.analyse(deal, draws=DRAWS, seed=SEED, progress=False, with_breakeven=False)
    return deal, res


@pytest.fixture(scope="module")
def koto():
    deal = sibsim.load_scenario("koto-sib")
    res = sibsim.analyse(deal, draws=DRAWS, seed=SEED, progress=False, with_breakeven=False)
    return deal, res


def synthetic_money(deal: sibsim.Deal, draws: int, payers: list[str], seed: int = 0
                    ) -> xr.Dataset:
    """A money dataset with random payer lines of the deal's horizon (heavy-tailed payments,
    savings of both signs), for checks against numpy."""
    rng = np.random.default_rng(seed)
    P = deal.scenario.horizon
    shape = (draws, len(payers), P)
    pay = np.where(rng.random(shape) < 0.4, 0.0, rng.lognormal(10, 1, shape))
    cash = rng.normal(2e4, 3e4, shape)
    net = cash - pay - 100.0
    dims = ("draw", "payer", "period")
    return xr.Dataset(
        {"payments_by_payer": (dims, pay), "cashable_savings_by_payer": (dims, cash),
         "net_savings_by_payer": (dims, net)},
        coords={"draw": np.arange(draws), "payer": payers, "period": np.arange(P)},
        attrs={"currency": "EUR", "period": deal.scenario.period, "seed": seed})


def direct(money: xr.Dataset, deal: sibsim.Deal, confidence: float) -> dict[str, np.ndarray]:
    """The yearly budget by plain loops over payers and years (numpy only)."""
    years = deal.calendar_years()
    labels = sorted(set(years.tolist()))
    pay = money["payments_by_payer"].values
    cash = money["cashable_savings_by_payer"].values
    net = money["net_savings_by_payer"].values
    out: dict[str, list] = {}
    n_payers = pay.shape[1]
    for j in range(n_payers + 1):
        rows: dict[str, list] = {}
        for y in labels:
            cols = [t for t in range(len(years)) if years[t] == y]
            if j < n_payers:
                g, c, n = (a[:, j, cols].sum(-1) for a in (pay, cash, net))
            else:
                g, c, n = (a[:, :, cols].sum((-1, -2)) for a in (pay, cash, net))
            vals = {
                "gross_payments_mean": g.mean(), "gross_payments_median": np.median(g),
                "gross_payments_p90": np.percentile(g, 90),
                "gross_payments_p95": np.percentile(g, 95),
                "appropriation": np.percentile(g, 100 * confidence),
                "cashable_savings_mean": c.mean(),
                "cashable_savings_p05": np.percentile(c, 5),
                "cashable_savings_median": np.median(c),
                "cashable_savings_p95": np.percentile(c, 95),
                "net_savings_mean": n.mean(), "net_savings_p05": np.percentile(n, 5),
                "net_savings_median": np.median(n), "net_savings_p95": np.percentile(n, 95),
                "p_net_loss": np.mean(n < 0),
            }
            for k, x in vals.items():
                rows.setdefault(k, []).append(x)
        for k, x in rows.items():
            out.setdefault(k, []).append(x)
    return {k: np.array(x) for k, x in out.items()}


@pytest.mark.parametrize("name, confidence", [("peterborough", 0.9), ("koto-sib", 0.8),
                                              ("lapset-sib-1", 0.975)])
def test_matches_direct_numpy(name, confidence):
    deal = sibsim.load_scenario(name)
    money = synthetic_money(deal, 101, ["a", "b", "c"], seed=len(name))
    b = yearly_budget(money, deal, confidence=confidence)
    want = direct(money, deal, confidence)
    assert set(want) == set(b.data_vars)
    for k, x in want.items():
        np.testing.assert_allclose(b[k].transpose("payer", "year").values, x, rtol=1e-12,
                                   atol=1e-6, err_msg=k)
    assert b["payer"].values.tolist() == ["a", "b", "c", ALL_PAYERS]
    assert b["year"].values.tolist() == sorted(set(deal.calendar_years().tolist()))


def test_monthly_deal_sums_twelve_periods():
    deal = sibsim.load_scenario("peterborough")
    monthly = sibsim.Deal(scenario=deal.scenario, start_year=2010).with_scenario(
        period="month", horizon=30)
    assert monthly.scenario.periods_per_year == 12
    money = synthetic_money(monthly, 40, ["x"])
    b = yearly_budget(money, monthly)
    assert b["year"].values.tolist() == [2010, 2011, 2012]
    assert b["periods_in_year"].values.tolist() == [12, 12, 6]  # a partial last year
    pay = money["payments_by_payer"].values[:, 0]
    np.testing.assert_allclose(b["gross_payments_mean"].sel(payer="x").values,
                               [pay[:, :12].sum(1).mean(), pay[:, 12:24].sum(1).mean(),
                                pay[:, 24:].sum(1).mean()])


def test_properties_on_a_real_run(peterborough):
    deal, res = peterborough
    b = yearly_budget(res.money, deal)
    # quantiles ordered
    assert (b["gross_payments_p95"] >= b["gross_payments_p90"]).all()
    assert (b["gross_payments_p90"] >= b["gross_payments_median"]).all()
    assert (b["net_savings_p95"] >= b["net_savings_median"]).all()
    assert (b["net_savings_median"] >= b["net_savings_p05"]).all()
    assert (b["cashable_savings_p95"] >= b["cashable_savings_p05"]).all()
    # the appropriation at 90% is the 90th percentile
    xr.testing.assert_equal(b["appropriation"].drop_attrs(),
                            b["gross_payments_p90"].drop_attrs())
    # means over payers add up to the total, and the total to the money dataset's totals
    for k in ("gross_payments_mean", "cashable_savings_mean", "net_savings_mean"):
        parts = b[k].drop_sel(payer=ALL_PAYERS).sum("payer")
        np.testing.assert_allclose(parts, b[k].sel(payer=ALL_PAYERS), rtol=1e-12, atol=1e-3)
    tot = b.sel(payer=ALL_PAYERS)
    np.testing.assert_allclose(tot["gross_payments_mean"].sum(),
                               res.money["outcome_payments"].sum("period").mean(), rtol=1e-12)
    np.testing.assert_allclose(tot["net_savings_mean"].sum(),
                               res.money["net_savings"].sum("period").mean(), rtol=1e-9)
    assert ((b["p_net_loss"] >= 0) & (b["p_net_loss"] <= 1)).all()
    assert b["gross_payments_mean"].attrs["units"] == "GBP"
    assert b["p_net_loss"].attrs["units"] == "probability"
    assert b.attrs["confidence"] == 0.9


def test_quarterly_deal_sums_four_periods_a_year(koto):
    deal, res = koto
    b = yearly_budget(res.money, deal, confidence=0.95)
    assert deal.scenario.periods_per_year == 4
    assert (b["periods_in_year"] == 4).all()
    assert b.sizes["year"] == deal.scenario.horizon // 4
    pay = res.money["payments_by_payer"].transpose("draw", "payer", "period").values
    first_year = pay[:, :, :4].sum(-1).mean(0)
    np.testing.assert_allclose(b["gross_payments_mean"].isel(year=0).values[:-1], first_year)
    xr.testing.assert_equal(b["appropriation"].drop_attrs(),
                            b["gross_payments_p95"].drop_attrs())


def test_read_in_pieces_of_draws_equals_read_whole(peterborough, monkeypatch):
    """A large store's budget is read a few draws at a time (bounded memory): the same bits as
    one read, for a piece size that does not divide the draws."""
    import sibsim.analysis.budget as budget

    deal, res = peterborough
    whole = yearly_budget(res.money, deal)
    monkeypatch.setattr(budget, "_READ_DRAWS", 37)
    xr.testing.assert_identical(yearly_budget(res.money, deal), whole)
    # lazily opened money (as from a zarr store) gives the same table too
    lazy = res.money.chunk({"draw": 50}) if _has_dask() else res.money
    xr.testing.assert_identical(yearly_budget(lazy, deal), whole)


def _has_dask() -> bool:
    import importlib.util

    return importlib.util.find_spec("dask") is not None


def test_confidence_moves_the_appropriation(peterborough):
    deal, res = peterborough
    lo = yearly_budget(res.money, deal, confidence=0.5)["appropriation"]
    hi = yearly_budget(res.money, deal, confidence=0.99)["appropriation"]
    assert (hi >= lo).all() and (hi > lo).any()
    xr.testing.assert_equal(lo.drop_attrs(), yearly_budget(res.money, deal)[
        "gross_payments_median"].drop_attrs())


@pytest.mark.parametrize("bad, error, text", [
    (90, ValueError, "write 0.9 for 90%"), (0.0, ValueError, "allowed: a finite number in (0"),
    (1.5, ValueError, "yearly_budget.confidence: got 1.5"), ("0.9", TypeError, "a real number"),
    (float("nan"), ValueError, "yearly_budget.confidence")])
def test_confidence_is_validated(peterborough, bad, error, text):
    deal, res = peterborough
    with pytest.raises(error) as info:
        yearly_budget(res.money, deal, confidence=bad)
    assert text in str(info.value)


def test_refuses_a_money_dataset_of_another_horizon(peterborough):
    deal, res = peterborough
    with pytest.raises(ValueError, match=r"yearly_budget\.money: got '7 periods'"):
        yearly_budget(res.money.isel(period=slice(0, 7)), deal)


def test_refuses_a_payer_named_like_the_total():
    deal = sibsim.load_scenario("peterborough")
    with pytest.raises(ValueError, match="labels the deal total"):
        yearly_budget(synthetic_money(deal, 10, ["x", ALL_PAYERS]), deal)


def test_single_payer_deal_without_start_year(peterborough):
    deal, _ = peterborough
    one = deal.replace(payers=(), start_year=None)
    res = sibsim.analyse(one, draws=30, seed=1, progress=False, with_breakeven=False)
    b = yearly_budget(res.money, one)
    assert b["payer"].values.tolist() == ["commissioner", ALL_PAYERS]
    assert b["year"].values.tolist() == list(range(1, 9))
    for k in b.data_vars:
        np.testing.assert_allclose(b[k].sel(payer="commissioner"), b[k].sel(payer=ALL_PAYERS),
                                   err_msg=k)


# ------------------------------------------------------------------------------ exports
def _read_csv(path, delimiter):
    import csv

    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh, delimiter=delimiter))


@pytest.mark.parametrize("lang, sep, first", [("en", ",", "Year"), ("fi", ";", "Vuosi"),
                                              ("sv", ";", "År")])
def test_csv_in_each_language_reads_back(peterborough, tmp_path, lang, sep, first):
    deal, res = peterborough
    b = yearly_budget(res.money, deal, confidence=0.95)
    path = write_budget_table(b, tmp_path / "budget.csv", lang=lang)
    rows = _read_csv(path, sep)
    head, body = rows[0], rows[1:]
    assert head[0] == first and len(head) == 16
    assert len(body) == 3 * 8  # two payers and the total, 8 years each
    assert all(len(r) == len(head) for r in body)
    conf = {"en": "95%", "fi": "95 %:n", "sv": "95 %"}[lang]
    assert conf in head[6]
    total = {"en": ALL_PAYERS, "fi": "maksajat yhteensä", "sv": "betalarna sammanlagt"}[lang]
    last = body[-1]
    assert last[0] == "2017" and last[1] == total
    number = (lambda x: float(x.replace(",", "."))) if lang != "en" else float
    # money rounded to whole units, the probability a percentage with one decimal
    for col, name in enumerate(["gross_payments_mean", "appropriation", "net_savings_p05"]):
        j = [0, 4, 10][col] + 2
        for r in body:
            want = float(b[name].sel(payer=ALL_PAYERS if r[1] == total else r[1],
                                     year=int(r[0])))
            assert number(r[j]) == pytest.approx(want, abs=0.5)
    probs = [r[-1] for r in body]
    if lang != "en":
        assert all("." not in x for r in body for x in r[2:])
        assert any("," in x for x in probs)  # decimal comma
    want = float(b["p_net_loss"].sel(payer=ALL_PAYERS, year=2011))
    row_2011 = next(r for r in body if r[1] == total and r[0] == "2011")
    assert number(row_2011[-1]) == pytest.approx(100 * want, abs=0.05)


def test_single_payer_table_has_no_total_rows(tmp_path):
    deal = sibsim.load_scenario("peterborough")
    one = sibsim.Deal(scenario=deal.scenario, start_year=2010)  # outcome-only: synthetic money
    money = synthetic_money(one, 30, ["commissioner"])
    rows = _read_csv(write_budget_table(yearly_budget(money, one), tmp_path / "b.csv", "fi"),
                     ";")
    assert [r[1] for r in rows[1:]] == ["tilaaja"] * 8


def test_xlsx_reads_back(koto, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    deal, res = koto
    b = yearly_budget(res.money, deal)
    path = write_budget_table(b, tmp_path / "talousarvio.xlsx", lang="fi")
    ws = openpyxl.load_workbook(path).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("Vuosi", "Maksaja")
    assert rows[0][6] == "Määräraha 90 %:n varmuudella (EUR)"
    assert len(rows) == 1 + 4 * 6  # three payers and the total, six years
    r = rows[1]
    assert r[0] == 2017 and r[1] == "state (TEM)"
    assert isinstance(r[2], int)  # numbers are numbers, not text
    assert r[2] == round(float(b["gross_payments_mean"].sel(payer="state (TEM)", year=2017)))
    assert ws.cell(row=2, column=3).number_format == "#,##0"


@pytest.mark.parametrize("name, lang, text", [
    ("b.txt", "en", "write_budget_table.path suffix: got '.txt'; allowed: one of '.csv', "
                    "'.xlsx'"),
    ("b.csv", "de", "write_budget_table.lang: got 'de'; allowed: one of 'en', 'fi', 'sv'")])
def test_export_refuses_unknown_suffix_and_language(peterborough, tmp_path, name, lang, text):
    deal, res = peterborough
    with pytest.raises(ValueError) as info:
        write_budget_table(yearly_budget(res.money, deal), tmp_path / name, lang=lang)
    assert str(info.value) == text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_failed_write_leaves_the_old_file(peterborough, tmp_path, monkeypatch, suffix):
    import sibsim.analysis.budget as budget_module

    deal, res = peterborough
    path = tmp_path / f"b{suffix}"
    path.write_bytes(b"old")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(budget_module.csv, "writer", broken)
    monkeypatch.setattr(budget_module, "_write_xlsx", broken)
    with pytest.raises(OSError, match="disk full"):
        write_budget_table(yearly_budget(res.money, deal), path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_results_file_keeps_the_budget(peterborough, tmp_path):
    deal, res = peterborough
    assert res.budget is not None
    xr.testing.assert_identical(res.budget, yearly_budget(res.money, deal))
    back = sibsim.open_results(res.to_netcdf(tmp_path / "r.nc"))
    xr.testing.assert_identical(back.budget, res.budget)
    root = xr.open_dataset(tmp_path / "r.nc")
    assert "budget" in root.attrs["groups"] and "p_investor_loss" in root
    root.close()


# ------------------------------------------------------------------------------ command line
def test_cli_writes_a_finnish_csv(tmp_path, capsys):
    from sibsim.cli import main

    out, table = tmp_path / "r.nc", tmp_path / "talousarvio.csv"
    assert main(["run", "koto-sib", "--draws", "40", "--seed", "3", "--out", str(out),
                 "--budget", str(table), "--lang", "fi", "--confidence", "0.8",
                 "--no-progress"]) == 0
    assert f"Yearly budget table written to {table}" in capsys.readouterr().out
    rows = _read_csv(table, ";")
    assert rows[0][0] == "Vuosi" and rows[0][6] == "Määräraha 80 %:n varmuudella (EUR)"
    assert {r[1] for r in rows[1:]} == {"state (TEM)", "Kela", "municipalities",
                                        "maksajat yhteensä"}
    back = sibsim.open_results(out).budget
    assert back.attrs["confidence"] == 0.8
    first = rows[1]
    assert float(first[6].replace(",", ".")) == pytest.approx(
        float(back["appropriation"].sel(payer="state (TEM)", year=2017)), abs=0.5)
    assert all("," in r[-1] and "." not in r[-1] for r in rows[1:])


def test_cli_writes_an_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from sibsim.cli import main

    table = tmp_path / "budget.xlsx"
    assert main(["run", "peterborough", "--draws", "30", "--seed", "1", "--out",
                 str(tmp_path / "r.nc"), "--budget", str(table), "--no-progress"]) == 0
    rows = list(openpyxl.load_workbook(table).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("Year", "Payer")
    assert rows[0][6] == "Appropriation at 90% confidence (GBP)"
    assert len(rows) == 1 + 3 * 8


@pytest.mark.parametrize("args, text", [
    (["--budget", "b.txt"], "--budget: got 'b.txt'; allowed: a file name ending in .csv, .xlsx"),
    (["--budget", "folder.csv"], "--budget: folder.csv exists and is not a regular file"),
    (["--confidence", "90"], "--confidence: got 90.0; allowed: a finite number in (0, 1], a "
                             "fraction: write 0.9 for 90%"),
    (["--confidence", "0"], "--confidence: got 0.0; allowed: a finite number in (0, 1]")])
def test_cli_refuses_bad_budget_options(tmp_path, capsys, monkeypatch, args, text):
    from sibsim.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.csv").mkdir()
    assert main(["run", "peterborough", "--draws", "5", "--out", "r.nc", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sibsim: error: ") and text in err
    assert [p.name for p in tmp_path.iterdir()] == ["folder.csv"]  # nothing written
