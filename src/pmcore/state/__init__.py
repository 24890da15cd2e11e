"""The portfolio state engine: ``PortfolioState`` and what it reports.

``PortfolioState`` applies fills, cash flows and price/fx updates to many
portfolios, reports each update's impact, notifies subscribers, and, given a
directory, journals every update durably before acknowledging it.
"""

from .engine import PortfolioState, RecoveryInfo
from .events import PortfolioStateUpdated, Subscription
from .impact import BatchImpact, ExposureChange, FillImpact, PositionChange

__all__ = [
    "PortfolioState", "RecoveryInfo", "PortfolioStateUpdated", "Subscription",
    "FillImpact", "BatchImpact", "PositionChange", "ExposureChange",
]
