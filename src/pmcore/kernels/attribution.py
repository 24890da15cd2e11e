"""Attribution kernels: Brinson effects per cell and multi-period linking.

Layout shared by every kernel here: input rows are ordered so that the rows of
one *cell* (one portfolio in one period) are contiguous; ``cell_start`` (length
``n_cells + 1``) holds the first row of each cell. Cells of one portfolio are
contiguous and in period order; ``port_start`` (length ``n_portfolios + 1``)
holds the first cell of each portfolio. Groups are integer codes
``0 <= g < n_groups``; per-group results are dense ``(n_cells, n_groups)``
arrays.

Nothing here validates its input; :mod:`pmcore.attribution` does that first.
Every kernel is a plain loop; ``kernel.py_func`` is its uncompiled twin.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = [
    "cell_runs",
    "first_invalid_row",
    "brinson_cells",
    "link_coefficients",
    "link_sum",
    "frongello_link",
    "CARINO",
    "MENCHERO",
    "GRAP",
    "FRONGELLO",
]

# linking methods (integer codes shared with the public layer)
CARINO = 0
MENCHERO = 1
GRAP = 2
FRONGELLO = 3

# fields of the ``out`` array of :func:`brinson_cells`
F_WP, F_WB, F_RP, F_RB, F_ALLOC, F_SEL, F_INTER = 0, 1, 2, 3, 4, 5, 6
N_FIELDS = 7


@jit
def cell_runs(pkey, tkey):
    """Find the cells of rows already grouped by portfolio with periods ascending.

    Parameters
    ----------
    pkey, tkey : int64 arrays, shape (n_rows,)
        Portfolio and period keys (period keys in time order).

    Returns
    -------
    cell_start : int64 array, shape (n_cells + 1,)
    port_start : int64 array, shape (n_portfolios + 1,)
    ok : bool
        False if a portfolio's periods go backwards (rows need sorting first).
        A portfolio split into two runs shows up as a repeated key in
        ``pkey[cell_start[port_start[:-1]]]``, which the caller checks.
    """
    n = pkey.shape[0]
    cell_start = np.empty(n + 1, np.int64)
    port_start = np.empty(n + 1, np.int64)
    n_cells = 0
    n_ports = 0
    ok = True
    for i in range(n):
        if i == 0 or pkey[i] != pkey[i - 1]:
            port_start[n_ports] = n_cells
            n_ports += 1
            cell_start[n_cells] = i
            n_cells += 1
        elif tkey[i] != tkey[i - 1]:
            if tkey[i] < tkey[i - 1]:
                ok = False
            cell_start[n_cells] = i
            n_cells += 1
    cell_start[n_cells] = n
    port_start[n_ports] = n_cells
    return cell_start[: n_cells + 1].copy(), port_start[: n_ports + 1].copy(), ok


@jit
def first_invalid_row(wp, rp, wb, rb):
    """Return ``(row, code)`` of the first invalid row, or ``(-1, 0)``.

    Codes: 1 portfolio weight not finite, 2 benchmark weight not finite,
    3 portfolio return not finite where the portfolio weight is not 0,
    4 benchmark return not finite where the benchmark weight is not 0.
    """
    for i in range(wp.shape[0]):
        if not np.isfinite(wp[i]):
            return i, 1
        if not np.isfinite(wb[i]):
            return i, 2
        if wp[i] != 0.0 and not np.isfinite(rp[i]):
            return i, 3
        if wb[i] != 0.0 and not np.isfinite(rb[i]):
            return i, 4
    return -1, 0


@jit
def brinson_cells(cell_start, group, wp, rp, wb, rb, ref_mode, ref, parent, out, totals, present):
    """Brinson effects per cell and group, rows aggregated to groups.

    Parameters
    ----------
    cell_start : int64 array, shape (n_cells + 1,)
    group : int array, shape (n_rows,)
        Group code of each row.
    wp, rp, wb, rb : float64 arrays, shape (n_rows,)
        Portfolio and benchmark weight and return of each row. A return is
        ignored where its weight is 0 (it may be NaN there).
    ref_mode : int
        Reference return of the allocation effect: 0 none (Brinson-Hood-
        Beebower), 1 the cell's benchmark return (Brinson-Fachler), 2
        ``ref[cell, parent[g]]`` (lower levels of a top-down multi-level
        attribution).
    ref : float64 array, shape (n_cells, n_parents)
    parent : int64 array, shape (n_groups,)
    out : float64 array, shape (7, n_cells, n_groups), written
        Fields: portfolio weight, benchmark weight, portfolio return,
        benchmark return, allocation, selection, interaction.
    totals : float64 array, shape (n_cells, 4), written
        Portfolio and benchmark return, portfolio and benchmark weight sum
        of each cell.
    present : uint8 array, shape (n_cells, n_groups), written
        1 where the cell has at least one row of the group.

    Notes
    -----
    With group weights :math:`W` and contributions :math:`C = \\sum w r`, the
    group return is :math:`C / W`; where :math:`W_p = 0` the portfolio group
    return is taken equal to the benchmark one, where :math:`W_b = 0` the
    benchmark group return is the reference return. The interaction effect is
    the remainder :math:`C_p - C_b - (W_p - W_b) R_{ref} - A - S`, equal to
    :math:`(W_p - W_b)(r_p - r_b)` whenever both weights are non-zero.
    """
    n_cells = cell_start.shape[0] - 1
    n_groups = out.shape[2]
    for c in range(n_cells):
        for g in range(n_groups):
            for f in range(7):
                out[f, c, g] = 0.0
            present[c, g] = 0
        for i in range(cell_start[c], cell_start[c + 1]):
            g = group[i]
            present[c, g] = 1
            if wp[i] != 0.0:
                out[0, c, g] += wp[i]
                out[2, c, g] += wp[i] * rp[i]
            if wb[i] != 0.0:
                out[1, c, g] += wb[i]
                out[3, c, g] += wb[i] * rb[i]
        tot_p = 0.0
        tot_b = 0.0
        sum_wp = 0.0
        sum_wb = 0.0
        for g in range(n_groups):
            sum_wp += out[0, c, g]
            sum_wb += out[1, c, g]
            tot_p += out[2, c, g]
            tot_b += out[3, c, g]
        totals[c, 0] = tot_p
        totals[c, 1] = tot_b
        totals[c, 2] = sum_wp
        totals[c, 3] = sum_wb
        for g in range(n_groups):
            if present[c, g] == 0:
                continue
            w_p = out[0, c, g]
            w_b = out[1, c, g]
            c_p = out[2, c, g]
            c_b = out[3, c, g]
            if ref_mode == 0:
                r_ref = 0.0
            elif ref_mode == 1:
                r_ref = tot_b
            else:
                r_ref = ref[c, parent[g]]
            r_b = c_b / w_b if w_b != 0.0 else r_ref
            r_p = c_p / w_p if w_p != 0.0 else r_b
            alloc = (w_p - w_b) * (r_b - r_ref)
            sel = w_b * (r_p - r_b)
            if w_p != 0.0 and w_b != 0.0:
                inter = (w_p - w_b) * (r_p - r_b)
            else:
                inter = c_p - c_b - (w_p - w_b) * r_ref - alloc - sel
            out[2, c, g] = r_p
            out[3, c, g] = r_b
            out[4, c, g] = alloc
            out[5, c, g] = sel
            out[6, c, g] = inter


@jit
def _log_ratio(r, b):
    # (ln(1 + r) - ln(1 + b)) / (r - b), with its limit 1 / (1 + r) at r == b
    if r == b:
        return 1.0 / (1.0 + r)
    return (np.log1p(r) - np.log1p(b)) / (r - b)


@jit
def link_coefficients(port_start, ret_p, ret_b, method, coef, linked):
    """Per-cell linking coefficients (Carino, Menchero or GRAP).

    Parameters
    ----------
    port_start : int64 array, shape (n_portfolios + 1,)
    ret_p, ret_b : float64 arrays, shape (n_cells,)
        Portfolio and benchmark return of each cell (period).
    method : int
        ``CARINO``, ``MENCHERO`` or ``GRAP``.
    coef : float64 array, shape (n_cells,), written
        Linked effect of a portfolio = sum over its periods of
        ``coef[t] * effect[t]``.
    linked : float64 array, shape (n_portfolios, 2), written
        Compounded portfolio and benchmark return of each portfolio.
    """
    n_ports = port_start.shape[0] - 1
    for p in range(n_ports):
        a = port_start[p]
        z = port_start[p + 1]
        gp = 1.0
        gb = 1.0
        for t in range(a, z):
            gp *= 1.0 + ret_p[t]
            gb *= 1.0 + ret_b[t]
        big_r = gp - 1.0
        big_b = gb - 1.0
        linked[p, 0] = big_r
        linked[p, 1] = big_b
        if method == CARINO:
            k = _log_ratio(big_r, big_b)
            for t in range(a, z):
                coef[t] = _log_ratio(ret_p[t], ret_b[t]) / k
        elif method == MENCHERO:
            n_t = z - a
            if big_r == big_b:
                m = gp ** ((n_t - 1.0) / n_t)
            else:
                m = ((big_r - big_b) / n_t) / (gp ** (1.0 / n_t) - gb ** (1.0 / n_t))
            s1 = 0.0
            s2 = 0.0
            for t in range(a, z):
                d = ret_p[t] - ret_b[t]
                s1 += d
                s2 += d * d
            scale = (big_r - big_b - m * s1) / s2 if s2 != 0.0 else 0.0
            for t in range(a, z):
                coef[t] = m + scale * (ret_p[t] - ret_b[t])
        else:  # GRAP
            # coef[t] = prod_{s<t}(1 + R_s) * prod_{s>t}(1 + B_s)
            before = 1.0
            for t in range(a, z):
                coef[t] = before
                before *= 1.0 + ret_p[t]
            after = 1.0
            for t in range(z - 1, a - 1, -1):
                coef[t] *= after
                after *= 1.0 + ret_b[t]


@jit
def link_sum(port_start, coef, effects, out):
    """Linked effects: ``out[f, p, g] = sum_t coef[t] * effects[f, t, g]``.

    Parameters
    ----------
    port_start : int64 array, shape (n_portfolios + 1,)
    coef : float64 array, shape (n_cells,)
    effects : float64 array, shape (n_fields, n_cells, n_groups)
    out : float64 array, shape (n_fields, n_portfolios, n_groups), written
    """
    n_ports = port_start.shape[0] - 1
    n_f = effects.shape[0]
    n_groups = effects.shape[2]
    for f in range(n_f):
        for p in range(n_ports):
            for g in range(n_groups):
                out[f, p, g] = 0.0
            for t in range(port_start[p], port_start[p + 1]):
                k = coef[t]
                for g in range(n_groups):
                    out[f, p, g] += k * effects[f, t, g]


@jit
def frongello_link(port_start, ret_p, ret_b, effects, out):
    """Frongello (2002) recursive linking.

    ``G[t] = A[t] * prod_{s<t}(1 + R_s) + B_t * sum_{s<t} G[s]``; the linked
    effect is ``sum_t G[t]``. Shapes as in :func:`link_sum`.
    """
    n_ports = port_start.shape[0] - 1
    n_f = effects.shape[0]
    n_groups = effects.shape[2]
    for f in range(n_f):
        for p in range(n_ports):
            for g in range(n_groups):
                out[f, p, g] = 0.0
            growth = 1.0
            for t in range(port_start[p], port_start[p + 1]):
                b = ret_b[t]
                for g in range(n_groups):
                    out[f, p, g] = effects[f, t, g] * growth + b * out[f, p, g] + out[f, p, g]
                growth *= 1.0 + ret_p[t]
