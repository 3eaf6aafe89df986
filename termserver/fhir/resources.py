"""Stored resources ↔ FHIR JSON: request bodies, read views, search Bundles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlencode

import orjson

from termserver.errors import MalformedContent
from termserver.fhir.shape import check_json, check_resource
from termserver.model import JSON, CodeSystemInfo, StoredResource

#: A C0 control character other than tab, LF and CR, escaped in a JSON string (`\u0000`,
#: `\b`, `\f`) after a run of backslashes: the run's length is odd when the last backslash
#: starts the escape (an even run is escaped backslashes). Unescaped control characters are
#: not valid JSON at all.
_ESCAPE = re.compile(rb"(\\+)(?:u00(?:0[0-8bcefBCEF]|1[0-9a-fA-F])|[bf])")


def has_escaped_control(raw: bytes) -> bool:
    """True when a JSON text holds an escaped C0 control character other than tab, LF, CR."""
    return b"\\" in raw and any(len(m.group(1)) % 2 for m in _ESCAPE.finditer(raw))


def parse_json_body(raw: bytes) -> JSON:
    """A request body as a JSON object, or a 400 `structure` error saying what is wrong: not
    JSON, not an object, a control character (such as NUL) in a string, nesting deeper than
    MAX_DEPTH, an integer beyond 64 bits, or an element the server reads with the wrong JSON
    type (in the resource and in the resources it carries)."""
    if not raw.strip():
        raise MalformedContent("request body is empty; send a FHIR resource as JSON")
    if has_escaped_control(raw):
        raise MalformedContent("request body holds a control character (such as NUL) in a "
                               "string, which FHIR does not allow")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedContent(f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedContent("request body must be a JSON object (a FHIR resource)")
    check_json(data)
    check_resource(data)
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
