"""Portfolio optimization: estimators, mean-variance, Black-Litterman, risk parity, HRP, CVaR.

Pure functions: data positional (expected returns, covariance or a returns
matrix; asset ids from column names), options keyword-only, results as frozen
dataclasses (:class:`OptimizeResult`, :class:`Frontier`).
"""

from __future__ import annotations

from .blacklitterman import BlackLittermanResult, black_litterman, implied_returns, market_risk_aversion
from .constraints import Constraints
from .errors import InfeasibleError, OptimizationError, SolverError, UnboundedError
from .scenarios import cvar, min_cvar
from .estimators import (
    capm_returns,
    check_covariance,
    ewm_covariance,
    factor_covariance,
    ledoit_wolf,
    mean_returns,
    nearest_psd,
    sample_covariance,
)
from .frontier import efficient_frontier
from .hierarchical import hrp
from .multiobjective import multi_objective, pareto_frontier
from .problems import efficient_return, efficient_risk, max_sharpe, max_utility, min_variance
from .results import Frontier, OptimizeResult
from .riskbudget import risk_parity
from .robust import robust_mean_variance

__all__ = [
    "BlackLittermanResult",
    "Constraints",
    "black_litterman",
    "implied_returns",
    "market_risk_aversion",
    "Frontier",
    "InfeasibleError",
    "OptimizationError",
    "OptimizeResult",
    "SolverError",
    "UnboundedError",
    "capm_returns",
    "check_covariance",
    "cvar",
    "efficient_frontier",
    "efficient_return",
    "efficient_risk",
    "ewm_covariance",
    "factor_covariance",
    "hrp",
    "ledoit_wolf",
    "max_sharpe",
    "max_utility",
    "mean_returns",
    "min_cvar",
    "min_variance",
    "multi_objective",
    "nearest_psd",
    "pareto_frontier",
    "risk_parity",
    "robust_mean_variance",
    "sample_covariance",
]
