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
        elif path.is_file():  # a renamed CSV is known by its header: table.csv → Loinc.csv
            self._add(str(path), content_base(path) or path.name, _file_opener(path))
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


#: header columns that make a CSV one of these LOINC files, whatever its name
TABLE_COLUMNS = frozenset({"LOINC_NUM", "COMPONENT", "PROPERTY", "TIME_ASPCT", "SYSTEM",
                           "SCALE_TYP", "LONG_COMMON_NAME", "STATUS"})
VARIANT_COLUMNS = frozenset({"LOINC_NUM", "LONG_COMMON_NAME", "SHORTNAME",
                             "LinguisticVariantDisplayName"})
LAB_ORDERS_COLUMNS = frozenset({"LOINC_NUM", "ORDER_OBS"})
LAB_ORDERS_BASE = "LoincUniversalLabOrdersValueSet.csv"
_KNOWN_BASE = re.compile(r"^(Loinc.*|LoincTableCore.*|.*LinguisticVariant)\.csv$", re.IGNORECASE)


def sniff(path: Path) -> str | None:
    """The loader (`loinc`, `loinc-variant`, `loinc-lab-orders`) for a single CSV file (plain
    or gzipped, any name) by its header columns; None for anything else."""
    columns = _header(path)
    if columns is None:
        return None
    if TABLE_COLUMNS <= columns:
        return "loinc"
    if VARIANT_COLUMNS <= columns:
        return "loinc-variant"
    if LAB_ORDERS_COLUMNS <= columns and "COMPONENT" not in columns:
        return "loinc-lab-orders"
    return None


def content_base(path: Path) -> str | None:
    """The release name of a LOINC file whose own name is not one (`table.csv.gz` with the
    LOINC table's header → LoincTableCore.csv, or Loinc.csv when it has ORDER_OBS)."""
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    if _KNOWN_BASE.match(name):
        return None
    kind = sniff(path)
    if kind == "loinc":
        columns = _header(path) or frozenset()
        return "Loinc.csv" if "ORDER_OBS" in columns else "LoincTableCore.csv"
    if kind == "loinc-lab-orders":
        return LAB_ORDERS_BASE
    return None


def _header(path: Path) -> frozenset[str] | None:
    """The column names of a CSV file's first line (at most 64 KiB read), or None."""
    if not path.is_file() or zipfile.is_zipfile(path):
        return None
    try:
        with path.open("rb") as raw:
            head = raw.read(2)
            raw.seek(0)
            stream: IO[bytes] = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) \
                if head == b"\x1f\x8b" else raw
            line = stream.readline(65536)
    except (OSError, EOFError):
        return None
    text = line.decode("utf-8-sig", "replace")
    try:
        header = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        return None
    return frozenset(c.strip() for c in header)


#: a LOINC release number in a file or folder name: Loinc_2.78, loinc-2.74-accessory, 2.74
RELEASE_IN_NAME = re.compile(r"(?<![\d.])(\d\.\d{2,3})(?![\d])")
_README_VERSION = re.compile(r"(?:LOINC|Version)\s+(?:version\s+)?(\d\.\d{2,3})\b",
                             re.IGNORECASE)


def release_of(path: Path, release: Release) -> tuple[str | None, str]:
    """The LOINC release an accessory file at `path` comes from, and where that was read:
    a LOINC file or folder name on the way to it (`loinc-2.74-accessory/…`, `Loinc_2.74.zip`,
    `…/2.74/…`), else a read-me in it or up to three folders above. The files themselves
    (variants, lab orders) carry no version column: (None, "") when nothing says."""
    names = [path.name, *(p.name for p in list(path.parents)[:3])]
    for name in names:
        m = RELEASE_IN_NAME.search(name)
        if m and ("loinc" in name.lower() or name == m.group(1)):
            return m.group(1), f"from the name {name}"
    m = _README_VERSION.search(release.readme_text())
    if m:
        return m.group(1), "from the release read-me"
    folder = path if path.is_dir() else path.parent
    for parent in [folder, *list(folder.parents)[:3]]:
        for readme in sorted(parent.glob("*[Rr]ead[Mm]e*.txt")):
            try:
                with readme.open("rb") as f:
                    text = f.read(65536).decode("utf-8", "replace")
            except OSError:
                continue
            m = _README_VERSION.search(text)
            if m:
                return m.group(1), f"from {readme.name}"
    return None, ""


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
