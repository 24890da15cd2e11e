"""The public face, the command line, errors, frames and concurrency."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pytest

import pmcore as pm
from pmcore.cli import main
from pmcore.datasets import load_sample_book
from pmcore.frames import first_duplicate, from_arrow, to_arrow
from pmcore.report import format_table


def test_import_compiles_nothing_and_loads_no_numba():
    code = "import sys, pmcore; assert 'numba' not in sys.modules; print(len(pmcore.__all__))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) > 5


def test_public_names_resolve():
    for name in pm.__all__:
        assert getattr(pm, name) is not None
    with pytest.raises(AttributeError):
        pm.no_such_name  # noqa: B018


def test_demo_prints_the_report(capsys):
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    for needle in ("Portfolio summary", "GLOBAL-EQ", "CRYPTO-PERP", "Stale prices", "breaches",
                   "Currency exposure", "us per call"):
        assert needle in text


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "pmcore.cli", "demo"], capture_output=True, text=True)
    assert out.returncode == 0 and "Portfolio summary" in out.stdout


def test_sample_book_in_every_backend(backend):
    sample = load_sample_book(backend)
    v = pm.value(sample.positions, sample.prices, sample.fx, instruments=sample.instruments,
                 cash=sample.cash, accounts=sample.accounts)
    assert to_arrow(v, "v").num_rows == 6
    with pytest.raises(pm.ValidationError, match="frame kind"):
        load_sample_book("excel")


def test_validation_error_message_parts():
    err = pm.ValidationError("is missing", argument="prices", hint="add it")
    assert str(err) == "prices: is missing. Hint: add it"
    assert isinstance(err, pm.PmcoreError) and isinstance(err, ValueError)


def test_frames_round_trip(backend):
    t = pa.table({"a": [1, 2], "b": ["x", "y"]})
    back = to_arrow(from_arrow(t, backend), "t")
    assert back.to_pylist() == t.to_pylist()  # string width (large, view) may differ
    assert to_arrow({"a": [1]}, "t").num_rows == 1
    with pytest.raises(pm.ValidationError, match="cannot build"):
        to_arrow({"a": [1], "b": [1, 2]}, "t")


def test_first_duplicate():
    assert first_duplicate(np.array([3, 1, 2])) is None
    assert first_duplicate(np.array([3, 1, 3, 1])) == (0, 2)


def test_format_table_handles_special_values():
    text = format_table({"x": [float("nan"), float("inf"), None], "b": [True, False, None]})
    assert "nan" in text and "inf" in text and "yes" in text


def _value_sample(_):
    s = load_sample_book()
    v = pm.value(s.positions, s.prices, s.fx, instruments=s.instruments, cash=s.cash,
                 accounts=s.accounts)
    return v.column("equity").to_pylist()


def test_thread_pool_and_process_pool_give_the_same_answer():
    ref = _value_sample(0)
    with ThreadPoolExecutor(4) as pool:
        assert all(r == ref for r in pool.map(_value_sample, range(8)))
    with ProcessPoolExecutor(2) as pool:
        assert all(r == ref for r in pool.map(_value_sample, range(2)))
