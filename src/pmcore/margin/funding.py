"""Funding payments of perpetual futures and borrowing cost of margin debt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from ..book import _check_unique
from ..errors import ValidationError
from ..frames import encode, float_column, frame_kind, from_arrow, id_column, require_columns, to_arrow
from ..kernels import margin as km
from ..market import position_portfolio
from .checks import _positive
from .state import MarginState

__all__ = ["funding_payments", "borrowing_cost"]


def _rate_table(rates: Any, arg: str, key: str, column: str) -> tuple[pa.Array, np.ndarray]:
    if isinstance(rates, Mapping) and frame_kind(rates) == "other" and not any(
        isinstance(v, (list, tuple, np.ndarray)) for v in rates.values()
    ):
        rates = {key: list(rates.keys()), column: list(rates.values())}
    table = to_arrow(rates, arg)
    require_columns(table, arg, [key, column])
    ids = id_column(table, arg, key)
    _check_unique(ids, arg, key)
    return ids, float_column(table, arg, column)


def funding_payments(state: MarginState, rates: Any, /, *, hours: float = 8.0,
                     interval_hours: float = 8.0, by: str = "position") -> Any:
    """Funding paid or received by each perpetual position over a period.

    Parameters
    ----------
    state : MarginState
    rates : frame or mapping
        Columns ``instrument_id`` and ``funding_rate`` (per funding interval,
        a fraction: 0.0001 is 0.01 %), or a mapping ``{instrument_id: rate}``.
        Positions in instruments without a rate pay nothing.
    hours : float, keyword-only
        Length of the period (default 8).
    interval_hours : float, keyword-only
        The exchange's funding interval (default 8 hours): the period holds
        ``floor(hours / interval_hours)`` payments.
    by : {"position", "account"}, keyword-only

    Returns
    -------
    frame
        The book's kind. By position: portfolio_id, instrument_id, quantity,
        notional, funding_rate, payments, funding. By account: portfolio_id,
        funding. ``funding`` > 0 is received, < 0 paid (base currency).

    Notes
    -----
    Per payment a position pays :math:`s \\cdot N \\cdot r` with side
    :math:`s = \\pm 1`, notional :math:`N = |q| P u` at the mark price and
    funding rate :math:`r`: longs pay shorts when the rate is positive,
    shorts pay longs when it is negative. Over :math:`n` payments the
    position receives :math:`-s N r n` (the rate held constant).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.margin import margin_state, funding_payments
    >>> positions = pa.table({"portfolio_id": ["F", "F"], "instrument_id": ["BTC", "ETH"],
    ...                       "quantity": [0.5, -10.0], "avg_price": [60_000.0, 3_000.0]})
    >>> instruments = pa.table({"instrument_id": ["BTC", "ETH"], "currency": ["USD", "USD"]})
    >>> cash = pa.table({"portfolio_id": ["F"], "currency": ["USD"], "amount": [20_000.0]})
    >>> st = margin_state(positions, {"instrument_id": ["BTC", "ETH"], "price": [60_000.0, 3_000.0]},
    ...                   instruments=instruments, cash=cash, accounts={"F": "margin"})
    >>> out = funding_payments(st, {"BTC": 0.0001, "ETH": 0.0001}, hours=24)
    >>> out.column("funding").to_pylist()  # long pays 30,000 x 0.01 % x 3, short receives
    [-9.0, 9.0]
    """
    if by not in ("position", "account"):
        raise ValidationError("is not a grouping", argument="by", value=by,
                              expected="'position' or 'account'")
    h = _positive(hours, "hours")
    step = _positive(interval_hours, "interval_hours")
    n_pay = float(np.floor(h / step + 1e-9))
    ids, rate = _rate_table(rates, "rates", "instrument_id", "funding_rate")
    bk = state.book
    idx, _ = encode(ids, bk.instrument_ids)
    if len(idx) and idx.min() < 0:
        row = int(np.flatnonzero(idx < 0)[0])
        raise ValidationError("names an instrument that is not in the book", argument="rates",
                              column="instrument_id", row=row, value=ids[row].as_py())
    per_inst = np.full(bk.n_instruments, np.nan)
    per_inst[idx] = rate
    rows = state.positions_index
    r = per_inst[bk.instrument[rows]]
    notional = state.position_matrix_[rows, km.NOTIONAL]
    funding = -np.sign(bk.quantity[rows]) * notional * np.nan_to_num(r) * n_pay
    pcode = position_portfolio(bk)[rows]
    if by == "account":
        total = np.bincount(pcode, weights=funding, minlength=bk.n_portfolios)
        table = pa.table({"portfolio_id": state.portfolio_ids, "funding": total[state.accounts_index]})
    else:
        table = pa.table({
            "portfolio_id": bk.portfolio_ids.take(pcode),
            "instrument_id": bk.instrument_ids.take(bk.instrument[rows]),
            "quantity": bk.quantity[rows],
            "notional": notional,
            "funding_rate": pa.array(r, from_pandas=True),
            "payments": np.full(len(rows), int(n_pay)),
            "funding": funding,
        })
    return from_arrow(table, bk.kind)


def borrowing_cost(state: MarginState, /, *, annual_rate: Any, days: float,
                   day_count: float = 365.0) -> Any:
    """Interest on each margin account's debt (negative cash balances) over a period.

    Parameters
    ----------
    state : MarginState
    annual_rate : float, mapping or frame, keyword-only
        Yearly interest rate as a fraction: one number, a mapping
        ``{currency: rate}`` or a frame with ``currency`` and ``annual_rate``.
        Currencies left out of a mapping borrow at 0.
    days : float, keyword-only
        Length of the period in days.
    day_count : float, keyword-only
        Days in a year (365 default; 360 for money-market convention).

    Returns
    -------
    frame
        One row per margin account (the book's kind): portfolio_id, debt
        (base currency, >= 0) and cost (base currency, >= 0).

    Notes
    -----
    Simple interest per negative cash balance :math:`C_c < 0` in currency
    :math:`c` with fx rate :math:`x_c`:

    .. math::

        \\text{cost} = \\sum_c \\max(-C_c, 0) \\, x_c \\, r_c \\, \\frac{d}{D}

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.margin import margin_state, borrowing_cost
    >>> positions = pa.table({"portfolio_id": ["F"], "instrument_id": ["ES"],
    ...                       "quantity": [1.0], "avg_price": [5_000.0]})
    >>> instruments = pa.table({"instrument_id": ["ES"], "currency": ["USD"]})
    >>> cash = pa.table({"portfolio_id": ["F", "F"], "currency": ["USD", "EUR"],
    ...                  "amount": [50_000.0, -10_000.0]})
    >>> st = margin_state(positions, {"instrument_id": ["ES"], "price": [5_000.0]},
    ...                   {"EUR": 1.25}, instruments=instruments, cash=cash,
    ...                   accounts={"F": "margin"})
    >>> borrowing_cost(st, annual_rate={"EUR": 0.05}, days=73).to_pylist()
    [{'portfolio_id': 'F', 'debt': 12500.0, 'cost': 125.0}]
    """
    d = float(days) if isinstance(days, (int, float)) and days == 0 else _positive(days, "days")
    year = _positive(day_count, "day_count")
    bk = state.book
    n_c = len(bk.currencies)
    if isinstance(annual_rate, (int, float)) and not isinstance(annual_rate, bool):
        if not (0.0 <= annual_rate < np.inf):
            raise ValidationError("must be a rate >= 0", argument="annual_rate", value=annual_rate,
                                  expected="a yearly rate as a fraction (0.05 means 5 %)")
        per_cur = np.full(n_c, float(annual_rate))
    else:
        cur, rate = _rate_table(annual_rate, "annual_rate", "currency", "annual_rate")
        if (rate < 0).any():
            row = int(np.flatnonzero(rate < 0)[0])
            raise ValidationError("holds a negative rate", argument="annual_rate", column="annual_rate",
                                  row=row, value=float(rate[row]), expected="a rate >= 0")
        idx, _ = encode(cur.cast(pa.string()), bk.currencies)
        per_cur = np.zeros(n_c)
        per_cur[idx[idx >= 0]] = rate[idx >= 0]
    amount = bk.cash_amounts[:, 0] if len(bk.cash_amounts) else np.zeros(0)
    debt_rows = np.maximum(-amount, 0.0) * state.fx[bk.cash_currency]
    owner = np.repeat(np.arange(bk.n_portfolios), np.diff(bk.cash_offsets))
    debt = np.bincount(owner, weights=debt_rows, minlength=bk.n_portfolios)
    cost = np.bincount(owner, weights=debt_rows * per_cur[bk.cash_currency] * d / year,
                       minlength=bk.n_portfolios)
    a = state.accounts_index
    return from_arrow(pa.table({"portfolio_id": state.portfolio_ids, "debt": debt[a], "cost": cost[a]}),
                      bk.kind)
