"""Coercion of returns matrices in, results out, for :mod:`pmcore.metrics`.

A returns input is a 1-D series or a 2-D matrix with time on axis 0 and one
column per series: a numpy array, a list, a pandas Series/DataFrame, a polars
Series/DataFrame or a pyarrow Array/Table. Frames may carry a time axis: the
pandas index, or the one temporal (date/datetime) column of a polars or arrow
table. Results come back in the caller's kind.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..kernels.metrics import first_infinite

_EMPTY = np.zeros(1)


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~2 us a call (one series)
class Panel:
    """A validated returns matrix and what is needed to wrap results back."""

    values: np.ndarray  # (n_obs, n_series) float64, never written to
    kind: str  # "numpy", "pandas", "polars" or "arrow"
    one_d: bool
    names: list[str] | None
    index: Any = None  # pandas index
    time: np.ndarray | None = None  # datetime64 values, one per row
    time_name: str | None = None
    time_column: Any = None  # the caller's time column (polars Series / arrow array)
    series_name: Any = None

    @property
    def n_obs(self) -> int:
        return self.values.shape[0]

    def column_name(self, j: int) -> str:
        if self.names is not None:
            return str(self.names[j])
        return str(j)


def _float_matrix(arr: Any, arg: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype == np.float64:
        return arr
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    if arr.dtype.kind == "b":
        raise ValidationError(
            "holds booleans", argument=arg, expected="numeric returns (fractions, 0.01 = 1 %)"
        )
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            "is not numeric", argument=arg, value=str(arr.dtype),
            expected="numeric returns (fractions, 0.01 = 1 %)",
        ) from exc


def _check_infinite(values: np.ndarray, arg: str, names: list[str] | None) -> None:
    if values.size == 0:
        return
    n_obs, n_series = values.shape
    if values.flags.f_contiguous:  # also one column: scanned as one contiguous row
        pos = first_infinite(values.T)
        if pos < 0:
            return
        j, t = divmod(pos, n_obs)
    else:
        pos = first_infinite(values)
        if pos < 0:
            return
        t, j = divmod(pos, n_series)
    raise ValidationError(
        "holds an infinite value", argument=arg,
        column=str(names[j]) if names is not None else str(j), row=int(t),
        value=float(values[t, j]), expected="a finite number or NaN (missing)",
    )


def scan_infinite(panel: "Panel", arg: str = "returns") -> None:
    """Raise :class:`ValidationError` at the first infinity of ``panel``, if any.

    For kernels that report an infinity on their way (the scan runs only then),
    and for paths without a kernel result to recheck.
    """
    _check_infinite(panel.values, arg, panel.names)


def recheck_infinite(panel: "Panel", indicator: np.ndarray, arg: str = "returns") -> None:
    """Scan ``panel`` for infinities if a per-column ``indicator`` is not finite.

    For functions whose kernel result in each column is a sum, mean or
    compounded total of the column's present values: an infinity anywhere
    in a column makes that result non-finite, so finite results prove the
    data finite without a separate pass. (A non-finite result without an
    infinity, e.g. an all-NaN column, costs one scan and raises nothing.)
    """
    finite = math.isfinite(indicator[0]) if indicator.shape[0] == 1 else np.isfinite(indicator).all()
    if not finite:
        scan_infinite(panel, arg)


def recheck_finite_count(panel: "Panel", finite: np.ndarray, arg: str = "returns") -> None:
    """Scan ``panel`` for infinities if a column has fewer finite values than rows.

    For kernels that count each column's finite values on their way (NaN
    and infinities alike fall short): a full count proves the column finite.
    """
    if finite.size and finite.min() < panel.values.shape[0]:
        scan_infinite(panel, arg)


def _check_time(time: np.ndarray, arg: str, name: str | None) -> None:
    if len(time) < 2:
        return
    bad = np.flatnonzero(~(time[1:] > time[:-1]))
    if len(bad):
        row = int(bad[0]) + 1
        raise ValidationError(
            "timestamps are not strictly increasing", argument=arg,
            column=name, row=row, value=str(time[row]),
            expected=f"a time after {time[row - 1]}",
            hint="sort by time and drop duplicate timestamps first",
        )


def _numeric_names(names: list[str], types: list[Any], arg: str, is_temporal, is_numeric):
    time_cols = [n for n, t in zip(names, types) if is_temporal(t)]
    if len(time_cols) > 1:
        raise ValidationError(
            f"has several time columns {time_cols}", argument=arg,
            expected="at most one date/datetime column (the time axis)",
        )
    data = []
    for n, t in zip(names, types):
        if n in time_cols:
            continue
        if not is_numeric(t):
            raise ValidationError(
                "has the wrong type", argument=arg, column=str(n), value=str(t),
                expected="numeric returns, or one date/datetime column as the time axis",
            )
        data.append(n)
    return (time_cols[0] if time_cols else None), data


def as_panel(obj: Any, arg: str = "returns", *, check_time: bool = True, check_inf: bool = True) -> Panel:
    """Coerce ``obj`` to a :class:`Panel`; raise :class:`ValidationError` if it is not returns.

    With ``check_inf=False`` the scan for infinities is left to the caller,
    which must call :func:`recheck_infinite` with a per-column result that
    an infinity always makes non-finite (a sum, a mean, a compounded total).
    """
    if type(obj) is np.ndarray or isinstance(obj, (list, tuple)):
        values = _float_matrix(obj, arg)
        one_d = values.ndim == 1
        if one_d:
            values = values.reshape(-1, 1)
        elif values.ndim != 2:
            raise ValidationError(
                "has the wrong shape", argument=arg, value=values.shape,
                expected="a 1-D series or a 2-D (n_obs, n_series) matrix",
            )
        if not values.flags.c_contiguous:
            # one memory layout for every kernel: each compiles once (C order);
            # a Fortran-ordered or strided matrix is copied
            values = np.ascontiguousarray(values)
        panel = Panel(values, "numpy", one_d, None)
        if check_inf:
            _check_infinite(values, arg, None)
        return panel
    pd = sys.modules.get("pandas")
    pl = sys.modules.get("polars")
    if pd is not None and isinstance(obj, (pd.Series, pd.DataFrame)):
        panel = _pandas_panel(obj, arg, pd, check_time)
    elif pl is not None and isinstance(obj, (pl.Series, pl.DataFrame, pl.LazyFrame)):
        panel = _polars_panel(obj, arg, pl, check_time)
    elif isinstance(obj, (pa.Table, pa.RecordBatch, pa.Array, pa.ChunkedArray)):
        panel = _arrow_panel(obj, arg, check_time)
    elif isinstance(obj, np.ndarray):  # subclasses, e.g. masked arrays
        return as_panel(np.asarray(obj), arg, check_time=check_time, check_inf=check_inf)
    else:
        panel = None
    if panel is not None:
        if not panel.values.flags.c_contiguous:
            # one memory layout for every kernel: each compiles once (C order)
            panel.values = np.ascontiguousarray(panel.values)
        if check_inf:
            _check_infinite(panel.values, arg, panel.names)
        return panel
    raise ValidationError(
        "has an unsupported type", argument=arg, value=type(obj).__name__,
        expected="a numpy array, a pandas/polars Series or DataFrame, or a pyarrow Table",
    )


def _pandas_panel(obj, arg, pd, check_time) -> Panel:
    index = obj.index
    time = None
    if isinstance(index, pd.DatetimeIndex):
        time = index.to_numpy()
        if check_time:
            _check_time(time, arg, "index")
    if isinstance(obj, pd.Series):
        if obj.dtype.kind not in "iufb" and not pd.api.types.is_numeric_dtype(obj.dtype):
            raise ValidationError(
                "has the wrong type", argument=arg, column=str(obj.name), value=str(obj.dtype),
                expected="numeric returns",
            )
        values = _float_matrix(obj.to_numpy(dtype=np.float64, na_value=np.nan), arg).reshape(-1, 1)
        names = None
        one_d = True
    else:
        names = [str(c) for c in obj.columns]
        for c, dt in zip(names, obj.dtypes):
            if dt.kind == "b" or not pd.api.types.is_numeric_dtype(dt):
                raise ValidationError(
                    "has the wrong type", argument=arg, column=c, value=str(dt),
                    expected="numeric returns (put dates in the index)",
                )
        values = obj.to_numpy(dtype=np.float64, na_value=np.nan)
        one_d = False
    return Panel(values, "pandas", one_d, names, index=index, time=time,
                 series_name=getattr(obj, "name", None))


def _polars_panel(obj, arg, pl, check_time) -> Panel:
    if isinstance(obj, pl.LazyFrame):
        obj = obj.collect()
    if isinstance(obj, pl.Series):
        if not obj.dtype.is_numeric():
            raise ValidationError(
                "has the wrong type", argument=arg, column=obj.name, value=str(obj.dtype),
                expected="numeric returns",
            )
        values = obj.cast(pl.Float64).fill_null(float("nan")).to_numpy().reshape(-1, 1)
        values = np.asarray(values, dtype=np.float64)
        return Panel(values, "polars", True, None, series_name=obj.name)
    time_name, data = _numeric_names(
        obj.columns, list(obj.dtypes), arg, lambda t: t.is_temporal(), lambda t: t.is_numeric()
    )
    if data:
        values = (
            obj.select([pl.col(c).cast(pl.Float64).fill_null(float("nan")) for c in data])
            .to_numpy(order="c")
        )
        values = np.asarray(values, dtype=np.float64)
    else:
        values = np.empty((obj.height, 0))
    time = time_col = None
    if time_name is not None:
        time_col = obj.get_column(time_name)
        time = time_col.to_numpy()
        if check_time:
            _check_time(time, arg, time_name)
    return Panel(values, "polars", False, data, time=time, time_name=time_name,
                 time_column=time_col)


def _arrow_panel(obj, arg, check_time) -> Panel:
    if isinstance(obj, (pa.Array, pa.ChunkedArray)):
        if not (pa.types.is_integer(obj.type) or pa.types.is_floating(obj.type)):
            raise ValidationError(
                "has the wrong type", argument=arg, value=str(obj.type), expected="numeric returns"
            )
        values = _arrow_floats(obj).reshape(-1, 1)
        return Panel(values, "arrow", True, None)
    if isinstance(obj, pa.RecordBatch):
        obj = pa.Table.from_batches([obj])

    def numeric(t):
        return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)

    time_name, data = _numeric_names(
        obj.column_names, [f.type for f in obj.schema], arg, pa.types.is_temporal, numeric
    )
    values = np.empty((obj.num_rows, len(data)))
    for j, c in enumerate(data):
        values[:, j] = _arrow_floats(obj.column(c))
    time = time_col = None
    if time_name is not None:
        time_col = obj.column(time_name)
        time = time_col.to_numpy()
        if check_time:
            _check_time(time, arg, time_name)
    return Panel(values, "arrow", False, data, time=time, time_name=time_name,
                 time_column=time_col)


def _arrow_floats(arr) -> np.ndarray:
    arr = arr.cast(pa.float64())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def as_vector(obj: Any, arg: str, panel: Panel, *, allow_nan: bool = True) -> np.ndarray:
    """Coerce a 1-D series aligned with ``panel``'s rows (a benchmark or a rate series)."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(obj, pd.DataFrame) and obj.shape[1] == 1:
        obj = obj.iloc[:, 0]
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(obj, pl.DataFrame):
        numeric = [c for c, t in zip(obj.columns, obj.dtypes) if t.is_numeric()]
        if len(numeric) != 1:
            raise ValidationError(
                f"has numeric columns {numeric}", argument=arg, expected="exactly one numeric column"
            )
        obj = obj.get_column(numeric[0])
    if isinstance(obj, pa.Table):
        numeric = [f.name for f in obj.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
        if len(numeric) != 1:
            raise ValidationError(
                f"has numeric columns {numeric}", argument=arg, expected="exactly one numeric column"
            )
        obj = obj.column(numeric[0])
    if pd is not None and isinstance(obj, pd.Series) and panel.kind == "pandas":
        if len(obj) == panel.n_obs and not obj.index.equals(panel.index):
            raise ValidationError(
                "has a different index from returns", argument=arg,
                hint=f"align it first, e.g. {arg}.reindex(returns.index)",
            )
    sub = as_panel(obj, arg, check_time=False)
    if not sub.one_d and sub.values.shape[1] != 1:
        raise ValidationError(
            "has the wrong shape", argument=arg, value=sub.values.shape,
            expected="one series (1-D)",
        )
    vec = sub.values[:, 0]
    if len(vec) != panel.n_obs:
        raise ValidationError(
            "has the wrong length", argument=arg, value=len(vec),
            expected=f"{panel.n_obs} observations, one per row of returns",
        )
    if not allow_nan and np.isnan(vec).any():
        row = int(np.flatnonzero(np.isnan(vec))[0])
        raise ValidationError("is missing a value", argument=arg, row=row, expected="a number")
    return np.ascontiguousarray(vec)


def as_rate(obj: Any, arg: str, panel: Panel) -> tuple[np.ndarray, int]:
    """A per-period rate as ``(array, step)``: a scalar gives step 0, a series step 1."""
    if isinstance(obj, (int, float, np.integer, np.floating)) and not isinstance(obj, bool):
        value = float(obj)
        if not math.isfinite(value):
            raise ValidationError("is not finite", argument=arg, value=value,
                                  expected="a finite per-period rate")
        return np.array([value]), 0
    vec = as_vector(obj, arg, panel, allow_nan=False)
    if len(vec) == 0:
        return _EMPTY, 0
    return vec, 1


def check_positive(value: Any, arg: str) -> float:
    if type(value) is float and 0.0 < value < math.inf:  # the common case, fast
        return value
    if type(value) is int and value > 0:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError("has the wrong type", argument=arg, value=value, expected="a number > 0")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValidationError("is out of range", argument=arg, value=value, expected="a finite number > 0")
    return value


def check_fraction(value: Any, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError("has the wrong type", argument=arg, value=value,
                              expected="a fraction strictly between 0 and 1")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValidationError("is out of range", argument=arg, value=value,
                              expected="a fraction strictly between 0 and 1 (0.05 = 5 %)")
    return value


def check_int(value: Any, arg: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError("has the wrong type", argument=arg, value=value,
                              expected=f"an integer >= {minimum}")
    if value < minimum:
        raise ValidationError("is out of range", argument=arg, value=int(value),
                              expected=f"an integer >= {minimum}")
    return int(value)


def check_choice(value: Any, arg: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValidationError("is not a known option", argument=arg, value=value,
                              expected=" or ".join(repr(c) for c in choices))
    return value


# ---------------------------------------------------------------- results out


def per_column(panel: Panel, values: np.ndarray, name: str) -> Any:
    """One value per series: a float for 1-D input, else an array/Series/1-row frame."""
    if panel.one_d:
        return float(values[0])
    if panel.kind == "numpy":
        return values
    if panel.kind == "pandas":
        import pandas as pd

        return pd.Series(values, index=list(panel.names), name=name)
    if panel.kind == "polars":
        import polars as pl

        return pl.DataFrame({c: [float(v)] for c, v in zip(panel.names, values)},
                            schema={c: pl.Float64 for c in panel.names})
    return pa.table({c: pa.array([float(v)], pa.float64()) for c, v in zip(panel.names, values)})


def per_row(panel: Panel, matrix: np.ndarray, name: str) -> Any:
    """A value per row and series, with the caller's index / time column kept."""
    if panel.kind == "numpy":
        return matrix[:, 0] if panel.one_d else matrix
    if panel.kind == "pandas":
        import pandas as pd

        if panel.one_d:
            return pd.Series(matrix[:, 0], index=panel.index, name=panel.series_name or name)
        return pd.DataFrame(matrix, index=panel.index, columns=list(panel.names))
    if panel.kind == "polars":
        import polars as pl

        if panel.one_d:
            return pl.Series(panel.series_name or name, matrix[:, 0])
        cols = {}
        if panel.time_column is not None:
            cols[panel.time_name] = panel.time_column
        for j, c in enumerate(panel.names):
            cols[c] = pl.Series(c, matrix[:, j])
        return pl.DataFrame(cols)
    if panel.one_d:
        return pa.array(matrix[:, 0])
    cols = {}
    if panel.time_column is not None:
        cols[panel.time_name] = panel.time_column
    for j, c in enumerate(panel.names):
        cols[c] = pa.array(matrix[:, j])
    return pa.table(cols)


def labels(panel: Panel, rows: np.ndarray) -> list[Any]:
    """Row labels for row positions (-1 gives None): timestamps or index labels, else ints."""
    out: list[Any] = []
    for r in rows:
        r = int(r)
        if r < 0:
            out.append(None)
        elif panel.kind == "pandas":
            out.append(panel.index[r])
        elif panel.time is not None:
            out.append(panel.time_column[r].as_py() if hasattr(panel.time_column[r], "as_py")
                       else panel.time_column[r])
        else:
            out.append(r)
    return out
