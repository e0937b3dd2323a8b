"""Every key of a scenario file reaches the parsed objects with the value written in the file.

A generic walker goes through a TOML document and the :class:`~sibsim.Deal` parsed from it side
by side: each key of a table is an attribute of the parsed object (the few renamed or moved keys
are listed in ``MOVED``), each value equals the parsed value (lists as tuples, uncertain numbers
``{dist = ...}`` as distributions with that mean, sd or parameters). It checks

* every built-in scenario: its parsed values equal its TOML values;
* documents in which every key of every table is set to a value different from its default and
  from every other key's, so that a key read into the wrong field, or not read at all, is seen.
  A coverage test asserts that these documents set every TOML field of every class that reads
  a table (``Spec.toml_fields()``), so a new field without a round trip fails here.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from sibsim.scenario_file import builtin_scenarios, parse_scenario
from sibsim.spec.distributions import Distribution
from sibsim.spec.variant import Spec

ROOT = Path(__file__).resolve().parents[1]

#: (class name, TOML key) -> how to find the parsed value from the parsed owner object.
MOVED = {
    ("Deal", "name"): lambda deal: deal.scenario.name,
    ("Deal", "description"): lambda deal: deal.scenario.description,
    ("Deal", "horizon"): lambda deal: deal.scenario.horizon,
    ("Deal", "period"): lambda deal: deal.scenario.period,
    ("Deal", "cohort"): lambda deal: deal.scenario.cohort,
    # [outcome] is the first process; [[outcome]] tables are every process, each with its
    # [outcome.effect] (compared as (outcome, effect) pairs by _Process below)
    ("Deal", "outcome"): lambda deal: (deal.scenario.outcome if len(deal.scenario.processes) == 1
                                       and not deal.scenario.other_processes
                                       else [_Process(p) for p in deal.scenario.processes]),
    ("Deal", "effect"): lambda deal: deal.scenario.effect,
    ("Deal", "comparison"): lambda deal: deal.scenario.comparison,
    ("Deal", "frailty"): lambda deal: deal.scenario.frailty,
    ("Deal", "evaluation"): lambda deal: deal.evaluations,
    ("ServiceCosts", "service_periods"): None,  # a Deal field, checked at the top
    # the older flat spelling moves into the design (and reads back as None)
    ("Evaluation", "bias"): lambda ev: ev.design.bias,
    ("Evaluation", "historical_rate"): lambda ev: ev.design.historical_rate,
    ("RateCard", "price_by_stratum"): lambda card: dict(card.price_by_stratum),
    ("StateCountOutcome", "rate_by_state"): lambda o: dict(o.rate_by_state),
    ("Effect", "by_stratum"): lambda e: dict(e.by_stratum),
    # a row's shares {state = share} are stored as (state, share) pairs
    ("Effect", "balance"): lambda e: {a: dict(to) if to and not isinstance(to, str)
                                      and not isinstance(to[0], str) else to
                                      for a, to in e.balance},
}
#: Keys whose value is checked by a dedicated assertion rather than by the walker.
SPECIAL = {("ComparisonGroup", "none"), ("Stratum", "start_year"),
           ("Effect", "ends_by_stratum")}


def _close(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _dist_sd(d: Distribution) -> float:
    x = d.sample(np.random.default_rng(0), 400_000)
    return float(np.std(x))


class _Process:
    """An outcome process seen as its [[outcome]] table: the outcome's keys plus its effect."""

    def __init__(self, process) -> None:
        self._outcome, self.effect = process.outcome, process.effect

    def __getattr__(self, key):
        return getattr(self._outcome, key)


#: (class name, key) pairs the walker has compared, for the coverage test.
VISITED: set[tuple[str, str]] = set()


