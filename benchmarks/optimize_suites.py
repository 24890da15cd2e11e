"""Optimization workloads: pmcore beside the libraries a user would pick, on the same data.

Each workload maps implementation name -> ``make(data) -> zero-argument callable``;
``make`` does the per-library setup that a user would do once (frames, model
objects), the callable is what is timed. Peers that are not installed are left
out (``available``). Covariance and mean are precomputed and passed where the
library accepts them; skfolio estimators take the returns (its sample moments
cost a few ms at N = 500, negligible next to the solves).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np

from pmcore import optimize as po


def have(mod: str) -> bool:
    return importlib.util.find_spec(mod) is not None


def _views(d):
    names = d["names"]
    return {names[0]: 0.10, names[1]: 0.02}


# ---------------------------------------------------------------- min variance
def pm_minvar(d):
    return lambda: po.min_variance(d["cov"])


def pypfopt_minvar(d):
    from pypfopt import EfficientFrontier

    _, mu, cov = d["frames"]

    def run():
        ef = EfficientFrontier(None, cov)
        return ef.min_volatility()

    return run


def osqp_minvar(d):
    import osqp
    import scipy.sparse as sp

    n = len(d["mu"])
    P = sp.triu(sp.csc_matrix(2 * d["cov"]), format="csc")
    A = sp.vstack([sp.csc_matrix(np.ones((1, n))), sp.identity(n, format="csc")], format="csc")
    lo = np.concatenate([[1.0], np.zeros(n)])
    hi = np.concatenate([[1.0], np.ones(n)])

    def run():
        m = osqp.OSQP()
        m.setup(P, np.zeros(n), A, lo, hi, verbose=False, eps_abs=1e-8, eps_rel=1e-8, polishing=True)
        return m.solve().x

    return run


# ---------------------------------------------------------------- max Sharpe
def pm_sharpe(d):
    return lambda: po.max_sharpe(d["mu"], d["cov"])


def skfolio_sharpe(d):
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    r, _, _ = d["frames"]
    return lambda: MeanRisk(objective_function=ObjectiveFunction.MAXIMIZE_RATIO).fit(r)


def pypfopt_sharpe(d):
    from pypfopt import EfficientFrontier

    _, mu, cov = d["frames"]

    def run():
        return EfficientFrontier(mu, cov, solver="CLARABEL").max_sharpe(risk_free_rate=0.0)

    return run


# ---------------------------------------------------------------- sector-capped utility
def _sector_kw(d):
    return dict(upper=0.05, groups=d["sectors"].tolist(), group_upper=0.2)


def pm_sector(d):
    kw = _sector_kw(d)
    return lambda: po.max_utility(d["mu"], d["cov"], risk_aversion=5, **kw)


def pypfopt_sector(d):
    from pypfopt import EfficientFrontier

    _, mu, cov = d["frames"]
    mapper = dict(zip(d["names"], d["sectors"]))
    upper = {s: 0.2 for s in set(d["sectors"])}

    def run():
        ef = EfficientFrontier(mu, cov, weight_bounds=(0, 0.05))
        ef.add_sector_constraints(mapper, {}, upper)
        return ef.max_quadratic_utility(risk_aversion=5)

    return run


# ---------------------------------------------------------------- frontier (50 points)
def pm_frontier(d):
    return lambda: po.efficient_frontier(d["mu"], d["cov"], n_points=50)


def pypfopt_frontier(d):
    from pypfopt import EfficientFrontier

    _, mu, cov = d["frames"]
    f = po.efficient_frontier(d["mu"], d["cov"], n_points=50)
    targets = f.expected_return[1:-1]

    def run():
        out = []
        for t in targets:  # PyPortfolioOpt has no frontier call: one problem per point
            ef = EfficientFrontier(mu, cov, solver="CLARABEL")
            out.append(ef.efficient_return(float(t)))
        return out

    return run


def skfolio_frontier(d):
    from skfolio.optimization import MeanRisk

    r, _, _ = d["frames"]
    return lambda: MeanRisk(efficient_frontier_size=50).fit(r)


# ---------------------------------------------------------------- equal risk contribution
def pm_erc(d):
    return lambda: po.risk_parity(d["cov"])


def rpp_erc(d):
    import riskparityportfolio as rpp

    n = len(d["mu"])
    b = np.full(n, 1.0 / n)
    return lambda: rpp.vanilla.design(d["cov"], b)


def rc_error(cov, w) -> float:
    """Largest relative error of the risk contributions of ``w`` against equal budgets."""
    w = np.asarray(w, dtype=float).ravel()
    rc = w * (cov @ w) / (w @ cov @ w)
    return float(np.max(np.abs(rc * len(w) - 1.0)))


def pm_erc_at_rpp_accuracy(d):
    """pmcore stopped at the accuracy riskparityportfolio's default reaches on the same data."""
    tol = 1e-2
    if available("riskparityportfolio"):
        import riskparityportfolio as rpp

        tol = rc_error(d["cov"], rpp.vanilla.design(d["cov"], np.full(len(d["mu"]), 1.0 / len(d["mu"]))))
    return lambda: po.risk_parity(d["cov"], tol=tol)


