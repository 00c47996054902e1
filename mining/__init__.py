"""Algorithms of *Mining of Massive Datasets* (Leskovec, Rajaraman, Ullman) as PySpark pipelines.

The algorithm packages (``mining.link_analysis``, ...) are pure DataFrame-in, DataFrame-out code:
they never build a session, read a path or print. Only ``mining.io`` (readers, the result
warehouse, plots), ``mining.runtime`` (sessions, configuration, logging, the job runner) and
``mining.cli`` touch paths, sessions and the terminal.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
