"""Mean-variance problems: minimum variance, maximum Sharpe, target return/volatility, utility.

Each function takes the data positionally (expected returns ``mu`` and the
covariance ``cov``) and the constraints as keyword options (the fields of
:class:`~pmcore.optimize.Constraints`). Problems with linear constraints only
are solved exactly by an active-set QP method; turnover, costs, tracking error
and gross leverage go to cvxpy (Clarabel, with a fallback solver).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import ValidationError
from . import _solve as S
from ._inputs import as_vector
from ._qp import solve_qp
from .constraints import Constraints, Spec, resolve
from .estimators import check_covariance, nearest_psd
from .errors import InfeasibleError, SolverError, UnboundedError
from .results import OptimizeResult

__all__ = ["min_variance", "max_sharpe", "efficient_return", "efficient_risk", "max_utility"]


# ---------------------------------------------------------------- inputs
def prepare(mu: Any, cov: Any, *, repair_psd: bool, need_mu: bool = True):
    """Validated (Sigma, mu, assets) with mu aligned to the covariance's assets."""
    if repair_psd:
        cov = nearest_psd(cov)
    Sigma, assets, _ = check_covariance(cov)
    if mu is None:
        if need_mu:
            raise ValidationError("is required", argument="mu", expected="expected returns, one per asset")
        return Sigma, None, assets
    mu_arr, _ = as_vector(mu, "mu", assets)
    return Sigma, mu_arr, assets


def _spec(assets: tuple, constraints: Constraints | None, options: dict) -> Spec:
    return resolve(Constraints.from_options(constraints, options), assets)


