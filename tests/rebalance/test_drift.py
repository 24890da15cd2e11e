"""Drift of many accounts: hand-worked examples, kernel vs reference, pandas reference, backends, bad input."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow
from pmcore.kernels import rebalance as kr
from pmcore.rebalance import Drift, drift

from .reference import drift_pandas, drift_ref, tracking_error_ref

MODEL = pa.table({"instrument_id": ["SPY", "EFA", "AGG"], "target_weight": [0.5, 0.2, 0.3]})
WEIGHTS = pa.table({
    "portfolio_id": ["A", "A", "A", "B", "B"],
    "instrument_id": ["SPY", "EFA", "AGG", "SPY", "GLD"],
    "weight": [0.56, 0.17, 0.27, 0.40, 0.60],
})


def test_hand_worked_model_portfolio():
    # A: SPY 0.56-0.5 = +0.06, EFA 0.17-0.2 = -0.03, AGG 0.27-0.3 = -0.03 -> max 0.06, total 0.12
    # B: SPY 0.4-0.5 = -0.1, GLD 0.6-0 = +0.6 (off-model), EFA -0.2, AGG -0.3 -> max 0.6, total 1.2
    d = drift(WEIGHTS, MODEL)
    assert isinstance(d, Drift) and d.n_accounts == 2
    np.testing.assert_allclose(d.max_drift, [0.06, 0.6])
    np.testing.assert_allclose(d.total_drift, [0.12, 1.2])
    acc = d.to_arrow("account")
    assert acc.column("max_drift_instrument_id").to_pylist() == ["SPY", "GLD"]
    rows = {(r["portfolio_id"], r["instrument_id"]): r for r in d.to_arrow().to_pylist()}
    assert rows[("A", "EFA")]["relative_drift"] == pytest.approx(-0.15)  # -0.03 / 0.2
    assert rows[("B", "AGG")]["current_weight"] == 0.0 and rows[("B", "AGG")]["drift"] == pytest.approx(-0.3)
    assert rows[("B", "GLD")]["relative_drift"] == math.inf  # held, not in the model
    assert len(rows) == 7
    assert "2 accounts" in repr(d) and "0.6000" in repr(d)


def test_by_asset_class_sums_weights_per_group():
    inst = pa.table({"instrument_id": ["SPY", "EFA", "AGG", "GLD"],
                     "asset_class": ["equity", "equity", "bonds", "commodity"]})
    t = pa.table({"asset_class": ["equity", "bonds"], "target_weight": [0.7, 0.3]})
    d = drift(WEIGHTS, t, by="asset_class", instruments=inst)
    rows = {(r["portfolio_id"], r["asset_class"]): r["drift"] for r in d.to_arrow().to_pylist()}
    # A: equity 0.56 + 0.17 = 0.73 -> +0.03; bonds 0.27 -> -0.03
    assert rows[("A", "equity")] == pytest.approx(0.03) and rows[("A", "bonds")] == pytest.approx(-0.03)
    # B: equity 0.4 -> -0.3, commodity 0.6 -> +0.6, bonds -0.3
    assert rows[("B", "commodity")] == pytest.approx(0.6) and rows[("B", "bonds")] == pytest.approx(-0.3)
    assert d.to_arrow("account").column("max_drift_asset_class").to_pylist() == ["equity", "commodity"]


def test_per_account_targets_and_accounts_without_holdings():
    t = pa.table({"portfolio_id": ["A", "A", "C"], "instrument_id": ["SPY", "AGG", "AGG"],
                  "target_weight": [0.6, 0.4, 1.0]})
    w = WEIGHTS.slice(0, 3)
    d = drift(w, t)
    assert d.portfolio_ids.to_pylist() == ["A", "C"]
    # A: SPY +(0.56-0.6), EFA +0.17, AGG -0.13; C holds nothing: AGG -1
    np.testing.assert_allclose(d.max_drift, [0.17, 1.0])
    np.testing.assert_allclose(d.total_drift, [0.04 + 0.17 + 0.13, 1.0])


def test_tracking_error_closed_form():
    # d = (+0.05, -0.05); S = [[0.04, 0.01], [0.01, 0.0225]]
    # d'Sd = 0.0025 * 0.04 + 0.0025 * 0.0225 - 2 * 0.0025 * 0.01 = 0.00010625
    w = pa.table({"portfolio_id": ["A", "A"], "instrument_id": ["X", "Y"], "weight": [0.65, 0.35]})
    t = pa.table({"instrument_id": ["X", "Y"], "target_weight": [0.6, 0.4]})
    cov = pa.table({"Y": [0.01, 0.0225], "X": [0.04, 0.01]}).select(["X", "Y"])
    d = drift(w, t, covariance=cov)
    assert d.tracking_error[0] == pytest.approx(math.sqrt(0.00010625), rel=1e-12)
    assert math.isnan(drift(w, t).tracking_error[0])


def test_matches_pandas_reference_random():
    rng = np.random.default_rng(5)
    n_p, n_i = 40, 15
    rows = []
    for p in range(n_p):
        held = rng.choice(n_i, rng.integers(1, 8), replace=False)
        w = rng.dirichlet(np.ones(len(held)))
        rows += [(f"P{p:02d}", f"I{i:02d}", x) for i, x in zip(held, w)]
    weights = pa.table({"portfolio_id": [r[0] for r in rows], "instrument_id": [r[1] for r in rows],
                        "weight": [r[2] for r in rows]})
    tw = rng.dirichlet(np.ones(6))
    targets = pa.table({"instrument_id": [f"I{i:02d}" for i in range(6)], "target_weight": tw})
    d = drift(weights, targets).to_pandas("account").set_index("portfolio_id")
    ref = drift_pandas(weights.to_pandas(), targets.to_pandas())
    np.testing.assert_allclose(d["max_drift"], ref["max_drift"], rtol=1e-12)
    np.testing.assert_allclose(d["total_drift"], ref["total_drift"], rtol=1e-12)


def test_backends_mirror_input(backend):
    d = drift(from_arrow(WEIGHTS, backend), from_arrow(MODEL, backend))
    assert frame_kind(d.to_frame()) == backend and frame_kind(d.to_frame("account")) == backend
    ref = drift(WEIGHTS, MODEL)
    np.testing.assert_array_equal(d.drift, ref.drift)
    assert d.to_arrow().to_pylist() == ref.to_arrow().to_pylist()


def test_empty_weights_give_empty_result():
    w = pa.table({"portfolio_id": pa.array([], pa.string()), "instrument_id": pa.array([], pa.string()),
                  "weight": pa.array([], pa.float64())})
    d = drift(w, MODEL)
    assert d.n_accounts == 0 and d.to_arrow().num_rows == 0 and d.to_arrow("account").num_rows == 0


def test_inputs_not_mutated():
    w = WEIGHTS.to_pandas()
    before = w.copy()
    drift(w, MODEL.to_pandas())
    assert w.equals(before)


@pytest.mark.parametrize("weights, targets, kw, message", [
    (WEIGHTS, pa.table({"instrument_id": ["SPY", "AGG"], "target_weight": [0.5, 0.4]}), {},
     "do not sum to 1"),
    (WEIGHTS, pa.table({"portfolio_id": ["A", "A", "B"], "instrument_id": ["SPY", "AGG", "SPY"],
                        "target_weight": [0.5, 0.5, 0.9]}), {}, "account 'B'"),
    (WEIGHTS, pa.table({"portfolio_id": ["A", "A", "B"], "instrument_id": ["SPY", "AGG", "SPY"],
                        "target_weight": [1.2, -0.2, 1.0]}), {}, "account 'A', instrument_id 'AGG'"),
    (WEIGHTS, pa.table({"portfolio_id": ["A"], "instrument_id": ["SPY"], "target_weight": [1.0]}), {},
     "no targets for an account"),
    (WEIGHTS, pa.table({"instrument_id": ["SPY", "SPY"], "target_weight": [0.5, 0.5]}), {}, "repeats"),
    (WEIGHTS, pa.table({"instrument_id": ["SPY", "XXX"], "target_weight": [0.5, 0.5]}),
     {"instruments": pa.table({"instrument_id": ["SPY", "EFA", "AGG", "GLD"]})}, "unknown instrument_id"),
    (WEIGHTS, MODEL, {"instruments": pa.table({"instrument_id": ["SPY", "EFA", "AGG"]})},
     "account 'B', instrument_id 'GLD'"),
    (WEIGHTS.set_column(2, "weight", pa.array([0.5, np.nan, 0.5, 0.5, 0.5])), MODEL, {}, "invalid value"),
    (WEIGHTS.rename_columns(["portfolio_id", "instrument_id", "wt"]), MODEL, {}, "rename 'wt' to 'weight'"),
    (pa.concat_tables([WEIGHTS, WEIGHTS.slice(0, 1)]), MODEL, {}, "repeats a (portfolio_id, instrument_id)"),
    (WEIGHTS, pa.table({"asset_class": ["equity"], "target_weight": [1.0]}), {"by": "asset_class"},
     "instruments: is needed"),
    (WEIGHTS, MODEL, {"target_tolerance": 2.0}, "target_tolerance"),
    (WEIGHTS, MODEL, {"covariance": pa.table({"SPY": [1.0, 0.0, 0.0], "AGG": [0.0, 1.0, 0.0]})}, "not square"),
    (WEIGHTS, MODEL, {"covariance": pa.table({"SPY": [1.0, 0.1], "AGG": [0.0, 1.0]})}, "symmetric"),
])
def test_bad_input(weights, targets, kw, message):
    with pytest.raises(pm.ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        drift(weights, targets, **kw)


def test_covariance_missing_an_asset_names_it():
    cov = pa.table({"SPY": [0.04, 0.0], "AGG": [0.0, 0.01]})
    with pytest.raises(pm.ValidationError, match="EFA"):
        drift(WEIGHTS.slice(0, 3), MODEL, covariance=cov)


# ----------------------------------------------------------------------------- kernels


def random_csr(seed, n_p, n_keys, max_rows, shared_model):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, max_rows + 1, n_p)
    offsets = np.zeros(n_p + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    code = rng.integers(0, n_keys, offsets[-1]).astype(np.int32)  # repeats: summed (grouping)
    weight = rng.normal(0.1, 0.2, offsets[-1])
    weight[rng.random(offsets[-1]) < 0.1] = 0.0
    if shared_model:
        k = int(rng.integers(0, n_keys + 1))
        t_code = rng.permutation(n_keys)[:k].astype(np.int32)
        t_weight = rng.uniform(0, 1, k)
        t_weight[rng.random(k) < 0.2] = 0.0
        t_start, t_end = np.zeros(n_p, np.int64), np.full(n_p, k, np.int64)
    else:
        tk = [rng.permutation(n_keys)[: rng.integers(0, n_keys + 1)] for _ in range(n_p)]
        t_end = np.cumsum([len(x) for x in tk]).astype(np.int64)
        t_start = t_end - np.array([len(x) for x in tk], np.int64)
        t_code = (np.concatenate(tk) if tk else np.zeros(0)).astype(np.int32)
        t_weight = rng.uniform(0, 1, len(t_code))
    return offsets, code, weight, t_start, t_end, t_code, t_weight


NO_ORDER = np.zeros(0, np.int64)


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(0, 6), n_keys=st.integers(1, 8),
       max_rows=st.integers(0, 10), shared=st.booleans(), shuffled=st.booleans())
def test_drift_kernel_matches_reference_and_twin(seed, n_p, n_keys, max_rows, shared, shuffled):
    offsets, code, weight, t_start, t_end, t_code, t_weight = random_csr(seed, n_p, n_keys, max_rows, shared)
    rows, summary = drift_ref(offsets, code, weight, t_start, t_end, t_code, t_weight)
    order = NO_ORDER
    if shuffled:  # the same rows stored in another order, reached through ``order``
        perm = np.random.default_rng(seed).permutation(len(code))
        order = np.argsort(perm).astype(np.int64)
        code, weight = code[perm], weight[perm]
    for fn in (kr.drift_accounts, kr.drift_accounts.py_func):
        off, out_code, cur, tgt, dup, dft, summ = fn(offsets, order, code, weight, t_start, t_end, t_code,
                                                     t_weight, n_keys)
        for p in range(n_p):
            got = [(int(out_code[j]), cur[j], tgt[j], dft[j]) for j in range(off[p], off[p + 1])]
            assert [g[0] for g in got] == [r[0] for r in rows[p]]
            np.testing.assert_allclose(np.array([g[1:] for g in got]).reshape(-1, 3),
                                       np.array([r[1:4] for r in rows[p]]).reshape(-1, 3), rtol=1e-12, atol=1e-14)
            assert summ[p, kr.MAX_ABS] == pytest.approx(summary[p][0], rel=1e-12, abs=1e-15)
            assert summ[p, kr.TOTAL_ABS] == pytest.approx(summary[p][1], rel=1e-12, abs=1e-15)
            arg = int(summ[p, kr.ARGMAX])
            if off[p + 1] > off[p]:
                assert abs(dft[arg]) == summ[p, kr.MAX_ABS] and summ[p, kr.AT_MAX] == dft[arg]
            else:
                assert arg == -1 and math.isnan(summ[p, kr.AT_MAX])
        has_repeat = any(len(set(code[order[offsets[p]:offsets[p + 1]]] if len(order) else
                                 code[offsets[p]:offsets[p + 1]])) < offsets[p + 1] - offsets[p]
                         for p in range(n_p))
        assert (dup >= 0) == has_repeat


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(0, 6), n_keys=st.integers(2, 8))
def test_holdings_kernel_matches_reference(seed, n_p, n_keys):
    """Weights from quantities: value = cash + sum q p; the cash row is key ``n_keys - 1``."""
    rng = np.random.default_rng(seed)
    offsets, code, _, t_start, t_end, t_code, t_weight = random_csr(seed, n_p, n_keys - 1, 5, False)
    qty = rng.normal(10, 20, len(code))
    price = np.append(rng.uniform(1, 100, n_keys - 1), 1.0)
    cash = rng.normal(100, 300, n_p)
    cash_code = n_keys - 1
    code_map = rng.permutation(n_keys - 1).astype(np.int32)  # rows give dictionary indices, the map the key
    row_idx = np.argsort(code_map).astype(np.int32)[code]
    for fn in (kr.holdings_drift, kr.holdings_drift.py_func):
        out = kr.holdings_outputs(offsets, t_start, t_end)
        n_out, _ = fn(offsets, NO_ORDER, row_idx, code_map, qty, cash, cash_code, price, t_start, t_end, t_code,
                      t_weight, n_keys, *out)
        lazy = kr.holdings_outputs(offsets, t_start, t_end, store_drift=False)
        assert fn(offsets, NO_ORDER, row_idx, code_map, qty, cash, cash_code, price, t_start, t_end, t_code,
                  t_weight, n_keys, *lazy) == (n_out, _)
        assert len(lazy[4]) == 0 and np.array_equal(lazy[6], out[6], equal_nan=True)
        assert np.array_equal(lazy[1][:n_out], out[1][:n_out]) and np.array_equal(lazy[5], out[5])
        off, acct, summ = out[0], out[5], out[6]
        has = summ[:, kr.ARGMAX] >= 0
        np.testing.assert_array_equal(summ[has, kr.AT_MAX], out[4][summ[has, kr.ARGMAX].astype(int)])
        out_code, q, tgt, dft = (a[:n_out] for a in out[1:5])
        w = dft + tgt
        for p in range(n_p):
            held = {}
            for k in range(offsets[p], offsets[p + 1]):
                held[int(code[k])] = held.get(int(code[k]), 0.0) + qty[k]
            value = cash[p] + sum(x * price[i] for i, x in held.items())
            assert acct[p, kr.VALUE] == pytest.approx(value, rel=1e-12, abs=1e-9)
            assert acct[p, kr.GROSS] == pytest.approx(sum(abs(x) * price[i] for i, x in held.items()), rel=1e-12)
            rows = {int(out_code[j]): j for j in range(off[p], off[p + 1])}
            assert q[rows[cash_code]] == cash[p] and set(rows) >= set(held) | {cash_code}
            for i, j in rows.items():
                want = (held.get(i, 0.0) * price[i] if i != cash_code else cash[p]) / value
                if value > 0:
                    assert w[j] == pytest.approx(want, rel=1e-9, abs=1e-12)
                    assert dft[j] == pytest.approx(want - tgt[j], rel=1e-9, abs=1e-12)
                else:
                    assert math.isnan(dft[j]) and math.isnan(summ[p, kr.MAX_ABS])


@pytest.mark.parametrize("ids", [
    ["A", "A", "B", "C", "C"],          # grouped and sorted: rows stay in place
    ["C", "C", "A", "B", "B"],          # grouped, not sorted
    ["B", "A", "C", "A", "B"],          # scattered
    [3, 3, 1, 2, 2],
    [1, 1, 2, 3, 3],                    # integer ids, grouped and sorted: the runs are the accounts
])
def test_account_layout(ids):
    from pmcore.rebalance.drifts import account_layout

    pid = pa.array(ids)
    universe, offsets, order = account_layout(pid, [pa.array([ids[0]]), pa.array([ids[-1]])])
    assert universe.to_pylist() == sorted(set(ids))
    rows = np.arange(len(ids)) if len(order) == 0 else order
    for p, u in enumerate(universe.to_pylist()):
        got = [ids[r] for r in rows[offsets[p]:offsets[p + 1]]]
        assert got == [u] * ids.count(u)
        assert list(rows[offsets[p]:offsets[p + 1]]) == [r for r, x in enumerate(ids) if x == u]
    if ids in (["A", "A", "B", "C", "C"], [1, 1, 2, 3, 3]):
        assert len(order) == 0


def test_account_layout_sorted_integer_runs_with_other_accounts():
    """Cash or targets of accounts without positions join the universe (the runs alone do not suffice)."""
    from pmcore.rebalance.drifts import account_layout

    pid = pa.array([1, 1, 2, 5, 5], pa.int64())
    universe, offsets, order = account_layout(pid, [pa.array([0, 2], pa.int64()), pa.array([7], pa.int32())])
    assert universe.to_pylist() == [0, 1, 2, 5, 7]
    assert offsets.tolist() == [0, 0, 2, 3, 5, 5] and len(order) == 0
    universe, offsets, _ = account_layout(pid, [pa.array([5, 1], pa.int64())])
    assert universe.to_pylist() == [1, 2, 5] and offsets.tolist() == [0, 2, 3, 5]


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 5), n_keys=st.integers(1, 7))
def test_tracking_error_kernel_matches_reference(seed, n_p, n_keys):
    args = random_csr(seed, n_p, n_keys, 6, False)
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n_keys + 2, n_keys + 2))
    cov = a @ a.T / 10
    cov_index = rng.permutation(n_keys + 2)[:n_keys].astype(np.int64)
    offsets, code0, weight, t_start, t_end, t_code, t_weight = args
    off, code, _, _, _, dft, _ = kr.drift_accounts(offsets, NO_ORDER, code0, weight, t_start, t_end, t_code,
                                                   t_weight, n_keys)
    got = kr.drift_tracking_error(off, code, dft, cov_index, cov)
    twin = kr.drift_tracking_error.py_func(off, code, dft, cov_index, cov)
    for p in range(n_p):
        ref = tracking_error_ref({int(code[j]): dft[j] for j in range(off[p], off[p + 1])}, cov,
                                 {k: int(cov_index[k]) for k in range(n_keys)})
        assert got[p] == pytest.approx(ref, rel=1e-9, abs=1e-12)
        assert twin[p] == pytest.approx(ref, rel=1e-9, abs=1e-12)
