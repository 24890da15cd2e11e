"""Builders of random but valid books for the tests (numpy only)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

CURRENCIES = ["USD", "EUR", "GBP", "JPY"]
SECTORS = ["Tech", "Energy", "Financials", "Health"]


def random_book(seed: int, n_portfolios: int = 5, n_instruments: int = 12, n_positions: int = 30,
                margin_share: float = 0.3):
    """Tables (positions, instruments, prices, fx, cash, accounts) of a random valid book."""
    rng = np.random.default_rng(seed)
    inst_ids = [f"I{i:03d}" for i in range(n_instruments)]
    pids = [f"P{p:02d}" for p in range(n_portfolios)]
    pairs = rng.choice(n_portfolios * n_instruments, size=min(n_positions, n_portfolios * n_instruments),
                       replace=False)
    p_idx, i_idx = pairs // n_instruments, pairs % n_instruments
    n = len(pairs)
    positions = pa.table({
        "portfolio_id": [pids[p] for p in p_idx],
        "instrument_id": [inst_ids[i] for i in i_idx],
        "quantity": np.round(rng.normal(0, 500, n), 2),
        "avg_price": np.round(rng.uniform(1, 500, n), 4),
    })
    instruments = pa.table({
        "instrument_id": inst_ids,
        "currency": rng.choice(CURRENCIES, n_instruments).tolist(),
        "multiplier": rng.choice([1.0, 1.0, 10.0, 50.0], n_instruments),
        "sector": rng.choice(SECTORS, n_instruments).tolist(),
    })
    prices = pa.table({"instrument_id": inst_ids,
                       "price": np.round(rng.uniform(1, 500, n_instruments), 4)})
    fx = pa.table({"currency": CURRENCIES, "rate": [1.0, 1.08, 1.27, 0.0067]})
    cash = pa.table({
        "portfolio_id": pids,
        "currency": rng.choice(CURRENCIES, n_portfolios).tolist(),
        "amount": np.round(rng.normal(1e5, 5e4, n_portfolios), 2),
    })
    accounts = pa.table({
        "portfolio_id": pids,
        "account_type": np.where(rng.random(n_portfolios) < margin_share, "margin", "cash").tolist(),
    })
    return positions, instruments, prices, fx, cash, accounts
