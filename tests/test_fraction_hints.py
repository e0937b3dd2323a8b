"""Unit slips, searched as a class (issue "Hardening" section 1): every field that is a fraction
by convention refuses a value that only makes sense as a percentage, and the message suggests
the fraction.

The class test walks every specification class (:class:`~sibsim.spec.variant.Spec` and its
registered variants) and calls each declared constraint whose range lies within [-1, 1] (a
fraction by convention) with ``10``; the fields validated outside that mechanism (the
commissioner's discount rate, a Beta distribution's mean and sd, a distribution given for a
probability) are listed and checked by construction and through a scenario file.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import tomllib

import pytest

import sibsim
from sibsim import Beta, Effect, Uniform
from sibsim.money.municipality import Municipality
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec import _validate as v
from sibsim.spec.variant import Spec


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def _fraction_fields() -> list[tuple[str, v.Constraint]]:
    """(``Class.field``, constraint) of every Spec field declared with a range within
    [-1, 1]: thresholds, returns, shares, rates, probabilities."""
    for mod in pkgutil.walk_packages(sibsim.__path__, "sibsim."):
        if not mod.name.endswith("__main__"):
            importlib.import_module(mod.name)
    found = []
    for cls in _subclasses(Spec):
        if not dataclasses.is_dataclass(cls):
            continue
        for f in dataclasses.fields(cls):
            check = f.metadata.get("check")
            while hasattr(check, "inner"):  # optional(...), vector(...)
                check = check.inner
            if isinstance(check, v._Interval) and -1.0 <= check.low and check.high <= 1.0:
                found.append((f"{cls.__name__}.{f.name}", check))
    return sorted(found, key=lambda x: x[0])


FRACTION_FIELDS = _fraction_fields()


def test_the_walk_finds_the_fraction_fields_of_every_layer():
    names = {name for name, _ in FRACTION_FIELDS}
    assert {"PricePerUnit.threshold", "Tranche.target_return", "Investors.discount_rate",
            "Fees.management_rate_on_drawn", "Effect.decay", "Evaluation.alpha",
            "Constraints.investor_loss_probability_max"} <= names
    assert len(FRACTION_FIELDS) >= 20


@pytest.mark.parametrize(("name", "check"), FRACTION_FIELDS, ids=[n for n, _ in FRACTION_FIELDS])
def test_every_declared_fraction_suggests_the_fraction_for_a_percentage(name, check):
    with pytest.raises(ValueError) as info:
        check(name, 10)
    assert str(info.value) == (f"{name}: got 10; allowed: {check.description}, a fraction: "
                               "write 0.1 for 10%")


# ------------------------------------------------------- fractions validated outside Spec
@pytest.mark.parametrize(("build", "message"), [
    (lambda: Municipality(discount_rate=3.5),
     "Municipality.discount_rate: got 3.5; allowed: a finite number in [-0.5, 1], a fraction: "
     "write 0.035 for 3.5%"),
    (lambda: Beta.from_mean_sd(90, 0.04),
     "Beta.mean: got 90; allowed: a finite number in (0, 1), a fraction: write 0.9 for 90%"),
    (lambda: Beta.from_mean_sd(0.9, 4),
     "Beta.sd: got 4; allowed: a finite number in [1e-100, 1], a fraction: write 0.04 for 4%"),
    (lambda: Effect("rr", 0.9, engagement=Uniform(80.0, 95.0)),
     "Effect.engagement: got 'uniform(low=80.0, high=95.0)'; allowed: a probability: a "
     "distribution whose values lie in [0, 1] (this one ranges over [80, 95]), a fraction: "
     "divide its values by 100 (write 0.95 for 95%)"),
])
def test_fractions_outside_spec_suggest_the_fraction(build, message):
    with pytest.raises(ValueError) as info:
        build()
    assert str(info.value) == message


@pytest.mark.parametrize("build", [
    lambda: Municipality(discount_rate=-0.6),       # not a percentage: no hint
    lambda: Municipality(discount_rate=150.0),      # above 100: no percentage either
    lambda: Beta.from_mean_sd(0.0, 0.1),
    lambda: Effect("rr", 0.9, engagement=Uniform(0.5, 150.0)),
    lambda: Effect("rr", 0.9, engagement=Uniform(-5.0, 50.0)),
])
def test_no_hint_where_no_percentage_fits(build):
    with pytest.raises(ValueError) as info:
        build()
    assert "a fraction:" not in str(info.value)


def test_a_value_at_the_edge_of_a_fraction_is_still_accepted():
    assert Municipality(discount_rate=1.0).discount_rate == 1.0
    assert Effect("rr", 0.9, engagement=Uniform(0.0, 1.0)).engagement == Uniform(0.0, 1.0)


SCENARIO = """
name = "slip"
horizon = 2
[cohort]
size = 100
[comparison]
ratio = 1
[outcome]
kind = "binary"
probability = 0.3
[effect]
measure = "rr"
value = 0.8
engagement = ENGAGEMENT
[[evaluation]]
metric = "m"
[contract]
[[contract.terms]]
metric = "m"
rule = {kind = "price_per_unit", price = 100}
[capital]
[[capital.tranches]]
name = "fund"
commitment = 10_000
[municipality]
discount_rate = RATE
"""


@pytest.mark.parametrize(("engagement", "rate", "key", "hint"), [
    ("0.9", "3.5", "municipality", "write 0.035 for 3.5%"),
    ('{dist = "beta", mean = 90, sd = 4}', "0.035", "effect.engagement",
     "write 0.9 for 90%"),
    ('{dist = "uniform", low = 80, high = 95}', "0.035", "effect",
     "divide its values by 100"),
])
def test_percent_slips_in_a_scenario_file_name_the_key_and_the_fraction(engagement, rate, key,
                                                                         hint):
    text = SCENARIO.replace("ENGAGEMENT", engagement).replace("RATE", rate)
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(tomllib.loads(text))
    message = str(info.value)
    assert message.startswith(f"<scenario>: key '{key}': ") and hint in message, message
