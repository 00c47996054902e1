"""What every reader returns: valid rows, quarantined rows, extra tables and exact counts.

Counts come from :meth:`pyspark.sql.DataFrame.observe` (named ``Observation`` metrics), so they
are taken while the job writes ``data`` and ``quarantine`` and cost no extra pass. Accumulators
are not used: they do not exist over Spark Connect.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame, Observation

from mining._frames import one_row
from mining.errors import InputError
from mining.io.readers._failures import explain_read_failure

__all__ = ["Probe", "ReadResult", "observe", "standard_counts"]


@dataclass(frozen=True)
class Probe:
    """One observation point: the observation, the frame it watches and its metrics.

    ``base`` is the frame *before* ``observe`` so that :meth:`ReadResult.counts` can compute the
    same metrics with a plain aggregation when no action has run the observed plan.
    """

    observation: Any
    base: DataFrame
    metrics: tuple[Column, ...]


def observe(df: DataFrame, label: str, metrics: Mapping[str, Column]) -> tuple[DataFrame, Probe]:
    """Attach named aggregate ``metrics`` to ``df``; return the observed frame and its probe.

    Every metric must be an aggregate that is defined on an empty frame (``count``,
    ``count_if``, ``coalesce(sum(...), 0)``), so that counts of an empty input are 0, not null.
    """
    exprs = tuple(expr.alias(name) for name, expr in metrics.items())
    obs = _new_observation(df, f"mining.{label}.{uuid.uuid4().hex[:12]}")
    return df.observe(obs, *exprs), Probe(obs, df, exprs)


def standard_counts(raw: dict[str, int]) -> dict[str, int]:
    """Turn the observed ``lines_read, skipped, _rows_valid, rows_kept`` into the public keys.

    ``_rows_valid`` (rows that parsed, before deduplication) equals ``rows_kept +
    duplicates_removed``, which is how the count invariant holds by construction. Keys that
    start with ``_`` are internal and are dropped.
    """
    valid = raw.get("_rows_valid", 0)
    out = {k: v for k, v in raw.items() if not k.startswith("_")}
    out["rows_read"] = out.get("lines_read", 0) - out.get("skipped", 0)
    out.setdefault("rows_quarantined", 0)
    out.setdefault("rows_kept", valid)
    out["duplicates_removed"] = valid - out["rows_kept"]
    return out


@contextmanager
def _read_failures_explained() -> Iterator[None]:
    """Re-raise Spark's failure to read an input file as its one-line ``InputError``."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:
        explained = explain_read_failure(exc)
        if explained is None:
            raise
        raise explained from exc


def _new_observation(df: DataFrame, name: str) -> Any:
    # pyspark.sql.Observation picks its Connect twin from a process-wide flag; choosing by the
    # frame's own class is right even when classic and Connect sessions share one process.
    if type(df).__module__.startswith("pyspark.sql.connect"):
        from pyspark.sql.connect.observation import Observation as ConnectObservation

        return ConnectObservation(name)
    return Observation(name)


def _peek(obs: Any) -> dict[str, Any] | None:
    """The observed metrics if an action already produced them, else ``None``; never blocks.

    Classic ``Observation.get`` waits until the first action on the observed frame finishes, so
    it is only called once the JVM future is complete. The Connect client fills an empty dict
    when an action returns the metrics, so an empty dict means "not run yet".
    """
    jo = getattr(obs, "_jo", None)
    try:
        if jo is not None and not jo.future().isCompleted():
            return None
        got = obs.get
    except Exception:  # a failed action completes the observation with its error
        return None
    return dict(got) if got else None


