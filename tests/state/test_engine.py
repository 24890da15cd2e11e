"""PortfolioState in memory: fills, cash flows, prices, rejections, events, threads, frame kinds."""

from __future__ import annotations

import concurrent.futures as cf
import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.errors import ValidationError
from pmcore.frames import from_arrow
from pmcore.state import BatchImpact, FillImpact, PortfolioState, PortfolioStateUpdated

from .conftest import Reference, make_book, random_fills, state_positions


def _equal_states(a: PortfolioState, b: PortfolioState) -> bool:
    return a._core.arrays_equal(b._core)


# ----------------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), int_ids=st.booleans())
def test_batch_equals_one_by_one(seed, n, int_ids):
    book, prices, fx, _ = make_book(seed=seed)
    fills = random_fills(book, n, seed=seed, int_ids=int_ids)
    a = PortfolioState(book, prices, fx)
    b = PortfolioState(book, prices, fx)
    ra = a.apply_fills(fills, atomic=False)
    rejected_b = []
    for k, r in enumerate(fills.to_pylist()):
        try:
            b.apply_fill(r["fill_id"], r["portfolio_id"], r["instrument_id"], r["quantity"], r["price"],
                         fee=r["fee"], timestamp=r["timestamp"])
        except ValidationError:
            rejected_b.append(k)
    assert ra.rejections.column("row").to_pylist() == rejected_b
    assert _equal_states(a, b)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 80))
def test_matches_independent_average_cost_reference(seed, n):
    book, prices, fx, instruments = make_book(seed=seed)
    ref = Reference(book, prices, fx, instruments)
    state = PortfolioState(book, prices, fx)
    fills = random_fills(book, n, seed=seed + 1)
    out = state.apply_fills(fills, atomic=False)
    ref_rejected = [k for k, r in enumerate(fills.to_pylist())
                    if ref.fill(r["fill_id"], r["portfolio_id"], r["instrument_id"], r["quantity"], r["price"],
                                r["fee"])]
    assert out.rejections.column("row").to_pylist() == ref_rejected
    got = state_positions(state)
    for key, (q, avg, real) in ref.pos.items():
        gq, gavg, greal = got.get(key, (0.0, 0.0, 0.0))
        assert gq == pytest.approx(q, abs=1e-9)
        assert gavg == pytest.approx(avg, rel=1e-12, abs=1e-9)
        assert greal == pytest.approx(real, rel=1e-9, abs=1e-6)
    # realized + unrealized = market value - net cash paid, per position (instrument currency)
    px = dict(zip(prices.column("instrument_id").to_pylist(), prices.column("price").to_pylist()))
    for key, (q, avg, real) in got.items():
        m = ref.mult[key[1]]
        unreal = q * (px[key[1]] - avg) * m
        assert real + unreal == pytest.approx(q * px[key[1]] * m - ref.paid[key], rel=1e-9, abs=1e-6)
    values = {r["portfolio_id"]: r["equity"] for r in state.value().to_pylist()}
    for p in values:
        assert values[p] == pytest.approx(ref.equity(p), rel=1e-12, abs=1e-6)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_value_is_cash_plus_market_value_after_every_step(seed):
    book, prices, fx, _ = make_book(seed=seed)
    state = PortfolioState(book, prices, fx)
    rng = np.random.default_rng(seed)
    fills = random_fills(book, 12, seed=seed)
    for k, r in enumerate(fills.to_pylist()):
        kind = rng.integers(0, 3)
        try:
            if kind == 0:
                state.apply_fill(r["fill_id"], r["portfolio_id"], r["instrument_id"], r["quantity"], r["price"],
                                 fee=r["fee"])
            elif kind == 1:
                state.apply_cash_flow(r["portfolio_id"], float(rng.integers(1, 1000)), currency="EUR",
                                      flow_type=["deposit", "withdrawal", "dividend"][k % 3])
            else:
                state.update_prices({r["instrument_id"]: r["price"]}, {"EUR": float(rng.uniform(1, 1.5))})
        except ValidationError:
            pass
        values = state.value().to_pylist()
        pos = state.positions().to_pylist()
        cash = state.cash().to_pylist()
        for v in values:
            p = v["portfolio_id"]
            cash_base = sum(c["balance_base"] for c in cash if c["portfolio_id"] == p)
            if v["account_type"] == "cash":
                other = sum(x["market_value"] for x in pos if x["portfolio_id"] == p)
            else:
                other = sum(x["unrealized_pnl"] for x in pos if x["portfolio_id"] == p)
            assert v["equity"] == pytest.approx(cash_base + other, rel=1e-12, abs=1e-6)


