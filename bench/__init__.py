"""Benchmarks: our implementations side by side with their anchors (``make bench``).

Add one with :func:`benchmark` in a ``bench/bench_<topic>.py`` module; ``python -m bench``
finds it. Results go to ``bench/results/<timestamp>-<name>.{json,md}``.
"""

from __future__ import annotations

from bench.harness import BenchContext, BenchmarkSkipped, Tool, Tools, benchmark, isolated

__all__ = ["BenchContext", "BenchmarkSkipped", "Tool", "Tools", "benchmark", "isolated"]
