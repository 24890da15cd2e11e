"""Cash management: an exact multi-currency ledger and the pure functions around it.

Amounts are exact (int64 fixed-point units at a declared scale of at least 8
decimals, or Decimals at the boundary), never binary floats. The
:class:`Ledger` is the one stateful object; balances, projections,
reconciliation, allocation and liquidity analytics are pure functions over
frames.
"""

from .amounts import DEFAULT_SCALE, from_units, to_units
from .balances import cash_balances, projected_cash
from .calendar import BusinessCalendar
from .ledger import ALLOWED_TRANSITIONS, TRANSACTION_KINDS, Ledger, Limits

__all__ = [
    "ALLOWED_TRANSITIONS", "BusinessCalendar", "DEFAULT_SCALE", "Ledger", "Limits",
    "TRANSACTION_KINDS", "cash_balances", "from_units", "projected_cash", "to_units",
]
