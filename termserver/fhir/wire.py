"""$lookup results → FHIR Parameters JSON. Pure functions."""

from __future__ import annotations

from termserver.model import JSON, ConceptProperty, Designation, LookupResult

_VALUE_KEY = {"code": "valueCode", "string": "valueString", "integer": "valueInteger",
              "boolean": "valueBoolean", "dateTime": "valueDateTime", "decimal": "valueDecimal"}


def lookup_to_parameters(result: LookupResult) -> JSON:
    cs, detail = result.code_system, result.detail
    wanted = set(result.properties)
    everything = not wanted or "*" in wanted

    def want(name: str) -> bool:
        return everything or name in wanted

    params: list[JSON] = [{"name": "name", "valueString": cs.name or cs.title or cs.url}]
    if cs.version:
        params.append({"name": "version", "valueString": cs.version})
    params.append({"name": "display", "valueString": _display(result)})
    if detail.concept.definition and want("definition"):
        params.append({"name": "definition", "valueString": detail.concept.definition})
    params.append({"name": "abstract", "valueBoolean": detail.concept.abstract})
    if want("designation"):
        params.extend(_designation(d) for d in detail.designations)
    if want("inactive"):
        params.append(_property("inactive", {"valueBoolean": detail.concept.inactive}))
    for p in detail.properties:
        if p.property != "parent" and want(p.property):
            params.append(_property(p.property, _value(p)))
    if want("parent"):
        params.extend(_property("parent", {"valueCode": c}) for c in detail.parents)
    if want("child"):
        params.extend(_property("child", {"valueCode": c}) for c in detail.children)
    return {"resourceType": "Parameters", "parameter": params}


def _display(result: LookupResult) -> str:
    detail, lang = result.detail, result.display_language
    if lang:
        for d in detail.designations:
            if d.language and (d.language == lang or d.language.split("-")[0] == lang):
                return d.value
    return detail.concept.display or detail.concept.code


def _designation(d: Designation) -> JSON:
    part: list[JSON] = []
    if d.language:
        part.append({"name": "language", "valueCode": d.language})
    if d.use_code:
        use: JSON = {"system": d.use_system, "code": d.use_code}
        if d.use_display:
            use["display"] = d.use_display
        part.append({"name": "use", "valueCoding": {k: v for k, v in use.items() if v}})
    part.append({"name": "value", "valueString": d.value})
    return {"name": "designation", "part": part}


def _property(code: str, value: JSON) -> JSON:
    return {"name": "property", "part": [{"name": "code", "valueCode": code},
                                         {"name": "value", **value}]}


def _value(p: ConceptProperty) -> JSON:
    if p.type == "Coding":
        coding = {"system": p.value_system, "code": p.value, "display": p.value_display}
        return {"valueCoding": {k: v for k, v in coding.items() if v}}
    if p.type == "boolean":
        return {"valueBoolean": p.value == "true"}
    if p.type == "integer":
        return {"valueInteger": int(p.value)}
    if p.type == "decimal":
        return {"valueDecimal": float(p.value)}
    return {_VALUE_KEY.get(p.type, "valueString"): p.value}
