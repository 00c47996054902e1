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
# Field metadata key on `EDGES.weight`: true when the reader gave every edge weight 1.0 (no
# weight column, duplicates not summed). Algorithms may then skip moving the weights; they
# still verify the claim in the same job (a union with weighted edges keeps this metadata).
UNIT_WEIGHT = "mining.unit_weight"

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

# One document: id (file path relative to the inputs, id column, NEWID, line number), text, label.
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

# --- the run log -------------------------------------------------------------------------------

# One row per job run (mining.io.runs), one JSON file each under <warehouse>/runs/. `status` is
# 'running' from the start until the job ends ('succeeded' or 'failed'); a job killed outright
# stays 'running'. `config` is the masked parameter set as JSON text (get_json_object(config,
# '$.beta')); `counts` holds each reader's counts (counts['edges']['quarantined']); a stage's
# rows are `rows` when it counted one number, `row_counts` when it counted several.
_COUNTS = T.MapType(T.StringType(), T.LongType())
RUN_STAGE = T.StructType(
    [
        T.StructField("name", T.StringType(), nullable=False),
        T.StructField("status", T.StringType(), nullable=False),
        T.StructField("seconds", T.DoubleType(), nullable=True),
        T.StructField("rows", T.LongType(), nullable=True),
        T.StructField("row_counts", _COUNTS, nullable=True),
    ]
)
RUNS = T.StructType(
    [
        T.StructField("run_id", T.StringType(), nullable=False),
        T.StructField("job", T.StringType(), nullable=False),
        T.StructField("status", T.StringType(), nullable=False),
        T.StructField("started_at", T.TimestampType(), nullable=False),
        T.StructField("finished_at", T.TimestampType(), nullable=True),
        T.StructField("seconds", T.DoubleType(), nullable=True),
        T.StructField("spark_version", T.StringType(), nullable=True),
        T.StructField("config", T.StringType(), nullable=True),
        T.StructField("inputs", T.ArrayType(T.StringType()), nullable=True),
        T.StructField("counts", T.MapType(T.StringType(), _COUNTS), nullable=True),
        T.StructField("stages", T.ArrayType(RUN_STAGE), nullable=True),
        T.StructField("tables", T.ArrayType(T.StringType()), nullable=True),
        T.StructField("error", T.StringType(), nullable=True),
        # What a job wants on record beyond counts: e.g. the strategy an algorithm chose and why.
        T.StructField("notes", T.MapType(T.StringType(), T.StringType()), nullable=True),
    ]
)

# --- link analysis ---------------------------------------------------------------------------

# PageRank of a node (§5.1). `rank` sums to 1 over all nodes (networkx; GraphX sums to N).
# The published `pagerank` table has exactly these columns whatever the run: topic ranks go to
# PAGERANK_TOPICS, the names of string node ids to `pagerank_nodes` (NODE_MAP).
PAGERANK = T.StructType(
    [
        T.StructField("node", T.LongType(), nullable=False),
        T.StructField("rank", T.DoubleType(), nullable=False),
    ]
)

# Topic-sensitive PageRank (§5.3), long form: one row per node and topic, `rank` summing to 1
# within each topic (the teleport set of topic t is its nodes). Long rather than one
# `rank_<topic>` column per topic, so the table's shape does not depend on the topics given.
PAGERANK_TOPICS = T.StructType(
    [
        T.StructField("node", T.LongType(), nullable=False),
        T.StructField("topic", T.StringType(), nullable=False),
        T.StructField("rank", T.DoubleType(), nullable=False),
    ]
)

# One row per PageRank iteration. `l1_delta` = sum |r_new - r_old| (max over topic columns),
# `dead_end_mass` = rank on dead ends before the step; block strategies add the exact
# communication of the step's matrix-vector product (block rows and float entries moved).
PAGERANK_ITERATIONS = T.StructType(
    [
        T.StructField("iteration", T.IntegerType(), nullable=False),
        T.StructField("l1_delta", T.DoubleType(), nullable=False),
        T.StructField("seconds", T.DoubleType(), nullable=True),
        T.StructField("dead_end_mass", T.DoubleType(), nullable=True),
        T.StructField("vector_rows", T.LongType(), nullable=True),
        T.StructField("vector_entries", T.LongType(), nullable=True),
        T.StructField("partial_rows", T.LongType(), nullable=True),
        T.StructField("partial_entries", T.LongType(), nullable=True),
        T.StructField("matrix_entries_moved", T.LongType(), nullable=True),
    ]
)

