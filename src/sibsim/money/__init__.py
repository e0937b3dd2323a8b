"""Money layer: evaluation (measured effect), outcome payments, capital waterfall, the
commissioner's savings, IRR/NPV."""

from sibsim.money.evaluation import (
    EVALUATION_DESIGNS,
    RCT,
    BeforeAfter,
    Evaluation,
    EvaluationDesign,
    Historical,
    Matched,
    check_evaluations,
    evaluate,
)

__all__ = [
    "EVALUATION_DESIGNS",
    "RCT",
    "BeforeAfter",
    "Evaluation",
    "EvaluationDesign",
    "Historical",
    "Matched",
    "check_evaluations",
    "evaluate",
]
