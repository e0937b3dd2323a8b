"""The yearly budget's tables at their edges: the spreadsheet's column widths and the confidence
level a budget without one is read at.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import pytest

import sibsim
from sibsim.analysis.budget import ALL_PAYERS, budget_table, write_budget_table, yearly_budget


@pytest.fixture(scope="module")
def budget():
    deal = sibsim.load_scenario("peterborough")
    res = sibsim.analyse(deal, draws=20, seed=1, progress=False, with_breakeven=False)
    return yearly_budget(res.money, deal)


@pytest.mark.parametrize(("payer", "width"), [("MoJ", 12), ("A payer with a long name", 26)])
def test_xlsx_column_widths(budget, tmp_path, payer, width):
    from openpyxl import load_workbook

    assert list(budget["payer"].values)[-1] == ALL_PAYERS
    named = budget.assign_coords(payer=[payer, "B", ALL_PAYERS])
    path = write_budget_table(named, tmp_path / "b.xlsx")
    ws = load_workbook(path).active
    assert ws["B2"].value == payer
    assert ws.column_dimensions["A"].width == 8
    assert ws.column_dimensions["B"].width == width  # 12, or the longest name + 2
    assert ws.column_dimensions["C"].width == 18
    assert ws.freeze_panes == "C2"


def test_xlsx_header_row_is_bold_wrapped_and_top_aligned(budget, tmp_path):
    """The header row of the Excel table is bold, wraps its long column names and aligns them
    at the top; the figures below are not styled so."""
    from openpyxl import load_workbook

    ws = load_workbook(write_budget_table(budget, tmp_path / "b.xlsx")).active
    for cell in ws[1]:
        assert cell.font.bold and cell.alignment.wrap_text is True, cell.coordinate
        assert cell.alignment.vertical == "top", cell.coordinate
    assert not ws["C2"].font.bold and not ws["C2"].alignment.wrap_text


def test_a_budget_without_a_confidence_level_is_read_at_90_percent(budget):
    assert budget.attrs["confidence"] == 0.9
    without = budget.copy()
    del without.attrs["confidence"]
    head, _ = budget_table(without)
    assert "Appropriation at 90% confidence (GBP)" in head, head
    at_80 = budget.assign_attrs(confidence=0.8)
    assert "Appropriation at 80% confidence (GBP)" in budget_table(at_80)[0]
