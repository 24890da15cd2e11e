"""pmcore attribution beside a vectorised pandas implementation of the same method.

Brinson-Fachler with Carino linking, at group level (portfolios x 11 sectors x
days) and at security level (portfolios x securities in 11 sectors x days,
grouped to sectors). Sizes: small by default; ``PMCORE_BENCH_FULL=1`` for the
sizes of issue 7. Compile time is excluded by a warm-up call in the fixtures;
``python benchmarks/attribution_ratios.py`` prints the ratio table.
"""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

from pmcore.attribution import brinson

_spec = importlib.util.spec_from_file_location(
    "attribution_data", pathlib.Path(__file__).with_name("attribution_data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

CASES = {
    "group": (data.group_level, data.GROUP_LEVEL),
    "security": (data.security_level, data.SECURITY_LEVEL),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    make, size = CASES[request.param]
    table = make(**size)
    warm = {k: (v if k in ("n_groups", "n_securities") else 2) for k, v in size.items()}
    brinson(make(**warm), by="sector", linking="carino")  # compile outside the timing
    return request.param, table


@pytest.mark.benchmark(group="attribution-brinson-fachler-carino")
def test_pmcore(benchmark, case):
    name, table = case
    res = benchmark(brinson, table, by="sector", linking="carino")
    assert res.reconciles


@pytest.mark.benchmark(group="attribution-brinson-fachler-carino")
def test_pandas(benchmark, case):
    name, table = case
    df = table.to_pandas()
    eff, linked = benchmark(data.pandas_brinson_fachler_carino, df)
    assert len(linked) > 0