# ----------------------------------------------------------------------------- single fills


def test_fill_impact_report(state):
    r = state.apply_fill(1, "P0", "I2", 3.0, 100.0, fee=1.5, timestamp=5)
    assert isinstance(r, FillImpact)
    assert r.position.quantity == pytest.approx(r.position.quantity_before + 3.0)
    assert r.cash_impact == pytest.approx(-301.5)  # P0 is a cash account, I2 in USD, multiplier 1
    assert r.value_change == pytest.approx(-1.5 + 3.0 * (state._core.prices[2] - 100.0))
    assert [e.column for e in r.exposure_changes] == ["sector", "country"]
    assert r.exposure_changes[0].group == "Health" and r.exposure_changes[1].group == "US"
    assert r.processing_time_us > 0
    text = repr(r)
    assert "FillImpact" in text and "sector Health" in text
    assert r.to_arrow().num_rows == 2
    json.dumps(r.to_dict())


def _weight(state, p, i, instruments, fx):
    """Position market value over equity, from the state's frames and the instrument table (base currency)."""
    equity = {r["portfolio_id"]: r["equity"] for r in state.value().to_pylist()}[p]
    pos = {(r["portfolio_id"], r["instrument_id"]): r for r in state.positions().to_pylist()}.get((p, i))
    if pos is None:
        return 0.0
    inst = {r["instrument_id"]: r for r in instruments.to_pylist()}[i]
    return pos["quantity"] * pos["price"] * inst["multiplier"] * fx[inst["currency"]] / equity


def test_weight_change_single_and_batch():
    book, prices, fx, instruments = make_book()
    single = PortfolioState(book, prices, fx)
    batch = PortfolioState(book, prices, fx)
    fills = [(1, "P0", "I2", 3.0, 100.0), (2, "P1", "I1", -2.0, 90.0), (3, "P2", "I4", 5.0, 70.0)]
    expected = []
    for fid, p, i, q, px in fills:
        w0 = _weight(single, p, i, instruments, fx)
        r = single.apply_fill(fid, p, i, q, px, fee=1.0, timestamp=1)
        w1 = _weight(single, p, i, instruments, fx)
        assert (r.weight_before, r.weight_after) == (pytest.approx(w0, rel=1e-12), pytest.approx(w1, rel=1e-12))
        assert r.weight_change == pytest.approx(w1 - w0, rel=1e-12, abs=1e-15)
        expected.append((p, i, r.weight_before, r.weight_after))
    table = pa.table({"fill_id": [f[0] for f in fills], "portfolio_id": [f[1] for f in fills],
                      "instrument_id": [f[2] for f in fills], "quantity": [f[3] for f in fills],
                      "price": [f[4] for f in fills], "fee": [1.0] * 3, "timestamp": [1, 1, 1]})
    rows = {(r["portfolio_id"], r["instrument_id"]): r for r in batch.apply_fills(table).positions.to_pylist()}
    for p, i, w0, w1 in expected:  # one fill per portfolio: the batch sees the same before and after
        assert rows[(p, i)]["weight_before"] == pytest.approx(w0, rel=1e-12)
        assert rows[(p, i)]["weight_after"] == pytest.approx(w1, rel=1e-12)
        assert rows[(p, i)]["weight_change"] == pytest.approx(w1 - w0, rel=1e-12, abs=1e-15)


