"""Cash management: an exact multi-currency ledger and the pure functions around it.

Amounts are exact (int64 fixed-point units at a declared scale of at least 8
decimals, or Decimals at the boundary), never binary floats. The
:class:`Ledger` is the one stateful object; balances, projections,
reconciliation, allocation and liquidity analytics are pure functions over
frames.
"""

from .allocation import (
                         Allocation,
                         allocation_weights,
                         apply_allocation,
                         apply_transfers,
                         cash_history,
                         plan_allocation,
                         split_exact,
)
from .amounts import DEFAULT_SCALE, from_units, to_units
from .analytics import CashDrag, cash_drag, cash_utilization, sweep_plan, yield_on_cash
from .balances import cash_balances, projected_cash
from .calendar import BusinessCalendar
from .forecast import (
                         ForecastBacktest,
                         backtest_forecast,
                         daily_flows,
                         forecast_cash_flows,
)
from .fx import (
                         FxConversion,
                         currency_exposure,
                         flows_in_base,
                         fx_convert,
                         hedge_suggestion,
)
from .ledger import ALLOWED_TRANSITIONS, TRANSACTION_KINDS, Ledger, Limits
from .liquidity import LiquidityStress, liquidity_coverage, stress_test
from .margin_rule import margin_withdrawal_check
from .reconciliation import RECON_STATUSES, Reconciliation, reconcile

__all__ = [
                         "ALLOWED_TRANSITIONS",
                         "DEFAULT_SCALE",
                         "RECON_STATUSES",
                         "TRANSACTION_KINDS",
                         "Allocation",
                         "BusinessCalendar",
                         "CashDrag",
                         "ForecastBacktest",
                         "FxConversion",
                         "Ledger",
                         "Limits",
                         "LiquidityStress",
                         "Reconciliation",
                         "allocation_weights",
                         "apply_allocation",
                         "apply_transfers",
                         "backtest_forecast",
                         "cash_balances",
                         "cash_drag",
                         "cash_history",
                         "cash_utilization",
                         "currency_exposure",
                         "daily_flows",
                         "flows_in_base",
                         "forecast_cash_flows",
                         "from_units",
                         "fx_convert",
                         "hedge_suggestion",
                         "liquidity_coverage",
                         "margin_withdrawal_check",
                         "plan_allocation",
                         "projected_cash",
                         "reconcile",
                         "split_exact",
                         "stress_test",
                         "sweep_plan",
                         "to_units",
                         "yield_on_cash",
]
