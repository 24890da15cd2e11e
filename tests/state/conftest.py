"""Fixtures and an independent reference model of a portfolio state (plain Python dicts)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

import pmcore as pm
from pmcore.state import PortfolioState

CURRENCIES = ["USD", "EUR"]
FX = {"USD": 1.0, "EUR": 1.25}


def make_book(n_portfolios=4, n_instruments=5, *, seed=0, margin=(1,), positions=True):
    """A small multi-currency book: returns (book, prices frame, fx mapping, instruments table)."""
    rng = np.random.default_rng(seed)
    iids = [f"I{i}" for i in range(n_instruments)]
    pids = [f"P{p}" for p in range(n_portfolios)]
    instruments = pa.table({
        "instrument_id": iids,
        "currency": [CURRENCIES[i % 2] for i in range(n_instruments)],
        "multiplier": [1.0 if i % 3 else 2.0 for i in range(n_instruments)],
        "sector": [["Tech", "Energy", "Health"][i % 3] for i in range(n_instruments)],
        "country": [["US", "DE"][i % 2] for i in range(n_instruments)],
    })
    rows = {"portfolio_id": [], "instrument_id": [], "quantity": [], "avg_price": []}
    if positions:
        for p in pids:
            for i in rng.choice(n_instruments, size=2, replace=False):
                rows["portfolio_id"].append(p)
                rows["instrument_id"].append(iids[i])
                rows["quantity"].append(float(rng.integers(1, 10)))
                rows["avg_price"].append(float(rng.integers(50, 150)))
    cash = pa.table({"portfolio_id": pids * 2, "currency": ["USD"] * n_portfolios + ["EUR"] * n_portfolios,
                     "amount": [1e6] * n_portfolios + [5e5] * n_portfolios})
    accounts = {pids[k]: "margin" if k in margin else "cash" for k in range(n_portfolios)}
    book = pm.Book.from_frames(pa.table(rows, schema=pa.schema([
        ("portfolio_id", pa.string()), ("instrument_id", pa.string()), ("quantity", pa.float64()),
        ("avg_price", pa.float64())])), instruments, cash=cash, accounts=accounts)
    prices = pa.table({"instrument_id": iids, "price": [float(rng.integers(50, 150)) for _ in iids]})
    return book, prices, dict(FX), instruments


@pytest.fixture
def small():
    return make_book()


@pytest.fixture
def state(small):
    book, prices, fx, _ = small
    return PortfolioState(book, prices, fx)


def random_fills(book, n, *, seed=0, start_id=0, ts0=1_000, int_ids=True):
    """Random fills on the book's universe (integer quantities, 2-decimal prices)."""
    rng = np.random.default_rng(seed)
    pids = book.portfolio_ids.to_pylist()
    iids = book.instrument_ids.to_pylist()
    qty = rng.integers(-6, 7, n).astype(float)
    qty[qty == 0] = 1.0
    ids = list(range(start_id, start_id + n))
    return pa.table({
        "fill_id": ids if int_ids else [f"f{x}" for x in ids],
        "timestamp": pa.array(np.arange(ts0, ts0 + n, dtype=np.int64)),
        "portfolio_id": [pids[k] for k in rng.integers(0, len(pids), n)],
        "instrument_id": [iids[k] for k in rng.integers(0, len(iids), n)],
        "quantity": qty,
        "price": np.round(rng.uniform(20, 200, n), 2),
        "fee": np.round(rng.uniform(0, 2, n), 2),
    })


class Reference:
    """Average-cost bookkeeping written independently of the kernels, with plain dicts.

    A position is [quantity, average cost, realized PnL]; cash is keyed by
    (portfolio, currency). Also records, per position, the net cash paid for
    it (sum of quantity * price * multiplier), for the identity
    realized + unrealized = market value - net cash paid.
    """

    def __init__(self, book, prices, fx, instruments):
        self.pos = {}
        self.paid = {}
        self.cash = {}
        self.margin = {p: bool(m) for p, m in zip(book.portfolio_ids.to_pylist(), book.is_margin)}
        inst = instruments.to_pylist()
        self.ccy = {r["instrument_id"]: r["currency"] for r in inst}
        self.mult = {r["instrument_id"]: r["multiplier"] for r in inst}
        self.fx = dict(fx)
        self.price = dict(zip(prices.column("instrument_id").to_pylist(), prices.column("price").to_pylist()))
        pcode = np.repeat(np.arange(book.n_portfolios), np.diff(book.offsets))
        pids, iids = book.portfolio_ids.to_pylist(), book.instrument_ids.to_pylist()
        for k in range(book.n_positions):
            key = (pids[pcode[k]], iids[book.instrument[k]])
            self.pos[key] = [float(book.quantity[k]), float(book.avg_price[k]), 0.0]
            self.paid[key] = float(book.quantity[k] * book.avg_price[k] * self.mult[key[1]])
        ccodes = np.repeat(np.arange(book.n_portfolios), np.diff(book.cash_offsets))
        for r in range(len(book.cash_currency)):
            key = (pids[ccodes[r]], book.currencies[int(book.cash_currency[r])].as_py())
            self.cash[key] = float(book.cash_amounts[r, 0])
        self.ids = set()

    def fill(self, fid, p, i, dq, px, fee=0.0):
        """Apply one fill; return None or the reason it is rejected."""
        if fid in self.ids:
            return "duplicate"
        q, avg, real = self.pos.get((p, i), [0.0, 0.0, 0.0])
        m = self.mult[i]
        new_q = q + dq
        if abs(new_q) <= 1e-12 * max(abs(q), abs(dq)):
            new_q = 0.0
        if not self.margin[p] and new_q < 0 and dq < 0:
            return "short"
        booked = 0.0
        if q == 0 or math.copysign(1, q) == math.copysign(1, dq):
            new_avg = (abs(q) * avg + abs(dq) * px) / abs(new_q)
        else:
            closed = min(abs(q), abs(dq))
            booked = closed * (px - avg) * (1 if q > 0 else -1) * m
            if new_q == 0:
                new_avg = 0.0
            elif abs(dq) > abs(q):
                new_avg = px
            else:
                new_avg = avg
        self.pos[(p, i)] = [new_q, new_avg, real + booked]
        self.paid[(p, i)] = self.paid.get((p, i), 0.0) + dq * px * m
        c = self.ccy[i]
        if self.margin[p]:
            self.cash[(p, c)] = self.cash.get((p, c), 0.0) + booked
        else:
            self.cash[(p, c)] = self.cash.get((p, c), 0.0) - dq * px * m
        self.cash[(p, c)] -= fee
        self.ids.add(fid)
        if not (self.price.get(i, 0) > 0):
            self.price[i] = px
        return None

    def equity(self, p):
        total = sum(v * self.fx[c] for (pp, c), v in self.cash.items() if pp == p)
        for (pp, i), (q, avg, _) in self.pos.items():
            if pp != p or q == 0:
                continue
            scale = self.mult[i] * self.fx[self.ccy[i]]
            total += q * (self.price[i] - avg) * scale if self.margin[p] else q * self.price[i] * scale
        return total


def state_positions(state, include_closed=True):
    """{(portfolio, instrument): (quantity, avg_price, realized_pnl)} of a state."""
    t = state.positions(include_closed=include_closed)
    return {(r["portfolio_id"], r["instrument_id"]): (r["quantity"], r["avg_price"], r["realized_pnl"])
            for r in t.to_pylist()}
