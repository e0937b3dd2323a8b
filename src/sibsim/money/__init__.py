"""The money layer: the deal, evaluation (measured effect), outcome payments, capital structure
and cash-flow waterfall, the payers' (commissioners') savings, IRR and NPV."""

from sibsim.money.capital import (
    CAPITAL_KINDS,
    GUARANTEES,
    Capital,
    CapitalStructure,
    DeferredFees,
    Fees,
    FirstLossGuarantee,
    Grant,
    Guarantee,
    ProRataGuarantee,
    ServiceCosts,
    Tranche,
)
from sibsim.money.cashflows import CashFlows, waterfall
from sibsim.money.contract import Caps, Contract, MetricTerms
from sibsim.money.deal import BreakevenSearch, Deal, Investors
from sibsim.money.evaluation import (
    EVALUATION_DESIGNS,
    RCT,
    BeforeAfter,
    Blend,
    Evaluation,
    EvaluationDesign,
    Historical,
    Matched,
    Predicted,
    check_evaluations,
    evaluate,
)
from sibsim.money.irr import IRRStatus, irr, npv
from sibsim.money.money_metric import MoneyValue
from sibsim.money.municipality import Municipality, per_period_rate
from sibsim.money.payers import Payer, PayerSplit, split_by_payer
from sibsim.money.pricing import (
    PRICING_RULES,
    ClaimShare,
    LinearFloorCap,
    PricePerUnit,
    PricingRule,
    SavingsShare,
    StepSchedule,
)
from sibsim.money.ratecard import RateCard
from sibsim.money.results import Achievements, EvaluationTable, PaymentResult
from sibsim.money.sib import counterfactual, money_flows
from sibsim.money.termination import (
    TERMINATION_RULES,
    CancelLaterCohorts,
    EffectBelow,
    EndStratum,
    StopLoss,
    TerminationRule,
)

__all__ = [
    "CAPITAL_KINDS",
    "EVALUATION_DESIGNS",
    "GUARANTEES",
    "PRICING_RULES",
    "RCT",
    "TERMINATION_RULES",
    "Achievements",
    "BeforeAfter",
    "Blend",
    "BreakevenSearch",
    "CancelLaterCohorts",
    "Capital",
    "CapitalStructure",
    "Caps",
    "CashFlows",
    "ClaimShare",
    "Contract",
    "Deal",
    "DeferredFees",
    "EffectBelow",
    "EndStratum",
    "Evaluation",
    "EvaluationDesign",
    "EvaluationTable",
    "Fees",
    "FirstLossGuarantee",
    "Grant",
    "Guarantee",
    "Historical",
    "IRRStatus",
    "Investors",
    "LinearFloorCap",
    "Matched",
    "MetricTerms",
    "MoneyValue",
    "Municipality",
    "Payer",
    "PayerSplit",
    "PaymentResult",
    "Predicted",
    "PricePerUnit",
    "PricingRule",
    "ProRataGuarantee",
    "RateCard",
    "SavingsShare",
    "ServiceCosts",
    "StepSchedule",
    "StopLoss",
    "TerminationRule",
    "Tranche",
    "check_evaluations",
    "counterfactual",
    "evaluate",
    "irr",
    "money_flows",
    "npv",
    "per_period_rate",
    "split_by_payer",
    "waterfall",
]