# HITS (§5.5): hub and authority scores, each summing to 1.
HITS = T.StructType(
    [
        T.StructField("node", T.LongType(), nullable=False),
        T.StructField("hub", T.DoubleType(), nullable=False),
        T.StructField("authority", T.DoubleType(), nullable=False),
    ]
)

# Spam mass (§5.4.5): (rank - trust_rank) / rank; `suspect` when at least the threshold.
SPAM_MASS = T.StructType(
    [
        T.StructField("node", T.LongType(), nullable=False),
        T.StructField("rank", T.DoubleType(), nullable=False),
        T.StructField("trust_rank", T.DoubleType(), nullable=False),
        T.StructField("spam_mass", T.DoubleType(), nullable=False),
        T.StructField("suspect", T.BooleanType(), nullable=False),
    ]
)

# Product of a matrix-vector multiplication (§2.3): y_i for every i < n.
VECTOR = T.StructType(
    [
        T.StructField("i", T.LongType(), nullable=False),
        T.StructField("value", T.DoubleType(), nullable=False),
    ]
)

# --- published result tables -------------------------------------------------------------------

# The demo's quarantine of all its inputs: QUARANTINE plus the data set each row came from.
DATASET_QUARANTINE = T.StructType(
    [T.StructField("dataset", T.StringType(), nullable=False), *QUARANTINE.fields]
)

# --- frequent itemsets (MMDS chapter 6) ---------------------------------------------------------

# A frequent itemset: its items sorted (string order), `size` = number of items, `support_count`
# = baskets containing all of them, `support` = support_count / N (N counts empty baskets too).
ITEMSETS = T.StructType(
    [
        T.StructField("items", T.ArrayType(T.StringType(), containsNull=False), nullable=False),
        T.StructField("size", T.IntegerType(), nullable=False),
        T.StructField("support_count", T.LongType(), nullable=False),
        T.StructField("support", T.DoubleType(), nullable=False),
    ]
)

# An association rule antecedent -> consequent (§6.1.3), both non-empty, disjoint, sorted.
# `support` is the support of their union; `confidence` = support / antecedent_support;
# `lift` = confidence / consequent_support; `interest` = confidence - consequent_support (the
# book's interest); `leverage` = support - antecedent_support * consequent_support;
# `conviction` = (1 - consequent_support) / (1 - confidence), +infinity where confidence is 1
# (mlxtend's convention).
RULES = T.StructType(
    [
        T.StructField("antecedent", T.ArrayType(T.StringType(), containsNull=False),
                      nullable=False),
        T.StructField("consequent", T.ArrayType(T.StringType(), containsNull=False),
                      nullable=False),
        T.StructField("antecedent_support", T.DoubleType(), nullable=False),
        T.StructField("consequent_support", T.DoubleType(), nullable=False),
        T.StructField("support", T.DoubleType(), nullable=False),
        T.StructField("support_count", T.LongType(), nullable=False),
        T.StructField("confidence", T.DoubleType(), nullable=False),
        T.StructField("lift", T.DoubleType(), nullable=False),
        T.StructField("interest", T.DoubleType(), nullable=False),
        T.StructField("leverage", T.DoubleType(), nullable=False),
        T.StructField("conviction", T.DoubleType(), nullable=False),
    ]
)

# One counting pass of a frequent-itemset algorithm: `pass_number` from 1, `size` the itemset
# size counted (k), `candidates` counted and `frequent` found; for PCY-family passes the hash
# table (`buckets`, `frequent_buckets_fraction`, `bitmap_bytes`), and the counting memory.
ITEMSET_PASSES = T.StructType(
    [
        T.StructField("pass_number", T.IntegerType(), nullable=False),
        T.StructField("algorithm", T.StringType(), nullable=False),
        T.StructField("size", T.IntegerType(), nullable=False),
        T.StructField("candidates", T.LongType(), nullable=False),
        T.StructField("frequent", T.LongType(), nullable=False),
        T.StructField("buckets", T.LongType(), nullable=True),
        T.StructField("frequent_buckets_fraction", T.DoubleType(), nullable=True),
        T.StructField("bitmap_bytes", T.LongType(), nullable=True),
        T.StructField("memory_bytes", T.LongType(), nullable=True),
        T.StructField("seconds", T.DoubleType(), nullable=True),
    ]
)

