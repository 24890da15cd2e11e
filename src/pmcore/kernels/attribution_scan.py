"""One pass over attribution rows: find the cells and sum each cell's groups.

:func:`cell_sums_into` reads the key columns, the group codes and the four
weight and return columns once, in row order, and returns the cells it found
(as :func:`~pmcore.kernels.attribution.cell_run_block` does) together with
each cell's group sums, so that the Brinson kernels can work from the sums
without a second pass over the rows. It pays off where cells have many rows
(security-level input); one row per group needs no summing.

Row indices are unsigned in the hot loops: Numba then drops the
negative-index wrap-around it otherwise adds to every array read (about a
tenth of the loop's time).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit, prefetch

__all__ = ["add_rows", "cell_end", "cell_sums_into", "field_major", "portfolio_start_at"]

U = np.uint64
_CHUNK = U(64)  # rows per branch-free test for a key change
PREFETCH = U(512)  # rows ahead to prefetch (4 KB of a float column; tuned on 2 cores: 256 and 1024 were slower)


@jit(inline=True)
def cell_end(pkey, tkey, s, hi):
    """First row after ``s`` (up to ``hi``) whose keys differ from row ``s``'s, or ``hi``.

    Returns an unsigned row. Chunks of rows are tested branch-free (the
    test vectorizes); only a chunk with a change is searched row by row.
    """
    end = U(hi)
    p0 = pkey[s]
    t0 = tkey[s]
    c0 = U(s) + U(1)
    while c0 < end:
        c1 = min(c0 + _CHUNK, end)
        diff = np.int64(0)
        for i in range(c0, c1):
            diff |= np.int64(pkey[i] ^ p0) | np.int64(tkey[i] ^ t0)
        if diff != 0:
            for i in range(c0, c1):
                if pkey[i] != p0 or tkey[i] != t0:
                    return i
        c0 = c1
    return end


@jit
def portfolio_start_at(pkey, row):
    """First row at or after ``row`` where a portfolio starts (its key differs from the row before).

    Row 0 starts one; returns ``len(pkey)`` if no portfolio starts at or
    after ``row``. Used to cut rows into blocks of whole portfolios.
    """
    n = pkey.shape[0]
    if row <= 0:
        return 0
    for i in range(row, n):
        if pkey[i] != pkey[i - 1]:
            return i
    return n


@jit(inline=True)
def add_rows(group, wp, rp, wb, rb, lo, hi, rows, pkey, tkey, p0, t0, check):
    """Add rows ``lo..hi-1`` by group into ``rows`` (4 * n_groups).

    Group ``g``'s portfolio weight, portfolio contribution (weight x return),
    benchmark weight and benchmark contribution go to ``rows[4g:4g + 4]``,
    side by side in one cache line. A return counts only where its weight
    is not 0 (it may be NaN there).

    With ``check``, the same loop also tests that every row's portfolio and
    period keys are ``p0`` and ``t0`` (one read of all seven columns, rather
    than a scan of the keys before the sums), and returns non-zero if any
    differs; without it, ``pkey`` and ``tkey`` are not read and it returns 0.
    """
    diff = np.int64(0)
    # chunks of 8 rows (one cache line of a float column), each asking for the
    # line PREFETCH rows ahead: the loads then find their data on the way
    # (about 10 % faster than the hardware prefetcher alone, which stops at
    # every 4 KB page)
    i = U(lo)
    end = U(hi)
    while i < end:
        ahead = i + PREFETCH
        prefetch(group, ahead)
        prefetch(wp, ahead)
        prefetch(rp, ahead)
        prefetch(wb, ahead)
        prefetch(rb, ahead)
        if check:
            prefetch(pkey, ahead)
            prefetch(tkey, ahead)
        stop = min(i + U(8), end)
        # selects, not branches: a security is held or not at random, and a
        # mispredicted branch per row costs more than the arithmetic
        for k in range(i, stop):
            if check:
                diff |= np.int64(pkey[k] ^ p0) | np.int64(tkey[k] ^ t0)
            g4 = U(4) * U(group[k])
            w = wp[k]
            v = w * rp[k]
            x = wb[k]
            y = x * rb[k]
            rows[g4] += w
            rows[g4 + U(1)] += v if w != 0.0 else 0.0
            rows[g4 + U(2)] += x
            rows[g4 + U(3)] += y if x != 0.0 else 0.0
        i = stop
    return diff


@jit
def field_major(rows, acc):
    """Copy :func:`add_rows`'s group-major sums to ``acc``: each field's ``n_groups`` values in turn."""
    n_groups = rows.shape[0] // 4
    for g in range(n_groups):
        for f in range(4):
            acc[f * n_groups + g] = rows[4 * g + f]


@jit
def cell_sums_into(pkey, tkey, group, wp, rp, wb, rb, lo, hi, cell_start, port_first, sums, n_cells, n_ports):
    """Cells of rows ``lo..hi-1`` and the group sums of each, in one pass, into the given arrays.

    Row ``lo`` must start a cell (row 0, or keys differing from row
    ``lo - 1``'s). Row ``i`` starts a cell if its portfolio or period key
    differs from row ``i - 1``'s, and a portfolio if its portfolio key does
    (or ``i == 0``).

    Parameters
    ----------
    pkey, tkey : int arrays, shape (n_rows,)
        Portfolio and period keys (period keys in time order).
    group : int32 array, shape (n_rows,)
        Group code of each row, ``0 <= code < n_groups``.
    wp, rp, wb, rb : float64 arrays, shape (n_rows,)
        Portfolio and benchmark weight and return. A return counts only where
        its weight is not 0 (it may be NaN there).
    cell_start : int64 array, shape (capacity,), written from ``n_cells`` on
        First row of each cell.
    port_first : int64 array, written from ``n_ports`` on
        Index (into ``cell_start``) of each cell that starts a portfolio.
    sums : float64 array, shape (capacity, 4 * n_groups), written from ``n_cells`` on
        Per cell: portfolio weights of the groups, then portfolio
        contributions (sum of weight x return), benchmark weights, benchmark
        contributions (the ``acc`` layout of the Brinson kernels).
    n_cells, n_ports : int
        Cells and portfolio starts already in the arrays.

    Returns
    -------
    n_cells, n_ports : int
        Cells and portfolio starts in the arrays now.
    row : int
        Where the scan stopped: ``hi``, or the first row of a cell that did
        not fit (call again from there with larger arrays).
    ok : bool
        False if a portfolio's periods go backwards (the scan stops there).
    """
    first = U(lo)
    end = U(hi)
    n_groups = sums.shape[1] // 4
    rows = np.empty(4 * n_groups)  # a group's four sums side by side (one cache line)
    guess = U(0)
    s = first
    while s < end:
        new_port = s == U(0) or pkey[s] != pkey[s - U(1)]
        if n_cells == cell_start.shape[0] or (new_port and n_ports == port_first.shape[0]):
            return n_cells, n_ports, np.int64(s), True
        if new_port:
            port_first[n_ports] = n_cells
            n_ports += 1
        elif tkey[s] < tkey[s - U(1)]:
            return n_cells, n_ports, np.int64(s), False
        # a cell is most often as long as the one before: sum that many rows,
        # checking their keys on the way, and see whether the cell ends there
        p0 = pkey[s]
        t0 = tkey[s]
        rows[:] = 0.0
        e = min(s + guess, end)
        fits = False
        if e > s and add_rows(group, wp, rp, wb, rb, s, e, rows, pkey, tkey, p0, t0, True) == 0:
            fits = True
            if e < end and pkey[e] == p0 and tkey[e] == t0:  # longer: add the rest
                e2 = cell_end(pkey, tkey, e - U(1), end)
                add_rows(group, wp, rp, wb, rb, e, e2, rows, pkey, tkey, p0, t0, False)
                e = e2
        if not fits:  # shorter (or the first cell): find its end, then sum it
            rows[:] = 0.0
            e = cell_end(pkey, tkey, s, end)
            add_rows(group, wp, rp, wb, rb, s, e, rows, pkey, tkey, p0, t0, False)
        cell_start[n_cells] = s
        field_major(rows, sums[n_cells])
        n_cells += 1
        guess = e - s
        s = e
    return n_cells, n_ports, np.int64(end), True
