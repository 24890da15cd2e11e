"""A writer process for the crash test: applies batches of fills and prints what was acknowledged.

    python crash_writer.py <directory> <first_batch> <durability>

Batch ``b`` holds fills with ids ``b * BATCH .. b * BATCH + BATCH - 1`` made
deterministically from ``b``, so the parent can rebuild any batch. Before
submitting a batch the writer prints ``SUBMIT b``; after the state acknowledged
it (returned, hence durable) it prints ``ACK b``. The parent kills it with
SIGKILL at a random moment.
"""

from __future__ import annotations

import sys

BATCH = 50


def batch(b: int, book):
    from tests.state.conftest import random_fills

    # applied with atomic=False: the rows a batch rejects depend only on the batches before it
    return random_fills(book, BATCH, seed=b, start_id=b * BATCH, ts0=1_000_000 + b * BATCH)


def main(directory: str, first: int, durability: str) -> None:
    from pmcore.state import PortfolioState
    from tests.state.conftest import make_book

    book, prices, fx, _ = make_book(n_portfolios=6, n_instruments=8, seed=42)
    state = PortfolioState.open(directory, book, prices, fx, durability=durability, commit_window=0.0005)
    b = first
    while True:
        print(f"SUBMIT {b}", flush=True)
        state.apply_fills(batch(b, book), atomic=False, report=False)
        print(f"ACK {b}", flush=True)
        b += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
