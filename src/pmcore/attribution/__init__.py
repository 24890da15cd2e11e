"""Performance attribution: Brinson (BHB, Brinson-Fachler, geometric), multi-level, linking, currency, factor.

Every function takes long frames (pyarrow, polars or pandas) and returns a
frozen result whose frames are of the caller's kind.
"""

from __future__ import annotations

from .brinson_effects import BrinsonResult, brinson
from .contributions import ContributionResult, contribution
from .currency import CurrencyResult, currency_attribution
from .factor import (
    FactorRegressionResult,
    HoldingsFactorResult,
    factor_regression,
    holdings_factor_attribution,
)
from .geometric import GeometricResult, geometric_brinson
from .risk import RiskAttributionResult, risk_attribution

__all__ = [
    "BrinsonResult",
    "ContributionResult",
    "CurrencyResult",
    "FactorRegressionResult",
    "GeometricResult",
    "HoldingsFactorResult",
    "RiskAttributionResult",
    "brinson",
    "contribution",
    "currency_attribution",
    "factor_regression",
    "geometric_brinson",
    "holdings_factor_attribution",
    "risk_attribution",
]
