"""Exact balances of transaction frames: settled, pending in and out, projected by value date."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import frame_kind, from_arrow, require_columns, to_arrow
from ..kernels.cash import keyed_balances
from ..kernels.cash import projected_balances as _projected_kernel
from ._frames import (
    _DENSE_LIMIT,
    amount_words,
    key_codes,
    key_column,
    overflow_error,
    status_codes,
    status_lookup,
)
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
    if len(keys) > 3:
        raise ValidationError("has more than three key columns", argument="by", value=list(keys))
    require_columns(table, "transactions", [*keys, "amount", "status"])
    codes, dicts = zip(*(key_column(table, "transactions", k) for k in keys)) if keys else ((), ())
    n = table.num_rows
    sizes = [max(len(d), 1) for d in dicts]
    zero = np.zeros(1, np.int8)
    pad = [np.broadcast_to(zero, (n,))] * (3 - len(keys))
    c0, c1, c2 = (*pad, *codes)
    n1, n2 = ([1] * (3 - len(keys)) + sizes)[1:]
    n_cells = int(np.prod(sizes, dtype=np.float64)) if sizes else 1
    key_table = None
    if n_cells > _DENSE_LIMIT:  # sparse key space: number the groups by sorting
        group, key_table = key_codes(table, "transactions", keys)
        c0 = c1 = np.broadcast_to(zero, (n,))
        c2, n1, n2, n_cells = group, 1, 1, key_table.num_rows
    lo, hi = amount_words(table, "transactions", "amount", scale)
    sidx, smap = status_lookup(table, "transactions")
    out = np.zeros((n_cells, 4), np.int64)
    bad = keyed_balances(c0, c1, c2, np.int64(n1), np.int64(n2), sidx, smap, lo, hi, out)
    if bad <= -2:
        r = -2 - int(bad)
        raise ValidationError("does not fit the int64 fixed-point range", argument="transactions",
                              column="amount", row=r, expected="|amount| <= 92,233,720,368 at scale 8")
    if bad >= 0:
        raise overflow_error("transactions", int(bad))
    present = np.flatnonzero(out[:, 3])
    if key_table is None:
        cols = {}
        rest = present.copy()
        for name, d, size in reversed(list(zip(keys, dicts, sizes))):
            cols[name] = d.take(pa.array(rest % size))
            rest //= size
        cols = {k: cols[k] for k in keys}
    else:
        cols = {k: key_table.column(k).take(pa.array(present)) for k in keys}
    sums = out[present, :3]
    settled, pin, pout = sums[:, 0], sums[:, 1], sums[:, 2]
    t1 = settled + pin
    total = t1 - pout
    if (((settled ^ t1) & (pin ^ t1)) < 0).any() or (((t1 ^ total) & (t1 ^ pout)) < 0).any():
        raise overflow_error("transactions", -1)
    for name, v in (("settled", settled), ("pending_in", pin), ("pending_out", pout), ("total", total)):
        cols[name] = units_to_arrow(v, scale)
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
