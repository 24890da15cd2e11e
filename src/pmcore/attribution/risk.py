"""Ex-ante risk attribution: contributions of assets, groups or factors to volatility and tracking error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import encode, first_duplicate, frame_kind, id_column, require_columns, to_arrow
from ._layout import group_codes
from ._result import FramesMixin, as_kind, float_values

__all__ = ["risk_attribution", "RiskAttributionResult"]


@dataclass(frozen=True, repr=False)
class RiskAttributionResult(FramesMixin):
    """Result of :func:`risk_attribution`; frames are of the caller's kind.

    Attributes
    ----------
    contributions : frame
        One row per portfolio x asset (or group, or factor plus
        ``"specific"``): ``portfolio_weight`` (or factor exposure),
        ``volatility_contribution`` and ``volatility_share``; with benchmark
        weights also ``active_weight``, ``tracking_error_contribution`` and
        ``tracking_error_share``.
    totals : frame
        One row per portfolio: ``volatility`` (and ``tracking_error``).
    residual : float
        Largest absolute gap between summed contributions and the total.
    """

    contributions: Any
    totals: Any
    residual: float

    _parts = ("contributions", "totals")


def _matrix(covariance: Any, assets: pa.Array, arg: str, asset: str) -> np.ndarray:
    """The covariance of ``assets`` (in that order) from a square frame keyed by ``asset``."""
    if isinstance(covariance, np.ndarray):
        cov = np.asarray(covariance, dtype=np.float64)
        if cov.shape != (len(assets), len(assets)):
            raise ValidationError("has the wrong shape", argument=arg, value=cov.shape,
                                  expected=f"({len(assets)}, {len(assets)}) in the order of the assets",
                                  hint="pass a frame with an asset column and one column per asset")
        return cov
    ct = to_arrow(covariance, arg)
    ids = id_column(ct, arg, asset)
    codes, _ = encode(ids.cast(pa.string()), assets.cast(pa.string()))
    missing = np.flatnonzero(np.isin(np.arange(len(assets)), codes, invert=True))
    if len(missing):
        raise ValidationError("has no row for an asset", argument=arg, column=asset,
                              value=str(assets[int(missing[0])].as_py()), expected="a row and a column per asset")
    names = [str(a) for a in assets.cast(pa.string()).to_pylist()]
    require_columns(ct, arg, names)
    rows = np.empty(len(assets), np.int64)
    keep = codes >= 0
    rows[codes[keep]] = np.flatnonzero(keep)
    full = np.column_stack([float_values(ct, arg, n) for n in names])
    cov = full[rows]
    if not np.isfinite(cov).all():
        i, j = map(int, np.argwhere(~np.isfinite(cov))[0])
        raise ValidationError("is not finite", argument=arg, column=names[j], row=int(rows[i]),
                              expected="a finite covariance")
    return cov


def risk_attribution(
    weights: Any,
    covariance: Any,
    /,
    *,
    by: str | None = None,
    exposures: Any = None,
    factor_names: Sequence[str] | None = None,
    asset: str = "asset_id",
    portfolio: str = "portfolio_id",
) -> RiskAttributionResult:
    r"""Ex-ante contributions to volatility (and tracking error) from a covariance.

    Parameters
    ----------
    weights : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        Long frame, one row per portfolio x asset: ``portfolio``, ``asset``,
        ``portfolio_weight`` and optionally ``benchmark_weight`` (then
        tracking error is attributed too) and the ``by`` column.
    covariance : frame or numpy.ndarray
        Asset covariance (per period, in return units squared): a frame with
        the ``asset`` column and one column per asset id, or a square array
        in order of first appearance of the assets in ``weights``. With
        ``exposures``: the factor covariance instead, a frame with a
        ``factor`` column and one column per factor.
    by : str, optional, keyword-only
        Group column: contributions are summed per portfolio x group.
    exposures : frame, optional, keyword-only
        Factor model: one row per asset with ``asset``, one column per factor
        (``factor_names``) and ``specific_variance``. Contributions are then
        per factor plus one ``"specific"`` row.
    factor_names : sequence of str, optional, keyword-only
        Factors of the model (default: every column of the factor covariance
        but ``factor``).
    asset, portfolio : str, keyword-only
        Column names.

    Returns
    -------
    RiskAttributionResult

    Raises
    ------
    ValidationError
        Missing columns, non-finite values, assets without covariance rows,
        duplicate portfolio x asset rows.

    Notes
    -----
    Euler decomposition of :math:`\sigma = \sqrt{w^\top \Sigma w}`:

    .. math::

        \sigma = \sum_i w_i \frac{(\Sigma w)_i}{\sigma},

    and of tracking error with active weights :math:`a = w - b`,
    :math:`TE = \sqrt{a^\top \Sigma a} = \sum_i a_i (\Sigma a)_i / TE`.
    With a factor model :math:`\Sigma = B F B^\top + D`, exposures
    :math:`x = B^\top w` and :math:`\sigma^2 = x^\top F x + w^\top D w`,
    factor :math:`k` contributes :math:`x_k (F x)_k / \sigma` and the
    specific part :math:`w^\top D w / \sigma`. Units follow the covariance
    (annualise it first for annual figures). A zero-risk portfolio gets NaN
    contributions.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> from pmcore.attribution import risk_attribution
    >>> w = pa.table({"portfolio_id": ["P", "P"], "asset_id": ["A", "B"],
    ...               "portfolio_weight": [0.6, 0.4]})
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.01]])
    >>> res = risk_attribution(w, cov)
    >>> round(res.totals["volatility"][0].as_py(), 6)
    0.137405
    >>> [round(x, 4) for x in res.contributions["volatility_share"].to_pylist()]
    [0.839, 0.161]
    """
    kind = frame_kind(weights)
    table = to_arrow(weights, "weights")
    require_columns(table, "weights", [portfolio, asset, "portfolio_weight"] + ([by] if by else []))
    pid = id_column(table, "weights", portfolio)
    aid = id_column(table, "weights", asset)
    pcode, plabels = encode(pid)
    acode, alabels = encode(aid)
    n_p, n_a = len(plabels), len(alabels)
    dup = first_duplicate(pcode.astype(np.int64) * n_a + acode)
    if dup is not None:
        raise ValidationError(f"repeats portfolio {pid[dup[1]].as_py()!r}, asset {aid[dup[1]].as_py()!r}",
                              argument="weights", row=dup[1], expected="one row per portfolio and asset")
    has_bench = "benchmark_weight" in table.column_names
    w_cols = ["portfolio_weight"] + (["benchmark_weight"] if has_bench else [])
    mats = {}
    for col in w_cols:
        v = float_values(table, "weights", col)
        bad = ~np.isfinite(v)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValidationError(f"is missing or not finite for portfolio {pid[row].as_py()!r}, "
                                  f"asset {aid[row].as_py()!r}", argument="weights", column=col, row=row,
                                  expected="a finite weight (0 where not held)")
        m = np.zeros((n_p, n_a))
        m[pcode, acode] = v
        mats[col] = m
    sides = [("volatility", mats["portfolio_weight"])]
    if has_bench:
        sides.append(("tracking_error", mats["portfolio_weight"] - mats["benchmark_weight"]))

    if exposures is None:
        cov = _matrix(covariance, alabels, "covariance", asset)
        cov = (cov + cov.T) / 2.0
        if by is not None:
            gcode, glabels, _ = group_codes(table, "weights", by)
            n_g = len(glabels)
            agg = np.zeros((n_a, n_g))
            agg[acode, gcode] = 1.0
            if (agg.sum(axis=1) > 1).any():
                a = int(np.flatnonzero(agg.sum(axis=1) > 1)[0])
                raise ValidationError(f"puts asset {alabels[a].as_py()!r} in two groups", argument="weights",
                                      column=by, expected="one group per asset")
            names = pa.array(glabels.cast(pa.string()))
            key_name = by
        else:
            agg = np.eye(n_a)
            names = alabels
            key_name = asset
        out_cols: dict[str, np.ndarray] = {"portfolio_weight": sides[0][1] @ agg}
        totals = {}
        residual = 0.0
        for name, w in sides:
            var = np.einsum("pi,ij,pj->p", w, cov, w)
            sig = np.sqrt(np.maximum(var, 0.0))
            with np.errstate(divide="ignore", invalid="ignore"):
                contrib = (w * (w @ cov)) / sig[:, None]
            grouped = contrib @ agg
            if name == "tracking_error":
                out_cols["active_weight"] = w @ agg
            out_cols[f"{name}_contribution"] = grouped
            with np.errstate(divide="ignore", invalid="ignore"):
                out_cols[f"{name}_share"] = grouped / sig[:, None]
            totals[name] = sig
            gap = np.abs(grouped.sum(axis=1) - sig)
            residual = max(residual, float(np.max(gap[np.isfinite(gap)], initial=0.0)))
        n_k = agg.shape[1]
    else:
        ft = to_arrow(covariance, "covariance")
        require_columns(ft, "covariance", ["factor"])
        fnames = list(factor_names) if factor_names is not None else [c for c in ft.column_names if c != "factor"]
        fcov = _matrix(ft, pa.array(fnames), "covariance", "factor")
        fcov = (fcov + fcov.T) / 2.0
        et = to_arrow(exposures, "exposures")
        require_columns(et, "exposures", [asset, *fnames, "specific_variance"])
        ecodes, _ = encode(id_column(et, "exposures", asset).cast(pa.string()), alabels.cast(pa.string()))
        rows = np.full(n_a, -1)
        rows[ecodes[ecodes >= 0]] = np.flatnonzero(ecodes >= 0)
        if (rows < 0).any():
            raise ValidationError("has no row for an asset", argument="exposures", column=asset,
                                  value=str(alabels[int(np.flatnonzero(rows < 0)[0])].as_py()),
                                  expected="exposures for every asset held")
        b = np.column_stack([float_values(et, "exposures", n) for n in fnames])[rows]
        d = float_values(et, "exposures", "specific_variance")[rows]
        if not (np.isfinite(b).all() and np.isfinite(d).all() and (d >= 0).all()):
            raise ValidationError("holds a non-finite exposure or a negative specific variance",
                                  argument="exposures", expected="finite exposures, specific_variance >= 0")
        names = pa.array(fnames + ["specific"])
        key_name = "factor"
        out_cols = {}
        totals = {}
        residual = 0.0
        for name, w in sides:
            x = w @ b
            spec = (w * w) @ d
            var = np.einsum("pk,kl,pl->p", x, fcov, x) + spec
            sig = np.sqrt(np.maximum(var, 0.0))
            with np.errstate(divide="ignore", invalid="ignore"):
                contrib = np.column_stack([x * (x @ fcov), spec]) / sig[:, None]
            if name == "volatility":
                out_cols["exposure"] = np.column_stack([x, np.full(n_p, np.nan)])
            else:
                out_cols["active_exposure"] = np.column_stack([x, np.full(n_p, np.nan)])
            out_cols[f"{name}_contribution"] = contrib
            with np.errstate(divide="ignore", invalid="ignore"):
                out_cols[f"{name}_share"] = contrib / sig[:, None]
            totals[name] = sig
            gap = np.abs(contrib.sum(axis=1) - sig)
            residual = max(residual, float(np.max(gap[np.isfinite(gap)], initial=0.0)))
        n_k = len(fnames) + 1
    rep = pa.array(np.repeat(np.arange(n_p), n_k))
    contributions = pa.table({
        portfolio: plabels.take(rep),
        key_name: names.take(pa.array(np.tile(np.arange(n_k), n_p))),
        **{k: pa.array(v.ravel(), from_pandas=True) for k, v in out_cols.items()},
    })
    totals_table = pa.table({portfolio: plabels, **totals})
    return RiskAttributionResult(contributions=as_kind(contributions, kind), totals=as_kind(totals_table, kind),
                                 residual=residual)