@dataclass
class ReadResult:
    """The output of a reader.

    Attributes
    ----------
    data
        The valid rows, with the schema of the reader's table in :mod:`mining.schemas`
        (``EDGES``, ``BASKETS``, ``DOCUMENTS`` or ``LABELED_POINTS``).
    quarantine
        The rejected rows, schema :data:`mining.schemas.QUARANTINE` (``source_file``,
        ``line_number``, ``locator``, ``raw``, ``reason``).
    extras
        Side tables by name, e.g. ``"node_map"`` (:data:`~mining.schemas.NODE_MAP`) for string
        node ids or ``"label_map"`` (:data:`~mining.schemas.LABEL_MAP`) for named classes.
    """

    data: DataFrame
    quarantine: DataFrame
    extras: dict[str, DataFrame] = field(default_factory=dict)
    _probes: tuple[Probe, ...] = field(default=(), repr=False)
    _derive: Callable[[dict[str, int]], dict[str, int]] | None = field(default=None, repr=False)
    _lazy: dict[str, Callable[[], int]] = field(default_factory=dict, repr=False)
    # pairs of observed metrics that are equal when every observation saw all of its rows
    _checks: tuple[tuple[str, str], ...] = field(default=(("_rows_in", "_rows_valid"),),
                                                 repr=False)  # fmt: skip
    _counts: dict[str, int] | None = field(default=None, repr=False)
    _entities: dict[str, int] = field(default_factory=dict, repr=False)

    def counts(self, *, entities: bool = True) -> dict[str, int]:
        """Exact counts of what was read, kept and set aside.

        Parameters
        ----------
        entities
            Also return the keys that need a distinct count (``nodes``, ``items``); they cost
            one job each. ``False`` leaves them out.

        Returns
        -------
        dict[str, int]
            At least ``lines_read`` (physical lines or records read), ``skipped`` (comments,
            blank lines, header lines: non-data by the format), ``rows_read``
            (``lines_read - skipped``), ``rows_kept``, ``rows_quarantined`` and
            ``duplicates_removed``, with ``rows_read == rows_kept + rows_quarantined +
            duplicates_removed``; plus the reader's own keys (see each reader's Notes).

        Notes
        -----
        Call it after the job's actions on ``data`` and ``quarantine``: the numbers are then
        read from the observations those actions filled, at no cost. An observation whose plan
        has not run yet (or whose action failed) is replaced by one aggregation job over the
        input, so the call never blocks and is always exact, but then it costs a pass over the
        input per missing observation; a file that cannot be read then raises the
        ``InputError`` of :func:`~mining.io.readers.explain_read_failure`. Distinct-count keys
        run first (their job also fills any
        observation still missing). Results are cached on this object.

        An observation keeps the metrics of the first action that ran its plan (classic Spark;
        Spark Connect keeps the last), and a partial action (``show``, ``first``, ``take``)
        sees only some rows. Each reader observes pairs of numbers that agree only when both
        observations saw every row (rows entering deduplication in one, valid rows in the
        other); when they disagree, every number is recomputed by aggregation. A partial
        action on ``data`` as the very first action can still go unnoticed for readers that
        neither deduplicate nor shuffle (baskets ``lines``, labeled points): run the job's
        complete actions first.
        """
        with _read_failures_explained():
            return self._counts_now(entities=entities)

    def _counts_now(self, *, entities: bool) -> dict[str, int]:
        if entities:
            for name, compute in self._lazy.items():
                if name not in self._entities:
                    self._entities[name] = int(compute())
        if self._counts is None:
            raw = self._observed(recompute=False)
            if any(raw.get(a, 0) != raw.get(b, 0) for a, b in self._checks):
                raw = self._observed(recompute=True)
            self._counts = (self._derive or standard_counts)(raw)
        return {**self._counts, **(self._entities if entities else {})}

    def _observed(self, *, recompute: bool) -> dict[str, int]:
        """All probes' metrics: observed ones, or one aggregation job per missing probe."""
        merged: dict[str, int] = {}
        for probe in self._probes:
            got = None if recompute else _peek(probe.observation)
            if got is None:
                row = one_row(probe.base.agg(*probe.metrics))
                got = row.asDict() if row is not None else {}
            merged.update({k: int(v or 0) for k, v in got.items()})
        return merged
