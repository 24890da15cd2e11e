r"""Multi-period linking of single-period attribution effects.

Single-period effects add up to the arithmetic active return of their period,
:math:`R_t - B_t`, but those do not add up over periods to the compounded
active return :math:`R - B` with :math:`1 + R = \prod_t (1 + R_t)` and
:math:`1 + B = \prod_t (1 + B_t)`. Linking scales each period's effects so
that they do. With :math:`a_t = R_t - B_t` and :math:`T` periods:

Carino (1999)
    .. math::

        k_t = \frac{\ln(1+R_t) - \ln(1+B_t)}{R_t - B_t},\quad
        k = \frac{\ln(1+R) - \ln(1+B)}{R - B},\quad
        \text{linked} = \sum_t \frac{k_t}{k} e_t

    (with the limits :math:`1/(1+R_t)` and :math:`1/(1+R)` when the two
    returns are equal).

Menchero (2000)
    .. math::

        M = \frac{(R - B)/T}{(1+R)^{1/T} - (1+B)^{1/T}},\quad
        \alpha_t = \frac{R - B - M \sum_s a_s}{\sum_s a_s^2}\, a_t,\quad
        \text{linked} = \sum_t (M + \alpha_t)\, e_t

    (:math:`M = (1+R)^{(T-1)/T}` when :math:`R = B`, :math:`\alpha_t = 0`
    when every :math:`a_t = 0`).

GRAP (1997)
    .. math::

        \text{linked} = \sum_t e_t \prod_{s<t}(1 + R_s) \prod_{s>t}(1 + B_s)

Frongello (2002)
    .. math::

        G_t = e_t \prod_{s<t}(1 + R_s) + B_t \sum_{s<t} G_s,\qquad
        \text{linked} = \sum_t G_t

    whose linked totals equal GRAP's (the per-period terms differ).

All four are *arithmetic*: linked effects sum exactly to :math:`R - B`. The
*geometric* alternative measures the excess return as
:math:`(1+R)/(1+B) - 1` and compounds geometric effects period by period
without any smoothing of the totals: see
:func:`pmcore.attribution.geometric_brinson`.
"""

from __future__ import annotations

from ..kernels.attribution import CARINO, FRONGELLO, GRAP, MENCHERO

__all__ = ["LINKING_METHODS"]

#: linking option of the public functions -> kernel code
LINKING_METHODS = {None: None, "carino": CARINO, "menchero": MENCHERO, "grap": GRAP,
                   "frongello": FRONGELLO}
