"""Reading a ledger: balances now and as of any time, projections, transactions, audit, replay.

Methods of :class:`~pmcore.cash.Ledger` (a mixin; the ledger's state and
helpers live in :mod:`pmcore.cash.ledger`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import from_arrow, to_arrow
from ..kernels.cash import balance_table, status_as_of
from ._frames import STATUSES, check_kind, key_codes, overflow_error
from .amounts import INT64_MAX, from_units, units_to_arrow
from .ledger_common import _plain_strings, _to_ns

if TYPE_CHECKING:
    from .ledger import Ledger

__all__ = ["LedgerViews"]


class LedgerViews:
    """Balances, projections, transactions, the audit trail and rebuilding of a :class:`Ledger`."""

    # -- reading ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self._txn_ids)

    def __repr__(self) -> str:
        return (f"Ledger({len(self._txn_ids)} transactions, {len(self._status)} legs, "
                f"{len(self._bal)} balances, scale={self.scale}, base={self.base_currency})")

    def status(self, txn_id: str) -> str:
        """Current status of a transaction.

        Notes
        -----
        One of ``pending``, ``settled``, ``failed``, ``cancelled``.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> led.status(led.deposit("P1", "USD", 5, trade_date="2026-11-20"))
        'pending'
        """
        rows = self._txns.get(str(txn_id))
        if rows is None:
            raise ValidationError("is not in the ledger", argument="txn_id", value=txn_id)
        return STATUSES[self._status[rows[0]]]

    def balance(self, portfolio_id: Any, currency: str, *, strategy: str = "default") -> dict:
        """Current balances of one portfolio, strategy and currency as exact Decimals.

        Notes
        -----
        Read from the running balances in O(1); an unknown key has zero balances.

        Returns
        -------
        dict
            ``settled``, ``pending_in``, ``pending_out``, ``locked``,
            ``reserved``, ``available`` and ``total``.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> _ = led.deposit("P1", "USD", 5, trade_date="2026-11-20")
        >>> led.balance("P1", "USD")["pending_in"]
        Decimal('5.00000000')
        """
        key = (portfolio_id, str(strategy), str(currency))
        with self._lock:
            avail, b, locked, res = self._available(key)
            vals = {"settled": b[0], "pending_in": b[1], "pending_out": b[2], "locked": locked,
                    "reserved": res, "available": avail, "total": b[0] + b[1] - b[2]}
        return {k: from_units(v, self.scale) for k, v in vals.items()}

    _LEG_COLUMNS: ClassVar[dict] = {
        "txn_id": lambda v: pa.array(v, pa.string()),
        "leg": lambda v: pa.array(v, pa.int8()),
        "kind": lambda v: pa.array(v, pa.string()),
        "portfolio_id": lambda v: pa.array(v),
        "strategy": lambda v: pa.array(v, pa.string()),
        "currency": lambda v: pa.array(v, pa.string()),
        "units": lambda v: pa.array(np.array(v, np.int64)),
        "trade_day": lambda v: pa.array(np.array(v, np.int64).astype("datetime64[D]"), pa.date32()),
        "value_day": lambda v: pa.array(np.array(v, np.int64).astype("datetime64[D]"), pa.date32()),
        "recorded_ns": lambda v: pa.array(np.array(v, np.int64).astype("datetime64[ns]"),
                                          pa.timestamp("ns", "UTC")),
        "actor": lambda v: pa.array(v, pa.string()),
        "memo": lambda v: pa.array(v, pa.string()),
    }
    _LEG_NAMES: ClassVar[dict] = {"trade_day": "trade_date", "value_day": "value_date", "recorded_ns": "recorded_at"}

    def _legs_table(self, as_of_ns: int | None = None,
                    columns: tuple | None = None) -> tuple[pa.Table, np.ndarray]:
        """Legs as an Arrow table (int ``units``) and each leg's status at ``as_of_ns``."""
        names = tuple(self._LEG_COLUMNS) if columns is None else columns
        with self._lock:
            c = {k: list(self._cols[k]) for k in names}
            txn_no = list(self._cols["txn_no"]) if as_of_ns is not None else None
            status = np.array(self._status, np.int8)
            ev = {k: list(v) for k, v in self._events.items()} if as_of_ns is not None else None
            n_txn = len(self._txn_ids)
        if as_of_ns is not None:
            txn_status = np.full(n_txn or 1, -1, np.int64)
            status_as_of(np.array(ev["txn_no"], np.int64), np.array(ev["to_status"], np.int64),
                         np.array(ev["time_ns"], np.int64), np.int64(as_of_ns), txn_status)
            if len(status):
                status = txn_status[np.array(txn_no, np.int64)].astype(np.int8)
        table = pa.table({self._LEG_NAMES.get(k, k): self._LEG_COLUMNS[k](c[k]) for k in names})
        if as_of_ns is not None:
            keep = status >= 0
            table, status = table.filter(pa.array(keep)), status[keep]
        return table, status

    def transactions(self, *, as_of: Any = None, kind: str = "arrow") -> Any:
        """Every leg with its status, as known at ``as_of`` (default now).

        Notes
        -----
        ``as_of`` is a recording time (datetime, ISO string or int ns): legs
        recorded later are left out and statuses are those in force then.

        Returns
        -------
        frame
            ``txn_id``, ``leg``, ``kind``, ``portfolio_id``, ``strategy``,
            ``currency``, ``amount`` (exact decimal), ``trade_date``,
            ``value_date``, ``status``, ``recorded_at``, ``actor``, ``memo``.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> _ = led.deposit("P1", "USD", 5, trade_date="2026-11-20")
        >>> led.transactions().column("status").to_pylist()
        ['pending']
        """
        check_kind(kind)
        table, status = self._legs_table(None if as_of is None else _to_ns(as_of, "as_of"))
        amount = units_to_arrow(table.column("units").to_numpy(), self.scale)
        table = table.set_column(table.column_names.index("units"), "amount", amount)
        table = table.add_column(table.column_names.index("recorded_at"), "status",
                                 pa.array(np.array(STATUSES, object)[status.astype(np.int64)]
                                          if len(status) else [], pa.string()))
        return from_arrow(table, kind)

    def balances(self, *, as_of: Any = None, kind: str = "arrow") -> Any:
        """Balances of every portfolio, strategy and currency, as known at ``as_of``.

        Returns
        -------
        frame
            ``portfolio_id``, ``strategy``, ``currency``, ``settled``,
            ``pending_in``, ``pending_out``, ``locked``, ``reserved``,
            ``available``, ``total`` (exact decimals), sorted by the keys.

        Notes
        -----
        Recomputed from the legs and the audit trail by one kernel pass (the
        status of each transaction at ``as_of``; locks as last set before it),
        so it also checks the running balances.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> _ = led.deposit("P1", "USD", "10.5", trade_date="2026-11-20", status="settled")
        >>> led.balances().column("total").to_pylist()
        [Decimal('10.50000000')]
        """
        check_kind(kind)
        as_of_ns = None if as_of is None else _to_ns(as_of, "as_of")
        table, status = self._legs_table(as_of_ns, ("portfolio_id", "strategy", "currency", "units"))
        with self._lock:
            if as_of_ns is None:
                locks = dict(self._locked)
            else:
                locks = {}
                for t, key, u in self._locks_hist:
                    if t <= as_of_ns:
                        locks[key] = u
        names = ("portfolio_id", "strategy", "currency")
        group, key_table = key_codes(table.select(list(names)), "ledger", names)
        out = np.zeros((key_table.num_rows, 3), np.int64)
        bad = balance_table(group, status, table.column("units").to_numpy(), out)
        if bad >= 0:
            raise overflow_error("ledger", int(bad))
        sums = dict(zip(zip(*(key_table.column(k).to_pylist() for k in names)), out.tolist()))
        for k in locks:
            sums.setdefault(k, [0, 0, 0])
        order = sorted(sums, key=lambda k: tuple(map(str, k)))
        rows = []
        for k in order:
            s, pin, pout = sums[k]
            locked = locks.get(k, 0)
            res = self._reserve_units(s)
            rows.append((s, pin, pout, locked, res, s - pout - locked - res, s + pin - pout))
        cols = {"portfolio_id": pa.array([k[0] for k in order]),
                "strategy": pa.array([k[1] for k in order], pa.string()),
                "currency": pa.array([k[2] for k in order], pa.string())}
        for j, name in enumerate(("settled", "pending_in", "pending_out", "locked", "reserved",
                                  "available", "total")):
            col = [r[j] for r in rows]
            if any(abs(v) > INT64_MAX for v in col):
                raise overflow_error("ledger", -1)
            cols[name] = units_to_arrow(np.array(col, dtype=np.int64), self.scale)
        return from_arrow(pa.table(cols), kind)

    def projected(self, dates: Any, *, by: Any = ("portfolio_id", "strategy", "currency"),
                  kind: str = "arrow") -> Any:
        """Projected balances at the end of each date, by value date (T+N).

        Notes
        -----
        Exact int64 sums with overflow detection (one kernel pass).

        Returns
        -------
        frame
            The ``by`` keys, ``date`` and ``projected`` (exact): settled cash
            plus pending lines whose value date is on or before the date
            (see :func:`pmcore.cash.projected_cash`).

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> _ = led.deposit("P1", "USD", 100, trade_date="2026-11-20", status="settled")
        >>> _ = led.withdraw("P1", "USD", 30, trade_date="2026-11-20")  # value date 2026-11-24
        >>> [str(v) for v in led.projected(["2026-11-23", "2026-11-24"]).column("projected").to_pylist()]
        ['100.00000000', '70.00000000']
        """
        from .balances import projected_cash

        check_kind(kind)
        return from_arrow(projected_cash(self.transactions(), dates, by=by, scale=self.scale), kind)

    def audit(self, *, kind: str = "arrow") -> Any:
        """The audit trail: one row per change with time, actor, action and statuses.

        Notes
        -----
        Append-only, in order: ``record`` events (from status null), status
        moves, and ``lock`` events (``portfolio_id``, ``strategy``,
        ``currency`` and the new ``locked`` amount; null for the others).
        Refused changes leave no event.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> led.settle(led.deposit("P1", "USD", 5, trade_date="2026-11-20"), actor="ops")
        >>> led.audit().select(["txn_id", "action", "from_status", "to_status", "actor"]).to_pylist()[1]
        {'txn_id': 'D000001', 'action': 'settled', 'from_status': 'pending', 'to_status': 'settled', 'actor': 'ops'}
        """
        check_kind(kind)
        with self._lock:
            e = {k: list(v) for k, v in self._events.items()}
            ids = list(self._txn_ids)
            locks = list(self._locks_hist)
        names = np.array((None,) + STATUSES, object)
        n = len(e["txn_no"])
        lk = [locks[j] if j >= 0 else None for j in e["lock"]]
        table = pa.table({
            "seq": pa.array(np.arange(n, dtype=np.int64)),
            "time": pa.array(np.array(e["time_ns"], np.int64).astype("datetime64[ns]"),
                             pa.timestamp("ns", "UTC")),
            "txn_id": pa.array([ids[i] if i >= 0 else None for i in e["txn_no"]], pa.string()),
            "action": pa.array(e["action"], pa.string()),
            "from_status": pa.array(names[np.array(e["from_status"], np.int64) + 1].tolist()
                                    if n else [], pa.string()),
            "to_status": pa.array(names[np.array(e["to_status"], np.int64) + 1].tolist()
                                  if n else [], pa.string()),
            "actor": pa.array(e["actor"], pa.string()),
            "reason": pa.array(e["reason"], pa.string()),
            "portfolio_id": pa.array([x[1][0] if x else None for x in lk]),
            "strategy": pa.array([x[1][1] if x else None for x in lk], pa.string()),
            "currency": pa.array([x[1][2] if x else None for x in lk], pa.string()),
            "locked": units_to_arrow(np.array([x[2] if x else 0 for x in lk], np.int64), self.scale,
                                     np.array([x is not None for x in lk], np.bool_)),
        })
        return from_arrow(table, kind)

    def replay(self) -> Ledger:
        """A new ledger rebuilt from this one's legs and audit trail (no limit checks).

        Notes
        -----
        Replaying every event in order must give the same balances, statuses
        and audit trail; the tests check it.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> led.settle(led.deposit("P1", "USD", 5, trade_date="2026-11-20"))
        >>> led.replay().balance("P1", "USD") == led.balance("P1", "USD")
        True
        """
        with self._lock:
            c = self._cols
            txns = {}
            for r, no in enumerate(c["txn_no"]):
                tx = self._txn_ids[no]
                if tx not in txns:
                    txns[tx] = (c["kind"][r], [], c["trade_day"][r], c["value_day"][r])
                txns[tx][1].append((c["portfolio_id"][r], c["strategy"][r], c["currency"][r], c["units"][r]))
            e = self._events
            events = [(self._txn_ids[e["txn_no"][i]] if e["txn_no"][i] >= 0 else None, e["time_ns"][i],
                       e["action"][i], e["to_status"][i], e["actor"][i], e["reason"][i],
                       self._locks_hist[e["lock"][i]] if e["lock"][i] >= 0 else None)
                      for i in range(len(e["txn_no"]))]
            new = self._empty_like()
            new._counter = self._counter
        new._apply_history(txns, events)
        return new

    def _empty_like(self) -> Ledger:
        return type(self)(base_currency=self.base_currency, scale=self.scale, calendar=self.calendar,
                      settlement_days=self.settlement_days, limits=self.limits,
                      margin_check=self.margin_check, clock=self._clock)

    def _apply_history(self, txns: dict, events: list) -> None:
        """Apply recorded events in order without limit checks (replay)."""
        with self._lock:
            for tx, t, action, to_status, actor, reason, lock in events:
                if action == "record":
                    kind, legs, td, vd = txns[tx]
                    self._write(tx, kind, legs, td, vd, to_status, actor, reason, t)
                    if kind == "withdrawal":
                        dkey = (legs[0][0], legs[0][2], td)
                        self._daily[dkey] = self._daily.get(dkey, 0) - legs[0][3]
                elif action == "lock":
                    _, key, u = lock
                    self._locked[key] = u
                    self._locks_hist.append((t, key, u))
                    self._event(-1, t, actor, "lock", -1, -1, reason, len(self._locks_hist) - 1)
                else:
                    self.set_status(tx, STATUSES[to_status], actor=actor, reason=reason, at=t)

    @classmethod
    def from_history(cls, transactions: Any, audit: Any, /, **config: Any) -> Ledger:
        """Rebuild a ledger from its exported ``transactions()`` and ``audit()`` frames.

        Parameters
        ----------
        transactions, audit : frame
            As returned by :meth:`transactions` and :meth:`audit` (for example
            written to Parquet and read back), any frame kind.
        **config
            Ledger options (``scale``, ``calendar``, ``limits``, ...) as for
            :class:`Ledger`.

        Returns
        -------
        Ledger

        Notes
        -----
        Events are replayed in ``seq`` order without limit checks, so the
        rebuilt ledger has the same legs, statuses, locks, balances and audit
        trail. Generated ids continue after the highest one in the history.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> led.settle(led.deposit("P1", "USD", "5.5", trade_date="2026-11-20"))
        >>> led.lock("P1", "USD", 1)
        >>> again = Ledger.from_history(led.transactions(), led.audit(), clock=lambda: 0)
        >>> again.balances() == led.balances(), again.audit() == led.audit()
        (True, True)
        """
        from ..frames import require_columns
        from .amounts import units_column

        new = cls(**config)
        tt = _plain_strings(to_arrow(transactions, "transactions"))
        require_columns(tt, "transactions", ["txn_id", "leg", "kind", "portfolio_id", "strategy",
                                             "currency", "amount", "trade_date", "value_date"])
        at = _plain_strings(to_arrow(audit, "audit"))
        require_columns(at, "audit", ["seq", "time", "txn_id", "action", "to_status", "actor", "reason",
                                      "portfolio_id", "strategy", "currency", "locked"])
        units = units_column(tt, "transactions", "amount", new.scale)
        days = {k: tt.column(k).cast(pa.date32()).cast(pa.int32()).to_pylist()
                for k in ("trade_date", "value_date")}
        rows = sorted(range(tt.num_rows), key=lambda r: tt.column("leg")[r].as_py())
        txns: dict = {}
        cols = {k: tt.column(k).to_pylist() for k in ("txn_id", "kind", "portfolio_id", "strategy", "currency")}
        for r in rows:
            tx = cols["txn_id"][r]
            if tx not in txns:
                txns[tx] = (cols["kind"][r], [], days["trade_date"][r], days["value_date"][r])
            txns[tx][1].append((cols["portfolio_id"][r], cols["strategy"][r], cols["currency"][r],
                                int(units[r])))
        at = at.sort_by("seq")
        a = {k: at.column(k).to_pylist() for k in ("txn_id", "action", "to_status", "actor", "reason",
                                                   "portfolio_id", "strategy", "currency")}
        times = at.column("time").cast(pa.timestamp("ns", "UTC")).cast(pa.int64()).to_pylist()
        locked = at.column("locked")
        lk_units = units_column(pa.table({"l": locked.fill_null(0)}), "audit", "l", new.scale)
        events = []
        for i in range(at.num_rows):
            if a["action"][i] == "lock":
                key = (a["portfolio_id"][i], a["strategy"][i], a["currency"][i])
                events.append((None, times[i], "lock", -1, a["actor"][i], a["reason"][i],
                               (times[i], key, int(lk_units[i]))))
            else:
                events.append((a["txn_id"][i], times[i], a["action"][i], STATUSES.index(a["to_status"][i]),
                               a["actor"][i], a["reason"][i], None))
        new._apply_history(txns, events)
        numbers = [int(tx[1:]) for tx in txns if len(tx) == 7 and tx[1:].isdigit()]
        new._counter = max(numbers, default=0)
        return new
