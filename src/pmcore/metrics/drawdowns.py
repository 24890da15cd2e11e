"""Drawdowns: the drawdown series, maximum and current drawdown, and drawdown periods.

Wealth is compounded from the returns, ``W_t = W_0 prod(1 + r)``; the
drawdown at ``t`` is ``W_t / max_{s <= t} W_s - 1`` (a fraction, <= 0). By
default the starting wealth ``W_0`` counts as a peak (empyrical), so a first
negative return is already a drawdown; ``include_start=False`` measures from
the first close instead (vectorbt). NaN returns count as 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..kernels import metrics as k
from . import _kernels as kd
from ._data import Panel, as_panel, check_int, check_positive, labels, per_column, per_row, recheck_infinite

__all__ = [
    "drawdown",
    "max_drawdown",
    "current_drawdown",
    "drawdown_details",
    "drawdown_periods",
    "DrawdownDetails",
]


def drawdown(returns: Any, /, *, include_start: bool = True) -> Any:
    """Drawdown at every period, as a fraction of the running peak (<= 0).

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    include_start : bool, default True
        Count the starting wealth (before the first return) as a peak.

    Returns
    -------
    same kind and shape as ``returns``

    Notes
    -----
    .. math:: D_t = \\frac{W_t}{\\max_{s \\le t} W_s} - 1

    Matches empyrical's ``drawdown_series``. NaN returns count as 0.

    Examples
    --------
    >>> from pmcore.metrics import drawdown
    >>> drawdown([0.1, -0.2, 0.1, 0.2]).round(4).tolist()
    [0.0, -0.2, -0.12, 0.0]
    """
    panel = as_panel(returns)
    out = kd.output_like(panel.values)
    k.drawdown_series(panel.values, bool(include_start), out)
    return per_row(panel, out, "drawdown")


def max_drawdown(returns: Any, /, *, include_start: bool = True) -> Any:
    """Maximum drawdown: the worst peak-to-trough loss, as a fraction (<= 0).

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    include_start : bool, default True
        Count the starting wealth as a peak (empyrical); False measures from
        the first close (vectorbt).

    Returns
    -------
    float, or one value per series

    Notes
    -----
    .. math:: \\text{MDD} = \\min_t \\Big(\\frac{W_t}{\\max_{s \\le t} W_s} - 1\\Big)

    A monotone (never falling) wealth curve gives 0. NaN returns count as 0;
    an empty or all-NaN series gives NaN. Matches empyrical's ``max_drawdown``.

    Examples
    --------
    >>> from pmcore.metrics import max_drawdown
    >>> round(max_drawdown([0.1, -0.2, 0.1, -0.1]), 6)
    -0.208
    """
    panel = as_panel(returns, check_inf=False)
    out, total, count = kd.max_drawdown(panel.values, include_start)
    recheck_infinite(panel, total)
    out[count == 0] = np.nan
    return per_column(panel, out, "max_drawdown")


def _all_nan_to_nan(panel: Panel, out: np.ndarray) -> None:
    if panel.n_obs == 0:
        out[:] = np.nan
        return
    empty = np.isnan(panel.values).all(axis=0)
    out[empty] = np.nan


def current_drawdown(returns: Any, /, *, include_start: bool = True) -> Any:
    """Drawdown at the last period (0 at a new high).

    Examples
    --------
    >>> from pmcore.metrics import current_drawdown
    >>> round(current_drawdown([0.1, -0.2, 0.1]), 6)
    -0.12
    """
    panel = as_panel(returns)
    n = panel.values.shape[1]
    if panel.n_obs == 0:
        return per_column(panel, np.full(n, np.nan), "current_drawdown")
    series = kd.output_like(panel.values)
    k.drawdown_series(panel.values, bool(include_start), series)
    out = series[-1].copy()
    _all_nan_to_nan(panel, out)
    return per_column(panel, out, "current_drawdown")


def _table_repr(title: str, table: pa.Table) -> str:
    cols = table.column_names
    rows = [[_fmt(v) for v in table.column(c).to_pylist()] for c in cols]
    widths = [max([len(c)] + [len(v) for v in col]) for c, col in zip(cols, rows)]
    lines = [title, "  ".join(c.rjust(w) for c, w in zip(cols, widths))]
    for i in range(table.num_rows):
        lines.append("  ".join(rows[j][i].rjust(widths[j]) for j in range(len(cols))))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


@dataclass(frozen=True)
class DrawdownDetails:
    """Maximum drawdown of each series with its dates.

    Attributes
    ----------
    names : tuple of str
        Series names (column names, or "0", "1", ... for arrays).
    max_drawdown : numpy.ndarray, shape (n_series,)
        Worst peak-to-trough loss as a fraction (<= 0).
    max_drawdown_amount : numpy.ndarray, shape (n_series,)
        The same loss in wealth units for a start of ``start_value`` (<= 0).
    peak, trough, recovery : tuple
        Labels (timestamps, index labels, or row numbers for arrays) of the
        peak, the trough, and the first period back at the peak. ``None``
        for a peak at the starting value, or for no recovery yet.
    current_drawdown : numpy.ndarray, shape (n_series,)
        Drawdown at the last period.
    """

    names: tuple[str, ...]
    max_drawdown: np.ndarray
    max_drawdown_amount: np.ndarray
    peak: tuple
    trough: tuple
    recovery: tuple
    current_drawdown: np.ndarray

    def to_arrow(self) -> pa.Table:
        """One row per series."""
        return pa.table({
            "series": list(self.names),
            "max_drawdown": self.max_drawdown,
            "max_drawdown_amount": self.max_drawdown_amount,
            "peak": _arrow_labels(self.peak),
            "trough": _arrow_labels(self.trough),
            "recovery": _arrow_labels(self.recovery),
            "current_drawdown": self.current_drawdown,
        })

    def to_pandas(self):
        """One row per series, indexed by series name."""
        return self.to_arrow().to_pandas().set_index("series")

    def to_polars(self):
        """One row per series."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __repr__(self) -> str:
        return _table_repr("DrawdownDetails", self.to_arrow())


