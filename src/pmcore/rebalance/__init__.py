"""Rebalancing: drift of many accounts from their targets, triggers, costs, trade lists and their log.

The modules are named apart from the functions they define (``drifts`` holds
:func:`drift`), so that importing a module never shadows a function of the
package.
"""

from .costs import CostModel, estimate_costs
from .drifts import Drift, drift
from .log import RebalanceLog, rebalance_log
from .trades import TradeList, trade_list
from .triggers import TriggerDecision, check_triggers

__all__ = [
    "CostModel",
    "Drift",
    "RebalanceLog",
    "TradeList",
    "TriggerDecision",
    "check_triggers",
    "drift",
    "estimate_costs",
    "rebalance_log",
    "trade_list",
]