# --- similar items (MMDS chapter 3) -------------------------------------------------------------

# A document's MinHash signature (§3.3): `n_shingles` distinct shingles; `empty` = it has none
# (its signature is all 0xFF bytes and it is never a candidate); `signature` holds the num_perm
# uint32 minima packed little-endian (4 bytes each: compact, and one copy to cache or move).
SIGNATURES = T.StructType(
    [
        T.StructField("doc_id", T.StringType(), nullable=False),
        T.StructField("n_shingles", T.IntegerType(), nullable=False),
        T.StructField("empty", T.BooleanType(), nullable=False),
        T.StructField("signature", T.BinaryType(), nullable=False),
    ]
)

# A candidate pair of LSH banding (§3.4.1), doc_a < doc_b: `band_hits` = bands in which their
# signatures share a bucket; `estimated_jaccard` = fraction of agreeing MinHash values (§3.3.3);
# `jaccard` = the exact Jaccard similarity of their shingle sets (64-bit shingle keys).
CANDIDATE_PAIRS = T.StructType(
    [
        T.StructField("doc_a", T.StringType(), nullable=False),
        T.StructField("doc_b", T.StringType(), nullable=False),
        T.StructField("band_hits", T.IntegerType(), nullable=False),
        T.StructField("estimated_jaccard", T.DoubleType(), nullable=False),
        T.StructField("jaccard", T.DoubleType(), nullable=False),
    ]
)

# A verified pair (§3.4.3): a candidate whose exact Jaccard similarity is at least the threshold.
SIMILAR_PAIRS = T.StructType(
    [
        T.StructField("doc_a", T.StringType(), nullable=False),
        T.StructField("doc_b", T.StringType(), nullable=False),
        T.StructField("jaccard", T.DoubleType(), nullable=False),
        T.StructField("band_hits", T.IntegerType(), nullable=False),
    ]
)

# A band bucket holding more than `max_bucket` documents: reported, not expanded into pairs
# (its documents still pair through their other bands). `bucket` is the FNV-1a 64 band key.
OVERSIZED_BUCKETS = T.StructType(
    [
        T.StructField("band", T.IntegerType(), nullable=False),
        T.StructField("bucket", T.LongType(), nullable=False),
        T.StructField("size", T.LongType(), nullable=False),
    ]
)

# The S-curve of the banding used (§3.4.2): P(candidate) = 1 - (1 - s^rows)^bands at similarity
# s, with the threshold asked for and the bands and rows chosen (one row per point).
S_CURVE = T.StructType(
    [
        T.StructField("similarity", T.DoubleType(), nullable=False),
        T.StructField("probability", T.DoubleType(), nullable=False),
        T.StructField("bands", T.IntegerType(), nullable=False),
        T.StructField("rows", T.IntegerType(), nullable=False),
        T.StructField("threshold", T.DoubleType(), nullable=False),
    ]
)

# A duplicate group (§3.4.3): a document of some verified pair, its connected component's
# smallest `doc_id` in string order (`cluster`) and the documents in it (`cluster_size`).
DUPLICATE_CLUSTERS = T.StructType(
    [
        T.StructField("doc_id", T.StringType(), nullable=False),
        T.StructField("cluster", T.StringType(), nullable=False),
        T.StructField("cluster_size", T.LongType(), nullable=False),
    ]
)

# A stored corpus for query mode (§3.4 without recomputing the corpus): each document's sketch,
# `signature` (num_perm uint32, packed), its LSH `bands` bucket keys (FNV-1a 64; none when
# empty) and its sorted distinct 64-bit shingle keys packed little-endian in `shingles`.
SIMILAR_INDEX = T.StructType(
    [
        T.StructField("doc_id", T.StringType(), nullable=False),
        T.StructField("n_shingles", T.IntegerType(), nullable=False),
        T.StructField("empty", T.BooleanType(), nullable=False),
        T.StructField("signature", T.BinaryType(), nullable=False),
        T.StructField("bands", T.ArrayType(T.LongType(), containsNull=False), nullable=False),
        T.StructField("shingles", T.BinaryType(), nullable=False),
    ]
)

