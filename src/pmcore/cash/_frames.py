"""Shared plumbing of pmcore.cash: key encoding, status codes, decimal output columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationError
from ..frames import id_column, require_columns

STATUSES = ("pending", "settled", "failed", "cancelled")
PENDING, SETTLED, FAILED, CANCELLED = 0, 1, 2, 3
_DENSE_LIMIT = 1 << 25


def key_column(table: pa.Table, arg: str, name: str) -> tuple[np.ndarray, pa.Array]:
    """Integer codes (a numpy view where possible) and the dictionary of one key column."""
    col = table.column(name)
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type):
        if col.null_count:
            raise ValidationError("has a missing id", argument=arg, column=name,
                                  row=int(np.flatnonzero(~np.asarray(col.is_valid()))[0]),
                                  expected="a non-null id")
        c = col.indices.to_numpy(zero_copy_only=False)
        d = col.dictionary
    else:
        enc = pc.dictionary_encode(id_column(table, arg, name))
        c = enc.indices.to_numpy(zero_copy_only=False)
        d = enc.dictionary
    if pa.types.is_string_view(d.type) or pa.types.is_large_string(d.type):
        d = d.cast(pa.string())
    return c, d


def status_lookup(table: pa.Table, arg: str, name: str = "status") -> tuple[np.ndarray, np.ndarray]:
    """``(index, lookup)`` with ``lookup[index[i]]`` the status code of row i (no per-row array built
    for dictionary columns)."""
    require_columns(table, arg, [name])
    col = table.column(name)
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type) and not col.null_count:
        d = col.dictionary.cast(pa.string())
        m = pc.index_in(d, value_set=pa.array(STATUSES)).fill_null(-1).to_numpy(zero_copy_only=False)
        idx = col.indices.to_numpy(zero_copy_only=False)
        if (m >= 0).all():
            return idx, m.astype(np.int8)
    return status_codes(table, arg, name), np.arange(4, dtype=np.int8)


def amount_words(table: pa.Table, arg: str, name: str, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Low and high int64 words of the amounts as units (views of a decimal128 buffer when possible).

    The caller checks that each high word is the sign extension of the low one.
    """
    from .amounts import units_column

    require_columns(table, arg, [name])
    col = table.column(name)
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    t = col.type
    if pa.types.is_decimal128(t) and not col.null_count:
        if t.scale != scale:
            try:
                col = col.cast(pa.decimal128(38, scale))
            except pa.ArrowInvalid:
                lo = units_column(table, arg, name, scale)
                return lo, lo >> 63
        words = np.frombuffer(col.buffers()[1], dtype=np.int64)[2 * col.offset: 2 * (col.offset + len(col))]
        return words[0::2], words[1::2]
    lo = units_column(table, arg, name, scale)
    return lo, lo >> 63


def key_codes(table: pa.Table, arg: str, columns: tuple[str, ...]) -> tuple[np.ndarray, pa.Table]:
    """Encode the key columns to one int64 group code per row and the table of distinct keys.

    Dictionary (categorical) columns use their indices without hashing. Groups
    are numbered in order of their combined code (dense when the product of
    cardinalities is small, else by sorting).
    """
    require_columns(table, arg, list(columns))
    codes, dicts = [], []
    for name in columns:
        col = table.column(name)
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_dictionary(col.type):
            if col.null_count:
                raise ValidationError("has a missing id", argument=arg, column=name,
                                      row=int(np.flatnonzero(~np.asarray(col.is_valid()))[0]),
                                      expected="a non-null id")
            c = col.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            d = col.dictionary
        else:
            arr = id_column(table, arg, name)
            enc = pc.dictionary_encode(arr)
            c = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            d = enc.dictionary
        if pa.types.is_string_view(d.type) or pa.types.is_large_string(d.type):
            d = d.cast(pa.string())
        codes.append(c)
        dicts.append(d)
    sizes = [max(len(d), 1) for d in dicts]
    combined = np.zeros(table.num_rows, np.int64)
    total = 1
    for c, n in zip(codes, sizes):
        combined = combined * n + c
        total *= n
    if total <= _DENSE_LIMIT:
        present = np.zeros(total, np.bool_)
        present[combined] = True
        keys = np.flatnonzero(present)
        remap = np.full(total, -1, np.int64)
        remap[keys] = np.arange(len(keys))
        group = remap[combined]
    else:
        keys, group = np.unique(combined, return_inverse=True)
        group = group.astype(np.int64)
    parts = {}
    rest = keys.copy()
    for name, d, n in reversed(list(zip(columns, dicts, sizes))):
        parts[name] = d.take(pa.array(rest % n))
        rest //= n
    return group, pa.table({name: parts[name] for name in columns})


def status_codes(table: pa.Table, arg: str, name: str = "status") -> np.ndarray:
    """Status names to codes 0 pending, 1 settled, 2 failed, 3 cancelled (unknown names refused)."""
    require_columns(table, arg, [name])
    col = table.column(name)
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type):
        d = col.dictionary.cast(pa.string())
        m = pc.index_in(d, value_set=pa.array(STATUSES)).fill_null(-1).to_numpy(zero_copy_only=False)
        if (m < 0).any():
            j = int(np.flatnonzero(m < 0)[0])
            idx = col.indices.to_numpy(zero_copy_only=False)
            hits = np.flatnonzero(idx == j)
            if len(hits):
                raise ValidationError("has an unknown status", argument=arg, column=name,
                                      row=int(hits[0]), value=d[j].as_py(),
                                      expected=f"one of {list(STATUSES)}")
        if col.null_count:
            raise ValidationError("is null", argument=arg, column=name,
                                  row=int(np.flatnonzero(~np.asarray(col.is_valid()))[0]),
                                  expected=f"one of {list(STATUSES)}")
        return m[col.indices.to_numpy(zero_copy_only=False)].astype(np.int8)
    arr = id_column(table, arg, name)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise ValidationError("has the wrong type", argument=arg, column=name, value=str(arr.type),
                              expected=f"strings from {list(STATUSES)}")
    codes = pc.index_in(arr, value_set=pa.array(STATUSES, arr.type)).fill_null(-1)
    codes = codes.to_numpy(zero_copy_only=False)
    if (codes < 0).any():
        r = int(np.flatnonzero(codes < 0)[0])
        raise ValidationError("has an unknown status", argument=arg, column=name, row=r,
                              value=arr[r].as_py(), expected=f"one of {list(STATUSES)}")
    return codes.astype(np.int8)


def overflow_error(arg: str, row: int) -> ValidationError:
    """The error raised when an exact int64 sum would overflow."""
    return ValidationError("the exact int64 fixed-point sum overflows", argument=arg, row=row,
                           expected="sums within +/-9.2e18 units",
                           hint="split the ledger, or check for a wrong amount")


def check_kind(kind: Any) -> str:
    """Validate an output frame kind."""
    if kind not in ("arrow", "polars", "pandas"):
        raise ValidationError("is not a frame kind", argument="kind", value=kind,
                              expected="one of ['arrow', 'polars', 'pandas']")
    return kind