def check(raw, parsed, path: str, problems: list[str]) -> None:
    """Compare a TOML value with the parsed value; append a message per mismatch."""
    if isinstance(raw, Mapping) and "dist" in raw:
        if not isinstance(parsed, Distribution):
            problems.append(f"{path}: expected a distribution, parsed {parsed!r}")
            return
        for key, value in raw.items():
            if key == "dist":
                continue
            if key == "sd" and not hasattr(parsed, "sd"):
                ok = math.isclose(_dist_sd(parsed), float(value), rel_tol=0.02)
                got = "sample sd"
            elif key == "mean" and hasattr(parsed, "mean_row"):  # a Dirichlet's mean row
                got = parsed.mean_row
                ok = np.allclose(got, value, rtol=1e-9)
            elif key == "mean":
                got = parsed.mean
                ok = _close(float(got), float(value))
            elif hasattr(parsed, key):
                got = getattr(parsed, key)
                ok = np.allclose(np.asarray(got, dtype=float), np.asarray(value, dtype=float),
                                 rtol=1e-9)
            elif key == "concentration":  # a Dirichlet's total of alpha
                got = float(np.sum(parsed.alpha))
                ok = _close(got, float(value))
            else:
                problems.append(f"{path}.{key}: {type(parsed).__name__} has no such attribute")
                continue
            if not ok:
                problems.append(f"{path}.{key}: file {value!r}, parsed {got!r}")
        return
    if isinstance(raw, Mapping) and isinstance(parsed, Mapping):  # a table of named values
        if set(raw) != set(parsed):
            problems.append(f"{path}: file keys {sorted(raw)}, parsed {sorted(parsed)}")
        for key in set(raw) & set(parsed):
            check(raw[key], parsed[key], f"{path}.{key}", problems)
        return
    if isinstance(raw, Mapping):
        owner = type(parsed._outcome if isinstance(parsed, _Process) else parsed).__name__
        kind_of = parsed._outcome if isinstance(parsed, _Process) else parsed
        if "kind" in raw and getattr(type(kind_of), "kind", None) != raw["kind"]:
            problems.append(f"{path}.kind: file {raw['kind']!r}, parsed {owner}")
        for key, value in raw.items():
            VISITED.add((owner, key))
            if key == "kind" or (owner, key) in SPECIAL:
                continue
            sub = f"{path}.{key}" if path else key
            if (owner, key) in MOVED:
                getter = MOVED[(owner, key)]
                if getter is None:
                    continue
                check(value, getter(parsed), sub, problems)
            elif hasattr(parsed, key):
                check(value, getattr(parsed, key), sub, problems)
            else:
                problems.append(f"{sub}: {owner} has no attribute {key!r}")
        return
    if isinstance(raw, list):
        if isinstance(parsed, (Mapping, str)) or not hasattr(parsed, "__len__"):
            problems.append(f"{path}: file list {raw!r}, parsed {parsed!r}")
            return
        seq = list(parsed)
        if len(seq) != len(raw):
            # a one-item tier [share] of a savings share is an open tier (share, inf)
            if len(raw) == 1 and len(seq) == 2 and seq[1] == math.inf:
                check(raw[0], seq[0], f"{path}[0]", problems)
                return
            # one matrix for every stratum is stored as a one-item sequence of matrices
            if len(seq) == 1 and isinstance(seq[0], tuple) and len(seq[0]) == len(raw):
                check(raw, seq[0], path, problems)
                return
            problems.append(f"{path}: file {raw!r}, parsed {parsed!r}")
            return
        for i, (r, p) in enumerate(zip(raw, seq, strict=True)):
            check(r, p, f"{path}[{i}]", problems)
        return
    if isinstance(raw, str) and isinstance(parsed, Spec) and hasattr(type(parsed), "kind"):
        if type(parsed).kind != raw:  # a variant given by its kind alone: design = "rct"
            problems.append(f"{path}: file {raw!r}, parsed {parsed!r}")
        return
    if isinstance(raw, str) and isinstance(parsed, tuple) and len(parsed) == 1:
        parsed = parsed[0]  # one name for a list of names: stratum = "at_risk"
    if isinstance(raw, bool) or isinstance(raw, str):
        if isinstance(parsed, Distribution) or parsed != raw:
            problems.append(f"{path}: file {raw!r}, parsed {parsed!r}")
        return
    if isinstance(raw, (int, float)):
        if isinstance(parsed, Distribution):  # a plain number for an uncertain input
            parsed = parsed.mean
        if isinstance(parsed, tuple) and len(parsed) == 1 and len(parsed[0]) == 2:
            parsed = parsed[0][1] if parsed[0][0] == 0 else parsed  # a price from period 0
        try:
            ok = _close(float(parsed), float(raw))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(f"{path}: file {raw!r}, parsed {parsed!r}")
        return
    problems.append(f"{path}: unexpected TOML value {raw!r}")


