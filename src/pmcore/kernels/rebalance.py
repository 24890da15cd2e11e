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
def _count_rows(offsets, order, code, t_start, t_end, t_code, mark, extra_code):
    """Output rows per account (distinct keys held or targeted, plus ``extra_code`` if >= 0)."""
    n_p = offsets.shape[0] - 1
    has_order = order.shape[0] > 0
    out_offsets = np.zeros(n_p + 1, np.int64)
    dup = -1
    for p in range(n_p):
        c = 0
        for k in range(offsets[p], offsets[p + 1]):
            r = order[k] if has_order else k
            i = code[r]
            if mark[i] != p:
                mark[i] = p
                c += 1
            elif dup < 0 or r < dup:
                dup = r
        for k in range(t_start[p], t_end[p]):
            if mark[t_code[k]] != p:
                mark[t_code[k]] = p
                c += 1
        if extra_code >= 0 and mark[extra_code] != p:
            c += 1
        out_offsets[p + 1] = out_offsets[p] + c
    mark[:] = -1
    return out_offsets, dup


@jit
def merge_targets(offsets, order, code, value, t_start, t_end, t_code, t_weight, n_keys):
    """Merge each account's current rows with its target rows (one output row per key).

    Parameters
    ----------
    offsets : int64[n_accounts + 1]
        Current rows of account ``p`` are ``order[offsets[p]:offsets[p + 1]]``.
    order : int64[n_rows] or int64[0]
        Row numbers grouped by account; empty when the rows already are.
    code : int32[n_rows]
        Key code of each current row (repeats within an account are summed).
    value : float64[n_rows]
        Current weight of each row.
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
    dup : int
        First input row that repeats a key within its account, or -1.
    """
    n_p = offsets.shape[0] - 1
    has_order = order.shape[0] > 0
    mark = np.full(n_keys, -1, np.int64)
    slot = np.zeros(n_keys, np.int64)
    out_offsets, dup = _count_rows(offsets, order, code, t_start, t_end, t_code, mark, -1)
    n_out = out_offsets[n_p]
    out_code = np.empty(n_out, np.int32)
    current = np.zeros(n_out)
    target = np.zeros(n_out)
    for p in range(n_p):
        r = out_offsets[p]
        for k in range(offsets[p], offsets[p + 1]):
            row = order[k] if has_order else k
            i = code[row]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                r += 1
            current[slot[i]] += value[row]
        for k in range(t_start[p], t_end[p]):
            i = t_code[k]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                r += 1
            target[slot[i]] = t_weight[k]
    return out_offsets, out_code, current, target, dup


@jit
def _summarize(lo, hi, current, target, drift, summary, p):
    mx = 0.0
    arg = -1
    tot = 0.0
    for j in range(lo, hi):
        d = current[j] - target[j]
        drift[j] = d
        a = abs(d)
        tot += a
        if arg < 0 or a > mx or a != a:
            mx = a
            arg = j
    summary[p, MAX_ABS] = mx
    summary[p, TOTAL_ABS] = tot
    summary[p, ARGMAX] = arg


@jit
def drift_rows(out_offsets, current, target):
    """Drift of merged rows and the per-account summary.

    Returns
    -------
    drift : float64[n_out]
        ``current - target``.
    summary : float64[n_accounts, N_SUMMARY]
        Maximum absolute drift, total absolute drift, and the output row of
        the maximum (-1 for an account without rows). NaN weights give NaN.
    """
    n_p = out_offsets.shape[0] - 1
    drift = np.empty(current.shape[0])
    summary = np.zeros((n_p, N_SUMMARY))
    for p in range(n_p):
        _summarize(out_offsets[p], out_offsets[p + 1], current, target, drift, summary, p)
    return drift, summary