def test_flip_closes_and_reopens_at_fill_price():
    book, prices, fx, _ = make_book(positions=False, margin=(0,))
    s = PortfolioState(book, prices, fx)
    s.apply_fill(1, "P0", "I1", 5.0, 10.0)
    r = s.apply_fill(2, "P0", "I1", -8.0, 12.0)
    assert (r.position.quantity, r.position.avg_price, r.position.realized_pnl) == (-3.0, 12.0, 10.0)
    r = s.apply_fill(3, "P0", "I1", 3.0, 11.0)
    assert (r.position.quantity, r.position.avg_price, r.position.status) == (0.0, 0.0, "CLOSED")
    assert r.position.realized_pnl == pytest.approx(3.0)
    assert s.positions().num_rows == 0
    assert s.positions(include_closed=True).column("status").to_pylist() == ["CLOSED"]


def test_limits_and_utilization():
    book, prices, fx, _ = make_book()
    s = PortfolioState(book, prices, fx, limits={"sector": {"Tech": 0.05}, "country": 1.0})
    r = s.apply_fill(1, "P0", "I0", 1.0, 10.0)
    sector = r.exposure_changes[0]
    assert sector.group == "Tech" and sector.limit_pct == pytest.approx(5.0)
    assert sector.utilization == pytest.approx(sector.new_pct / 5.0)
    exp = s.exposures(by="sector", portfolios=["P0"]).to_pylist()
    tech = [e for e in exp if e["sector"] == "Tech"][0]
    assert tech["limit_pct"] == pytest.approx(5.0)


@pytest.mark.parametrize("args, match", [
    ((1, "NOPE", "I0", 1.0, 10.0), "unknown portfolio"),
    ((1, "P0", "NOPE", 1.0, 10.0), "unknown instrument"),
    ((1, "P0", "I0", 0.0, 10.0), "quantity"),
    ((1, "P0", "I0", float("nan"), 10.0), "quantity"),
    ((1, "P0", "I0", 1.0, float("nan")), "price"),
    ((1, "P0", "I0", 1.0, -1.0), "price"),
    (("x9", "P0", "I0", -1e9, 10.0), "fill 'x9' would take a no-short cash account below zero"),
])
def test_single_fill_errors_name_the_fill(state, args, match):
    before = state._core.copy()
    with pytest.raises(ValidationError, match=match):
        state.apply_fill(*args)
    assert state._core.arrays_equal(before)


def test_duplicate_fill_ids(state):
    state.apply_fill(7, "P0", "I0", 1.0, 10.0)
    state.apply_fill("seven", "P0", "I0", 1.0, 10.0)
    with pytest.raises(ValidationError, match="fill 7 is a duplicate"):
        state.apply_fill(7, "P0", "I0", 1.0, 10.0)
    with pytest.raises(ValidationError, match="fill 'seven' is a duplicate"):
        state.apply_fill("seven", "P0", "I0", 1.0, 10.0)
    fills = pa.table({"fill_id": [8, 7], "portfolio_id": ["P0", "P0"], "instrument_id": ["I0", "I0"],
                      "quantity": [1.0, 1.0], "price": [10.0, 10.0]})
    with pytest.raises(ValidationError, match="fill 7 duplicate fill id"):
        state.apply_fills(fills)
    assert state.apply_fill(8, "P0", "I0", 1.0, 10.0) is not None  # the failed batch left no trace


def test_duplicates_ignored_when_asked():
    book, prices, fx, _ = make_book()
    s = PortfolioState(book, prices, fx, duplicates="ignore")
    s.apply_fill(1, "P0", "I0", 1.0, 10.0)
    assert s.apply_fill(1, "P0", "I0", 1.0, 10.0) is None
    fills = pa.table({"fill_id": [1, 2, 2], "portfolio_id": ["P0"] * 3, "instrument_id": ["I0"] * 3,
                      "quantity": [1.0] * 3, "price": [10.0] * 3})
    r = s.apply_fills(fills)
    assert (r.n_applied, r.n_ignored, r.n_rejected) == (1, 2, 0)


