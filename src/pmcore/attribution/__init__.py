"""Performance attribution: Brinson (BHB, Brinson-Fachler), multi-level, linking, currency, factor.

Every function takes long frames (pyarrow, polars or pandas) and returns a
frozen result whose frames are of the caller's kind.
"""

from __future__ import annotations

from .brinson import BrinsonResult, brinson
from .contribution import ContributionResult, contribution
from .currency import CurrencyResult, currency_attribution

__all__ = [
    "BrinsonResult",
    "ContributionResult",
    "CurrencyResult",
    "brinson",
    "contribution",
    "currency_attribution",
]