@jit
def drift_accounts(offsets, order, code, weight, t_start, t_end, t_code, t_weight, n_keys):
    """Merge current and target weights per account and compute their drift.

    Arguments as :func:`merge_targets` (``value`` is the current weight).

    Returns
    -------
    out_offsets, out_code, current, target, dup
        As :func:`merge_targets`.
    drift, summary
        As :func:`drift_rows`.
    """
    out_offsets, out_code, current, target, dup = merge_targets(offsets, order, code, weight, t_start, t_end,
                                                                t_code, t_weight, n_keys)
    drift, summary = drift_rows(out_offsets, current, target)
    return out_offsets, out_code, current, target, dup, drift, summary


# columns of the per-account figures returned by ``holdings_drift``
VALUE, CASH, GROSS, TARGET_GROSS = range(4)


@jit
def holdings_drift(offsets, order, code, quantity, cash, cash_code, price, t_start, t_end, t_code, t_weight,
                   n_keys):
    """Drift of accounts given by quantities held and cash, in one pass over the rows.

    Parameters
    ----------
    offsets, order, code, t_start, t_end, t_code, t_weight, n_keys
        As :func:`merge_targets`.
    quantity : float64[n_rows]
        Quantity held per row.
    cash : float64[n_accounts]
        Cash of each account; it becomes a row with key ``cash_code`` (price 1).
    price : float64[n_keys]

    Returns
    -------
    out_offsets, out_code : as :func:`merge_targets`
    quantity_out, target, drift : float64[n_out]
        Quantity held (cash amount on the cash row), target weight, and
        drift ``quantity * price * (1 / value) - target`` (NaN when the value
        is not positive).
    account : float64[n_accounts, 4]
        Value (cash included), cash, gross exposure ``sum |quantity| price``
        and the sum of the instruments' target weights.
    summary : as :func:`drift_rows`
    dup : int
        First input row that repeats an instrument within its account, or -1.

    Notes
    -----
    The outputs are allocated for the largest possible merge (rows + targets
    + a cash row per account) and written once, front to back; only the
    pages written are ever touched.
    """
    n_p = offsets.shape[0] - 1
    has_order = order.shape[0] > 0
    mark = np.full(n_keys, -1, np.int64)
    slot = np.zeros(n_keys, np.int64)
    bound = offsets[n_p] + n_p
    for p in range(n_p):
        bound += t_end[p] - t_start[p]
    out_offsets = np.zeros(n_p + 1, np.int64)
    out_code = np.empty(bound, np.int32)
    qty = np.empty(bound)
    target = np.empty(bound)
    drift = np.empty(bound)
    account = np.zeros((n_p, 4))
    summary = np.zeros((n_p, N_SUMMARY))
    dup = -1
    r = 0
    for p in range(n_p):
        lo = r
        for k in range(offsets[p], offsets[p + 1]):
            row = order[k] if has_order else k
            i = code[row]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                qty[r] = quantity[row]
                target[r] = 0.0
                r += 1
            else:
                qty[slot[i]] += quantity[row]
                if dup < 0 or row < dup:
                    dup = row
        for k in range(t_start[p], t_end[p]):
            i = t_code[k]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                qty[r] = 0.0
                r += 1
            target[slot[i]] = t_weight[k]
        if mark[cash_code] != p:
            mark[cash_code] = p
            slot[cash_code] = r
            out_code[r] = cash_code
            target[r] = 0.0
            r += 1
        qty[slot[cash_code]] = cash[p]
        out_offsets[p + 1] = r
        v = 0.0
        g = 0.0
        tg = 0.0
        for j in range(lo, r):
            x = qty[j] * price[out_code[j]]
            v += x
            if out_code[j] != cash_code:
                g += abs(x)
                tg += target[j]
        account[p, VALUE] = v
        account[p, CASH] = cash[p]
        account[p, GROSS] = g
        account[p, TARGET_GROSS] = tg
        inv = 1.0 / v if v > 0.0 else np.nan
        mx = 0.0
        arg = -1
        tot = 0.0
        for j in range(lo, r):
            d = qty[j] * price[out_code[j]] * inv - target[j]
            drift[j] = d
            a = abs(d)
            tot += a
            if arg < 0 or a > mx or a != a:
                mx = a
                arg = j
        summary[p, MAX_ABS] = mx
        summary[p, TOTAL_ABS] = tot
        summary[p, ARGMAX] = arg
    return out_offsets, out_code[:r], qty[:r], target[:r], drift[:r], account, summary, dup