def _arrow_labels(values: tuple) -> pa.Array:
    try:
        return pa.array(list(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def drawdown_details(returns: Any, /, *, include_start: bool = True, start_value: float = 1.0) -> DrawdownDetails:
    """Maximum drawdown (fraction and amount) with peak, trough and recovery dates.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    include_start : bool, default True
        Count the starting wealth as a peak.
    start_value : float, default 1.0
        Starting wealth for ``max_drawdown_amount`` (e.g. the initial capital).

    Returns
    -------
    DrawdownDetails
        Frozen result; ``to_pandas()`` / ``to_polars()`` / ``to_arrow()``.

    Notes
    -----
    The peak is the last running maximum before the worst trough; recovery
    is the first period whose wealth is back at or above that peak. NaN
    returns count as 0.

    Examples
    --------
    >>> from pmcore.metrics import drawdown_details
    >>> d = drawdown_details([0.1, -0.2, 0.1, 0.2], start_value=100.0)
    >>> round(float(d.max_drawdown[0]), 4), round(float(d.max_drawdown_amount[0]), 2)
    (-0.2, -22.0)
    >>> d.peak, d.trough, d.recovery
    ((0,), (1,), (3,))
    """
    panel = as_panel(returns)
    start_value = check_positive(start_value, "start_value")
    n = panel.values.shape[1]
    depth = np.empty(n)
    amount = np.empty(n)
    rows = np.empty((n, 3), np.int64)
    k.drawdown_details(panel.values, bool(include_start), start_value, depth, amount, rows)
    current = np.full(n, np.nan)
    if panel.n_obs:
        series = kd.output_like(panel.values)
        k.drawdown_series(panel.values, bool(include_start), series)
        current = series[-1].copy()
    _all_nan_to_nan(panel, depth)
    _all_nan_to_nan(panel, amount)
    _all_nan_to_nan(panel, current)
    names = tuple(panel.column_name(j) for j in range(n)) if not panel.one_d else (
        str(panel.series_name) if panel.series_name is not None else "0",)
    return DrawdownDetails(
        names=names,
        max_drawdown=depth,
        max_drawdown_amount=amount,
        peak=tuple(labels(panel, rows[:, 0])),
        trough=tuple(labels(panel, rows[:, 1])),
        recovery=tuple(labels(panel, rows[:, 2])),
        current_drawdown=current,
    )


def drawdown_periods(returns: Any, /, *, top: int | None = None, include_start: bool = True) -> Any:
    """Table of drawdown periods, worst first.

    A period starts when wealth falls below its running peak and ends at
    the first period back at or above that peak (its recovery).

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    top : int, optional
        Keep only the ``top`` deepest periods of each series.
    include_start : bool, default True

    Returns
    -------
    table
        Columns ``series``, ``peak``, ``trough``, ``recovery`` (labels; null
        while not recovered, null peak for the starting value), ``depth``
        (fraction, < 0), ``length`` (periods from peak to recovery, or to the
        last period while open) and ``recovered``. A pandas DataFrame for
        pandas input, a polars DataFrame for polars input, else a pyarrow
        Table.

    Examples
    --------
    >>> from pmcore.metrics import drawdown_periods
    >>> t = drawdown_periods([0.1, -0.2, 0.3, -0.1, -0.1, 0.01])
    >>> t.column("depth").to_pylist()[0] < t.column("depth").to_pylist()[1]
    True
    >>> t.column("recovery").to_pylist()
    [2, None]
    """
    panel = as_panel(returns)
    if top is not None:
        top = check_int(top, "top", 1)
    n_obs, n = panel.values.shape
    series = kd.output_like(panel.values)
    k.drawdown_series(panel.values, bool(include_start), series)
    cols: dict[str, list] = {k_: [] for k_ in
                             ("series", "peak", "trough", "recovery", "depth", "length", "recovered")}
    for j in range(n):
        under = series[:, j] < 0
        edges = np.diff(np.concatenate(([False], under, [False])).astype(np.int8))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)  # first row back at the peak (may be n_obs)
        if len(starts) == 0:
            continue
        depth = np.array([series[a:b, j].min() for a, b in zip(starts, ends)])
        trough = np.array([a + int(np.argmin(series[a:b, j])) for a, b in zip(starts, ends)])
        order = np.argsort(depth, kind="stable")
        if top is not None:
            order = order[:top]
        name = panel.column_name(j) if not panel.one_d else (
            str(panel.series_name) if panel.series_name is not None else "0")
        peak_rows = starts[order] - 1
        if not include_start:
            peak_rows = np.maximum(peak_rows, 0)
        rec_rows = np.where(ends[order] < n_obs, ends[order], -1)
        cols["series"] += [name] * len(order)
        cols["peak"] += labels(panel, peak_rows)
        cols["trough"] += labels(panel, trough[order])
        cols["recovery"] += labels(panel, rec_rows)
        cols["depth"] += depth[order].tolist()
        cols["length"] += (np.where(rec_rows >= 0, ends[order], n_obs - 1) - peak_rows).tolist()
        cols["recovered"] += (rec_rows >= 0).tolist()
    table = pa.table({
        "series": pa.array(cols["series"], pa.string()),
        "peak": _arrow_labels(tuple(cols["peak"])) if cols["peak"] else pa.array([], pa.int64()),
        "trough": _arrow_labels(tuple(cols["trough"])) if cols["trough"] else pa.array([], pa.int64()),
        "recovery": _arrow_labels(tuple(cols["recovery"])) if cols["recovery"] else pa.array([], pa.int64()),
        "depth": pa.array(cols["depth"], pa.float64()),
        "length": pa.array(cols["length"], pa.int64()),
        "recovered": pa.array(cols["recovered"], pa.bool_()),
    })
    if panel.kind == "pandas":
        return table.to_pandas()
    if panel.kind == "polars":
        import polars as pl

        return pl.from_arrow(table)
    return table
