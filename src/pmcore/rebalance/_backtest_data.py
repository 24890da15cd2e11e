"""Input coercion for :func:`pmcore.rebalance.backtest`: prices, dates, targets, flows, calendar."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationError
from ..frames import encode, first_duplicate, float_column, frame_kind, id_column, require_columns, to_arrow

__all__ = ["Market", "market_data", "calendar_mask", "as_weights", "as_rates", "as_flows"]

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "yearly")
_TARGET_TOL = 1e-9


@dataclass(frozen=True)
class Market:
    """Prices as a dense ``(n_dates, n_assets)`` matrix with their dates and asset ids."""

    prices: np.ndarray
    dates: np.ndarray | None  # datetime64[D] or None (rows are periods)
    days: np.ndarray  # int64 day numbers (row numbers without dates)
    assets: list
    kind: str


def _dates(values: Any, arg: str) -> np.ndarray:
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.datetime64):
        try:
            arr = arr.astype("datetime64[ns]")
        except (TypeError, ValueError) as exc:
            raise ValidationError("are not dates", argument=arg, value=str(arr.dtype),
                                  expected="dates or datetimes") from exc
    if np.isnat(arr).any():
        raise ValidationError("has a missing date", argument=arg, row=int(np.flatnonzero(np.isnat(arr))[0]),
                              expected="a date")
    return arr


def _check_increasing(dates: np.ndarray, arg: str) -> None:
    bad = np.flatnonzero(dates[1:] <= dates[:-1])
    if len(bad):
        raise ValidationError("are not strictly increasing", argument=arg, row=int(bad[0]) + 1,
                              value=str(dates[bad[0] + 1]), expected=f"a date after {dates[bad[0]]}",
                              hint="sort the prices by date and drop duplicate dates")


def _check_prices(prices: np.ndarray, assets: list, arg: str) -> None:
    bad = ~(np.isfinite(prices) & (prices > 0))
    if bad.any():
        t, j = (int(v) for v in np.argwhere(bad)[0])
        raise ValidationError(f"holds an invalid price of asset {assets[j]!r}", argument=arg,
                              column=str(assets[j]), row=t, value=float(prices[t, j]),
                              expected="a finite price > 0")


def market_data(prices: Any, dates: Any, date_column: str, asset_column: str, price_column: str) -> Market:
    """Coerce prices (wide frame, long frame or matrix) to a :class:`Market`."""
    kind = frame_kind(prices)
    if kind == "other" and not isinstance(prices, Mapping):
        mat = np.asarray(prices, dtype=np.float64)
        if mat.ndim != 2:
            raise ValidationError("must be 2-D", argument="prices", value=mat.shape,
                                  expected="(n_dates, n_assets)")
        assets = list(range(mat.shape[1]))
        d = None if dates is None else _dates(dates, "dates")
        if d is not None and len(d) != mat.shape[0]:
            raise ValidationError("has the wrong length", argument="dates", value=len(d),
                                  expected=f"{mat.shape[0]}, one per row of prices")
        kind = "numpy"
    else:
        if kind == "pandas" and date_column not in prices.columns:
            pd = sys.modules["pandas"]
            prices = prices.copy(deep=False)
            if not isinstance(prices.index, pd.RangeIndex):  # dates in the index
                prices = prices.rename_axis(date_column).reset_index()
        table = to_arrow(prices, "prices")
        require_columns(table, "prices", [date_column])
        raw = table.column(date_column)
        if asset_column in table.column_names:  # long form
            require_columns(table, "prices", [price_column])
            ids = id_column(table, "prices", asset_column)
            d_codes, d_uniq = encode(pc.cast(raw, pa.timestamp("ns")).combine_chunks())
            order = np.argsort(d_uniq.to_numpy(zero_copy_only=False), kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            rows = rank[d_codes]
            a_codes, a_uniq = encode(ids)
            vals = float_column(table, "prices", price_column)
            bad = np.flatnonzero(vals <= 0)
            if len(bad):
                k = int(bad[0])
                raise ValidationError(f"holds an invalid price of asset {ids[k].as_py()!r}", argument="prices",
                                      column=price_column, row=k, value=float(vals[k]),
                                      expected="a finite price > 0")
            dup = first_duplicate(rows.astype(np.int64) * max(len(a_uniq), 1) + a_codes)
            if dup is not None:
                raise ValidationError("repeats a (date, asset) pair", argument="prices", row=dup[1],
                                      value=(str(d_uniq[int(d_codes[dup[1]])]), a_uniq[int(a_codes[dup[1]])].as_py()))
            mat = np.full((len(d_uniq), len(a_uniq)), np.nan)
            mat[rows, a_codes] = vals
            assets = a_uniq.to_pylist()
            d = d_uniq.to_numpy(zero_copy_only=False)[order]
            missing = np.argwhere(np.isnan(mat))
            if len(missing):
                t, j = (int(v) for v in missing[0])
                raise ValidationError(f"has no price of asset {assets[j]!r} on {d[t]}", argument="prices",
                                      column=price_column, expected="one price per asset and date",
                                      hint="forward-fill or drop the asset")
        else:  # wide form
            assets = [c for c in table.column_names if c != date_column]
            if not assets:
                raise ValidationError("has no asset columns", argument="prices",
                                      expected=f"a {date_column!r} column and one column per asset")
            mat = np.empty((table.num_rows, len(assets)))
            for j, name in enumerate(assets):
                col = table.column(name)
                if col.null_count:
                    row = int(np.flatnonzero(~np.asarray(col.is_valid()))[0])
                    raise ValidationError(f"has a missing price of asset {name!r}", argument="prices",
                                          column=name, row=row, expected="a finite price > 0")
                if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
                    raise ValidationError("has the wrong type", argument="prices", column=name,
                                          value=str(col.type), expected="numeric prices")
                mat[:, j] = col.to_numpy()
            d = raw.to_numpy() if raw.null_count == 0 else None
            if d is None:
                raise ValidationError("has a missing date", argument="prices", column=date_column)
            d = _dates(d, "prices")
            _check_increasing(d, "prices")
    _check_prices(mat, assets, "prices")
    if d is not None:
        _check_increasing(d, "dates")
        days = d.astype("datetime64[D]").astype(np.int64)
    else:
        days = np.arange(mat.shape[0], dtype=np.int64)
    return Market(np.ascontiguousarray(mat), d, days, assets, kind)


def calendar_mask(market: Market, frequency: str | int | None) -> np.ndarray:
    """bool[n_dates]: the first date of each period (every date for daily, or every ``k``-th row)."""
    n = len(market.days)
    if frequency is None or frequency == "daily":
        return np.ones(n, dtype=bool)
    if isinstance(frequency, (int, np.integer)) and not isinstance(frequency, bool):
        if frequency < 1:
            raise ValidationError("must be >= 1", argument="frequency", value=frequency)
        return np.arange(n) % int(frequency) == 0
    if frequency not in FREQUENCIES:
        raise ValidationError("is not a frequency", argument="frequency", value=frequency,
                              expected=f"one of {FREQUENCIES} or a number of rows")
    if market.dates is None:
        raise ValidationError(f"{frequency!r} needs dates", argument="frequency",
                              hint="pass dates=, a frame with a date column, or an integer number of rows")
    d = market.dates
    if frequency == "weekly":  # ISO weeks: day 0 of the epoch is a Thursday
        key = (market.days + 3) // 7
    else:
        months = d.astype("datetime64[M]").astype(np.int64)
        key = {"monthly": months, "quarterly": months // 3, "yearly": months // 12}[frequency]
    mask = np.empty(n, dtype=bool)
    if n:
        mask[0] = True
        mask[1:] = key[1:] != key[:-1]
    return mask


def as_weights(value: Any, assets: list, arg: str, *, check_sum: bool = True) -> np.ndarray:
    """Target weights as float64[n_assets] (a mapping by asset, a Series or a sequence)."""
    n = len(assets)
    if isinstance(value, Mapping) or hasattr(value, "items") and not isinstance(value, np.ndarray):
        index = {a: j for j, a in enumerate(assets)}
        index.update({str(a): j for j, a in enumerate(assets)})
        w = np.zeros(n)
        for key, v in value.items():
            if key not in index:
                raise ValidationError(f"names an unknown asset {key!r}", argument=arg, value=key,
                                      expected=f"one of {assets[:10]}{'...' if n > 10 else ''}")
            w[index[key]] = float(v)
    else:
        w = np.asarray(value, dtype=np.float64).ravel() if value is not None else np.zeros(0)
        if w.shape != (n,):
            raise ValidationError("has the wrong length", argument=arg, value=w.shape[0],
                                  expected=f"{n}, one weight per asset")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValidationError(f"holds an invalid weight of asset {assets[j]!r}", argument=arg,
                              value=float(w[j]), expected="a finite weight >= 0 (no shorts)")
    if check_sum and w.sum() > 1.0 + _TARGET_TOL:
        raise ValidationError("sum to more than 1 (leverage)", argument=arg, value=float(w.sum()),
                              expected="weights summing to at most 1; the rest is held in cash",
                              hint="divide the weights by their sum")
    return np.ascontiguousarray(w)


def as_rates(value: Any, assets: list, arg: str) -> np.ndarray:
    """A cost in basis points (scalar, per-asset mapping or sequence) as float64[n_assets] >= 0."""
    if np.isscalar(value):
        v = float(value)
        if not (np.isfinite(v) and v >= 0):
            raise ValidationError("is not a cost", argument=arg, value=value, expected="a finite number >= 0 (bps)")
        return np.full(len(assets), v)
    return as_weights(value, assets, arg, check_sum=False)


def as_flows(value: Any, market: Market) -> np.ndarray:
    """Cash flows as float64[n_dates]: a mapping {date: amount}, a frame (date, amount) or an array."""
    n = len(market.days)
    if value is None:
        return np.zeros(n)
    if frame_kind(value) != "other":
        table = to_arrow(value, "flows")
        require_columns(table, "flows", ["date", "amount"])
        value = dict(zip(table.column("date").to_pylist(), float_column(table, "flows", "amount")))
    if isinstance(value, Mapping):
        out = np.zeros(n)
        for key, amount in value.items():
            if market.dates is None:
                row = int(key) if isinstance(key, (int, np.integer)) and 0 <= key < n else -1
            else:
                k = np.datetime64(key, "ns")
                row = int(np.searchsorted(market.dates, k))
                row = row if row < n and market.dates[row] == k else -1
            if row < 0:
                raise ValidationError("has a date that is not a price date", argument="flows", value=str(key),
                                      hint="move the flow to a trading date")
            a = float(amount)
            if not np.isfinite(a):
                raise ValidationError("holds an invalid amount", argument="flows", value=a,
                                      expected="a finite amount")
            out[row] += a
        return out
    out = np.asarray(value, dtype=np.float64)
    if out.shape != (n,):
        raise ValidationError("has the wrong shape", argument="flows", value=out.shape,
                              expected=f"({n},), one amount per date")
    if not np.isfinite(out).all():
        raise ValidationError("holds an invalid amount", argument="flows",
                              row=int(np.flatnonzero(~np.isfinite(out))[0]), expected="a finite amount")
    return out.copy()
