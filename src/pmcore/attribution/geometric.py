r"""Geometric Brinson-Fachler attribution: effects that compound to the geometric excess return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import frame_kind, require_columns, to_arrow
from ..kernels.attribution import N_FIELDS, brinson_cells
from ._layout import dense_frame, layout
from ._result import FramesMixin, as_kind, float_values
from .brinson_effects import RETURN_COLUMNS, WEIGHT_COLUMNS, _check_totals, _level_codes

__all__ = ["geometric_brinson", "GeometricResult"]


@dataclass(frozen=True, repr=False)
class GeometricResult(FramesMixin):
    """Result of :func:`geometric_brinson`; frames are of the caller's kind.

    Attributes
    ----------
    effects : frame
        One row per portfolio x period x group: the key columns, group
        weights and returns, ``allocation``, ``selection`` and ``total``
        (their sum).
    totals : frame
        One row per portfolio x period: ``portfolio_return``,
        ``benchmark_return``, ``semi_notional_return``, ``excess_return``
        (geometric) and ``allocation``, ``selection`` summed over groups.
    linked : frame
        One row per portfolio x group: effects over all the portfolio's
        periods (they sum to the compounded ``allocation`` and ``selection``
        of ``linked_totals``).
    linked_totals : frame
        One row per portfolio: ``n_periods`` and the compounded returns,
        excess return, allocation and selection.
    residual : float
        Largest :math:`|(1 + A)(1 + S) - (1 + R)/(1 + B)|` over every
        portfolio and period and over the linked ranges.
    """

    effects: Any
    totals: Any
    linked: Any
    linked_totals: Any
    residual: float

    _parts = ("effects", "totals", "linked", "linked_totals")


def _log_ratio(x: np.ndarray) -> np.ndarray:
    """:math:`\\ln(1 + x) / x`, 1 at :math:`x = 0`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0.0, 1.0, np.log1p(x) / np.where(x == 0.0, 1.0, x))


