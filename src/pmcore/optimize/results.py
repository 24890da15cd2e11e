"""Result objects of :mod:`pmcore.optimize`: frozen dataclasses with frame conversions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["OptimizeResult", "Frontier"]


def _fmt(v: float) -> str:
    return "nan" if v is None or not np.isfinite(v) else f"{v:.6g}"


@dataclass(frozen=True, repr=False)
class OptimizeResult:
    """One optimized portfolio.

    Attributes
    ----------
    assets : tuple
        Asset ids, in the order of the covariance columns.
    x : numpy.ndarray, shape (n_assets,)
        Clean weights: values within ``1e-10`` of a bound snapped to it, the
        budget exact to rounding. ``weights`` is the same keyed by asset id.
    x_raw : numpy.ndarray, shape (n_assets,)
        The solver's weights before cleaning.
    fun : float
        Objective value at ``x`` (variance, negative utility, CVaR, ...; see
        ``objective``).
    objective : str
        What ``fun`` measures.
    status : str
        ``"optimal"`` (every failure raises instead).
    message : str
        Human-readable solver message.
    expected_return, volatility, sharpe : float
        Portfolio moments in the units of the inputs (NaN when expected
        returns were not given); ``sharpe = (expected_return - risk_free) /
        volatility``.
    risk_contributions : numpy.ndarray, shape (n_assets,)
        Fractions of portfolio variance, ``w_i (Sigma w)_i / w' Sigma w``,
        summing to one.
    turnover : float
        ``sum |w - current|`` (NaN without current weights).
    binding : tuple of str
        Constraints active at the solution, e.g. ``"upper[AAPL]"``,
        ``"group_upper[Tech]"``.
    solver : str
        Which method produced the answer.
    iterations : int
    time_s : float
        Wall-clock seconds of the solve.
    """

    assets: tuple
    x: np.ndarray
    x_raw: np.ndarray
    fun: float
    objective: str
    expected_return: float
    volatility: float
    sharpe: float
    risk_contributions: np.ndarray
    turnover: float
    binding: tuple
    solver: str
    iterations: int
    time_s: float
    status: str = "optimal"
    message: str = "optimal solution found"
    extra: dict = field(default_factory=dict)

    @property
    def weights(self) -> dict:
        """Clean weights keyed by asset id."""
        return dict(zip(self.assets, self.x.tolist()))

    @property
    def success(self) -> bool:
        return self.status == "optimal"

    def to_arrow(self) -> pa.Table:
        """Table with columns ``asset``, ``weight``, ``weight_raw``, ``risk_contribution``."""
        return pa.table({
            "asset": [str(a) for a in self.assets] if not all(isinstance(a, int) for a in self.assets)
            else list(self.assets),
            "weight": self.x,
            "weight_raw": self.x_raw,
            "risk_contribution": self.risk_contributions,
        })

    def to_pandas(self) -> Any:
        """pandas DataFrame indexed by asset (columns as :meth:`to_arrow`)."""
        return self.to_arrow().to_pandas().set_index("asset")

    def to_polars(self) -> Any:
        """polars DataFrame (columns as :meth:`to_arrow`)."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __repr__(self) -> str:
        order = np.argsort(-np.abs(self.x), kind="stable")
        held = int(np.sum(np.abs(self.x) > 0))
        top = ", ".join(f"{self.assets[i]}: {self.x[i]:.4f}" for i in order[:8] if self.x[i] != 0)
        more = f", ... ({held} held of {len(self.assets)})" if held > 8 else f" ({held} held of {len(self.assets)})"
        lines = [
            f"OptimizeResult({self.objective}, status={self.status!r}, solver={self.solver!r}, "
            f"time={self.time_s * 1e3:.2f} ms)",
            f"  expected_return={_fmt(self.expected_return)}  volatility={_fmt(self.volatility)}  "
            f"sharpe={_fmt(self.sharpe)}  fun={_fmt(self.fun)}",
            f"  weights: {{{top}{'}'}{more}",
        ]
        if np.isfinite(self.turnover):
            lines.append(f"  turnover={_fmt(self.turnover)}")
        if self.binding:
            shown = ", ".join(self.binding[:6]) + (", ..." if len(self.binding) > 6 else "")
            lines.append(f"  binding: {shown}")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class Frontier:
    """Points of an efficient (or Pareto) frontier.

    Attributes
    ----------
    assets : tuple
    weights : numpy.ndarray, shape (n_points, n_assets)
        Clean weights of each point.
    expected_return, volatility, sharpe : numpy.ndarray, shape (n_points,)
    objectives : dict of str to numpy.ndarray
        Other per-point measures (e.g. ``"cvar"`` for a Pareto frontier).
    solver : str
    time_s : float
    """

    assets: tuple
    weights: np.ndarray
    expected_return: np.ndarray
    volatility: np.ndarray
    sharpe: np.ndarray
    solver: str
    time_s: float
    objectives: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.weights.shape[0]

    def to_arrow(self) -> pa.Table:
        """One row per point: ``point``, ``expected_return``, ``volatility``, ``sharpe``, other
        objectives, then one weight column per asset."""
        cols: dict[str, Any] = {
            "point": np.arange(len(self)),
            "expected_return": self.expected_return,
            "volatility": self.volatility,
            "sharpe": self.sharpe,
        }
        cols.update(self.objectives)
        for j, a in enumerate(self.assets):
            cols[str(a)] = self.weights[:, j]
        return pa.table(cols)

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __repr__(self) -> str:
        if len(self) == 0:
            return "Frontier(0 points)"
        return (f"Frontier({len(self)} points, {len(self.assets)} assets, solver={self.solver!r}, "
                f"time={self.time_s * 1e3:.1f} ms)\n"
                f"  volatility {_fmt(self.volatility.min())} .. {_fmt(self.volatility.max())}, "
                f"expected_return {_fmt(self.expected_return.min())} .. {_fmt(self.expected_return.max())}, "
                f"best sharpe {_fmt(np.nanmax(self.sharpe))}")
