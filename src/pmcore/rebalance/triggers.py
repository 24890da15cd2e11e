"""Rebalance triggers over many accounts at once: bands, calendar, minimum interval, volatility pause."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationError
from ..frames import encode, float_column, frame_kind, from_arrow, id_column, require_columns, to_arrow
from ..kernels.rebalance import breaches
from .drifts import Drift

__all__ = ["TriggerDecision", "check_triggers", "CALENDARS", "STATUSES"]

CALENDARS = ("daily", "weekly", "monthly", "quarterly", "annually")
#: status codes of :class:`TriggerDecision` (index = code)
STATUSES = ("rebalance", "within bands", "not due", "postponed: minimum interval", "postponed: volatility")
REBALANCE, WITHIN, NOT_DUE, POSTPONED_INTERVAL, POSTPONED_VOL = range(5)
_NS_PER_HOUR = 3_600_000_000_000
_NAT = np.iinfo(np.int64).min


def _positive_or_none(value: Any, arg: str) -> float:
    if value is None:
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
        0 <= value < math.inf
    ):
        raise ValidationError("is out of range", argument=arg, value=value, expected="a number >= 0, or None")
    return float(value)


def _ns(value: Any, arg: str) -> int:
    """A point in time as int64 nanoseconds since the epoch (naive = UTC)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return int(np.datetime64(value, "ns").astype(np.int64))
    if isinstance(value, dt.date):
        return int(np.datetime64(value, "ns").astype(np.int64))
    if isinstance(value, np.datetime64) and not np.isnat(value):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, str):
        try:
            return int(np.datetime64(value, "ns").astype(np.int64))
        except ValueError:
            pass
    raise ValidationError("is not a point in time", argument=arg, value=value,
                          expected="a datetime, date, numpy datetime64 or ISO string")


def _last_rebalanced(value: Any, ids: pa.Array) -> np.ndarray:
    """int64 ns per account (``_NAT`` = never rebalanced)."""
    n = len(ids)
    if value is None:
        return np.full(n, _NAT, np.int64)
    if frame_kind(value) == "other" and not isinstance(value, dict):
        return np.full(n, _ns(value, "last_rebalanced"), np.int64)
    t = to_arrow(value, "last_rebalanced")
    require_columns(t, "last_rebalanced", ["portfolio_id", "last_rebalanced"])
    col = t.column("last_rebalanced").combine_chunks()
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        ns = col.cast(pa.timestamp("ns", col.type.tz if pa.types.is_timestamp(col.type) else None))
        vals = ns.cast(pa.int64()).fill_null(_NAT).to_numpy(zero_copy_only=False)
    else:
        raise ValidationError("has the wrong type", argument="last_rebalanced", column="last_rebalanced",
                              value=str(col.type), expected="timestamps (null = never rebalanced)")
    code, _ = encode(id_column(t, "last_rebalanced", "portfolio_id"), ids)
    out = np.full(n, _NAT, np.int64)
    keep = code >= 0
    out[code[keep]] = vals[keep]
    return out


def _per_account(value: Any, ids: pa.Array, arg: str, column: str) -> np.ndarray:
    """A scalar for every account, or a frame (portfolio_id, column); missing accounts get NaN."""
    n = len(ids)
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:
            raise ValidationError("is out of range", argument=arg, value=value, expected="a finite number >= 0")
        return np.full(n, float(value))
    t = to_arrow(value, arg)
    vals = float_column(t, arg, column, nonnegative=True)
    code, _ = encode(id_column(t, arg, "portfolio_id"), ids)
    out = np.full(n, np.nan)
    keep = code >= 0
    out[code[keep]] = vals[keep]
    return out


