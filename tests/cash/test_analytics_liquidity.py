"""Analytics, sweep, liquidity stress and forecasts against closed forms and plain references."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pmcore.cash import (
    BusinessCalendar,
    Ledger,
    Limits,
    apply_transfers,
    backtest_forecast,
    cash_drag,
    cash_utilization,
    daily_flows,
    forecast_cash_flows,
    liquidity_coverage,
    stress_test,
    sweep_plan,
    yield_on_cash,
)
from pmcore.errors import ValidationError
from pmcore.frames import frame_kind, from_arrow

D = Decimal


def test_utilization_drag_yield_closed_forms():
    assert cash_utilization(np.array([0.0, 25.0, 5.0]), np.array([100.0, 100.0, 0.0]))[:2].tolist() == \
        [1.0, 0.75]
    assert np.isnan(cash_utilization(5.0, 0.0))
    r = np.array([0.01, -0.02, 0.03])
    d = cash_drag(r, 0.2, cash_return=0.001, periods_per_year=3)
    rp = 0.8 * r + 0.2 * 0.001
    np.testing.assert_allclose(d.portfolio_returns, rp)
    np.testing.assert_allclose(d.drag, 0.2 * (r - 0.001))
    assert d.cumulative_drag == pytest.approx(np.prod(1 + r) - np.prod(1 + rp))
    assert d.annualized_drag == pytest.approx(d.cumulative_drag)  # n = periods_per_year
    assert "CashDrag(n_obs=3" in repr(d) and d.to_arrow().num_rows == 3
    # zero cash: no drag; all cash at the cash rate: drag = invested - cash
    assert cash_drag(r, 0.0).cumulative_drag == 0
    assert np.isnan(cash_drag([], 0.1).annualized_drag)
    with pytest.raises(ValidationError):
        cash_drag(r, 1.5)
    # 5 % a year on 1,000,000 accrued daily on a constant balance
    income = np.full(365, 1_000_000 * 0.05 / 365)
    assert yield_on_cash(income, np.full(365, 1_000_000.0)) == pytest.approx(0.05)
    assert np.isnan(yield_on_cash([], []))


def test_sweep_plan_hand_worked_and_applied():
    led = Ledger(clock=lambda: 0, limits=Limits(reserve_ratio=0))
    led.deposit("A", "USD", "1000", trade_date="2026-11-20", status="settled")
    led.deposit("A", "USD", "50", strategy="money_market", trade_date="2026-11-20", status="settled")
    led.lock("A", "USD", "100")
    led.deposit("B", "EUR", "10", trade_date="2026-11-20", status="settled")
    led.deposit("B", "EUR", "200", strategy="money_market", trade_date="2026-11-20", status="settled")
    plan = sweep_plan(led.balances(), buffer_ratio=0.10)
    rows = {(r["portfolio_id"], r["currency"]): r for r in plan.to_pylist()}
    # A: free 900, buffer ceil(0.1 * 1050) = 105 -> sweep 795 to the sleeve
    assert (rows[("A", "USD")]["to_strategy"], rows[("A", "USD")]["amount"]) == ("money_market", D("795"))
    # B: free 10, buffer 21 -> bring back 11
    assert (rows[("B", "EUR")]["from_strategy"], rows[("B", "EUR")]["amount"]) == ("money_market", D("11"))
    apply_transfers(led, plan, trade_date="2026-11-20")
    assert led.balance("A", "USD", strategy="money_market")["settled"] == D("845")
    assert led.balance("B", "EUR")["settled"] == D("21")
    assert sweep_plan(led.balances()).num_rows == 0  # applied: nothing left to move
    assert sweep_plan(led.balances(kind="pandas"), minimum="1").shape[0] == 0


def test_apply_transfers_is_all_or_nothing():
    led = Ledger(clock=lambda: 0, limits=Limits(reserve_ratio=0))
    led.deposit("A", "USD", "100", trade_date="2026-11-20", status="settled")
    plan = {"portfolio_id": ["A", "A"], "currency": ["USD", "USD"], "from_strategy": ["default"] * 2,
            "to_strategy": ["x", "y"], "amount": ["60", "40.01"]}
    with pytest.raises(ValidationError, match="no longer fits"):
        apply_transfers(led, plan)
    assert len(led) == 1


def test_liquidity_coverage_and_stress_hand_worked(backend):
    assert liquidity_coverage(np.array([50.0, 1.0]), np.array([100.0, 0.0])).tolist() == [0.5, np.inf]
    p = from_arrow(pa.table({"portfolio_id": ["A", "B"], "cash": [100.0, 1000.0],
                             "equity": [1000.0, 2000.0], "exposure": [0.0, 4000.0]}), backend)
    s = stress_test(p, withdrawal_shocks=[0.1], drawdowns=[0.0, 0.5], daily_flows=-5.0, horizon=10,
                    shock_days=2, margin_call_ratio=0.5, start="2026-11-20")
    assert frame_kind(s.table) == backend
    rows = s.to_arrow().to_pylist()
    a0, a50, b0, b50 = rows
    # A, no drawdown: 100 out over 2 days (50 + 50) plus 5 a day; cash 100 -> 45, -10: short on day 1
    assert a0["outflow"] == pytest.approx(150.0) and a0["coverage_ratio"] == pytest.approx(100 / 150)
    assert a0["first_short_day"] == 1 and a0["first_short_date"] == dt.date(2026, 11, 23)
    assert a0["min_cash"] == pytest.approx(100 - 100 - 50)
    # A, 50 % drawdown: shock 50 -> 100-30=70, 70-30=40, then -5/day: 40-8*5 = 0 never below 0
    assert a50["first_short_day"] is None and a50["min_cash"] == pytest.approx(0.0)
    # B, 50 % drawdown: margin call 0.5*0.5*4000 = 1000 on day 0 plus 100/2 shock and 5 -> short on day 0
    assert b50["outflow"] == pytest.approx(1000 + 100 + 50) and b50["first_short_day"] == 0
    assert b0["first_short_day"] is None
    assert s.worst["portfolio_id"] == "A" and "run short" in repr(s)
    with pytest.raises(ValidationError):
        stress_test(p, withdrawal_shocks=[1.5])


def _ref_first_short(cash, flows):
    c = cash
    for t, f in enumerate(flows):
        c += f
        if c < 0:
            return t
    return None


@settings(max_examples=25, deadline=None)
@given(st.floats(0, 1000), st.floats(0, 5000), st.floats(0, 1), st.floats(0, 1),
       st.lists(st.floats(-100, 100), min_size=5, max_size=5))
@example(cash=1.0, equity=7.4e-60, shock=1.2e-258, dd=0.0, base=[0.0] * 5)  # coverage beyond the float range
def test_stress_matches_a_plain_simulation(cash, equity, shock, dd, base):
    s = stress_test(pa.table({"portfolio_id": ["A"], "cash": [cash], "equity": [equity]}),
                    withdrawal_shocks=[shock], drawdowns=[dd], daily_flows=np.array(base), horizon=5)
    flows = list(base)
    flows[0] -= shock * equity * (1 - dd)
    assert s.to_arrow().to_pylist()[0]["first_short_day"] == _ref_first_short(cash, flows)


def _history(n_weeks=30, seed=0):
    rng = np.random.default_rng(seed)
    days = BusinessCalendar().business_days("2026-01-05", dt.date(2026, 1, 5) + dt.timedelta(weeks=n_weeks))
    weekday = (days + 3) % 7
    flows = np.array([100.0, -20.0, 0.0, 10.0, -300.0])[weekday] + rng.normal(0, 1, len(days))
    return pa.table({"date": pa.array(days.astype("datetime64[D]"), pa.date32()), "flow": flows})


def test_forecast_methods_closed_forms():
    h = _history()
    flows = h.column("flow").to_numpy()
    avg = forecast_cash_flows(h, horizon=5).column("forecast").to_numpy()
    np.testing.assert_allclose(avg, flows.mean())
    wk = forecast_cash_flows(h, method="weekday", horizon=5)
    days = wk.column("date").to_numpy().astype("datetime64[D]").astype(np.int64)
    hd = h.column("date").to_numpy().astype("datetime64[D]").astype(np.int64)
    for d, f in zip(days, wk.column("forecast").to_numpy()):
        assert f == pytest.approx(flows[(hd + 3) % 7 == (d + 3) % 7].mean())
    assert [(d + 3) % 7 for d in days] == [1, 2, 3, 4, 0]  # Tuesday to Monday after a Monday
    mo = forecast_cash_flows(h, method="month", horizon=3).column("forecast").to_numpy()
    assert np.isfinite(mo).all()
    # missing business days count as zero flow
    sparse = pa.table({"date": [dt.date(2026, 11, 16), dt.date(2026, 11, 20)], "flow": [10.0, 0.0]})
    assert forecast_cash_flows(sparse, horizon=1).column("forecast").to_pylist() == [2.0]
    with pytest.raises(ValidationError):
        forecast_cash_flows(h, method="arima")


def test_backtest_error_and_no_look_ahead():
    h = _history()
    avg = backtest_forecast(h, method="average")
    wk = backtest_forecast(h, method="weekday")
    assert wk.mae < avg.mae / 10  # the weekly pattern is what the weekday method captures
    t = wk.to_arrow()
    np.testing.assert_allclose(t.column("error").to_numpy(),
                               t.column("forecast").to_numpy() - t.column("actual").to_numpy())
    assert wk.rmse >= wk.mae >= abs(wk.bias)
    shorter = backtest_forecast(h.slice(0, 80), method="weekday").to_arrow()
    np.testing.assert_array_equal(shorter.column("forecast").to_numpy(),
                                  t.column("forecast").to_numpy()[:shorter.num_rows])
    assert "ForecastBacktest(n=" in repr(wk)


def test_daily_flows_from_a_ledger():
    led = Ledger(clock=lambda: 0)
    led.deposit("A", "USD", "100.05", trade_date="2026-11-20", settlement_days=0, status="settled")
    led.deposit("A", "USD", "0.95", trade_date="2026-11-20", settlement_days=0, status="settled")
    led.deposit("A", "USD", "7", trade_date="2026-11-20")
    led.withdraw("A", "USD", "10", trade_date="2026-11-23", settlement_days=0, status="settled")
    f = daily_flows(led.transactions())
    assert f.column("flow").to_pylist() == [D("101"), D("-10")]
    assert daily_flows(led.transactions(), statuses=("settled", "pending")).column("flow").to_pylist() == \
        [D("101"), D("-10"), D("7")]  # the pending deposit has value date 2026-11-24 (T+2)
    with pytest.raises(ValidationError):
        daily_flows(led.transactions(), statuses=("done",))
