"""State engine: batched fills (memory, durable journal), one fill with its impact, memory.

Peers: a plain Python dict-of-positions loop (the service a user would write by
hand) and a pandas group-by update per batch (faster, but it nets the fills of
a position within a batch, so it is not the same computation). Full sizes
(10,000 portfolios x 100 instruments, 1,000,000 fills) with
``PMCORE_BENCH_FULL=1``; ``python benchmarks/report_state.py`` prints the figures
beside the targets (``--write`` puts them in the docs and the README).
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


@pytest.mark.parametrize("impl", ["pmcore-group", "pmcore-fsync", "python-dict-fsync"])
def test_batched_fills_durable(benchmark, data, tmp_path, impl):
    """Batches acknowledged only once journaled and synced, beside a dict loop that appends and fsyncs."""
    benchmark.group = "batched fills, durable journal"
    book, prices, fx, fills = data
    fresh = _Fresh(fills)
    if impl.startswith("pmcore"):
        state = PortfolioState(book, prices, fx, path=tmp_path / "state", durability=impl.split("-")[1])
        state.apply_fills(fresh(), report=False)
        out = benchmark.pedantic(lambda f: state.apply_fills(f, report=False), setup=lambda: ((fresh(),), {}),
                                 rounds=3)
        assert out.sequence > 0
        state.close()
    else:
        peer = sd.DurablePythonDictBook(book, tmp_path / "peer.arrow")

        def setup():
            f = fresh()
            return (f, sd.python_rows(f)), {}

        rejected = benchmark.pedantic(peer.apply_durable, setup=setup, rounds=3)
        peer.close()
        assert rejected < fills.num_rows


@pytest.mark.parametrize("impl", ["pmcore-memory", "pmcore-journal-fsync", "python-dict"])
def test_single_fill_with_impact(benchmark, data, tmp_path, impl):
    """One fill from Python, impact report (value, cash, weight, exposure changes) included (target p99 < 50 us).

    The peer applies one fill to the dict of positions without any report.
    """
    benchmark.group = "single fill + impact report"
    book, prices, fx, _ = data
    ids = itertools.count(1)
    pid = book.portfolio_ids[1].as_py()
    iid = book.instrument_ids[3].as_py()
    if impl == "python-dict":
        peer = sd.PythonDictBook(book)
        rejected = benchmark(lambda: peer.apply([(next(ids), pid, iid, 1.0, 100.0, 0.0)]))
        assert rejected == 0
        return
    path = tmp_path / "s" if impl != "pmcore-memory" else None
    state = PortfolioState(book, prices, fx, path=path)
    state.apply_fill(0, pid, iid, 1.0, 100.0, timestamp=1)
    out = benchmark(lambda: state.apply_fill(next(ids), pid, iid, 1.0, 100.0, timestamp=1))
    assert out.position.quantity > 0
    state.close()


@pytest.mark.parametrize("impl", ["pmcore", "pandas"])
def test_memory_of_positions(benchmark, data, impl):
    """Build a state of every position of the book (target: under 200 MB at 10,000 x 100); MB to extra_info."""
    benchmark.group = "memory"
    book, prices, fx, _ = data
    if impl == "pandas":
        frame = benchmark.pedantic(sd.pandas_positions, args=(book,), rounds=1)
        benchmark.extra_info["mb"] = frame.memory_usage(deep=True).sum() / 1e6
        assert len(frame) == book.n_positions
        return
    state = benchmark.pedantic(PortfolioState, args=(book, prices, fx), rounds=1)
    benchmark.extra_info["mb"] = state.memory_bytes() / 1e6
    benchmark.extra_info["positions"] = state.n_positions
    assert state.n_positions == book.n_positions
