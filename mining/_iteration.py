"""The one loop helper every iterative Spark algorithm in the project uses.

Per iteration it builds the next state lazily behind a lazy local checkpoint (so its plan is a
leaf: bounded plan size, flat time per iteration, no StackOverflowError after hundreds of
iterations) and runs exactly one action: a one-row aggregate of convergence scalars computed
from the previous and the new state, which also computes and stores the new state. Only then is
the previous state released. Every ``checkpoint_interval`` iterations the state also goes to
durable storage — a reliable ``DataFrame.checkpoint`` (``spark.checkpoint.dir``) or a
:class:`StateStore` — so a killed job resumes from its last checkpoint.

States are meant to be small (block rows of a vector, model weights); the loop keeps one
previous and one new state alive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame

from mining._frames import one_row

log = logging.getLogger(__name__)

Step = Callable[[DataFrame, int, dict[str, Any] | None], DataFrame]
Metrics = Callable[[DataFrame, DataFrame], DataFrame]


class StateStore(Protocol):
    """Durable states for resuming a killed job (see ``mining.io.checkpoints``)."""

    def save(self, state: DataFrame, iteration: int, history: list[dict[str, Any]]) -> DataFrame:
        """Write ``state`` durably and return a DataFrame reading it back (lineage cut)."""
        ...

    def load(self) -> tuple[int, DataFrame, list[dict[str, Any]]] | None:
        """The last saved (iteration, state, history), or ``None``."""
        ...


@dataclass
class LoopResult:
    """Final state and the per-iteration history (dicts of the metrics plus ``seconds``)."""

    state: DataFrame
    n_iter: int
    converged: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: int = 0


def truncate(df: DataFrame, *, reliable: bool) -> DataFrame:
    """Cut lineage eagerly: reliable ``checkpoint`` (needs a checkpoint dir) or a local one."""
    return df.checkpoint(eager=True) if reliable else df.localCheckpoint(eager=True)



def iterate(
    initial: DataFrame,
    step: Step,
    metrics: Metrics,
    *,
    max_iter: int,
    converged: Callable[[dict[str, Any]], bool],
    checkpoint_interval: int = 10,
    reliable_checkpoint: bool = False,
    store: StateStore | None = None,
    name: str = "iteration",
) -> LoopResult:
    """Run ``state = step(state, i)`` until ``converged(metrics)`` or ``max_iter``.

    Parameters
    ----------
    initial
        Starting state (small block rows, typically).
    step
        Builds the next state lazily from the previous one, the 1-based iteration number and
        the previous iteration's metrics (``None`` at the start), so scalars computed by one
        iteration's action feed the next step as literals instead of another aggregate.
    metrics
        One-row DataFrame of scalars from (previous, new); collected once per iteration.
    max_iter
        Upper bound on iterations (counting those of a resumed run).
    converged
        Decides from the metrics row whether to stop.
    checkpoint_interval
        Write a durable checkpoint every k iterations (0 = never); only with
        ``reliable_checkpoint`` or ``store``. Lineage is cut every iteration regardless.
    reliable_checkpoint
        Durable checkpoints with ``DataFrame.checkpoint`` (needs ``spark.checkpoint.dir``).
    store
        Durable state store; when given, checkpoints go there and a saved state is resumed.

    Returns
    -------
    LoopResult
    """
    state, start = initial, 0
    history: list[dict[str, Any]] = []
    if store is not None and (saved := store.load()) is not None:
        start, state, history = saved
        log.info("%s: resuming after iteration %d", name, start)
    result = LoopResult(state=state, n_iter=start, converged=False, history=history,
                        resumed_from=start)
    for i in range(start + 1, max_iter + 1):
        t0 = time.perf_counter()
        # A lazy local checkpoint: the new state's plan is a leaf from here on (a step that reads
        # the state k times would otherwise grow the plan k-fold per iteration), and the metrics
        # action below is what computes and stores it.
        new = step(state, i, history[-1] if history else None).localCheckpoint(eager=False)
        row = one_row(metrics(state, new))  # the one action of this iteration
        values = row.asDict() if row is not None else {}
        values["iteration"], values["seconds"] = i, round(time.perf_counter() - t0, 4)
        history.append(values)
        if checkpoint_interval and i % checkpoint_interval == 0 and (store or reliable_checkpoint):
            new = _durable(new, i, history, store)
        # Dropping the last reference releases the previous state's blocks (ContextCleaner in
        # classic Spark, the cached-relation release in Spark Connect); only now, after the new
        # state exists.
        state = new
        log.info("%s %d: %s", name, i, _fmt(values))
        result.n_iter = i
        if converged(values):
            result.converged = True
            break
    result.state, result.history = state, history
    return result


def _durable(new: DataFrame, i: int, history: list[dict[str, Any]],
             store: StateStore | None) -> DataFrame:
    if store is None:
        return truncate(new, reliable=True)
    # Re-read from durable storage: cache it so later iterations do not hit the files.
    return store.save(new, i, history).persist(StorageLevel.MEMORY_AND_DISK)


def _fmt(values: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
        if k != "iteration"
    )