def test_atomic_batch_is_all_or_nothing(state):
    before = state._core.copy()
    fills = random_fills(make_book()[0], 30, seed=3)
    fills = fills.set_column(4, "quantity", pa.compute.abs(fills.column("quantity")))
    bad = pa.table({"fill_id": [999], "timestamp": pa.array([5], pa.int64()), "portfolio_id": ["P0"],
                    "instrument_id": ["I0"], "quantity": [-1e12], "price": [10.0], "fee": [0.0]})
    with pytest.raises(ValidationError, match=r"row 30: fill 999 would take a no-short cash account below zero "
                                              r"\(portfolio 'P0', instrument 'I0'\)"):
        state.apply_fills(pa.concat_tables([fills, bad]))
    assert state._core.arrays_equal(before)
    bad_static = fills.set_column(4, "quantity", pa.array([1.0] * 29 + [0.0]))
    with pytest.raises(ValidationError, match="row 29") as info:
        state.apply_fills(bad_static)
    assert "quantity must be a finite non-zero number" in str(info.value)
    assert state._core.arrays_equal(before)


def test_bad_columns_name_the_argument_and_column(state):
    before = state._core.copy()
    fills = pa.table({"fill_id": [1], "portfolio_id": ["P0"], "instrument_id": ["I0"], "quantity": ["1"],
                      "price": [10.0]})
    with pytest.raises(ValidationError, match="fills: column 'quantity': has the wrong type"):
        state.apply_fills(fills)
    with pytest.raises(ValidationError, match="cash_flows: column 'amount': has the wrong type"):
        state.apply_cash_flows(pa.table({"portfolio_id": ["P0"], "amount": ["5"]}))
    with pytest.raises(ValidationError, match="fills.*'price'"):
        state.apply_fills(fills.drop_columns(["price"]))
    assert state._core.arrays_equal(before)


def test_per_row_rejections_apply_the_rest(state):
    fills = pa.table({
        "fill_id": ["a", "b", "c", "d", "e", "f"],
        "portfolio_id": ["P0", "NOPE", "P0", "P0", "P0", "P0"],
        "instrument_id": ["I0", "I0", "I0", "I0", "I0", "I0"],
        "quantity": [1.0, 1.0, 0.0, 1.0, 1.0, -1e9],
        "price": [10.0, 10.0, 10.0, -5.0, 10.0, 10.0],
        "transaction_type": ["buy", "buy", "buy", "buy", "sell", "trade"],
    })
    r = state.apply_fills(fills, atomic=False)
    assert isinstance(r, BatchImpact) and r.n_applied == 1
    reasons = dict(zip(r.rejections.column("id").to_pylist(), r.rejections.column("reason").to_pylist()))
    assert reasons == {
        "b": "unknown portfolio", "c": "quantity must be a finite non-zero number",
        "d": "price must be a finite number > 0",
        "e": "quantity sign contradicts the transaction type (buy > 0, sell < 0)",
        "f": "would take a no-short cash account below zero",
    }
    assert "first rejection row 1 id 'b'" in repr(r)


def test_suspended_and_pending():
    book, prices, fx, _ = make_book(positions=False)
    state = PortfolioState(book, prices, fx)
    state.set_status("P0", "I4", "PENDING")
    assert state.positions().column("status").to_pylist() == ["PENDING"]
    r = state.apply_fill(1, "P0", "I4", 2.0, 10.0)
    assert r.position.status == "ACTIVE"
    state.set_status("P0", "I4", "SUSPENDED")
    with pytest.raises(ValidationError, match="SUSPENDED"):
        state.apply_fill(2, "P0", "I4", 2.0, 10.0)
    with pytest.raises(ValidationError, match="cannot be PENDING"):
        state.set_status("P0", "I4", "PENDING")
    state.set_status("P0", "I4", "ACTIVE")
    assert state.apply_fill(2, "P0", "I4", 2.0, 10.0).position.quantity == 4.0


def test_transfer_moves_no_cash(state):
    r = state.apply_fill(1, "P0", "I2", 4.0, 50.0, fee=2.0, transaction_type="transfer")
    assert r.cash_impact == pytest.approx(-2.0)


def test_fee_in_other_currency_margin_account(state):
    # P1 is a margin account: cash moves by realized PnL and fee only
    r = state.apply_fill(1, "P1", "I1", 2.0, 10.0, fee=4.0, fee_currency="USD")
    assert r.cash_impact == pytest.approx(-4.0)
    q0 = state.positions(portfolios=["P1"]).to_pylist()
    r = state.apply_fill(2, "P1", "I1", -2.0, 12.0)
    avg = r.position.avg_price_before
    assert r.position.realized_pnl == pytest.approx(2.0 * (12.0 - avg))  # I1: EUR, multiplier 1
    assert r.cash_impact == pytest.approx(2.0 * (12.0 - avg) * 1.25)
    assert q0


