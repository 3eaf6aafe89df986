"""Read FHIR npm packages (.tgz) and yield their CodeSystem, ValueSet and ConceptMap resources.

Identity is resourceType + canonical url + version, never the file name: when a package holds
the same canonical twice, the copy with the most content wins (complete > fragment >
not-present), then the lexically first file name, so the result is deterministic. The whole
archive is read and checked before anything is yielded, so a truncated or foreign tarball
fails before a single record reaches the store. Memory is bounded (`loaders.bounded`): one
member at a time, each at most `max_decompressed()` bytes; the JSON text of the chosen
resources waits in a temporary spool. Does not build FHIR JSON.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, ClassVar

from loaders.base import LoadItem, LoadOptions, Progress
from loaders.bounded import (
    DECOMPRESSED_SETTING,
    MB,
    max_decompressed,
    max_package_total,
    parse_json,
)
from termserver.errors import LoadError
from termserver.model import RESOURCE_TYPES, ResourceRecord, content_rank

_SPOOL_IN_MEMORY = 32 * MB  # chosen resources' JSON text beyond this waits in a temp file


def _rank(resource: dict[str, Any]) -> int:
    """How much real content a resource carries; higher wins when canonicals collide."""
    if resource.get("resourceType") != "CodeSystem":
        return content_rank("complete")
    return content_rank(str(resource.get("content") or "complete"))


class FhirPackageLoader:
    name: ClassVar[str] = "fhir-package"

    def detect(self, path: Path) -> bool:
        if not path.is_file() or not path.name.endswith((".tgz", ".tar.gz")):
            return False
        try:
            with tarfile.open(path, "r:gz") as tar:
                for member in tar:
                    return member.name.startswith("package/") or member.name == "package"
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            return False
        return False

    def package_id(self, path: Path) -> str:
        """`name#version` from package/package.json."""
        manifest = self._manifest(path)
        return f"{manifest.get('name', path.stem)}#{manifest.get('version', '?')}"

    def _manifest(self, path: Path) -> dict[str, Any]:
        for name, read in _members(path):
            if name == "package/package.json":
                return _parse(read(), path, name)
        raise LoadError("not a FHIR npm package: no package/package.json", path=str(path),
                        hint="a package is the .tgz published to a FHIR package registry")

    def read(self, path: Path, options: LoadOptions | None = None,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            chosen, manifest = _choose(path, spool)
            _check_fhir_version(manifest, path)
            pid = f"{manifest.get('name', path.stem)}#{manifest.get('version', '?')}"
            ordered = sorted(chosen.values(), key=lambda item: item.name)
            total = len(ordered)
            for done, item in enumerate(ordered, start=1):
                spool.seek(item.offset)
                resource = _parse(spool.read(item.size), path, item.name)
                yield ResourceRecord(resource=resource, origin=f"{pid}:{item.name}")
                if progress:
                    progress(done, total)


@dataclass(frozen=True, slots=True)
class _Chosen:
    rank: int
    name: str
    offset: int  # where its JSON text is in the spool
    size: int


def _choose(path: Path, spool: IO[bytes]) -> tuple[dict[tuple[str, str, str], _Chosen],
                                                   dict[str, Any]]:
    """Read the whole archive once (so a truncated or foreign one fails before anything is
    yielded): the manifest, and per canonical the member with the most content, whose JSON
    text is kept in `spool`. Memory holds one member at a time."""
    chosen: dict[tuple[str, str, str], _Chosen] = {}
    manifest: dict[str, Any] | None = None
    for name, read in _members(path):
        if name == "package/package.json":
            manifest = _parse(read(), path, name)
            continue
        if not _is_resource_file(name):
            continue
        raw = read()
        resource = _parse(raw, path, name)
        rtype = resource.get("resourceType")
        if rtype not in RESOURCE_TYPES:
            continue
        url = resource.get("url")
        if not isinstance(url, str) or not url:
            continue  # a canonical resource without url cannot be referenced; skip it
        key = (rtype, url, str(resource.get("version") or ""))
        rank = _rank(resource)
        current = chosen.get(key)
        if current is None or (-rank, name) < (-current.rank, current.name):
            offset = spool.seek(0, io.SEEK_END)
            spool.write(raw)
            chosen[key] = _Chosen(rank, name, offset, len(raw))
    if manifest is None:
        raise LoadError("not a FHIR npm package: no package/package.json", path=str(path),
                        hint="a package is the .tgz published to a FHIR package registry")
    return chosen, manifest


def _is_resource_file(name: str) -> bool:
    if not name.startswith("package/") or not name.endswith(".json"):
        return False
    rest = name[len("package/"):]
    # resources live at package/ top level; package/example, package/other etc. are extras
    return "/" not in rest and not rest.startswith(".")


def _members(path: Path) -> Iterator[tuple[str, Callable[[], bytearray]]]:
    """Each file member's name and a function reading it (call it before the next member).
    Refused: reading a member over `max_decompressed()` bytes, members over
    `max_package_total()` together (the sizes tar declares, which tarfile enforces), and a
    corrupt archive."""
    label = str(path)
    limit, total_limit, total = max_decompressed(), max_package_total(), 0
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None:
                    yield member.name, partial(_read_member, handle, member.size, label,
                                               f"{label}:{member.name}", limit)
                total += max(member.size, 0)  # checked before tar skips over the member
                if total > total_limit:
                    raise LoadError(f"total decompressed size exceeds {total_limit // MB} MB",
                                    path=label, where=member.name,
                                    hint=f"the limit is 16 × {DECOMPRESSED_SETTING}")
    except FileNotFoundError:
        raise LoadError("file not found", path=label) from None
    except (tarfile.ReadError, zlib.error, gzip.BadGzipFile, EOFError, tarfile.TarError) as exc:
        raise _archive_error(exc, label) from None


def _read_member(handle: IO[bytes], size: int, label: str, where: str,
                 limit: int) -> bytearray:
    """The member's bytes (at most `limit`), read into one buffer of its declared size."""
    if size > limit:
        raise LoadError(f"decompressed size {size // MB} MB exceeds {limit // MB} MB",
                        path=where, hint=f"the limit is set by {DECOMPRESSED_SETTING}")
    data = bytearray(size)
    view, got = memoryview(data), 0
    try:
        while got < size:
            n = handle.readinto(view[got:])  # type: ignore[attr-defined]
            if not n:
                raise EOFError(f"{size - got} bytes missing")
            got += n
        return data
    except (tarfile.ReadError, zlib.error, gzip.BadGzipFile, EOFError, tarfile.TarError) as exc:
        raise _archive_error(exc, label) from None


def _archive_error(exc: Exception, label: str) -> LoadError:
    if isinstance(exc, tarfile.ReadError | zlib.error | gzip.BadGzipFile):
        return LoadError(f"not a gzipped tar archive ({exc})", path=label,
                         hint="expected a FHIR npm package .tgz")
    return LoadError(f"archive is truncated or corrupt ({exc or 'unexpected end'})",
                     path=label, hint="download the package again")


def _parse(raw: bytes | bytearray, path: Path, name: str) -> dict[str, Any]:
    data = parse_json(raw, str(path), name)
    if not isinstance(data, dict):
        raise LoadError("expected a JSON object", path=str(path), where=name)
    return data


def _check_fhir_version(manifest: dict[str, Any], path: Path) -> None:
    versions = manifest.get("fhirVersions") or manifest.get("fhir-version-list") or []
    if isinstance(versions, list) and versions and not any(
        str(v).startswith(("4.0", "4.3", "5.0")) for v in versions
    ):
        raise LoadError(f"unsupported FHIR version(s) {versions}", path=str(path),
                        hint="termserver loads R4 (4.0.x) packages")
