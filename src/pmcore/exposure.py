"""Exposures per portfolio and group (sector, country, currency, instrument, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._memory import empty
from .book import Book
from .errors import ValidationError
from .frames import encode, float_column, from_arrow, frame_kind, id_column, require_columns, to_arrow
from .kernels import valuation as kv
from .market import align_fx, align_prices
from .book import _split
from .valuation import _book, _cash_base, _halves, _unit_scale

__all__ = ["exposures"]

_MEASURES = ("long", "short", "gross", "net")


def _group_codes(book: Book, by: str) -> tuple[np.ndarray, pa.Array]:
    """Group code per instrument and the sorted group labels (nulls form a group, last).

    Kept in ``book.memo`` per column: the book's instruments table is immutable.
    """
    if not isinstance(by, str):
        raise ValidationError("must be a column name", argument="by", value=by,
                              expected="the name of an instruments column, e.g. 'sector'")
    hit = book.memo.get(("group", by))
    if hit is None:
        hit = book.memo[("group", by)] = _encode_groups(book, by)
    return hit


def _encode_groups(book: Book, by: str) -> tuple[np.ndarray, pa.Array]:
    if by == "instrument_id":
        labels = book.instrument_ids
    elif by == "currency":
        labels = book.currencies.take(book.instrument_currency)
    else:
        require_columns(book.instruments, "instruments", [by])
        col = book.instruments.column(by)
        labels = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_dictionary(labels.type):
            labels = labels.dictionary_decode()
        if pa.types.is_string_view(labels.type):
            labels = labels.cast(pa.large_string())
    enc = pc.dictionary_encode(labels, null_encoding="encode")
    dictionary = enc.dictionary
    order = pc.sort_indices(dictionary)  # nulls last
    rank = np.empty(len(dictionary), np.int32)
    rank[np.asarray(order)] = np.arange(len(dictionary))
    codes = rank[enc.indices.to_numpy(zero_copy_only=False)].astype(np.int32)
    codes.flags.writeable = False
    return codes, dictionary.take(order)


def _limit_matrix(limits: Any, book: Book, labels: pa.Array, by: str) -> np.ndarray | None:
    """Limits as fractions: float64[n_portfolios or 1, n_groups], NaN where none is set."""
    if limits is None:
        return None
    n_g = len(labels)
    if isinstance(limits, (int, float)) and not isinstance(limits, bool):
        if not (np.isfinite(limits) and limits > 0):
            raise ValidationError("must be positive", argument="limits", value=limits,
                                  expected="a fraction > 0 (0.25 means 25 %)")
        return np.full((1, n_g), float(limits))
    if isinstance(limits, Mapping) and frame_kind(limits) == "other" and not any(
        isinstance(v, (list, tuple, np.ndarray)) for v in limits.values()
    ):
        limits = {by: list(limits.keys()), "limit": list(limits.values())}
    table = to_arrow(limits, "limits")
    require_columns(table, "limits", [by, "limit"])
    value = float_column(table, "limits", "limit", positive=True)
    group_ids = id_column(table, "limits", by)
    gcode, _ = encode(group_ids, labels.cast(group_ids.type) if labels.type != group_ids.type else labels)
    if "portfolio_id" in table.column_names:
        pid = id_column(table, "limits", "portfolio_id")
        pcode, _ = encode(pid, book.portfolio_ids)
        out = np.full((book.n_portfolios, n_g), np.nan)
        keep = (gcode >= 0) & (pcode >= 0)
        out[pcode[keep], gcode[keep]] = value[keep]
    else:
        out = np.full((1, n_g), np.nan)
        keep = gcode >= 0
        out[0, gcode[keep]] = value[keep]
    return out


def _group_pass(bk: Book, price_vec: np.ndarray, scale: np.ndarray, gcode: np.ndarray, n_groups: int):
    """:func:`~pmcore.kernels.valuation.group_exposures` over the book, two halves on two threads when large.

    The halves write into one set of output arrays (from Arrow's pool: see
    :mod:`pmcore._memory`), each into its own rows; they are joined without a
    copy unless a half fills less than its room.
    """
    parts = _halves(bk)
    if len(parts) == 1:
        return kv.group_exposures(bk.offsets, bk.instrument, bk.quantity, bk.avg_price, price_vec,
                                  scale, gcode, n_groups)
    offsets = [bk.offsets[lo:hi + 1] - bk.offsets[lo] for lo, hi in parts]
    room = [int(kv.exposure_rows_bound(off, n_groups)) for off in offsets]
    starts = np.cumsum([0] + room)
    out_group = empty(starts[-1], np.int32)
    out_values = empty((starts[-1], 3))
    totals = np.empty((bk.n_portfolios, 2))
    out_offsets = [np.empty(len(off), np.int64) for off in offsets]
    calls = []
    for k, ((lo, hi), off) in enumerate(zip(parts, offsets)):
        a, b = bk.offsets[lo], bk.offsets[hi]
        rows = slice(starts[k], starts[k + 1])
        calls.append((kv.group_exposures_into, (off, bk.instrument[a:b], bk.quantity[a:b], bk.avg_price[a:b],
                                                price_vec, scale, gcode, n_groups, out_offsets[k],
                                                out_group[rows], out_values[rows], totals[lo:hi])))
    written = _split(True, calls)
    if all(w == r for w, r in zip(written, room)):
        group, values = out_group, out_values
    else:  # a half left rows unused: close the gaps
        group = np.concatenate([out_group[s:s + w] for s, w in zip(starts, written)])
        values = np.concatenate([out_values[s:s + w] for s, w in zip(starts, written)])
    shifts = np.cumsum([0] + list(written))
    joined = np.concatenate([out_offsets[0]] + [o[1:] + shift for o, shift in zip(out_offsets[1:], shifts[1:])])
    return joined, group, values, totals


def exposures(
    book: Any,
    prices: Any,
    fx: Any = None,
    /,
    *,
    by: str = "sector",
    limits: Any = None,
    limit_on: str = "gross",
    instruments: Any = None,
    cash: Any = None,
    accounts: Any = None,
    base_currency: str | None = None,
):
    """Exposure per portfolio and group, with limits and breaches.

    Parameters
    ----------
    book, prices, fx, instruments, cash, accounts, base_currency
        As for :func:`pmcore.value`.
    by : str, keyword-only
        Grouping column: any column of the instruments table (``"sector"``,
        ``"country"``, ``"asset_class"``, ...), ``"currency"`` or
        ``"instrument_id"``. Instruments with a null label form a null group.
    limits : float, mapping or frame, optional
        Exposure limits as fractions of equity (0.25 means 25 %): one number
        for every group, a mapping ``{group: limit}``, or a frame with columns
        ``<by>``, ``limit`` and optionally ``portfolio_id`` for per-portfolio
        limits. Groups without a limit get NaN limit and utilization.
    limit_on : {"gross", "net", "long", "short"}, keyword-only
        The exposure the limit applies to (absolute value). Default ``"gross"``.

    Returns
    -------
    frame
        One row per portfolio and group held (groups sorted within a
        portfolio): portfolio_id, <by>, long_exposure, short_exposure (<= 0),
        gross_exposure, net_exposure, long_pct, short_pct, gross_pct, net_pct
        (percent of equity, e.g. 12.5), limit_pct (percent), utilization
        (fraction of the limit used, 1.0 = at the limit), breach (utilization
        > 1) and position_count.

    Notes
    -----
    For group :math:`g` of portfolio :math:`P` with notionals
    :math:`N_i = q_i p_i m_i fx_i`: long :math:`\\sum_{i \\in g, q_i>0} N_i`,
    short :math:`\\sum_{i \\in g, q_i<0} N_i`, gross :math:`\\sum_{i \\in g} |N_i|`,
    net :math:`\\sum_{i \\in g} N_i`; each percentage is
    :math:`100 \\cdot E_g / \\text{equity}_P`. Utilization is
    :math:`|E_g| / (\\text{equity}_P \\cdot \\text{limit}_g)`. Equity <= 0 gives
    inf or NaN percentages.

    Examples
    --------
    >>> import pyarrow as pa
    >>> import pmcore as pm
    >>> positions = pa.table({"portfolio_id": ["A", "A", "A"],
    ...                       "instrument_id": ["AAPL", "MSFT", "XOM"],
    ...                       "quantity": [10.0, 4.0, -5.0],
    ...                       "avg_price": [150.0, 300.0, 100.0]})
    >>> instruments = pa.table({"instrument_id": ["AAPL", "MSFT", "XOM"],
    ...                         "currency": ["USD"] * 3,
    ...                         "sector": ["Tech", "Tech", "Energy"]})
    >>> prices = pa.table({"instrument_id": ["AAPL", "MSFT", "XOM"],
    ...                    "price": [160.0, 310.0, 110.0]})
    >>> cash = pa.table({"portfolio_id": ["A"], "currency": ["USD"], "amount": [2000.0]})
    >>> out = pm.exposures(positions, prices, instruments=instruments, cash=cash,
    ...                    by="sector", limits={"Tech": 0.5})
    >>> for row in out.select(["sector", "gross_pct", "limit_pct", "breach"]).to_pylist():
    ...     print(row["sector"], round(row["gross_pct"], 2), row["limit_pct"], row["breach"])
    Energy 12.82 None False
    Tech 66.2 50.0 True
    """
    if limit_on not in _MEASURES:
        raise ValidationError("is not a known exposure", argument="limit_on", value=limit_on,
                              expected=f"one of {list(_MEASURES)}")
    bk = _book(book, instruments, cash, accounts, base_currency)
    gcode, labels = _group_codes(bk, by)
    lim = _limit_matrix(limits, bk, labels, by)
    price_vec, _ = align_prices(bk, prices)
    fx_vec = align_fx(bk, fx)
    scale = _unit_scale(bk, fx_vec)
    out_off, out_group, vals, totals = _group_pass(bk, price_vec, scale, gcode, len(labels))
    # equity from the same pass: cash + market value (cash accounts) or + unrealized PnL (margin)
    equity = _cash_base(bk, fx_vec)[:, 0] + np.where(bk.is_margin, totals[:, 1], totals[:, 0])
    n_rows = len(out_group)  # the result's columns go to pooled memory (pmcore._memory)
    pcode = np.repeat(np.arange(bk.n_portfolios), np.diff(out_off))
    long_, short_ = vals[:, 0], vals[:, 1]
    measures = {"long": long_, "short": short_, "gross": np.subtract(long_, short_, out=empty(n_rows)),
                "net": np.add(long_, short_, out=empty(n_rows))}
    eq = np.take(equity, pcode, out=empty(n_rows))
    cols: dict[str, Any] = {"portfolio_id": bk.portfolio_ids.take(pcode), by: labels.take(out_group)}
    with np.errstate(divide="ignore", invalid="ignore"):
        for m in _MEASURES:
            cols[f"{m}_exposure"] = measures[m]
        for m in _MEASURES:
            pct = np.multiply(measures[m], 100.0, out=empty(n_rows))
            cols[f"{m}_pct"] = np.divide(pct, eq, out=pct)
        if lim is not None:
            limit = lim[pcode if lim.shape[0] > 1 else 0, out_group]
            util = np.abs(measures[limit_on]) / (eq * limit)
            cols["limit_pct"] = pa.array(100.0 * limit, from_pandas=True)
            cols["utilization"] = pa.array(util, from_pandas=True)
            cols["breach"] = np.nan_to_num(util, nan=0.0) > 1.0
    if lim is None:  # no limits: null columns, no breach
        cols["limit_pct"] = pa.nulls(len(pcode), pa.float64())
        cols["utilization"] = pa.nulls(len(pcode), pa.float64())
        cols["breach"] = np.zeros(len(pcode), bool)
    count = empty(n_rows, np.int64)
    count[:] = vals[:, 2]
    cols["position_count"] = count
    return from_arrow(pa.table(cols), bk.kind)
