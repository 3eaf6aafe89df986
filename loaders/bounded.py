"""Bounded reading of untrusted input: decompressed streams, archive members, text lines and
JSON documents, each with a hard cap, so no upload or package of any size or compression ratio
takes more than a fixed amount of memory (README "Limits").

Every decompression of an upload goes through `capped` or `read_capped`; an archive member
(ZIP, tar) is checked against its declared size, which zipfile and tarfile enforce while
reading (`check_zip`, `loaders.fhir_package`); every JSON document of a package or an upload
goes through `parse_json`. A limit that is exceeded raises `LoadError` (400) naming the file
and the setting, never a MemoryError or a traceback.
No database, no web, no FHIR: loaders and the workbench both use it.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any, cast

from termserver.errors import InvalidRequest, LoadError

__all__ = ["MAX_JSON_DEPTH", "MAX_LINE", "MAX_LISTED", "Capped", "byte_lines", "capped",
           "check_json_budget", "check_zip", "max_cells", "max_decompressed", "max_json_bytes",
           "max_lines", "max_package_total", "max_rows", "parse_json", "read_capped",
           "upload_name"]

MB = 1024 * 1024
DECOMPRESSED_SETTING = "TERMSERVER_MAX_DECOMPRESSED_MB"
ROWS_SETTING = "TERMSERVER_MAX_UPLOAD_ROWS"
MAX_JSON_DEPTH = 100  # arrays/objects inside each other; FHIR needs far fewer
MAX_LINE = MB  # one CSV record (a line, or the lines of one quoted record)
MAX_LISTED = 1000  # bad rows listed in an import answer; the rest are only counted
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16
#: Bytes of Python objects per JSON value at most (measured: dicts, short strings, keys).
_BYTES_PER_VALUE = 96


def _setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} has value {raw!r}; expected an integer") from None
    if value <= 0:
        raise InvalidRequest(f"{name} has value {raw!r}; expected a positive integer")
    return value


def max_decompressed() -> int:
    """Most bytes one upload, or one member of a package or workbook, may decompress to."""
    return _setting(DECOMPRESSED_SETTING, 32) * MB


def max_package_total() -> int:
    """Most bytes all members of one package (or workbook) may decompress to together."""
    return 16 * max_decompressed()


def max_json_bytes() -> int:
    """Estimated Python memory one parsed JSON document may take (4 × the member limit)."""
    return 4 * max_decompressed()


def max_rows() -> int:
    """Most data rows one uploaded code list or CSV map may have."""
    return _setting(ROWS_SETTING, 100_000)


def max_lines() -> int:
    """Most lines (blank ones too) one uploaded text table may have."""
    return 16 * max_rows()


def max_cells() -> int:
    """Most cells (rows × columns, blank ones too) one uploaded table may have."""
    return 64 * max_rows()


def _too_large(label: str, limit: int, what: str = "decompressed size") -> LoadError:
    return LoadError(f"{what} exceeds {limit // MB} MB", path=label,
                     hint=f"the limit is set by {DECOMPRESSED_SETTING}")


class Capped(io.RawIOBase):
    """A read-only stream over `inner` that fails with a LoadError once more than `limit`
    bytes came out of it; gzip, zlib and truncation errors become LoadErrors too."""

    def __init__(self, inner: IO[bytes], limit: int, label: str,
                 source: IO[bytes] | None = None) -> None:
        super().__init__()
        self.inner, self.limit, self.label, self.count = inner, limit, label, 0
        self.source = source  # closed with this stream (a GzipFile leaves its file open)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.limit + 1 - self.count)
        if want <= 0:
            raise _too_large(self.label, self.limit)
        try:
            data = self.inner.read(want)
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise LoadError(f"not a readable gzip file ({exc})", path=self.label) from None
        except EOFError:
            raise LoadError("the compressed data is truncated or corrupt",
                            path=self.label) from None
        n = len(data)
        view[:n] = data
        self.count += n
        if self.count > self.limit:
            raise _too_large(self.label, self.limit)
        return n

    def close(self) -> None:
        try:
            self.inner.close()
            if self.source is not None:
                self.source.close()
        finally:
            super().close()


def capped(stream: IO[bytes], label: str, limit: int | None = None, *,
           gunzip: bool = True) -> IO[bytes]:
    """`stream` decompressed when it starts with the gzip magic (and `gunzip`), else as it
    is; buffered, and failing with a LoadError past `limit` bytes (default:
    `max_decompressed()`)."""
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(
        _Raw(stream))
    inner: IO[bytes] = buffered
    if gunzip and buffered.peek(2)[:2] == GZIP_MAGIC:
        inner = cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb"))
    return io.BufferedReader(Capped(inner, limit or max_decompressed(), label, buffered),
                             _CHUNK)


class _Raw(io.RawIOBase):
    """Any binary stream as a raw stream, so BufferedReader (and its peek) can wrap it."""

    def __init__(self, inner: IO[bytes]) -> None:
        super().__init__()
        self.inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.inner.read(len(view))
        view[:len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            super().close()


def read_capped(stream: IO[bytes], label: str, limit: int | None = None, *,
                gunzip: bool = True) -> bytes:
    """All of `stream` (decompressed when gzipped and `gunzip`), refused past `limit`."""
    with capped(stream, label, limit, gunzip=gunzip) as f:
        return f.read()


def byte_lines(stream: IO[bytes], label: str, max_line: int = MAX_LINE,
               max_lines: int | None = None) -> Iterator[bytes]:
    """The lines of `stream` with their endings, split at LF, CRLF or a bare CR; a line longer
    than `max_line` bytes is refused, so memory holds one line and a read buffer, and so are
    more than `max_lines` lines (blank ones too), so time is bounded as well."""
    pending = bytearray()  # the current line; complete once it ends with CR or LF
    number = 0
    while True:
        if max_lines is not None and number > max_lines:
            raise LoadError(f"more than {max_lines:,} lines", path=label,
                            hint=f"the limit is 16 × {ROWS_SETTING}")
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        start = 0
        if pending.endswith(b"\r") and chunk.startswith(b"\n"):  # a CRLF across two reads
            pending += b"\n"
            start = 1
        parts = chunk[start:].splitlines(keepends=True)
        if not parts:
            continue
        if pending.endswith((b"\r", b"\n")):
            number += 1
            yield bytes(pending)
            pending.clear()
        pending += parts[0]
        if len(parts) > 1:  # then parts[0] ended a line, and every part but the last is one
            number += len(parts) - 1
            yield bytes(pending)
            yield from parts[1:-1]
            pending = bytearray(parts[-1])
        if len(pending) > max_line:
            raise LoadError(f"line longer than {max_line // MB} MB", path=label,
                            where=str(number + 1))
    if pending:
        yield bytes(pending)


_DTD_MARKS = tuple(mark.encode(codec) for mark in ("<!DOCTYPE", "<!ENTITY")
                   for codec in ("ascii", "utf-16-le", "utf-16-be"))


def check_zip(archive: zipfile.ZipFile, label: str) -> None:
    """Refuse a ZIP (e.g. an XLSX workbook) whose members decompress to more than the member
    or total limit, or whose XML carries a DTD or entity declarations (XXE, entity bombs).
    Reads every member once, streaming; the sizes that zipfile enforces are the declared ones."""
    limit, total_limit, total = max_decompressed(), max_package_total(), 0
    for info in archive.infolist():
        where = f"{label}!{info.filename}"
        if info.file_size > limit:
            raise _too_large(where, limit)
        total += info.file_size
        if total > total_limit:
            raise _too_large(label, total_limit, "total decompressed size")
        if info.is_dir():
            continue
        tail = b""
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                window = tail + chunk
                if any(mark in window for mark in _DTD_MARKS):
                    raise LoadError("XML with a DTD or entity declarations is refused",
                                    path=where, hint="save the workbook again from Excel or "
                                    "LibreOffice")
                tail = window[-32:]


def check_json_budget(raw: bytes | bytearray, label: str, limit: int | None = None) -> None:
    """Refuse a JSON text whose parsed form could take more than `limit` bytes of memory
    (estimated from its separators, an upper bound for any shape), before parsing it."""
    limit = limit or max_json_bytes()
    values = raw.count(b",") + raw.count(b":") + raw.count(b"{") + raw.count(b"[")
    estimate = len(raw) + _BYTES_PER_VALUE * values
    if estimate > limit:
        raise LoadError(f"JSON too large: about {values:,} values, more than "
                        f"{limit // MB} MB once read", path=label,
                        hint=f"the limit is 4 × {DECOMPRESSED_SETTING}")


def parse_json(raw: bytes | bytearray, label: str, where: str | None = None) -> Any:
    """A JSON document checked before and after parsing: bounded memory (`check_json_budget`),
    at most MAX_JSON_DEPTH levels of nesting, and no NUL character in any string."""
    check_json_budget(raw, f"{label}:{where}" if where else label)
    try:
        data = json.loads(raw)
    except RecursionError:
        raise _deep(label, where) from None
    except UnicodeDecodeError as exc:
        raise LoadError(f"invalid JSON: not UTF-8 text ({exc.reason})", path=label,
                        where=where) from None
    except json.JSONDecodeError as exc:
        raise LoadError(f"invalid JSON ({exc})", path=label, where=where) from None
    _check_tree(data, label, where)
    return data


def _deep(label: str, where: str | None) -> LoadError:
    return LoadError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", path=label,
                     where=where)


def _check_tree(data: Any, label: str, where: str | None) -> None:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > MAX_JSON_DEPTH:
                raise _deep(label, where)
            for key, value in node.items():
                if "\x00" in key:
                    raise _nul(label, where)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            if depth > MAX_JSON_DEPTH:
                raise _deep(label, where)
            stack.extend((value, depth + 1) for value in node)
        elif isinstance(node, str) and "\x00" in node:
            raise _nul(label, where)


def _nul(label: str, where: str | None) -> LoadError:
    return LoadError("JSON text contains a NUL character (\\u0000)", path=label, where=where)


def upload_name(filename: str | None, default: str = "upload.csv") -> str:
    """The bare name of an uploaded file, for messages and to pick the format by suffix;
    refuses names no file system would take (`.`, `..`, over 255 characters, control
    characters)."""
    if not filename:
        return default
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        raise InvalidRequest(f"the upload's file name {filename[:80]!r} is not a file name",
                             expression=("file",))
    if len(name) > 255 or len(name.encode("utf-8", "surrogatepass")) > 255:
        raise InvalidRequest("the upload's file name is longer than 255 characters",
                             expression=("file",))
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidRequest("the upload's file name contains control characters",
                             expression=("file",))
    return name