def _factor(Sigma: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(Sigma + 1e-14 * np.trace(Sigma) / len(Sigma) * np.eye(len(Sigma)))
    except np.linalg.LinAlgError:
        lam, v = np.linalg.eigh(Sigma)
        return v * np.sqrt(np.maximum(lam, 0.0))


# ---------------------------------------------------------------- cvxpy model
def cvx_model(kind: str, Sigma, mu, spec: Spec, param: float | None, risk_free: float):
    """Build the conic model once; returns (problem, weights expression, parameter or None)."""
    cp = S.cvxpy_module()
    n = spec.n
    F = _factor(Sigma)
    par = cp.Parameter(name="target") if kind in ("target_return", "target_volatility") else None
    if par is not None:
        par.value = float(param)
    cons = []
    if kind == "max_sharpe":
        if spec.costs is not None or spec.l2:
            raise ValidationError("is not supported with max_sharpe", argument="costs" if spec.costs is not None
                                  else "l2", hint="use max_utility, or efficient_risk for a target volatility")
        y = cp.Variable(n, name="y")
        k = cp.Variable(name="kappa", nonneg=True)
        cons += [(mu - risk_free) @ y == 1, cp.sum(y) == spec.budget * k]
        lo_f, hi_f = np.isfinite(spec.lo), np.isfinite(spec.hi)
        if lo_f.any():
            cons.append(y[lo_f] >= spec.lo[lo_f] * k)
        if hi_f.any():
            cons.append(y[hi_f] <= spec.hi[hi_f] * k)
        if len(spec.G):
            cons.append(spec.G @ y <= spec.h * k)
        if spec.max_turnover is not None:
            cons.append(cp.norm1(y - spec.current * k) <= spec.max_turnover * k)
        if spec.max_leverage is not None:
            cons.append(cp.norm1(y) <= spec.max_leverage * k)
        if spec.max_tracking_error is not None:
            cons.append(cp.norm2(F.T @ (y - spec.benchmark * k)) <= spec.max_tracking_error * k)
        obj = cp.sum_squares(F.T @ y)
        if spec.prox:
            yc = spec.prox_center / float((mu - risk_free) @ spec.prox_center)
            obj = obj + spec.prox / 2 * cp.sum_squares(y - yc)
        prob = cp.Problem(cp.Minimize(obj), cons)
        return prob, (y, k), par
    w = cp.Variable(n, name="w")
    cons.append(cp.sum(w) == spec.budget)
    lo_f, hi_f = np.isfinite(spec.lo), np.isfinite(spec.hi)
    if lo_f.any():
        cons.append(w[lo_f] >= spec.lo[lo_f])
    if hi_f.any():
        cons.append(w[hi_f] <= spec.hi[hi_f])
    if len(spec.G):
        cons.append(spec.G @ w <= spec.h)
    if spec.max_turnover is not None:
        cons.append(cp.norm1(w - spec.current) <= spec.max_turnover)
    if spec.max_leverage is not None:
        cons.append(cp.norm1(w) <= spec.max_leverage)
    if spec.max_tracking_error is not None:
        cons.append(cp.norm2(F.T @ (w - spec.benchmark)) <= spec.max_tracking_error)
    var = cp.sum_squares(F.T @ w)
    obj = 0
    if spec.l2:
        obj = obj + spec.l2 * cp.sum_squares(w)
    if spec.costs is not None:
        obj = obj + spec.costs @ cp.abs(w - spec.current)
    if spec.prox:
        obj = obj + spec.prox / 2 * cp.sum_squares(w - spec.prox_center)
    if kind == "min_variance":
        obj = obj + var
    elif kind == "target_return":
        obj = obj + var
        cons.append(mu @ w >= par)
    elif kind == "utility":
        obj = obj - mu @ w + 0.5 * float(param) * var
    elif kind == "target_volatility":
        obj = obj - mu @ w
        cons.append(cp.norm2(F.T @ w) <= par)
    else:  # pragma: no cover
        S.unknown_kind(kind)
    return cp.Problem(cp.Minimize(obj), cons), w, par


def _cvx_weights(kind, handle, spec):
    if kind == "max_sharpe":
        y, k = handle
        if k.value is None or k.value <= 0:
            return None
        return np.asarray(y.value, dtype=np.float64) / float(k.value)
    return None if handle.value is None else np.asarray(handle.value, dtype=np.float64)


def _extra(kind: str, mu, param) -> list:
    return [("target_return", -mu, -float(param))] if kind == "target_return" else []


def _active_from(x, spec: Spec, G, h):
    tol = 1e-7 * max(1.0, abs(spec.budget))
    state = np.zeros(spec.n, np.int8)
    state[np.abs(x - spec.lo) <= tol] = -1
    state[(np.abs(x - spec.hi) <= tol) & (state == 0)] = 1
    active = (G @ x - h > -tol) if len(G) else np.zeros(0, bool)
    return state, active


def solve_once(kind: str, Sigma, mu, spec: Spec, param, risk_free: float, solver: str,
               fallback_solver: str | None, warm=None, *, checked: bool = False):
    """Returns (x_raw, solver_name, iterations, warm_state); ``checked``: the max-Sharpe
    precondition (some portfolio beats risk_free) is already known to hold."""
    extra = _extra(kind, mu, param)
    solver = S.validate_solver(solver)
    if solver == "mixed_integer":  # only max_holdings / min_position use it
        solver = "auto"
    if kind == "max_sharpe" and not checked:
        top, _ = S.max_return(spec, mu - risk_free)
        if top <= 0:
            raise InfeasibleError("no feasible portfolio earns more than risk_free",
                                  remedy=S.FAMILY_REMEDY["risk_free"], conflicts=("risk_free",))
    fast = spec.linear_only and solver in ("auto", "active_set")
    if fast:
        data = (S.sharpe_qp_data(Sigma, mu, spec, risk_free) if kind == "max_sharpe"
                else S.qp_data(kind, Sigma, mu, spec, param, risk_free))
        P, q, A, b, G, h, lo, hi, _ = data
        st, act = (None, None) if warm is None else warm
        sol = solve_qp(P, q, A, b, G, h, lo, hi, state=st, active=act)
        if sol is not None:
            x = sol.x
            if kind == "max_sharpe":
                x = spec.budget * x / x.sum()
            if S.check_solution(x, spec, extra):
                return x, "active_set", sol.iterations, (sol.state, sol.active)
        conflicts = S.diagnose(spec, extra)
        if conflicts is not None:
            S.raise_infeasible(spec, extra)
        if solver == "active_set":
            raise SolverError("the active-set method did not settle (degenerate constraints)",
                              remedy="use solver='auto' to fall back to the conic solver")
    if not spec.linear_only and solver == "active_set":
        raise ValidationError("cannot handle turnover, costs, tracking error or leverage", argument="solver",
                              value=solver, hint="use solver='auto' or a cvxpy solver name")
    cvx_solver = "CLARABEL" if solver in ("auto", "active_set") else solver
    prob, handle, _ = cvx_model(kind, Sigma, mu, spec, param, risk_free)
    used = S.solve_cvxpy(prob, cvx_solver, fallback_solver)
    if prob.status == "infeasible":
        S.raise_infeasible(spec, extra, status=prob.status)
    if prob.status == "unbounded":
        raise UnboundedError("the objective is unbounded", remedy="set finite bounds or max_leverage",
                             status=prob.status)
    x = _cvx_weights(kind, handle, spec)
    if x is None:
        raise SolverError("the solver returned no weights", remedy="try fallback_solver='SCS'", status=prob.status)
    its = int(prob.solver_stats.num_iters or 0) if prob.solver_stats else 0
    if spec.linear_only and kind != "target_volatility":  # polish to the exact active-set solution
        data = (S.sharpe_qp_data(Sigma, mu, spec, risk_free) if kind == "max_sharpe"
                else S.qp_data(kind, Sigma, mu, spec, param, risk_free))
        P, q, A, b, G, h, lo, hi, _ = data
        st, act = _active_from(x, spec, G, h) if kind != "max_sharpe" else (None, None)
        sol = solve_qp(P, q, A, b, G, h, lo, hi, state=st, active=act)
        if sol is not None:
            xp = sol.x if kind != "max_sharpe" else spec.budget * sol.x / sol.x.sum()
            if S.check_solution(xp, spec, extra):
                return xp, f"{used}+active_set", its + sol.iterations, (sol.state, sol.active)
    return x, used, its, None


MI_SOLVERS = ("GUROBI", "MOSEK", "CPLEX", "XPRESS", "COPT", "SCIP")


def _mixed_integer(kind, Sigma, mu, spec: Spec, param, risk_free, fallback_solver):
    """Exact max_holdings / min_position with binary variables (a cvxpy mixed-integer solver),
    then the continuous problem on the chosen holdings solved exactly (active set)."""
    cp = S.cvxpy_module()
    if kind == "max_sharpe":
        raise ValidationError("is not available for max_sharpe", argument="solver", value="mixed_integer",
                              hint="use efficient_risk or max_utility, or solver='auto' (greedy heuristic)")
    have = [s for s in MI_SOLVERS if s in cp.installed_solvers()]
    if not have:
        raise ValidationError("needs a mixed-integer solver", argument="solver", value="mixed_integer",
                              expected=f"one of {MI_SOLVERS} installed for cvxpy",
                              hint="pip install pyscipopt (SCIP), or use solver='auto' for the greedy heuristic")
    base = replace(spec, max_holdings=None, min_position=None)
    if not (np.isfinite(base.lo).all() and np.isfinite(base.hi).all()):
        raise ValidationError("needs finite lower and upper bounds", argument="solver", value="mixed_integer",
                              hint="set lower= and upper= (they bound the weights of held assets)")
    prob, w, _ = cvx_model(kind, Sigma, mu, base, param, risk_free)
    n = spec.n
    mp = spec.min_position or 0.0
    zp = cp.Variable(n, boolean=True, name="long")
    cons = list(prob.constraints)
    if (base.lo >= 0).all():
        cons += [w <= cp.multiply(base.hi, zp), w >= mp * zp]
        held = zp
    else:
        zn = cp.Variable(n, boolean=True, name="short")
        cons += [w <= cp.multiply(base.hi, zp) - mp * zn, w >= cp.multiply(base.lo, zn) + mp * zp, zp + zn <= 1]
        held = zp + zn
    if spec.max_holdings is not None:
        cons.append(cp.sum(held) <= spec.max_holdings)
    mip = cp.Problem(prob.objective, cons)
    used = S.solve_cvxpy(mip, have[0], None)
    if mip.status == "infeasible":
        raise InfeasibleError("no portfolio meets max_holdings / min_position with the other constraints",
                              remedy="allow more holdings or a smaller min_position", conflicts=(
                                  "max_holdings" if spec.max_holdings is not None else "min_position",),
                              status=mip.status)
    x = np.asarray(w.value, dtype=np.float64)
    keep = np.abs(x) > 1e-7 * max(1.0, abs(spec.budget))
    lo, hi = base.lo.copy(), base.hi.copy()
    lo[~keep] = hi[~keep] = 0.0
    if mp:
        lo[keep & (x > 0)] = np.maximum(lo[keep & (x > 0)], mp)
        hi[keep & (x < 0)] = np.minimum(hi[keep & (x < 0)], -mp)
    support = replace(base, lo=lo, hi=hi, excluded=base.excluded | ~keep)
    xp, how, its, _ = solve_once(kind, Sigma, mu, support, param, risk_free, "auto", fallback_solver)
    return xp, f"{used}+{how}", its, None


def _cardinality(kind, Sigma, mu, spec: Spec, param, risk_free, solver, fallback_solver):
    """Greedy heuristic for max_holdings / min_position (see Constraints Notes)."""
    if S.validate_solver(solver) == "mixed_integer":
        return _mixed_integer(kind, Sigma, mu, spec, param, risk_free, fallback_solver)
    x, used, its, warm = solve_once(kind, Sigma, mu, spec, param, risk_free, solver, fallback_solver)
    cur = spec
    for _ in range(spec.n):
        held = np.flatnonzero(np.abs(x) > 1e-9)
        drop = []
        if cur.min_position is not None:
            drop = [i for i in held if abs(x[i]) < cur.min_position - 1e-12]
            if drop:
                drop = [min(drop, key=lambda i: abs(x[i]))]
        if not drop and cur.max_holdings is not None and len(held) > cur.max_holdings:
            drop = [held[np.argmin(np.abs(x[held]))]]
        if not drop:
            return x, used + "+greedy", its, warm
        lo, hi = cur.lo.copy(), cur.hi.copy()
        lo[drop] = 0.0
        hi[drop] = 0.0
        ex = cur.excluded.copy()
        ex[drop] = True
        cur = replace(cur, lo=lo, hi=hi, excluded=ex)
        x, used, k, warm = solve_once(kind, Sigma, mu, cur, param, risk_free, solver, fallback_solver)
        its += k
    raise SolverError("the holdings heuristic did not settle", remedy="relax max_holdings or min_position")


def _rc_rows(x, Sigma, spec: Spec):
    """Linearized risk-contribution bounds at ``x``: rows ``a`` and right-hand sides ``g(x)``.

    With ``s = Sigma x`` and ``v = x's``, ``g_i(x) = x_i s_i - u_i v`` has gradient
    ``x_i Sigma[i] + s_i e_i - 2 u_i s``; since ``g_i`` is homogeneous of degree two,
    ``g(x_k) + grad(x_k)'(x - x_k) <= 0`` is ``grad(x_k)'x <= g(x_k)``.
    """
    s = Sigma @ x
    v = float(x @ s)
    rows, rhs, names = [], [], []
    for bound, sign, tag in ((spec.rc_hi, 1.0, "max_risk_contribution"),
                             (spec.rc_lo, -1.0, "min_risk_contribution")):
        if bound is None:
            continue
        for i in np.flatnonzero(np.isfinite(bound)):
            grad = x[i] * Sigma[i]
            grad[i] += s[i]
            grad -= 2.0 * bound[i] * s
            rows.append(sign * grad)
            rhs.append(sign * (x[i] * s[i] - bound[i] * v))
            names.append(f"{tag}[{spec.assets[i]}]")
    return np.array(rows).reshape(len(rows), spec.n), np.array(rhs), names


def _rc_violation(x, Sigma, spec: Spec) -> float:
    s = Sigma @ x
    v = float(x @ s)
    if v <= 0:
        return np.inf
    rc = x * s / v
    out = 0.0
    if spec.rc_hi is not None:
        out = max(out, float(np.max(rc - spec.rc_hi)))
    if spec.rc_lo is not None:
        out = max(out, float(np.max(spec.rc_lo - rc)))
    return out


def _risk_bounded(kind, Sigma, mu, spec: Spec, param, risk_free, solver, fallback_solver, inner):
    """Sequential convex programming for risk-contribution bounds (see Constraints Notes)."""
    lo_sum = 0.0 if spec.rc_lo is None else float(np.sum(np.maximum(spec.rc_lo, 0.0)))
    hi_sum = np.inf if spec.rc_hi is None else float(np.sum(spec.rc_hi))
    if lo_sum > 1.0 + 1e-12 or hi_sum < 1.0 - 1e-12:
        fam = "min_risk_contribution" if lo_sum > 1.0 else "max_risk_contribution"
        raise InfeasibleError(f"risk contributions sum to one, {fam} cannot hold",
                              remedy="risk-contribution floors must sum to at most 1 and caps to at least 1",
                              conflicts=(fam,))
    if spec.rc_lo is not None:
        bad = np.flatnonzero((spec.rc_lo > 0) & spec.excluded)
        if len(bad):
            raise InfeasibleError(f"an excluded asset cannot carry risk: {spec.assets[bad[0]]}",
                                  remedy="drop the risk-contribution floor of excluded assets",
                                  conflicts=("exclude", "min_risk_contribution"))
    base = replace(spec, rc_lo=None, rc_hi=None)
    x = _budgeting_point(Sigma, spec, base)
    if x is not None:
        return x, "ccd", 0, None
    x, used, its, _ = inner(kind, Sigma, mu, base, param, risk_free, solver, fallback_solver)
    if _rc_violation(x, Sigma, spec) <= 1e-12:
        return x, used, its, None
    if not np.isfinite(_rc_violation(x, Sigma, spec)) or (spec.rc_lo is not None and (x == 0).any()):
        x = 0.5 * x + 0.5 * spec.budget / spec.n  # start off the boundary w_i = 0 of RC floors
    rho = 0.05 * float(np.mean(np.diag(Sigma)))
    xscale = max(1.0, abs(spec.budget))
    slv = S.validate_solver(solver)
    fast = inner is solve_once and base.linear_only and slv in ("auto", "active_set")
    model = None
    warm = None
    for k in range(1, 501):
        rows, rhs, names = _rc_rows(x, Sigma, spec)
        try:
            if inner is not solve_once:  # cardinality heuristic inside: plain re-solves
                step = replace(base, G=np.vstack([spec.G, rows]), h=np.concatenate([spec.h, rhs]),
                               row_names=list(spec.row_names) + names,
                               row_families=list(spec.row_families) + [n.split("[")[0] for n in names],
                               prox=rho, prox_center=x)
                x_new, used, it, _ = inner(kind, Sigma, mu, step, param, risk_free, solver, fallback_solver)
            elif fast:
                step = replace(base, G=np.vstack([spec.G, rows]), h=np.concatenate([spec.h, rhs]),
                               row_names=list(spec.row_names) + names,
                               row_families=list(spec.row_families) + [n.split("[")[0] for n in names],
                               prox=rho, prox_center=x)
                x_new, used, it, warm = solve_once(kind, Sigma, mu, step, param, risk_free, "active_set",
                                                   fallback_solver, warm, checked=True)
            else:
                if model is None:
                    model = _rc_cvx_model(kind, Sigma, mu, base, param, risk_free, len(rhs), rho)
                x_new, used, it = _rc_cvx_step(model, kind, mu, base, param, rows, rhs, x, risk_free,
                                               "CLARABEL" if slv in ("auto", "active_set") else slv,
                                               fallback_solver)
        except SolverError:
            if not fast:
                raise
            fast = False  # degenerate active rows: the conic solver takes over
            continue
        except InfeasibleError as exc:
            raise InfeasibleError(
                "no portfolio found that meets the risk-contribution bounds with the other constraints",
                remedy="widen min_risk_contribution / max_risk_contribution or the other constraints",
                conflicts=tuple(dict.fromkeys(("min_risk_contribution" if spec.rc_lo is not None else
                                               "max_risk_contribution",) + exc.conflicts))) from exc
        its += it
        moved = float(np.max(np.abs(x_new - x)))
        x = x_new
        if moved <= 1e-13 * xscale and _rc_violation(x, Sigma, spec) <= 1e-10:
            return x, used + "+scp", its, None
    raise SolverError("the risk-contribution iteration did not settle in 500 steps",
                      remedy="widen the risk-contribution bounds, or check that they can hold together")


def _budgeting_point(Sigma, spec: Spec, base: Spec):
    """Caps (or floors) on every asset summing to one leave one long-only point: risk budgeting."""
    for bound in (spec.rc_hi, spec.rc_lo):
        if bound is None or not np.isfinite(bound).all() or abs(float(np.sum(bound)) - 1.0) > 1e-12:
            continue
        if (bound < 0).any() or (spec.lo < 0).any() or spec.budget <= 0:
            return None
        from .riskbudget import risk_parity

        x = risk_parity(Sigma, budgets=bound, tol=1e-12).x_raw * spec.budget  # below the 1e-10 check next
        if _rc_violation(x, Sigma, spec) <= 1e-10 and S.check_solution(x, base, []):
            return x
        raise InfeasibleError("the risk-budgeting portfolio that these bounds force breaks other constraints",
                              remedy="widen the risk-contribution bounds or the other constraints",
                              conflicts=("max_risk_contribution" if bound is spec.rc_hi else
                                         "min_risk_contribution", "lower", "upper"))
    return None


def _rc_cvx_model(kind, Sigma, mu, base: Spec, param, risk_free, k_rows: int, rho: float):
    """The conic model built once, the linearized rows and the proximal centre as cp.Parameters."""
    cp = S.cvxpy_module()
    prob, handle, _ = cvx_model(kind, Sigma, mu, base, param, risk_free)
    A = cp.Parameter((k_rows, base.n), name="rc_rows")
    b = cp.Parameter(k_rows, name="rc_rhs")
    c = cp.Parameter(base.n, name="centre")
    if kind == "max_sharpe":
        y, kappa = handle
        cons = [A @ y <= b * kappa]
        var = y
    else:
        cons = [A @ handle <= b]
        var = handle
    obj = prob.objective.expr + rho / 2 * cp.sum_squares(var - c)
    return cp.Problem(cp.Minimize(obj), list(prob.constraints) + cons), handle, (A, b, c)


def _rc_cvx_step(model, kind, mu, base: Spec, param, rows, rhs, x, risk_free, solver, fallback_solver):
    prob, handle, (A, b, c) = model
    A.value, b.value = rows, rhs
    c.value = x / float((mu - risk_free) @ x) if kind == "max_sharpe" else x
    used = S.solve_cvxpy(prob, solver, fallback_solver)
    if prob.status == "infeasible":
        S.raise_infeasible(base, _extra(kind, mu, param), status=prob.status)
    x_new = _cvx_weights(kind, handle, base)
    if x_new is None:
        raise SolverError("the solver returned no weights", remedy="try fallback_solver='SCS'", status=prob.status)
    return x_new, used, int(prob.solver_stats.num_iters or 0) if prob.solver_stats else 0


def run(kind, Sigma, mu, spec: Spec, param, risk_free, solver, fallback_solver, objective, fun_of,
        warm=None) -> tuple[OptimizeResult, Any]:
    t0 = time.perf_counter()
    if spec.rc_lo is not None or spec.rc_hi is not None:
        inner = _cardinality if (spec.max_holdings is not None or spec.min_position is not None) else solve_once
        x, used, its, warm = _risk_bounded(kind, Sigma, mu, spec, param, risk_free, solver, fallback_solver,
                                           inner)
    elif spec.max_holdings is not None or spec.min_position is not None:
        x, used, its, warm = _cardinality(kind, Sigma, mu, spec, param, risk_free, solver, fallback_solver)
    else:
        x, used, its, warm = solve_once(kind, Sigma, mu, spec, param, risk_free, solver, fallback_solver, warm)
    res = S.make_result(x, spec, Sigma, mu, objective=objective, fun_of=fun_of, risk_free=risk_free,
                        solver=used, iterations=its, t0=t0, extra=_extra(kind, mu, param))
    return res, warm


def _costs(spec: Spec, w) -> float:
    c = 0.0
    if spec.costs is not None:
        c += float(spec.costs @ np.abs(w - spec.current))
    if spec.l2:
        c += spec.l2 * float(w @ w)
    return c


_OPTS_DOC = """
    solver : {"auto", "active_set", "mixed_integer"} or a cvxpy solver name, default "auto"
        ``"auto"`` uses the exact active-set method when every constraint is
        linear and cvxpy with Clarabel otherwise. ``"mixed_integer"`` solves
        ``max_holdings`` / ``min_position`` exactly with binary variables
        (needs a mixed-integer solver for cvxpy, e.g. SCIP from
        ``pip install pyscipopt``); by default they use the greedy heuristic
        described in :class:`~pmcore.optimize.Constraints`.
    fallback_solver : str, default "SCS"
        cvxpy solver tried when the first one fails (skipped if not installed).
    repair_psd : bool, default False
        Replace a covariance that is not positive semi-definite by the nearest
        one (:func:`~pmcore.optimize.nearest_psd`) instead of raising.
    constraints : Constraints, optional
        Constraints built beforehand; keyword options override its fields.
    **options
        Any field of :class:`~pmcore.optimize.Constraints` (``lower``,
        ``upper``, ``budget``, ``groups``, ``group_lower``, ``group_upper``,
        ``esg_scores``, ``min_esg``, ``exclude``, ``current``,
        ``max_turnover``, ``costs``, ``benchmark``, ``max_tracking_error``,
        ``l2``, ``max_leverage``, ``max_holdings``, ``min_position``).

    Returns
    -------
    OptimizeResult

    Raises
    ------
    pmcore.errors.ValidationError
        Bad input: NaN, mismatched assets, a covariance that is not PSD, bounds
        with ``lower > upper``, unknown options.
    InfeasibleError
        No portfolio meets the constraints; ``conflicts`` names them.
    UnboundedError, SolverError
        The objective is unbounded, or no solver reached a reliable answer."""


def min_variance(cov: Any, mu: Any = None, /, *, risk_free: float = 0.0, solver: str = "auto",
                 fallback_solver: str | None = "SCS", repair_psd: bool = False,
                 constraints: Constraints | None = None, **options: Any) -> OptimizeResult:
    """Minimum-variance portfolio.

    Parameters
    ----------
    cov : array-like or dataframe, shape (n_assets, n_assets)
        Covariance of returns; asset ids from the column names.
    mu : array-like, Series or mapping, shape (n_assets,), optional
        Expected returns, only to report ``expected_return`` and ``sharpe``.
    risk_free : float, default 0.0
        Risk-free rate in the units of ``mu``, for the reported Sharpe ratio.
    {opts}

    Notes
    -----
    .. math:: \\min_w\\; w^\\top \\Sigma w + \\gamma \\lVert w \\rVert^2 + c^\\top |w - w_0|
       \\quad\\text{s.t.}\\quad 1^\\top w = b,\\; l \\le w \\le u,\\; \\text{other constraints}

    ``fun`` is the objective value (the variance when no costs or ``l2`` apply).

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import min_variance
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> res = min_variance(cov)
    >>> res.x.round(4).tolist(), round(res.volatility, 4)
    ([0.7119, 0.2881], 0.1738)
    """
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd, need_mu=False)
    spec = _spec(assets, constraints, options)
    res, _ = run("min_variance", Sigma, mu_arr, spec, None, risk_free, solver, fallback_solver,
                 "min_variance", lambda w: float(w @ Sigma @ w) + _costs(spec, w))
    return res


