"""Ledger changes beyond one-leg records: batches, transfers, FX conversions, status changes, locks.

Methods of :class:`~pmcore.cash.Ledger` (a mixin; the ledger's state and
helpers live in :mod:`pmcore.cash.ledger`).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import ValidationError
from ._frames import CANCELLED, FAILED, STATUSES
from .amounts import from_units, round_units, to_units
from .calendar import to_day
from .ledger_common import _ALLOWED, ALLOWED_TRANSITIONS, _fraction, _row_error

__all__ = ["LedgerOps"]


class LedgerOps:
    """Batches, transfers, conversions, settlement, failure, cancellation and locks of a :class:`Ledger`."""

    def record_batch(self, transactions: Any, /, *, actor: str = "system", at: Any = None) -> list[str]:
        """Record a frame of one-leg transactions, all or nothing.

        Parameters
        ----------
        transactions : pyarrow, polars or pandas frame
            ``kind``, ``portfolio_id``, ``currency``, ``amount`` (decimal,
            string, integer or float) and optionally ``strategy``,
            ``trade_date``, ``value_date``, ``status`` (``pending`` or
            ``settled``), ``txn_id``, ``memo``.
        actor, at : keyword-only
            As for :meth:`record`.

        Returns
        -------
        list of str
            The transaction ids, in row order.

        Notes
        -----
        Rows are checked in order exactly as :meth:`record` would (a
        withdrawal sees the deposits of earlier rows). If any row is refused,
        the ledger is rolled back to its state before the batch and
        :class:`~pmcore.errors.ValidationError` names the row and the reason.

        Examples
        --------
        >>> import pyarrow as pa
        >>> from pmcore.cash import Ledger, Limits
        >>> led = Ledger(clock=lambda: 0, limits=Limits(reserve_ratio=0))
        >>> batch = pa.table({"kind": ["deposit", "withdrawal"], "portfolio_id": ["P", "P"],
        ...                   "currency": ["USD", "USD"], "amount": ["100", "150"],
        ...                   "status": ["settled", "pending"], "trade_date": ["2026-11-20"] * 2})
        >>> led.record_batch(batch)
        Traceback (most recent call last):
        ...
        pmcore.errors.ValidationError: transactions: row 1: W000002 refused: exceeds available cash 100.00000000 USD (settled 100.00000000, pending out 0.00000000, locked 0.00000000, reserve 0.00000000); got '150', expected an amount <= 100.00000000. Hint: withdraw less, wait for pending deposits to settle, or lower the reserve ratio
        >>> len(led)
        0
        """
        from ..frames import require_columns, to_arrow
        from .amounts import units_column

        table = to_arrow(transactions, "transactions")
        require_columns(table, "transactions", ["kind", "portfolio_id", "currency", "amount"])
        units = units_column(table, "transactions", "amount", self.scale)
        cols = {name: table.column(name).to_pylist() for name in table.column_names if name != "amount"}
        n = table.num_rows
        optional = [k for k in ("strategy", "trade_date", "value_date", "status", "txn_id", "memo")
                    if k in cols]
        with self._lock:
            saved = (len(self._status), len(self._txn_ids), len(self._events["txn_no"]),
                     {k: list(v) for k, v in self._bal.items()}, dict(self._daily), dict(self._pending),
                     self._counter)
            ids = []
            try:
                for i in range(n):
                    options = {k: cols[k][i] for k in optional if cols[k][i] is not None}
                    ids.append(self.record(cols["kind"][i], cols["portfolio_id"][i], cols["currency"][i],
                                           from_units(units[i], self.scale),
                                           actor=actor, at=at, **options))
            except ValidationError as exc:
                self._rollback(saved)
                raise _row_error(exc, i, table.column("amount")[i].as_py()) from None
            except Exception:
                self._rollback(saved)
                raise
            return ids

    def _rollback(self, saved: tuple) -> None:
        n_legs, n_txn, n_ev, bal, daily, pending, counter = saved
        for v in self._cols.values():
            del v[n_legs:]
        del self._status[n_legs:]
        for tx in self._txn_ids[n_txn:]:
            self._txns.pop(tx, None)
        del self._txn_ids[n_txn:]
        for v in self._events.values():
            del v[n_ev:]
        self._bal, self._daily, self._pending, self._counter = bal, daily, pending, counter

    def transfer(self, portfolio_id: Any, currency: str, amount: Any, from_strategy: str,
                 to_strategy: str, *, trade_date: Any = None, value_date: Any = None,
                 settlement_days: int | None = 0, status: str = "settled", actor: str = "system",
                 memo: str = "", txn_id: Any = None, at: Any = None) -> str:
        """Move cash between two strategies of a portfolio (two legs, same currency).

        Notes
        -----
        The debit must fit the source strategy's available cash before the
        reserve buffer (the reserve guards the portfolio against withdrawals,
        not internal moves). Default: settled at once, value date = trade date.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> _ = led.deposit("P1", "USD", 100, trade_date="2026-11-20", status="settled")
        >>> led.transfer("P1", "USD", 30, "default", "momentum", trade_date="2026-11-20")
        'T000002'
        >>> led.balance("P1", "USD", strategy="momentum")["settled"]
        Decimal('30.00000000')
        """
        if status not in ("pending", "settled"):
            raise ValidationError("is not an initial status", argument="status", value=status,
                                  expected="'pending' or 'settled'")
        with self._lock:
            txn = self._new_id("transfer", txn_id)
            u = self._amount(amount, "transfer", txn, positive=True)
            from_strategy, to_strategy, currency = str(from_strategy), str(to_strategy), str(currency)
            if from_strategy == to_strategy:
                raise ValidationError(f"{txn} refused: the two strategies are the same",
                                      argument="transfer", column="strategy", value=from_strategy,
                                      expected="two different strategies")
            self._check_max(u, currency, "transfer", txn, amount)
            td, vd = self._days(trade_date, value_date, settlement_days)
            self._check_out((portfolio_id, from_strategy, currency), u, "transfer", txn, amount,
                            reserve=False)
            legs = [(portfolio_id, from_strategy, currency, -u), (portfolio_id, to_strategy, currency, u)]
            self._write(txn, "transfer", legs, td, vd, STATUSES.index(status), actor, memo,
                        self._time(at))
            return txn

    def convert(self, portfolio_id: Any, sell_currency: str, buy_currency: str, amount: Any,
                rate: Any, *, spread: Any = 0, strategy: str = "default", trade_date: Any = None,
                value_date: Any = None, settlement_days: int | None = None, status: str = "pending",
                actor: str = "system", memo: str = "", txn_id: Any = None, at: Any = None) -> str:
        """Sell ``amount`` of one currency for another at ``rate``, paying ``spread``.

        Parameters
        ----------
        amount : Decimal, str or number
            Amount sold, in ``sell_currency`` (> 0).
        rate : Decimal, str or number
            Units of ``buy_currency`` per unit of ``sell_currency`` (mid).
        spread : Decimal, str or number, keyword-only
            Cost as a fraction of the amount sold (``0.001`` = 10 bp), paid in
            ``sell_currency`` as a third leg.

        Notes
        -----
        Legs: :math:`-A` and :math:`-\\lceil A s \\rceil` in the sold
        currency, :math:`+\\operatorname{round}(A r)` (half even, to the
        ledger scale) in the bought one. Selling :math:`A r` back at
        :math:`1/r` returns :math:`A` when both products are exact, so a round
        trip loses exactly the two spread legs. ``A + spread`` must fit the
        available cash before the reserve.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> _ = led.deposit("P1", "EUR", 1000, trade_date="2026-11-20", status="settled")
        >>> tx = led.convert("P1", "EUR", "USD", 500, "1.05", spread="0.001",
        ...                  trade_date="2026-11-20", status="settled")
        >>> led.balance("P1", "USD")["settled"], led.balance("P1", "EUR")["settled"]
        (Decimal('525.00000000'), Decimal('499.50000000'))
        """
        if status not in ("pending", "settled"):
            raise ValidationError("is not an initial status", argument="status", value=status,
                                  expected="'pending' or 'settled'")
        with self._lock:
            txn = self._new_id("fx_conversion", txn_id)
            u = self._amount(amount, "fx_conversion", txn, positive=True)
            sell_currency, buy_currency = str(sell_currency), str(buy_currency)
            if sell_currency == buy_currency:
                raise ValidationError(f"{txn} refused: both currencies are {sell_currency}",
                                      argument="fx_conversion", column="currency",
                                      value=buy_currency, expected="two different currencies")
            r = _fraction(rate, "rate", positive=True)
            s = _fraction(spread, "spread")
            if s >= 1:
                raise ValidationError("is out of range", argument="spread", value=spread,
                                      expected="a fraction in [0, 1)")
            self._check_max(u, sell_currency, "fx_conversion", txn, amount)
            bought = round_units(Fraction(u, 10**self.scale) * r, self.scale)
            cost = round_units(Fraction(u, 10**self.scale) * s, self.scale, "ceiling")
            to_units(from_units(bought, self.scale), self.scale, argument="fx_conversion")
            td, vd = self._days(trade_date, value_date, settlement_days)
            key = (portfolio_id, str(strategy), sell_currency)
            self._check_out(key, u + cost, "fx_conversion", txn, amount, reserve=False,
                            what=f"the amount plus the spread ({format(from_units(u + cost, self.scale), 'f')}) "
                            if cost else "")
            legs = [(portfolio_id, str(strategy), sell_currency, -u),
                    (portfolio_id, str(strategy), buy_currency, bought)]
            if cost:
                legs.append((portfolio_id, str(strategy), sell_currency, -cost))
            self._write(txn, "fx_conversion", legs, td, vd, STATUSES.index(status), actor,
                        memo or f"{sell_currency}->{buy_currency} @ {rate}", self._time(at))
            return txn

    # -- status ---------------------------------------------------------
    def set_status(self, txn_id: str, status: str, *, actor: str = "system", reason: str = "",
                   at: Any = None) -> None:
        """Move a transaction to ``status`` along an allowed edge (see ``ALLOWED_TRANSITIONS``).

        Notes
        -----
        Only ``pending -> settled | failed | cancelled`` is allowed; any other
        move raises :class:`~pmcore.errors.ValidationError` with the reason and
        writes nothing. Failed and cancelled withdrawals stop counting against
        the daily limit.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> tx = led.deposit("P1", "USD", 10, trade_date="2026-11-20")
        >>> led.set_status(tx, "cancelled", reason="client request")
        >>> led.set_status(tx, "settled")
        Traceback (most recent call last):
        ...
        pmcore.errors.ValidationError: status: D000001 refused: cannot move from 'cancelled' to 'settled'; got 'settled', expected one of [] from 'cancelled'
        """
        with self._lock:
            rows = self._txns.get(str(txn_id))
            if rows is None:
                raise ValidationError("is not in the ledger", argument="txn_id", value=txn_id,
                                      expected="the id of a recorded transaction")
            if status not in STATUSES:
                raise ValidationError("is not a status", argument="status", value=status,
                                      expected=f"one of {list(STATUSES)}")
            old = self._status[rows[0]]
            new = STATUSES.index(status)
            if new not in _ALLOWED[old]:
                raise ValidationError(
                    f"{txn_id} refused: cannot move from {STATUSES[old]!r} to {status!r}",
                    argument="status", value=status,
                    expected=f"one of {list(ALLOWED_TRANSITIONS[STATUSES[old]])} from {STATUSES[old]!r}")
            t = self._time(at)
            c = self._cols
            legs = [((c["portfolio_id"][r], c["strategy"][r], c["currency"][r]), c["units"][r]) for r in rows]
            moved = self._moved([ch for key, u in legs for ch in ((key, u, old, -1), (key, u, new, +1))], rows[0])
            self._bal.update(moved)
            for r in rows:
                self._status[r] = new
            if c["kind"][rows[0]] == "withdrawal" and new in (FAILED, CANCELLED):
                r = rows[0]
                dkey = (c["portfolio_id"][r], c["currency"][r], c["trade_day"][r])
                self._daily[dkey] += c["units"][r]
            self._pending.pop(str(txn_id), None)
            self._event(c["txn_no"][rows[0]], t, actor, status, old, new, reason)

    def settle(self, txn_id: str, **options: Any) -> None:
        """Mark a pending transaction settled (see :meth:`set_status`).

        Notes
        -----
        Pending inflows become settled cash; pending outflows leave it.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> led.settle(led.deposit("P1", "USD", 5, trade_date="2026-11-20"))
        >>> led.balance("P1", "USD")["settled"]
        Decimal('5.00000000')
        """
        self.set_status(txn_id, "settled", **options)

    def fail(self, txn_id: str, **options: Any) -> None:
        """Mark a pending transaction failed (see :meth:`set_status`).

        Notes
        -----
        A failed transaction counts in no balance; the status is final.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> led.fail(led.deposit("P1", "USD", 5, trade_date="2026-11-20"), reason="bounced")
        >>> led.balance("P1", "USD")["total"]
        Decimal('0E-8')
        """
        self.set_status(txn_id, "failed", **options)

    def cancel(self, txn_id: str, **options: Any) -> None:
        """Cancel a pending transaction (see :meth:`set_status`).

        Notes
        -----
        A cancelled transaction counts in no balance; the status is final.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> led.cancel(led.deposit("P1", "USD", 5, trade_date="2026-11-20"))
        >>> led.balance("P1", "USD")["pending_in"]
        Decimal('0E-8')
        """
        self.set_status(txn_id, "cancelled", **options)

    def settle_due(self, date: Any, *, actor: str = "system", at: Any = None) -> list[str]:
        """Settle every pending transaction whose value date is on or before ``date``.

        Notes
        -----
        Each settlement is an audit event with reason ``"value date reached"``.

        Returns
        -------
        list of str
            The ids settled, in recording order.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> a = led.deposit("P1", "USD", 5, trade_date="2026-11-20")  # value 11-24 (T+2)
        >>> led.settle_due("2026-11-23"), led.settle_due("2026-11-24")
        ([], ['D000001'])
        """
        day = to_day(date, "date")
        with self._lock:
            due = [tx for tx, vd in self._pending.items() if vd <= day]
            for tx in due:
                self.set_status(tx, "settled", actor=actor, reason="value date reached", at=at)
            return due

    def lock(self, portfolio_id: Any, currency: str, amount: Any, *, strategy: str = "default",
             actor: str = "system", reason: str = "", at: Any = None) -> None:
        """Set the locked (held for open orders) amount of a balance; ``0`` releases it.

        Notes
        -----
        Locked cash is not available for withdrawals or transfers. Each lock
        change is an audit event (action ``lock``) with its time and actor,
        used by ``balances(as_of=...)`` and :meth:`replay`.

        Examples
        --------
        >>> from pmcore.cash import Ledger, Limits
        >>> led = Ledger(clock=lambda: 0, limits=Limits(reserve_ratio=0))
        >>> _ = led.deposit("P1", "USD", 100, trade_date="2026-11-20", status="settled")
        >>> led.lock("P1", "USD", 25)
        >>> led.balance("P1", "USD")["available"]
        Decimal('75.00000000')
        """
        u = to_units(amount, self.scale, argument="amount")
        if u < 0:
            raise ValidationError("is negative", argument="amount", value=amount, expected="an amount >= 0")
        with self._lock:
            key = (portfolio_id, str(strategy), str(currency))
            if not self._representable(list(self._bal.get(key, (0, 0, 0))), u):
                raise ValidationError("would take the available balance beyond the int64 fixed-point range",
                                      argument="amount", value=amount,
                                      expected="an amount that keeps every balance within +/-9.2e18 units")
            t = self._time(at)
            self._locked[key] = u
            self._locks_hist.append((t, key, u))
            self._event(-1, t, actor, "lock", -1, -1, reason, len(self._locks_hist) - 1)