def roundtrip_problems(doc: dict) -> list[str]:
    deal = parse_scenario(copy.deepcopy(doc), "roundtrip.toml")
    problems: list[str] = []
    check(doc, deal, "", problems)
    if "service_costs" in doc and "service_periods" in doc["service_costs"]:
        if deal.service_periods != doc["service_costs"]["service_periods"]:
            problems.append("service_costs.service_periods: not read")
    if doc.get("comparison", {}).get("none") is True and deal.scenario.comparison is not None:
        problems.append("comparison.none = true: a comparison group was parsed")
    ppy = deal.scenario.periods_per_year
    for i, raw in enumerate(doc.get("cohort", {}).get("strata", [])):
        if "start_year" in raw:  # a calendar year: the stratum starts that many periods in
            want = max(0, (raw["start_year"] - doc["start_year"]) * ppy  # first period
                       - doc.get("start_period", 0))  # of that year (period 0 at the latest)
            got = deal.scenario.cohort.strata[i].start
            if got != want:
                problems.append(f"cohort.strata[{i}].start_year: file {raw['start_year']}, "
                                f"parsed start {got} (want {want})")
    effects = [("effect", doc.get("effect"), deal.scenario.effect)]
    if isinstance(doc.get("outcome"), list):
        effects = [(f"outcome[{i}].effect", raw.get("effect"), p.effect)
                   for i, (raw, p) in enumerate(zip(doc["outcome"], deal.scenario.processes,
                                                    strict=True))]
    for where, raw, effect in effects:
        ends = (raw or {}).get("ends_by_stratum", {})
        # calendar years: the first period of that year (period 0 for the start year)
        want = {k: max(0, (y - doc["start_year"]) * ppy - doc.get("start_period", 0))
                for k, y in ends.items()}
        got = dict(effect.ends_by_stratum) if effect is not None else {}
        if got != want:
            problems.append(f"{where}.ends_by_stratum: file {ends}, parsed {got} "
                            f"(want {want})")
    return problems


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_builtin_scenario_values_equal_their_toml_values(name):
    doc = tomllib.loads(builtin_scenarios()[name].read_text(encoding="utf-8"))
    assert roundtrip_problems(doc) == []


def test_the_walker_sees_a_value_read_into_the_wrong_field():
    """The checker itself: a deal whose parsed value differs from the file is reported."""
    doc = tomllib.loads(builtin_scenarios()["peterborough"].read_text(encoding="utf-8"))
    deal = parse_scenario(copy.deepcopy(doc))
    wrong = deal.replace(investors=dataclasses.replace(deal.investors, target_irr=0.06))
    problems: list[str] = []
    check(doc, wrong, "", problems)
    assert problems == ["investors.target_irr: file 0.05, parsed 0.06"]
    problems = []
    other = deal.replace(contract=dataclasses.replace(deal.contract, lag=1))
    check(doc, other, "", problems)
    assert problems == ["contract.lag: file 0, parsed 1"]


