"""Typed errors of :mod:`pmcore.optimize`, one per way a solve can fail.

Every solver status maps to one of these classes; each message says what went
wrong and how to fix it (the ``remedy`` attribute holds the second part).
"""

from __future__ import annotations

from ..errors import PmcoreError

__all__ = ["OptimizationError", "InfeasibleError", "UnboundedError", "SolverError"]


class OptimizationError(PmcoreError):
    """Base class of optimization failures.

    Parameters
    ----------
    message : str
        What went wrong.
    remedy : str, optional
        How to fix it; appended to the message.
    conflicts : tuple of str, optional
        Names of the constraints that cannot hold together.
    status : str, optional
        The solver's own status string, for the record.
    """

    def __init__(
        self,
        message: str,
        *,
        remedy: str | None = None,
        conflicts: tuple[str, ...] = (),
        status: str | None = None,
    ) -> None:
        self.remedy = remedy
        self.conflicts = tuple(conflicts)
        self.status = status
        text = message
        if remedy:
            text += f". Remedy: {remedy}"
        super().__init__(text)


class InfeasibleError(OptimizationError):
    """No portfolio satisfies every constraint; ``conflicts`` names the culprits.

    Examples
    --------
    >>> from pmcore.optimize import min_variance, InfeasibleError
    >>> import numpy as np
    >>> try:
    ...     min_variance(np.eye(2), groups=["a", "b"], group_lower={"a": 0.7, "b": 0.6})
    ... except InfeasibleError as err:
    ...     print(err.conflicts)
    ('budget', 'group_lower')
    """


class UnboundedError(OptimizationError):
    """The objective can improve without limit (e.g. leverage left uncapped)."""


class SolverError(OptimizationError):
    """The solver stopped without a reliable answer (iteration limit, numerical trouble)."""
