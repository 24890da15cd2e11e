"""Calendar-period returns (daily, weekly, monthly, quarterly, yearly) and custom ranges.

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

from ..errors import ValidationError
from ..kernels import metrics as k
from ._data import Panel, as_panel, check_choice, check_positive, per_column

__all__ = ["period_returns", "range_return"]

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
