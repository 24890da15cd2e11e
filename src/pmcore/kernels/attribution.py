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

from ._jit import jit, prefetch

__all__ = [
    "cell_runs",
    "cell_run_block",
    "first_invalid_row",
    "brinson_cells",
    "brinson_linked",
    "link_coefficients",
    "link_dense",
    "link_cumulative",
    "check_cell_totals",
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


_RUN_CHUNK = 64  # rows per branch-free check in cell_run_block
U = np.uint64
#: rows ahead to prefetch (4 KB of a float column; on 2 cores 256, 768 and 1024 rows ahead were slower)
PREFETCH_ROWS = 512
PREFETCH = U(PREFETCH_ROWS)


@jit
def cell_run_block(pkey, tkey, lo, hi):
    """Cell and portfolio starts among rows ``lo..hi-1``, for :func:`cell_runs` on blocks of rows.

    Row ``i`` starts a cell if ``i == 0`` or its keys differ from row
    ``i - 1`` (for ``i == lo > 0`` that row lies in the block before, which
    is only read), so blocks of one array can run on separate threads and
    their results be concatenated.

    Returns
    -------
    cell_start : int64 array, shape (n_block_cells,)
        First row of each cell starting in the block.
    port_first : int64 array
        Index (into this block's ``cell_start``) of each cell that starts a portfolio.
    ok : bool
        False if a portfolio's periods go backwards within the block (or at its first row).
    """
    cap = hi - lo
    cell_start = np.empty(cap, np.int64)
    port_first = np.empty(cap, np.int64)
    n_cells = 0
    n_ports = 0
    ok = True
    if lo == 0 and hi > 0:  # row 0 starts the first cell and portfolio
        port_first[0] = 0
        cell_start[0] = 0
        n_cells = 1
        n_ports = 1
        lo = 1
    # chunks of rows: a branch-free test for any key change (it vectorizes) skips a
    # chunk without one, which is most of them (a cell is often hundreds of rows)
    for c0 in range(lo, hi, _RUN_CHUNK):
        c1 = min(c0 + _RUN_CHUNK, hi)
        # the chunk PREFETCH rows ahead on its way (8 int64 or 16 int32 keys a cache line)
        for m in range(0, _RUN_CHUNK, 8):
            prefetch(pkey, c0 + PREFETCH_ROWS + m)
        for m in range(0, _RUN_CHUNK, 16):
            prefetch(tkey, c0 + PREFETCH_ROWS + m)
        # rows against the rows before them, as two shifted slices (so it vectorizes)
        p_now = pkey[c0:c1]
        p_before = pkey[c0 - 1:c1 - 1]
        t_now = tkey[c0:c1]
        t_before = tkey[c0 - 1:c1 - 1]
        changed = np.int64(0)
        for m in range(c1 - c0):
            changed |= np.int64(p_now[m] ^ p_before[m]) | np.int64(t_now[m] ^ t_before[m])
        if changed == 0:
            continue
        for i in range(c0, c1):
            if pkey[i] != pkey[i - 1]:
                port_first[n_ports] = n_cells
                n_ports += 1
                cell_start[n_cells] = i
                n_cells += 1
            elif tkey[i] != tkey[i - 1]:
                if tkey[i] < tkey[i - 1]:
                    ok = False
                cell_start[n_cells] = i
                n_cells += 1
    return cell_start[:n_cells].copy(), port_first[:n_ports].copy(), ok


@jit
def cell_runs(pkey, tkey):
    """Find the cells of rows already grouped by portfolio with periods ascending.

    Parameters
    ----------
    pkey, tkey : int arrays, shape (n_rows,)
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
    starts, firsts, ok = cell_run_block(pkey, tkey, 0, n)
    cell_start = np.empty(starts.shape[0] + 1, np.int64)
    cell_start[:-1] = starts
    cell_start[-1] = n
    port_start = np.empty(firsts.shape[0] + 1, np.int64)
    port_start[:-1] = firsts
    port_start[-1] = starts.shape[0]
    return cell_start, port_start, ok


@jit(inline=True)
def add_rows(group, wp, rp, wb, rb, lo, hi, rows):
    """Add rows ``lo..hi-1`` by group into ``rows`` (4 * n_groups).

    Group ``g``'s portfolio weight, portfolio contribution (weight x return),
    benchmark weight and benchmark contribution go to ``rows[4g:4g + 4]``,
    side by side in one cache line. A return counts only where its weight
    is not 0 (it may be NaN there).

    Row indices are unsigned: Numba then drops the negative-index wrap-around
    it otherwise adds to every array read (about a tenth of the loop's time).
    """
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
        stop = min(i + U(8), end)
        # selects, not branches: a security is held or not at random, and a
        # mispredicted branch per row costs more than the arithmetic
        for k in range(i, stop):
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


@jit(inline=True)
def field_major(rows, acc):
    """Copy :func:`add_rows`'s group-major sums to ``acc``: each field's ``n_groups`` values in turn."""
    n_groups = rows.shape[0] // 4
    for g in range(n_groups):
        for f in range(4):
            acc[f * n_groups + g] = rows[4 * g + f]


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
def _log_ratio(r, b):
    # (ln(1 + r) - ln(1 + b)) / (r - b), with its limit 1 / (1 + r) at r == b
    if r == b:
        return 1.0 / (1.0 + r)
    return (np.log1p(r) - np.log1p(b)) / (r - b)


@jit
def _coefficients(ret_p, ret_b, method, coef, comp):
    """Linking coefficients of one portfolio's periods; ``comp`` gets (R, B)."""
    n_t = ret_p.shape[0]
    gp = 1.0
    gb = 1.0
    for t in range(n_t):
        gp *= 1.0 + ret_p[t]
        gb *= 1.0 + ret_b[t]
    big_r = gp - 1.0
    big_b = gb - 1.0
    comp[0] = big_r
    comp[1] = big_b
    if method == CARINO:
        k = _log_ratio(big_r, big_b)
        for t in range(n_t):
            coef[t] = _log_ratio(ret_p[t], ret_b[t]) / k
    elif method == MENCHERO:
        if big_r == big_b:
            m = gp ** ((n_t - 1.0) / n_t)
        else:
            m = ((big_r - big_b) / n_t) / (gp ** (1.0 / n_t) - gb ** (1.0 / n_t))
        s1 = 0.0
        s2 = 0.0
        for t in range(n_t):
            d = ret_p[t] - ret_b[t]
            s1 += d
            s2 += d * d
        scale = (big_r - big_b - m * s1) / s2 if s2 != 0.0 else 0.0
        for t in range(n_t):
            coef[t] = m + scale * (ret_p[t] - ret_b[t])
    else:  # GRAP: prod_{s<t}(1 + R_s) * prod_{s>t}(1 + B_s)
        before = 1.0
        for t in range(n_t):
            coef[t] = before
            before *= 1.0 + ret_p[t]
        after = 1.0
        for t in range(n_t - 1, -1, -1):
            coef[t] *= after
            after *= 1.0 + ret_b[t]


@jit
def link_coefficients(port_start, ret_p, ret_b, method, coef, compounded):
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
    compounded : float64 array, shape (n_portfolios, 2), written
        Compounded portfolio and benchmark return of each portfolio.
    """
    for p in range(port_start.shape[0] - 1):
        a = port_start[p]
        z = port_start[p + 1]
        _coefficients(ret_p[a:z], ret_b[a:z], method, coef[a:z], compounded[p])


@jit
def _link_portfolio(a, z, eff, f0, ret_p, ret_b, method, coef, out_p):
    """Link fields ``f0..f0+2`` of ``eff[a:z]`` (cells, fields, n_groups) into ``out_p`` (3, n_groups)."""
    n_groups = eff.shape[2]
    for f in range(3):
        for g in range(n_groups):
            out_p[f, g] = 0.0
    if method == FRONGELLO:
        growth = 1.0
        for t in range(a, z):
            b = ret_b[t]
            for f in range(3):
                for g in range(n_groups):
                    out_p[f, g] = eff[t, f0 + f, g] * growth + (1.0 + b) * out_p[f, g]
            growth *= 1.0 + ret_p[t]
    else:
        for t in range(a, z):
            k = coef[t]
            for f in range(3):
                for g in range(n_groups):
                    out_p[f, g] += k * eff[t, f0 + f, g]


@jit
def link_dense(port_start, ret_p, ret_b, method, out, linked, compounded):
    """Link dense per-cell effects over each portfolio's periods.

    Parameters
    ----------
    port_start : int64 array, shape (n_portfolios + 1,)
    ret_p, ret_b : float64 arrays, shape (n_cells,)
    method : int
        ``CARINO``, ``MENCHERO``, ``GRAP`` or ``FRONGELLO``.
    out : float64 array, shape (n_cells, 7, n_groups)
        As written by :func:`brinson_cells` (fields 4..6 are linked).
    linked : float64 array, shape (n_portfolios, 3, n_groups), written
        Linked allocation, selection and interaction.
    compounded : float64 array, shape (n_portfolios, 2), written
    """
    coef = np.empty(ret_p.shape[0])
    link_coefficients(port_start, ret_p, ret_b, GRAP if method == FRONGELLO else method, coef, compounded)
    for p in range(port_start.shape[0] - 1):
        _link_portfolio(port_start[p], port_start[p + 1], out, 4, ret_p, ret_b, method, coef, linked[p])


@jit(inline=True)
def _cell_effects(acc, ref_mode, ref, c, parent, dst, k, full, totals, ever, p):
    """Effects of cell ``c`` from its field-major group sums ``acc``, into ``dst[k]`` and ``totals[c]``.

    ``acc`` as :func:`field_major` writes it. Writes fields 4..6
    (allocation, selection, interaction) of ``dst[k]``, and with ``full``
    also 0..3 (group weights and returns); without it, sets
    ``ever[p, g]`` where group ``g`` has a weight or an effect. Returns the
    cell's portfolio and benchmark returns. Inlined into :func:`_pass` (a
    call per cell, with about ten array arguments, cost about 15 % at 2.5
    million cells).
    """
    n_groups = acc.shape[0] // 4
    tot_p = 0.0
    tot_b = 0.0
    sum_wp = 0.0
    sum_wb = 0.0
    for g in range(n_groups):
        sum_wp += acc[g]
        tot_p += acc[n_groups + g]
        sum_wb += acc[2 * n_groups + g]
        tot_b += acc[3 * n_groups + g]
    sum_a = 0.0
    sum_s = 0.0
    sum_i = 0.0
    r_ref = tot_b if ref_mode == 1 else 0.0
    for g in range(n_groups):
        w_p = acc[g]
        c_p = acc[n_groups + g]
        w_b = acc[2 * n_groups + g]
        c_b = acc[3 * n_groups + g]
        if ref_mode == 2:
            r_ref = ref[c, parent[g]]
        if w_p != 0.0 and w_b != 0.0:
            inv = 1.0 / (w_p * w_b)
            r_b = c_b * w_p * inv
            r_p = c_p * w_b * inv
            alloc = (w_p - w_b) * (r_b - r_ref)
            sel = w_b * (r_p - r_b)
            inter = (w_p - w_b) * (r_p - r_b)
        elif w_b != 0.0:  # the portfolio holds nothing of the group: no selection
            r_b = c_b / w_b
            r_p = r_b
            alloc = -w_b * (r_b - r_ref)
            sel = 0.0
            inter = c_p
        else:  # the benchmark holds nothing of it: no allocation either
            r_b = r_ref
            r_p = c_p / w_p if w_p != 0.0 else r_b
            alloc = 0.0
            sel = 0.0
            inter = c_p - c_b - w_p * r_ref
        if full:
            dst[k, 0, g] = w_p
            dst[k, 1, g] = w_b
            dst[k, 2, g] = r_p
            dst[k, 3, g] = r_b
        dst[k, 4, g] = alloc
        dst[k, 5, g] = sel
        dst[k, 6, g] = inter
        sum_a += alloc
        sum_s += sel
        sum_i += inter
        # reported where either side has a weight or an effect
        if not full and ever[p, g] == 0 and (w_p != 0.0 or w_b != 0.0 or alloc != 0.0
                                             or sel != 0.0 or inter != 0.0):
            ever[p, g] = 1
    totals[c, 0] = tot_p
    totals[c, 1] = tot_b
    totals[c, 2] = sum_wp
    totals[c, 3] = sum_wb
    totals[c, 4] = sum_a
    totals[c, 5] = sum_s
    totals[c, 6] = sum_i
    return tot_p, tot_b


@jit
def _pass(cell_start, port_start, group, wp, rp, wb, rb, ref_mode, ref, parent, method, out, totals,
          linked, compounded, ever):
    """The one loop behind :func:`brinson_cells` and :func:`brinson_linked`.

    With ``method < 0`` every cell's 7 fields go to ``out`` (n_cells, 7,
    n_groups); otherwise each portfolio's cells go to a scratch block that is
    linked into ``linked`` right away.
    """
    n_ports = port_start.shape[0] - 1
    n_groups = out.shape[2]
    full = method < 0
    max_cells = 0
    if not full:
        for p in range(n_ports):
            max_cells = max(max_cells, port_start[p + 1] - port_start[p])
    scratch = np.empty((max_cells, 7, n_groups))
    coef = np.empty(max_cells)
    ret_p = np.empty(max_cells)
    ret_b = np.empty(max_cells)
    acc = np.empty(4 * n_groups)
    rows = np.empty(4 * n_groups)  # a group's four sums side by side (one cache line)
    dst = out if full else scratch
    for p in range(n_ports):
        a = port_start[p]
        z = port_start[p + 1]
        if not full:
            for g in range(n_groups):
                ever[p, g] = 0
        for c in range(a, z):
            k = c if full else c - a
            lo = np.uint64(cell_start[c])
            hi = np.uint64(cell_start[c + 1])
            # group-level rows (one per group, in code order) need no accumulation
            dense = cell_start[c + 1] - cell_start[c] == n_groups
            if dense:
                for j in range(n_groups):
                    if group[lo + np.uint64(j)] != j:
                        dense = False
                        break
            if dense:
                for g in range(n_groups):
                    i = lo + np.uint64(g)
                    w = wp[i]
                    acc[g] = w
                    acc[n_groups + g] = w * rp[i] if w != 0.0 else 0.0
                    w = wb[i]
                    acc[2 * n_groups + g] = w
                    acc[3 * n_groups + g] = w * rb[i] if w != 0.0 else 0.0
            else:
                rows[:] = 0.0
                add_rows(group, wp, rp, wb, rb, lo, hi, rows)
                field_major(rows, acc)
            tot_p, tot_b = _cell_effects(acc, ref_mode, ref, c, parent, dst, k, full, totals, ever, p)
            if not full:
                ret_p[k] = tot_p
                ret_b[k] = tot_b
        if not full:
            n_t = z - a
            _coefficients(ret_p[:n_t], ret_b[:n_t], GRAP if method == FRONGELLO else method, coef[:n_t],
                          compounded[p])
            _link_portfolio(0, n_t, scratch, 4, ret_p, ret_b, method, coef, linked[p])


@jit
def brinson_cells(cell_start, group, wp, rp, wb, rb, ref_mode, ref, parent, out, totals):
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
    ref : float64 array, shape (n_cells, n_parents) (any 2-D shape unless mode 2)
    parent : int64 array, shape (n_groups,)
    out : float64 array, shape (n_cells, 7, n_groups), written
        Fields: portfolio weight, benchmark weight, portfolio return,
        benchmark return, allocation, selection, interaction.
    totals : float64 array, shape (n_cells, 7), written
        Portfolio and benchmark return, portfolio and benchmark weight sum,
        allocation, selection and interaction summed over groups.

    Notes
    -----
    With group weights :math:`W` and contributions :math:`C = \\sum w r`, the
    group return is :math:`C / W`; where :math:`W_p = 0` the portfolio group
    return is taken equal to the benchmark one, where :math:`W_b = 0` the
    benchmark group return is the reference return. The interaction effect is
    :math:`(W_p - W_b)(r_p - r_b)` where both weights are non-zero, else the
    remainder :math:`C_p - C_b - (W_p - W_b) R_{ref} - A - S` (normally 0
    where :math:`W_p = 0`; non-zero only for long/short holdings netting to
    a zero group weight).
    """
    port_start = np.array([0, cell_start.shape[0] - 1], np.int64)
    _pass(cell_start, port_start, group, wp, rp, wb, rb, ref_mode, ref, parent, -1, out, totals,
          np.empty((1, 3, 1)), np.empty((1, 2)), np.empty((1, 1), np.uint8))


