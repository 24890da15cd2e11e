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
