"""Factor attribution: returns-based (regression) and holdings-based (exposures x factor returns)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import first_duplicate, frame_kind, require_columns, to_arrow
from ._layout import _chunk, layout, order_key
from ._result import FramesMixin, as_kind, float_values

__all__ = [
    "factor_regression",
    "holdings_factor_attribution",
    "FactorRegressionResult",
    "HoldingsFactorResult",
]


@dataclass(frozen=True, repr=False)
class FactorRegressionResult(FramesMixin):
    """Result of :func:`factor_regression`; frames are of the caller's kind.

    Attributes
    ----------
    factors : frame
        One row per portfolio x factor: ``beta``, ``std_error``, ``t_stat``,
        ``factor_return`` (sum of the factor's returns over the window) and
        ``contribution`` (beta x factor_return).
    summary : frame
        One row per portfolio: ``n_obs``, ``alpha`` (per period),
        ``alpha_t_stat``, ``r_squared``, ``adj_r_squared``,
        ``residual_vol`` (per period), ``total_return`` (sum of the
        regressed returns), ``factor_contribution`` and ``specific``
        (alpha x n_obs, the part no factor explains).
    residual : float
        Largest absolute gap between ``factor_contribution + specific`` and
        ``total_return``.
    """

    factors: Any
    summary: Any
    residual: float

    _parts = ("factors", "summary")


@dataclass(frozen=True, repr=False)
class HoldingsFactorResult(FramesMixin):
    """Result of :func:`holdings_factor_attribution`; frames are of the caller's kind.

    Attributes
    ----------
    exposures : frame
        One row per portfolio x period x factor: ``exposure`` (weighted sum of
        the holdings' exposures; active exposure with a benchmark),
        ``factor_return`` and ``contribution``.
    totals : frame
        One row per portfolio x period: ``portfolio_return`` (``active_return``
        with ``active``), ``factor_contribution`` and ``specific``.
    residual : float
        Largest absolute gap between ``factor_contribution + specific`` and
        the return.
    """

    exposures: Any
    totals: Any
    residual: float

    _parts = ("exposures", "totals")


def _factor_table(factors: Any, period: str, names: Sequence[str] | None):
    ft = to_arrow(factors, "factors")
    require_columns(ft, "factors", [period])
    if names is None:
        names = [c for c in ft.column_names if c != period
                 and (pa.types.is_floating(ft.schema.field(c).type) or pa.types.is_integer(ft.schema.field(c).type))]
    names = list(names)
    if not names:
        raise ValidationError("has no factor columns", argument="factors",
                              expected="numeric columns beside the period column")
    require_columns(ft, "factors", names)
    values = np.column_stack([float_values(ft, "factors", n) for n in names]) if ft.num_rows else np.empty((0, len(names)))
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise ValidationError(f"is missing or not finite in period {ft.column(period)[row].as_py()!r}",
                              argument="factors", column=names[col], row=row, expected="a finite return")
    keys = _chunk(ft.column(period))
    return keys, values, names


def _period_index(data_periods: pa.Array, factor_periods: pa.Array, cells, arg: str) -> np.ndarray:
    """Row of the factor table for every row of ``data`` (raises if a period is missing)."""
    fk = order_key(factor_periods, "factors", "period", ordered=False) if len(factor_periods) else np.zeros(0, np.int64)
    dup = first_duplicate(fk)
    if dup is not None:
        raise ValidationError("has a repeated period", argument="factors", row=dup[1],
                              value=str(factor_periods[dup[1]].as_py()), expected="one row per period")
    import pyarrow.compute as pc

    if data_periods.type != factor_periods.type:
        try:
            factor_periods = factor_periods.cast(data_periods.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValidationError("period types differ", argument="factors", value=str(factor_periods.type),
                                  expected=f"periods of type {data_periods.type}") from exc
    idx = pc.index_in(data_periods, value_set=factor_periods)
    missing = np.asarray(idx.is_null())
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValidationError(f"has no factor returns for {cells.locate(row)}", argument="factors",
                              value=str(data_periods[row].as_py()),
                              expected="a factor row for every period of every portfolio",
                              hint="periods of the returns and of the factors must line up")
    return idx.to_numpy(zero_copy_only=False).astype(np.int64)


def factor_regression(
    returns: Any,
    factors: Any,
    /,
    *,
    factor_names: Sequence[str] | None = None,
    active: bool = False,
    portfolio: str = "portfolio_id",
    period: str = "period",
) -> FactorRegressionResult:
    r"""Returns-based factor attribution: regress each portfolio's returns on factor returns.

    Parameters
    ----------
    returns : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        Long frame, one row per portfolio x period: ``portfolio``, ``period``,
        ``portfolio_return`` (and ``benchmark_return`` with ``active``). The
        regression window is every period given; filter the frame for
        another window.
    factors : frame
        Wide frame, one row per period: the ``period`` column and one column
        of returns per factor (e.g. ``mkt_rf``, ``smb``, ``hml``).
    factor_names : sequence of str, optional, keyword-only
        Factor columns to use (default: every numeric column but the period).
    active : bool, keyword-only
        Regress active returns ``portfolio_return - benchmark_return``.
    portfolio, period : str, keyword-only
        Column names.

    Returns
    -------
    FactorRegressionResult

    Raises
    ------
    ValidationError
        Missing columns, non-finite returns, a portfolio period without factor
        returns (periods that do not line up), repeated periods.

    Notes
    -----
    Ordinary least squares per portfolio over its :math:`T` periods,

    .. math::

        r_t = \alpha + \sum_k \beta_k f_{k,t} + \varepsilon_t,

    with standard errors from :math:`\hat\sigma^2 (X^\top X)^{-1}`,
    :math:`\hat\sigma^2 = \sum_t \varepsilon_t^2 / (T - K - 1)`. The
    attribution is arithmetic over the window: factor :math:`k` contributes
    :math:`\beta_k \sum_t f_{k,t}` and the specific part is
    :math:`\alpha T` (the residuals sum to zero), so that contributions plus
    specific equal :math:`\sum_t r_t` exactly. With :math:`T \le K + 1`
    standard errors and t-statistics are NaN; a rank-deficient design gives
    the minimum-norm solution.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> from pmcore.attribution import factor_regression
    >>> t = np.arange(8)
    >>> mkt = np.array([0.01, -0.02, 0.015, 0.03, -0.01, 0.005, 0.02, -0.015])
    >>> returns = pa.table({"portfolio_id": ["P"] * 8, "period": t,
    ...                     "portfolio_return": 0.001 + 1.2 * mkt})
    >>> res = factor_regression(returns, pa.table({"period": t, "mkt": mkt}))
    >>> round(res.factors["beta"][0].as_py(), 6), round(res.summary["alpha"][0].as_py(), 6)
    (1.2, 0.001)
    >>> res.reconciles
    True
    """
    kind = frame_kind(returns)
    table = to_arrow(returns, "returns")
    cols = [portfolio, period, "portfolio_return"] + (["benchmark_return"] if active else [])
    require_columns(table, "returns", cols)
    cells = layout(table, "returns", portfolio, period)
    t = cells.table
    r = float_values(t, "returns", "portfolio_return")
    if active:
        r = r - float_values(t, "returns", "benchmark_return")
    bad = ~np.isfinite(r)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError(f"is missing or not finite for {cells.locate(row)}", argument="returns",
                              column="portfolio_return", row=cells.input_row(row), expected="a finite return")
    if np.any(np.diff(cells.cell_start) > 1):
        c = int(np.flatnonzero(np.diff(cells.cell_start) > 1)[0])
        raise ValidationError(f"has several rows for {cells.locate(int(cells.cell_start[c]))}",
                              argument="returns", expected="one row per portfolio and period")
    fkeys, fvals, names = _factor_table(factors, period, factor_names)
    fidx = _period_index(_chunk(t.column(period)), fkeys, cells, "returns")
    n_p, n_k = cells.n_portfolios, len(names)
    beta = np.full((n_p, n_k), np.nan)
    se = np.full((n_p, n_k), np.nan)
    fret = np.zeros((n_p, n_k))
    alpha = np.full(n_p, np.nan)
    alpha_t = np.full(n_p, np.nan)
    r2 = np.full(n_p, np.nan)
    adj = np.full(n_p, np.nan)
    rvol = np.full(n_p, np.nan)
    total = np.zeros(n_p)
    n_obs = np.diff(cells.port_start)
    for p in range(n_p):
        a, z = cells.cell_start[cells.port_start[p]], cells.cell_start[cells.port_start[p + 1]]
        y = r[a:z]
        x = np.column_stack([np.ones(z - a), fvals[fidx[a:z]]])
        total[p] = y.sum()
        fret[p] = x[:, 1:].sum(axis=0)
        if z - a == 0:
            continue
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        alpha[p], beta[p] = coef[0], coef[1:]
        resid = y - x @ coef
        ss_res = float(resid @ resid)
        ss_tot = float(((y - y.mean()) ** 2).sum())
        r2[p] = 1.0 - ss_res / ss_tot if ss_tot > 0 else np.nan
        dof = (z - a) - n_k - 1
        if dof > 0:
            sigma2 = ss_res / dof
            rvol[p] = np.sqrt(sigma2)
            adj[p] = 1.0 - (1.0 - r2[p]) * (z - a - 1) / dof
            xtx_inv = np.linalg.pinv(x.T @ x)
            std = np.sqrt(np.maximum(np.diag(xtx_inv) * sigma2, 0.0))
            with np.errstate(divide="ignore", invalid="ignore"):
                se[p] = std[1:]
                alpha_t[p] = coef[0] / std[0] if std[0] > 0 else np.nan
    contrib = beta * fret
    factor_total = contrib.sum(axis=1)
    specific = alpha * n_obs
    gap = np.abs(factor_total + specific - total)
    residual = float(np.max(gap[np.isfinite(gap)], initial=0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.where(se > 0, beta / se, np.nan)
    port_keys = cells.portfolio_keys()
    factors_table = pa.table({
        portfolio: port_keys.take(pa.array(np.repeat(np.arange(n_p), n_k))),
        "factor": pa.array(np.tile(np.array(names, dtype=object), n_p), pa.string()),
        "beta": beta.ravel(), "std_error": se.ravel(), "t_stat": tstat.ravel(),
        "factor_return": fret.ravel(), "contribution": contrib.ravel(),
    })
    summary = pa.table({
        portfolio: port_keys, "n_obs": n_obs, "alpha": alpha, "alpha_t_stat": alpha_t, "r_squared": r2,
        "adj_r_squared": adj, "residual_vol": rvol, "total_return": total,
        "factor_contribution": factor_total, "specific": specific,
    })
    return FactorRegressionResult(factors=as_kind(factors_table, kind), summary=as_kind(summary, kind),
                                  residual=residual)


def holdings_factor_attribution(
    holdings: Any,
    factor_returns: Any,
    /,
    *,
    factor_names: Sequence[str],
    active: bool = False,
    portfolio: str = "portfolio_id",
    period: str = "period",
) -> HoldingsFactorResult:
    r"""Holdings-based factor attribution: exposures times factor returns, plus specific return.

    Parameters
    ----------
    holdings : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        Long frame, one row per portfolio x period x holding: ``portfolio``,
        ``period``, ``portfolio_weight``, ``portfolio_return`` (with
        ``active`` also ``benchmark_weight``, ``benchmark_return``), and one
        exposure column per factor named in ``factor_names`` (the holding's
        loading at the start of the period).
    factor_returns : frame
        Wide frame, one row per period: ``period`` and one return column per
        factor in ``factor_names``.
    factor_names : sequence of str, keyword-only
        The factors (exposure columns in ``holdings``, return columns in
        ``factor_returns``).
    active : bool, keyword-only
        Attribute the active return with active weights
        ``portfolio_weight - benchmark_weight``.
    portfolio, period : str, keyword-only
        Column names.

    Returns
    -------
    HoldingsFactorResult

    Raises
    ------
    ValidationError
        Missing columns, non-finite weights or exposures, non-finite returns
        where the weight is not 0, periods without factor returns.

    Notes
    -----
    For holdings :math:`i` with weights :math:`w_i` (active weights with a
    benchmark), returns :math:`r_i` and exposures :math:`x_{i,k}`:

    .. math::

        X_k = \sum_i w_i x_{i,k}, \qquad \text{contribution}_k = X_k f_k,
        \qquad \text{specific} = \sum_i w_i r_i - \sum_k X_k f_k.

    The decomposition is exact by construction (arithmetic, per period);
    link periods with :func:`~pmcore.attribution.contribution`-style
    coefficients if a multi-period view is needed.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.attribution import holdings_factor_attribution
    >>> holdings = pa.table({"portfolio_id": ["P", "P"], "period": [1, 1],
    ...                      "portfolio_weight": [0.5, 0.5], "portfolio_return": [0.03, 0.01],
    ...                      "value": [1.0, -0.5], "size": [0.2, 0.4]})
    >>> fr = pa.table({"period": [1], "value": [0.02], "size": [-0.01]})
    >>> res = holdings_factor_attribution(holdings, fr, factor_names=["value", "size"])
    >>> [round(x, 6) for x in res.exposures["contribution"].to_pylist()]
    [0.005, -0.003]
    >>> round(res.totals["specific"][0].as_py(), 6)
    0.018
    """
    kind = frame_kind(holdings)
    names = list(factor_names)
    table = to_arrow(holdings, "holdings")
    need = [portfolio, period, "portfolio_weight", "portfolio_return", *names]
    if active:
        need += ["benchmark_weight", "benchmark_return"]
    require_columns(table, "holdings", need)
    cells = layout(table, "holdings", portfolio, period)
    t = cells.table
    w = float_values(t, "holdings", "portfolio_weight")
    r = float_values(t, "holdings", "portfolio_return")
    checks = [("portfolio_weight", w, None), ("portfolio_return", r, w)]
    c = np.where(w != 0.0, w * np.where(np.isfinite(r), r, 0.0), 0.0)
    if active:
        wb = float_values(t, "holdings", "benchmark_weight")
        rb = float_values(t, "holdings", "benchmark_return")
        checks += [("benchmark_weight", wb, None), ("benchmark_return", rb, wb)]
        c = c - np.where(wb != 0.0, wb * np.where(np.isfinite(rb), rb, 0.0), 0.0)
        w = w - wb
    x = np.column_stack([float_values(t, "holdings", n) for n in names]) if t.num_rows else np.empty((0, len(names)))
    checks += [(n, x[:, k], w) for k, n in enumerate(names)]
    for name, values, weight in checks:
        bad = ~np.isfinite(values) if weight is None else (~np.isfinite(values) & (weight != 0.0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValidationError(f"is missing or not finite for {cells.locate(row)}", argument="holdings",
                                  column=name, row=cells.input_row(row), expected="a finite number")
    fkeys, fvals, _ = _factor_table(factor_returns, period, names)
    n_cells = cells.n_cells
    starts = cells.cell_start[:-1]
    firsts = pa.array(starts)
    cell_periods = _chunk(t.column(period)).take(firsts) if n_cells else _chunk(t.column(period)).slice(0, 0)
    fidx = _period_index(cell_periods, fkeys, cells, "holdings") if n_cells else np.zeros(0, np.int64)
    wx = np.where(w[:, None] != 0.0, w[:, None] * np.where(np.isfinite(x), x, 0.0), 0.0)
    expo = np.add.reduceat(wx, starts, axis=0) if n_cells else np.zeros((0, len(names)))
    ret = np.add.reduceat(c, starts) if n_cells else np.zeros(0)
    f = fvals[fidx]
    contrib = expo * f
    factor_total = contrib.sum(axis=1)
    specific = ret - factor_total
    pkeys, tkeys = cells.cell_keys(np.arange(n_cells))
    rep = pa.array(np.repeat(np.arange(n_cells), len(names)))
    exposures = pa.table({
        portfolio: pkeys.take(rep), period: tkeys.take(rep),
        "factor": pa.array(np.tile(np.array(names, dtype=object), n_cells), pa.string()),
        "exposure": expo.ravel(), "factor_return": f.ravel(), "contribution": contrib.ravel(),
    })
    totals = pa.table({portfolio: pkeys, period: tkeys,
                       ("active_return" if active else "portfolio_return"): ret,
                       "factor_contribution": factor_total, "specific": specific})
    residual = float(np.max(np.abs(factor_total + specific - ret), initial=0.0))
    return HoldingsFactorResult(exposures=as_kind(exposures, kind), totals=as_kind(totals, kind),
                                residual=residual)
