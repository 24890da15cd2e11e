"""Sphinx configuration for the pmcore documentation."""

from __future__ import annotations

import pmcore

project = "pmcore"
author = "the pmcore developers"
copyright = "2026, the pmcore developers"
release = pmcore.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
]

autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated"]
html_theme = "alabaster"
html_static_path: list[str] = []
intersphinx_mapping: dict = {}
nitpicky = False
suppress_warnings = ["autosummary.import_cycle"]
