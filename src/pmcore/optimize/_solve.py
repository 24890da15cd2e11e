"""The solve engine shared by the mean-variance problems.

Two paths, picked per problem:

* ``"active_set"``: the exact primal-dual active-set QP (``_qp.solve_qp``) for
  problems whose constraints are all linear (budget, bounds, groups, ESG,
  exclusions) — fast, warm-startable, violations at rounding level;
* ``"cvxpy"``: a conic model (Clarabel by default) for turnover, transaction
  costs, tracking error and gross leverage, with a fallback solver.

Failures become typed errors; an infeasible problem is diagnosed by an LP
deletion filter over the constraint families, which names the conflict.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..errors import ValidationError
from .constraints import Spec
from .errors import InfeasibleError, SolverError, UnboundedError
from .results import OptimizeResult

KINDS = ("min_variance", "utility", "target_return", "max_sharpe", "max_return")
FAMILY_REMEDY = {
    "budget": "the budget is out of reach of the other constraints",
    "lower": "lower the per-asset floors",
    "upper": "raise the per-asset caps",
    "exclude": "exclude fewer assets",
    "group_lower": "lower the group floors (they must sum to at most the budget)",
    "group_upper": "raise the group caps (they must sum to at least the budget)",
    "min_esg": "lower min_esg or widen the bounds of high-score assets",
    "target_return": "ask for a lower target return",
    "max_turnover": "allow more turnover",
    "max_leverage": "allow more gross leverage",
    "risk_free": "no feasible portfolio earns more than risk_free; lower it or revise expected returns",
}


def cvxpy_module():
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - cvxpy is part of the optimize extra
        raise ImportError("this problem needs cvxpy; install it with pip install 'pmcore[optimize]'") from exc
    return cp


# ---------------------------------------------------------------- diagnosis
def _lp_feasible(spec: Spec, families: set, extra: list) -> bool:
    """Is the linear part of the constraints (restricted to ``families``) feasible?"""
    return _lp(spec, families, extra, None).status == 0


def _lp(spec: Spec, families: set, extra: list, cost):
    """HiGHS LP over the linear(izable) constraints in ``families``; ``cost`` on w (None: feasibility)."""
    from scipy.optimize import linprog

    n = spec.n
    use_t = spec.max_turnover is not None and "max_turnover" in families
    use_s = spec.max_leverage is not None and "max_leverage" in families
    nv = n * (1 + use_t + use_s)
    A_ub, b_ub, A_eq, b_eq = [], [], [], []
    if "budget" in families:
        row = np.zeros(nv)
        row[:n] = 1.0
        A_eq.append(row)
        b_eq.append(spec.budget)
    for r, hv, fam in zip(spec.G, spec.h, spec.row_families):
        if fam in families:
            row = np.zeros(nv)
            row[:n] = r
            A_ub.append(row)
            b_ub.append(hv)
    for fam, r, hv in extra:
        if fam in families:
            row = np.zeros(nv)
            row[:n] = r
            A_ub.append(row)
            b_ub.append(hv)
    off = n
    eye = np.eye(n)
    if use_t:  # |w - c| <= t, sum t <= T
        w0 = spec.current
        A_ub.extend(np.hstack([eye, -eye, np.zeros((n, nv - 2 * n))]))
        b_ub.extend(w0)
        A_ub.extend(np.hstack([-eye, -eye, np.zeros((n, nv - 2 * n))]))
        b_ub.extend(-w0)
        row = np.zeros(nv)
        row[off:off + n] = 1.0
        A_ub.append(row)
        b_ub.append(spec.max_turnover)
        off += n
    if use_s:
        blk = np.zeros((n, nv))
        blk[:, :n] = eye
        blk[:, off:off + n] = -eye
        A_ub.extend(blk)
        b_ub.extend(np.zeros(n))
        blk2 = blk.copy()
        blk2[:, :n] = -eye
        A_ub.extend(blk2)
        b_ub.extend(np.zeros(n))
        row = np.zeros(nv)
        row[off:off + n] = 1.0
        A_ub.append(row)
        b_ub.append(spec.max_leverage)
    lo = np.where(spec.excluded & ("exclude" in families), 0.0,
                  spec.lower_given if "lower" in families else -np.inf)
    hi_base = np.where(spec.excluded, np.inf, spec.hi) if "exclude" not in families else spec.hi
    hi = np.where(spec.excluded & ("exclude" in families), 0.0, hi_base if "upper" in families else np.inf)
    if "exclude" not in families:
        lo = np.where(spec.excluded, -np.inf if "lower" not in families else spec.lower_given, lo)
    bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b) for a, b in zip(lo, hi)]
    bounds += [(0, None)] * (nv - n)
    c = np.zeros(nv)
    if cost is not None:
        c[:n] = cost
    return linprog(c, A_ub=np.array(A_ub) if A_ub else None, b_ub=np.array(b_ub) if b_ub else None,
                  A_eq=np.array(A_eq) if A_eq else None, b_eq=np.array(b_eq) if b_eq else None,
                  bounds=bounds, method="highs")


def families_of(spec: Spec, extra: list) -> list:
    fams = ["budget", "lower", "upper"]
    if spec.excluded.any():
        fams.append("exclude")
    fams += list(dict.fromkeys(spec.row_families))
    fams += [f for f, *_ in extra if f not in fams]
    if spec.max_turnover is not None:
        fams.append("max_turnover")
    if spec.max_leverage is not None:
        fams.append("max_leverage")
    return fams


def diagnose(spec: Spec, extra: list) -> tuple[str, ...] | None:
    """Names of a minimal conflicting set of constraint families, or None if the linear part is feasible."""
    fams = families_of(spec, extra)
    if _lp_feasible(spec, set(fams), extra):
        return None
    keep = list(fams)
    for f in fams:
        trial = [g for g in keep if g != f]
        if not _lp_feasible(spec, set(trial), extra):
            keep = trial
    return tuple(keep)


def raise_infeasible(spec: Spec, extra: list, *, status: str | None = None) -> None:
    conflicts = diagnose(spec, extra)
    if conflicts is None:
        if spec.max_tracking_error is not None:
            conflicts = ("max_tracking_error",)
            remedy = "allow a larger tracking error or move the bounds toward the benchmark"
        else:
            raise SolverError("the solver reported infeasibility but the constraints admit a portfolio",
                              remedy="retry with solver='CLARABEL' or another fallback_solver; "
                                     "rescale expected returns and covariance", status=status)
    else:
        remedy = "; ".join(FAMILY_REMEDY.get(f, f) for f in conflicts if f in FAMILY_REMEDY)
    raise InfeasibleError(f"no portfolio satisfies these constraints together: {', '.join(conflicts)}",
                          remedy=remedy, conflicts=conflicts, status=status)


def max_return(spec: Spec, mu: np.ndarray, extra: list = ()) -> tuple[float, np.ndarray]:
    """Largest ``mu' w`` over the linear constraints (HiGHS LP)."""
    res = _lp(spec, set(families_of(spec, list(extra))), list(extra), -mu)
    if res.status == 2:
        raise_infeasible(spec, list(extra))
    if res.status == 3:
        raise UnboundedError("expected return is unbounded over the constraints",
                             remedy="set finite lower/upper bounds")
    if res.status != 0:
        raise SolverError(f"the LP solver stopped: {res.message}", remedy="check the inputs' scale")
    return float(-res.fun), res.x[:spec.n]


