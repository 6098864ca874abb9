"""Recognise an input file's format and make it readable (gzip checked and unpacked)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tenure.errors import InputError

Format = Literal["csv", "jsonl", "parquet"]
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class InputFile:
    """A file ready for DuckDB: its plain path, format, and the name users know it by."""

    original: Path
    path: Path
    format: Format
    digest: Future[str]

    @property
    def sha256(self) -> str:
        """Return the SHA-256 of the (decompressed) content, waiting for it if still running."""
        return self.digest.result()


def _done(value: str) -> Future[str]:
    future: Future[str] = Future()
    future.set_result(value)
    return future


def detect_format(path: Path) -> tuple[Format, bool]:
    """Return the file's format and whether it is gzip-compressed, from its name."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] in (".gz", ".gzip")
    if gz:
        suffixes = suffixes[:-1]
    fmt = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(
            f"{path}: cannot tell the format from the name; use .csv, .jsonl or .parquet "
            "(optionally with .gz)"
        )
    return fmt, gz


def _gunzip(source: Path, target: Path) -> str:
    """Decompress source into target, verifying the gzip trailer; return the sha256."""
    digest = hashlib.sha256()
    try:
        with gzip.open(source, "rb") as reader, open(target, "wb") as writer:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
                writer.write(chunk)
    except EOFError:
        raise InputError(
            f"{source}: the gzip stream is truncated (the file ends before the compressed data "
            "does); nothing was imported — re-export or re-download the file"
        ) from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise InputError(
            f"{source}: not a readable gzip file ({exc}); nothing was imported"
        ) from exc
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def prepared_input(path: Path, scratch: Path) -> Iterator[InputFile]:
    """Yield the file as DuckDB should read it; gzip inputs are checked and unpacked to scratch."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty; nothing was imported")
    fmt, gz = detect_format(path)
    if not gz:
        # Hash beside the import: hashlib releases the GIL, so this overlaps DuckDB's read.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
            yield InputFile(original=path, path=path, format=fmt, digest=pool.submit(_sha256, path))
        return
    scratch.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="import-", dir=scratch))
    try:
        plain = workdir / path.name.rsplit(".", 1)[0]
        sha = _gunzip(path, plain)
        if plain.stat().st_size == 0:
            raise InputError(f"{path}: the file is empty once decompressed; nothing was imported")
        yield InputFile(original=path, path=plain, format=fmt, digest=_done(sha))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
