"""Liquidity: buffer coverage and stress tests (withdrawal shocks, market drawdowns)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import float_column, frame_kind, from_arrow, id_column, to_arrow
from ..kernels.cash import first_short_day
from .calendar import BusinessCalendar, to_day

__all__ = ["LiquidityStress", "liquidity_coverage", "stress_test"]


def liquidity_coverage(liquid_assets: Any, outflows: Any, /) -> Any:
    """Coverage ratio: liquid assets over expected (or stressed) outflows.

    Parameters
    ----------
    liquid_assets, outflows : float or array (n_portfolios,)
        Outflows as positive numbers.

    Returns
    -------
    float or ndarray
        ``liquid_assets / outflows``; ``inf`` where there is no outflow, or
        where the ratio is beyond the float range (outflows of a few 1e-300).

    Notes
    -----
    A ratio below 1 means the buffer does not cover the outflows.

    Examples
    --------
    >>> liquidity_coverage(150.0, 100.0)
    1.5
    """
    a = np.asarray(liquid_assets, np.float64)
    o = np.asarray(outflows, np.float64)
    if not (np.isfinite(a).all() and np.isfinite(o).all()) or (o < 0).any():
        raise ValidationError("holds an invalid value", argument="outflows",
                              expected="finite liquid assets and outflows >= 0")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.where(o > 0, a / np.where(o > 0, o, 1.0), np.inf)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class LiquidityStress:
    """Result of :func:`stress_test`: one row per portfolio and scenario.

    Attributes
    ----------
    table : frame
        ``portfolio_id``, ``withdrawal_shock``, ``drawdown``, ``outflow``
        (total stressed outflow over the horizon), ``coverage_ratio``,
        ``min_cash``, ``first_short_day`` (business-day index, null if cash
        never runs short) and ``first_short_date`` (if a start date was given).

    Notes
    -----
    Built by :func:`stress_test`; the table has the kind of its input.

    Examples
    --------
    >>> import pyarrow as pa
    >>> stress_test(pa.table({"portfolio_id": ["A"], "cash": [5.0], "equity": [100.0]}),
    ...             withdrawal_shocks=[0.1], drawdowns=[0.0], horizon=2)
    LiquidityStress(1 portfolio-scenarios, 1 run short; worst coverage 0.50)
    """

    table: Any

    @property
    def worst(self) -> dict:
        """The scenario row with the lowest coverage ratio, as a dict.

        Notes
        -----
        Ties go to the first row (portfolio order, then shocks, then drawdowns).

        Examples
        --------
        >>> import pyarrow as pa
        >>> s = stress_test(pa.table({"portfolio_id": ["A"], "cash": [5.0], "equity": [100.0]}),
        ...                 withdrawal_shocks=[0.01, 0.1], drawdowns=[0.0], horizon=2)
        >>> s.worst["withdrawal_shock"]
        0.1
        """
        t = self.to_arrow()
        i = int(np.argmin(t.column("coverage_ratio").to_numpy()))
        return t.slice(i, 1).to_pylist()[0]

    def to_arrow(self) -> pa.Table:
        """The table as pyarrow.

        Notes
        -----
        The same rows and columns in every kind; exact decimal columns stay exact.

        Examples
        --------
        >>> import pyarrow as pa
        >>> b = stress_test(pa.table({"portfolio_id": ["A"], "cash": [5.0], "equity": [100.0]}),
        ...                 withdrawal_shocks=[0.1], drawdowns=[0.0], horizon=2)
        >>> b.to_arrow().num_rows
        1
        """
        return to_arrow(self.table, "table")

    def to_polars(self):
        """The table as polars.

        Notes
        -----
        The same rows and columns in every kind; exact decimal columns stay exact.

        Examples
        --------
        >>> import pyarrow as pa
        >>> b = stress_test(pa.table({"portfolio_id": ["A"], "cash": [5.0], "equity": [100.0]}),
        ...                 withdrawal_shocks=[0.1], drawdowns=[0.0], horizon=2)
        >>> b.to_polars().height
        1
        """
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        """The table as pandas.

        Notes
        -----
        The same rows and columns in every kind; exact decimal columns stay exact.

        Examples
        --------
        >>> import pyarrow as pa
        >>> b = stress_test(pa.table({"portfolio_id": ["A"], "cash": [5.0], "equity": [100.0]}),
        ...                 withdrawal_shocks=[0.1], drawdowns=[0.0], horizon=2)
        >>> len(b.to_pandas())
        1
        """
        return from_arrow(self.to_arrow(), "pandas")

    def __repr__(self) -> str:
        t = self.to_arrow()
        short = int(t.column("first_short_day").is_valid().to_numpy(zero_copy_only=False).sum())
        return (f"LiquidityStress({t.num_rows} portfolio-scenarios, {short} run short; worst coverage "
                f"{self.worst['coverage_ratio']:.2f})")


def stress_test(portfolios: Any, /, *, withdrawal_shocks: Any = (0.05, 0.10, 0.25),
                drawdowns: Any = (0.0, 0.10, 0.20, 0.30), daily_flows: Any = 0.0, horizon: int = 20,
                shock_days: int = 1, margin_call_ratio: float = 0.0, start: Any = None,
                calendar: BusinessCalendar | None = None) -> LiquidityStress:
    """Liquidity stress test: does the cash cover withdrawal shocks after a market drawdown?

    Parameters
    ----------
    portfolios : frame
        ``portfolio_id``, ``cash`` (liquid cash), ``equity``; optional
        ``exposure`` (gross exposure, for margin calls). Floats (analytics,
        not ledger amounts).
    withdrawal_shocks : sequence of float, keyword-only
        Share of (post-drawdown) equity withdrawn by clients (``0.10`` = 10 %).
    drawdowns : sequence of float, keyword-only
        Market drawdowns applied to equity (and exposure).
    daily_flows : float or array (horizon,), keyword-only
        Baseline net cash flow per business day (negative = outflow), e.g. a
        forecast from :func:`forecast_cash_flows`.
    horizon : int, keyword-only
        Business days simulated.
    shock_days : int, keyword-only
        The withdrawal shock is spread evenly over the first ``shock_days`` days.
    margin_call_ratio : float, keyword-only
        Cash needed per unit of exposure lost in the drawdown (0 for cash accounts).
    start : date, keyword-only
        First day of the horizon, to report ``first_short_date``.
    calendar : BusinessCalendar, keyword-only
        Business days for the dates (default weekends only).

    Returns
    -------
    LiquidityStress

    Notes
    -----
    For shock :math:`w`, drawdown :math:`d`, cash :math:`C`, equity
    :math:`E`, exposure :math:`X` and baseline flows :math:`f_t`, day
    :math:`t` has flow :math:`f_t - \\frac{w E (1-d)}{k} [t<k] - m d X [t=0]`;
    running cash :math:`C + \\sum_{s\\le t}` flow; ``first_short_day`` is the
    first :math:`t` with running cash below 0 (kernel
    :func:`pmcore.kernels.cash.first_short_day`). The coverage ratio is
    :math:`C` over the total outflow (shock, margin calls and negative
    baseline flows).

    Examples
    --------
    >>> import pyarrow as pa
    >>> p = pa.table({"portfolio_id": ["A"], "cash": [50.0], "equity": [1000.0]})
    >>> s = stress_test(p, withdrawal_shocks=[0.1], drawdowns=[0.0], daily_flows=-1.0, horizon=10)
    >>> row = s.to_arrow().to_pylist()[0]
    >>> row["coverage_ratio"], row["first_short_day"]
    (0.45454545454545453, 0)
    """
    kind = frame_kind(portfolios)
    t = to_arrow(portfolios, "portfolios")
    ids = id_column(t, "portfolios", "portfolio_id")
    cash = float_column(t, "portfolios", "cash")
    equity = float_column(t, "portfolios", "equity", nonnegative=True)
    exposure = float_column(t, "portfolios", "exposure", default=0.0, nonnegative=True)
    shocks = np.asarray(withdrawal_shocks, np.float64).ravel()
    dds = np.asarray(drawdowns, np.float64).ravel()
    for name, v in (("withdrawal_shocks", shocks), ("drawdowns", dds)):
        if not np.isfinite(v).all() or ((v < 0) | (v > 1)).any():
            raise ValidationError("holds an invalid value", argument=name, value=v.tolist(),
                                  expected="fractions in [0, 1]")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValidationError("is not a day count", argument="horizon", value=horizon, expected="an integer >= 1")
    if isinstance(shock_days, bool) or not isinstance(shock_days, (int, np.integer)) or not 1 <= shock_days <= horizon:
        raise ValidationError("is out of range", argument="shock_days", value=shock_days,
                              expected=f"an integer in [1, {horizon}]")
    base = np.broadcast_to(np.asarray(daily_flows, np.float64), (horizon,)).copy()
    if not np.isfinite(base).all():
        raise ValidationError("holds a non-finite value", argument="daily_flows")
    n_p = len(cash)
    S, Dd = np.meshgrid(shocks, dds, indexing="ij")
    S, Dd = S.ravel(), Dd.ravel()
    n_s = len(S)
    p_idx = np.repeat(np.arange(n_p), n_s)
    s_all, d_all = np.tile(S, n_p), np.tile(Dd, n_p)
    shock = s_all * equity[p_idx] * (1.0 - d_all)
    margin = margin_call_ratio * d_all * exposure[p_idx]
    flows = np.repeat(base[:, None], len(p_idx), axis=1)
    flows[:shock_days] -= shock / shock_days
    flows[0] -= margin
    start_cash = cash[p_idx]
    first = np.zeros(len(p_idx), np.int64)
    first_short_day(start_cash, flows, first)
    running = start_cash + np.cumsum(flows, axis=0) if len(p_idx) else np.zeros((horizon, 0))
    outflow = shock + margin + np.clip(-base, 0, None).sum()
    coverage = liquidity_coverage(start_cash, outflow)
    cols = {"portfolio_id": ids.take(pa.array(p_idx)), "withdrawal_shock": s_all, "drawdown": d_all,
            "outflow": outflow, "coverage_ratio": np.atleast_1d(coverage),
            "min_cash": np.minimum(running.min(axis=0), start_cash) if len(p_idx) else np.zeros(0),
            "first_short_day": pa.array(first, mask=first < 0)}
    if start is not None:
        cal = calendar or BusinessCalendar()
        days = cal.value_days(np.array([to_day(start, "start")]), np.arange(horizon))
        dates = days[np.clip(first, 0, None)].astype("datetime64[D]")
        cols["first_short_date"] = pa.array(dates, pa.date32(), mask=first < 0)
    return LiquidityStress(from_arrow(pa.table(cols), kind if kind != "other" else "arrow"))