# ---------------------------------------------------------------- fast path
def qp_data(kind: str, Sigma, mu, spec: Spec, param: float, risk_free: float):
    """(P, q, A, b, G, h, lo, hi, names) of the active-set form of a problem in w-space."""
    n = spec.n
    P = 2.0 * Sigma
    if spec.l2:
        P = P + 2.0 * spec.l2 * np.eye(n)
    q = np.zeros(n)
    G, h, names = spec.G, spec.h, list(spec.row_names)
    if kind == "utility":
        P = param * Sigma + (2.0 * spec.l2 * np.eye(n) if spec.l2 else 0.0)
        q = -mu
    elif kind == "target_return":
        G = np.vstack([G, -mu[None, :]])
        h = np.concatenate([h, [-param]])
        names = names + ["target_return"]
    if spec.prox:
        P = P + spec.prox * np.eye(n)
        q = q - spec.prox * spec.prox_center
    return P, q, np.ones((1, n)), np.array([spec.budget]), G, h, spec.lo, spec.hi, names


def sharpe_qp_data(Sigma, mu, spec: Spec, risk_free: float):
    """Homogenized max-Sharpe QP in y = w / kappa: min y' Sigma y, (mu - rf)' y = 1."""
    n = spec.n
    B = spec.budget
    ones = np.ones(n)
    rows, hs, names = [], [], []
    lo_y = np.full(n, -np.inf)
    hi_y = np.full(n, np.inf)
    long_only = bool((spec.lo >= 0).all())
    for i in range(n):
        if spec.lo[i] == 0:
            lo_y[i] = 0.0
        else:
            r = spec.lo[i] / B * ones
            r[i] -= 1.0
            rows.append(r)
            hs.append(0.0)
            names.append(f"lower[{spec.assets[i]}]")
            if spec.lo[i] > 0:
                lo_y[i] = 0.0
        if spec.hi[i] == 0:
            hi_y[i] = 0.0
        elif not (long_only and spec.hi[i] >= B):
            r = -spec.hi[i] / B * ones
            r[i] += 1.0
            rows.append(r)
            hs.append(0.0)
            names.append(f"upper[{spec.assets[i]}]")
    for g, hv, name in zip(spec.G, spec.h, spec.row_names):
        rows.append(g - hv / B * ones)
        hs.append(0.0)
        names.append(name)
    if not long_only:
        rows.append(-ones)
        hs.append(0.0)
        names.append("kappa")
    G = np.array(rows).reshape(len(rows), n)
    A = (mu - risk_free)[None, :]
    P = 2.0 * Sigma
    q = np.zeros(n)
    if spec.prox:  # proximal term in y-space, around the centre's y = w / ((mu - rf)' w)
        P = P + spec.prox * np.eye(n)
        q = -spec.prox * spec.prox_center / float((mu - risk_free) @ spec.prox_center)
    return P, q, A, np.array([1.0]), G, np.array(hs), lo_y, hi_y, names