def max_sharpe(mu: Any, cov: Any, /, *, risk_free: float = 0.0, solver: str = "auto",
               fallback_solver: str | None = "SCS", repair_psd: bool = False,
               constraints: Constraints | None = None, **options: Any) -> OptimizeResult:
    """Maximum Sharpe ratio (tangency) portfolio.

    Parameters
    ----------
    mu : array-like, Series or mapping, shape (n_assets,)
        Expected returns (same units as ``cov``, usually annualized).
    cov : array-like or dataframe, shape (n_assets, n_assets)
    risk_free : float, default 0.0
    {opts}

    Notes
    -----
    The ratio is made convex by the change of variables :math:`y = w/\\kappa`
    (Cornuejols & Tütüncü, *Optimization Methods in Finance*, 8.2):

    .. math:: \\min_{y,\\kappa \\ge 0}\\; y^\\top \\Sigma y \\quad\\text{s.t.}\\quad
       (\\mu - r_f)^\\top y = 1,\\; 1^\\top y = b\\kappa,\\; l\\kappa \\le y \\le u\\kappa,\\;
       G y \\le h \\kappa

    then :math:`w = y/\\kappa`. ``fun`` is the negative Sharpe ratio. Costs and
    ``l2`` are not defined for this problem (use :func:`max_utility`).

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import max_sharpe
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> res = max_sharpe([0.08, 0.12], cov, risk_free=0.02)
    >>> res.x.round(4).tolist(), round(res.sharpe, 4)
    ([0.5687, 0.4313], 0.4277)
    """
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd)
    spec = _spec(assets, constraints, options)
    if spec.budget <= 0:
        raise ValidationError("must be positive for max_sharpe", argument="budget", value=spec.budget)
    res, _ = run("max_sharpe", Sigma, mu_arr, spec, None, risk_free, solver, fallback_solver, "neg_sharpe",
                 lambda w: -(float(mu_arr @ w) - risk_free) / math.sqrt(max(float(w @ Sigma @ w), 1e-300)))
    return res


