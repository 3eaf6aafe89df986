"""$translate, $subsumes and $closure on the wire: Parameters in, Parameters/ConceptMap out.

Input accepts the R4 names (code, system, version, coding, codeableConcept, source, target,
targetsystem, reverse, dependency{element, concept}) and the R5 names (sourceCode, sourceSystem,
sourceCoding, sourceCodeableConcept, sourceScope, targetCode, targetCoding,
targetCodeableConcept, targetScope, targetSystem, dependency{attribute, value[x]}). Output is R4
(`equivalence`) or R5 (`relationship`) as the client asked.

A lab unit comes as a `dependency` with attribute (R4 element) `unit` or
`http://unitsofmeasure.org` and valueCoding {system: UCUM, code} or valueString (or, outside
the spec, a text parameter `unit`); each match then carries `property` parts about it
(`unit_properties`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from termserver.errors import InvalidRequest
from termserver.fhir import params as p
from termserver.fhir.conceptmap import concept_map_content
from termserver.model import (
    JSON,
    ClosureUpdate,
    CodingInput,
    ConceptMapContent,
    SubsumptionOutcome,
    TranslateMatch,
    TranslateRequest,
    TranslateResult,
)

UCUM = "http://unitsofmeasure.org"
_FORWARD = ("sourceCode", "code", "sourceCoding", "coding", "sourceCodeableConcept",
            "codeableConcept")
_REVERSE = ("targetCode", "targetCoding", "targetCodeableConcept")


def translate_request(pairs: p.Pairs) -> TranslateRequest:
    """The $translate input, in one direction-neutral form (see TranslateRequest)."""
    op = "$translate"
    reverse_flag = p.boolean(pairs, "reverse")
    forward_given = [n for n in _FORWARD if p.first(pairs, n) is not None]
    reverse_given = [n for n in _REVERSE if p.first(pairs, n) is not None]
    if forward_given and reverse_given:
        raise InvalidRequest(f"{op}: give the concept to translate either as a source "
                             f"({forward_given[0]}) or as a target ({reverse_given[0]}), not "
                             "both", expression=(forward_given[0], reverse_given[0]))
    system = p.text(pairs, "sourceSystem") or p.text(pairs, "system")
    target_system = p.text(pairs, "targetSystem") or p.text(pairs, "targetsystem")
    if reverse_given:  # R5 reverse: targetCode in targetSystem (or system), sourceSystem wanted
        codings = _codings(pairs, "targetCode", "targetCoding", "targetCodeableConcept",
                           p.text(pairs, "targetSystem") or p.text(pairs, "system"),
                           p.text(pairs, "targetVersion") or p.text(pairs, "version"))
        reverse, other = True, p.text(pairs, "sourceSystem")
    else:
        if "sourceCode" in forward_given and "code" in forward_given:
            p.mutually_exclusive(op, sourceCode=1, code=1)
        code_name = "sourceCode" if "sourceCode" in forward_given else "code"
        coding_name = "sourceCoding" if "sourceCoding" in forward_given else "coding"
        cc_name = ("sourceCodeableConcept" if "sourceCodeableConcept" in forward_given
                   else "codeableConcept")
        codings = _codings(pairs, code_name, coding_name, cc_name, system,
                           p.text(pairs, "sourceVersion") or p.text(pairs, "version"))
        reverse, other = reverse_flag, target_system
    source_scope = _unversioned(p.text(pairs, "sourceScope") or p.text(pairs, "source"))
    target_scope = _unversioned(p.text(pairs, "targetScope") or p.text(pairs, "target"))
    if reverse_flag and not reverse_given:  # R4 reverse: the scopes name the code's side first
        source_scope, target_scope = target_scope, source_scope
    url, _, pinned = (p.text(pairs, "url") or "").partition("|")
    inline = p.first(pairs, "conceptMap")
    if inline is not None and not (isinstance(inline, dict)
                                   and inline.get("resourceType") == "ConceptMap"):
        raise InvalidRequest(f"{op}: the parameter 'conceptMap' must be a ConceptMap resource",
                             expression=("conceptMap",))
    return TranslateRequest(
        codings=codings, reverse=reverse, url=url or None,
        map_version=p.text(pairs, "conceptMapVersion") or pinned or None,
        concept_map=concept_map_content(inline) if inline is not None else None,
        source_scope=source_scope, target_scope=target_scope, other_system=other,
        dependencies=tuple(_dependencies(pairs)))


#: The parameters of the commonest $translate (`simple_translate_request`).
_SIMPLE = frozenset({"code", "system", "version", "url", "conceptMapVersion", "targetsystem",
                     "targetSystem"})


def simple_translate_request(pairs: p.Pairs) -> TranslateRequest | None:
    """`translate_request` for the commonest call, a code and its system (with `version`,
    `url`, `conceptMapVersion`, `targetsystem` at most once each, as text): the same
    request, read in one pass. None for anything else (then `translate_request` reads it)."""
    given: dict[str, str] = {}
    for name, value in pairs:
        if name not in _SIMPLE or name in given or not isinstance(value, str):
            return None
        given[name] = value
    code, system = given.get("code"), given.get("system")
    if not code or not system:
        return None
    url, _, pinned = given.get("url", "").partition("|")
    return TranslateRequest(
        codings=(CodingInput(system, code, given.get("version")),), url=url or None,
        map_version=given.get("conceptMapVersion") or pinned or None,
        other_system=given.get("targetSystem") or given.get("targetsystem"))


def request_concept_maps(pairs: p.Pairs) -> list[ConceptMapContent]:
    """The ConceptMaps sent as `tx-resource`."""
    return [concept_map_content(v) for name, v in pairs
            if name == "tx-resource" and isinstance(v, dict)
            and v.get("resourceType") == "ConceptMap"]


def translation_to_parameters(result: TranslateResult, fhir_version: str) -> JSON:
    params: list[JSON] = [{"name": "result", "valueBoolean": result.result}]
    if result.message:
        params.append({"name": "message", "valueString": result.message})
    params.extend({"name": "match", "part": _match_parts(m, fhir_version)}
                  for m in result.matches)
    return {"resourceType": "Parameters", "parameter": params}


def _match_parts(m: TranslateMatch, fhir_version: str) -> list[JSON]:
    r5 = fhir_version.startswith("5")
    parts: list[JSON] = [{"name": "relationship", "valueCode": m.relationship} if r5
                         else {"name": "equivalence", "valueCode": m.equivalence}]
    if m.concept is not None:
        parts.append({"name": "concept", "valueCoding": coding_json(m.concept)})
    if r5:
        parts.extend({"name": "dependsOn", "part": _attribute_parts(d)} for d in m.depends_on)
    for prod in m.product:
        parts.append({"name": "product", "part": _attribute_parts(prod) if r5
                      else _element_parts(prod)})
    if m.source is not None:
        parts.append({"name": "source", "valueCoding": coding_json(m.source)})
    if m.origin_map:
        parts.append({"name": "originMap", "valueCanonical": m.origin_map})
    parts.extend(unit_properties(m))
    return parts


def unit_properties(m: TranslateMatch) -> list[JSON]:
    """What a unit given with the code says about a match (termserver.service.units), as R5
    match `property` parts {uri, value[x]}: `unit-ucum` (the local unit's UCUM form),
    `unit-target` (the target's unit, from the map's `product`), `unit-factor` (local →
    target), `unit-warning` (the unit does not fit the target's LOINC PROPERTY, or is not
    UCUM, or cannot be converted)."""
    return [{"name": "property", "part": [{"name": "uri", "valueUri": name},
                                          {"name": "value", key: value}]}
            for name, key, value in getattr(m, "unit_parts", ())]


def _attribute_parts(dep: Mapping[str, Any]) -> list[JSON]:
    """R5 dependsOn/product parts (attribute, value[x]) from an R4 or R5 map entry."""
    attribute = dep.get("attribute") or dep.get("property")
    out: list[JSON] = [{"name": "attribute", "valueUri": str(attribute)}] if attribute else []
    for key, value in dep.items():
        if key.startswith("value") and key != "valueSet":
            name = "valueString" if key == "value" else key
            out.append({"name": "value", name: value})
    return out


def _element_parts(dep: Mapping[str, Any]) -> list[JSON]:
    """R4 product parts (element, concept) from an R4 or R5 map entry."""
    element = dep.get("property") or dep.get("attribute")
    out: list[JSON] = [{"name": "element", "valueUri": str(element)}] if element else []
    value = dep.get("valueCoding") or {"system": dep.get("system"), "code": dep.get("value")
                                       or dep.get("valueCode"), "display": dep.get("display")}
    coding = {k: v for k, v in value.items() if v}
    if coding:
        out.append({"name": "concept", "valueCoding": coding})
    return out


def coding_json(c: CodingInput) -> JSON:
    out: JSON = {}
    for key, value in (("system", c.system), ("version", c.version), ("code", c.code),
                       ("display", c.display)):
        if value:
            out[key] = value
    return out


# -- shared parameter readers -------------------------------------------------------------------


def coding_input(value: Any, name: str) -> CodingInput:
    """A Coding parameter (valueCoding) as a CodingInput; it must have a code."""
    if not isinstance(value, dict) or not value.get("code"):
        raise InvalidRequest(f"parameter '{name}' must be a Coding with a code",
                             expression=(name,))
    return CodingInput(_str(value.get("system")), str(value["code"]),
                       _str(value.get("version")), _str(value.get("display")))


def _codings(pairs: p.Pairs, code_name: str, coding_name: str, cc_name: str,
             system: str | None, version: str | None) -> tuple[CodingInput, ...]:
    code = p.text(pairs, code_name)
    coding = p.first(pairs, coding_name)
    cc = p.first(pairs, cc_name)
    p.mutually_exclusive("$translate", **{code_name: code, coding_name: coding, cc_name: cc})
    if code is not None:
        if not system:
            raise InvalidRequest(f"$translate: a system is needed with '{code_name}' (the "
                                 "code system of the code to translate)", expression=("system",))
        return (CodingInput(system, code, version),)
    if coding is not None:
        return (coding_input(coding, coding_name),)
    if cc is not None:
        found = cc.get("coding") if isinstance(cc, dict) else None
        if not isinstance(found, list) or not found:
            raise InvalidRequest(f"parameter '{cc_name}' must be a CodeableConcept with at "
                                 "least one coding", expression=(cc_name,))
        return tuple(coding_input(c, f"{cc_name}.coding") for c in found)
    raise InvalidRequest("$translate needs the concept to translate: sourceCode and system, "
                         "sourceCoding or sourceCodeableConcept (R4: code and system, coding, "
                         "codeableConcept), or targetCode/targetCoding for a reverse "
                         "translation", expression=("sourceCode",))


def _dependencies(pairs: p.Pairs) -> list[tuple[str, str]]:
    """(attribute, value) of each `dependency`; a value that is a UCUM Coding names the
    attribute `unit` when none is given; a text `unit` parameter (a bulk line's `unit`) is
    the dependency (`unit`, its value)."""
    out = []
    for value in p.all_of(pairs, "dependency"):
        parts = value if isinstance(value, list) else []
        attribute = next((_part_value(x) for x in parts
                          if x.get("name") in ("attribute", "element", "property")), None)
        for x in parts:
            if x.get("name") in ("value", "concept"):
                found = _part_value(x)
                if found and (attribute or _ucum_coding(x)):
                    out.append((attribute or "unit", found))
    out.extend(("unit", unit) for unit in p.all_of(pairs, "unit") if isinstance(unit, str))
    return out


def _ucum_coding(part: JSON) -> bool:
    coding = part.get("valueCoding") or part.get("valueQuantity")
    return isinstance(coding, dict) and coding.get("system") == UCUM


def _part_value(part: JSON) -> str | None:
    for key, value in part.items():
        if not key.startswith("value"):
            continue
        if isinstance(value, dict):
            codings = value.get("coding")
            if isinstance(codings, list) and codings:
                value = codings[0]
            return _str(value.get("code")) if isinstance(value, dict) else None
        return _str(value)
    return None


def _unversioned(canonical: str | None) -> str | None:
    return canonical.partition("|")[0] if canonical else None


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


# -- $subsumes and $closure ---------------------------------------------------------------------


def subsumes_to_parameters(outcome: SubsumptionOutcome) -> JSON:
    return {"resourceType": "Parameters",
            "parameter": [{"name": "outcome", "valueCode": outcome}]}


def closure_to_concept_map(update: ClosureUpdate, identifier: str, date: str,
                           fhir_version: str) -> JSON:
    """The ConceptMap of a $closure answer: each new relation as `specific` → `general`,
    subsumes (R4 equivalence) / source-is-narrower-than-target (R5 relationship)."""
    r5 = fhir_version.startswith("5")
    by_system: dict[str, dict[str, list[str]]] = {}
    for system, specific, general in update.relations:
        by_system.setdefault(system, {}).setdefault(specific, []).append(general)
    groups = []
    for system, elements in by_system.items():
        groups.append({"source": system, "target": system, "element": [
            {"code": code, "target": [
                {"code": g, "relationship": "source-is-narrower-than-target"} if r5
                else {"code": g, "equivalence": "subsumes"} for g in generals]}
            for code, generals in elements.items()]})
    out: JSON = {"resourceType": "ConceptMap", "id": identifier.rsplit(":", 1)[-1],
                 "url": identifier, "version": str(update.version),
                 "name": f"Updates for Closure Table {update.name}",
                 "status": "active", "experimental": True, "date": date}
    if groups:
        out["group"] = groups
    return out


def subsumes_request(pairs: p.Pairs) -> tuple[str, str | None, str, str]:
    """(system, version, codeA, codeB) from codeA/codeB + system or codingA/codingB."""
    op = "$subsumes"
    system, version = p.text(pairs, "system"), p.text(pairs, "version")
    codes: list[str] = []
    for name in ("A", "B"):
        code, coding = p.text(pairs, f"code{name}"), p.first(pairs, f"coding{name}")
        p.mutually_exclusive(op, **{f"code{name}": code, f"coding{name}": coding})
        if coding is not None:
            given = coding_input(coding, f"coding{name}")
            if given.system and system and given.system != system:
                raise InvalidRequest(f"{op}: coding{name} is from '{given.system}', not from "
                                     f"the system '{system}'", expression=(f"coding{name}",))
            system = system or given.system
            version = version or given.version
            code = given.code
        codes.append(p.require(code, f"code{name}", op))
    return p.require(system, "system", op), version, codes[0], codes[1]
