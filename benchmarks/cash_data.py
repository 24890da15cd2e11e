"""Data and implementations for the cash benchmarks (pmcore beside polars and pandas).

Sizes: small by default; ``PMCORE_BENCH_FULL=1`` for the issue's sizes
(balances over 10,000,000 ledger lines, reconciliation of 1,000,000 lines).
The ledger has 10,000 portfolios x 4 strategies x 5 currencies; amounts have 2
decimals and are stored exactly (decimal128(38, 8)).
"""

from __future__ import annotations

import os
import time
from decimal import Decimal

import numpy as np
import pyarrow as pa

FULL = os.environ.get("PMCORE_BENCH_FULL", "0") not in ("0", "", "false", "no")
STATUSES = ["pending", "settled", "failed", "cancelled"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF"]
STRATEGIES = ["core", "trend", "carry", "cash"]


def sizes() -> dict:
    """Row counts of each workload (full sizes with PMCORE_BENCH_FULL=1)."""
    if FULL:
        return {"balances": 10_000_000, "balances_decimal_peers": 1_000_000, "recon": 1_000_000,
                "portfolios": 10_000}
    return {"balances": 100_000, "balances_decimal_peers": 100_000, "recon": 100_000, "portfolios": 1_000}


def make_ledger(n: int, n_portfolios: int, seed: int = 0) -> pa.Table:
    """Ledger lines with dictionary (categorical) keys and exact decimal amounts."""
    rng = np.random.default_rng(seed)
    pids = pa.array([f"P{i:05d}" for i in range(n_portfolios)])

    def cat(values, k):
        idx = rng.integers(0, k, n).astype(np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(idx), values)

    cents = rng.integers(-10**9, 10**9, n)  # +/- 10 million with 2 decimals
    words = np.empty(2 * n, np.int64)
    words[0::2] = cents * 10**6
    words[1::2] = words[0::2] >> 63
    amount = pa.Array.from_buffers(pa.decimal128(38, 8), n, [None, pa.py_buffer(words)])
    status = rng.choice(4, n, p=[0.15, 0.8, 0.03, 0.02]).astype(np.int32)
    return pa.table({
        "portfolio_id": cat(pids, n_portfolios),
        "strategy": cat(pa.array(STRATEGIES), len(STRATEGIES)),
        "currency": cat(pa.array(CURRENCIES), len(CURRENCIES)),
        "status": pa.DictionaryArray.from_arrays(pa.array(status), pa.array(STATUSES)),
        "amount": amount,
    })


KEYS = ["portfolio_id", "strategy", "currency", "status"]


def run_pmcore_balances(table: pa.Table):
    from pmcore.cash import cash_balances

    return cash_balances(table)


def to_polars(table: pa.Table):
    import polars as pl

    return pl.from_arrow(table)


def run_polars_balances(frame):
    """polars group-by summing the exact Decimal column (per key and status)."""
    import polars as pl

    return frame.group_by(KEYS).agg(pl.col("amount").sum())


def to_pandas_decimal(table: pa.Table):
    """pandas with categorical keys and a column of Python Decimals (the exact way in pandas)."""
    return table.to_pandas()


def to_pandas_float(table: pa.Table):
    df = table.to_pandas()
    df["amount"] = table.column("amount").cast(pa.float64()).to_numpy()
    return df


def run_pandas_balances(df):
    return df.groupby(KEYS, observed=True, sort=False)["amount"].sum()


def to_pandas_units(table: pa.Table):
    """pandas with categorical keys and the amounts as int64 fixed-point units (exact, 8 decimals).

    The same exact arithmetic as pmcore's kernel, minus its overflow check
    (pandas int64 sums wrap silently; these amounts are far from the limit).
    """
    df = table.drop_columns(["amount"]).to_pandas()
    col = table.column("amount").combine_chunks()
    words = np.frombuffer(col.buffers()[1], np.int64)[2 * col.offset:2 * (col.offset + len(col))]
    df["units"] = words[0::2].copy()  # low words: the units (|amount| < 2**63 units)
    return df


def run_pandas_units_balances(df):
    return df.groupby(KEYS, observed=True, sort=False)["units"].sum()


def check_same(pm: pa.Table, pl_frame) -> None:
    """pmcore's settled/pending columns equal the polars sums per status, exactly."""
    import polars as pl

    pivot = pl_frame.with_columns(pl.col("amount").cast(pl.Decimal(38, 8)))
    settled = {tuple(r[:3]): r[4] for r in pivot.filter(pl.col("status") == "settled").iter_rows()}
    got = {(r["portfolio_id"], r["strategy"], r["currency"]): r["settled"] for r in pm.to_pylist()}
    for k, v in list(settled.items())[:1000]:
        assert got[k] == v, (k, got[k], v)


def check_same_units(pm: pa.Table, series) -> None:
    """pmcore's settled column equals the pandas int64 unit sums of the settled lines, exactly."""
    got = {(r["portfolio_id"], r["strategy"], r["currency"]): r["settled"] for r in pm.to_pylist()}
    settled = series.xs("settled", level="status")
    for key, units in list(settled.items())[:1000]:
        assert got[key] == Decimal(int(units)).scaleb(-8), (key, got[key], units)


def make_statement(ledger_lines: pa.Table, seed: int = 1):
    """A statement: the ledger lines with 0.1 % amount changes, 0.1 % dropped, 0.1 % extra."""
    rng = np.random.default_rng(seed)
    n = ledger_lines.num_rows
    amounts = ledger_lines.column("amount").combine_chunks()
    keep = rng.random(n) > 0.001
    st = ledger_lines.filter(pa.array(keep))
    m = st.num_rows
    bump = np.flatnonzero(rng.random(m) < 0.001)
    words = np.frombuffer(st.column("amount").combine_chunks().buffers()[1], np.int64).copy()
    off = st.column("amount").combine_chunks().offset
    lo = words[2 * off::2][:m].copy()
    lo[bump] += 1
    w = np.empty(2 * m, np.int64)
    w[0::2], w[1::2] = lo, lo >> 63
    st = st.set_column(st.column_names.index("amount"), "amount",
                       pa.Array.from_buffers(pa.decimal128(38, 8), m, [None, pa.py_buffer(w)]))
    extra = pa.table({"txn_id": [f"X{i}" for i in range(n // 1000)],
                      "amount": pa.array([Decimal(1)] * (n // 1000), pa.decimal128(38, 8)),
                      "value_date": pa.array(np.full(n // 1000, 20777).astype("datetime64[D]"), pa.date32())})
    del amounts
    return pa.concat_tables([st, extra])


def make_recon(n: int, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    """Ledger lines (txn_id, amount, value_date) and a statement that mostly matches."""
    rng = np.random.default_rng(seed)
    cents = rng.integers(-10**9, 10**9, n)
    w = np.empty(2 * n, np.int64)
    w[0::2] = cents * 10**6
    w[1::2] = w[0::2] >> 63
    lines = pa.table({
        "txn_id": pa.array([f"T{i:09d}" for i in range(n)]),
        "amount": pa.Array.from_buffers(pa.decimal128(38, 8), n, [None, pa.py_buffer(w)]),
        "value_date": pa.array((20777 + rng.integers(0, 20, n)).astype("datetime64[D]"), pa.date32()),
    })
    return lines, make_statement(lines, seed + 1)


def run_pmcore_recon(lines, statement):
    from pmcore.cash import reconcile

    return reconcile(lines, statement)


def run_pandas_recon(lines_df, statement_df):
    """Outer merge on the id, exact Decimal comparison, status per line."""
    import numpy as np

    m = lines_df.merge(statement_df, on="txn_id", how="outer", suffixes=("_l", "_s"), indicator=True)
    both = m["_merge"] == "both"
    amt = both & (m["amount_l"] != m["amount_s"])
    date = both & ~amt & (m["value_date_l"] != m["value_date_s"])
    status = np.select([m["_merge"] == "left_only", m["_merge"] == "right_only", amt, date],
                       ["missing_in_statement", "missing_in_ledger", "amount_mismatch", "date_mismatch"],
                       "matched")
    return status, sum(lines_df["amount"]) - sum(statement_df["amount"])


def run_polars_recon(lines_pl, statement_pl):
    import polars as pl

    m = lines_pl.join(statement_pl, on="txn_id", how="full", suffix="_s", coalesce=True)
    status = m.select(
        pl.when(pl.col("amount_s").is_null()).then(pl.lit("missing_in_statement"))
        .when(pl.col("amount").is_null()).then(pl.lit("missing_in_ledger"))
        .when(pl.col("amount") != pl.col("amount_s")).then(pl.lit("amount_mismatch"))
        .when(pl.col("value_date") != pl.col("value_date_s")).then(pl.lit("date_mismatch"))
        .otherwise(pl.lit("matched")).alias("status"))
    return status, lines_pl["amount"].sum() - statement_pl["amount"].sum()


class DecimalDictLedger:
    """The hand-written peer of one deposit or withdrawal: Decimal amounts, dict balances, list of rows.

    It does what ``Ledger.deposit``/``withdraw`` do on the hot path, minus
    what a quick service would skip: exact amount parsing, positive-amount
    and per-transaction checks, the daily limit, the 10 % reserve and the
    available-cash check for withdrawals, a value date T+2 (weekends only),
    a row and an audit event appended.
    """

    def __init__(self, limit=Decimal(10**9), reserve=Decimal("0.10")) -> None:
        self.settled: dict = {}
        self.pending_out: dict = {}
        self.daily: dict = {}
        self.rows: list = []
        self.audit: list = []
        self.limit, self.reserve = limit, reserve
        self.quantum = Decimal("0.00000001")

    def _value_date(self, trade_date):
        import datetime as dt

        d = dt.date.fromisoformat(trade_date)
        n = 0
        while n < 2:
            d += dt.timedelta(days=1)
            n += d.weekday() < 5
        return d

    def deposit(self, portfolio_id, currency, amount, trade_date):
        a = Decimal(amount)
        if a <= 0 or a != a.quantize(self.quantum) or a > self.limit:
            raise ValueError(f"deposit refused: {amount}")
        self.rows.append(("deposit", portfolio_id, currency, a, trade_date, self._value_date(trade_date)))
        self.audit.append((len(self.rows), time.time_ns(), "record"))
        return len(self.rows)

    def withdraw(self, portfolio_id, currency, amount, trade_date):
        a = Decimal(amount)
        if a <= 0 or a != a.quantize(self.quantum) or a > self.limit:
            raise ValueError(f"withdrawal refused: {amount}")
        key = (portfolio_id, currency)
        day = (portfolio_id, currency, trade_date)
        if self.daily.get(day, 0) + a > self.limit:
            raise ValueError("daily limit")
        settled = self.settled.get(key, Decimal(0))
        available = settled - self.pending_out.get(key, Decimal(0)) - (settled * self.reserve).quantize(self.quantum)
        if a > available:
            raise ValueError("exceeds available cash")
        self.pending_out[key] = self.pending_out.get(key, Decimal(0)) + a
        self.daily[day] = self.daily.get(day, 0) + a
        self.rows.append(("withdrawal", portfolio_id, currency, -a, trade_date, self._value_date(trade_date)))
        self.audit.append((len(self.rows), time.time_ns(), "record"))
        return len(self.rows)


def new_peer_ledger():
    led = DecimalDictLedger()
    for p in range(100):
        led.settled[(f"P{p}", "USD")] = Decimal("1000000")
    return led


def new_ledger():
    from pmcore.cash import Ledger, Limits

    led = Ledger(limits=Limits(max_transaction=10**9, max_daily_withdrawal=10**9))
    for p in range(100):
        led.deposit(f"P{p}", "USD", "1000000", trade_date="2026-11-20", status="settled")
    return led
