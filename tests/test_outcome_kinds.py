"""Outcome kinds as registered variants: the registry, each kind's TOML reader and the methods the
scenario and the engine call instead of dispatching on the kind."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pytest

import sibsim
from sibsim import (
    Beta,
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Dirichlet,
    Effect,
    Fixed,
    Frailty,
    Gamma,
    MarkovOutcome,
    Scenario,
    StateCountOutcome,
    Stratum,
    Uniform,
)
from sibsim.engine.outcome_models import (
    OUTCOME_MODELS,
    BinaryModel,
    CountModel,
    MarkovModel,
    model_of,
)
from sibsim.engine.state_counts import StateCountModel
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec import OUTCOME_KINDS, Outcome
from sibsim.spec.toml import KeyProblem, Section
from sibsim.spec.variant import Spec

pytestmark = pytest.mark.usefixtures("warm_kernels")

S3 = ("well", "sick", "dead")
T3 = ((0.8, 0.15, 0.05), (0.3, 0.6, 0.1), (0.0, 0.0, 1.0))


# ------------------------------------------------------------------ the registry
def test_registry_holds_the_three_kinds_in_order():
    # and the count whose rate follows another process's state (sibsim.spec.state_counts)
    assert OUTCOME_KINDS.names() == ("binary", "counts", "markov", "counts_by_state")
    assert OUTCOME_KINDS.classes() == (BinaryOutcome, CountOutcome, MarkovOutcome,
                                       StateCountOutcome)
    for name in OUTCOME_KINDS.names():
        cls = OUTCOME_KINDS[name]
        assert cls.kind == name
        assert issubclass(cls, Outcome) and issubclass(cls, Spec)
        assert name in OUTCOME_KINDS
    assert "binomial" not in OUTCOME_KINDS


def test_every_kind_has_an_engine_model():
    assert OUTCOME_MODELS.names() == OUTCOME_KINDS.names()
    assert OUTCOME_MODELS.classes() == (BinaryModel, CountModel, MarkovModel, StateCountModel)


def test_unknown_kind_lists_the_allowed_kinds():
    with pytest.raises(ValueError, match=r"outcome kind: got 'binomial'; allowed: one of "
                                         r"'binary', 'counts', 'markov'"):
        OUTCOME_KINDS["binomial"]
    with pytest.raises(KeyProblem) as info:
        OUTCOME_KINDS.from_toml(Section("outcome", {"kind": "binomial", "probability": 0.3}))
    assert info.value.key == "outcome.kind"
    assert info.value.problem == ("got 'binomial'; allowed: 'binary', 'counts', 'markov', "
                                  "'counts_by_state'")


def test_loader_reports_unknown_and_missing_kinds_at_the_kind_key():
    data = {"horizon": 2, "cohort": {"size": 3}, "outcome": {"kind": "poisson", "rate": 1.0}}
    with pytest.raises(ScenarioFileError, match=r"x.toml: key 'outcome.kind': got 'poisson'; "
                                                r"allowed: 'binary', 'counts', 'markov'"):
        parse_scenario(data, "x.toml")
    data["outcome"] = {"rate": 1.0}
    with pytest.raises(ScenarioFileError, match=r"key 'outcome.kind': this key is required"):
        parse_scenario(data, "x.toml")


def test_every_field_is_documented():
    for cls in OUTCOME_KINDS.classes():
        for f in dataclasses.fields(cls):
            assert f.metadata.get("doc"), f"{cls.__name__}.{f.name} has no doc"


# ------------------------------------------------------------------ from_toml, kind by kind
FROM_TOML = {
    "binary": (
        {"kind": "binary", "probability": {"dist": "beta", "a": 3, "b": 7}, "recurrent": False,
         "profile": [1.0, 0.5], "clock": "calendar", "name": "arrest"},
        BinaryOutcome(Beta(3, 7), recurrent=False, profile=(1.0, 0.5), clock="calendar",
                      name="arrest"),
    ),
    "binary-defaults": (
        {"kind": "binary", "probability": 0.25},
        BinaryOutcome(0.25),
    ),
    "counts": (
        {"kind": "counts", "rate": {"dist": "gamma", "shape": 16, "scale": 0.1},
         "dispersion": {"dist": "uniform", "low": 1.0, "high": 3.0}, "profile": [1.0, 0.8]},
        CountOutcome(Gamma(16, 0.1), dispersion=Uniform(1.0, 3.0), profile=(1.0, 0.8)),
    ),
    "markov": (
        {"kind": "markov", "states": list(S3), "initial": "sick",
         "events": [["well", "sick"], ["sick", "dead"]],
         "transitions": [[list(T3[0]), {"dist": "dirichlet", "alpha": [3.0, 6.0, 1.0]},
                          list(T3[2])], [list(r) for r in T3]]},
        MarkovOutcome(S3, [[T3[0], Dirichlet((3.0, 6.0, 1.0)), T3[2]], T3], initial="sick",
                      events=[("well", "sick"), ("sick", "dead")]),
    ),
    "markov-one-matrix": (
        {"kind": "markov", "states": ["a", "b"], "transitions": [[0.7, 0.3], [0.0, 1.0]]},
        MarkovOutcome(("a", "b"), [[0.7, 0.3], [0.0, 1.0]]),
    ),
}


@pytest.mark.parametrize("case", list(FROM_TOML))
def test_from_toml_of_each_kind(case):
    table, expected = FROM_TOML[case]
    got = OUTCOME_KINDS.from_toml(Section("outcome", table))
    assert type(got) is type(expected) and got == expected
    # the class's own reader gives the same object
    assert type(expected).from_toml(Section("outcome", table)) == expected


@pytest.mark.parametrize(("table", "key", "words"), [
    ({"kind": "binary"}, "outcome.probability", ["required"]),
    ({"kind": "counts", "probability": 0.3}, "outcome.rate", ["required"]),
    ({"kind": "markov", "states": ["a", "b"]}, "outcome.transitions", ["required"]),
    ({"kind": "binary", "probability": 0.3, "rate": 1.0}, "outcome.rate", ["unknown key"]),
    ({"kind": "counts", "rate": 1.0, "recurrent": True}, "outcome.recurrent", ["unknown key"]),
    ({"kind": "binary", "probability": 1.3}, "outcome", ["BinaryOutcome.probability", "1.3"]),
    ({"kind": "markov", "states": ["a", "b"], "transitions": "T"}, "outcome.transitions",
     ["matrix"]),
    ({"kind": "markov", "states": ["a", "b"], "transitions": [[1, 0], [0, 1]], "events": "ab"},
     "outcome.events", ["[from, to] pairs"]),
    ({"kind": "markov", "states": ["a", "b"],
      "transitions": [[1, 0], {"dist": "dirichlet", "alpha": [1, 2], "x": 1}]},
     "outcome.transitions[1]", ["dirichlet"]),
])
def test_from_toml_errors_name_the_key(table, key, words):
    with pytest.raises(KeyProblem) as info:
        OUTCOME_KINDS.from_toml(Section("outcome", table))
    assert info.value.key == key
    for word in words:
        assert word in info.value.problem


# ------------------------------------------------------------------ the loader uses the registry
@dataclasses.dataclass(frozen=True)
class _Checked(BinaryOutcome):
    """A binary outcome under another kind name (a stand-in for a new kind)."""

    kind: ClassVar[str] = "checked"


class _CheckedModel(BinaryModel):
    kind: ClassVar[str] = "checked"


@pytest.fixture
def checked_kind(monkeypatch):
    """Register a test kind in both registries for the duration of one test."""
    monkeypatch.setitem(OUTCOME_KINDS._classes, "checked", _Checked)
    monkeypatch.setitem(OUTCOME_MODELS._classes, "checked", _CheckedModel)


def test_loader_reads_any_registered_kind(checked_kind):
    assert "checked" in OUTCOME_KINDS.names()
    data = {"horizon": 3, "cohort": {"entry": [20, 10]}, "comparison": {"ratio": 1},
            "outcome": {"kind": "checked", "probability": 0.3, "recurrent": False},
            "effect": {"value": 0.8}}
    sc = parse_scenario(data, "new.toml").scenario
    assert type(sc.outcome) is _Checked and sc.outcome.kind == "checked"
    assert isinstance(model_of(sc), _CheckedModel)
    # the engine dispatches through OUTCOME_MODELS: same numbers as the binary kind
    data["outcome"]["kind"] = "binary"
    ref = parse_scenario(data, "new.toml").scenario
    for engine in ("aggregate", "individual", "expected"):
        a = sibsim.simulate(sc, draws=3, seed=2, engine=engine, progress=False)
        b = sibsim.simulate(ref, draws=3, seed=2, engine=engine, progress=False)
        np.testing.assert_array_equal(a["events"].values, b["events"].values)
        assert a.attrs["outcome_kind"] == "checked"


def test_loader_outcome_reader_is_the_registry(monkeypatch):
    """``[outcome]`` goes through ``OUTCOME_KINDS.from_toml`` (no kind chain in the loader)."""
    import sibsim.scenario_file as sf

    seen = []
    real = OUTCOME_KINDS.from_toml

    def spy(sec, **context):
        seen.append(sec.key)
        return real(sec, **context)

    monkeypatch.setattr(OUTCOME_KINDS, "from_toml", spy)
    sc = sf.parse_scenario({"horizon": 2, "cohort": {"size": 3},
                            "outcome": {"kind": "counts", "rate": 0.5}}, "spy.toml")
    assert seen == ["outcome"] and sc.scenario.outcome == CountOutcome(0.5)


# ------------------------------------------------------------------ methods instead of chains
def test_baseline_and_with_baseline():
    b = BinaryOutcome(0.3, recurrent=False)
    assert b.baseline == Fixed(0.3)
    assert b.with_baseline(Beta(2, 5)) == BinaryOutcome(Beta(2, 5), recurrent=False)
    c = CountOutcome(1.5, dispersion=2.0)
    assert c.baseline == Fixed(1.5) and c.with_baseline(0.5).rate == Fixed(0.5)
    m = MarkovOutcome(S3, T3, events=[("well", "sick")])
    assert m.baseline == (T3,)
    assert m.with_baseline([T3, T3]).transitions == (T3, T3)
    with pytest.raises(ValueError, match=r"BinaryOutcome\.probability"):
        b.with_baseline(1.5)
    with pytest.raises(ValueError, match=r"MarkovOutcome.transitions.*3 rows"):
        m.with_baseline([[1.0]])
    sc = Scenario(cohort=Cohort(size=10, strata=(Stratum("a", 0.5, baseline=0.1),
                                                 Stratum("b", 0.5))),
                  outcome=b, horizon=2)
    assert sc.baseline_of(sc.cohort.strata[0]) == Fixed(0.1)
    assert sc.baseline_of(sc.cohort.strata[1]) == Fixed(0.3)
    assert sc.baseline_of(None) == Fixed(0.3)


def test_check_effect_per_kind():
    BinaryOutcome(0.3).check_effect(Effect("or", 0.8))
    CountOutcome(1.0).check_effect(Effect("hr", 0.8))
    MarkovOutcome(S3, T3).check_effect(Effect("rr", 0.8, targets=[("well", "sick")]))
    with pytest.raises(ValueError, match=r"Effect.targets: .*no targets for a binary outcome"):
        BinaryOutcome(0.3).check_effect(Effect("rr", 0.8, targets=[("a", "b")]))
    with pytest.raises(ValueError, match=r"Effect.measure: got 'or'; allowed: rr, hr or absolute"):
        CountOutcome(1.0).check_effect(Effect("or", 0.8))
    with pytest.raises(ValueError, match=r"no targets for a counts outcome"):
        CountOutcome(1.0).check_effect(Effect("rr", 0.8, targets=[("a", "b")]))
    with pytest.raises(ValueError, match=r"Effect.targets: got \(\); allowed: at least one"):
        MarkovOutcome(S3, T3).check_effect(Effect("rr", 0.8))
    with pytest.raises(ValueError, match=r"Effect.targets to-state: got 'x'"):
        MarkovOutcome(S3, T3).check_effect(Effect("rr", 0.8, targets=[("well", "x")]))


def test_parse_baseline_reads_each_kinds_form():
    sec = Section("cohort.strata[0]", {"name": "a", "share": 1.0,
                                       "baseline": {"dist": "beta", "a": 2, "b": 5}})
    assert BinaryOutcome.parse_baseline(sec, "baseline") == Beta(2, 5)
    assert CountOutcome.parse_baseline(sec, "baseline") == Beta(2, 5)
    assert BinaryOutcome.parse_baseline(Section("s", {}), "baseline") is None
    matrix = [[0.5, 0.5], {"dist": "dirichlet", "alpha": [1, 3]}]
    sec = Section("cohort.strata[0]", {"baseline": matrix})
    assert MarkovOutcome.parse_baseline(sec, "baseline") == [[0.5, 0.5], Dirichlet((1.0, 3.0))]
    # an instance reads like its class
    assert MarkovOutcome(("a", "b"), [[1, 0], [0, 1]]).parse_baseline(sec, "baseline")[1] == \
        Dirichlet((1.0, 3.0))
    with pytest.raises(KeyProblem) as info:
        MarkovOutcome.parse_baseline(Section("c", {"baseline": [[0.5, 0.5], {"dist": "beta"}]}),
                                     "baseline")
    assert info.value.key == "c.baseline[1]"


# ------------------------------------------------------------------ the plain tables as Specs
def test_cohort_from_toml_reads_strata_with_the_outcome_kind():
    table = {"entry": [10, 10], "strata": [
        {"name": "low", "share": 0.25, "baseline": [[0.9, 0.1], [0.0, 1.0]]},
        {"name": "high", "share": 0.75}]}
    got = Cohort.from_toml(Section("cohort", table), outcome=MarkovOutcome)
    assert got == Cohort(entry=(10, 10), strata=(
        Stratum("low", 0.25, baseline=[[0.9, 0.1], [0.0, 1.0]]), Stratum("high", 0.75)))
    table = {"size": 8, "strata": [{"name": "a", "share": 1.0, "baseline": {"dist": "fixed",
                                                                           "value": 0.2}}]}
    got = Cohort.from_toml(Section("cohort", table), outcome=OUTCOME_KINDS["binary"])
    assert got == Cohort(size=8, strata=(Stratum("a", 1.0, baseline=Fixed(0.2)),))
    with pytest.raises(KeyProblem) as info:
        Cohort.from_toml(Section("cohort", {"size": 8, "strata": {"name": "a"}}))
    assert info.value.key == "cohort.strata"


@pytest.mark.parametrize(("cls", "table", "expected"), [
    (Effect, {"value": 0.8}, Effect("rr", 0.8)),
    (Effect, {"measure": "hr", "value": {"dist": "lognormal", "meanlog": -0.2, "sdlog": 0.1},
              "targets": [["a", "b"]], "onset": 1, "duration": 2, "decay": 0.5,
              "engagement": {"dist": "beta", "a": 8, "b": 2}, "dropout": 0.05},
     Effect("hr", sibsim.LogNormal(-0.2, 0.1), targets=[("a", "b")], onset=1, duration=2,
            decay=0.5, engagement=Beta(8, 2), dropout=0.05)),
    (ComparisonGroup, {"ratio": 2.5}, ComparisonGroup(ratio=2.5)),
    (ComparisonGroup, {"size": 70}, ComparisonGroup(size=70)),
    (Frailty, {"variance": 0.4}, Frailty(0.4)),
])
def test_from_toml_of_the_plain_tables(cls, table, expected):
    assert cls.from_toml(Section("t", table)) == expected


def test_effect_value_is_required_in_a_file():
    with pytest.raises(KeyProblem) as info:
        Effect.from_toml(Section("effect", {"measure": "rr"}))
    assert info.value.key == "effect.value" and "required" in info.value.problem


# ------------------------------------------------------------------ fraction unit slips
@pytest.mark.parametrize(("make", "field", "hint"), [
    (lambda: BinaryOutcome(30), "BinaryOutcome.probability", "write 0.3 for 30%"),
    (lambda: Effect("rr", 0.8, engagement=80), "Effect.engagement", "write 0.8 for 80%"),
    (lambda: Effect("rr", 0.8, dropout=5), "Effect.dropout", "write 0.05 for 5%"),
    (lambda: Effect("rr", 0.8, decay=50), "Effect.decay", "write 0.5 for 50%"),
    (lambda: Stratum("young", 25), "Stratum[young].share", "write 0.25 for 25%"),
])
def test_percent_meant_as_fraction_suggests_the_fraction(make, field, hint):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert message.startswith(field) and hint in message, message


@pytest.mark.parametrize("make", [lambda: BinaryOutcome(-2), lambda: BinaryOutcome(101),
                                  lambda: BinaryOutcome(Uniform(0.0, 2.0))])
def test_no_percent_hint_where_no_fraction_fits(make):
    with pytest.raises(ValueError) as info:
        make()
    assert "BinaryOutcome.probability" in str(info.value)
    assert "a fraction: write" not in str(info.value)
