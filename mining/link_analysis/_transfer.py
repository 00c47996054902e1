"""Moving a graph into one task: the rows that cross, how they are gathered, and unpacked.

Measured here (bench/, 3.9M cached edges): turning rows into Arrow batches for one Python task
costs ~0.25 µs per row and column, so the rows carry only what the solve needs: ``a``, ``b``
(source, destination) and ``c`` (weight) only when a weight column is used, and a ``kind``
byte only when extra nodes or teleport entries share the stream with the edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining.schemas import UNIT_WEIGHT

# Kinds of rows: EDGE (src, dst, weight), NODE (node, 0, 0) for extra nodes, TELEPORT (node,
# column, weight). A byte, not a string: a string column costs a Python object per row.
EDGE, NODE, TELEPORT = 0, 1, 2
_KINDS = (EDGE, NODE, TELEPORT)
_DTYPES = (np.int64, np.int64, np.float64)
_COLUMNS = ("a", "b", "c")

# Packed rows that cross the shuffle when the input is not cached: one binary blob per column
# per kind and Arrow batch (an empty ``c`` blob when the edges carry no weights).
_PACKED = T.StructType(
    [T.StructField("kind", T.ByteType(), False)]
    + [T.StructField(c, T.BinaryType(), False) for c in _COLUMNS]
)
_PACKED_ARROW = pa.schema(
    [("kind", pa.int8(), False)] + [(c, pa.binary(), False) for c in _COLUMNS]
)


@dataclass
class GraphArrays:
    """The graph as the task sees it: raw int64 ids, weights, extra nodes and teleport entries."""

    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    nodes: np.ndarray
    tele_node: np.ndarray
    tele_col: np.ndarray
    tele_weight: np.ndarray


class TooBig(Exception):  # noqa: N818 - a signal to switch strategy, not an error
    """The graph has more edges than the single-task limit; use a block strategy."""

    def __init__(self, edges: int) -> None:
        super().__init__(f"{edges} edges")
        self.edges = edges


def unit_weights(edges: DataFrame, weight: str | None) -> bool:
    """Whether ``edges``' weight column claims weight 1 everywhere (reader metadata)."""
    if not weight or weight not in edges.columns:
        return False
    return edges.schema[weight].metadata.get(UNIT_WEIGHT) is True


def graph_rows(edges: DataFrame, *, weight: str | None, nodes: DataFrame | None,
               teleport: DataFrame | None) -> DataFrame:
    """The rows to gather: ``a``, ``b`` [, ``c``] for edges alone, else with ``kind``."""
    a, b = F.col("src").cast("long").alias("a"), F.col("dst").cast("long").alias("b")
    if nodes is None and teleport is None:
        return edges.select(a, b, F.col(weight).cast("double").alias("c")) if weight \
            else edges.select(a, b)

    def kind(k: int) -> Column:
        return F.lit(k).cast("byte").alias("kind")

    w = F.col(weight).cast("double") if weight else F.lit(1.0)
    rows = edges.select(kind(EDGE), a, b, w.alias("c"))
    if nodes is not None:
        rows = rows.unionByName(nodes.select(
            kind(NODE), F.col("node").cast("long").alias("a"),
            F.lit(0).cast("long").alias("b"), F.lit(0.0).alias("c")))
    if teleport is not None:
        rows = rows.unionByName(teleport.select(
            kind(TELEPORT), F.col("node").cast("long").alias("a"),
            F.col("column").cast("long").alias("b"), F.col("weight").cast("double").alias("c")))
    return rows


def gather(rows: DataFrame, source: DataFrame) -> DataFrame:
    """All rows in one partition.

    A cached input is read by the one task directly (``coalesce(1)``: no shuffle, one stage,
    no packing). Otherwise the upstream work (a file scan, a parse) would also shrink to one
    task, so each partition packs its rows into a few binary blobs (in parallel) and only the
    blobs cross a shuffle.
    """
    level = source.storageLevel
    if level.useMemory or level.useDisk:
        return rows.coalesce(1)
    return rows.mapInArrow(_pack, _PACKED).repartition(1)


def _kind_masks(batch: pa.RecordBatch) -> list[tuple[int, np.ndarray | None]]:
    """(kind, row mask) for each kind in the batch; mask ``None`` when every row has that kind."""
    if "kind" not in batch.schema.names:
        return [(EDGE, None)]
    kinds = batch.column("kind").to_numpy(zero_copy_only=False)
    first = int(kinds[0])
    if (kinds == first).all():
        return [(first, None)]
    return [(k, kinds == k) for k in _KINDS if (kinds == k).any()]


def _pack(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One binary row per kind per Arrow batch: kilobytes of blobs instead of many rows."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        cols = [batch.column(c).to_numpy(zero_copy_only=False) if c in batch.schema.names
                else None for c in _COLUMNS]
        for kind, mask in _kind_masks(batch):
            blobs = {c: [b"" if col is None else
                         np.ascontiguousarray(col if mask is None else col[mask]).tobytes()]
                     for c, col in zip(_COLUMNS, cols, strict=True)}
            yield pa.RecordBatch.from_pydict({"kind": [kind], **blobs}, schema=_PACKED_ARROW)


def unpack(batches: Iterator[pa.RecordBatch], max_edges: int | None) -> GraphArrays:
    """Concatenate packed blobs or plain rows (whichever the gather delivered) per kind.

    Edges without a ``c`` column weigh 1. Raises :class:`TooBig` as soon as more than
    ``max_edges`` edges have arrived.
    """
    parts: dict[int, list[list[np.ndarray]]] = {k: [[], [], []] for k in _KINDS}
    edges = before = 0  # edges so far; chunks of edge sources already counted
    for batch in batches:
        if batch.num_rows == 0:
            continue
        packed = pa.types.is_binary(batch.schema.field("a").type)
        masks = None if packed else _kind_masks(batch)
        for j, c in enumerate(_COLUMNS):
            if c not in batch.schema.names:
                continue
            col = batch.column(c)
            if packed:
                for kind, blob in zip(batch.column("kind").to_pylist(), col.to_pylist(),
                                      strict=True):
                    parts[kind][j].append(np.frombuffer(blob, _DTYPES[j]))
                continue
            values = col.to_numpy(zero_copy_only=False).astype(_DTYPES[j], copy=False)
            for kind, mask in masks or []:
                parts[kind][j].append(values if mask is None else values[mask])
        edges += sum(len(x) for x in parts[EDGE][0][before:])
        before = len(parts[EDGE][0])
        if max_edges is not None and edges > max_edges:
            raise TooBig(edges)

    def arr(kind: int, j: int) -> np.ndarray:
        chunks = parts[kind][j]
        if len(chunks) == 1:
            return chunks[0]
        return np.concatenate(chunks) if chunks else np.empty(0, _DTYPES[j])

    src, weight = arr(EDGE, 0), arr(EDGE, 2)
    if len(weight) != len(src):  # the edges came without weights
        weight = np.ones(len(src))
    return GraphArrays(src, arr(EDGE, 1), weight, arr(NODE, 0),
                       arr(TELEPORT, 0), arr(TELEPORT, 1), arr(TELEPORT, 2))
