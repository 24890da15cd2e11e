"""The cash ledger: the one stateful object of pmcore.cash.

Every transaction is one or more legs (a transfer debits one strategy and
credits another; an FX conversion sells one currency, buys another and pays
the spread). Amounts are exact int64 units. Running balances are Python ints
updated in place, so recording a deposit costs a few dictionary operations;
everything historical (balances as of a past time, projections by value date)
is recomputed by the pure kernels of :mod:`pmcore.kernels.cash`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import ValidationError
from ._frames import (
    PENDING,
    SETTLED,
    STATUSES,
    overflow_error,
)
from .amounts import (
    DEFAULT_SCALE,
    INT64_MAX,
    check_scale,
    from_units,
    to_units,
)
from .calendar import BusinessCalendar, day_to_date, to_day
from .ledger_common import ALLOWED_TRANSITIONS, _now_ns, _to_ns
from .ledger_ops import LedgerOps
from .ledger_views import LedgerViews

__all__ = ["ALLOWED_TRANSITIONS", "TRANSACTION_KINDS", "Ledger", "Limits"]

TRANSACTION_KINDS = ("deposit", "withdrawal", "trade_settlement", "fee", "funding", "dividend",
                     "interest", "fx_conversion", "transfer")
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


class Ledger(LedgerOps, LedgerViews):
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
        moved = self._moved([((p, s, cur), u, status, +1) for p, s, cur, u in legs], len(self._status))
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
        self._bal.update(moved)
        self._txns[txn] = rows
        if status == PENDING:
            self._pending[txn] = vd
        self._event(txn_no, t, actor, "record", -1, status, memo)

    def _moved(self, changes: list[tuple], first_row: int) -> dict:
        """New balances after ``changes`` ((key, units, status, sign), one per leg), nothing written.

        Raises the overflow error (naming the leg's row, counted from
        ``first_row``) before any balance changes, so a refused change writes
        nothing; the caller stores the result with ``self._bal.update``.
        """
        new: dict = {}
        for j, (key, u, status, sign) in enumerate(changes):
            b = new.get(key)
            if b is None:
                b = new[key] = list(self._bal.get(key, (0, 0, 0)))
            if status == SETTLED:
                b[0] += sign * u
            elif status == PENDING:
                if u >= 0:
                    b[1] += sign * u
                else:
                    b[2] -= sign * u
            if not self._representable(b, self._locked.get(key, 0)):
                raise overflow_error("ledger", first_row + j)
        return new

    def _representable(self, b: list[int], locked: int) -> bool:
        """Whether balance parts ``b`` and every figure derived from them (total,
        available with ``locked`` units held) fit the int64 fixed-point range."""
        settled, pending_in, pending_out = b
        available = settled - pending_out - locked - self._reserve_units(settled)
        return max(abs(settled), pending_in, pending_out, abs(settled + pending_in - pending_out),
                   abs(available)) <= INT64_MAX

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
