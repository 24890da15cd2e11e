"""Plain numpy/Python references of the margin kernels (written independently of them).

The liquidation price here follows the exchange's procedure literally: take the
tier of the current notional, compute the price, and if the notional at that
price falls in another tier, substitute that tier's rate and amount and
recompute (Binance FAQ, "How to Calculate Liquidation Price of USDⓈ-M Futures
Contracts", note on maintenance margin rate).
"""

from __future__ import annotations

import numpy as np


def tiers(br_offsets, br, i):
    lo, hi = br_offsets[i], br_offsets[i + 1]
    return br[lo:hi]


def rate_amount(tab, notional, lev, default_fraction):
    if len(tab) == 0:
        return default_fraction / lev, 0.0
    t = int(np.searchsorted(tab[:, 0], notional, side="right")) - 1
    t = max(t, 0)
    return tab[t, 1], tab[t, 2]


def liq_price(c, side, size, entry, tab, lev, default_fraction, notional_now):
    rate, amount = rate_amount(tab, notional_now, lev, default_fraction)
    seen = set()
    for _ in range(64):
        lp = (c + amount - side * size * entry) / (size * (rate - side))
        if len(tab) == 0:
            break
        new = rate_amount(tab, max(lp, 0.0) * size, lev, default_fraction)
        if new == (rate, amount) or new in seen:
            break
        seen.add((rate, amount))
        rate, amount = new
    return max(lp, 0.0)


def margin_state_ref(offsets, instrument, pos, market, br_offsets, br, account, default_fraction):
    """Per-position and per-account outputs as in ``kernels.margin.margin_state``."""
    pos = np.column_stack([np.asarray(a, float) for a in pos])
    n = len(instrument)
    n_p = len(offsets) - 1
    out_pos = np.zeros((n, 9))
    out_acc = np.zeros((n_p, 12))
    for p in range(n_p):
        rows = range(offsets[p], offsets[p + 1])
        margin = {}
        for k in rows:
            i = instrument[k]
            q, entry, lev, isolated, given = pos[k]
            px, u = market[i]
            notional = abs(q) * px * u
            rate, amount = rate_amount(tiers(br_offsets, br, i), notional, lev, default_fraction)
            mm = notional * rate - amount if q != 0 else 0.0
            if isolated:
                margin[k] = given if not np.isnan(given) else abs(q) * entry * u / lev
            out_pos[k, :7] = [notional, notional / lev, mm, rate, amount, q * (px - entry) * u,
                              margin.get(k, notional / lev)]
        rows = list(rows)
        cross = [k for k in rows if not pos[k, 3]]
        iso_total = sum(margin.values())
        wallet = account[p, 0]
        for k in rows:
            q = pos[k, 0]
            if q == 0:
                out_pos[k, 7:] = np.nan
                continue
            i = instrument[k]
            px, u = market[i]
            side = 1.0 if q > 0 else -1.0
            if not pos[k, 3]:
                others = [j for j in cross if j != k]
                c = (wallet - iso_total - sum(out_pos[j, 2] for j in others)
                     + sum(out_pos[j, 5] for j in others))
            else:
                c = margin[k]
            lp = liq_price(c, side, abs(q) * u, pos[k, 1], tiers(br_offsets, br, i), pos[k, 2],
                           default_fraction, out_pos[k, 0])
            out_pos[k, 7] = lp
            out_pos[k, 8] = side * (px - lp) / px
        upnl = sum(out_pos[k, 5] for k in rows)
        used = sum(out_pos[k, 1] for k in rows)
        maint = sum(out_pos[k, 2] for k in rows)
        equity = wallet + upnl
        free = equity - used
        level = 100 * equity / used if used > 0 else np.inf
        ratio = (maint / equity if equity > 0 else np.inf) if maint > 0 else 0.0
        acct_lev = account[p, 1]
        if np.isnan(acct_lev):
            acct_lev = max((pos[k, 2] for k in rows), default=1.0)
        out_acc[p] = [wallet, upnl, equity, sum(out_pos[k, 0] for k in rows), used, free, level,
                      maint, ratio, equity - maint, max(free, 0.0) * acct_lev, iso_total]
    return out_pos, out_acc


def close_plan_ref(offsets, upnl, initial, equity, used, target, flagged):
    rank = np.zeros(len(upnl), np.int64)
    after = np.zeros(len(offsets) - 1)
    for p in range(len(offsets) - 1):
        lo, hi = offsets[p], offsets[p + 1]
        remaining = used[p]
        level = 100 * equity[p] / remaining if remaining > 0 else np.inf
        if flagged[p]:
            n = 0
            for k in sorted(range(lo, hi), key=lambda k: (upnl[k], k)):
                if level >= target:
                    break
                if initial[k] <= 0:
                    continue
                n += 1
                rank[k] = n
                remaining -= initial[k]
                if remaining > 1e-9 * used[p]:
                    level = 100 * equity[p] / remaining
                else:
                    level = np.inf if equity[p] > 0 else -np.inf
        after[p] = level
    return rank, after