@jit
def brinson_linked(cell_start, port_start, group, wp, rp, wb, rb, ref_mode, method, totals, linked,
                   compounded, ever):
    """Single-level Brinson effects linked per portfolio, without dense per-cell output.

    One pass per portfolio: effects of its cells into a scratch block, its
    linking coefficients, then the linked sums. Arguments as in
    :func:`brinson_cells` and :func:`link_dense`; ``ever`` (n_portfolios,
    n_groups) gets 1 where the portfolio has a weight or an effect in the
    group in any period.
    """
    n_groups = linked.shape[2]
    _pass(cell_start, port_start, group, wp, rp, wb, rb, ref_mode, np.zeros((1, 1)),
          np.zeros(n_groups, np.int64), method, np.empty((0, 7, n_groups)), totals, linked, compounded, ever)


@jit
def check_cell_totals(totals, tol):
    """Scan cell totals (as written by :func:`brinson_cells`) once.

    Returns ``(cell, code, residual)``: the first cell breaking a rule (code 1
    a non-finite return or weight sum, 2 portfolio weights not summing to 1
    within ``tol``, 3 the same for the benchmark; ``(-1, 0)`` if none) and the
    largest ``|R_p - R_b - (A + S + I)|`` over all cells.
    """
    residual = 0.0
    for c in range(totals.shape[0]):
        for f in range(4):
            if not np.isfinite(totals[c, f]):
                return c, 1, residual
        if abs(totals[c, 2] - 1.0) > tol:
            return c, 2, residual
        if abs(totals[c, 3] - 1.0) > tol:
            return c, 3, residual
        gap = abs(totals[c, 0] - totals[c, 1] - (totals[c, 4] + totals[c, 5] + totals[c, 6]))
        if gap > residual:
            residual = gap
    return -1, 0, residual


