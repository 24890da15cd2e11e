"""Business-day calendars for value dates (T+N), holidays given by the caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ValidationError

__all__ = ["BusinessCalendar", "day_to_date", "to_day"]

_EPOCH = dt.date(1970, 1, 1)
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def to_day(value: Any, argument: str = "date") -> int:
    """Return a date (``datetime.date``, ISO string, numpy/pandas date) as days since 1970-01-01.

    Examples
    --------
    >>> to_day("1970-01-03")
    2
    """
    try:
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return (value - _EPOCH).days
        return int(np.datetime64(value, "D").astype(np.int64))
    except (ValueError, TypeError):
        raise ValidationError("is not a date", argument=argument, value=value,
                              expected="a date or an ISO string 'YYYY-MM-DD'") from None


def day_to_date(day: int) -> dt.date:
    """Return days since 1970-01-01 as a ``datetime.date``.

    Examples
    --------
    >>> day_to_date(2)
    datetime.date(1970, 1, 3)
    """
    return _EPOCH + dt.timedelta(days=int(day))


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekend days and holidays of a settlement calendar.

    Parameters
    ----------
    holidays : iterable of dates, optional
        Non-business days besides the weekend (given by the caller; pmcore
        downloads nothing).
    weekend : tuple of str
        Weekend day names, default ``("Sat", "Sun")``.

    Notes
    -----
    Value dates follow numpy's ``busday_offset`` with ``roll="following"``: a
    trade on a non-business day rolls to the next business day, then moves N
    business days forward (T+N).

    Examples
    --------
    >>> cal = BusinessCalendar(holidays=["2026-12-25"])
    >>> cal.value_date("2026-12-23", 2)
    datetime.date(2026, 12, 28)
    >>> cal.is_business_day("2026-12-26")
    False
    """

    holidays: tuple = field(default=())
    weekend: tuple = ("Sat", "Sun")

    def __post_init__(self) -> None:
        bad = [d for d in self.weekend if d not in _DAY_NAMES]
        if bad:
            raise ValidationError("has an unknown day name", argument="weekend", value=bad[0],
                                  expected=f"names from {list(_DAY_NAMES)}")
        hol = tuple(sorted({to_day(h, "holidays") for h in (self.holidays or ())}))
        object.__setattr__(self, "holidays", tuple(day_to_date(h) for h in hol))
        mask = "".join("0" if d in self.weekend else "1" for d in _DAY_NAMES)
        if mask == "0000000":
            raise ValidationError("leaves no business day", argument="weekend", value=self.weekend)
        cal = np.busdaycalendar(weekmask=mask,
                                holidays=np.array(hol, dtype="int64").astype("datetime64[D]"))
        object.__setattr__(self, "_cal", cal)

    def is_business_day(self, date: Any) -> bool:
        """True if ``date`` is neither a weekend day nor a holiday.

        Notes
        -----
        Dates are days since 1970-01-01 inside; weekend days and holidays are
        not business days.

        Examples
        --------
        >>> BusinessCalendar().is_business_day("2026-11-21")
        False
        """
        d = np.datetime64(to_day(date), "D")
        return bool(np.is_busday(d, busdaycal=self._cal))

    def value_date(self, trade_date: Any, days: int = 2) -> dt.date:
        """Value (settlement) date ``days`` business days after ``trade_date`` (T+N).

        Notes
        -----
        A trade on a non-business day first rolls to the next business day;
        ``days=0`` gives that day.

        Examples
        --------
        >>> BusinessCalendar().value_date("2026-11-20", 1)
        datetime.date(2026, 11, 23)
        """
        return day_to_date(self.value_days(np.array([to_day(trade_date, "trade_date")]), days)[0])

    def value_days(self, trade_days: Iterable[int], days: int | np.ndarray = 2) -> np.ndarray:
        """Vectorized :meth:`value_date` over int days since 1970-01-01 (returns int64 days).

        Notes
        -----
        ``days`` may be a scalar or an array broadcast against ``trade_days``
        (numpy ``busday_offset`` with ``roll="following"``).

        Examples
        --------
        >>> import numpy as np
        >>> BusinessCalendar().value_days(np.array([20777, 20778]), 2).tolist()  # Fri, Sat
        [20781, 20782]
        """
        d = np.asarray(trade_days, dtype=np.int64).astype("datetime64[D]")
        if np.any(np.asarray(days) < 0):
            raise ValidationError("is negative", argument="settlement_days", value=days,
                                  expected="an integer >= 0")
        out = np.busday_offset(d, days, roll="following", busdaycal=self._cal)
        return out.astype(np.int64)

    def business_days(self, start: Any, end: Any) -> np.ndarray:
        """Business days from ``start`` to ``end`` inclusive, as int days since 1970-01-01.

        Notes
        -----
        Dates are days since 1970-01-01 inside; weekend days and holidays are
        not business days.

        Examples
        --------
        >>> len(BusinessCalendar().business_days("2026-11-16", "2026-11-22"))
        5
        """
        a, b = to_day(start, "start"), to_day(end, "end")
        days = np.arange(a, b + 1, dtype=np.int64)
        keep = np.is_busday(days.astype("datetime64[D]"), busdaycal=self._cal)
        return days[keep]
