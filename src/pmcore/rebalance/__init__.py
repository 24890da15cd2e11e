"""Rebalancing: drift of many accounts from their targets, triggers, costs, trade lists and their log."""

from .drift import Drift, drift
from .triggers import TriggerDecision, check_triggers

__all__ = ["Drift", "TriggerDecision", "check_triggers", "drift"]
