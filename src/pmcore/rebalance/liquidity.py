"""Liquidity-aware execution: cap daily participation against average daily volume.

Trades too large for one day are split across days so that, per instrument,
the units traded on a day never exceed ``max_participation`` x ADV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import encode, first_duplicate, float_column, frame_kind, id_column, require_columns
from ._tables import TablesMixin, as_kind, read

__all__ = ["LiquiditySchedule", "liquidity_schedule"]

MAX_ROWS = 20_000_000


@dataclass(frozen=True, repr=False)
class LiquiditySchedule(TablesMixin):
    """Result of :func:`liquidity_schedule`.

    Attributes
    ----------
    schedule : frame
        One row per trade and day: ``trade`` (input row), ``portfolio_id``
        (when the trades have it), ``instrument_id``, ``day`` (0 = first day),
        ``quantity`` (signed, this trade's part that day) and
        ``participation`` (all trades of the instrument that day / ADV).
    trades : frame
        The input trades with ``adv``, ``max_participation``,
        ``days_needed`` (null when the ADV is 0), ``days_scheduled``,
        ``scheduled_quantity`` and ``unscheduled_quantity`` (beyond
        ``max_days``, or everything when the ADV is 0).
    max_participation : float
    max_days : int or None
    n_days : int
        Days the whole schedule spans.
    """

    schedule: Any
    trades: Any
    max_participation: float
    max_days: int | None
    n_days: int
    _parts = ("schedule", "trades")


def liquidity_schedule(trades: Any, adv: Any, /, *, max_participation: float = 0.10,
                       max_days: int | None = None) -> LiquiditySchedule:
    """Split trades across days so no day trades more than a share of average daily volume.

    Parameters
    ----------
    trades : frame, n_trades rows
        ``instrument_id``, ``quantity`` (signed units; buys > 0, sells < 0);
        optionally ``portfolio_id`` and any other columns (kept).
    adv : frame
        ``instrument_id``, ``adv`` (average daily volume in units, >= 0);
        optionally ``max_participation`` per instrument.
    max_participation : float, keyword-only
        Largest fraction of ADV traded in one instrument on one day, over
        all trades in it (default 0.10, 10 %), in (0, 1].
    max_days : int, optional, keyword-only
        Schedule at most this many days; the rest is reported unscheduled.

    Returns
    -------
    LiquiditySchedule
        Frames in the kind of ``trades``.

    Raises
    ------
    ValidationError
        A trade in an instrument without ADV (naming it), a negative or
        repeated ADV, participation outside (0, 1], a schedule of more than
        20 million rows (pass ``max_days``).

    Notes
    -----
    For instrument :math:`i` with trades :math:`q_t`, total
    :math:`T_i = \\sum_t |q_t|`, daily capacity :math:`C_i = \\rho_i\\,ADV_i`:

    .. math::

        D_i = \\lceil T_i / C_i \\rceil, \\qquad
        q_{t,k} = q_t\\,\\frac{C_i}{T_i}\\ (k < D_i - 1), \\qquad
        q_{t,D_i-1} = q_t - (D_i - 1)\\,q_t\\,\\frac{C_i}{T_i}

    Every trade in the instrument trades the same fraction each day, so all
    finish on day :math:`D_i - 1`; the instrument trades exactly its
    capacity on each full day (participation :math:`\\rho_i`) and the rest on
    the last. Buys and sells in the same instrument (other accounts) both
    count against the volume: net them first with
    :func:`~pmcore.rebalance.netting.net_sleeves` where they may cross.
    Quantities are not rounded to lot sizes.

    Examples
    --------
    >>> trades = {"portfolio_id": ["A", "B", "A"], "instrument_id": ["X", "X", "Y"],
    ...           "quantity": [-30_000.0, 10_000.0, 500.0]}
    >>> adv = {"instrument_id": ["X", "Y"], "adv": [150_000.0, 1e6]}
    >>> s = liquidity_schedule(trades, adv)   # X: 40,000 against 15,000 a day -> 3 days
    >>> s.trades.column("days_needed").to_pylist()
    [3, 3, 1]
    >>> [(r["trade"], r["day"], r["quantity"]) for r in s.schedule.to_pylist()][:3]
    [(0, 0, -11250.0), (0, 1, -11250.0), (0, 2, -7500.0)]
    """
    rho = _fraction(max_participation, "max_participation")
    if max_days is not None and (isinstance(max_days, bool) or not isinstance(max_days, (int, np.integer))
                                 or max_days < 1):
        raise ValidationError("is not a number of days", argument="max_days", value=max_days,
                              expected="an integer >= 1")
    T = read(trades, "trades")
    A = read(adv, "adv")
    kind = frame_kind(trades)
    require_columns(T, "trades", ("instrument_id", "quantity"))
    require_columns(A, "adv", ("instrument_id", "adv"))
    a_ids = id_column(A, "adv", "instrument_id")
    a_code, a_dict = encode(a_ids)
    dup = first_duplicate(a_code)
    if dup is not None:
        raise ValidationError("repeats an instrument", argument="adv", column="instrument_id", row=dup[1],
                              value=a_ids[dup[1]].as_py(), expected="one row per instrument")
    volume = float_column(A, "adv", "adv", nonnegative=True)
    rate = float_column(A, "adv", "max_participation", default=rho, positive=True)
    if (rate > 1).any():
        r = int(np.flatnonzero(rate > 1)[0])
        raise ValidationError("is above 1", argument="adv", column="max_participation", row=r,
                              value=float(rate[r]), expected="a fraction in (0, 1]")
    t_ids = id_column(T, "trades", "instrument_id")
    qty = float_column(T, "trades", "quantity")
    code, _ = encode(t_ids, a_dict)
    code = code.astype(np.int64)
    if len(code) and (code < 0).any():
        r = int(np.flatnonzero(code < 0)[0])
        raise ValidationError(f"trades instrument {t_ids[r].as_py()!r}, which has no ADV", argument="trades",
                              column="instrument_id", row=r, expected="an instrument listed in adv")
    total = np.bincount(code, weights=np.abs(qty), minlength=len(a_dict))
    cap = rate * volume
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = total / cap
        frac = np.where(total > 0, np.minimum(cap / total, 1.0), 1.0)
    need_i = np.where(total == 0, 0.0, np.where(cap > 0, np.ceil(np.maximum(ratio - 1e-9, 0.0)), np.nan))
    need = need_i[code]
    never = np.isnan(need)
    days = np.where(never, 0.0, need)
    if max_days is not None:
        days = np.minimum(days, max_days)
    days = days.astype(np.int64)
    if days.sum() > MAX_ROWS:
        r = int(np.argmax(days))
        raise ValidationError(f"needs {int(days[r]):,} days for trade row {r}, too many to list",
                              argument="adv", column="adv", row=int(code[r]), value=float(volume[code[r]]),
                              hint="pass max_days, or check the ADV units (units per day)")
    f = frac[code]
    row = np.repeat(np.arange(len(qty)), days)
    start = np.cumsum(days) - days
    day = np.arange(len(row)) - np.repeat(start, days)
    q_row = qty[row]
    full = q_row * f[row]
    last = day == need[row] - 1
    sched_q = np.where(last, q_row - (need[row] - 1) * full, full)
    inst = code[row]
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(last, (total[inst] - (need[row] - 1) * cap[inst]) / volume[inst], rate[inst])
    scheduled = np.bincount(row, weights=sched_q, minlength=len(qty))
    done = ~never & (days == need)
    scheduled = np.where(done, qty, scheduled)  # exact when the schedule is complete
    cols: dict[str, Any] = {"trade": row.astype(np.int64)}
    if "portfolio_id" in T.column_names:
        cols["portfolio_id"] = T.column("portfolio_id").take(pa.array(row))
    cols.update({"instrument_id": t_ids.take(pa.array(row)), "day": day.astype(np.int64),
                 "quantity": sched_q, "participation": part})
    schedule = pa.table(cols)
    out = T
    for name, values in (("adv", pa.array(volume[code])), ("max_participation", pa.array(rate[code])),
                         ("days_needed", pa.array(np.where(never, 0, need).astype(np.int64), mask=never)),
                         ("days_scheduled", pa.array(days)), ("scheduled_quantity", pa.array(scheduled)),
                         ("unscheduled_quantity", pa.array(qty - scheduled))):
        if name in out.column_names:
            out = out.drop_columns([name])
        out = out.append_column(name, values)
    return LiquiditySchedule(schedule=as_kind(schedule, kind), trades=as_kind(out, kind), max_participation=rho,
                             max_days=None if max_days is None else int(max_days),
                             n_days=int(days.max()) if len(days) else 0)


def _fraction(value: float, arg: str) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0 or v > 1:
        raise ValidationError("is not a participation rate", argument=arg, value=value,
                              expected="a fraction in (0, 1]")
    return v
