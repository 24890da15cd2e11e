"""Exact money: int64 fixed-point units at a declared scale.

An amount ``x`` at scale ``s`` is stored as the integer ``x * 10**s``
("units"). The ledger's scale is at least 8 decimals, so one unit is at most
``1e-8`` of a currency unit. Sums of units are exact; an int64 sum that would
leave the range raises instead of wrapping.
"""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Decimal,
    InvalidOperation,
)
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError

__all__ = [
    "DEFAULT_SCALE",
    "INT64_MAX",
    "MAX_SCALE",
    "MIN_SCALE",
    "check_scale",
    "from_units",
    "round_units",
    "to_units",
    "units_column",
    "units_to_arrow",
]

DEFAULT_SCALE = 8
MIN_SCALE = 8
MAX_SCALE = 12
INT64_MAX = (1 << 63) - 1

_ROUNDING = {"half_even": ROUND_HALF_EVEN, "floor": ROUND_FLOOR, "ceiling": ROUND_CEILING}


def check_scale(scale: Any) -> int:
    """Return ``scale`` as an int after checking ``MIN_SCALE <= scale <= MAX_SCALE``.

    Examples
    --------
    >>> check_scale(8)
    8
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not (
            MIN_SCALE <= int(scale) <= MAX_SCALE):
        raise ValidationError("is not a supported fixed-point scale", argument="scale", value=scale,
                              expected=f"an integer from {MIN_SCALE} to {MAX_SCALE} (decimals)")
    return int(scale)


def _check_range(units: int, arg: str, value: Any) -> int:
    if not -INT64_MAX <= units <= INT64_MAX:
        raise ValidationError("does not fit the int64 fixed-point range", argument=arg, value=value,
                              expected=f"|amount| <= {INT64_MAX} units",
                              hint="split very large amounts or use a smaller scale")
    return units


def to_units(value: Any, scale: int = DEFAULT_SCALE, *, argument: str = "amount") -> int:
    """Convert one amount to integer units at ``scale``, exactly.

    Parameters
    ----------
    value : Decimal, str, int, Fraction or float
        The amount. A float is read as its shortest decimal repr (``0.1`` is
        ``Decimal("0.1")``); pass a Decimal or a string where exactness matters.
    scale : int
        Decimals of one unit (8 to 12).
    argument : str, keyword-only
        Name used in error messages.

    Returns
    -------
    int
        ``value * 10**scale``.

    Notes
    -----
    A value with more decimals than ``scale`` is refused, never rounded, and so
    is a value outside the int64 range, NaN or infinity.

    Examples
    --------
    >>> to_units("1.25")
    125000000
    >>> to_units(0.1)
    10000000
    """
    if isinstance(value, bool):
        raise ValidationError("is a bool", argument=argument, value=value, expected="an amount")
    try:
        if isinstance(value, (int, np.integer)):
            return _check_range(int(value) * 10**scale, argument, value)
        if isinstance(value, Fraction):
            q = value * 10**scale
            if q.denominator != 1:
                raise ValidationError("has more decimals than the ledger scale", argument=argument,
                                      value=value, expected=f"at most {scale} decimals")
            return _check_range(int(q), argument, value)
        if isinstance(value, (float, np.floating)):
            d = Decimal(repr(float(value)))
        else:
            d = Decimal(value) if isinstance(value, (Decimal, str)) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError("is not an amount", argument=argument, value=value,
                              expected="a decimal number") from None
    if not d.is_finite():
        raise ValidationError("is not finite", argument=argument, value=value,
                              expected="a finite amount")
    q = d.scaleb(scale)
    if q != q.to_integral_value():
        raise ValidationError("has more decimals than the ledger scale", argument=argument,
                              value=value, expected=f"at most {scale} decimals")
    return _check_range(int(q), argument, value)


def from_units(units: int, scale: int = DEFAULT_SCALE) -> Decimal:
    """Return integer ``units`` at ``scale`` as an exact Decimal.

    Notes
    -----
    The Decimal has exactly ``scale`` decimals (zero prints as ``0E-8``);
    use ``format(d, "f")`` for a plain string.

    Examples
    --------
    >>> from_units(125000000)
    Decimal('1.25000000')
    """
    return Decimal(int(units)).scaleb(-scale)


def round_units(value: Fraction | Decimal, scale: int, rounding: str = "half_even") -> int:
    """Round an exact amount (Fraction or Decimal, in currency) to integer units.

    Examples
    --------
    >>> from fractions import Fraction
    >>> round_units(Fraction(1, 3), 8)
    33333333
    >>> round_units(Fraction(1, 3), 8, "ceiling")
    33333334
    """
    q = Fraction(value) * 10**scale
    if rounding == "floor":
        return q.numerator // q.denominator
    if rounding == "ceiling":
        return -((-q.numerator) // q.denominator)
    return round(q)  # Fraction rounds half to even


def units_column(table: pa.Table, arg: str, name: str, scale: int) -> np.ndarray:
    """Return column ``name`` of ``table`` as int64 units at ``scale``, exactly.

    Decimal and string columns convert exactly; integer columns are whole
    currency units; float columns are read at their shortest decimal repr and
    must round-trip (a float with more decimals than ``scale`` is refused).

    Examples
    --------
    >>> import pyarrow as pa
    >>> units_column(pa.table({"amount": ["1.5", "-0.25"]}), "t", "amount", 8).tolist()
    [150000000, -25000000]
    """
    from ..frames import require_columns

    require_columns(table, arg, [name])
    arr = table.column(name)
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    t = arr.type
    if len(arr) == 0:
        return np.zeros(0, np.int64)
    if arr.null_count:
        row = int(np.flatnonzero(~np.asarray(arr.is_valid()))[0])
        raise ValidationError("is null", argument=arg, column=name, row=row, expected="an amount")
    if pa.types.is_integer(t):
        v = arr.to_numpy(zero_copy_only=False).astype(np.int64)
        limit = INT64_MAX // 10**scale
        bad = np.flatnonzero(np.abs(v) > limit)
        if len(bad):
            r = int(bad[0])
            raise ValidationError("does not fit the int64 fixed-point range", argument=arg,
                                  column=name, row=r, value=int(v[r]),
                                  expected=f"|amount| <= {limit}")
        return v * np.int64(10**scale)
    if not (pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_string(t)
            or pa.types.is_large_string(t) or pa.types.is_string_view(t)):
        raise ValidationError("has the wrong type", argument=arg, column=name, value=str(t),
                              expected="a decimal, string, integer or float amount column")
    if pa.types.is_string_view(t):
        arr = arr.cast(pa.large_string())
    target = pa.decimal128(38, scale)
    if pa.types.is_floating(arr.type):
        f = arr.to_numpy(zero_copy_only=False).astype(np.float64)
        bad = ~np.isfinite(f)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise ValidationError("holds an invalid value", argument=arg, column=name, row=r,
                                  value=float(f[r]), expected="a finite amount")
        return _float_units(f, arg, name, scale)
    else:
        try:
            dec = arr.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            for r in range(len(arr)):
                try:
                    to_units(arr[r].as_py(), scale)
                except ValidationError as exc:
                    raise ValidationError(exc.args[0].split(": ", 1)[-1].split(";")[0],
                                          argument=arg, column=name, row=r,
                                          value=arr[r].as_py(), expected=exc.expected) from None
            raise  # pragma: no cover - every row converts one by one yet not as a column
    words = np.frombuffer(dec.buffers()[1], dtype=np.int64)[2 * dec.offset: 2 * (dec.offset + len(dec))]
    lo, hi = words[0::2], words[1::2]
    bad = hi != (lo >> 63)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ValidationError("does not fit the int64 fixed-point range", argument=arg, column=name,
                              row=r, value=str(arr[r].as_py()), expected=f"|amount| <= {INT64_MAX} units")
    return lo.copy()


def _float_units(f: np.ndarray, arg: str, name: str, scale: int) -> np.ndarray:
    """Floats to units at their shortest decimal repr; refuse those with more decimals."""
    big = np.abs(f) >= 2.0**52 / 10**scale
    units = np.round(f * 10**scale)
    ok = (units / 10**scale == f) | big
    out = units.astype(np.int64)
    for r in np.flatnonzero(big).tolist():
        out[r] = to_units(float(f[r]), scale, argument=arg)
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        raise ValidationError("has more decimals than the ledger scale", argument=arg,
                              column=name, row=r, value=float(f[r]),
                              expected=f"at most {scale} decimals",
                              hint="pass amounts as decimals or strings")
    return out


def units_to_arrow(units: np.ndarray, scale: int, valid: np.ndarray | None = None) -> pa.Array:
    """Return int64 ``units`` as an exact Arrow ``decimal128(38, scale)`` array.

    ``valid`` (bool, optional) marks the non-null entries.

    Examples
    --------
    >>> import numpy as np
    >>> units_to_arrow(np.array([150000000], np.int64), 8).to_pylist()
    [Decimal('1.50000000')]
    """
    u = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty(2 * len(u), np.int64)
    words[0::2] = u
    words[1::2] = u >> 63
    bitmap = None if valid is None else pa.py_buffer(np.packbits(np.asarray(valid, np.bool_),
                                                                 bitorder="little"))
    nulls = -1 if valid is None else int(len(u) - np.count_nonzero(valid))
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(u), [bitmap, pa.py_buffer(words)],
                                 null_count=nulls)
