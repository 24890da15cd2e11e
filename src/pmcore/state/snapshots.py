"""Files of a durable state: universe, checkpoints (full state at a journal position), daily history.

Layout of the directory given to :meth:`PortfolioState.open`::

    meta.json                       format version, base currency, frame kind
    universe/{portfolios,instruments,currencies}.arrow
    checkpoints/<sequence>/         slots, cash, flows, market, fx, ids (.arrow) and info.json
    journal/journal-NNNNNNNN.pmj    the journal (see pmcore.state.journal)
    history/values-YYYY-MM-DD.parquet, positions-YYYY-MM-DD.parquet

Every file is written to a temporary name, synced and renamed, so a crash
leaves either the old or the new file. Checkpoint 0 (the state at creation) is
never deleted, so the whole history stays replayable whatever the retention.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .core import Core
from .journal import fsync_dir

__all__ = ["Universe", "write_checkpoint", "read_checkpoint", "list_checkpoints", "prune"]

FORMAT = 1
DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class Universe:
    """Id dictionaries of a state: code ``k`` of each axis is entry ``k``."""

    base_currency: str
    portfolio_ids: pa.Array
    instrument_ids: pa.Array
    currencies: pa.Array
    instruments: pa.Table
    is_margin: np.ndarray
    kind: str


def _write_arrow(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink:
        with pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _read_arrow(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_file(src).read_all()


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_universe(root: Path, u: Universe) -> None:
    (root / "universe").mkdir(parents=True, exist_ok=True)
    _write_arrow(root / "universe" / "portfolios.arrow",
                 pa.table({"portfolio_id": u.portfolio_ids, "is_margin": u.is_margin}))
    _write_arrow(root / "universe" / "instruments.arrow", u.instruments)
    _write_arrow(root / "universe" / "currencies.arrow", pa.table({"currency": u.currencies}))
    fsync_dir(root / "universe")
    write_json(root / "meta.json", {"format": FORMAT, "base_currency": u.base_currency, "kind": u.kind})
    fsync_dir(root)


def read_universe(root: Path) -> Universe:
    meta = json.loads((root / "meta.json").read_text())
    ports = _read_arrow(root / "universe" / "portfolios.arrow")
    inst = _read_arrow(root / "universe" / "instruments.arrow")
    cur = _read_arrow(root / "universe" / "currencies.arrow")
    return Universe(
        base_currency=meta["base_currency"],
        portfolio_ids=ports.column("portfolio_id").combine_chunks(),
        instrument_ids=inst.column("instrument_id").combine_chunks(),
        currencies=cur.column("currency").combine_chunks(),
        instruments=inst,
        is_margin=ports.column("is_margin").to_numpy().astype(bool),
        kind=meta["kind"],
    )


def write_checkpoint(root: Path, core: Core, *, sequence: int, position: tuple[int, int], clock_ns: int) -> None:
    """Write the full state after journal record ``sequence`` (journal position ``position``)."""
    base = root / "checkpoints"
    base.mkdir(exist_ok=True)
    final = base / f"{sequence:012d}"
    if final.exists():
        return
    tmp = base / f".tmp-{sequence:012d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    _write_arrow(tmp / "slots.arrow", pa.table(core.slot_table()))
    _write_arrow(tmp / "cash.arrow", pa.table({
        "balance": core.cash[:, :, 0].reshape(-1), "locked": core.cash[:, :, 1].reshape(-1)}))
    _write_arrow(tmp / "flows.arrow", pa.table({"net_flows": core.flows}))
    _write_arrow(tmp / "market.arrow", pa.table({"price": core.prices}))
    _write_arrow(tmp / "fx.arrow", pa.table({"rate": core.fx}))
    _write_arrow(tmp / "ids.arrow", pa.table({"fill_id": core.int_ids()}))
    _write_arrow(tmp / "str_ids.arrow", pa.table({"fill_id": pa.array(sorted(core.str_ids), pa.string())}))
    write_json(tmp / "info.json", {"sequence": sequence, "segment": position[0], "offset": position[1],
                                   "clock_ns": clock_ns})
    fsync_dir(tmp)
    os.replace(tmp, final)
    fsync_dir(base)


def list_checkpoints(root: Path) -> list[dict]:
    """Info of every complete checkpoint, oldest first."""
    out = []
    for d in sorted((root / "checkpoints").glob("[0-9]*")):
        info = d / "info.json"
        if info.exists():
            rec = json.loads(info.read_text())
            rec["path"] = d
            out.append(rec)
    return out


def read_checkpoint(info: dict, core: Core) -> None:
    """Load checkpoint ``info`` into ``core`` (whose universe matches)."""
    d = info["path"]
    slots = _read_arrow(d / "slots.arrow")
    col = {n: slots.column(n).to_numpy() for n in slots.column_names}
    core.load_slots(col["portfolio"], col["instrument"], col["quantity"], col["avg_price"],
                    col["realized_pnl"], col["status"], col["opened_at"])
    cash = _read_arrow(d / "cash.arrow")
    core.cash[:, :, 0] = cash.column("balance").to_numpy().reshape(core.n_p, core.n_c)
    core.cash[:, :, 1] = cash.column("locked").to_numpy().reshape(core.n_p, core.n_c)
    core.flows[:] = _read_arrow(d / "flows.arrow").column("net_flows").to_numpy()
    core.prices[:] = _read_arrow(d / "market.arrow").column("price").to_numpy()
    core.fx[:] = _read_arrow(d / "fx.arrow").column("rate").to_numpy()
    ids = _read_arrow(d / "ids.arrow").column("fill_id").to_numpy()
    str_ids = _read_arrow(d / "str_ids.arrow").column("fill_id").to_pylist()
    core.load_ids(ids, str_ids)


def day_of(ns: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=ns // DAY_NS)


def write_history(root: Path, date: dt.date, values: pa.Table, positions: pa.Table) -> None:
    """Daily snapshot files of ``date`` (values per portfolio, positions)."""
    h = root / "history"
    h.mkdir(exist_ok=True)
    for name, table in (("values", values), ("positions", positions)):
        path = h / f"{name}-{date.isoformat()}.parquet"
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(table, tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    fsync_dir(h)


def history_files(root: Path, name: str) -> list[tuple[dt.date, Path]]:
    out = []
    for p in (root / "history").glob(f"{name}-*.parquet"):
        out.append((dt.date.fromisoformat(p.stem[len(name) + 1:]), p))
    return sorted(out)


def prune(root: Path, *, today: dt.date, retention_days: int) -> None:
    """Delete daily snapshots and checkpoints older than ``retention_days`` before ``today``.

    Checkpoint 0 and the newest checkpoint stay (recovery and full replay).
    """
    cutoff = today - dt.timedelta(days=retention_days)
    for name in ("values", "positions"):
        for date, p in history_files(root, name):
            if date < cutoff:
                p.unlink()
    cks = list_checkpoints(root)
    for info in cks[1:-1]:
        if day_of(info["clock_ns"]) < cutoff:
            shutil.rmtree(info["path"], ignore_errors=True)
