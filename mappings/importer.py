"""Import a local code list (CSV, TSV or XLSX, optionally gzipped) for the curation workbench.

`read_code_list` reads the file with a column mapping and returns the good rows as typed
`LocalCode`s plus a report of every bad row (missing code, duplicate code, undecodable text,
non-numeric frequency) with its line number. `to_code_system` turns the result into
`CodeSystemContent` for the normal ingest path; `diff` compares two imports of the same list.

Line numbers are those of the file as a curator sees it: the header is line 1; a quoted CSV
field spanning lines counts from the row's first line; XLSX rows use the sheet's row numbers.
Lines end in LF, CRLF or a bare CR.

Memory is bounded whatever the input (README "Limits", `loaders.bounded`): text is read line by
line in two passes (encoding, then rows) through a capped decompressing reader; an XLSX is
checked member by member (sizes, no DTD) before openpyxl opens it; at most `max_rows()` rows
and `max_cells()` cells are read, and the first MAX_LISTED bad rows are listed, the rest only
counted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from loaders.base import CodeSystemContent
from loaders.bounded import (
    MAX_LINE,
    MAX_LISTED,
    ROWS_SETTING,
    byte_lines,
    capped,
    check_zip,
    max_cells,
    max_lines,
    max_rows,
    upload_name,
)
from termserver.errors import LoadError
from termserver.model import CodeSystemInfo, Concept, ConceptProperty, Record

__all__ = ["EXTRA_COLUMNS", "BadRow", "CodeChange", "ColumnMapping", "ImportDiff",
           "ImportResult", "LocalCode", "diff", "read_code_list", "read_code_list_bytes",
           "to_code_system"]

#: The optional columns, in order; each becomes a concept property of the same code.
EXTRA_COLUMNS = ("unit", "specimen", "category", "frequency", "comment")

_LEGACY_ENCODINGS = ("cp1252", "iso-8859-1")
_BOM = b"\xef\xbb\xbf"
_DELIMITERS = ("\t", ";", ",", "|")


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Header names of the columns to read (matched ignoring case and surrounding blanks)."""

    code: str = "code"
    display: str | None = "display"
    unit: str | None = None
    specimen: str | None = None
    category: str | None = None
    frequency: str | None = None
    comment: str | None = None

    def mapped(self) -> dict[str, str]:
        """Field name → header name, for every column that is mapped."""
        return {f.name: value for f in fields(self)
                if (value := getattr(self, f.name)) is not None}


