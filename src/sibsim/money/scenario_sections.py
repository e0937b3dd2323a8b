"""The money tables of a scenario file: evaluation, contract, service costs, capital,
municipality, payers and investors (see docs/scenario-format.md). They give the money fields of a
:class:`~sibsim.money.deal.Deal`."""

from __future__ import annotations

from typing import Any

from sibsim.money.capital import CapitalStructure, ServiceCosts
from sibsim.money.contract import Contract
from sibsim.money.deal import BreakevenSearch, Investors
from sibsim.money.evaluation import Evaluation, check_evaluations
from sibsim.money.municipality import Municipality
from sibsim.money.payers import Payer, check_payers
from sibsim.money.termination import read_termination
from sibsim.spec.toml import KeyProblem, Section, build

MONEY_SECTIONS = ("evaluation", "contract", "service_costs", "capital", "municipality",
                  "payers", "investors", "breakeven", "termination", "maturity")


def _tuple(x: Any) -> Any:
    return tuple(x) if isinstance(x, list) else x


def _evaluations(top: Any) -> tuple[Evaluation, ...]:
    raw = top.get("evaluation")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise KeyProblem("evaluation", "expected one or more [[evaluation]] tables")
    out = tuple(Evaluation.from_toml(Section(f"evaluation[{i}]", item))
                for i, item in enumerate(raw))
    return build("evaluation", check_evaluations, evaluations=out)


def _contract(top: Section, currency: str) -> Contract:
    sec = top.sub("contract")
    if sec is None:
        raise KeyProblem("contract", "this table is required with an [[evaluation]]")
    return Contract.from_toml(sec, currency=currency)


def _capital(top: Section, currency: str) -> CapitalStructure:
    sec = top.sub("capital")
    if sec is None:
        raise KeyProblem("capital", "this table is required with a [contract]")
    return CapitalStructure.from_toml(sec, currency=currency)


def _payers(top: Section, contract: Contract, municipality: Municipality,
            m_sec: Section | None) -> tuple[Payer, ...]:
    """``[[payers]]``: none (one commissioner, from ``[municipality]``) or one or more
    tables; with payers, ``[municipality]`` holds only ``discount_rate``."""
    raw = top.get("payers")
    if raw is None:
        return ()
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise KeyProblem("payers", "expected one or more [[payers]] tables")
    if m_sec is not None:
        extra = sorted(set(m_sec.data) - {"discount_rate"})
        if extra:
            raise KeyProblem(f"municipality.{extra[0]}",
                             "with [[payers]], [municipality] holds only discount_rate: put "
                             "each payer's savings and costs in its [[payers]] table")
    out = tuple(Payer.from_toml(Section(f"payers[{i}]", item)) for i, item in enumerate(raw))
    build("payers", check_payers, payers=out, metrics=contract.payment_labels,
          municipality=municipality)
    return out


def parse_money(top: Section, currency: str) -> dict[str, Any]:
    """Read the money tables of a scenario file: keyword arguments of a
    :class:`~sibsim.money.deal.Deal` (empty if the file has none)."""
    present = [name for name in MONEY_SECTIONS if name in top.data]
    if not present:
        return {}
    evaluations = _evaluations(top)
    contract = _contract(top, currency)
    sc_sec = top.sub("service_costs")
    costs, service_periods = ServiceCosts(), 1
    if sc_sec is not None:
        service_periods = sc_sec.get("service_periods", 1)  # a SIBTerms field, read first
        costs = ServiceCosts.from_toml(sc_sec)
    capital = _capital(top, currency)
    m_sec = top.sub("municipality")
    municipality = Municipality()
    if m_sec is not None:
        municipality = build(
            m_sec.key, Municipality, saving_per_event=m_sec.get("saving_per_event", 0.0),
            wider_value_per_event=m_sec.get("wider_value_per_event", 0.0),
            saving_per_person_period=m_sec.get("saving_per_person_period", {}),
            wider_value_per_person_period=m_sec.get("wider_value_per_person_period", {}),
            discount_rate=m_sec.get("discount_rate", 0.035),
            other_costs_per_period=m_sec.get("other_costs_per_period", 0.0),
            contract_periods=m_sec.get("contract_periods"),
            appropriations=m_sec.get("appropriations"))
        m_sec.finish()
    payers = _payers(top, contract, municipality, m_sec)
    measured = {e.metric for e in evaluations}
    for i, t in enumerate(contract.terms):
        if t.metric not in measured:
            raise KeyProblem(f"contract.terms[{i}].metric",
                             f"got {t.metric!r}; allowed: a metric that an [[evaluation]] "
                             f"measures ({', '.join(sorted(measured))})")
    i_sec = top.sub("investors")
    investors = Investors() if i_sec is None else Investors.from_toml(i_sec)
    b_sec = top.sub("breakeven")
    search = BreakevenSearch() if b_sec is None else BreakevenSearch.from_toml(b_sec)
    lifecycle = {"termination": read_termination(top)}  # [[termination]], maturity
    if "maturity" in top.data:
        lifecycle["maturity"] = top.get("maturity")
    return {**lifecycle, "breakeven": search, "evaluations": evaluations, "contract": contract,
            "service_costs": costs, "capital": capital, "municipality": municipality,
            "payers": payers,
            "service_periods": service_periods, "investors": investors}
