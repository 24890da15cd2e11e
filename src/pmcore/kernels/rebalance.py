"""Drift and trigger kernels over many accounts at once (CSR by account).

Current weights of account ``p`` are rows ``offsets[p]:offsets[p + 1]``;
its target weights are rows ``t_start[p]:t_end[p]`` of the target arrays (so
one model portfolio can serve every account without being copied). Keys are
integer codes ``0 .. n_keys - 1`` (instruments or groups). Current rows that
repeat a key within an account are summed (aggregation to a grouping column);
target keys are unique within an account (the caller checks).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# columns of the per-account summary returned by ``drift_accounts``
MAX_ABS, TOTAL_ABS, ARGMAX = range(3)
N_SUMMARY = 3


@jit
def merge_targets(offsets, code, value, t_start, t_end, t_code, t_weight, n_keys):
    """Merge each account's current rows with its target rows (one output row per key).

    Parameters
    ----------
    offsets : int64[n_accounts + 1]
        Current rows of account ``p`` are ``offsets[p]:offsets[p + 1]``.
    code : int32[n_rows]
        Key code of each current row (repeats within an account are summed).
    value : float64[n_rows]
        Current weight (or quantity) of each row.
    t_start, t_end : int64[n_accounts]
        Target rows of account ``p`` are ``t_start[p]:t_end[p]``.
    t_code : int32[n_target_rows]
        Key code of each target row (unique within an account).
    t_weight : float64[n_target_rows]
    n_keys : int

    Returns
    -------
    out_offsets : int64[n_accounts + 1]
        Output rows of account ``p``: keys held first (in order of first
        appearance), then keys only in the target.
    out_code : int32[n_out]
    current, target : float64[n_out]
        Summed current value and target weight (0 where absent).
    """
    n_p = offsets.shape[0] - 1
    mark = np.full(n_keys, -1, np.int64)
    slot = np.zeros(n_keys, np.int64)
    out_offsets = np.zeros(n_p + 1, np.int64)
    for p in range(n_p):
        c = 0
        for k in range(offsets[p], offsets[p + 1]):
            i = code[k]
            if mark[i] != p:
                mark[i] = p
                c += 1
        for k in range(t_start[p], t_end[p]):
            if mark[t_code[k]] != p:
                c += 1
        out_offsets[p + 1] = out_offsets[p] + c
    n_out = out_offsets[n_p]
    out_code = np.empty(n_out, np.int32)
    current = np.zeros(n_out)
    target = np.zeros(n_out)
    mark[:] = -1
    for p in range(n_p):
        r = out_offsets[p]
        for k in range(offsets[p], offsets[p + 1]):
            i = code[k]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                r += 1
            current[slot[i]] += value[k]
        for k in range(t_start[p], t_end[p]):
            i = t_code[k]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                r += 1
            target[slot[i]] = t_weight[k]
    return out_offsets, out_code, current, target


@jit
def drift_rows(out_offsets, current, target):
    """Drift, relative drift and the per-account summary of merged rows.

    Returns
    -------
    drift, relative : float64[n_out]
        ``drift = current - target``; ``relative = drift / target`` (0 when
        both are 0, +-inf when only the target is 0).
    summary : float64[n_accounts, N_SUMMARY]
        Maximum absolute drift, total absolute drift, and the output row of
        the maximum (-1 for an account without rows). NaN weights give NaN.
    """
    n_p = out_offsets.shape[0] - 1
    n_out = current.shape[0]
    drift = np.empty(n_out)
    relative = np.empty(n_out)
    summary = np.zeros((n_p, N_SUMMARY))
    for p in range(n_p):
        mx = 0.0
        arg = -1
        tot = 0.0
        for j in range(out_offsets[p], out_offsets[p + 1]):
            d = current[j] - target[j]
            drift[j] = d
            if d == 0.0:
                relative[j] = 0.0
            elif target[j] == 0.0:
                relative[j] = np.inf if d > 0.0 else -np.inf
            else:
                relative[j] = d / target[j]
            a = abs(d)
            tot += a
            if arg < 0 or a > mx or a != a:
                mx = a
                arg = j
        summary[p, MAX_ABS] = mx
        summary[p, TOTAL_ABS] = tot
        summary[p, ARGMAX] = arg
    return drift, relative, summary


@jit
def drift_accounts(offsets, code, weight, t_start, t_end, t_code, t_weight, n_keys):
    """Merge current and target weights per account and compute their drift.

    Arguments as :func:`merge_targets` (``weight`` is the current weight).

    Returns
    -------
    out_offsets, out_code, current, target
        As :func:`merge_targets`.
    drift, relative, summary
        As :func:`drift_rows`.
    """
    out_offsets, out_code, current, target = merge_targets(offsets, code, weight, t_start, t_end, t_code,
                                                           t_weight, n_keys)
    drift, relative, summary = drift_rows(out_offsets, current, target)
    return out_offsets, out_code, current, target, drift, relative, summary


@jit
def holdings_drift(offsets, code, quantity, price, t_start, t_end, t_code, t_weight, n_keys):
    """Drift of accounts given by quantities held (cash is a key with price 1).

    Arguments as :func:`merge_targets` with ``quantity`` per row and
    ``price[n_keys]`` per key.

    Returns
    -------
    out_offsets, out_code : as :func:`merge_targets`
    quantity_out, weight, target : float64[n_out]
        Quantity held, weight ``quantity * price / value`` (NaN when the
        value is not positive) and target weight.
    value : float64[n_accounts]
        ``sum(quantity * price)`` (cash included).
    drift, relative, summary : as :func:`drift_rows`
    """
    out_offsets, out_code, qty, target = merge_targets(offsets, code, quantity, t_start, t_end, t_code,
                                                       t_weight, n_keys)
    n_p = out_offsets.shape[0] - 1
    value = np.zeros(n_p)
    weight = np.empty(qty.shape[0])
    for p in range(n_p):
        v = 0.0
        for j in range(out_offsets[p], out_offsets[p + 1]):
            v += qty[j] * price[out_code[j]]
        value[p] = v
        inv = 1.0 / v if v > 0.0 else np.nan
        for j in range(out_offsets[p], out_offsets[p + 1]):
            weight[j] = qty[j] * price[out_code[j]] * inv
    drift, relative, summary = drift_rows(out_offsets, weight, target)
    return out_offsets, out_code, qty, weight, target, value, drift, relative, summary


@jit
def drift_tracking_error(out_offsets, out_code, drift, cov_index, cov):
    """Ex-ante tracking error ``sqrt(d' Sigma d)`` of each account's drift.

    Parameters
    ----------
    out_offsets, out_code, drift
        As returned by :func:`drift_accounts`.
    cov_index : int64[n_keys]
        Row of each key in ``cov``.
    cov : float64[n, n]
        Covariance of the keys' returns (per period).

    Returns
    -------
    float64[n_accounts]
    """
    n_p = out_offsets.shape[0] - 1
    out = np.empty(n_p)
    for p in range(n_p):
        s = 0.0
        for a in range(out_offsets[p], out_offsets[p + 1]):
            da = drift[a]
            if da == 0.0:
                continue
            ia = cov_index[out_code[a]]
            inner = 0.0
            for b in range(out_offsets[p], out_offsets[p + 1]):
                inner += cov[ia, cov_index[out_code[b]]] * drift[b]
            s += da * inner
        out[p] = np.sqrt(max(s, 0.0))
    return out


@jit
def breaches(out_offsets, drift, target, threshold, relative_band):
    """Find, per account, the asset that is furthest outside its tolerance band.

    The band half-width of an asset is ``threshold`` (absolute) and, when
    ``relative_band`` is finite, at most ``relative_band * |target|`` (the
    "5/25" rule: 5 percentage points or 25 % of the target, whichever is
    tighter): an asset breaches when ``|drift| > band``. Either may be ``inf``
    (turned off).

    Parameters
    ----------
    out_offsets, drift, target
        As returned by :func:`drift_accounts`.
    threshold, relative_band : float
        Absolute band and relative band (``inf`` turns one off).

    Returns
    -------
    worst : int64[n_accounts]
        Output row of the asset with the largest ``|drift| / band`` (ties: the
        largest ``|drift|``, then the first row; -1 when the account has no rows).
    band : float64[n_accounts]
        Band half-width of the worst asset.
    ratio : float64[n_accounts]
        ``|drift| / band`` of the worst asset (0 without drift, inf for a
        drift outside a zero-width band); the account breaches when > 1.
    """
    n_p = out_offsets.shape[0] - 1
    worst = np.full(n_p, -1, np.int64)
    band = np.full(n_p, np.nan)
    ratio = np.zeros(n_p)
    for p in range(n_p):
        best = -1.0
        best_abs = -1.0
        for j in range(out_offsets[p], out_offsets[p + 1]):
            b = threshold
            if relative_band < np.inf:
                b = min(b, relative_band * abs(target[j]))
            a = abs(drift[j])
            if a == 0.0:
                q = 0.0
            elif b == 0.0:
                q = np.inf
            else:
                q = a / b
            if q > best or (q == best and a > best_abs):
                best = q
                best_abs = a
                worst[p] = j
                band[p] = b
        ratio[p] = max(best, 0.0)
    return worst, band, ratio


# columns of the per-instrument cost parameters (see pmcore.rebalance.costs)
PER_SHARE, RATE, MIN_FEE, HALF_SPREAD, VOLATILITY, ADV, IMPACT = range(7)
N_COST = 7


@jit
def trade_cost(quantity, price, params):
    """Estimated cost of trading ``quantity`` units at ``price`` (one row of cost parameters).

    ``params`` holds per-share commission, commission rate (fraction of
    notional), minimum commission, half spread (fraction of price), daily
    volatility, average daily volume (units) and the impact coefficient.

    Returns
    -------
    commission, spread, impact : float
        ``max(min, per_share |q| + rate N)``, ``half_spread N`` and
        ``c sigma sqrt(|q| / ADV) N`` with ``N = |q| price`` (0 for ``q = 0``;
        no impact term when volatility or ADV is NaN or 0).
    """
    q = abs(quantity)
    if q == 0.0:
        return 0.0, 0.0, 0.0
    notional = q * price
    commission = max(params[MIN_FEE], params[PER_SHARE] * q + params[RATE] * notional)
    spread = params[HALF_SPREAD] * notional
    impact = 0.0
    vol = params[VOLATILITY]
    adv = params[ADV]
    if vol == vol and adv == adv and adv > 0.0 and params[IMPACT] != 0.0:
        impact = params[IMPACT] * vol * np.sqrt(q / adv) * notional
    return commission, spread, impact


@jit
def trade_costs(quantity, price, code, params):
    """:func:`trade_cost` of many trades: float64[n, 3] (commission, spread, impact)."""
    n = quantity.shape[0]
    out = np.empty((n, 3))
    for k in range(n):
        c, s, m = trade_cost(quantity[k], price[k], params[code[k]])
        out[k, 0] = c
        out[k, 1] = s
        out[k, 2] = m
    return out


# plan_trades: settings, per-row reasons, per-account statuses and fields
MODE, THETA, RHO, RESERVE, MAX_LEV, RISK_AVERSION = range(6)
N_SETTINGS = 6
R_NONE, R_TARGET, R_BAND, R_CLOSE, R_TRIMMED, R_MIN_NOTIONAL, R_LOT = range(7)
S_TRADED, S_NOTHING, S_INACTIVE, S_NOT_WORTH, S_NO_EQUITY, S_BELOW_MIN = range(6)
(A_STATUS, A_CASH_BEFORE, A_CASH_AFTER, A_LEV_BEFORE, A_LEV_AFTER, A_COST, A_BENEFIT, A_TE_BEFORE,
 A_TE_AFTER, A_MAX_AFTER, A_TOTAL_AFTER, A_BUY_SCALE, A_TURNOVER) = range(13)
N_ACC = 13


@jit
def _round_buy(delta, lot):
    if lot > 0.0:
        return np.floor(delta / lot + 1e-9) * lot
    return delta


@jit
def _te(lo, hi, code, weight, target, cov_index, cov):
    s = 0.0
    for a in range(lo, hi):
        ia = cov_index[code[a]]
        da = weight[a] - target[a]
        if ia < 0 or da == 0.0:
            continue
        inner = 0.0
        for b in range(lo, hi):
            ib = cov_index[code[b]]
            if ib >= 0:
                inner += cov[ia, ib] * (weight[b] - target[b])
        s += da * inner
    return np.sqrt(max(s, 0.0))


@jit
def plan_trades(out_offsets, out_code, quantity, target, price, cash_code, active, inst, cost_params,
                settings, cov_index, cov):
    """Trade lists of many accounts: to target or to the band edge, within cash and leverage limits.

    Parameters
    ----------
    out_offsets, out_code, quantity, target
        Merged rows of :func:`holdings_drift`; the row with key ``cash_code``
        holds the account's cash (price 1).
    price : float64[n_keys]
    active : bool[n_accounts]
        Accounts to plan (the others get status ``S_INACTIVE``).
    inst : float64[n_keys, 2]
        Lot size (0: any quantity) and minimum notional of each key.
    cost_params : float64[n_keys, N_COST]
        See :func:`trade_cost`.
    settings : float64[N_SETTINGS]
        Mode (0 to target, 1 to the band edge), absolute band, relative band,
        cash reserve (fraction of value), maximum gross leverage, risk aversion.
    cov_index : int64[n_keys], cov : float64[m, m]
        Covariance row of each key (-1: none, e.g. cash); an empty ``cov``
        turns the cost-benefit test off.

    Returns
    -------
    trade : float64[n_out]
        Signed quantity to trade per row (0: none).
    reason : int8[n_out]
        ``R_*`` code per row.
    cost : float64[n_out, 3]
        Commission, spread, impact per row.
    wave : int8[n_out]
        1: send now; 2: send after the sells have settled (cash is short).
    account : float64[n_accounts, N_ACC]
        ``A_*`` fields per account.
    """
    n_p = out_offsets.shape[0] - 1
    n_out = quantity.shape[0]
    trade = np.zeros(n_out)
    reason = np.zeros(n_out, np.int8)
    cost = np.zeros((n_out, 3))
    wave = np.zeros(n_out, np.int8)
    account = np.full((n_p, N_ACC), np.nan)
    desired = np.zeros(n_out)
    after_w = np.zeros(n_out)
    mode = settings[MODE]
    theta = settings[THETA]
    rho = settings[RHO]
    reserve = settings[RESERVE]
    lev_cap = settings[MAX_LEV]
    use_cb = cov.shape[0] > 0
    for p in range(n_p):
        lo = out_offsets[p]
        hi = out_offsets[p + 1]
        value = 0.0
        cash = 0.0
        gross = 0.0
        tsum = 0.0
        for j in range(lo, hi):
            c = out_code[j]
            value += quantity[j] * price[c]
            if c == cash_code:
                cash += quantity[j]
            else:
                tsum += target[j]
                gross += abs(quantity[j]) * price[c]
        account[p, A_CASH_BEFORE] = cash
        account[p, A_LEV_BEFORE] = gross / value if value > 0.0 else np.inf
        if not active[p]:
            account[p, A_STATUS] = S_INACTIVE
            continue
        if not value > 0.0:
            account[p, A_STATUS] = S_NO_EQUITY
            continue
        c_star = max(1.0 - tsum, reserve)
        scale = (1.0 - c_star) / tsum if tsum > 0.0 else 0.0
        floor = c_star * value
        # desired trades, rounded to lots, minimum notional
        n_sell = 0
        n_buy = 0
        n_skip = 0
        for j in range(lo, hi):
            c = out_code[j]
            desired[j] = 0.0
            if c == cash_code:
                continue
            px = price[c]
            w = quantity[j] * px / value
            tt = target[j] * scale
            r = R_TARGET
            if mode == 0.0:
                wstar = tt
            else:
                b = theta
                if rho < np.inf:
                    b = min(b, rho * abs(tt))
                dev = w - tt
                if abs(dev) <= b:
                    continue
                wstar = tt + b if dev > 0.0 else tt - b
                r = R_BAND
            if wstar == 0.0:
                delta = -quantity[j]
                r = R_CLOSE
            else:
                delta = wstar * value / px - quantity[j]
                if delta == 0.0:
                    continue
                lot = inst[c, 0]
                if lot > 0.0:
                    if delta < 0.0:
                        delta = -np.ceil(-delta / lot - 1e-9) * lot
                        if quantity[j] > 0.0 and -delta > quantity[j]:
                            delta = -quantity[j]
                    else:
                        delta = _round_buy(delta, lot)
                    if delta == 0.0:
                        reason[j] = R_LOT
                        n_skip += 1
                        continue
            if delta == 0.0:
                continue
            if abs(delta) * px < inst[c, 1]:
                reason[j] = R_MIN_NOTIONAL
                n_skip += 1
                continue
            desired[j] = delta
            reason[j] = r
            if delta < 0.0:
                n_sell += 1
            else:
                n_buy += 1
        if n_sell + n_buy == 0:
            account[p, A_STATUS] = S_BELOW_MIN if n_skip > 0 else S_NOTHING
            account[p, A_CASH_AFTER] = cash
            account[p, A_LEV_AFTER] = account[p, A_LEV_BEFORE]
            account[p, A_COST] = 0.0
            continue
        # scale the buys until cash and leverage hold (sells go through as planned)
        s = 1.0
        for it in range(80):
            sells = 0.0
            buys = 0.0
            fee_sell = 0.0
            fee_buy = 0.0
            g_after = 0.0
            g_nobuy = 0.0
            for j in range(lo, hi):
                c = out_code[j]
                if c == cash_code:
                    continue
                d = desired[j]
                if d > 0.0 and s < 1.0:
                    d = _round_buy(d * s, inst[c, 0])
                    if abs(d) * price[c] < inst[c, 1]:
                        d = 0.0
                trade[j] = d
                cm, sp, im = trade_cost(d, price[c], cost_params[c])
                cost[j, 0] = cm
                cost[j, 1] = sp
                cost[j, 2] = im
                if d < 0.0:
                    sells -= d * price[c]
                    fee_sell += cm + sp + im
                    g_nobuy += abs(quantity[j] + d) * price[c]
                else:
                    buys += d * price[c]
                    fee_buy += cm + sp + im
                    g_nobuy += abs(quantity[j]) * price[c]
                g_after += abs(quantity[j] + d) * price[c]
            fees = fee_sell + fee_buy
            cash_after = cash + sells - buys - fees
            equity = value - fees
            tol = 1e-9 * value
            if buys == 0.0 or (cash_after >= floor - tol and g_after <= lev_cap * equity + tol):
                break
            if it == 78:
                s = 0.0  # last pass: sells only
            elif it == 0:
                # linear estimate from the full buys (costs grow at least linearly in s,
                # but for minimum commissions, which the passes that follow absorb)
                s_cash = (cash + sells - fee_sell - floor) / (buys + fee_buy)
                s_lev = (lev_cap * (value - fee_sell) - g_nobuy) / (buys + lev_cap * fee_buy)
                s = max(min(s_cash, s_lev, 0.999999), 0.0)
            else:
                s *= 0.97
        account[p, A_BUY_SCALE] = s
        for j in range(lo, hi):
            if trade[j] > 0.0 and s < 1.0:
                reason[j] = R_TRIMMED
            elif desired[j] > 0.0 and trade[j] == 0.0:
                reason[j] = R_TRIMMED
        # state after the trades, drift against the account's targets
        total_after = 0.0
        max_after = 0.0
        for j in range(lo, hi):
            c = out_code[j]
            if c == cash_code:
                after_w[j] = cash_after / equity
            else:
                after_w[j] = (quantity[j] + trade[j]) * price[c] / equity
            a = abs(after_w[j] - target[j])
            total_after += a
            max_after = max(max_after, a)
        te_b = np.nan
        te_a = np.nan
        benefit = np.nan
        if use_cb:
            for j in range(lo, hi):
                desired[j] = quantity[j] * price[out_code[j]] / value
            te_b = _te(lo, hi, out_code, desired, target, cov_index, cov)
            te_a = _te(lo, hi, out_code, after_w, target, cov_index, cov)
            benefit = 0.5 * settings[RISK_AVERSION] * (te_b * te_b - te_a * te_a) * value
        account[p, A_TE_BEFORE] = te_b
        account[p, A_TE_AFTER] = te_a
        account[p, A_BENEFIT] = benefit
        account[p, A_COST] = fees
        if use_cb and not benefit > fees:
            for j in range(lo, hi):
                trade[j] = 0.0
                cost[j, 0] = 0.0
                cost[j, 1] = 0.0
                cost[j, 2] = 0.0
                if reason[j] != R_NONE:
                    reason[j] = R_NONE
            account[p, A_STATUS] = S_NOT_WORTH
            account[p, A_CASH_AFTER] = cash
            account[p, A_LEV_AFTER] = account[p, A_LEV_BEFORE]
            continue
        account[p, A_STATUS] = S_TRADED
        account[p, A_CASH_AFTER] = cash_after
        account[p, A_LEV_AFTER] = g_after / equity
        account[p, A_MAX_AFTER] = max_after
        account[p, A_TOTAL_AFTER] = total_after
        account[p, A_TURNOVER] = (sells + buys) / (2.0 * value)
        short = cash - floor < buys + fees
        for j in range(lo, hi):
            if trade[j] < 0.0:
                wave[j] = 1
            elif trade[j] > 0.0:
                wave[j] = 2 if short else 1
    return trade, reason, cost, wave, account
