"""margin_state: the exchange's worked examples, properties, frame kinds and bad input."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow
from pmcore.margin import maintenance_amounts, margin_state, sample_margin_brackets
from pmcore.margin.brackets import align_brackets

# Binance, "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts"
# (https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93), worked example
# (one-way mode, USDT): wallet balance 1,535,443.01; BTCUSDT long 109.488 at entry 32,481.98,
# mark 31,967.27, MMR 2.5 %, maintenance amount 16,300; ETHUSDT long 3,683.979 at entry
# 1,456.84, mark 1,335.18, MMR 10 %, maintenance amount 135,365.
# Published results: maintenance margins 71,200.81144 and 356,512.508; unrealized PnL
# -56,354.57 and -448,192.89; cross liquidation prices 26,316.89 (BTC) and 1,153.26 (ETH);
# isolated with an isolated wallet balance of 1,535,443.01: 18,778.73 (BTC), 1,114.78 (ETH).
# (The same figures are reproduced in freqtrade's test suite, tests/leverage.)
# The brackets are the published USDⓈ-M tiers of the time; the maintenance amounts of
# the example (16,300 and 135,365) follow from them by the published amount rule.
BINANCE_POS = pa.table({
    "portfolio_id": ["X", "X"], "instrument_id": ["BTCUSDT", "ETHUSDT"],
    "quantity": [109.488, 3683.979], "avg_price": [32481.98, 1456.84],
})
BINANCE_INST = pa.table({"instrument_id": ["BTCUSDT", "ETHUSDT"], "currency": ["USDT", "USDT"]})
BINANCE_PRICES = pa.table({"instrument_id": ["BTCUSDT", "ETHUSDT"], "price": [31967.27, 1335.18]})
BINANCE_CASH = pa.table({"portfolio_id": ["X"], "currency": ["USDT"], "amount": [1535443.01]})
BINANCE_BRACKETS = pa.table({
    "instrument_id": ["BTCUSDT"] * 5 + ["ETHUSDT"] * 7,
    "notional_floor": [0, 5e4, 2.5e5, 1e6, 1e7, 0, 1e4, 1e5, 5e5, 1e6, 2e6, 5e6],
    "maintenance_rate": [0.004, 0.005, 0.01, 0.025, 0.05,
                         0.005, 0.0065, 0.01, 0.02, 0.05, 0.10, 0.125],
})


def binance(**kw):
    kw.setdefault("brackets", BINANCE_BRACKETS)
    return margin_state(BINANCE_POS, BINANCE_PRICES, instruments=BINANCE_INST, cash=BINANCE_CASH,
                        accounts={"X": "margin"}, base_currency="USDT", **kw)


def test_binance_maintenance_amount_rule():
    # "Maintenance Amount on Level n = floor_n x (MMR_n - MMR_n-1) + amount on level n-1",
    # e.g. 250,000 x (1 % - 0.5 %) + 50 = 1,300 USDT (Binance FAQ above).
    amounts = maintenance_amounts(np.array([0, 5e4, 2.5e5, 1e6]), np.array([0.004, 0.005, 0.01, 0.025]))
    np.testing.assert_allclose(amounts, [0.0, 50.0, 1300.0, 16300.0])
    eth = maintenance_amounts(np.array([0, 1e4, 1e5, 5e5, 1e6, 2e6]),
                              np.array([0.005, 0.0065, 0.01, 0.02, 0.05, 0.10]))
    assert eth[-1] == pytest.approx(135365.0)


def test_binance_tier_lookup():
    # "if the position ... is 264,000 USDT, then the maintenance margin rate would be 1 %"
    pos = pa.table({"portfolio_id": ["X"], "instrument_id": ["BTCUSDT"], "quantity": [1.0],
                    "avg_price": [264000.0]})
    st_ = margin_state(pos, {"instrument_id": ["BTCUSDT"], "price": [264000.0]},
                       instruments=BINANCE_INST, cash=BINANCE_CASH, accounts={"X": "margin"},
                       brackets=BINANCE_BRACKETS, base_currency="USDT")
    row = st_.to_arrow("positions").to_pylist()[0]
    assert row["maintenance_rate"] == 0.01 and row["maintenance_amount"] == pytest.approx(1300.0)
    assert row["maintenance_margin"] == pytest.approx(264000 * 0.01 - 1300)


def test_binance_cross_example():
    rows = binance().to_arrow("positions").to_pylist()
    btc, eth = rows
    assert btc["maintenance_margin"] == pytest.approx(71200.81144, abs=1e-4)
    assert eth["maintenance_margin"] == pytest.approx(356512.508, abs=1e-3)
    assert btc["unrealized_pnl"] == pytest.approx(-56354.57, abs=0.005)
    assert eth["unrealized_pnl"] == pytest.approx(-448192.89, abs=0.005)
    assert btc["liquidation_price"] == pytest.approx(26316.89, abs=0.005)
    assert eth["liquidation_price"] == pytest.approx(1153.26, abs=0.005)


def test_binance_isolated_example():
    st_ = binance(margin_mode="isolated", isolated_margin=[1535443.01, 1535443.01])
    np.testing.assert_allclose(st_.liquidation_price, [18778.73, 1114.78], atol=0.005)


def test_initial_margin_example():
    # Bitdu, "Initial Margin & Maintenance Margin": 1 BTC at 10,000 USDT with 50x leverage:
    # initial margin = 1 x 10,000 / 50 = 200 USDT.
    pos = pa.table({"portfolio_id": ["X"], "instrument_id": ["BTCUSDT"], "quantity": [1.0],
                    "avg_price": [10000.0]})
    st_ = margin_state(pos, {"instrument_id": ["BTCUSDT"], "price": [10000.0]},
                       instruments=BINANCE_INST, cash=BINANCE_CASH, accounts={"X": "margin"},
                       leverage=50, base_currency="USDT")
    assert st_.margin_used[0] == 200.0
    row = st_.to_arrow("positions").to_pylist()[0]
    assert row["initial_margin"] == 200.0
    assert row["maintenance_margin"] == 100.0  # default: 50 % of initial margin


def test_initial_margin_example_pionex():
    # Pionex, "Initial Margin" (blog): BTCUSDT perpetual at a mark price of 20,000 USDT,
    # long 5 BTC with 10x leverage: notional 100,000 USDT, initial margin 10,000 USDT.
    pos = pa.table({"portfolio_id": ["X"], "instrument_id": ["BTCUSDT"], "quantity": [5.0],
                    "avg_price": [20000.0]})
    st_ = margin_state(pos, {"instrument_id": ["BTCUSDT"], "price": [20000.0]},
                       instruments=BINANCE_INST, cash=BINANCE_CASH, accounts={"X": "margin"},
                       leverage=10, base_currency="USDT")
    row = st_.to_arrow("positions").to_pylist()[0]
    assert row["notional"] == 100000.0 and row["initial_margin"] == 10000.0
    assert st_.margin_used[0] == 10000.0


def test_account_figures_by_hand():
    # wallet 10,000; long 1 at 50,000 mark 48,000 (lev 10), short 10 at 100 mark 110 (lev 5)
    pos = pa.table({"portfolio_id": ["A", "A"], "instrument_id": ["L", "S"],
                    "quantity": [1.0, -10.0], "avg_price": [50000.0, 100.0]})
    inst = pa.table({"instrument_id": ["L", "S"], "currency": ["USD", "USD"]})
    cash = pa.table({"portfolio_id": ["A"], "currency": ["USD"], "amount": [10000.0]})
    st_ = margin_state(pos, {"instrument_id": ["L", "S"], "price": [48000.0, 110.0]},
                       instruments=inst, cash=cash, accounts={"A": "margin"},
                       leverage=pa.table({"portfolio_id": ["A", "A"], "instrument_id": ["L", "S"],
                                          "leverage": [10.0, 5.0]}))
    acc = st_.to_arrow().to_pylist()[0]
    # upnl -2,000 - 100; equity 7,900; IM 4,800 + 220; MM 2,400 + 110
    assert acc["equity"] == pytest.approx(7900.0)
    assert acc["margin_used"] == pytest.approx(5020.0)
    assert acc["free_margin"] == pytest.approx(2880.0)
    assert acc["margin_level_pct"] == pytest.approx(100 * 7900 / 5020)
    assert acc["maintenance_margin"] == pytest.approx(2510.0)
    assert acc["margin_ratio"] == pytest.approx(2510 / 7900)
    assert acc["excess_liquidity"] == pytest.approx(5390.0)
    assert acc["buying_power"] == pytest.approx(2880.0 * 10)
    lp = st_.to_arrow("positions").column("liquidation_price").to_pylist()
    # long: (10,000 - 110 + (-100) + 0 - 50,000) / (1 x (0.05 - 1)) with MMR 0.5 / 10
    assert lp[0] == pytest.approx((10000 - 110 - 100 - 50000) / (0.05 - 1))
    # short: (10,000 - 2,400 - 2,000 + 10 x 100) / (10 x (0.1 + 1))
    assert lp[1] == pytest.approx((10000 - 2400 - 2000 + 1000) / (10 * 1.1))


def _random_state(seed, n_p=4, n_i=5, n=14, iso_share=0.4):
    rng = np.random.default_rng(seed)
    pids = [f"P{p}" for p in range(n_p)]
    iids = [f"I{i}" for i in range(n_i)]
    pairs = rng.choice(n_p * n_i, size=min(n, n_p * n_i), replace=False)
    n = len(pairs)
    pos = pa.table({
        "portfolio_id": [pids[x // n_i] for x in pairs],
        "instrument_id": [iids[x % n_i] for x in pairs],
        "quantity": rng.normal(0, 50, n),
        "avg_price": rng.uniform(50, 150, n),
        "leverage": rng.choice([1.0, 3.0, 10.0, 25.0, 125.0], n),
        "margin_mode": np.where(rng.random(n) < iso_share, "isolated", "cross"),
    })
    inst = pa.table({"instrument_id": iids, "currency": rng.choice(["USD", "EUR"], n_i).tolist(),
                     "multiplier": rng.choice([1.0, 10.0], n_i)})
    prices = pa.table({"instrument_id": iids, "price": rng.uniform(50, 150, n_i)})
    cash = pa.table({"portfolio_id": pids, "currency": ["USD"] * n_p,
                     "amount": rng.uniform(100, 1e5, n_p)})
    floors, rates, ids = [], [], []
    for iid in iids[: n_i - 1]:  # the last instrument has no tiers: default rate
        k = int(rng.integers(1, 5))
        f = np.concatenate([[0.0], np.sort(rng.choice(np.arange(1, 50) * 500.0, k - 1, replace=False))])
        floors += f.tolist()
        rates += np.sort(rng.uniform(0.004, 0.3, k)).tolist()
        ids += [iid] * k
    brackets = pa.table({"instrument_id": ids, "notional_floor": floors, "maintenance_rate": rates})
    return margin_state(pos, prices, {"EUR": 1.08}, instruments=inst, cash=cash,
                        accounts={p: "margin" for p in pids}, brackets=brackets)


@given(seed=st.integers(0, 2**32 - 1))
def test_free_margin_is_equity_less_margin_used(seed):
    s = _random_state(seed)
    np.testing.assert_array_equal(s.free_margin, s.equity - s.margin_used)
    # equity agrees with pm.value's margin-account equity
    val = pm.revalue(s.book, s.price, s.fx)
    np.testing.assert_allclose(s.equity, val.equity, rtol=1e-12, atol=1e-8)


def _mm_at(s, k, price):
    """Maintenance margin of position k at a given mark price (table lookup)."""
    i = s.book.instrument[k]
    notional = abs(s.book.quantity[k]) * price * s.unit_scale[i]
    lo, hi = s.br_offsets[i], s.br_offsets[i + 1]
    if lo == hi:
        return notional * s.default_fraction / s.leverage[k]
    t = lo + int(np.searchsorted(s.br[lo:hi, 0], notional, side="right")) - 1
    return notional * s.br[t, 1] - s.br[t, 2]


@given(seed=st.integers(0, 2**32 - 1))
def test_isolated_liquidation_price_makes_margin_plus_pnl_equal_maintenance(seed):
    s = _random_state(seed, iso_share=1.0)
    bk = s.book
    for k in range(bk.n_positions):
        lp, q = s.position_matrix_[k, 7], bk.quantity[k]
        if q == 0 or lp == 0.0:
            continue
        u = s.unit_scale[bk.instrument[k]]
        pnl = q * (lp - bk.avg_price[k]) * u
        assert s.isolated_margin[k] + pnl == pytest.approx(_mm_at(s, k, lp), rel=1e-9, abs=1e-6)


@given(seed=st.integers(0, 2**32 - 1))
def test_cross_liquidation_price_makes_equity_equal_cross_maintenance(seed):
    s = _random_state(seed, iso_share=0.0)
    bk = s.book
    for p in range(bk.n_portfolios):
        rows = range(bk.offsets[p], bk.offsets[p + 1])
        wallet = s.account_matrix_[p, 0]
        for k in rows:
            lp, q = s.position_matrix_[k, 7], bk.quantity[k]
            if q == 0 or lp == 0.0:
                continue
            # move this position's price to LP, others stay: equity == total maintenance
            equity, mm = wallet, 0.0
            for j in rows:
                px = lp if j == k else s.price[bk.instrument[j]]
                equity += bk.quantity[j] * (px - bk.avg_price[j]) * s.unit_scale[bk.instrument[j]]
                mm += _mm_at(s, j, px) if bk.quantity[j] != 0 else 0.0
            assert equity == pytest.approx(mm, rel=1e-9, abs=1e-6)


def test_distance_sign():
    s = binance()
    d = s.to_arrow("positions").column("distance_to_liquidation").to_pylist()
    assert d[0] == pytest.approx((31967.27 - 26316.893265) / 31967.27, rel=1e-6)
    assert all(x > 0 for x in d)


def test_long_with_ample_margin_has_zero_liquidation_price():
    s = binance(leverage=1, margin_mode="isolated",
                isolated_margin=[109.488 * 32481.98 * 2, 3683.979 * 1456.84 * 2])
    np.testing.assert_array_equal(s.liquidation_price, [0.0, 0.0])
    np.testing.assert_array_equal(s.to_arrow("positions").column("distance_to_liquidation").to_numpy(),
                                  [1.0, 1.0])


def test_cash_accounts_left_out_and_kind_mirrors_input(backend):
    pos = pa.table({"portfolio_id": ["C", "M"], "instrument_id": ["A", "A"],
                    "quantity": [1.0, 2.0], "avg_price": [10.0, 10.0]})
    inst = pa.table({"instrument_id": ["A"], "currency": ["USD"]})
    cash = pa.table({"portfolio_id": ["C", "M"], "currency": ["USD", "USD"], "amount": [5.0, 50.0]})
    s = margin_state(from_arrow(pos, backend), {"instrument_id": ["A"], "price": [11.0]},
                     instruments=inst, cash=cash, accounts={"M": "margin"}, leverage=2)
    assert frame_kind(s.accounts) == backend and frame_kind(s.positions) == backend
    acc = s.to_arrow().to_pylist()
    assert [r["portfolio_id"] for r in acc] == ["M"]
    assert acc[0]["margin_used"] == 11.0 and acc[0]["equity"] == 52.0
    assert s.to_arrow("positions").column("portfolio_id").to_pylist() == ["M"]
    assert "1 margin accounts" in repr(s)


def test_options_from_positions_columns_and_mappings():
    pos = BINANCE_POS.append_column("leverage", pa.array([20.0, 10.0])).append_column(
        "margin_mode", pa.array(["isolated", "cross"]))
    s = margin_state(pos, BINANCE_PRICES, instruments=BINANCE_INST, cash=BINANCE_CASH,
                     accounts={"X": "margin"}, base_currency="USDT")
    np.testing.assert_array_equal(s.leverage, [20.0, 10.0])
    np.testing.assert_array_equal(s.isolated, [True, False])
    assert s.isolated_margin[0] == pytest.approx(109.488 * 32481.98 / 20)
    s2 = binance(leverage={"X": 7}, margin_mode={"X": "isolated"})
    np.testing.assert_array_equal(s2.leverage, [7.0, 7.0])
    assert s2.isolated.all() and s2.account_leverage[0] == 7.0


def test_sample_brackets_fit_sample_book():
    from pmcore.datasets import load_sample_book

    d = load_sample_book()
    s = margin_state(d.positions, d.prices, d.fx, instruments=d.instruments, cash=d.cash,
                     accounts=d.accounts, brackets=sample_margin_brackets(), leverage=10)
    assert s.portfolio_ids.to_pylist() == ["CRYPTO-PERP", "MACRO-FUT"]
    assert np.isfinite(s.margin_level_pct).all()


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("lev", [0.5, 126, float("nan"), -3, "x"])
def test_bad_leverage(lev):
    with pytest.raises(pm.ValidationError, match="leverage") as err:
        binance(leverage=lev)
    assert err.value.argument == "leverage"


def test_bad_leverage_per_position_names_the_row():
    with pytest.raises(pm.ValidationError, match="row 1") as err:
        binance(leverage=[10.0, 200.0])
    assert err.value.value == 200.0


def test_bad_margin_mode():
    with pytest.raises(pm.ValidationError, match="not a margin mode"):
        binance(margin_mode="portfolio")


def test_nan_quantity_rejected():
    pos = BINANCE_POS.set_column(2, "quantity", pa.array([1.0, float("nan")]))
    with pytest.raises(pm.ValidationError, match="quantity"):
        margin_state(pos, BINANCE_PRICES, instruments=BINANCE_INST, cash=BINANCE_CASH,
                     accounts={"X": "margin"})


def test_no_margin_account():
    with pytest.raises(pm.ValidationError, match="no margin account"):
        margin_state(BINANCE_POS, BINANCE_PRICES, instruments=BINANCE_INST, cash=BINANCE_CASH)


def test_negative_isolated_margin():
    with pytest.raises(pm.ValidationError, match="invalid margin"):
        binance(margin_mode="isolated", isolated_margin=[-1.0, 5.0])


@pytest.mark.parametrize("kwargs, message, row, value", [
    ({"leverage": [10.0, float("nan")]}, "out of range", 1, None),
    ({"leverage": [0.5, 10.0]}, "out of range", 0, 0.5),
    ({"leverage": [10.0, float("inf")]}, "out of range", 1, float("inf")),
    ({"margin_mode": "isolated", "isolated_margin": [5.0, float("inf")]}, "invalid margin", 1, float("inf")),
    ({"margin_mode": "isolated", "isolated_margin": [float("-inf"), 5.0]}, "invalid margin", 0,
     float("-inf")),
])
def test_per_position_range_checks_name_the_first_bad_row(kwargs, message, row, value):
    with pytest.raises(pm.ValidationError, match=message) as err:
        binance(**kwargs)
    assert err.value.row == row
    if value is not None:
        assert err.value.value == value


def test_nan_isolated_margin_means_entry_margin():
    # NaN is in range for isolated_margin (the entry notional / leverage), -0.0 is 0
    got = binance(margin_mode="isolated", isolated_margin=[float("nan"), -0.0])
    want = binance(margin_mode="isolated", isolated_margin=[float("nan"), 0.0])
    np.testing.assert_array_equal(got.position_matrix_, want.position_matrix_)


def _brackets(**cols):
    base = {"instrument_id": ["BTCUSDT", "BTCUSDT", "BTCUSDT"],
            "notional_floor": [0.0, 5e4, 2.5e5], "maintenance_rate": [0.004, 0.005, 0.01]}
    base.update(cols)
    return pa.table(base)


@pytest.mark.parametrize("cols, message, column", [
    ({"notional_floor": [0.0, 2.5e5, 5e4]}, "not increasing", "notional_floor"),
    ({"notional_floor": [0.0, 5e4, 5e4]}, "not increasing", "notional_floor"),
    ({"notional_floor": [10.0, 5e4, 2.5e5]}, "floor of 0", "notional_floor"),
    ({"maintenance_rate": [0.004, 0.003, 0.01]}, "decrease", "maintenance_rate"),
    ({"maintenance_rate": [0.004, 0.005, 1.5]}, "100 %", "maintenance_rate"),
    ({"notional_cap": [6e4, 2.5e5, 1e9]}, "overlaps", "notional_cap"),
    ({"notional_cap": [4e4, 2.5e5, 1e9]}, "gap", "notional_cap"),
    ({"instrument_id": ["BTCUSDT", "BTCUSDT", "DOGE"]}, "not in the book", "instrument_id"),
    ({"max_leverage": [125.0, 100.0, 200.0]}, "out of range", "max_leverage"),
])
def test_bad_brackets(cols, message, column):
    with pytest.raises(pm.ValidationError, match=message) as err:
        binance(brackets=_brackets(**cols))
    assert err.value.argument == "brackets" and err.value.column == column
    assert err.value.row is not None


def test_brackets_interleaved_and_derived_amounts():
    book = binance().book
    shuffled = BINANCE_BRACKETS.take([5, 0, 6, 7, 1, 8, 2, 9, 3, 10, 4, 11])  # interleaved
    off, br, _ = align_brackets(book, shuffled)
    off2, br2, _ = align_brackets(book, BINANCE_BRACKETS)
    np.testing.assert_array_equal(off, off2)
    np.testing.assert_allclose(br, br2)
    assert br[3, 2] == pytest.approx(16300.0)


def test_maintenance_amount_must_follow_the_rates():
    ok = _brackets(maintenance_amount=[0.0, 50.0, 1300.0])
    assert binance(brackets=ok).book is not None
    with pytest.raises(pm.ValidationError, match="does not follow") as err:
        binance(brackets=_brackets(maintenance_amount=[0.0, 50.0, 1500.0]))
    assert err.value.row == 2 and err.value.column == "maintenance_amount"


def test_parallel_path_from_threads_matches_serial(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from pmcore.kernels import margin as km

    serial = _random_state(11, n_p=6, n_i=6, n=30)
    monkeypatch.setattr(km, "PARALLEL_POSITIONS", 1)
    with ThreadPoolExecutor(4) as pool:
        states = list(pool.map(lambda _: _random_state(11, n_p=6, n_i=6, n=30), range(8)))
    for s in states:
        np.testing.assert_array_equal(s.position_matrix_, serial.position_matrix_)
        np.testing.assert_array_equal(s.account_matrix_, serial.account_matrix_)


def test_thread_budget_of_one_keeps_the_serial_kernel(monkeypatch):
    """PMCORE_NUM_THREADS=1: a large book is valued by the serial kernel, with the same numbers."""
    from pmcore.kernels import margin as km

    serial = _random_state(5, n_p=4, n_i=5, n=20)
    monkeypatch.setattr(km, "PARALLEL_POSITIONS", 1)
    monkeypatch.setenv("PMCORE_NUM_THREADS", "1")

    def refuse(*args):
        raise AssertionError("the parallel kernel ran with a budget of one thread")

    monkeypatch.setattr(km, "margin_state_parallel", refuse)
    one = _random_state(5, n_p=4, n_i=5, n=20)
    np.testing.assert_array_equal(one.position_matrix_, serial.position_matrix_)
    np.testing.assert_array_equal(one.account_matrix_, serial.account_matrix_)
