"""Margin kernels over a book laid out by account (CSR): tiers, liquidation prices, close plans.

Conventions shared by the kernels (the public layer in :mod:`pmcore.margin`
builds these arrays and validates them first):

* ``pos``: a tuple of five arrays over the positions: quantity (float64,
  signed), entry price (float64, average cost per unit), leverage (float64),
  isolated (bool; False: cross) and the margin set aside for an isolated
  position (float64, base currency; NaN: the entry notional / leverage). Any
  of them may be a broadcast (stride-0) view of one value.
* ``market``: float64[n_instruments, 2] with columns mark price (instrument
  currency) and unit scale (multiplier x fx rate to base currency).
* ``br_offsets``: int64[n_instruments + 1]; the tiers of instrument ``i`` are
  rows ``br_offsets[i]:br_offsets[i + 1]`` of ``br``, float64[n_tiers, 5] with
  columns notional floor (base currency, increasing, the first is 0),
  maintenance margin rate, maintenance amount, ``1 / (rate - 1)`` and
  ``1 / (rate + 1)`` (see :func:`tier_table`). Instruments may be padded
  to the same number of tiers with copies of their last tier at floor +inf
  (the loops then run a fixed count). An instrument without tiers
  uses the flat rate ``default_fraction / leverage`` (a fraction of initial
  margin) and no maintenance amount.
* ``table``: float64[n_instruments, 3 + 5 W], the ``market`` and tiers of each
  instrument in one contiguous row (see :func:`instrument_table`), what
  :func:`margin_state` reads.
* ``account``: float64[n_accounts, 2] with columns wallet balance (cash in base
  currency) and account leverage for buying power (NaN: the highest leverage
  of the account's positions, 1 without positions).
"""

from __future__ import annotations

import types

import numba
import numpy as np

from ._jit import jit

# columns of the per-position output of ``margin_state``
NOTIONAL, INITIAL, MAINT, RATE, AMOUNT, UPNL, POS_MARGIN, LIQ, DIST = range(9)
N_POS_FIELDS = 9
# columns of the per-account output of ``margin_state``
(WALLET, A_UPNL, EQUITY, GROSS, USED, FREE, LEVEL, A_MAINT, RATIO, EXCESS, BUYING,
 ISOLATED) = range(12)
N_ACC_FIELDS = 12


@jit
def tier_of(br, lo, hi, notional):
    """Row in ``lo:hi`` of ``br`` of the last tier whose floor is <= ``notional`` (``lo`` if none).

    Branch-free: counts the floors above the first that are <= ``notional``
    (floors increase, so the count is the tier).
    """
    t = lo
    for j in range(lo + 1, hi):
        t += br[j, 0] <= notional
    return t


@jit
def maintenance(br_offsets, br, i, notional, leverage, default_fraction):
    """(rate, amount) of instrument ``i`` at ``notional``; the flat default without tiers."""
    lo = br_offsets[i]
    hi = br_offsets[i + 1]
    if lo == hi:
        return default_fraction / leverage, 0.0
    t = tier_of(br, lo, hi, notional)
    return br[t, 1], br[t, 2]


@jit
def tier_table(floor, rate, amount):
    """The ``br`` layout: floor, rate, amount, ``1 / (rate - 1)``, ``1 / (rate + 1)`` per tier."""
    n = floor.shape[0]
    out = np.empty((n, 5))
    for t in range(n):
        out[t, 0] = floor[t]
        out[t, 1] = rate[t]
        out[t, 2] = amount[t]
        out[t, 3] = 1.0 / (rate[t] - 1.0)
        out[t, 4] = 1.0 / (rate[t] + 1.0)
    return out


