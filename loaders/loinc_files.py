"""The files of a LOINC release: a zip, a folder or a single CSV, each CSV plain or gzipped.

`Release` finds files by their base name wherever they sit in the layout (`LoincTable/`,
`AccessoryFiles/PartFile/`, …). `CsvFile.rows` streams one CSV with its header checked and
every row's column count checked, so a malformed row fails with file and line.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from termserver.errors import LoadError

csv.field_size_limit(1 << 24)  # LOINC fields (e.g. RELATEDNAMES2) can be long

LOINC_NUM = re.compile(r"^\d{1,8}-\d$")
PART_NUM = re.compile(r"^LP\d+-\d$")
ANSWER_NUM = re.compile(r"^LA\d+-\d$")
LIST_NUM = re.compile(r"^LL\d+-\d$")
VARIANT = re.compile(r"^([a-z]{2,3})([A-Z]{2})(\d+)LinguisticVariant\.csv$")


@dataclass(frozen=True, slots=True)
class CsvFile:
    """One CSV of the release: `name` as shown in messages, `open` gives its bytes."""

    name: str
    base: str  # base name without .gz, e.g. "Loinc.csv"
    open: Callable[[], IO[bytes]]

    def rows(self, required: tuple[str, ...] = ()) -> Iterator[Row]:
        """Rows after the header; each names its line for errors."""
        with self.open() as raw:
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if _gzipped(raw) else raw
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            try:
                header = next(reader)
            except StopIteration:
                raise LoadError("empty file, expected a CSV header", path=self.name) from None
            except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
                raise LoadError(f"not a readable CSV: {exc}", path=self.name) from None
            columns = {name.strip(): i for i, name in enumerate(header)}
            missing = [c for c in required if c not in columns]
            if missing:
                raise LoadError(f"missing column(s) {', '.join(missing)}", path=self.name,
                                where="1", hint=f"found {', '.join(header[:12])}")
            width = len(header)
            try:
                for values in reader:
                    if not values:
                        continue
                    if len(values) != width:
                        raise LoadError(f"{len(values)} columns where the header has {width}",
                                        path=self.name, where=str(reader.line_num))
                    yield Row(self, reader.line_num, columns, values)
            except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
                raise LoadError(f"unreadable row: {exc}", path=self.name,
                                where=str(reader.line_num)) from None


@dataclass(frozen=True, slots=True)
class Row:
    file: CsvFile
    line: int
    columns: dict[str, int]
    values: list[str]

    def __getitem__(self, column: str) -> str:
        i = self.columns.get(column)
        return "" if i is None else self.values[i].strip()

    def code(self, column: str, pattern: re.Pattern[str], what: str) -> str:
        """The identifier in `column`, checked against `pattern`."""
        value = self[column]
        if not pattern.match(value):
            raise self.error(f"{column} {value!r} is not a valid {what}")
        return value

    def error(self, message: str) -> LoadError:
        return LoadError(message, path=self.file.name, where=str(self.line))


def _gzipped(raw: IO[bytes]) -> bool:
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head:
        return head == b"\x1f\x8b"
    start = raw.read(2)
    raw.seek(0)
    return start == b"\x1f\x8b"


class Release:
    """The CSV files under `path` (zip, folder or one file), by base name. Holds no open
    file: each CSV is opened when read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: list[CsvFile] = []
        if path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.is_file()):
                self._add(str(f), f.name, _file_opener(f))
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                members = sorted(i.filename for i in zf.infolist() if not i.is_dir())
            for member in members:
                self._add(f"{path}:{member}", member.rsplit("/", 1)[-1],
                          _zip_opener(path, member))
        elif path.is_file():
            self._add(str(path), path.name, _file_opener(path))
        else:
            raise LoadError("no such file or directory", path=str(path))

    def _add(self, name: str, base: str, opener: Callable[[], IO[bytes]]) -> None:
        base = base[:-3] if base.lower().endswith(".gz") else base
        if base.lower().endswith((".csv", ".txt")):
            self.files.append(CsvFile(name, base, opener))

    def find(self, *bases: str) -> CsvFile | None:
        """The first file whose base name is one of `bases` (case-insensitive), in the order
        given; a name ending in `*` matches as a prefix."""
        for wanted in bases:
            w = wanted.lower()
            for f in self.files:
                b = f.base.lower()
                if b == w or (w.endswith("*") and b.startswith(w[:-1]) and b.endswith(".csv")):
                    return f
        return None

    def all(self, pattern: re.Pattern[str]) -> list[CsvFile]:
        return [f for f in self.files if pattern.match(f.base)]

    def readme_text(self) -> str:
        """The text of the release's read-me files (for the version), at most 64 KiB each."""
        out = []
        for f in self.files:
            if "readme" in f.base.lower() and f.base.lower().endswith(".txt"):
                with f.open() as raw:
                    out.append(raw.read(65536).decode("utf-8", "replace"))
        return "\n".join(out)


def variant_language(base: str) -> str | None:
    """The BCP-47 tag of a linguistic variant file name: deDE15LinguisticVariant.csv → de-DE."""
    m = VARIANT.match(base)
    return f"{m.group(1)}-{m.group(2)}" if m else None


def _file_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _zip_opener(path: Path, name: str) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        with zipfile.ZipFile(path) as zf:  # the member keeps the archive open until closed
            return zf.open(name)  # a ZipExtFile: buffered, with peek()
    return open_member
