"""Output helpers: streamed Parquet, fast string columns, deterministic CSV formatting."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


class StreamingParquet:
    """Write record batches to one Parquet file from a background thread, in order.

    ``add`` takes a batch or a zero-argument function that builds one; builders run on the
    writer thread, so turning numpy arrays into Arrow columns overlaps with the simulation.
    At most one row group is being written while the next one fills, which bounds memory.
    """

    def __init__(
        self,
        path: Path,
        schema: pa.Schema,
        rows_per_group: int = 1_000_000,
        plain_columns: tuple[str, ...] = (),
    ) -> None:
        dictionary = [name for name in schema.names if name not in plain_columns]
        self._writer = pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=dictionary)
        self._schema = schema
        self._pending: list[pa.RecordBatch | Callable[[], pa.RecordBatch]] = []
        self._pending_rows = 0
        self._rows_per_group = rows_per_group
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")
        self._inflight: Future[None] | None = None
        self.rows = 0

    def add(self, batch: pa.RecordBatch | Callable[[], pa.RecordBatch], rows: int) -> None:
        """Queue a batch (or its builder) of ``rows`` rows; write once enough are queued."""
        if rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += rows
        self.rows += rows
        if self._pending_rows >= self._rows_per_group:
            self.flush()

    def flush(self) -> None:
        """Hand the queued batches to the writer thread as one row group."""
        if not self._pending:
            return
        self._wait()
        self._inflight = self._pool.submit(self._write, self._pending)
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        """Flush, wait for the writer thread and close the file."""
        try:
            self.flush()
            self._wait()
        finally:
            self._writer.close()
            self._pool.shutdown()

    def _wait(self) -> None:
        """Wait for the row group in flight, re-raising its error."""
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.result()

    def _write(self, pending: list[pa.RecordBatch | Callable[[], pa.RecordBatch]]) -> None:
        """Build and write one row group (runs on the writer thread)."""
        batches = [item() if callable(item) else item for item in pending]
        table = pa.Table.from_batches(batches, schema=self._schema)
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))


def hex_ids(prefix: str, numbers: np.ndarray, width: int = 12) -> pa.Array:
    """Return ``prefix`` + fixed-width lowercase hex of each number, built without Python loops."""
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    n, size = len(numbers), len(head) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(head)] = head
    values = numbers.astype(np.uint64)
    for i in range(width):
        buf[:, size - 1 - i] = HEX_DIGITS[(values >> np.uint64(4 * i)) & np.uint64(15)]
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(buf.tobytes())
    ).cast(pa.string())


def numbered(prefix: str, count: int) -> np.ndarray:
    """Return prefix_0000001 … ids (at least 7 digits) as an object array."""
    width = max(7, len(str(count)))
    return np.asarray([f"{prefix}_{i:0{width}d}" for i in range(1, count + 1)], dtype=object)


def iso_times(ms: np.ndarray) -> np.ndarray:
    """Return ISO 8601 UTC strings ('2025-01-31T09:12:44Z') for epoch ms; None where ms < 0."""
    text = np.datetime_as_string(np.maximum(ms, 0).astype("datetime64[ms]"), unit="s")
    out = np.char.add(text, "Z").astype(object)
    out[ms < 0] = None
    return out


def money(minor: np.ndarray) -> np.ndarray:
    """Return decimal strings in major units ('1250.00') for integer minor units."""
    minor = pa.array(np.asarray(minor, dtype=np.int64))
    major = pc.cast(pc.divide(minor, 100), pa.string())
    cents = pc.utf8_lpad(
        pc.cast(pc.subtract(minor, pc.multiply(pc.divide(minor, 100), 100)), pa.string()), 2, "0"
    )
    return np.asarray(
        pc.binary_join_element_wise(major, cents, ".").to_numpy(zero_copy_only=False), dtype=object
    )


def booleans(values: np.ndarray) -> np.ndarray:
    """Return 'true' / 'false' strings."""
    return np.where(np.asarray(values, dtype=bool), "true", "false").astype(object)


def optional_ints(values: np.ndarray) -> np.ndarray:
    """Return integers as strings, None where the value is negative (missing)."""
    out = np.asarray(values).astype(str).astype(object)
    out[np.asarray(values) < 0] = None
    return out


def write_csv(
    path: Path, columns: dict[str, Sequence[object] | np.ndarray], chunk_rows: int = 100_000
) -> int:
    """Write columns (equal-length sequences; None → empty) as UTF-8 CSV; return the row count.

    Rows are converted to Python objects a chunk at a time, which bounds memory.
    """
    arrays = [
        c if isinstance(c, np.ndarray) else np.asarray(c, dtype=object) for c in columns.values()
    ]
    rows = len(arrays[0]) if arrays else 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(list(columns))
        for start in range(0, rows, chunk_rows):
            chunk = [a[start : start + chunk_rows].tolist() for a in arrays]
            writer.writerows(zip(*chunk, strict=True))
    return rows
