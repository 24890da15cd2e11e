"""Reports: text tables for terminals (tear sheets, charts and exports to come)."""

from .text import format_table

__all__ = ["format_table"]
