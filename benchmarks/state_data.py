"""Data and peer implementations for the state-engine benchmarks.

The issue names no peer library; the closest thing a user would write instead
is a plain Python dict of positions updated fill by fill (``python_dict_apply``)
or a pandas group-by per batch (``pandas_apply``), both by average cost with
cash by account type, as pmcore does.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

import pmcore as pm


def sizes() -> dict:
    """Issue sizes with ``PMCORE_BENCH_FULL=1``, small ones otherwise (smoke runs)."""
    if os.environ.get("PMCORE_BENCH_FULL"):
        return {"n_portfolios": 10_000, "n_instruments": 100, "n_fills": 1_000_000}
    return {"n_portfolios": 100, "n_instruments": 20, "n_fills": 5_000}


def make_book(n_portfolios: int, n_instruments: int, *, seed: int = 0):
    """Every portfolio holds every instrument (n_portfolios x n_instruments positions); half are margin."""
    rng = np.random.default_rng(seed)
    pids = np.array([f"P{p:06d}" for p in range(n_portfolios)])
    iids = np.array([f"I{i:05d}" for i in range(n_instruments)])
    n = n_portfolios * n_instruments
    positions = pa.table({
        "portfolio_id": np.repeat(pids, n_instruments),
        "instrument_id": np.tile(iids, n_portfolios),
        "quantity": rng.integers(100, 1000, n).astype(float),
        "avg_price": np.round(rng.uniform(50, 150, n), 2),
    })
    instruments = pa.table({
        "instrument_id": iids,
        "currency": np.where(np.arange(n_instruments) % 4 == 0, "EUR", "USD"),
        "sector": np.array(["Tech", "Energy", "Health", "Financials", "Industrials"])[np.arange(n_instruments) % 5],
    })
    cash = pa.table({"portfolio_id": pids, "currency": ["USD"] * n_portfolios, "amount": [1e9] * n_portfolios})
    accounts = pa.table({"portfolio_id": pids, "account_type": np.where(np.arange(n_portfolios) % 2, "margin", "cash")})
    book = pm.Book.from_frames(positions, instruments, cash=cash, accounts=accounts)
    prices = pa.table({"instrument_id": iids, "price": np.round(rng.uniform(50, 150, n_instruments), 2)})
    return book, prices, {"EUR": 1.08}


def make_fills(book, n_fills: int, *, seed: int = 1, start_id: int = 0) -> pa.Table:
    """Random fills on held positions, small quantities so cash accounts stay long."""
    rng = np.random.default_rng(seed)
    p = rng.integers(0, book.n_portfolios, n_fills)
    i = rng.integers(0, book.n_instruments, n_fills)
    qty = rng.integers(-5, 6, n_fills).astype(float)
    qty[qty == 0] = 1.0
    return pa.table({
        "fill_id": np.arange(start_id, start_id + n_fills, dtype=np.int64),
        "timestamp": pa.array(np.full(n_fills, 1_763_700_000 * 10**9, np.int64)),
        "portfolio_id": book.portfolio_ids.take(pa.array(p)),
        "instrument_id": book.instrument_ids.take(pa.array(i)),
        "quantity": qty,
        "price": np.round(rng.uniform(50, 150, n_fills), 2),
        "fee": np.full(n_fills, 0.5),
    })


# ----------------------------------------------------------------------------- peers


class PythonDictBook:
    """Positions in a dict keyed by (portfolio, instrument), cash in a dict: the hand-written service loop."""

    def __init__(self, book) -> None:
        pids = book.portfolio_ids.to_pylist()
        iids = book.instrument_ids.to_pylist()
        pcode = np.repeat(np.arange(book.n_portfolios), np.diff(book.offsets))
        self.pos = {(pids[p], iids[i]): [q, a, 0.0] for p, i, q, a in
                    zip(pcode.tolist(), book.instrument.tolist(), book.quantity.tolist(), book.avg_price.tolist())}
        self.cash = {p: 1e9 for p in pids}
        self.margin = dict(zip(pids, book.is_margin.tolist()))
        self.seen: set = set()

    def apply(self, rows) -> int:
        """Apply fills given as tuples (fill_id, portfolio, instrument, quantity, price, fee); return rejects."""
        rejected = 0
        pos, cash, margin, seen = self.pos, self.cash, self.margin, self.seen
        for fid, p, i, dq, px, fee in rows:
            if fid in seen or not (px > 0) or dq == 0:
                rejected += 1
                continue
            q, a, r = pos.get((p, i), (0.0, 0.0, 0.0))
            q1 = q + dq
            if not margin[p] and q1 < 0 and dq < 0:
                rejected += 1
                continue
            realized = 0.0
            if q == 0 or (q > 0) == (dq > 0):
                a1 = (q * a + dq * px) / q1
            elif q1 == 0:
                a1, realized = 0.0, q * (px - a)
            elif abs(dq) < abs(q):
                a1, realized = a, -dq * (px - a)
            else:
                a1, realized = px, q * (px - a)
            pos[(p, i)] = [q1, a1, r + realized]
            cash[p] += (realized if margin[p] else -dq * px) - fee
            seen.add(fid)
        return rejected


class DurablePythonDictBook(PythonDictBook):
    """The dict loop plus what a hand-written durable service adds: the batch appended to an Arrow
    IPC stream file and ``fsync`` before acknowledging (group commit = one sync per batch)."""

    def __init__(self, book, path) -> None:
        super().__init__(book)
        self._fh = open(path, "wb")
        self._writer = None

    def apply_durable(self, fills: pa.Table, rows) -> int:
        rejected = self.apply(rows)
        batch = fills.combine_chunks().to_batches()[0]
        if self._writer is None:
            self._writer = pa.ipc.new_stream(self._fh, batch.schema)
        self._writer.write_batch(batch)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return rejected

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._fh.close()


def python_rows(fills: pa.Table) -> list:
    cols = [fills.column(c).to_pylist() for c in ("fill_id", "portfolio_id", "instrument_id", "quantity", "price", "fee")]
    return list(zip(*cols))


def pandas_positions(book):
    """The book's positions as a pandas frame indexed by (portfolio_id, instrument_id)."""
    import pandas as pd

    pcode = np.repeat(np.arange(book.n_portfolios), np.diff(book.offsets))
    idx = pd.MultiIndex.from_arrays([np.asarray(book.portfolio_ids.take(pa.array(pcode))),
                                     np.asarray(book.instrument_ids.take(pa.array(book.instrument)))],
                                    names=["portfolio_id", "instrument_id"])
    return pd.DataFrame({"quantity": book.quantity, "avg_price": book.avg_price}, index=idx)


def pandas_apply(positions, fills):
    """A vectorized pandas update per batch: net the batch per position by group-by, then merge.

    It is the fast thing a pandas user writes, and it is not the same
    computation: fills of one position inside a batch are netted, so realized
    PnL of intra-batch round trips and per-fill rejections are lost.
    """
    import pandas as pd

    f = fills.assign(notional=fills["quantity"] * fills["price"])
    g = f.groupby(["portfolio_id", "instrument_id"], sort=False).agg(dq=("quantity", "sum"),
                                                                     notional=("notional", "sum"))
    m = positions.join(g, how="left").fillna({"dq": 0.0, "notional": 0.0})
    q1 = m["quantity"] + m["dq"]
    same = (m["quantity"] * m["dq"]) >= 0
    avg = m["avg_price"].where(~same, (m["quantity"] * m["avg_price"] + m["notional"]) / q1.where(q1 != 0, 1.0))
    return pd.DataFrame({"quantity": q1, "avg_price": avg}, index=m.index)