def geometric_brinson(
    data: Any,
    /,
    *,
    by: str = "group",
    portfolio: str = "portfolio_id",
    period: str = "period",
    weight_tolerance: float = 1e-9,
) -> GeometricResult:
    r"""Geometric Brinson-Fachler attribution of the geometric excess return.

    Parameters
    ----------
    data : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        Long frame as for :func:`pmcore.attribution.brinson`: one row per
        portfolio x period x holding with ``portfolio``, ``period``, ``by``,
        ``portfolio_weight``, ``portfolio_return``, ``benchmark_weight``,
        ``benchmark_return`` (fractions; each side's weights sum to 1 in
        every portfolio and period).
    by : str, keyword-only
        Grouping column (one level).
    portfolio, period : str, keyword-only
        Names of the portfolio id and period columns.
    weight_tolerance : float, keyword-only
        As for :func:`pmcore.attribution.brinson`.

    Returns
    -------
    GeometricResult
        ``effects`` (portfolio x period x group), ``totals`` (portfolio x
        period), ``linked`` (portfolio x group) and ``linked_totals``
        (portfolio).

    Raises
    ------
    ValidationError
        As :func:`pmcore.attribution.brinson`, naming the portfolio, period
        and group.

    Notes
    -----
    Geometric excess return :math:`G = (1 + R)/(1 + B) - 1` instead of the
    arithmetic :math:`R - B`. With group weights :math:`w_i, b_i`, returns
    :math:`r_i, s_i` and the semi-notional return
    :math:`b_S = \sum_i w_i s_i` (the portfolio's weights on the benchmark's
    group returns):

    .. math::

        A_i = (w_i - b_i)\left(\frac{1 + s_i}{1 + B} - 1\right),\qquad
        S_i = w_i \frac{r_i - s_i}{1 + b_S},

    so that :math:`\sum_i A_i = (1 + b_S)/(1 + B) - 1`,
    :math:`\sum_i S_i = (1 + R)/(1 + b_S) - 1` and
    :math:`(1 + \sum_i A_i)(1 + \sum_i S_i) = 1 + G`: there is no
    interaction term. Over periods the category totals compound,
    :math:`1 + A = \prod_t (1 + A_t)` (likewise :math:`S`), hence
    :math:`(1 + A)(1 + S) = (1 + R)/(1 + B)` over the range. A group's
    multi-period effect scales each period's effect by
    :math:`\kappa(A_t)/\kappa(A)` with :math:`\kappa(x) = \ln(1 + x)/x`
    (:math:`\kappa(0) = 1`), so that the groups' linked effects sum exactly
    to :math:`A` (and :math:`S`), as within one period; with one period
    this changes nothing. (Bacon's own multi-period adjustment makes the
    groups' effects compound, rather than sum, to the total; the totals
    are the same.) Group returns where one side holds nothing follow
    :func:`pmcore.attribution.brinson` (Brinson-Fachler).

    Examples
    --------
    Bacon's three-market fund (portfolio 8.3 %, benchmark 6.4 %):

    >>> import pyarrow as pa
    >>> from pmcore.attribution import geometric_brinson
    >>> data = pa.table({
    ...     "portfolio_id": ["P"] * 3, "period": [1, 1, 1], "group": ["UK", "Japan", "US"],
    ...     "portfolio_weight": [0.4, 0.3, 0.3], "portfolio_return": [0.2, -0.05, 0.06],
    ...     "benchmark_weight": [0.4, 0.2, 0.4], "benchmark_return": [0.1, -0.04, 0.08],
    ... })
    >>> res = geometric_brinson(data)
    >>> t = res.totals.to_pylist()[0]
    >>> [round(t[k], 5) for k in ("semi_notional_return", "allocation", "selection", "excess_return")]
    [0.052, -0.01128, 0.02947, 0.01786]
    >>> res.reconciles
    True
    """
    kind = frame_kind(data)
    arg = "data"
    if not isinstance(by, str):
        raise ValidationError("must be one column name", argument="by", value=by,
                              expected="a string (geometric attribution has one level)")
    if not (weight_tolerance >= 0):
        raise ValidationError("is out of range", argument="weight_tolerance", value=weight_tolerance,
                              expected="a number >= 0")
    table = to_arrow(data, arg)
    require_columns(table, arg, [portfolio, period, by, *WEIGHT_COLUMNS, *RETURN_COLUMNS])
    cells = layout(table, arg, portfolio, period)
    t = cells.table
    wp = float_values(t, arg, WEIGHT_COLUMNS[0])
    wb = float_values(t, arg, WEIGHT_COLUMNS[1])
    rp = float_values(t, arg, RETURN_COLUMNS[0])
    rb = float_values(t, arg, RETURN_COLUMNS[1])
    levels = _level_codes(t, arg, [by])
    codes, parent, cols = levels[0]
    n_cells, n_groups = cells.n_cells, len(parent)
    out = np.empty((n_cells, N_FIELDS, n_groups))
    totals = np.empty((n_cells, 7))
    brinson_cells(cells.cell_start, codes, wp, rp, wb, rb, 1, np.zeros((1, 1)), parent, out, totals)
    _check_totals(cells, arg, totals, weight_tolerance, wp, rp, wb, rb, by, levels)

    w, b, r, s = out[:, 0, :], out[:, 1, :], out[:, 2, :], out[:, 3, :]
    big_r, big_b = totals[:, 0], totals[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        semi = (w * s).sum(axis=1)
        alloc = (w - b) * ((1.0 + s) / (1.0 + big_b)[:, None] - 1.0)
        sel = w * (r - s) / (1.0 + semi)[:, None]
        excess = (1.0 + big_r) / (1.0 + big_b) - 1.0
        a_t, s_t = alloc.sum(axis=1), sel.sum(axis=1)
        residual = float(np.max(np.abs((1.0 + a_t) * (1.0 + s_t) - (1.0 + excess)), initial=0.0))

        starts = cells.port_start[:-1]
        n_per = np.diff(cells.port_start)
        keep = n_per > 0

        def compound(x):
            res = np.zeros(len(n_per))
            if n_cells:
                res[keep] = np.expm1(np.add.reduceat(np.log1p(x), starts[keep]))
            return res

        def linked_effect(e, e_t, e_total):
            coef = _log_ratio(e_t) / np.repeat(_log_ratio(e_total), n_per)
            res = np.zeros((len(n_per), n_groups))
            if n_cells:
                res[keep] = np.add.reduceat(e * coef[:, None], starts[keep], axis=0)
            return res

        c_r, c_b, c_semi = compound(big_r), compound(big_b), compound(semi)
        c_a, c_s = compound(a_t), compound(s_t)
        c_excess = (1.0 + c_r) / (1.0 + c_b) - 1.0
        l_alloc, l_sel = linked_effect(alloc, a_t, c_a), linked_effect(sel, s_t, c_s)
        residual = max(residual, float(np.max(np.abs((1.0 + c_a) * (1.0 + c_s) - (1.0 + c_excess)),
                                              initial=0.0)))
        residual = max(residual, float(np.max(np.abs(l_alloc.sum(axis=1) - c_a), initial=0.0)),
                       float(np.max(np.abs(l_sel.sum(axis=1) - c_s), initial=0.0)))
    if np.isnan(residual):
        residual = float("inf")

    present = (w != 0) | (b != 0)
    pkeys, tkeys = cells.cell_keys(np.arange(n_cells))
    effects = dense_frame([(portfolio, pkeys), (period, tkeys)], cols, {
        "portfolio_weight": w, "benchmark_weight": b, "portfolio_return": r, "benchmark_return": s,
        "allocation": alloc, "selection": sel, "total": alloc + sel}, present)
    totals_table = pa.table({
        portfolio: pkeys, period: tkeys, "portfolio_return": big_r, "benchmark_return": big_b,
        "semi_notional_return": semi, "excess_return": excess, "allocation": a_t, "selection": s_t,
    })
    ever = (np.logical_or.reduceat(present, starts, axis=0) if n_cells
            else np.zeros((0, n_groups), bool))
    port_keys = cells.portfolio_keys()
    linked = dense_frame([(portfolio, port_keys)], cols, {
        "allocation": l_alloc, "selection": l_sel, "total": l_alloc + l_sel}, ever)
    linked_totals = pa.table({
        portfolio: port_keys, "n_periods": n_per, "portfolio_return": c_r, "benchmark_return": c_b,
        "semi_notional_return": c_semi, "excess_return": c_excess, "allocation": c_a, "selection": c_s,
    })
    return GeometricResult(effects=as_kind(effects, kind), totals=as_kind(totals_table, kind),
                           linked=as_kind(linked, kind), linked_totals=as_kind(linked_totals, kind),
                           residual=residual)