@jit
def drift_tracking_error(out_offsets, out_code, drift, cov_index, cov):
    """Ex-ante tracking error ``sqrt(d' Sigma d)`` of each account's drift.

    Parameters
    ----------
    out_offsets, out_code, drift
        As returned by :func:`drift_accounts`.
    cov_index : int64[n_keys]
        Row of each key in ``cov`` (-1: riskless, e.g. cash).
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
            ia = cov_index[out_code[a]]
            if da == 0.0 or ia < 0:
                continue
            inner = 0.0
            for b in range(out_offsets[p], out_offsets[p + 1]):
                ib = cov_index[out_code[b]]
                if ib >= 0:
                    inner += cov[ia, ib] * drift[b]
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
    """sqrt(d' S d) of ``d = weight[0:hi-lo] - target[lo:hi]`` (weight is account-local scratch)."""
    s = 0.0
    for a in range(lo, hi):
        ia = cov_index[code[a]]
        da = weight[a - lo] - target[a]
        if ia < 0 or da == 0.0:
            continue
        inner = 0.0
        for b in range(lo, hi):
            ib = cov_index[code[b]]
            if ib >= 0:
                inner += cov[ia, ib] * (weight[b - lo] - target[b])
        s += da * inner
    return np.sqrt(max(s, 0.0))


@jit
def _emit(lo, m, trade_s, reason_s, cost_s, wave_s, row, trade, reason, cost, wave, base):
    """Append an account's listed rows (a trade or a reason) to the outputs; return the new length."""
    for j in range(m):
        if trade_s[j] != 0.0 or reason_s[j] != R_NONE:
            row[base] = lo + j
            trade[base] = trade_s[j]
            reason[base] = reason_s[j]
            cost[base, 0] = cost_s[j, 0]
            cost[base, 1] = cost_s[j, 1]
            cost[base, 2] = cost_s[j, 2]
            wave[base] = wave_s[j]
            base += 1
    return base


@jit
def plan_trades(out_offsets, out_code, quantity, target, price, cash_code, holdings, active, inst, cost_params,
                settings, cov_index, cov):
    """Trade lists of many accounts: to target or to the band edge, within cash and leverage limits.

    Parameters
    ----------
    out_offsets, out_code, quantity, target
        Merged rows of :func:`holdings_drift`; the row with key ``cash_code``
        holds the account's cash (price 1).
    price : float64[n_keys]
    holdings : float64[n_accounts, 4]
        Value, cash and gross exposure per account (:func:`holdings_drift`).
    active : bool[n_accounts]
        Accounts to plan (the others get status ``S_INACTIVE``).
    inst : float64[n_keys, 2]
        Lot size (0: any quantity) and minimum notional of each key.
    cost_params : float64[n_keys, N_COST]
        See :func:`trade_cost`.
    settings : float64[N_SETTINGS]
        Mode (0 to target, 1 to the band edge), absolute band, relative band,
        cash reserve (fraction of value; -inf: none), maximum gross leverage, risk aversion.
    cov_index : int64[n_keys], cov : float64[m, m]
        Covariance row of each key (-1: riskless, e.g. cash); an empty
        ``cov`` turns the cost-benefit test off.

    Returns
    -------
    row : int64[n_listed]
        Drift row of each listed row: the trades, and the rows skipped with
        a reason (below a minimum, less than a lot).
    trade : float64[n_listed]
        Signed quantity to trade (0: skipped).
    reason : int8[n_listed]
        ``R_*`` code.
    cost : float64[n_listed, 3]
        Commission, spread, impact.
    wave : int8[n_listed]
        1: send now; 2: send after the sells (cash is short); 0: skipped.
    account : float64[n_accounts, N_ACC]
        ``A_*`` fields per account.
    """
    n_p = out_offsets.shape[0] - 1
    account = np.full((n_p, N_ACC), np.nan)
    n_plan = 0
    width = 0
    for p in range(n_p):
        account[p, A_CASH_BEFORE] = holdings[p, 1]
        v = holdings[p, 0]
        account[p, A_LEV_BEFORE] = holdings[p, 2] / v if v > 0.0 else np.inf
        account[p, A_STATUS] = S_INACTIVE
        if active[p]:
            n_plan += out_offsets[p + 1] - out_offsets[p]
            width = max(width, out_offsets[p + 1] - out_offsets[p])
    row = np.empty(n_plan, np.int64)
    trade = np.empty(n_plan)
    reason = np.empty(n_plan, np.int8)
    cost = np.empty((n_plan, 3))
    wave = np.empty(n_plan, np.int8)
    trade_s = np.zeros(width)
    reason_s = np.zeros(width, np.int8)
    cost_s = np.zeros((width, 3))
    wave_s = np.zeros(width, np.int8)
    desired = np.zeros(width)
    after_w = np.zeros(width)
    mode = settings[MODE]
    theta = settings[THETA]
    rho = settings[RHO]
    reserve = settings[RESERVE]
    lev_cap = settings[MAX_LEV]
    use_cb = cov.shape[0] > 0
    base = 0
    for p in range(n_p):
        if not active[p]:
            continue
        lo = out_offsets[p]
        hi = out_offsets[p + 1]
        m = hi - lo
        for j in range(m):
            trade_s[j] = 0.0
            reason_s[j] = R_NONE
            cost_s[j, 0] = 0.0
            cost_s[j, 1] = 0.0
            cost_s[j, 2] = 0.0
            wave_s[j] = 0
        value = holdings[p, 0]
        cash = holdings[p, 1]
        if not value > 0.0:
            account[p, A_STATUS] = S_NO_EQUITY
            continue
        tsum = 0.0
        for j in range(lo, hi):
            if out_code[j] != cash_code:
                tsum += target[j]
        c_star = max(1.0 - tsum, reserve)
        scale = (1.0 - c_star) / tsum if tsum > 0.0 else 0.0
        floor = c_star * value
        # desired trades, rounded to lots, minimum notional
        n_trade = 0
        n_skip = 0
        for j in range(m):
            k = lo + j
            desired[j] = 0.0
            c = out_code[k]
            if c == cash_code:
                continue
            px = price[c]
            w = quantity[k] * px / value
            tt = target[k] * scale
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
                delta = -quantity[k]
                r = R_CLOSE
            else:
                delta = wstar * value / px - quantity[k]
                lot = inst[c, 0]
                if lot > 0.0 and delta != 0.0:
                    if delta < 0.0:
                        delta = -np.ceil(-delta / lot - 1e-9) * lot
                        if quantity[k] > 0.0 and -delta > quantity[k]:
                            delta = -quantity[k]
                    else:
                        delta = _round_buy(delta, lot)
                    if delta == 0.0:
                        reason_s[j] = R_LOT
                        n_skip += 1
                        continue
            if delta == 0.0:
                continue
            if abs(delta) * px < inst[c, 1]:
                reason_s[j] = R_MIN_NOTIONAL
                n_skip += 1
                continue
            desired[j] = delta
            reason_s[j] = r
            n_trade += 1
        if n_trade == 0:
            account[p, A_STATUS] = S_BELOW_MIN if n_skip > 0 else S_NOTHING
            account[p, A_CASH_AFTER] = cash
            account[p, A_LEV_AFTER] = account[p, A_LEV_BEFORE]
            account[p, A_COST] = 0.0
            base = _emit(lo, m, trade_s, reason_s, cost_s, wave_s, row, trade, reason, cost, wave, base)
            continue
        # scale the buys until cash and leverage hold (the sells go through as planned)
        s = 1.0
        sells = buys = fees = g_after = cash_after = 0.0
        equity = value
        for it in range(80):
            sells = 0.0
            buys = 0.0
            fee_sell = 0.0
            fee_buy = 0.0
            g_after = 0.0
            g_nobuy = 0.0
            for j in range(m):
                k = lo + j
                c = out_code[k]
                if c == cash_code:
                    continue
                d = desired[j]
                if d > 0.0 and s < 1.0:
                    d = _round_buy(d * s, inst[c, 0])
                    if d * price[c] < inst[c, 1]:
                        d = 0.0
                trade_s[j] = d
                cm, sp, im = trade_cost(d, price[c], cost_params[c])
                cost_s[j, 0] = cm
                cost_s[j, 1] = sp
                cost_s[j, 2] = im
                if d < 0.0:
                    sells -= d * price[c]
                    fee_sell += cm + sp + im
                    g_nobuy += abs(quantity[k] + d) * price[c]
                else:
                    buys += d * price[c]
                    fee_buy += cm + sp + im
                    g_nobuy += abs(quantity[k]) * price[c]
                g_after += abs(quantity[k] + d) * price[c]
            fees = fee_sell + fee_buy
            cash_after = cash + sells - buys - fees
            equity = value - fees
            tol = 1e-9 * value
            if buys == 0.0 or (cash_after >= floor - tol and g_after <= lev_cap * equity + tol):
                break
            if it == 78:
                s = 0.0  # last pass: the sells only
            elif it == 0:
                # linear estimate from the full buys (costs grow at least linearly in the size,
                # but for minimum commissions, which the passes that follow absorb)
                s_cash = (cash + sells - fee_sell - floor) / (buys + fee_buy)
                s_lev = (lev_cap * (value - fee_sell) - g_nobuy) / (buys + lev_cap * fee_buy)
                s = max(min(s_cash, s_lev, 0.999999), 0.0)
            else:
                s *= 0.97
        account[p, A_BUY_SCALE] = s
        if s < 1.0:
            for j in range(m):
                if desired[j] > 0.0:
                    reason_s[j] = R_TRIMMED
        # state after the trades, drift against the account's targets
        total_after = 0.0
        max_after = 0.0
        for j in range(m):
            k = lo + j
            c = out_code[k]
            if c == cash_code:
                after_w[j] = cash_after / equity
            else:
                after_w[j] = (quantity[k] + trade_s[j]) * price[c] / equity
            a = abs(after_w[j] - target[k])
            total_after += a
            max_after = max(max_after, a)
        benefit = np.nan
        if use_cb:
            for j in range(m):
                desired[j] = quantity[lo + j] * price[out_code[lo + j]] / value
            te_b = _te(lo, hi, out_code, desired, target, cov_index, cov)
            te_a = _te(lo, hi, out_code, after_w, target, cov_index, cov)
            benefit = 0.5 * settings[RISK_AVERSION] * (te_b * te_b - te_a * te_a) * value
            account[p, A_TE_BEFORE] = te_b
            account[p, A_TE_AFTER] = te_a
        account[p, A_BENEFIT] = benefit
        account[p, A_COST] = fees
        if use_cb and not benefit > fees:
            for j in range(m):
                trade_s[j] = 0.0
                cost_s[j, 0] = 0.0
                cost_s[j, 1] = 0.0
                cost_s[j, 2] = 0.0
                reason_s[j] = R_NONE
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
        short = cash - floor < buys + fees - 1e-9 * value
        for j in range(m):
            if trade_s[j] < 0.0:
                wave_s[j] = 1
            elif trade_s[j] > 0.0:
                wave_s[j] = 2 if short else 1
        base = _emit(lo, m, trade_s, reason_s, cost_s, wave_s, row, trade, reason, cost, wave, base)
    return row[:base], trade[:base], reason[:base], cost[:base], wave[:base], account
