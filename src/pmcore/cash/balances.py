"""Exact balances of transaction frames: settled, pending in and out, projected by value date."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ..frames import frame_kind, from_arrow, to_arrow
from ..kernels.cash import balance_table, projected_balances as _projected_kernel
from ._frames import key_codes, overflow_error, status_codes
from .amounts import DEFAULT_SCALE, check_scale, units_column, units_to_arrow
from .calendar import to_day

__all__ = ["cash_balances", "projected_cash"]

KEYS = ("portfolio_id", "strategy", "currency")


def _keys(table: pa.Table, by) -> tuple[str, ...]:
    if by is not None:
        return tuple(by)
    return tuple(k for k in KEYS if k in table.column_names or k != "strategy")


def cash_balances(transactions: Any, /, *, by: Any = None, scale: int = DEFAULT_SCALE) -> Any:
    """Exact settled, pending and total balances per portfolio, strategy and currency.

    Parameters
    ----------
    transactions : pyarrow, polars or pandas frame
        One row per ledger line: ``portfolio_id``, ``currency``, ``amount``
        (signed: inflows > 0; decimal, string, integer or float column),
        ``status`` (pending, settled, failed, cancelled) and optionally
        ``strategy``. Key columns may be dictionary (categorical) columns.
    by : sequence of str, keyword-only
        Key columns; default ``portfolio_id``, ``strategy`` (if present),
        ``currency``.
    scale : int, keyword-only
        Decimals of the fixed-point units (8 to 12).

    Returns
    -------
    frame
        The caller's kind, one row per key: the keys, ``settled``,
        ``pending_in``, ``pending_out`` (positive) and ``total`` as exact
        ``decimal128(38, scale)`` columns.

    Notes
    -----
    Amounts become int64 units ``amount * 10**scale`` and are summed exactly
    in one kernel pass; a sum leaving the int64 range raises. Failed and
    cancelled lines count nowhere.

    .. math:: \\text{total} = \\text{settled} + \\text{pending\\_in} - \\text{pending\\_out}

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"portfolio_id": ["A", "A", "A"], "currency": ["USD"] * 3,
    ...               "amount": ["100.10", "-0.20", "5"],
    ...               "status": ["settled", "pending", "cancelled"]})
    >>> b = cash_balances(t)
    >>> [str(b.column(c)[0].as_py()) for c in ("settled", "pending_out", "total")]
    ['100.10000000', '0.20000000', '99.90000000']
    """
    scale = check_scale(scale)
    kind = frame_kind(transactions)
    table = to_arrow(transactions, "transactions")
    keys = _keys(table, by)
    units = units_column(table, "transactions", "amount", scale)
    status = status_codes(table, "transactions")
    group, key_table = key_codes(table, "transactions", keys)
    out = np.zeros((key_table.num_rows, 3), np.int64)
    bad = balance_table(group, status, units, out)
    if bad >= 0:
        raise overflow_error("transactions", int(bad))
    total = out[:, 0] + out[:, 1] - out[:, 2]
    check = out[:, 0].astype(object) + out[:, 1].astype(object) - out[:, 2].astype(object)
    if len(total) and not np.array_equal(total.astype(object), check):
        raise overflow_error("transactions", -1)
    cols = {k: key_table.column(k) for k in keys}
    for j, name in enumerate(("settled", "pending_in", "pending_out")):
        cols[name] = units_to_arrow(out[:, j], scale)
    cols["total"] = units_to_arrow(total, scale)
    return from_arrow(pa.table(cols), kind if kind != "other" else "arrow")


def projected_cash(transactions: Any, dates: Any, /, *, by: Any = None,
                   scale: int = DEFAULT_SCALE) -> Any:
    """Projected balance of each key at the end of each date, by value date.

    Parameters
    ----------
    transactions : frame
        As for :func:`cash_balances`, plus ``value_date`` (a date column).
    dates : sequence of dates
        The days to project to (sorted ascending).
    by, scale : keyword-only
        As for :func:`cash_balances`.

    Returns
    -------
    frame
        Long form, the caller's kind: the keys, ``date`` and ``projected``
        (exact decimal): settled cash plus pending lines whose value date is
        on or before ``date``.

    Notes
    -----
    Settled lines count on every date; failed and cancelled never. The sum is
    exact (int64 units with overflow detection).

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> t = pa.table({"portfolio_id": ["A", "A"], "currency": ["USD", "USD"],
    ...               "amount": ["100", "-30"], "status": ["settled", "pending"],
    ...               "value_date": [dt.date(2026, 11, 20), dt.date(2026, 11, 24)]})
    >>> p = projected_cash(t, ["2026-11-23", "2026-11-24"])
    >>> [str(v) for v in p.column("projected").to_pylist()]
    ['100.00000000', '70.00000000']
    """
    from ..errors import ValidationError

    scale = check_scale(scale)
    kind = frame_kind(transactions)
    table = to_arrow(transactions, "transactions")
    keys = _keys(table, by)
    units = units_column(table, "transactions", "amount", scale)
    status = status_codes(table, "transactions")
    group, key_table = key_codes(table, "transactions", keys)
    from ..frames import require_columns
    require_columns(table, "transactions", ["value_date"])
    vd = table.column("value_date").cast(pa.date32()).to_numpy(zero_copy_only=False)
    value_day = vd.astype("datetime64[D]").astype(np.int64)
    days = np.array([to_day(d, "dates") for d in dates], np.int64)
    if len(days) > 1 and np.any(np.diff(days) <= 0):
        raise ValidationError("is not strictly increasing", argument="dates",
                              expected="sorted distinct dates")
    out = np.zeros((key_table.num_rows, len(days)), np.int64)
    if len(days):
        bad = _projected_kernel(group, status, value_day, units, days, out)
        if bad >= 0:
            raise overflow_error("transactions", int(bad))
    n_k, n_d = out.shape
    rep = np.repeat(np.arange(n_k), n_d)
    cols = {k: key_table.column(k).take(pa.array(rep)) for k in keys}
    cols["date"] = pa.array(np.tile(days, n_k).astype("datetime64[D]"), pa.date32())
    cols["projected"] = units_to_arrow(out.reshape(-1), scale)
    return from_arrow(pa.table(cols), kind if kind != "other" else "arrow")
