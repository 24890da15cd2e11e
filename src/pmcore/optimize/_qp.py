"""A dense convex QP solver by primal-dual active sets, exact at the solution.

    minimize    1/2 x' P x + q' x
    subject to  A x = b,  G x <= h,  lo <= x <= hi

Each iteration solves the equality-constrained problem on the current active
set (Cholesky of ``P_FF`` and a small Schur complement for the constraint rows)
and updates the sets from the signs of the multipliers and the violations
(Hintermüller, Ito & Kunisch 2002, "The primal-dual active set strategy as a
semismooth Newton method"). When the sets repeat, the KKT conditions hold to
rounding: constraint violations are ~1e-15 and no solver tolerance is involved.
The active set is returned so that a sequence of related problems (a frontier)
starts each solve from the previous answer. Failure to converge (cycling,
degenerate or dependent active rows) returns ``None``; callers fall back to a
general conic solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["QPSolution", "solve_qp"]


@dataclass
class QPSolution:
    x: np.ndarray
    nu_eq: np.ndarray  # multipliers of A x = b
    nu_in: np.ndarray  # multipliers of G x <= h (>= 0)
    z: np.ndarray  # bound multipliers: > 0 at lo, < 0 at hi (gradient of the Lagrangian)
    state: np.ndarray  # -1 at lo, +1 at hi, 0 free
    active: np.ndarray  # active rows of G
    iterations: int


def _solve_eq(P, q, A, b, G, h, lo, hi, state, active):
    import scipy.linalg as sla  # loaded on first solve, not on import

    free = state == 0
    xb = np.where(state < 0, lo, np.where(state > 0, hi, 0.0))
    xb[free] = 0.0
    C = np.vstack([A, G[active]]) if active.any() else A
    d = np.concatenate([b, h[active]]) if active.any() else b
    fi = np.flatnonzero(free)
    x = xb.copy()
    if len(fi) == 0:
        if C.shape[0] and np.max(np.abs(C @ x - d)) > 1e-9 * (1 + np.max(np.abs(d))):
            return None
        nu = np.zeros(C.shape[0])
        if C.shape[0]:
            # multipliers by least squares on the stationarity of fixed variables
            g0 = P @ x + q
            nu = np.linalg.lstsq(C.T, -g0, rcond=None)[0]
        return x, nu
    r = -q[fi] - P[np.ix_(fi, ~free)] @ xb[~free] if (~free).any() else -q[fi]
    Pff = P[np.ix_(fi, fi)]
    try:
        cf = sla.cho_factor(Pff, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    y = sla.cho_solve(cf, r, check_finite=False)
    if C.shape[0] == 0:
        x[fi] = y
        return x, np.zeros(0)
    Cf = C[:, fi]
    dd = d - (C[:, ~free] @ xb[~free] if (~free).any() else 0.0)
    Z = sla.cho_solve(cf, Cf.T, check_finite=False)
    S = Cf @ Z
    try:
        nu = np.linalg.solve(S, Cf @ y - dd)
    except np.linalg.LinAlgError:
        return None
    if np.linalg.cond(S) > 1e13:
        return None
    x[fi] = y - Z @ nu
    return x, nu


def _sanitize(state, score, A, b, G, h, hi, active):
    """Release upper-bound fixings that alone overfill a sum-type row (budget, group cap).

    A 0/1 row ``sum_S x <= cap`` (or the budget) cannot hold when the members
    fixed at their caps already exceed it; releasing the least violated ones keeps
    the next subproblem solvable (the plain update can overshoot from a poor start).
    """
    rows = [(A[i], b[i]) for i in range(A.shape[0])] + [(G[i], h[i]) for i in range(G.shape[0])]
    state = state.copy()
    for row, cap in rows:
        if not np.all((row == 0) | (row == 1)):
            continue
        at_hi = np.flatnonzero((row == 1) & (state > 0))
        if len(at_hi) == 0:
            continue
        total = hi[at_hi].sum()
        if total <= cap:
            continue
        for i in at_hi[np.argsort(score[at_hi], kind="stable")]:
            state[i] = 0
            total -= hi[i]
            if total <= cap:
                break
    return state


def solve_qp(P, q, A, b, G, h, lo, hi, *, state=None, active=None, max_iter: int = 200):
    """Solve the QP; ``None`` when the active-set iteration does not settle."""
    n = P.shape[0]
    m_eq = A.shape[0]
    if state is None:
        state = np.zeros(n, np.int8)
    state = state.copy()
    state[lo == hi] = -1
    if active is None or len(active) != G.shape[0]:
        base = np.zeros(G.shape[0], bool)
        if active is not None:  # warm start from a problem with fewer rows: keep the shared prefix
            k = min(len(active), G.shape[0])
            base[:k] = active[:k]
        active = base
    else:
        active = active.copy()
    scale = max(float(np.max(np.abs(np.diag(P)))) if n else 1.0, 1e-300)
    c = scale
    xscale = max(1.0, float(np.max(np.abs(np.where(np.isfinite(lo), lo, 0)))),
                 float(np.max(np.abs(np.where(np.isfinite(hi), hi, 0)))))
    tx = 1e-13 * xscale
    seen: set = set()
    out = _solve_eq(P, q, A, b, G, h, lo, hi, state, active)
    if out is None:
        return None
    for it in range(1, max_iter + 1):
        x, nu = out
        nu_eq, nu_act = nu[:m_eq], nu[m_eq:]
        nu_in = np.zeros(G.shape[0])
        nu_in[active] = nu_act
        g = P @ x + q
        if m_eq:
            g += A.T @ nu_eq
        if active.any():
            g += G[active].T @ nu_act
        gscale = 1e-12 * max(scale * xscale, float(np.max(np.abs(g))) if n else 0.0, 1e-300)
        g = np.where(state == 0, 0.0, g)
        new_state = np.zeros(n, np.int8)
        new_state[(g + c * (lo - x) > gscale) | ((state == 0) & (x < lo - tx))] = -1
        up = (-g + c * (x - hi) > gscale) | ((state == 0) & (x > hi + tx))
        new_state[up & (new_state == 0)] = 1
        new_state[lo == hi] = -1
        gx = G @ x - h if G.shape[0] else np.zeros(0)
        tg = 1e-13 * (1.0 + np.abs(h))
        new_active = np.where(active, nu_in + c * gx > -gscale, gx > tg)
        if np.array_equal(new_state, state) and np.array_equal(new_active, active):
            return QPSolution(x, nu_eq, nu_in, g, state, active, it)
        # safeguard: when the full update gives an unsolvable subproblem, apply the
        # largest half of the changes, then a quarter, ... down to one change
        score_x = np.maximum.reduce([lo - x, x - hi, np.abs(g) / c])
        score_g = np.where(active, -nu_in, gx) if G.shape[0] else np.zeros(0)
        dx = np.flatnonzero(new_state != state)
        dg = np.flatnonzero(new_active != active)
        order = np.argsort(-np.concatenate([score_x[dx], score_g[dg]]), kind="stable")
        changes = np.concatenate([dx, n + dg])[order]
        new_state = _sanitize(new_state, score_x, A, b, G, h, hi, new_active)
        dx = np.flatnonzero(new_state != state)
        order = np.argsort(-np.concatenate([score_x[dx], score_g[dg]]), kind="stable")
        changes = np.concatenate([dx, n + dg])[order]
        k = len(changes)
        while True:
            st, ac = state.copy(), active.copy()
            pick = changes[:k]
            px, pg = pick[pick < n], pick[pick >= n] - n
            st[px] = new_state[px]
            ac[pg] = new_active[pg]
            key = (st.tobytes(), ac.tobytes())
            cand = None if key in seen else _solve_eq(P, q, A, b, G, h, lo, hi, st, ac)
            if cand is not None:
                break
            if k == 1:
                return None
            k = max(1, k // 2)
        seen.add(key)
        state, active, out = st, ac, cand
    return None
