"""Linked Brinson attribution in one pass over the rows (security-level input).

:func:`~pmcore.attribution.brinson` with ``linking`` and without
``periods`` needs, of the rows, only each cell's group sums. Where cells have
many rows, :func:`linked_one_pass` finds the cells, sums their groups,
computes their effects and links each portfolio in one read of the input
(:func:`~pmcore.kernels.attribution.brinson_linked_scan`); the two-pass route
reads the keys once to lay out the cells and the rows a second time to sum
them. Rows are cut into blocks of whole portfolios, one per thread, so that each
thread also links its own portfolios and the numbers do not depend on the
thread count.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .._memory import empty
from .._threads import run_split
from ..kernels.attribution import brinson_linked_scan
from ..kernels.attribution_scan import cell_end, portfolio_start_at
from ._layout import Cells, distinct_portfolios

__all__ = ["linked_one_pass", "MIN_ROWS_PER_GROUP"]

#: the one pass is taken where the first cell has at least this many rows per group
MIN_ROWS_PER_GROUP = 4


def _blocks(pkey: np.ndarray, k: int) -> list[tuple[int, int]]:
    """Up to ``k`` blocks of rows of about equal size, each starting where a portfolio starts."""
    n = len(pkey)
    cuts = sorted({0, n} | {int(portfolio_start_at(pkey, n * b // k)) for b in range(1, k)})
    return list(zip(cuts[:-1], cuts[1:]))


def _scan_and_link(arrays, lo: int, hi: int, n_groups: int, cell_rows: int, mode: int, link_code: int):
    """Cells of rows ``lo..hi-1``, their totals and each portfolio's linked effects; None if rows need sorting.

    The arrays are sized for cells of ``cell_rows`` rows (from Arrow's pool,
    so that a repeated call writes into memory already mapped) and doubled
    if more cells or portfolios come.
    """
    cap = (hi - lo) // max(cell_rows, 1) + 16
    cells = [empty(cap, np.int64), empty((cap, 7))]  # cell_start, totals
    ports = [np.empty(16, np.int64), np.empty((16, 3, n_groups)), np.empty((16, 2)),
             np.empty((16, n_groups), np.uint8)]  # port_first, linked, compounded, ever
    n_cells = n_ports = 0
    row = lo
    while True:
        n_cells, n_ports, row, ok = brinson_linked_scan(*arrays, row, hi, mode, link_code, cells[0], ports[0],
                                                        cells[1], *ports[1:], n_cells, n_ports)
        if not ok:
            return None
        if row >= hi:
            return [a[:n_cells] for a in cells] + [a[:n_ports] for a in ports]
        if n_ports == len(ports[0]):
            ports = [_doubled(a, n_ports) for a in ports]
        else:
            cells = [_doubled(a, n_cells) for a in cells]


def _doubled(a: np.ndarray, n: int) -> np.ndarray:
    out = empty((2 * len(a), *a.shape[1:]), a.dtype)
    out[:n] = a[:n]
    return out


def linked_one_pass(table: pa.Table, portfolio: str, period: str, pkey, tkey, codes, n_groups: int,
                    wp, rp, wb, rb, mode: int, link_code: int, threads: int):
    """Cells, per-cell totals and linked effects of single-level Brinson, in one read of the rows.

    Returns ``(cells, totals, linked, compounded, ever)`` as
    :func:`~pmcore.kernels.attribution.brinson_linked` fills them, or None
    where this route does not apply: cells of few rows (the first cell has
    fewer than ``MIN_ROWS_PER_GROUP`` rows per group), or rows that need
    sorting first (a portfolio's periods going backwards, or its rows in two
    runs). Nothing is validated here beyond the layout.
    """
    n = len(pkey)
    first_cell = int(cell_end(pkey, tkey, np.uint64(0), np.uint64(n))) if n else 0
    if first_cell < MIN_ROWS_PER_GROUP * n_groups:
        return None
    arrays = (pkey, tkey, codes, wp, rp, wb, rb)
    parts = run_split(lambda block: _scan_and_link(arrays, *block, n_groups, first_cell, mode, link_code),
                      _blocks(pkey, threads))
    if any(part is None for part in parts):
        return None
    shifts = np.cumsum([0] + [len(part[0]) for part in parts])
    cell_start = np.concatenate([part[0] for part in parts] + [np.array([n], np.int64)])
    port_start = np.concatenate([part[2] + shift for part, shift in zip(parts, shifts)]
                                + [np.array([shifts[-1]], np.int64)])
    if not distinct_portfolios(pkey, cell_start, port_start):
        return None
    cells = Cells(table, None, cell_start, port_start, portfolio, period)
    totals = np.concatenate([part[1] for part in parts])
    return (cells, totals, *(np.concatenate([part[j] for part in parts]) for j in range(3, 6)))
