"""Exceptions shared by the library, the jobs and the CLI.

Jobs map them to exit codes: :class:`InputError` and :class:`ConfigError` exit with 2 (the user
can fix the input or the configuration), anything else with 1.
"""

from __future__ import annotations


class MiningError(Exception):
    """Base class of every error the project raises on purpose."""


class InputError(MiningError, ValueError):
    """Input data or an input path is unusable (missing path, unknown format, bad argument)."""


class ConfigError(MiningError, ValueError):
    """A job configuration is invalid; the message names the offending key."""


class ConvergenceError(MiningError, RuntimeError):
    """An iterative algorithm did not reach its tolerance within ``max_iter`` iterations.

    Mirrors ``networkx.PowerIterationFailedConvergence``: the attribute ``n_iter`` holds the
    number of iterations run and ``residual`` the last convergence measure.
    """

    def __init__(self, message: str, *, n_iter: int, residual: float) -> None:
        super().__init__(message)
        self.n_iter = n_iter
        self.residual = residual
