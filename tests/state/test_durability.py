"""The journal: replay equals live, recovery, torn tails, idempotency across restarts, as-of, history, crashes."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.errors import PmcoreError, ValidationError
from pmcore.state import PortfolioState
from pmcore.state.journal import read_frames, segments

from .conftest import make_book, random_fills

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400 * 10**9


def _mixed_updates(state, book, seed, n_batches=4, ts0=1_000):
    """Fills, cash flows, price/fx updates and a status change, as a service would send them."""
    rng = np.random.default_rng(seed)
    for b in range(n_batches):
        state.apply_fills(random_fills(book, 20, seed=seed + b, start_id=1000 * b, ts0=ts0 + 100 * b),
                          atomic=False)
        state.apply_cash_flows(pa.table({"portfolio_id": ["P0", "P2"], "amount": [10.0 + b, 5.0],
                                         "flow_type": ["deposit", "dividend"], "currency": ["USD", "EUR"],
                                         "timestamp": pa.array([ts0 + 100 * b + 50] * 2, pa.int64()),
                                         "flow_id": [f"c{b}a", f"c{b}b"]}))
        state.update_prices({f"I{int(rng.integers(0, 5))}": float(rng.uniform(50, 150))},
                            {"EUR": float(rng.uniform(1.0, 1.5))}, timestamp=ts0 + 100 * b + 60)
        state.apply_fill(f"s{b}", "P1", "I1", 1.0, 100.0, timestamp=ts0 + 100 * b + 70)
    state.set_status("P3", "I4", "SUSPENDED", timestamp=ts0 + 100 * n_batches)


def _crash(state):
    """Drop a state as a kill would: close the journal file without sync or checkpoint."""
    os.close(state._journal._fd)
    state._journal._closed = True
    state._journal = None


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 1000), durability=st.sampled_from(["fsync", "group"]), dense=st.booleans())
def test_replay_equals_live(tmp_path_factory, seed, durability, dense):
    import pmcore.state.core as core_module

    old = core_module.DENSE_MAX
    core_module.DENSE_MAX = old if dense else 0  # hash index for every universe
    try:
        _replay_equals_live(tmp_path_factory, seed, durability)
    finally:
        core_module.DENSE_MAX = old


def _replay_equals_live(tmp_path_factory, seed, durability):
    path = tmp_path_factory.mktemp("state")
    book, prices, fx, _ = make_book(seed=seed)
    live = PortfolioState(book, prices, fx, path=path, durability=durability)
    _mixed_updates(live, book, seed)
    snapshot = live._core.copy()
    replayed = live.as_of(10**18)  # checkpoint 0 + the whole journal
    assert replayed._core.arrays_equal(snapshot)
    _crash(live)
    recovered = PortfolioState.open(path)
    assert recovered.recovery.replayed == live.sequence and recovered.recovery.torn_bytes == 0
    assert recovered._core.arrays_equal(snapshot)
    recovered.close()
    again = PortfolioState.open(path)  # from the checkpoint written by close()
    assert again.recovery.replayed == 0 and again._core.arrays_equal(snapshot)
    again.close()


def test_torn_tail_is_dropped(tmp_path):
    book, prices, fx, _ = make_book()
    s = PortfolioState(book, prices, fx, path=tmp_path)
    s.apply_fill(1, "P0", "I0", 1.0, 10.0, timestamp=1)
    kept = s._core.copy()
    s.apply_fill(2, "P0", "I0", 1.0, 10.0, timestamp=2)
    _crash(s)
    seg = segments(tmp_path / "journal")[-1][1]
    size = seg.stat().st_size
    with open(seg, "r+b") as fh:  # the last record was cut short by the crash
        fh.truncate(size - 7)
    r = PortfolioState.open(tmp_path)
    assert r.recovery.torn_bytes > 0 and r.recovery.replayed == 1
    assert r._core.arrays_equal(kept)
    r.apply_fill(2, "P0", "I0", 1.0, 10.0, timestamp=2)  # never acknowledged: may be sent again
    r.close()
    # garbage after the last good record (a sector half written) is dropped too
    s2 = PortfolioState.open(tmp_path)
    state2 = s2._core.copy()
    _crash(s2)
    with open(seg, "ab") as fh:
        fh.write(b"PMJ1" + os.urandom(40))
    r2 = PortfolioState.open(tmp_path)
    assert r2.recovery.torn_bytes == 44 and r2._core.arrays_equal(state2)
    r2.close()


def test_corruption_before_the_tail_raises(tmp_path):
    book, prices, fx, _ = make_book()
    s = PortfolioState(book, prices, fx, path=tmp_path)
    s._journal.segment_bytes = 1  # one record per segment
    for k in range(3):
        s.apply_fill(k, "P0", "I0", 1.0, 10.0, timestamp=k)
    _crash(s)
    first = segments(tmp_path / "journal")[0][1]
    data = bytearray(first.read_bytes())
    data[-3] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(PmcoreError, match="corrupt"):
        PortfolioState.open(tmp_path)


def test_fill_ids_survive_restarts(tmp_path):
    book, prices, fx, _ = make_book()
    with PortfolioState.open(tmp_path, book, prices, fx) as s:
        s.apply_fill(1, "P0", "I0", 1.0, 10.0)
        s.apply_fill("x", "P0", "I0", 1.0, 10.0)
        s.apply_cash_flow("P0", 5.0, flow_id=77)
    with PortfolioState.open(tmp_path) as s:
        with pytest.raises(ValidationError, match="fill 1 is a duplicate"):
            s.apply_fill(1, "P0", "I0", 1.0, 10.0)
        with pytest.raises(ValidationError, match="duplicate"):
            s.apply_fill("x", "P0", "I0", 1.0, 10.0)
        with pytest.raises(ValidationError, match="duplicate"):
            s.apply_cash_flow("P0", 5.0, flow_id=77)
        _crash(s)
    with PortfolioState.open(tmp_path, duplicates="ignore") as s:  # replayed from the journal this time
        assert s.apply_fill(1, "P0", "I0", 1.0, 10.0) is None


def test_rejected_updates_leave_no_journal_entry(tmp_path):
    book, prices, fx, _ = make_book()
    with PortfolioState(book, prices, fx, path=tmp_path) as s:
        with pytest.raises(ValidationError):
            s.apply_fill(1, "P0", "I0", -1e9, 10.0)
        r = s.apply_fills(pa.table({"fill_id": [2, 3], "portfolio_id": ["P0", "P0"], "instrument_id": ["I0"] * 2,
                                    "quantity": [1.0, -1e9], "price": [10.0, 10.0]}), atomic=False)
        assert r.n_applied == 1 and s.sequence == 1
    batches = [b for _, b, _ in read_frames(tmp_path / "journal")]
    assert [b.column("fill_id").to_pylist() for b in batches] == [[2]]


def test_as_of_and_daily_snapshots(tmp_path):
    book, prices, fx, _ = make_book()
    t0 = 20_000 * DAY  # 2024-10-04
    s = PortfolioState(book, prices, fx, path=tmp_path, retention_days=3)
    twins = []
    for d in range(6):
        s.apply_fill(d, "P0", "I2", 1.0 + d, 100.0, timestamp=t0 + d * DAY + 3600 * 10**9)
        s.update_prices({"I2": 100.0 + d}, timestamp=t0 + d * DAY + 7200 * 10**9)
        twins.append(s._core.copy())
    for d in range(6):
        past = s.as_of(t0 + d * DAY + 8000 * 10**9)
        assert past._core.arrays_equal(twins[d]), d
        with pytest.raises(PmcoreError, match="read-only"):
            past.apply_fill(99, "P0", "I0", 1.0, 1.0)
    before_any = s.as_of(t0)
    with pytest.raises(ValidationError, match="timestamp: is before the state was created"):
        s.as_of(-1)
    assert before_any.positions(portfolios=["P0"]).num_rows == s.as_of(0).positions(portfolios=["P0"]).num_rows
    hist = s.history()
    days = sorted(set(hist.column("date").to_pylist()))
    # a snapshot per day before the last, only the last 3 days kept
    assert days == [dt.date(2024, 10, 4) + dt.timedelta(days=k) for k in (1, 2, 3, 4)]
    eq = {(r["date"], r["portfolio_id"]): r["equity"] for r in hist.to_pylist()}
    assert eq[(dt.date(2024, 10, 8), "P0")] == pytest.approx(
        s.as_of(t0 + 4 * DAY + 9000 * 10**9).value(portfolios=["P0"]).column("equity")[0].as_py())
    for fmt in ("csv", "json", "parquet"):
        out = s.export_history(tmp_path / f"h.{fmt}", format=fmt)
        assert out.stat().st_size > 0
    assert pq.read_table(tmp_path / "h.parquet").num_rows == hist.num_rows
    assert s.history(positions=True).num_rows > 0
    assert {"equity", "cash", "realized_pnl", "net_flows"} <= set(hist.column_names)
    s.close()


def test_group_commit_with_threads(tmp_path):
    book, prices, fx, _ = make_book(margin=(0, 1, 2, 3))
    s = PortfolioState(book, prices, fx, path=tmp_path, durability="group", commit_window=0.002)
    acked = []

    def writer(t):
        for k in range(30):
            fills = random_fills(book, 10, seed=t * 100 + k, start_id=(t * 100 + k) * 10)
            s.apply_fills(fills, report=False)
            acked.append((t, k))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(acked) == 120 and s._journal.durable == s._journal.written == 120
    live = s._core.copy()
    _crash(s)
    r = PortfolioState.open(tmp_path)
    assert r._core.arrays_equal(live)
    r.close()


def test_open_errors(tmp_path):
    with pytest.raises(PmcoreError, match="holds no portfolio state"):
        PortfolioState.open(tmp_path / "none")
    book, prices, fx, _ = make_book()
    PortfolioState(book, prices, fx, path=tmp_path).close()
    with pytest.raises(PmcoreError, match="already holds"):
        PortfolioState(book, prices, fx, path=tmp_path)
    with pytest.raises(ValidationError, match="durability"):
        PortfolioState.open(tmp_path, durability="sometimes")
    with pytest.raises(PmcoreError, match="needs a durable state"):
        PortfolioState(book, prices, fx).as_of(0)


# ----------------------------------------------------------------------------- crash test


def _reference_states(n_batches):
    """In-memory states after 0, 1, ... batches of the crash writer."""
    from .crash_writer import batch

    book, prices, fx, _ = make_book(n_portfolios=6, n_instruments=8, seed=42)
    s = PortfolioState(book, prices, fx)
    yield 0, s._core
    for b in range(n_batches):
        s.apply_fills(batch(b, book), atomic=False, report=False)
        yield b + 1, s._core


def _run_writer(path, first, durability, rng):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "tests.state.crash_writer", str(path), str(first), durability],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not any(x.startswith("ACK") for x in lines):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "writer did not start"
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.4))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(5)
    proc.stdout.close()
    proc.stderr.close()
    acked = [int(x.split()[1]) for x in lines if x.startswith("ACK")]
    submitted = [int(x.split()[1]) for x in lines if x.startswith("SUBMIT")]
    return acked, submitted


@pytest.mark.slow
def test_kill_9_loses_nothing_acknowledged(tmp_path):
    rng = random.Random(20261121)
    first = 0
    torn_seen = 0
    for round_ in range(4):
        durability = ("fsync", "group")[round_ % 2]
        acked, submitted = _run_writer(tmp_path, first, durability, rng)
        state = PortfolioState.open(tmp_path)
        torn_seen += state.recovery.torn_bytes > 0
        recovered = None
        for k, core in _reference_states(max(submitted) + 1):
            if state._core.arrays_equal(core):
                recovered = k
                break
        # the recovered state is the state after exactly k whole batches, with every acked one and
        # nothing that was never submitted
        assert recovered is not None, "recovered state matches no prefix of the submitted batches"
        assert recovered >= max(acked) + 1
        assert recovered <= max(submitted) + 1
        first = recovered
        if round_ % 2:
            state.close()  # a checkpoint: the next recovery starts from it
        else:
            _crash(state)
    assert first > 0


def test_journal_failure_stops_the_state(tmp_path):
    book, prices, fx, _ = make_book()
    s = PortfolioState(book, prices, fx, path=tmp_path)
    s.apply_fill(1, "P0", "I0", 1.0, 10.0, timestamp=1)
    durable = s._core.copy()
    os.close(s._journal._fd)  # the disk goes away
    with pytest.raises(PmcoreError, match="cannot write the journal"):
        s.apply_fill(2, "P0", "I0", 1.0, 10.0, timestamp=2)
    with pytest.raises(PmcoreError, match="stopped after a journal failure"):
        s.apply_fill(3, "P0", "I0", 1.0, 10.0, timestamp=3)
    s._journal = None
    r = PortfolioState.open(tmp_path)  # only what was acknowledged
    assert r._core.arrays_equal(durable)
    r.close()