def max_utility(mu: Any, cov: Any, /, *, risk_aversion: float = 1.0, risk_free: float = 0.0,
                solver: str = "auto", fallback_solver: str | None = "SCS", repair_psd: bool = False,
                constraints: Constraints | None = None, **options: Any) -> OptimizeResult:
    """Maximum quadratic utility ``mu'w - risk_aversion/2 w'Sigma w`` (minus costs and ``l2``).

    Parameters
    ----------
    mu : array-like, Series or mapping, shape (n_assets,)
    cov : array-like or dataframe, shape (n_assets, n_assets)
    risk_aversion : float, default 1.0
        :math:`\\delta > 0`.
    risk_free : float, default 0.0
        Only for the reported Sharpe ratio.
    {opts}

    Notes
    -----
    .. math:: \\max_w\\; \\mu^\\top w - \\frac{\\delta}{2} w^\\top \\Sigma w - \\gamma\\lVert w\\rVert^2
       - c^\\top |w - w_0|

    ``fun`` is the negative utility.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import max_utility
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> max_utility([0.08, 0.12], cov, risk_aversion=2).x.round(4).tolist()
    [0.5424, 0.4576]
    """
    d = float(risk_aversion)
    if not np.isfinite(d) or d <= 0:
        raise ValidationError("must be positive", argument="risk_aversion", value=risk_aversion,
                              expected="a finite number > 0")
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd)
    spec = _spec(assets, constraints, options)
    res, _ = run("utility", Sigma, mu_arr, spec, d, risk_free, solver, fallback_solver, "neg_utility",
                 lambda w: -(float(mu_arr @ w) - d / 2 * float(w @ Sigma @ w)) + _costs(spec, w))
    return res