@jit
def liquidation_price(c, side, size, entry, br_offsets, br, i, leverage, default_fraction):
    """Price at which ``c + PnL`` equals the maintenance margin, for one position.

    ``c`` is the margin that backs the position (isolated margin, or the cross
    wallet balance less the other positions' maintenance margin plus their
    unrealized PnL), ``side`` is +1 or -1, ``size`` is ``|q| * multiplier * fx``.
    In tier :math:`t` the exchange's formula gives the root
    ``(c + amount_t - side * size * entry) / (size * (rate_t - side))``; the
    liquidation price is the root whose notional falls in its own tier (the
    exchange: substitute the tier of the liquidation notional and recompute).
    The maintenance margin being continuous and convex in the notional (the
    maximum of its tier lines, as the amounts make it), that root is the
    largest one over the tiers for a long and the smallest for a short: one
    pass over the tiers, no iteration. A long that no positive price
    liquidates gets 0. (:func:`margin_state` does the same inline.)
    """
    lo = br_offsets[i]
    hi = br_offsets[i + 1]
    base = c - side * size * entry
    if lo == hi:
        return max(base / (size * (default_fraction / leverage - side)), 0.0)
    # notional at the root of tier t: (base + amount_t) / (rate_t - side); the
    # long's largest root and the short's smallest are the largest side * root
    col = 3 if side > 0.0 else 4
    best = side * (base + br[lo, 2]) * br[lo, col]
    for t in range(lo + 1, hi):
        best = max(best, side * (base + br[t, 2]) * br[t, col])
    return max(side * best / size, 0.0)


@jit
def first_outside(values, lo, hi, nan_ok):
    """Index of the first value not in ``[lo, hi]`` (NaN counts as outside unless ``nan_ok``), or -1.

    One pass without temporaries or branches (it vectorizes), then a search only
    when something is out of range: the public layer's range checks of
    per-position options (a million leverages cost a few boolean arrays otherwise).
    """
    n_bad = 0
    for k in range(values.shape[0]):
        v = values[k]
        n_bad += 1 - np.int64(((lo <= v) & (v <= hi)) | ((v != v) & nan_ok))
    if n_bad == 0:
        return -1
    for k in range(values.shape[0]):
        v = values[k]
        if not (((lo <= v) & (v <= hi)) | ((v != v) & nan_ok)):
            return k
    return -1


@jit
def instrument_table(market, br_offsets, br):
    """The per-instrument ``table`` of :func:`margin_state`: mark, scale and the tiers in one row.

    Row ``i`` holds mark price, unit scale, 1.0 if the instrument has tiers
    (0.0: the flat default rate), then ``W`` floors, ``W`` rates, ``W``
    amounts, ``W`` values of ``1 / (rate - 1)`` and ``W`` of ``1 / (rate + 1)``,
    ``W`` being the largest tier count (at least 1). Shorter instruments are
    padded with copies of their last tier at floor +inf, which change no
    result; an instrument without tiers gets floors ``0, +inf, ...`` and zeros.
    Built once per call (``n_instruments x (3 + 5 W)`` values), it puts all
    that a position needs in one contiguous row.
    """
    n_i = market.shape[0]
    w = 1
    for i in range(n_i):
        w = max(w, br_offsets[i + 1] - br_offsets[i])
    out = np.zeros((n_i, 3 + 5 * w))
    for i in range(n_i):
        out[i, 0] = market[i, 0]
        out[i, 1] = market[i, 1]
        lo = br_offsets[i]
        hi = br_offsets[i + 1]
        out[i, 2] = 1.0 if hi > lo else 0.0
        for j in range(w):
            if hi == lo:  # no tiers: floors 0, +inf, ... and zeros
                out[i, 3 + j] = 0.0 if j == 0 else np.inf
                continue
            t = min(lo + j, hi - 1)
            out[i, 3 + j] = br[t, 0] if lo + j < hi else np.inf
            for c in range(1, 5):
                out[i, 3 + c * w + j] = br[t, c]
    return out


