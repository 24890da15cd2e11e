"""Rebalancing: drift of many accounts from their targets, triggers, costs, trade lists and their log."""

from .costs import CostModel, estimate_costs
from .drift import Drift, drift
from .trades import TradeList, trade_list
from .triggers import TriggerDecision, check_triggers

__all__ = [
    "CostModel",
    "Drift",
    "TradeList",
    "TriggerDecision",
    "check_triggers",
    "drift",
    "estimate_costs",
    "trade_list",
]
