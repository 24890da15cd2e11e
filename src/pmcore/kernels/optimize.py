"""Numba kernels of pmcore.optimize: risk budgeting (cyclical coordinate descent, covariance screen) and HRP.

Plain arrays in, plain arrays out; the public layer validates. Every kernel's
uncompiled twin is ``kernel.py_func`` (the same loop run by Python), which the
tests compare against.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["risk_budget_ccd", "covariance_screen", "hrp_bisect", "olo_costs"]


@jit
def risk_budget_ccd(cov, budgets, y, tol, max_sweeps):
    """Solve ``min 1/2 y' cov y - budgets' log(y)`` in place in ``y`` (y > 0 on entry; rescaled first).

    Cyclical coordinate descent (Griveau-Billion, Richard & Roncalli 2013): each
    coordinate has the closed-form minimizer
    ``y_i = (-c_i + sqrt(c_i^2 + 4 cov_ii b_i)) / (2 cov_ii)``, ``c_i = (cov y)_i - cov_ii y_i``,
    and ``cov y`` is updated incrementally (O(n) per coordinate, four rows per
    pass: :func:`_ccd_sweep`). At the optimum
    ``y_i (cov y)_i = b_i``: risk contributions equal the budgets. ``budgets``
    sum to one, so the optimum has ``y' cov y = 1``; ``y`` is rescaled to that
    (exactly, in O(n)) before the first and after every sweep, which saves a
    fifth of the sweeps. Stops after the first sweep whose risk contributions
    ``RC_i = y_i (cov y)_i / y' cov y`` satisfy ``max_i |RC_i - b_i| / b_i <= tol``.
    Returns the number of sweeps, or ``-1`` if ``max_sweeps`` was reached or the
    iterates stopped being finite with a positive variance (an indefinite ``cov``).
    """
    n = y.shape[0]
    s = cov @ y
    var = 0.0
    for i in range(n):
        var += y[i] * s[i]
    if not (var > 0.0 and var < np.inf):
        return -1
    t = 1.0 / np.sqrt(var)  # the best multiple of y: sum(budgets) = 1 = y' cov y
    for i in range(n):
        y[i] *= t
        s[i] *= t
    for sweep in range(1, max_sweeps + 1):
        _ccd_sweep(cov, budgets, y, s)
        var = 0.0
        for i in range(n):
            var += y[i] * s[i]
        if not (var > 0.0 and var < np.inf):
            return -1
        err = 0.0
        for i in range(n):
            e = abs(y[i] * s[i] / var - budgets[i]) / budgets[i]
            if e > err:  # finite: var is
                err = e
        if err <= tol:
            return sweep
        t = 1.0 / np.sqrt(var)  # rescale to y' cov y = 1: the slowest mode of the sweeps, exact in O(n)
        for i in range(n):
            y[i] *= t
            s[i] *= t
    return -1


@jit
def _ccd_step(cov, budgets, y, i, si):
    """Closed-form coordinate minimizer for asset ``i`` given ``si = (cov y)_i``; returns the change of y_i."""
    sii = cov[i, i]
    c = si - sii * y[i]
    yi = (-c + np.sqrt(c * c + 4.0 * sii * budgets[i])) / (2.0 * sii)
    d = yi - y[i]
    y[i] = yi
    return d


@jit
def _ccd_sweep(cov, budgets, y, s):
    """One cyclic sweep over the coordinates, ``s = cov y`` kept up to date.

    Rows are taken four at a time: the four coordinate steps run in order, each
    seeing the earlier ones through the 3x3 corner of ``cov``, and ``s`` is then
    updated by the four rows in one pass (the same iterates as one row at a time,
    up to rounding, with a quarter of the passes over ``s``).
    """
    n = y.shape[0]
    i0 = 0
    while i0 + 4 <= n:
        d0 = _ccd_step(cov, budgets, y, i0, s[i0])
        d1 = _ccd_step(cov, budgets, y, i0 + 1, s[i0 + 1] + d0 * cov[i0, i0 + 1])
        d2 = _ccd_step(cov, budgets, y, i0 + 2, s[i0 + 2] + d0 * cov[i0, i0 + 2] + d1 * cov[i0 + 1, i0 + 2])
        d3 = _ccd_step(cov, budgets, y, i0 + 3, s[i0 + 3] + d0 * cov[i0, i0 + 3] + d1 * cov[i0 + 1, i0 + 3]
                       + d2 * cov[i0 + 2, i0 + 3])
        r0, r1, r2, r3 = cov[i0], cov[i0 + 1], cov[i0 + 2], cov[i0 + 3]  # rows == columns (symmetric)
        for j in range(n):
            s[j] += d0 * r0[j] + d1 * r1[j] + d2 * r2[j] + d3 * r3[j]
        i0 += 4
    for i in range(i0, n):
        d = _ccd_step(cov, budgets, y, i, s[i])
        for j in range(n):
            s[j] += d * cov[i, j]


@jit
def covariance_screen(cov, rtol):
    """One pass over a square matrix: ``(status, max_asymmetry)``.

    ``status`` is 0 when every entry is finite, every diagonal entry is positive,
    ``|cov_ij - cov_ji| <= rtol * max_i cov_ii`` and every 2x2 principal minor is
    non-negative to rounding (``cov_ij^2 <= cov_ii cov_jj (1 + 1e-12)``, a necessary
    condition for positive semi-definiteness); otherwise 1, and the caller runs the
    full diagnosis. ``max_asymmetry`` is the largest ``|cov_ij - cov_ji|``.
    Blocked over the upper triangle so that the transposed reads stay in cache.
    """
    n = cov.shape[0]
    diag = np.empty(n)
    scale = 0.0
    for i in range(n):
        v = cov[i, i]
        if not (v > 0.0 and v < np.inf):
            return 1, np.inf
        diag[i] = v
        if v > scale:
            scale = v
    lim = rtol * scale
    grow = 1.0 + 1e-12
    asym = 0.0
    bs = 32
    for ib in range(0, n, bs):
        ie = min(ib + bs, n)
        for jb in range(ib, n, bs):
            je = min(jb + bs, n)
            for i in range(ib, ie):
                cii = diag[i] * grow
                for j in range(max(jb, i + 1), je):
                    a = cov[i, j]
                    d = abs(a - cov[j, i])
                    if d > asym or d != d:
                        if not d <= lim:  # also NaN / inf
                            return 1, np.inf
                        asym = d
                    if a * a > cii * diag[j]:
                        return 1, asym
    return 0, asym


@jit
def hrp_bisect(cov, order, out):
    """Hierarchical risk parity weights by recursive bisection of ``order`` into ``out``.

    Each cluster's risk is the variance of its inverse-variance portfolio; a
    parent's weight splits between its halves in inverse proportion to their
    risks (López de Prado 2016, "Building diversified portfolios that
    outperform out of sample").
    """
    n = order.shape[0]
    for i in range(n):
        out[i] = 1.0
    starts = np.empty(2 * n, np.int64)
    stops = np.empty(2 * n, np.int64)
    top = 0
    starts[0] = 0
    stops[0] = n
    top = 1
    while top > 0:
        top -= 1
        a = starts[top]
        b = stops[top]
        if b - a <= 1:
            continue
        m = a + (b - a) // 2
        var0 = _cluster_variance(cov, order, a, m)
        var1 = _cluster_variance(cov, order, m, b)
        alpha = 1.0 - var0 / (var0 + var1)
        for k in range(a, m):
            out[order[k]] *= alpha
        for k in range(m, b):
            out[order[k]] *= 1.0 - alpha
        starts[top] = a
        stops[top] = m
        top += 1
        starts[top] = m
        stops[top] = b
        top += 1


@jit
def _cluster_variance(cov, order, a, b):
    total = 0.0
    for k in range(a, b):
        total += 1.0 / cov[order[k], order[k]]
    var = 0.0
    for k in range(a, b):
        i = order[k]
        wi = 1.0 / cov[i, i] / total
        acc = 0.0
        for l in range(a, b):
            j = order[l]
            acc += cov[i, j] / cov[j, j]
        var += wi * acc / total
    return var


@jit
def olo_costs(D, start, split, end, lsplit, rsplit, M):
    """Optimal leaf ordering costs (Bar-Joseph, Gifford & Jaakkola 2001), bottom-up.

    Positions index the leaves in dendrogram order, so every node covers the
    block ``[start, end)`` with its left child on ``[start, split)``; ``lsplit``
    and ``rsplit`` are the children's own splits (-1 for a leaf). ``D`` holds
    distances between positions. For a pair ``(i, j)`` straddling a node's
    split, ``M[i, j]`` is the least sum of adjacent distances over the orderings
    of that node's leaves that the tree allows, from ``i`` to ``j``. Rows must
    come bottom-up (scipy linkage order).
    """
    n_nodes = start.shape[0]
    for t in range(n_nodes):
        a = start[t]
        b = split[t]
        c = end[t]
        ls = lsplit[t]
        rs = rsplit[t]
        C = np.empty((b - a, c - b))
        for i in range(a, b):
            if ls < 0:
                k_lo, k_hi = i, i + 1
            elif i < ls:
                k_lo, k_hi = ls, b
            else:
                k_lo, k_hi = a, ls
            for m in range(b, c):
                best = np.inf
                for k in range(k_lo, k_hi):
                    v = M[i, k] + D[m, k]  # D, M symmetric: contiguous rows
                    if v < best:
                        best = v
                C[i - a, m - b] = best
        for i in range(a, b):
            for j in range(b, c):
                if rs < 0:
                    m_lo, m_hi = j, j + 1
                elif j < rs:
                    m_lo, m_hi = rs, c
                else:
                    m_lo, m_hi = b, rs
                best = np.inf
                for m in range(m_lo, m_hi):
                    v = C[i - a, m - b] + M[j, m]
                    if v < best:
                        best = v
                M[i, j] = best
                M[j, i] = best
