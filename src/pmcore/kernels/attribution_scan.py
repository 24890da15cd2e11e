"""Reading attribution rows: find where a cell ends and sum its groups, in one read.

:func:`read_cell` reads the key columns, the group codes and the four weight
and return columns of a cell once, in row order, and leaves the cell's group
sums (:func:`add_rows`); :func:`~pmcore.kernels.attribution.brinson_linked_scan`
calls it cell after cell, so that linked Brinson attribution reads its input
once. It pays off where cells have many rows (security-level input).

Row indices are unsigned in the hot loops: Numba then drops the
negative-index wrap-around it otherwise adds to every array read (about a
tenth of the loop's time).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit, prefetch

__all__ = ["add_rows", "cell_end", "field_major", "portfolio_start_at", "read_cell"]

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


@jit(inline=True)
def read_cell(pkey, tkey, group, wp, rp, wb, rb, s, end, guess, rows):
    """Find the end of the cell starting at row ``s`` and sum its groups into ``rows``; return the end.

    ``guess`` is the cell's likely length (the length of the cell before):
    that many rows are summed with their keys checked in the same loop, then
    the row after is looked at. Only where the guess is wrong are the keys
    scanned on their own (:func:`cell_end`) - the rest of a longer cell, or
    the whole of a shorter one, which is summed again.
    """
    a = U(s)
    z = U(end)
    p0 = pkey[a]
    t0 = tkey[a]
    rows[:] = 0.0
    e = min(a + U(guess), z)
    if e > a and add_rows(group, wp, rp, wb, rb, a, e, rows, pkey, tkey, p0, t0, True) == 0:
        if e < z and pkey[e] == p0 and tkey[e] == t0:  # longer: add the rest
            e2 = cell_end(pkey, tkey, e - U(1), z)
            add_rows(group, wp, rp, wb, rb, e, e2, rows, pkey, tkey, p0, t0, False)
            e = e2
        return e
    rows[:] = 0.0  # shorter (or no guess): find its end, then sum it
    e = cell_end(pkey, tkey, a, z)
    add_rows(group, wp, rp, wb, rb, a, e, rows, pkey, tkey, p0, t0, False)
    return e
