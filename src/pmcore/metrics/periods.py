"""Calendar-period returns (daily, weekly, monthly, quarterly, yearly), custom ranges,
and long-to-wide pivoting of returns.

With a time axis (a pandas DatetimeIndex, or the date/datetime column of a
polars or arrow frame) periods follow the calendar of the timestamps given.
Without one (numpy arrays), a period is a block of
``periods_per_year / periods_in_a_year`` rows (21 rows a month at 252).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationError
from ..kernels import metrics as k
from ._data import Panel, as_panel, check_choice, check_positive, per_column

__all__ = ["period_returns", "range_return", "pivot_returns"]

_PER_YEAR = {"daily": None, "weekly": 52, "monthly": 12, "quarterly": 4, "yearly": 1}


def _calendar_codes(time: np.ndarray, period: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per row and the period-start date of each code."""
    days = time.astype("datetime64[D]")
    if period == "daily":
        return days.astype(np.int64), days
    if period == "weekly":
        d = days.astype(np.int64)
        code = (d + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Monday
        return code, (code * 7 - 3).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    if period == "monthly":
        return months.astype(np.int64), months.astype("datetime64[D]")
    if period == "quarterly":
        code = months.astype(np.int64) // 3
        return code, (code * 3).astype("datetime64[M]").astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    return years.astype(np.int64), years.astype("datetime64[D]")


def _time_values(panel: Panel) -> np.ndarray | None:
    if panel.kind == "pandas" and panel.time is not None:
        idx = panel.index
        if getattr(idx, "tz", None) is not None:
            return idx.tz_localize(None).to_numpy()  # local wall-clock dates
    return panel.time


def period_returns(returns: Any, /, *, period: str = "monthly", periods_per_year: float = 252) -> Any:
    """Compounded return of each calendar period.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
        With a time axis for calendar periods (pandas DatetimeIndex, or one
        date/datetime column in a polars or arrow frame).
    period : {"daily", "weekly", "monthly", "quarterly", "yearly"}, default "monthly"
        Weeks start on Monday (ISO weeks, as empyrical's ``aggregate_returns``).
    periods_per_year : float, default 252
        Used only without a time axis: a period is then
        ``periods_per_year / k`` rows (k = 52, 12, 4, 1; one row for daily),
        with row boundaries rounded to the nearest row.

    Returns
    -------
    table of shape (n_periods, n_series)
        pandas in: a Series/DataFrame indexed by period start date; polars or
        arrow in: a frame with a ``period`` column (start date) and one column
        per series; numpy in: an array (no labels).

    Notes
    -----
    .. math:: R_p = \\prod_{t \\in p} (1 + r_t) - 1

    NaN returns count as 0; a period with no present return gives NaN.
    Matches empyrical's ``aggregate_returns``.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.metrics import period_returns
    >>> r = np.full(42, 0.001)
    >>> period_returns(r, period="monthly").round(6).tolist()
    [0.021211, 0.021211]
    """
    check_choice(period, "period", tuple(_PER_YEAR))
    panel = as_panel(returns)
    n_obs = panel.n_obs
    time = _time_values(panel)
    starts_label = None
    if time is not None:
        codes, starts = _calendar_codes(time, period)
        if n_obs:
            cut = np.flatnonzero(codes[1:] != codes[:-1]) + 1
            offsets = np.concatenate(([0], cut, [n_obs])).astype(np.int64)
            starts_label = starts[offsets[:-1]]
        else:
            offsets = np.zeros(1, np.int64)
            starts_label = starts[:0]
    else:
        ppy = check_positive(periods_per_year, "periods_per_year")
        per = _PER_YEAR[period]
        length = 1.0 if per is None else ppy / per
        n_groups = int(np.ceil(n_obs / length - 1e-9)) if n_obs else 0
        offsets = np.minimum(np.round(np.arange(n_groups + 1) * length), n_obs).astype(np.int64)
        offsets[-1] = n_obs
    out = np.empty((len(offsets) - 1, panel.values.shape[1]))
    k.group_compound(panel.values, offsets, out)
    return _wrap_periods(panel, out, starts_label)


def _wrap_periods(panel: Panel, out: np.ndarray, starts: np.ndarray | None) -> Any:
    name = panel.series_name if panel.series_name is not None else "returns"
    if panel.kind == "pandas":
        pd = sys.modules["pandas"]
        index = pd.DatetimeIndex(starts, name="period") if starts is not None else None
        if panel.one_d:
            return pd.Series(out[:, 0], index=index, name=panel.series_name)
        return pd.DataFrame(out, index=index, columns=list(panel.names))
    if panel.kind == "numpy":
        return out[:, 0] if panel.one_d else out
    cols: dict[str, Any] = {}
    if starts is not None:
        cols["period"] = pa.array(starts)
    names = [str(name)] if panel.one_d else list(panel.names)
    for j, c in enumerate(names):
        cols[c] = pa.array(out[:, j])
    table = pa.table(cols)
    if panel.kind == "polars":
        import polars as pl

        return pl.from_arrow(table)
    return table


def range_return(returns: Any, /, *, start: Any = None, end: Any = None) -> Any:
    """Compounded return over a custom range of dates (or rows).

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    start, end : timestamp-like or int, optional
        With a time axis: the first and last timestamps included (anything
        ``numpy.datetime64`` accepts, e.g. ``"2020-01-31"``). Without one:
        row positions, ``start`` included and ``end`` excluded, as a slice.
        None means the beginning / the end of the data.

    Returns
    -------
    float, or one value per series

    Notes
    -----
    .. math:: R = \\prod_{start \\le t \\le end} (1 + r_t) - 1

    NaN returns count as 0; a range with no present return gives NaN.

    Examples
    --------
    >>> from pmcore.metrics import range_return
    >>> round(range_return([0.1, 0.1, -0.5, 0.2], start=0, end=2), 6)
    0.21
    """
    panel = as_panel(returns)
    time = _time_values(panel)
    if time is not None:
        try:
            lo = 0 if start is None else int(np.searchsorted(time, np.datetime64(_py(start), "ns").astype(time.dtype), "left"))
            hi = panel.n_obs if end is None else int(np.searchsorted(time, np.datetime64(_py(end), "ns").astype(time.dtype), "right"))
        except (ValueError, TypeError) as exc:
            raise ValidationError("is not a timestamp", argument="start/end", value=(start, end),
                                  expected="a date or datetime") from exc
    else:
        for name, v in (("start", start), ("end", end)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
                raise ValidationError("has the wrong type", argument=name, value=v,
                                      expected="a row position (int): returns has no time axis")
        lo, hi, _ = slice(start, end).indices(panel.n_obs)
    n = panel.values.shape[1]
    total = np.empty(n)
    count = np.empty(n, np.int64)
    k.total_return(panel.values[lo:max(hi, lo)], total, count)
    total[count == 0] = np.nan
    return per_column(panel, total, "range_return")


def _py(v: Any) -> Any:
    """Timestamps of pandas (and anything with ``to_datetime64``) as numpy values."""
    return v.to_datetime64() if hasattr(v, "to_datetime64") else v


def pivot_returns(long: Any, /, *, series: str = "series_id", time: str = "date", value: str = "return") -> Any:
    """Long returns (one row per series and time) to the wide matrix the metrics take.

    Parameters
    ----------
    long : pyarrow Table, polars or pandas DataFrame, or dict of columns
        Columns ``series`` (id: string or integer), ``time`` (dates,
        timestamps or integers) and ``value`` (the return).
    series, time, value : str
        Names of those columns.

    Returns
    -------
    frame
        Same kind as ``long`` (a pyarrow Table for a dict): the ``time``
        column sorted ascending, then one column per series in order of first
        appearance. A series with no row at some time gets NaN there
        (missing, as everywhere in :mod:`pmcore.metrics`).

    Notes
    -----
    A repeated (series, time) pair raises
    :class:`~pmcore.errors.ValidationError` naming both rows.

    Examples
    --------
    >>> from pmcore.metrics import pivot_returns, total_return
    >>> long = {"series_id": ["a", "b", "a", "b", "a"], "date": [1, 1, 2, 2, 3],
    ...         "return": [0.1, 0.0, 0.1, 0.05, -0.1]}
    >>> wide = pivot_returns(long)
    >>> wide.column_names, wide.column("b").to_pylist()
    (['date', 'a', 'b'], [0.0, 0.05, nan])
    >>> [round(total_return(wide).column(c)[0].as_py(), 4) for c in ("a", "b")]
    [0.089, 0.05]
    """
    from ..frames import encode, first_duplicate, frame_kind, from_arrow, id_column, require_columns, to_arrow

    kind = frame_kind(long)
    table = to_arrow(long, "long")
    require_columns(table, "long", [series, time, value])
    ids = id_column(table, "long", series)
    sid, names = encode(ids)
    tcol = table.column(time)
    if tcol.null_count:
        raise ValidationError("is null", argument="long", column=time,
                              row=int(np.flatnonzero(~np.asarray(tcol.is_valid()))[0]), expected="a time")
    tcol = tcol.combine_chunks() if isinstance(tcol, pa.ChunkedArray) else tcol
    uniq = pc.unique(tcol)
    order = pc.sort_indices(uniq)
    uniq = uniq.take(order)
    tid = np.asarray(pc.index_in(tcol, value_set=uniq).to_numpy(zero_copy_only=False), np.int64)
    vals = table.column(value)
    if not (pa.types.is_floating(vals.type) or pa.types.is_integer(vals.type)):
        raise ValidationError("has the wrong type", argument="long", column=value, value=str(vals.type),
                              expected="numeric returns")
    v = np.asarray(pc.fill_null(vals.cast(pa.float64()), np.nan).to_numpy(), np.float64)
    n_series = len(names)
    dup = first_duplicate(tid * max(n_series, 1) + sid.astype(np.int64))
    if dup is not None:
        raise ValidationError(
            f"repeats series {ids[dup[0]].as_py()!r} at the same time (rows {dup[0]} and {dup[1]})",
            argument="long", column=time, row=dup[1], expected="one row per series and time",
        )
    wide = np.full((len(uniq), n_series), np.nan)
    wide[tid, sid] = v
    cols = {time: uniq}
    for j in range(n_series):
        cols[str(names[j].as_py())] = pa.array(wide[:, j])
    out = pa.table(cols)
    if kind == "pandas":
        frame = out.to_pandas()
        return frame.set_index(time)
    return from_arrow(out, kind if kind != "other" else "arrow")
