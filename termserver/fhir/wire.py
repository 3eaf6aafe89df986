"""$lookup results → FHIR Parameters JSON (https://hl7.org/fhir/R5/codesystem-operation-lookup.html).

Pure functions. `name`, `system`, `version`, `code`, `display` and `abstract` are always
returned; `definition`, `designation` (also `lang.X`), `inactive`, `parent`, `child` and the
code system's own properties as the `property` parameter asks (everything when it is absent
or `*`). The display is also a designation in the code system's language with the use
`preferredForLanguage` (unless the provider's result says its designations hold it);
supplement designations carry their `source`. A provider's `labels` (SNOMED CT) add the
`description` of code values and the `code-display` of property codes that are concepts.
"""

from __future__ import annotations

from termserver.model import JSON, ConceptProperty, Designation, LookupResult

_VALUE_KEY = {"code": "valueCode", "string": "valueString", "integer": "valueInteger",
              "boolean": "valueBoolean", "dateTime": "valueDateTime", "decimal": "valueDecimal"}
_PREFERRED = {"system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
              "code": "preferredForLanguage", "display": "Preferred For Language"}
#: Properties computed from the concept itself, never copied from stored property rows.
_COMPUTED = frozenset({"parent", "inactive"})


def lookup_to_parameters(result: LookupResult) -> JSON:
    cs, detail = result.code_system, result.detail
    concept = detail.concept
    wanted = result.properties
    every = not wanted or "*" in wanted
    params: list[JSON] = [{"name": "name", "valueString": cs.name or cs.title or cs.url},
                          {"name": "system", "valueUri": cs.url}]
    if cs.version:
        params.append({"name": "version", "valueString": cs.version})
    params.append({"name": "code", "valueCode": concept.code})
    params.append({"name": "display", "valueString": result.display or concept.display
                   or concept.code})
    if concept.definition and (every or "definition" in wanted):
        params.append({"name": "definition", "valueString": concept.definition})
    params.append({"name": "abstract", "valueBoolean": concept.abstract})
    if every or "designation" in wanted:
        params.extend(_designations(result, None))
    elif any(w.startswith("lang.") for w in wanted):
        params.extend(_designations(result, [w[5:] for w in wanted if w.startswith("lang.")]))
    if every or "inactive" in wanted:
        params.append(_property("inactive", {"valueBoolean": concept.inactive}))
    labels = dict(getattr(result, "labels", ()))
    children = detail.children
    seen: set[tuple[str, str]] = set()
    for p in detail.properties:
        name = p.property
        if name in _COMPUTED or not (every or name in wanted):
            continue
        if name == "child":
            if p.value not in children:
                children = (*children, p.value)
            continue
        if labels and (name, p.value) in seen:
            continue  # the same attribute value in several role groups: once
        seen.add((name, p.value))
        params.append(_property(name, _value(p), labels.get(p.value) if p.type == "code"
                                else None, labels.get(name)))
    if every or "parent" in wanted:
        params.extend(_property("parent", {"valueCode": c}, labels.get(c))
                      for c in detail.parents)
    if every or "child" in wanted:
        params.extend(_property("child", {"valueCode": c}, labels.get(c)) for c in children)
    params.extend({"name": "used-supplement", "valueCanonical": s}
                  for s in result.used_supplements)
    return {"resourceType": "Parameters", "parameter": params}


def _designations(result: LookupResult, languages: list[str] | None) -> list[JSON]:
    """All designations, or (`languages`) only those in these languages (`lang.X`)."""
    cs, concept = result.code_system, result.detail.concept
    found: list[tuple[Designation, str | None]] = []
    if concept.display and cs.language and getattr(result, "display_designation", True):
        found.append((Designation(concept.code, concept.display, cs.language,
                                  _PREFERRED["system"], _PREFERRED["code"],
                                  _PREFERRED["display"]), None))
    found.extend((d, None) for d in result.detail.designations)
    found.extend((d, source) for source, d in result.supplement_designations)
    if languages is not None:
        found = [(d, s) for d, s in found
                 if d.language and any(_same_language(d.language, w) for w in languages)]
    return [_designation(d, source) for d, source in found]


def _same_language(have: str, wanted: str) -> bool:
    h, w = have.lower(), wanted.lower()
    return h == w or h.startswith(w + "-")


def _designation(d: Designation, source: str | None) -> JSON:
    part: list[JSON] = []
    if d.language:
        part.append({"name": "language", "valueCode": d.language})
    if d.use_code:
        use = {"system": d.use_system, "code": d.use_code, "display": d.use_display} \
            if d.use_system and d.use_display else \
            {k: v for k, v in (("system", d.use_system), ("code", d.use_code),
                               ("display", d.use_display)) if v}
        part.append({"name": "use", "valueCoding": use})
    if source:
        part.append({"name": "source", "valueCanonical": source})
    part.append({"name": "value", "valueString": d.value})
    return {"name": "designation", "part": part}


def _property(code: str, value: JSON, description: str | None = None,
              code_display: str | None = None) -> JSON:
    """A `property` parameter; `description` is the display of a code value and
    `code-display` that of the property code (both where the provider gave them)."""
    part: list[JSON] = [{"name": "code", "valueCode": code}]
    if code_display:
        part.append({"name": "code-display", "valueString": code_display})
    if description:
        part.append({"name": "description", "valueString": description})
    part.append({"name": "value", **value})
    return {"name": "property", "part": part}


def _value(p: ConceptProperty) -> JSON:
    if p.type == "Coding":
        coding = {"system": p.value_system, "code": p.value, "display": p.value_display}
        return {"valueCoding": {k: v for k, v in coding.items() if v}}
    if p.type == "boolean":
        return {"valueBoolean": p.value == "true"}
    if p.type == "integer":
        try:
            return {"valueInteger": int(p.value)}
        except ValueError:
            return {"valueString": p.value}
    if p.type == "decimal":
        try:
            return {"valueDecimal": float(p.value)}
        except ValueError:
            return {"valueString": p.value}
    return {_VALUE_KEY.get(p.type, "valueString"): p.value}
