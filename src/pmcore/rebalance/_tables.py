"""Shared pieces of the tax, liquidity, netting and optimal-rebalancing results.

Frame conversions and repr for frozen results, day numbers back to dates,
and (account, instrument) keys encoded across several frames.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationError
from ..frames import from_arrow, id_column, to_arrow

__all__ = ["TablesMixin", "read", "group_order", "days_to_dates", "pair_codes", "pair_name", "as_kind"]


class TablesMixin:
    """``to_arrow``/``to_polars``/``to_pandas`` and a short repr.

    Subclasses list their frame-valued fields in ``_parts`` (the first is the
    default part) and keep ``kind``, the kind of frame the caller passed.
    """

    _parts: tuple[str, ...] = ()

    def _table(self, part: str | None) -> pa.Table:
        name = self._parts[0] if part is None else part
        if name not in self._parts or getattr(self, name) is None:
            available = [p for p in self._parts if getattr(self, p) is not None]
            raise ValidationError("is not a part of this result", argument="part", value=part,
                                  expected=f"one of {available}")
        return to_arrow(getattr(self, name), name)

    def to_arrow(self, part: str | None = None) -> pa.Table:
        """Return one part (the first by default) as a ``pyarrow.Table``."""
        return self._table(part)

    def to_polars(self, part: str | None = None):
        """Return one part (the first by default) as a ``polars.DataFrame``."""
        return from_arrow(self._table(part), "polars")

    def to_pandas(self, part: str | None = None):
        """Return one part (the first by default) as a ``pandas.DataFrame``."""
        return from_arrow(self._table(part), "pandas")

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self._parts and value is None:
                text = "None"
            elif f.name in self._parts:
                t = self._table(f.name)
                text = f"<{t.num_rows} rows: {', '.join(t.column_names)}>"
            elif isinstance(value, float):
                text = f"{value:.6g}"
            elif isinstance(value, np.ndarray):
                text = np.array2string(value, precision=4, threshold=8)
            else:
                text = repr(value)
            lines.append(f"    {f.name}={text},")
        lines.append(")")
        return "\n".join(lines)


def as_kind(table: pa.Table, kind: str):
    """``table`` as a frame of the caller's ``kind`` (arrow for anything else)."""
    return from_arrow(table, kind if kind in ("arrow", "polars", "pandas") else "arrow")


def read(obj, arg: str) -> pa.Table:
    """:func:`~pmcore.frames.to_arrow` with string views cast to large strings (``take`` needs them)."""
    table = to_arrow(obj, arg)
    for k, f in enumerate(table.schema):
        if pa.types.is_string_view(f.type):
            table = table.set_column(k, f.name, pc.cast(table.column(k), pa.large_string()))
    return table


def days_to_dates(days: np.ndarray) -> pa.Array:
    """int day numbers -> ``date32`` array."""
    return pa.array(np.asarray(days, dtype=np.int32), pa.int32()).cast(pa.date32())


def pair_codes(tables: list[tuple[pa.Table, str]]):
    """Encode (portfolio_id, instrument_id) across several tables.

    Returns ``(codes per table, portfolio dictionary, instrument dictionary,
    pair portfolio codes, pair instrument codes)``; pair ``g`` is
    ``(portfolios[pair_p[g]], instruments[pair_i[g]])`` and pairs are numbered
    in order of first appearance over the tables in order.
    """
    args = [a for _, a in tables]
    p_codes, p_dict = _codes([id_column(t, a, "portfolio_id") for t, a in tables], "portfolio_id", args)
    i_codes, i_dict = _codes([id_column(t, a, "instrument_id") for t, a in tables], "instrument_id", args)
    n_i = max(len(i_dict), 1)
    enc = pc.dictionary_encode(pa.array(p_codes * n_i + i_codes, pa.int64()))  # pairs by first appearance
    flat = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    pair_keys = enc.dictionary.to_numpy(zero_copy_only=False)
    bounds = np.cumsum([0] + [len(t) for t, _ in tables])
    codes = [flat[bounds[j]:bounds[j + 1]] for j in range(len(tables))]
    return codes, p_dict, i_dict, pair_keys // n_i, pair_keys % n_i


def _codes(arrays: list[pa.Array], column: str, args: list[str]) -> tuple[np.ndarray, pa.Array]:
    """One hash pass over the ids of every table: (int64 codes of all rows, dictionary)."""
    types = {str(a.type) for a in arrays if len(a)}
    if len(types) > 1:
        arrays = [a.cast(pa.large_string()) if pa.types.is_string(a.type) else a for a in arrays]
        if len({str(a.type) for a in arrays if len(a)}) > 1:
            raise ValidationError("has ids of a different type in different inputs", argument=args[-1],
                                  column=column, value=sorted(types), expected="one id type")
    nonempty = [a for a in arrays if len(a)]
    if not nonempty:
        return np.zeros(0, np.int64), pa.array([], arrays[0].type if arrays else pa.string())
    merged = pa.concat_arrays(nonempty) if len(nonempty) > 1 else nonempty[0]
    enc = pc.dictionary_encode(merged)
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False), enc.dictionary


def group_order(group: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Row order by (group, within, row), skipping the sort when the rows already are in that order."""
    n = len(group)
    if n < 2:
        return np.arange(n)
    g = group.astype(np.int64, copy=False)
    w = within.astype(np.int64, copy=False)
    if bool(np.all((g[1:] > g[:-1]) | ((g[1:] == g[:-1]) & (w[1:] >= w[:-1])))):
        return np.arange(n)
    span = int(w.max()) - int(w.min()) + 1
    if span * (int(g.max()) + 1) < 2**62:
        return np.argsort(g * span + (w - int(w.min())), kind="stable")
    return np.lexsort((np.arange(n), w, g))


def pair_name(p_dict: pa.Array, i_dict: pa.Array, p: int, i: int) -> str:
    """``account 'A', instrument 'X'`` for error messages."""
    return f"account {p_dict[int(p)].as_py()!r}, instrument {i_dict[int(i)].as_py()!r}"
