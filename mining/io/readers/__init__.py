"""Input readers that lose nothing: every line is kept, skipped, quarantined or deduplicated.

Each reader takes the session first, then a path (file, directory, glob, or a list of them),
and returns a :class:`ReadResult`: ``data`` (valid rows, schema from :mod:`mining.schemas`),
``quarantine`` (:data:`mining.schemas.QUARANTINE`: each rejected row with its file, line
number and reason), ``extras`` (side tables) and ``counts()``, exact numbers taken with
``DataFrame.observe`` while the job writes, for which
``rows_read == lines_read - skipped == rows_kept + rows_quarantined + duplicates_removed``.

Readers, their ``data`` schema and their extra ``counts()`` keys:

* :func:`read_edges`: ``EDGES``; ``edges``, ``self_loops``, ``nodes``.
* :func:`read_baskets`: ``BASKETS``; ``baskets``, ``items``, ``occurrences``,
  ``empty_baskets``, ``duplicate_items``.
* :func:`read_documents`: ``DOCUMENTS``; ``documents``, ``empty_documents``, ``empty_files``;
  reuters also ``reuters_elements`` and ``no_body``.
* :func:`read_labeled`: ``LABELED_POINTS``; ``features``.

Nothing here runs a Spark job at call time, except the csv layout of ``read_documents``, which
reads its header line. Local inputs are checked at once and raise a one-line
:class:`mining.errors.InputError` naming the path: missing paths and globs matching nothing,
directories holding no file or (without ``recursive``) subdirectories, and files whose first
KiB show UTF-16/UTF-32, binary data, or damaged gzip. Damage found only when a job reads the
file (a gzip file cut beyond its first KiB, any remote file) fails that job with Spark's
``FAILED_READ_FILE`` error: :func:`explain_read_failure` turns it into the one-line
``InputError`` (``input file X.gz is truncated or corrupt (Unexpected end of input stream)``);
:meth:`ReadResult.counts` applies it itself.
"""

from __future__ import annotations

from mining.io.readers._failures import explain_read_failure
from mining.io.readers._inputs import input_bytes
from mining.io.readers.baskets import read_baskets
from mining.io.readers.documents import read_documents
from mining.io.readers.edges import read_edges
from mining.io.readers.labeled import read_labeled
from mining.io.readers.result import ReadResult

__all__ = [
    "ReadResult",
    "explain_read_failure",
    "input_bytes",
    "read_baskets",
    "read_documents",
    "read_edges",
    "read_labeled",
]
