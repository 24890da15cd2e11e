"""Plain-text tables for terminals and logs."""

from __future__ import annotations

import math
from typing import Any

from ..frames import to_arrow

__all__ = ["format_table"]


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,d}"
    return str(value)


def format_table(table: Any, /, *, digits: int = 2, columns: list[str] | None = None,
                 title: str | None = None) -> str:
    """Render a frame as an aligned text table (numbers right-aligned, thousands separated).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, pandas.DataFrame or dict of columns
    digits : int, keyword-only
        Decimals shown for floats.
    columns : list of str, optional
        Columns to show, in order (default: all).
    title : str, optional
        A heading line printed above the table.

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_table({"id": ["A", "B"], "value": [1234.5, -2.0]}))
    id     value
    --  --------
    A   1,234.50
    B      -2.00
    """
    t = to_arrow(table, "table")
    if columns is not None:
        t = t.select(columns)
    names = t.column_names
    rows = [[_cell(v, digits) for v in col.to_pylist()] for col in t.columns]
    numeric = [t.schema.field(n).type for n in names]
    right = [str(ty) not in ("string", "large_string", "string_view") and not str(ty).startswith("dictionary")
             for ty in numeric]
    widths = [max([len(n)] + [len(c) for c in col]) for n, col in zip(names, rows)]
    lines = []
    if title:
        lines.append(title)
    fmt = lambda cells: "  ".join(  # noqa: E731
        c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)
    ).rstrip()
    lines.append(fmt(names))
    lines.append(fmt(["-" * w for w in widths]))
    for i in range(t.num_rows):
        lines.append(fmt([col[i] for col in rows]))
    return "\n".join(lines)
