"""Read FHIR npm packages (.tgz) and yield their CodeSystem, ValueSet and ConceptMap resources.

Identity is resourceType + canonical url + version, never the file name: when a package holds
the same canonical twice, the copy with the most content wins (complete > fragment >
not-present), then the lexically first file name, so the result is deterministic. The whole
archive is read and checked before anything is yielded, so a truncated or foreign tarball
fails before a single record reaches the store. Does not write anywhere or build FHIR JSON.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from loaders.base import LoadItem, LoadOptions, Progress
from termserver.errors import LoadError
from termserver.model import RESOURCE_TYPES, ResourceRecord, content_rank


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
        for name, raw in _members(path):
            if name == "package/package.json":
                data = _parse(raw, path, name)
                return data
        raise LoadError("not a FHIR npm package: no package/package.json", path=str(path),
                        hint="a package is the .tgz published to a FHIR package registry")

    def read(self, path: Path, options: LoadOptions | None = None,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        chosen: dict[tuple[str, str, str], tuple[int, str, dict[str, Any]]] = {}
        manifest: dict[str, Any] | None = None
        files = list(_members(path))  # reads the whole archive first: fails before writing
        for name, raw in files:
            if name == "package/package.json":
                manifest = _parse(raw, path, name)
                continue
            if not _is_resource_file(name):
                continue
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
            if current is None or (-rank, name) < (-current[0], current[1]):
                chosen[key] = (rank, name, resource)
        if manifest is None:
            raise LoadError("not a FHIR npm package: no package/package.json", path=str(path),
                            hint="a package is the .tgz published to a FHIR package registry")
        _check_fhir_version(manifest, path)
        pid = f"{manifest.get('name', path.stem)}#{manifest.get('version', '?')}"
        ordered = sorted(chosen.values(), key=lambda item: item[1])
        total = len(ordered)
        for done, (_, name, resource) in enumerate(ordered, start=1):
            yield ResourceRecord(resource=resource, origin=f"{pid}:{name}")
            if progress:
                progress(done, total)


def _is_resource_file(name: str) -> bool:
    if not name.startswith("package/") or not name.endswith(".json"):
        return False
    rest = name[len("package/"):]
    # resources live at package/ top level; package/example, package/other etc. are extras
    return "/" not in rest and not rest.startswith(".")


def _members(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                yield member.name, handle.read()
    except FileNotFoundError:
        raise LoadError("file not found", path=str(path)) from None
    except (tarfile.ReadError, zlib.error, gzip.BadGzipFile) as exc:
        raise LoadError(f"not a gzipped tar archive ({exc})", path=str(path),
                        hint="expected a FHIR npm package .tgz") from None
    except (EOFError, tarfile.TarError) as exc:
        raise LoadError(f"archive is truncated or corrupt ({exc or 'unexpected end'})",
                        path=str(path), hint="download the package again") from None


def _parse(raw: bytes, path: Path, name: str) -> dict[str, Any]:
    try:
        data = json.load(io.BytesIO(raw))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(f"invalid JSON ({exc})", path=str(path), where=name) from None
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
