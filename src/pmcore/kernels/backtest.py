"""Rebalancing backtest kernel: one portfolio over a price history.

Time is on axis 0, assets on axis 1. The kernel runs dates ``start .. stop - 1``
of a simulation whose state lives in arrays that the caller owns, so a long run
can be split into chunks (a progress bar between them) and stopped on a
rebalance date (a policy callable chooses new targets in Python, then the run
resumes on that date).

Conventions (the public layer, :func:`pmcore.rebalance.backtest`, documents them):

* on date ``t`` the cash flow ``flows[t]`` lands in cash, the book is valued at
  ``prices[t]``, the trigger is checked and, if it fires, the book trades to
  ``target`` at ``prices[t]``; ``out[t]`` is the state after the trades;
* proportional costs ``rates[i] * |traded notional|``, paid in one of three ways
  (``MODE_VALUE``, ``MODE_CASH``, ``MODE_TRADES``);
* tax: average cost basis per asset (costs included), FIFO lots only to date the
  shares sold (short vs long term);
* volatility pause: a rebalance due on date ``t`` is postponed while the
  annualized sample volatility of the portfolio's last ``window`` returns (dates
  ``t - window .. t - 1``, flows taken out, so nothing after the previous close)
  is above the limit, and carried forward to the next date on which it is not.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# how costs are paid (params[P_MODE])
MODE_VALUE, MODE_CASH, MODE_TRADES = 0, 1, 2
# entries of ``params``
P_THRESHOLD, P_MIN_INTERVAL, P_LONG_TERM, P_MODE, P_RELATIVE, P_VOL_LIMIT, P_VOL_WINDOW, P_PPY = range(8)
N_PARAMS = 8
# entries of ``state``
S_CASH, S_LAST_DAY, S_PENDING, S_VOL_SUM, S_VOL_SQ, S_CARRY = range(6)
N_STATE = 6
# columns of ``out``
EQUITY, CASH, TURNOVER, COSTS, GAIN_SHORT, GAIN_LONG, REBALANCED, POSTPONED = range(8)
N_OUT = 8
# drift within this of the threshold is rounding, not drift (a book at its target drifts ~1e-16)
DRIFT_TOL = 1e-12


@jit
def _value_mode_cost(value, held, target, rates):
    """Total cost ``C`` with ``C = sum_i rates_i |target_i (value - C) - held_i|`` (Newton, exact)."""
    n = held.shape[0]
    c = 0.0
    for _ in range(100):
        f = c
        slope = 1.0
        base = value - c
        for i in range(n):
            d = target[i] * base - held[i]
            if d > 0.0:
                f -= rates[i] * d
                slope += rates[i] * target[i]
            elif d < 0.0:
                f += rates[i] * d
                slope -= rates[i] * target[i]
        step = f / slope
        c -= step
        if step == 0.0 or abs(step) <= 1e-16 * abs(value):
            break
    return c


@jit
def _drift_fires(held, value, target, absolute, relative):
    """True when some weight is past the absolute or the relative drift threshold."""
    worst_abs = 0.0
    worst_rel = 0.0
    for i in range(held.shape[0]):
        d = abs(held[i] / value - target[i])
        if d > worst_abs:
            worst_abs = d
        if target[i] > 0.0 and d / target[i] > worst_rel:
            worst_rel = d / target[i]
    return worst_abs > absolute + DRIFT_TOL or worst_rel > relative + DRIFT_TOL


@jit
def _consume_lots(lots, head, i, t, days, sold, long_term):
    """Remove ``sold`` shares of asset ``i`` from its FIFO lots; return the long-term share count."""
    remaining = sold
    long_q = 0.0
    j = head[i]
    while remaining > 0.0 and j < t:
        q = lots[i, j]
        if q > 0.0:
            take = q if q < remaining else remaining
            lots[i, j] = q - take
            remaining -= take
            if days[t] - days[j] > long_term:
                long_q += take
            if lots[i, j] > 0.0:
                break
        j += 1
    head[i] = j
    return long_q


@jit
def _rebalance(t, prices, days, target, rates, params, shares, basis, lots, head, state, out):
    """Trade the book to ``target`` at ``prices[t]``; write turnover, costs and gains of date ``t``."""
    n = shares.shape[0]
    mode = int(params[P_MODE])
    cash = state[S_CASH]
    value = cash
    held = np.empty(n)
    for i in range(n):
        held[i] = shares[i] * prices[t, i]
        value += held[i]
    if not value > 0.0:
        return
    total_cost = 0.0
    if mode == MODE_VALUE:
        total_cost = _value_mode_cost(value, held, target, rates)
        base = value - total_cost
    else:
        base = value
    traded = 0.0
    cash_out = 0.0
    g_short = 0.0
    g_long = 0.0
    paid = 0.0
    for i in range(n):
        p = prices[t, i]
        u = target[i] * base - held[i]
        if target[i] == 0.0:
            u = -held[i]
        elif mode == MODE_TRADES:
            if u > 0.0:
                u = u / (1.0 + rates[i])
            else:
                u = u / (1.0 - rates[i])
        if u < -held[i]:  # never sell more than is held (no shorts)
            u = -held[i]
        if u == 0.0:
            continue
        cost = rates[i] * abs(u)
        paid += cost
        traded += abs(u)
        cash_out += u + cost
        if u > 0.0:
            q = u / p
            shares[i] += q
            basis[i] += u + cost
            lots[i, t] += q
        else:
            sold = shares[i] if u == -held[i] else -u / p
            if sold > shares[i]:
                sold = shares[i]
            removed = basis[i] * (sold / shares[i]) if shares[i] > 0.0 else 0.0
            gain = sold * p - cost - removed
            long_q = _consume_lots(lots, head, i, t, days, sold, params[P_LONG_TERM])
            g_long += gain * (long_q / sold)
            g_short += gain * (1.0 - long_q / sold)
            if sold == shares[i]:
                shares[i] = 0.0
                basis[i] = 0.0
                for j in range(head[i], t):
                    lots[i, j] = 0.0
                head[i] = t
            else:
                shares[i] -= sold
                basis[i] -= removed
    if mode == MODE_VALUE:
        # the solved total, so that value after trades is exactly ``value - total_cost``
        state[S_CASH] = cash - (cash_out - paid) - total_cost
        paid = total_cost
    else:
        state[S_CASH] = cash - cash_out
    out[t, TURNOVER] = 0.5 * traded / value
    out[t, COSTS] = paid
    out[t, GAIN_SHORT] = g_short
    out[t, GAIN_LONG] = g_long
    out[t, REBALANCED] = 1.0
    state[S_LAST_DAY] = days[t]


@jit
def _period_return(out, flows, s):
    """Return of date ``s >= 1`` with its flow taken out; 0.0 when the value before it is not > 0."""
    prev = out[s - 1, EQUITY]
    if prev > 0.0:
        return (out[s, EQUITY] - flows[s]) / prev - 1.0
    return 0.0


@jit
def _push_return(t, out, flows, params, state):
    """After date ``t``: add its return to the running window sums, drop the one ``window`` dates back."""
    if t < 1 or not params[P_VOL_LIMIT] < np.inf:
        return
    r = _period_return(out, flows, t)
    state[S_VOL_SUM] += r
    state[S_VOL_SQ] += r * r
    w = int(params[P_VOL_WINDOW])
    if t - w >= 1:
        r = _period_return(out, flows, t - w)
        state[S_VOL_SUM] -= r
        state[S_VOL_SQ] -= r * r


@jit
def trailing_volatility(t, params, state):
    """Annualized sample volatility of the returns of dates ``t - window .. t - 1`` (NaN before ``window``)."""
    w = int(params[P_VOL_WINDOW])
    if t < w + 1:
        return np.nan
    s = state[S_VOL_SUM]
    var = (state[S_VOL_SQ] - s * s / w) / (w - 1)
    if var < 0.0:
        var = 0.0
    return np.sqrt(var * params[P_PPY])


@jit
def simulate(prices, days, flows, calendar, target, rates, params,
             shares, basis, lots, head, state, out, weights, start, stop, stop_on_trigger):
    """Run the dates from ``start`` up to ``stop - 1`` of a backtest; return the date it stopped at.

    Parameters
    ----------
    prices : float64[n_dates, n_assets]
        Prices, > 0.
    days : int64[n_dates]
        Calendar day numbers of the dates (increasing).
    flows : float64[n_dates]
        Cash flow landing on each date (deposit > 0, withdrawal < 0).
    calendar : bool[n_dates]
        Dates on which the trigger may fire.
    target, rates : float64[n_assets]
        Target weights (>= 0, sum <= 1; the rest is cash) and cost rates.
    params : float64[N_PARAMS]
        Absolute drift threshold, minimum interval in days, days after which
        a lot is long term, the cost mode, the relative drift threshold, the
        volatility limit (annualized; inf: no pause), the volatility window
        (number of returns, >= 2) and the periods per year.
        On a calendar date the trigger fires when ``max_i |w_i - target_i| >
        absolute + DRIFT_TOL`` or ``max_i |w_i - target_i| / target_i >
        relative + DRIFT_TOL`` (over ``target_i > 0``): -1 and inf fire on
        every calendar date; inf for a threshold that is not used.
    shares, basis : float64[n_assets]
        Book (updated in place): shares held and their total cost basis.
    lots : float64[n_assets, n_dates]
        Shares still held of those bought on each date (updated in place;
        asset-major so that walking one asset's lots reads contiguous memory).
    head : int64[n_assets]
        First lot date that may still hold shares (updated in place).
    state : float64[N_STATE]
        Cash, day of the last rebalance, 1.0 if date ``start`` must
        rebalance without checking the trigger, -1.0 if it must not
        rebalance, 0.0 to check; the running sum and sum of squares of the
        returns in the volatility window, and 1.0 while a postponed
        rebalance is carried forward (start with zeros; updated in place).
    out : float64[n_dates, N_OUT]
        Per date: equity, cash, turnover, costs, short- and long-term realized
        gains, 1.0 if rebalanced, 1.0 if a due rebalance was postponed by the
        volatility pause (rows ``start .. stop - 1`` are written).
    weights : float64[n_dates, n_assets]
        Weights after the date's trades.
    start, stop : int
        Dates to run.
    stop_on_trigger : bool
        Return ``t`` (before trading) when the trigger fires on date ``t >
        start``, so that the caller can choose new targets.

    Returns
    -------
    int
        ``stop``, or the date on which the trigger fired.

    Notes
    -----
    A date is due when it is a calendar date or a postponed rebalance is
    carried forward, and the minimum interval has passed. On a due date where
    the drift trigger fires, the rebalance is postponed (``out[t, POSTPONED]``,
    carried forward) when :func:`trailing_volatility` is above the limit; a
    carried rebalance is dropped on a due date where the drift trigger does
    not fire. The window sums are updated after each date (O(1) per date).
    """
    n = shares.shape[0]
    held = np.empty(n)
    for t in range(start, stop):
        state[S_CASH] += flows[t]
        for c in range(N_OUT):
            out[t, c] = 0.0
        fire = t == start and state[S_PENDING] >= 1.0
        skip = t == start and state[S_PENDING] < 0.0
        due = calendar[t] or state[S_CARRY] > 0.0
        if not fire and not skip and due and days[t] - state[S_LAST_DAY] >= params[P_MIN_INTERVAL]:
            value = state[S_CASH]
            for i in range(n):
                held[i] = shares[i] * prices[t, i]
                value += held[i]
            if value > 0.0:
                fire = _drift_fires(held, value, target, params[P_THRESHOLD], params[P_RELATIVE])
            state[S_CARRY] = 0.0
            if fire and trailing_volatility(t, params, state) > params[P_VOL_LIMIT]:
                fire = False
                state[S_CARRY] = 1.0
                out[t, POSTPONED] = 1.0
            if fire and stop_on_trigger:
                state[S_CASH] -= flows[t]
                state[S_PENDING] = 1.0
                return t
        state[S_PENDING] = 0.0
        if fire or skip:
            state[S_CARRY] = 0.0
        if fire:
            _rebalance(t, prices, days, target, rates, params, shares, basis, lots, head, state, out)
        value = state[S_CASH]
        for i in range(n):
            held[i] = shares[i] * prices[t, i]
            value += held[i]
        out[t, EQUITY] = value
        out[t, CASH] = state[S_CASH]
        for i in range(n):
            weights[t, i] = held[i] / value
        _push_return(t, out, flows, params, state)
    return stop