def efficient_return(mu: Any, cov: Any, /, *, target_return: float, risk_free: float = 0.0,
                     solver: str = "auto", fallback_solver: str | None = "SCS", repair_psd: bool = False,
                     constraints: Constraints | None = None, **options: Any) -> OptimizeResult:
    """Minimum variance for an expected return of at least ``target_return``.

    Parameters
    ----------
    mu : array-like, Series or mapping, shape (n_assets,)
    cov : array-like or dataframe, shape (n_assets, n_assets)
    target_return : float
        In the units of ``mu``.
    risk_free : float, default 0.0
    {opts}

    Notes
    -----
    .. math:: \\min_w\\; w^\\top \\Sigma w \\quad\\text{s.t.}\\quad \\mu^\\top w \\ge r^*,\\;
       1^\\top w = b,\\; \\text{other constraints}

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import efficient_return
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> round(efficient_return([0.08, 0.12], cov, target_return=0.1).expected_return, 6)
    0.1
    """
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd)
    spec = _spec(assets, constraints, options)
    r = float(target_return)
    if not np.isfinite(r):
        raise ValidationError("must be finite", argument="target_return", value=target_return)
    res, _ = run("target_return", Sigma, mu_arr, spec, r, risk_free, solver, fallback_solver, "variance",
                 lambda w: float(w @ Sigma @ w) + _costs(spec, w))
    return res


