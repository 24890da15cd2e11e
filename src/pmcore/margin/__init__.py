"""Margin, liquidation, monitoring, pre-trade checks, position sizing and allocation limits.

Pure functions over a :class:`pmcore.Book` (or positions frames) and market
data; the hot loops are the Numba kernels of :mod:`pmcore.kernels.margin`.
"""

from __future__ import annotations

from .allocation import (
    AllocationLimits,
    AllocationReport,
    Breach,
    LimitCheck,
    allocation_report,
    check_allocation,
    correlated_groups,
)
from .brackets import maintenance_amounts, sample_margin_brackets
from .checks import ModeSwitch, OrderCheck, check_margin_mode_switch, max_withdrawal, pre_trade_check
from .funding import borrowing_cost, funding_payments
from .monitor import MarginAlerts, margin_alerts
from .sizing import PositionSize, position_size
from .state import MarginState, margin_state

__all__ = [
    "AllocationLimits",
    "AllocationReport",
    "Breach",
    "LimitCheck",
    "allocation_report",
    "check_allocation",
    "correlated_groups",
    "MarginAlerts",
    "MarginState",
    "ModeSwitch",
    "OrderCheck",
    "PositionSize",
    "borrowing_cost",
    "check_margin_mode_switch",
    "funding_payments",
    "maintenance_amounts",
    "margin_alerts",
    "margin_state",
    "max_withdrawal",
    "position_size",
    "pre_trade_check",
    "sample_margin_brackets",
]
