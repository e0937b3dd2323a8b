"""The money layer: evaluation, outcome payments, capital structure and cash-flow waterfall."""

from sibsim.money.capital import (
    GUARANTEES,
    CapitalStructure,
    Fees,
    FirstLossGuarantee,
    Guarantee,
    ProRataGuarantee,
    ServiceCosts,
    Tranche,
)
from sibsim.money.cashflows import CashFlows, waterfall

__all__ = [
    "GUARANTEES",
    "CapitalStructure",
    "CashFlows",
    "Fees",
    "FirstLossGuarantee",
    "Guarantee",
    "ProRataGuarantee",
    "ServiceCosts",
    "Tranche",
    "waterfall",
]