# How `similar_index` was made (one row): the shingling, MinHash and banding a query must use,
# and the threshold of the run that stored it (a query's default).
SIMILAR_INDEX_PARAMS = T.StructType(
    [
        T.StructField("shingle", T.StringType(), nullable=False),
        T.StructField("k", T.IntegerType(), nullable=False),
        T.StructField("lowercase", T.BooleanType(), nullable=False),
        T.StructField("strip_punctuation", T.BooleanType(), nullable=False),
        T.StructField("collapse_whitespace", T.BooleanType(), nullable=False),
        T.StructField("keep_short", T.BooleanType(), nullable=False),
        T.StructField("stop_words", T.ArrayType(T.StringType(), containsNull=False),
                      nullable=False),
        T.StructField("num_perm", T.IntegerType(), nullable=False),
        T.StructField("seed", T.LongType(), nullable=False),
        T.StructField("bands", T.IntegerType(), nullable=False),
        T.StructField("rows", T.IntegerType(), nullable=False),
        T.StructField("threshold", T.DoubleType(), nullable=False),
    ]
)

# A stored document similar to a query document: Jaccard >= the query's threshold.
QUERY_MATCHES = T.StructType(
    [
        T.StructField("query_id", T.StringType(), nullable=False),
        T.StructField("doc_id", T.StringType(), nullable=False),
        T.StructField("jaccard", T.DoubleType(), nullable=False),
        T.StructField("estimated_jaccard", T.DoubleType(), nullable=False),
        T.StructField("band_hits", T.IntegerType(), nullable=False),
    ]
)

# A pair of vectors found by cosine or Euclidean LSH (§3.7), id_a < id_b (the `row` ids):
# `distance` = the exact angle in degrees (cosine) or L2 distance; `band_hits` as for documents.
VECTOR_PAIRS = T.StructType(
    [
        T.StructField("id_a", T.LongType(), nullable=False),
        T.StructField("id_b", T.LongType(), nullable=False),
        T.StructField("distance", T.DoubleType(), nullable=False),
        T.StructField("band_hits", T.IntegerType(), nullable=False),
    ]
)

# Predictions of a trained model (#10, `mining.sgd`), one per input row: `label` is the row's
# label, `prediction` the predicted label (the original label values; the estimate for a
# regression), `probability` the class probabilities in the order of the sorted labels for
# logistic and softmax models, null for the others.
PREDICTIONS = T.StructType(
    [
        T.StructField("row", T.LongType(), nullable=False),
        T.StructField("label", T.DoubleType(), nullable=False),
        T.StructField("prediction", T.DoubleType(), nullable=False),
        T.StructField("probability", T.ArrayType(T.DoubleType(), containsNull=False),
                      nullable=True),
    ]
)

# One row per training epoch: the steps taken, the mean training objective of its batches (mean
# loss plus penalty), the validation loss and metric (accuracy; R² for a regression; null
# without a validation split) and its wall-clock seconds.
TRAINING_HISTORY = T.StructType(
    [
        T.StructField("epoch", T.IntegerType(), nullable=False),
        T.StructField("steps", T.IntegerType(), nullable=False),
        T.StructField("train_loss", T.DoubleType(), nullable=False),
        T.StructField("validation_loss", T.DoubleType(), nullable=True),
        T.StructField("validation_metric", T.DoubleType(), nullable=True),
        T.StructField("seconds", T.DoubleType(), nullable=False),
    ]
)

# The published `training_history` (train job, demo): TRAINING_HISTORY with the cross-validation
# `fold` first, null for the model trained on all the training rows, 0..k-1 for the model trained
# without fold k's rows (--folds k).
TRAINING_HISTORY_BY_FOLD = T.StructType(
    [T.StructField("fold", T.IntegerType(), nullable=True), *TRAINING_HISTORY.fields]
)

