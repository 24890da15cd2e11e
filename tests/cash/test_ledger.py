"""The ledger: hand-worked examples, transitions, limits, atomic refusals, audit, properties."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.cash import ALLOWED_TRANSITIONS, BusinessCalendar, Ledger, Limits
from pmcore.errors import ValidationError
from pmcore.frames import frame_kind

D = Decimal


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        self.t += 1_000
        return self.t


def snapshot(led):
    return (led.transactions().to_pylist(), led.audit().to_pylist(), led.balances().to_pylist(),
            len(led))


def test_hand_worked_example():
    # deposit 1,000.10 settled; 250.05 pending in; withdraw 300.00 (pending out);
    # lock 50; reserve 10 % of 1,000.10 = 100.01
    led = Ledger(clock=Clock())
    led.deposit("P", "USD", "1000.10", trade_date="2026-11-20", status="settled")
    led.deposit("P", "USD", "250.05", trade_date="2026-11-20")
    led.lock("P", "USD", "50")
    w = led.withdraw("P", "USD", "300.00", trade_date="2026-11-20")
    b = led.balance("P", "USD")
    assert b == {"settled": D("1000.10"), "pending_in": D("250.05"), "pending_out": D("300"),
                 "locked": D("50"), "reserved": D("100.01"),
                 "available": D("1000.10") - D("300") - D("50") - D("100.01"),
                 "total": D("950.15")}
    led.settle(w)
    b = led.balance("P", "USD")
    assert b["settled"] == D("700.10") and b["reserved"] == D("70.01")
    assert b["available"] == D("700.10") - D("50") - D("70.01")


def test_reserve_rounds_up_to_the_unit():
    led = Ledger(clock=Clock(), limits=Limits(reserve_ratio=0.1))
    led.deposit("P", "USD", "0.00000001", trade_date="2026-11-20", status="settled")
    assert led.balance("P", "USD")["reserved"] == D("0.00000001")


@pytest.mark.parametrize("old", list(ALLOWED_TRANSITIONS))
@pytest.mark.parametrize("new", list(ALLOWED_TRANSITIONS))
def test_only_allowed_transitions(old, new):
    led = Ledger(clock=Clock())
    tx = led.deposit("P", "USD", 10, trade_date="2026-11-20")
    if old != "pending":
        led.set_status(tx, old)
    before = snapshot(led)
    if new in ALLOWED_TRANSITIONS[old]:
        led.set_status(tx, new)
        assert led.status(tx) == new
    else:
        with pytest.raises(ValidationError, match=f"{tx} refused: cannot move from '{old}'"):
            led.set_status(tx, new)
        assert snapshot(led) == before


def test_unknown_transaction_and_status():
    led = Ledger(clock=Clock())
    tx = led.deposit("P", "USD", 10, trade_date="2026-11-20")
    with pytest.raises(ValidationError, match="txn_id"):
        led.settle("nope")
    with pytest.raises(ValidationError, match="is not a status"):
        led.set_status(tx, "done")


def test_withdrawal_beyond_available_is_refused_atomically():
    led = Ledger(clock=Clock())
    led.deposit("P", "USD", 100, trade_date="2026-11-20", status="settled")
    before = snapshot(led)
    with pytest.raises(ValidationError) as info:
        led.withdraw("P", "USD", "90.00000001", trade_date="2026-11-20")
    err = info.value
    assert err.argument == "withdrawal" and err.column == "amount"
    assert "W000002 refused: exceeds available cash 90.00000000 USD" in str(err)
    assert snapshot(led) == before
    led.withdraw("P", "USD", "90", trade_date="2026-11-20")  # exactly the available cash
    assert led.balance("P", "USD")["available"] == 0


def test_pending_deposits_are_not_available():
    led = Ledger(clock=Clock(), limits=Limits(reserve_ratio=0))
    led.deposit("P", "USD", 100, trade_date="2026-11-20")
    with pytest.raises(ValidationError, match="exceeds available"):
        led.withdraw("P", "USD", 1, trade_date="2026-11-20")


def test_per_transaction_and_daily_limits():
    led = Ledger(clock=Clock(), limits=Limits(max_transaction={"USD": 500}, max_daily_withdrawal=300,
                                              reserve_ratio=0))
    with pytest.raises(ValidationError, match="per-transaction limit of 500"):
        led.deposit("P", "USD", "500.01", trade_date="2026-11-20")
    led.deposit("P", "EUR", "10000", trade_date="2026-11-20", status="settled")  # no EUR cap
    led.deposit("P", "USD", 500, trade_date="2026-11-20", status="settled")
    a = led.withdraw("P", "USD", 200, trade_date="2026-11-20")
    before = snapshot(led)
    with pytest.raises(ValidationError, match="daily withdrawal limit of 300.00000000 USD"):
        led.withdraw("P", "USD", "100.01", trade_date="2026-11-20")
    assert snapshot(led) == before
    led.withdraw("P", "USD", 100, trade_date="2026-11-21")  # another day
    led.cancel(a)  # a cancelled withdrawal frees the daily limit
    led.withdraw("P", "USD", 300, trade_date="2026-11-20")


def test_zero_negative_and_bad_amounts_refused():
    led = Ledger(clock=Clock())
    for bad in (0, -5, "abc", float("nan"), "1.000000001", True):
        with pytest.raises(ValidationError):
            led.deposit("P", "USD", bad, trade_date="2026-11-20")
    assert len(led) == 0


def test_duplicate_id_and_bad_dates():
    led = Ledger(clock=Clock())
    led.deposit("P", "USD", 1, trade_date="2026-11-20", txn_id="X")
    with pytest.raises(ValidationError, match="already in the ledger"):
        led.deposit("P", "USD", 1, trade_date="2026-11-20", txn_id="X")
    with pytest.raises(ValidationError, match="before the trade date"):
        led.deposit("P", "USD", 1, trade_date="2026-11-20", value_date="2026-11-19")
    with pytest.raises(ValidationError, match="not a date"):
        led.deposit("P", "USD", 1, trade_date="20/11/2026")
    assert len(led) == 1


def test_value_dates_follow_the_calendar():
    # Thu 2026-12-24, T+2 with 25 Dec and 28 Dec holidays: Fri 25 (hol), Mon 28 (hol) -> Tue 29, Wed 30
    cal = BusinessCalendar(holidays=[dt.date(2026, 12, 25), "2026-12-28"])
    led = Ledger(clock=Clock(), calendar=cal)
    tx = led.deposit("P", "USD", 1, trade_date="2026-12-24")
    assert led.transactions().column("value_date").to_pylist() == [dt.date(2026, 12, 30)]
    assert led.settle_due("2026-12-29") == []
    assert led.settle_due("2026-12-30") == [tx]
    # a trade on a holiday rolls forward first; T+0 on a Saturday settles Monday
    assert cal.value_date("2026-11-21", 0) == dt.date(2026, 11, 23)
    assert BusinessCalendar(weekend=("Fri", "Sat")).value_date("2026-11-19", 1) == dt.date(2026, 11, 22)


def test_transfer_and_conversion():
    led = Ledger(clock=Clock(), limits=Limits(reserve_ratio=0))
    led.deposit("P", "EUR", "1001.5", trade_date="2026-11-20", status="settled")
    with pytest.raises(ValidationError, match="exceeds available"):
        led.transfer("P", "EUR", "1001.51", "default", "carry", trade_date="2026-11-20")
    led.transfer("P", "EUR", "400", "default", "carry", trade_date="2026-11-20")
    # 600 EUR at 1.0478 with 25 bp: USD 628.68, spread 1.50 EUR
    led.convert("P", "EUR", "USD", "600", "1.0478", spread="0.0025", trade_date="2026-11-20",
                status="settled")
    assert led.balance("P", "USD")["settled"] == D("628.68")
    assert led.balance("P", "EUR")["settled"] == 0
    led.deposit("P", "EUR", "600", trade_date="2026-11-20", status="settled")
    with pytest.raises(ValidationError, match=r"the amount plus the spread \(601.50000000\) exceeds"):
        led.convert("P", "EUR", "USD", "600", "1.0478", spread="0.0025", trade_date="2026-11-20")
    assert led.balance("P", "EUR", strategy="carry")["settled"] == D("400")
    with pytest.raises(ValidationError, match="two different currencies"):
        led.convert("P", "USD", "USD", 1, 1)


@given(st.integers(1, 10**9), st.sampled_from(["2", "0.5", "4", "0.25", "1.25", "0.8", "10", "0.1"]),
       st.sampled_from(["0", "0.001", "0.0025", "0.01"]))
def test_fx_round_trip_loses_exactly_the_spread(cents, rate, spread):
    amount = Fraction(cents, 100)
    led = Ledger(clock=Clock(), limits=Limits(reserve_ratio=0))
    led.deposit("P", "EUR", D(cents) / 100 * 2, trade_date="2026-11-20", status="settled")
    led.deposit("P", "USD", D(cents) / 10, trade_date="2026-11-20", status="settled")  # pays USD spread
    led.convert("P", "EUR", "USD", D(cents) / 100, rate, spread=spread, trade_date="2026-11-20",
                status="settled")
    usd = led.balance("P", "USD")["settled"] - D(cents) / 10
    back_rate = 1 / Fraction(rate)
    led.convert("P", "USD", "EUR", usd, D(back_rate.numerator) / D(back_rate.denominator),
                spread=spread, trade_date="2026-11-20", status="settled")
    s = Fraction(spread)
    cost_eur = _ceil8(amount * s)
    cost_usd = _ceil8(Fraction(usd) * s)
    assert Fraction(led.balance("P", "EUR")["settled"]) == 2 * amount - cost_eur
    assert Fraction(led.balance("P", "USD")["settled"]) == Fraction(cents, 10) - cost_usd


def _ceil8(x: Fraction) -> Fraction:
    q = x * 10**8
    return Fraction(-((-q.numerator) // q.denominator), 10**8)


def test_history_as_of_any_time():
    led = Ledger(clock=Clock())
    a = led.deposit("P", "USD", 100, trade_date="2026-11-20", at=10)
    led.deposit("P", "USD", 50, trade_date="2026-11-20", at=20)
    led.settle(a, at=30, actor="ops")
    led.lock("P", "USD", 5, at=40)
    assert led.balances(as_of=5).num_rows == 0
    b15 = led.balances(as_of=15).to_pylist()[0]
    assert (b15["settled"], b15["pending_in"]) == (0, 100)
    b25 = led.balances(as_of=25).to_pylist()[0]
    assert (b25["settled"], b25["pending_in"], b25["locked"]) == (0, 150, 0)
    b35 = led.balances(as_of=35).to_pylist()[0]
    assert (b35["settled"], b35["pending_in"], b35["locked"]) == (100, 50, 0)
    assert led.balances(as_of=45).to_pylist()[0]["locked"] == 5
    assert led.transactions(as_of=25).column("status").to_pylist() == ["pending", "pending"]
    assert led.transactions(as_of="1970-01-01T00:00:00.000000035").column("status").to_pylist() == \
        ["settled", "pending"]
    audit = led.audit().to_pylist()
    assert [(r["txn_id"], r["action"], r["actor"]) for r in audit] == \
        [(a, "record", "system"), ("D000002", "record", "system"), (a, "settled", "ops"),
         (None, "lock", "system")]
    assert audit[3]["locked"] == 5 and audit[3]["currency"] == "USD" and audit[0]["locked"] is None
    assert led.audit().column("time").cast("int64").to_pylist() == [10, 20, 30, 40]


def test_margin_check_hook():
    calls = []

    def margin(pid, ccy, amount):
        calls.append((pid, ccy, amount))
        return D("25")

    led = Ledger(clock=Clock(), limits=Limits(reserve_ratio=0), margin_check=margin)
    led.deposit("P", "USD", 100, trade_date="2026-11-20", status="settled")
    with pytest.raises(ValidationError, match="breaks the margin rules"):
        led.withdraw("P", "USD", "25.01", trade_date="2026-11-20")
    led.withdraw("P", "USD", "25", trade_date="2026-11-20")
    assert calls[-1] == ("P", "USD", D("25"))


@pytest.mark.parametrize("kind", ["arrow", "polars", "pandas"])
def test_output_kinds(kind):
    led = Ledger(clock=Clock())
    led.deposit("P", "USD", "1.5", trade_date="2026-11-20")
    for frame in (led.balances(kind=kind), led.transactions(kind=kind), led.audit(kind=kind)):
        assert frame_kind(frame) == kind
    with pytest.raises(ValidationError):
        led.balances(kind="numpy")


def test_thread_pool_keeps_every_unit():
    led = Ledger(limits=Limits(reserve_ratio=0))

    def work(i):
        tx = led.deposit(f"P{i % 3}", "USD", "0.01", trade_date="2026-11-20")
        led.settle(tx)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(300)))
    total = sum(r["settled"] for r in led.balances().to_pylist())
    assert total == D("3.00") and len(led) == 300


# -- property: random operation sequences -----------------------------------------------
ops = st.lists(st.tuples(
    st.sampled_from(["deposit", "withdrawal", "fee", "dividend", "interest", "transfer",
                     "convert", "settle", "fail", "cancel", "lock", "due"]),
    st.integers(0, 1), st.integers(0, 1), st.integers(0, 1),
    st.integers(-10**12, 10**12), st.integers(0, 50)), max_size=40)


def _fraction_balances(led):
    """Independent recomputation with Fractions from the transaction frame."""
    out = {}
    for r in led.transactions().to_pylist():
        key = (r["portfolio_id"], r["strategy"], r["currency"])
        b = out.setdefault(key, [Fraction(0)] * 3)
        a = Fraction(r["amount"])
        if r["status"] == "settled":
            b[0] += a
        elif r["status"] == "pending":
            if a >= 0:
                b[1] += a
            else:
                b[2] -= a
    return out


@settings(max_examples=100, deadline=None)
@given(ops)
def test_any_sequence_balances_exactly(sequence):
    led = Ledger(clock=Clock(), limits=Limits(reserve_ratio=0.1, max_daily_withdrawal=5000))
    ids = []
    for op, p, s, c, amount, pick in sequence:
        pid, strat, ccy = f"P{p}", ["default", "alt"][s], ["USD", "EUR"][c]
        value = Fraction(abs(amount) + 1, 10**8)
        dec = D(value.numerator) / D(10**8) if value.denominator == 10**8 else D(value.numerator)
        before = snapshot(led)
        try:
            if op in ("deposit", "withdrawal", "fee", "dividend"):
                ids.append(led.record(op, pid, ccy, dec, strategy=strat, trade_date="2026-11-20",
                                      status="settled" if pick % 2 else "pending"))
            elif op == "interest":
                ids.append(led.record(op, pid, ccy, D(amount or 1) / 10**8, strategy=strat,
                                      trade_date="2026-11-20"))
            elif op == "transfer":
                ids.append(led.transfer(pid, ccy, dec, strat, "third", trade_date="2026-11-20",
                                        status="pending" if pick % 2 else "settled"))
            elif op == "convert":
                ids.append(led.convert(pid, ccy, ["EUR", "USD"][c], dec, "1.0478", spread="0.001",
                                       strategy=strat, trade_date="2026-11-20"))
            elif op == "lock":
                led.lock(pid, ccy, dec, strategy=strat)
            elif op == "due":
                due = led.settle_due("2026-11-24")
                assert all(led.status(tx) == "settled" for tx in due)
                assert not led.settle_due("2026-11-24")
            elif ids:
                led.set_status(ids[pick % len(ids)], {"settle": "settled", "fail": "failed",
                                                      "cancel": "cancelled"}[op])
        except ValidationError:
            assert snapshot(led) == before  # a refused change writes nothing
    ref = _fraction_balances(led)
    frame = {(r["portfolio_id"], r["strategy"], r["currency"]): r for r in led.balances().to_pylist()}
    for key, (settled, pin, pout) in ref.items():
        row = frame[key]
        assert Fraction(row["settled"]) == settled
        assert Fraction(row["pending_in"]) == pin and Fraction(row["pending_out"]) == pout
        assert row["settled"] + row["pending_in"] - row["pending_out"] == row["total"]
        live = led.balance(key[0], key[2], strategy=key[1])
        assert {k: live[k] for k in ("settled", "pending_in", "pending_out", "total", "available")} == \
            {k: row[k] for k in ("settled", "pending_in", "pending_out", "total", "available")}
    pending = [r for r in led.transactions().to_pylist() if r["status"] == "pending"]
    assert sorted({r["txn_id"] for r in pending}) == sorted(led._pending)
    replayed = led.replay()
    assert replayed.balances().to_pylist() == led.balances().to_pylist()
    assert replayed.audit().to_pylist() == led.audit().to_pylist()
    assert replayed.transactions().to_pylist() == led.transactions().to_pylist()
    rebuilt = Ledger.from_history(led.transactions(), led.audit(), clock=Clock(), limits=led.limits)
    assert rebuilt.balances().to_pylist() == led.balances().to_pylist()
    assert rebuilt.audit().to_pylist() == led.audit().to_pylist()


def test_margin_rule_from_pmcore_margin():
    """The margin-aware rule: free margin 1,400 USD (2,000 cash, 600 initial margin at 10x on 6,000)."""
    import pyarrow as pa

    from pmcore.cash.margin_rule import margin_withdrawal_check
    from pmcore.margin import margin_state

    st = margin_state(pa.table({"portfolio_id": ["F"], "instrument_id": ["BTC"], "quantity": [0.1],
                                "avg_price": [60_000.0]}),
                      {"instrument_id": ["BTC"], "price": [60_000.0]},
                      instruments=pa.table({"instrument_id": ["BTC"], "currency": ["USD"]}),
                      cash=pa.table({"portfolio_id": ["F", "C"], "currency": ["USD", "USD"],
                                     "amount": [2_000.0, 10.0]}),
                      accounts={"F": "margin", "C": "cash"}, leverage=10)
    check = margin_withdrawal_check(st, {"currency": ["EUR"], "rate": ["1.25"]})
    assert check("F", "USD", D(1)) == D("1400")
    assert check("F", "EUR", D(1)) == D("1120")  # 1,400 USD / 1.25
    assert check("nobody", "USD", D(1)) is None
    led = Ledger(clock=Clock(), limits=Limits(reserve_ratio=0), margin_check=check)
    led.deposit("F", "EUR", 5000, trade_date="2026-11-20", status="settled")
    before = snapshot(led)
    with pytest.raises(ValidationError, match="at most 1120.00000000 EUR"):
        led.withdraw("F", "EUR", "1120.01", trade_date="2026-11-20")
    assert snapshot(led) == before
    led.withdraw("F", "EUR", "1120", trade_date="2026-11-20")
    with pytest.raises(ValidationError, match="no fx rate"):
        check("F", "JPY", D(1))


def test_record_batch_all_or_nothing(backend):
    import pyarrow as pa

    from pmcore.frames import from_arrow

    led = Ledger(clock=Clock(), limits=Limits(reserve_ratio=0, max_daily_withdrawal=60))
    led.deposit("P", "USD", "10", trade_date="2026-11-20", status="settled")
    led.lock("P", "USD", "1")
    before = snapshot(led)
    bad = pa.table({"kind": ["deposit", "withdrawal", "withdrawal"], "portfolio_id": ["P"] * 3,
                    "currency": ["USD"] * 3, "amount": [Decimal(100), Decimal(50), Decimal(20)],
                    "status": ["settled", "pending", "pending"], "trade_date": ["2026-11-20"] * 3})
    with pytest.raises(ValidationError, match="row 2: W000004 refused: the daily withdrawal limit") as info:
        led.record_batch(from_arrow(bad, backend))
    assert info.value.row == 2 and info.value.argument == "transactions"
    assert snapshot(led) == before
    assert led.balance("P", "USD")["available"] == D("9") and led._counter == 1
    ids = led.record_batch(from_arrow(bad.slice(0, 2), backend), actor="loader")
    assert ids == ["D000002", "W000003"] and led.balance("P", "USD")["pending_out"] == D("50")
    with pytest.raises(ValidationError, match="row 0"):
        led.record_batch(pa.table({"kind": ["deposit"], "portfolio_id": ["P"], "currency": ["USD"],
                                   "amount": ["-1"]}))
    assert led.replay().balances() == led.balances()


def test_from_history_round_trips_through_parquet(tmp_path, backend):
    import pyarrow.parquet as pq

    from pmcore.frames import from_arrow

    led = Ledger(clock=Clock(), limits=Limits(reserve_ratio=0.05, max_daily_withdrawal=80))
    a = led.deposit("P", "USD", "100.25", trade_date="2026-11-20", actor="client")
    led.settle(a, actor="ops")
    led.lock("P", "USD", "10", actor="oms", reason="order 7")
    w = led.withdraw("P", "USD", "50", trade_date="2026-11-20")
    led.convert("P", "USD", "EUR", "20", "0.9", spread="0.001", trade_date="2026-11-20")
    led.transfer("P", "USD", "5", "default", "mm", trade_date="2026-11-20")
    led.cancel(w, reason="client request")
    pq.write_table(led.transactions(), tmp_path / "tx.parquet")
    pq.write_table(led.audit(), tmp_path / "audit.parquet")
    again = Ledger.from_history(from_arrow(pq.read_table(tmp_path / "tx.parquet"), backend),
                                from_arrow(pq.read_table(tmp_path / "audit.parquet"), backend),
                                clock=Clock(), limits=led.limits)
    assert again.balances().to_pylist() == led.balances().to_pylist()
    assert again.audit().to_pylist() == led.audit().to_pylist()
    assert again.transactions().to_pylist() == led.transactions().to_pylist()
    assert again.balances(as_of=35).to_pylist() == led.balances(as_of=35).to_pylist()
    # the daily limit and the id counter carry over: the cancelled 50 is free again, 30 more is not
    again.withdraw("P", "USD", "50", trade_date="2026-11-20")
    with pytest.raises(ValidationError, match="daily withdrawal limit"):
        again.withdraw("P", "USD", "31", trade_date="2026-11-20")
    assert again.deposit("P", "USD", 1, trade_date="2026-11-20") == "D000007"
