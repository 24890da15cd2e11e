"""pmcore: portfolio analytics on columnar data.

The public face of the library: every name here is a re-export from the module
that owns it. Submodules load on first use (PEP 562), so ``import pmcore`` stays
fast and compiles nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> owning module (relative to this package)
_EXPORTS: dict[str, str] = {
    "PmcoreError": "errors",
    "ValidationError": "errors",
    "Book": "book",
    "Valuation": "valuation",
    "revalue": "valuation",
    "value": "valuation",
    "positions": "valuation",
    "exposures": "exposure",
    "DrawdownDetails": "metrics",
    "TradeStats": "metrics",
    "alpha": "metrics",
    "alpha_beta": "metrics",
    "annual_return": "metrics",
    "annual_volatility": "metrics",
    "best_period": "metrics",
    "beta": "metrics",
    "cagr": "metrics",
    "calmar_ratio": "metrics",
    "conditional_value_at_risk": "metrics",
    "cumulative_returns": "metrics",
    "current_drawdown": "metrics",
    "downside_risk": "metrics",
    "drawdown": "metrics",
    "drawdown_details": "metrics",
    "drawdown_periods": "metrics",
    "information_ratio": "metrics",
    "kurtosis": "metrics",
    "max_drawdown": "metrics",
    "omega_ratio": "metrics",
    "period_returns": "metrics",
    "pivot_returns": "metrics",
    "range_return": "metrics",
    "recovery_factor": "metrics",
    "returns_from_equity": "metrics",
    "rolling_beta": "metrics",
    "rolling_max_drawdown": "metrics",
    "rolling_sharpe": "metrics",
    "rolling_volatility": "metrics",
    "sharpe_ratio": "metrics",
    "skewness": "metrics",
    "sortino_ratio": "metrics",
    "tail_ratio": "metrics",
    "total_return": "metrics",
    "tracking_error": "metrics",
    "trade_pnl": "metrics",
    "trade_stats": "metrics",
    "trade_stats_by": "metrics",
    "value_at_risk": "metrics",
    "worst_period": "metrics",
    "BrinsonResult": "attribution",
    "ContributionResult": "attribution",
    "CurrencyResult": "attribution",
    "FactorRegressionResult": "attribution",
    "HoldingsFactorResult": "attribution",
    "RiskAttributionResult": "attribution",
    "brinson": "attribution",
    "contribution": "attribution",
    "currency_attribution": "attribution",
    "factor_regression": "attribution",
    "holdings_factor_attribution": "attribution",
    "risk_attribution": "attribution",
    "AllocationLimits": "margin",
    "AllocationReport": "margin",
    "Breach": "margin",
    "LimitCheck": "margin",
    "allocation_report": "margin",
    "check_allocation": "margin",
    "correlated_groups": "margin",
    "MarginAlerts": "margin",
    "MarginState": "margin",
    "ModeSwitch": "margin",
    "OrderCheck": "margin",
    "PositionSize": "margin",
    "borrowing_cost": "margin",
    "check_margin_mode_switch": "margin",
    "funding_payments": "margin",
    "maintenance_amounts": "margin",
    "margin_alerts": "margin",
    "margin_state": "margin",
    "max_withdrawal": "margin",
    "position_size": "margin",
    "pre_trade_check": "margin",
    "sample_margin_brackets": "margin",
}

# subpackages reachable as attributes (``pm.metrics``, ``pm.datasets``, ...)
_SUBMODULES = ('datasets', 'report', 'frames', 'kernels', 'metrics', 'attribution', 'margin')

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'pmcore' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .attribution import (  # noqa: F401
        BrinsonResult,
        ContributionResult,
        CurrencyResult,
        FactorRegressionResult,
        HoldingsFactorResult,
        RiskAttributionResult,
        brinson,
        contribution,
        currency_attribution,
        factor_regression,
        holdings_factor_attribution,
        risk_attribution,
    )
    from .book import (  # noqa: F401
        Book,
    )
    from .errors import (  # noqa: F401
        PmcoreError,
        ValidationError,
    )
    from .exposure import (  # noqa: F401
        exposures,
    )
    from .margin import (  # noqa: F401
        AllocationLimits,
        AllocationReport,
        Breach,
        LimitCheck,
        MarginAlerts,
        MarginState,
        ModeSwitch,
        OrderCheck,
        PositionSize,
        allocation_report,
        borrowing_cost,
        check_allocation,
        check_margin_mode_switch,
        correlated_groups,
        funding_payments,
        maintenance_amounts,
        margin_alerts,
        margin_state,
        max_withdrawal,
        position_size,
        pre_trade_check,
        sample_margin_brackets,
    )
    from .metrics import (  # noqa: F401
        DrawdownDetails,
        TradeStats,
        alpha,
        alpha_beta,
        annual_return,
        annual_volatility,
        best_period,
        beta,
        cagr,
        calmar_ratio,
        conditional_value_at_risk,
        cumulative_returns,
        current_drawdown,
        downside_risk,
        drawdown,
        drawdown_details,
        drawdown_periods,
        information_ratio,
        kurtosis,
        max_drawdown,
        omega_ratio,
        period_returns,
        pivot_returns,
        range_return,
        recovery_factor,
        returns_from_equity,
        rolling_beta,
        rolling_max_drawdown,
        rolling_sharpe,
        rolling_volatility,
        sharpe_ratio,
        skewness,
        sortino_ratio,
        tail_ratio,
        total_return,
        tracking_error,
        trade_pnl,
        trade_stats,
        trade_stats_by,
        value_at_risk,
        worst_period,
    )
    from .valuation import (  # noqa: F401
        Valuation,
        positions,
        revalue,
        value,
    )
