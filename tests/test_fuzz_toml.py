"""Fuzzing scenario files: the built-in scenarios with keys, types, units and values mutated.

Each example starts from a built-in scenario (valid) and applies one to three mutations at
paths that exist in it: delete a key, misspell it, give it a value of another type, rescale a
number as a wrong unit would (x100: a percentage for a fraction; /100; x1000), or replace a
number by another (0, negative, huge, nan, inf). Every example reaches the reader; no example
is rejected by the strategy. The result must be

* through :func:`sibsim.scenario_file.parse_scenario`: a :class:`~sibsim.Deal`, or a
  :class:`ScenarioFileError` that names a key (``key '...'``), never another exception;
* through the command line (``sibsim run``): exit status 0 with finite results in the results
  file, or 2 with one ``sibsim: error:`` line naming the key; never a traceback.

Each fuzzer counts what its examples reached and asserts the shares, so a strategy that
stops reaching the code fails the test instead of passing on nothing.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import re
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sibsim import cli
from sibsim.report import open_results
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario

BUILTIN = sorted(builtin_scenarios())
RAW = {name: tomllib.loads(builtin_scenarios()[name].read_text(encoding="utf-8"))
       for name in BUILTIN}
NAMES_A_KEY = re.compile(r"key '([^']+)'")


def paths(node, prefix=()) -> list[tuple]:
    """Every path (keys and list indices) in a TOML document, tables and leaves alike."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((*prefix, key))
            out.extend(paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append((*prefix, i))
            out.extend(paths(value, (*prefix, i)))
    return out


PATHS = {name: paths(doc) for name, doc in RAW.items()}


def _parent(doc, path):
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


OTHER_TYPES = st.sampled_from(["text", True, 7, 0.5, [1, 2], {"x": 1}, [], {}])
NUMBERS = st.sampled_from([0, -1, -0.5, 1e12, 3, 0.999, 1.5, math.nan, math.inf, -math.inf])


@st.composite
def mutation(draw, doc: dict, name: str) -> tuple[str, tuple, object]:
    """One mutation of ``doc`` (applied in place); returns (what, path, new value)."""
    path = draw(st.sampled_from(PATHS[name]))
    key = path[-1]
    try:
        parent = _parent(doc, path)
        old = parent[key]
    except (KeyError, IndexError, TypeError):  # an earlier mutation removed the path
        return ("gone", path, None)
    what = draw(st.sampled_from(["delete", "rename", "type", "unit", "value"]))
    if what == "delete":
        del parent[key]
        return (what, path, None)
    if what == "rename" and isinstance(parent, dict):
        parent[f"{key}_x"] = parent.pop(key)
        return (what, path, None)
    if what == "unit" and isinstance(old, (int, float)) and not isinstance(old, bool):
        new = old * draw(st.sampled_from([100, 0.01, 1000, -1]))
    elif what == "value" or (what == "unit" and isinstance(old, list)):
        new = draw(NUMBERS)
    else:
        new = draw(OTHER_TYPES)
    parent[key] = copy.deepcopy(new)
    return (what, path, new)


@st.composite
def mutated_scenarios(draw):
    name = draw(st.sampled_from(BUILTIN))
    doc = copy.deepcopy(RAW[name])
    done = [draw(mutation(doc, name)) for _ in range(draw(st.integers(1, 3)))]
    return name, doc, done


def _check_error(err: Exception) -> str:
    message = str(err)
    assert isinstance(err, ScenarioFileError), f"{type(err).__name__}: {message}"
    found = NAMES_A_KEY.search(message)
    assert found, f"the message names no key: {message}"
    return found.group(1)


_parse = {"examples": 0, "deal": 0, "error": 0, "named_mutated_table": 0}


@settings(max_examples=400, deadline=None)
@given(mutated_scenarios())
@example(("peterborough", {**copy.deepcopy(RAW["peterborough"]), "horizon": "8"},
          [("type", ("horizon",), "8")])).via("a number written as text")
@example(("peterborough", {k: val for k, val in RAW["peterborough"].items() if k != "contract"},
          [("delete", ("contract",), None)])).via("a required money table deleted")
def _fuzz_parse(case):
    name, doc, done = case
    _parse["examples"] += 1
    try:
        deal = parse_scenario(doc, f"{name}.toml")
    except Exception as err:  # the type is what is checked
        key = _check_error(err)
        _parse["error"] += 1
        tables = {str(p[0]) for _, p, _ in done}
        _parse["named_mutated_table"] += key.split(".")[0].split("[")[0] in tables
        return
    _parse["deal"] += 1
    assert deal.has_money or "contract" not in doc


def test_fuzz_parse_mutated_builtin_scenarios():
    _parse.update(examples=0, deal=0, error=0, named_mutated_table=0)
    _fuzz_parse()
    n = _parse["examples"]
    assert n >= 400
    # both outcomes are common: mutations that keep a file valid and ones that break it
    assert _parse["deal"] / n > 0.1, _parse
    assert _parse["error"] / n > 0.3, _parse
    # most errors name the table that was mutated (the others name a table that refers to it)
    assert _parse["named_mutated_table"] / _parse["error"] > 0.7, _parse


# ------------------------------------------------------------------ through the command line
def toml_value(x) -> str:
    """A TOML inline value (strings as JSON strings, which TOML reads the same)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(x)
    if isinstance(x, str):
        return json.dumps(x)
    if isinstance(x, list):
        return "[" + ", ".join(toml_value(v) for v in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in x.items()) + "}"
    raise TypeError(type(x))


def to_toml(doc: dict) -> str:
    return "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items()) + "\n"


@pytest.mark.parametrize("name", BUILTIN)
def test_the_toml_writer_round_trips_every_builtin(name):
    assert tomllib.loads(to_toml(RAW[name])) == RAW[name]


_cli = {"examples": 0, "ok": 0, "error": 0}


def _run_cli(doc: dict, tmp: Path) -> None:
    path = tmp / "fuzz.toml"
    out = tmp / "fuzz.nc"
    out.unlink(missing_ok=True)
    path.write_text(to_toml(doc), encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = cli.main(["run", str(path), "--draws", "16", "--seed", "3", "--out", str(out),
                       "--no-progress"])
    err = stderr.getvalue()
    assert "Traceback" not in err + stdout.getvalue()
    assert rc in (0, 2), (rc, err)
    _cli["examples"] += 1
    if rc == 2:
        lines = [ln for ln in err.splitlines() if ln.startswith("sibsim: error:")]
        assert len(lines) == 1, err
        assert NAMES_A_KEY.search(lines[0]), lines[0]
        assert not out.exists()
        _cli["error"] += 1
        return
    _cli["ok"] += 1
    if "contract" not in doc:
        return
    res = open_results(out)
    for group in (res.money, res.investors, res.municipality):
        for var in group.data_vars.values():
            values = np.asarray(var.values)
            if values.dtype.kind == "f" and not nan_documented(var):
                assert np.isfinite(values).all(), f"{var.name} has non-finite values"


def nan_documented(var) -> bool:
    """Whether a variable's description says when it is NaN."""
    return "NaN" in var.attrs.get("description", "")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_scenarios())
@example(("peterborough", copy.deepcopy(RAW["peterborough"]), [])).via("unmutated")
def _fuzz_cli(case):
    _, doc, _ = case
    with tempfile.TemporaryDirectory() as tmp:
        _run_cli(doc, Path(tmp))


@pytest.mark.slow
def test_fuzz_cli_on_mutated_builtin_scenarios():
    """``sibsim run`` on mutated built-in scenarios: exit 0 with finite results or 2 naming
    the key; never a traceback. Both outcomes are reached (16 draws: a few seconds a run)."""
    _cli.update(examples=0, ok=0, error=0)
    _fuzz_cli()
    assert _cli["examples"] >= 30
    assert _cli["ok"] >= 5 and _cli["error"] >= 5, _cli
