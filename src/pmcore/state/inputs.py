"""Coercion and validation of the updates a state receives (fills, cash flows, prices, fx)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationError
from ..frames import encode, id_column, require_columns, to_arrow
from ..kernels import state as ks

__all__ = ["to_ns", "now_ns", "FILL_REASONS"]

INT64_MIN = np.iinfo(np.int64).min
INT64_MAX = np.iinfo(np.int64).max

# static reasons (per-row codes >= 10) and their messages
R_PORTFOLIO, R_INSTRUMENT, R_QTY, R_PRICE, R_FEE, R_FEE_CCY, R_TYPE, R_SIDE, R_ID, R_DUP_STR, R_AMOUNT, R_CCY, \
    R_FLOW = range(10, 23)
FILL_REASONS = {
    R_PORTFOLIO: "unknown portfolio",
    R_INSTRUMENT: "unknown instrument",
    R_QTY: "quantity must be a finite non-zero number",
    R_PRICE: "price must be a finite number > 0",
    R_FEE: "fee must be a finite number >= 0",
    R_FEE_CCY: "unknown fee currency",
    R_TYPE: f"transaction type must be one of {list(ks.TRANSACTION_TYPES)}",
    R_SIDE: "quantity sign contradicts the transaction type (buy > 0, sell < 0)",
    R_ID: "missing or invalid id",
    R_DUP_STR: "duplicate fill id (seen before)",
    R_AMOUNT: "amount must be finite (and > 0 for deposit, withdrawal and fee)",
    R_CCY: "unknown currency",
    R_FLOW: f"flow type must be one of {list(ks.FLOW_TYPES)}",
    ks.REJ_SHORT: "would take a no-short cash account below zero",  # a sell ending below zero
    ks.REJ_DUPLICATE: "duplicate fill id (seen before)",
    ks.REJ_SUSPENDED: "position is SUSPENDED",
    ks.REJ_CASH: "withdrawal larger than available cash",
}


def now_ns() -> int:
    return time.time_ns()


def to_ns(value: Any, arg: str = "timestamp") -> int:
    """A point in time as ns since epoch (UTC): datetime (naive = UTC), numpy datetime64 or int ns."""
    if value is None:
        return now_ns()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(value, dt.date):
        return to_ns(dt.datetime(value.year, value.month, value.day), arg)
    ts = getattr(value, "value", None)  # pandas Timestamp
    if isinstance(ts, int):
        return ts
    raise ValidationError("must be a point in time", argument=arg, value=value,
                          expected="a datetime, numpy.datetime64 or int nanoseconds since epoch")


def _one_chunk(col):
    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col


def _numbers(table: pa.Table, name: str, default: float | None, arg: str = "fills") -> np.ndarray:
    """Column as float64 with nulls as NaN (rules are checked per row by the caller)."""
    if name not in table.column_names:
        if default is None:
            require_columns(table, arg, [name])
        return np.full(table.num_rows, float(default))
    col = table.column(name)
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type) or pa.types.is_decimal(col.type)
            or pa.types.is_null(col.type)):
        raise ValidationError("has the wrong type", argument=arg, column=name, value=str(col.type),
                              expected="a numeric column")
    if pa.types.is_null(col.type):
        return np.full(table.num_rows, np.nan)
    arr = _one_chunk(col)
    if arr.type != pa.float64():
        arr = arr.cast(pa.float64())
    if arr.null_count:
        arr = arr.fill_null(np.nan)
    return arr.to_numpy(zero_copy_only=False)


def timestamps(table: pa.Table, arg: str) -> np.ndarray:
    """int64 ns per row: a timestamp column (any unit, naive = UTC) or int ns; now when missing."""
    if "timestamp" not in table.column_names:
        return np.full(table.num_rows, now_ns(), np.int64)
    col = table.column("timestamp")
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.timestamp("ns", col.type.tz)).cast(pa.int64())
    elif pa.types.is_date(col.type):
        col = col.cast(pa.timestamp("ns")).cast(pa.int64())
    elif not pa.types.is_integer(col.type):
        raise ValidationError("has the wrong type", argument=arg, column="timestamp", value=str(col.type),
                              expected="a timestamp column or int64 nanoseconds since epoch")
    arr = _one_chunk(col)
    if arr.null_count:
        row = int(np.flatnonzero(~np.asarray(arr.is_valid()))[0])
        raise ValidationError("is null", argument=arg, column="timestamp", row=row, expected="a timestamp")
    return arr.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def codes(table: pa.Table, arg: str, name: str, dictionary: pa.Array, default: np.ndarray | None = None):
    """int32 codes of id column ``name`` in ``dictionary`` (-1 unknown); ``default`` if the column is absent."""
    if name not in table.column_names and default is not None:
        return default, None
    ids = id_column(table, arg, name)
    c, _ = encode(ids, dictionary)
    return c, ids


def fill_ids(table: pa.Table, arg: str, name: str, required: bool = True):
    """(int64 ids or None, string ids as list or None, raw Arrow column)."""
    if name not in table.column_names:
        if required:
            require_columns(table, arg, [name])
        return None, None, None
    ids = id_column(table, arg, name)
    if pa.types.is_integer(ids.type):
        return ids.cast(pa.int64()).to_numpy(), None, ids
    return None, ids.cast(pa.string()).to_pylist(), ids


def enum_codes(table: pa.Table, arg: str, name: str, names: tuple, default: int) -> np.ndarray:
    """int8 codes of a string column in ``names`` (-1 unknown), ``default`` if absent."""
    if name not in table.column_names:
        return np.full(table.num_rows, default, np.int8)
    col = id_column(table, arg, name)
    low = pc.utf8_lower(col.cast(pa.string()))
    c, _ = encode(low, pa.array(names, pa.string()))
    return c.astype(np.int8)


def frame(obj: Any, arg: str, required: tuple) -> pa.Table:
    table = to_arrow(obj, arg)
    require_columns(table, arg, required)
    return table
