"""Exceptions raised by pmcore.

Every error pmcore raises on purpose derives from :class:`PmcoreError`, so a
service can catch one class. Bad input raises :class:`ValidationError`, which is
also a :class:`ValueError`, and names the argument, the column, the first
offending row and value, and what was expected.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PmcoreError", "ValidationError"]


class PmcoreError(Exception):
    """Base class of every error raised by pmcore."""


class ValidationError(PmcoreError, ValueError):
    """Input that breaks a documented rule.

    Parameters
    ----------
    message : str
        What is wrong, in one sentence.
    argument : str, optional
        Name of the offending function argument (``"positions"``).
    column : str, optional
        Name of the offending column, if any.
    row : int, optional
        Position (0-based) of the first offending row in the caller's input.
    value : object, optional
        The offending value as received.
    expected : str, optional
        The rule the value breaks (``"a finite number > 0"``).
    hint : str, optional
        How to fix the input.

    Examples
    --------
    >>> from pmcore.errors import ValidationError
    >>> err = ValidationError("bad price", argument="prices", column="price",
    ...                       row=3, value=-1.0, expected="a finite number > 0")
    >>> print(err)
    prices: column 'price', row 3: bad price; got -1.0, expected a finite number > 0
    >>> isinstance(err, ValueError)
    True
    """

    def __init__(
        self,
        message: str,
        *,
        argument: str | None = None,
        column: str | None = None,
        row: int | None = None,
        value: Any = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.argument = argument
        self.column = column
        self.row = row
        self.value = value
        self.expected = expected
        self.hint = hint
        where = []
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        prefix = f"{argument}: " if argument else ""
        if where:
            prefix += ", ".join(where) + ": "
        text = prefix + message
        if value is not None:
            text += f"; got {value!r}"
        if expected is not None:
            text += f", expected {expected}" if value is not None else f"; expected {expected}"
        if hint:
            text += f". Hint: {hint}"
        super().__init__(text)
