"""Input coercion and validation helpers shared by every public function.

Any dataframe in (pyarrow, polars, pandas), the same kind out. Backends are
detected from ``sys.modules`` so that pmcore never imports polars or pandas
unless the caller already did. Validation helpers raise
:class:`~pmcore.errors.ValidationError` naming the argument, the column, the
first offending row and value, and the rule.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ValidationError

__all__ = [
    "frame_kind",
    "to_arrow",
    "from_arrow",
    "require_columns",
    "float_column",
    "id_column",
    "first_duplicate",
    "encode",
    "day_column",
]

KINDS = ("arrow", "polars", "pandas")


def frame_kind(obj: Any) -> str:
    """Return ``"arrow"``, ``"polars"`` or ``"pandas"`` for a dataframe, else ``"other"``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> frame_kind(pa.table({"a": [1]}))
    'arrow'
    """
    if isinstance(obj, (pa.Table, pa.RecordBatch)):
        return "arrow"
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(obj, (pl.DataFrame, pl.LazyFrame)):
        return "polars"
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(obj, pd.DataFrame):
        return "pandas"
    return "other"


def to_arrow(obj: Any, arg: str) -> pa.Table:
    """Coerce a pyarrow, polars or pandas frame (or a dict of columns) to ``pa.Table``.

    The conversion is zero-copy where the source allows it. ``arg`` names the
    argument in error messages.

    Examples
    --------
    >>> to_arrow({"a": [1, 2]}, "x").num_rows
    2
    """
    kind = frame_kind(obj)
    if kind == "arrow":
        return pa.Table.from_batches([obj]) if isinstance(obj, pa.RecordBatch) else obj
    if kind == "polars":
        pl = sys.modules["polars"]
        if isinstance(obj, pl.LazyFrame):
            obj = obj.collect()
        try:  # string views convert without a copy
            return obj.to_arrow(compat_level=pl.CompatLevel.newest())
        except (AttributeError, TypeError):  # pragma: no cover - older polars
            return obj.to_arrow()
    if kind == "pandas":
        return pa.Table.from_pandas(obj, preserve_index=False)
    if isinstance(obj, Mapping):
        try:
            return pa.table({str(k): v for k, v in obj.items()})
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"cannot build a table from the mapping ({exc})", argument=arg
            ) from exc
    raise ValidationError(
        "expected a pyarrow Table, a polars or pandas DataFrame, or a dict of columns",
        argument=arg,
        value=type(obj).__name__,
    )


def from_arrow(table: pa.Table, kind: str) -> Any:
    """Return ``table`` as a frame of ``kind`` (``"arrow"``, ``"polars"`` or ``"pandas"``)."""
    if kind == "polars":
        import polars as pl

        return pl.from_arrow(table)
    if kind == "pandas":
        return table.to_pandas()
    return table


def require_columns(table: pa.Table, arg: str, required: Iterable[str]) -> None:
    """Raise if ``table`` lacks any of ``required``, suggesting a near-miss name."""
    names = table.column_names
    for col in required:
        if col not in names:
            close = difflib.get_close_matches(col, names, n=1, cutoff=0.5)
            hint = f"rename {close[0]!r} to {col!r}" if close else None
            raise ValidationError(
                f"is missing column {col!r}; got {names}",
                argument=arg,
                hint=hint,
            )


def _chunk(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 1:
            return arr.chunk(0)
        return arr.combine_chunks()
    return arr


def _first_null(arr: pa.Array) -> int:
    return int(np.flatnonzero(~np.asarray(arr.is_valid()))[0])


def float_column(
    table: pa.Table,
    arg: str,
    name: str,
    *,
    default: float | None = None,
    positive: bool = False,
    nonnegative: bool = False,
) -> np.ndarray:
    """Return column ``name`` as a float64 numpy array, validated.

    Nulls, NaN and inf are rejected; ``positive``/``nonnegative`` add a sign
    rule. A missing column takes ``default`` if one is given. Integer and
    float columns are accepted; anything else raises.
    """
    if name not in table.column_names:
        if default is None:
            require_columns(table, arg, [name])
        return np.full(table.num_rows, float(default))
    arr = _chunk(table.column(name))
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_null(arr.type) and len(arr) == 0:  # an empty column of unknown type
        return np.zeros(0)
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type) or pa.types.is_decimal(arr.type)):
        raise ValidationError(
            "has the wrong type",
            argument=arg,
            column=name,
            value=str(arr.type),
            expected="a numeric column (integer or float)",
        )
    if arr.null_count:
        row = _first_null(arr)
        raise ValidationError("is null", argument=arg, column=name, row=row, expected="a number")
    values = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if not len(values):
        return values
    # the usual case in two reductions, no temporaries (NaN makes the minimum NaN)
    lo, hi = values.min(), values.max()
    if hi < np.inf and (lo > 0 if positive else lo >= 0 if nonnegative else lo > -np.inf):
        return values
    bad = ~np.isfinite(values)
    rule = "a finite number"
    if positive:
        bad |= values <= 0
        rule = "a finite number > 0"
    elif nonnegative:
        bad |= values < 0
        rule = "a finite number >= 0"
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            "holds an invalid value", argument=arg, column=name, row=row,
            value=float(values[row]), expected=rule,
        )
    return values


def id_column(table: pa.Table, arg: str, name: str, *, keep_dictionary: bool = False) -> pa.Array:
    """Return id column ``name`` as a non-null Arrow array (string or integer).

    String views are cast to large strings so that hashing kernels accept them.
    Dictionary columns (polars Categorical, pandas category) are decoded, or
    with ``keep_dictionary`` returned as they are, with a string dictionary,
    so that :func:`encode` hashes only the dictionary.
    """
    require_columns(table, arg, [name])
    arr = _chunk(table.column(name))
    if arr.null_count:
        raise ValidationError(
            "has a missing id", argument=arg, column=name, row=_first_null(arr),
            expected="a non-null id",
        )
    if pa.types.is_dictionary(arr.type):
        dictionary = _id_values(arr.dictionary, arg, name)
        if keep_dictionary:
            return pa.DictionaryArray.from_arrays(arr.indices, dictionary)
        return dictionary.take(arr.indices)
    return _id_values(arr, arg, name)


def _id_values(arr: pa.Array, arg: str, name: str) -> pa.Array:
    t = arr.type
    if len(arr) == 0 and not (pa.types.is_string(t) or pa.types.is_integer(t)):
        return pa.array([], pa.string())  # an empty column carries no id type (pandas: float)
    if pa.types.is_string_view(t):  # hash kernels take (large) strings, not views
        return arr.cast(pa.large_string())
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)):
        raise ValidationError(
            "has the wrong type", argument=arg, column=name, value=str(t),
            expected="string or integer ids",
        )
    return arr


def encode(values: pa.Array, dictionary: pa.Array | None = None) -> tuple[np.ndarray, pa.Array]:
    """Dictionary-encode ``values`` to int32 codes.

    With ``dictionary`` given, codes index into it and unknown values get -1;
    otherwise the dictionary is the distinct values in order of first
    appearance. A ``pyarrow.DictionaryArray`` is encoded through its own
    (small) dictionary, without touching a string per row.
    """
    if isinstance(values, pa.DictionaryArray):
        indices = values.indices.to_numpy(zero_copy_only=False)
        if dictionary is not None:
            codes, _ = encode(values.dictionary, dictionary)
            return codes[indices], dictionary
        codes, uniq = encode(values.dictionary)
        row_codes = codes[indices]
        used = np.bincount(row_codes, minlength=len(uniq)) > 0
        if used.all():
            return row_codes, uniq
        remap = np.cumsum(used, dtype=np.int32) - 1
        return remap[row_codes], uniq.filter(pa.array(used))
    if dictionary is None:
        enc = pc.dictionary_encode(values)
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.combine_chunks()
        return enc.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), enc.dictionary
    value_set = dictionary
    if values.type != dictionary.type:
        string_like = (pa.types.is_string, pa.types.is_large_string)
        if any(f(values.type) for f in string_like) and any(f(dictionary.type) for f in string_like):
            value_set = dictionary.cast(values.type)  # cast the small side
        else:
            try:
                values = values.cast(dictionary.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return np.full(len(values), -1, np.int32), dictionary
    codes = pc.index_in(values, value_set=value_set)
    if codes.null_count:
        codes = codes.fill_null(-1)
    return codes.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), dictionary


def first_duplicate(codes: np.ndarray) -> tuple[int, int] | None:
    """Return ``(first_row, repeat_row)`` of the first repeated key in ``codes``, or None.

    ``codes`` is a 1-D integer key (for a compound key, combine the parts
    first, e.g. ``a * n_b + b``).
    """
    if len(codes) < 2:
        return None
    order = np.argsort(codes, kind="stable")
    s = codes[order]
    dup = np.flatnonzero(s[1:] == s[:-1])
    if len(dup) == 0:
        return None
    # the earliest repeat in input order
    repeat_rows = order[dup + 1]
    k = int(np.argmin(repeat_rows))
    return int(order[dup[k]]), int(repeat_rows[k])


def day_column(table: pa.Table, arg: str, name: str) -> np.ndarray:
    """Column ``name`` (date, timestamp or ISO date string) as int64 days since 1970-01-01.

    Nulls and values that are not dates raise :class:`~pmcore.errors.ValidationError`
    naming ``arg`` and the column (and the first null row).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.frames import day_column
    >>> day_column(pa.table({"date": ["1970-01-02", "2024-01-01"]}), "sales", "date").tolist()
    [1, 19723]
    """
    require_columns(table, arg, [name])
    col = table.column(name)
    t = col.type
    try:
        if pa.types.is_timestamp(t) or pa.types.is_date64(t) or pa.types.is_string(t) \
                or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            col = pc.cast(col, pa.date32())
        elif not pa.types.is_date32(t):
            raise ValidationError("has the wrong type", argument=arg, column=name, value=str(t),
                                  expected="dates (date, timestamp or 'YYYY-MM-DD' strings)")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        row = value = None
        if not pa.types.is_timestamp(t) and not pa.types.is_date64(t):  # strings: find the first bad one
            text = pc.cast(col, pa.string())
            parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
            bad = np.flatnonzero(np.asarray(pc.and_(parsed.is_null(), text.is_valid())))
            if len(bad):
                row = int(bad[0])
                value = text[row].as_py()
        raise ValidationError("holds a value that is not a date", argument=arg, column=name, row=row,
                              value=value, expected="dates (date, timestamp or 'YYYY-MM-DD' strings)") from exc
    if col.null_count:
        row = int(np.flatnonzero(~np.asarray(col.is_valid()))[0])
        raise ValidationError("is null", argument=arg, column=name, row=row, expected="a date")
    return np.asarray(pc.cast(col, pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64)
