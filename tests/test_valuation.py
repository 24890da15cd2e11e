"""pm.value, pm.positions and Book.revalue: worked examples, oracles, properties."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import from_arrow, to_arrow

from .helpers import random_book

# A worked example computed by hand (every figure below is checked with a pencil):
# portfolio A (cash account): 10 AAPL at 160 USD (cost 150) and 5 SAP at 130 EUR (cost 120),
#   EUR = 1.10 USD, cash 1,000 USD + 200 EUR (50 EUR locked).
#   AAPL: mv 1,600, upnl 100; SAP: mv 5 * 130 * 1.1 = 715, upnl 5 * 10 * 1.1 = 55.
#   cash 1,000 + 220 = 1,220; equity 1,220 + 2,315 = 3,535; leverage 2,315 / 3,535.
# portfolio B (margin account): -0.5 BTC-PERP at 58,000 (cost 60,000), 2 ES at 5,000 x 50
#   (cost 4,900), wallet 20,000 USDT at 0.999 USD.
#   BTC (USDT at 0.999): notional -0.5 * 58,000 * 0.999 = -28,971, upnl 1,000 * 0.999 = 999;
#   ES: notional 500,000, upnl 10,000.
#   cash 19,980; equity 19,980 + 10,999 = 30,979; gross 528,971; leverage 528,971 / 30,979.
POS = pa.table({
    "portfolio_id": ["A", "A", "B", "B"],
    "instrument_id": ["AAPL", "SAP", "BTC-PERP", "ES"],
    "quantity": [10.0, 5.0, -0.5, 2.0],
    "avg_price": [150.0, 120.0, 60000.0, 4900.0],
})
INST = pa.table({
    "instrument_id": ["AAPL", "SAP", "BTC-PERP", "ES"],
    "currency": ["USD", "EUR", "USDT", "USD"],
    "multiplier": [1.0, 1.0, 1.0, 50.0],
    "sector": ["Tech", "Tech", "Crypto", "Index"],
})
PRICES = pa.table({"instrument_id": ["AAPL", "SAP", "BTC-PERP", "ES"],
                   "price": [160.0, 130.0, 58000.0, 5000.0]})
FX = {"EUR": 1.1, "USDT": 0.999}
CASH = pa.table({"portfolio_id": ["A", "A", "B"], "currency": ["USD", "EUR", "USDT"],
                 "amount": [1000.0, 200.0, 20000.0], "locked": [0.0, 50.0, 0.0]})
ACCOUNTS = {"B": "margin"}


def _value(backend="arrow", **kw):
    return pm.value(from_arrow(POS, backend), PRICES, FX, instruments=INST, cash=CASH,
                    accounts=ACCOUNTS, **kw)


def test_worked_example():
    rows = {r["portfolio_id"]: r for r in _value().to_pylist()}
    a, b = rows["A"], rows["B"]
    assert a["account_type"] == "cash" and b["account_type"] == "margin"
    assert a["cash"] == pytest.approx(1220.0, abs=1e-9)
    assert a["locked_cash"] == pytest.approx(55.0, abs=1e-9)
    assert a["available_cash"] == pytest.approx(1165.0, abs=1e-9)
    assert a["market_value"] == pytest.approx(2315.0, abs=1e-9)
    assert a["unrealized_pnl"] == pytest.approx(155.0, abs=1e-9)
    assert a["invested_value"] == pytest.approx(1500.0 + 660.0, abs=1e-9)
    assert a["equity"] == a["portfolio_value"] == pytest.approx(3535.0, abs=1e-9)
    assert a["leverage"] == pytest.approx(2315.0 / 3535.0, rel=1e-15)
    assert b["cash"] == pytest.approx(19980.0, abs=1e-9)
    assert b["long_value"] == pytest.approx(500000.0, abs=1e-9) and b["short_value"] == pytest.approx(-28971.0)
    assert b["unrealized_pnl"] == pytest.approx(10999.0, abs=1e-9)
    assert b["equity"] == pytest.approx(30979.0, abs=1e-9)
    assert b["gross_exposure"] == pytest.approx(528971.0, abs=1e-9)
    assert b["net_exposure"] == pytest.approx(471029.0, abs=1e-9)
    assert b["leverage"] == pytest.approx(528971.0 / 30979.0, rel=1e-15)
    assert a["position_count"] == b["position_count"] == 2


def test_same_results_from_every_backend(backend):
    out = _value(backend)
    assert pm.frames.frame_kind(out) == backend
    ref = _value()
    got = to_arrow(out, "out")
    for name in ref.column_names:
        assert got.column(name).to_pylist() == ref.column(name).to_pylist(), name


def test_against_pandas_merge_groupby_oracle():
    """pandas joins and group-bys, the way a user would write it, as the oracle."""
    pd = pytest.importorskip("pandas")
    pos, inst, prices, fx, cash, accounts = random_book(11, n_portfolios=8, n_positions=60)
    out = pm.value(pos, prices, fx, instruments=inst, cash=cash, accounts=accounts).to_pandas()
    df = (pos.to_pandas().merge(inst.to_pandas(), on="instrument_id")
          .merge(prices.to_pandas(), on="instrument_id").merge(fx.to_pandas(), on="currency"))
    df["mv"] = df.quantity * df.price * df.multiplier * df.rate
    df["upnl"] = df.quantity * (df.price - df.avg_price) * df.multiplier * df.rate
    g = df.groupby("portfolio_id")
    c = cash.to_pandas().merge(fx.to_pandas(), on="currency")
    c["base"] = c.amount * c.rate
    acc = accounts.to_pandas().set_index("portfolio_id").account_type
    ref = pd.DataFrame({"market_value": g.mv.sum(), "unrealized_pnl": g.upnl.sum(),
                        "gross_exposure": g.mv.apply(lambda s: s.abs().sum())})
    ref = ref.reindex(out.portfolio_id).fillna(0.0)
    ref["cash"] = c.groupby("portfolio_id").base.sum().reindex(out.portfolio_id).fillna(0.0)
    margin = (acc.reindex(out.portfolio_id) == "margin").to_numpy()
    ref["equity"] = ref.cash + np.where(margin, ref.unrealized_pnl, ref.market_value)
    for col in ref.columns:
        np.testing.assert_allclose(out[col].to_numpy(), ref[col].to_numpy(), rtol=1e-12, atol=1e-7)


def test_positions_frame():
    out = pm.positions(POS, PRICES, FX, instruments=INST, cash=CASH, accounts=ACCOUNTS).to_pylist()
    sap = next(r for r in out if r["instrument_id"] == "SAP")
    assert sap["currency"] == "EUR" and sap["fx_rate"] == 1.1
    assert sap["market_value"] == pytest.approx(715.0, abs=1e-9)
    assert sap["cost_basis"] == pytest.approx(660.0, abs=1e-9)
    assert sap["unrealized_pnl"] == pytest.approx(55.0, abs=1e-9)
    assert sap["weight"] == pytest.approx(715.0 / 3535.0, rel=1e-14)
    es = next(r for r in out if r["instrument_id"] == "ES")
    assert es["market_value"] == 500000.0 and es["multiplier"] == 50.0
    assert sorted(r["source_row"] for r in out) == [0, 1, 2, 3]


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1))
def test_properties_of_value(seed):
    pos, inst, prices, fx, cash, accounts = random_book(seed)
    book = pm.Book.from_frames(pos, inst, cash=cash, accounts=accounts)
    v = book.revalue(prices, fx)
    per = pm.positions(book, prices, fx)
    pcode = np.searchsorted(book.portfolio_ids.to_numpy(zero_copy_only=False),
                            per.column("portfolio_id").to_numpy(zero_copy_only=False))
    mv = np.bincount(pcode, per.column("market_value").to_numpy(), book.n_portfolios)
    cash_acct = ~book.is_margin
    # portfolio value = cash + sum of market values (cash accounts)
    np.testing.assert_allclose(v.equity[cash_acct], (v.cash + mv)[cash_acct], rtol=1e-12, atol=1e-6)
    # weights plus the cash weight sum to one (cash accounts)
    w = np.bincount(pcode, per.column("weight").to_numpy(), book.n_portfolios)
    ok = cash_acct & (np.abs(v.equity) > 1.0)
    np.testing.assert_allclose((w + v.cash / v.equity)[ok], 1.0, rtol=1e-9)
    # gross = long - short, net = long + short
    np.testing.assert_allclose(v.gross_exposure, v.long_value - v.short_value, rtol=1e-12)
    np.testing.assert_allclose(v.net_exposure, v.long_value + v.short_value, rtol=1e-12, atol=1e-6)
    # results do not depend on row order
    perm = np.random.default_rng(seed).permutation(pos.num_rows)
    shuffled = pm.Book.from_frames(pos.take(perm), inst, cash=cash, accounts=accounts).revalue(prices, fx)
    np.testing.assert_allclose(shuffled.matrix, v.matrix, rtol=1e-13, atol=1e-8)
    # one big book equals the portfolios valued one by one
    for p, pid in enumerate(book.portfolio_ids.to_pylist()[:3]):
        mask = pa.compute.equal(pos.column("portfolio_id"), pid)
        cmask = pa.compute.equal(cash.column("portfolio_id"), pid)
        amask = pa.compute.equal(accounts.column("portfolio_id"), pid)
        one = pm.Book.from_frames(pos.filter(mask), inst, cash=cash.filter(cmask),
                                  accounts=accounts.filter(amask)).revalue(prices, fx)
        np.testing.assert_allclose(one.matrix[0], v.matrix[p], rtol=1e-13, atol=1e-8)


def test_long_only_cash_account_weights_sum_to_one_without_cash():
    pos = POS.slice(0, 2)
    out = pm.positions(pos, PRICES, FX, instruments=INST)
    assert sum(out.column("weight").to_pylist()) == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("scale", [1e3, 1e6, 1e7])
def test_accuracy_against_exact_rational_arithmetic(scale):
    """value to 1e-8 absolute for portfolio values up to 1e7 (Fraction is exact)."""
    rng = np.random.default_rng(int(scale))
    n = 2000
    q = np.round(rng.normal(0, 50, n), 3)
    p = rng.uniform(1, 100, n)
    mult = rng.choice([1.0, 0.1, 25.0], n)
    fx_rates = [1.0, 1.0837, 1.2649, 0.006713]
    cur = rng.integers(0, 4, n)
    target = scale / np.abs(q * p * mult * np.array(fx_rates)[cur]).sum()
    p = p * target  # gross exposure ~ scale
    ids = [f"I{i}" for i in range(n)]
    names = ["USD", "EUR", "GBP", "JPY"]
    pos = pa.table({"portfolio_id": ["P"] * n, "instrument_id": ids, "quantity": q,
                    "avg_price": p * 0.97})
    inst = pa.table({"instrument_id": ids, "currency": [names[c] for c in cur], "multiplier": mult})
    prices = pa.table({"instrument_id": ids, "price": p})
    fx = dict(zip(names[1:], fx_rates[1:]))
    cash = pa.table({"portfolio_id": ["P"], "currency": ["EUR"], "amount": [scale / 3]})
    v = pm.Book.from_frames(pos, inst, cash=cash).revalue(prices, fx)
    F = Fraction
    exact_mv = sum(F(q[k]) * F(p[k]) * F(mult[k]) * F(fx_rates[cur[k]]) for k in range(n))
    exact_upnl = sum(F(q[k]) * (F(p[k]) - F(p[k] * 0.97)) * F(mult[k]) * F(fx_rates[cur[k]])
                     for k in range(n))
    exact_equity = exact_mv + F(scale / 3) * F(fx_rates[1])
    assert abs(float(F(v.market_value[0]) - exact_mv)) < 1e-8
    assert abs(float(F(v.unrealized_pnl[0]) - exact_upnl)) < 1e-8
    assert abs(float(F(v.equity[0]) - exact_equity)) < 1e-8


def test_large_values_within_a_few_ulps():
    n = 500
    rng = np.random.default_rng(5)
    q = rng.uniform(1, 1000, n)
    p = rng.uniform(1e6, 1e7, n)
    ids = [f"I{i}" for i in range(n)]
    pos = pa.table({"portfolio_id": ["P"] * n, "instrument_id": ids, "quantity": q, "avg_price": p})
    inst = pa.table({"instrument_id": ids, "currency": ["USD"] * n})
    v = pm.Book.from_frames(pos, inst).revalue(p)
    exact = sum(Fraction(a) * Fraction(b) for a, b in zip(q, p))
    assert abs(Fraction(v.market_value[0]) - exact) <= 4 * np.spacing(float(exact))


def test_revalue_with_aligned_arrays_touches_no_ids():
    book = pm.Book.from_frames(POS, INST, cash=CASH, accounts=ACCOUNTS)
    px = np.array([160.0, 130.0, 58000.0, 5000.0])
    fx = np.array([1.0, 1.1, 0.999])  # book.currencies is USD, EUR, USDT
    assert book.currencies.to_pylist() == ["USD", "EUR", "USDT"]
    fast = book.revalue(px, fx)
    slow = to_arrow(_value(), "v")
    np.testing.assert_array_equal(fast.equity, slow.column("equity").to_numpy())
    assert fast.to_arrow().equals(slow)
    assert "equity" in repr(fast)


def test_margin_account_with_negative_equity_has_infinite_leverage():
    cash = pa.table({"portfolio_id": ["B"], "currency": ["USDT"], "amount": [-20000.0]})
    v = pm.Book.from_frames(POS, INST, cash=cash, accounts=ACCOUNTS).revalue(PRICES, FX)
    assert v.equity[1] < 0 and np.isinf(v.leverage[1])


def test_portfolio_with_cash_only_and_zero_quantity():
    pos = POS.set_column(2, "quantity", pa.array([0.0, 0.0, 0.0, 0.0]))
    v = pm.Book.from_frames(pos, INST, cash=CASH).revalue(PRICES, FX)
    assert v.position_count.tolist() == [0, 0]
    assert v.leverage.tolist() == [0.0, 0.0]
    np.testing.assert_allclose(v.equity, v.cash)


def test_stale_prices_are_reported():
    ts = pa.array([dt.datetime(2026, 11, 20, 21), dt.datetime(2026, 11, 18, 16),
                   dt.datetime(2026, 11, 20, 23), dt.datetime(2026, 11, 20, 22)], pa.timestamp("us", "UTC"))
    prices = PRICES.append_column("timestamp", ts)
    as_of = dt.datetime(2026, 11, 21, 6, tzinfo=dt.timezone.utc)
    out = pm.value(POS, prices, FX, instruments=INST, max_age=dt.timedelta(hours=24), as_of=as_of)
    assert out.column("stale_count").to_pylist() == [1, 0]
    per = pm.positions(POS, prices, FX, instruments=INST, max_age=24 * 3600.0, as_of=as_of)
    assert per.column("stale").to_pylist() == [False, True, False, False]
    assert per.column("price_age_s").to_pylist()[1] == pytest.approx(62 * 3600.0)
    with pytest.raises(pm.ValidationError, match="timestamp"):
        pm.value(POS, PRICES, FX, instruments=INST, max_age=60)
    with pytest.raises(pm.ValidationError, match="duration"):
        pm.value(POS, prices, FX, instruments=INST, max_age="1h")


def test_missing_price_and_fx_name_the_instrument_and_currency():
    with pytest.raises(pm.ValidationError, match="no price for instrument 'SAP'") as info:
        pm.value(POS, PRICES.filter(pa.compute.not_equal(PRICES.column("instrument_id"), "SAP")),
                 FX, instruments=INST)
    assert info.value.argument == "prices"
    with pytest.raises(pm.ValidationError, match="no rate for currency 'USDT'"):
        pm.value(POS, PRICES, {"EUR": 1.1}, instruments=INST)
    with pytest.raises(pm.ValidationError, match="rate other than 1"):
        pm.value(POS, PRICES, {"USD": 1.2, "EUR": 1.1, "USDT": 1.0}, instruments=INST)
    bad = PRICES.set_column(1, "price", pa.array([160.0, 0.0, 1.0, 1.0]))
    with pytest.raises(pm.ValidationError) as info:
        pm.value(POS, bad, FX, instruments=INST)
    assert (info.value.column, info.value.row, info.value.value) == ("price", 1, 0.0)
    book = pm.Book.from_frames(POS, INST)
    with pytest.raises(pm.ValidationError, match="held instrument 'BTC-PERP'"):
        book.revalue(np.array([1.0, 1.0, np.nan, 1.0]), np.array([1.0, 1.1, 1.0]))
    with pytest.raises(pm.ValidationError, match="wrong shape"):
        book.revalue(np.ones(3), np.array([1.0, 1.1, 1.0]))
    with pytest.raises(pm.ValidationError, match="cannot be combined"):
        pm.value(book, PRICES, FX, instruments=INST)
    with pytest.raises(pm.ValidationError, match="instruments"):
        pm.value(POS, PRICES, FX)


def test_nothing_is_mutated():
    prices = PRICES.to_pandas()
    before = prices.copy()
    pm.value(POS, prices, FX, instruments=INST, cash=CASH)
    assert prices.equals(before)
    # nor on error: bad prices, then a book whose positions repeat a pair
    positions = POS.to_pandas()
    pos_before = positions.copy()
    prices.loc[1, "price"] = -1.0
    bad_before = prices.copy()
    with pytest.raises(pm.ValidationError):
        pm.value(positions, prices, FX, instruments=INST, cash=CASH)
    assert prices.equals(bad_before) and positions.equals(pos_before)
    repeated = positions.copy()
    repeated.loc[1, "instrument_id"] = "AAPL"
    rep_before = repeated.copy()
    with pytest.raises(pm.ValidationError, match="repeats"):
        pm.exposures(repeated, PRICES, FX, instruments=INST)
    assert repeated.equals(rep_before)


def test_price_alignment_is_reused_only_for_the_same_ids():
    """value and exposures on one prices frame hash its ids once; other frames are looked up anew."""
    book = pm.Book.from_frames(POS, INST, cash=CASH, accounts=ACCOUNTS)
    first = pm.value(book, PRICES, FX)
    key, ids, idx = book.memo["prices"]
    pm.exposures(book, PRICES, FX)
    assert book.memo["prices"][2] is idx  # same ids buffers: no new hash pass
    # new prices on the same ids array: the new numbers are used
    bumped = PRICES.set_column(1, "price", pa.array([170.0, 130.0, 58000.0, 5000.0]))
    assert pm.value(book, bumped, FX).column("market_value")[0].as_py() == 1700.0 + 715.0
    # the same ids in another order (new buffers): aligned afresh, same values as the original
    reordered = PRICES.take([3, 1, 0, 2])
    assert pm.value(book, reordered, FX).equals(first)
    assert book.memo["prices"][2] is not idx
    # a duplicate in a new frame is still caught
    with pytest.raises(pm.ValidationError, match="duplicate"):
        pm.value(book, pa.concat_tables([PRICES, PRICES.slice(0, 1)]), FX)
