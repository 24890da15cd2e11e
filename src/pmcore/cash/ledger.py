"""The cash ledger: the one stateful object of pmcore.cash.

Every transaction is one or more legs (a transfer debits one strategy and
credits another; an FX conversion sells one currency, buys another and pays
the spread). Amounts are exact int64 units. Running balances are Python ints
updated in place, so recording a deposit costs a few dictionary operations;
everything historical (balances as of a past time, projections by value date)
is recomputed by the pure kernels of :mod:`pmcore.kernels.cash`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import from_arrow
from ..kernels.cash import balance_table, status_as_of
from ._frames import (
    CANCELLED,
    FAILED,
    PENDING,
    SETTLED,
    STATUSES,
    check_kind,
    key_codes,
    overflow_error,
)
from .amounts import (
    DEFAULT_SCALE,
    INT64_MAX,
    check_scale,
    from_units,
    round_units,
    to_units,
    units_to_arrow,
)
from .calendar import BusinessCalendar, day_to_date, to_day

__all__ = ["ALLOWED_TRANSITIONS", "TRANSACTION_KINDS", "Ledger", "Limits"]

TRANSACTION_KINDS = ("deposit", "withdrawal", "trade_settlement", "fee", "funding", "dividend",
                     "interest", "fx_conversion", "transfer")
#: status -> statuses it may move to; settled, failed and cancelled are final
ALLOWED_TRANSITIONS = {"pending": ("settled", "failed", "cancelled"), "settled": (),
                       "failed": (), "cancelled": ()}
_ALLOWED = {STATUSES.index(a): {STATUSES.index(b) for b in bs} for a, bs in ALLOWED_TRANSITIONS.items()}
_SIGN = {"deposit": 1, "withdrawal": -1, "fee": -1, "dividend": 1}  # others are signed by the caller


@dataclass(frozen=True)
class Limits:
    """Controls a ledger enforces before it writes anything.

    Parameters
    ----------
    max_transaction : number or mapping currency -> number, optional
        Largest amount of one deposit, withdrawal, transfer or conversion.
    max_daily_withdrawal : number or mapping currency -> number, optional
        Largest total of withdrawals per portfolio, currency and trade date
        (failed and cancelled ones do not count).
    reserve_ratio : float
        Cash reserve buffer as a fraction of the settled balance (default
        0.10, i.e. 10 %); a withdrawal may not dig into it.

    Notes
    -----
    Limits in a mapping apply to the currencies it names only; a single
    number applies to every currency. The reserve is
    :math:`\\lceil \\rho \\max(\\text{settled}, 0) \\rceil` units per
    portfolio, strategy and currency.

    Examples
    --------
    >>> Limits(max_transaction=1_000_000, reserve_ratio=0.05)
    Limits(max_transaction=1000000, max_daily_withdrawal=None, reserve_ratio=0.05)
    """

    max_transaction: Any = None
    max_daily_withdrawal: Any = None
    reserve_ratio: float = 0.10


def _per_currency(value: Any, name: str, scale: int) -> dict:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        out = {str(k): to_units(v, scale, argument=name) for k, v in value.items()}
    else:
        out = {None: to_units(value, scale, argument=name)}
    for v in out.values():
        if v <= 0:
            raise ValidationError("is not positive", argument=name, value=value, expected="amounts > 0")
    return out


def _now_ns() -> int:
    return time.time_ns()


def _to_ns(value: Any, argument: str) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp()) * 10**9 + value.microsecond * 1000
    if isinstance(value, dt.date):
        return to_day(value) * 86_400 * 10**9
    try:
        return int(np.datetime64(value, "ns").astype(np.int64))
    except (ValueError, TypeError):
        raise ValidationError("is not a time", argument=argument, value=value,
                              expected="a datetime, an ISO string or int nanoseconds since 1970") from None


class Ledger:
    """An exact multi-currency cash ledger with settlement, limits and an audit trail.

    Parameters
    ----------
    base_currency : str
        Currency of cross-currency reports.
    scale : int
        Decimals of the fixed-point units (8 to 12, default 8).
    calendar : BusinessCalendar, optional
        Weekend and holidays for value dates (default Saturday/Sunday, no holidays).
    settlement_days : int
        Default N of T+N value dates (default 2).
    limits : Limits, optional
        Per-transaction and daily limits and the reserve buffer (default 10 %).
    margin_check : callable, optional
        ``margin_check(portfolio_id, currency, amount) -> Decimal or None``:
        the largest withdrawal the margin rules allow (None: no margin rule).
    clock : callable, optional
        Returns the time as int nanoseconds since 1970 (default: the system clock).

    Notes
    -----
    Balances per portfolio, strategy and currency (int units, exact):

    .. math::

        \\text{available} = \\text{settled} - \\text{pending\\_out} - \\text{locked}
                            - \\lceil \\rho \\max(\\text{settled}, 0) \\rceil

    with :math:`\\rho` the reserve ratio. A refused transaction raises
    :class:`~pmcore.errors.ValidationError` naming the transaction and the
    rule, and writes nothing. Methods are thread safe (one lock).

    Examples
    --------
    >>> led = Ledger(clock=lambda: 0)
    >>> t1 = led.deposit("P1", "USD", "1000.00", trade_date="2026-11-20")
    >>> led.settle(t1)
    >>> led.balance("P1", "USD")["available"]
    Decimal('900.00000000')
    >>> led.withdraw("P1", "USD", "950", trade_date="2026-11-20")
    Traceback (most recent call last):
    ...
    pmcore.errors.ValidationError: withdrawal: column 'amount': W000002 refused: exceeds available cash 900.00000000 USD (settled 1000.00000000, pending out 0.00000000, locked 0.00000000, reserve 100.00000000); got '950', expected an amount <= 900.00000000. Hint: withdraw less, wait for pending deposits to settle, or lower the reserve ratio
    """

    def __init__(self, *, base_currency: str = "USD", scale: int = DEFAULT_SCALE,
                 calendar: BusinessCalendar | None = None, settlement_days: int = 2,
                 limits: Limits | None = None, margin_check: Callable | None = None,
                 clock: Callable[[], int] | None = None) -> None:
        self.scale = check_scale(scale)
        self.base_currency = str(base_currency)
        self.calendar = calendar if calendar is not None else BusinessCalendar()
        if isinstance(settlement_days, bool) or not isinstance(settlement_days, int) or settlement_days < 0:
            raise ValidationError("is not a day count", argument="settlement_days",
                                  value=settlement_days, expected="an integer >= 0")
        self.settlement_days = settlement_days
        self.limits = limits if limits is not None else Limits()
        ratio = Fraction(str(self.limits.reserve_ratio))
        if not 0 <= ratio <= 1:
            raise ValidationError("is out of range", argument="reserve_ratio",
                                  value=self.limits.reserve_ratio, expected="a fraction in [0, 1]")
        self._reserve = ratio
        self._reserve_num, self._reserve_den = ratio.numerator, ratio.denominator
        self._day_cache: dict = {}
        self._value_cache: dict = {}
        self._max_txn = _per_currency(self.limits.max_transaction, "max_transaction", self.scale)
        self._max_daily = _per_currency(self.limits.max_daily_withdrawal, "max_daily_withdrawal",
                                        self.scale)
        self.margin_check = margin_check
        self._clock = clock or _now_ns
        self._lock = threading.RLock()
        # legs, column-wise
        self._cols: dict[str, list] = {k: [] for k in (
            "txn_id", "leg", "kind", "portfolio_id", "strategy", "currency", "units",
            "trade_day", "value_day", "recorded_ns", "actor", "memo", "txn_no")}
        self._status: list[int] = []  # current status per leg
        self._txns: dict[str, list[int]] = {}  # txn id -> leg rows
        self._txn_ids: list[str] = []
        # audit events (one per change)
        self._events: dict[str, list] = {k: [] for k in (
            "txn_no", "time_ns", "actor", "action", "from_status", "to_status", "reason", "lock")}
        self._locks_hist: list[tuple[int, tuple, int]] = []
        # running state
        self._bal: dict[tuple, list[int]] = {}
        self._locked: dict[tuple, int] = {}
        self._daily: dict[tuple, int] = {}
        self._counter = 0
        self._pending: dict[str, int] = {}  # pending txn id -> value day, in recording order

    # -- helpers ---------------------------------------------------------
    def _time(self, at: Any) -> int:
        return self._clock() if at is None else _to_ns(at, "at")

    def _limit(self, table: dict, currency: str) -> int | None:
        return table.get(currency, table.get(None))

    def _new_id(self, kind: str, txn_id: Any) -> str:
        if txn_id is None:
            self._counter += 1
            return f"{kind[0].upper()}{self._counter:06d}"
        txn_id = str(txn_id)
        if txn_id in self._txns:
            raise ValidationError("is already in the ledger", argument="txn_id", value=txn_id,
                                  expected="a new transaction id")
        return txn_id

    def _amount(self, amount: Any, kind: str, txn: str, positive: bool) -> int:
        u = to_units(amount, self.scale, argument=kind)
        if positive and u <= 0:
            raise ValidationError(f"{txn} refused: the amount must be positive", argument=kind,
                                  column="amount", value=amount, expected="an amount > 0")
        if u == 0:
            raise ValidationError(f"{txn} refused: the amount is zero", argument=kind,
                                  column="amount", value=amount, expected="a nonzero amount")
        return u

    def _check_max(self, u: int, currency: str, kind: str, txn: str, amount: Any) -> None:
        cap = self._limit(self._max_txn, currency)
        if cap is not None and abs(u) > cap:
            raise ValidationError(
                f"{txn} refused: exceeds the per-transaction limit of {from_units(cap, self.scale)} "
                f"{currency}", argument=kind, column="amount", value=amount,
                expected=f"an amount <= {from_units(cap, self.scale)}",
                hint="split it over several transactions or raise Limits.max_transaction")

    def _day(self, value: Any, argument: str) -> int:
        if isinstance(value, str):
            d = self._day_cache.get(value)
            if d is None:
                d = to_day(value, argument)
                if len(self._day_cache) < 10_000:
                    self._day_cache[value] = d
            return d
        return to_day(value, argument)

    def _days(self, trade_date: Any, value_date: Any, settlement_days: Any) -> tuple[int, int]:
        td = self._day(trade_date, "trade_date") if trade_date is not None else \
            int(self._clock() // (86_400 * 10**9))
        if value_date is not None:
            vd = self._day(value_date, "value_date")
            if vd < td:
                raise ValidationError("is before the trade date", argument="value_date",
                                      value=str(day_to_date(vd)), expected=f">= {day_to_date(td)}")
            return td, vd
        n = self.settlement_days if settlement_days is None else settlement_days
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValidationError("is not a day count", argument="settlement_days", value=n,
                                  expected="an integer >= 0")
        key = (td, int(n))
        vd = self._value_cache.get(key)
        if vd is None:  # the calendar is frozen, so value dates can be cached
            vd = int(self.calendar.value_days([td], int(n))[0])
            if len(self._value_cache) < 100_000:
                self._value_cache[key] = vd
        return td, vd

    def _state(self, key: tuple) -> list[int]:
        b = self._bal.get(key)
        if b is None:
            b = self._bal[key] = [0, 0, 0]
        return b

    def _reserve_units(self, settled: int) -> int:
        if settled <= 0 or self._reserve_num == 0:
            return 0
        return -((-self._reserve_num * settled) // self._reserve_den)

    def _available(self, key: tuple) -> tuple[int, list[int], int, int]:
        b = self._bal.get(key, [0, 0, 0])
        locked = self._locked.get(key, 0)
        reserve = self._reserve_units(b[0])
        return b[0] - b[2] - locked - reserve, b, locked, reserve

    def _write(self, txn: str, kind: str, legs: list[tuple], td: int, vd: int, status: int,
               actor: str, memo: str, t: int) -> None:
        """Append legs (portfolio, strategy, currency, units) and their record event; no checks."""
        c = self._cols
        txn_no = len(self._txn_ids)
        self._txn_ids.append(txn)
        rows = []
        for j, (p, s, cur, u) in enumerate(legs):
            rows.append(len(self._status))
            # one append per column, in the order of _cols (the single-transaction hot path)
            c["txn_id"].append(txn)
            c["leg"].append(j)
            c["kind"].append(kind)
            c["portfolio_id"].append(p)
            c["strategy"].append(s)
            c["currency"].append(cur)
            c["units"].append(u)
            c["trade_day"].append(td)
            c["value_day"].append(vd)
            c["recorded_ns"].append(t)
            c["actor"].append(actor)
            c["memo"].append(memo)
            c["txn_no"].append(txn_no)
            self._status.append(status)
            self._apply(p, s, cur, u, status, +1)
        self._txns[txn] = rows
        if status == PENDING:
            self._pending[txn] = vd
        self._event(txn_no, t, actor, "record", -1, status, memo)

    def _apply(self, p, s, cur, u, status, sign) -> None:
        b = self._state((p, s, cur))
        if status == SETTLED:
            b[0] += sign * u
        elif status == PENDING:
            if u >= 0:
                b[1] += sign * u
            else:
                b[2] -= sign * u
        if abs(b[0]) > INT64_MAX or b[1] > INT64_MAX or b[2] > INT64_MAX:
            raise overflow_error("ledger", len(self._status) - 1)

    def _event(self, txn_no, t, actor, action, old, new, reason, lock=-1) -> None:
        e = self._events
        e["lock"].append(lock)
        e["txn_no"].append(txn_no)
        e["time_ns"].append(t)
        e["actor"].append(actor)
        e["action"].append(action)
        e["from_status"].append(old)
        e["to_status"].append(new)
        e["reason"].append(reason)

    def _check_out(self, key: tuple, u: int, kind: str, txn: str, amount: Any, reserve: bool,
                   what: str = "") -> None:
        avail, b, locked, res = self._available(key)
        if not reserve:
            avail += res
        if u > avail:
            f = lambda x: format(from_units(x, self.scale), "f")
            raise ValidationError(
                f"{txn} refused: {what}exceeds available cash {f(avail)} {key[2]} (settled {f(b[0])}, "
                f"pending out {f(b[2])}, locked {f(locked)}"
                + (f", reserve {f(res)})" if reserve else ")"),
                argument=kind, column="amount", value=amount, expected=f"an amount <= {f(avail)}",
                hint="withdraw less, wait for pending deposits to settle, or lower the reserve ratio"
                if reserve else "move less, or wait for pending deposits to settle")

    # -- recording ---------------------------------------------------------
    def record(self, kind: str, portfolio_id: Any, currency: str, amount: Any, *,
               strategy: str = "default", trade_date: Any = None, value_date: Any = None,
               settlement_days: int | None = None, status: str = "pending",
               actor: str = "system", memo: str = "", txn_id: Any = None, at: Any = None) -> str:
        """Record a one-leg transaction: deposit, withdrawal, trade settlement, fee, funding, dividend or interest.

        Parameters
        ----------
        kind : str
            One of ``deposit``, ``withdrawal``, ``fee``, ``dividend`` (amount > 0,
            the sign comes from the kind) or ``trade_settlement``, ``funding``,
            ``interest`` (signed: inflows > 0).
        portfolio_id, currency : str
            Where the cash moves.
        amount : Decimal, str, int or float
            Exact amount (at most ``scale`` decimals).
        strategy : str, keyword-only
            Strategy sleeve (default ``"default"``).
        trade_date, value_date : date, keyword-only
            Trade date (default today) and value date (default trade date plus
            ``settlement_days`` business days).
        settlement_days : int, keyword-only
            N of T+N (default the ledger's).
        status : {"pending", "settled"}, keyword-only
            Initial status.
        actor, memo : str, keyword-only
            Who made the change and why (audit trail).
        txn_id : str, keyword-only
            Transaction id (default a generated one).
        at : datetime or int ns, keyword-only
            Time of the change (default the ledger's clock).

        Returns
        -------
        str
            The transaction id.

        Notes
        -----
        Withdrawals must fit the available cash (after the reserve buffer),
        the per-transaction and daily limits and, if set, the margin check.
        A refusal raises :class:`~pmcore.errors.ValidationError` and writes nothing.

        Examples
        --------
        >>> led = Ledger(clock=lambda: 0)
        >>> led.record("dividend", "P1", "EUR", "12.5", trade_date="2026-11-20", status="settled")
        'D000001'
        """
        if kind not in TRANSACTION_KINDS or kind in ("fx_conversion", "transfer"):
            raise ValidationError("is not a one-leg transaction kind", argument="kind", value=kind,
                                  expected=f"one of {[k for k in TRANSACTION_KINDS[:7]]}",
                                  hint="use convert() or transfer() for two-leg transactions")
        if status not in ("pending", "settled"):
            raise ValidationError("is not an initial status", argument="status", value=status,
                                  expected="'pending' or 'settled'")
        with self._lock:
            txn = self._new_id(kind, txn_id)
            sign = _SIGN.get(kind)
            u = self._amount(amount, kind, txn, positive=sign is not None)
            if sign is not None:
                u *= sign
            currency, strategy = str(currency), str(strategy)
            if kind in ("deposit", "withdrawal"):
                self._check_max(u, currency, kind, txn, amount)
            td, vd = self._days(trade_date, value_date, settlement_days)
            key = (portfolio_id, strategy, currency)
            if kind == "withdrawal":
                cap = self._limit(self._max_daily, currency)
                dkey = (portfolio_id, currency, td)
                used = self._daily.get(dkey, 0)
                if cap is not None and used - u > cap:
                    f = lambda x: format(from_units(x, self.scale), "f")
                    raise ValidationError(
                        f"{txn} refused: the daily withdrawal limit of {f(cap)} {currency} would be "
                        f"exceeded ({f(used)} already withdrawn on {day_to_date(td)})",
                        argument=kind, column="amount", value=amount,
                        expected=f"an amount <= {f(cap - used)}", hint="withdraw the rest tomorrow")
                self._check_out(key, -u, kind, txn, amount, reserve=True)
                if self.margin_check is not None:
                    allowed = self.margin_check(portfolio_id, currency, from_units(-u, self.scale))
                    if allowed is not None and -u > to_units(Decimal(allowed).quantize(
                            Decimal(1).scaleb(-self.scale), rounding="ROUND_FLOOR"), self.scale):
                        raise ValidationError(
                            f"{txn} refused: breaks the margin rules (at most {allowed} {currency} "
                            "may be withdrawn)", argument=kind, column="amount", value=amount,
                            expected=f"an amount <= {allowed}", hint="close positions or add margin first")
            t = self._time(at)
            st = STATUSES.index(status)
            self._write(txn, kind, [(portfolio_id, strategy, currency, u)], td, vd, st, actor, memo, t)
            if kind == "withdrawal":
                dkey = (portfolio_id, currency, td)
                self._daily[dkey] = self._daily.get(dkey, 0) - u
            return txn

    def deposit(self, portfolio_id: Any, currency: str, amount: Any, **options: Any) -> str:
        """Record a deposit (``amount > 0``); options as for :meth:`record`.

        Notes
        -----
        Deposits are checked against the per-transaction limit only; they
        count as pending inflows (not available) until settled.

        Examples
        --------
        >>> Ledger(clock=lambda: 0).deposit("P1", "USD", "250.00", trade_date="2026-11-20")
        'D000001'
        """
        return self.record("deposit", portfolio_id, currency, amount, **options)

    def withdraw(self, portfolio_id: Any, currency: str, amount: Any, **options: Any) -> str:
        """Record a withdrawal (``amount > 0``) after the limit, reserve and available checks.

        Notes
        -----
        In order: per-transaction limit, daily limit (per portfolio, currency
        and trade date), available cash after the reserve, then the margin
        check. The first rule broken raises; nothing is written.

        Examples
        --------
        >>> led = Ledger(clock=lambda: 0, limits=Limits(reserve_ratio=0))
        >>> _ = led.deposit("P1", "USD", 100, trade_date="2026-11-20", status="settled")
        >>> led.withdraw("P1", "USD", 40, trade_date="2026-11-20")
        'W000002'
        >>> led.balance("P1", "USD")["available"]
        Decimal('60.00000000')
        """
        return self.record("withdrawal", portfolio_id, currency, amount, **options)

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
            for r in rows:
                p, s, cur, u = c["portfolio_id"][r], c["strategy"][r], c["currency"][r], c["units"][r]
                self._apply(p, s, cur, u, old, -1)
                self._apply(p, s, cur, u, new, +1)
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
            t = self._time(at)
            self._locked[key] = u
            self._locks_hist.append((t, key, u))
            self._event(-1, t, actor, "lock", -1, -1, reason, len(self._locks_hist) - 1)

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
        return Ledger(base_currency=self.base_currency, scale=self.scale, calendar=self.calendar,
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
        >>> led = Ledger(clock=lambda: 0)
        >>> led.settle(led.deposit("P1", "USD", "5.5", trade_date="2026-11-20"))
        >>> led.lock("P1", "USD", 1)
        >>> again = Ledger.from_history(led.transactions(), led.audit(), clock=lambda: 0)
        >>> again.balances() == led.balances(), again.audit() == led.audit()
        (True, True)
        """
        from ..frames import require_columns, to_arrow
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


def _plain_strings(table: pa.Table) -> pa.Table:
    """Cast string views and dictionary columns to plain strings (polars and pandas round trips)."""
    for i, f in enumerate(table.schema):
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
        elif pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(t))
    return table


def _row_error(exc: ValidationError, row: int, amount: Any) -> ValidationError:
    """The error of one row of a batch: the same reason, naming the row."""
    message = exc.args[0]
    if exc.argument and message.startswith(f"{exc.argument}: "):
        message = message[len(exc.argument) + 2:]
    if exc.column is not None:
        for lead in (f"column {exc.column!r}: ", f"column {exc.column!r}, "):
            message = message.removeprefix(lead)
    for cut in ("; got ", "; expected ", ". Hint: "):
        message = message.split(cut)[0]
    value = amount if exc.column == "amount" else exc.value
    return ValidationError(message, argument="transactions", row=row, value=value,
                           expected=exc.expected, hint=exc.hint)


def _fraction(value: Any, name: str, positive: bool = False) -> Fraction:
    try:
        f = Fraction(repr(float(value))) if isinstance(value, float) else Fraction(str(value)) \
            if not isinstance(value, Fraction) else value
    except (ValueError, ZeroDivisionError):
        raise ValidationError("is not a number", argument=name, value=value) from None
    if f < 0 or (positive and f == 0):
        raise ValidationError("is out of range", argument=name, value=value,
                              expected="a number > 0" if positive else "a number >= 0")
    return f
