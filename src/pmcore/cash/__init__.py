"""Cash management: an exact multi-currency ledger and the pure functions around it.

Amounts are exact (int64 fixed-point units at a declared scale of at least 8
decimals, or Decimals at the boundary), never binary floats. The
:class:`Ledger` is the one stateful object; balances, projections,
reconciliation, allocation and liquidity analytics are pure functions over
frames.
"""

from .allocation import (Allocation, allocation_weights, apply_allocation, cash_history,
                         plan_allocation, split_exact)
from .amounts import DEFAULT_SCALE, from_units, to_units
from .balances import cash_balances, projected_cash
from .calendar import BusinessCalendar
from .fx import FxConversion, currency_exposure, flows_in_base, fx_convert, hedge_suggestion
from .ledger import ALLOWED_TRANSITIONS, TRANSACTION_KINDS, Ledger, Limits
from .reconcile import RECON_STATUSES, Reconciliation, reconcile

__all__ = [
    "ALLOWED_TRANSITIONS", "Allocation", "BusinessCalendar", "DEFAULT_SCALE", "FxConversion",
    "Ledger", "Limits", "RECON_STATUSES", "Reconciliation", "TRANSACTION_KINDS",
    "allocation_weights", "apply_allocation", "cash_balances", "cash_history", "currency_exposure",
    "flows_in_base", "from_units", "fx_convert", "hedge_suggestion", "plan_allocation",
    "projected_cash", "reconcile", "split_exact", "to_units",
]
