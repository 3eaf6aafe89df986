"""Streaming table readers and writers of the bulk CLI (termserver.cli_bulk): CSV, TSV,
NDJSON (optionally .gz) and Parquet (pyarrow, row group by row group). A CSV/TSV row is a
list of strings, an NDJSON/Parquet row a dict; every writer takes either. Memory is bounded
by one row group (Parquet) or one row (the others)."""

from __future__ import annotations

import csv
import gzip
import importlib
import io
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

FORMATS = ("csv", "tsv", "ndjson", "parquet")
_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".ndjson": "ndjson",
           ".jsonl": "ndjson", ".parquet": "parquet", ".pq": "parquet"}
#: Rows per Parquet row group written.
PARQUET_GROUP = 50_000
Row = list[str] | dict[str, Any]


class UsageError(Exception):
    """A wrong flag or a file that does not fit them (exit code 2)."""


def format_of(path: str, given: str | None) -> str:
    """`given`, or the format the file name says (.gz stripped); stdin/stdout default CSV."""
    if given:
        return given
    if path == "-":
        return "csv"
    name = path[:-3] if path.endswith(".gz") else path
    found = _SUFFIX.get(os.path.splitext(name)[1].lower())
    if found is None:
        raise UsageError(f"{path}: cannot tell the format from the name; pass --format "
                         f"({', '.join(FORMATS)})")
    return found


def need_pyarrow() -> Any:
    try:
        pyarrow = importlib.import_module("pyarrow")
        importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise UsageError("Parquet needs pyarrow: pip install pyarrow") from None
    return pyarrow


@dataclass
class Reader:
    """Rows of one input: `columns` (known after open) and `rows()`; `done()` the bytes read
    so far and `total` the size (None for stdin), for the progress bar."""

    path: str
    fmt: str
    encoding: str = "utf-8"
    columns: list[str] = field(default_factory=list)
    total: int | None = None
    _raw: Any = None
    _text: Any = None
    _first: Row | None = None
    _rows: Iterator[Row] | None = None

    def open(self) -> Reader:
        if self.fmt == "parquet":
            pa = need_pyarrow()
            if self.path == "-":
                raise UsageError("Parquet cannot be read from stdin (it needs a seekable file)")
            self._raw = pa.parquet.ParquetFile(self.path)
            self.columns = list(self._raw.schema_arrow.names)
            self.total = self._raw.metadata.num_rows
            self._rows = self._parquet_rows()
            return self
        binary: IO[bytes] = sys.stdin.buffer if self.path == "-" else open(self.path, "rb")
        self._raw = binary
        if self.path != "-":
            self.total = os.fstat(binary.fileno()).st_size
        stream: Any = gzip.open(binary) if self.path.endswith(".gz") else binary
        text = self._text = io.TextIOWrapper(stream, encoding=self.encoding, newline="")
        if self.fmt == "ndjson":
            self._rows = self._ndjson_rows(text)
            self._first = next(self._rows, None)
            self.columns = list(self._first) if isinstance(self._first, dict) else []
        else:
            reader = csv.reader(text, delimiter="\t" if self.fmt == "tsv" else ",")
            self.columns = next(reader, [])
            if not self.columns:
                raise UsageError(f"{self.path}: empty input (no header row)")
            self._rows = iter(reader)
        return self

    def rows(self) -> Iterator[Row]:
        if self._first is not None:
            yield self._first
        assert self._rows is not None
        yield from self._rows

    def done(self) -> int:
        """Progress in the unit of `total` (bytes, or rows for Parquet)."""
        if self.fmt == "parquet" or self._raw is None or self.path == "-":
            return 0
        try:
            return int(self._raw.tell())
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        if self._text is not None and self.path == "-":
            self._text.detach()  # stdin stays open
        elif self._text is not None:
            self._text.close()
        if self._raw is not None and self.path != "-" and hasattr(self._raw, "close"):
            self._raw.close()

    def _ndjson_rows(self, text: IO[str]) -> Iterator[Row]:
        for number, line in enumerate(text, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{self.path}, line {number}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise UsageError(f"{self.path}, line {number}: not a JSON object")
            yield row

    def _parquet_rows(self) -> Iterator[Row]:
        for batch in self._raw.iter_batches(batch_size=PARQUET_GROUP):
            yield from batch.to_pylist()


def cell(row: Row, column: str, index: int) -> Any:
    """The value of `column` (at `index` in a list row)."""
    if isinstance(row, list):
        return row[index] if index < len(row) else None
    return row.get(column)


class Writer:
    """Writes each input row with the result columns appended, in the output format."""

    def __init__(self, path: str, fmt: str, columns: Sequence[str], extra: Sequence[str],
                 schema: Any = None) -> None:
        self.path, self.fmt = path, fmt
        self.columns, self.extra = list(columns), list(extra)
        self._binary: IO[bytes] = sys.stdout.buffer if path == "-" else open(path, "wb")
        self._group: list[dict[str, Any]] = []
        self._parquet: Any = None
        self._csv: Any = None
        if fmt == "parquet":
            pa = need_pyarrow()
            base = schema if schema is not None else pa.schema(
                [(c, pa.string()) for c in self.columns])
            self._schema = base
            for name in self.extra:
                self._schema = self._schema.append(pa.field(name, pa.string()))
            self._parquet = pa.parquet.ParquetWriter(self._binary, self._schema)
            return
        stream: Any = gzip.open(self._binary, "wb") if path.endswith(".gz") else self._binary
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="",
                                      write_through=False)
        if fmt in ("csv", "tsv"):
            self._csv = csv.writer(self._text, delimiter="\t" if fmt == "tsv" else ",",
                                   lineterminator="\n")
            self._csv.writerow([*self.columns, *self.extra])

    def write(self, row: Row, values: list[Any]) -> None:
        if self._csv is not None:  # None is written as an empty cell
            if isinstance(row, list):
                self._csv.writerow(row + values)
            else:
                self._csv.writerow([_text(row.get(c)) for c in self.columns] + list(values))
            return
        record = dict(zip(self.columns, row, strict=False)) if isinstance(row, list) \
            else dict(row)
        for name, value in zip(self.extra, values, strict=True):
            record[name] = value
        if self.fmt == "ndjson":
            self._text.write(json.dumps(record, ensure_ascii=False, default=str))
            self._text.write("\n")
            return
        self._group.append(record)
        if len(self._group) >= PARQUET_GROUP:
            self._flush_group()

    def _flush_group(self) -> None:
        if self._group:
            pa = need_pyarrow()
            self._parquet.write_table(pa.Table.from_pylist(self._group, schema=self._schema))
            self._group = []

    def close(self) -> None:
        if self._parquet is not None:
            self._flush_group()
            self._parquet.close()
        else:
            self._text.flush()
            if self.path.endswith(".gz"):
                self._text.close()
            elif self.path == "-":
                self._text.detach()  # stdout stays open
        if self.path != "-":
            self._binary.close()
        else:
            self._binary.flush()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