@jit
def link_cumulative(port_start, ret_p, ret_b, method, out, f0, cum):
    """Linked effects from each portfolio's first period through every period.

    ``cum[t, f, g]`` is effect ``f0 + f`` of group ``g`` linked over the
    portfolio's periods up to and including ``t``, with the linking of that
    truncated range, so it depends on no later period. At a portfolio's last
    period it equals :func:`link_dense`. Shapes: ``out`` (n_cells, n_fields,
    n_groups) as written by :func:`brinson_cells`; ``cum`` (n_cells, 3,
    n_groups), written. Carino and Menchero keep running sums
    (:math:`\\sum k_s e_s`; :math:`\\sum e_s` and :math:`\\sum a_s e_s`);
    GRAP and Frongello (equal in total) run
    ``S_t = S_{t-1} (1 + B_t) + e_t prod_{s<t}(1 + R_s)``.
    """
    n_groups = out.shape[2]
    run1 = np.empty((3, n_groups))
    run2 = np.empty((3, n_groups))
    for p in range(port_start.shape[0] - 1):
        a = port_start[p]
        z = port_start[p + 1]
        for f in range(3):
            for g in range(n_groups):
                run1[f, g] = 0.0
                run2[f, g] = 0.0
        gp = 1.0
        gb = 1.0
        s1 = 0.0
        s2 = 0.0
        for t in range(a, z):
            n_t = t - a + 1
            before = gp
            gp *= 1.0 + ret_p[t]
            gb *= 1.0 + ret_b[t]
            big_r = gp - 1.0
            big_b = gb - 1.0
            d = ret_p[t] - ret_b[t]
            s1 += d
            s2 += d * d
            if method == CARINO:
                k_t = _log_ratio(ret_p[t], ret_b[t])
                k = _log_ratio(big_r, big_b)
                for f in range(3):
                    for g in range(n_groups):
                        run1[f, g] += k_t * out[t, f0 + f, g]
                        cum[t, f, g] = run1[f, g] / k
            elif method == MENCHERO:
                if big_r == big_b:
                    m = gp ** ((n_t - 1.0) / n_t)
                else:
                    m = ((big_r - big_b) / n_t) / (gp ** (1.0 / n_t) - gb ** (1.0 / n_t))
                scale = (big_r - big_b - m * s1) / s2 if s2 != 0.0 else 0.0
                for f in range(3):
                    for g in range(n_groups):
                        e = out[t, f0 + f, g]
                        run1[f, g] += e
                        run2[f, g] += d * e
                        cum[t, f, g] = m * run1[f, g] + scale * run2[f, g]
            else:
                for f in range(3):
                    for g in range(n_groups):
                        run1[f, g] = run1[f, g] * (1.0 + ret_b[t]) + out[t, f0 + f, g] * before
                        cum[t, f, g] = run1[f, g]
