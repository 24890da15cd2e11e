"""Contribution analysis: each holding's and each group's contribution to portfolio return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import frame_kind, require_columns, to_arrow
from ..kernels.attribution import FRONGELLO, GRAP, first_invalid_row, link_coefficients
from ._layout import dense_frame, group_codes, layout
from ._result import FramesMixin, as_kind, choose, float_values
from .linking import LINKING_METHODS

__all__ = ["contribution", "ContributionResult"]


@dataclass(frozen=True, repr=False)
class ContributionResult(FramesMixin):
    """Result of :func:`contribution`; frames are of the caller's kind.

    Attributes
    ----------
    holdings : frame
        The input rows (grouped by portfolio, periods ascending) with a
        ``contribution`` column, :math:`w r`.
    groups : frame or None
        One row per portfolio x period x group: ``weight``, ``return`` (the
        group return, null where the group weight is 0) and ``contribution``
        (None without ``by``).
    totals : frame
        One row per portfolio x period: ``weight`` (sum) and
        ``portfolio_return`` (sum of the contributions).
    linked : frame or None
        One row per portfolio x group (or portfolio x holding row key when
        ``by`` is None: not computed): linked contributions over all periods.
    linked_totals : frame or None
        One row per portfolio: ``n_periods``, compounded ``portfolio_return``
        and the sum of the linked contributions.
    linking : str or None
    residual : float
        Largest absolute gap between summed contributions and the portfolio
        return (per period, and compounded when linked).
    """

    holdings: Any
    groups: Any
    totals: Any
    linked: Any
    linked_totals: Any
    linking: str | None
    residual: float

    _parts = ("groups", "holdings", "totals", "linked", "linked_totals")


def contribution(
    data: Any,
    /,
    *,
    by: str | None = None,
    linking: str | None = None,
    portfolio: str = "portfolio_id",
    period: str = "period",
    weight: str = "portfolio_weight",
    returns: str = "portfolio_return",
    weight_tolerance: float = 1e-9,
) -> ContributionResult:
    r"""Contribution of each holding and each group to the portfolio return.

    Parameters
    ----------
    data : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        Long frame, one row per portfolio x period x holding, with columns
        ``portfolio``, ``period``, ``weight`` and ``returns`` (the same frame
        :func:`~pmcore.attribution.brinson` takes; benchmark columns are
        ignored). A return may be null where its weight is 0.
    by : str, optional, keyword-only
        Grouping column for group contributions.
    linking : {None, "carino", "menchero", "grap", "frongello"}, keyword-only
        Link the contributions of each group over all periods so that they
        add up to the compounded portfolio return (needs ``by``).
    portfolio, period, weight, returns : str, keyword-only
        Column names.
    weight_tolerance : float, keyword-only
        Weights must sum to 1 within this per portfolio and period (hold cash
        as a row of its own).

    Returns
    -------
    ContributionResult

    Raises
    ------
    ValidationError
        Missing columns, non-finite weights, non-finite returns where the
        weight is not 0, weights not summing to 1 (naming portfolio, period).

    Notes
    -----
    .. math::

        c_i = w_i r_i, \qquad C_g = \sum_{i \in g} c_i, \qquad
        R = \sum_i c_i, \qquad r_g = C_g / W_g.

    Linked over periods :math:`t` with the benchmark return set to 0, the
    linking coefficients of :mod:`pmcore.attribution.linking` become, for
    GRAP (and Frongello, which equals it here), :math:`\prod_{s<t}(1+R_s)`:
    each period's contribution is grown by the portfolio's return before it,
    so that :math:`\sum_t \sum_g k_t C_{g,t} = \prod_t (1 + R_t) - 1`
    exactly (arithmetic). Carino uses :math:`k_t = \ln(1+R_t)/R_t` over
    :math:`k = \ln(1+R)/R`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.attribution import contribution
    >>> data = pa.table({
    ...     "portfolio_id": ["P"] * 4, "period": [1, 1, 2, 2],
    ...     "sector": ["Tech", "Energy"] * 2,
    ...     "portfolio_weight": [0.6, 0.4, 0.5, 0.5],
    ...     "portfolio_return": [0.10, -0.05, 0.02, 0.04],
    ... })
    >>> res = contribution(data, by="sector", linking="grap")
    >>> [round(x, 4) for x in res.totals["portfolio_return"].to_pylist()]
    [0.04, 0.03]
    >>> lt = res.linked_totals.to_pylist()[0]
    >>> round(lt["portfolio_return"], 4), round(lt["contribution"], 4), res.reconciles
    (0.0712, 0.0712, True)
    """
    kind = frame_kind(data)
    arg = "data"
    table = to_arrow(data, arg)
    link_code = choose(linking, "linking", LINKING_METHODS)
    if link_code is not None and by is None:
        raise ValidationError("needs a grouping column", argument="linking", value=linking,
                              hint="pass by='sector' (or any column; use the security id for holdings)")
    require_columns(table, arg, [portfolio, period, weight, returns] + ([by] if by else []))
    cells = layout(table, arg, portfolio, period)
    t = cells.table
    w = float_values(t, arg, weight)
    r = float_values(t, arg, returns)
    zeros = np.zeros(len(w))
    row, code = first_invalid_row(w, r, zeros, zeros)
    if row >= 0:
        col = weight if code == 1 else returns
        raise ValidationError(
            f"is missing or not finite for {cells.locate(row)}" + (", which has a non-zero weight" if code == 3 else ""),
            argument=arg, column=col, row=cells.input_row(row),
            value=None if np.isnan((w, r)[code == 3][row]) else float((w, r)[code == 3][row]),
            expected="a finite number")
    c = np.where(w != 0.0, w * np.where(np.isfinite(r), r, 0.0), 0.0)
    n_cells = cells.n_cells
    cell_of_row = np.repeat(np.arange(n_cells), np.diff(cells.cell_start))
    ret = np.bincount(cell_of_row, weights=c, minlength=n_cells)
    wsum = np.bincount(cell_of_row, weights=w, minlength=n_cells)
    bad = np.flatnonzero(np.abs(wsum - 1.0) > weight_tolerance)
    if len(bad):
        where = cells.locate(int(cells.cell_start[bad[0]]))
        raise ValidationError(f"does not sum to 1 for {where}", argument=arg, column=weight,
                              value=float(wsum[bad[0]]), expected=f"weights summing to 1 within {weight_tolerance:g}",
                              hint="hold cash as a row of its own")
    residual = 0.0
    holdings = t.append_column("contribution", pa.array(c))
    pkeys, tkeys = cells.cell_keys(np.arange(n_cells))
    totals = pa.table({portfolio: pkeys, period: tkeys, "weight": wsum, "portfolio_return": ret})

    groups = linked = linked_totals = None
    if by is not None:
        codes, labels, is_dict = group_codes(t, arg, by)
        n_g = len(labels)
        key = cell_of_row * n_g + codes
        cg = np.bincount(key, weights=c, minlength=n_cells * n_g).reshape(n_cells, n_g)
        wg = np.bincount(key, weights=w, minlength=n_cells * n_g).reshape(n_cells, n_g)
        seen = np.bincount(key, minlength=n_cells * n_g).reshape(n_cells, n_g) > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            rg = np.where(wg != 0.0, cg / np.where(wg != 0.0, wg, 1.0), np.nan)
        cols = [(by, labels, np.arange(n_g), is_dict)]
        groups = dense_frame([(portfolio, pkeys), (period, tkeys)], cols,
                             {"weight": wg, "return": rg, "contribution": cg}, seen)
        groups = groups.set_column(groups.schema.get_field_index("return"), "return",
                                   pa.array(groups.column("return").to_numpy(), from_pandas=True))
        residual = float(np.max(np.abs(cg.sum(axis=1) - ret), initial=0.0))
        if link_code is not None:
            n_p = cells.n_portfolios
            coef = np.empty(n_cells)
            comp = np.empty((n_p, 2))
            method = GRAP if link_code == FRONGELLO else link_code
            link_coefficients(cells.port_start, ret.copy(), np.zeros(n_cells), method, coef, comp)
            if n_cells:
                starts = cells.port_start[:-1]
                lk = np.add.reduceat(cg * coef[:, None], starts, axis=0)
                ever = np.logical_or.reduceat(seen, starts, axis=0)
            else:
                lk = np.zeros((0, n_g))
                ever = np.zeros((0, n_g), bool)
            port_keys = cells.portfolio_keys()
            linked = dense_frame([(portfolio, port_keys)], cols, {"contribution": lk}, ever)
            total = lk.sum(axis=1)
            residual = max(residual, float(np.max(np.abs(total - comp[:, 0]), initial=0.0)))
            linked_totals = pa.table({portfolio: port_keys, "n_periods": np.diff(cells.port_start),
                                      "portfolio_return": comp[:, 0], "contribution": total})
    return ContributionResult(
        holdings=as_kind(holdings, kind), groups=as_kind(groups, kind), totals=as_kind(totals, kind),
        linked=as_kind(linked, kind), linked_totals=as_kind(linked_totals, kind),
        linking=None if link_code is None else linking.lower(), residual=residual,
    )
