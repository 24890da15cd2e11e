"""Multi-currency, allocation across strategies and reconciliation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.cash import (
    Ledger,
    Limits,
    allocation_weights,
    apply_allocation,
    cash_history,
    currency_exposure,
    flows_in_base,
    fx_convert,
    hedge_suggestion,
    plan_allocation,
    reconcile,
    split_exact,
)
from pmcore.datasets import load_sample_book
from pmcore.errors import ValidationError
from pmcore.frames import frame_kind, from_arrow

D = Decimal


def test_fx_convert_matches_ledger_and_fractions():
    # 1,000 EUR at 1.0478 with 25 bp: 1,047.80 USD bought, 2.50 EUR cost (hand-worked)
    c = fx_convert("1000", "1.0478", spread="0.0025")
    assert (c.sold, c.bought, c.cost) == (D("1000"), D("1047.8"), D("2.5"))
    # half-even rounding at the 8th decimal: 0.00000001 * 0.5 = 0.000000005 -> 0.00000000
    assert fx_convert("0.00000001", "0.5").bought == 0
    assert fx_convert("0.00000003", "0.5").bought == D("0.00000002")
    led = Ledger(clock=lambda: 0, limits=Limits(reserve_ratio=0))
    led.deposit("P", "EUR", "2000", trade_date="2026-11-20", status="settled")
    led.convert("P", "EUR", "USD", "1000", 1.0478, spread=0.0025, trade_date="2026-11-20", status="settled")
    assert led.balance("P", "USD")["settled"] == c.bought
    assert led.balance("P", "EUR")["settled"] == D("2000") - c.sold - c.cost
    with pytest.raises(ValidationError):
        fx_convert("1", "0")
    with pytest.raises(ValidationError):
        fx_convert("1", "1", spread="1")


def test_currency_exposure_on_the_sample_book(backend):
    sample = load_sample_book(backend)
    e = currency_exposure(sample.cash, sample.fx)
    assert frame_kind(e) == backend
    t = e if backend == "arrow" else pa.Table.from_pandas(e) if backend == "pandas" else e.to_arrow()
    rows = {(r["portfolio_id"], r["currency"]): r for r in t.to_pylist()}
    # GLOBAL-EQ JPY 3,150,000 at 0.006468 = 20,374.20 USD exactly
    assert rows[("GLOBAL-EQ", "JPY")]["base_value"] == D("20374.2")
    # MACRO-FUT EUR -35,000 at 1.0478 = -36,673.00
    assert rows[("MACRO-FUT", "EUR")]["base_value"] == D("-36673")
    ge = [r for k, r in rows.items() if k[0] == "GLOBAL-EQ"]
    assert sum(r["share"] for r in ge) == pytest.approx(1.0)
    with pytest.raises(ValidationError, match="without an fx rate"):
        currency_exposure(sample.cash, {"currency": ["USD"], "rate": [1.0]})


def test_hedge_suggestion_closed_form():
    exp = pa.table({"portfolio_id": ["A", "A", "B"], "currency": ["EUR", "GBP", "EUR"],
                    "amount": ["1000", "-300", "50.5"]})
    h = hedge_suggestion(exp, target_ratio=0.75,
                         hedged={"portfolio_id": ["A"], "currency": ["EUR"], "amount": ["800"]})
    got = {(r["portfolio_id"], r["currency"]): r["to_hedge"] for r in h.to_pylist()}
    assert got == {("A", "EUR"): D("-50"), ("A", "GBP"): D("-225"), ("B", "EUR"): D("37.875")}


def test_flows_in_base():
    led = Ledger(clock=lambda: 0)
    led.deposit("P", "EUR", "100", trade_date="2026-11-20", status="settled")
    led.deposit("P", "GBP", "10", trade_date="2026-11-20")
    x = led.deposit("P", "GBP", "99", trade_date="2026-11-20")
    led.cancel(x)
    out = flows_in_base(led.transactions(), {"currency": ["EUR", "GBP"], "rate": ["1.0478", "1.2587"]})
    assert out.column("base_value").to_pylist() == [D("104.78"), D("12.587")]


def test_allocation_weights_closed_forms():
    rng = np.random.default_rng(1)
    r = rng.normal(0, [0.01, 0.02, 0.04], size=(500, 3))
    vol = r.std(axis=0, ddof=1) * np.sqrt(252)
    inv = allocation_weights(["a", "b", "c"], method="inverse_volatility", returns=r)
    np.testing.assert_allclose(inv, (1 / vol) / (1 / vol).sum())
    vt = allocation_weights(["a", "b", "c"], method="volatility_target", returns=r, target_volatility=0.05)
    np.testing.assert_allclose(vt, 0.05 / vol / 3)  # sums below one: the rest stays cash
    assert vt.sum() < 1
    perf = allocation_weights(["a", "b"], method="performance", returns=np.array([[0.02, -0.01], [0.0, -0.01]]))
    assert perf.tolist() == [1.0, 0.0]
    assert allocation_weights(["a", "b"], method="target", targets={"b": 0.25}).tolist() == [0.0, 0.25]
    frame = pa.table({"a": r[:, 0], "b": r[:, 1], "c": r[:, 2]})
    np.testing.assert_allclose(allocation_weights(["c", "a"], method="inverse_volatility", returns=frame),
                               np.array([1 / vol[2], 1 / vol[0]]) / (1 / vol[2] + 1 / vol[0]))
    for bad in ({"method": "magic"}, {"method": "target", "targets": [0.8, 0.8]},
                {"method": "inverse_volatility", "returns": np.ones((5, 2))},
                {"method": "volatility_target", "returns": r[:, :2]}):
        with pytest.raises(ValidationError):
            allocation_weights(["a", "b"], **bad)


@given(st.integers(0, 10**15), st.lists(st.integers(1, 1000), min_size=1, max_size=8))
def test_split_exact_adds_up(total, raw):
    w = np.array(raw, float) / sum(raw)
    parts = split_exact(total, w)
    assert parts.sum() == total and (parts >= 0).all()
    exact = [Fraction(total) * Fraction(float(x)) for x in w]
    assert all(abs(p - e) < 1 for p, e in zip(parts.tolist(), exact))


def test_plan_and_apply_allocation():
    led = Ledger(clock=lambda: 0, limits=Limits(reserve_ratio=0))
    led.deposit("P", "USD", "1000.01", trade_date="2026-11-20", status="settled")
    led.deposit("P", "USD", "500", strategy="carry", trade_date="2026-11-20", status="settled")
    plan = plan_allocation(led, "P", "USD", ["default", "carry", "trend"], method="target",
                           targets=[0.5, 0.3, 0.2])
    assert sum(plan.target) == D("1500.01")
    assert [str(x) for x in plan.target] == ["750.00500000", "450.00300000", "300.00200000"]
    assert "Allocation(P USD" in repr(plan) and plan.to_arrow().num_rows == 3
    ids = apply_allocation(led, plan, trade_date="2026-11-20")
    assert len(ids) == 2
    for s, t in zip(plan.strategies, plan.target):
        assert led.balance("P", "USD", strategy=s)["settled"] == t
    with pytest.raises(ValidationError, match="does not fit the available cash"):
        plan_allocation(led, "P", "USD", ["default", "carry"], amount="1500")
    # a stale plan is refused whole
    stale = plan_allocation(led, "P", "USD", ["default", "trend"], method="target", targets=[0, 1])
    led.withdraw("P", "USD", "700", trade_date="2026-11-20")
    before = led.transactions().num_rows
    with pytest.raises(ValidationError, match="no longer fits"):
        apply_allocation(led, stale)
    assert led.transactions().num_rows == before
    hist = cash_history(led.transactions(), ["2026-11-19", "2026-11-20"], by=("strategy",))
    got = {(r["strategy"], r["date"]): r["cash"] for r in hist.to_pylist()}
    assert got[("trend", dt.date(2026, 11, 20))] == D("300.002")
    assert got[("default", dt.date(2026, 11, 19))] == 0


def _ledger_lines(n, seed):
    rng = np.random.default_rng(seed)
    return pa.table({"txn_id": [f"T{i}" for i in range(n)],
                     "amount": pa.array([D(int(x)) / 100 for x in rng.integers(-10**6, 10**6, n)],
                                        pa.decimal128(38, 8)),
                     "value_date": pa.array((20777 + rng.integers(0, 5, n)).astype("datetime64[D]"))})


def test_reconcile_hand_worked_and_kinds(backend):
    d = dt.date(2026, 11, 20)
    led = pa.table({"ref": ["a", "b", "c", "d"], "amount": ["10", "5.5", "1", "3"],
                    "value_date": [d, d, d, d]})
    st_ = pa.table({"ref": ["d", "a", "b", "z"], "amount": ["3", "10", "5.49999999", "2"],
                    "value_date": [dt.date(2026, 11, 23), d, d, d]})
    r = reconcile(from_arrow(led, backend), from_arrow(st_, backend), on="ref")
    assert frame_kind(r.lines) == backend
    lines = {x["ref"]: x for x in r.to_arrow().to_pylist()}
    assert {k: v["status"] for k, v in lines.items()} == {
        "a": "matched", "b": "amount_mismatch", "c": "missing_in_statement",
        "d": "date_mismatch", "z": "missing_in_ledger"}
    assert lines["b"]["difference"] == D("0.00000001")
    assert lines["c"]["statement_amount"] is None and lines["c"]["difference"] is None
    assert lines["z"]["ledger_amount"] is None and lines["z"]["ledger_date"] is None
    assert lines["z"]["statement_amount"] == D("2") and lines["d"]["statement_date"] == dt.date(2026, 11, 23)
    assert r.ledger_total - r.statement_total == r.difference == D("-0.99999999")
    assert not r.is_reconciled
    assert reconcile(led, st_, on="ref", date_tolerance_days=3).counts["date_mismatch"] == 0
    with pytest.raises(ValidationError, match="duplicate key"):
        reconcile(led, pa.concat_tables([st_, st_]), on="ref")


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 300), st.integers(0, 10))
def test_reconcile_against_itself_and_perturbed(n, seed):
    lines = _ledger_lines(n, seed)
    r = reconcile(lines, lines.take(pa.array(np.random.default_rng(seed).permutation(n))))
    assert r.is_reconciled and r.counts["matched"] == n and r.difference == 0
    if n:
        amounts = lines.column("amount").to_pylist()
        amounts[0] += D("0.00000001")
        bumped = lines.set_column(1, "amount", pa.array(amounts, pa.decimal128(38, 8)))
        r2 = reconcile(lines, bumped.slice(0, n - 1) if n > 1 else bumped)
        assert r2.counts["amount_mismatch"] == 1
        assert r2.difference == sum(lines.column("amount").to_pylist(), D(0)) - \
            sum((bumped.slice(0, n - 1) if n > 1 else bumped).column("amount").to_pylist(), D(0))


def test_reconcile_ledger_legs_against_itself():
    led = Ledger(clock=lambda: 0)
    led.deposit("P", "EUR", 100, trade_date="2026-11-20", status="settled")
    led.convert("P", "EUR", "USD", 50, "1.1", spread="0.001", trade_date="2026-11-20")
    t = led.transactions()
    assert reconcile(t, t, on=("txn_id", "leg")).is_reconciled
