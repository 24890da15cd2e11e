"""Valuation and exposure kernels over a book laid out by portfolio (CSR).

All sums use Neumaier's compensated summation so that a portfolio of many
positions is valued to within a few units in the last place of its total.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# columns of the per-portfolio output matrix of ``value_book``
LONG, SHORT, NET, UPNL, INVESTED, COUNT, CASH, LOCKED, EQUITY = range(9)
N_FIELDS = 9


@jit
def _neumaier(s, c, x):
    """One step of compensated summation: returns the new (sum, compensation).

    Knuth's branch-free TwoSum gives the exact rounding error of ``s + x``,
    which is accumulated in ``c`` (the Neumaier/Kahan-Babuska scheme); the
    compensated total is ``s + c``.
    """
    t = s + x
    z = t - s
    return t, c + ((s - (t - z)) + (x - z))


@jit
def cash_in_base(cash_offsets, cash_currency, amounts, fx, out):
    """Sum each portfolio's cash rows converted to base currency.

    Parameters
    ----------
    cash_offsets : int64[n_portfolios + 1]
        Cash rows of portfolio ``p`` are ``cash_offsets[p]:cash_offsets[p + 1]``.
    cash_currency : int32[n_cash]
        Currency code of each cash row.
    amounts : float64[n_cash, k]
        ``k`` amount columns (e.g. balance, locked) per cash row.
    fx : float64[n_currencies]
        Rate to base currency of each currency.
    out : float64[n_portfolios, k]
        Receives the sums.
    """
    n_p = cash_offsets.shape[0] - 1
    k = amounts.shape[1]
    for p in range(n_p):
        for j in range(k):
            s = 0.0
            c = 0.0
            for r in range(cash_offsets[p], cash_offsets[p + 1]):
                s, c = _neumaier(s, c, amounts[r, j] * fx[cash_currency[r]])
            out[p, j] = s + c


@jit
def value_book(offsets, instrument, quantity, avg_price, price, unit_scale,
               cash, is_margin, out):
    """Value every portfolio of a book.

    Parameters
    ----------
    offsets : int64[n_portfolios + 1]
        Positions of portfolio ``p`` are rows ``offsets[p]:offsets[p + 1]``.
    instrument : int32[n_positions]
        Instrument code of each position.
    quantity, avg_price : float64[n_positions]
        Signed quantity and average cost per unit (instrument currency).
    price : float64[n_instruments]
        Price per unit of each instrument, in its own currency.
    unit_scale : float64[n_instruments]
        ``multiplier * fx``: converts a per-unit price to base currency.
    cash : float64[n_portfolios, 2]
        Cash balance and locked cash per portfolio, in base currency.
    is_margin : bool[n_portfolios]
        Margin account (equity = cash + unrealized PnL) or cash account
        (equity = cash + market value).
    out : float64[n_portfolios, N_FIELDS]
        Receives long value, short value, net market value, unrealized PnL,
        invested value (cost of ``abs(quantity)``), position count, cash, locked
        cash and equity.
    """
    n_p = offsets.shape[0] - 1
    for p in range(n_p):
        ls = 0.0
        lc = 0.0
        ss = 0.0
        sc = 0.0
        us = 0.0
        uc = 0.0
        vs = 0.0
        vc = 0.0
        count = 0
        for k in range(offsets[p], offsets[p + 1]):
            i = instrument[k]
            q = quantity[k]
            scale = unit_scale[i]
            px = price[i]
            mv = q * px * scale
            # branch-free: the sign of mv is the sign of q (price and scale are > 0)
            ls, lc = _neumaier(ls, lc, max(mv, 0.0))
            ss, sc = _neumaier(ss, sc, min(mv, 0.0))
            count += q != 0.0
            cost = avg_price[k] * scale
            us, uc = _neumaier(us, uc, q * (px - avg_price[k]) * scale)
            vs, vc = _neumaier(vs, vc, abs(q) * cost)
        ns, nc = _neumaier(ls, lc + sc, ss)
        out[p, LONG] = ls + lc
        out[p, SHORT] = ss + sc
        out[p, NET] = ns + nc
        out[p, UPNL] = us + uc
        out[p, INVESTED] = vs + vc
        out[p, COUNT] = count
        out[p, CASH] = cash[p, 0]
        out[p, LOCKED] = cash[p, 1]
        if is_margin[p]:
            es, ec = _neumaier(us, uc, cash[p, 0])
        else:
            es, ec = _neumaier(ns, nc, cash[p, 0])
        out[p, EQUITY] = es + ec


@jit
def revalue_book(offsets, instrument, quantity, avg_price, price, multiplier, instrument_currency, fx,
                 cash_offsets, cash_currency, cash_amounts, is_margin, out):
    """:func:`value_book` with the unit scale and the cash in base currency worked out first, in one call.

    The latency path (one portfolio revalued as prices tick): one dispatch
    instead of four. Arguments as for :func:`value_book` and
    :func:`cash_in_base`, with ``unit_scale = multiplier *
    fx[instrument_currency]`` (``multiplier``, ``instrument_currency``:
    per instrument).
    """
    scale = np.empty(multiplier.shape[0])
    for i in range(multiplier.shape[0]):
        scale[i] = multiplier[i] * fx[instrument_currency[i]]
    cash = np.empty((offsets.shape[0] - 1, 2))
    cash_in_base(cash_offsets, cash_currency, cash_amounts, fx, cash)
    value_book(offsets, instrument, quantity, avg_price, price, scale, cash, is_margin, out)


@jit
def position_values(instrument, quantity, avg_price, price, unit_scale, out):
    """Per-position notional, cost basis and unrealized PnL in base currency.

    ``out`` is float64[n_positions, 3]: notional (``q * price * multiplier * fx``),
    cost basis (``q * avg_price * multiplier * fx``) and unrealized PnL
    (``q * (price - avg_price) * multiplier * fx``).
    """
    for k in range(instrument.shape[0]):
        i = instrument[k]
        q = quantity[k]
        out[k, 0] = q * price[i] * unit_scale[i]
        out[k, 1] = q * avg_price[k] * unit_scale[i]
        out[k, 2] = q * (price[i] - avg_price[k]) * unit_scale[i]


@jit
def group_exposures(offsets, instrument, quantity, avg_price, price, unit_scale, group, n_groups):
    """Long and short exposure per (portfolio, group) pair that holds a position.

    Parameters
    ----------
    offsets, instrument, quantity, avg_price, price, unit_scale
        As in :func:`value_book`.
    group : int32[n_instruments]
        Group code of each instrument, in ``[0, n_groups)``.
    n_groups : int

    Returns
    -------
    out_offsets : int64[n_portfolios + 1]
        Output rows of portfolio ``p`` are ``out_offsets[p]:out_offsets[p + 1]``,
        in ascending group code.
    out_group : int32[n_out]
    out_values : float64[n_out, 3]
        Long exposure, short exposure (<= 0) and position count (non-zero quantity).
    totals : float64[n_portfolios, 2]
        Per portfolio: net market value and unrealized PnL (for equity without
        a second pass).
    """
    n_p = offsets.shape[0] - 1
    n_out = exposure_rows_bound(offsets, n_groups)
    out_offsets = np.zeros(n_p + 1, np.int64)
    out_group = np.empty(n_out, np.int32)
    out_values = np.empty((n_out, 3))
    totals = np.zeros((n_p, 2))
    r = group_exposures_into(offsets, instrument, quantity, avg_price, price, unit_scale, group, n_groups,
                             out_offsets, out_group, out_values, totals)
    if r == n_out:  # every portfolio holds every group it can: no trimming copy
        return out_offsets, out_group, out_values, totals
    return out_offsets, out_group[:r].copy(), out_values[:r].copy(), totals


@jit
def exposure_rows_bound(offsets, n_groups):
    """Room :func:`group_exposures` needs: a portfolio has at most min(its positions, n_groups) rows."""
    n_out = 0
    for p in range(offsets.shape[0] - 1):
        n_out += min(offsets[p + 1] - offsets[p], n_groups)
    return n_out


@jit
def group_exposures_into(offsets, instrument, quantity, avg_price, price, unit_scale, group, n_groups,
                         out_offsets, out_group, out_values, totals):
    """:func:`group_exposures` into arrays given by the caller; returns the number of rows written.

    ``out_group`` and ``out_values`` need :func:`exposure_rows_bound` rows;
    ``out_offsets`` (n_portfolios + 1) and ``totals`` (n_portfolios, 2) are
    written whole.
    """
    n_p = offsets.shape[0] - 1
    mark = np.full(n_groups, -1, np.int64)
    acc = np.zeros((n_groups, 5))  # long sum, long comp, short sum, short comp, count
    touched = np.empty(n_groups, np.int32)
    out_offsets[0] = 0
    r = 0
    for p in range(n_p):
        m = 0
        us = 0.0
        uc = 0.0
        for k in range(offsets[p], offsets[p + 1]):
            i = instrument[k]
            g = group[i]
            if mark[g] != p:
                mark[g] = p
                touched[m] = g
                m += 1
                for j in range(5):
                    acc[g, j] = 0.0
            q = quantity[k]
            px = price[i]
            scale = unit_scale[i]
            mv = q * px * scale
            us, uc = _neumaier(us, uc, q * (px - avg_price[k]) * scale)
            acc[g, 0], acc[g, 1] = _neumaier(acc[g, 0], acc[g, 1], max(mv, 0.0))
            acc[g, 2], acc[g, 3] = _neumaier(acc[g, 2], acc[g, 3], min(mv, 0.0))
            acc[g, 4] += q != 0.0
        if n_groups <= 4 * m + 32:  # few groups: scan them in order
            for g in range(n_groups):
                if mark[g] == p:
                    out_group[r] = g
                    r += 1
        else:  # many groups (e.g. by instrument): sort the touched ones
            seg = np.sort(touched[:m])
            for j in range(m):
                out_group[r + j] = seg[j]
            r += m
        ns = 0.0
        nc = 0.0
        for j in range(out_offsets[p], r):
            g = out_group[j]
            out_values[j, 0] = acc[g, 0] + acc[g, 1]
            out_values[j, 1] = acc[g, 2] + acc[g, 3]
            out_values[j, 2] = acc[g, 4]
            ns, nc = _neumaier(ns, nc + acc[g, 1] + acc[g, 3], acc[g, 0])
            ns, nc = _neumaier(ns, nc, acc[g, 2])
        totals[p, 0] = ns + nc
        totals[p, 1] = us + uc
        out_offsets[p + 1] = r
    return r


@jit
def first_invalid(values, required):
    """Index of the first ``required`` entry of ``values`` that is not finite and > 0, else -1."""
    for k in range(values.shape[0]):
        if required[k]:
            v = values[k]
            if not (v > 0.0 and v < np.inf):
                return k
    return -1
