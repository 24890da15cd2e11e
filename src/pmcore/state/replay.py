"""Journal records: building them from validated updates and applying them to a core (replay)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .core import Core

__all__ = ["fills_batch", "cash_batch", "market_batch", "status_batch", "apply_record", "record_max_ts"]

_TS = pa.timestamp("ns", "UTC")


def _ts(ts: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(ts, np.int64), pa.int64()).cast(_TS)


def fills_batch(ids, f: dict) -> pa.RecordBatch:
    """Fills with codes: fill_id, timestamp, portfolio, instrument, quantity, price, fee, fee_currency, type."""
    return pa.RecordBatch.from_arrays(
        [ids, _ts(f["ts"]), pa.array(f["port"]), pa.array(f["inst"]), pa.array(f["qty"]),
         pa.array(f["price"]), pa.array(f["fee"]), pa.array(f["fee_ccy"]), pa.array(f["ttype"])],
        ["fill_id", "timestamp", "portfolio", "instrument", "quantity", "price", "fee", "fee_currency",
         "transaction_type"],
    )


def cash_batch(ids, ts, port, ccy, amount, ftype) -> pa.RecordBatch:
    """Cash flows with codes; ``amount`` signed (negative takes cash out)."""
    return pa.RecordBatch.from_arrays(
        [ids, _ts(ts), pa.array(port), pa.array(ccy), pa.array(amount), pa.array(ftype)],
        ["flow_id", "timestamp", "portfolio", "currency", "amount", "flow_type"],
    )


def market_batch(ts, index, value) -> pa.RecordBatch:
    """Prices (index = instrument code) or fx rates (index = currency code)."""
    return pa.RecordBatch.from_arrays([_ts(ts), pa.array(index, pa.int32()), pa.array(value, pa.float64())],
                                      ["timestamp", "index", "value"])


def status_batch(ts, port, inst, status) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [_ts([ts]), pa.array([port], pa.int32()), pa.array([inst], pa.int32()), pa.array([status], pa.int8())],
        ["timestamp", "portfolio", "instrument", "status"],
    )


def _np(batch: pa.RecordBatch, name: str) -> np.ndarray:
    return batch.column(name).to_numpy(zero_copy_only=False)


def record_ts(batch: pa.RecordBatch) -> np.ndarray:
    return batch.column("timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False)


def record_max_ts(batch: pa.RecordBatch) -> int:
    ts = record_ts(batch)
    return int(ts.max()) if len(ts) else 0


def add_ids(core: Core, ids: pa.Array) -> None:
    if ids is None or len(ids) == 0 or pa.types.is_null(ids.type):
        return
    if pa.types.is_integer(ids.type):
        valid = ids.drop_null()
        core.add_ids(valid.cast(pa.int64()).to_numpy())
    else:
        core.str_ids.update(ids.drop_null().to_pylist())


def apply_record(core: Core, kind: str, batch: pa.RecordBatch, *, until: int | None = None) -> None:
    """Apply one journal record without the checks (its rows were validated when journaled).

    With ``until`` (ns), only rows with a timestamp ``<= until`` are applied.
    """
    if until is not None:
        keep = record_ts(batch) <= until
        if not keep.all():
            batch = batch.filter(pa.array(keep))
        if batch.num_rows == 0:
            return
    if kind == "fills":
        ids = batch.column("fill_id")
        int_ids = pa.types.is_integer(ids.type)
        f = {
            "port": _np(batch, "portfolio"), "inst": _np(batch, "instrument"), "qty": _np(batch, "quantity"),
            "price": _np(batch, "price"), "fee": _np(batch, "fee"), "fee_ccy": _np(batch, "fee_currency"),
            "ttype": _np(batch, "transaction_type"), "ts": record_ts(batch),
            "fid": ids.to_numpy(zero_copy_only=False).astype(np.int64) if int_ids else None,
        }
        core.apply_fills(f, np.zeros(batch.num_rows, np.int8), atomic=False, check=False)
        if not int_ids:
            core.str_ids.update(ids.to_pylist())
    elif kind == "cash_flows":
        n = batch.num_rows
        core.apply_cash(_np(batch, "portfolio"), _np(batch, "currency"), _np(batch, "amount"),
                        np.zeros(n, bool), np.zeros(n, np.int8), _np(batch, "flow_type"), atomic=False)
        add_ids(core, batch.column("flow_id"))
    elif kind == "prices":
        core.prices[_np(batch, "index")] = _np(batch, "value")
        core.version += 1
    elif kind == "fx":
        core.fx[_np(batch, "index")] = _np(batch, "value")
        core.version += 1
    elif kind == "status":
        for p, i, s in zip(_np(batch, "portfolio"), _np(batch, "instrument"), _np(batch, "status")):
            core.set_status(int(p), int(i), int(s))