def _margin_state(offsets, instrument, pos, table, account, default_fraction, out_pos, out_acc):
    """Margin of every position and account, with isolated and cross liquidation prices.

    Parameters
    ----------
    offsets : int64[n_accounts + 1]
        Positions of account ``p`` are rows ``offsets[p]:offsets[p + 1]``.
    instrument : int32[n_positions]
    pos, account
        As described in the module docstring.
    table : float64[n_instruments, 3 + 5 W]
        Mark, scale and tiers of each instrument, from :func:`instrument_table`.
    default_fraction : float
        Maintenance margin as a fraction of initial margin where an instrument
        has no tiers (0.5 for 50 %).
    out_pos : float64[n_positions, N_POS_FIELDS]
        Receives notional (absolute, base currency), initial margin,
        maintenance margin, maintenance rate, maintenance amount, unrealized
        PnL, position margin (isolated margin, or initial margin for a cross
        position), liquidation price and distance to liquidation (fraction
        of the mark price, > 0 while the position is safe).
    out_acc : float64[n_accounts, N_ACC_FIELDS]
        Receives wallet balance, unrealized PnL, equity, gross notional, margin
        used, free margin, margin level (percent), maintenance margin, margin
        ratio, excess liquidity, buying power and the isolated margin total.

    Notes
    -----
    Indices are unsigned (no negative-index wrap-around code) and the choices
    between isolated and cross are selects, not branches; the tier lookup and
    the liquidation price (see :func:`liquidation_price`) are written out.
    """
    quantity, entry, leverage, isolated, margin = pos
    w = np.uint64((table.shape[1] - 3) // 5)
    floor0 = np.uint64(3)
    rate0 = floor0 + w
    amount0 = rate0 + w
    long0 = amount0 + w
    short0 = long0 + w
    n_p = offsets.shape[0] - 1
    for p in numba.prange(n_p):
        upnl = 0.0
        gross = 0.0
        used = 0.0
        maint = 0.0
        iso = 0.0
        cross_maint = 0.0
        cross_upnl = 0.0
        top = 0.0
        lo = np.uint64(offsets[p])
        hi = np.uint64(offsets[p + 1])
        for k in range(lo, hi):
            row = table[np.uint64(instrument[k])]
            q = quantity[k]
            lev = leverage[k]
            e = entry[k]
            top = max(top, lev)
            px = row[0]
            u = row[1]
            notional = abs(q) * px * u
            t = np.uint64(0)
            for j in range(np.uint64(1), w):
                t += np.uint64(row[floor0 + j] <= notional)
            flat = default_fraction / lev  # computed for every position: a select, not a branch
            rate = row[rate0 + t] if row[2] != 0.0 else flat
            amount = row[amount0 + t]
            mm = notional * rate - amount if q != 0.0 else 0.0
            im = notional / lev
            pnl = q * (px - e) * u
            out_pos[k, NOTIONAL] = notional
            out_pos[k, INITIAL] = im
            out_pos[k, MAINT] = mm
            out_pos[k, RATE] = rate
            out_pos[k, AMOUNT] = amount
            out_pos[k, UPNL] = pnl
            upnl += pnl
            gross += notional
            used += im
            maint += mm
            is_iso = isolated[k]
            m = margin[k]
            at_entry = abs(q) * e * u / lev
            m = m if m == m else at_entry
            m = m if is_iso else 0.0
            iso += m
            cross_maint += 0.0 if is_iso else mm
            cross_upnl += 0.0 if is_iso else pnl
            out_pos[k, POS_MARGIN] = m if is_iso else im
        wallet = account[p, 0]
        cross_wallet = wallet - iso
        for k in range(lo, hi):
            q = quantity[k]
            row = table[np.uint64(instrument[k])]
            px = row[0]
            side = 1.0 if q > 0.0 else -1.0
            c_iso = out_pos[k, POS_MARGIN]
            c_cross = (cross_wallet - (cross_maint - out_pos[k, MAINT])
                       + (cross_upnl - out_pos[k, UPNL]))
            c = c_iso if isolated[k] else c_cross
            # = liquidation_price(c, side, size, entry[k], ...) over this row's tiers
            size = abs(q) * row[1]
            base = c - side * size * entry[k]
            col = long0 if side > 0.0 else short0
            best = side * (base + row[amount0]) * row[col]
            for t in range(np.uint64(1), w):
                best = max(best, side * (base + row[amount0 + t]) * row[col + t])
            # without tiers: base / (size * (rate - side)), the rate being the flat one
            tiered = row[2] != 0.0
            num = side * best if tiered else base
            den = size if tiered else size * (out_pos[k, RATE] - side)
            lp = max(num / den, 0.0)
            lp = lp if q != 0.0 else np.nan
            out_pos[k, LIQ] = lp
            out_pos[k, DIST] = side * (px - lp) / px
        equity = wallet + upnl
        free = equity - used
        out_acc[p, WALLET] = wallet
        out_acc[p, A_UPNL] = upnl
        out_acc[p, EQUITY] = equity
        out_acc[p, GROSS] = gross
        out_acc[p, USED] = used
        out_acc[p, FREE] = free
        out_acc[p, LEVEL] = 100.0 * equity / used if used > 0.0 else np.inf
        out_acc[p, A_MAINT] = maint
        if maint > 0.0:
            out_acc[p, RATIO] = maint / equity if equity > 0.0 else np.inf
        else:
            out_acc[p, RATIO] = 0.0
        out_acc[p, EXCESS] = equity - maint
        acct_lev = account[p, 1]
        if acct_lev != acct_lev:
            acct_lev = top if top > 0.0 else 1.0
        out_acc[p, BUYING] = max(free, 0.0) * acct_lev
        out_acc[p, ISOLATED] = iso


def _renamed(func, name, doc):
    """A copy of ``func`` under another name (its own on-disk cache entry)."""
    twin = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__, func.__closure__)
    twin.__qualname__ = name
    twin.__doc__ = doc
    return twin


