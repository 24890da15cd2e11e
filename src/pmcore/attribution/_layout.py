"""Turn a long attribution frame into the cell layout the kernels expect.

Rows are grouped into *cells* (one portfolio in one period): cells of a
portfolio are contiguous and in period order. Input already in that order
(the usual case: sorted by portfolio then period) is used as is, without a
copy; anything else is sorted once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._threads import run_split
from ..errors import ValidationError
from ..frames import encode, id_column, require_columns
from ..kernels.attribution import cell_run_block, cell_runs


@dataclass(frozen=True)
class Cells:
    """Rows of a long frame laid out by portfolio and period (internal)."""

    table: pa.Table  # the input, reordered if it had to be sorted
    order: np.ndarray | None  # input row of each laid-out row (None: unchanged)
    cell_start: np.ndarray  # int64, (n_cells + 1,)
    port_start: np.ndarray  # int64, (n_portfolios + 1,)
    portfolio: str
    period: str

    @property
    def n_cells(self) -> int:
        return len(self.cell_start) - 1

    @property
    def n_portfolios(self) -> int:
        return len(self.port_start) - 1

    def input_row(self, row: int) -> int:
        """Row of the caller's input for laid-out row ``row``."""
        return int(row if self.order is None else self.order[row])

    def cell_keys(self, cells: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """Portfolio and period labels of ``cells`` (cell indices)."""
        rows = pa.array(self.cell_start[:-1][cells])
        return (
            _chunk(self.table.column(self.portfolio)).take(rows),
            _chunk(self.table.column(self.period)).take(rows),
        )

    def portfolio_keys(self) -> pa.Array:
        rows = pa.array(self.cell_start[self.port_start[:-1]])
        return _chunk(self.table.column(self.portfolio)).take(rows)

    def locate(self, row: int) -> str:
        """``portfolio 'A', period 3`` for a laid-out row."""
        p = self.table.column(self.portfolio)[row].as_py()
        t = self.table.column(self.period)[row].as_py()
        return f"portfolio {p!r}, period {_fmt(t)}"


def _fmt(value) -> str:
    return str(value) if hasattr(value, "isoformat") else repr(value)


def _chunk(arr):
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    if pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.string())
    elif pa.types.is_binary_view(arr.type):
        arr = arr.cast(pa.binary())
    return arr


_INT_VIEW = {32: pa.int32(), 64: pa.int64()}
#: blocks of rows (or of portfolios) per thread where work is split over threads
BLOCKS_PER_THREAD = 4


