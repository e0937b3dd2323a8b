"""Scenario files at their edges: the defaults a file may leave out, several outcome processes,
the required tables, the built-in names, and what the file reader refuses.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import sibsim
from sibsim.scenario_file import (
    MAX_SCENARIO_BYTES,
    ScenarioFileError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
    read_text_file,
)

MINIMAL = """
horizon = 3
[outcome]
kind = "binary"
probability = 0.3
[cohort]
size = 50
"""


def _write(tmp_path, text, name="my-file.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_file_takes_the_documented_defaults(tmp_path):
    deal = load_scenario(_write(tmp_path, MINIMAL))
    s = deal.scenario
    assert s.name == "my-file"  # the file's stem
    assert s.period == "year" and s.description == "" and s.horizon == 3
    assert s.effect is None and s.comparison is None and s.frailty is None
    assert s.other_processes == ()
    assert deal.currency == "EUR" and deal.start_year is None and deal.correlation is None
    assert isinstance(deal, sibsim.Deal)


def test_a_file_stem_that_cannot_name_files_gives_the_name_scenario(tmp_path):
    deal = load_scenario(_write(tmp_path, MINIMAL, name="a;b.toml"))
    assert deal.scenario.name == "scenario"
    assert load_scenario(_write(tmp_path, MINIMAL, name="two words.toml")).scenario.name == (
        "two words")
    named = parse_scenario({**_parse(MINIMAL), "name": "given"}, "x.toml")
    assert named.scenario.name == "given"
    assert parse_scenario(_parse(MINIMAL)).scenario.name == "scenario"  # "<scenario>"


def _parse(text):
    import tomllib
    return tomllib.loads(text)


def test_top_level_keys_are_read(tmp_path):
    data = {**_parse(MINIMAL), "period": "quarter", "description": "about", "currency": "GBP",
            "start_year": 2020, "comparison": {"none": True}, "design": {"anything": 1}}
    deal = parse_scenario(data, "f.toml")
    assert deal.scenario.period == "quarter" and deal.scenario.description == "about"
    assert deal.currency == "GBP" and deal.start_year == 2020
    assert deal.scenario.comparison is None
    with_group = parse_scenario({**_parse(MINIMAL), "comparison": {"ratio": 1.0}}, "f.toml")
    assert with_group.scenario.comparison is not None
    assert with_group.scenario.comparison.ratio == 1.0
    frail = parse_scenario({**_parse(MINIMAL), "frailty": {"variance": 0.5}}, "f.toml")
    assert frail.scenario.frailty.variance == 0.5


def test_several_outcome_processes_each_with_its_own_effect():
    data = {"horizon": 2, "cohort": {"size": 20},
            "outcome": [{"kind": "binary", "probability": 0.3, "name": "reoffence",
                         "effect": {"measure": "rr", "value": 0.8}},
                        {"kind": "counts", "rate": 2.0, "name": "days"}]}
    s = parse_scenario(data, "f.toml").scenario
    assert s.outcome.name == "reoffence" and s.effect.value.value == 0.8
    assert [p.outcome.name for p in s.other_processes] == ["days"]
    assert s.other_processes[0].effect is None
    with pytest.raises(ScenarioFileError, match=r"f\.toml: key 'outcome': expected one or more"):
        parse_scenario({**data, "outcome": []}, "f.toml")
    with pytest.raises(ScenarioFileError, match=r"key 'effect': with several \[\[outcome\]\]"):
        parse_scenario({**data, "effect": {"measure": "rr", "value": 0.8}}, "f.toml")
    with pytest.raises(ScenarioFileError, match=r"key 'outcome\[1\]': expected a table"):
        parse_scenario({**data, "outcome": [data["outcome"][0], 3]}, "f.toml")


@pytest.mark.parametrize("table", ["outcome", "cohort"])
def test_the_outcome_and_cohort_tables_are_required(table):
    data = {k: x for k, x in _parse(MINIMAL).items() if k != table}
    with pytest.raises(ScenarioFileError, match=f"f.toml: key '{table}': this table is required"):
        parse_scenario(data, "f.toml")
    with pytest.raises(ScenarioFileError, match="key 'typo'"):
        parse_scenario({**_parse(MINIMAL), "typo": 1}, "f.toml")


def test_built_in_scenarios_by_name():
    names = builtin_scenarios()
    assert {"peterborough", "koto-sib", "lapset-sib-1"} <= set(names)
    assert all(p.suffix == ".toml" and p.stem == n for n, p in names.items())
    assert load_scenario("koto-sib").scenario.name == parse_scenario(
        _parse(names["koto-sib"].read_text(encoding="utf-8")), str(names["koto-sib"])
    ).scenario.name
    with pytest.raises(ScenarioFileError, match=r"nope: no such file, and not a built-in "
                                                r"scenario \(built-in: .*koto-sib, .*peterborough"):
        load_scenario("nope")


def test_a_local_file_named_like_a_built_in_is_read_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, MINIMAL.replace("horizon = 3", 'horizon = 3\nname = "local"'),
           name="peterborough")
    assert load_scenario("peterborough").scenario.name == "local"


def test_the_reader_refuses_what_is_not_a_small_utf8_text_file(tmp_path):
    with pytest.raises(ScenarioFileError, match="not a regular file"):
        load_scenario(tmp_path)
    with pytest.raises(ScenarioFileError, match="not valid TOML"):
        load_scenario(_write(tmp_path, "horizon = = 3"))
    with pytest.raises(ScenarioFileError, match="byte-order mark"):
        load_scenario(_write(tmp_path, "\ufeff" + MINIMAL))
    bad = tmp_path / "latin.toml"
    bad.write_bytes(b"name = 'caf\xe9'\n")
    with pytest.raises(ScenarioFileError, match=r"not UTF-8 text \(byte 11\)"):
        load_scenario(bad)
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (MAX_SCENARIO_BYTES + 1))
    with pytest.raises(ScenarioFileError, match="1,000,001 bytes; a scenario file has at most "
                                                "1,000,000 bytes"):
        load_scenario(big)
    at_limit = tmp_path / "limit.txt"
    at_limit.write_bytes(b"a" * 10)
    assert read_text_file(at_limit, "text", 10) == "a" * 10
    with pytest.raises(ValueError, match="11 bytes; a text has at most 10 bytes"):
        at_limit.write_bytes(b"a" * 11)
        read_text_file(at_limit, "text", 10)
    for bom in (b"\xff\xfe", b"\xfe\xff"):
        at_limit.write_bytes(bom + b"ab")
        with pytest.raises(ValueError, match="byte-order mark"):
            read_text_file(at_limit, "text", 10)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_the_reader_does_not_block_on_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioFileError, match="a scenario file must be a file"):
        load_scenario(fifo)


def test_without_built_in_scenarios_the_message_says_none(monkeypatch):
    import sibsim.scenario_file as scenario_file
    monkeypatch.setattr(scenario_file, "builtin_scenarios", dict)
    with pytest.raises(ScenarioFileError, match=r"^nope: no such file, and not a built-in "
                                                r"scenario \(built-in: none\)$"):
        load_scenario("nope")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="no /proc here")
def test_the_read_is_bounded_when_a_file_is_larger_than_it_says():
    # /proc files are regular files of size 0 that read as more: the read itself stops
    with pytest.raises(ValueError, match=r"^cannot read: more than 10 bytes; a text has at most "
                                         r"10 bytes$"):
        read_text_file(Path("/proc/self/status"), "text", 10)
