"""The backtest kernel against its plain-Python twin, closed forms and properties.

Oracle comparisons with bt and cvxportfolio are in ``test_backtest_oracles.py``;
inputs, frames and bad input in ``test_backtest_api.py``.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.kernels import backtest as K
from pmcore.rebalance import backtest


def twin(prices, days, flows, calendar, target, rates, threshold, min_interval, long_term, mode,
         initial_value, relative=None, vol_limit=None, vol_window=3, ppy=252.0):
    """Plain-Python backtest written from the documented rules (lists, a deque of lots per asset).

    The volatility pause recomputes ``numpy.std(ddof=1)`` of the window on every date
    (the kernel keeps running sums).
    """
    T, N = len(prices), len(target)
    shares, basis = [0.0] * N, [0.0] * N
    lots = [deque() for _ in range(N)]  # [day, quantity]
    cash, last_day = initial_value, None
    rets = [np.nan]  # the portfolio's return of each date, flows taken out
    carry = False  # a postponed rebalance is carried forward
    rows = []
    for t in range(T):
        p = prices[t]
        cash += flows[t]
        held = [shares[i] * p[i] for i in range(N)]
        value = cash + sum(held)
        fire = t == 0
        postponed = False
        if not fire and (calendar[t] or carry) and (last_day is None or days[t] - last_day >= min_interval):
            if value > 0:
                drift = [abs(held[i] / value - target[i]) for i in range(N)]
                fire = max(drift) > threshold + 1e-12
                if relative is not None:
                    fire = fire or any(d / w > relative + 1e-12 for d, w in zip(drift, target) if w > 0)
            carry = False
            if fire and vol_limit is not None and t >= vol_window + 1:
                vol = np.std(rets[t - vol_window:t], ddof=1) * np.sqrt(ppy)
                if vol > vol_limit:
                    fire, carry, postponed = False, True, True
        turnover = costs = g_short = g_long = 0.0
        if fire and value > 0:
            if mode == "value":  # fixed point of C = sum c |w (V - C) - H| (a contraction)
                c_total = 0.0
                for _ in range(200):
                    c_total = sum(rates[i] * abs(target[i] * (value - c_total) - held[i]) for i in range(N))
                trades = [target[i] * (value - c_total) - held[i] for i in range(N)]
            else:
                trades = [target[i] * value - held[i] for i in range(N)]
                if mode == "trades":
                    trades = [a / (1 + rates[i]) if a > 0 else a / (1 - rates[i]) for i, a in enumerate(trades)]
            trades = [-held[i] if target[i] == 0 else max(u, -held[i]) for i, u in enumerate(trades)]
            paid = [rates[i] * abs(u) for i, u in enumerate(trades)]
            for i, u in enumerate(trades):
                if u > 0:
                    shares[i] += u / p[i]
                    basis[i] += u + paid[i]
                    lots[i].append([days[t], u / p[i]])
                elif u < 0:
                    full = u == -held[i]
                    sold = shares[i] if full else min(-u / p[i], shares[i])
                    removed = basis[i] * sold / shares[i]
                    gain = sold * p[i] - paid[i] - removed
                    left, long_q = sold, 0.0
                    while left > 0 and lots[i]:
                        take = min(lots[i][0][1], left)
                        if days[t] - lots[i][0][0] > long_term:
                            long_q += take
                        lots[i][0][1] -= take
                        left -= take
                        if lots[i][0][1] <= 0:
                            lots[i].popleft()
                    g_long += gain * long_q / sold
                    g_short += gain * (1 - long_q / sold)
                    if full or sold == shares[i]:
                        shares[i], basis[i] = 0.0, 0.0
                        lots[i].clear()
                    else:
                        shares[i] -= sold
                        basis[i] -= removed
            costs = c_total if mode == "value" else sum(paid)
            cash -= sum(trades) + costs
            turnover = sum(abs(u) for u in trades) / (2 * value)
            last_day = days[t]
        held = [shares[i] * p[i] for i in range(N)]
        equity = cash + sum(held)
        rows.append((equity, cash, turnover, costs, g_short, g_long, float(fire and value > 0),
                     float(postponed), [h / equity for h in held]))
        if t > 0:
            prev = rows[t - 1][0]
            rets.append((equity - flows[t]) / prev - 1 if prev > 0 else 0.0)
    return rows


def run_kernel(prices, days, flows, calendar, target, rates, threshold, min_interval, long_term, mode,
               initial_value, relative=None, vol_limit=None, vol_window=3, ppy=252.0, chunks=1):
    T, N = prices.shape
    shares, basis, lots = np.zeros(N), np.zeros(N), np.zeros((N, T))
    head = np.zeros(N, dtype=np.int64)
    state = np.zeros(K.N_STATE)
    state[[K.S_CASH, K.S_LAST_DAY, K.S_PENDING]] = initial_value, -np.inf, 1.0
    out, weights = np.zeros((T, K.N_OUT)), np.zeros((T, N))
    params = np.array([threshold, min_interval, long_term, {"value": 0, "cash": 1, "trades": 2}[mode],
                       np.inf if relative is None else relative, np.inf if vol_limit is None else vol_limit,
                       vol_window, ppy], float)
    bounds = np.linspace(0, T, chunks + 1).astype(int)
    for a, b in zip(bounds[:-1], bounds[1:]):
        assert K.simulate(prices, days, flows, calendar, target, rates, params, shares, basis, lots, head,
                          state, out, weights, a, b, False) == b
    return out, weights


@st.composite
def scenarios(draw):
    T = draw(st.integers(1, 40))
    N = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    prices = 50 * np.cumprod(1 + rng.normal(0, 0.03, (T, N)), axis=0)
    days = np.cumsum(rng.integers(1, 120, T)).astype(np.int64)
    flows = np.where(rng.random(T) < 0.2, rng.normal(0, 200, T), 0.0)
    calendar = rng.random(T) < draw(st.sampled_from([0.2, 0.6, 1.0]))
    w = rng.random(N) * (rng.random(N) < 0.8)
    target = w / max(w.sum(), 1e-9) * draw(st.sampled_from([1.0, 0.9]))
    rates = rng.uniform(0, 0.01, N)
    threshold = draw(st.sampled_from([-1.0, 0.0, 0.02, 0.1, np.inf]))
    relative = draw(st.sampled_from([None, 0.1, 0.3]))
    return dict(prices=prices, days=days, flows=flows, calendar=calendar, target=target, rates=rates,
                threshold=threshold, min_interval=draw(st.sampled_from([0, 30, 90])),
                long_term=draw(st.sampled_from([0, 120, 365])),
                mode=draw(st.sampled_from(["value", "cash", "trades"])), initial_value=1000.0, relative=relative,
                vol_limit=draw(st.sampled_from([None, 0.1, 0.3, 0.5])), vol_window=draw(st.sampled_from([2, 3, 5])))


@given(scenarios(), st.integers(1, 4))
def test_kernel_agrees_with_python_twin(case, chunks):
    out, weights = run_kernel(**case, chunks=chunks)
    ref = twin(**case)
    expect = np.array([r[:8] for r in ref])
    np.testing.assert_allclose(out, expect, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(weights, np.array([r[8] for r in ref]), rtol=1e-9, atol=1e-12)


def _prices(T=300, N=4, seed=1):
    rng = np.random.default_rng(seed)
    return 100 * np.cumprod(1 + rng.normal(0.0003, 0.015, (T, N)), axis=0)


def test_buy_and_hold_closed_form():
    """No costs, no rebalance after the first date: V_t = V_0 * sum_i w_i p_t,i / p_0,i."""
    P = _prices()
    w = np.array([0.4, 0.3, 0.2, 0.1])
    res = backtest(P, w, frequency=len(P) + 1, initial_value=1000.0)
    np.testing.assert_allclose(res.equity, 1000.0 * (P / P[0]) @ w, rtol=1e-12)
    assert res.n_rebalances == 1


def test_daily_rebalance_closed_form():
    """Daily rebalancing without costs: r_t = sum_i w_i r_t,i (fixed-weight portfolio)."""
    P = _prices()
    w = np.array([0.4, 0.3, 0.2, 0.05])  # 5 % cash earns nothing
    res = backtest(P, w, frequency="daily")
    np.testing.assert_allclose(res.returns[1:], (P[1:] / P[:-1] - 1) @ w, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.metrics["total_return"], res.equity[-1] / res.equity[0] - 1, rtol=1e-10)


@pytest.mark.parametrize("costs_from", ["value", "cash", "trades"])
@given(bps=st.floats(0.5, 200), seed=st.integers(0, 1000), every=st.integers(1, 40))
def test_costs_only_lower_equity(costs_from, bps, seed, every):
    P = _prices(T=120, seed=seed)
    w = np.array([0.25, 0.25, 0.3, 0.2])
    free = backtest(P, w, frequency=every)
    paid = backtest(P, w, frequency=every, commission_bps=bps, costs_from=costs_from)
    assert (paid.equity <= free.equity * (1 + 1e-12)).all()
    assert paid.equity[-1] < free.equity[-1]
    assert paid.total_costs > 0


@given(bps=st.floats(0, 300), seed=st.integers(0, 1000), every=st.integers(1, 30))
def test_weights_after_rebalance_equal_targets(bps, seed, every):
    P = _prices(T=90, seed=seed)
    w = np.array([0.1, 0.5, 0.0, 0.35])
    res = backtest(P, w, frequency=every, commission_bps=bps)
    np.testing.assert_allclose(res.weights[res.rebalanced], np.broadcast_to(w, (res.n_rebalances, 4)),
                               atol=1e-12)
    # value after trades = value before - costs, exactly
    np.testing.assert_allclose(res.cash[res.rebalanced],
                               (1 - w.sum()) * res.equity[res.rebalanced], rtol=1e-9, atol=1e-6)


@given(seed=st.integers(0, 1000), threshold=st.floats(0.01, 0.2))
def test_drift_trigger_fires_only_past_the_threshold(seed, threshold):
    P = _prices(T=200, seed=seed)
    w = np.array([0.25, 0.25, 0.25, 0.25])
    res = backtest(P, w, frequency=None, threshold=threshold)
    pre = np.vstack([res.weights[0], res.weights[:-1]]) * (P / np.vstack([P[0], P[:-1]]))
    pre = pre / pre.sum(axis=1, keepdims=True)
    drift = np.abs(pre - w).max(axis=1)
    np.testing.assert_array_equal(res.rebalanced[1:], drift[1:] > threshold + 1e-12)


@given(seed=st.integers(0, 1000))
def test_relative_band_fires_on_small_targets_first(seed):
    """5/25 band: a 4-point target drifting by 1.5 points (37 % of it) fires before any 5-point drift."""
    P = _prices(T=200, seed=seed)
    w = np.array([0.5, 0.3, 0.16, 0.04])
    res = backtest(P, w, frequency=None, threshold=0.05, relative_threshold=0.25)
    pre = np.vstack([res.weights[0], res.weights[:-1]]) * (P / np.vstack([P[0], P[:-1]]))
    pre = pre / pre.sum(axis=1, keepdims=True)
    drift = np.abs(pre - w)
    expect = (drift.max(axis=1) > 0.05 + 1e-12) | ((drift / w).max(axis=1) > 0.25 + 1e-12)
    np.testing.assert_array_equal(res.rebalanced[1:], expect[1:])
    # both paths are buy-and-hold until one fires; the band fires whenever the absolute rule does
    absolute_only = backtest(P, w, frequency=None, threshold=0.05)
    first = [int(np.argmax(r.rebalanced[1:])) if r.rebalanced[1:].any() else len(P) for r in (res, absolute_only)]
    assert first[0] <= first[1]


def test_min_interval_spaces_rebalances():
    P = _prices(T=200)
    dates = np.datetime64("2020-01-01") + np.arange(200)
    res = backtest(P, [0.25] * 4, frequency="daily", min_interval_days=7, dates=dates)
    gaps = np.diff(np.flatnonzero(res.rebalanced))
    assert (gaps == 7).all()


def test_no_look_ahead():
    """Appending later prices never changes the earlier path."""
    P = _prices(T=250)
    kw = {"frequency": 10, "commission_bps": 20.0, "threshold": 0.01}
    short, full = backtest(P[:150], [0.3, 0.3, 0.2, 0.2], **kw), backtest(P, [0.3, 0.3, 0.2, 0.2], **kw)
    np.testing.assert_array_equal(short.equity, full.equity[:150])
    np.testing.assert_array_equal(short.weights, full.weights[:150])


def test_scale_invariance():
    """Doubling the capital doubles equity and costs, leaves returns and weights unchanged."""
    P = _prices()
    a = backtest(P, [0.3, 0.3, 0.2, 0.2], commission_bps=10, frequency=20, initial_value=1000.0)
    b = backtest(P, [0.3, 0.3, 0.2, 0.2], commission_bps=10, frequency=20, initial_value=2000.0)
    np.testing.assert_allclose(b.equity, 2 * a.equity, rtol=1e-12)
    np.testing.assert_allclose(b.costs, 2 * a.costs, rtol=1e-12)
    np.testing.assert_allclose(b.weights, a.weights, atol=1e-14)


def test_tax_hand_example():
    """Two assets, one sale: average cost, FIFO dating, costs in basis and proceeds (worked by hand).

    Day 0: 1000 cash into A at 10 (half) and B at 10 (half): 50 shares each.
    Day 400: A at 20, B at 10; value 1500, target 50/50 -> sell 250 of A (12.5 shares,
    bought 400 days earlier: long term), basis 12.5 * 10 = 125, gain 125. No costs.
    """
    P = np.array([[10.0, 10.0], [20.0, 10.0]])
    dates = np.array(["2020-01-01", "2021-02-04"], dtype="datetime64[D]")
    res = backtest(P, [0.5, 0.5], frequency="daily", dates=dates, initial_value=1000.0,
                   short_term_rate=0.4, long_term_rate=0.2)
    assert res.realized_long_term.tolist() == [0.0, 125.0]
    assert res.realized_short_term.tolist() == [0.0, 0.0]
    assert res.tax == pytest.approx(0.2 * 125.0)
    short = backtest(P, [0.5, 0.5], frequency="daily", dates=dates, initial_value=1000.0, long_term_days=500)
    assert short.realized_short_term.tolist() == [0.0, 125.0]


@pytest.mark.parametrize("costs_from", ["value", "cash", "trades"])
@given(seed=st.integers(0, 1000), bps=st.floats(0, 100))
def test_gains_add_up_to_profit_when_everything_is_sold(costs_from, seed, bps):
    """Sell the whole book on the last date: realized gains (costs in basis and proceeds) = profit."""
    P = _prices(T=151, seed=seed)  # the last row is a calendar row of frequency 15
    w = np.array([0.4, 0.1, 0.3, 0.2])
    last = len(P) - 1
    res = backtest(P, lambda ctx: w if ctx.index < last else np.zeros(4), frequency=15, commission_bps=bps,
                   costs_from=costs_from, initial_value=1e4)
    assert res.rebalanced[last] and res.weights[last].sum() == 0
    realized = res.realized_short_term.sum() + res.realized_long_term.sum()
    assert realized == pytest.approx(res.equity[-1] - 1e4, rel=1e-9, abs=1e-7)


def _spike(T=91, day=30, jump=0.10):
    """Daily dates from 2024-01-01; asset 0 jumps by ``jump`` at row ``day``, prices flat otherwise."""
    P = np.full((T, 2), 100.0)
    P[day:, 0] *= 1 + jump
    return P, np.datetime64("2024-01-01") + np.arange(T)


def test_volatility_spike_postpones_the_monthly_rebalance_by_the_window():
    """Hand-built: only r_30 = 5 % is non-zero (half the book jumps 10 % on Jan 31).

    With a window of n = 5 returns, sigma_t = sqrt(252) * std(r_{t-5..t-1}, ddof=1) is
    0.05 * sqrt(252 / 5) = 0.355 on rows 31..35 (r_30 in the window) and 0 elsewhere.
    The Feb 1 rebalance (row 31) is postponed 5 days to Feb 6 (row 36); Jan 1 and Mar 1 are not.
    """
    P, dates = _spike()
    kw = {"frequency": "monthly", "dates": dates, "volatility_window": 5}
    res = backtest(P, [0.5, 0.5], volatility_limit=0.35, **kw)
    assert np.flatnonzero(res.rebalanced).tolist() == [0, 36, 60]
    assert np.flatnonzero(res.postponed).tolist() == [31, 32, 33, 34, 35]
    assert res.n_postponed == 1
    assert res.dates[36] == np.datetime64("2024-02-06")
    # the limit is compared with 0.05 * sqrt(252 / 5) = 0.3550: just above it, no pause
    assert 0.35 < 0.05 * np.sqrt(252 / 5) < 0.36
    calm = backtest(P, [0.5, 0.5], volatility_limit=0.36, **kw)
    assert np.flatnonzero(calm.rebalanced).tolist() == [0, 31, 60] and calm.n_postponed == 0
    # the figure is pmcore.metrics.annual_volatility of the trailing returns
    assert pm.annual_volatility(res.returns[31 - 5:31]) == pytest.approx(0.05 * np.sqrt(252 / 5), rel=1e-12)
    # no look-ahead: the jump's own date is decided on the calm window r_28, r_29 (even with a limit of 0)
    drift = backtest(P, [0.5, 0.5], frequency=None, threshold=0.02, volatility_limit=0.0, dates=dates,
                     volatility_window=2)
    assert np.flatnonzero(drift.rebalanced).tolist() == [0, 30] and drift.n_postponed == 0


def test_volatility_pause_carries_a_drift_rebalance_forward():
    """Spike then a second jump: the breach on row 31 waits until the window is calm (row 34), then trades."""
    P, dates = _spike(T=40, day=30, jump=0.10)
    P[31:, 0] *= 1.20  # a second jump after the row-30 rebalance: r_30 = 5 %, r_31 = 10 %
    res = backtest(P, [0.5, 0.5], frequency=None, threshold=0.02, dates=dates, volatility_window=2,
                   volatility_limit=0.1)
    # rows 30: window r_28, r_29 = 0 -> trades; 31: window r_29, r_30 -> std > 0, breach postponed;
    # 32: r_30, r_31 (5 %, 10 %) -> postponed; 33: r_31, r_32 = 0 -> postponed; 34: r_32 = r_33 = 0 -> trades
    assert np.flatnonzero(res.rebalanced).tolist() == [0, 30, 34]
    assert np.flatnonzero(res.postponed).tolist() == [31, 32, 33]
    np.testing.assert_allclose(res.weights[34], [0.5, 0.5], atol=1e-12)


@given(seed=st.integers(0, 1000), frequency=st.sampled_from(["weekly", "monthly", 7, None]),
       threshold=st.sampled_from([None, 0.02]), bps=st.sampled_from([0.0, 15.0]))
def test_infinite_volatility_limit_changes_nothing(seed, frequency, threshold, bps):
    P = _prices(T=150, seed=seed)
    dates = np.datetime64("2021-01-04") + np.arange(150)
    kw = {"frequency": frequency, "threshold": threshold, "commission_bps": bps, "dates": dates}
    old = backtest(P, [0.3, 0.3, 0.2, 0.2], **kw)
    for limit in (np.inf, None):
        new = backtest(P, [0.3, 0.3, 0.2, 0.2], volatility_limit=limit, volatility_window=5, **kw)
        for name in ("equity", "cash", "weights", "turnover", "costs", "rebalanced", "realized_short_term"):
            np.testing.assert_array_equal(getattr(new, name), getattr(old, name))
        assert new.n_postponed == 0 and not new.postponed.any()


@given(seed=st.integers(0, 1000), cut=st.integers(20, 199))
def test_volatility_pause_has_no_look_ahead(seed, cut):
    """Appending later prices never changes an earlier decision (postponed or rebalanced)."""
    P = 100 * np.cumprod(1 + np.random.default_rng(seed).normal(0, 0.02, (200, 3)), axis=0)
    kw = {"frequency": 5, "threshold": 0.01, "commission_bps": 10.0, "volatility_limit": 0.2,
          "volatility_window": 10}
    short, full = backtest(P[:cut], [0.5, 0.3, 0.2], **kw), backtest(P, [0.5, 0.3, 0.2], **kw)
    np.testing.assert_array_equal(short.postponed, full.postponed[:cut])
    np.testing.assert_array_equal(short.rebalanced, full.rebalanced[:cut])
    np.testing.assert_array_equal(short.equity, full.equity[:cut])


@pytest.mark.parametrize("window", [2, 21, 63])
def test_running_window_matches_annual_volatility_over_a_long_run(window):
    """Over 2,000 dates the kernel's running sums decide as pmcore.metrics.annual_volatility of the window."""
    rng = np.random.default_rng(window)
    scale = np.repeat(rng.uniform(0.005, 0.03, 40), 50)[:, None]  # calm and wild regimes
    P = 100 * np.cumprod(1 + rng.normal(0.0003, 1.0, (2000, 3)) * scale, axis=0)
    limit = 0.25
    res = backtest(P, [0.4, 0.4, 0.2], frequency="daily", threshold=0.01, commission_bps=10.0,
                   volatility_limit=limit, volatility_window=window)
    vol = np.array([pm.annual_volatility(res.returns[t - window:t]) if t > window else np.nan
                    for t in range(len(P))])
    assert res.postponed.sum() > 50 and res.rebalanced[window + 1:].sum() > 20
    assert (vol[res.postponed] > limit).all()
    late = res.rebalanced & (np.arange(len(P)) > window)  # before that the volatility is undefined
    assert (vol[late] <= limit).all()  # every rebalance with a full window happened in calm
