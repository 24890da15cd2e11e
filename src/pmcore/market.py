"""Market data aligned to a book: prices and fx rates by code, price ages.

Frames are looked up by id once; arrays aligned to ``book.instrument_ids`` /
``book.currencies`` pass through with a validity check only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import schema
from .book import Book, _check_unique
from .errors import ValidationError
from .frames import encode, float_column, id_column, require_columns, to_arrow
from .kernels.valuation import first_invalid

__all__ = ["align_prices", "align_fx", "stale_positions", "position_portfolio"]


def position_portfolio(book: Book) -> np.ndarray:
    """int64[n_positions]: portfolio code of each position (book order)."""
    return np.repeat(np.arange(book.n_portfolios), np.diff(book.offsets))




def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _to_ns(value: Any, arg: str) -> int:
    """A point in time (datetime, numpy datetime64, pandas Timestamp) in ns since epoch (UTC)."""
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    raise ValidationError("must be a point in time", argument=arg, value=value,
                          expected="a datetime or numpy.datetime64")


def _age_ns(max_age: Any) -> int:
    if isinstance(max_age, dt.timedelta):
        ns = (max_age.days * 86_400 + max_age.seconds) * 1_000_000_000 + max_age.microseconds * 1000
    elif isinstance(max_age, np.timedelta64):
        ns = int(max_age.astype("timedelta64[ns]").astype(np.int64))
    elif isinstance(max_age, (int, float)) and not isinstance(max_age, bool) and np.isfinite(max_age):
        ns = int(round(float(max_age) * 1e9))
    else:
        raise ValidationError("must be a duration", argument="max_age", value=max_age,
                              expected="a timedelta or a number of seconds >= 0")
    if ns < 0:
        raise ValidationError("must not be negative", argument="max_age", value=max_age,
                              expected="a duration >= 0")
    return ns


def _buffers_key(ids: pa.Array) -> tuple:
    """Identity of an Arrow array's contents: type, length, offset and buffer addresses."""
    return (str(ids.type), len(ids), ids.offset,
            tuple(b.address if b is not None else 0 for b in ids.buffers()))


def _price_index(book: Book, ids: pa.Array) -> np.ndarray:
    """Row of the prices frame for each of the book's instruments (-1: none); ids checked unique.

    The result for the last ids array is kept in ``book.memo`` together with
    the array itself: while it is held its buffers cannot be freed and reused,
    and Arrow buffers are immutable, so equal buffer addresses mean equal ids.
    Calling value, exposures and positions with one prices frame (pyarrow, or
    polars, whose Arrow export is zero copy) hashes its ids once.
    """
    key = _buffers_key(ids)
    hit = book.memo.get("prices")
    if hit is not None and hit[0] == key:
        return hit[2]
    _check_unique(ids, "prices", "instrument_id")
    idx, _ = encode(book.instrument_ids, ids)
    idx.flags.writeable = False
    book.memo["prices"] = (key, ids, idx)
    return idx