def order_key(arr: pa.Array, arg: str, name: str, *, ordered: bool) -> np.ndarray:
    """An int32/int64 key for id or period column ``arr`` (sortable if ``ordered``)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if arr.null_count:
        row = int(np.flatnonzero(~np.asarray(arr.is_valid()))[0])
        raise ValidationError("has a missing value", argument=arg, column=name, row=row,
                              expected="a non-null key")
    if pa.types.is_integer(t):
        values = arr.to_numpy(zero_copy_only=False)
        return values if values.dtype in (np.int32, np.int64) else values.astype(np.int64)
    if pa.types.is_temporal(t) and t.bit_width in _INT_VIEW:
        return arr.view(_INT_VIEW[t.bit_width]).to_numpy(zero_copy_only=False)
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        arr = arr.cast(pa.string())
        t = arr.type
    if not pa.types.is_string(t):
        raise ValidationError("has the wrong type", argument=arg, column=name, value=str(t),
                              expected="integer, string, date or timestamp keys")
    codes, dictionary = encode(arr)
    if not ordered:
        return codes.astype(np.int64)
    rank = np.empty(len(dictionary), np.int64)
    rank[np.asarray(pc.array_sort_indices(dictionary))] = np.arange(len(dictionary))
    return rank[codes]


def _runs(pkey: np.ndarray, tkey: np.ndarray, threads: int):
    """:func:`~pmcore.kernels.attribution.cell_runs`, the rows in blocks on ``threads`` threads.

    Four blocks a thread, each thread taking the next block when free, so
    that a thread slowed by anything else on the machine scans fewer rows.
    """
    n = len(pkey)
    if threads <= 1:
        return cell_runs(pkey, tkey)
    blocks = min(BLOCKS_PER_THREAD * threads, n)
    cuts = [n * b // blocks for b in range(blocks + 1)]
    parts = run_split(lambda b: cell_run_block(pkey, tkey, cuts[b], cuts[b + 1]), list(range(blocks)), threads)
    shifts = np.cumsum([0] + [len(starts) for starts, _, _ in parts])
    cell_start = np.concatenate([starts for starts, _, _ in parts] + [np.array([n], np.int64)])
    port_start = np.concatenate([firsts + shift for (_, firsts, _), shift in zip(parts, shifts)]
                                + [np.array([shifts[-1]], np.int64)])
    return cell_start, port_start, all(ok for _, _, ok in parts)


def layout(table: pa.Table, arg: str, portfolio: str, period: str, threads: int = 1) -> Cells:
    """Group the rows of ``table`` into cells, sorting only if needed.

    ``threads`` > 1 splits the scan for cell boundaries into as many blocks
    of rows on threads (it reads two key columns, at memory speed).
    """
    require_columns(table, arg, [portfolio, period])
    pkey = order_key(_chunk(table.column(portfolio)), arg, portfolio, ordered=False)
    tkey = order_key(_chunk(table.column(period)), arg, period, ordered=True)
    order = None
    if len(pkey):
        cell_start, port_start, ok = _runs(pkey, tkey, min(threads, len(pkey)))
        if ok:
            firsts = pkey[cell_start[port_start[:-1]]]
            ok = len(np.unique(firsts)) == len(firsts)
    else:
        cell_start, port_start, ok = np.zeros(1, np.int64), np.zeros(1, np.int64), True
    if not ok:
        # portfolios in order of first appearance, periods ascending
        _, first = np.unique(pkey, return_index=True)
        rank = np.empty(len(first), np.int64)
        uniq, inv = np.unique(pkey, return_inverse=True)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        order = np.lexsort((tkey, rank[inv]))
        table = table.take(pa.array(order))
        cell_start, port_start, ok = cell_runs(pkey[order], tkey[order])
    return Cells(table, order, cell_start, port_start, portfolio, period)


def group_codes(table: pa.Table, arg: str, name: str) -> tuple[np.ndarray, pa.Array, bool]:
    """Integer group codes of column ``name``, the labels, and whether it was dictionary-typed.

    Dictionary (categorical) columns keep their category order; other labels
    are sorted.
    """
    require_columns(table, arg, [name])
    col = table.column(name)
    if pa.types.is_dictionary(col.type):
        if isinstance(col, pa.ChunkedArray) and col.num_chunks > 1:
            col = col.unify_dictionaries()
            codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in col.chunks])
            dictionary = col.chunk(0).dictionary
            nulls = col.null_count
        else:
            col = _chunk(col)
            codes = col.indices.to_numpy(zero_copy_only=False)
            dictionary = col.dictionary
            nulls = col.null_count
        if nulls:
            arr = _chunk(col)
            row = int(np.flatnonzero(~np.asarray(arr.is_valid()))[0])
            raise ValidationError("has a missing group", argument=arg, column=name, row=row,
                                  expected="a non-null group label")
        return codes, dictionary, True
    arr = id_column(table, arg, name)
    codes, dictionary = encode(arr)
    # labels in sorted order, so that the output does not depend on row order
    order = np.asarray(pc.array_sort_indices(dictionary))
    if len(order) and not np.array_equal(order, np.arange(len(order))):
        rank = np.empty(len(order), np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        codes = rank[codes]
        dictionary = dictionary.take(pa.array(order))
    return codes, dictionary, False


def _label_column(labels: pa.Array, codes: np.ndarray, is_dict: bool) -> pa.Array:
    idx = pa.array(codes.astype(np.int32, copy=False))
    if is_dict:
        return pa.DictionaryArray.from_arrays(idx, labels)
    return labels.take(idx)


def dense_frame(key_cols: list[tuple[str, pa.Array]], group_cols, values: dict, mask):
    """Build a table from dense ``(n_outer, n_groups)`` arrays, keeping ``mask`` cells."""
    n_outer, n_groups = next(iter(values.values())).shape
    flat_mask = None if mask is None or mask.all() else mask.reshape(-1).astype(bool)
    outer = np.repeat(np.arange(n_outer), n_groups)
    inner = np.tile(np.arange(n_groups), n_outer)
    if flat_mask is not None:
        outer = outer[flat_mask]
        inner = inner[flat_mask]
    cols = {}
    take_outer = pa.array(outer)
    for name, arr in key_cols:
        cols[name] = arr.take(take_outer)
    for name, labels, group_of, is_dict in group_cols:
        cols[name] = _label_column(labels, group_of[inner], is_dict)
    for name, arr in values.items():
        flat = arr.reshape(-1)
        cols[name] = pa.array(flat if flat_mask is None else flat[flat_mask])
    return pa.table(cols)