def rpp_erc_accurate(d):
    """riskparityportfolio run to pmcore's accuracy: risk contributions equal to 1e-8 relative or better
    (its default tol=1e-4 is absolute on the shares and stops at about 1 % relative error at N = 500)."""
    import riskparityportfolio as rpp

    n = len(d["mu"])
    b = np.full(n, 1.0 / n)
    return lambda: rpp.vanilla.design(d["cov"], b, 1e-11, 10_000)


def skfolio_erc(d):
    from skfolio.optimization import RiskBudgeting

    r, _, _ = d["frames"]
    return lambda: RiskBudgeting().fit(r)


def riskfolio_erc(d):
    import riskfolio as rp

    r, mu, cov = d["frames"]

    def run():
        port = rp.Portfolio(returns=r)
        port.mu, port.cov = mu.to_frame().T, cov
        return port.rp_optimization(model="Classic", rm="MV", hist=True)

    return run


# ---------------------------------------------------------------- HRP
def pm_hrp(d):
    return lambda: po.hrp(d["cov"], linkage="ward", optimal_ordering=True)


def skfolio_hrp(d):
    from skfolio.optimization import HierarchicalRiskParity

    r, _, _ = d["frames"]
    return lambda: HierarchicalRiskParity().fit(r)


# ---------------------------------------------------------------- min CVaR
def pm_cvar(d):
    return lambda: po.min_cvar(d["returns"], beta=0.95)


def skfolio_cvar(d):
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk

    r, _, _ = d["frames"]
    return lambda: MeanRisk(risk_measure=RiskMeasure.CVAR, cvar_beta=0.95).fit(r)


def riskfolio_cvar(d):
    import riskfolio as rp

    r, mu, cov = d["frames"]

    def run():
        port = rp.Portfolio(returns=r, alpha=0.05)
        port.mu, port.cov = mu.to_frame().T, cov
        return port.optimization(model="Classic", rm="CVaR", obj="MinRisk", hist=True)

    return run


# ---------------------------------------------------------------- Black-Litterman + max Sharpe
def pm_bl(d):
    views = {d["names"].index(a): q for a, q in _views(d).items()}  # numpy input: ids are positions

    w_eq = np.full(len(d["mu"]), 1.0 / len(d["mu"]))

    def run():  # skfolio's default prior: equilibrium returns of equal weights, risk aversion 1
        bl = po.black_litterman(d["cov"], market_weights=w_eq, risk_aversion=1.0, views=views)
        return po.max_sharpe(bl.mu, bl.cov)

    return run


def skfolio_bl(d):
    from skfolio.optimization import MeanRisk, ObjectiveFunction
    from skfolio.prior import BlackLitterman

    r, _, _ = d["frames"]
    # skfolio works on daily returns: the same views, de-annualized
    views = [f"{a} == {q / 252:.12f}" for a, q in _views(d).items()]  # fixed point: skfolio parses no exponents
    return lambda: MeanRisk(objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
                            prior_estimator=BlackLitterman(views=views)).fit(r)


WORKLOADS: dict[str, dict] = {
    "min_variance": {"pmcore": pm_minvar, "pypfopt": pypfopt_minvar, "osqp": osqp_minvar},
    "max_sharpe": {"pmcore": pm_sharpe, "skfolio": skfolio_sharpe, "pypfopt": pypfopt_sharpe},
    "sector_utility": {"pmcore": pm_sector, "pypfopt": pypfopt_sector},
    "frontier_50": {"pmcore": pm_frontier, "pypfopt": pypfopt_frontier, "skfolio": skfolio_frontier},
    "erc": {"pmcore": pm_erc, "riskparityportfolio": rpp_erc, "riskparityportfolio_rc_1e-8": rpp_erc_accurate,
            "skfolio": skfolio_erc, "riskfolio": riskfolio_erc},
    "erc_rpp_accuracy": {"pmcore": pm_erc_at_rpp_accuracy, "riskparityportfolio": rpp_erc},
    "hrp": {"pmcore": pm_hrp, "skfolio": skfolio_hrp},
    "min_cvar": {"pmcore": pm_cvar, "skfolio": skfolio_cvar, "riskfolio": riskfolio_cvar},
    "bl_max_sharpe": {"pmcore": pm_bl, "skfolio": skfolio_bl},
}
MODULES = {"pypfopt": "pypfopt", "osqp": "osqp", "skfolio": "skfolio", "riskfolio": "riskfolio",
           "riskparityportfolio": "riskparityportfolio", "pmcore": "pmcore"}


def available(impl: str) -> bool:
    if impl.startswith("riskparityportfolio"):
        return have("riskparityportfolio") and have("jax")
    return have(MODULES[impl])


def prepare(n: int) -> dict:
    import optimize_data as od

    d = od.make_data(n)
    d["frames"] = od.frames(d)
    return d


def quiet():
    warnings.simplefilter("ignore")
