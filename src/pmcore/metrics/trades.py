"""Trade statistics from a table of trades: PnL, win rate, profit factor, streaks, fees.

The trades table has one row per round trip:

=================  ==========================================================
column             meaning
=================  ==========================================================
``entry_time``     when the position was opened (timestamp or number)
``exit_time``      when it was closed; null for a trade still open
``entry_price``    average entry price (> 0)
``exit_price``     average exit price (> 0); null for an open trade
``quantity``       size (> 0), or signed (long > 0, short < 0) without ``side``
``side``           optional: ``"long"``/``"short"`` (also ``"buy"``/``"sell"``,
                   or +1/-1)
``fees``           optional, default 0: trading fees paid (>= 0)
``funding``        optional, default 0: funding paid (> 0) or received (< 0)
``mark_price``     needed for open trades: the current price (> 0)
``multiplier``     optional, default 1: contract multiplier
any other column   a grouping key for :func:`trade_stats_by` (``strategy``,
                   ``instrument_id``, ...)
=================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationError
from ..frames import encode, float_column, frame_kind, from_arrow, id_column, require_columns, to_arrow
from ..kernels import metrics as k

__all__ = ["TradeStats", "trade_pnl", "trade_stats", "trade_stats_by"]

_ARG = "trades"


@dataclass(frozen=True)
class TradeStats:
    """Statistics of a set of trades. Ratios are over closed trades only.

    Attributes
    ----------
    n_trades, n_open : int
        Closed and open trades.
    realized_pnl, unrealized_pnl, total_pnl : float
        Net PnL of closed trades; of open trades marked at ``mark_price``
        (fees and funding paid so far taken off); their sum.
    win_rate : float
        Winning closed trades over all closed trades (a zero PnL is not a win).
    average_win, average_loss : float
        Mean PnL of winning / losing trades (``average_loss`` <= 0).
    largest_win, largest_loss : float
    profit_factor : float
        Gross profit over absolute gross loss (inf without a loss).
    payoff_ratio : float
        ``average_win / |average_loss|``.
    expectancy : float
        Mean PnL per closed trade.
    max_consecutive_wins, max_consecutive_losses : int
    current_consecutive_wins, current_consecutive_losses : int
        Streaks in exit-time order; the current streak is the one at the last trade.
    average_duration : float or numpy.timedelta64
        Mean ``exit_time - entry_time`` of closed trades.
    total_fees, total_funding : float
        Over all trades, open ones included.
    """

    n_trades: int
    n_open: int
    realized_pnl: float
    unrealized_pnl: float
    total_pnl: float
    win_rate: float
    average_win: float
    average_loss: float
    largest_win: float
    largest_loss: float
    profit_factor: float
    payoff_ratio: float
    expectancy: float
    max_consecutive_wins: int
    max_consecutive_losses: int
    current_consecutive_wins: int
    current_consecutive_losses: int
    average_duration: Any
    total_fees: float
    total_funding: float

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_arrow(self) -> pa.Table:
        """One row, one column per statistic."""
        return pa.table({name: [value] for name, value in self.to_dict().items()})

    def to_pandas(self):
        """A Series indexed by statistic name."""
        import pandas as pd

        return pd.Series(self.to_dict(), name="trade_stats", dtype=object)

    def to_polars(self):
        """A one-row polars DataFrame."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __repr__(self) -> str:
        width = max(len(f.name) for f in fields(self))
        lines = ["TradeStats"]
        for name, value in self.to_dict().items():
            text = f"{value:.6g}" if isinstance(value, float) else str(value)
            lines.append(f"  {name.ljust(width)}  {text}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Prepared:
    table: pa.Table
    pnl: np.ndarray  # net PnL per row (closed: realized; open: marked)
    closed: np.ndarray  # bool
    exit_order: np.ndarray  # int64 exit times (closed rows) for ordering
    duration: np.ndarray  # float64 per row (closed rows)
    duration_unit: Any  # arrow duration type or None for numeric times
    fees: np.ndarray
    funding: np.ndarray


def _time_ints(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray, Any]:
    require_columns(table, _ARG, [name])
    col = table.column(name)
    valid = np.asarray(col.is_valid())
    t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        unit = pa.duration(t.unit) if pa.types.is_timestamp(t) else pa.duration("s")
        if pa.types.is_date(t):
            col = col.cast(pa.timestamp("s"))
        ints = pc.fill_null(col.cast(pa.int64()), 0).to_numpy()
        return np.asarray(ints, np.float64), valid, unit
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return np.asarray(pc.fill_null(col.cast(pa.float64()), 0.0).to_numpy()), valid, None
    raise ValidationError("has the wrong type", argument=_ARG, column=name, value=str(t),
                          expected="timestamps, dates or numbers")


def _optional_float(table: pa.Table, name: str, *, default: float, positive: bool = False,
                    nonnegative: bool = False) -> np.ndarray:
    return float_column(table, _ARG, name, default=default, positive=positive, nonnegative=nonnegative)


def _side(table: pa.Table, quantity: np.ndarray) -> np.ndarray:
    if "side" not in table.column_names:
        sign = np.sign(quantity)
        bad = sign == 0
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValidationError("is zero", argument=_ARG, column="quantity", row=row,
                                  expected="a non-zero size (signed without a 'side' column)")
        return sign
    col = table.column("side")
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        side = np.asarray(pc.fill_null(col.cast(pa.float64()), 0.0).to_numpy())
        bad = ~np.isin(side, (-1.0, 1.0))
    else:
        text = pc.utf8_lower(col.cast(pa.string())).to_pylist()
        mapping = {"long": 1.0, "buy": 1.0, "short": -1.0, "sell": -1.0}
        side = np.array([mapping.get(s, 0.0) for s in text])
        bad = side == 0.0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError("holds an unknown side", argument=_ARG, column="side", row=row,
                              value=col[row].as_py(), expected="'long'/'short', 'buy'/'sell' or +1/-1")
    if (quantity <= 0).any():
        row = int(np.flatnonzero(quantity <= 0)[0])
        raise ValidationError("holds a non-positive size", argument=_ARG, column="quantity", row=row,
                              value=float(quantity[row]), expected="a size > 0 (the side is in 'side')")
    return side


def _prepare(trades: Any) -> _Prepared:
    table = to_arrow(trades, _ARG)
    require_columns(table, _ARG, ["entry_time", "exit_time", "entry_price", "exit_price", "quantity"])
    entry_t, entry_ok, unit = _time_ints(table, "entry_time")
    exit_t, closed, _ = _time_ints(table, "exit_time")
    if not entry_ok.all():
        raise ValidationError("is null", argument=_ARG, column="entry_time",
                              row=int(np.flatnonzero(~entry_ok)[0]), expected="an entry time")
    quantity = float_column(table, _ARG, "quantity")
    side = _side(table, quantity)
    size = np.abs(quantity)
    entry_px = float_column(table, _ARG, "entry_price", positive=True)
    exit_col = table.column("exit_price")
    exit_valid = np.asarray(exit_col.is_valid())
    mismatch = exit_valid != closed
    if mismatch.any():
        row = int(np.flatnonzero(mismatch)[0])
        raise ValidationError("has exit_time and exit_price disagreeing on whether the trade is closed",
                              argument=_ARG, column="exit_price", row=row,
                              expected="both set (closed) or both null (open)")
    exit_px = np.asarray(pc.fill_null(exit_col.cast(pa.float64()), 1.0).to_numpy())
    bad = ~(exit_px > 0) | ~np.isfinite(exit_px)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError("holds an invalid value", argument=_ARG, column="exit_price", row=row,
                              value=float(exit_px[row]), expected="a finite number > 0")
    late = closed & (exit_t < entry_t)
    if late.any():
        row = int(np.flatnonzero(late)[0])
        raise ValidationError("closes before it opens", argument=_ARG, column="exit_time", row=row,
                              expected="exit_time >= entry_time")
    fees = _optional_float(table, "fees", default=0.0, nonnegative=True)
    funding = _optional_float(table, "funding", default=0.0)
    mult = _optional_float(table, "multiplier", default=1.0, positive=True)
    price = exit_px.copy()
    if not closed.all():
        if "mark_price" not in table.column_names:
            row = int(np.flatnonzero(~closed)[0])
            raise ValidationError("is open but the table has no 'mark_price' column", argument=_ARG,
                                  row=row, hint="add the current price as 'mark_price' for open trades")
        mark = np.asarray(pc.fill_null(table.column("mark_price").cast(pa.float64()), np.nan).to_numpy())
        bad = ~closed & ~(mark > 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValidationError("is missing for an open trade", argument=_ARG, column="mark_price",
                                  row=row, value=float(mark[row]), expected="a price > 0")
        price = np.where(closed, exit_px, mark)
    pnl = side * size * mult * (price - entry_px) - fees - funding
    duration = np.where(closed, exit_t - entry_t, np.nan)
    return _Prepared(table, pnl, closed, exit_t, duration, unit, fees, funding)


def trade_pnl(trades: Any, /) -> np.ndarray:
    """Net PnL of each trade (open trades marked at ``mark_price``).

    Notes
    -----
    .. math:: PnL = s \\cdot q \\cdot m \\cdot (p_{exit} - p_{entry}) - fees - funding

    with side :math:`s = \\pm 1`, size :math:`q`, multiplier :math:`m`; an
    open trade uses ``mark_price`` for :math:`p_{exit}`.

    Examples
    --------
    >>> from pmcore.metrics import trade_pnl
    >>> trades = {"entry_time": [1, 2], "exit_time": [3, 4], "entry_price": [10.0, 20.0],
    ...           "exit_price": [11.0, 18.0], "quantity": [5.0, 2.0], "side": ["long", "short"],
    ...           "fees": [0.5, 0.5]}
    >>> trade_pnl(trades).tolist()
    [4.5, 3.5]
    """
    return _prepare(trades).pnl


def _stats_matrix(prep: _Prepared, codes: np.ndarray, n_groups: int):
    closed = prep.closed
    idx = np.flatnonzero(closed)
    order = idx[np.lexsort((prep.exit_order[idx], codes[idx]))]
    agg = np.empty((n_groups, 11))
    k.trade_streaks(codes[order].astype(np.int64), prep.pnl[order], n_groups, agg)
    dur_sum = np.bincount(codes[idx], weights=prep.duration[idx], minlength=n_groups)
    open_pnl = np.bincount(codes[~closed], weights=prep.pnl[~closed], minlength=n_groups)
    n_open = np.bincount(codes[~closed], minlength=n_groups)
    fees = np.bincount(codes, weights=prep.fees, minlength=n_groups)
    funding = np.bincount(codes, weights=prep.funding, minlength=n_groups)
    return agg, dur_sum, open_pnl, n_open, fees, funding


def _stats_rows(prep: _Prepared, codes: np.ndarray, n_groups: int) -> list[TradeStats]:
    agg, dur_sum, open_pnl, n_open, fees, funding = _stats_matrix(prep, codes, n_groups)
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for g in range(n_groups):
            n, wins, losses, gp, gl, big_w, big_l, mw, ml, cw, cl = agg[g]
            realized = gp + gl
            avg_win = gp / wins if wins else np.nan
            avg_loss = gl / losses if losses else np.nan
            mean_dur = dur_sum[g] / n if n else np.nan
            if prep.duration_unit is not None:
                unit = prep.duration_unit.unit
                mean_dur = (np.timedelta64(int(round(mean_dur)), unit) if n
                            else np.timedelta64("NaT", unit))
            out.append(TradeStats(
                n_trades=int(n),
                n_open=int(n_open[g]),
                realized_pnl=float(realized),
                unrealized_pnl=float(open_pnl[g]),
                total_pnl=float(realized + open_pnl[g]),
                win_rate=float(wins / n) if n else np.nan,
                average_win=float(avg_win),
                average_loss=float(avg_loss),
                largest_win=float(big_w),
                largest_loss=float(big_l),
                profit_factor=float(gp / -gl) if gl < 0 else (np.inf if gp > 0 else np.nan),
                payoff_ratio=float(avg_win / -avg_loss) if losses and wins else np.nan,
                expectancy=float(realized / n) if n else np.nan,
                max_consecutive_wins=int(mw),
                max_consecutive_losses=int(ml),
                current_consecutive_wins=int(cw),
                current_consecutive_losses=int(cl),
                average_duration=mean_dur,
                total_fees=float(fees[g]),
                total_funding=float(funding[g]),
            ))
    return out


def trade_stats(trades: Any, /) -> TradeStats:
    """Statistics of a table of trades (closed and open).

    Parameters
    ----------
    trades : pyarrow Table, polars or pandas DataFrame, or dict of columns
        One row per trade; columns as described in :mod:`pmcore.metrics.trades`.

    Returns
    -------
    TradeStats
        Frozen result with ``to_pandas()``, ``to_polars()``, ``to_arrow()``.

    Notes
    -----
    .. math::

        \\text{win rate} = \\frac{n_{win}}{n}, \\quad
        \\text{profit factor} = \\frac{\\sum_{PnL > 0} PnL}{\\left|\\sum_{PnL < 0} PnL\\right|}, \\quad
        \\text{expectancy} = \\frac{1}{n}\\sum PnL

    over the ``n`` closed trades; PnL is net of fees and funding (see
    :func:`trade_pnl`). Ratios with an empty denominator are NaN, except a
    profit factor with profits and no loss, which is inf. Streaks follow exit
    time (ties keep input order).

    Examples
    --------
    >>> from pmcore.metrics import trade_stats
    >>> trades = {"entry_time": [1, 2, 3, 5], "exit_time": [2, 4, 6, None],
    ...           "entry_price": [10.0, 10.0, 10.0, 10.0], "exit_price": [12.0, 9.0, 11.0, None],
    ...           "quantity": [1.0, 1.0, 1.0, 2.0], "side": ["long"] * 4,
    ...           "mark_price": [None, None, None, 10.5]}
    >>> s = trade_stats(trades)
    >>> s.n_trades, s.n_open, round(s.win_rate, 4), s.profit_factor, s.total_pnl
    (3, 1, 0.6667, 3.0, 3.0)
    """
    prep = _prepare(trades)
    codes = np.zeros(len(prep.pnl), np.int64)
    return _stats_rows(prep, codes, 1)[0]


def trade_stats_by(trades: Any, /, by: str | list[str] = "strategy") -> Any:
    """:func:`trade_stats` for each group of trades (by strategy, by asset, ...).

    Parameters
    ----------
    trades : pyarrow Table, polars or pandas DataFrame, or dict of columns
    by : str or list of str, default "strategy"
        Grouping column(s), e.g. ``"strategy"``, ``"instrument_id"``, or both.

    Returns
    -------
    frame
        One row per group (in order of first appearance): the ``by`` columns
        then one column per :class:`TradeStats` field. Same kind as
        ``trades`` (a pyarrow Table for a dict).

    Examples
    --------
    >>> from pmcore.metrics import trade_stats_by
    >>> trades = {"entry_time": [1, 2, 3], "exit_time": [2, 4, 6],
    ...           "entry_price": [10.0, 10.0, 10.0], "exit_price": [12.0, 9.0, 11.0],
    ...           "quantity": [1.0, 1.0, 1.0], "side": ["long"] * 3,
    ...           "strategy": ["a", "b", "a"]}
    >>> t = trade_stats_by(trades, by="strategy")
    >>> t.column("strategy").to_pylist(), t.column("realized_pnl").to_pylist()
    (['a', 'b'], [3.0, -1.0])
    """
    kind = frame_kind(trades)
    prep = _prepare(trades)
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise ValidationError("is empty", argument="by", expected="one or more column names")
    combined = np.zeros(prep.table.num_rows, np.int64)
    key_values = []
    for key in keys:
        arr = id_column(prep.table, _ARG, key)
        codes, dictionary = encode(arr)
        combined = combined * (len(dictionary) + 1) + codes
        key_values.append(arr)
    uniq, first, codes = np.unique(combined, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # groups in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    codes = rank[codes.ravel()]
    rows = _stats_rows(prep, codes, len(uniq))
    firsts = first[order]
    cols: dict[str, Any] = {key: arr.take(pa.array(firsts)) for key, arr in zip(keys, key_values)}
    for f in fields(TradeStats):
        values = [getattr(r, f.name) for r in rows]
        cols[f.name] = pa.array(values)
    table = pa.table(cols)
    return from_arrow(table, kind if kind != "other" else "arrow")