margin_state = jit(_renamed(_margin_state, "margin_state", _margin_state.__doc__))
margin_state_parallel = jit(_renamed(
    _margin_state, "margin_state_parallel",
    "``margin_state`` with the accounts split over threads (for large books; same arguments)."),
    parallel=True)

#: positions above which the public layer calls :func:`margin_state_parallel`
PARALLEL_POSITIONS = 200_000


@jit
def close_plan(offsets, upnl, initial, equity, used, target_pct, flagged, out_rank, out_level):
    """Positions to close, most losing first, until the margin level reaches ``target_pct``.

    Closing a position realizes its PnL (equity is unchanged) and releases its
    initial margin, so after closing the set :math:`S` the level is
    ``100 * equity / (used - sum_S initial)``.

    Parameters
    ----------
    offsets : int64[n_accounts + 1]
    upnl, initial : float64[n_positions]
        Unrealized PnL and initial margin of each position.
    equity, used : float64[n_accounts]
    target_pct : float
        Margin level (percent) to get back to.
    flagged : bool[n_accounts]
        Accounts to plan for; the others are left alone.
    out_rank : int64[n_positions]
        Receives 1, 2, ... for the positions to close in order, 0 otherwise.
    out_level : float64[n_accounts]
        Receives the margin level after the plan (the current level where no
        position is closed).
    """
    n_p = offsets.shape[0] - 1
    for p in range(n_p):
        lo = offsets[p]
        hi = offsets[p + 1]
        for k in range(lo, hi):
            out_rank[k] = 0
        remaining = used[p]
        level = 100.0 * equity[p] / remaining if remaining > 0.0 else np.inf
        if flagged[p] and hi > lo:
            order = np.argsort(upnl[lo:hi], kind="mergesort")
            r = 0
            closed = 0
            while level < target_pct and r < hi - lo:
                k = lo + order[r]
                r += 1
                if initial[k] <= 0.0:
                    continue
                closed += 1
                out_rank[k] = closed
                remaining -= initial[k]
                if remaining > 1e-9 * used[p]:
                    level = 100.0 * equity[p] / remaining
                else:
                    remaining = 0.0
                    level = np.inf if equity[p] > 0.0 else -np.inf
        out_level[p] = level
