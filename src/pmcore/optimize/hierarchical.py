"""Hierarchical risk parity (López de Prado 2016)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..errors import ValidationError
from .problems import prepare
from .results import OptimizeResult

__all__ = ["hrp"]

_LINKAGES = ("single", "complete", "average", "weighted", "ward", "centroid", "median")


def hrp(cov: Any, mu: Any = None, /, *, linkage: str = "single", optimal_ordering: bool = False,
        risk_free: float = 0.0, repair_psd: bool = False) -> OptimizeResult:
    """Hierarchical risk parity weights (long-only, fully invested).

    Parameters
    ----------
    cov : array-like or dataframe, shape (n_assets, n_assets)
        Covariance; correlations and the clustering come from it.
    mu : array-like, Series or mapping, optional
        Expected returns, only to report ``expected_return`` and ``sharpe``.
    linkage : {"single", "complete", "average", "weighted", "ward", "centroid", "median"}
        Linkage of the hierarchical clustering (scipy). ``"single"`` is López
        de Prado's original and PyPortfolioOpt's default; skfolio's default is
        ``"ward"`` with ``optimal_ordering=True``.
    optimal_ordering : bool, default False
        Reorder leaves to minimize the distance between neighbours (scipy's
        ``optimal_ordering``).
    risk_free : float, default 0.0
    repair_psd : bool, default False

    Returns
    -------
    OptimizeResult
        ``extra["order"]`` holds the seriated asset order.

    Notes
    -----
    1. Distance :math:`d_{ij} = \\sqrt{(1 - \\rho_{ij})/2}`; hierarchical
       clustering; assets ordered by the dendrogram's leaves.
    2. Recursive bisection of the ordered list into halves :math:`L, R`; with
       :math:`V_C = \\tilde w_C^\\top \\Sigma_C \\tilde w_C` for the inverse-variance
       weights :math:`\\tilde w_C` of cluster :math:`C`,

    .. math:: w_L \\leftarrow w_L \\cdot \\Big(1 - \\frac{V_L}{V_L + V_R}\\Big),\\quad
              w_R \\leftarrow w_R \\cdot \\frac{V_L}{V_L + V_R}

    The bisection is a Numba kernel (:func:`pmcore.kernels.optimize.hrp_bisect`).

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import hrp
    >>> cov = np.array([[0.04, 0.006, 0.0], [0.006, 0.09, 0.0], [0.0, 0.0, 0.01]])
    >>> hrp(cov).x.round(4).tolist()
    [0.172, 0.0764, 0.7515]
    """
    from scipy.cluster.hierarchy import leaves_list
    from scipy.cluster.hierarchy import linkage as sch_linkage
    from scipy.spatial.distance import squareform

    from ..kernels.optimize import hrp_bisect

    t0 = time.perf_counter()
    if linkage not in _LINKAGES:
        raise ValidationError("is unknown", argument="linkage", value=linkage, expected=f"one of {_LINKAGES}")
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd, need_mu=False)
    n = len(assets)
    d = np.diag(Sigma)
    if (d <= 0).any():
        i = int(np.flatnonzero(d <= 0)[0])
        raise ValidationError("has a zero variance", argument="cov", column=str(assets[i]),
                              expected="a positive variance for every asset")
    if n == 1:
        order = np.zeros(1, np.int64)
    else:
        sd = np.sqrt(d)
        corr = np.clip(Sigma / np.outer(sd, sd), -1.0, 1.0)
        dist = np.sqrt(np.clip((1.0 - corr) / 2.0, 0.0, None))
        np.fill_diagonal(dist, 0.0)
        link = sch_linkage(squareform((dist + dist.T) / 2, checks=False), method=linkage,
                           optimal_ordering=optimal_ordering)
        order = leaves_list(link).astype(np.int64)
    w = np.empty(n)
    hrp_bisect(np.ascontiguousarray(Sigma), order, w)
    x = w.copy()
    w[int(np.argmax(w))] += 1.0 - math.fsum(w.tolist())
    sw = Sigma @ w
    var = float(w @ sw)
    vol = math.sqrt(var)
    ret = float(mu_arr @ w) if mu_arr is not None else float("nan")
    return OptimizeResult(
        assets=assets, x=w, x_raw=x, fun=var, objective="variance", expected_return=ret, volatility=vol,
        sharpe=(ret - risk_free) / vol if vol > 0 else float("nan"), risk_contributions=w * sw / var,
        turnover=float("nan"), binding=(), solver="hrp", iterations=n - 1,
        time_s=time.perf_counter() - t0, extra={"order": tuple(assets[i] for i in order)},
    )