# A stored model (`mining.io.models`), one row per model name: `estimator` is the class
# (mining.sgd), `loss` and `mode` what was trained and where, the sizes (`n_params` is the length
# of the flat parameter vector), `classes` the sorted labels (empty for a regression), the best
# epoch and its validation loss (null without a validation split), the training and validation
# row counts; `config` is JSON text of the estimator's get_params() plus n_features, classes and
# the class names of string labels (get_json_object(config, '$.learning_rate')); `params` is the
# model itself, Fitted.pack(): one .npz value (weights, batch-norm statistics, history).
MODEL = T.StructType(
    [
        T.StructField("name", T.StringType(), nullable=False),
        T.StructField("run_id", T.StringType(), nullable=False),
        T.StructField("estimator", T.StringType(), nullable=False),
        T.StructField("loss", T.StringType(), nullable=False),
        T.StructField("mode", T.StringType(), nullable=False),
        T.StructField("n_features", T.IntegerType(), nullable=False),
        T.StructField("n_outputs", T.IntegerType(), nullable=False),
        T.StructField("n_params", T.LongType(), nullable=False),
        T.StructField("classes", T.ArrayType(T.DoubleType(), containsNull=False),
                      nullable=False),
        T.StructField("epochs", T.IntegerType(), nullable=False),
        T.StructField("best_epoch", T.IntegerType(), nullable=False),
        T.StructField("validation_loss", T.DoubleType(), nullable=True),
        T.StructField("train_rows", T.LongType(), nullable=False),
        T.StructField("validation_rows", T.LongType(), nullable=False),
        T.StructField("config", T.StringType(), nullable=False),
        T.StructField("params", T.BinaryType(), nullable=False),
    ]
)

# One measure of a trained model (`mining.evaluation`). `split`: 'train' (the rows of the
# training input, its validation rows included), 'validation' (the trainer's held-out rows at
# the best epoch), 'test' (the rows of a test file) or 'cv' (fold `fold`'s rows, predicted by
# the model trained on the other folds). `metric`: 'rows', 'accuracy', 'log_loss' (logistic and
# softmax), 'precision', 'recall', 'f1' and 'support' (per class: `label`; null otherwise),
# 'macro_f1'; for a regression 'rmse', 'mae', 'r2'; for 'validation' the model's own 'loss'
# (mean, no penalty) and 'accuracy' (R² 'r2' for a regression).
METRICS = T.StructType(
    [
        T.StructField("split", T.StringType(), nullable=False),
        T.StructField("fold", T.IntegerType(), nullable=True),
        T.StructField("metric", T.StringType(), nullable=False),
        T.StructField("label", T.DoubleType(), nullable=True),
        T.StructField("value", T.DoubleType(), nullable=False),
    ]
)

# The confusion matrix of a classifier's published predictions (split 'test' or 'train', as in
# METRICS): how many `rows` of label `actual` were predicted `predicted`; pairs with no rows are
# absent (empty for a regression). `rows`, not `count`: a Row's `count` is tuple.count.
CONFUSION = T.StructType(
    [
        T.StructField("split", T.StringType(), nullable=False),
        T.StructField("actual", T.DoubleType(), nullable=False),
        T.StructField("predicted", T.DoubleType(), nullable=False),
        T.StructField("rows", T.LongType(), nullable=False),
    ]
)

# Every table a job publishes, by name: `Warehouse.stage` checks a table against its entry
# (names, in this order; types up to nullability; NOT NULL columns by a null count of the data)
# unless the caller passes `schema=` explicitly. A table with neither cannot be published.
RESULT_TABLES: dict[str, T.StructType] = {
    "dataset_profile": DATASET_PROFILE,
    "degree_distribution": DEGREE_DISTRIBUTION,
    "basket_sizes": BASKET_SIZE_DISTRIBUTION,
    "quarantine": DATASET_QUARANTINE,
    "pagerank": PAGERANK,
    "pagerank_topics": PAGERANK_TOPICS,
    "pagerank_nodes": NODE_MAP,
    "pagerank_iterations": PAGERANK_ITERATIONS,
    "pagerank_quarantine": QUARANTINE,
    "hits": HITS,
    "spam_mass": SPAM_MASS,
    "itemsets": ITEMSETS,
    "rules": RULES,
    "itemset_passes": ITEMSET_PASSES,
    "itemsets_quarantine": QUARANTINE,
    "signatures": SIGNATURES,
    "candidate_pairs": CANDIDATE_PAIRS,
    "similar_pairs": SIMILAR_PAIRS,
    "oversized_buckets": OVERSIZED_BUCKETS,
    "s_curve": S_CURVE,
    "duplicate_clusters": DUPLICATE_CLUSTERS,
    "similar_index": SIMILAR_INDEX,
    "similar_index_params": SIMILAR_INDEX_PARAMS,
    "query_matches": QUERY_MATCHES,
    "similar_query_quarantine": QUARANTINE,
    "similar_quarantine": QUARANTINE,
    "model": MODEL,
    "training_history": TRAINING_HISTORY_BY_FOLD,
    "predictions": PREDICTIONS,
    "metrics": METRICS,
    "confusion": CONFUSION,
    "train_quarantine": QUARANTINE,
}
