"""Every input and output table's ``StructType``, in one place.

Readers return DataFrames with exactly these schemas; transforms document which of them they take
and return; jobs publish tables with them. Column meanings are in each constant's comment block.
"""

from __future__ import annotations

from pyspark.sql import types as T

# --- inputs ----------------------------------------------------------------------------------

# A directed edge. `weight` is 1.0 when the input has no weight column; SNAP-style readers keep
# signed weights (bitcoin-otc ratings are -10..10), algorithms that need non-negative weights
# check them.
EDGES = T.StructType(
    [
        T.StructField("src", T.LongType(), nullable=False),
        T.StructField("dst", T.LongType(), nullable=False),
        T.StructField("weight", T.DoubleType(), nullable=False),
    ]
)

# Dense integer id <-> original node name, for inputs with string node ids.
NODE_MAP = T.StructType(
    [
        T.StructField("node", T.LongType(), nullable=False),
        T.StructField("name", T.StringType(), nullable=False),
    ]
)

# One basket: its id (line number for one-basket-per-line files, the file's id otherwise) and its
# distinct items, sorted. An empty basket is data (it counts in N), not an error.
BASKETS = T.StructType(
    [
        T.StructField("basket", T.LongType(), nullable=False),
        T.StructField("items", T.ArrayType(T.StringType(), containsNull=False), nullable=False),
    ]
)

# One document: id (file name, id column, NEWID, or line number), text, optional label/topics.
DOCUMENTS = T.StructType(
    [
        T.StructField("doc_id", T.StringType(), nullable=False),
        T.StructField("text", T.StringType(), nullable=False),
        T.StructField("label", T.StringType(), nullable=True),
    ]
)

# One labelled example, sparse: 0-based feature `indices` (strictly increasing) and `values`.
# Dense CSV rows use indices 0..d-1. `row` is the 1-based line (or record) number in its file.
LABELED_POINTS = T.StructType(
    [
        T.StructField("row", T.LongType(), nullable=False),
        T.StructField("label", T.DoubleType(), nullable=False),
        T.StructField("indices", T.ArrayType(T.IntegerType(), containsNull=False), nullable=False),
        T.StructField("values", T.ArrayType(T.DoubleType(), containsNull=False), nullable=False),
        T.StructField("qid", T.LongType(), nullable=True),
    ]
)

# String class label -> numeric label, for CSV files whose labels are names (letter: 'A'..'Z').
LABEL_MAP = T.StructType(
    [
        T.StructField("label", T.DoubleType(), nullable=False),
        T.StructField("name", T.StringType(), nullable=False),
    ]
)

# A rejected input row. `locator` says what `line_number` counts: 'line' (1-based physical line
# of the file), 'record' (1-based CSV record, for multi-line CSV whose records span lines) or
# 'document' (1-based document within the file, e.g. a Reuters <REUTERS> element).
QUARANTINE = T.StructType(
    [
        T.StructField("source_file", T.StringType(), nullable=False),
        T.StructField("line_number", T.LongType(), nullable=True),
        T.StructField("locator", T.StringType(), nullable=False),
        T.StructField("raw", T.StringType(), nullable=True),
        T.StructField("reason", T.StringType(), nullable=False),
    ]
)

# --- outputs -----------------------------------------------------------------------------------

# Distribution of node degrees: how many nodes have `degree` out-(or in-)links.
DEGREE_DISTRIBUTION = T.StructType(
    [
        T.StructField("direction", T.StringType(), nullable=False),
        T.StructField("degree", T.LongType(), nullable=False),
        T.StructField("nodes", T.LongType(), nullable=False),
    ]
)

# Distribution of basket sizes: how many baskets have `size` distinct items.
BASKET_SIZE_DISTRIBUTION = T.StructType(
    [
        T.StructField("size", T.LongType(), nullable=False),
        T.StructField("baskets", T.LongType(), nullable=False),
    ]
)

# One row per data set the demo ingested: what was read, kept and set aside.
DATASET_PROFILE = T.StructType(
    [
        T.StructField("dataset", T.StringType(), nullable=False),
        T.StructField("kind", T.StringType(), nullable=False),
        T.StructField("rows_read", T.LongType(), nullable=False),
        T.StructField("rows_kept", T.LongType(), nullable=False),
        T.StructField("rows_quarantined", T.LongType(), nullable=False),
        T.StructField("duplicates_removed", T.LongType(), nullable=False),
        T.StructField("entities", T.LongType(), nullable=False),
    ]
)
