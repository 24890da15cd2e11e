"""Column names and rules of the core tables.

========== ================================================================
table      columns (required first, then optional with their default)
========== ================================================================
positions  portfolio_id, instrument_id, quantity (signed: long > 0,
           short < 0), avg_price (cost per unit, instrument currency, >= 0)
instruments instrument_id, currency; multiplier (> 0, default 1); any
           grouping columns (sector, country, asset_class, ...)
prices     instrument_id, price (> 0); timestamp (for ``max_age``)
fx         currency, rate (> 0): value in base currency of one unit
cash       portfolio_id, currency, amount (may be negative: margin debt);
           locked (>= 0, default 0): funds held for open orders
accounts   portfolio_id, account_type (``"cash"`` or ``"margin"``, default
           ``"cash"``)
========== ================================================================
"""

from __future__ import annotations

__all__ = [
    "POSITIONS", "INSTRUMENTS", "PRICES", "FX", "CASH", "ACCOUNTS",
    "ACCOUNT_TYPES", "DEFAULT_BASE_CURRENCY",
]

POSITIONS = ("portfolio_id", "instrument_id", "quantity", "avg_price")
INSTRUMENTS = ("instrument_id", "currency")
PRICES = ("instrument_id", "price")
FX = ("currency", "rate")
CASH = ("portfolio_id", "currency", "amount")
ACCOUNTS = ("portfolio_id", "account_type")

ACCOUNT_TYPES = ("cash", "margin")
DEFAULT_BASE_CURRENCY = "USD"

# the instrument columns that are not grouping columns
INSTRUMENT_RESERVED = ("multiplier",)
