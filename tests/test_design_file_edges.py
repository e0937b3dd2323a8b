"""The ``[design]`` reader (sibsim.design_file.load_design): what it returns for a scenario file
with its own table, for a design file beside a built-in or a file, and every refusal with the
file and the key named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import sibsim
from sibsim.design_file import _read_toml, load_design
from sibsim.scenario_file import ScenarioFileError

DEAL = (Path(__file__).parent / "test_design.py").read_text(encoding="utf-8").split(
    'DEAL = """', 1)[1].split('"""', 1)[0]

DESIGN = """
[design]
confidence = 0.8
frontier_return = "mean_of_draws"
[design.grid]
"contract.terms[0].rule.price" = [6_000, 10_000]
[design.constraints]
investor_loss_probability_max = 0.4
"""


def write(tmp_path: Path, text: str, name: str = "deal.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scenario_file_with_its_own_design_table(tmp_path):
    path = write(tmp_path, DEAL + DESIGN)
    deal, kwargs = load_design(path)
    assert deal.name == "tiny-sib" and deal.has_money
    assert kwargs["confidence"] == 0.8 and kwargs["frontier_return"] == "mean_of_draws"
    assert list(kwargs["grid"]) == ["contract.terms[0].rule.price"]
    assert list(kwargs["grid"]["contract.terms[0].rule.price"]) == [6_000, 10_000]
    assert kwargs["constraints"].investor_loss_probability_max == 0.4
    # the same as the deal of the file alone
    assert deal == sibsim.load_scenario(path)
    # a path given as a string reads the same
    deal2, kwargs2 = load_design(str(path))
    assert deal2 == deal and kwargs2["confidence"] == 0.8


def test_a_design_file_beside_a_builtin_and_beside_a_file(tmp_path):
    caps = write(tmp_path, DESIGN.replace('"contract.terms[0].rule.price" = [6_000, 10_000]',
                                          '"contract.caps.total" = [5e6, 1e7]'), "caps.toml")
    deal, kwargs = load_design("lapset-sib-1", caps)
    assert deal == sibsim.load_scenario("lapset-sib-1")
    assert kwargs["frontier_return"] == "mean_of_draws"
    assert list(kwargs["grid"]["contract.caps.total"]) == [5e6, 1e7]
    dfile = write(tmp_path, DESIGN, "d.toml")
    own = write(tmp_path, DEAL)
    deal, kwargs = load_design(own, str(dfile))
    assert deal.name == "tiny-sib" and kwargs["confidence"] == 0.8


def test_a_design_file_holds_only_a_design_table(tmp_path):
    both = write(tmp_path, DEAL + DESIGN, "both.toml")
    with pytest.raises(ScenarioFileError, match=r"both\.toml: key 'capital': a design file holds "
                                                r"only a \[design\] table \(the deal is the "
                                                r"scenario given\)$"):
        load_design("lapset-sib-1", both)


def test_missing_files_and_tables_are_named(tmp_path):
    with pytest.raises(ScenarioFileError, match=r"none\.toml: no such design file$"):
        load_design("lapset-sib-1", tmp_path / "none.toml")
    empty = write(tmp_path, "# nothing\n", "empty.toml")
    with pytest.raises(ScenarioFileError, match=r"empty\.toml: no \[design\] table; add one to "
                                                r"the scenario file or give a design file "
                                                r"\(--design FILE\); see docs/design\.md$"):
        load_design("lapset-sib-1", empty)
    with pytest.raises(ScenarioFileError, match=r"^lapset-sib-1: no \[design\] table"):
        load_design("lapset-sib-1")
    no_design = write(tmp_path, DEAL)
    with pytest.raises(ScenarioFileError, match=rf"^{no_design}: no \[design\] table"):
        load_design(no_design)


def test_an_outcome_only_scenario_has_nothing_to_design(tmp_path):
    outcome_only = DEAL.split("[[evaluation]]")[0]
    path = write(tmp_path, outcome_only + DESIGN, "outcome.toml")
    with pytest.raises(ScenarioFileError, match=r"outcome\.toml: an outcome-only scenario \(no "
                                                r"contract\): there are no contract terms to "
                                                r"design$"):
        load_design(path)


def test_a_bad_key_is_named_with_the_file(tmp_path):
    bad = write(tmp_path, DEAL + DESIGN.replace("confidence = 0.8", "confidence = 80"),
                "bad.toml")
    with pytest.raises(ScenarioFileError, match=r"bad\.toml: key 'design\.confidence': "):
        load_design(bad)
    dfile = write(tmp_path, DESIGN.replace("\"mean_of_draws\"", "\"best\""), "d.toml")
    with pytest.raises(ScenarioFileError, match=r"d\.toml: key 'design\.frontier_return': got "
                                                r"'best'"):
        load_design("lapset-sib-1", dfile)


def test_read_toml_names_the_file_for_bad_toml_and_bad_bytes(tmp_path):
    bad = write(tmp_path, "x = [1,\n", "broken.toml")
    with pytest.raises(ScenarioFileError, match=r"broken\.toml: not valid TOML: "):
        _read_toml(bad, "design file")
    raw = tmp_path / "latin.toml"
    raw.write_bytes("x = 'ä'\n".encode("latin-1"))
    with pytest.raises(ScenarioFileError, match=r"^.*latin\.toml: "):
        _read_toml(raw, "design file")
    assert _read_toml(write(tmp_path, "a = 1\n", "ok.toml"), "design file") == {"a": 1}
    assert tomllib.loads(DESIGN)["design"]["confidence"] == 0.8


def test_what_is_not_a_file_is_named_as_the_file_it_should_be(tmp_path):
    with pytest.raises(ScenarioFileError, match=r"cannot read: not a regular file \(a design "
                                                r"file must be a file\)$"):
        load_design("lapset-sib-1", tmp_path)
    with pytest.raises(ScenarioFileError, match=r"\(a scenario file must be a file\)$"):
        _read_toml(tmp_path, "scenario file")
