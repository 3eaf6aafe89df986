"""Finding the text files of a release: a file (gzipped or not), a folder, or a ZIP as
downloaded (nested ZIPs two levels deep), with limits against zip and gzip bombs."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from loaders.bounded import max_decompressed
from termserver.errors import LoadError


@dataclass(frozen=True, slots=True)
class TextFile:
    """One text file found under a load path: its name (`zip!member` inside a ZIP) and bytes."""

    name: str
    read: Callable[[], bytes]

    @property
    def base(self) -> str:
        """The bare file name, without folders and without `.gz`."""
        return PurePosixPath(self.name.replace("\\", "/")).name.removesuffix(".gz")


def text_files(path: Path) -> Iterator[TextFile]:
    """Every `.txt`/`.csv` file under `path`: the file itself (gzipped or not), a folder's
    files, or the members of a ZIP (nested ZIPs two levels deep)."""
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                yield from text_files(p)
        return
    if path.name.lower().endswith(".zip"):
        yield from _zip_files(str(path), path.read_bytes(), 0)
        return
    yield TextFile(str(path), lambda: _plain(path.read_bytes(), str(path)))


def _zip_files(name: str, data: bytes, depth: int) -> Iterator[TextFile]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise LoadError(f"not a readable ZIP: {exc}", path=name) from None
    for info in zf.infolist():
        inner = f"{name}!{info.filename}"
        lower = info.filename.lower()
        if info.is_dir():
            continue
        if info.file_size > max_decompressed():  # refuse larger members: no zip bombs
            raise LoadError(f"member of {info.file_size} bytes is too large", path=inner)
        if lower.endswith(".zip") and depth < 2:
            yield from _zip_files(inner, zf.read(info), depth + 1)
        elif lower.endswith((".txt", ".csv", ".txt.gz", ".csv.gz")):
            yield TextFile(inner, _member(zf, info, inner))


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> Callable[[], bytes]:
    return lambda: _plain(zf.read(info), name)


def _plain(data: bytes, name: str) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(max_decompressed() + 1)
    except (OSError, EOFError) as exc:
        raise LoadError(f"not a readable gzip file: {exc}", path=name) from None
    if len(out) > max_decompressed():
        raise LoadError("decompressed file is too large", path=name)
    return out


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) when it decodes, else ISO-8859-1 (older DIMDI files)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")



def zip_names(path: Path) -> list[str]:
    """The member names of a ZIP file, or [] when `path` is not a readable ZIP (for detect)."""
    if not (path.is_file() and path.name.lower().endswith(".zip")):
        return []
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return []
