"""Numba kernels of pmcore.optimize: risk budgeting (cyclical coordinate descent) and HRP.

Plain arrays in, plain arrays out; the public layer validates. Every kernel's
uncompiled twin is ``kernel.py_func`` (the same loop run by Python), which the
tests compare against.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["risk_budget_ccd", "hrp_bisect"]


@jit
def risk_budget_ccd(cov, budgets, y, tol, max_sweeps):
    """Solve ``min 1/2 y' cov y - budgets' log(y)`` in place in ``y`` (y > 0 on entry).

    Cyclical coordinate descent (Griveau-Billion, Richard & Roncalli 2013): each
    coordinate has the closed-form minimizer
    ``y_i = (-c_i + sqrt(c_i^2 + 4 cov_ii b_i)) / (2 cov_ii)``, ``c_i = (cov y)_i - cov_ii y_i``,
    and ``cov y`` is updated incrementally (O(n) per coordinate). At the optimum
    ``y_i (cov y)_i = b_i``: risk contributions equal the budgets. Stops when
    ``max_i |y_i (cov y)_i - b_i| / b_i <= tol``. Returns the number of sweeps,
    or ``-1`` if ``max_sweeps`` was reached.
    """
    n = y.shape[0]
    s = cov @ y
    for sweep in range(1, max_sweeps + 1):
        for i in range(n):
            sii = cov[i, i]
            c = s[i] - sii * y[i]
            yi = (-c + np.sqrt(c * c + 4.0 * sii * budgets[i])) / (2.0 * sii)
            d = yi - y[i]
            if d != 0.0:
                y[i] = yi
                for j in range(n):
                    s[j] += d * cov[i, j]  # row i == column i (symmetric), contiguous
        err = 0.0
        for i in range(n):
            e = abs(y[i] * s[i] - budgets[i]) / budgets[i]
            if e > err:
                err = e
        if err <= tol:
            return sweep
    return -1


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
