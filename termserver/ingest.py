"""Save resources and loader output into the store, with the identity and replacement rules.

* Identity is resourceType + canonical url + version, never a file name or a package.
* A `not-present`, `fragment` or `example` CodeSystem never replaces richer content of the same
  url|version; the richer one replaces it.
* Saving content identical to what is stored changes nothing (no new meta.versionId).
* Everything one call writes is one transaction (`Store.writer()`): all or nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loaders.base import (
    CodeSystemAddition,
    CodeSystemContent,
    ConceptMapContent,
    Loader,
    LoadOptions,
    Progress,
)
from termserver.errors import (
    BusinessRule,
    Conflict,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
)
from termserver.fhir.codesystem import (
    check_code_system,
    code_system_info,
    code_system_records,
)
from termserver.fhir.conceptmap import concept_map_header, map_elements
from termserver.fhir.resources import header_from_info
from termserver.fhir.shape import check_resource
from termserver.load_safety import release_warning, replacement_note
from termserver.model import (
    JSON,
    RESOURCE_TYPES,
    CodeSystemInfo,
    LoadReport,
    Record,
    ResourceRecord,
    content_rank,
)
from termserver.store import Store, Writer
from termserver.store.write import ExistingResource, WriteConflict, dumps

_ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def is_valid_id(id: str) -> bool:
    """A FHIR id: 1-64 letters, digits, '-' and '.'."""
    return _ID_RE.fullmatch(id) is not None

Mode = Literal["canonical", "create", "update"]


@dataclass(frozen=True, slots=True)
class SaveResult:
    resource_type: str
    id: str
    version_id: int
    outcome: Literal["created", "updated", "unchanged", "kept"]
    note: str | None = None


def replace_note(result: SaveResult, note: str | None) -> SaveResult:
    """`result` with `note` added to its own."""
    if not note:
        return result
    joined = f"{result.note}; {note}" if result.note else note
    return SaveResult(result.resource_type, result.id, result.version_id, result.outcome, joined)


def save_resource(w: Writer, data: JSON, *, mode: Mode, resource_type: str | None = None,
                  id: str | None = None, origin: str | None = None,
                  if_match: int | None = None) -> SaveResult:
    """Store one CodeSystem, ValueSet or ConceptMap resource.

    mode "canonical": upsert by url|version (package and CLI loads);
    mode "create": REST POST, a new id, 409 if the canonical already exists;
    mode "update": REST PUT to `id`, creating it if absent.
    """
    rtype = _check_type(data, resource_type)
    check_resource(data)
    if rtype == "CodeSystem":
        check_code_system(data)
    elif not data.get("url"):
        raise BusinessRule(f"{rtype}.url is required to store a {rtype}",
                           expression=(f"{rtype}.url",))
    url = str(data["url"])
    version = _version(data)
    same_canonical = w.find(rtype, url, version)
    if mode == "canonical":
        return _save_canonical(w, rtype, data, same_canonical, origin)
    if mode == "create":
        if same_canonical is not None:
            raise Conflict(f"{rtype} {url}|{version or ''} already exists as "
                           f"{rtype}/{same_canonical.id}; use PUT {rtype}/{same_canonical.id} "
                           "to replace it")
        new_id = uuid.uuid4().hex
        return _insert(w, rtype, new_id, data, origin)
    assert id is not None
    if data.get("id") is not None and data.get("id") != id:
        raise InvalidRequest(f"resource id {data.get('id')!r} does not match the URL id {id!r}",
                             expression=(f"{rtype}.id",))
    if not is_valid_id(id):
        raise InvalidRequest(f"{id!r} is not a valid FHIR id", expression=(f"{rtype}.id",))
    existing = w.get(rtype, id)
    if if_match is not None and (existing is None or existing.version_id != if_match):
        current = existing.version_id if existing else "none"
        raise PreconditionFailed(f"If-Match version {if_match} does not match the current "
                                 f"version ({current}) of {rtype}/{id}")
    if same_canonical is not None and same_canonical.id != id:
        raise Conflict(f"{rtype} {url}|{version or ''} already exists as "
                       f"{rtype}/{same_canonical.id}")
    try:
        if existing is None:
            return _insert(w, rtype, id, data, origin)
        return _replace(w, rtype, existing, data, origin)
    except WriteConflict as exc:  # a concurrent write won: If-Match no longer holds
        if if_match is None:
            raise
        raise PreconditionFailed(f"If-Match version {if_match}: {exc.message}") from None


def delete_resource(w: Writer, resource_type: str, id: str) -> None:
    existing = w.get(_check_type({"resourceType": resource_type}, None), id)
    if existing is None:
        raise NotFound(f"{resource_type}/{id} is not known")
    w.delete_resource(existing)


def save_code_system_content(w: Writer, content: CodeSystemContent,
                             origin: str | None = None) -> SaveResult:
    """Replace url|version with the content a release loader streams."""
    info = content.info
    data = header_from_info(info)
    existing = w.find("CodeSystem", info.url, info.version)
    if existing is not None:
        version_id = w.replace_resource(existing, data, origin)
        w.add_code_system(existing.pk, info, content.records)
        return SaveResult("CodeSystem", existing.id, version_id, "updated")
    new_id = _derived_id(w, "CodeSystem", info.id or info.name or "codesystem", info.url,
                         info.version)
    pk = w.insert_resource("CodeSystem", new_id, data, origin)
    w.add_code_system(pk, info, content.records)
    return SaveResult("CodeSystem", new_id, 1, "created")


def save_concept_map_content(w: Writer, content: ConceptMapContent,
                             origin: str | None = None) -> SaveResult:
    """Replace url|version with the ConceptMap a release loader streams: the header as the
    stored resource, the rows in the element table ($translate reads them there)."""
    info = content.info
    data = concept_map_header(info)
    existing = w.find("ConceptMap", info.url, info.version)
    if existing is not None:
        version_id = w.replace_resource(existing, _without_meta(data, existing.id), origin)
        w.add_map_elements(existing.pk, content.elements)
        return SaveResult("ConceptMap", existing.id, version_id, "updated")
    new_id = _derived_id(w, "ConceptMap", info.id or info.name or "conceptmap", info.url,
                         info.version)
    pk = w.insert_resource("ConceptMap", new_id, _without_meta(data, new_id), origin)
    w.add_map_elements(pk, content.elements)
    return SaveResult("ConceptMap", new_id, 1, "created")


def load_path(store: Store, loader: Loader, path: Path, options: LoadOptions,
              progress: Progress | None = None, *, replace: bool = False) -> LoadReport:
    """Read `path` with `loader` and store everything it yields in one transaction.

    Replacing a stored code system version notes the concept counts before and after; when
    the new content lacks designation languages or properties the stored one has (added by
    separate loads: a linguistic variant, the lab-orders file), the whole load is refused
    (`load_safety.AdditionsDropped`) unless `replace`, and then the note lists what was
    dropped."""
    report = LoadReport()
    with store.writer() as w:
        for item in loader.read(path, options, progress):
            if isinstance(item, CodeSystemAddition):
                result = add_to_code_system(store, w, item)
            elif isinstance(item, ConceptMapContent):
                result = save_concept_map_content(w, item, origin=str(path))
            else:
                result = _save_guarded(w, item, str(path), replace)
            report.add(f"{result.resource_type} {result.outcome}")
            if result.note:
                report.skipped.append(result.note)
    store.analyze()  # fresh statistics, or PostgreSQL plans pages of the new content badly
    return report


def _save_guarded(w: Writer, item: CodeSystemContent | ResourceRecord, origin: str,
                  replace: bool) -> SaveResult:
    """Save a code system version (or any resource), comparing what a replaced code system
    version held with what replaces it (`load_safety.replacement_note`)."""
    if isinstance(item, CodeSystemContent):
        url, version = item.info.url, item.info.version
    elif item.resource.get("resourceType") == "CodeSystem" and item.resource.get("url"):
        url, version = str(item.resource["url"]), _version(item.resource)
    else:
        return save_resource(w, item.resource, mode="canonical", origin=item.origin)
    existing = w.find("CodeSystem", url, version)
    before = w.content_profile(existing.pk) if existing is not None else {}
    if isinstance(item, CodeSystemContent):
        result = save_code_system_content(w, item, origin=origin)
    else:
        result = save_resource(w, item.resource, mode="canonical", origin=item.origin)
    if existing is None or result.outcome != "updated":
        return result
    after = w.content_profile(existing.pk)
    note = replacement_note(url, version, before, after, replace=replace)
    return replace_note(result, note)


def add_to_code_system(store: Store, w: Writer, item: CodeSystemAddition) -> SaveResult:
    """Add designations/properties onto a stored code system version (newest when
    `item.version` is None), inside the caller's transaction."""
    target = store.resolve_code_system(item.url, item.version)
    existing = w.get("CodeSystem", target.resource_id) if target is not None else None
    if target is None or existing is None:
        what = f"{item.url}|{item.version}" if item.version else item.url
        raise NotFound(f"{what} is not loaded; load the code system before adding "
                       f"{item.label or 'to it'}")
    counts = w.extend_code_system(existing.pk, item.records, item.replace_languages,
                                  item.replace_properties)
    added = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n and kind != "orphan")
    note = f"added {added or 'nothing'} ({item.label}) to {item.url}|{target.version or ''}"
    if counts.get("orphan"):
        note += f"; dropped {counts['orphan']} for codes not in that version"
    if item.check_release:
        warning = release_warning(item.label, item.source_version, item.source_evidence,
                                  target.version)
        note += f"; {warning}" if warning else ""
    return SaveResult("CodeSystem", existing.id, existing.version_id + 1, "updated", note)