# ------------------------------------------------------------------ documents with every key
#: Every key set to a value unlike its default and unlike the other keys' values. Together with
#: the built-in scenarios and the complete example of docs/scenario-format.md they set every
#: TOML field of every class that reads a table (test_every_toml_field_is_round_tripped).
EVERY_KEY_BINARY = """
name = "every-key-binary"
description = "Every key of the format set to a distinct value"
horizon = 7
period = "quarter"
start_year = 2020
currency = "USD"

[cohort]
size = 90
[[cohort.strata]]
name = "young"
share = 0.4
baseline = 0.25
[[cohort.strata]]
name = "old"
share = 0.6

[comparison]
size = 70

[frailty]
variance = 0.3

[outcome]
kind = "binary"
name = "arrest"
probability = {dist = "beta", a = 3, b = 9}
recurrent = false
profile = [1.0, 0.9]
clock = "calendar"

[effect]
measure = "or"
value = 0.75
onset = 1
duration = 3
decay = 0.2
engagement = 0.85
dropout = 0.04
by_stratum = {young = 0.6}
ends_by_stratum = {old = 2021}    # quarterly from 2020: period 4

[[evaluation]]
metric = "arrests"
design = "matched"
bias = 0.011
window = 2
outcome = "events"
direction = "reduce"
per_wave = true
pooled = false
alpha = 0.2
report_lag = 3
value_per_unit = 1234
stratum = ["young"]
window_start = 1
clock = "entry"
per_period = true
precision = 0.005
to_date = true
target_per_person_period = 0.0123

[[evaluation]]
metric = "arrests_cal"
design = "historical"
historical_rate = 0.33
clock = "calendar"
calendar_window = [1, 4]

[contract]
lag = 2
overflow = "drop"
[contract.caps]
per_period = [100_001, 200_002, 300_003, 400_004, 500_005, 600_006, 700_007]
per_person = 777
total = 999_999
[[contract.terms]]
metric = "arrests"
rule = {kind = "price_per_unit", price = 321, threshold = 0.05, ceiling = 0.55}
pooled_rule = {kind = "savings_share", tiers = [[0.9, 5_000], [0.3]], threshold = 0.02}
cap = 88_888
per_person_cap = 555
[[contract.terms]]
metric = "arrests_cal"
rule = {kind = "linear", floor_effect = 0.1, cap_effect = 0.4, floor_payment = 10, cap_payment = 20}
[[contract.rate_cards]]
name = "arrest_free"
price = [[0, 44], [3, 33]]
measure = "events"
price_by_stratum = {old = 66}
per_person_cap = 99
cap = 12_345
stratum = ["old"]

[service_costs]
fixed_per_period = 4_321
per_participant = {dist = "gamma", mean = 210, sd = 20}
service_periods = 2

[capital]
excess_to = "provider"
[[capital.tranches]]
name = "senior"
commitment = 600_000
seniority = 1
target_return = 0.012
return_cap = 1.5
[[capital.tranches]]
name = "junior"
commitment = 300_000
seniority = 2
target_return = 0.021
[capital.guarantee]
kind = "pro_rata"
funder = "foundation"
share_of_principal = 0.35
covers = ["junior"]
cap = 50_000
[capital.fees]
intermediary_per_period = 1_111
management_rate_on_drawn = 0.013

[municipality]
discount_rate = 0.031

[[payers]]
name = "city"
shares = 0.7
saving_per_event = 2_100
wider_value_per_event = 3_300
other_costs_per_period = 450
contract_periods = 5
cap_total = 1_500_000
cap_per_period = 250_000
[[payers]]
name = "state"
shares = 0.3
appropriations = 900_000

[investors]
discount_rate = 0.061
target_irr = 0.071

[breakeven]
effect_range = [1.0, 0.35]
grid = 17

[correlation]
inputs = ["baseline.probability", "service_costs.per_participant"]
matrix = [[1.0, -0.35], [-0.35, 1.0]]
common = {"baseline.probability" = 0.4}
common_seed = 17
"""


def _docs_example() -> str:
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    found = re.search(r"Save it as `family-care.toml`:\n\n```toml\n(.*?)```", text, re.S)
    assert found, "the complete example of docs/scenario-format.md"
    return found.group(1)