# ----------------------------------------------------------------------------- cash flows and prices


def test_cash_flows(state):
    flows = pa.table({"portfolio_id": ["P0", "P0", "P0", "P2", "P2"], "currency": ["USD", "EUR", "USD", "USD", "USD"],
                      "amount": [100.0, 10.0, 50.0, -3.0, 2.0],
                      "flow_type": ["deposit", "withdrawal", "fee", "funding", "interest"], "flow_id": [1, 2, 3, 4, 5]})
    r = state.apply_cash_flows(flows)
    impact = dict(zip(r.portfolios.column("portfolio_id").to_pylist(), r.portfolios.column("cash_impact").to_pylist()))
    assert impact["P0"] == pytest.approx(100.0 - 10.0 * 1.25 - 50.0)
    assert impact["P2"] == pytest.approx(-1.0)
    flows_by = {r["portfolio_id"]: r["net_flows"] for r in state.value().to_pylist()}
    assert flows_by == {"P0": pytest.approx(100.0 - 12.5), "P1": 0.0, "P2": 0.0, "P3": 0.0}  # external flows only
    with pytest.raises(ValidationError, match="duplicate"):
        state.apply_cash_flows(flows.slice(0, 1))
    with pytest.raises(ValidationError, match=r"withdrawal larger than available cash \(portfolio 'P0', "
                                              r"currency 'USD'\)") as info:
        state.apply_cash_flow("P0", 1e9, flow_type="withdrawal")
    assert info.value.argument == "cash_flows" and info.value.row == 0
    with pytest.raises(ValidationError, match="amount must be finite"):
        state.apply_cash_flow("P0", -5.0, flow_type="deposit")
    r = state.apply_cash_flows(pa.table({"portfolio_id": ["P0", "P0"], "amount": [1e9, 1.0],
                                         "flow_type": ["withdrawal", "withdrawal"]}), atomic=False)
    assert r.n_applied == 1 and r.rejections.column("row").to_pylist() == [0]


def test_price_and_fx_updates(state):
    before = {r["portfolio_id"]: r["equity"] for r in state.value().to_pylist()}
    r = state.update_prices({"I1": 500.0}, {"EUR": 2.0})
    after = {r2["portfolio_id"]: r2["equity"] for r2 in state.value().to_pylist()}
    got = dict(zip(r.portfolios.column("portfolio_id").to_pylist(), r.portfolios.column("value_change").to_pylist()))
    for p, change in got.items():
        assert change == pytest.approx(after[p] - before[p])
    with pytest.raises(ValidationError, match="rate other than 1"):
        state.update_prices(None, {"USD": 2.0})
    with pytest.raises(ValidationError, match="not in the state's book"):
        state.update_prices({"ZZZ": 1.0})
    with pytest.raises(ValidationError):
        state.update_prices({"I1": -1.0})


# ----------------------------------------------------------------------------- events


def test_events_and_failing_subscriber(state):
    got, only_p2 = [], []

    def broken(event):
        raise RuntimeError("subscriber bug")

    state.subscribe(broken)
    state.subscribe(got.append)
    state.subscribe(only_p2.append, portfolios=["P2"])
    state.apply_fill(1, "P0", "I0", 1.0, 10.0)
    state.apply_fills(random_fills(make_book()[0], 10, seed=1, start_id=100), atomic=False)
    state.apply_cash_flow("P2", 5.0)
    assert state.subscriber_errors >= 3
    assert all(isinstance(e, PortfolioStateUpdated) for e in got)
    assert {e.portfolio_id for e in only_p2} == {"P2"}
    e = got[0]
    assert e.kind == "fills" and e.position_changes[0].quantity_before + 1.0 == e.position_changes[0].quantity
    doc = json.loads(e.to_json())
    assert doc["portfolio_id"] == "P0" and doc["position_changes"][0]["instrument_id"] == "I0"
    batch = e.to_arrow()
    assert isinstance(batch, pa.RecordBatch) and batch.num_rows == 1
    assert "portfolio_value_after" in batch.schema.names
    fills_events = [x for x in got if x.kind == "fills" and x.sequence == 0]
    assert len(fills_events) >= 2


