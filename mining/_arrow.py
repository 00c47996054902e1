"""Arrow <-> numpy helpers shared by the ``mapInArrow`` kernels of every package.

Kernels move numeric blocks as packed binary values (one copy per value crossing the JVM/Python
boundary, zero-copy numpy views on the Python side) rather than arrays of boxed values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

__all__ = ["ArrowKernel", "binary_array", "binary_values", "list_values", "lists_array"]

ArrowKernel = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]  # mapInArrow's


def lists_array(values: np.ndarray, offsets: np.ndarray, typ: pa.DataType) -> pa.Array:
    """An Arrow list array of type ``typ`` holding ``values`` cut at ``offsets``."""
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)),
                                    pa.array(values, typ.value_type), type=typ)


def binary_array(values: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """A binary array whose row ``i`` is the bytes of ``values[offsets[i]:offsets[i + 1]]``."""
    width = values.dtype.itemsize
    return pa.Array.from_buffers(pa.binary(), len(offsets) - 1, [
        None, pa.py_buffer((np.asarray(offsets, np.int64) * width).astype(np.int32)),
        pa.py_buffer(np.ascontiguousarray(values))])


def binary_values(column: pa.Array | pa.ChunkedArray,
                  dtype: np.dtype | type) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets in elements from 0, values)`` of a binary column of packed ``dtype``s."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    wide = pa.types.is_large_binary(arr.type)
    offsets = np.frombuffer(arr.buffers()[1], np.int64 if wide else np.int32)
    offsets = offsets[arr.offset:arr.offset + len(arr) + 1].astype(np.int64)
    data = np.frombuffer(arr.buffers()[2] or b"", np.uint8)[offsets[0]:offsets[-1]]
    width = np.dtype(dtype).itemsize
    return (offsets - offsets[0]) // width, data.view(dtype)


def list_values(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets from 0, flat values)`` of a list column with no null lists or elements.

    Zero-copy views where Arrow allows it (one combine for a chunked column).
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    offsets = np.asarray(arr.offsets).astype(np.int64)
    flat = arr.values.to_numpy(zero_copy_only=False)[offsets[0]:offsets[-1]]
    return offsets - offsets[0], flat
