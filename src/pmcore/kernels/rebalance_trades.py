"""Trade-list kernels: transaction costs and the planning of many accounts' trades (CSR by account).

The rows are those of :func:`pmcore.kernels.rebalance.holdings_drift`: the
holdings and targets of account ``p`` are rows ``out_offsets[p]:out_offsets[p + 1]``,
one of them the account's cash (key ``cash_code``, price 1).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# columns of the per-instrument cost parameters (see pmcore.rebalance.costs)
PER_SHARE, RATE, MIN_FEE, HALF_SPREAD, VOLATILITY, ADV, IMPACT = range(7)
N_COST = 7


@jit
def row_cost(quantity, price, params, c):
    """Estimated cost of trading ``quantity`` units at ``price`` (row ``c`` of the cost parameters ``params``).

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
    commission = max(params[c, MIN_FEE], params[c, PER_SHARE] * q + params[c, RATE] * notional)
    spread = params[c, HALF_SPREAD] * notional
    impact = 0.0
    vol = params[c, VOLATILITY]
    adv = params[c, ADV]
    if vol == vol and adv == adv and adv > 0.0 and params[c, IMPACT] != 0.0:
        impact = params[c, IMPACT] * vol * np.sqrt(q / adv) * notional
    return commission, spread, impact


@jit
def trade_cost(quantity, price, params):
    """:func:`row_cost` with one row of cost parameters ``params`` (float64[N_COST])."""
    return row_cost(quantity, price, params.reshape((1, params.shape[0])), 0)


@jit
def trade_costs(quantity, price, code, params):
    """:func:`row_cost` of many trades: float64[n, 3] (commission, spread, impact)."""
    n = quantity.shape[0]
    out = np.empty((n, 3))
    for k in range(n):
        c, s, m = row_cost(quantity[k], price[k], params, code[k])
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
    """Append an account's listed rows (a trade or a reason) to the outputs; return the new length.

    An empty ``cost`` is not written (the costs are :func:`row_cost` of the trades).
    """
    store_cost = cost.shape[0] > 0
    for j in range(m):
        if trade_s[j] != 0.0 or reason_s[j] != R_NONE:
            row[base] = lo + j
            trade[base] = trade_s[j]
            reason[base] = reason_s[j]
            if store_cost:
                cost[base, 0] = cost_s[j, 0]
                cost[base, 1] = cost_s[j, 1]
                cost[base, 2] = cost_s[j, 2]
            wave[base] = wave_s[j]
            base += 1
    return base


@jit
def plan_trades(out_offsets, out_code, quantity, target, price, cash_code, holdings, active, inst, cost_params,
                settings, cov_index, cov, row, trade, reason, cost, wave, account):
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
        See :func:`row_cost`.
    settings : float64[N_SETTINGS]
        Mode (0 to target, 1 to the band edge), absolute band, relative band,
        cash reserve (fraction of value; -inf: none), maximum gross leverage, risk aversion.
    cov_index : int64[n_keys], cov : float64[m, m]
        Covariance row of each key (-1: riskless, e.g. cash); an empty
        ``cov`` turns the cost-benefit test off.

    row, trade, reason, cost, wave, account
        Outputs (:func:`plan_outputs`). Per listed row (the trades, and the
        rows skipped with a reason: below a minimum, less than a lot): drift
        row (int64), signed quantity to trade (0: skipped), ``R_*`` code
        (int8), commission, spread and impact (float64[., 3]), and wave
        (int8; 1: send now, 2: after the sells as cash is short, 0:
        skipped). ``account``: float64[n_accounts, N_ACC] of ``A_*`` fields.
        An empty ``cost`` is not written: the cost of every listed row is
        :func:`row_cost` of its trade (0 for a skipped row).

    Returns
    -------
    n_listed : int
        Rows written to the per-row outputs.
    """
    n_p = out_offsets.shape[0] - 1
    width = 0
    for p in range(n_p):
        account[p, :] = np.nan
        account[p, A_CASH_BEFORE] = holdings[p, 1]
        v = holdings[p, 0]
        account[p, A_LEV_BEFORE] = holdings[p, 2] / v if v > 0.0 else np.inf
        account[p, A_STATUS] = S_INACTIVE
        if active[p]:
            width = max(width, out_offsets[p + 1] - out_offsets[p])
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
            tt = target[k] * scale
            r = R_TARGET
            if mode == 0.0:
                wstar = tt
            else:
                w = quantity[k] * px / value
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
                    # sells round up and buys down to a lot: -ceil(-x) == floor(x) exactly, one formula
                    delta = np.floor(delta / lot + 1e-9) * lot
                    if quantity[k] > 0.0 and -delta > quantity[k]:
                        delta = -quantity[k]
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
                cm, sp, im = row_cost(d, price[c], cost_params, c)
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
    return base


def plan_outputs(out_offsets, active, store_cost=True):
    """Output arrays of :func:`plan_trades` (plain numpy, outside the kernel).

    Returns
    -------
    row, trade, reason, cost, wave, account
        Per-row outputs sized for every row of the active accounts (``cost``
        empty unless ``store_cost``), and the per-account matrix.
    """
    n_plan = int(np.diff(out_offsets)[active].sum())
    n_p = out_offsets.shape[0] - 1
    return (np.empty(n_plan, np.int64), np.empty(n_plan), np.empty(n_plan, np.int8),
            np.empty((n_plan if store_cost else 0, 3)),
            np.empty(n_plan, np.int8), np.empty((n_p, N_ACC)))
