"""Cash-flow history and forecasts (average, seasonal by weekday or month) with tracked error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import frame_kind, from_arrow, require_columns, to_arrow
from ..kernels.cash import group_sum
from ._frames import key_codes, overflow_error, status_codes
from .amounts import DEFAULT_SCALE, check_scale, units_column, units_to_arrow
from .calendar import BusinessCalendar

__all__ = [
    "FORECAST_METHODS",
    "ForecastBacktest",
    "backtest_forecast",
    "daily_flows",
    "forecast_cash_flows",
]

FORECAST_METHODS = ("average", "weekday", "month")


def daily_flows(transactions: Any, /, *, by: Any = ("portfolio_id", "currency"),
                statuses: Any = ("settled",), date: str = "value_date",
                scale: int = DEFAULT_SCALE) -> Any:
    """Exact net cash flow per key and date from ledger lines.

    Parameters
    ----------
    transactions : frame
        Ledger lines (:meth:`Ledger.transactions`): ``amount``, ``status``,
        the date column and the ``by`` columns.
    by : sequence of str, keyword-only
        Keys (default portfolio and currency).
    statuses : sequence of str, keyword-only
        Statuses counted (default settled only).
    date : str, keyword-only
        Date column (default ``value_date``).

    Returns
    -------
    frame
        The keys, ``date`` and ``flow`` (exact decimal), sorted by key then date.

    Notes
    -----
    One exact int64 pass (:func:`pmcore.kernels.cash.group_sum`).

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> t = pa.table({"portfolio_id": ["A", "A", "A"], "currency": ["USD"] * 3,
    ...               "amount": ["10", "-4", "1"], "status": ["settled", "settled", "pending"],
    ...               "value_date": [dt.date(2026, 11, 20)] * 3})
    >>> daily_flows(t).column("flow").to_pylist()
    [Decimal('6.00000000')]
    """
    scale = check_scale(scale)
    kind = frame_kind(transactions)
    t = to_arrow(transactions, "transactions")
    require_columns(t, "transactions", [date])
    units = units_column(t, "transactions", "amount", scale)
    codes = status_codes(t, "transactions")
    from ._frames import STATUSES
    wanted = [STATUSES.index(s) for s in statuses if s in STATUSES]
    if len(wanted) != len(list(statuses)):
        raise ValidationError("holds an unknown status", argument="statuses", value=list(statuses),
                              expected=f"names from {list(STATUSES)}")
    day = t.column(date).cast(pa.date32()).cast(pa.int32())
    keyed = pa.table({**{k: t.column(k) for k in by}, "__day": day})
    group, keys = key_codes(keyed, "transactions", (*by, "__day"))
    group = np.where(np.isin(codes, wanted), group, -1)
    out = np.zeros(keys.num_rows, np.int64)
    bad = group_sum(group, units, out)
    if bad >= 0:
        raise overflow_error("transactions", int(bad))
    present = np.zeros(keys.num_rows, np.bool_)
    present[group[group >= 0]] = True
    keys = keys.filter(pa.array(present))
    cols = {k: keys.column(k) for k in by}
    cols["date"] = keys.column("__day").cast(pa.date32())
    cols["flow"] = units_to_arrow(out[present], scale)
    result = pa.table(cols)
    result = result.sort_by([(k, "ascending") for k in (*by, "date")])
    return from_arrow(result, kind if kind != "other" else "arrow")


def _series(history: Any, calendar: BusinessCalendar, column: str) -> tuple[np.ndarray, np.ndarray]:
    """History to (business days, flows as float) with missing business days filled with 0."""
    t = to_arrow(history, "history")
    require_columns(t, "history", ["date", column])
    days = t.column("date").cast(pa.date32()).to_numpy().astype("datetime64[D]").astype(np.int64)
    col = t.column(column)
    if pa.types.is_decimal(col.type) or pa.types.is_string(col.type):
        col = col.cast(pa.float64())
    flows = col.to_numpy().astype(np.float64)
    if not np.isfinite(flows).all():
        raise ValidationError("holds a non-finite value", argument="history", column=column)
    if len(days) == 0:
        raise ValidationError("is empty", argument="history", expected="at least one day")
    if len(np.unique(days)) != len(days):
        raise ValidationError("has a repeated date", argument="history", column="date",
                              hint="sum flows per date first (daily_flows)")
    lo, hi = int(days.min()), int(days.max())
    all_days = np.arange(lo, hi + 1, dtype=np.int64)
    bus = all_days[np.is_busday(all_days.astype("datetime64[D]"), busdaycal=calendar._cal)]
    grid = np.union1d(bus, days)
    values = np.zeros(len(grid))
    values[np.searchsorted(grid, days)] = flows
    return grid, values


def _season(days: np.ndarray, method: str) -> np.ndarray:
    d = days.astype("datetime64[D]")
    if method == "weekday":
        return ((days + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday: Monday = 0
    if method == "month":
        return (d.astype("datetime64[M]").astype(np.int64) % 12).astype(np.int64)
    return np.zeros(len(days), np.int64)


def forecast_cash_flows(history: Any, /, *, method: str = "average", horizon: int = 20,
                        column: str = "flow", calendar: BusinessCalendar | None = None,
                        window: int | None = None) -> Any:
    """Forecast daily net cash flows for the next business days from history.

    Parameters
    ----------
    history : frame
        ``date`` and ``column`` (net flow per day; days without a row count as 0
        on business days), e.g. one key of :func:`daily_flows`.
    method : {"average", "weekday", "month"}, keyword-only
        ``average``: the mean daily flow. ``weekday``/``month``: the mean of
        the same weekday / calendar month (the overall mean where history has
        none).
    horizon : int, keyword-only
        Business days to forecast after the last history date.
    column : str, keyword-only
        Flow column name.
    calendar : BusinessCalendar, keyword-only
        Business days (default weekends only).
    window : int, keyword-only
        Use only the last ``window`` business days of history.

    Returns
    -------
    frame
        The caller's kind: ``date``, ``forecast`` (float).

    Notes
    -----
    .. math:: \\hat f_{t} = \\frac{1}{|S(t)|} \\sum_{s \\in S(t)} f_s

    with :math:`S(t)` the history days of the same season as :math:`t`.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> h = pa.table({"date": [dt.date(2026, 11, 16), dt.date(2026, 11, 17)], "flow": [10.0, 20.0]})
    >>> forecast_cash_flows(h, horizon=2).column("forecast").to_pylist()
    [15.0, 15.0]
    """
    if method not in FORECAST_METHODS:
        raise ValidationError("is not a forecast method", argument="method", value=method,
                              expected=f"one of {list(FORECAST_METHODS)}")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValidationError("is not a day count", argument="horizon", value=horizon,
                              expected="an integer >= 1")
    cal = calendar or BusinessCalendar()
    kind = frame_kind(history)
    days, flows = _series(history, cal, column)
    if window is not None:
        days, flows = days[-int(window):], flows[-int(window):]
    future = cal.value_days(np.array([days[-1]]), np.arange(1, horizon + 1))
    mean = flows.mean()
    s_hist, s_fut = _season(days, method), _season(future, method)
    sums = np.bincount(s_hist, weights=flows, minlength=12)
    counts = np.bincount(s_hist, minlength=12)
    with np.errstate(invalid="ignore", divide="ignore"):
        seasonal = np.where(counts > 0, sums / np.maximum(counts, 1), mean)
    out = pa.table({"date": pa.array(future.astype("datetime64[D]"), pa.date32()),
                    "forecast": seasonal[s_fut]})
    return from_arrow(out, kind if kind != "other" else "arrow")


@dataclass(frozen=True)
class ForecastBacktest:
    """Walk-forward one-day-ahead forecasts against what happened.

    Attributes
    ----------
    table : frame
        ``date``, ``actual``, ``forecast``, ``error`` (forecast - actual).
    mae, rmse, bias : float
        Mean absolute error, root mean squared error, mean error.

    Notes
    -----
    Built by :func:`backtest_forecast`; ``error = forecast - actual``, so a
    positive bias means the forecast ran high.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> h = pa.table({"date": [dt.date(2026, 11, 16) + dt.timedelta(d) for d in range(3)],
    ...               "flow": [1.0, 3.0, 5.0]})
    >>> backtest_forecast(h, min_history=1)
    ForecastBacktest(n=2, mae=2.5, rmse=2.55, bias=-2.5)
    """

    table: Any
    mae: float
    rmse: float
    bias: float

    def to_arrow(self) -> pa.Table:
        """The table as pyarrow.

        Notes
        -----
        The same rows and columns in every kind; exact decimal columns stay exact.

        Examples
        --------
        >>> import datetime as dt, pyarrow as pa
        >>> h = pa.table({"date": [dt.date(2026, 11, 16), dt.date(2026, 11, 17)], "flow": [1.0, 3.0]})
        >>> b = backtest_forecast(h, min_history=1)
        >>> b.to_arrow().num_rows
        1
        """
        return to_arrow(self.table, "table")

    def to_polars(self):
        """The table as polars.

        Notes
        -----
        The same rows and columns in every kind; exact decimal columns stay exact.

        Examples
        --------
        >>> import datetime as dt, pyarrow as pa
        >>> h = pa.table({"date": [dt.date(2026, 11, 16), dt.date(2026, 11, 17)], "flow": [1.0, 3.0]})
        >>> b = backtest_forecast(h, min_history=1)
        >>> b.to_polars().height
        1
        """
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        """The table as pandas.

        Notes
        -----
        The same rows and columns in every kind; exact decimal columns stay exact.

        Examples
        --------
        >>> import datetime as dt, pyarrow as pa
        >>> h = pa.table({"date": [dt.date(2026, 11, 16), dt.date(2026, 11, 17)], "flow": [1.0, 3.0]})
        >>> b = backtest_forecast(h, min_history=1)
        >>> len(b.to_pandas())
        1
        """
        return from_arrow(self.to_arrow(), "pandas")

    def __repr__(self) -> str:
        return (f"ForecastBacktest(n={self.to_arrow().num_rows}, mae={self.mae:.4g}, "
                f"rmse={self.rmse:.4g}, bias={self.bias:.4g})")


def backtest_forecast(history: Any, /, *, method: str = "average", min_history: int = 20,
                      column: str = "flow", calendar: BusinessCalendar | None = None) -> ForecastBacktest:
    """Track forecast error: forecast each day from the days before it, compare with the actual flow.

    Parameters
    ----------
    history : frame
        As for :func:`forecast_cash_flows`.
    method : str, keyword-only
        As for :func:`forecast_cash_flows`.
    min_history : int, keyword-only
        Business days of history before the first forecast.

    Returns
    -------
    ForecastBacktest

    Notes
    -----
    Expanding window, no look-ahead: the forecast for day :math:`t` uses
    days :math:`< t` only, so appending later data never changes earlier
    forecasts. Running sums per season make it one pass.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> h = pa.table({"date": [dt.date(2026, 11, 16) + dt.timedelta(d) for d in range(3)],
    ...               "flow": [1.0, 3.0, 5.0]})
    >>> b = backtest_forecast(h, min_history=1)
    >>> b.to_arrow().column("forecast").to_pylist(), b.mae
    ([1.0, 2.0], 2.5)
    """
    if method not in FORECAST_METHODS:
        raise ValidationError("is not a forecast method", argument="method", value=method,
                              expected=f"one of {list(FORECAST_METHODS)}")
    cal = calendar or BusinessCalendar()
    kind = frame_kind(history)
    days, flows = _series(history, cal, column)
    season = _season(days, method)
    sums, counts = np.zeros(12), np.zeros(12)
    total = 0.0
    fc = np.full(len(days), np.nan)
    for t in range(len(days)):  # t days seen so far
        if t >= min_history and t > 0:
            s = season[t]
            fc[t] = sums[s] / counts[s] if counts[s] > 0 else total / t
        sums[season[t]] += flows[t]
        counts[season[t]] += 1
        total += flows[t]
    keep = ~np.isnan(fc)
    err = fc[keep] - flows[keep]
    out = pa.table({"date": pa.array(days[keep].astype("datetime64[D]"), pa.date32()),
                    "actual": flows[keep], "forecast": fc[keep], "error": err})
    nan = float("nan")
    return ForecastBacktest(from_arrow(out, kind if kind != "other" else "arrow"),
                            float(np.abs(err).mean()) if err.size else nan,
                            float(np.sqrt((err ** 2).mean())) if err.size else nan,
                            float(err.mean()) if err.size else nan)