def efficient_risk(mu: Any, cov: Any, /, *, target_volatility: float, risk_free: float = 0.0,
                   solver: str = "auto", fallback_solver: str | None = "SCS", repair_psd: bool = False,
                   constraints: Constraints | None = None, **options: Any) -> OptimizeResult:
    """Maximum expected return for a volatility of at most ``target_volatility``.

    Parameters
    ----------
    mu : array-like, Series or mapping, shape (n_assets,)
    cov : array-like or dataframe, shape (n_assets, n_assets)
    target_volatility : float
        In the units of ``sqrt(cov)``.
    risk_free : float, default 0.0
    {opts}

    Notes
    -----
    .. math:: \\max_w\\; \\mu^\\top w \\quad\\text{s.t.}\\quad \\sqrt{w^\\top \\Sigma w} \\le \\sigma^*,\\;
       1^\\top w = b,\\; \\text{other constraints}

    With linear constraints only, the answer is found on the frontier: the
    target-return problem is solved exactly (warm-started active sets) at the
    return where its volatility equals the target (Brent's method). Otherwise
    the second-order cone problem goes to cvxpy. ``fun`` is the negative
    expected return.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import efficient_risk
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> round(efficient_risk([0.08, 0.12], cov, target_volatility=0.2).volatility, 6)
    0.2
    """
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd)
    spec = _spec(assets, constraints, options)
    target = float(target_volatility)
    if not np.isfinite(target) or target <= 0:
        raise ValidationError("must be positive", argument="target_volatility", value=target_volatility,
                              expected="a finite number > 0")
    t0 = time.perf_counter()
    fun_of = lambda w: -float(mu_arr @ w)  # noqa: E731
    if not (spec.linear_only and S.validate_solver(solver) in ("auto", "active_set")
            and spec.max_holdings is None and spec.min_position is None
            and spec.rc_lo is None and spec.rc_hi is None):
        res, _ = run("target_volatility", Sigma, mu_arr, spec, target, risk_free, solver, fallback_solver,
                     "neg_return", fun_of)
        return res
    lo_res, warm = run("min_variance", Sigma, mu_arr, spec, None, risk_free, solver, fallback_solver,
                       "neg_return", fun_of)
    if lo_res.volatility > target * (1 + 1e-12):
        raise InfeasibleError(
            f"target_volatility {target:g} is below the minimum attainable volatility {lo_res.volatility:.6g}",
            remedy="raise target_volatility", conflicts=("target_volatility",))
    r_top, x_top = S.max_return(spec, mu_arr)
    top_res = S.make_result(x_top, spec, Sigma, mu_arr, objective="neg_return", fun_of=fun_of,
                            risk_free=risk_free, solver="highs", iterations=0, t0=t0)
    if top_res.volatility <= target or r_top - lo_res.expected_return <= 1e-12 * max(1.0, abs(r_top)):
        return top_res
    state = {"warm": warm}

    def gap(r: float) -> float:
        if r >= r_top:
            return top_res.volatility - target
        res, w = run("target_return", Sigma, mu_arr, spec, r, risk_free, solver, fallback_solver,
                     "neg_return", fun_of, state["warm"])
        state["warm"] = w
        return res.volatility - target

    from scipy.optimize import brentq

    r_star = brentq(gap, lo_res.expected_return, r_top, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)
    res, _ = run("target_return", Sigma, mu_arr, spec, r_star, risk_free, solver, fallback_solver,
                 "neg_return", fun_of, state["warm"])
    return replace(res, time_s=time.perf_counter() - t0, solver=res.solver + "+brent")


for _f in (min_variance, max_sharpe, max_utility, efficient_return, efficient_risk):
    _f.__doc__ = _f.__doc__.replace("    {opts}", _OPTS_DOC.strip("\n"))
