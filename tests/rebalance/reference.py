"""Plain Python/pandas references for the rebalancing kernels (written independently of them)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def drift_ref(offsets, code, weight, t_start, t_end, t_code, t_weight):
    """Per account: dict key -> (current, target, drift, relative), and (max |d|, total |d|, TE-less)."""
    rows, summary = [], []
    for p in range(len(offsets) - 1):
        cur: dict[int, float] = {}
        for k in range(offsets[p], offsets[p + 1]):
            cur[int(code[k])] = cur.get(int(code[k]), 0.0) + float(weight[k])
        tgt = {int(t_code[k]): float(t_weight[k]) for k in range(t_start[p], t_end[p])}
        keys = list(cur) + [k for k in tgt if k not in cur]
        acc = []
        for key in keys:
            c, t = cur.get(key, 0.0), tgt.get(key, 0.0)
            d = c - t
            r = 0.0 if d == 0 else (d / t if t != 0 else math.copysign(math.inf, d))
            acc.append((key, c, t, d, r))
        rows.append(acc)
        summary.append((max((abs(a[3]) for a in acc), default=0.0), sum(abs(a[3]) for a in acc)))
    return rows, summary


def tracking_error_ref(drifts: dict, cov: np.ndarray, index: dict) -> float:
    """sqrt(d' S d) for a {key: drift} dict."""
    keys = list(drifts)
    d = np.array([drifts[k] for k in keys])
    sub = cov[np.ix_([index[k] for k in keys], [index[k] for k in keys])]
    return float(np.sqrt(max(d @ sub @ d, 0.0)))


def drift_pandas(weights: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Account-level drift the way a pandas user writes it: outer merge, groupby."""
    if "portfolio_id" in targets:
        m = weights.merge(targets, on=["portfolio_id", "instrument_id"], how="outer")
    else:
        accounts = pd.DataFrame({"portfolio_id": weights["portfolio_id"].unique()})
        full = accounts.merge(targets, how="cross")
        m = weights.merge(full, on=["portfolio_id", "instrument_id"], how="outer")
    m = m.fillna({"weight": 0.0, "target_weight": 0.0})
    m["drift"] = m["weight"] - m["target_weight"]
    m["abs"] = m["drift"].abs()
    g = m.groupby("portfolio_id")["abs"]
    return pd.DataFrame({"max_drift": g.max(), "total_drift": g.sum()}).sort_index()