def remove_code_system(store: Store, url: str, version: str | None) -> list[str]:
    """Delete every stored version of `url` (or just `version`); returns what was removed."""
    removed = []
    with store.writer() as w:
        for cs in store.code_systems(url):
            if version is not None and cs.version != version:
                continue
            existing = w.get("CodeSystem", cs.resource_id)
            if existing is not None:
                w.delete_resource(existing)
                removed.append(f"{cs.url}|{cs.version or ''}")
    if not removed:
        what = f"{url}|{version}" if version else url
        raise NotFound(f"no code system {what} is loaded")
    return removed


# -- helpers --------------------------------------------------------------------------------


def _save_canonical(w: Writer, rtype: str, data: JSON, existing: ExistingResource | None,
                    origin: str | None) -> SaveResult:
    if existing is None:
        new_id = _derived_id(w, rtype, data.get("id"), str(data["url"]), _version(data))
        return _insert(w, rtype, new_id, data, origin)
    if existing.json == dumps(_without_meta(data, existing.id)):
        return SaveResult(rtype, existing.id, existing.version_id, "unchanged")
    if rtype == "CodeSystem":
        old = content_rank(existing.content or "")
        new = content_rank(str(data.get("content") or "complete"))
        if new < old:
            note = (f"kept {rtype}/{existing.id} ({existing.content}) over "
                    f"{data.get('content')} copy from {origin}")
            return SaveResult(rtype, existing.id, existing.version_id, "kept", note)
    return _replace(w, rtype, existing, data, origin)