# ----------------------------------------------------------------------------- threads


def test_concurrent_writers_and_consistent_readers():
    book, prices, fx, _ = make_book(n_portfolios=4, margin=())
    state = PortfolioState(book, prices, fx)
    per_thread = 200

    def writer(t):
        for k in range(per_thread):
            state.apply_fill(t * 10_000 + k, f"P{t}", f"I{k % 5}", 1.0, 10.0 + k % 7, timestamp=k)

    # buys without fees move money from cash to cost: cash + invested value is constant per portfolio,
    # so a read that saw a fill's cash change without its position change would break it
    start = {r["portfolio_id"]: r["cash"] + r["invested_value"] for r in state.value().to_pylist()}

    def reader():
        for _ in range(30):
            for row in state.value().to_pylist():
                assert row["cash"] + row["invested_value"] == pytest.approx(start[row["portfolio_id"]], rel=1e-12)

    with cf.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(writer, t) for t in range(4)] + [pool.submit(reader) for _ in range(2)]
        for f in futures:
            f.result()
    serial = PortfolioState(book, prices, fx)
    for t in range(4):
        for k in range(per_thread):
            serial.apply_fill(t * 10_000 + k, f"P{t}", f"I{k % 5}", 1.0, 10.0 + k % 7, timestamp=k)
    assert state._core.arrays_equal(serial._core)


# ----------------------------------------------------------------------------- frame kinds


@pytest.mark.parametrize("kind", ["arrow", "polars", "pandas"])
def test_frames_in_any_kind_out_in_the_books_kind(kind):
    book, prices, fx, instruments = make_book()
    positions = from_arrow(pa.table({"portfolio_id": ["P0"], "instrument_id": ["I0"], "quantity": [1.0],
                                     "avg_price": [10.0]}), kind)
    s = PortfolioState(positions, prices, fx, instruments=instruments)
    fills = from_arrow(random_fills(book, 5, seed=2).select(
        ["fill_id", "portfolio_id", "instrument_id", "quantity", "price"]), kind)
    r = s.apply_fills(fills, atomic=False)
    assert r.n_applied + r.n_rejected == 5
    out = s.value()
    if kind == "arrow":
        assert isinstance(out, pa.Table)
    elif kind == "polars":
        import polars as pl

        assert isinstance(out, pl.DataFrame) and isinstance(s.positions(), pl.DataFrame)
    else:
        import pandas as pd

        assert isinstance(out, pd.DataFrame) and isinstance(s.exposures(), pd.DataFrame)


def test_memory_and_repr(state):
    assert state.memory_bytes() > 0
    assert "PortfolioState(4 portfolios" in repr(state)


def test_fast_construction_equals_the_dataclass():
    from pmcore.state.impact import ExposureChange, fast

    args = ("P0", "sector", "Tech", 1.0, 2.0, 1.0, None, None)
    a, b = fast(ExposureChange, *args), ExposureChange(*args)
    assert a == b and repr(a) == repr(b) and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.group = "x"


def _apply_in_worker(seed):
    from tests.state.conftest import make_book as mk
    from tests.state.conftest import random_fills as rf

    book, prices, fx, _ = mk(seed=seed)
    s = PortfolioState(book, prices, fx)
    s.apply_fills(rf(book, 40, seed=seed), atomic=False)
    return s.value().column("equity").to_pylist()


def test_process_pool_gives_the_same_results():
    """States are plain objects without global state: workers in other processes agree with this one."""
    import multiprocessing as mp
    import os

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ctx = mp.get_context("spawn")
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([root] + ([old] if old else []))
    try:
        with cf.ProcessPoolExecutor(2, mp_context=ctx) as pool:
            got = list(pool.map(_apply_in_worker, [1, 2]))
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = old
    assert got == [_apply_in_worker(1), _apply_in_worker(2)]
