"""Runtime: building sessions, job configuration, logging and the shared job runner.

This module (with ``mining.io`` and ``mining.cli``) is where the project touches sessions,
paths and the terminal; the algorithm packages never do.
"""

from __future__ import annotations

from mining.runtime.session import build_session, conf_dir, is_remote

__all__ = ["build_session", "conf_dir", "is_remote"]
