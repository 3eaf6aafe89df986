"""Import a local code list (CSV, TSV or XLSX, optionally gzipped) for the curation workbench.

`read_code_list` reads the file with a column mapping and returns the good rows as typed
`LocalCode`s plus a report of every bad row (missing code, duplicate code, undecodable text,
non-numeric frequency) with its line number. `to_code_system` turns the result into
`CodeSystemContent` for the normal ingest path; `diff` compares two imports of the same list.

Line numbers are those of the file as a curator sees it: the header is line 1; a quoted CSV
field spanning lines counts from the row's first line; XLSX rows use the sheet's row numbers.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from loaders.base import CodeSystemContent
from termserver.errors import LoadError
from termserver.model import CodeSystemInfo, Concept, ConceptProperty, Record

__all__ = ["EXTRA_COLUMNS", "BadRow", "CodeChange", "ColumnMapping", "ImportDiff",
           "ImportResult", "LocalCode", "diff", "read_code_list", "to_code_system"]

#: The optional columns, in order; each becomes a concept property of the same code.
EXTRA_COLUMNS = ("unit", "specimen", "category", "frequency", "comment")

_LEGACY_ENCODINGS = ("cp1252", "iso-8859-1")
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

    @property
    def total_rows(self) -> int:
        """Data rows read (blank rows not counted)."""
        return len(self.rows) + len(self.bad_rows)


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
                   sheet: str | None = None, encoding: str | None = None) -> ImportResult:
    """Read a CSV/TSV/XLSX code list (`.gz` too). Raises `LoadError` when the file as a whole
    cannot be read (unknown format, mapped column missing); bad rows are only reported."""
    path = Path(path)
    columns = columns or ColumnMapping()
    raw = path.read_bytes()
    name = path.name.lower()
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise LoadError(f"not a readable gzip file ({exc})", path=str(path)) from None
        name = name[:-3]
    if name.endswith((".xlsx", ".xlsm")) or raw.startswith(b"PK\x03\x04"):
        table = _xlsx_rows(raw, path, sheet)
        used_encoding = None
    else:
        text, bad_lines, used_encoding = _decode(raw, path, encoding)
        delimiter = "\t" if name.endswith((".tsv", ".tab")) else _sniff(text)
        table = _text_rows(text, delimiter, bad_lines, path)
    return _collect(table, columns, path, used_encoding)


#: (first line number, cells, reason the row is unreadable or None)
_Row = tuple[int, list[str], str | None]


def _decode(raw: bytes, path: Path, encoding: str | None) -> tuple[str, set[int], str]:
    """Text of the file, the line numbers that did not decode, and the encoding used.

    Without `encoding`: UTF-8 (BOM allowed) when the file is UTF-8 apart from a few lines; a
    file whose non-ASCII text is not UTF-8 at all is read as cp1252, else ISO-8859-1."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        encoding = encoding or "utf-8"
    lines = raw.split(b"\n")
    if encoding is None:
        try:
            return raw.decode("utf-8"), set(), "utf-8"
        except UnicodeDecodeError:
            pass
        utf8_text = utf8_bad = 0
        for line in lines:
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8_text += 1
            except UnicodeDecodeError:
                utf8_bad += 1
        if utf8_text >= utf8_bad:
            encoding = "utf-8"
        else:
            encoding = next((e for e in _LEGACY_ENCODINGS if _decodes(raw, e)), "iso-8859-1")
    try:
        "".encode(encoding)
    except LookupError:
        raise LoadError(f"unknown encoding {encoding!r}", path=str(path)) from None
    out: list[str] = []
    bad: set[int] = set()
    for number, line in enumerate(lines, start=1):
        try:
            out.append(line.decode(encoding))
        except UnicodeDecodeError:
            bad.add(number)
            out.append(line.decode(encoding, errors="replace"))
    return "\n".join(out), bad, encoding


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _sniff(text: str) -> str:
    """The delimiter used most in the header line (tab, semicolon, comma or bar)."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _text_rows(text: str, delimiter: str, bad_lines: set[int], path: Path) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    try:
        for cells in reader:
            first, last = previous + 1, reader.line_num
            previous = last
            broken = next((n for n in range(first, last + 1) if n in bad_lines), None)
            reason = None
            if broken is not None:
                reason = "text does not decode" + ("" if broken == first
                                                   else f" (line {broken})")
            yield first, cells, reason
    except csv.Error as exc:
        raise LoadError(str(exc), path=str(path), where=str(reader.line_num)) from None


def _xlsx_rows(raw: bytes, path: Path, sheet: str | None) -> Iterator[_Row]:
    import zipfile

    import openpyxl  # type: ignore[import-untyped]

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoadError(f"not a readable XLSX workbook ({exc})", path=str(path)) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise LoadError(f"no sheet {sheet!r}", path=str(path),
                            hint=f"sheets: {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, [_cell(v) for v in values], None
    finally:
        book.close()


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


def _collect(table: Iterable[_Row], columns: ColumnMapping, path: Path,
             encoding: str | None) -> ImportResult:
    rows = iter(table)
    header: list[str] | None = None
    for number, cells, reason in rows:
        if any(c.strip() for c in cells):
            if reason is not None:
                raise LoadError(f"the header {reason}", path=str(path), where=str(number))
            header = cells
            break
    if header is None:
        raise LoadError("no header row", path=str(path))
    index = _column_index(header, columns, path)
    good: list[LocalCode] = []
    bad: list[BadRow] = []
    seen: dict[str, int] = {}
    for number, cells, reason in rows:
        if not any(c.strip() for c in cells):
            continue
        values = {name: _value(cells, i) for name, i in index.items()}
        code = values.get("code")
        if reason is not None:
            bad.append(BadRow(number, reason, code))
        elif code is None:
            bad.append(BadRow(number, "missing code"))
        elif code in seen:
            bad.append(BadRow(number, f"duplicate code {code!r} (first on line {seen[code]})",
                              code))
        else:
            frequency = values.get("frequency")
            count = _count(frequency)
            if frequency is not None and count is None:
                bad.append(BadRow(number, f"frequency {frequency!r} is not a whole number",
                                  code))
                continue
            seen[code] = number
            good.append(LocalCode(
                code=code, display=values.get("display"), unit=values.get("unit"),
                specimen=values.get("specimen"), category=values.get("category"),
                frequency=count, comment=values.get("comment"), line=number))
    return ImportResult(str(path), tuple(good), tuple(bad), encoding, tuple(index))


def _column_index(header: Sequence[str], columns: ColumnMapping, path: Path) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        positions.setdefault(name.strip().casefold(), i)
    index: dict[str, int] = {}
    for field_name, wanted in columns.mapped().items():
        at = positions.get(wanted.strip().casefold())
        if at is None:
            found = ", ".join(repr(h.strip()) for h in header if h.strip())
            raise LoadError(f"no column {wanted!r} for the {field_name}", path=str(path),
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