def align_prices(book: Book, prices: Any, *, timestamps: bool = False):
    """Return (price vector aligned to ``book.instrument_ids``, timestamps in ns or None)."""
    if isinstance(prices, (np.ndarray, list, tuple)):
        vec = np.asarray(prices, dtype=np.float64)
        if vec.shape != book.held.shape:
            raise ValidationError(
                "has the wrong shape", argument="prices", value=vec.shape,
                expected=f"({book.n_instruments},): one price per instrument of the book",
            )
        row = first_invalid(vec, book.held)
        if row >= 0:
            raise ValidationError(
                f"has no valid price for held instrument {book.instrument_ids[row].as_py()!r}",
                argument="prices", row=row, value=float(vec[row]), expected="a finite number > 0",
            )
        return vec, None
    table = to_arrow(prices, "prices")
    require_columns(table, "prices", schema.PRICES)
    ids = id_column(table, "prices", "instrument_id")
    px = float_column(table, "prices", "price", positive=True)
    idx = _price_index(book, ids)
    missing = book.held & (idx < 0)
    if missing.any():
        i = _first_bad(missing)
        raise ValidationError(
            f"has no price for instrument {book.instrument_ids[i].as_py()!r}",
            argument="prices", column="instrument_id", value=book.instrument_ids[i].as_py(),
            expected="a price for every instrument held",
        )
    vec = np.where(idx >= 0, px[np.maximum(idx, 0)], np.nan) if len(px) else np.full(len(idx), np.nan)
    ts = None
    if timestamps:
        if "timestamp" not in table.column_names:
            raise ValidationError(
                "has no 'timestamp' column, which max_age needs", argument="prices",
                expected=f"columns {list(schema.PRICES) + ['timestamp']}",
            )
        col = table.column("timestamp")
        if not pa.types.is_timestamp(col.type):
            raise ValidationError("has the wrong type", argument="prices", column="timestamp",
                                  value=str(col.type), expected="a timestamp column")
        raw = pc.cast(col.cast(pa.timestamp("ns", col.type.tz)), pa.int64())
        raw = raw.combine_chunks() if isinstance(raw, pa.ChunkedArray) else raw
        if raw.null_count:
            row = int(np.flatnonzero(~np.asarray(raw.is_valid()))[0])
            raise ValidationError("is null", argument="prices", column="timestamp", row=row,
                                  expected="a timestamp")
        ns = raw.to_numpy()
        ts = np.where(idx >= 0, ns[np.maximum(idx, 0)], np.iinfo(np.int64).min) if len(ns) else None
    return vec, ts


def align_fx(book: Book, fx: Any) -> np.ndarray:
    """Return the fx vector aligned to ``book.currencies`` (base currency = 1)."""
    n_c = len(book.currencies)
    if fx is None:
        vec = np.full(n_c, np.nan)
        vec[0] = 1.0
    elif isinstance(fx, (np.ndarray, list, tuple)):
        vec = np.asarray(fx, dtype=np.float64)
        if vec.shape != (n_c,):
            raise ValidationError(
                "has the wrong shape", argument="fx", value=vec.shape,
                expected=f"({n_c},): one rate per currency in book.currencies",
            )
        if vec[0] != 1.0:
            raise ValidationError("must give the base currency a rate of 1", argument="fx",
                                  row=0, value=float(vec[0]), expected="1.0")
    else:
        if isinstance(fx, Mapping) and not any(isinstance(v, (list, tuple, np.ndarray)) for v in fx.values()):
            fx = {"currency": list(fx.keys()), "rate": list(fx.values())}
        table = to_arrow(fx, "fx")
        require_columns(table, "fx", schema.FX)
        cur = id_column(table, "fx", "currency").cast(pa.string())
        _check_unique(cur, "fx", "currency")
        rate = float_column(table, "fx", "rate", positive=True)
        idx, _ = encode(book.currencies, cur)
        vec = np.where(idx >= 0, rate[np.maximum(idx, 0)], np.nan) if len(rate) else np.full(n_c, np.nan)
        if idx[0] >= 0 and vec[0] != 1.0:
            raise ValidationError(
                f"gives the base currency {book.base_currency!r} a rate other than 1",
                argument="fx", column="rate", row=int(idx[0]), value=float(vec[0]), expected="1.0",
            )
        vec[0] = 1.0
    c = first_invalid(vec, book.needed_currency)
    if c >= 0:
        raise ValidationError(
            f"has no rate for currency {book.currencies[c].as_py()!r}", argument="fx",
            column="currency", value=book.currencies[c].as_py(),
            expected=f"a rate to {book.base_currency} for every currency held",
        )
    return vec


def stale_positions(book: Book, ts: np.ndarray, as_of: Any, max_age: Any):
    """Price age of each position (seconds, book order) and whether it exceeds ``max_age``.

    ``ts`` holds the price timestamps aligned to the book's instruments (ns
    since epoch); ``as_of`` defaults to now (UTC).
    """
    limit = _age_ns(max_age)
    if as_of is None:
        as_of = dt.datetime.now(dt.timezone.utc)
    age_ns = _to_ns(as_of, "as_of") - ts[book.instrument]
    return age_ns > limit, age_ns / 1e9