def _breaches(drift: Drift, theta: float, rho: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~pmcore.kernels.rebalance.breaches`; from the drift's summary when one band fits every asset.

    Without a relative band every asset has the band ``theta``, so the asset
    furthest outside it is the one with the largest ``|drift|`` (the first on
    ties, as in the kernel), which the drift pass already found: no pass over
    the rows. Accounts with a NaN drift take the kernel.
    """
    if math.isinf(rho) and np.isfinite(drift.max_drift).all():
        a = drift.max_drift
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(a == 0.0, 0.0, a / theta)
        return drift.max_row, np.full(len(a), theta), ratio
    return breaches(drift.offsets, drift.drift, drift.target_weight, theta, rho)


def _period(ns: np.ndarray, calendar: str) -> np.ndarray:
    t = ns.astype("datetime64[ns]")
    if calendar == "daily":
        return t.astype("datetime64[D]").astype(np.int64)
    if calendar == "weekly":  # ISO weeks: 1970-01-01 was a Thursday
        return (t.astype("datetime64[D]").astype(np.int64) + 3) // 7
    if calendar == "monthly":
        return t.astype("datetime64[M]").astype(np.int64)
    if calendar == "quarterly":
        return t.astype("datetime64[M]").astype(np.int64) // 3
    return t.astype("datetime64[Y]").astype(np.int64)


@dataclass(frozen=True, repr=False, eq=False)
class TriggerDecision:
    """Per-account rebalance decisions of :func:`check_triggers`.

    Attributes
    ----------
    portfolio_ids : pyarrow.Array
        Account ids, in the order of the drift.
    rebalance : numpy.ndarray
        bool[n_accounts]: rebalance now.
    status : numpy.ndarray
        int8[n_accounts]: index into :data:`STATUSES`.
    breach, calendar_due : numpy.ndarray
        bool[n_accounts]: some asset is outside its band; the calendar says
        rebalance.
    asset : pyarrow.Array
        The asset (or group) furthest outside its band, relative to the band
        (null for an account without rows).
    drift, band, excess : numpy.ndarray
        float64[n_accounts]: its drift, its band half-width, and
        ``|drift| - band`` (> 0 outside the band).
    hours_since_last : numpy.ndarray
        float64[n_accounts]: hours since the last rebalance (NaN: never, or
        no time given).
    volatility : numpy.ndarray
        float64[n_accounts]: the volatility compared with the limit (NaN if none).
    settings : dict
        The trigger parameters, for the reasons.
    kind : str
    """

    portfolio_ids: pa.Array
    rebalance: np.ndarray
    status: np.ndarray
    breach: np.ndarray
    calendar_due: np.ndarray
    asset: pa.Array
    drift: np.ndarray
    band: np.ndarray
    excess: np.ndarray
    hours_since_last: np.ndarray
    volatility: np.ndarray
    settings: dict = field(default_factory=dict)
    kind: str = "arrow"

    @property
    def n_accounts(self) -> int:
        return len(self.portfolio_ids)

    def reasons(self) -> list[str]:
        """One sentence per account: why it rebalances, or why not."""
        s = self.settings
        assets = self.asset.to_pylist()
        out = []
        for p in range(self.n_accounts):
            a, d, b, x = assets[p], self.drift[p], self.band[p], self.excess[p]
            if a is None:
                where = "no drift to measure (no holdings or targets, or a value <= 0)"
            elif self.breach[p]:
                where = f"{a} drift {d * 100:+.2f} pp is {x * 100:.2f} pp beyond its {b * 100:.2f} pp band"
            elif math.isinf(b):
                where = f"largest drift {a} {d * 100:+.2f} pp (no band set)"
            else:
                where = f"largest drift {a} {d * 100:+.2f} pp is within its {b * 100:.2f} pp band"
            cal = f"{s['calendar']} rebalance due" if self.calendar_due[p] else f"{s['calendar']} rebalance not due"
            code = int(self.status[p])
            if code == REBALANCE:
                parts = ([cal] if s["calendar"] and self.calendar_due[p] else []) + (
                    [where] if self.breach[p] else [])
                text = "; ".join(parts)
            elif code == WITHIN:
                text = where
            elif code == NOT_DUE:
                text = f"{cal}; {where}" if s["calendar"] else where
            elif code == POSTPONED_INTERVAL:
                text = (f"last rebalance {self.hours_since_last[p]:.1f} h ago, minimum interval "
                        f"{s['min_interval_hours']:g} h; {where}")
            else:
                text = f"volatility {self.volatility[p]:.4g} above the limit {s['volatility_limit']:.4g}; {where}"
            out.append(f"{STATUSES[code]}: {text}")
        return out

    def to_arrow(self) -> pa.Table:
        """One row per account: decision, status, reason, the worst asset and its band."""
        return pa.table({
            "portfolio_id": self.portfolio_ids,
            "rebalance": self.rebalance,
            "status": pa.DictionaryArray.from_arrays(pa.array(self.status), pa.array(STATUSES)),
            "reason": pa.array(self.reasons(), pa.string()),
            "asset": self.asset,
            "drift": self.drift,
            "band": self.band,
            "excess": self.excess,
            "hours_since_last": self.hours_since_last,
        })

    def to_polars(self):
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        return from_arrow(self.to_arrow(), "pandas")

    def to_frame(self):
        """As :meth:`to_arrow`, in the kind of frame the weights came in."""
        return from_arrow(self.to_arrow(), self.kind)

    def __repr__(self) -> str:
        counts = np.bincount(self.status.astype(np.int64), minlength=len(STATUSES))
        parts = ", ".join(f"{c} {name}" for c, name in zip(counts, STATUSES) if c)
        return f"TriggerDecision({self.n_accounts} accounts: {parts or 'none'})"


def check_triggers(
    drift: Drift,
    /,
    *,
    threshold: float | None = 0.05,
    relative_band: float | None = None,
    calendar: str | None = None,
    combine: str = "any",
    now: Any = None,
    last_rebalanced: Any = None,
    min_interval: dt.timedelta | None = dt.timedelta(hours=24),
    volatility: Any = None,
    volatility_limit: float | None = None,
) -> TriggerDecision:
    """Decide, for every account of a drift, whether to rebalance now, and say why.

    Parameters
    ----------
    drift : Drift
        From :func:`pmcore.rebalance.drift`.
    threshold : float or None, keyword-only
        Absolute band: rebalance when an asset's ``|drift|`` exceeds it
        (default 0.05, 5 percentage points). None turns it off.
    relative_band : float or None, keyword-only
        Relative band: at most ``relative_band * target`` (0.25 with the
        default threshold is the "5/25" rule). None turns it off.
    calendar : {"daily", "weekly", "monthly", "quarterly", "annually"} or None, keyword-only
        Rebalance when ``now`` is in a later calendar period (ISO week, month,
        ...) than the last rebalance, or the account was never rebalanced.
    combine : {"any", "all"}, keyword-only
        With both a calendar and a band: ``"any"`` rebalances on either;
        ``"all"`` checks the bands on calendar dates only.
    now : datetime-like, keyword-only
        The decision time; needed with ``calendar`` or ``last_rebalanced``.
    last_rebalanced : datetime-like or frame, keyword-only
        One time for all accounts, or a frame with ``portfolio_id`` and a
        timestamp column ``last_rebalanced`` (missing or null: never).
    min_interval : datetime.timedelta or None, keyword-only
        Postpone when the last rebalance is more recent than this
        (default 24 hours).
    volatility : float or frame, keyword-only
        Current volatility: one figure for all accounts (a market gauge) or a
        frame with ``portfolio_id`` and ``volatility``.
    volatility_limit : float or None, keyword-only
        Postpone while ``volatility`` is above it.

    Returns
    -------
    TriggerDecision
        ``.rebalance`` per account, ``.to_frame()`` with the reason.

    Notes
    -----
    The band of asset :math:`i` with target :math:`t_i` is
    :math:`b_i = \\min(\\theta, \\rho\\,|t_i|)` (absolute threshold
    :math:`\\theta`, relative band :math:`\\rho`); the account breaches when
    :math:`\\max_i |d_i| / b_i > 1`, and the reason names that asset and the
    excess :math:`|d_i| - b_i`. A drift trigger fires on a breach; a calendar
    on a new period; the two combine with ``combine``. A firing trigger is
    postponed (in this order) when the last rebalance is less than
    ``min_interval`` ago, or when the volatility is above its limit.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.rebalance import drift, check_triggers
    >>> w = pa.table({"portfolio_id": ["A", "A", "B", "B"],
    ...               "instrument_id": ["SPY", "AGG", "SPY", "AGG"],
    ...               "weight": [0.67, 0.33, 0.62, 0.38]})
    >>> t = pa.table({"instrument_id": ["SPY", "AGG"], "target_weight": [0.6, 0.4]})
    >>> dec = check_triggers(drift(w, t), threshold=0.05)
    >>> dec.rebalance.tolist()
    [True, False]
    >>> print(dec.reasons()[0])
    rebalance: SPY drift +7.00 pp is 2.00 pp beyond its 5.00 pp band
    """
    if not isinstance(drift, Drift):
        raise ValidationError("is not a Drift", argument="drift", value=type(drift).__name__,
                              expected="the result of pmcore.rebalance.drift()")
    theta = _positive_or_none(threshold, "threshold")
    rho = _positive_or_none(relative_band, "relative_band")
    if calendar is not None and calendar not in CALENDARS:
        raise ValidationError("is not a calendar", argument="calendar", value=calendar,
                              expected=f"one of {list(CALENDARS)} or None")
    if combine not in ("any", "all"):
        raise ValidationError("is not a combination", argument="combine", value=combine,
                              expected="'any' or 'all'")
    if min_interval is not None and not isinstance(min_interval, dt.timedelta):
        raise ValidationError("is not a duration", argument="min_interval", value=min_interval,
                              expected="a datetime.timedelta or None")
    vol_limit = _positive_or_none(volatility_limit, "volatility_limit")
    ids = drift.portfolio_ids
    n = len(ids)
    last = _last_rebalanced(last_rebalanced, ids)
    if now is None and (calendar is not None or last_rebalanced is not None):
        raise ValidationError("is needed with a calendar or last_rebalanced", argument="now",
                              expected="the decision time")
    now_ns = _ns(now, "now") if now is not None else None
    known = last != _NAT
    if now_ns is not None and (known & (last > now_ns)).any():
        p = int(np.flatnonzero(known & (last > now_ns))[0])
        raise ValidationError(f"is after 'now' for account {ids[p].as_py()!r}", argument="last_rebalanced",
                              value=str(last[p].astype("datetime64[ns]")), expected="a time <= now")
    vol = _per_account(volatility, ids, "volatility", "volatility") if volatility is not None else np.full(n, np.nan)

    worst, band, ratio = _breaches(drift, theta, rho)
    has = worst >= 0
    wsafe = np.maximum(worst, 0)
    if worst is drift.max_row:  # the worst asset is the one of the largest |drift|: its drift is known
        d = drift.drift_at_max.copy()
    else:
        d = np.where(has, drift.drift_at(wsafe, np.arange(n)) if len(drift.code) else 0.0, np.nan)
    breach = ratio > 1.0
    if calendar is not None:
        due = ~known | (_period(np.full(n, now_ns), calendar) > _period(np.where(known, last, 0), calendar))
    else:
        due = np.zeros(n, bool)
    banded = math.isfinite(theta) or math.isfinite(rho)
    if calendar is None:
        fire = breach
    elif not banded:
        fire = due
    else:
        fire = (due | breach) if combine == "any" else (due & breach)
    hours = np.where(known, (now_ns - last) / _NS_PER_HOUR, np.nan) if now_ns is not None else np.full(n, np.nan)
    too_soon = known & (hours < (min_interval.total_seconds() / 3600 if min_interval is not None else -1.0))
    too_volatile = vol > vol_limit
    status = np.full(n, WITHIN, np.int8)
    if calendar is not None:
        status[~due] = NOT_DUE
    status[fire] = REBALANCE
    status[fire & too_soon] = POSTPONED_INTERVAL
    status[fire & ~too_soon & too_volatile] = POSTPONED_VOL
    codes = pa.array(np.where(has, drift.code[wsafe] if len(drift.code) else 0, 0), mask=~has)
    asset = drift.keys.take(codes) if len(drift.keys) else pa.nulls(n, pa.string())
    settings = {"calendar": calendar,
                "min_interval_hours": min_interval.total_seconds() / 3600 if min_interval else 0.0,
                "volatility_limit": vol_limit}
    return TriggerDecision(
        portfolio_ids=ids, rebalance=status == REBALANCE, status=status, breach=breach, calendar_due=due,
        asset=pc.cast(asset, pa.string()) if not pa.types.is_integer(asset.type) else asset,
        drift=d, band=np.where(has, band, np.nan), excess=np.abs(d) - band, hours_since_last=hours,
        volatility=vol, settings=settings, kind=drift.kind)
