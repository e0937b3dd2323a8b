"""The documentation's examples run: every Python block of the user guide pages, and every TOML
block of the scenario format parses (the complete example also loads as a scenario)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import matplotlib
import pytest

from sibsim.scenario_file import parse_scenario

matplotlib.use("Agg")
DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["index.md", "engine.md", "analysis.md", "evaluation-design.md", "sensitivity.md",
         "portfolios.md"]


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    ns: dict = {}
    for i, block in enumerate(blocks):
        if "results/peterborough" in block:
            pytest.skip("block reads a file written by the README's main job")
        exec(compile(block, f"{page}[{i}]", "exec"), ns)


def test_toml_blocks_parse_and_the_complete_example_loads():
    text = (DOCS / "scenario-format.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        tomllib.loads(block)
    full = re.search(r"Save it as `family-care.toml`:\n\n```toml\n(.*?)```", text, re.S)
    assert full is not None
    scenario = parse_scenario(tomllib.loads(full.group(1)), "family-care.toml")
    assert scenario.has_money


def test_the_payers_example_loads_in_the_complete_example():
    """The ``[[payers]]`` block, replacing the complete example's ``[municipality]`` table,
    loads: three payers whose shares of each metric sum to 1."""
    text = (DOCS / "scenario-format.md").read_text()
    full = re.search(r"Save it as `family-care.toml`:\n\n```toml\n(.*?)```", text, re.S)
    block = re.search(r"```toml\n(\[municipality\]\ndiscount_rate = 0\.03 .*?)```", text, re.S)
    assert full is not None and block is not None
    base = re.sub(r"\n\[municipality\]\n.*?\n\n", "\n", full.group(1), flags=re.S)
    assert "[municipality]" not in base
    deal = parse_scenario(tomllib.loads(base + "\n" + block.group(1)), "family-care.toml")
    assert [p.name for p in deal.payers] == ["wellbeing services county", "state",
                                             "social insurance"]
    assert deal.payers[0].share_of("care_quarters") == 1.0
    assert deal.payers[1].share_of("care_quarters") == 0.0
    assert deal.municipality.discount_rate == 0.03


def test_the_windows_lines_run_the_same_commands_as_the_quick_start():
    """README: the PowerShell 5.1 form of the two Quick start lines runs the same main job
    (every argument) and the same test command, so a Windows user gets the same files."""
    readme = (DOCS.parent / "README.md").read_text()
    bash = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1).splitlines()
    ps = re.search(r"```powershell\n(.*?)```", readme, re.S).group(1).splitlines()
    assert len(bash) == len(ps) == 2
    for b, p in zip(bash, ps, strict=True):
        b_cmd = b.split(" && ", 1)[1].replace("python -m ", "")
        p_cmd = p.split("; ", 1)[1].replace("py -m ", "")
        assert b_cmd == p_cmd