@dataclass(frozen=True, slots=True)
class LocalCode:
    """One good row: a local code with its display and extra columns (None when empty)."""

    code: str
    display: str | None = None
    unit: str | None = None
    specimen: str | None = None
    category: str | None = None
    frequency: int | None = None
    comment: str | None = None
    line: int = 0

    def values(self) -> dict[str, str | int | None]:
        """The comparable content (everything but the line number)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "line"}


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str
    code: str | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImportResult:
    path: str
    rows: tuple[LocalCode, ...]
    bad_rows: tuple[BadRow, ...]
    encoding: str | None  # None for XLSX
    columns: tuple[str, ...]  # the mapped fields, e.g. ("code", "display", "unit")
    unlisted_bad_rows: int = 0  # bad rows past the first MAX_LISTED: counted, not listed

    @property
    def bad_row_count(self) -> int:
        return len(self.bad_rows) + self.unlisted_bad_rows

    @property
    def total_rows(self) -> int:
        """Data rows read (blank rows not counted)."""
        return len(self.rows) + self.bad_row_count


@dataclass(frozen=True, slots=True)
class CodeChange:
    code: str
    fields: tuple[str, ...]  # which of display, unit, … differ


@dataclass(frozen=True, slots=True)
class ImportDiff:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[CodeChange, ...]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed)


# -- reading ------------------------------------------------------------------------------------


def read_code_list(path: Path | str, columns: ColumnMapping | None = None, *,
                   sheet: str | None = None, encoding: str | None = None,
                   name: str | None = None) -> ImportResult:
    """Read a CSV/TSV/XLSX code list (`.gz` too). Raises `LoadError` when the file as a whole
    cannot be read (unknown format, mapped column missing, a limit of `loaders.bounded`
    exceeded); bad rows are only reported. `name` replaces the path in messages."""
    path = Path(path)
    return _read(lambda: path.open("rb"), name or path.name, name or str(path),
                 columns or ColumnMapping(), sheet, encoding)


def read_code_list_bytes(raw: bytes, filename: str | None,
                         columns: ColumnMapping | None = None, *, sheet: str | None = None,
                         encoding: str | None = None) -> ImportResult:
    """`read_code_list` for an upload held in memory: `filename` (the client's, checked by
    `upload_name`) picks the format and names the file in messages."""
    name = upload_name(filename)
    return _read(lambda: io.BytesIO(raw), name, name, columns or ColumnMapping(), sheet,
                 encoding)


def _read(opener: Callable[[], IO[bytes]], name: str, label: str, columns: ColumnMapping,
          sheet: str | None, encoding: str | None) -> ImportResult:
    def open_data() -> IO[bytes]:
        return capped(opener(), label)

    lower = name.lower().removesuffix(".gz")
    with open_data() as f:
        head = f.peek(4)[:4] if isinstance(f, io.BufferedReader) else f.read(4)
    if lower.endswith((".xlsx", ".xlsm")) or head.startswith(b"PK\x03\x04"):
        table = _xlsx_rows(open_data, label, sheet)
        used_encoding = None
    else:
        used_encoding, header = _detect(open_data, label, encoding)
        delimiter = "\t" if lower.endswith((".tsv", ".tab")) else _sniff(header)
        table = _text_rows(open_data, used_encoding, delimiter, label)
    return _collect(table, columns, label, used_encoding)


#: (first line number, cells, reason the row is unreadable or None)
_Row = tuple[int, list[str], str | None]


def _detect(open_data: Callable[[], IO[bytes]], label: str,
            encoding: str | None) -> tuple[str, str]:
    """The encoding to read with and the first line (decoded), in one pass over the lines.

    Without `encoding`: UTF-8 (BOM allowed) when the file is UTF-8 apart from a few lines; a
    file whose non-ASCII text is not UTF-8 at all is read as cp1252, else ISO-8859-1."""
    first: bytes | None = None
    utf8_text = utf8_bad = 0
    legacy = dict.fromkeys(_LEGACY_ENCODINGS, True)
    with open_data() as f:
        for line in byte_lines(f, label, max_lines=max_lines()):
            if first is None:
                first = line
                if line.startswith(_BOM):
                    encoding = encoding or "utf-8"
                    first = line[len(_BOM):]
                if encoding is not None:
                    break
            if line.isascii():
                continue
            for e in legacy:
                legacy[e] = legacy[e] and _decodes(line, e)
            try:
                line.decode("utf-8")
                utf8_text += 1
            except UnicodeDecodeError:
                utf8_bad += 1
    if encoding is None:
        if utf8_text >= utf8_bad:
            encoding = "utf-8"
        else:
            encoding = next((e for e, ok in legacy.items() if ok), "iso-8859-1")
    try:
        "".encode(encoding)
    except LookupError:
        raise LoadError(f"unknown encoding {encoding!r}", path=label) from None
    return encoding, (first or b"").decode(encoding, errors="replace")


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _sniff(header: str) -> str:
    """The delimiter used most in the header line (tab, semicolon, comma or bar)."""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class _Lines:
    """The decoded lines of a text file for csv.reader: remembers the lines that did not
    decode and refuses a record (the lines of one row) longer than MAX_LINE bytes."""

    def __init__(self, lines: Iterator[bytes], encoding: str, label: str) -> None:
        self.lines, self.encoding, self.label = lines, encoding, label
        self.bad: set[int] = set()
        self.number = 0
        self.record_size = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.number += 1
            if self.number == 1 and line.startswith(_BOM):
                line = line[len(_BOM):]
            self.record_size += len(line)
            if self.record_size > MAX_LINE:
                raise LoadError(f"a row longer than {MAX_LINE // (1024 * 1024)} MB",
                                path=self.label, where=str(self.number))
            try:
                yield line.decode(self.encoding)
            except UnicodeDecodeError:
                self.bad.add(self.number)
                yield line.decode(self.encoding, errors="replace")


_NUL = "a NUL character (\\u0000) in the row"


def _text_rows(open_data: Callable[[], IO[bytes]], encoding: str, delimiter: str,
               label: str) -> Iterator[_Row]:
    with open_data() as f:
        lines = _Lines(byte_lines(f, label, max_lines=max_lines()), encoding, label)
        reader = csv.reader(lines, delimiter=delimiter)
        previous = 0
        try:
            for cells in reader:
                first, last = previous + 1, reader.line_num
                previous = last
                lines.record_size = 0
                broken = next((n for n in range(first, last + 1) if n in lines.bad), None)
                reason = None
                if broken is not None:
                    reason = "text does not decode" + ("" if broken == first
                                                       else f" (line {broken})")
                elif any("\x00" in cell for cell in cells):
                    reason = _NUL
                yield first, cells, reason
        except csv.Error as exc:
            raise LoadError(str(exc), path=label, where=str(reader.line_num)) from None


def _xlsx_rows(open_data: Callable[[], IO[bytes]], label: str,
               sheet: str | None) -> Iterator[_Row]:
    import zipfile

    import openpyxl  # type: ignore[import-untyped]

    with open_data() as f:
        data = io.BytesIO(f.read())  # a workbook needs random access; capped at the limit
    try:
        with zipfile.ZipFile(data) as archive:
            check_zip(archive, label)
        data.seek(0)
        book = openpyxl.load_workbook(data, read_only=True, data_only=True)
    except LoadError:
        raise
    except Exception as exc:  # openpyxl fails on a broken workbook in many ways
        raise _unreadable(exc, label) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise LoadError(f"no sheet {sheet!r}", path=label,
                            hint=f"sheets: {', '.join(book.sheetnames)}")
        if sheet is None and not book.worksheets:
            raise LoadError("the workbook has no sheet", path=label)
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell(v) for v in values]
            yield number, cells, _NUL if any("\x00" in c for c in cells) else None
    except LoadError:
        raise
    except Exception as exc:
        raise _unreadable(exc, label) from None
    finally:
        book.close()


def _unreadable(exc: Exception, label: str) -> LoadError:
    return LoadError(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", path=label)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _collect(table: Iterable[_Row], columns: ColumnMapping, label: str,
             encoding: str | None) -> ImportResult:
    rows = iter(table)
    limit_rows, limit_cells = max_rows(), max_cells()
    cells_read = 0
    header: list[str] | None = None
    for number, cells, reason in rows:
        cells_read += len(cells)
        if any(c.strip() for c in cells):
            if reason is not None:
                raise LoadError(f"the header {reason}", path=label, where=str(number))
            header = cells
            break
    if header is None:
        raise LoadError("no header row", path=label)
    index = _column_index(header, columns, label)
    good: list[LocalCode] = []
    bad: list[BadRow] = []
    unlisted = 0
    seen: dict[str, int] = {}
    for number, cells, reason in rows:
        cells_read += len(cells)
        if cells_read > limit_cells:
            raise LoadError(f"more than {limit_cells:,} cells (rows × columns, blank ones "
                            "too)", path=label, where=str(number),
                            hint=f"the limit is 64 × {ROWS_SETTING}; delete unused columns")
        if not any(c.strip() for c in cells):
            continue
        if len(good) + len(bad) + unlisted >= limit_rows:
            raise LoadError(f"more than {limit_rows:,} rows", path=label, where=str(number),
                            hint=f"the limit is set by {ROWS_SETTING}")
        problem = _row(cells, reason, number, index, seen, good)
        if problem is None:
            continue
        if len(bad) < MAX_LISTED:
            bad.append(problem)
        else:
            unlisted += 1
    return ImportResult(label, tuple(good), tuple(bad), encoding, tuple(index),
                        unlisted_bad_rows=unlisted)


def _row(cells: list[str], reason: str | None, number: int, index: dict[str, int],
         seen: dict[str, int], good: list[LocalCode]) -> BadRow | None:
    """Add one data row to `good` (and `seen`), or say why it is bad."""
    values = {name: _value(cells, i) for name, i in index.items()}
    code = values.get("code")
    if reason is not None:
        return BadRow(number, reason, code.replace("\x00", "") if code else code)
    if code is None:
        return BadRow(number, "missing code")
    if code in seen:
        return BadRow(number, f"duplicate code {code!r} (first on line {seen[code]})", code)
    frequency = values.get("frequency")
    count = _count(frequency)
    if frequency is not None and count is None:
        return BadRow(number, f"frequency {frequency!r} is not a whole number", code)
    seen[code] = number
    good.append(LocalCode(
        code=code, display=values.get("display"), unit=values.get("unit"),
        specimen=values.get("specimen"), category=values.get("category"),
        frequency=count, comment=values.get("comment"), line=number))
    return None


def _column_index(header: Sequence[str], columns: ColumnMapping, label: str) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        positions.setdefault(name.strip().casefold(), i)
    index: dict[str, int] = {}
    for field_name, wanted in columns.mapped().items():
        at = positions.get(wanted.strip().casefold())
        if at is None:
            found = ", ".join(repr(h.strip()) for h in header if h.strip())
            raise LoadError(f"no column {wanted!r} for the {field_name}", path=label,
                            where="1", hint=f"columns: {found}")
        index[field_name] = at
    return index


def _value(cells: Sequence[str], i: int) -> str | None:
    if i >= len(cells):
        return None
    text = cells[i].strip()
    return text or None


def _count(text: str | None) -> int | None:
    if text is None:
        return None
    cleaned = text.replace("\u00a0", "").replace(" ", "")
    if cleaned.lstrip("+-").isdigit():
        return int(cleaned)
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


# -- to FHIR content and re-import diff --------------------------------------------------------

_PROPERTY_TYPES = {"frequency": "integer"}
_PROPERTY_DESCRIPTIONS = {
    "unit": "unit of the local code (free text, as in the source list)",
    "specimen": "specimen or material (free text)",
    "category": "category or group in the local system",
    "frequency": "how often the code is used (usage count)",
    "comment": "free comment from the source list",
}


def to_code_system(result: ImportResult, url: str, version: str | None, name: str | None,
                   *, title: str | None = None) -> CodeSystemContent:
    """The imported list as a local, complete CodeSystem; the extra columns that were mapped
    become concept properties of the same name."""
    extras = [c for c in EXTRA_COLUMNS if c in result.columns]
    resource: dict[str, Any] = {
        "resourceType": "CodeSystem", "url": url, "status": "active", "caseSensitive": True,
        "content": "complete", "count": len(result.rows),
    }
    for key, value in (("version", version), ("name", name), ("title", title)):
        if value is not None:
            resource[key] = value
    if extras:
        resource["property"] = [
            {"code": c, "description": _PROPERTY_DESCRIPTIONS[c],
             "type": _PROPERTY_TYPES.get(c, "string")} for c in extras]
    info = CodeSystemInfo(url=url, version=version, name=name, title=title,
                          case_sensitive=True, resource=resource)
    return CodeSystemContent(info, _records(result.rows, extras))


def _records(rows: Sequence[LocalCode], extras: Sequence[str]) -> Iterator[Record]:
    for row in rows:
        yield Concept(row.code, row.display)
        for prop in extras:
            value = getattr(row, prop)
            if value is not None:
                yield ConceptProperty(row.code, prop, str(value),
                                      "integer" if prop == "frequency" else "string")


def diff(old: ImportResult | Iterable[LocalCode],
         new: ImportResult | Iterable[LocalCode]) -> ImportDiff:
    """Codes added, removed and changed (with the fields that differ) from `old` to `new`."""
    before = {r.code: r for r in (old.rows if isinstance(old, ImportResult) else old)}
    after = {r.code: r for r in (new.rows if isinstance(new, ImportResult) else new)}
    changed: list[CodeChange] = []
    for code in sorted(before.keys() & after.keys()):
        a, b = before[code].values(), after[code].values()
        differing = tuple(k for k in a if a[k] != b[k])
        if differing:
            changed.append(CodeChange(code, differing))
    return ImportDiff(added=tuple(sorted(after.keys() - before.keys())),
                      removed=tuple(sorted(before.keys() - after.keys())),
                      changed=tuple(changed))
