"""Cash analytics: utilization, cash drag, yield on cash, and the money-market sweep plan."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import frame_kind, from_arrow, require_columns, to_arrow
from .amounts import DEFAULT_SCALE, check_scale, units_column, units_to_arrow

__all__ = ["CashDrag", "cash_drag", "cash_utilization", "sweep_plan", "yield_on_cash"]


def _vector(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim > 1:
        raise ValidationError("is not one-dimensional", argument=name, value=a.shape)
    bad = ~np.isfinite(a)
    if bad.any():
        r = int(np.flatnonzero(np.atleast_1d(bad))[0])
        raise ValidationError("holds a non-finite value", argument=name, row=r,
                              value=float(np.atleast_1d(a)[r]), expected="finite numbers")
    return a


def cash_utilization(cash: Any, equity: Any, /) -> Any:
    """Share of equity that is invested: ``1 - cash / equity``.

    Parameters
    ----------
    cash, equity : float or array (n_portfolios,)
        Cash and equity (same currency).

    Returns
    -------
    float or ndarray
        NaN where equity is 0.

    Notes
    -----
    .. math:: u = 1 - C / E

    Examples
    --------
    >>> cash_utilization(10.0, 100.0)
    0.9
    """
    c, e = _vector(cash, "cash"), _vector(equity, "equity")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(e != 0, 1.0 - c / np.where(e != 0, e, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class CashDrag:
    """Return lost by holding cash instead of being fully invested.

    Attributes
    ----------
    portfolio_returns : ndarray (n_obs,)
        ``(1 - w) r + w r_cash``.
    drag : ndarray (n_obs,)
        Per-period drag ``w (r - r_cash)``.
    cumulative_drag : float
        Growth of the fully invested sleeve minus the portfolio's growth.
    annualized_drag : float
        Annualized (geometric) return of the invested sleeve minus the portfolio's.

    Notes
    -----
    Built by :func:`cash_drag`.

    Examples
    --------
    >>> cash_drag([0.01, 0.02], 0.1, periods_per_year=2)
    CashDrag(n_obs=2, cumulative_drag=0.3038%, annualized_drag=0.3038%)
    """

    portfolio_returns: np.ndarray
    drag: np.ndarray
    cumulative_drag: float
    annualized_drag: float

    def to_arrow(self) -> pa.Table:
        """Per period: ``portfolio_return`` and ``drag``.

        Notes
        -----
        One row per input period, float64.

        Examples
        --------
        >>> cash_drag([0.01, 0.02], 0.1).to_arrow().column_names
        ['portfolio_return', 'drag']
        """
        return pa.table({"portfolio_return": self.portfolio_returns, "drag": self.drag})

    def to_polars(self):
        """:meth:`to_arrow` as a polars DataFrame.

        Notes
        -----
        Same columns as :meth:`to_arrow`.

        Examples
        --------
        >>> cash_drag([0.01, 0.02], 0.1).to_polars().height
        2
        """
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        """:meth:`to_arrow` as a pandas DataFrame.

        Notes
        -----
        Same columns as :meth:`to_arrow`.

        Examples
        --------
        >>> len(cash_drag([0.01, 0.02], 0.1).to_pandas())
        2
        """
        return from_arrow(self.to_arrow(), "pandas")

    def __repr__(self) -> str:
        return (f"CashDrag(n_obs={len(self.drag)}, cumulative_drag={self.cumulative_drag:.4%}, "
                f"annualized_drag={self.annualized_drag:.4%})")


def cash_drag(invested_returns: Any, cash_weight: Any, /, *, cash_return: Any = 0.0,
              periods_per_year: int = 252) -> CashDrag:
    """Cash drag of a portfolio that holds a share of cash.

    Parameters
    ----------
    invested_returns : array (n_obs,)
        Periodic simple returns of the invested part (pmcore.metrics style).
    cash_weight : float or array (n_obs,)
        Share of the portfolio in cash at the start of each period.
    cash_return : float or array (n_obs,), keyword-only
        Periodic return on cash (default 0).
    periods_per_year : int, keyword-only
        Annualization (default 252).

    Returns
    -------
    CashDrag

    Notes
    -----
    .. math::

        r^p_t = (1 - w_t) r_t + w_t r^c_t, \\qquad d_t = w_t (r_t - r^c_t)

    annualized drag :math:`(\\prod(1+r_t))^{P/n} - (\\prod(1+r^p_t))^{P/n}`.
    Empty input gives NaN drags.

    Examples
    --------
    >>> d = cash_drag([0.01, 0.02], 0.1)
    >>> d.drag.round(6).tolist(), round(d.cumulative_drag, 6)
    ([0.001, 0.002], 0.003038)
    """
    r = _vector(invested_returns, "invested_returns")
    n = r.shape[0]
    w = np.broadcast_to(_vector(cash_weight, "cash_weight"), (n,))
    rc = np.broadcast_to(_vector(cash_return, "cash_return"), (n,))
    if ((w < 0) | (w > 1)).any():
        raise ValidationError("is out of range", argument="cash_weight", expected="fractions in [0, 1]")
    rp = (1.0 - w) * r + w * rc
    drag = w * (r - rc)
    if n == 0:
        return CashDrag(rp, drag, float("nan"), float("nan"))
    gi, gp = np.prod(1.0 + r), np.prod(1.0 + rp)
    ann = gi ** (periods_per_year / n) - gp ** (periods_per_year / n)
    return CashDrag(rp, drag, float(gi - gp), float(ann))


def yield_on_cash(income: Any, balances: Any, /, *, periods_per_year: int = 365) -> float:
    """Annualized yield earned on cash: interest income over the average balance.

    Parameters
    ----------
    income : array (n_obs,)
        Interest earned per period.
    balances : array (n_obs,)
        Cash balance over each period.
    periods_per_year : int, keyword-only
        Periods per year (default 365, daily accrual).

    Returns
    -------
    float
        NaN if the average balance is 0 or there is no period.

    Notes
    -----
    .. math:: y = \\frac{\\sum_t i_t}{\\bar B} \\cdot \\frac{P}{n}

    Examples
    --------
    >>> round(yield_on_cash([0.1] * 365, [1000.0] * 365), 6)
    0.0365
    """
    i, b = _vector(income, "income"), _vector(balances, "balances")
    if i.shape != b.shape:
        raise ValidationError("has a different length from income", argument="balances",
                              value=b.shape, expected=str(i.shape))
    if i.size == 0 or b.mean() == 0:
        return float("nan")
    return float(i.sum() / b.mean() * periods_per_year / i.size)


def sweep_plan(balances: Any, /, *, buffer_ratio: float = 0.10, strategy: str = "default",
               sleeve: str = "money_market", minimum: Any = 0, scale: int = DEFAULT_SCALE) -> Any:
    """Transfers that keep a cash buffer in a strategy and sweep the rest to a money-market sleeve.

    Parameters
    ----------
    balances : frame
        A :meth:`Ledger.balances` frame: ``portfolio_id``, ``strategy``,
        ``currency``, ``settled``, ``pending_out``, ``locked``.
    buffer_ratio : float, keyword-only
        Buffer kept in ``strategy``, as a fraction of its cash plus the sleeve's
        (default 0.10 = 10 %).
    strategy, sleeve : str, keyword-only
        The operating strategy and the money-market sleeve.
    minimum : Decimal or str, keyword-only
        Smallest transfer worth making.

    Returns
    -------
    frame
        The caller's kind: ``portfolio_id``, ``currency``, ``from_strategy``,
        ``to_strategy``, ``amount`` (exact); feed it to
        :func:`pmcore.cash.apply_transfers`.

    Notes
    -----
    Free cash :math:`F = S - P - L` (settled minus pending out and locked) of
    the strategy, sleeve cash :math:`M`, buffer
    :math:`B = \\lceil b (S + M) \\rceil`. If :math:`F > B` sweep :math:`F - B`
    to the sleeve; if :math:`F < B` bring back :math:`\\min(B - F, M)`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> b = pa.table({"portfolio_id": ["P", "P"], "strategy": ["default", "money_market"],
    ...               "currency": ["USD", "USD"], "settled": ["900", "100"],
    ...               "pending_out": ["0", "0"], "locked": ["0", "0"]})
    >>> sweep_plan(b).to_pylist()[0]["amount"]
    Decimal('800.00000000')
    """
    scale = check_scale(scale)
    ratio = Fraction(str(buffer_ratio))
    if not 0 <= ratio <= 1:
        raise ValidationError("is out of range", argument="buffer_ratio", value=buffer_ratio,
                              expected="a fraction in [0, 1]")
    from .amounts import to_units
    low = to_units(minimum, scale, argument="minimum")
    kind = frame_kind(balances)
    t = to_arrow(balances, "balances")
    require_columns(t, "balances", ["portfolio_id", "strategy", "currency", "settled"])
    s = units_column(t, "balances", "settled", scale)
    po = units_column(t, "balances", "pending_out", scale) if "pending_out" in t.column_names else 0 * s
    lk = units_column(t, "balances", "locked", scale) if "locked" in t.column_names else 0 * s
    acc: dict = {}
    for p, st, c, a, b, l in zip(t.column("portfolio_id").to_pylist(), t.column("strategy").to_pylist(),
                                 t.column("currency").to_pylist(), s.tolist(), po.tolist(), lk.tolist()):
        slot = acc.setdefault((p, c), [0, 0, 0])
        if st == strategy:
            slot[0] += a
            slot[1] += a - b - l
        elif st == sleeve:
            slot[2] += a - b - l
    rows = []
    for (p, c), (settled, free, mm) in sorted(acc.items(), key=lambda kv: tuple(map(str, kv[0]))):
        q = ratio * (settled + max(mm, 0))
        buffer = -((-q.numerator) // q.denominator)
        if free > buffer and free - buffer >= max(low, 1):
            rows.append((p, c, strategy, sleeve, free - buffer))
        elif free < buffer and min(buffer - free, mm) >= max(low, 1):
            rows.append((p, c, sleeve, strategy, min(buffer - free, mm)))
    out = pa.table({"portfolio_id": pa.array([r[0] for r in rows], t.column("portfolio_id").type),
                    "currency": pa.array([r[1] for r in rows], pa.string()),
                    "from_strategy": pa.array([r[2] for r in rows], pa.string()),
                    "to_strategy": pa.array([r[3] for r in rows], pa.string()),
                    "amount": units_to_arrow(np.array([r[4] for r in rows], np.int64), scale)})
    return from_arrow(out, kind if kind != "other" else "arrow")
