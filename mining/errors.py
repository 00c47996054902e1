"""Exceptions, exit codes and the one-line error message shared by the library, jobs and CLI.

Exit codes (the one table of them; the README's troubleshooting section repeats it):

====  ==========================================================================================
0     success
1     any other failure (Spark could not start, a task failed, a bug)
2     bad input, configuration or usage (:class:`InputError`, :class:`ConfigError`, bad flags)
3     an iterative algorithm did not converge (:class:`ConvergenceError`)
====  ==========================================================================================

Every error a user sees is one line, ``<prog>: error: <message>`` (:func:`error_line`), with
credentials masked; the traceback is logged at DEBUG (``--verbose``).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_CONVERGED = 3

# Spark SQLSTATE classes that say the query or its data is wrong, not the system: data
# exception, syntax error or access rule violation, feature not supported.
_USER_SQLSTATES = ("22", "42", "0A")


class MiningError(Exception):
    """Base class of every error the project raises on purpose."""


class InputError(MiningError, ValueError):
    """Input data or an input path is unusable (missing path, unknown format, bad argument)."""


class ConfigError(MiningError, ValueError):
    """A job configuration is invalid; the message names the offending key."""


class SparkStartError(MiningError, RuntimeError):
    """Spark did not start, or a Spark Connect server cannot be reached (exit code 1)."""


class ConvergenceError(MiningError, RuntimeError):
    """An iterative algorithm did not reach its tolerance within ``max_iter`` iterations.

    Mirrors ``networkx.PowerIterationFailedConvergence``: the attribute ``n_iter`` holds the
    number of iterations run and ``residual`` the last convergence measure.
    """

    def __init__(self, message: str, *, n_iter: int, residual: float) -> None:
        super().__init__(message)
        self.n_iter = n_iter
        self.residual = residual


def exit_code(exc: BaseException) -> int:
    """The process exit code for an exception that ended a job or a command."""
    if isinstance(exc, ConvergenceError):
        return EXIT_NOT_CONVERGED
    if isinstance(exc, InputError | ConfigError):
        return EXIT_BAD_INPUT
    return EXIT_FAILED


def is_user_error(exc: BaseException) -> bool:
    """True for our input/config errors and Spark errors whose SQLSTATE blames the query/data."""
    if isinstance(exc, InputError | ConfigError):
        return True
    get_state = getattr(exc, "getSqlState", None)
    state = get_state() if callable(get_state) else None
    return bool(state) and str(state)[:2] in _USER_SQLSTATES


def one_line(exc: BaseException, *, limit: int = 500) -> str:
    """The first meaningful line of an exception, credentials masked.

    Our own errors (:class:`MiningError`) are shown as they are; others get their type name in
    front. A Py4J error starts with "An error occurred while calling ..." and carries a whole
    Java trace: the line shown is the first that names an exception class.
    """
    from mining.masking import mask_secrets

    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if isinstance(exc, MiningError):
        text = lines[0] if lines else type(exc).__name__
    else:
        cause = next((ln for ln in lines if "Exception" in ln or "Error:" in ln), None)
        first = cause or (lines[0] if lines else "")
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return mask_secrets(text)


def error_line(prog: str, message: str) -> str:
    """``<prog>: error: <message>`` on one line, credentials masked (what stderr shows)."""
    from mining.masking import mask_secrets

    flat = " ".join(message.split())
    return mask_secrets(f"{prog}: error: {flat}")