# ---------------------------------------------------------------- cleaning and results
def clean(x: np.ndarray, spec: Spec) -> np.ndarray:
    """Snap values within 1e-10 of a bound (or of zero) onto it and make the budget exact."""
    w = x.copy()
    tol = 1e-10 * max(1.0, abs(spec.budget))
    w = np.where(np.abs(w - spec.lo) <= tol, spec.lo, w)
    w = np.where(np.abs(w - spec.hi) <= tol, spec.hi, w)
    w = np.where(np.abs(w) <= tol, 0.0, w)
    for _ in range(3):
        resid = spec.budget - math.fsum(w.tolist())
        if resid == 0.0:
            break
        room = np.where(resid > 0, spec.hi - w, w - spec.lo)
        cand = np.flatnonzero((w != 0) & (room > abs(resid)))
        if len(cand) == 0:
            break
        k = cand[np.argmax(np.abs(w[cand]))]
        w[k] += resid
    return w


def binding(w: np.ndarray, spec: Spec, Sigma, extra: list, tol: float = 1e-9) -> tuple:
    out = []
    for i, a in enumerate(spec.assets):
        if spec.excluded[i]:
            continue
        if spec.lo[i] != 0 and abs(w[i] - spec.lo[i]) <= tol:
            out.append(f"lower[{a}]")
        if spec.hi[i] != spec.lo[i] and abs(w[i] - spec.hi[i]) <= tol:
            out.append(f"upper[{a}]")
    for g, hv, name in zip(spec.G, spec.h, spec.row_names):
        if abs(g @ w - hv) <= tol * max(1.0, abs(hv)):
            out.append(name)
    for name, r, hv in extra:
        if abs(r @ w - hv) <= tol * max(1.0, abs(hv)):
            out.append(name)
    if spec.max_turnover is not None and abs(np.abs(w - spec.current).sum() - spec.max_turnover) <= 1e-7:
        out.append("max_turnover")
    if spec.max_leverage is not None and abs(np.abs(w).sum() - spec.max_leverage) <= 1e-7:
        out.append("max_leverage")
    if spec.rc_lo is not None or spec.rc_hi is not None:
        sw = Sigma @ w
        v = float(w @ sw)
        rc = w * sw / v if v > 0 else np.full(len(w), np.nan)
        for bound, tag in ((spec.rc_lo, "min_risk_contribution"), (spec.rc_hi, "max_risk_contribution")):
            if bound is not None:
                out += [f"{tag}[{spec.assets[i]}]" for i in np.flatnonzero(np.abs(rc - bound) <= tol)]
    if spec.max_tracking_error is not None:
        d = w - spec.benchmark
        if abs(math.sqrt(max(d @ Sigma @ d, 0.0)) - spec.max_tracking_error) <= 1e-7:
            out.append("max_tracking_error")
    return tuple(out)


