"""State engine: batched fills (memory, durable journal), one fill with its impact, memory.

Peers: a plain Python dict-of-positions loop (the service a user would write by
hand) and a pandas group-by update per batch (faster, but it nets the fills of
a position within a batch, so it is not the same computation). Full sizes
(10,000 portfolios x 100 instruments, 1,000,000 fills) with
``PMCORE_BENCH_FULL=1``; ``python benchmarks/report_state.py`` prints the figures.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from pmcore.state import PortfolioState

from . import state_data as sd


@pytest.fixture(scope="module")
def data():
    s = sd.sizes()
    book, prices, fx = sd.make_book(s["n_portfolios"], s["n_instruments"])
    fills = sd.make_fills(book, s["n_fills"])
    return book, prices, fx, fills


class _Fresh:
    """The same fills with new ids on every call (a state never applies a fill id twice)."""

    def __init__(self, fills: pa.Table) -> None:
        self.fills = fills
        self.n = fills.num_rows
        self.k = itertools.count(1)

    def __call__(self) -> pa.Table:
        k = next(self.k)
        ids = np.arange(self.n, dtype=np.int64) + k * 10 * self.n
        out = self.fills.set_column(0, "fill_id", pa.array(ids))
        if k % 2:  # reverse the quantities every other call: positions do not drift
            q = out.column("quantity").to_numpy()
            out = out.set_column(out.column_names.index("quantity"), "quantity", pa.array(-q))
        return out


@pytest.mark.parametrize("impl", ["pmcore", "pmcore-report", "python-dict", "pandas-groupby"])
def test_batched_fills(benchmark, data, impl):
    """A batch of fills applied in memory (atomic, validated)."""
    benchmark.group = "batched fills, in memory"
    book, prices, fx, fills = data
    if impl.startswith("pmcore"):
        state = PortfolioState(book, prices, fx)
        fresh = _Fresh(fills)
        report = impl == "pmcore-report"
        state.apply_fills(fresh(), report=report)  # warm-up: compile, buffers
        out = benchmark.pedantic(lambda f: state.apply_fills(f, report=report), setup=lambda: ((fresh(),), {}),
                                 rounds=3)
        assert out.n_applied + out.n_rejected == fills.num_rows
    elif impl == "python-dict":
        rows = sd.python_rows(fills)
        rejected = benchmark.pedantic(lambda peer: peer.apply(rows), setup=lambda: ((sd.PythonDictBook(book),), {}),
                                      rounds=3)
        assert rejected < len(rows)
    else:
        pytest.importorskip("pandas")
        positions = sd.pandas_positions(book)
        frame = fills.to_pandas()
        out = benchmark.pedantic(sd.pandas_apply, args=(positions, frame), rounds=3)
        assert len(out) == len(positions)


@pytest.mark.parametrize("durability", ["group", "fsync"])
def test_batched_fills_durable(benchmark, data, tmp_path, durability):
    """Batches acknowledged only once journaled and synced."""
    benchmark.group = "batched fills, durable journal"
    book, prices, fx, fills = data
    state = PortfolioState(book, prices, fx, path=tmp_path / "state", durability=durability)
    fresh = _Fresh(fills)
    state.apply_fills(fresh(), report=False)
    out = benchmark.pedantic(lambda f: state.apply_fills(f, report=False), setup=lambda: ((fresh(),), {}), rounds=3)
    assert out.sequence > 0
    state.close()


@pytest.mark.parametrize("where", ["memory", "journal-fsync"])
def test_single_fill_with_impact(benchmark, data, tmp_path, where):
    """One fill from Python, impact report (value, cash, weight, exposure changes) included."""
    benchmark.group = "single fill + impact report"
    book, prices, fx, _ = data
    path = tmp_path / "s" if where != "memory" else None
    state = PortfolioState(book, prices, fx, path=path)
    ids = itertools.count(1)
    pid = book.portfolio_ids[1].as_py()
    iid = book.instrument_ids[3].as_py()
    state.apply_fill(0, pid, iid, 1.0, 100.0, timestamp=1)
    out = benchmark(lambda: state.apply_fill(next(ids), pid, iid, 1.0, 100.0, timestamp=1))
    assert out.position.quantity > 0
    state.close()


def test_memory_of_positions(benchmark, data):
    """Build a state of every position of the book; bytes held go to extra_info."""
    benchmark.group = "memory"
    book, prices, fx, _ = data
    state = benchmark.pedantic(PortfolioState, args=(book, prices, fx), rounds=1)
    benchmark.extra_info["state_mb"] = state.memory_bytes() / 1e6
    benchmark.extra_info["positions"] = state.n_positions
    assert state.n_positions == book.n_positions
