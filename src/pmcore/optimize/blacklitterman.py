"""Black-Litterman: implied equilibrium returns, views, and the posterior moments.

The posterior feeds any problem of :mod:`pmcore.optimize`:
``max_sharpe(bl.mu, bl.cov)``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ._inputs import as_vector, mirror_vector, per_asset
from .estimators import check_covariance

__all__ = ["implied_returns", "market_risk_aversion", "black_litterman", "BlackLittermanResult"]


def implied_returns(cov: Any, market_weights: Any, /, *, risk_aversion: float = 2.5,
                    risk_free: float = 0.0) -> Any:
    """Equilibrium returns implied by market weights (reverse optimization).

    Parameters
    ----------
    cov : array-like or dataframe, shape (n_assets, n_assets)
    market_weights : array-like, Series or mapping, shape (n_assets,)
        Market-capitalization weights (normalized to sum to one).
    risk_aversion : float, default 2.5
        :math:`\\delta`, e.g. from :func:`market_risk_aversion`.
    risk_free : float, default 0.0
        Added to the excess returns :math:`\\delta\\Sigma w`.

    Returns
    -------
    pi : same kind as ``cov`` (numpy array or pandas Series), shape (n_assets,)

    Notes
    -----
    .. math:: \\Pi = \\delta \\Sigma w_{mkt} + r_f

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import implied_returns
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> implied_returns(cov, [0.6, 0.4], risk_aversion=3).round(4).tolist()
    [0.0792, 0.1188]
    """
    Sigma, assets, kind = check_covariance(cov)
    w, _ = as_vector(market_weights, "market_weights", assets)
    if (w < 0).any() or w.sum() <= 0:
        raise ValidationError("must be non-negative with a positive sum", argument="market_weights",
                              value=float(w.min()))
    w = w / w.sum()
    pi = float(risk_aversion) * Sigma @ w + float(risk_free)
    return mirror_vector(pi, assets, "pandas" if kind == "pandas" else "numpy", "implied_return")


def market_risk_aversion(market_returns: Any, /, *, risk_free: float = 0.0,
                         periods_per_year: float = 252) -> float:
    """Risk aversion implied by a market's excess return and variance, ``(mean - rf) / var``.

    Notes
    -----
    .. math:: \\delta = \\frac{p\\,\\bar r_m - r_f}{p\\,\\sigma_m^2}

    with annualization factor :math:`p` and sample variance (``ddof=1``).

    Examples
    --------
    >>> from pmcore.optimize import market_risk_aversion
    >>> round(market_risk_aversion([0.01, -0.005, 0.007, 0.002], periods_per_year=1), 4)
    81.3953
    """
    r, _ = as_vector(market_returns, "market_returns")
    if len(r) < 2:
        raise ValidationError("needs at least 2 returns", argument="market_returns", value=len(r))
    p = float(periods_per_year)
    var = r.var(ddof=1) * p
    if var <= 0:
        raise ValidationError("has zero variance", argument="market_returns")
    return float((r.mean() * p - risk_free) / var)


@dataclass(frozen=True, repr=False)
class BlackLittermanResult:
    """Posterior of the Black-Litterman model.

    Attributes
    ----------
    assets : tuple
    mu : numpy.ndarray, shape (n_assets,)
        Posterior expected returns.
    cov : numpy.ndarray, shape (n_assets, n_assets)
        Posterior covariance of returns, :math:`\\Sigma + M`.
    prior : numpy.ndarray, shape (n_assets,)
        Prior (equilibrium) returns :math:`\\Pi`.
    P : numpy.ndarray, shape (n_views, n_assets)
    Q : numpy.ndarray, shape (n_views,)
    omega : numpy.ndarray, shape (n_views, n_views)
    tau : float
    """

    assets: tuple
    mu: np.ndarray
    cov: np.ndarray
    prior: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    omega: np.ndarray
    tau: float

    def to_arrow(self) -> pa.Table:
        """Table with columns ``asset``, ``prior``, ``posterior``."""
        return pa.table({"asset": [str(a) for a in self.assets], "prior": self.prior, "posterior": self.mu})

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas().set_index("asset")

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __repr__(self) -> str:
        rows = ", ".join(f"{a}: {p:.4f} -> {m:.4f}" for a, p, m in
                         list(zip(self.assets, self.prior, self.mu))[:8])
        more = ", ..." if len(self.assets) > 8 else ""
        return (f"BlackLittermanResult({len(self.Q)} views, {len(self.assets)} assets, tau={self.tau:g})\n"
                f"  prior -> posterior: {rows}{more}")


def _views(P: Any, Q: Any, views: Any, assets: tuple) -> tuple[np.ndarray, np.ndarray]:
    n = len(assets)
    rows, qs = [], []
    if views is not None:
        if not isinstance(views, Mapping):
            raise ValidationError("must map asset ids to expected returns", argument="views")
        pos = {a: i for i, a in enumerate(assets)}
        for a, q in views.items():
            if a not in pos:
                raise ValidationError("names an unknown asset", argument="views", value=a,
                                      expected=f"one of {list(assets)[:8]}")
            r = np.zeros(n)
            r[pos[a]] = 1.0
            rows.append(r)
            qs.append(float(q))
    if P is not None:
        if Q is None:
            raise ValidationError("is required with P", argument="Q", expected="one value per view")
        pd = sys.modules.get("pandas")
        if isinstance(P, (list, tuple)) and P and isinstance(P[0], Mapping):
            prow = [per_asset(dict(p), "P", assets, fill=0.0) for p in P]
        elif pd is not None and isinstance(P, pd.DataFrame):
            prow = [per_asset(dict(P.iloc[k].items()), "P", assets, fill=0.0) for k in range(len(P))]
        else:
            arr = np.atleast_2d(np.asarray(P, dtype=np.float64))
            if arr.shape[1] != n:
                raise ValidationError("has the wrong shape", argument="P", value=arr.shape,
                                      expected=f"(n_views, {n})")
            prow = list(arr)
        qv = np.atleast_1d(np.asarray(Q, dtype=np.float64))
        if len(qv) != len(prow):
            raise ValidationError("has the wrong length", argument="Q", value=len(qv),
                                  expected=f"{len(prow)} values, one per row of P")
        rows += prow
        qs += qv.tolist()
    if not rows:
        raise ValidationError("no views given", argument="views", hint="pass views={asset: return} or P and Q")
    Pm, Qv = np.array(rows), np.array(qs)
    if not (np.isfinite(Pm).all() and np.isfinite(Qv).all()):
        raise ValidationError("holds NaN or inf", argument="P/Q")
    return Pm, Qv


def black_litterman(cov: Any, /, *, prior: Any = None, market_weights: Any = None,
                    risk_aversion: float = 2.5, risk_free: float = 0.0, views: Mapping | None = None,
                    P: Any = None, Q: Any = None, omega: Any = None, confidences: Any = None,
                    tau: float = 0.05) -> BlackLittermanResult:
    """Posterior returns and covariance of the Black-Litterman model.

    Parameters
    ----------
    cov : array-like or dataframe, shape (n_assets, n_assets)
        Prior covariance :math:`\\Sigma`.
    prior : array-like, Series or mapping, shape (n_assets,), optional
        Prior returns :math:`\\Pi`; by default the equilibrium returns implied
        by ``market_weights`` and ``risk_aversion`` (:func:`implied_returns`).
    market_weights : array-like, Series or mapping, optional
    risk_aversion : float, default 2.5
    risk_free : float, default 0.0
        Added to implied prior returns (ignored with an explicit ``prior``).
    views : mapping of asset id to float, optional
        Absolute views: "asset a returns q".
    P, Q : array-like, shapes (n_views, n_assets) and (n_views,), optional
        General (relative) views :math:`P\\mu = Q`; rows of ``P`` may be
        mappings of asset id to coefficient. Appended after ``views``.
    omega : None, "idzorek", or array-like (n_views, n_views) or (n_views,)
        View uncertainty. ``None``: :math:`\\Omega = \\operatorname{diag}(\\tau P\\Sigma P^\\top)`
        (He & Litterman). ``"idzorek"``: from ``confidences``. An array: the
        matrix, or its diagonal.
    confidences : array-like, shape (n_views,), optional
        Confidence in each view as a fraction in [0, 1] (Idzorek's 0-100 %
        divided by 100), with ``omega="idzorek"``.
    tau : float, default 0.05
        Scale of the uncertainty of the prior.

    Returns
    -------
    BlackLittermanResult

    Notes
    -----
    .. math::
       \\mu_{BL} = \\Pi + \\tau\\Sigma P^\\top (P\\tau\\Sigma P^\\top + \\Omega)^{-1} (Q - P\\Pi),\\qquad
       \\Sigma_{BL} = \\Sigma + \\tau\\Sigma - \\tau\\Sigma P^\\top (P\\tau\\Sigma P^\\top + \\Omega)^{-1} P\\tau\\Sigma

    (the forms without :math:`\\Sigma^{-1}`, valid for 100 % confidence,
    :math:`\\Omega = 0`). With Idzorek confidences :math:`c_k`,
    :math:`\\omega_k = \\frac{1 - c_k}{c_k}\\, \\tau p_k \\Sigma p_k^\\top`: the closed form
    of Idzorek's method (Walters, "The Black-Litterman model in detail", 2014),
    under which the tilt of the unconstrained optimal weights toward view
    :math:`k` is :math:`c_k` times the tilt at 100 % confidence.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import black_litterman
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> bl = black_litterman(cov, market_weights=[0.6, 0.4], risk_aversion=3, views={1: 0.15})
    >>> bl.mu.round(4).tolist()
    [0.0802, 0.1344]
    """
    Sigma, assets, kind = check_covariance(cov)
    t = float(tau)
    if not np.isfinite(t) or t <= 0:
        raise ValidationError("must be positive", argument="tau", value=tau, expected="a finite number > 0")
    if prior is not None:
        pi, _ = as_vector(prior, "prior", assets)
    elif market_weights is not None:
        pi = np.asarray(implied_returns(Sigma, market_weights if not isinstance(market_weights, Mapping)
                                        else per_asset(market_weights, "market_weights", assets),
                                        risk_aversion=risk_aversion, risk_free=risk_free))
    else:
        raise ValidationError("is required", argument="prior", hint="pass prior= or market_weights=")
    Pm, Qv = _views(P, Q, views, assets)
    k = len(Qv)
    tS = t * Sigma
    base = Pm @ tS @ Pm.T
    if omega is None:
        Om = np.diag(np.diag(base))
    elif isinstance(omega, str):
        if omega != "idzorek":
            raise ValidationError("is unknown", argument="omega", value=omega,
                                  expected="None, 'idzorek' or a matrix")
        if confidences is None:
            raise ValidationError("is required with omega='idzorek'", argument="confidences")
        c = np.atleast_1d(np.asarray(confidences, dtype=np.float64))
        if c.shape != (k,) or not np.all((c >= 0) & (c <= 1)):
            raise ValidationError("must hold one fraction in [0, 1] per view", argument="confidences",
                                  value=c.tolist(), hint="Idzorek's 50 % is 0.5")
        with np.errstate(divide="ignore"):
            alpha = np.where(c > 0, (1.0 - c) / np.where(c > 0, c, 1.0), np.inf)
        if np.isinf(alpha).any():
            raise ValidationError("has a 0 % confidence view", argument="confidences",
                                  hint="drop views held with no confidence")
        Om = np.diag(alpha * np.diag(base))
    else:
        Om = np.asarray(omega, dtype=np.float64)
        if Om.ndim == 1:
            Om = np.diag(Om)
        if Om.shape != (k, k) or not np.isfinite(Om).all():
            raise ValidationError("has the wrong shape", argument="omega", value=Om.shape, expected=f"({k}, {k})")
    A = base + Om
    try:
        gain = np.linalg.solve(A, np.column_stack([Qv - Pm @ pi, Pm @ tS]))
    except np.linalg.LinAlgError as exc:
        raise ValidationError("views are linearly dependent at full confidence", argument="P",
                              hint="remove redundant views or give them a nonzero omega") from exc
    mu = pi + tS @ Pm.T @ gain[:, 0]
    M = tS - tS @ Pm.T @ gain[:, 1:]
    post = Sigma + (M + M.T) / 2
    return BlackLittermanResult(assets, mu, post, pi, Pm, Qv, Om, t)
