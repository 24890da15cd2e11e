"""Shared pieces of attribution results: conversions, repr, option checks."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import from_arrow, to_arrow

RECONCILE_TOLERANCE = 1e-12


class FramesMixin:
    """``to_arrow``/``to_polars``/``to_pandas`` and a short repr for frozen results.

    Subclasses name their frame-valued fields in ``_parts`` (the first is the
    default part) and carry ``residual``.
    """

    _parts: tuple[str, ...] = ()

    def _part(self, part: str | None):
        name = self._parts[0] if part is None else part
        if name not in self._parts or getattr(self, name) is None:
            available = [p for p in self._parts if getattr(self, p) is not None]
            raise ValidationError("is not a part of this result", argument="part", value=part,
                                  expected=f"one of {available}")
        return getattr(self, name)

    def to_arrow(self, part: str | None = None) -> pa.Table:
        """Return one part of the result (the first by default) as a ``pyarrow.Table``."""
        return to_arrow(self._part(part), "part")

    def to_polars(self, part: str | None = None):
        """Return one part of the result (the first by default) as a ``polars.DataFrame``."""
        return from_arrow(self.to_arrow(part), "polars")

    def to_pandas(self, part: str | None = None):
        """Return one part of the result (the first by default) as a ``pandas.DataFrame``."""
        return from_arrow(self.to_arrow(part), "pandas")

    @property
    def reconciles(self) -> bool:
        """True if every set of effects sums to its active return within 1e-12."""
        return bool(self.residual <= RECONCILE_TOLERANCE)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self._parts or isinstance(value, tuple) and value and not isinstance(value[0], str):
                if value is None:
                    text = "None"
                elif isinstance(value, tuple):
                    text = f"{len(value)} frames"
                else:
                    t = to_arrow(value, f.name)
                    text = f"<{t.num_rows} rows x {t.num_columns} columns: {', '.join(t.column_names)}>"
            elif isinstance(value, float):
                text = f"{value:.3g}"
            else:
                text = repr(value)
            lines.append(f"    {f.name}={text},")
        lines.append(f"    reconciles={self.reconciles},")
        lines.append(")")
        return "\n".join(lines)


def choose(value, arg: str, options: dict):
    """Map option ``value`` through ``options`` or raise naming the choices."""
    key = value.lower() if isinstance(value, str) else value
    if key not in options:
        names = [k for k in options if k is not None]
        raise ValidationError("is not a known option", argument=arg, value=value,
                              expected=f"one of {names}")
    return options[key]


def float_values(table: pa.Table, arg: str, name: str, default: float | None = None) -> np.ndarray:
    """Column ``name`` as float64 with nulls as NaN (validation happens later)."""
    if name not in table.column_names:
        if default is not None:
            return np.full(table.num_rows, float(default))
        from ..frames import require_columns

        require_columns(table, arg, [name])
    col = table.column(name)
    if isinstance(col, pa.ChunkedArray):
        col = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    t = col.type
    if not (pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)):
        raise ValidationError("has the wrong type", argument=arg, column=name, value=str(t),
                              expected="a numeric column (integer or float)")
    if pa.types.is_decimal(t):
        col = col.cast(pa.float64())
    return col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def as_kind(table, kind: str):
    """``table`` (or None) as a frame of the caller's ``kind``."""
    if table is None:
        return None
    return from_arrow(table, kind if kind in ("arrow", "polars", "pandas") else "arrow")
