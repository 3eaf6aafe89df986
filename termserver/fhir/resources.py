"""Stored resources ↔ FHIR JSON: request bodies, read views, search Bundles."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import orjson

from termserver.errors import MalformedContent
from termserver.model import JSON, CodeSystemInfo, StoredResource


def parse_json_body(raw: bytes) -> JSON:
    """A request body as a JSON object, or a 400 `structure` error saying what is wrong."""
    if not raw.strip():
        raise MalformedContent("request body is empty; send a FHIR resource as JSON")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedContent(f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedContent("request body must be a JSON object (a FHIR resource)")
    return data


def header_from_info(info: CodeSystemInfo) -> JSON:
    """The CodeSystem resource (without concepts) for content that came from a release file."""
    if info.resource is not None:
        data = dict(info.resource)
        data.pop("concept", None)
        return data
    out: JSON = {"resourceType": "CodeSystem", "url": info.url}
    for key, value in (("version", info.version), ("name", info.name), ("title", info.title),
                       ("status", info.status), ("caseSensitive", info.case_sensitive),
                       ("hierarchyMeaning", info.hierarchy_meaning),
                       ("language", info.language), ("content", info.content),
                       ("supplements", info.supplements)):
        if value is not None:
            out[key] = value
    return out


def resource_view(stored: StoredResource) -> JSON:
    """The resource as served: stored JSON plus id and meta.versionId/lastUpdated."""
    s = stored.summary
    meta = {**(stored.resource.get("meta") or {}), "versionId": str(s.version_id),
            "lastUpdated": s.last_updated}
    rest = {k: v for k, v in stored.resource.items() if k not in ("resourceType", "id", "meta")}
    return {"resourceType": s.resource_type, "id": s.id, "meta": meta, **rest}


#: Elements kept by _summary=true (the summary elements of the three canonical resources).
SUMMARY_ELEMENTS = frozenset({
    "resourceType", "id", "meta", "url", "identifier", "version", "name", "title", "status",
    "experimental", "date", "publisher", "contact", "useContext", "jurisdiction", "content",
    "count", "caseSensitive", "valueSet", "hierarchyMeaning", "compositional",
    "versionNeeded", "supplements", "immutable", "source", "target", "sourceUri",
    "sourceCanonical", "targetUri", "targetCanonical", "copyright",
})


def summarize(data: JSON, mode: str) -> JSON:
    """Apply `_summary` (true, text, data, count handled by the caller, false)."""
    if mode == "true":
        out = {k: v for k, v in data.items() if k in SUMMARY_ELEMENTS}
        out["meta"] = {**out.get("meta", {}), "tag": [_subsetted()]}
        return out
    if mode == "text":
        out = {k: data[k] for k in ("resourceType", "id", "meta", "text") if k in data}
        return out
    if mode == "data":
        return {k: v for k, v in data.items() if k != "text"}
    return data


def _subsetted() -> JSON:
    return {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED", "display": "Resource encoded in summary mode"}


def search_bundle(base: str, resource_type: str, params: Sequence[tuple[str, str]],
                  total: int, entries: Sequence[JSON], *, count: int, offset: int) -> JSON:
    """A searchset Bundle with self/first/previous/next/last links (offset paging)."""
    def link(relation: str, at: int) -> JSON:
        query = [(k, v) for k, v in params if k not in ("_offset", "_count")]
        query += [("_count", str(count)), ("_offset", str(at))]
        return {"relation": relation, "url": f"{base}/{resource_type}?{urlencode(query)}"}

    links = [link("self", offset)]
    if count > 0:
        links.append(link("first", 0))
        if offset > 0:
            links.append(link("previous", max(0, offset - count)))
        if offset + count < total:
            links.append(link("next", offset + count))
        links.append(link("last", max(0, ((total - 1) // count) * count) if total else 0))
    bundle: JSON = {"resourceType": "Bundle", "type": "searchset", "total": total,
                    "link": links}
    if entries:
        bundle["entry"] = [{"fullUrl": f"{base}/{resource_type}/{e['id']}", "resource": e,
                            "search": {"mode": "match"}} for e in entries]
    return bundle
