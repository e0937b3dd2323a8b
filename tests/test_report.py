"""Tests of sibsim.report (the end-to-end SIB analysis and its netCDF file) and of the
``sibsim run`` command on scenarios with money tables."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.cli import main
from sibsim.report import GROUPS, analyse, open_results, run_and_report
from sibsim.scenario_file import builtin_scenarios, load_scenario

SEED = 3


def without_created(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "created"}
    return out


@pytest.fixture(scope="module")
def peterborough_report(tmp_path_factory):
    sc = load_scenario("peterborough")
    path = tmp_path_factory.mktemp("report") / "pb.nc"
    text = run_and_report(sc, draws=300, seed=SEED, out=path, progress=False)
    return sc, path, text


def test_report_file_reads_back_identically(peterborough_report):
    sc, path, _ = peterborough_report
    back = open_results(path)
    fresh = analyse(sc, draws=300, seed=SEED, progress=False)
    for group in GROUPS:
        a, b = getattr(fresh, group), getattr(back, group)
        assert a is not None and b is not None, group
        xr.testing.assert_identical(without_created(b), without_created(a))
    assert back.money.sizes["draw"] == 300
    assert back.breakeven.sizes["party"] == 3


def test_report_file_has_one_group_per_step(peterborough_report):
    _, path, _ = peterborough_report
    tree = xr.open_datatree(path, engine="netcdf4")
    try:
        assert set(tree.children) == set(GROUPS)
    finally:
        tree.close()
    # written atomically: no temporary file left next to it
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_report_text(peterborough_report):
    _, path, text = peterborough_report
    assert "Investors lose money in" in text
    assert "Break-even" in text
    assert "300 draws" in text and f"seed {SEED}" in text
    assert str(path) in text
    # the loss share printed is the one in the file
    share = float(re.search(r"Investors lose money in ([0-9.]+)%", text).group(1))
    loss = open_results(path).investors["loss"].sel(investor="all").values.mean()
    assert share == pytest.approx(100 * loss, abs=0.05)


def test_report_is_reproducible(peterborough_report, tmp_path):
    sc, path, text = peterborough_report
    again = tmp_path / "again.nc"
    text2 = run_and_report(sc, draws=300, seed=SEED, out=again, progress=False)
    assert text2.replace(str(again), str(path)) == text


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------


def test_cli_run_builtin_money_scenario(tmp_path, capsys):
    out = tmp_path / "x.nc"
    assert main(["run", "peterborough", "--draws", "200", "--out", str(out),
                 "--no-progress"]) == 0
    assert out.exists()
    text = capsys.readouterr().out
    assert "Investors lose money in" in text and "Break-even" in text
    res = open_results(out)
    assert res.money.sizes["draw"] == 200
    assert res.outcomes.attrs["seed"] == 0  # the default seed


def test_cli_figure(tmp_path, capsys):
    pytest.importorskip("sibsim.plots")
    out, fig = tmp_path / "x.nc", tmp_path / "fig.png"
    assert main(["run", "peterborough", "--draws", "100", "--seed", "1", "--out", str(out),
                 "--figure", str(fig), "--no-progress"]) == 0
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Figure written to" in capsys.readouterr().out


PB = builtin_scenarios()["peterborough"].read_text(encoding="utf-8")

BAD_MONEY = {
    "unknown_rule_kind": (
        'rule = {kind = "price_per_unit", price = 12_500, threshold = 0.10}',
        'rule = {kind = "bonus", price = 12_500}',
        r"contract\.terms\[0\]\.rule\.kind", "bonus"),
    "negative_commitment": (
        "commitment = 5_000_000", "commitment = -5_000_000",
        r"capital\.tranches\[0\]", "commitment"),
    "misspelt_key": (  # Peterborough's savings are the Ministry of Justice's ([[payers]])
        "saving_per_event = 4_000", "saving_per_evnt = 4_000",
        r"payers\[0\]\.saving_per_evnt", "unknown key"),
    "bad_design": (
        'design = {kind = "matched"', 'design = {kind = "quasi"', r"evaluation\[0\]", "quasi"),
    "no_evaluation": (
        '[[evaluation]]\nmetric = "reconviction"\n', "", r"evaluation'", "[[evaluation]]"),
}


def bad_file(tmp_path: Path, case: str) -> Path:
    old, new, *_ = BAD_MONEY[case]
    assert old in PB, case
    text = PB.replace(old, new, 1)
    if case == "no_evaluation":  # drop the rest of the evaluation table too
        text = re.sub(r"\n# residual bias.*\ndesign = \{kind = \"matched\".*\n(\w+ = .*\n)*",
                      "\n", text)
    path = tmp_path / f"{case}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(BAD_MONEY))
def test_cli_bad_money_table_exits_2_naming_file_and_key(tmp_path, capsys, case):
    path = bad_file(tmp_path, case)
    out = tmp_path / "out.nc"
    assert main(["run", str(path), "--draws", "10", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    _, _, key, word = BAD_MONEY[case]
    assert str(path) in err
    assert re.search(rf"key '{key}", err), err
    assert word in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_cli_contract_metric_without_evaluation_names_the_key(tmp_path, capsys):
    """The contract pays on a metric no evaluation measures: the error should point at the
    contract's key in the file (``contract.terms[0]...``), as every other money error does,
    rather than at the pseudo-key '(money)'."""
    text = PB.replace('[[contract.terms]]\nmetric = "reconviction"',
                      '[[contract.terms]]\nmetric = "employment"', 1)
    assert text != PB
    path = tmp_path / "metric.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out.nc"
    assert main(["run", str(path), "--draws", "10", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "employment" in err
    assert not out.exists()
    assert re.search(r"key 'contract\.terms\[0\]", err), err


def test_cli_money_error_at_run_time_writes_nothing(tmp_path, capsys):
    """A state valued by the municipality that the outcome does not have fails during the
    run: exit 2 naming the file, and no results file."""
    text = PB.replace("discount_rate = 0.035",
                      "discount_rate = 0.035\nsaving_per_person_period = {in_care = 10.0}", 1)
    path = tmp_path / "state.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out.nc"
    assert main(["run", str(path), "--draws", "10", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "saving_per_person_period" in err
    assert not out.exists()


def test_money_results_cover_every_draw(peterborough_report):
    _, path, _ = peterborough_report
    res = open_results(path)
    flow = res.money["flow"].values
    assert np.all(np.abs(flow.sum(axis=1)) <= 1e-6 * np.maximum(np.abs(flow).sum(axis=1), 1))
    assert np.isfinite(res.investors["npv"].values).all()


def test_load_scenario_returns_a_typed_deal_and_analyse_takes_it():
    deal = load_scenario("peterborough")
    assert isinstance(deal, sibsim.Deal) and deal.has_money
    assert deal.scenario.name == deal.name == "peterborough"
    with pytest.raises(ValueError, match=r"analyse\.deal"):
        analyse(deal.scenario, draws=10, seed=1)
    with pytest.raises(ValueError, match=r"analyse\.deal"):
        analyse(sibsim.Deal(scenario=deal.scenario), draws=10, seed=1)


def test_analyse_computes_the_counterfactual_once():
    """The money chain and the break-even search share one counterfactual."""
    from unittest import mock

    import sibsim.analysis.breakeven as be_mod
    import sibsim.report as report_mod

    calls = []

    def counting(*args, **kw):
        calls.append(args)
        return real(*args, **kw)

    real = report_mod.counterfactual
    with mock.patch.object(report_mod, "counterfactual", counting), \
            mock.patch.object(be_mod, "counterfactual", counting):
        res = analyse(load_scenario("peterborough"), draws=50, seed=SEED, progress=False)
    assert res.breakeven is not None
    assert len(calls) == 1
