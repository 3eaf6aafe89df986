"""$expand results → the expanded ValueSet JSON (R5, or R4 with the cross-version
extensions for the R5-only `expansion.property` and `contains.property`). Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from termserver.fhir.codesystem import STANDARDS_STATUS
from termserver.model import JSON, ConceptProperty, Designation, Expansion, ExpansionEntry

#: ValueSet elements echoed from the definition, in output order. `compose`, `description`,
#: `text` and `contained` are left out: the expansion stands for them.
ECHOED = ("id", "language", "url", "version", "name", "title", "status", "experimental",
          "date", "publisher")
X5 = "http://hl7.org/fhir/5.0/StructureDefinition/extension-"
R4_EXPANSION_PROPERTY = X5 + "ValueSet.expansion.property"
R4_CONTAINS_PROPERTY = X5 + "ValueSet.expansion.contains.property"

_VALUE_KEY = {"code": "valueCode", "Coding": "valueCoding", "string": "valueString",
              "integer": "valueInteger", "boolean": "valueBoolean",
              "dateTime": "valueDateTime", "decimal": "valueDecimal"}


def expansion_to_valueset(expansion: Expansion, identifier: str, timestamp: str,
                          fhir_version: str = "5.0") -> JSON:
    """The expanded ValueSet: the definition's header, plus `expansion`."""
    r4 = fhir_version.startswith("4")
    source = expansion.value_set.resource
    out: JSON = {"resourceType": "ValueSet"}
    extensions = _echoed_extensions(source)
    if "id" in source:
        out["id"] = source["id"]
    if extensions:
        out["extension"] = extensions
    for key in ECHOED[1:]:
        if source.get(key) is not None:
            out[key] = source[key]
    body: JSON = {}
    if expansion.extensions:
        body["extension"] = [dict(e) for e in expansion.extensions]
    body["identifier"] = identifier
    body["timestamp"] = timestamp
    if expansion.total is not None:
        body["total"] = expansion.total
    if expansion.show_offset:
        body["offset"] = expansion.offset
    if expansion.parameters:
        body["parameter"] = [{"name": n, f"value{t}": v} for n, t, v in expansion.parameters]
    defs = [{"code": code, "uri": uri} for code, uri in expansion.property_defs]
    if defs and r4:
        body.setdefault("extension", []).extend(
            {"url": R4_EXPANSION_PROPERTY, "extension": [
                {"url": "code", "valueCode": d["code"]}, {"url": "uri", "valueUri": d["uri"]}]}
            for d in defs)
    elif defs:
        body["property"] = defs
    contains = [_contains(e, expansion.versioned_systems, r4) for e in expansion.entries]
    if contains:
        body["contains"] = contains
    out["expansion"] = body
    return out


def _echoed_extensions(source: Mapping[str, Any]) -> list[Any]:
    """ValueSet.extension travels with an enumerated value set (whose expansion is its
    definition); the standards status describes the definition only."""
    compose = source.get("compose") or {}
    enumerated = any(inc.get("concept") for inc in compose.get("include") or []
                     if isinstance(inc, dict))
    if not enumerated:
        return []
    return [e for e in source.get("extension") or []
            if isinstance(e, dict) and e.get("url") != STANDARDS_STATUS]


def _contains(e: ExpansionEntry, versioned: frozenset[str], r4: bool) -> JSON:
    item: JSON = {}
    extensions = [dict(x) for x in e.extensions]
    if r4 and e.properties:
        extensions += [{"url": R4_CONTAINS_PROPERTY, "extension": [
            {"url": "code", "valueCode": p.property}, {"url": "value", **_value(p)}]}
            for p in e.properties]
    if extensions:
        item["extension"] = extensions
    item["system"] = e.system
    if e.version and e.system in versioned:
        item["version"] = e.version
    if e.abstract:
        item["abstract"] = True
    if e.inactive:
        item["inactive"] = True
    item["code"] = e.code
    if e.display and e.show_display:
        item["display"] = e.display
    if e.designations:
        item["designation"] = list(_designations(e.designations, e.designation_extensions))
    if e.properties and not r4:
        item["property"] = [{"code": p.property, **_value(p)} for p in e.properties]
    if e.contains:
        item["contains"] = [_contains(c, versioned, r4) for c in e.contains]
    return item


def _designations(designations: Iterable[Designation],
                  extensions: tuple[tuple[Mapping[str, Any], ...], ...]) -> Iterable[JSON]:
    for i, d in enumerate(designations):
        out: JSON = {}
        if i < len(extensions) and extensions[i]:
            out["extension"] = [dict(x) for x in extensions[i]]
        if d.language:
            out["language"] = d.language
        if d.use_code:
            out["use"] = {k: v for k, v in (("system", d.use_system), ("code", d.use_code),
                                             ("display", d.use_display)) if v}
        out["value"] = d.value
        yield out


def _value(p: ConceptProperty) -> JSON:
    key = _VALUE_KEY.get(p.type, "valueString")
    if p.type == "Coding":
        return {key: {k: v for k, v in (("system", p.value_system), ("code", p.value),
                                         ("display", p.value_display)) if v}}
    if p.type == "boolean":
        return {key: p.value == "true"}
    if p.type in ("integer", "decimal"):
        return {key: _number(p.value)}
    return {key: p.value}


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
