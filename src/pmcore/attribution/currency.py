"""Karnosky-Singer currency attribution for multi-currency portfolios."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import frame_kind, require_columns, to_arrow
from ..kernels.attribution import N_FIELDS, brinson_cells, first_invalid_row, link_dense
from ._layout import Cells, dense_frame, group_codes, layout
from ._result import FramesMixin, as_kind, choose, float_values
from .linking import LINKING_METHODS

__all__ = ["currency_attribution", "CurrencyResult"]

_EFFECTS = ("allocation", "selection", "interaction", "currency")


@dataclass(frozen=True, repr=False)
class CurrencyResult(FramesMixin):
    """Result of :func:`currency_attribution`; frames are of the caller's kind.

    Attributes
    ----------
    effects : frame or None
        One row per portfolio x period x group: asset and currency weights of
        both sides, local market ``allocation``, ``selection``,
        ``interaction``, ``currency`` allocation and ``total``.
    totals : frame or None
        One row per portfolio x period: ``portfolio_return``,
        ``benchmark_return`` (base currency, Karnosky-Singer model, see
        Notes of :func:`currency_attribution`), ``active_return`` and the
        effects summed over groups.
    linked, linked_totals : frame or None
        The effects linked over all periods (with ``linking``), per
        portfolio x group and per portfolio.
    linking : str or None
    residual : float
        Largest absolute gap between summed effects and the active return.
    """

    effects: Any
    totals: Any
    linked: Any
    linked_totals: Any
    linking: str | None
    residual: float

    _parts = ("effects", "totals", "linked", "linked_totals")


def _first_bad(cells: Cells, arg: str, arrays, columns, labels, codes, by) -> None:
    row, code = first_invalid_row(*arrays)
    if row < 0:
        return
    column = (columns[0], columns[2], columns[1], columns[3])[code - 1]
    value = (arrays[0], arrays[2], arrays[1], arrays[3])[code - 1][row]
    where = f"{cells.locate(row)}, {by} {labels[int(codes[row])].as_py()!r}"
    raise ValidationError(
        f"is missing or not finite for {where}" + (", which has a non-zero weight" if code > 2 else ""),
        argument=arg, column=column, row=cells.input_row(row),
        value=None if np.isnan(value) else float(value), expected="a finite number",
        hint="a return may be missing only where its weight is 0",
    )


def currency_attribution(
    data: Any,
    /,
    *,
    by: str = "currency",
    linking: str | None = None,
    periods: bool = True,
    portfolio: str = "portfolio_id",
    period: str = "period",
    weight_tolerance: float = 1e-9,
) -> CurrencyResult:
    r"""Karnosky-Singer attribution: local market effects plus currency allocation.

    Parameters
    ----------
    data : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        Long frame, one row per portfolio x period x holding (or market),
        with ``portfolio``, ``period``, the ``by`` column and:
        ``portfolio_weight``, ``benchmark_weight`` (asset weights),
        ``portfolio_return``, ``benchmark_return`` (returns in *local*
        currency), ``currency_return`` (the spot return of the holding's
        currency against the base currency, 0 for the base currency), and
        optionally ``forward_premium`` (the period's interest differential
        :math:`c_i - c_{base}`, default 0) and ``portfolio_currency_weight``,
        ``benchmark_currency_weight`` (currency exposure after forwards and
        hedges, default the asset weights). A hedge is a row with zero asset
        weight and a currency weight.
    by : str, keyword-only
        Grouping column (a currency or market column).
    linking : {None, "carino", "menchero", "grap", "frongello"}, keyword-only
        Link effects over each portfolio's periods (see
        :mod:`pmcore.attribution.linking`).
    periods : bool, keyword-only
        Keep the per-period ``effects`` and ``totals``.
    portfolio, period : str, keyword-only
        Column names.
    weight_tolerance : float, keyword-only
        Asset weights and currency weights must each sum to 1 within this.

    Returns
    -------
    CurrencyResult

    Raises
    ------
    ValidationError
        Missing columns, non-finite weights, non-finite returns where their
        weight is not 0, weights not summing to 1; naming portfolio, period
        and group.

    Notes
    -----
    Karnosky and Singer (1994) split each local return :math:`r_i` into the
    local cash rate and a *local excess return*, and give the cash rate to
    the currency side. With forward premium :math:`f_i = c_i - c_{base}`,
    currency return :math:`e_i`, asset weights :math:`w_i` and currency
    weights :math:`W_i`:

    .. math::

        x_i = r_i - f_i, \qquad y_i = e_i + f_i, \qquad
        R = \sum_i w_i x_i + \sum_i W_i y_i \;(+\, c_{base}).

    The active return :math:`R_p - R_b` splits into Brinson-Fachler effects
    on local excess returns and a currency allocation on forward currency
    returns:

    .. math::

        A_i = (w^p_i - w^b_i)(x^b_i - X^b),\quad
        S_i = w^b_i (x^p_i - x^b_i),\quad
        I_i = (w^p_i - w^b_i)(x^p_i - x^b_i),\quad
        C_i = (W^p_i - W^b_i)(y_i - Y^b)

    with :math:`X^b = \sum w^b_i x^b_i` and :math:`Y^b = \sum W^b_i y_i`
    (plus, in :math:`C_i`, any difference between the two sides' average
    :math:`y` within a group holding several currencies). The model is
    additive: unhedged (:math:`W = w`) it gives the base return
    :math:`\sum w (r + e)`, without the cross term :math:`r e` of the
    compounded :math:`(1+r)(1+e) - 1` (use continuously compounded returns
    to make it exact). The constant :math:`c_{base}` cancels in the active
    return.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.attribution import currency_attribution
    >>> data = pa.table({
    ...     "portfolio_id": ["P"] * 3, "period": [1] * 3, "currency": ["GBP", "JPY", "USD"],
    ...     "portfolio_weight": [0.4, 0.3, 0.3], "benchmark_weight": [0.4, 0.2, 0.4],
    ...     "portfolio_return": [0.20, -0.05, 0.06], "benchmark_return": [0.10, -0.04, 0.08],
    ...     "currency_return": [0.0, 0.10, 0.20],
    ... })
    >>> res = currency_attribution(data)
    >>> t = res.totals.to_pylist()[0]
    >>> round(t["active_return"], 4), round(t["currency"], 4), res.reconciles
    (0.009, -0.01, True)
    """
    kind = frame_kind(data)
    arg = "data"
    table = to_arrow(data, arg)
    link_code = choose(linking, "linking", LINKING_METHODS)
    local = ("portfolio_weight", "portfolio_return", "benchmark_weight", "benchmark_return")
    require_columns(table, arg, [portfolio, period, by, *local, "currency_return"])
    cells = layout(table, arg, portfolio, period)
    t = cells.table
    wp, rp, wb, rb = (float_values(t, arg, c) for c in local)
    e = float_values(t, arg, "currency_return")
    f = float_values(t, arg, "forward_premium", default=0.0)
    cwp = float_values(t, arg, "portfolio_currency_weight") if "portfolio_currency_weight" in t.column_names else wp
    cwb = float_values(t, arg, "benchmark_currency_weight") if "benchmark_currency_weight" in t.column_names else wb
    codes, labels, is_dict = group_codes(t, arg, by)
    codes = codes.astype(np.int32, copy=False)
    xp, xb, y = rp - f, rb - f, e + f
    _first_bad(cells, arg, (wp, xp, wb, xb), local, labels, codes, by)
    _first_bad(cells, arg, (cwp, y, cwb, y), ("portfolio_currency_weight", "currency_return",
                                              "benchmark_currency_weight", "currency_return"), labels, codes, by)

    n_cells, n_g = cells.n_cells, len(labels)
    parent = np.zeros(n_g, np.int64)
    out_m = np.empty((n_cells, N_FIELDS, n_g))
    out_c = np.empty((n_cells, N_FIELDS, n_g))
    tot_m = np.empty((n_cells, 7))
    tot_c = np.empty((n_cells, 7))
    brinson_cells(cells.cell_start, codes, wp, xp, wb, xb, 1, np.zeros((1, 1)), parent, out_m, tot_m)
    brinson_cells(cells.cell_start, codes, cwp, y, cwb, y, 1, np.zeros((1, 1)), parent, out_c, tot_c)
    for tot, (cp, cb) in ((tot_m, ("portfolio_weight", "benchmark_weight")),
                          (tot_c, ("portfolio_currency_weight", "benchmark_currency_weight"))):
        for side, col in ((2, cp), (3, cb)):
            bad = np.flatnonzero(np.abs(tot[:, side] - 1.0) > weight_tolerance)
            if len(bad):
                raise ValidationError(
                    f"does not sum to 1 for {cells.locate(int(cells.cell_start[bad[0]]))}",
                    argument=arg, column=col, value=float(tot[bad[0], side]),
                    expected=f"weights summing to 1 within {weight_tolerance:g}",
                    hint="add rows for cash and for the base currency so each side sums to 1")
    ret_p = tot_m[:, 0] + tot_c[:, 0]
    ret_b = tot_m[:, 1] + tot_c[:, 1]
    currency = out_c[:, 4, :] + out_c[:, 5, :] + out_c[:, 6, :]
    effects = {
        "allocation": out_m[:, 4, :], "selection": out_m[:, 5, :], "interaction": out_m[:, 6, :],
        "currency": currency,
    }
    sums = {k: v.sum(axis=1) for k, v in effects.items()}
    eff_total = sum(sums.values())
    active = ret_p - ret_b
    residual = float(np.max(np.abs(eff_total - active), initial=0.0))
    cols = [(by, labels, np.arange(n_g), is_dict)]
    present = ((out_m[:, 0, :] != 0) | (out_m[:, 1, :] != 0) | (out_c[:, 0, :] != 0) | (out_c[:, 1, :] != 0)
               | (out_m[:, 4:, :] != 0).any(axis=1) | (currency != 0))

    eff_table = totals_table = linked = linked_totals = None
    if periods:
        pkeys, tkeys = cells.cell_keys(np.arange(n_cells))
        values = {"portfolio_weight": out_m[:, 0, :], "benchmark_weight": out_m[:, 1, :],
                  "portfolio_currency_weight": out_c[:, 0, :], "benchmark_currency_weight": out_c[:, 1, :],
                  **effects, "total": sum(effects.values())}
        eff_table = dense_frame([(portfolio, pkeys), (period, tkeys)], cols, values, present)
        totals_table = pa.table({portfolio: pkeys, period: tkeys, "portfolio_return": ret_p,
                                 "benchmark_return": ret_b, "active_return": active, **sums,
                                 "total": eff_total})
    if link_code is not None:
        n_p = cells.n_portfolios
        lm = np.empty((n_p, 3, n_g))
        lc = np.empty((n_p, 3, n_g))
        comp = np.empty((n_p, 2))
        link_dense(cells.port_start, ret_p, ret_b, link_code, out_m, lm, comp)
        link_dense(cells.port_start, ret_p, ret_b, link_code, out_c, lc, comp)
        lvals = {"allocation": lm[:, 0, :], "selection": lm[:, 1, :], "interaction": lm[:, 2, :],
                 "currency": lc.sum(axis=1)}
        ever = (np.logical_or.reduceat(present, cells.port_start[:-1], axis=0) if n_cells
                else np.zeros((0, n_g), bool))
        port_keys = cells.portfolio_keys()
        linked = dense_frame([(portfolio, port_keys)], cols, {**lvals, "total": sum(lvals.values())}, ever)
        lsums = {k: v.sum(axis=1) for k, v in lvals.items()}
        l_total = sum(lsums.values())
        l_active = comp[:, 0] - comp[:, 1]
        residual = max(residual, float(np.max(np.abs(l_total - l_active), initial=0.0)))
        linked_totals = pa.table({portfolio: port_keys, "n_periods": np.diff(cells.port_start),
                                  "portfolio_return": comp[:, 0], "benchmark_return": comp[:, 1],
                                  "active_return": l_active, **lsums, "total": l_total})
    return CurrencyResult(
        effects=as_kind(eff_table, kind), totals=as_kind(totals_table, kind), linked=as_kind(linked, kind),
        linked_totals=as_kind(linked_totals, kind),
        linking=None if link_code is None else linking.lower(), residual=residual,
    )
