"""I/O at the edges: readers with quarantine, the result warehouse, the runs log, plots.

This package (with ``mining.runtime`` and ``mining.cli``) is the only part of ``mining`` that
touches paths; the algorithm packages take and return DataFrames.
"""

from __future__ import annotations
