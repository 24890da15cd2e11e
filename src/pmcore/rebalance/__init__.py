"""Rebalancing: drift of many accounts from their targets, and rebalance triggers."""

from .drift import Drift, drift

__all__ = ["Drift", "drift"]