def _insert(w: Writer, rtype: str, id: str, data: JSON, origin: str | None) -> SaveResult:
    pk = w.insert_resource(rtype, id, _without_meta(data, id), origin)
    _add_dependents(w, rtype, pk, data)
    return SaveResult(rtype, id, 1, "created")


def _replace(w: Writer, rtype: str, existing: ExistingResource, data: JSON,
             origin: str | None) -> SaveResult:
    version_id = w.replace_resource(existing, _without_meta(data, existing.id), origin)
    _add_dependents(w, rtype, existing.pk, data)
    return SaveResult(rtype, existing.id, version_id, "updated")


def _add_dependents(w: Writer, rtype: str, pk: int, data: JSON) -> None:
    if rtype == "CodeSystem":
        info: CodeSystemInfo = code_system_info(data)
        records: Iterator[Record] = code_system_records(data)
        w.add_code_system(pk, info, records)
    elif rtype == "ConceptMap":
        w.add_map_elements(pk, map_elements(data))


def _without_meta(data: JSON, id: str) -> JSON:
    """Stored JSON carries the server's id; meta.versionId/lastUpdated are added on read."""
    out = dict(data)
    out["id"] = id
    meta = out.get("meta")
    if isinstance(meta, dict):
        rest = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        if rest:
            out["meta"] = rest
        else:
            out.pop("meta")
    return out


def _check_type(data: JSON, expected: str | None) -> str:
    rtype = data.get("resourceType")
    if expected is not None and rtype != expected:
        raise InvalidRequest(f"expected a {expected} resource but got {rtype or 'no resourceType'}",
                             expression=("resourceType",))
    if rtype not in RESOURCE_TYPES:
        raise InvalidRequest(f"resource type {rtype!r} is not stored here; "
                             f"use one of {', '.join(RESOURCE_TYPES)}",
                             expression=("resourceType",))
    return str(rtype)


def _version(data: JSON) -> str | None:
    v = data.get("version")
    return None if v in (None, "") else str(v)


def _derived_id(w: Writer, rtype: str, wanted: object, url: str, version: str | None) -> str:
    """The resource's own id when free, else a stable id derived from its canonical."""
    base = re.sub(r"[^A-Za-z0-9\-.]", "-", str(wanted or "")).strip("-.")[:40] or rtype.lower()
    if wanted and is_valid_id(str(wanted)) and w.get(rtype, str(wanted)) is None:
        return str(wanted)
    digest = hashlib.sha1(f"{url}|{version or ''}".encode()).hexdigest()[:12]
    candidate = f"{base}-{digest}"
    if w.get(rtype, candidate) is None:
        return candidate
    return f"{base}-{uuid.uuid4().hex[:12]}"