def make_result(x_raw, spec: Spec, Sigma, mu, *, objective: str, fun_of, risk_free: float, solver: str,
                iterations: int, t0: float, extra: list = (), info: dict | None = None) -> OptimizeResult:
    w = clean(x_raw, spec)
    sw = Sigma @ w
    var = float(w @ sw)
    vol = math.sqrt(max(var, 0.0))
    ret = float(mu @ w) if mu is not None else float("nan")
    rc = w * sw / var if var > 0 else np.full(len(w), np.nan)
    turnover = float(np.abs(w - spec.current).sum()) if spec.current is not None else float("nan")
    sharpe = (ret - risk_free) / vol if vol > 0 else float("nan")
    return OptimizeResult(
        assets=spec.assets, x=w, x_raw=np.asarray(x_raw, dtype=np.float64), fun=float(fun_of(w)),
        objective=objective, expected_return=ret, volatility=vol, sharpe=sharpe, risk_contributions=rc,
        turnover=turnover, binding=binding(w, spec, Sigma, list(extra)), solver=solver,
        iterations=int(iterations), time_s=time.perf_counter() - t0, extra=info or {},
    )


def check_solution(x, spec: Spec, extra: list, tol: float = 1e-9) -> bool:
    if not np.all(np.isfinite(x)):
        return False
    if (x < spec.lo - tol).any() or (x > spec.hi + tol).any():
        return False
    if abs(x.sum() - spec.budget) > tol * max(1, abs(spec.budget)):
        return False
    if len(spec.G) and (spec.G @ x - spec.h > tol * (1 + np.abs(spec.h))).any():
        return False
    return all(r @ x - hv <= tol * (1 + abs(hv)) for _, r, hv in extra)


def validate_solver(solver: str) -> str:
    s = str(solver)
    if s.lower() in ("auto", "active_set", "mixed_integer"):
        return s.lower()
    return s.upper()


def solve_cvxpy(problem, solver: str, fallback_solver: str | None):
    """Solve a built cvxpy problem; returns the solver name used. Raises typed errors on failure."""
    cp = cvxpy_module()
    tried = []
    order = [solver] + ([fallback_solver] if fallback_solver and fallback_solver != solver else [])
    last_status = None
    for name in order:
        if name not in cp.installed_solvers():
            tried.append(f"{name} (not installed)")
            continue
        opts: dict[str, Any] = {}
        if name == "CLARABEL":
            opts = dict(tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, max_iter=500)
        elif name == "OSQP":
            opts = dict(eps_abs=1e-10, eps_rel=1e-10, max_iter=200000, polish=True)
        elif name == "SCS":
            opts = dict(eps_abs=1e-9, eps_rel=1e-9, max_iters=200000)
        try:
            problem.solve(solver=name, warm_start=True, **opts)
        except cp.error.SolverError:
            tried.append(f"{name} (solver error)")
            continue
        last_status = problem.status
        if problem.status == "optimal":
            return name
        if problem.status in ("infeasible", "unbounded"):
            return name
        tried.append(f"{name} ({problem.status})")
    raise SolverError(f"no solver reached an optimal solution: tried {', '.join(tried)}",
                      remedy="pass fallback_solver='SCS' or 'OSQP' (install them), rescale the inputs "
                             "(annualized returns and covariance), or loosen constraints",
                      status=last_status)


def unknown_kind(kind):  # pragma: no cover - internal guard
    raise ValidationError("is unknown", argument="objective", value=kind, expected=str(KINDS))
