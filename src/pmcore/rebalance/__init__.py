"""Rebalancing: drift, triggers, costs, trade lists, tax lots, liquidity, netting, backtests.

The modules are named apart from the functions they define (``drifts`` holds
:func:`drift`, ``backtests`` holds :func:`backtest`), so that importing a
module never shadows a function of the package.
"""

from .backtests import BacktestResult, PolicyContext, backtest, optimizer_policy
from .costs import CostModel, estimate_costs
from .drifts import Drift, drift
from .liquidity import LiquiditySchedule, liquidity_schedule
from .log import RebalanceLog, rebalance_log
from .netting import Netting, net_sleeves
from .optimal import OptimalRebalance, optimal_rebalance
from .tax import LotSelection, check_lots, select_lots
from .trades import TradeList, trade_list
from .triggers import TriggerDecision, check_triggers
from .wash import WashSaleCheck, avoid_wash_sales, wash_sale_violations

__all__ = [
    "BacktestResult",
    "CostModel",
    "Drift",
    "LiquiditySchedule",
    "LotSelection",
    "Netting",
    "OptimalRebalance",
    "PolicyContext",
    "RebalanceLog",
    "TradeList",
    "TriggerDecision",
    "WashSaleCheck",
    "avoid_wash_sales",
    "backtest",
    "check_lots",
    "check_triggers",
    "drift",
    "estimate_costs",
    "liquidity_schedule",
    "net_sleeves",
    "optimal_rebalance",
    "optimizer_policy",
    "rebalance_log",
    "select_lots",
    "trade_list",
    "wash_sale_violations",
]
