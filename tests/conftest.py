"""Shared fixtures: run a test over every dataframe backend."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

BACKENDS = ["arrow", "polars", "pandas"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Name of a dataframe backend; use ``pmcore.frames.from_arrow`` to convert."""
    return request.param
