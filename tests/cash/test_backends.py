"""The pure functions of pmcore.cash with pyarrow, polars and pandas inputs: same numbers, caller's kind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from pmcore.cash import (
    Ledger,
    backtest_forecast,
    cash_history,
    daily_flows,
    flows_in_base,
    forecast_cash_flows,
    hedge_suggestion,
    reconcile,
    sweep_plan,
)
from pmcore.frames import frame_kind, from_arrow, to_arrow


def _ledger():
    led = Ledger(clock=lambda: 0)
    led.deposit("A", "USD", "100.01", trade_date="2026-11-20", settlement_days=0, status="settled")
    led.deposit("A", "EUR", "50", trade_date="2026-11-20")
    led.transfer("A", "USD", "20", "default", "money_market", trade_date="2026-11-23")
    return led


def _same(result, backend, reference):
    assert frame_kind(result) == backend
    assert to_arrow(result, "r").to_pylist() == reference.to_pylist()


def test_every_function_mirrors_the_input_kind(backend):
    lines = _ledger().transactions()
    frame = from_arrow(lines, backend)
    dates = ["2026-11-20", "2026-11-24"]
    _same(daily_flows(frame), backend, daily_flows(lines))
    _same(cash_history(frame, dates), backend, cash_history(lines, dates))
    fx = {"currency": ["EUR"], "rate": ["1.1"]}
    _same(flows_in_base(frame, fx), backend, flows_in_base(lines, fx))
    bal = _ledger().balances()
    _same(sweep_plan(from_arrow(bal, backend)), backend, sweep_plan(bal))
    exp = pa.table({"portfolio_id": ["A"], "currency": ["EUR"], "amount": [Decimal("10.5")]})
    _same(hedge_suggestion(from_arrow(exp, backend), target_ratio=0.5), backend,
          hedge_suggestion(exp, target_ratio=0.5))
    r = reconcile(frame, frame, on=("txn_id", "leg"))
    assert frame_kind(r.lines) == backend and r.is_reconciled
    hist = pa.table({"date": [dt.date(2026, 11, 16) + dt.timedelta(d) for d in range(5)],
                     "flow": [1.0, 2.0, 3.0, 4.0, 5.0]})
    _same(forecast_cash_flows(from_arrow(hist, backend), horizon=2), backend,
          forecast_cash_flows(hist, horizon=2))
    b = backtest_forecast(from_arrow(hist, backend), min_history=2)
    assert frame_kind(b.table) == backend and b.mae == backtest_forecast(hist, min_history=2).mae