def every_key_documents() -> dict[str, dict]:
    """The documents that, with the built-in scenarios, set every key."""
    docs = {"binary": tomllib.loads(EVERY_KEY_BINARY),
            "docs-example": tomllib.loads(_docs_example())}
    counts = tomllib.loads(builtin_scenarios()["peterborough"].read_text(encoding="utf-8"))
    counts["outcome"]["clock"] = "calendar"
    counts["breakeven"] = {"effect_range": [1.0, 0.45], "grid": 23,
                           "outcome": "reconviction event"}
    docs["counts-calendar"] = counts
    markov = tomllib.loads(_docs_example())
    markov["outcome"]["clock"] = "calendar"
    markov["contract"]["rate_cards"] = [{"name": "quarters_home", "price": 12.5,
                                         "measure": "occupancy", "state": "home"}]
    markov["municipality"] = {"discount_rate": 0.029}
    markov["payers"] = [{"name": "county", "shares": 1.0,
                         "saving_per_person_period": {"care": 25_100},
                         "wider_value_per_person_period": {"care": 6_200}}]
    docs["markov-calendar"] = markov
    # strata entering at different times: their own entry waves from a start period
    late = tomllib.loads(EVERY_KEY_BINARY)
    del late["cohort"]["size"]
    late["cohort"]["strata"] = [{"name": "young", "entry": [50, 10], "baseline": 0.25},
                                {"name": "old", "entry": [20, 10], "start": 1}]
    docs["strata-entry"] = late
    # the deal's lifecycle and the features of several processes, on the same example
    for variant, stop_loss in (("lifecycle-amount", {"kind": "stop_loss", "amount": 4.5e6}),
                               ("lifecycle-share", {"kind": "stop_loss",
                                                    "share_of_commitment": 0.85})):
        life = tomllib.loads(_docs_example())
        life["maturity"] = 21
        life["effect"]["target_scale"] = [0.9]
        life["frailty"] = {"variance": 0.1, "shared": True}
        life["service_costs"].update({"basis": "in_service", "per_state": {"care": 950}})
        life["termination"] = [{"kind": "effect_below", "metric": "placements",
                                "threshold": 0.02, "or_not_significant": True}, stop_loss]
        del life["contract"]["caps"]
        life["contract"]["terms"][0] = {"metric": "care_quarters", "rule": {
            "kind": "claim_share", "share_until_repaid": 0.9, "share_after": 0.3,
            "repaid_multiple": 1.05, "threshold": 0.01}}
        del life["contract"]["terms"][1]["per_person_cap"]
        docs[variant] = life
    # a count whose rate follows another process's state (docs/scenario-format.md's example)
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    found = re.search(r"```toml\n(name = \"benefits\"\n.*?)```", text, re.S)
    assert found, "the counts_by_state example of docs/scenario-format.md"
    by_state = tomllib.loads(found.group(1))
    by_state["outcome"][1].update({
        "clock": "calendar", "profile": [1.0, 0.75],
        "rate_by_state": {"employed": 0.25,
                          "seeking": {"dist": "gamma", "mean": 3.5, "sd": 0.4}}})
    docs["counts-by-state"] = by_state
    # an employer's own turnover (a stratum of a counts scenario)
    tyhy = tomllib.loads(builtin_scenarios()["tyhy-sib"].read_text(encoding="utf-8"))
    tyhy["cohort"]["strata"][1]["turnover"] = {"dist": "beta", "mean": 0.12, "sd": 0.02}
    tyhy["cohort"]["strata"][2]["turnover"] = 0.05
    tyhy["cohort"]["strata"][1]["newcomer_uptake"] = {"dist": "beta", "mean": 0.5, "sd": 0.1}
    tyhy["effect"]["organisation"] = {"dist": "lognormal", "mean": 0.97, "sd": 0.02}
    docs["strata-turnover"] = tyhy
    return docs


@pytest.mark.parametrize("name", ["binary", "docs-example", "counts-calendar", "markov-calendar",
                                  "lifecycle-amount", "lifecycle-share", "strata-entry",
                                  "counts-by-state", "strata-turnover"])
def test_every_key_document_parses_to_its_values(name):
    assert roundtrip_problems(every_key_documents()[name]) == []


def _spec_classes() -> list[type]:
    """Concrete classes of the library read from a table (abstract bases with subclasses, and
    classes that other test modules define, left out: the result must not depend on which test
    files ran first)."""
    out, todo = [], list(Spec.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        mine = [c for c in cls.__subclasses__() if c.__module__.startswith("sibsim.")]
        if cls.__module__ in ("sibsim.analysis.design", "sibsim.portfolio"):
            # the [design] table is not part of the deal (tests/test_design.py), nor is a
            # portfolio file, read by sibsim.portfolio.load_portfolio (tests/test_portfolio.py)
            continue
        if cls.__module__.startswith("sibsim.") and not mine:
            out.append(cls)
    return out


#: Fields that are not keys of their table: the Deal's are the scenario's tables, and the
#: capital structure's currency is the scenario's top-level ``currency``.
NOT_KEYS = {("Deal", "scenario"), ("Deal", "evaluations"), ("Deal", "service_periods"),
            ("CapitalStructure", "currency")}


def test_every_toml_field_is_round_tripped():
    """Each TOML field of each class is set, and checked, by one of the documents above or a
    built-in scenario: a field added without a round trip fails here."""
    VISITED.clear()
    for name in sorted(builtin_scenarios()):
        roundtrip_problems(tomllib.loads(builtin_scenarios()[name].read_text(encoding="utf-8")))
    for doc in every_key_documents().values():
        roundtrip_problems(doc)
    fields = {(cls.__name__, f.name) for cls in _spec_classes() for f in cls.toml_fields()}
    assert len(fields) > 100
    assert sorted(fields - NOT_KEYS - VISITED) == []
