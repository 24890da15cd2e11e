"""Coercion and validation of optimizer inputs (returns, covariance, per-asset options).

Data may be numpy arrays, pandas or polars frames/series, pyarrow tables or
mappings keyed by asset id. Asset ids come from column names (frames), the index
(pandas Series) or the keys (mappings); numpy input gets ids ``0 .. n-1``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import frame_kind

__all__ = ["as_matrix", "as_vector", "per_asset", "check_finite_matrix", "mirror_vector", "mirror_matrix"]


def _frame_to_numpy(obj: Any, arg: str) -> tuple[np.ndarray, tuple, str]:
    kind = frame_kind(obj)
    if kind == "pandas":
        cols = tuple(obj.columns)
        try:
            values = obj.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError("has non-numeric columns", argument=arg,
                                  expected="numeric columns, one per asset") from exc
        return values, cols, kind
    if kind == "polars":
        pl = sys.modules["polars"]
        if isinstance(obj, pl.LazyFrame):
            obj = obj.collect()
        cols = tuple(obj.columns)
        try:
            values = obj.to_numpy().astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError("has non-numeric columns", argument=arg,
                                  expected="numeric columns, one per asset") from exc
        return values, cols, kind
    table = pa.Table.from_batches([obj]) if isinstance(obj, pa.RecordBatch) else obj
    cols = tuple(table.column_names)
    for name in cols:
        t = table.column(name).type
        if not (pa.types.is_floating(t) or pa.types.is_integer(t)):
            raise ValidationError("has the wrong type", argument=arg, column=name, value=str(t),
                                  expected="numeric columns, one per asset")
    if table.num_columns == 0:
        return np.zeros((table.num_rows, 0)), cols, "arrow"
    values = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
                              for c in cols])
    return values, cols, "arrow"


def as_matrix(obj: Any, arg: str, *, square: bool = False) -> tuple[np.ndarray, tuple, str]:
    """Return ``(values, asset_ids, kind)`` for a 2-D input, NaN/inf rejected."""
    kind = frame_kind(obj)
    if kind != "other":
        values, ids, kind = _frame_to_numpy(obj, arg)
    else:
        try:
            values = np.asarray(obj, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError("is not numeric", argument=arg,
                                  expected="a 2-D array or a dataframe") from exc
        if values.ndim != 2:
            raise ValidationError("has the wrong shape", argument=arg, value=values.shape,
                                  expected="a 2-D array (n_obs, n_assets)" if not square
                                  else "a square 2-D array (n_assets, n_assets)")
        ids = tuple(range(values.shape[1]))
        kind = "numpy"
    if square and values.shape[0] != values.shape[1]:
        raise ValidationError("is not square", argument=arg, value=values.shape,
                              expected="shape (n_assets, n_assets)")
    if len(set(ids)) != len(ids):
        seen: set = set()
        dup = next(i for i in ids if i in seen or seen.add(i))
        raise ValidationError("has a duplicate asset id", argument=arg, value=dup,
                              expected="one column per asset")
    check_finite_matrix(values, arg, ids)
    return values, ids, kind


def check_finite_matrix(values: np.ndarray, arg: str, ids: Sequence) -> None:
    """Raise naming the first NaN/inf cell of ``values``."""
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise ValidationError("holds a NaN or infinite value", argument=arg, column=str(ids[col]),
                              row=row, value=float(values[row, col]), expected="a finite number",
                              hint="drop or fill missing returns before estimating")


def as_vector(obj: Any, arg: str, assets: tuple | None = None) -> tuple[np.ndarray, tuple | None]:
    """Return ``(values, ids)`` for a per-asset vector, aligned to ``assets`` when both carry ids."""
    ids: tuple | None = None
    pd = sys.modules.get("pandas")
    pl = sys.modules.get("polars")
    if pd is not None and isinstance(obj, pd.Series):
        ids = tuple(obj.index)
        values = obj.to_numpy(dtype=np.float64)
    elif isinstance(obj, Mapping):
        ids = tuple(obj)
        values = np.array([float(v) for v in obj.values()], dtype=np.float64)
    elif frame_kind(obj) != "other":
        mat, ids, _ = _frame_to_numpy(obj, arg)
        if mat.shape[0] != 1:
            raise ValidationError("has the wrong shape", argument=arg, value=mat.shape,
                                  expected="one row with one column per asset")
        values = mat[0]
    elif pl is not None and isinstance(obj, pl.Series):
        values = obj.to_numpy().astype(np.float64)
    else:
        try:
            values = np.asarray(obj, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError("is not numeric", argument=arg, expected="a 1-D array") from exc
        if values.ndim != 1:
            raise ValidationError("has the wrong shape", argument=arg, value=values.shape,
                                  expected="a 1-D array (n_assets,)")
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError("holds a NaN or infinite value", argument=arg,
                              column=None if ids is None else str(ids[i]), row=None if ids else i,
                              value=float(values[i]), expected="a finite number")
    if assets is not None:
        if ids is not None and not all(isinstance(a, int) for a in assets):
            pos = {a: i for i, a in enumerate(ids)}
            missing = [a for a in assets if a not in pos]
            extra = [a for a in ids if a not in set(assets)]
            if missing or extra:
                raise ValidationError(
                    "does not match the covariance assets", argument=arg,
                    value={"missing": missing[:5], "unknown": extra[:5]},
                    expected=f"the assets {list(assets)[:5]}{'...' if len(assets) > 5 else ''}",
                    hint="estimate mu and the covariance from the same returns")
            values = values[[pos[a] for a in assets]]
        elif len(values) != len(assets):
            raise ValidationError("has the wrong length", argument=arg, value=len(values),
                                  expected=f"{len(assets)} values, one per asset")
    return values, ids


def per_asset(obj: Any, arg: str, assets: tuple, *, default: float | None = None,
              fill: float | None = None) -> np.ndarray:
    """Scalar, array or mapping keyed by asset id -> float array aligned to ``assets``.

    A mapping may name a subset of the assets; the others take ``fill``.
    """
    n = len(assets)
    if obj is None:
        return np.full(n, np.nan if default is None else float(default))
    if np.isscalar(obj):
        v = float(obj)
        if np.isnan(v):
            raise ValidationError("is NaN", argument=arg, expected="a number")
        return np.full(n, v)
    pd = sys.modules.get("pandas")
    if isinstance(obj, Mapping) or (pd is not None and isinstance(obj, pd.Series)):
        items = dict(obj.items())
        pos = {a: i for i, a in enumerate(assets)}
        unknown = [k for k in items if k not in pos]
        if unknown:
            raise ValidationError("names an unknown asset", argument=arg, value=unknown[0],
                                  expected=f"one of {list(assets)[:8]}")
        if fill is None and len(items) != n:
            missing = [a for a in assets if a not in items]
            raise ValidationError("misses an asset", argument=arg, value=missing[0],
                                  expected="a value for every asset")
        out = np.full(n, np.nan if fill is None else float(fill))
        for k, v in items.items():
            out[pos[k]] = float(v)
        if np.isnan(out).any():
            raise ValidationError("holds NaN", argument=arg, expected="numbers")
        return out
    values, _ = as_vector(obj, arg, assets)
    return values


def mirror_vector(values: np.ndarray, ids: tuple, kind: str, name: str) -> Any:
    """Return a per-asset vector in the caller's kind (numpy / pandas Series / 1-row frame)."""
    if kind == "pandas":
        import pandas as pd

        return pd.Series(values, index=list(ids), name=name)
    if kind == "polars":
        import polars as pl

        return pl.DataFrame({str(a): [float(v)] for a, v in zip(ids, values)})
    if kind == "arrow":
        return pa.table({str(a): [float(v)] for a, v in zip(ids, values)})
    return values


def mirror_matrix(values: np.ndarray, ids: tuple, kind: str) -> Any:
    """Return an (n_assets, n_assets) matrix in the caller's kind (rows in column order)."""
    if kind == "pandas":
        import pandas as pd

        return pd.DataFrame(values, index=list(ids), columns=list(ids))
    if kind == "polars":
        import polars as pl

        return pl.DataFrame({str(a): values[:, j] for j, a in enumerate(ids)})
    if kind == "arrow":
        return pa.table({str(a): values[:, j] for j, a in enumerate(ids)})
    return values
