"""Kernels that lay a positions table out by portfolio (CSR)."""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def group_rows(group, n_groups, item, n_items):
    """Group rows by ``group`` code (counting sort, stable) and find repeated items.

    Parameters
    ----------
    group : int32[n_rows]
        Group code of each row, in ``[0, n_groups)``.
    n_groups : int
    item : int32[n_rows]
        Item code of each row, in ``[0, n_items)``; a pair (group, item) must
        be unique.
    n_items : int

    Returns
    -------
    offsets : int64[n_groups + 1]
        Rows of group ``g`` are ``order[offsets[g]:offsets[g + 1]]``.
    order : int64[n_rows]
        Row numbers grouped by group, input order kept within a group.
    dup_row : int64
        The first row (in grouped order) that repeats a (group, item) pair, or -1.
    """
    n = group.shape[0]
    offsets = np.zeros(n_groups + 1, np.int64)
    for r in range(n):
        offsets[group[r] + 1] += 1
    for g in range(n_groups):
        offsets[g + 1] += offsets[g]
    fill = offsets[:-1].copy()
    order = np.empty(n, np.int64)
    for r in range(n):
        g = group[r]
        order[fill[g]] = r
        fill[g] += 1
    seen = np.full(n_items, -1, np.int64)
    dup_row = -1
    for g in range(n_groups):
        for k in range(offsets[g], offsets[g + 1]):
            r = order[k]
            i = item[r]
            if seen[i] == g:
                if dup_row < 0 or r < dup_row:
                    dup_row = r
            seen[i] = g
    return offsets, order, dup_row


@jit
def layout_positions(portfolio, n_portfolios, instrument, n_instruments, quantity, avg_price):
    """Lay positions out by portfolio (stable counting sort) in one pass.

    Scattering each row to its slot reads the inputs sequentially, which is
    faster than gathering them afterwards with the permutation.

    Parameters
    ----------
    portfolio : int32[n_rows]
        Portfolio code of each row, in ``[0, n_portfolios)``.
    n_portfolios : int
    instrument : int32[n_rows]
        Instrument code of each row, in ``[0, n_instruments)``.
    n_instruments : int
    quantity, avg_price : float64[n_rows]

    Returns
    -------
    offsets : int64[n_portfolios + 1]
    order : int32[n_rows]
        Input row of each laid-out position.
    instrument_out, quantity_out, avg_price_out : arrays[n_rows]
        The inputs in laid-out order.
    held : bool[n_instruments]
        Instruments held by at least one row.
    dup_row : int64
        The first input row repeating a (portfolio, instrument) pair, or -1.
    """
    n = portfolio.shape[0]
    offsets = np.zeros(n_portfolios + 1, np.int64)
    for r in range(n):
        offsets[portfolio[r] + 1] += 1
    for g in range(n_portfolios):
        offsets[g + 1] += offsets[g]
    fill = offsets[:-1].copy()
    order = np.empty(n, np.int32)
    instrument_out = np.empty(n, np.int32)
    quantity_out = np.empty(n)
    avg_price_out = np.empty(n)
    held = np.zeros(n_instruments, np.bool_)
    for r in range(n):
        g = portfolio[r]
        k = fill[g]
        fill[g] = k + 1
        i = instrument[r]
        order[k] = r
        instrument_out[k] = i
        quantity_out[k] = quantity[r]
        avg_price_out[k] = avg_price[r]
        held[i] = True
    seen = np.full(n_instruments, -1, np.int64)
    dup_row = -1
    for g in range(n_portfolios):
        for k in range(offsets[g], offsets[g + 1]):
            i = instrument_out[k]
            if seen[i] == g:
                r = order[k]
                if dup_row < 0 or r < dup_row:
                    dup_row = r
            seen[i] = g
    return offsets, order, instrument_out, quantity_out, avg_price_out, held, dup_row



# --- the same layout in steps, so that blocks of rows can run on threads ---------------
# count_block on each block of rows -> block_starts -> scatter_block on each block ->
# first_repeat on each range of portfolios. Block b of portfolio p lands after block
# b - 1 of p, so the result equals layout_positions for any cut into blocks.


@jit
def count_block(portfolio, remap, lo, hi, counts):
    """Add to ``counts[g]`` the rows ``lo:hi`` whose portfolio ``remap[portfolio[r]]`` is ``g``.

    Parameters
    ----------
    portfolio : int32[n_rows]
        Portfolio code of each row, before ``remap``.
    remap : int32[n_codes]
        Final portfolio code of each code.
    lo, hi : int
        The block of rows.
    counts : int64[n_portfolios]
    """
    for r in range(lo, hi):
        counts[remap[portfolio[r]]] += 1


@jit
def block_starts(counts, offsets):
    """Turn per-block counts into first slots, and fill the portfolio offsets.

    ``counts`` is int64[n_blocks, n_portfolios]; on return ``counts[b, g]`` is
    the first slot of block ``b``'s rows of portfolio ``g``. ``offsets`` is
    int64[n_portfolios + 1].
    """
    n_blocks, n_p = counts.shape
    offsets[0] = 0
    for g in range(n_p):
        start = offsets[g]
        for b in range(n_blocks):
            c = counts[b, g]
            counts[b, g] = start
            start += c
        offsets[g + 1] = start


@jit
def scatter_block(portfolio, remap, instrument, quantity, avg_price, lo, hi, fill,
                  order, instrument_out, quantity_out, avg_price_out, held):
    """Write rows ``lo:hi`` to their slots; ``fill`` holds the block's first slot per portfolio.

    ``order``, ``instrument_out``, ``quantity_out``, ``avg_price_out`` are the
    laid-out arrays (see :func:`layout_positions`); ``held[i]`` is set for every
    instrument met (several blocks may set the same flag: they all write True).
    """
    for r in range(lo, hi):
        g = remap[portfolio[r]]
        k = fill[g]
        fill[g] = k + 1
        i = instrument[r]
        order[k] = r
        instrument_out[k] = i
        quantity_out[k] = quantity[r]
        avg_price_out[k] = avg_price[r]
        held[i] = True


@jit
def first_repeat(offsets, order, instrument_out, n_instruments, p_lo, p_hi):
    """The first input row repeating a (portfolio, instrument) pair in portfolios ``p_lo:p_hi``, or -1."""
    seen = np.full(n_instruments, -1, np.int64)
    dup_row = -1
    for g in range(p_lo, p_hi):
        for k in range(offsets[g], offsets[g + 1]):
            i = instrument_out[k]
            if seen[i] == g:
                r = order[k]
                if dup_row < 0 or r < dup_row:
                    dup_row = r
            seen[i] = g
    return dup_row
